"""NVML 13.615: the names nvidia-ml-py 13.615.71 added, against nvidia-ml-py 13.615.71 itself
(the `ref_new` fixture, from .ref/): every one of its names exists in ours with its value
(where a value changed since 13.610.43, the new one), its new classes have its fields and
size, and the new functions do on the simulator what the profile says (spec/
functions_615.nvml; sim/entry_points_615.c and sim/entry_points_events.c), with the same
results as nvidia-ml-py 13.615.71 called on the same simulated NVML.  Then the whole
differential comparison (tools/compare_with_nvidia_ml_py.py) with 13.615.71 as reference."""
import copy
import ctypes
import inspect
import json
import pickle
import sys
import time

import pytest

import pynvml
from conftest import ROOT, SIM_LIBRARY

sys.path.insert(0, str(ROOT / "tools"))
import compare_with_nvidia_ml_py as cmp  # noqa: E402

NEW_FUNCTIONS = ["nvmlDeviceGetAdaptiveTgpModeInfo_v1", "nvmlDeviceSetAdaptiveTgpMode_v1",
                 "nvmlDeviceGetBankRemapperStatus_v1", "nvmlDeviceGetGpuFabricInfo_v4",
                 "nvmlDeviceGetMemoryLimits_v1", "nvmlDeviceSetMemoryLimits_v1",
                 "nvmlDeviceGetNvLinkTelemetrySamples_v1", "nvmlDevicePerfMetricsGetSamples_v1",
                 "nvmlDeviceSetNvlinkBwModeAsync_v1", "nvmlEventSetGetContextCount_v1",
                 "nvmlEventSetGetContextData_v1", "nvmlEventSetGetContextInfo_v1",
                 "nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1",
                 "nvmlEventSetRegisterGpuOperationalEvents_v1", "nvmlEventSetWait_v3"]
CHANGED = {"NVML_BRAND_COUNT": (18, 20), "NVML_TEMPERATURE_COUNT": (1, 2), "NVML_FI_MAX": (303, 308),
           "nvmlClocksThrottleReasonAll": (511, 2047), "NVML_GPM_METRIC_MAX": (333, 477),
           "NVML_POWER_PROFILE_MAX": (15, 25)}


def public_names(mod):
    """{kind: {name: value}} of a module: functions, struct classes, int/str constants."""
    out = {"functions": {}, "classes": {}, "constants": {}}
    for n, v in vars(mod).items():
        if n.startswith("_") or getattr(ctypes, n, object()) is v:
            continue
        if inspect.isfunction(v):
            if v.__module__ == mod.__name__:          # not its imports (find_library, wraps)
                out["functions"][n] = v
        elif isinstance(v, type) and issubclass(v, (ctypes.Structure, ctypes.Union)):
            if not n.startswith("struct_c_nvml"):
                out["classes"][n] = v
        elif isinstance(v, (int, str)) and not isinstance(v, bool):
            out["constants"][n] = v
    return out


def test_every_name_of_13_615_71_with_its_value(ref_new, ref):
    new, old = public_names(ref_new), public_names(ref)
    missing = sorted(n for kind in new.values() for n in kind if not hasattr(pynvml, n))
    assert missing == []
    wrong = {n: (getattr(pynvml, n), v) for n, v in new["constants"].items() if getattr(pynvml, n) != v}
    assert wrong == {}
    # what 13.615.71 added, as the issue counted it; and 13.610.43's names are all still here
    assert len(set(new["functions"]) - set(old["functions"])) == 15
    assert sorted(set(new["functions"]) - set(old["functions"])) == sorted(NEW_FUNCTIONS)
    assert len(set(new["classes"]) - set(old["classes"])) == 32
    assert len(set(new["constants"]) - set(old["constants"])) == 235
    assert not [n for kind in old.values() for n in kind if not hasattr(pynvml, n)]
    changed = {n: (v, new["constants"][n]) for n, v in old["constants"].items() if new["constants"].get(n) != v}
    assert changed == CHANGED
    assert {n: getattr(pynvml, n) for n in CHANGED} == {n: v[1] for n, v in CHANGED.items()}


