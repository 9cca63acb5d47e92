"""pynvml.smi: the dict API (DeviceQuery), the XML (XmlDeviceQuery), loop(), and every
query field of nvidia-smi, on the simulated H100s (reference: tests/data/reference/h100)."""
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import xml.etree.ElementTree as ET

from pathlib import Path

import pytest

import pynvml
import pynvml.smi as smi_mod
from pynvml.smi import nvidia_smi

simulator = pytest.mark.simulator


def shutdown_all():
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()



@pytest.fixture
def reference_data():
    """The reference data the tests need, copied into the repo (tests/data/reference)."""
    return Path(__file__).resolve().parent / "data" / "reference"

@pytest.fixture
def smi():
    """The singleton, with NVML shut down before and after: its queries initialize NVML
    again by themselves, and other tests count on a clean first nvmlInit."""
    nvsmi = nvidia_smi.getInstance()
    shutdown_all()
    try:
        yield nvsmi
    finally:
        shutdown_all()


def reference_fields(reference_data):
    lines = (reference_data / "nvidia-smi-query-gpu-fields.txt").read_text().splitlines()
    return [line.split() for line in lines if line.strip()]


# --- the dict ---------------------------------------------------------------------------

@simulator
def test_memory_query_has_the_original_shape(smi):
    result = smi.DeviceQuery("memory.free, memory.total")
    assert result == {
        "count": 2,
        "gpu": [
            {"fb_memory_usage": {"total": 81559, "free": 81079, "unit": "MiB"}},
            {"fb_memory_usage": {"total": 81559, "free": 64695, "unit": "MiB"}},
        ],
    }
    assert list(result["gpu"][0]["fb_memory_usage"]) == ["total", "free", "unit"]


def test_the_original_tests_pass(smi):
    # what gpuopenanalytics/pynvml's own test_smi.py asserts
    ngpus = smi.DeviceQuery("count")["count"]
    assert ngpus > 0
    for i in range(ngpus):
        assert smi.DeviceQuery("memory.free")["gpu"][i]["fb_memory_usage"]["free"] >= 0
        assert smi.DeviceQuery("utilization.gpu")["gpu"][i]["utilization"]["gpu_util"] >= 0
        assert smi.DeviceQuery("utilization.memory")["gpu"][i]["utilization"]["memory_util"] >= 0
        assert smi.DeviceQuery("pstate")["gpu"][i]["performance_state"][0] == "P"
        temp = smi.DeviceQuery("temperature.gpu")["gpu"][i]["temperature"]
        assert 0 < temp["gpu_temp"] < temp["gpu_temp_max_threshold"]
        assert temp["unit"] == "C"


@simulator
def test_values_and_groups_of_the_original_layout(smi):
    gpu = smi.DeviceQuery("name,pci.bus_id,pci.domain,pcie.link.width.max,power.draw,power.limit,"
                          "clocks.sm,fan.speed,ecc.mode.current,retired_pages.pending")["gpu"][0]
    assert gpu["product_name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["product_brand"] == "NVIDIA"              # given with the name, as the original did
    assert gpu["id"] == gpu["pci"]["pci_bus_id"] == "00000000:00:06.0"
    assert gpu["pci"]["pci_domain"] == "0000"
    assert gpu["pci"]["pci_gpu_link_info"]["link_widths"]["max_link_width"] == "16x"
    power = gpu["power_readings"]
    assert power == {"power_draw": 71.67, "power_limit": 700.0, "power_state": "P0", "unit": "W"}
    assert gpu["clocks"] == {"sm_clock": 345, "unit": "MHz"}
    assert gpu["fan_speed"] == "N/A" and gpu["fan_speed_unit"] == "%"
    assert gpu["ecc_mode"] == {"current_ecc": "Enabled"}
    assert gpu["retired_pages"] == {"pending_retirement": "N/A"}


@simulator
def test_everything_when_no_filter(smi):
    result = smi.DeviceQuery()
    assert set(result) == {"timestamp", "driver_version", "cuda_version", "count", "vgpu_driver_capability", "gpu"}
    assert result["driver_version"] == "580.159.04" and result["cuda_version"] == "13.0"
    gpu = result["gpu"][0]
    for group in ("fb_memory_usage", "bar1_memory_usage", "utilization", "ecc_errors", "temperature",
                  "power_readings", "clocks", "applications_clocks", "max_clocks", "clock_policy", "pci",
                  "clocks_throttle", "fabric", "platform", "remapped_rows"):
        assert isinstance(gpu[group], dict), group
    assert gpu["bar1_memory_usage"] == {"total": 131072, "used": 1, "free": 131071, "unit": "MiB"}
    assert gpu["processes"] is None and gpu["index"] == 0 and gpu["minor_number"] == 0
    assert gpu["clocks_throttle"]["clocks_throttle_reason_gpu_idle"] == "Active"
    assert gpu["temperature"]["gpu_temp_max_tlimit_threshold"] == -8      # 87 (GPU max) - 95 (shutdown)
    assert result["gpu"][1]["pci"]["pci_bus_id"] == "00000000:00:07.0"


def test_timestamp_has_date_and_time(smi):
    stamp = smi.DeviceQuery("timestamp")["timestamp"]
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3}", stamp), stamp
    assert stamp[:10] == time.strftime("%Y/%m/%d") or stamp[:10] == time.strftime(
        "%Y/%m/%d", time.localtime(time.time() - 5))


