"""pynvml-smi and pynvml.smi against real nvidia-smi 580 output.

tests/data/reference/h200/ holds what nvidia-smi 580.159.04 printed on an H200 (each file:
the command line, the output, the exit status); sim/profiles/smi-h200.json is a simulated
H200 modelled on those captures (tools/make_smi_profile.py; its memory sizes are not whole
MiB, as a real GPU's are not).  On that profile every view must print what nvidia-smi
printed, line for line, except the lines that move by themselves between two runs (time,
power draw, PCIe throughput, the average of samples) and the few lines with a known reason
(tools/compare_smi.py's KNOWN_DIFFERENCES).  -q -x, --query-gpu (every field) and
DeviceQuery() are also compared value by value, and every NVSMI_* number with its field.
The same comparison runs on the GPU machine against the live nvidia-smi
(tools/compare_smi.py, tools/gpu_session.sh step smi).
"""
import copy
import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import pynvml
import pynvml.smi as smi
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import compare_smi as cmp  # noqa: E402
import make_smi_profile  # noqa: E402

pytestmark = pytest.mark.simulator

PROFILE = ROOT / "sim" / "profiles" / "smi-h200.json"
CAPTURES = cmp.capture_views()
H100 = ROOT / "tests" / "data" / "reference" / "h100"


@pytest.fixture
def h200(monkeypatch):
    """The simulated H200 for the test (sleeps of dmon/pmon skipped)."""
    assert pynvml._nvml._refcount() == 0
    monkeypatch.setenv("PYNVML_SIM_PROFILE", str(PROFILE))
    import time
    monkeypatch.setattr(time, "sleep", lambda s: None)
    yield
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


def test_profile_is_current():
    assert json.loads(PROFILE.read_text()) == json.loads(json.dumps(make_smi_profile.build())), \
        "rerun python tools/make_smi_profile.py"


def test_profile_memory_is_not_whole_mib():
    """So that a formatter that floors instead of rounding shows (nvidia-smi rounds FB memory)."""
    mem = json.loads(PROFILE.read_text())["devices"][0]["nvmlDeviceGetMemoryInfo_v2"]
    for key in ("total", "reserved", "used", "free"):
        frac = mem[key] / 2 ** 20 % 1
        assert 0.5 <= frac < 1, (key, frac)


VIEW_NAMES = sorted(v for v in CAPTURES if v != "default-idle.txt")


@pytest.mark.parametrize("view", VIEW_NAMES)
def test_view_matches_nvidia_smi(h200, view):
    args, theirs, status = CAPTURES[view]
    ours, our_status = cmp.run_ours(args)
    assert our_status == status, (args, ours[:3])
    r = cmp.compare_view(view, ours, theirs, cmp.STILL_MOVING_LABELS, args)
    unexplained = [d for d in r["different"] if d[3] is None]
    assert not unexplained, "%s: %d equal, %d moving, differences: %r" % (view, r["equal"], r["moving"],
                                                                            unexplained[:5])
    assert r["equal"] >= r["total"] - r["moving"] - len(r["different"])
    # moving lines are the exception: most of every view is equal byte for byte
    assert r["equal"] + len(r["different"]) >= 0.6 * r["total"] or view.startswith(("query-c", "query-s", "dmon",
                                                                                   "pmon")), r


def test_summary_idle(h200, use_profile):
    """The table without processes (the capture taken with the GPU idle)."""
    profile = json.loads(PROFILE.read_text())
    dev = profile["devices"][0]
    dev["nvmlDeviceGetComputeRunningProcesses_v3"] = []
    dev["nvmlDeviceGetRunningProcessDetailList"] = {"0": [], "1": [], "2": []}
    mem = dev["nvmlDeviceGetMemoryInfo_v2"]
    mem["free"] += mem["used"]
    mem["used"] = 0
    dev["nvmlDeviceGetUtilizationRates"] = {"gpu": 4, "memory": 0}
    use_profile(profile)
    args, theirs, status = CAPTURES["default-idle.txt"]
    ours, our_status = cmp.run_ours(args)
    r = cmp.compare_view("default-idle.txt", ours, theirs, cmp.STILL_MOVING_LABELS)
    assert (our_status, r["different"], r["equal"]) == (status, [], r["total"] - 1), (ours, theirs)


