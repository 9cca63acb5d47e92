"""The getters family (spec/functions_getters.nvml): on the default profile, the values a
real H100 (driver 580.159.04) gave or nvidia-smi -q showed; on a richer profile, data
where the H100 had none; injected errors; version words and arguments; the caller's
objects nvidia-ml-py lets one pass (refargs=, the filled structs); nvidia-ml-py's two
decorators; the simulator's samples as time passes."""
import copy
import ctypes
import time

import pytest

import pynvml
from conftest import of_class
pytestmark = pytest.mark.simulator

NA = 2**64 - 1        # NVML_VALUE_NOT_AVAILABLE (unsigned long long)


@pytest.fixture
def h(nvml):
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


def start(use_profile, profile):
    use_profile(profile)
    pynvml.nvmlInit()
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


# --- the default profile: the H100 --------------------------------------------------------------

def test_h100_values(h):
    d = h[0]
    assert pynvml.nvmlDeviceGetModuleId(d) == 2 and type(pynvml.nvmlDeviceGetModuleId(d)) is int
    assert pynvml.nvmlDeviceGetGspFirmwareMode(d) == [1, 1]
    assert pynvml.nvmlDeviceGetGspFirmwareVersion(d) == b"580.159.04"      # bytes, as nvidia-ml-py
    assert pynvml.nvmlDeviceGetMinMaxClockOfPState(d, 0, 0) == (345, 1980)
    assert pynvml.nvmlDeviceGetMinMaxClockOfPState(d, 2, 2) == (1593, 1593)
    with pytest.raises(pynvml.NVMLError_Unknown):
        pynvml.nvmlDeviceGetMinMaxClockOfPState(d, 0, 1)
    assert pynvml.nvmlDeviceGetSupportedPerformanceStates(d) == [2, 0]
    assert pynvml.nvmlDeviceGetTemperatureV(d, 0) == 35 == pynvml.nvmlDeviceGetTemperatureV1(d, 0)
    assert pynvml.nvmlDeviceGetTemperatureV(h[1], 0) == pynvml.nvmlDeviceGetTemperature(h[1], 0) == 61
    for sensor in (1, 5):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceGetTemperatureV(d, sensor)
    ps = pynvml.nvmlDeviceGetDynamicPstatesInfo(d)
    assert of_class(ps, pynvml.c_nvmlGpuDynamicPstatesInfo_t) and ps.flags == 0
    assert len(ps.utilization) == 8 and ps.utilization[0].bIsPresent == 1
    br = pynvml.nvmlSystemGetDriverBranch()
    assert of_class(br, pynvml.c_nvmlSystemDriverBranchInfo_v1_t)
    assert (br.version, br.branch) == (pynvml.SystemDriverBranchInfo_v1, "r582_49")
    assert pynvml.nvmlSystemGetHicVersion() == []
    assert pynvml.nvmlSystemGetTopologyGpuSet(0) == h
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlSystemGetTopologyGpuSet(1)
    assert pynvml.nvmlDeviceOnSameBoard(h[0], h[1]) is False
    assert pynvml.nvmlDeviceOnSameBoard(h[1], h[1]) is True


@pytest.mark.parametrize("name, error", [
    ("nvmlDeviceGetBBXTimeData_v1", "NVMLError_FunctionNotFound"),
    ("nvmlDeviceGetAccountingStats_v2", "NVMLError_FunctionNotFound"),
    ("nvmlDeviceGetLastBBXFlushTime", "NVMLError_NotReady"),
    ("nvmlDeviceGetAccountingStats", "NVMLError_NotFound"),
    ("nvmlDeviceGetBridgeChipInfo", "NVMLError_NotSupported"),
    ("nvmlDeviceGetClkMonStatus", "NVMLError_NotSupported"),
    ("nvmlDeviceGetConfComputeGpuCertificate", "NVMLError_Unknown"),
    ("nvmlDeviceGetCoolerInfo", "NVMLError_NotSupported"),
    ("nvmlDeviceGetHostname_v1", "NVMLError_NotSupported"),
    ("nvmlDeviceGetProcessesUtilizationInfo", "NVMLError_NotFound"),
])
def test_h100_errors(h, name, error):
    args = {"nvmlDeviceGetAccountingStats": (4242,), "nvmlDeviceGetAccountingStats_v2": (4242,),
            "nvmlDeviceGetProcessesUtilizationInfo": (0,)}.get(name, ())
    for d in h:
        with pytest.raises(getattr(pynvml, error)):
            getattr(pynvml, name)(d, *args)