def test_version_says_which_nvml_api():
    assert pynvml.__version__ == "13.615.71"
    from importlib.metadata import version
    assert version("pynvml-c").startswith("13.615.71")


LAYOUTS = pynvml._nvml._struct_layouts()


def test_new_classes_have_the_reference_fields_and_size(ref_new, ref):
    new = sorted(set(public_names(ref_new)["classes"]) - set(public_names(ref)["classes"]))
    assert len(new) == 32
    tn = lambda t: t if isinstance(t, str) else t.__name__  # noqa: E731
    for n in new:
        ours, theirs = getattr(pynvml, n), getattr(ref_new, n)
        ofields = [(f[0], tn(f[1])) for f in ours._fields_]
        tfields = [(f[0], tn(f[1])) for f in theirs._fields_]
        assert ofields == tfields, n
        assert len(bytes(ours())) == ctypes.sizeof(theirs), n
        layout = LAYOUTS.get(n[2:]) or LAYOUTS["pn_" + n[2:]]
        assert dict(layout[2]) == {f[0]: getattr(theirs, f[0]).offset for f in theirs._fields_}, n


# --- the simulator: each new function with the profile's data ----------------------------------

@pytest.mark.simulator
def test_getters_fill_the_callers_struct_from_the_profile(nvml, default_profile):
    dev = default_profile["devices"][1]
    h = pynvml.nvmlDeviceGetHandleByIndex(1)
    info = pynvml.c_nvmlAdaptiveTgpModeInfo_v1_t()
    assert pynvml.nvmlDeviceGetAdaptiveTgpModeInfo_v1(h, info) is None
    assert {k: getattr(info, k) for k, _ in info._fields_} == dev["nvmlDeviceGetAdaptiveTgpModeInfo_v1"]
    st = pynvml.c_nvmlEccBankRemapperStatus_v1_t()
    assert pynvml.nvmlDeviceGetBankRemapperStatus_v1(h, st) == pynvml.NVML_SUCCESS
    want = dev["nvmlDeviceGetBankRemapperStatus_v1"]
    assert (st.activeRemappings, st.inactiveRemappings, st.bPending, st.histogram.maxSpareGroupCount) == \
        (want["activeRemappings"], want["inactiveRemappings"], want["bPending"], want["histogram"]["maxSpareGroupCount"])
    fab = pynvml.c_nvmlGpuFabricInfo_v4_t()
    assert pynvml.nvmlDeviceGetGpuFabricInfo_v4(h, fab) == 0
    assert (fab.state, fab.numCliques, fab.clusterUuid) == (0, 0, bytes(16))
    perf = pynvml.c_nvmlPerfMetricsSamples_v1_t()
    assert pynvml.nvmlDevicePerfMetricsGetSamples_v1(h, perf) == 0
    want = dev["nvmlDevicePerfMetricsGetSamples_v1"]
    assert perf.numSamples == want["numSamples"] == 2
    c = perf.samples[0].controllerData
    assert c[0].controllerType == pynvml.NVML_PERF_METRICS_CONTROLLER_TYPE_DLPPC_2X
    assert c[0].data.dlppc2x.observedMetrics.tgpPwrTuple.pwrmW == 572000
    assert c[1].data.pfpp1x.estimatedMetrics.maxPerfPerWattPoint.freqkHz == 1410000
    # wrong arguments: a clear exception before NVML sees them
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetBankRemapperStatus_v1(h, pynvml.c_nvmlGpuFabricInfo_v4_t())
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetAdaptiveTgpModeInfo_v1(h, 0)
    with pytest.raises(TypeError):
        pynvml.nvmlDevicePerfMetricsGetSamples_v1(1, perf)


