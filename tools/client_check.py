#!/usr/bin/env python3
"""nvitop's Device getters and nvitop-exporter's metrics on our pynvml and on nvidia-ml-py.

    python tools/client_check.py --reference DIR [--clients DIR] [--json OUT]

Runs, once with our pynvml (the one this Python imports) and once with nvidia-ml-py's
pynvml.py from DIR first on the path, both on the NVML they load by default (the GPU's;
PYNVML_LIBRARY / LD_LIBRARY_PATH choose another): every nvitop `Device` method that takes
no argument on every GPU, and one scrape of nvitop-exporter (127.0.0.1, a free port).
Prints how many getters and GPU metric lines agree and lists those that do not: on a
real GPU, readings that move between the two runs (utilization, power, clocks) differ
by nature.  Read-only: nothing here sets anything on the GPU.  tools/gpu_session.sh runs
it (step clients); tests/test_clients.py makes the same checks on the simulator.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

METHODS = r"""
import inspect, json, re
from nvitop import Device
out = {}
for d in Device.all():
    res = out[d.index] = {}
    for name, fn in sorted(inspect.getmembers(type(d), callable)):
        if name.startswith("_"):
            continue
        try:
            params = list(inspect.signature(fn).parameters.values())[1:]
        except (TypeError, ValueError):
            continue
        if any(p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            continue
        try:
            res[name] = re.sub(r" at 0x[0-9a-f]+", " at 0x?", repr(getattr(d, name)()))
        except Exception as e:
            res[name] = "raised %s: %s" % (type(e).__name__, e)
print(json.dumps(out, sort_keys=True))
"""


def env_for(reference, clients):
    env = dict(os.environ)
    path = ([str(reference)] if reference else []) + [str(clients), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in path if p)
    return env


def device_methods(env):
    r = subprocess.run([sys.executable, "-c", METHODS], capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != 0:
        raise SystemExit("nvitop Device methods failed:\n" + r.stderr[-3000:])
    return json.loads(r.stdout)


def scrape(env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "nvitop_exporter", "--bind-address", "127.0.0.1", "--port",
                             str(port), "--hostname", "check", "--interval", "0.25"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # A scrape can land while a collection refills the gauges: take one whose lines are
        # complete (every GPU metric on the same GPUs) and that the next scrape has the same
        # lines of (values may move on a real GPU).
        deadline, last = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return {"error": "nvitop-exporter exited: " + proc.stderr.read()[-2000:]}
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                text = ""
            lines = [ln for ln in text.splitlines() if ln.startswith("gpu_")]
            metrics = {ln.rsplit(" ", 1)[0]: ln.rsplit(" ", 1)[1] for ln in lines}
            gpus = {}     # metric name -> the GPU indexes it has lines for
            for key in metrics:
                gpus.setdefault(key.split("{")[0], set()).add(re.search(r'index="([^"]*)"', key + 'index=""').group(1))
            complete = "gpu_memory_total_MiB" in gpus and all(v == gpus["gpu_memory_total_MiB"] for v in gpus.values())
            if complete and last is not None and set(last) == set(metrics):
                return last
            last = metrics if complete else None
            time.sleep(0.3)
        return {"error": "no complete GPU metrics in 60 s"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def compare(a, b):
    keys = sorted(set(a) | set(b))
    return [k for k in keys if a.get(k) != b.get(k)], len(keys)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", required=True, help="the folder of nvidia-ml-py's pynvml.py")
    ap.add_argument("--clients", default=str(ROOT / ".ref" / "clients"), help="where nvitop and nvitop-exporter are")
    ap.add_argument("--json", help="save both sides' results")
    args = ap.parse_args(argv)
    ours_env, ref_env = env_for(None, args.clients), env_for(args.reference, args.clients)
    res = {"ours": {"methods": device_methods(ours_env), "metrics": scrape(ours_env)},
           "nvidia-ml-py": {"methods": device_methods(ref_env), "metrics": scrape(ref_env)}}
    status = 0
    a, b = res["ours"]["methods"], res["nvidia-ml-py"]["methods"]
    for gpu in sorted(set(a) | set(b)):
        diff, n = compare(a.get(gpu, {}), b.get(gpu, {}))
        raised = sum(v.startswith("raised") for v in a.get(gpu, {}).values())
        print(f"GPU {gpu}: nvitop Device methods {n - len(diff)} of {n} alike ({raised} raise on ours)")
        for k in diff:
            print(f"  {k}: ours {a.get(gpu, {}).get(k)!r:.120}, nvidia-ml-py {b.get(gpu, {}).get(k)!r:.120}")
    ma, mb = res["ours"]["metrics"], res["nvidia-ml-py"]["metrics"]
    for side, m in (("ours", ma), ("nvidia-ml-py", mb)):
        if "error" in m:
            print(f"nvitop-exporter on {side}: {m['error']}")
            status = 1
    if "error" not in ma and "error" not in mb:
        diff, n = compare(ma, mb)
        print(f"nvitop-exporter: GPU metric lines {n - len(diff)} of {n} alike (same names: {set(ma) == set(mb)})")
        for k in diff:
            print(f"  {k}: ours {ma.get(k)}, nvidia-ml-py {mb.get(k)}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