def test_h100_filled_structs(h):
    info = pynvml.nvmlPciInfoExt_v1_t()
    assert info.version == 0              # nvidia-ml-py's class sets no version word: the caller does
    with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
        pynvml.nvmlDeviceGetPciInfoExt(h[1], info)
    info.version = pynvml.nvmlPciInfoExt_v1
    assert pynvml.nvmlDeviceGetPciInfoExt(h[1], info) is None
    pci = pynvml.nvmlDeviceGetPciInfo(h[1])
    assert (info.domain, info.bus, info.device, info.pciDeviceId, info.pciSubSystemId, info.busId) == \
        (pci.domain, pci.bus, pci.device, pci.pciDeviceId, pci.pciSubSystemId, pci.busId)
    assert (info.baseClass, info.subClass) == (3, 2)                       # a 3D controller
    sram = pynvml.c_nvmlEccSramErrorStatus_v1_t()
    assert pynvml.nvmlDeviceGetSramEccErrorStatus(h[0], sram) == pynvml.NVML_SUCCESS
    assert sram.version == pynvml.nvmlEccSramErrorStatus_v1 and sram.aggregateCor == 0
    caps = pynvml.c_nvmlDeviceCapabilities_v1_t()
    caps.capMask = 7
    assert pynvml.nvmlDeviceGetCapabilities(h[0], caps) == 0 and caps.capMask == 0   # no EGM
    rows = pynvml.c_nvmlRemappedRowsInfo_v2_t()
    rows.bPending = 1
    assert pynvml.nvmlDeviceGetRemappedRows_v2(h[0], rows) == 0 and rows.bPending == 0
    for name, cls in (("nvmlDeviceGetGpuFabricInfo", "c_nvmlGpuFabricInfo_t"),
                      ("nvmlDeviceGetGpuFabricInfoV", "c_nvmlGpuFabricInfo_v3_t"),
                      ("nvmlDeviceGetPlatformInfo", "c_nvmlPlatformInfo_v2_t"),
                      ("nvmlDeviceGetNvLinkInfo", "c_nvmlNvLinkInfo_v2_t")):
        with pytest.raises(pynvml.NVMLError_NotSupported):     # N/A in the H100's nvidia-smi -q
            getattr(pynvml, name)(h[0], getattr(pynvml, cls)())


def test_h100_process_detail_list(h):
    v1 = pynvml.nvmlProcessDetailList_v1
    assert pynvml.nvmlDeviceGetRunningProcessDetailList(h[0], v1, 0) == []
    (p,) = pynvml.nvmlDeviceGetRunningProcessDetailList(h[1], v1, pynvml.NVML_PROCESS_MODE_COMPUTE)
    assert of_class(p, pynvml.c_nvmlProcessDetail_v1_t)
    assert (p.pid, p.usedGpuMemory, p.usedGpuCcProtectedMemory) == (4242, 17179869184, 0)
    assert [x.pid for x in pynvml.nvmlDeviceGetComputeRunningProcesses(h[1])] == [4242]
    assert pynvml.nvmlDeviceGetRunningProcessDetailList(h[1], v1, 1) == []
    for bad_version in (0, 1, v1 + 1):
        with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
            pynvml.nvmlDeviceGetRunningProcessDetailList(h[1], bad_version, 0)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetRunningProcessDetailList(h[1], v1, 3)


# --- samples, made as time passes ---------------------------------------------------------------

