"""pynvml.exporter (pynvml-exporter): dcgm-exporter's metrics from the simulated GPUs.

The expected values are read from the simulator profile the exporter runs on (the
built-in hgx-h100-8, each GPU given values of its own so a label mixed up shows), and
the text is parsed here line by line; the last test has a real Prometheus server (Debian's
`prometheus`) scrape the exporter and checks what it stored, through its HTTP API.
"""
import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import REAL, ROOT

pytestmark = pytest.mark.simulator

HGX = json.loads((ROOT / "sim" / "profiles" / "hgx-h100-8.json").read_text())
H100_MIG = json.loads((ROOT / "sim" / "profiles" / "h100-mig.json").read_text())
MiB = 2 ** 20
LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname")
LINE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$')
ALL_LINKS = 4294967295


def profile():
    """hgx-h100-8 with values that differ from GPU to GPU, NVLink throughput included."""
    p = copy.deepcopy(HGX)
    for i, d in enumerate(p["devices"]):
        d["nvmlDeviceGetTemperature"] = {"0": 30 + i}
        d["nvmlDeviceGetClockInfo"]["1"] = 1000 + 10 * i
        d["nvmlDeviceGetPowerUsage"] = 100000 + 1111 * i
        d["nvmlDeviceGetUtilizationRates"] = {"gpu": 10 + i, "memory": 20 + i}
        d["nvmlDeviceGetEncoderUtilization"] = [i, 100000]
        d["nvmlDeviceGetCurrentClocksEventReasons"] = 1 << i
        d["nvmlDeviceGetPcieThroughput"] = {"0": 600 + i, "1": 500 + 2 * i}
        fv = d["nvmlDeviceGetFieldValues"]
        fv["82"] = {"value": 50 + i, "valueType": 1}
        fv["83"] = {"value": 10 ** 9 + i, "valueType": 3}
        fv["3"] = {"value": 7 * i, "valueType": 3}
        fv["142"] = {"value": i, "valueType": 3}
        fv["138:%d" % ALL_LINKS] = {"value": 1000 * i, "valueType": 3}
        fv["139:%d" % ALL_LINKS] = {"value": 7, "valueType": 3}
        d["nvmlGpmMetricsGet"] = dict(GPM_MEANS)
        d["nvmlDeviceGetComputeRunningProcesses_v3"] = [
            {"pid": 1000 + i, "usedGpuMemory": (100 + i) * MiB + 1000, "gpuInstanceId": NO_INSTANCE,
             "computeInstanceId": NO_INSTANCE}]
        d["nvmlDeviceGetGraphicsRunningProcesses_v3"] = [
            {"pid": 2000 + i, "usedGpuMemory": 7 * MiB, "gpuInstanceId": NO_INSTANCE,
             "computeInstanceId": NO_INSTANCE}] if i == 0 else []
    # memory that is not whole MiB: the real H200's reserved 644939776 bytes (615.06 MiB),
    # which its nvidia-smi shows as 616 MiB
    mem = p["devices"][3].get("nvmlDeviceGetMemoryInfo_v2")
    if isinstance(mem, dict) and "reserved" in mem:
        mem["reserved"] = 644939776
        # and used/free off whole MiB by 0.7 MiB, which nvidia-smi rounds to the nearest
        mem["used"] += 700 * 1024
        mem["free"] -= 700 * 1024
    return p


NO_INSTANCE = 0xFFFFFFFF
# The simulator's GPM model: a metric's value over an interval is its mean (the profile's
# "nvmlGpmMetricsGet") within +-15% (a triangle wave over time).  Means 1.4 times apart, so
# that no two ranges meet and a metric mixed up with another shows.
GPM = {  # dcgm-exporter's name -> (NVML's GPM metric id, factor to dcgm-exporter's unit)
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": (1, 0.01), "DCGM_FI_PROF_SM_ACTIVE": (2, 0.01),
    "DCGM_FI_PROF_SM_OCCUPANCY": (3, 0.01), "DCGM_FI_PROF_PIPE_INT_ACTIVE": (4, 0.01),
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": (5, 0.01), "DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE": (6, 0.01),
    "DCGM_FI_PROF_PIPE_TENSOR_HMMA_ACTIVE": (7, 0.01), "DCGM_FI_PROF_PIPE_TENSOR_IMMA_ACTIVE": (9, 0.01),
    "DCGM_FI_PROF_DRAM_ACTIVE": (10, 0.01), "DCGM_FI_PROF_PIPE_FP64_ACTIVE": (11, 0.01),
    "DCGM_FI_PROF_PIPE_FP32_ACTIVE": (12, 0.01), "DCGM_FI_PROF_PIPE_FP16_ACTIVE": (13, 0.01),
    "DCGM_FI_PROF_PCIE_TX_BYTES": (20, MiB), "DCGM_FI_PROF_PCIE_RX_BYTES": (21, MiB),
    "DCGM_FI_PROF_NVLINK_RX_BYTES": (60, MiB), "DCGM_FI_PROF_NVLINK_TX_BYTES": (61, MiB),
}
GPM_MEANS = {str(metric): round(1.4 ** k, 3) for k, (metric, _) in enumerate(GPM.values())}