@simulator
def test_index_is_the_index_not_the_minor_number(smi, use_profile, default_profile):
    for dev, minor in zip(default_profile["devices"], (7, 3)):
        dev["nvmlDeviceGetMinorNumber"] = minor
    use_profile(default_profile)
    gpus = smi.DeviceQuery("index")["gpu"]
    assert [g["index"] for g in gpus] == [0, 1]
    assert [g["minor_number"] for g in smi.DeviceQuery()["gpu"]] == [7, 3]


BRANDS = {0: "Unknown", 1: "Quadro", 2: "Tesla", 3: "NVS", 4: "Grid", 5: "GeForce", 6: "Titan",
          7: "NVIDIA Virtual Applications", 8: "NVIDIA Virtual PC", 9: "NVIDIA Virtual Compute Server",
          10: "NVIDIA RTX Virtual Workstation", 11: "NVIDIA Cloud Gaming", 12: "Quadro RTX", 13: "NVIDIA RTX",
          14: "NVIDIA", 15: "GeForce RTX", 16: "Titan RTX",
          # NVML 13.615's brands (no nvidia-smi of driver 580 names them: nvml.h 13.4's words)
          17: "NVIDIA Deep Learning Accelerator", 18: "NVIDIA RTX Virtual Game Dev", 19: "NVIDIA NPU"}


@simulator
def test_a_brand_name_for_every_brand(smi, use_profile, default_profile):
    consts = {v for k, v in vars(pynvml).items() if k.startswith("NVML_BRAND_") and k != "NVML_BRAND_COUNT"}
    assert consts <= set(BRANDS)
    base = default_profile["devices"][0]
    default_profile["devices"] = [dict(base, nvmlDeviceGetBrand=b) for b in sorted(BRANDS)] + [
        dict(base, nvmlDeviceGetBrand=99)]
    use_profile(default_profile)
    brands = [g["product_brand"] for g in smi.DeviceQuery("name")["gpu"]]
    assert brands == [BRANDS[b] for b in sorted(BRANDS)] + ["Unknown"]


def test_nvsmi_numbers_work_as_names(smi):
    assert smi.DeviceQuery([smi_mod.NVSMI_MEMORY_FREE, smi_mod.NVSMI_PSTATE]) == smi.DeviceQuery(
        "memory.free,pstate")
    assert "fb_memory_usage" in smi.DeviceQuery([smi_mod.NVSMI_ALL])["gpu"][0]
    assert smi.DeviceQuery(["memory.used"]) == smi.DeviceQuery("memory.used")


def test_original_group_names(smi):
    gpu = smi.DeviceQuery("supported-clocks,compute-apps,accounted-apps,clocks")["gpu"][0]
    assert set(gpu) == {"supported_clocks", "processes", "accounted_processes", "clock_policy"}
    assert set(gpu["clock_policy"]) == {"auto_boost", "auto_boost_default"}