def test_samples_increase_after_the_last_seen(h):
    vtype, samples = pynvml.nvmlDeviceGetSamples(h[0], pynvml.NVML_TOTAL_POWER_SAMPLES, 0)
    assert vtype == pynvml.NVML_VALUE_TYPE_UNSIGNED_INT and len(samples) == 119
    assert all(of_class(s, pynvml.c_nvmlSample_t) for s in samples)
    ts = [s.timeStamp for s in samples]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    assert all(b - a == 20000 for a, b in zip(ts, ts[1:]))          # one every 20 ms
    now = time.time() * 1e6
    assert now - 1e6 < ts[-1] <= now + 1000                          # the last is recent
    assert {s.sampleValue.uiVal for s in samples} == {71287, 71991, 71662}
    last = ts[-10]
    _, newer = pynvml.nvmlDeviceGetSamples(h[0], 0, last)
    assert newer and all(s.timeStamp > last for s in newer) and len(newer) >= 9
    time.sleep(0.05)                                                 # new samples come
    _, later = pynvml.nvmlDeviceGetSamples(h[0], 0, ts[-1])
    assert later and later[0].timeStamp > ts[-1]
    vtype, util = pynvml.nvmlDeviceGetSamples(h[1], pynvml.NVML_GPU_UTILIZATION_SAMPLES, 0)
    assert len(util) == 71 and all(s.sampleValue.uiVal == 0 for s in util)
    with pytest.raises(pynvml.NVMLError_NotFound):                   # none newer than the future
        pynvml.nvmlDeviceGetSamples(h[0], 0, int(now) + 10**9)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):            # a type the profile lacks
        pynvml.nvmlDeviceGetSamples(h[0], 5, 0)


def test_samples_of_each_value_type(default_profile, use_profile):
    for dev in default_profile["devices"]:
        dev["nvmlDeviceGetSamples"] = {
            str(t): {"valueType": t, "periodUs": 1000, "count": 3, "values": [v]}
            for t, v in enumerate([2.5, 7, str(2**40), str(2**63 + 5), -(2**40), -7])}
    h = start(use_profile, default_profile)
    members = ["dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal"]
    want = [2.5, 7, 2**40, 2**63 + 5, -(2**40), -7]
    for t, (m, v) in enumerate(zip(members, want)):
        vtype, s = pynvml.nvmlDeviceGetSamples(h[1], t, 0)
        assert vtype == t and len(s) == 3 and all(getattr(x.sampleValue, m) == v for x in s)


# --- a richer profile: data where the H100 had none ---------------------------------------------

def rich(default_profile):
    prof = copy.deepcopy(default_profile)
    for i, d in enumerate(prof["devices"]):
        d["nvmlDeviceGetCoolerInfo"] = {"coolerControlType": 2, "coolerTarget": 1 << i}
        d["nvmlDeviceGetHostname_v1"] = {"value": "node-%d" % i}
        d["nvmlDeviceGetBBXTimeData_v1"] = {"timeRun": 3600 + i}
        d["nvmlDeviceGetLastBBXFlushTime"] = [1700000000 + i, 1234]
        d["nvmlDeviceGetAccountingStats"] = {
            "4242": {"gpuUtilization": 90, "memoryUtilization": 30, "maxMemoryUsage": 1 << 34, "time": 60000,
                     "startTime": 1700000000000000, "isRunning": 1},
            "7": {"gpuUtilization": 1, "maxMemoryUsage": str(NA)}}
        d["nvmlDeviceGetAccountingStats_v2"] = {"4242": {"isRunning": 1, "gpuUtilization": 90, "sampleCount": 12,
                                                         "sumGpuUtil": 1080, "maxMemoryUsage": 1 << 34}}
        d["nvmlDeviceGetBridgeChipInfo"] = {"bridgeCount": 2, "bridgeChipInfo": [{"type": 0, "fwVersion": 0x1234},
                                                                                 {"type": 1, "fwVersion": 0x5678}]}
        d["nvmlDeviceGetClkMonStatus"] = {"bGlobalStatus": 1, "clkMonListSize": 1,
                                          "clkMonList": [{"clkApiDomain": 0, "clkDomainFaultMask": 4}]}
        d["nvmlDeviceGetConfComputeGpuCertificate"] = {"certChainSize": 3, "attestationCertChainSize": 2,
                                                       "certChain": [1, 2, 3], "attestationCertChain": [9, 8]}
        d["nvmlDeviceGetConfComputeGpuAttestationReport"] = {
            "isCecAttestationReportPresent": 1, "attestationReportSize": 4, "cecAttestationReportSize": 0,
            "attestationReport": [0xde, 0xad, 0xbe, 0xef]}
        d["nvmlDeviceGetGpuFabricInfoV"] = {"clusterUuid": list(range(16)), "status": 0, "cliqueId": 7,
                                            "state": 3, "healthMask": 0, "healthSummary": 1}
        d["nvmlDeviceGetPlatformInfo"] = {"ibGuid": "guid-%d" % i, "chassisSerialNumber": "1655822000123",
                                          "slotNumber": 4, "trayIndex": 2, "hostId": 1, "peerType": 0,
                                          "moduleId": 3 + i}
        d["nvmlDeviceGetNvLinkInfo"] = {"isNvleEnabled": 1, "firmwareInfo": {
            "numValidEntries": 1, "firmwareVersion": [{"ucodeType": 1, "major": 3, "minor": 2, "subMinor": 1}]}}
        d["nvmlDeviceGetThermalSettings"] = {"0": {"count": 1, "sensor": [
            {"controller": 9, "defaultMinTemp": 0, "defaultMaxTemp": 95, "currentTemp": 40 + i, "target": 1}]}}
        d["nvmlDeviceGetProcessesUtilizationInfo"] = [
            {"timeStamp": 100 + k, "pid": 4242, "smUtil": 50 + k, "memUtil": 20, "encUtil": 0, "decUtil": 0,
             "jpgUtil": 0, "ofaUtil": 0} for k in range(3)]
        d["nvmlDeviceGetRunningProcessDetailList"] = {"0": [
            {"pid": 4242, "usedGpuMemory": str(NA), "gpuInstanceId": 1, "computeInstanceId": 0,
             "usedGpuCcProtectedMemory": str(NA)}], "1": [], "2": []}
    return prof


