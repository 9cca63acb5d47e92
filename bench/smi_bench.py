"""The nvidia-smi side of pynvml, timed (issue: nvidia_smi and its command line).

    python bench/smi_bench.py [--repeat N]

1. A full query (every field, every GPU) through pynvml.smi's C engine, against the
   time its NVML calls took inside it (the engine's fetch phase: one call per NVML
   entry point per GPU, GIL released), the entry points that time goes to, and
   DeviceQuery() (the nested dict) on top.
2. The command line: `python -m pynvml.smi --query-gpu=<all> --format=csv` against
   `nvidia-smi` with the same arguments, as whole processes, where nvidia-smi exists.
Works on any NVML (PYNVML_LIBRARY=sim where there is no GPU: then nvidia-smi is absent).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--top", type=int, default=12, help="entry points listed in the breakdown")
    args = ap.parse_args(argv)
    import pynvml
    from pynvml import _nvml, smi

    nvsmi = smi.nvidia_smi.getInstance()
    items = list(range(len(_nvml._smi_items())))
    pynvml.nvmlInit()
    try:
        count = pynvml.nvmlDeviceGetCount()
        lib = pynvml._library_path()
        for mode, what in ((0, "csv values"), (3, "Python values")):
            _nvml._smi_query(items, None, mode)          # warm: symbols resolved
            fetch = []
            total = median_time(lambda: _nvml._smi_query(items, None, mode, fetch), args.repeat)
            nvml = statistics.median(fetch)
            print(f"full query ({len(items)} items, {count} GPU(s), {what}): {total * 1e3:.2f} ms, of which "
                  f"NVML calls {nvml / 1e6:.2f} ms: {total * 1e9 / nvml:.2f}x the NVML time")
        # which entry points the fetch phase spends its time in (a fetch that calls several,
        # such as a count then a list, is counted to the last one it called)
        per_call = {}
        for _ in range(args.repeat):
            _nvml._smi_query(items, None, 0, None, per_call)
        total_ns = sum(ns for ns, _ in per_call.values())
        print(f"where the NVML time goes (mean per query, top {args.top} of {len(per_call)} entry points):")
        for name, (ns, fetches) in sorted(per_call.items(), key=lambda kv: -kv[1][0])[:args.top]:
            print(f"  {name:<48} {ns / args.repeat / 1e6:8.3f} ms  {100 * ns / total_ns:5.1f}%  "
                  f"({fetches // args.repeat} fetch{'es' if fetches // args.repeat != 1 else ''})")
        nvsmi.DeviceQuery()
        dq = median_time(nvsmi.DeviceQuery, args.repeat)
        print(f"DeviceQuery() (the nested dict of every field): {dq * 1e3:.2f} ms")
    finally:
        pynvml.nvmlShutdown()
    # every --query-gpu field, by its first name (QUERY_FIELDS lists aliases too)
    fields = ",".join(it.names[0] for it in smi._ITEMS if it.names)
    ours_cmd = [sys.executable, "-m", "pynvml.smi", "--query-gpu=" + fields, "--format=csv"]
    runs = max(3, args.repeat // 6)
    ours = median_time(lambda: subprocess.run(ours_cmd, capture_output=True, check=True), runs)
    line = f"command line, --query-gpu=<{fields.count(',') + 1} fields> --format=csv: pynvml-smi {ours * 1e3:.0f} ms"
    if shutil.which("nvidia-smi") and not os.environ.get("PYNVML_LIBRARY"):
        theirs = median_time(lambda: subprocess.run(["nvidia-smi", "--query-gpu=" + fields, "--format=csv"],
                                                    capture_output=True), runs)
        line += f", nvidia-smi {theirs * 1e3:.0f} ms: nvidia-smi / ours = {theirs / ours:.2f}"
    else:
        line += " (no nvidia-smi here to compare)"
    print(line)
    # where the command line's time goes: the interpreter, our import, NVML's own init
    bare = median_time(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), runs)
    imp = median_time(lambda: subprocess.run([sys.executable, "-c", "import pynvml.smi"], check=True), runs)
    probe = ("import time, pynvml; t = time.perf_counter(); pynvml.nvmlInit(); "
             "print(time.perf_counter() - t); pynvml.nvmlShutdown()")
    inits = [float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(runs)]
    print(f"  of which: interpreter start {bare * 1e3:.0f} ms, import pynvml.smi {(imp - bare) * 1e3:.0f} ms, "
          f"nvmlInit in a new process {statistics.median(inits) * 1e3:.0f} ms, the query itself (above)")
    print(f"(NVML: {lib}, median of {args.repeat} queries and {runs} processes)")


if __name__ == "__main__":
    main()
