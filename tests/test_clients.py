"""gpustat and nvitop, unmodified, on our pynvml and the simulated NVML, beside the
same tools on nvidia-ml-py and the same simulated GPUs.  (make ref installs both tools
into .ref/clients without their nvidia-ml-py dependency.)"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, SIM_LIBRARY

CLIENTS = ROOT / ".ref" / "clients"
NVIDIA_ML_PY = ROOT / ".ref" / "nvidia-ml-py"

pytestmark = [pytest.mark.simulator,
              pytest.mark.skipif(not (CLIENTS / "nvitop").exists(), reason="make ref installs gpustat and nvitop")]


@pytest.fixture
def profile(use_profile, default_profile):
    """The default simulated GPUs, with this test process as the job on GPU 1, so the
    tools (which look processes up with psutil) find it alive."""
    default_profile["devices"][1]["nvmlDeviceGetComputeRunningProcesses_v3"][0]["pid"] = os.getpid()
    return use_profile(default_profile)


def run(args, reference=False):
    env = dict(os.environ)
    if reference:   # nvidia-ml-py first on the path, loading the simulator as libnvidia-ml.so.1
        env["PYTHONPATH"] = os.pathsep.join([str(NVIDIA_ML_PY), str(CLIENTS)])
        env["LD_LIBRARY_PATH"] = str(SIM_LIBRARY.parent)
        env.pop("PYNVML_LIBRARY", None)
    else:
        env["PYTHONPATH"] = str(CLIENTS)
        env["PYNVML_LIBRARY"] = "sim"
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)


def test_gpustat_json_matches_nvidia_ml_py(profile):
    ours, ref = run(["-m", "gpustat", "--json"]), run(["-m", "gpustat", "--json"], reference=True)
    assert ours.returncode == 0, ours.stderr
    assert ref.returncode == 0, ref.stderr
    a, b = json.loads(ours.stdout), json.loads(ref.stdout)
    a.pop("query_time"), b.pop("query_time")
    for doc in (a, b):      # this test's own process: its CPU and memory move between runs
        for g in doc["gpus"]:
            for p in g["processes"] or ():
                p.pop("cpu_percent", None), p.pop("cpu_memory_usage", None)
    assert a == b
    gpus = a["gpus"]
    assert [g["name"] for g in gpus] == ["NVIDIA H100 80GB HBM3"] * 2
    assert gpus[1]["processes"][0]["pid"] == os.getpid()
    assert gpus[1]["processes"][0]["gpu_memory_usage"] == 16384
    # gpustat reads nvmlDeviceGetMemoryInfo v2: an idle H100 uses nothing beyond what NVML reserves
    assert gpus[0]["memory.used"] == 0 and gpus[1]["utilization.gpu"] == 87


def _normalize_nvitop(text):
    # drop what differs between two runs: the clock, and this machine's CPU/memory load
    lines = [l for l in text.splitlines() if not re.search(r"\b(CPU|MEM|SWP|UPTIME|Load Average)\b", l)]
    lines = [re.sub(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b|\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}", "<date>", l)
             for l in lines]
    # the process row: this test's own process, whose %CPU, %MEM and TIME move between runs
    pid = str(os.getpid())
    return [re.sub(r"[\d.]+\s+[\d.]+\s+[\d:.]+(\s+\S+\s+│)$", r"<cpu mem time>\1", l) if pid in l else l
            for l in lines]


def _errors(stderr):
    # what nvitop reports, not the traceback's frames (which name the module's files)
    return [re.sub(r"0x[0-9a-f]+", "0x?", l) for l in stderr.splitlines()
            if l.startswith(("ERROR:", "pynvml.NVMLError"))]


def test_nvitop_once_matches_nvidia_ml_py(profile):
    ours, ref = run(["-m", "nvitop", "--once"]), run(["-m", "nvitop", "--once"], reference=True)
    assert ours.returncode == 0, ours.stderr
    # Both report the one entry point the simulator lacks (nvmlDeviceGetDriverModel), alike.
    assert _errors(ours.stderr) == _errors(ref.stderr)
    assert "H100" in ours.stdout and str(os.getpid()) in ours.stdout
    assert _normalize_nvitop(ours.stdout) == _normalize_nvitop(ref.stdout)


def test_nvitop_device_api(profile):
    code = ("from nvitop import Device\n"
            "for d in Device.all():\n"
            "    s = d.as_snapshot()\n"
            "    print(s.index, s.name, s.memory_used, s.gpu_utilization, s.temperature, s.power_usage,\n"
            "          sorted(d.processes()))\n")
    ours, ref = run(["-c", code]), run(["-c", code], reference=True)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == ref.stdout
    assert str(os.getpid()) in ours.stdout.splitlines()[1]