def _flatten(lines):
    return cmp.flatten("\n".join(lines))


def test_q_x_element_by_element(h200):
    args, theirs, _ = CAPTURES["q-x.txt"]
    ours, _ = cmp.run_ours(args)
    a, b = _flatten(ours), _flatten(theirs)
    assert [p for p, _ in a] == [p for p, _ in b], "the same elements in the same order"
    moving = {"timestamp", "tx_util", "rx_util", "average_power_draw", "instant_power_draw"}
    known = {"gpu_part_number", "sparse_operation_mode"}
    different = [(p, x, y) for (p, x), (_, y) in zip(a, b) if x != y and p.rsplit("/", 1)[-1] not in moving | known]
    assert different == []
    assert sum(x == y for (_, x), (_, y) in zip(a, b)) >= len(b) - 8


CSV_MOVING = cmp.CSV_STILL_MOVING
CSV_KNOWN = cmp.CSV_KNOWN


@pytest.mark.parametrize("view", ["query-gpu-all.txt", "query-gpu-all-nounits.txt"])
def test_query_gpu_every_field(h200, view):
    args, theirs, _ = CAPTURES[view]
    fields = [a for a in args if a.startswith("--query-gpu=")][0].split("=", 1)[1].split(",")
    ours, status = cmp.run_ours(args)
    assert status == 0
    if view == "query-gpu-all.txt":
        assert ours[0] == theirs[0], "the header, byte for byte"
        ours, theirs = ours[1:], theirs[1:]
    a = next(csv.reader(ours, skipinitialspace=True))
    b = next(csv.reader(theirs, skipinitialspace=True))
    assert len(a) == len(b) == len(fields)
    unit = " W" if view == "query-gpu-all.txt" else ""
    different = []
    for name, x, y in zip(fields, a, b):
        if x == y or name in CSV_KNOWN:
            continue
        if name in CSV_MOVING and (name == "timestamp" or x.endswith(unit) and y.endswith(unit)):
            continue
        different.append((name, x, y))
    assert different == []
    assert sum(x == y for x, y in zip(a, b)) >= len(fields) - len(CSV_KNOWN) - len(CSV_MOVING)


def test_h100_query_gpu_header_and_q_labels(nvml):
    """The H100 captures (the default profile's model): the csv header byte for byte, and
    -q's labels and layout (values aside: the profile is not that moment of that GPU)."""
    lines = (H100 / "query-gpu-all.csv").read_text().splitlines()
    header = next(csv.reader(lines[:1], skipinitialspace=True))
    fields = [h.split(" [")[0] for h in header]
    assert smi.nvidia_smi.CsvQuery(",".join(fields), devices=[0])[0] == lines[0]
    theirs = (H100 / "nvidia-smi-q.txt").read_text().splitlines()
    ours = smi._render_text(smi._xml_tree([it for it in smi._ITEMS if it.in_full_xml], [0])).splitlines()
    assert [cmp._label(x) or x for x in ours] == [cmp._label(x) or x for x in theirs]


def _xml_text_of(lines):
    root = ET.fromstring("\n".join(lines).split("\n", 2)[2])
    out = {}
    gpu = root.find("gpu")
    for it in smi._ITEMS:
        if not it.xml_path or it.is_list:
            continue
        node = root if it.is_global else gpu
        e = node.find("/".join(it.xml_path))
        if e is not None and len(e) == 0:
            out[it.key] = (e.text or "").strip()
    return out


def _dict_value(gpu, it):
    node = gpu
    for k in it.dict_path[:-1]:
        node = node[k]
    value = node[it.dict_path[-1]]
    unit = node.get("unit") if it.dunit and it.dunit.startswith("unit=") else None
    return value, unit