@pytest.mark.simulator
@pytest.mark.mutates
def test_setters_change_what_the_getters_answer(use_profile, default_profile):
    prof = default_profile
    prof["devices"][0]["nvmlDeviceGetNvlinkSupportedBwModes"] = {"bwModes": [0, 1, 2], "totalBwModes": 3}
    prof["devices"][0]["nvmlDeviceGetNvlinkBwMode"] = {"bIsBest": 1, "bwMode": 0}
    use_profile(prof)
    pynvml.nvmlInit()
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        assert pynvml.nvmlDeviceSetAdaptiveTgpMode_v1(h, 1) is None
        info = pynvml.c_nvmlAdaptiveTgpModeInfo_v1_t()
        pynvml.nvmlDeviceGetAdaptiveTgpModeInfo_v1(h, info)
        assert (info.inBandEnableRequest, info.enablementStatus) == (1, 1)
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceSetAdaptiveTgpMode_v1(h, 2)
        req = pynvml.c_nvmlNvlinkSetBwModeAsync_v1_t()
        req.bSetBest, req.bwMode = 0, 2
        assert pynvml.nvmlDeviceSetNvlinkBwModeAsync_v1(h, req) == 0
        got = pynvml.c_nvmlNvlinkGetBwMode_v1_t()
        pynvml.nvmlDeviceGetNvlinkBwMode(h, got)
        assert (got.bIsBest, got.bwMode) == (0, 2)
        req.bwMode = 7                                   # not a supported mode
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceSetNvlinkBwModeAsync_v1(h, req)
        req.bwMode, req.bSetBest = 1, 2                  # bSetBest is 0 or 1
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceSetNvlinkBwModeAsync_v1(h, req)
    finally:
        pynvml.nvmlShutdown()


def _sim_lib():
    lib = ctypes.CDLL(str(SIM_LIBRARY))
    assert lib.nvmlInit_v2() == 0
    h = ctypes.c_void_p()
    assert lib.nvmlDeviceGetHandleByIndex_v2(1, ctypes.byref(h)) == 0
    return lib, h


@pytest.mark.simulator
@pytest.mark.mutates
def test_memory_limits_through_the_c_abi(nvml):
    """Without a cgroup path (nameSpace NULL) NVML answers INVALID_ARGUMENT; through the C ABI
    the simulator keeps the limits per path (tests/test_pointer_fields.py: through ours and
    nvidia-ml-py)."""
    h = pynvml.nvmlDeviceGetHandleByIndex(1)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetMemoryLimits_v1(h, pynvml.c_nvmlGetMemoryLimits_v1_t())
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceSetMemoryLimits_v1(h, pynvml.c_nvmlSetMemoryLimits_v1_t(softLimit=1, hardLimit=2))

    class Set(ctypes.Structure):
        _fields_ = [("nameSpace", ctypes.c_char_p), ("softLimit", ctypes.c_ulonglong), ("hardLimit", ctypes.c_ulonglong)]

    class Get(ctypes.Structure):
        _fields_ = Set._fields_ + [("currentUsed", ctypes.c_ulonglong)]

    lib, dev = _sim_lib()
    try:
        path = b"/sys/fs/cgroup/job-615"
        g = Get(path)
        assert lib.nvmlDeviceGetMemoryLimits_v1(dev, ctypes.byref(g)) == pynvml.NVML_ERROR_NOT_FOUND
        assert lib.nvmlDeviceSetMemoryLimits_v1(dev, ctypes.byref(Set(path, 2 << 30, 1 << 30))) == \
            pynvml.NVML_ERROR_INVALID_ARGUMENT                                  # soft above hard
        assert lib.nvmlDeviceSetMemoryLimits_v1(dev, ctypes.byref(Set(path, 3 << 30, 3 << 30))) == 0  # soft = hard
        assert lib.nvmlDeviceGetMemoryLimits_v1(dev, ctypes.byref(g)) == 0
        assert (g.softLimit, g.hardLimit, g.currentUsed) == (3 << 30, 3 << 30, 0)
        assert lib.nvmlDeviceSetMemoryLimits_v1(dev, ctypes.byref(Set(path, 1 << 30, 4 << 30))) == 0
        assert lib.nvmlDeviceGetMemoryLimits_v1(dev, ctypes.byref(g)) == 0
        assert (g.softLimit, g.hardLimit, g.currentUsed) == (1 << 30, 4 << 30, 0)
        # an empty cgroup path names no cgroup: refused, and nothing is kept under ""
        assert lib.nvmlDeviceSetMemoryLimits_v1(dev, ctypes.byref(Set(b"", 1, 2))) == \
            pynvml.NVML_ERROR_INVALID_ARGUMENT
        assert lib.nvmlDeviceGetMemoryLimits_v1(dev, ctypes.byref(Get(b""))) == pynvml.NVML_ERROR_INVALID_ARGUMENT
        assert lib.nvmlDeviceSetMemoryLimits_v1(dev, ctypes.byref(
            Set(path, 0, pynvml.NVML_DEVICE_MEMORY_LIMIT_MAX))) == 0            # cleared
        assert lib.nvmlDeviceGetMemoryLimits_v1(dev, ctypes.byref(g)) == 0
        assert (g.softLimit, g.hardLimit) == (0, 2**64 - 1)
    finally:
        lib.nvmlShutdown()


