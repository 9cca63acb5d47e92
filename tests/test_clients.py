"""gpustat, nvitop and nvitop-exporter, unmodified, on our pynvml and the simulated NVML,
beside the same tools on nvidia-ml-py and the same simulated GPUs, and gpustat's own test
suite on ours.  (make ref installs the tools into .ref/clients without their nvidia-ml-py
dependency, and what they and gpustat's tests need into .venv.)"""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, SIM_LIBRARY

sys.path.insert(0, str(ROOT / "tools"))
import client_check  # noqa: E402  (tools/client_check.py: the getters' script, the exporter's scrape)

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


def run(args, reference=False, library=None):
    """The tool on ours (PYNVML_LIBRARY: the simulator, or `library`), or on nvidia-ml-py
    (the simulator, or `library`'s folder, as libnvidia-ml.so.1)."""
    env = _env(reference, library)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120)


def _env(reference=False, library=None):
    env = dict(os.environ)
    if reference:   # nvidia-ml-py first on the path, loading the simulator as libnvidia-ml.so.1
        env["PYTHONPATH"] = os.pathsep.join([str(NVIDIA_ML_PY), str(CLIENTS)])
        env["LD_LIBRARY_PATH"] = str(library.parent if library else SIM_LIBRARY.parent)
        env.pop("PYNVML_LIBRARY", None)
    else:
        env["PYTHONPATH"] = str(CLIENTS)
        env["PYNVML_LIBRARY"] = str(library) if library else "sim"
    return env


def _gpustat_json(library=None):
    ours = run(["-m", "gpustat", "--json"], library=library)
    ref = run(["-m", "gpustat", "--json"], reference=True, library=library)
    assert ours.returncode == 0, ours.stderr
    assert ref.returncode == 0, ref.stderr
    a, b = json.loads(ours.stdout), json.loads(ref.stdout)
    a.pop("query_time"), b.pop("query_time")
    for doc in (a, b):      # this test's own process: its CPU and memory move between runs
        for g in doc["gpus"]:
            for p in g["processes"] or ():
                p.pop("cpu_percent", None), p.pop("cpu_memory_usage", None)
    assert a == b
    return a


def test_gpustat_json_matches_nvidia_ml_py(profile):
    gpus = _gpustat_json()["gpus"]
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


def test_gpustat_on_a_driver_without_the_v3_process_getters(profile, tmp_path):
    # A driver before 510.39: gpustat's own _nvmlGetFunctionPointer falls back to _v2, and
    # our C functions follow it (ext/fnptr_hook.c), as nvidia-ml-py's do.
    hide = subprocess.run([sys.executable, "-m", "pynvml._sim", "hide", "-o", str(tmp_path),
                           "nvmlDeviceGet*RunningProcesses_v3"], capture_output=True, text=True, timeout=60)
    assert hide.returncode == 0, hide.stderr
    library = tmp_path / "libnvidia-ml.so.1"
    bare = run(["-c", "import pynvml; pynvml.nvmlInit(); "
                      "pynvml.nvmlDeviceGetComputeRunningProcesses(pynvml.nvmlDeviceGetHandleByIndex(1))"],
               library=library)
    assert "NVMLLibraryMismatchError" in bare.stderr       # without gpustat's fallback
    gpus = _gpustat_json(library)["gpus"]
    assert gpus[1]["processes"][0]["pid"] == os.getpid()
    assert gpus[1]["processes"][0]["gpu_memory_usage"] == 16384


def test_gpustat_own_test_suite(tmp_path):
    # gpustat 1.1.1's tests mock pynvml with mockito and inject fake C functions through
    # _nvmlGetFunctionPointer; our pynvml is the one installed in this interpreter.
    # Its fakes fill arrays of our struct classes (`T * n`) with our structs made from ctypes values.
    env = dict(os.environ, PYTHONPATH=str(CLIENTS), PYNVML_LIBRARY="sim")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                        "--pyargs", "gpustat.test_gpustat"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    summary = r.stdout.strip().splitlines()[-1]
    assert int(re.search(r"(\d+) passed", summary).group(1)) == 12, summary
    assert not re.search(r"\d+ (failed|error)", summary), summary


NVLINKS = 4


@pytest.fixture
def nvlink_profile(use_profile, default_profile):
    """The default GPUs with NVLinks (the field values nvitop reads: the link count, each
    link's data counters), and this process as the job on GPU 1."""
    import pynvml

    default_profile["devices"][1]["nvmlDeviceGetComputeRunningProcesses_v3"][0]["pid"] = os.getpid()
    for n, dev in enumerate(default_profile["devices"]):
        fields = dev["nvmlDeviceGetFieldValues"]
        fields[str(pynvml.NVML_FI_DEV_NVLINK_LINK_COUNT)] = {"valueType": pynvml.NVML_VALUE_TYPE_UNSIGNED_INT,
                                                               "value": NVLINKS}
        for link in range(NVLINKS):
            for fid in (pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX, pynvml.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX):
                fields[f"{fid}:{link}"] = {"valueType": pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG,
                                           "value": 1000 * (n + 1) + 10 * link + fid}
    return use_profile(default_profile)


def test_nvitop_every_device_method_without_arguments(nvlink_profile):
    ours, ref = run(["-c", client_check.METHODS]), run(["-c", client_check.METHODS], reference=True)
    assert ours.returncode == 0, ours.stderr
    assert ref.returncode == 0, ref.stderr
    a, b = json.loads(ours.stdout), json.loads(ref.stdout)
    assert sorted(a) == ["0", "1"] and len(a["0"]) > 90
    assert b["0"]["nvlink_link_count"] == str(NVLINKS)       # the profile's links are seen
    nvlink = sorted(n for n in a["0"] if n.startswith("nvlink_"))
    assert len(nvlink) >= 16     # nvitop's own nvmlDeviceGetFieldValues: `T * n` of our class
    assert a == b
    assert not any(v.startswith("raised") for dev in a.values() for n, v in dev.items() if n.startswith("nvlink_"))


@pytest.mark.skipif(not (CLIENTS / "nvitop_exporter").exists(), reason="make ref installs nvitop-exporter")
def test_nvitop_exporter_scraped_once(nvlink_profile):
    ours, ref = client_check.scrape(_env(False)), client_check.scrape(_env(True))
    assert "error" not in ours and "error" not in ref, (ours.get("error"), ref.get("error"))
    assert ours == ref
    used = {k: v for k, v in ours.items() if k.startswith("gpu_memory_used_MiB{")}
    assert len(used) == 2 and [v for k, v in used.items() if 'index="1"' in k] == ["16384.0"]
    assert sum(k.startswith("gpu_nvlink_total_tx_throughput") for k in ours) == 2
