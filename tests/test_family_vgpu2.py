"""The vGPU family of issue #3 (spec/functions_vgpu.nvml, ext/hand_vgpu.c, sim/entry_points_vgpu.c).

  - on the default profile (an H100 that is not a vGPU host) every one answers as the
    H100 did: NOT_SUPPORTED, the all-zero GRID licensing struct, and NVMLError_FunctionNotFound
    for the entry points driver 580 lacks (the _v2 scheduler calls, GSP unload);
  - on a "vGPU host" profile (tools/vgpu_host_profile.py, also checked in as
    sim/profiles/vgpu-host.json: two vGPU types, two instances on GPU 0)
    the success paths, their shapes as nvidia-ml-py's, and nvidia-ml-py itself on the same
    simulated NVML giving the same results;
  - setters change what the getters answer (marked `mutates`);
  - errors injected through the profile, unknown ids, wrong argument types.
"""
import copy
import ctypes
import gc
import json
import pickle
import sys

import pytest

import pynvml
from conftest import ROOT, of_class

sys.path.insert(0, str(ROOT / "tools"))
import compare_with_nvidia_ml_py as cmp  # noqa: E402
from vgpu_host_profile import I1, I2, T0, T4C, T80C, vgpu_host_profile  # noqa: E402

pytestmark = pytest.mark.simulator


@pytest.fixture
def host(default_profile, use_profile):
    prof = vgpu_host_profile(default_profile)
    use_profile(prof)
    pynvml.nvmlInit()
    yield pynvml.nvmlDeviceGetHandleByIndex(0), prof
    pynvml.nvmlShutdown()


@pytest.fixture
def h(host):
    return host[0]


# --- the default profile: what the H100 answered --------------------------------------------------

DEVICE_CALLS = [
    ("nvmlDeviceGetSupportedVgpus", ()), ("nvmlDeviceGetCreatableVgpus", ()), ("nvmlDeviceGetActiveVgpus", ()),
    ("nvmlDeviceGetVgpuCapabilities", (0,)), ("nvmlDeviceGetVgpuUtilization", (0,)),
    ("nvmlDeviceGetVgpuProcessUtilization", (0,)), ("nvmlDeviceGetVgpuInstancesUtilizationInfo", (0,)),
    ("nvmlDeviceGetVgpuProcessesUtilizationInfo", (0,)), ("nvmlDeviceGetVgpuSchedulerCapabilities", ()),
    ("nvmlDeviceGetVgpuSchedulerLog", ()), ("nvmlDeviceGetVgpuSchedulerState", ()),
    ("nvmlDeviceGetVgpuMetadata", ()), ("nvmlDeviceGetPgpuMetadataString", ()),
    ("nvmlDeviceGetVgpuTypeSupportedPlacements", (0,)), ("nvmlDeviceGetVgpuTypeCreatablePlacements", (0,)),
]


def test_default_profile_answers_as_the_h100(nvml, reference_data):
    """Every vGPU call the H100 was asked, with its arguments, gives the H100's answer."""
    rec = json.loads((reference_data / "h100" / "nvidia-ml-py.json").read_text())["calls"]
    names = {n for n, _ in DEVICE_CALLS} | {"nvmlDeviceGetGridLicensableFeatures", "nvmlDeviceGetGridLicensableFeatures_v4",
                                             "nvmlDeviceGetVgpuSchedulerLog_v2", "nvmlDeviceGetVgpuSchedulerState_v2"}
    checked = 0
    for dev in (0, 1):
        h = pynvml.nvmlDeviceGetHandleByIndex(dev)
        for call, result in rec.items():
            name, _, rest = call.partition("(")
            if name not in names:
                continue
            args = [int(a) for a in rest.rstrip(")").split(",")[1:]]
            if name.endswith("_v2"):          # the H100's driver has no such entry point
                assert result["error"] == "NVMLError_FunctionNotFound"
                with pytest.raises(pynvml.NVMLError_FunctionNotFound):
                    getattr(pynvml, name)(h, pynvml.c_nvmlVgpuSchedulerLogInfo_v2_t() if "Log" in name
                                          else pynvml.c_nvmlVgpuSchedulerStateInfo_v2_t())
            elif "error" in result:
                with pytest.raises(getattr(pynvml, result["error"])):
                    getattr(pynvml, name)(h, *args)
            else:
                got = getattr(pynvml, name)(h, *args)
                assert type(got).__name__ == result["value"]["__class__"]
                assert got.isGridLicenseSupported == 0 and got.licensableFeaturesCount == 0
                assert [f.licenseInfo for f in got.gridLicensableFeatures] == ["", "", ""]
            checked += 1
    assert checked >= 2 * 60


def test_default_profile_has_no_vgpu_host_data(nvml):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    for name, args in DEVICE_CALLS:
        with pytest.raises(pynvml.NVMLError_NotSupported):
            getattr(pynvml, name)(h, *args)
    for fn, args in ((pynvml.nvmlVgpuTypeGetClass, (T4C,)), (pynvml.nvmlVgpuTypeGetName, (T4C,)),
                     (pynvml.nvmlVgpuTypeGetResolution, (T4C,)), (pynvml.nvmlVgpuTypeGetCapabilities, (T4C, 0)),
                     (pynvml.nvmlVgpuTypeGetMaxInstancesPerGpuInstance, (T4C,)), (pynvml.nvmlGetVgpuVersion, ()),
                     (pynvml.nvmlGetVgpuDriverCapabilities, (0,)), (pynvml.nvmlVgpuInstanceGetMetadata, (I1,)),
                     (pynvml.nvmlVgpuInstanceGetAccountingPids, (I1,)), (pynvml.nvmlVgpuInstanceGetVmID, (I1,)),
                     (pynvml.nvmlVgpuInstanceGetLicenseInfo, (I1,)), (pynvml.nvmlVgpuInstanceGetGpuPciId, (I1,)),
                     (pynvml.nvmlVgpuInstanceGetEncoderSessions, (I1,)), (pynvml.nvmlVgpuInstanceGetFBCStats, (I1,))):
        with pytest.raises(pynvml.NVMLError_NotSupported):
            fn(*args)
    for fn in (pynvml.nvmlDeviceVgpuForceGspUnload,):
        with pytest.raises(pynvml.NVMLError_FunctionNotFound):
            fn(h)
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        pynvml.nvmlDeviceSetVgpuSchedulerState_v2(h, pynvml.c_nvmlVgpuSchedulerState_v2_t())
    # setters where the getter has no data: NOT_SUPPORTED, nothing changes
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceSetVgpuCapabilities(h, 0, 1)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceSetVgpuHeterogeneousMode(h, 1)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetVgpuHeterogeneousMode(h)


# --- the vGPU host: success paths ------------------------------------------------------------------

def test_vgpu_lists_and_capabilities(h):
    assert pynvml.nvmlDeviceGetSupportedVgpus(h) == [T4C, T80C]
    assert pynvml.nvmlDeviceGetCreatableVgpus(h) == [T4C]
    assert pynvml.nvmlDeviceGetActiveVgpus(h) == [I1, I2]
    assert [pynvml.nvmlDeviceGetVgpuCapabilities(h, c) for c in range(12)] == [int(c in (0, 3, 4, 8)) for c in range(12)]
    assert pynvml.nvmlGetVgpuDriverCapabilities(pynvml.NVML_VGPU_DRIVER_CAP_HETEROGENEOUS_MULTI_VGPU) == 1
    assert pynvml.nvmlVgpuTypeGetCapabilities(T4C, pynvml.NVML_VGPU_CAP_GPUDIRECT) == 1
    assert pynvml.nvmlVgpuTypeGetCapabilities(T80C, pynvml.NVML_VGPU_CAP_NVLINK_P2P) == 0
    h1 = pynvml.nvmlDeviceGetHandleByIndex(1)                  # GPU 1 is no vGPU host
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetSupportedVgpus(h1)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):     # a capability the profile lacks
        pynvml.nvmlDeviceGetVgpuCapabilities(h, 12)


def test_vgpu_types(h):
    assert pynvml.nvmlVgpuTypeGetName(T4C) == "NVIDIA H100-4C" and pynvml.nvmlVgpuTypeGetName(vgpuTypeId=T80C) == "NVIDIA H100-80C"
    assert pynvml.nvmlVgpuTypeGetClass(T4C) == "Compute"
    assert pynvml.nvmlVgpuTypeGetResolution(T4C) == (4096, 2160)
    assert pynvml.nvmlVgpuTypeGetMaxInstancesPerGpuInstance(T4C) == 1
    assert pynvml.nvmlVgpuTypeGetMaxInstances(h, T4C) == 4
    for fn in (pynvml.nvmlVgpuTypeGetName, pynvml.nvmlVgpuTypeGetClass, pynvml.nvmlVgpuTypeGetResolution,
               pynvml.nvmlVgpuTypeGetMaxInstancesPerGpuInstance):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):   # a type the host does not have
            fn(99)


def test_vgpu_instances(h):
    # bytes, as nvidia-ml-py's (its @convertStrBytes decodes no bytes inside a tuple)
    assert pynvml.nvmlVgpuInstanceGetVmID(I1) == (b"vm-3001", pynvml.NVML_VGPU_VM_ID_UUID)
    assert pynvml.nvmlVgpuInstanceGetVmID(I2) == (b"42", pynvml.NVML_VGPU_VM_ID_DOMAIN_ID)
    lic = pynvml.nvmlVgpuInstanceGetLicenseInfo(I1)
    assert of_class(lic, pynvml.c_nvmlVgpuLicenseInfo_t) and lic.isLicensed == 1
    assert lic.currentState == pynvml.NVML_GRID_LICENSE_STATE_LICENSED and lic.licenseExpiry.year == 2027
    assert pynvml.nvmlVgpuInstanceGetLicenseInfo_v2(I2).isLicensed == 0
    rs = pynvml.nvmlVgpuInstanceGetRuntimeStateSize(I1)
    assert of_class(rs, pynvml.nvmlVgpuRuntimeState_v1_t) and rs.size == 268435456
    assert rs.version == pynvml.VgpuRuntimeState_v1
    assert pynvml.nvmlVgpuInstanceGetEncoderStats(I1) == (2, 60, 1200)
    (s,) = pynvml.nvmlVgpuInstanceGetEncoderSessions(I1)
    assert of_class(s, pynvml.c_nvmlEncoderSession_t) and (s.pid, s.hResolution, s.encodeLatency) == (4242, 1920, 1200)
    assert pynvml.nvmlVgpuInstanceGetEncoderSessions(I2) == []
    assert pynvml.nvmlVgpuInstanceGetFBCStats(I1).averageFPS == 30
    (f,) = pynvml.nvmlVgpuInstanceGetFBCSessions(I1)
    assert (f.sessionId, f.hMaxResolution) == (9, 3840) and pynvml.nvmlVgpuInstanceGetFBCSessions(I2) == []
    assert pynvml.nvmlVgpuInstanceGetGpuPciId(I1) == "00000000:02:00.0"
    st = pynvml.nvmlVgpuInstanceGetAccountingStats(I1, 4243)
    assert of_class(st, pynvml.c_nvmlAccountingStats_t) and st.maxMemoryUsage == 1 << 30 and st.isRunning == 1
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlVgpuInstanceGetAccountingStats(I1, 1)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):     # an instance the host does not have
        pynvml.nvmlVgpuInstanceGetVmID(I1 + 100)