def test_rich_profile_success_paths(default_profile, use_profile):
    h = start(use_profile, rich(default_profile))
    d = h[1]
    assert pynvml.nvmlDeviceGetCoolerInfo(d) == [2, 2]
    assert pynvml.nvmlDeviceGetHostname_v1(d) == "node-1"
    assert pynvml.nvmlDeviceGetBBXTimeData_v1(d).timeRun == 3601
    assert pynvml.nvmlDeviceGetLastBBXFlushTime(d) == [1700000001, 1234]
    st = pynvml.nvmlDeviceGetAccountingStats(d, 4242)
    assert of_class(st, pynvml.c_nvmlAccountingStats_t)
    assert (st.gpuUtilization, st.maxMemoryUsage, st.isRunning, list(st.reserved)) == (90, 1 << 34, 1, [0] * 5)
    # NVML_VALUE_NOT_AVAILABLE stays NVML's value (nvidia-ml-py's None assignment is a TypeError)
    assert pynvml.nvmlDeviceGetAccountingStats(d, 7).maxMemoryUsage == NA
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetAccountingStats(d, 8)
    s2 = pynvml.nvmlDeviceGetAccountingStats_v2(d, 4242)
    assert of_class(s2, pynvml.c_nvmlAccountingStats_v2_t)
    assert (s2.pid, s2.isRunning, s2.sampleCount, s2.sumGpuUtil, s2.maxMemoryUsage) == (4242, 1, 12, 1080, 1 << 34)
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetAccountingStats_v2(d, 1)
    b = pynvml.nvmlDeviceGetBridgeChipInfo(d)
    assert b.bridgeCount == 2 and len(b.bridgeChipInfo) == 128
    assert [(x.type, x.fwVersion) for x in b.bridgeChipInfo[:3]] == [(0, 0x1234), (1, 0x5678), (0, 0)]
    cm = pynvml.nvmlDeviceGetClkMonStatus(d)
    assert (cm.bGlobalStatus, cm.clkMonListSize, cm.clkMonList[0].clkDomainFaultMask) == (1, 1, 4)
    cert = pynvml.nvmlDeviceGetConfComputeGpuCertificate(d)
    # u8 arrays read as bytes: indexing, slicing to the size and bytes() work as on nvidia-ml-py's arrays
    assert bytes(cert.certChain[:cert.certChainSize]) == b"\x01\x02\x03" and cert.certChain[0] == 1
    assert len(cert.certChain) == 0x1000 and bytes(cert.attestationCertChain[:2]) == b"\x09\x08"
    nonce = bytes(range(32))
    rep = pynvml.nvmlDeviceGetConfComputeGpuAttestationReport(d, nonce)
    assert rep.nonce == nonce and rep.attestationReport[:4] == b"\xde\xad\xbe\xef"
    assert pynvml.nvmlDeviceGetConfComputeGpuAttestationReport(d, list(nonce)).nonce == nonce
    fab = pynvml.c_nvmlGpuFabricInfo_v3_t()
    assert pynvml.nvmlDeviceGetGpuFabricInfoV(d, fab) == pynvml.NVML_SUCCESS
    assert (fab.clusterUuid, fab.cliqueId, fab.state, fab.healthSummary) == (bytes(range(16)), 7, 3, 1)
    plat = pynvml.c_nvmlPlatformInfo_v2_t()
    assert pynvml.nvmlDeviceGetPlatformInfo(d, plat) == 0
    assert (plat.ibGuid, plat.chassisSerialNumber, plat.moduleId) == ("guid-1", "1655822000123", "\x04")
    nvl = pynvml.c_nvmlNvLinkInfo_v2_t()
    assert pynvml.nvmlDeviceGetNvLinkInfo(d, nvl) == 0
    assert nvl.isNvleEnabled == 1 and nvl.firmwareInfo.firmwareVersion[0].major == 3
    sensors = pynvml.nvmlDeviceGetThermalSettings(d, 0)
    assert len(sensors) == 3 and (sensors[0].currentTemp, sensors[0].defaultMaxTemp) == (41, 95)
    mine = pynvml.c_nvmlGpuThermalSettings_t()
    assert pynvml.nvmlDeviceGetThermalSettings(d, 0, mine)[0].currentTemp == 41     # and the caller's filled
    assert mine.count == 1 and mine.sensor[0].controller == 9
    cm2 = pynvml.nvmlClkMonStatus_t()
    assert pynvml.nvmlDeviceGetClkMonStatus(d, c_clkMonInfo=cm2).bGlobalStatus == 1 and cm2.clkMonListSize == 1
    util = pynvml.nvmlDeviceGetProcessesUtilizationInfo(d, 100)
    assert [(u.timeStamp, u.smUtil) for u in util] == [(101, 51), (102, 52)]
    assert all(of_class(u, pynvml.c_nvmlProcessUtilizationInfo_v1_t) for u in util)
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetProcessesUtilizationInfo(d, 102)
    (p,) = pynvml.nvmlDeviceGetRunningProcessDetailList(d, pynvml.nvmlProcessDetailList_v1, 0)
    assert (p.pid, p.usedGpuMemory, p.usedGpuCcProtectedMemory, p.gpuInstanceId) == (4242, NA, NA, 1)