def test_device_query_field_by_field(h200):
    """DeviceQuery()'s values (numbers, units apart) against the elements of the real -q -x."""
    _, theirs, _ = CAPTURES["q-x.txt"]
    real = _xml_text_of(theirs)
    result = smi.nvidia_smi.getInstance().DeviceQuery()
    gpu = result["gpu"][0]
    compared = 0
    different = []
    for it in smi._ITEMS:
        if it.is_global or it.key not in real or not it.dict_path or it.is_list:
            continue
        tag = it.xml_path[-1]
        if tag in {"timestamp", "tx_util", "rx_util", "average_power_draw", "instant_power_draw",
                   "gpu_part_number", "sparse_operation_mode"}:
            continue
        value, unit = _dict_value(gpu, it)
        text = real[it.key]
        shown = "N/A" if value is None else ("%.2f" % value if isinstance(value, float) else str(value))
        if unit and text != "N/A":
            shown += " " + unit
        if it.key == "pci.bus_id" or tag.startswith("pci_") and text != "N/A":
            shown, text = shown.lower().replace("0x", ""), text.lower()
        compared += 1
        if shown != text:
            different.append((it.key, value, unit, text))
    assert different == [], different[:10]
    assert compared >= 150
    assert result["driver_version"] == "580.159.04" and result["count"] == 1


