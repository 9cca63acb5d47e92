"""CPU time per scrape: pynvml-exporter against nvitop-exporter 1.7.2, on the same NVML.

    .venv/bin/python bench/exporter_bench.py [--scrapes 200] [--profile hgx-h100-8] [--json OUT]
    .venv/bin/python bench/exporter_bench.py --gpus 1         (the first GPU of the profile only)
    python bench/exporter_bench.py --real --clients DIR --reference DIR     (the GPU machine)

Each exporter runs in a process of its own, on the simulated NVML (the built-in profile
hgx-h100-8: eight H100s) unless PYNVML_LIBRARY names another library (on the GPU
machine, the driver's).  A scrape is what one Prometheus request costs:

  ours     pynvml.exporter.Exporter.serve(), what one HTTP request runs: every GPU's
           metrics read (one nvmlDeviceGetFieldValues, the direct calls, a GPM sample),
           on each GPU's thread, or on the scrape's own where the machine has one GPU
           (inline), and the text written; "ours, a thread per GPU" forces the threads;
  nvitop   nvitop-exporter's update_host() + update_device() of every GPU (its collect
           loop's body) + prometheus_client's generate_latest() of its registry, on our
           pynvml (nvitop-exporter needs a pynvml; as drop-in, ours) and on nvidia-ml-py.

CPU time is the process's (all threads: time.process_time), per scrape, after 5 warm-up
scrapes; wall time beside it.  The exported line counts say how much each one exports.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / ".ref" / "clients"
NVIDIA_ML_PY = ROOT / ".ref" / "nvidia-ml-py"

CHILD = r"""
import json, sys, time
which, n = sys.argv[1], int(sys.argv[2])
import pynvml
pynvml.nvmlInit()
if which.startswith("ours"):
    from pynvml import exporter
    from pynvml.exporter import Exporter
    # every scrape reads GPM, as Prometheus's (seconds apart) do: no reuse of a read that is
    # less than GPM_MIN_INTERVAL old
    exporter.GPM_MIN_INTERVAL = 0.0
    # what an HTTP request costs: Exporter.serve (inline on a machine of one GPU, unless
    # "ours-threads" asks for a thread per GPU)
    e = Exporter(timeout=10.0, hostname="bench", inline=False if which == "ours-threads" else None)
    answers = []
    def scrape():
        e.serve(answers.append)
        return answers.pop()
else:
    from prometheus_client import CollectorRegistry, generate_latest
    from nvitop import Device
    from nvitop_exporter import PrometheusExporter
    registry = CollectorRegistry()
    e = PrometheusExporter(Device.all(), hostname="bench", registry=registry)
    def scrape():
        e.update_host()
        for d in e.devices:
            e.update_device(d)
        return generate_latest(registry).decode()
for _ in range(5):
    text = scrape()
c0, w0 = time.process_time(), time.perf_counter()
for _ in range(n):
    text = scrape()
c1, w1 = time.process_time(), time.perf_counter()
lines = [l for l in text.splitlines() if l and not l.startswith("#")]
print(json.dumps({"cpu_ms": (c1 - c0) * 1000 / n, "wall_ms": (w1 - w0) * 1000 / n, "lines": len(lines),
                  "pynvml": pynvml.__file__}))
"""


def run(which, n, args, reference):
    env = dict(os.environ)
    if not args.real:
        env["PYNVML_SIM_PROFILE"] = args.profile
    if reference:      # nvidia-ml-py first on the path, loading the simulator (or the driver)
        import pynvml
        env["PYTHONPATH"] = os.pathsep.join([args.reference, args.clients])
        env.pop("PYNVML_LIBRARY", None)
        if not args.real:
            env["LD_LIBRARY_PATH"] = str(Path(pynvml.__file__).parent / "_sim")
    else:
        env["PYTHONPATH"] = os.pathsep.join([p for p in (env.get("PYTHONPATH"), args.clients) if p])
        if args.real:
            env.pop("PYNVML_LIBRARY", None)
        else:
            env["PYNVML_LIBRARY"] = "sim"
    r = subprocess.run([sys.executable, "-c", CHILD, which, str(n)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit %d" % r.returncode}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--profile", default="hgx-h100-8", help="simulator profile (default hgx-h100-8)")
    ap.add_argument("--json", help="write the figures there too")
    ap.add_argument("--sim-delays", action="store_true",
                    help="each nvmlDeviceGetPcieThroughput takes 20 ms, as on an H200 (a delay_ms fault)")
    ap.add_argument("--gpus", type=int, help="only the profile's first N GPUs (the simulator)")
    ap.add_argument("--real", action="store_true", help="the driver's NVML (the GPU machine), not the simulator")
    ap.add_argument("--clients", default=str(CLIENTS), help="where nvitop and nvitop-exporter are (.ref/clients)")
    ap.add_argument("--reference", default=str(NVIDIA_ML_PY), help="the folder of nvidia-ml-py's pynvml.py")
    args = ap.parse_args()
    if not (Path(args.clients) / "nvitop_exporter").exists():
        sys.exit("exporter_bench: nvitop-exporter is not in %s: run make ref first" % args.clients)
    if (args.sim_delays or args.gpus) and not args.real:
        import tempfile
        path = Path(args.profile)
        if not path.exists():      # a built-in profile: its file in the repository
            path = ROOT / "sim" / "profiles" / (args.profile + ".json")
        p = json.loads(path.read_text())
        if args.gpus:
            p["devices"] = p["devices"][:args.gpus]
        if args.sim_delays:
            for d in p["devices"]:
                d.setdefault("faults", {})["nvmlDeviceGetPcieThroughput"] = {"delay_ms": 20}
            args.scrapes = min(args.scrapes, 20)
        tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(p, tmp)
        tmp.close()
        args.profile = tmp.name
        print("%d GPU(s) of %s%s, %d scrapes" % (len(p["devices"]), path.stem, ", each nvmlDeviceGetPcieThroughput "
                                                 "20 ms (delay_ms)" if args.sim_delays else "", args.scrapes))
    results = {}
    for label, which, reference in [("pynvml-exporter (ours)", "ours", False),
                                    ("pynvml-exporter, a thread per GPU", "ours-threads", False),
                                    ("nvitop-exporter 1.7.2 on our pynvml", "nvitop", False),
                                    ("nvitop-exporter 1.7.2 on nvidia-ml-py", "nvitop", True)]:
        results[label] = r = run(which, args.scrapes, args, reference)
        if "error" in r:
            print("%-40s  failed: %s" % (label, r["error"]))
        else:
            print("%-40s  CPU %7.3f ms/scrape   wall %7.3f ms/scrape   %4d lines"
                  % (label, r["cpu_ms"], r["wall_ms"], r["lines"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