def test_rich_profile_agrees_with_nvidia_ml_py(default_profile, use_profile, ref):
    h = start(use_profile, rich(default_profile))
    ref.nvmlInit()
    try:
        r = ref.nvmlDeviceGetHandleByIndex(1)
        assert pynvml.nvmlDeviceGetCoolerInfo(h[1]) == ref.nvmlDeviceGetCoolerInfo(r)
        assert pynvml.nvmlDeviceGetHostname_v1(h[1]) == ref.nvmlDeviceGetHostname_v1(r)
        assert pynvml.nvmlDeviceGetLastBBXFlushTime(h[1]) == ref.nvmlDeviceGetLastBBXFlushTime(r)
        cert, rcert = pynvml.nvmlDeviceGetConfComputeGpuCertificate(h[1]), ref.nvmlDeviceGetConfComputeGpuCertificate(r)
        assert bytes(cert.certChain) == bytes(rcert.certChain) and list(cert.certChain) == list(rcert.certChain)
        b, rb = pynvml.nvmlDeviceGetBridgeChipInfo(h[1]), ref.nvmlDeviceGetBridgeChipInfo(r)
        assert [(x.type, x.fwVersion) for x in b.bridgeChipInfo] == [(x.type, x.fwVersion) for x in rb.bridgeChipInfo]
        nonce = bytes(range(32))
        rep, rrep = (pynvml.nvmlDeviceGetConfComputeGpuAttestationReport(h[1], nonce),
                     ref.nvmlDeviceGetConfComputeGpuAttestationReport(r, nonce))
        assert bytes(rep.nonce) == bytes(rrep.nonce) and bytes(rep.attestationReport) == bytes(rrep.attestationReport)
        # nvidia-ml-py trips on NVML_VALUE_NOT_AVAILABLE (None into a ctypes integer field)
        with pytest.raises(TypeError):
            ref.nvmlDeviceGetAccountingStats(r, 7)
        with pytest.raises(TypeError):
            ref.nvmlDeviceGetRunningProcessDetailList(r, ref.nvmlProcessDetailList_v1, 0)
        assert ref.nvmlDeviceGetGspFirmwareVersion(r) == pynvml.nvmlDeviceGetGspFirmwareVersion(h[1])
        assert ref.nvmlDeviceGetSupportedPerformanceStates(r) == pynvml.nvmlDeviceGetSupportedPerformanceStates(h[1])
        assert ref.nvmlDeviceGetTemperatureV(r, 0) == pynvml.nvmlDeviceGetTemperatureV(h[1], 0)
        u = pynvml.nvmlDeviceGetUUID(h[1])
        assert ref.nvmlDeviceGetIndex(ref.nvmlDeviceGetHandleByUUIDV(u.encode(), 1)) == 1
        assert pynvml.nvmlDeviceGetHandleByUUIDV(u, 1) == h[1]
    finally:
        ref.nvmlShutdown()


