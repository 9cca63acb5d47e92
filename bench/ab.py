#!/usr/bin/env python3
"""Two builds of pynvml side by side: per-call ns and attribute-read ns, A against B.

    python bench/ab.py --a DIR_A --b DIR_B [--rounds 8] [--device 0] [--json OUT]

DIR_A and DIR_B are folders holding an installed `pynvml` (pip install --target DIR, or a
venv's site-packages).  Each round runs one fresh interpreter per build, alternating A and
B, so that a burst of load on a shared machine spoils one round of each rather than one
build; each interpreter times every call (the best of several timeit repeats, gc off) and
the report keeps each build's best round.  Which NVML: PYNVML_LIBRARY as for the tests
(unset: the driver's; `sim`: the simulator, whichever each build ships).  Nothing here
changes GPU state.  Used to show that a change costs no speed (BENCHMARKS.md).
"""
import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import gc, json, sys, timeit
import pynvml
dev = int(sys.argv[1])
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(dev)
calls = {
    "nvmlDeviceGetCount": lambda: pynvml.nvmlDeviceGetCount(),
    "nvmlDeviceGetHandleByIndex": lambda: pynvml.nvmlDeviceGetHandleByIndex(dev),
    "nvmlDeviceGetName": lambda: pynvml.nvmlDeviceGetName(h),
    "nvmlDeviceGetMemoryInfo": lambda: pynvml.nvmlDeviceGetMemoryInfo(h),
    "nvmlDeviceGetTemperature": lambda: pynvml.nvmlDeviceGetTemperature(h, 0),
    "nvmlDeviceGetUtilizationRates": lambda: pynvml.nvmlDeviceGetUtilizationRates(h),
    "nvmlDeviceGetPowerUsage": lambda: pynvml.nvmlDeviceGetPowerUsage(h),
    "nvmlDeviceGetClockInfo": lambda: pynvml.nvmlDeviceGetClockInfo(h, 0),
    "nvmlDeviceGetPciInfo_v3": lambda: pynvml.nvmlDeviceGetPciInfo_v3(h),
    "nvmlDeviceGetPciInfo": lambda: pynvml.nvmlDeviceGetPciInfo(h),
}
out = {}
gc.disable()
for name, f in calls.items():
    try:
        f()
    except pynvml.NVMLError:
        continue
    t = timeit.Timer(f)
    n, _ = t.autorange()
    n = max(n, 1000)
    out[name] = min(t.repeat(5, n)) / n * 1e9
g = {"mem": pynvml.nvmlDeviceGetMemoryInfo(h), "pci": pynvml.nvmlDeviceGetPciInfo(h),
     "made": pynvml.c_nvmlMemory_t(1, 2, 3)}
for label, stmt in (("attr: result mem.total", "mem.total"), ("attr: pci.bus", "pci.bus"),
                    ("attr: c_nvmlMemory_t().total", "made.total"), ("timeit loop", "pass")):
    t = timeit.Timer(stmt, globals=g)
    out[label] = min(t.repeat(5, 200000)) / 200000 * 1e9
pynvml.nvmlShutdown()
print(json.dumps(out))
"""


def run(folder, device):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([folder] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    r = subprocess.run([sys.executable, "-c", CHILD, str(device)], capture_output=True, text=True, env=env,
                       timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"{folder}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
    return json.loads(r.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="folder with build A's pynvml (the baseline)")
    ap.add_argument("--b", required=True, help="folder with build B's pynvml (the change)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--device", type=int, default=0)
    ap.add_argument("--json", help="write the best times here")
    args = ap.parse_args(argv)
    best = {"a": {}, "b": {}}
    for _ in range(args.rounds):
        for side in ("a", "b"):
            for k, v in run(getattr(args, side), args.device).items():
                best[side][k] = min(v, best[side].get(k, v))
    names = [k for k in best["a"] if k in best["b"]]
    print(f"A: {args.a}\nB: {args.b}\n{args.rounds} rounds, best of each; ns (lower is better)")
    print(f"{'what':34s} {'A':>9s} {'B':>9s}  {'B/A':>6s}")
    ratios = []
    for k in names:
        a, b = best["a"][k], best["b"][k]
        print(f"{k:34s} {a:9.1f} {b:9.1f}  {b / a:6.3f}")
        if k.startswith("nvml"):
            ratios.append(b / a)
    ratios.sort()
    if ratios:
        print(f"median B/A over the calls: {ratios[len(ratios) // 2]:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(best, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
