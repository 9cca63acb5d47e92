"""Call every public function of pynvml with a matrix of wrong arguments and count
what happens: an exception (good), a return (fine where the value is acceptable to the
function), a crash (the process dies by a signal) or a hang (no answer in time).

    python tools/crash_sweep.py [--read-only] [--json OUT] [--only NAME ...]

The calls run in a child process that reports each call before making it; when the
child dies, the call it was in is counted as a crash and a new child takes up from the
next call.  --read-only keeps to functions that only read (for a real, shared GPU).
With nvidia-ml-py (--module PATH_TO_ITS_PYNVML_PY) the same sweep runs on it instead.
"""
import argparse
import inspect
import json
import os
import re
import subprocess
import sys
import time

# Verbs of functions that change state: never swept on a real GPU (--read-only).
MUTATING = re.compile(r"(Set|Reset|Clear|Create|Destroy|Register|Remove|Drain|Freeze|Modify|Discover|"
                      r"Validate|Flush|Restore|Free|Alloc|Wait|Start|Stop|Enable|Disable|Inject|Control|"
                      r"Activate|Update|Write|Force|Unload)")

CHILD = r'''
import importlib.util, inspect, json, math, os, sys
mode, path = sys.argv[1], sys.argv[2]
if mode == "ours":
    import pynvml as N
else:
    spec = importlib.util.spec_from_file_location("refpynvml", path)
    N = importlib.util.module_from_spec(spec); sys.modules["refpynvml"] = N; spec.loader.exec_module(N)
if os.environ.get("PYNVML_TEST_SECOND_THREAD") == "1":   # make test-threads: the GIL-releasing path
    import threading
    threading.Thread(target=threading.Event().wait, daemon=True).start()
N.nvmlInit()
stale = N.nvmlDeviceGetHandleByIndex(0)    # dead after the shutdown below
N.nvmlShutdown()
N.nvmlInit()
good = N.nvmlDeviceGetHandleByIndex(0)
BAD = {
    "None": None, "int0": 0, "int1": 1, "neg": -1, "u32max+1": 2**32, "huge": 2**64, "bigneg": -2**63 - 1,
    "float": 1.5, "nan": float("nan"), "str": "x", "bytes": b"x", "empty": "", "longstr": "x" * 100000,
    "list": [], "longlist": [1] * 10000, "dict": {}, "object": object(),
    "struct": N.c_nvmlMemory_t(), "stale": stale,
}
if mode == "ours":
    BAD["stalehandle"] = stale
plan = json.loads(sys.stdin.readline())
for i, (name, args) in enumerate(plan):
    fn = getattr(N, name)
    real = [good if a == "GOOD" else (0 if a == "ZERO" else BAD[a]) for a in args]
    print("BEGIN", i, flush=True)
    try:
        fn(*real)
        out = "return"
    except Exception as e:
        out = type(e).__name__
    print("END", i, out, flush=True)
'''


def build_plan(mod, names):
    """(function, [arg tokens]) for every wrong argument in every position."""
    bad = ["None", "int0", "int1", "neg", "u32max+1", "huge", "bigneg", "float", "nan", "str", "bytes",
           "empty", "longstr", "list", "longlist", "dict", "object", "struct", "stale"]
    plan = []
    for name in names:
        fn = getattr(mod, name)
        try:
            params = [p for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            continue
        base = ["GOOD" if i == 0 and p.name in ("handle", "device", "device1") else "ZERO"
                for i, p in enumerate(params)]
        for pos in range(len(params)):
            for b in bad:
                args = list(base)
                args[pos] = b
                plan.append((name, args))
        plan.append((name, base + ["int0"]))        # one argument too many
        if params:
            plan.append((name, base[:-1]))          # one too few
    return plan


def run(plan, mode, path, timeout, child=CHILD):
    """Each call's outcome: the child's word for it, or CRASH/HANG/EXIT (tools/reentrancy_sweep.py
    runs its own child code through this too)."""
    results = [None] * len(plan)
    start = 0
    while start < len(plan):
        todo = plan[start:]
        proc = subprocess.Popen([sys.executable, "-c", child, mode, path or ""], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        proc.stdin.write(json.dumps(todo) + "\n")
        proc.stdin.flush()
        current, deadline = None, time.monotonic() + timeout
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        hung = False
        while True:
            if not sel.select(timeout=max(0.1, deadline - time.monotonic())):
                if time.monotonic() > deadline:
                    hung = True
                    proc.kill()
                    break
                continue
            line = proc.stdout.readline()
            if not line:
                break
            words = line.split()
            if words[0] == "BEGIN":
                current = start + int(words[1])
                deadline = time.monotonic() + timeout
            elif words[0] == "END":
                results[start + int(words[1])] = words[2]
                current = None
        rc = proc.wait()
        if current is None:
            if rc != 0 and all(r is None for r in results[start:]):
                raise RuntimeError(f"the sweep child failed before its first call (exit {rc})")
            break
        results[current] = "HANG" if hung else f"CRASH(signal {-rc})" if rc < 0 else f"EXIT({rc})"
        start = current + 1
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--read-only", action="store_true", help="only functions that read")
    ap.add_argument("--module", help="sweep nvidia-ml-py's pynvml.py at this path instead of ours")
    ap.add_argument("--only", nargs="*", help="function names")
    ap.add_argument("--json", help="write every call's outcome here")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a call counts as hung")
    args = ap.parse_args(argv)
    if args.module:
        import importlib.util

        spec = importlib.util.spec_from_file_location("refpynvml", args.module)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["refpynvml"] = mod   # it looks itself up there while importing
        spec.loader.exec_module(mod)
    else:
        import pynvml as mod
    names = sorted(n for n in dir(mod) if n.startswith("nvml") and callable(getattr(mod, n))
                   and not isinstance(getattr(mod, n), type)
                   and n not in ("nvmlInit", "nvmlInitWithFlags", "nvmlShutdown")
                   and not n.startswith(("nvmlStructToFriendly", "nvmlFriendlyObject")))
    if args.only:
        names = [n for n in names if n in args.only]
    if args.read_only:
        names = [n for n in names if not MUTATING.search(n[4:])]
    plan = build_plan(mod, names)
    results = run(plan, "ref" if args.module else "ours", args.module, args.timeout)
    crashes = [(p, r) for p, r in zip(plan, results) if r and r.startswith(("CRASH", "HANG", "EXIT"))]
    crashed_fns = sorted({p[0] for p, _ in crashes})
    summary = {"functions": len(names), "calls": len(plan), "crashes": len(crashes),
               "crashed_functions": crashed_fns,
               "outcomes": {k: results.count(k) for k in sorted(set(map(str, results)))}}
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "calls": [[p[0], p[1], r] for p, r in zip(plan, results)]}, f)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