def test_accounting_pids_are_nvidia_ml_py_ctypes_objects(h):
    count, pids = pynvml.nvmlVgpuInstanceGetAccountingPids(I1)
    assert type(count) is ctypes.c_uint and count.value == 2
    assert isinstance(pids, ctypes.Array) and pids._type_ is ctypes.c_uint and list(pids) == [4242, 4243]
    count, pids = pynvml.nvmlVgpuInstanceGetAccountingPids(I2)    # none: nvidia-ml-py raises NVMLError(0)
    assert count.value == 0 and list(pids) == []


def test_utilization_samples(h):
    v = pynvml.nvmlDeviceGetVgpuUtilization(h, 0)
    assert [type(x).__name__ for x in v] == ["c_nvmlVgpuInstanceUtilizationSample_t"] * 2
    assert [(x.vgpuInstance, x.smUtil.uiVal, x.decUtil.uiVal) for x in v] == [(I1, 40, 0), (I2, 41, 1)]
    (p,) = pynvml.nvmlDeviceGetVgpuProcessUtilization(h, 0)
    assert (p.pid, p.processName, p.smUtil) == (4242, "python3", 40)
    # the v1 info calls: samples newer than the time stamp given
    got = pynvml.nvmlDeviceGetVgpuInstancesUtilizationInfo(h, 0)
    assert [type(x).__name__ for x in got] == ["c_nvmlVgpuInstanceUtilizationInfo_v1_t"] * 3
    assert [(x.vgpuInstance, x.timeStamp, x.smUtil.uiVal, x.ofaUtil.uiVal) for x in got] == [
        (I1, T0, 40, 4), (I2, T0 + 1, 41, 4), (I1, T0 + 2, 42, 4)]
    assert [x.timeStamp for x in pynvml.nvmlDeviceGetVgpuInstancesUtilizationInfo(h, T0)] == [T0 + 1, T0 + 2]
    assert pynvml.nvmlDeviceGetVgpuInstancesUtilizationInfo(h, timeStamp=T0 + 2) == []
    procs = pynvml.nvmlDeviceGetVgpuProcessesUtilizationInfo(h, 0)
    assert [(x.pid, x.processName, x.jpgUtil) for x in procs] == [(4242, "python3", 3), (4243, "python3", 3)]
    assert [x.pid for x in pynvml.nvmlDeviceGetVgpuProcessesUtilizationInfo(h, T0)] == [4243]


def test_scheduler(h):
    caps = pynvml.nvmlDeviceGetVgpuSchedulerCapabilities(h)
    assert list(caps.supportedSchedulers) == [1, 2, 3] and caps.maxFrequencyForARR == 960
    state = pynvml.nvmlDeviceGetVgpuSchedulerState(h)
    assert of_class(state, pynvml.c_nvmlVgpuSchedulerGetState_t) and state.arrMode == pynvml.NVML_VGPU_SCHEDULER_ARR_ENABLE
    assert state.schedulerParams.vgpuSchedDataWithARR.avgFactor == 33
    assert state.schedulerParams.vgpuSchedDataWithARR.timeslice == 2000000
    log = pynvml.nvmlDeviceGetVgpuSchedulerLog(h)
    assert log.entriesCount == 2 and [e.timeRunTotal for e in log.logEntries[:2]] == [5000, 10000]
    assert log.logEntries[2].timestamp == 0 and len(log.logEntries) == 200


def test_licensing_and_metadata(h):
    g = pynvml.nvmlDeviceGetGridLicensableFeatures(h)
    assert of_class(g, pynvml.c_nvmlGridLicensableFeatures_v4_t) and g.isGridLicenseSupported == 1
    f = g.gridLicensableFeatures[0]
    assert (f.featureCode, f.productName, f.licenseExpiry.year) == (4, "NVIDIA Virtual Compute Server", 2027)
    assert pynvml.nvmlDeviceGetGridLicensableFeatures_v4(h).licensableFeaturesCount == 1
    pm = pynvml.nvmlDeviceGetVgpuMetadata(h)
    assert of_class(pm, pynvml.c_nvmlVgpuPgpuMetadata_t) and pm.hostDriverVersion == "580.159.04"
    assert (pm.hostSupportedVgpuRange.minVersion, pm.opaqueData) == (0x100000, "pgpu-opq")
    assert pynvml.nvmlDeviceGetPgpuMetadataString(h) == (b"580.159.04;vgpu=0x100000-0x120000", 34)
    vm = pynvml.nvmlVgpuInstanceGetMetadata(I1)
    assert of_class(vm, pynvml.c_nvmlVgpuMetadata_t) and vm.guestVgpuVersion == 0x110000 and vm.opaqueData == "vopq"
    c = pynvml.nvmlGetVgpuCompatibility(vm, pm)
    assert of_class(c, pynvml.c_nvmlVgpuPgpuCompatibility_t) and (c.vgpuVmCompatibility, c.compatibilityLimitCode) == (15, 0)
    vm.guestVgpuVersion = 0x130000                # a guest newer than the host supports
    c = pynvml.nvmlGetVgpuCompatibility(vm, pm)
    assert c.vgpuVmCompatibility == pynvml.NVML_VGPU_VM_COMPATIBILITY_NONE
    assert c.compatibilityLimitCode == pynvml.NVML_VGPU_COMPATIBILITY_LIMIT_GUEST_DRIVER
    assert pynvml.nvmlGetVgpuVersion() == [(0x100000, 0x120000), (0x100000, 0x120000)]
    sup, cur = pynvml.c_nvmlVgpuVersion_t(), pynvml.c_nvmlVgpuVersion_t()
    assert pynvml.nvmlGetVgpuVersion(sup, cur) == pynvml.NVML_SUCCESS and cur.maxVersion == 0x120000
    for bad in ((sup, None), (None, cur), (1, 2), (sup, pynvml.c_nvmlMemory_t())):
        with pytest.raises(TypeError):
            pynvml.nvmlGetVgpuVersion(*bad)
    for bad in ((pm, vm), (1, pm), (vm, None)):
        with pytest.raises(TypeError):
            pynvml.nvmlGetVgpuCompatibility(*bad)