@pytest.mark.simulator
def test_memory_limits_setter_answers_its_profile_error(use_profile, default_profile):
    default_profile["devices"][1]["nvmlDeviceSetMemoryLimits_v1"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    use_profile(default_profile)

    class Set(ctypes.Structure):
        _fields_ = [("nameSpace", ctypes.c_char_p), ("softLimit", ctypes.c_ulonglong), ("hardLimit", ctypes.c_ulonglong)]

    lib, dev = _sim_lib()
    try:
        assert lib.nvmlDeviceSetMemoryLimits_v1(dev, ctypes.byref(Set(b"/sys/fs/cgroup/a", 1, 2))) == \
            pynvml.NVML_ERROR_NO_PERMISSION
    finally:
        lib.nvmlShutdown()


@pytest.mark.simulator
def test_nvlink_telemetry_counts_and_samples(nvml, default_profile):
    h = pynvml.nvmlDeviceGetHandleByIndex(1)
    # an empty request (tests/test_pointer_fields.py fills one through ours and nvidia-ml-py)
    assert pynvml.nvmlDeviceGetNvLinkTelemetrySamples_v1(h, pynvml.c_nvmlNvlinkTelemetrySamples_v1_t()) == 0
    want = default_profile["devices"][1]["nvmlDeviceGetNvLinkTelemetrySamples_v1"]

    class Sample(ctypes.Structure):
        _fields_ = [("linkId", ctypes.c_uint), ("sampleType", ctypes.c_uint), ("sampleCount", ctypes.c_uint),
                    ("samples", ctypes.POINTER(ctypes.c_ulonglong)), ("nvmlReturn", ctypes.c_uint)]

    class Samples(ctypes.Structure):
        _fields_ = [("telemetryCount", ctypes.c_uint), ("telemetrySamples", ctypes.POINTER(Sample))]

    lib, dev = _sim_lib()
    try:
        slots = (Sample * 3)(Sample(3, 1, 0), Sample(5, 0, 2), Sample(30, 0, 0))
        buf = (ctypes.c_ulonglong * 2)()
        slots[1].samples = buf
        assert lib.nvmlDeviceGetNvLinkTelemetrySamples_v1(dev, ctypes.byref(Samples(3, slots))) == 0
        assert (slots[0].nvmlReturn, slots[0].sampleCount) == (0, len(want["3"]["1"]))      # a count query
        assert (slots[1].nvmlReturn, slots[1].sampleCount, list(buf)) == (0, 2, want["5"]["0"][:2])
        assert slots[2].nvmlReturn == pynvml.NVML_ERROR_NOT_SUPPORTED                       # no link 30
        assert lib.nvmlDeviceGetNvLinkTelemetrySamples_v1(dev, ctypes.byref(Samples(1, None))) == \
            pynvml.NVML_ERROR_INVALID_ARGUMENT
    finally:
        lib.nvmlShutdown()


OP_EVENTS = [{"severity": 40, "logLevel": 50, "categoryId": 2, "moduleEventCode": 17, "sourceModule": "RM",
              "xid": 79, "after_ms": 0},
             {"severity": 10, "logLevel": 10, "categoryId": 1, "moduleEventCode": 3, "after_ms": 0}]


@pytest.mark.simulator
@pytest.mark.mutates
def test_gpu_operational_events_registered_delivered_and_their_context(use_profile, default_profile):
    prof = default_profile
    prof["devices"][1]["operational_events"] = OP_EVENTS
    del prof["devices"][0]["operational_events"]
    use_profile(prof)
    pynvml.nvmlInit()
    es = pynvml.nvmlEventSetCreate()
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(1)
        uuid = pynvml.nvmlDeviceGetUUID(h)
        w = pynvml.c_nvmlEventSetWait_v3_t(timeoutMs=20)
        with pytest.raises(pynvml.NVMLError_Timeout):       # nothing registered yet
            pynvml.nvmlEventSetWait_v3(es, w)
        cfg = pynvml.c_nvmlGpuOperationalEventConfig_v1_t(uuid=uuid,
                                                          minSeverity=pynvml.NVML_OPERATIONAL_EVENT_SEVERITY_CORRECTED)
        assert pynvml.nvmlEventSetRegisterGpuOperationalEvents_v1(es, cfg) is None
        w = pynvml.c_nvmlEventSetWait_v3_t(timeoutMs=1000)
        assert pynvml.nvmlEventSetWait_v3(es, w) is None
        assert (w.dataType, w.eventType, w.uuid, w.sourceModule) == \
            (pynvml.NVML_EVENT_DATA_TYPE_GPU_OPERATIONAL_EVENT, 0, uuid, "RM")
        assert (w.severity, w.logLevel, w.categoryId, w.moduleEventCode, w.groupSize) == (40, 50, 2, 17, 1)
        assert abs(w.timestampUsec / 1e6 - time.time()) < 60
        count = pynvml.c_nvmlEventSetGetContextCount_v1_t()
        pynvml.nvmlEventSetGetContextCount_v1(es, count)
        assert count.count == 1
        info = pynvml.c_nvmlEventSetGetContextInfo_v1_t(index=0)
        pynvml.nvmlEventSetGetContextInfo_v1(es, info)
        assert (info.nvmlGpuOperationalEventContextType, info.dataSize) == \
            (pynvml.NVML_GPU_OPERATIONAL_EVENT_CONTEXT_TYPE_LEGACY_XID, 4)
        xid = pynvml.c_nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1_t(index=0)
        pynvml.nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1(es, xid)
        assert xid.xidCode == 79
        data = pynvml.c_nvmlEventSetGetContextData_v1_t(index=0)   # no buffer: the size query
        with pytest.raises(pynvml.NVMLError_InsufficientSize):
            pynvml.nvmlEventSetGetContextData_v1(es, data)
        assert data.dataSize == 4
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1(
                es, pynvml.c_nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1_t(index=1))
        # the second entry is below minSeverity: filtered out.  An event bit comes as before.
        pynvml.nvmlDeviceRegisterEvents(h, pynvml.nvmlEventTypeXidCriticalError, es)
        assert pynvml.nvmlLib.pynvmlSimFireEvent(1, ctypes.c_ulonglong(8), ctypes.c_ulonglong(48)) == 0
        w = pynvml.c_nvmlEventSetWait_v3_t(timeoutMs=1000)
        pynvml.nvmlEventSetWait_v3(es, w)
        assert (w.dataType, w.eventType, w.eventData, w.uuid) == (pynvml.NVML_EVENT_DATA_TYPE_NVML_EVENT, 8, 48, uuid)
        pynvml.nvmlEventSetGetContextCount_v1(es, count)
        assert count.count == 0
        with pytest.raises(pynvml.NVMLError_Timeout):
            pynvml.nvmlEventSetWait_v3(es, pynvml.c_nvmlEventSetWait_v3_t(timeoutMs=10))
        with pytest.raises(pynvml.NVMLError_NotFound):
            pynvml.nvmlEventSetRegisterGpuOperationalEvents_v1(
                es, pynvml.c_nvmlGpuOperationalEventConfig_v1_t(uuid="GPU-00000000-0000-0000-0000-000000000000"))
        with pytest.raises(pynvml.NVMLError_NotSupported):   # device 0 has no "operational_events"
            pynvml.nvmlEventSetRegisterGpuOperationalEvents_v1(
                es, pynvml.c_nvmlGpuOperationalEventConfig_v1_t(uuid=pynvml.nvmlDeviceGetUUID(
                    pynvml.nvmlDeviceGetHandleByIndex(0))))
        pynvml.nvmlEventSetFree(es)
        with pytest.raises(ValueError):                      # a freed set never reaches NVML
            pynvml.nvmlEventSetWait_v3(es, pynvml.c_nvmlEventSetWait_v3_t())
    finally:
        pynvml.nvmlShutdown()


@pytest.mark.simulator
@pytest.mark.mutates
def test_operational_events_same_as_nvidia_ml_py(use_profile, default_profile, ref_new):
    """nvidia-ml-py 13.615.71 on the same simulated NVML: the same event, the same context."""
    prof = default_profile
    prof["devices"][0]["operational_events"] = OP_EVENTS[:1]
    use_profile(prof)
    ref_new.nvmlInit()
    try:
        h = ref_new.nvmlDeviceGetHandleByIndex(0)
        es = ref_new.nvmlEventSetCreate()
        ref_new.nvmlEventSetRegisterGpuOperationalEvents_v1(
            es, ref_new.c_nvmlGpuOperationalEventConfig_v1_t(uuid=ref_new.nvmlDeviceGetUUID(h)))
        w = ref_new.c_nvmlEventSetWait_v3_t()
        w.timeoutMs = 1000
        ref_new.nvmlEventSetWait_v3(es, w)
        xid = ref_new.c_nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1_t()
        ref_new.nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1(es, xid)
        theirs = (w.dataType, w.severity, w.moduleEventCode, w.sourceModule, xid.xidCode)
        ref_new.nvmlEventSetFree(es)
    finally:
        ref_new.nvmlShutdown()
    pynvml.nvmlInit()
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        es = pynvml.nvmlEventSetCreate()
        pynvml.nvmlEventSetRegisterGpuOperationalEvents_v1(
            es, pynvml.c_nvmlGpuOperationalEventConfig_v1_t(uuid=pynvml.nvmlDeviceGetUUID(h)))
        w = pynvml.c_nvmlEventSetWait_v3_t(timeoutMs=1000)
        pynvml.nvmlEventSetWait_v3(es, w)
        xid = pynvml.c_nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1_t()
        pynvml.nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1(es, xid)
        ours = (w.dataType, w.severity, w.moduleEventCode, w.sourceModule, xid.xidCode)
        pynvml.nvmlEventSetFree(es)
    finally:
        pynvml.nvmlShutdown()
    assert ours == theirs == (1, 40, 17, "RM", 79)


# --- the differential comparison with nvidia-ml-py 13.615.71 ---------------------------------

# Where nvidia-ml-py 13.615.71 differs from ours beyond 13.610.43's known differences
# (tests/test_reference_diff.py): function -> (why, predicate(ours, ref, record)).  None:
# c_nvmlGpuFabricInfo_t, which differed, ours now lays out as 13.615.71 (and nvml.h) does.
KNOWN_DIFFERENCES_615 = {}


@pytest.fixture(scope="module")
def records_new(ref_new, tmp_path_factory):
    from test_reference_diff import _run, rich_profile
    out = {}
    base = json.loads((ROOT / "sim" / "profiles" / "default.json").read_text())
    for label, prof in (("default", base), ("rich", rich_profile(base))):
        out[label] = _run(ref_new, prof, tmp_path_factory)
    return out


@pytest.mark.simulator
def test_differential_comparison_with_13_615_71(records_new, ref_new):
    from test_reference_diff import KNOWN_DIFFERENCES
    known = dict(KNOWN_DIFFERENCES, **KNOWN_DIFFERENCES_615)
    bad, seen = [], set()
    for label, recs in records_new.items():
        for r in recs:
            if r["status"] == "agree":
                continue
            k = known.get(r["function"])
            seen.add(r["function"])
            if k is None or not k[1](r["ours"], r["reference"], r):
                bad.append((label, r["call"], r["reason"], r["ours"], r["reference"]))
    assert bad == [], "\n".join(map(str, bad[:20]))
    compared = {r["function"] for recs in records_new.values() for r in recs}
    # the new getters are compared, with success on the default profile's data
    new_getters = {n for n in NEW_FUNCTIONS if cmp.is_read_only(n)}
    assert new_getters <= compared
    rich = {r["call"]: r for r in records_new["rich"]}
    for c in ("nvmlDeviceGetBankRemapperStatus_v1(dev1, <new c_nvmlEccBankRemapperStatus_v1_t>)",
              "nvmlDeviceGetAdaptiveTgpModeInfo_v1(dev0, <new c_nvmlAdaptiveTgpModeInfo_v1_t>)",
              "nvmlDeviceGetGpuFabricInfo_v4(dev1, <new c_nvmlGpuFabricInfo_v4_t>)",
              "nvmlDevicePerfMetricsGetSamples_v1(dev1, <new c_nvmlPerfMetricsSamples_v1_t>)",
              "nvmlDeviceGetNvLinkTelemetrySamples_v1(dev1, <new c_nvmlNvlinkTelemetrySamples_v1_t>)"):
        assert rich[c]["status"] == "agree" and rich[c]["ours"]["type"] != "exception", rich[c]
    assert len(compared) > 290
    # every difference listed for 13.615.71 still occurs; the fabric info agrees with it
    assert set(KNOWN_DIFFERENCES_615) <= seen
    fabric = [r for r in records_new["rich"] if r["function"] == "nvmlDeviceGetGpuFabricInfo"]
    assert fabric and all(r["status"] == "agree" for r in fabric)


def test_api_coverage_tool_with_13_615_71_as_reference(ref_new):
    import subprocess
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "api_coverage.py"), "--module", ref_new.__file__,
                        "--min", "100", "--missing"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines()}
    assert lines["all"][1] == lines["all"][3] and int(lines["functions"][3]) == 439
    assert lines["values"][1] == lines["values"][3]


