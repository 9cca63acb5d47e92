"""pynvml-smi's views as whole processes, against nvidia-smi where it exists; dmon's CPU use.

    python bench/smi_views_bench.py [--repeat N] [--python PATH]... [--dmon-seconds S] [--json OUT]

1. Each view (`pynvml-smi ARGS` as a user runs it: the console script pip wrote, run by an
   interpreter: its start, our imports, NVML's init and the view) timed as a process, median
   of --repeat runs, beside `nvidia-smi ARGS` where nvidia-smi is on the PATH (the commands
   of a view run in turn, so that a drift of the machine weighs on each alike).  The console
   script is run by each interpreter of --python (default: this one, and /usr/bin/python3
   when it is another interpreter that can load our C extension, with our package on
   PYTHONPATH).  An interpreter's start differs from one to another (a virtual environment
   whose site-packages holds .pth files that import modules pays them in every process), so
   the table gives each one's `python -c pass` first: what any Python tool pays there before
   its first line.
2. Where the time of one process goes (ours), per interpreter: start (`-c pass`), `import
   pynvml.smi`, nvmlInit, the first handle (the driver attaches the GPU), the rest of the
   view, nvmlShutdown (which the console script leaves to the process's end), in ms.
3. `dmon -d 1` for --dmon-seconds seconds: the CPU time it used (user + system, from
   getrusage of the child) over the wall time, in percent of one core; the same for
   nvidia-smi dmon.
A markdown table of 1. closes the output (to paste into BENCHMARKS.md).
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
         ["-q", "-d", "POWER"], ["--query-gpu=name", "--format=csv"],
         ["--query-gpu=name,memory.used,utilization.gpu", "--format=csv"],
         ["--query-compute-apps=pid,process_name,used_memory", "--format=csv"],
         ["--query-supported-clocks=memory,graphics", "--format=csv"], ["dmon", "-c", "1"], ["pmon", "-c", "1"],
         ["topo", "-m"], ["nvlink", "-s"], ["mig", "-lgip"]]

# One process of ours, timed from inside: what each step between the interpreter's start
# and its end costs.  Run as `python -c PHASES VIEW...`.
PHASES = r"""
import time, sys, os
t0 = time.perf_counter()
import pynvml.smi as smi
t1 = time.perf_counter()
import pynvml
pynvml.nvmlInit()
t2 = time.perf_counter()
if pynvml.nvmlDeviceGetCount():
    pynvml.nvmlDeviceGetHandleByIndex(0)