def test_placements(h):
    p = pynvml.nvmlDeviceGetVgpuTypeSupportedPlacements(h, T4C)
    assert of_class(p, pynvml.c_nvmlVgpuPlacementList_v1_t) and p.version == pynvml.VgpuPlacementList_v1
    assert (p.count, p.placementSize) == (4, 2)
    ids = p.placementIds[:p.count]          # a POINTER(c_uint), as nvidia-ml-py's reads
    assert ids == [0, 2, 4, 6]
    q = copy.copy(p)                                    # a copy keeps the ids too (ASan would see otherwise)
    del p, ids
    gc.collect()
    assert q.placementIds[:q.count] == [0, 2, 4, 6]     # the ids live as long as q
    with pytest.raises(TypeError):                      # the address means nothing elsewhere
        pickle.dumps(q)
    p2 = pynvml.nvmlDeviceGetVgpuTypeSupportedPlacements(h, T4C, mode=1, version=2)
    assert of_class(p2, pynvml.c_nvmlVgpuPlacementList_v2_t) and (p2.count, p2.mode) == (4, 1)
    assert p2.placementIds[:p2.count] == [0, 2, 4, 6]
    c = pynvml.nvmlDeviceGetVgpuTypeCreatablePlacements(h, T4C, 2)
    assert c.placementIds[:c.count] == [4, 6]
    assert pynvml.nvmlDeviceGetVgpuTypeCreatablePlacements(h, T80C).count == 0
    for fn in (pynvml.nvmlDeviceGetVgpuTypeSupportedPlacements, pynvml.nvmlDeviceGetVgpuTypeCreatablePlacements):
        for v in (0, 3):
            with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
                fn(h, T4C, version=v)
        with pytest.raises(pynvml.NVMLError_InvalidArgument):     # the type's max instances: unknown type
            fn(h, 99)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):          # mode: heterogeneous or homogeneous
        pynvml.nvmlDeviceGetVgpuTypeSupportedPlacements(h, T4C, 2, 2)


def test_scheduler_v2_and_gsp_unload_are_not_in_driver_580(h):
    log = pynvml.c_nvmlVgpuSchedulerLogInfo_v2_t()
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        pynvml.nvmlDeviceGetVgpuSchedulerLog_v2(h, log)
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):       # looked up before the struct is looked at
        pynvml.nvmlDeviceGetVgpuSchedulerState_v2(h, 0)
    with pytest.raises(TypeError):                                # the handle is checked first
        pynvml.nvmlDeviceGetVgpuSchedulerState_v2(0, pynvml.c_nvmlVgpuSchedulerStateInfo_v2_t())
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        pynvml.nvmlDeviceVgpuForceGspUnload(handle=h)


# --- setters -------------------------------------------------------------------------------------

@pytest.mark.mutates
def test_set_vgpu_capabilities(h):
    assert pynvml.nvmlDeviceGetVgpuCapabilities(h, 1) == 0
    assert pynvml.nvmlDeviceSetVgpuCapabilities(h, 1, pynvml.NVML_FEATURE_ENABLED) == pynvml.NVML_SUCCESS
    assert pynvml.nvmlDeviceGetVgpuCapabilities(h, 1) == 1
    assert pynvml.nvmlDeviceSetVgpuCapabilities(h, capability=1, state=0) == 0
    assert pynvml.nvmlDeviceGetVgpuCapabilities(h, 1) == 0
    for cap, state in ((pynvml.NVML_DEVICE_VGPU_CAP_COUNT, 1), (1, 2)):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceSetVgpuCapabilities(h, cap, state)
    with pytest.raises(pynvml.NVMLError_NotSupported):            # GPU 1: no vGPU host
        pynvml.nvmlDeviceSetVgpuCapabilities(pynvml.nvmlDeviceGetHandleByIndex(1), 1, 1)


@pytest.mark.mutates
def test_set_heterogeneous_mode(h):
    assert pynvml.nvmlDeviceGetVgpuHeterogeneousMode(h) == pynvml.NVML_VGPU_PGPU_HETEROGENEOUS_MODE
    assert pynvml.nvmlDeviceSetVgpuHeterogeneousMode(h, pynvml.NVML_VGPU_PGPU_HOMOGENEOUS_MODE) == 0
    assert pynvml.nvmlDeviceGetVgpuHeterogeneousMode(h) == pynvml.NVML_VGPU_PGPU_HOMOGENEOUS_MODE
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceSetVgpuHeterogeneousMode(h, 2)
    assert pynvml.nvmlDeviceGetVgpuHeterogeneousMode(h) == pynvml.NVML_VGPU_PGPU_HOMOGENEOUS_MODE


