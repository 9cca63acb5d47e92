"""Whole polls as clients make them, ours beside nvidia-ml-py (issue #19).

    python bench/polls.py [--repeat N] [--reference PATH] [--clients DIR] [--sim-delays] [--json OUT]

Each binding runs in a process of its own (so that `import pynvml` in gpustat and nvitop
finds that binding), on the same NVML; per case, the first run and the median of the
next N (30):

  poll        nvmlInit(); handle 0; name, temperature, memory, utilization, power;
              nvmlShutdown() -- what gpustat does on every query and Ray's dashboard on
              every report.  `held`: the same getters with NVML kept initialized (the floor).
  gpustat     gpustat's GPUStatCollection.new_query() (gpustat 1.1.1, unmodified)
  nvitop      nvitop's Device(i).as_snapshot() of every GPU (nvitop 1.7.2, unmodified)
  pcie        both PCIe throughput directions of every GPU: ours in one pynvml.batch.query,
              nvidia-ml-py call after call (what a client of it can do without threads)
  devicequery ours: nvidia_smi.DeviceQuery() of every field; beside it, the sum of the
              NVML calls it makes (what making them one after the other costs: nvidia-ml-py
              has no DeviceQuery, its calls made in series cost at least that sum)

gpustat and nvitop come from --clients (default .ref/clients, `make ref`), nvidia-ml-py from
--reference (default .ref/nvidia-ml-py/pynvml.py); a case whose client is missing is skipped.

--sim-delays: on the simulator (PYNVML_LIBRARY=sim or no GPU), a profile whose "delay_ms"
faults stand in for what NVML costs on an H200: nvmlInitWithFlags 12 ms, nvmlShutdown 4 ms
(16 ms together, as measured there), nvmlDeviceGetPcieThroughput 20 ms a call.  Without it
the simulator answers at once and only the bindings' own costs show.  Nothing here changes
GPU state.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DELAYS = {"nvmlInitWithFlags": 12, "nvmlShutdown": 4, "nvmlDeviceGetPcieThroughput": 20}


# --- the worker: one binding, every case --------------------------------------------------------

def timed(fn, repeat):
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"first_ms": first * 1e3, "median_ms": statistics.median(times) * 1e3}


def worker(binding, repeat, lib):
    import ctypes

    import pynvml

    if lib:                          # nvidia-ml-py on the simulator: hand it the library
        pynvml.nvmlLib = ctypes.CDLL(lib)
    out = {"binding": binding, "pynvml": pynvml.__file__}

    def getters(h):
        pynvml.nvmlDeviceGetName(h)
        pynvml.nvmlDeviceGetTemperature(h, 0)
        pynvml.nvmlDeviceGetMemoryInfo(h)
        pynvml.nvmlDeviceGetUtilizationRates(h)
        pynvml.nvmlDeviceGetPowerUsage(h)

    def poll():
        pynvml.nvmlInit()
        getters(pynvml.nvmlDeviceGetHandleByIndex(0))
        pynvml.nvmlShutdown()

    out["poll"] = timed(poll, repeat)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    out["held"] = timed(lambda: getters(h), repeat)
    pynvml.nvmlShutdown()
    # the clients first, with nothing of this process holding NVML (nvitop and pynvml.smi
    # keep it initialized once they have started)
    try:
        from gpustat import GPUStatCollection
    except ImportError as e:
        out["gpustat"] = {"skipped": str(e)}
    else:
        out["gpustat"] = timed(GPUStatCollection.new_query, repeat)
    try:
        from nvitop import Device
    except ImportError as e:
        out["nvitop"] = {"skipped": str(e)}
    else:
        devices = Device.all()
        out["nvitop"] = timed(lambda: [d.as_snapshot() for d in devices], repeat)
    pynvml.nvmlInit()
    n = pynvml.nvmlDeviceGetCount()
    out["gpus"] = n
    handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
    if binding == "ours":
        from pynvml import _nvml, batch
        from pynvml.smi import nvidia_smi

        pairs = [(i, m) for i in range(n) for m in ("pci/tx_util", "pci/rx_util")]
        out["pcie"] = timed(lambda: batch.query(pairs), repeat)
        nvsmi = nvidia_smi.getInstance()
        out["devicequery"] = timed(nvsmi.DeviceQuery, max(3, repeat // 3))
        items = list(range(len(_nvml._smi_items())))
        per_call, fetch = {}, []
        runs = max(3, repeat // 3)
        for _ in range(runs):
            _nvml._smi_query(items, None, 3, fetch, per_call)
        out["devicequery_calls_ms"] = sum(ns for ns, _ in per_call.values()) / runs / 1e6
        out["devicequery_fetch_ms"] = statistics.median(fetch) / 1e6
        out["devicequery_pcie_ms"] = per_call.get("nvmlDeviceGetPcieThroughput", [0])[0] / runs / 1e6
    else:
        kinds = (pynvml.NVML_PCIE_UTIL_TX_BYTES, pynvml.NVML_PCIE_UTIL_RX_BYTES)
        out["pcie"] = timed(lambda: [pynvml.nvmlDeviceGetPcieThroughput(x, k) for x in handles for k in kinds],
                            repeat)
    pynvml.nvmlShutdown()
    print(json.dumps(out))


# --- the parent: both workers, one table ---------------------------------------------------------

def run_worker(binding, args, env):
    cmd = [sys.executable, __file__, "--worker", binding, "--repeat", str(args.repeat)]
    if binding == "nvidia-ml-py" and env.get("_SIM_LIB"):
        cmd += ["--lib", env["_SIM_LIB"]]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        sys.stderr.write(f"{binding}: worker failed\n{r.stderr[-3000:]}\n")
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def fmt(case):
    if case is None:
        return "-"
    if "skipped" in case:
        return "skipped"
    return f"{case['median_ms']:.3f} ({case['first_ms']:.2f} first)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--reference", default=os.environ.get("PYNVML_REFERENCE") or
                    str(ROOT / ".ref" / "nvidia-ml-py" / "pynvml.py"))
    ap.add_argument("--clients", default=str(ROOT / ".ref" / "clients"))
    ap.add_argument("--sim-delays", action="store_true")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--lib", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.repeat, args.lib)

    import pynvml   # ours: where its simulator is, and which NVML it loads

    base = dict(os.environ)
    base.pop("PYTHONPATH", None)
    ours_path = str(Path(pynvml.__file__).resolve().parent.parent)
    clients = [args.clients] if Path(args.clients).is_dir() else []
    sim = os.environ.get("PYNVML_LIBRARY") == "sim"
    sim_lib = str(Path(pynvml.__file__).parent / "_sim" / "libnvidia-ml.so.1")
    if not sim and not os.environ.get("PYNVML_LIBRARY"):
        try:
            import ctypes
            ctypes.CDLL("libnvidia-ml.so.1")
        except OSError:
            print("NOTE: no libnvidia-ml.so.1 here: the simulator (PYNVML_LIBRARY=sim)")
            sim = True
    tmp = None
    if sim:
        base["PYNVML_LIBRARY"] = "sim"
        base["_SIM_LIB"] = sim_lib
        if args.sim_delays:
            profile = json.loads((ROOT / "sim" / "profiles" / "default.json").read_text())
            profile.setdefault("system", {})["faults"] = {
                k: {"delay_ms": v} for k, v in DELAYS.items() if k in ("nvmlInitWithFlags", "nvmlShutdown")}
            for d in profile["devices"]:
                d.setdefault("faults", {})["nvmlDeviceGetPcieThroughput"] = {
                    "delay_ms": DELAYS["nvmlDeviceGetPcieThroughput"]}
            tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            json.dump(profile, tmp)
            tmp.close()
            base["PYNVML_SIM_PROFILE"] = tmp.name
    ours_env = dict(base, PYTHONPATH=os.pathsep.join([ours_path] + clients))
    ref_env = dict(base, PYTHONPATH=os.pathsep.join([str(Path(args.reference).parent)] + clients))
    results = {"ours": run_worker("ours", args, ours_env)}
    if Path(args.reference).is_file():
        results["nvidia-ml-py"] = run_worker("nvidia-ml-py", args, ref_env)
    else:
        print(f"NOTE: no nvidia-ml-py at {args.reference}: its column stays empty")
        results["nvidia-ml-py"] = None
    if tmp is not None:
        os.unlink(tmp.name)
    o, r = results["ours"] or {}, results["nvidia-ml-py"] or {}
    what = ("simulated NVML" + (" with delay_ms faults for NVML's cost (%s)" % ", ".join(
        f"{k} {v} ms" for k, v in DELAYS.items()) if args.sim_delays else ", no delays")) if sim else "real NVML"
    print(f"## Polls: ours vs nvidia-ml-py ({what}; {o.get('gpus', '?')} GPU(s); ms, median of {args.repeat} "
          f"after the first)\n")
    print("| case | ours | nvidia-ml-py | nvidia-ml-py / ours |")
    print("|---|---|---|---|")
    for key, label in (("poll", "init, 5 getters, shutdown"), ("held", "the 5 getters, NVML held"),
                       ("gpustat", "gpustat new_query()"), ("nvitop", "nvitop as_snapshot(), every GPU"),
                       ("pcie", "PCIe throughput TX+RX, every GPU")):
        a, b = o.get(key), r.get(key)
        ratio = (f"{b['median_ms'] / a['median_ms']:.1f}x" if a and b and "median_ms" in a and "median_ms" in b
                 and a["median_ms"] > 0 else "")
        print(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio} |")
    if "devicequery" in o:
        print(f"| DeviceQuery(), every field | {fmt(o['devicequery'])} | (none; its NVML calls in series: "
              f"{o['devicequery_calls_ms']:.2f}) | {o['devicequery_calls_ms'] / o['devicequery']['median_ms']:.1f}x |")
        print(f"\nDeviceQuery(): fetch phase {o['devicequery_fetch_ms']:.2f} ms for NVML calls that take "
              f"{o['devicequery_calls_ms']:.2f} ms one after the other "
              f"({o['devicequery_pcie_ms']:.2f} ms of it nvmlDeviceGetPcieThroughput)")
    print("\n(gpustat's new_query() sleeps 0.1 s per GPU whose processes NVML lists, to sample their CPU "
          "use: most of its time on either binding.  nvitop makes its two PCIe samples per GPU one after "
          "the other: no binding can overlap them for it.)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