t3 = time.perf_counter()
out = open(os.devnull, "w")
sys.stdout, real = out, sys.stdout
rc = smi.main(sys.argv[1:])     # its nvmlInit/nvmlShutdown only count: NVML is up already
sys.stdout = real
t4 = time.perf_counter()
pynvml.nvmlShutdown()
t5 = time.perf_counter()
print(rc, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
"""


def console_script():
    """The console script pip wrote (beside the interpreter, or in the bin/ of a --target
    install), else None (then `-m pynvml.smi` is timed)."""
    import pynvml
    for path in (os.path.join(os.path.dirname(sys.executable), "pynvml-smi"),
                 os.path.join(os.path.dirname(os.path.dirname(pynvml.__file__)), "bin", "pynvml-smi")):
        if os.access(path, os.X_OK):
            return path
    return None


def our_env():
    """The environment for another interpreter: our package first on PYTHONPATH."""
    import pynvml
    root = os.path.dirname(os.path.dirname(os.path.abspath(pynvml.__file__)))
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=root + (os.pathsep + path if path else ""))


def interpreters(asked):
    """[(label, python)] to time ours under: the ones asked, else this one and /usr/bin/python3
    where it is another interpreter that can import our C extension."""
    found = [os.path.abspath(p) for p in asked] if asked else [sys.executable]
    # a virtual environment's python is often a link to /usr/bin/python3 itself: run by its
    # own path the same binary is the plain interpreter (no venv site, no .pth files)
    in_venv = sys.prefix != sys.base_prefix
    if not asked and os.path.exists("/usr/bin/python3") and (
            in_venv or os.path.realpath("/usr/bin/python3") != os.path.realpath(sys.executable)):
        found.append("/usr/bin/python3")
    usable = []
    for py in found:
        ok = subprocess.run([py, "-c", "import pynvml._nvml"], env=our_env(), capture_output=True)
        if ok.returncode:
            print("skipped %s: it cannot load our package (%s)" % (
                py, (ok.stderr.decode().strip().splitlines() or ["?"])[-1]))
            continue
        venv = os.path.exists(os.path.join(os.path.dirname(os.path.dirname(py)), "pyvenv.cfg"))
        usable.append(("%s (%s)" % (py, "virtual environment" if venv else "plain interpreter"), py))
    return usable


def time_process(cmd, repeat, env=None):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
        if out.returncode not in (0, 6):
            return None
    return statistics.median(times)


def time_alternating(cmds, repeat, envs):
    """Median seconds of each command, run in turn (one of each, `repeat` times) so that a
    drift of the machine (another tenant of the GPU, a clock) weighs on all alike; None for
    a command that failed."""
    times = [[] for _ in cmds]
    failed = [False] * len(cmds)
    for _ in range(repeat):
        for k, (cmd, env) in enumerate(zip(cmds, envs)):
            if failed[k]:
                continue
            t = time.perf_counter()
            out = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            times[k].append(time.perf_counter() - t)
            failed[k] = out.returncode not in (0, 6)
    return [None if bad else statistics.median(ts) for bad, ts in zip(failed, times)]


def phases(py, view, repeat, env):
    """Median seconds of each step inside one process of ours (see PHASES)."""
    rows = []
    for _ in range(repeat):
        out = subprocess.run([py, "-c", PHASES] + view, capture_output=True, text=True, env=env)
        if out.returncode:
            return None
        rows.append([float(x) for x in out.stdout.split()[1:]])
    return [statistics.median(col) for col in zip(*rows)]


def cpu_share(cmd, seconds, env=None):
    """Percent of one core the command used while it ran `seconds` (it is then interrupted)."""
    before = os.times()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(2)             # Ctrl-C, as a user ends it
        proc.wait(10)
    wall = time.perf_counter() - t
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return 100.0 * cpu / wall, cpu, wall


def ms(s):
    return "%.0f" % (s * 1e3) if s is not None else "-"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--python", action="append", default=[],
                    help="an interpreter to run pynvml-smi with (repeat the option for more)")
    ap.add_argument("--dmon-seconds", type=float, default=10.0)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    script = console_script()
    env = our_env()
    pys = interpreters(args.python)
    theirs = ["nvidia-smi"] if shutil.which("nvidia-smi") else None
    print("pynvml-smi is %s, run by each interpreter below (%s NVML)" % (
        script or "-m pynvml.smi", "simulated" if os.environ.get("PYNVML_LIBRARY") == "sim" else "the driver's"))
    starts = []
    for i, (label, py) in enumerate(pys):
        start = time_process([py, "-c", "pass"], args.repeat, env)
        bare = time_process([py, "-I", "-S", "-c", "pass"], args.repeat)
        starts.append(start)
        print("  [%d] %s: python -c pass %s ms (-I -S: %s ms, so site and its .pth files: %s ms)" % (
            i + 1, label, ms(start), ms(bare), ms(start - bare)))
    head = ["view", "nvidia-smi"] + ["ours [%d]" % (i + 1) for i in range(len(pys))]
    rows = [["python -c pass (start)", "-"] + [ms(s) for s in starts]]
    results = []
    print("%-52s %10s" % tuple(head[:2]) + "".join(" %9s" % h for h in head[2:]) + "   (ms per process)")
    print("%-52s %10s" % tuple(rows[0][:2]) + "".join(" %9s" % c for c in rows[0][2:]))
    for view in VIEWS:
        name = " ".join(view) or "(summary table)"
        cmds = [[py] + ([script] if script else ["-m", "pynvml.smi"]) + view for _, py in pys]
        got = time_alternating(cmds + ([theirs + view] if theirs else []), args.repeat,
                               [env] * len(cmds) + [None])
        ours, b = got[:len(cmds)], (got[-1] if theirs else None)
        results.append({"view": name, "nvidia_smi_s": b, "ours_s": dict(zip([p for _, p in pys], ours))})
        rows.append([name, ms(b)] + [ms(a) if a else "failed" for a in ours])
        print("%-52s %10s" % (name[:52], rows[-1][1]) + "".join(" %9s" % c for c in rows[-1][2:]))

    print("\nwhere one process of ours goes, ms (median of %d; start is python -c pass):" % min(args.repeat, 5))
    print("%-12s %-60s %6s %7s %5s %7s %5s %9s" % ("interpreter", "view", "start", "import", "init",
                                                 "attach", "view", "shutdown"))
    split = []
    for i, (label, py) in enumerate(pys):
        for view in VIEWS:
            p = phases(py, view, min(args.repeat, 5), env)
            name = " ".join(view) or "(summary table)"
            if p is None:
                print("%-12s %-60s failed" % ("[%d]" % (i + 1), name[:60]))
                continue
            split.append({"python": py, "view": name, "start_s": starts[i], "import_s": p[0], "init_s": p[1],
                          "attach_s": p[2], "view_s": p[3], "shutdown_s": p[4]})
            print("%-12s %-60s %6s %7.1f %5.1f %7.1f %5.1f %9.1f" % (
                "[%d]" % (i + 1), name[:60], ms(starts[i]), *(x * 1e3 for x in p)))

    print()
    dmon = {}
    if pys:
        cmd = [pys[0][1]] + ([script] if script else ["-m", "pynvml.smi"]) + ["dmon", "-d", "1"]
        share, cpu, wall = cpu_share(cmd, args.dmon_seconds, env)
        print("pynvml-smi dmon -d 1 [1]: %.2f%% of a core (%.3f s CPU in %.1f s, start included)" % (share, cpu, wall))
        dmon = {"ours_percent": share, "ours_cpu_s": cpu, "wall_s": wall}
    if theirs:
        share, cpu, wall = cpu_share(theirs + ["dmon", "-d", "1"], args.dmon_seconds)
        print("nvidia-smi dmon -d 1: %.2f%% of a core (%.3f s CPU in %.1f s)" % (share, cpu, wall))
        dmon["nvidia_smi_percent"] = share

    print("\nmarkdown (ms per process, median of %d):\n" % args.repeat)
    for i, (label, _) in enumerate(pys):
        print("[%d] %s  " % (i + 1, label))
    print()
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for n, r in enumerate(rows):
        name = r[0] if n == 0 or r[0].startswith("(") else "`%s`" % r[0]
        print("| " + " | ".join([name] + r[1:]) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"interpreters": [{"label": label, "python": py, "start_s": s}
                                        for (label, py), s in zip(pys, starts)],
                       "console_script": script, "views": results, "phases": split, "dmon": dmon}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