@pytest.mark.mutates
def test_set_scheduler_state(h):
    s = pynvml.c_nvmlVgpuSchedulerSetState_t()
    s.schedulerPolicy = pynvml.NVML_VGPU_SCHEDULER_POLICY_EQUAL_SHARE
    s.enableARRMode = pynvml.NVML_VGPU_SCHEDULER_ARR_DISABLE
    s.schedulerParams.vgpuSchedData.timeslice = 5000000
    assert pynvml.nvmlDeviceSetVgpuSchedulerState(h, s) == 0
    got = pynvml.nvmlDeviceGetVgpuSchedulerState(h)
    assert (got.schedulerPolicy, got.arrMode) == (2, pynvml.NVML_VGPU_SCHEDULER_ARR_DISABLE)
    assert got.schedulerParams.vgpuSchedData.timeslice == 5000000
    # back to ARR: 500 Hz is a 2 ms timeslice; avgFactor 0 keeps the current one (none now)
    s.schedulerPolicy, s.enableARRMode = 1, pynvml.NVML_VGPU_SCHEDULER_ARR_ENABLE
    s.schedulerParams.vgpuSchedDataWithARR.avgFactor = 12
    s.schedulerParams.vgpuSchedDataWithARR.frequency = 500
    assert pynvml.nvmlDeviceSetVgpuSchedulerState(h, sched_state=s) == 0
    arr = pynvml.nvmlDeviceGetVgpuSchedulerState(h).schedulerParams.vgpuSchedDataWithARR
    assert (arr.avgFactor, arr.timeslice) == (12, 2000000)
    for field, value in (("schedulerPolicy", 0), ("schedulerPolicy", 4)):
        bad = pynvml.c_nvmlVgpuSchedulerSetState_t()
        setattr(bad, field, value)
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceSetVgpuSchedulerState(h, bad)
    s.schedulerParams.vgpuSchedDataWithARR.frequency = 2000          # above maxFrequencyForARR
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceSetVgpuSchedulerState(h, s)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceSetVgpuSchedulerState(h, pynvml.c_nvmlVgpuSchedulerGetState_t())


@pytest.mark.mutates
def test_set_vgpu_version(h):
    v = pynvml.c_nvmlVgpuVersion_t()
    v.minVersion, v.maxVersion = 0x110000, 0x120000
    assert pynvml.nvmlSetVgpuVersion(v) == 0
    assert pynvml.nvmlGetVgpuVersion() == [(0x100000, 0x120000), (0x110000, 0x120000)]
    v.minVersion = 0x0F0000                                         # below what the host supports
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlSetVgpuVersion(v)
    v.minVersion = 0x130000                                         # min above max
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlSetVgpuVersion(vgpuVersion=v)
    assert pynvml.nvmlGetVgpuVersion()[1] == (0x110000, 0x120000)


@pytest.mark.mutates
def test_set_encoder_capacity_returns_nvml_code(h):
    assert pynvml.nvmlVgpuInstanceGetEncoderCapacity(I2) == 50
    assert pynvml.nvmlVgpuInstanceSetEncoderCapacity(I2, 75) == pynvml.NVML_SUCCESS
    assert pynvml.nvmlVgpuInstanceGetEncoderCapacity(I2) == 75
    # as nvidia-ml-py: NVML's code is returned, not raised
    assert pynvml.nvmlVgpuInstanceSetEncoderCapacity(I2, 101) == pynvml.NVML_ERROR_INVALID_ARGUMENT
    assert pynvml.nvmlVgpuInstanceSetEncoderCapacity(I1 + 100, 10) == pynvml.NVML_ERROR_INVALID_ARGUMENT
    assert pynvml.nvmlVgpuInstanceGetEncoderCapacity(I2) == 75


@pytest.mark.mutates
def test_clear_accounting_pids(h):
    assert pynvml.nvmlVgpuInstanceGetAccountingPids(I1)[0].value == 2
    assert pynvml.nvmlVgpuInstanceClearAccountingPids(I1) == 0
    count, pids = pynvml.nvmlVgpuInstanceGetAccountingPids(I1)
    assert count.value == 0 and list(pids) == []
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlVgpuInstanceGetAccountingStats(I1, 4242)
    assert pynvml.nvmlVgpuInstanceClearAccountingPids(I1) == 0        # again: nothing left
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlVgpuInstanceClearAccountingPids(I1 + 100)


@pytest.mark.mutates
def test_setters_answer_injected_errors(default_profile, use_profile):
    prof = vgpu_host_profile(default_profile)
    d = prof["devices"][0]
    for key in ("nvmlDeviceSetVgpuCapabilities", "nvmlDeviceSetVgpuHeterogeneousMode", "nvmlDeviceSetVgpuSchedulerState"):
        d[key] = {"error": "NO_PERMISSION"}
    for key in ("nvmlSetVgpuVersion", "nvmlVgpuInstanceSetEncoderCapacity", "nvmlVgpuInstanceClearAccountingPids"):
        prof["system"][key] = {"error": "NVML_ERROR_NO_PERMISSION"}
    use_profile(prof)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    s = pynvml.c_nvmlVgpuSchedulerSetState_t()
    s.schedulerPolicy = 1
    v = pynvml.c_nvmlVgpuVersion_t()
    v.minVersion = v.maxVersion = 0x110000
    for fn, args in ((pynvml.nvmlDeviceSetVgpuCapabilities, (h, 1, 1)), (pynvml.nvmlDeviceSetVgpuHeterogeneousMode, (h, 1)),
                     (pynvml.nvmlDeviceSetVgpuSchedulerState, (h, s)), (pynvml.nvmlSetVgpuVersion, (v,)),
                     (pynvml.nvmlVgpuInstanceClearAccountingPids, (I1,))):
        with pytest.raises(pynvml.NVMLError_NoPermission):
            fn(*args)
    assert pynvml.nvmlVgpuInstanceSetEncoderCapacity(I1, 5) == pynvml.NVML_ERROR_NO_PERMISSION
    assert pynvml.nvmlDeviceGetVgpuCapabilities(h, 1) == 0 and pynvml.nvmlVgpuInstanceGetEncoderCapacity(I1) == 100


# --- errors from the profile ------------------------------------------------------------------------

HAND_DEVICE = ["nvmlDeviceGetVgpuInstancesUtilizationInfo", "nvmlDeviceGetVgpuProcessesUtilizationInfo",
               "nvmlDeviceGetVgpuMetadata", "nvmlDeviceGetPgpuMetadataString",
               "nvmlDeviceGetVgpuTypeSupportedPlacements", "nvmlDeviceGetVgpuTypeCreatablePlacements"]