# --- errors injected -----------------------------------------------------------------------------

FILLS = {"nvmlDeviceGetPciInfoExt": "nvmlPciInfoExt_v1_t", "nvmlDeviceGetGpuFabricInfoV": "c_nvmlGpuFabricInfo_v3_t",
         "nvmlDeviceGetSramEccErrorStatus": "c_nvmlEccSramErrorStatus_v1_t",
         "nvmlDeviceGetRemappedRows_v2": "c_nvmlRemappedRowsInfo_v2_t"}
KEYS = {"nvmlDeviceGetTemperatureV": "nvmlDeviceGetTemperatureV", "nvmlDeviceGetModuleId": "nvmlDeviceGetModuleId",
        "nvmlDeviceGetGspFirmwareMode": "nvmlDeviceGetGspFirmwareMode",
        "nvmlDeviceGetGspFirmwareVersion": "nvmlDeviceGetGspFirmwareVersion",
        "nvmlDeviceGetSupportedPerformanceStates": "nvmlDeviceGetSupportedPerformanceStates",
        "nvmlDeviceGetSamples": "nvmlDeviceGetSamples", "nvmlDeviceOnSameBoard": "nvmlDeviceOnSameBoard",
        "nvmlDeviceGetRunningProcessDetailList": "nvmlDeviceGetRunningProcessDetailList",
        "nvmlDeviceGetMinMaxClockOfPState": "nvmlDeviceGetMinMaxClockOfPState"}


@pytest.mark.parametrize("error", ["NVML_ERROR_NOT_SUPPORTED", "NVML_ERROR_NO_PERMISSION"])
def test_injected_errors(default_profile, use_profile, error):
    prof = copy.deepcopy(default_profile)
    for d in prof["devices"]:
        for key in list(KEYS.values()) + list(FILLS) + ["nvmlDeviceGetCapabilities"]:
            d[key] = {"error": error}
    prof["system"]["nvmlSystemGetDriverBranch"] = {"error": error}
    prof["system"]["nvmlSystemGetTopologyGpuSet"] = {"error": error}
    h = start(use_profile, prof)
    cls = pynvml.nvmlExceptionClass(getattr(pynvml, error))
    calls = [("nvmlDeviceGetTemperatureV", (h[0], 0)), ("nvmlDeviceGetTemperatureV1", (h[0], 0)),
             ("nvmlDeviceGetModuleId", (h[0],)), ("nvmlDeviceGetGspFirmwareMode", (h[0],)),
             ("nvmlDeviceGetGspFirmwareVersion", (h[0],)), ("nvmlDeviceGetSupportedPerformanceStates", (h[0],)),
             ("nvmlDeviceGetSamples", (h[0], 0, 0)), ("nvmlDeviceOnSameBoard", (h[0], h[1])),
             ("nvmlDeviceGetRunningProcessDetailList", (h[1], pynvml.nvmlProcessDetailList_v1, 0)),
             ("nvmlDeviceGetMinMaxClockOfPState", (h[0], 0, 0)), ("nvmlSystemGetDriverBranch", ()),
             ("nvmlSystemGetTopologyGpuSet", (0,))]
    calls += [(n, (h[0], getattr(pynvml, c)())) for n, c in FILLS.items()]
    for name, args in calls:
        with pytest.raises(cls):
            getattr(pynvml, name)(*args)
    # nvidia-ml-py's nvmlDeviceGetCapabilities returns NVML's code, never raises
    assert pynvml.nvmlDeviceGetCapabilities(h[0], pynvml.c_nvmlDeviceCapabilities_v1_t()) == \
        getattr(pynvml, error)