# Each NVSMI_* number of the original pynvml.smi and the --query-gpu field it stands for,
# written from the numbers' own names (independently of pynvml.smi's table).
NVSMI_FIELDS = """
NVSMI_TIMESTAMP timestamp | NVSMI_DRIVER_VERSION driver_version | NVSMI_COUNT count | NVSMI_NAME name
NVSMI_SERIALNUMBER serial | NVSMI_UUID uuid | NVSMI_PCI_BUS_ID pci.bus_id | NVSMI_PCI_DOMAIN pci.domain
NVSMI_PCI_BUS pci.bus | NVSMI_PCI_DEVICE pci.device | NVSMI_PCI_DEVICE_ID pci.device_id
NVSMI_PCI_SUBDEVICE_ID pci.sub_device_id | NVSMI_PCI_LINK_GEN_CUR pcie.link.gen.current
NVSMI_PCI_LINK_GEN_MAX pcie.link.gen.max | NVSMI_PCI_LINK_WIDTH_CUR pcie.link.width.current
NVSMI_PCI_LINK_WIDTH_MAX pcie.link.width.max | NVSMI_INDEX index | NVSMI_DISPLAY_MODE display_mode
NVSMI_DISPLAY_ACTIVE display_active | NVSMI_PERSISTENCE_MODE persistence_mode | NVSMI_ACCT_MODE accounting.mode
NVSMI_ACCT_BUFFER_SIZE accounting.buffer_size | NVSMI_DRIVER_MODEL_CUR driver_model.current
NVSMI_DRIVER_MODEL_PENDING driver_model.pending | NVSMI_VBIOS_VER vbios_version | NVSMI_INFOROM_IMG inforom.img
NVSMI_INFOROM_OEM inforom.oem | NVSMI_INFOROM_ECC inforom.ecc | NVSMI_INFOROM_PWR inforom.pwr
NVSMI_GOM_CUR gom.current | NVSMI_GOM_PENDING gom.pending | NVSMI_FAN_SPEED fan.speed | NVSMI_PSTATE pstate
NVSMI_MEMORY_TOTAL memory.total | NVSMI_MEMORY_FREE memory.free | NVSMI_MEMORY_USED memory.used
NVSMI_COMPUTE_MODE compute_mode | NVSMI_UTILIZATION_GPU utilization.gpu | NVSMI_UTILIZATION_MEM utilization.memory
NVSMI_UTILIZATION_ENCODER utilization.encoder | NVSMI_UTILIZATION_DECODER utilization.decoder
NVSMI_ENCODER_STATS_SESSIONCOUNT encoder.stats.sessionCount | NVSMI_ENCODER_STATS_AVG_EPS encoder.stats.averageFps
NVSMI_ENCODER_STATS_AVG_LATENCY encoder.stats.averageLatency | NVSMI_ECC_MODE_CUR ecc.mode.current
NVSMI_ECC_MODE_PENDING ecc.mode.pending | NVSMI_RETIREDPAGES_SINGLE_BIT_ECC_COUNT retired_pages.sbe
NVSMI_RETIREDPAGES_DOUBLE_BIT_ECC_COUNT retired_pages.dbe | NVSMI_RETIREDPAGES_PENDING retired_pages.pending
NVSMI_CLOCK_THROTTLE_REASONS_SUPPORTED clocks_throttle_reasons.supported
NVSMI_CLOCK_THROTTLE_REASONS_ACTIVE clocks_throttle_reasons.active
NVSMI_CLOCK_THROTTLE_REASONS_IDLE clocks_throttle_reasons.gpu_idle
NVSMI_CLOCK_THROTTLE_REASONS_APP_SETTING clocks_throttle_reasons.applications_clocks_setting
NVSMI_CLOCK_THROTTLE_REASONS_SW_PWR_CAP clocks_throttle_reasons.sw_power_cap
NVSMI_CLOCK_THROTTLE_REASONS_HW_SLOWDOWN clocks_throttle_reasons.hw_slowdown
NVSMI_CLOCK_THROTTLE_REASONS_HW_THERMAL_SLOWDOWN clocks_throttle_reasons.hw_thermal_slowdown
NVSMI_CLOCK_THROTTLE_REASONS_HW_PWR_BRAKE_SLOWDOWN clocks_throttle_reasons.hw_power_brake_slowdown
NVSMI_CLOCK_THROTTLE_REASONS_SW_THERMAL_SLOWDOWN clocks_throttle_reasons.sw_thermal_slowdown
NVSMI_CLOCK_THROTTLE_REASONS_SYNC_BOOST clocks_throttle_reasons.sync_boost
NVSMI_TEMPERATURE_GPU temperature.gpu | NVSMI_TEMPERATURE_MEMORY temperature.memory
NVSMI_POWER_MGMT power.management | NVSMI_POWER_DRAW power.draw | NVSMI_POWER_LIMIT power.limit
NVSMI_POWER_LIMIT_ENFORCED enforced.power.limit | NVSMI_POWER_LIMIT_DEFAULT power.default_limit
NVSMI_POWER_LIMIT_MIN power.min_limit | NVSMI_POWER_LIMIT_MAX power.max_limit
NVSMI_CLOCKS_GRAPHICS_CUR clocks.gr | NVSMI_CLOCKS_SM_CUR clocks.sm | NVSMI_CLOCKS_MEMORY_CUR clocks.mem
NVSMI_CLOCKS_VIDEO_CUR clocks.video | NVSMI_CLOCKS_APPL_GRAPHICS clocks.applications.gr
NVSMI_CLOCKS_APPL_MEMORY clocks.applications.mem | NVSMI_CLOCKS_APPL_GRAPHICS_DEFAULT clocks.default_applications.gr
NVSMI_CLOCKS_APPL_MEMORY_DEFAULT clocks.default_applications.mem | NVSMI_CLOCKS_GRAPHICS_MAX clocks.max.gr
NVSMI_CLOCKS_SM_MAX clocks.max.sm | NVSMI_CLOCKS_MEMORY_MAX clocks.max.mem
"""


def _nvsmi_fields():
    pairs = [p.split() for line in NVSMI_FIELDS.strip().splitlines() for p in line.split("|")]
    out = {name: field for name, field in pairs}
    for err in ("CORRECTED", "UNCORRECTED"):
        for cnt in ("VOLATILE", "AGGREGATE"):
            for tag, loc in (("DEV_MEM", "device_memory"), ("REGFILE", "register_file"), ("L1CACHE", "l1_cache"),
                             ("L2CACHE", "l2_cache"), ("TEXTURE", "texture_memory"), ("TOTAL", "total")):
                out["NVSMI_ECC_ERROR_%s_%s_%s" % (err, cnt, tag)] = "ecc.errors.%s.%s.%s" % (
                    err.lower(), cnt.lower(), loc)
    return out