def test_devices_argument(smi):
    count = smi.DeviceQuery("count")["count"]
    assert len(smi.DeviceQuery("uuid", devices=[count - 1])["gpu"]) == 1
    with pytest.raises(ValueError, match="no GPU with index"):
        smi.DeviceQuery("uuid", devices=[count])


@pytest.mark.parametrize("bad", ["bogus", "memory.free,bogus", "memory.free, Memory.Total", "--query-gpu"])
def test_unknown_names_raise(smi, bad):
    with pytest.raises(ValueError, match="not a valid field"):
        smi.DeviceQuery(bad)
    with pytest.raises(ValueError, match="not a valid field"):
        smi.XmlDeviceQuery(bad)


def test_bad_filters_raise(smi):
    with pytest.raises(ValueError, match="no field"):
        smi.DeviceQuery(" , ")
    with pytest.raises(ValueError, match="NVSMI"):
        smi.DeviceQuery([12345])
    with pytest.raises(TypeError):
        smi.DeviceQuery(3.5)
    with pytest.raises(TypeError):
        smi.DeviceQuery([b"memory.free"])
    with pytest.raises(TypeError):
        smi.DeviceQuery([True])
    with pytest.raises(ValueError, match="not a valid field"):
        smi.CsvQuery("memory.free, memory.total")      # nvidia-smi takes no spaces there