# --- version words ---------------------------------------------------------------------------------

def test_temperature_version(h):
    assert pynvml.nvmlDeviceGetTemperatureV(h[0], 0, pynvml.nvmlTemperature_v1) == 35
    assert pynvml.nvmlDeviceGetTemperatureV(h[0], 0, version=pynvml.nvmlTemperature_v1) == 35
    for v in (0, 1, pynvml.nvmlTemperature_v1 + 1):
        with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
            pynvml.nvmlDeviceGetTemperatureV(h[0], 0, v)


def test_filled_struct_versions(h):
    fab = pynvml.c_nvmlGpuFabricInfo_v3_t()
    assert fab.version == pynvml.nvmlGpuFabricInfo_v3
    fab.version = pynvml.nvmlGpuFabricInfo_v2
    with pytest.raises(pynvml.NVMLError_NotSupported):      # the profile answers first, as NVML may
        pynvml.nvmlDeviceGetGpuFabricInfoV(h[0], fab)
    caps = pynvml.c_nvmlDeviceCapabilities_v1_t()
    caps.version = 0
    assert pynvml.nvmlDeviceGetCapabilities(h[0], caps) == pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH


# --- the caller's objects (nvidia-ml-py's optional outputs) ----------------------------------------

def test_optional_output_objects(h):
    m = ctypes.c_uint(99)
    assert pynvml.nvmlDeviceGetModuleId(h[0], m) == 2 and m.value == 2
    lo, hi = ctypes.c_uint(), ctypes.c_uint()
    assert pynvml.nvmlDeviceGetMinMaxClockOfPState(h[0], 0, 0, lo, hi) == (345, 1980)
    assert (lo.value, hi.value) == (345, 1980)
    e, dm = ctypes.c_uint(), ctypes.c_uint()
    assert pynvml.nvmlDeviceGetGspFirmwareMode(h[0], isEnabled=e, defaultMode=dm) == [1, 1] and e.value == 1
    ps = pynvml.c_nvmlGpuDynamicPstatesInfo_t()
    got = pynvml.nvmlDeviceGetDynamicPstatesInfo(h[0], ps)
    assert ps.utilization[0].bIsPresent == 1 and bytes(ps) == bytes(got)
    buf = ctypes.create_string_buffer(64)
    assert pynvml.nvmlDeviceGetGspFirmwareVersion(h[0], buf) == pynvml.NVML_SUCCESS
    assert buf.value == b"580.159.04"
    assert pynvml.nvmlDeviceGetModuleId(h[0], None) == 2
    for bad in (b"abcd", "x", 5, 1.5, object()):       # read-only or not a buffer
        with pytest.raises(TypeError):
            pynvml.nvmlDeviceGetModuleId(h[0], bad)
    with pytest.raises(ValueError):                      # too small for the output
        pynvml.nvmlDeviceGetModuleId(h[0], ctypes.c_ubyte())
    with pytest.raises(ValueError):
        pynvml.nvmlDeviceGetGspFirmwareVersion(h[0], ctypes.create_string_buffer(8))
    assert m.value == 2


# --- wrong arguments ------------------------------------------------------------------------------

def test_wrong_types(h):
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetSamples(h[0], "0", 0)
    with pytest.raises(ValueError):
        pynvml.nvmlDeviceGetSamples(h[0], 0, -1)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetHandleByUUIDV(5, 1)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetHandleByUUIDV("GPU-x", 2)      # a binary UUID is bytes-like
    with pytest.raises(ValueError):
        pynvml.nvmlDeviceGetHandleByUUIDV(b"short", 2)
    with pytest.raises(ValueError):
        pynvml.nvmlDeviceGetHandleByUUIDV("G" * 41, 1)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetHandleByUUIDV("GPU-x", 3)
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetHandleByUUIDV("GPU-00000000-0000-0000-0000-000000000000", 1)
    for bad, exc in ((bytes(31), ValueError), ([0] * 33, ValueError), ([256] + [0] * 31, ValueError),
                     ("x" * 32, TypeError), (5, TypeError), ([None] * 32, TypeError)):
        with pytest.raises(exc):
            pynvml.nvmlDeviceGetConfComputeGpuAttestationReport(h[0], bad)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetPciInfoExt(h[0], pynvml.c_nvmlMemory_t())   # another struct class
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetPciInfoExt(h[0], None)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceOnSameBoard(h[0], 1)
    with pytest.raises(TypeError):
        pynvml.nvmlSystemGetDriverBranch(0)