HAND_SYSTEM = {"nvmlVgpuTypeGetClass": (T4C,), "nvmlVgpuTypeGetName": (T4C,), "nvmlVgpuTypeGetResolution": (T4C,),
               "nvmlVgpuTypeGetMaxInstancesPerGpuInstance": (T4C,), "nvmlVgpuInstanceGetGpuPciId": (I1,),
               "nvmlVgpuInstanceGetMetadata": (I1,), "nvmlVgpuInstanceGetAccountingPids": (I1,),
               "nvmlVgpuInstanceGetVmID": (I1,), "nvmlGetVgpuVersion": ()}


@pytest.mark.parametrize("code", ["NVML_ERROR_NO_PERMISSION", "NVML_ERROR_GPU_IS_LOST"])
def test_hand_written_calls_raise_the_profile_error(code, default_profile, use_profile):
    prof = vgpu_host_profile(default_profile)
    args = {n: (T4C,) if "Placements" in n else (0,) if "Utilization" in n else () for n in HAND_DEVICE}
    for n in HAND_DEVICE:
        prof["devices"][0][n] = {"error": code}
    for n, a in HAND_SYSTEM.items():
        node = prof["system"][n]
        if a:
            node[str(a[0])] = {"error": code}           # the id's entry
        else:
            prof["system"][n] = {"error": code}
    use_profile(prof)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    cls = pynvml.nvmlExceptionClass(getattr(pynvml, code))
    for n in HAND_DEVICE:
        with pytest.raises(cls):
            getattr(pynvml, n)(h, *args[n])
    for n, a in HAND_SYSTEM.items():
        with pytest.raises(cls):
            getattr(pynvml, n)(*a)


def test_calls_need_init():
    assert pynvml._nvml._refcount() == 0
    for n, a in HAND_SYSTEM.items():
        with pytest.raises(pynvml.NVMLError_Uninitialized):
            getattr(pynvml, n)(*a)
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlVgpuInstanceClearAccountingPids(I1)


ALL_HAND = {
    "nvmlDeviceGetVgpuInstancesUtilizationInfo": "hU", "nvmlDeviceGetVgpuProcessesUtilizationInfo": "hU",
    "nvmlDeviceGetVgpuMetadata": "h", "nvmlDeviceGetPgpuMetadataString": "h",
    "nvmlDeviceGetVgpuTypeSupportedPlacements": "huuu", "nvmlDeviceGetVgpuTypeCreatablePlacements": "huu",
    "nvmlDeviceSetVgpuCapabilities": "huu", "nvmlDeviceSetVgpuHeterogeneousMode": "hu",
    "nvmlDeviceSetVgpuSchedulerState": "hs", "nvmlDeviceGetVgpuSchedulerState_v2": "hs",
    "nvmlDeviceGetVgpuSchedulerLog_v2": "hs", "nvmlDeviceSetVgpuSchedulerState_v2": "hs",
    "nvmlDeviceVgpuForceGspUnload": "h", "nvmlSetVgpuVersion": "s", "nvmlGetVgpuCompatibility": "ss",
    "nvmlVgpuTypeGetClass": "u", "nvmlVgpuTypeGetName": "u", "nvmlVgpuTypeGetResolution": "u",
    "nvmlVgpuTypeGetMaxInstancesPerGpuInstance": "u", "nvmlVgpuInstanceGetGpuPciId": "u",
    "nvmlVgpuInstanceGetMetadata": "u", "nvmlVgpuInstanceGetAccountingPids": "u",
    "nvmlVgpuInstanceClearAccountingPids": "u", "nvmlVgpuInstanceSetEncoderCapacity": "uu",
    "nvmlVgpuInstanceGetVmID": "u",
}


@pytest.mark.parametrize("name", sorted(ALL_HAND))
def test_wrong_arguments_are_type_or_value_errors(name, h):
    fn = getattr(pynvml, name)
    kinds = ALL_HAND[name]
    good = [h if k == "h" else 0 if k in "uU" else None for k in kinds]
    bads = {"h": [None, 0, 1.5, "0", pynvml.c_nvmlMemory_t()], "u": [None, 1.5, "1", -1, 2**32], "U": [None, 1.5, "1", -1, 2**64],
            "s": [None, 0, "x", pynvml.c_nvmlMemory_t()]}
    for i, k in enumerate(kinds):
        for bad in bads[k]:
            args = list(good)
            args[i] = bad
            if k == "s" or "s" in kinds:
                args = [a if a is not None or j == i else _struct_for(name, j) for j, a in enumerate(args)]
            with pytest.raises((TypeError, ValueError, pynvml.NVMLError_FunctionNotFound)) as ei:
                fn(*args)
            if ei.type is pynvml.NVMLError_FunctionNotFound:     # looked up before the struct is checked
                assert k == "s" and name.endswith("_v2")
    with pytest.raises(TypeError):
        fn(*good, 0, 0, 0, 0)
    with pytest.raises(TypeError):
        fn(*good, bogus=1)


def _struct_for(name, i):
    return {"nvmlDeviceSetVgpuSchedulerState": pynvml.c_nvmlVgpuSchedulerSetState_t,
            "nvmlDeviceGetVgpuSchedulerState_v2": pynvml.c_nvmlVgpuSchedulerStateInfo_v2_t,
            "nvmlDeviceGetVgpuSchedulerLog_v2": pynvml.c_nvmlVgpuSchedulerLogInfo_v2_t,
            "nvmlDeviceSetVgpuSchedulerState_v2": pynvml.c_nvmlVgpuSchedulerState_v2_t,
            "nvmlSetVgpuVersion": pynvml.c_nvmlVgpuVersion_t,
            "nvmlGetVgpuCompatibility": (pynvml.c_nvmlVgpuMetadata_t, pynvml.c_nvmlVgpuPgpuMetadata_t)[i]}[name]()