def test_every_nvsmi_number_is_its_field(h200):
    """DeviceQuery([NVSMI_X]) gives what DeviceQuery('<its field>') gives, and that field's
    csv is what nvidia-smi printed for it on the H200."""
    args, theirs, _ = CAPTURES["query-gpu-all.txt"]
    fields = [a for a in args if a.startswith("--query-gpu=")][0].split("=", 1)[1].split(",")
    real = dict(zip(fields, next(csv.reader(theirs[1:], skipinitialspace=True))))
    expected = _nvsmi_fields()
    numbers = {n: getattr(smi, n) for n in dir(smi) if n.startswith("NVSMI_") and n != "NVSMI_ALL"}
    missing = set(expected) - set(numbers)
    assert not missing
    nvsmi = smi.nvidia_smi.getInstance()
    checked = 0
    for name, field in expected.items():
        by_number = nvsmi.DeviceQuery([numbers[name]])
        by_field = nvsmi.DeviceQuery(field)
        for r in (by_number, by_field):
            r.pop("timestamp", None)
            for g in r.get("gpu", []):
                g.pop("timestamp", None)
        assert by_number == by_field, (name, field, by_number, by_field)
        canonical = smi._BY_NAME[field].names[0]
        if canonical in real and canonical not in CSV_MOVING | CSV_KNOWN:
            assert smi.nvidia_smi.CsvQuery(field, header=False)[0] == real[canonical], (name, field)
            checked += 1
    assert checked >= 60


# ----- command line: errors, refusals, files (issues #15 and #11) ---------------------

def run(capsys, *args):
    rc = smi.main(list(args))
    return rc, capsys.readouterr().out


@pytest.mark.parametrize("args", [["-pm", "1"], ["-e", "0"], ["-r"], ["-ac", "2619,1980"], ["-rac"],
                                  ["-pl", "300"], ["-c", "3"], ["-mig", "1"], ["-lgc", "1500,1500"],
                                  ["--persistence-mode=1"], ["mig", "-cgi", "19"], ["-i", "0", "-pm", "0"]])
def test_state_changing_options_are_refused(capsys, args):
    rc, out = run(capsys, *args)
    assert rc == 255
    assert out.count("\n") == 1 and "only reads" in out
    pynvml.nvmlInit()       # and nothing changed
    try:
        assert pynvml.nvmlDeviceGetPersistenceMode(pynvml.nvmlDeviceGetHandleByIndex(0)) == 1
    finally:
        pynvml.nvmlShutdown()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", "0", "-1", "x"])
