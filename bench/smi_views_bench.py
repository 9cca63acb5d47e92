"""pynvml-smi's views as whole processes, against nvidia-smi where it exists; dmon's CPU use.

    python bench/smi_views_bench.py [--repeat N] [--dmon-seconds S] [--json OUT]

1. Each view (`pynvml-smi ARGS`, the console script: Python's start, the imports, NVML's
   init and the view) timed as a process, median of --repeat runs, beside
   `nvidia-smi ARGS` with the same arguments where nvidia-smi is on the PATH, and the
   time of a bare `python -c pass` (what any Python tool pays before its first line).
2. `dmon -d 1` for --dmon-seconds seconds: the CPU time it used (user + system, from
   getrusage of the child) over the wall time, in percent of one core; the same for
   nvidia-smi dmon.
Read-only views only.  On the simulator (PYNVML_LIBRARY=sim) nvidia-smi is absent.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

VIEWS = [[], ["-L"], ["--version"], ["-q"], ["-q", "-x"], ["-q", "-d", "MEMORY,UTILIZATION"],
         ["-q", "-d", "POWER"], ["--query-gpu=name,memory.used,utilization.gpu", "--format=csv"],
         ["--query-compute-apps=pid,process_name,used_memory", "--format=csv"],
         ["--query-supported-clocks=memory,graphics", "--format=csv"], ["dmon", "-c", "1"], ["pmon", "-c", "1"],
         ["topo", "-m"], ["nvlink", "-s"], ["mig", "-lgip"]]


def console_script():
    """pynvml-smi as a user runs it: the console script pip wrote (beside the interpreter, or
    in the bin/ of a --target install), else python -m pynvml.smi (runpy adds ~30 ms)."""
    import pynvml
    for path in (os.path.join(os.path.dirname(sys.executable), "pynvml-smi"),
                 os.path.join(os.path.dirname(os.path.dirname(pynvml.__file__)), "bin", "pynvml-smi")):
        if os.access(path, os.X_OK):
            return [sys.executable, path]
    return [sys.executable, "-m", "pynvml.smi"]


def time_process(cmd, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
        if out.returncode not in (0, 6):
            return None
    return statistics.median(times)


def cpu_share(cmd, seconds):
    """Percent of one core the command used while it ran `seconds` (it is then interrupted)."""
    before = os.times()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(2)             # Ctrl-C, as a user ends it
        proc.wait(10)
    wall = time.perf_counter() - t
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return 100.0 * cpu / wall, cpu, wall


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dmon-seconds", type=float, default=10.0)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    ours = console_script()
    theirs = ["nvidia-smi"] if shutil.which("nvidia-smi") else None
    bare = time_process([sys.executable, "-c", "pass"], args.repeat)
    print("python -c pass: %.0f ms (the start every Python tool pays); pynvml-smi is %s" % (
        bare * 1e3, " ".join(ours[1:])))
    print("%-58s %10s %12s" % ("view", "pynvml-smi", "nvidia-smi"))
    results = []
    for view in VIEWS:
        a = time_process(ours + view, args.repeat)
        b = time_process(theirs + view, args.repeat) if theirs else None
        results.append({"view": " ".join(view) or "(summary)", "ours_s": a, "nvidia_smi_s": b})
        print("%-58s %10s %12s" % (results[-1]["view"][:58], "%.0f ms" % (a * 1e3) if a else "failed",
                                   "%.0f ms" % (b * 1e3) if b else "-"))
    share, cpu, wall = cpu_share(ours + ["dmon", "-d", "1"], args.dmon_seconds)
    print("pynvml-smi dmon -d 1: %.2f%% of a core (%.3f s CPU in %.1f s, start included)" % (share, cpu, wall))
    dmon = {"ours_percent": share, "ours_cpu_s": cpu, "wall_s": wall}
    if theirs:
        share, cpu, wall = cpu_share(theirs + ["dmon", "-d", "1"], args.dmon_seconds)
        print("nvidia-smi dmon -d 1: %.2f%% of a core (%.3f s CPU in %.1f s)" % (share, cpu, wall))
        dmon["nvidia_smi_percent"] = share
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python_start_s": bare, "views": results, "dmon": dmon}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