# --- nvidia-ml-py on the same simulated vGPU host -----------------------------------------------------

# Results that differ only as nvidia-ml-py's known quirks: name -> why.
QUIRKS = {
    "nvmlDeviceGetVgpuTypeSupportedPlacements(7)": "nvidia-ml-py's c_nvmlVgpuPlacementList_v1_t has count before "
                                                    "placementSize; nvml.h the other way round: it reads them swapped",
    "nvmlDeviceGetVgpuTypeCreatablePlacements(8)": "the same: it reads placementSize (8) as the count, past its array",
    "nvmlVgpuInstanceGetAccountingPids(3002)": "with no pids NVML's size query succeeds and nvidia-ml-py "
                                               "raises NVMLError(NVML_SUCCESS); ours returns them empty",
}


def _canon_placements(v, lib):
    """A placement list: its fields, and the ids its pointer points to (the address differs)."""
    out = {f[0]: getattr(v, f[0]) for f in v._fields_ if f[0] != "placementIds"}
    out["ids"] = v.placementIds[:v.count] if v.placementIds else []
    return {"type": "placements", "class": type(v).__name__, "value": out}


def test_nvidia_ml_py_agrees_on_the_vgpu_host(host, ref):
    h, _ = host
    ref.nvmlInit()
    try:
        rh = ref.nvmlDeviceGetHandleByIndex(0)
        calls = [(n, ("H",) + a) for n, a in DEVICE_CALLS] + [
            ("nvmlDeviceGetVgpuCapabilities", ("H", 11)), ("nvmlDeviceGetVgpuUtilization", ("H", 3)),
            ("nvmlDeviceGetVgpuInstancesUtilizationInfo", ("H", T0)),
            ("nvmlDeviceGetVgpuProcessesUtilizationInfo", ("H", T0)),
            ("nvmlDeviceGetVgpuTypeSupportedPlacements", ("H", T4C)),
            ("nvmlDeviceGetVgpuTypeSupportedPlacements", ("H", T4C, 1, 2)),
            ("nvmlDeviceGetVgpuTypeSupportedPlacements", ("H", T4C, 0, 3)),
            ("nvmlDeviceGetVgpuTypeCreatablePlacements", ("H", T4C, 2)),
            ("nvmlDeviceGetVgpuTypeCreatablePlacements", ("H", T80C)),
            ("nvmlDeviceGetGridLicensableFeatures", ("H",)), ("nvmlDeviceGetVgpuHeterogeneousMode", ("H",)),
            ("nvmlGetVgpuVersion", ()), ("nvmlGetVgpuDriverCapabilities", (0,)),
        ]
        for t in (T4C, T80C, 99):
            calls += [(n, (t,)) for n in ("nvmlVgpuTypeGetClass", "nvmlVgpuTypeGetName", "nvmlVgpuTypeGetResolution",
                                          "nvmlVgpuTypeGetMaxInstancesPerGpuInstance", "nvmlVgpuTypeGetLicense")]
            calls += [("nvmlVgpuTypeGetCapabilities", (t, c)) for c in range(5)]
        for i in (I1, I2, 9999):
            calls += [(n, (i,)) for n in (
                "nvmlVgpuInstanceGetVmID", "nvmlVgpuInstanceGetLicenseInfo", "nvmlVgpuInstanceGetLicenseInfo_v2",
                "nvmlVgpuInstanceGetRuntimeStateSize", "nvmlVgpuInstanceGetEncoderStats",
                "nvmlVgpuInstanceGetEncoderSessions", "nvmlVgpuInstanceGetFBCStats", "nvmlVgpuInstanceGetFBCSessions",
                "nvmlVgpuInstanceGetGpuPciId", "nvmlVgpuInstanceGetMetadata", "nvmlVgpuInstanceGetAccountingPids",
                "nvmlVgpuInstanceGetEncoderCapacity")]
            calls += [("nvmlVgpuInstanceGetAccountingStats", (i, pid)) for pid in (4242, 4243, 1)]
        compared, bad = 0, []
        for name, args in calls:
            outcome = []
            for lib, handle in ((pynvml, h), (ref, rh)):
                real = [handle if a == "H" else a for a in args]
                try:
                    v = getattr(lib, name)(*real)
                    if "Placements" in name:
                        outcome.append(_canon_placements(v, lib))
                    else:
                        outcome.append(cmp.canon(v, lib))
                except Exception as e:  # noqa: BLE001
                    outcome.append(cmp.canon_exception(e))
            label = f"{name}({', '.join(map(str, args[1:] if args[:1] == ('H',) else args))})"
            ours, theirs = outcome
            if ours["type"] == "placements":
                diff = [] if ours == theirs else [f"{ours} != {theirs}"]
            else:
                diff = cmp.compare(ours, theirs)
            compared += 1
            if diff and label not in QUIRKS:
                bad.append((label, diff))
            if label in QUIRKS and "Placements" in label:     # the two fields swapped
                assert (theirs["value"]["count"], theirs["value"]["placementSize"]) == \
                    (ours["value"]["placementSize"], ours["value"]["count"]), (label, theirs)
            elif label in QUIRKS:
                assert diff and theirs["type"] == "exception" and theirs["value"] == 0, (label, theirs)
        assert bad == [], "\n".join(map(str, bad))
        assert compared > 100
        # the v2 struct-taking calls: each fills the caller's object; ours, nvidia-ml-py's (driver 580: absent)
        for name in ("nvmlDeviceGetVgpuSchedulerLog_v2", "nvmlDeviceGetVgpuSchedulerState_v2"):
            for lib, handle in ((pynvml, h), (ref, rh)):
                with pytest.raises(lib.NVMLError_FunctionNotFound):
                    getattr(lib, name)(handle, 0)
    finally:
        ref.nvmlShutdown()