@pytest.mark.simulator
def test_functions_a_driver_lacks_are_function_not_found_in_both(ref_new, tmp_path):
    """As on driver 580, which has none of them: the simulator without the 13.615 entry
    points (python -m pynvml._sim hide), checked by the tool the GPU session runs."""
    import os
    import subprocess
    hide = subprocess.run([sys.executable, "-m", "pynvml._sim", "hide", "-o", str(tmp_path)] + NEW_FUNCTIONS,
                          capture_output=True, text=True, timeout=120)
    assert hide.returncode == 0, hide.stderr
    env = dict(os.environ, PYNVML_LIBRARY=str(tmp_path / "libnvidia-ml.so.1"))
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "check_function_not_found.py"),
                        "--reference", ref_new.__file__], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ours NVMLError_FunctionNotFound, nvidia-ml-py NVMLError_FunctionNotFound") == 12
    assert r.stdout.count("not exported (not called: not a getter)") == 9


@pytest.mark.simulator
def test_wait_v3_lets_other_threads_run_and_fill_params(nvml):
    """The wait releases the GIL (ext/hand_events.c, in slices): a thread fires the event
    while the main thread waits; params keeps the caller's timeoutMs."""
    import threading
    es = pynvml.nvmlEventSetCreate()
    try:
        pynvml.nvmlDeviceRegisterEvents(pynvml.nvmlDeviceGetHandleByIndex(0), pynvml.nvmlEventTypeXidCriticalError, es)
        fire = threading.Timer(0.3, lambda: pynvml.nvmlLib.pynvmlSimFireEvent(
            0, ctypes.c_ulonglong(pynvml.nvmlEventTypeXidCriticalError), ctypes.c_ulonglong(94)))
        fire.start()
        w = pynvml.c_nvmlEventSetWait_v3_t(timeoutMs=5000)
        t0 = time.monotonic()
        assert pynvml.nvmlEventSetWait_v3(es, w) is None
        assert time.monotonic() - t0 < 4
        fire.join()
        assert (w.timeoutMs, w.dataType, w.eventData, w.gpuInstanceId) == (5000, 0, 94, 0xFFFFFFFF)
        with pytest.raises(TypeError):
            pynvml.nvmlEventSetWait_v3(es, pynvml.c_nvmlEventData_t())
        with pytest.raises(TypeError):
            pynvml.nvmlEventSetWait_v3(es)
    finally:
        pynvml.nvmlEventSetFree(es)