def test_bad_loop_values_are_one_line(value):
    for opt in ("--loop=%s" % value, "-lms=%s" % value):
        out = subprocess.run([sys.executable, "-m", "pynvml.smi", "--query-gpu=index", opt],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and out.stderr == "" and out.stdout.count("\n") == 1, (opt, out)


def test_no_driver_names_the_simulator(tmp_path):
    env = dict(__import__("os").environ, PYNVML_LIBRARY=str(tmp_path / "libnvidia-ml.so.1"))
    out = subprocess.run([sys.executable, "-m", "pynvml.smi", "-L"], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 9 and out.stderr == ""
    assert "PYNVML_LIBRARY=sim" in out.stdout and "--sim" in out.stdout and out.stdout.count("\n") == 1
    # --sim: the simulated GPUs, whatever PYNVML_LIBRARY says
    env.pop("PYNVML_LIBRARY")
    out = subprocess.run([sys.executable, "-m", "pynvml.smi", "--sim", "-L"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0 and out.stdout.startswith("GPU 0: NVIDIA H100")


def test_filename_writes_the_view_there(capsys, tmp_path):
    path = tmp_path / "out.csv"
    rc, out = run(capsys, "--query-gpu=index,name", "--format=csv,noheader", "-f", str(path))
    assert (rc, out) == (0, "")
    assert path.read_text() == "0, NVIDIA H100 80GB HBM3\n1, NVIDIA H100 80GB HBM3\n"
    rc, out = run(capsys, "-L", "-f", str(tmp_path / "no" / "such" / "dir"))
    assert rc == 2 and out.startswith("Failed to open file")


def test_usage_errors(capsys):
    assert run(capsys, "--query-gpu=", "--format=csv")[0] == 2          # no field: an error, not silence
    assert run(capsys, "--query-compute-apps=", "--format=csv")[0] == 2
    assert run(capsys, "--query-compute-apps=pid,bogus", "--format=csv") == (
        2, 'Field "bogus" is not a valid field to query.\n\n')
    assert run(capsys, "-q", "-d", "NOPE") == (2, "Failed to parse --display/-d flags\n")
    assert run(capsys, "dmon", "-s", "z")[0] == 2
    assert run(capsys, "dmon", "-c", "0")[0] == 2
    assert run(capsys, "topo")[0] == 2
    assert run(capsys, "--bogus") == (255, "ERROR: Option --bogus is not recognized. Please run 'pynvml-smi -h'.\n\n")
    rc, out = run(capsys, "-h")
    for view in ("--query-compute-apps", "dmon", "pmon", "topo -m", "nvlink -s", "mig -lgip", "--version", "-f,",
                 "-d, --display", "--sim"):
        assert view in out, view


def test_dmon_options(capsys, monkeypatch):
    import time
    monkeypatch.setattr(time, "sleep", lambda s: None)
    rc, out = run(capsys, "dmon", "-c", "2", "-s", "mt", "-o", "DT", "-i", "1")
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 4
    assert lines[0].split() == ["#Date", "Time", "gpu", "fb", "bar1", "ccpm", "rxpci", "txpci"]
    assert lines[2].split()[2:4] == ["1", "16384"]          # GPU 1: 16 GiB used by its process


# ----- data, not only text (nvidia_smi's methods) ---------------------------------------

def test_views_as_data(h200):
    nvsmi = smi.nvidia_smi.getInstance()
    s = nvsmi.Summary()
    assert s["driver_version"] == "580.159.04" and s["cuda_version"] == "13.0"
    assert s["gpus"][0]["memory.total"] == "143771 MiB"
    assert s["processes"] == [{"gpu": 0, "pid": 448, "type": "C", "gpu_instance_id": None,
                               "compute_instance_id": None, "used_memory_mib": 1634,
                               "process_name": "/opt/torch/.venv/bin/python3"}]
    apps = nvsmi.ComputeApps()
    assert [(a["pid"], a["used_gpu_memory"]) for a in apps] == [(448, 1634)]
    d = nvsmi.Dmon("pucvmet")
    assert (d[0]["fb"], d[0]["bar1"], d[0]["mclk"], d[0]["pclk"]) == (1643, 1644, 3201, 1980)
    assert nvsmi.Pmon()[0]["command"] == "python3"
    assert nvsmi.Topology()["gpus"][0]["cpu_affinity"] == "0-15"
    assert [p["name"] for p in nvsmi.MigProfiles()][:2] == ["MIG 1g.18gb", "MIG 1g.18gb+me"]
    assert nvsmi.MigInstances() is None
    assert nvsmi.Version()["nvml"] == "580.159"
    q = nvsmi.QuerySections("MEMORY,POWER")
    assert q["gpu"][0]["fb_memory_usage"]["total"] == 143771
    assert q["gpu"][0]["power_samples"]["count"] == 119
    assert "ecc_mode" not in q["gpu"][0]


# ----- issue #11: text that XML and csv cannot hold as it is -----------------------------

def test_xml_well_formed_with_control_characters(use_profile, default_profile):
    profile = copy.deepcopy(default_profile)
    profile["devices"][0]["nvmlDeviceGetName"] = "H\x01\x1b[31m\ufffe\uffff<&>\"'"
    profile["devices"][0]["nvmlDeviceGetVbiosVersion"] = "96.\x7f\x08"
    use_profile(profile)
    doc = smi.nvidia_smi.getInstance().XmlDeviceQuery()
    root = ET.fromstring(doc.split("\n", 2)[2])
    assert root.find("gpu/product_name").text == "H\ufffd\ufffd[31m\ufffd\ufffd<&>\"'"
    ET.fromstring(smi.nvidia_smi.getInstance().XmlDeviceQuery("name,vbios_version").split("\n", 2)[2])


def test_csv_values_with_commas_are_quoted(use_profile, default_profile, capsys):
    profile = copy.deepcopy(default_profile)
    profile["devices"][0]["nvmlDeviceGetName"] = 'NVIDIA H100, "80GB"'
    profile["system"]["nvmlSystemGetProcessName"] = {"4242": "/bin/a,b"}
    use_profile(profile)
    rc, out = run(capsys, "--query-gpu=index,name,memory.total", "--format=csv,noheader")
    rows = list(csv.reader(out.splitlines(), skipinitialspace=True))
    assert rc == 0 and rows[0] == ["0", 'NVIDIA H100, "80GB"', "81559 MiB"] and len(rows[1]) == 3
    rc, out = run(capsys, "--query-compute-apps=pid,process_name,gpu_name", "--format=csv,noheader")
    assert list(csv.reader(out.splitlines(), skipinitialspace=True)) == [["4242", "/bin/a,b", "NVIDIA H100 80GB HBM3"]]


def test_mig_instances_views(use_profile, default_profile, capsys):
    """-lgi / -lci list the instances NVML has (no capture: MIG is off on the H200 we hold)."""
    profile = copy.deepcopy(default_profile)
    profile["devices"][0]["nvmlDeviceGetMigMode"] = [1, 1]
    use_profile(profile)
    pynvml.nvmlInit()
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        gi = pynvml.nvmlDeviceCreateGpuInstance(h, 19)
        ci = pynvml.nvmlGpuInstanceCreateComputeInstance(
            gi, pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, 0).id)
        gi_info, ci_info = pynvml.nvmlGpuInstanceGetInfo(gi), pynvml.nvmlComputeInstanceGetInfo(ci)
        rc, out = run(capsys, "mig", "-lgi")
        rows = [ln.strip("|").split() for ln in out.splitlines() if ln.startswith("|   0")]
        assert rc == 0 and rows == [["0", "MIG", "1g.10gb", "19", str(gi_info.id),
                                     "%d:%d" % (gi_info.placement.start, gi_info.placement.size)]]
        rc, out = run(capsys, "mig", "-lci")
        rows = [ln.strip("|").split() for ln in out.splitlines() if ln.startswith("|   0")]
        assert rc == 0 and rows == [["0", str(gi_info.id), "MIG", "1g.10gb", "0", str(ci_info.id),
                                     "%d:%d" % (ci_info.placement.start, ci_info.placement.size)]]
        rc, out = run(capsys, "mig", "-lgip")
        assert "|   0  MIG 1g.10gb         19     6/7        9.75       No     16     1     0   |" in out
        assert smi.nvidia_smi.getInstance().MigInstances()[0]["compute_instances"][0]["id"] == ci_info.id
    finally:
        while pynvml._nvml._refcount() > 0:
            pynvml.nvmlShutdown()


@pytest.mark.parametrize("ms", [float("nan"), float("inf"), -1.0, 1e309])
def test_loop_api_refuses_intervals_it_cannot_wait(ms):
    with pytest.raises(ValueError):
        smi.nvidia_smi.loop(filter="index", time_in_milliseconds=ms)
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


def test_view_methods_refuse_bad_arguments(h200):
    nvsmi = smi.nvidia_smi.getInstance()
    with pytest.raises(ValueError, match="list queries"):
        nvsmi.ListQuery("bogus", "pid")
    with pytest.raises(ValueError, match="not a valid field"):
        nvsmi.ListQuery("compute-apps", "pid,nope")
    with pytest.raises(ValueError):
        nvsmi.Dmon("x")
    with pytest.raises(ValueError):
        nvsmi.QuerySections("MEMORY,NOPE")
    assert nvsmi.ListQuery("supported-clocks", "mem,gr", devices=[0])[:2] == [{"mem": 3201, "gr": 1980},
                                                                             {"mem": 3201, "gr": 1965}]