def test_handle_by_uuid_v(h):
    for i, d in enumerate(h):
        u = pynvml.nvmlDeviceGetUUID(d)
        assert pynvml.nvmlDeviceGetHandleByUUIDV(u, pynvml.NVML_UUID_TYPE_ASCII) == d
        assert pynvml.nvmlDeviceGetHandleByUUIDV(u.lower().encode(), 1) == d
        raw = bytes.fromhex(u[4:].replace("-", ""))
        assert pynvml.nvmlDeviceGetHandleByUUIDV(raw, pynvml.NVML_UUID_TYPE_BINARY) == d
        assert pynvml.nvmlDeviceGetHandleByUUIDV(bytearray(raw), 2) == d


# --- nvidia-ml-py's decorators ----------------------------------------------------------------------

def test_convert_str_bytes(ref):
    def f(*args, **kwargs):
        return [args, kwargs]

    def g(x):
        return x

    for lib in (pynvml, ref):
        wrapped = lib.convertStrBytes(f)
        assert wrapped("a", b"b", 3, k="s") == [(b"a", b"b", 3), {"k": "s"}]
        assert lib.convertStrBytes(g)(b"bytes") == "bytes" and lib.convertStrBytes(g)("s") == "s"
        assert lib.convertStrBytes(g)(5) == 5 and wrapped.__name__ == "f" and wrapped.__wrapped__ is f


def test_throw_on_version_mismatch(ref):
    for lib in (pynvml, ref):
        def missing():
            raise lib.NVMLError(lib.NVML_ERROR_FUNCTION_NOT_FOUND)

        def other():
            raise lib.NVMLError(lib.NVML_ERROR_NOT_SUPPORTED)

        with pytest.raises(lib.NVMLLibraryMismatchError, match="such as missing_v2"):
            lib.throwOnVersionMismatch(missing)()
        with pytest.raises(lib.NVMLError_NotSupported):
            lib.throwOnVersionMismatch(other)()
        assert lib.throwOnVersionMismatch(lambda x: x + 1)(1) == 2
        assert lib.throwOnVersionMismatch(missing).__name__ == "missing"


def test_structs_with_pointers_count_and_size_queries(default_profile, use_profile):
    """With no buffer (the pointer NULL) NVML answers the count or size; the reads through a
    buffer: tests/test_pointer_fields.py, against nvidia-ml-py."""
    prof = copy.deepcopy(default_profile)
    for d in prof["devices"]:
        d["nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts"] = {"entryCount": 3}
    prof["system"]["nvmlSystemGetCPER_v1"] = {"cursor": {"cperTypeMask": 1, "uuid": "GPU-x", "handle": 77},
                                              "bufferSize": 4096}
    h = start(use_profile, prof)
    c = pynvml.c_nvmlEccSramUniqueUncorrectedErrorCounts_v1_t()
    assert c.version == pynvml.nvmlEccSramUniqueUncorrectedErrorCounts_v1
    assert pynvml.nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts(h[0], c) == 0
    assert c.entryCount == 3 and not c.entries                # the count query: entries NULL
    with pytest.raises(TypeError):                            # a POINTER field takes no int (ctypes)
        c.entries = 12345
    cper = pynvml.c_nvmlGetCPER_v1_t()
    assert pynvml.nvmlSystemGetCPER_v1(cper) is None
    assert (cper.cursor.handle, cper.cursor.uuid, cper.bufferSize, bool(cper.buffer)) == (0, "", 4096, False)


def test_h100_lacks_cper(h):
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        pynvml.nvmlSystemGetCPER_v1(pynvml.c_nvmlGetCPER_v1_t())
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts(
            h[0], pynvml.c_nvmlEccSramUniqueUncorrectedErrorCounts_v1_t())