def test_upgrade_diff_tool(ref_new, ref):
    """tools/nvml_upgrade_diff.py: nothing missing against 13.615.71; against 13.610.43 the six
    values we took from 13.615.71 (and nothing else)."""
    import subprocess
    tool = [sys.executable, str(ROOT / "tools" / "nvml_upgrade_diff.py"), "--nvidia-ml-py"]
    r = subprocess.run(tool + [ref_new.__file__, "--emit-spec"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for line in ("functions the spec lacks: 0", "classes the spec lacks: 0", "fields that differ: 0",
                 "constants the spec lacks: 0", "constants whose value differs: 0"):
        assert line in r.stdout
    r = subprocess.run(tool + [ref.__file__], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    values = r.stdout.split("constants whose value differs: ")[1].splitlines()
    assert values[0] == "6" and {v.split(":")[0].strip() for v in values[1:7]} == set(CHANGED)
    assert "fields that differ: 3" in r.stdout     # the three classes 13.615.71 changed


def _version_attribute(M):
    """What a program can do with c_nvmlPerfMetricsSamples_v1_t().version, which nvml.h's
    struct lacks: nvidia-ml-py's __init__ sets it as a plain attribute."""
    C = M.c_nvmlPerfMetricsSamples_v1_t
    s = C()
    out = [s.version, bytes(s)[:8], "version" in [f[0] for f in C._fields_]]
    s.version = 5
    out += [s.version, bytes(s)[:8]]
    s.version = "any"
    out += [s.version, copy.copy(s).version, pickle.loads(pickle.dumps(s)).version]
    del s.version
    out.append(hasattr(s, "version"))
    with pytest.raises(AttributeError):
        del s.version
    out.append(hasattr(C.from_buffer_copy(bytes(ctypes.sizeof(C))), "version"))   # no __init__, no version
    return out


def test_perf_metrics_samples_version_attribute_as_nvidia_ml_py(ref_new):
    assert _version_attribute(pynvml) == _version_attribute(ref_new) == \
        [0x100a428, bytes(8), False, 5, bytes(8), "any", "any", "any", False, False]


@pytest.mark.simulator
def test_perf_metrics_version_attribute_is_not_seen_by_nvml(nvml):
    s = pynvml.c_nvmlPerfMetricsSamples_v1_t()
    s.version = 0
    assert pynvml.nvmlDevicePerfMetricsGetSamples_v1(pynvml.nvmlDeviceGetHandleByIndex(1), s) == 0
    assert s.numSamples == 2 and s.version == 0