@pytest.mark.mutates
def test_setters_and_getters_in_threads(h):
    """Readers see the old value or the new one, never a torn profile (run under ASan by CI)."""
    import threading

    stop = threading.Event()
    seen, errors = set(), []

    def read():
        while not stop.is_set():
            try:
                seen.add(pynvml.nvmlDeviceGetVgpuCapabilities(h, 1))
                st = pynvml.nvmlDeviceGetVgpuSchedulerState(h)
                assert st.schedulerPolicy in (1, 2)
                assert pynvml.nvmlVgpuInstanceGetAccountingPids(I1)[0].value in (0, 2)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    s = pynvml.c_nvmlVgpuSchedulerSetState_t()
    for k in range(300):
        pynvml.nvmlDeviceSetVgpuCapabilities(h, 1, k % 2)
        s.schedulerPolicy, s.enableARRMode = 1 + k % 2, pynvml.NVML_VGPU_SCHEDULER_ARR_DISABLE
        pynvml.nvmlDeviceSetVgpuSchedulerState(h, s)
        pynvml.nvmlVgpuInstanceClearAccountingPids(I1)
    stop.set()
    for t in readers:
        t.join(10)
    assert errors == [] and seen <= {0, 1}


def test_every_vgpu_function_has_nvidia_ml_py_signature_and_a_stub(ref):
    import inspect
    from pathlib import Path

    stubs = (Path(pynvml.__file__).parent / "_nvml.pyi").read_text()
    names = [n for n in dir(ref) if n.startswith("nvml") and callable(getattr(ref, n)) and
             ("Vgpu" in n or "Pgpu" in n or "GridLicensable" in n) and not n.startswith("nvmlGpuInstance")]
    assert len(names) >= 70
    for n in names:
        if n in ALL_HAND or n in FUNCTIONS_OF_ISSUE_3:
            assert str(inspect.signature(getattr(pynvml, n))) == str(inspect.signature(getattr(ref, n))), n
            assert f"\ndef {n}(" in stubs, n
    assert FUNCTIONS_OF_ISSUE_3 <= set(names)


FUNCTIONS_OF_ISSUE_3 = set("""
nvmlDeviceGetActiveVgpus nvmlDeviceGetCreatableVgpus nvmlDeviceGetSupportedVgpus nvmlDeviceGetVgpuCapabilities
nvmlDeviceSetVgpuCapabilities nvmlDeviceGetVgpuInstancesUtilizationInfo nvmlDeviceGetVgpuMetadata
nvmlDeviceGetVgpuProcessUtilization nvmlDeviceGetVgpuProcessesUtilizationInfo nvmlDeviceGetVgpuSchedulerCapabilities
nvmlDeviceGetVgpuSchedulerLog nvmlDeviceGetVgpuSchedulerLog_v2 nvmlDeviceGetVgpuSchedulerState
nvmlDeviceGetVgpuSchedulerState_v2 nvmlDeviceSetVgpuSchedulerState nvmlDeviceSetVgpuSchedulerState_v2
nvmlDeviceGetVgpuTypeCreatablePlacements nvmlDeviceGetVgpuTypeSupportedPlacements nvmlDeviceGetVgpuUtilization
nvmlDeviceSetVgpuHeterogeneousMode nvmlDeviceVgpuForceGspUnload nvmlDeviceGetPgpuMetadataString
nvmlDeviceGetGridLicensableFeatures nvmlDeviceGetGridLicensableFeatures_v4 nvmlGetVgpuCompatibility
nvmlGetVgpuDriverCapabilities nvmlGetVgpuVersion nvmlSetVgpuVersion nvmlVgpuInstanceClearAccountingPids
nvmlVgpuInstanceGetAccountingPids nvmlVgpuInstanceGetAccountingStats nvmlVgpuInstanceGetEncoderSessions
nvmlVgpuInstanceGetEncoderStats nvmlVgpuInstanceGetFBCSessions nvmlVgpuInstanceGetFBCStats nvmlVgpuInstanceGetGpuPciId
nvmlVgpuInstanceGetLicenseInfo nvmlVgpuInstanceGetLicenseInfo_v2 nvmlVgpuInstanceGetMetadata
nvmlVgpuInstanceGetRuntimeStateSize nvmlVgpuInstanceGetVmID nvmlVgpuInstanceSetEncoderCapacity
nvmlVgpuTypeGetCapabilities nvmlVgpuTypeGetClass nvmlVgpuTypeGetMaxInstancesPerGpuInstance nvmlVgpuTypeGetName
nvmlVgpuTypeGetResolution""".split())


def test_checked_in_vgpu_host_profile(default_profile, use_profile):
    """sim/profiles/vgpu-host.json (tools/vgpu_host_profile.py) holds the vGPU host's data and
    loads: users can run on it (the rest of it is the default profile of when it was written)."""
    path = ROOT / "sim" / "profiles" / "vgpu-host.json"
    shipped = json.loads(path.read_text())
    want = vgpu_host_profile(default_profile)
    for part, a, b in (("system", want["system"], shipped["system"]),
                       ("device 0", want["devices"][0], shipped["devices"][0])):
        for key, value in a.items():
            if "Vgpu" in key or "Pgpu" in key or "GridLicensable" in key:
                assert b.get(key) == value, (part, key, "rerun python tools/vgpu_host_profile.py")
    use_profile(path.read_text())
    pynvml.nvmlInit()
    assert pynvml.nvmlDeviceGetActiveVgpus(pynvml.nvmlDeviceGetHandleByIndex(0)) == [I1, I2]
    assert pynvml.nvmlVgpuTypeGetName(T4C) == "NVIDIA H100-4C"