def test_help_query_gpu_is_ours_and_not_from_the_cwd(smi, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = smi.DeviceQuery("--help-query-gpu")
    assert text == smi.XmlDeviceQuery("--help-query-gpu")
    for name in smi_mod.QUERY_FIELDS:
        assert '"%s"' % name in text
    assert "memory.total" in text and "MiB" in text
    assert smi.DeviceQuery("--help") == nvidia_smi.DeviceQuery.__doc__


# --- every field ------------------------------------------------------------------------

def test_every_field_of_nvidia_smi_is_accepted(reference_data):
    want = {name for names in reference_fields(reference_data) for name in names}
    assert len(reference_fields(reference_data)) == 214
    assert want <= set(smi_mod.QUERY_FIELDS), sorted(want - set(smi_mod.QUERY_FIELDS))
    for names in reference_fields(reference_data):
        # aliases name the same field, and print the canonical name in the csv header
        items = {smi_mod._BY_NAME[n].index for n in names}
        assert len(items) == 1, names
        assert smi_mod._BY_NAME[names[-1]].names[0] == names[0]


def test_every_field_answers_in_every_form(smi, reference_data):
    names = [n for names in reference_fields(reference_data) for n in names]
    lines = smi.CsvQuery(",".join(names))
    assert len(lines) == 1 + smi.DeviceQuery("count")["count"]
    assert all(len(line.split(", ")) >= len(names) for line in lines)
    for name in names:
        result = smi.DeviceQuery(name)
        values = [v for k, v in result.items() if k != "count"] or [result["count"]]
        assert values and all(v not in (None, {}) for v in values), name
        root = ET.fromstring(smi.XmlDeviceQuery(name).split("\n", 2)[2])
        assert root.tag == "nvidia_smi_log"
        assert len(root.findall("gpu")) == result["count"]
        leaves = [e for e in root.iter() if len(e) == 0 and e.tag != "gpu"]
        assert leaves, name


# --- XML ----------------------------------------------------------------------------------

def tag_paths(root, skip=("supported_clocks",)):
    out = []

    def walk(e, path):
        p = path + "/" + e.tag
        if e.tag in skip:
            out.append(p)
            return
        if len(e) == 0:
            out.append(p)
        for k in e:
            walk(k, p)
    walk(root, "")
    return out


def test_xml_is_laid_out_as_nvidia_smi_q_x(smi, reference_data):
    ours = smi.XmlDeviceQuery(devices=[0])
    ref = (reference_data / "h100" / "nvidia-smi-q.xml").read_text()
    assert ours.splitlines()[:3] == ref.splitlines()[:3]
    assert ours.endswith("\t</gpu>\n\n</nvidia_smi_log>\n") and ref.endswith("\t</gpu>\n\n</nvidia_smi_log>\n")
    ours_root = ET.fromstring(ours.split("\n", 2)[2])
    ref_root = ET.fromstring(ref.split("\n", 2)[2])
    assert tag_paths(ours_root) == tag_paths(ref_root)
    gpu = ours_root.find("gpu")
    assert gpu.get("id") == "00000000:00:06.0"
    # byte for byte where the simulator has the reference's values
    same = [line for line in ours.splitlines() if line in set(ref.splitlines())]
    assert len(same) >= 180, len(same)
    assert "\t\t<mig_devices>\n\t\t\tNone\n\t\t</mig_devices>\n" in ours
    assert "\t\t<processes>\n\t\t</processes>\n" in ours


def test_xml_of_all_gpus(smi):
    root = ET.fromstring(smi.XmlDeviceQuery().split("\n", 2)[2])
    gpus = root.findall("gpu")
    assert len(gpus) == int(root.find("attached_gpus").text) == smi.DeviceQuery("count")["count"]
    assert len({g.get("id") for g in gpus}) == len(gpus)


@simulator
def test_xml_filter_gives_only_what_was_asked(smi):
    text = smi.XmlDeviceQuery("memory.free,temperature.gpu,driver_version")
    root = ET.fromstring(text.split("\n", 2)[2])
    assert [e.tag for e in root] == ["driver_version", "gpu", "gpu"]
    gpu = root.find("gpu")
    assert [e.tag for e in gpu] == ["fb_memory_usage", "temperature"]
    assert gpu.find("fb_memory_usage/free").text == "81079 MiB"
    assert gpu.find("temperature/gpu_temp").text == "35 C"
    # a query field with no element in nvidia-smi -q -x still has one here
    root = ET.fromstring(smi.XmlDeviceQuery("compute_cap,index").split("\n", 2)[2])
    assert root.find("gpu/compute_cap").text == "9.0" and root.find("gpu/index").text == "0"


# --- loop ----------------------------------------------------------------------------------

def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_loop_calls_back_until_stopped(smi):
    results = []
    handle = smi.loop(filter="memory.free", time_in_milliseconds=10, callback=results.append)
    try:
        assert wait_for(lambda: len(results) >= 3)
    finally:
        handle.stop()
    assert not handle.is_running() and handle.is_aborted()
    n = len(results)
    time.sleep(0.1)
    assert len(results) == n
    assert results[0]["gpu"][0]["fb_memory_usage"]["unit"] == "MiB"
    assert handle.result() == results[-1]


def test_loop_in_the_original_argument_order_with_a_two_argument_callback(smi):
    seen = []
    handle = nvidia_smi.loop(10, "utilization.gpu", lambda h, r: seen.append((h, r)))
    with handle:
        assert wait_for(lambda: len(seen) >= 2)
    assert seen[0][0] is handle and "utilization" in seen[0][1]["gpu"][0]
    assert not handle.is_running()


def test_loop_stops_when_its_callback_fails(smi):
    def boom(result):
        raise RuntimeError("no")
    handle = smi.loop("memory.free", 10, boom)
    assert wait_for(lambda: not handle.is_running())
    assert isinstance(handle.error, RuntimeError)


def test_loop_rejects_bad_arguments(smi):
    with pytest.raises(ValueError, match="not a valid field"):
        smi.loop("bogus", 10)
    with pytest.raises(TypeError):
        smi.loop("memory.free", "fast")
    with pytest.raises(ValueError):
        smi.loop("memory.free", -1)
    with pytest.raises(TypeError):
        smi.loop("memory.free", 10, callback=42)
    with pytest.raises(TypeError):
        smi.loop("memory.free", 10, None, 1)


def test_a_running_loop_does_not_keep_the_process_alive(tmp_path):
    code = textwrap.dedent("""
        import sys, time
        from pynvml.smi import nvidia_smi
        seen = []
        nvidia_smi.getInstance().loop("memory.free,utilization.gpu", 5, seen.append)
        while not seen:
            time.sleep(0.01)
        print("running", flush=True)
    """)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "running\n"
    assert time.monotonic() - t0 < 30


def test_queries_from_threads_at_once(smi):
    errors = []

    def work():
        try:
            for _ in range(20):
                assert smi.DeviceQuery("memory.free,clocks.sm")["gpu"]
        except Exception as e:          # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_query_after_someone_shut_nvml_down(smi):
    smi.DeviceQuery("memory.free")
    shutdown_all()
    assert smi.DeviceQuery("memory.free")["gpu"]


def test_format_and_aliases(smi):
    text = smi.format(smi.DeviceQuery("memory.total,pstate"))
    assert "fb_memory_usage:" in text and "gpu: [1 of" in text
    assert smi.format("as is") == "as is"
    from pynvml_utils import nvidia_smi as utils_smi
    from pynvml_utils.smi import nvidia_smi as utils_smi2
    assert utils_smi is utils_smi2 is nvidia_smi


# --- each NVML call once per GPU per query ---------------------------------------------------

COUNTING_NVML = r"""
/* A stand-in NVML of two GPUs that counts the calls the smi engine makes. */
#include <string.h>
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } mem2_t;
typedef struct { unsigned int fieldId, scopeId; long long ts, lat; unsigned int valueType, ret;
                 unsigned long long value; } fv_t;
static int dev[2];
int counts[8];            /* handle, memory_v2, clock[sm], clock[gr], clock[mem], fieldvalues, fields, count */
int nvmlInitWithFlags(unsigned int f) { (void)f; return 0; }
int nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(int r) { (void)r; return "?"; }
int nvmlDeviceGetCount_v2(unsigned int *n) { counts[7]++; *n = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **d) { counts[0]++; *d = &dev[i]; return i < 2 ? 0 : 2; }
int nvmlDeviceGetMemoryInfo_v2(void *d, mem2_t *m) {
    (void)d; counts[1]++; m->total = 1ULL << 34; m->reserved = 1ULL << 20; m->used = 2ULL << 20;
    m->free = m->total - m->reserved - m->used; return 0; }
int nvmlDeviceGetClockInfo(void *d, unsigned int t, unsigned int *c) {
    (void)d; if (t > 2) return 3; counts[2 + (t == 0 ? 1 : t == 1 ? 0 : 2)]++; *c = 100 + t; return 0; }
int nvmlDeviceGetFieldValues(void *d, int n, fv_t *v) {
    (void)d; counts[5]++; counts[6] += n;
    for (int i = 0; i < n; i++) { v[i].ret = 0; v[i].valueType = 1; v[i].value = 1000 * v[i].fieldId; }
    return 0; }
"""


def test_each_nvml_call_once_per_gpu_per_query(tmp_path):
    import shutil
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    src = tmp_path / "counting.c"
    src.write_text(COUNTING_NVML)
    lib = tmp_path / "libcounting.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    code = textwrap.dedent("""
        import ctypes, json
        from pynvml.smi import nvidia_smi
        nvsmi = nvidia_smi.getInstance()
        counts = (ctypes.c_int * 8).in_dll(ctypes.CDLL(%r), "counts")
        before = list(counts)
        lines = nvsmi.CsvQuery("memory.used,memory.free,memory.total,memory.reserved,clocks.sm,clocks.gr,"
                               "clocks.mem,clocks.current.sm,power.draw.average,power.draw.instant,"
                               "temperature.memory,clocks_event_reasons_counters.sync_boost")
        after = list(counts)
        print(json.dumps({"lines": lines, "calls": [a - b for a, b in zip(after, before)]}))
    """ % str(lib))
    env = dict(os.environ, PYNVML_LIBRARY=str(lib))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    import json
    result = json.loads(out.stdout)
    assert result["lines"][1] == ("2 MiB, 16381 MiB, 16384 MiB, 1 MiB, 101 MHz, 100 MHz, 102 MHz, 101 MHz, "
                                  "185.00 W, 186.00 W, 82000, 76 us")
    handle, mem, sm, gr, memclk, fv_calls, fv_fields, count = result["calls"]
    assert (count, handle) == (1, 2)
    assert mem == 2                      # memory.used/free/total/reserved: one call per GPU
    assert (sm, gr, memclk) == (2, 2, 2)  # clocks.sm and clocks.current.sm share theirs
    assert fv_calls == 2                 # every NVML_FI_* of a GPU in one call
    assert fv_fields == 2 * 4


@simulator
def test_processes(smi, use_profile, default_profile):
    na = 0xFFFFFFFF
    dev = default_profile["devices"][0]
    dev["nvmlDeviceGetComputeRunningProcesses_v3"] = [
        {"pid": 4242, "usedGpuMemory": 1 << 30, "gpuInstanceId": na, "computeInstanceId": na},
        {"pid": 77, "usedGpuMemory": "0xFFFFFFFFFFFFFFFF", "gpuInstanceId": 1, "computeInstanceId": 0}]
    dev["nvmlDeviceGetGraphicsRunningProcesses_v3"] = [
        {"pid": 4242, "usedGpuMemory": 1 << 30, "gpuInstanceId": na, "computeInstanceId": na}]
    use_profile(default_profile)
    gpus = smi.DeviceQuery("compute-apps")["gpu"]
    assert gpus[0]["processes"] == [
        {"pid": 4242, "type": "C+G", "process_name": "python3", "used_memory": 1024, "unit": "MiB"},
        {"pid": 77, "type": "C", "process_name": "N/A", "used_memory": "N/A", "unit": "MiB"}]
    assert [p["pid"] for p in gpus[1]["processes"]] == [p["pid"] for p in default_profile["devices"][1][
        "nvmlDeviceGetComputeRunningProcesses_v3"]]
    root = ET.fromstring(smi.XmlDeviceQuery("compute-apps", devices=[0]).split("\n", 2)[2])
    procs = root.findall("gpu/processes/process_info")
    assert [(p.find("pid").text, p.find("type").text, p.find("used_memory").text,
             p.find("gpu_instance_id").text) for p in procs] == [
        ("4242", "C+G", "1024 MiB", "N/A"), ("77", "C", "N/A", "1")]


def test_queries_on_the_class_as_the_original_allowed(smi):
    assert nvidia_smi.DeviceQuery("memory.total") == smi.DeviceQuery("memory.total")
    assert nvidia_smi.XmlDeviceQuery("memory.total") == smi.XmlDeviceQuery("memory.total")


def test_engine_times_the_fetch_phase_per_entry_point(smi):
    """_smi_query's optional timings (bench/smi_bench.py): the fetch phase's total, and per
    entry point [ns, fetches] added up over queries; wrong containers are TypeErrors."""
    from pynvml import _nvml
    items = list(range(len(_nvml._smi_items())))
    pynvml.nvmlInit()
    try:
        count = pynvml.nvmlDeviceGetCount()
        total, per_call = [], {}
        _nvml._smi_query(items, None, 0, total, per_call)
        assert len(total) == 1 and total[0] > 0
        assert per_call["nvmlDeviceGetFieldValues"][1] == count      # one batch per GPU
        assert per_call["nvmlDeviceGetName"][1] == count
        assert all(isinstance(ns, int) and ns >= 0 and n >= 1 for ns, n in per_call.values())
        # calls may overlap (the engine runs each GPU's and the slow calls on threads of their
        # own, ext/batch.c): none took longer than the phase, and together no more than the
        # phase on each thread the engine can start
        assert all(ns <= total[0] * n for ns, n in per_call.values())   # n calls of one may overlap
        assert sum(ns for ns, _ in per_call.values()) <= total[0] * (4 * count + 1)   # per GPU: its calls, PCIe tx, rx, inforom
        first = dict(per_call)
        _nvml._smi_query(items, None, 0, None, per_call)              # added to, not replaced
        assert per_call["nvmlDeviceGetName"][1] == 2 * count
        assert set(per_call) == set(first)
        with pytest.raises(TypeError):
            _nvml._smi_query(items, None, 0, None, [])
        with pytest.raises(TypeError):
            _nvml._smi_query(items, None, 0, None, {"nvmlDeviceGetName": 5})
        with pytest.raises(TypeError):
            _nvml._smi_query(items, None, 0, None, None, None)
    finally:
        pynvml.nvmlShutdown()