def gpm_range(d, name):
    """(lowest, highest) the simulator can give for a GPM metric of device d, in dcgm-exporter's unit."""
    metric, factor = GPM[name]
    mean = d["nvmlGpmMetricsGet"][str(metric)] * factor
    return mean * 0.85 * 0.999, mean * 1.15 * 1.001


def check_gpm(got, d, name):
    lo, hi = gpm_range(d, name)
    assert lo <= got <= hi, (name, got, lo, hi)
    if GPM[name][1] == 0.01:
        assert 0 <= got <= 1, name          # a ratio, as dcgm-exporter's, not NVML's percentage


def processes(d):
    """{(pid, type): MiB} of a device of the profile, as the exporter rounds them."""
    out = {}
    for kind in ("compute", "graphics"):
        key = "nvmlDevice%sRunningProcesses_v3" % ("GetCompute" if kind == "compute" else "GetGraphics")
        for p in d.get(key, []):
            out[(str(p["pid"]), kind)] = (p["usedGpuMemory"] + MiB // 2) // MiB
    return out


def expected(d):
    """What dcgm-exporter reports for a device of the profile, metric by metric."""
    fv = d["nvmlDeviceGetFieldValues"]
    mem = d["nvmlDeviceGetMemoryInfo_v2"]

    def field(key):
        return fv[key]["value"]
    return {
        "DCGM_FI_DEV_SM_CLOCK": d["nvmlDeviceGetClockInfo"]["1"],
        "DCGM_FI_DEV_MEM_CLOCK": d["nvmlDeviceGetClockInfo"]["2"],
        "DCGM_FI_DEV_GPU_TEMP": d["nvmlDeviceGetTemperature"]["0"],
        "DCGM_FI_DEV_MEMORY_TEMP": field("82"),
        "DCGM_FI_DEV_POWER_USAGE": d["nvmlDeviceGetPowerUsage"] / 1000,
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": field("83"),
        "DCGM_FI_DEV_GPU_UTIL": d["nvmlDeviceGetUtilizationRates"]["gpu"],
        "DCGM_FI_DEV_MEM_COPY_UTIL": d["nvmlDeviceGetUtilizationRates"]["memory"],
        "DCGM_FI_DEV_ENC_UTIL": d["nvmlDeviceGetEncoderUtilization"][0],
        "DCGM_FI_DEV_DEC_UTIL": d["nvmlDeviceGetDecoderUtilization"][0],
        "DCGM_FI_DEV_FB_FREE": (mem["free"] + 2 ** 19) // 2 ** 20,
        "DCGM_FI_DEV_FB_USED": (mem["used"] + 2 ** 19) // 2 ** 20,
        "DCGM_FI_DEV_FB_RESERVED": -(-mem["reserved"] // 2 ** 20),   # rounded up, as nvidia-smi
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": field("94"),
        "DCGM_FI_DEV_PCIE_TX_THROUGHPUT": d["nvmlDeviceGetPcieThroughput"]["0"],
        "DCGM_FI_DEV_PCIE_RX_THROUGHPUT": d["nvmlDeviceGetPcieThroughput"]["1"],
        "DCGM_FI_DEV_XID_ERRORS": 0,
        "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": field("3"),
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": field("4"),
        "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": field("5"),
        "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": field("6"),
        "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": field("142"),
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": field("143"),
        "DCGM_FI_DEV_ROW_REMAP_PENDING": field("144"),
        "DCGM_FI_DEV_ROW_REMAP_FAILURE": field("145"),
        "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": field("138:%d" % ALL_LINKS) + field("139:%d" % ALL_LINKS),
        "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": d["nvmlDeviceGetCurrentClocksEventReasons"],
    }


# dcgm-exporter's types (its etc/default-counters.csv and field list)
COUNTERS = {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
            "DCGM_FI_DEV_PCIE_TX_THROUGHPUT", "DCGM_FI_DEV_PCIE_RX_THROUGHPUT",
            "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
            "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
            "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL"}


def parse(text, key=("gpu", "metric", "error")):
    """({(name, gpu, metric, error): (value, labels)}, {name: type}) from the exposition
    text (key: the labels after the name in each key)."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        assert m, "not a sample line: %r" % line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        k = (m.group(1),) + tuple(labels.get(x) for x in key)
        samples[k] = (float(m.group(3)), labels)
    return samples, types


def run(args, profile_path, timeout=30, env=None):
    e = dict(os.environ, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=str(profile_path), **(env or {}))
    return subprocess.run([sys.executable, "-m", "pynvml.exporter"] + args, capture_output=True,
                          text=True, timeout=timeout, env=e)


@pytest.fixture
def profile_file(tmp_path):
    def write(p):
        path = tmp_path / "profile.json"
        path.write_text(json.dumps(p))
        return path
    return write


def identity(d, i):
    return {"gpu": str(i), "UUID": d["nvmlDeviceGetUUID"], "pci_bus_id": d["nvmlDeviceGetPciInfo_v3"]["busId"],
            "device": "nvidia%d" % d.get("nvmlDeviceGetMinorNumber", i), "modelName": d["nvmlDeviceGetName"],
            "Hostname": "node-7"}


def test_every_metric_of_every_gpu(profile_file):
    p = profile()
    r = run(["--once", "--hostname", "node-7"], profile_file(p))
    assert r.returncode == 0, r.stderr
    samples, types = parse(r.stdout)
    for i, d in enumerate(p["devices"]):
        for name, value in expected(d).items():
            got, labels = samples[(name, str(i), None, None)]
            assert got == pytest.approx(value), (name, i)
            assert labels == identity(d, i)
        for name in GPM:
            got, labels = samples[(name, str(i), None, None)]
            check_gpm(got, d, name)
            assert labels == identity(d, i)
        assert samples[("pynvml_exporter_gpu_up", str(i), None, None)][0] == 1
    for name in list(expected(p["devices"][0])) + list(GPM) + ["pynvml_exporter_process_fb_used"]:
        assert types[name] == ("counter" if name in COUNTERS else "gauge"), name
    # per-process memory: a line a process, with the GPU's labels, pid and type
    procs, _ = parse(r.stdout, key=("gpu", "pid", "type"))
    got = {(k[1], k[2], k[3]): v for k, (v, _) in procs.items() if k[0] == "pynvml_exporter_process_fb_used"}
    want = {(str(i), pid, kind): mib for i, d in enumerate(p["devices"]) for (pid, kind), mib in processes(d).items()}
    assert got == want and len(want) == 9
    assert procs[("pynvml_exporter_process_fb_used", "3", "1003", "compute")][1] == dict(
        identity(p["devices"][3], 3), pid="1003", type="compute")
    # nothing failed, nothing else exported
    assert not [k for k in samples if k[0] == "pynvml_exporter_errors_total"]
    assert {k[0] for k in procs} == set(expected(p["devices"][0])) | set(GPM) | {
        "pynvml_exporter_process_fb_used", "pynvml_exporter_gpu_up", "pynvml_exporter_scrape_duration_seconds"}


def test_unsupported_metrics_are_left_out(profile_file):
    """The built-in profile has no NVLink throughput: no such line, and no error either."""
    r = run(["--once"], profile_file(HGX))
    assert r.returncode == 0, r.stderr
    assert "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL" not in r.stdout
    assert "DCGM_FI_DEV_GPU_TEMP{" in r.stdout and "pynvml_exporter_errors_total{" not in r.stdout


def test_counters_file_chooses(profile_file, tmp_path):
    csv = tmp_path / "counters.csv"
    csv.write_text("# Format\n# DCGM FIELD, Prometheus metric type, help message\n\n"
                   "DCGM_FI_DEV_GPU_TEMP,    gauge, Temperature of the GPU (C), as we say.\n"
                   "DCGM_FI_DEV_CLOCKS_EVENT_REASONS, gauge, reasons\n"
                   "DCGM_FI_DEV_VGPU_LICENSE_STATUS, gauge, vGPU License status\n"
                   "DCGM_FI_DEV_POWER_USAGE , counter,\n"
                   "DCGM_FI_PROF_DRAM_ACTIVE, gauge, DRAM\n")
    p = profile()
    r = run(["--once", "-f", str(csv)], profile_file(p))
    assert r.returncode == 0, r.stderr
    samples, types = parse(r.stdout)
    assert {k[0] for k in samples} - {"pynvml_exporter_gpu_up", "pynvml_exporter_scrape_duration_seconds"} == {
        "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_PROF_DRAM_ACTIVE"}
    check_gpm(samples[("DCGM_FI_PROF_DRAM_ACTIVE", "5", None, None)][0], p["devices"][5], "DCGM_FI_PROF_DRAM_ACTIVE")
    assert "# HELP DCGM_FI_DEV_GPU_TEMP Temperature of the GPU (C), as we say.\n" in r.stdout
    assert types["DCGM_FI_DEV_POWER_USAGE"] == "counter"     # the file's type wins, as in dcgm-exporter
    assert samples[("DCGM_FI_DEV_GPU_TEMP", "3", None, None)][0] == 33
    # the field NVML cannot give is named once on stderr
    assert r.stderr.count("DCGM_FI_DEV_VGPU_LICENSE_STATUS") == 1 and "line 6" in r.stderr


@pytest.mark.parametrize("args, content, message", [
    (["--port", "70000"], None, "--port 70000 is not a TCP port"),
    (["--port", "x"], None, "argument -p/--port: invalid int value: 'x'"),
    (["--bogus"], None, "unrecognized arguments: --bogus"),
    (["--timeout", "0"], None, "--timeout must be above 0"),
    (["-f", "/nonexistent/counters.csv"], None, "counters file /nonexistent/counters.csv: No such file"),
    (["-f", "COUNTERS"], "DCGM_FI_DEV_GPU_TEMP, histogram, x\n", "line 1: type 'histogram' (gauge or counter)"),
    (["-f", "COUNTERS"], "# c\nGPU_TEMP, gauge, x\n", "line 2: 'GPU_TEMP' is not a DCGM field name"),
    (["-f", "COUNTERS"], "DCGM_FI_DEV_GPU_TEMP\n", "line 1: expected 'DCGM FIELD, type, help'"),
    (["-f", "COUNTERS"], "DCGM_FI_DEV_VGPU_LICENSE_STATUS, gauge, x\n", "names no metric this exporter gives"),
    (["-f", "COUNTERS"], "process_fb_used, gauge, x\n", "'process_fb_used' is not a DCGM field name"),
    (["-f", "COUNTERS"], b"\xff\xfe", "counters file"),
])
def test_bad_usage_is_one_line_and_status_2(profile_file, tmp_path, args, content, message):
    if content is not None:
        csv = tmp_path / "counters.csv"
        (csv.write_bytes if isinstance(content, bytes) else csv.write_text)(content)
        args = [str(csv) if a == "COUNTERS" else a for a in args]
    r = run(args + ["--once"], profile_file(HGX))
    assert r.returncode == 2
    assert r.stdout == ""
    lines = [x for x in r.stderr.splitlines() if "left out" not in x]
    assert len(lines) == 1 and lines[0].startswith("pynvml-exporter: ") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_faults_lost_hung_and_failing_gpus(profile_file):
    """GPU 1 lost from the start, GPU 2 hung (every call 30 s), GPU 3's power call fails:
    the scrape still answers within its timeout, with every other value."""
    p = profile()
    p["devices"][1]["lost"] = True
    p["devices"][2]["faults"] = {"nvmlDeviceGetFieldValues": {"delay_ms": 30000}}
    p["devices"][3]["faults"] = {"nvmlDeviceGetPowerUsage": {"error": "UNKNOWN"},
                                 "nvmlDeviceGetPcieThroughput": {"error": "NOT_SUPPORTED"}}
    start = time.monotonic()
    r = run(["--once", "--timeout", "0.5"], profile_file(p))
    took = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    assert took < 15, took      # not the 30 s of the hung GPU: a timeout of 0.5 s (CI slack)
    samples, _ = parse(r.stdout)
    up = {i: samples[("pynvml_exporter_gpu_up", str(i), None, None)][0] for i in range(8)}
    assert up == {0: 1, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1}
    assert ("DCGM_FI_DEV_GPU_TEMP", "2", None, None) not in samples
    assert ("DCGM_FI_DEV_POWER_USAGE", "3", None, None) not in samples
    assert ("DCGM_FI_DEV_PCIE_TX_THROUGHPUT", "3", None, None) not in samples    # not supported: left out
    assert samples[("DCGM_FI_DEV_GPU_TEMP", "3", None, None)][0] == 33
    assert not [k for k in samples if k[0] == "pynvml_exporter_errors_total" and k[2] not in (
        "DCGM_FI_DEV_POWER_USAGE", "scrape", "open")]
    for i in (0, 4, 5, 6, 7):
        for name, value in expected(p["devices"][i]).items():
            assert samples[(name, str(i), None, None)][0] == pytest.approx(value)
    assert samples[("pynvml_exporter_errors_total", "3", "DCGM_FI_DEV_POWER_USAGE", "Unknown")][0] == 1
    assert samples[("pynvml_exporter_errors_total", "2", "scrape", "Timeout")][0] == 1
    assert samples[("pynvml_exporter_errors_total", "1", "open", "GpuIsLost")][0] == 1
    # the lost GPU keeps the labels it can: its index and the host
    assert samples[("pynvml_exporter_gpu_up", "1", None, None)][1]["device"] == "nvidia1"


@pytest.fixture
def in_process(use_profile):
    import pynvml
    from pynvml import exporter
    made = []

    def make(p, **kw):
        use_profile(p)
        pynvml.nvmlInit()
        e = exporter.Exporter(timeout=kw.pop("timeout", 0.5), hostname="h", **kw)
        made.append(e)
        return e
    yield make
    for e in made:
        e.close()
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


def test_gpu_lost_mid_run_and_hung_gpu_not_asked_twice(in_process):
    import pynvml._sim
    p = profile()
    p["devices"][6]["faults"] = {"nvmlDeviceGetPowerUsage": {"delay_ms": 1500, "after": 1}}
    e = in_process(p)
    first, _ = parse(e.scrape())
    assert all(first[("pynvml_exporter_gpu_up", str(i), None, None)][0] == 1 for i in range(8))
    pynvml._sim.lose_device(4)
    second, _ = parse(e.scrape())        # GPU 6 hangs from here on, for 1.5 s a call
    third, _ = parse(e.scrape())         # ... and is not asked again while it does
    for s in (second, third):
        up = {i: s[("pynvml_exporter_gpu_up", str(i), None, None)][0] for i in range(8)}
        assert up == {0: 1, 1: 1, 2: 1, 3: 1, 4: 0, 5: 1, 6: 0, 7: 1}
        assert s[("DCGM_FI_DEV_GPU_TEMP", "7", None, None)][0] == 37
    assert third[("pynvml_exporter_errors_total", "4", "scrape", "GpuIsLost")][0] == 2
    assert third[("pynvml_exporter_errors_total", "6", "scrape", "busy")][0] == 1
    assert pynvml._sim.delays_now() == 1      # the one hung call: no second one piled up
    time.sleep(1.6)                      # the hung call came back: GPU 6 is asked again
    fourth, _ = parse(e.scrape())
    assert fourth[("pynvml_exporter_errors_total", "6", "scrape", "Timeout")][0] == 2
    assert fourth[("pynvml_exporter_errors_total", "6", "scrape", "busy")][0] == 1


def test_xid_from_events(in_process):
    p = profile()
    p["devices"][5]["events"] = [{"type": 8, "data": 79, "after_ms": 0}]
    e = in_process(p)
    deadline = time.monotonic() + 10
    while True:
        s, _ = parse(e.scrape())
        if s[("DCGM_FI_DEV_XID_ERRORS", "5", None, None)][0] == 79 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert {i: s[("DCGM_FI_DEV_XID_ERRORS", str(i), None, None)][0] for i in range(8)} == \
        {i: (79 if i == 5 else 0) for i in range(8)}


# -- MIG ---------------------------------------------------------------------------------------
# GPU instances made on the built-in h100-mig: (GI profile id, [CI profile of each compute instance])
MIG_LAYOUT = ((9, [2]), (14, [0, 0]), (19, [0]))


def mig_profile():
    """h100-mig with GPM on its GPU instances and a process in one of them."""
    p = copy.deepcopy(H100_MIG)
    d = p["devices"][0]
    d["nvmlGpmMetricsGet"] = dict(GPM_MEANS)
    d["nvmlGpmMigSampleGet"] = {str(gi): {} for gi in range(15)}
    return p


def make_mig_instances(pynvml):
    """The layout's instances: {GI id: GI profile entry of the profile}."""
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    by_id = {g["id"]: g for g in H100_MIG["devices"][0]["mig"]["gpuInstanceProfiles"]}
    made = {}
    for profile_id, cis in MIG_LAYOUT:
        gi = pynvml.nvmlDeviceCreateGpuInstance(h, profile_id)
        for ci in cis:
            pynvml.nvmlGpuInstanceCreateComputeInstance(gi, ci)
        made[pynvml.nvmlGpuInstanceGetInfo(gi).id] = by_id[profile_id]
    return made


def mig_identity(d, gi, profile):
    return dict(identity(d, 0), GPU_I_PROFILE=profile["name"].replace("MIG ", ""), GPU_I_ID=str(gi))


def check_mig(text, p, made, hostname="node-7"):
    d = p["devices"][0]
    samples, _ = parse(text, key=("GPU_I_ID", "pid"))
    for gi, profile in made.items():
        labels = dict(mig_identity(d, gi, profile), Hostname=hostname)
        free, got_labels = samples[("DCGM_FI_DEV_FB_FREE", str(gi), None)]
        assert (free, got_labels) == (profile["memorySizeMB"], labels)
        assert samples[("DCGM_FI_DEV_FB_USED", str(gi), None)] == (0, labels)
        assert samples[("DCGM_FI_DEV_FB_RESERVED", str(gi), None)] == (0, labels)
        for name in GPM:
            got, got_labels = samples[(name, str(gi), None)]
            check_gpm(got, d, name)
            assert got_labels == labels
    # the whole GPU keeps its own series, without MIG labels
    assert samples[("DCGM_FI_DEV_GPU_TEMP", None, None)][1] == dict(identity(d, 0), Hostname=hostname)
    assert {k[1] for k in samples if k[0] == "DCGM_FI_DEV_FB_FREE"} == {None} | {str(g) for g in made}
    return samples


@pytest.fixture
def mig_exporter(use_profile):
    """An Exporter of h100-mig with the layout's instances, made in this process (the
    simulator's MIG state is the process's own)."""
    import pynvml
    from pynvml import exporter
    made = []

    def make(p, **kw):
        use_profile(p)
        pynvml.nvmlInit()
        instances = make_mig_instances(pynvml)
        e = exporter.Exporter(hostname="node-7", **kw)
        made.append(e)
        return e, instances
    yield make
    for e in made:
        e.close()
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


def test_mig_instances(mig_exporter):
    p = mig_profile()
    # a process in GPU instance 4 (the 2g.20gb the layout makes) and one outside MIG, in the
    # parent's list as NVML gives them: the first is exported with its instance's labels
    p["devices"][0]["nvmlDeviceGetComputeRunningProcesses_v3"] = [
        {"pid": 4242, "usedGpuMemory": 300 * MiB, "gpuInstanceId": 4, "computeInstanceId": 0},
        {"pid": 4243, "usedGpuMemory": 20 * MiB, "gpuInstanceId": NO_INSTANCE, "computeInstanceId": NO_INSTANCE}]
    e, made = mig_exporter(p)
    assert made[4]["name"] == "MIG 2g.20gb" and len(made) == 3
    assert e.inline                         # one GPU
    out = []
    e.serve(out.append)
    # GPM's first interval is too short: none of its metrics yet, no error either
    assert "DCGM_FI_PROF_" not in out[0] and "pynvml_exporter_errors_total{" not in out[0]
    time.sleep(exporter_module().GPM_MIN_INTERVAL)
    out = []
    e.serve(out.append)
    samples = check_mig(out[0], p, made)
    assert samples[("pynvml_exporter_process_fb_used", "4", "4242")] == (
        300, dict(mig_identity(p["devices"][0], 4, made[4]), Hostname="node-7", pid="4242", type="compute"))
    assert samples[("pynvml_exporter_process_fb_used", None, "4243")][0] == 20
    assert "pynvml_exporter_errors_total{" not in out[0]
    # a scrape right after it: the same GPM values (not an interval too short to mean much)
    out2 = []
    e.serve(out2.append)
    again = check_mig(out2[0], p, made)
    assert {k: v for k, v in again.items() if k[0] in GPM} == {k: v for k, v in samples.items() if k[0] in GPM}
    # and later: the interval since that scrape, still within the model
    time.sleep(exporter_module().GPM_MIN_INTERVAL)
    out3 = []
    e.serve(out3.append)
    later = check_mig(out3[0], p, made)
    assert {k: v for k, v in later.items() if k[0] in GPM} != {k: v for k, v in samples.items() if k[0] in GPM}


def exporter_module():
    from pynvml import exporter
    return exporter


def test_mig_off_has_no_instance_series(in_process):
    e = in_process(profile())
    text = e.scrape()
    assert "GPU_I_ID" not in text and "GPU_I_PROFILE" not in text


# -- one GPU: read inline, a hung read still answered on time ------------------------------------
def serve_in_thread(e):
    import threading
    from pynvml import exporter
    server = exporter._Server(("127.0.0.1", 0), e)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d/metrics" % server.server_address[1]


def http_scrape(url):
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read().decode()
    return body, time.monotonic() - start


def test_one_gpu_inline_and_a_hung_read_answered_on_time(in_process):
    import pynvml._sim
    p = profile()
    p["devices"] = p["devices"][:1]
    # a timeout that a healthy read on a loaded machine never reaches; a hang far beyond it
    p["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": {"delay_ms": 5000, "after": 1}}
    e = in_process(p, timeout=1.5)
    assert e.inline and all(g.jobs is None for g in e.gpus)     # no thread of its own per GPU
    server, url = serve_in_thread(e)
    try:
        first, _ = http_scrape(url)
        s, _ = parse(first)
        assert s[("pynvml_exporter_gpu_up", "0", None, None)][0] == 1
        assert s[("DCGM_FI_DEV_GPU_TEMP", "0", None, None)][0] == 30
        second, took = http_scrape(url)     # the power call hangs 5 s from here
        assert took < 4.5, took             # answered by the watchdog at the 1.5 s timeout (CI slack)
        s, _ = parse(second)
        assert s[("pynvml_exporter_gpu_up", "0", None, None)][0] == 0
        assert s[("pynvml_exporter_errors_total", "0", "scrape", "Timeout")][0] == 1
        third, took = http_scrape(url)      # still hung: not asked again, not waited for
        assert took < 1.5, took
        s, _ = parse(third)
        assert s[("pynvml_exporter_gpu_up", "0", None, None)][0] == 0
        assert s[("pynvml_exporter_errors_total", "0", "scrape", "busy")][0] == 1
        assert pynvml._sim.delays_now() == 1
        deadline = time.monotonic() + 20
        while pynvml._sim.delays_now() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        fourth, _ = http_scrape(url)       # it came back: read again (and hangs no more? it does:
        s, _ = parse(fourth)               # every call after the first is delayed)
        assert s[("pynvml_exporter_errors_total", "0", "scrape", "Timeout")][0] == 2
    finally:
        server.shutdown()
        server.server_close()


def test_one_gpu_inline_two_scrapes_at_once(in_process):
    """Two Prometheus servers scraping one GPU at the same moment: the second waits for the
    first's read (slow, not hung) and reads after it; both get every value."""
    import threading
    p = profile()
    p["devices"] = p["devices"][:1]
    p["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": {"delay_ms": 300}}
    e = in_process(p, timeout=5)
    server, url = serve_in_thread(e)
    try:
        bodies = []
        threads = [threading.Thread(target=lambda: bodies.append(http_scrape(url)[0])) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(bodies) == 2
        for body in bodies:
            s, _ = parse(body)
            assert s[("pynvml_exporter_gpu_up", "0", None, None)][0] == 1
            assert s[("DCGM_FI_DEV_POWER_USAGE", "0", None, None)][0] == pytest.approx(100.0)
            assert "pynvml_exporter_errors_total{" not in body
    finally:
        server.shutdown()
        server.server_close()


def test_inline_and_threaded_give_the_same_values(in_process):
    p = profile()
    p["devices"] = p["devices"][:2]
    threaded = in_process(p, timeout=10)
    assert not threaded.inline
    a, _ = parse(threaded.scrape())
    from pynvml import exporter
    inline = exporter.Exporter(timeout=10, hostname="h", inline=True)
    try:
        out = []
        inline.serve(out.append)
        b, _ = parse(out[0])
    finally:
        inline.close()
    moving = set(GPM) | {"pynvml_exporter_scrape_duration_seconds"}
    assert {k: v for k, v in a.items() if k[0] not in moving} == {k: v for k, v in b.items() if k[0] not in moving}
    assert len(a) == len(b)


# -- a real Prometheus -------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode())


def _query(base, q):
    return _get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))["data"]["result"]


def _wait(fn, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        try:
            got = fn()
            if got:
                return got
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("waited %d s for %s" % (seconds, what))
        time.sleep(0.2)


def start_prometheus(tmp_path, target):
    """Debian's Prometheus on 127.0.0.1, scraping target every 250 ms: (process, its base URL)."""
    prometheus = shutil.which("prometheus")
    if prometheus is None:     # make test installs it (make ref), where apt can
        pytest.skip("no prometheus: Debian's package could not be installed (tools/apt_install.sh prometheus)")
    prom_port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {scrape_interval: 250ms, scrape_timeout: 200ms}\n"
                      "scrape_configs:\n- job_name: gpus\n  static_configs:\n"
                      "  - targets: ['%s']\n" % target)
    # Prometheus (Go) without the sanitizers make sanitize preloads into this suite
    server_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS")}
    server = subprocess.Popen([prometheus, "--config.file", str(config), "--storage.tsdb.path",
                               str(tmp_path / "data"), "--web.listen-address", "127.0.0.1:%d" % prom_port],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=server_env)
    return server, "http://127.0.0.1:%d" % prom_port


@pytest.mark.skipif(REAL, reason="checks the simulator's values")
def test_prometheus_stores_every_metric(profile_file, tmp_path):
    p = profile()
    # GPU 2 is lost after about 16 scrapes (4 s): 7 calls at the start, about 15 a scrape
    p["devices"][2]["lost"] = {"after": 7 + 15 * 16}
    exporter_port = _free_port()
    env = dict(os.environ, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=str(profile_file(p)))
    exporter = subprocess.Popen([sys.executable, "-m", "pynvml.exporter", "--host", "127.0.0.1",
                                 "--port", str(exporter_port), "--hostname", "node-7"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server, base = start_prometheus(tmp_path, "127.0.0.1:%d" % exporter_port)
    try:
        _wait(lambda: len(_query(base, "DCGM_FI_DEV_GPU_TEMP")) == 8, 60, "Prometheus's first scrape")
        for name in expected(p["devices"][0]):
            stored = {r["metric"]["gpu"]: r for r in _query(base, name)}
            assert len(stored) == 8, name
            for i, d in enumerate(p["devices"]):
                want = dict(identity(d, i), __name__=name, job="gpus", instance="127.0.0.1:%d" % exporter_port)
                assert stored[str(i)]["metric"] == want
                assert float(stored[str(i)]["value"][1]) == pytest.approx(expected(d)[name]), (name, i)
        for name in GPM:
            stored = {r["metric"]["gpu"]: r for r in _query(base, name)}
            for i, d in enumerate(p["devices"]):
                assert stored[str(i)]["metric"] == dict(identity(d, i), __name__=name, job="gpus",
                                                        instance="127.0.0.1:%d" % exporter_port)
                check_gpm(float(stored[str(i)]["value"][1]), d, name)
        stored = {(r["metric"]["gpu"], r["metric"]["pid"], r["metric"]["type"]): float(r["value"][1])
                  for r in _query(base, "pynvml_exporter_process_fb_used")}
        assert stored == {(str(i), pid, kind): mib for i, d in enumerate(p["devices"])
                          for (pid, kind), mib in processes(d).items()}
        # GPU 2 lost mid-run: its up goes 0, the others keep being stored
        _wait(lambda: _query(base, 'pynvml_exporter_gpu_up{gpu="2"} == 0'), 30, "GPU 2 to be lost")
        up = {r["metric"]["gpu"]: float(r["value"][1]) for r in _query(base, "pynvml_exporter_gpu_up")}
        assert up == {str(i): (0.0 if i == 2 else 1.0) for i in range(8)}
        assert _query(base, 'up{job="gpus"}')[0]["value"][1] == "1"      # the exporter answered
        temps = {r["metric"]["gpu"] for r in _query(base, "DCGM_FI_DEV_GPU_TEMP")}
        assert temps == {str(i) for i in range(8) if i != 2}              # GPU 2's series went stale
    finally:
        server.terminate()
        exporter.terminate()
        server.wait(10)
        exporter.wait(10)


@pytest.mark.skipif(REAL, reason="checks the simulator's values")
def test_prometheus_stores_mig_instances(mig_exporter, tmp_path):
    """h100-mig with three GPU instances: Prometheus stores each instance's series under
    dcgm-exporter's MIG labels, beside the whole GPU's."""
    p = mig_profile()
    p["devices"][0]["nvmlDeviceGetComputeRunningProcesses_v3"] = [
        {"pid": 4242, "usedGpuMemory": 300 * MiB, "gpuInstanceId": 4, "computeInstanceId": 0}]
    e, made = mig_exporter(p)
    http, url = serve_in_thread(e)
    target = url.split("/")[2]
    server, base = start_prometheus(tmp_path, target)
    d = p["devices"][0]
    try:
        _wait(lambda: len(_query(base, 'DCGM_FI_DEV_FB_FREE{GPU_I_ID!=""}')) == 3, 60, "Prometheus's first scrape")
        want_labels = {gi: dict(mig_identity(d, gi, prof), Hostname="node-7", job="gpus", instance=target)
                       for gi, prof in made.items()}
        for name in ["DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_RESERVED"] + list(GPM):
            stored = {int(r["metric"]["GPU_I_ID"]): r for r in _query(base, name + '{GPU_I_ID!=""}')}
            assert sorted(stored) == sorted(made), name
            for gi, r in stored.items():
                assert r["metric"] == dict(want_labels[gi], __name__=name)
                value = float(r["value"][1])
                if name in GPM:
                    check_gpm(value, d, name)
                else:
                    assert value == (made[gi]["memorySizeMB"] if name == "DCGM_FI_DEV_FB_FREE" else 0), name
            # and the whole GPU's series, without MIG labels
            whole = _query(base, name + '{GPU_I_ID=""}')
            assert len(whole) == 1 and "GPU_I_PROFILE" not in whole[0]["metric"], name
        proc = _query(base, "pynvml_exporter_process_fb_used")
        assert [(r["metric"], r["value"][1]) for r in proc] == [
            (dict(want_labels[4], __name__="pynvml_exporter_process_fb_used", pid="4242", type="compute"), "300")]
    finally:
        server.terminate()
        server.wait(10)
        http.shutdown()
        http.server_close()


def test_once_on_one_hung_gpu_still_answers_on_time(profile_file):
    """--once prints scrape(): on one GPU too, a hung read costs the timeout, not the hang."""
    p = profile()
    p["devices"] = p["devices"][:1]
    p["devices"][0]["faults"] = {"nvmlDeviceGetFieldValues": {"delay_ms": 30000}}
    start = time.monotonic()
    r = run(["--once", "--timeout", "0.5"], profile_file(p))
    assert time.monotonic() - start < 15
    assert r.returncode == 0, r.stderr
    samples, _ = parse(r.stdout)
    assert samples[("pynvml_exporter_gpu_up", "0", None, None)][0] == 0
    assert samples[("pynvml_exporter_errors_total", "0", "scrape", "Timeout")][0] == 1
