"""Differential test: nvidia-ml-py 13.610.43 (the `ref` fixture, bound to the same simulated
NVML) and ours, called with the same arguments, for every getter both have, on both
simulated GPUs: each device handle, the ints 0..5 for every integer parameter (every
combination, as tests/data/reference/h100/nvidia-ml-py.json's call keys), the no-argument
system calls, and the identifiers for the handle lookups.  Runs on the default profile and
on a "rich" one where every function has data (synthesized from the spec where the H100
had none) and the corner cases nvidia-ml-py trips on are present.

The comparison (tools/compare_with_nvidia_ml_py.py, which also runs it on a real GPU)
compares by value and by shape: int/float/str/None, list vs tuple, structs field by field
(their _fields_ names and class), nvmlFriendlyObject by __dict__, handles by
nvmlDeviceGetIndex, exceptions by class name.  Where the two differ, the difference must be
exactly one listed in KNOWN_DIFFERENCES (nvidia-ml-py's own behaviour, with the reason).
"""
import copy
import ctypes
import inspect
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import pynvml
from conftest import REF_MODULE, ROOT, SIM_LIBRARY

sys.path.insert(0, str(ROOT / "tools"))
import compare_with_nvidia_ml_py as cmp  # noqa: E402
from test_functions import DEVICE_FUNCS, SPEC, simkey, success_paths, synth_node  # noqa: E402


def _field_values_array(o, r, rec):
    # same structs, in a list (ours) or nvidia-ml-py's ctypes array; timestamps a few us apart
    return (o["type"] == "list" and r["type"] == "ctypes_array" and
            cmp.compare({"type": "list", "items": o["items"]}, {"type": "list", "items": r["items"]}) == [])


def _process_utilization_no_samples(o, r, rec):
    return (o == {"type": "list", "items": []} and r["type"] == "exception" and r["class"] == "NVMLError"
            and r["value"] == 0)


def _keyword_str(o, r, rec):
    return ("=" in rec["call"] and o["type"] == "handle" and o["index"] is not None
            and r["type"] == "exception" and r["class"] == "TypeError")


def _nearest_gpus_zero_count(o, r, rec):
    return (o == {"type": "list", "items": []} and r["type"] == "exception"
            and r["class"] == "NVMLError_InvalidArgument")


def _creatable_placements_version(o, r, rec):
    return (o["type"] == "exception" and o["class"] == "NVMLError_ArgumentVersionMismatch"
            and r["type"] == "exception" and r["class"] == "UnboundLocalError")


def _handle_identity(o, r, rec):
    return o == {"type": "bool", "value": True} and r == {"type": "bool", "value": False}


def _uuidv_str(o, r, rec):
    # a str uuid: ASCII, nvidia-ml-py's c_char array refuses str (ours encodes it, as for
    # nvmlDeviceGetHandleByUUID); BINARY, nvidia-ml-py's memmove copies the str's first 16
    # bytes as wchar_t (UTF-32), never a GPU's (ours refuses a str: TypeError)
    m = re.match(r"nvmlDeviceGetHandleByUUIDV\('[^']*', (\d+)\)$", rec["call"])
    if m is None:
        return False
    if m.group(1) == "1":
        return o["type"] in ("handle", "exception") and r["type"] == "exception" and r["class"] == "TypeError"
    return (m.group(1) == "2" and o["type"] == "exception" and o["class"] == "TypeError"
            and r["type"] == "exception" and r["class"] == "NVMLError_NotFound")


# function -> (why nvidia-ml-py differs, the exact difference: predicate(ours, ref, record))
KNOWN_DIFFERENCES = {
    "nvmlDeviceGetFieldValues": (
        "nvidia-ml-py returns the c_nvmlFieldValue_t ctypes array it passed to NVML; ours a list "
        "of the same structs", _field_values_array),
    "nvmlDeviceGetProcessUtilization": (
        "nvidia-ml-py requires the size query to answer INSUFFICIENT_SIZE and raises NVMLError(0) "
        "when it succeeds (no samples); ours returns []", _process_utilization_no_samples),
    "nvmlUnitGetDevices": (
        "nvidia-ml-py returns the ctypes array of c_nvmlDevice_t it passed to NVML; ours a list of the "
        "same handles", _field_values_array),
    "nvmlDeviceGetHandleByUUID": (
        "nvidia-ml-py's @convertStrBytes encodes positional str arguments only: uuid='...' reaches "
        "ctypes as str, a TypeError", _keyword_str),
    "nvmlDeviceGetHandleBySerial": ("as nvmlDeviceGetHandleByUUID: a str keyword is a TypeError", _keyword_str),
    "nvmlDeviceGetHandleByPciBusId": ("as nvmlDeviceGetHandleByUUID: a str keyword is a TypeError", _keyword_str),
    "nvmlDeviceGetTopologyNearestGpus": (
        "on a real H100 (driver 580) the size query answers SUCCESS with count 0; nvidia-ml-py then "
        "calls again with count 0 and an empty, non-NULL ctypes array, which NVML rejects with "
        "INVALID_ARGUMENT; ours returns [] after the query.  Seen only once the simulator rejects that "
        "call as NVML does (test_simulator_rejects_zero_count_with_an_array)", _nearest_gpus_zero_count),
    "nvmlDeviceGetHandleByUUIDV": (
        "nvidia-ml-py assigns a str uuid to a c_char array (TypeError) for NVML_UUID_TYPE_ASCII, and "
        "memmoves its UTF-32 bytes for NVML_UUID_TYPE_BINARY (never found); ours encodes a str for "
        "ASCII and takes only bytes-like for BINARY (TypeError)", _uuidv_str),
    "nvmlDeviceGetAccountingStats": (
        "nvidia-ml-py sets stats.maxMemoryUsage = None where NVML says NVML_VALUE_NOT_AVAILABLE: a ctypes "
        "integer field refuses None (TypeError); ours returns the struct, the field holding NVML's value",
        lambda o, r, rec: r["type"] == "exception" and r["class"] == "TypeError" and cmp._holds_not_available(o)),
    "nvmlDeviceGetRunningProcessDetailList": (
        "nvidia-ml-py sets usedGpuMemory = None on the c_nvmlProcessDetail_v1_t where NVML says "
        "NVML_VALUE_NOT_AVAILABLE (TypeError, as above); ours returns the structs with NVML's value",
        lambda o, r, rec: r["type"] == "exception" and r["class"] == "TypeError" and cmp._holds_not_available(o)),
    "nvmlDeviceGetVgpuTypeCreatablePlacements": (
        "for a version other than 1 or 2 nvidia-ml-py makes no placement list and fails with "
        "UnboundLocalError; ours raises NVMLError_ArgumentVersionMismatch, as nvidia-ml-py's "
        "nvmlDeviceGetVgpuTypeSupportedPlacements does.  And 13.610.43's c_nvmlVgpuPlacementList_v1_t "
        "has count before placementSize (each read in the other's place); ours as nvml.h and 13.615.71",
        lambda o, r, rec: _creatable_placements_version(o, r, rec) or cmp._placements_count_first(o, r)),
    "nvmlDeviceGetVgpuTypeSupportedPlacements": (
        "13.610.43's c_nvmlVgpuPlacementList_v1_t has count before placementSize (each read in the other's "
        "place); ours as nvml.h and 13.615.71", lambda o, r, rec: cmp._placements_count_first(o, r)),
    "nvmlVgpuInstanceGetAccountingPids": (
        "nvidia-ml-py requires the size query to answer INSUFFICIENT_SIZE and raises NVMLError(0) when it "
        "succeeds (an instance with no pids); ours returns (c_uint(0), an empty array)",
        lambda o, r, rec: o["type"] == "tuple" and cmp._zero_count(o) and r["type"] == "exception"
        and r["class"] == "NVMLError" and r["value"] == 0),
    "nvmlDeviceGetGpuFabricInfo": (
        "13.610.43's c_nvmlGpuFabricInfo_t has an 80-byte clusterUuid, so its status, cliqueId and state are read "
        "where NVML does not write them; ours has nvml.h's 16 bytes, as nvidia-ml-py 13.615.71 has",
        lambda o, r, rec: cmp._fabric_info_80(o, r)),
    "handle ==": (
        "nvidia-ml-py's handles are ctypes pointers, == by identity: two handles of one GPU are !=; "
        "ours compare (and hash) by the device", _handle_identity),
}


def rich_profile(default_profile):
    """Data for every function on both GPUs, and the cases nvidia-ml-py handles its own way."""
    prof = copy.deepcopy(default_profile)
    for dev, d in enumerate(prof["devices"]):
        for f in DEVICE_FUNCS:
            if f.pyname != "nvmlDeviceGetIndex" and not success_paths(f, d.get(simkey(f))):
                d[simkey(f)] = synth_node(f, dev, len(prof["devices"]))
        d["nvmlDeviceGetRetiredPages"] = {"0": ["4096", "8192"], "1": []}
        d["nvmlDeviceGetRetiredPages_v2"] = {"0": [["4096", "8192"], [1700000000, 1700000001]], "1": [[], []]}
        d["nvmlDeviceGetProcessUtilization"] = {
            "0": [{"pid": 4242, "timeStamp": 1700000000000000 + i, "smUtil": 10 + i, "memUtil": 5,
                   "encUtil": 0, "decUtil": 0} for i in range(3)],
            "1": [],                                  # no samples: the size query succeeds
            "2": {"error": "NVML_ERROR_NOT_FOUND"}}
        # nvidia-ml-py's vGPU placement calls allocate and zero room for this many ids: a
        # synthesized 2**32 - 2 would be 16 GiB a call
        d["nvmlVgpuTypeGetMaxInstances"] = {"3": 4}
        d["nvmlDeviceGetGraphicsRunningProcesses_v3"] = [
            {"pid": 7, "usedGpuMemory": str(2**64 - 1), "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF}]
        # hand-shaped data (sim/entry_points_getters.c); NVML_VALUE_NOT_AVAILABLE where nvidia-ml-py trips
        na = str(2**64 - 1)
        stats = {"gpuUtilization": 40 + dev, "memoryUtilization": 7, "maxMemoryUsage": 1 << 30, "time": 5000,
                 "startTime": 1700000000000000, "isRunning": 1}
        d["nvmlDeviceGetAccountingStats"] = {"0": stats, "1": dict(stats, maxMemoryUsage=na),
                                             "2": {"error": "NVML_ERROR_NOT_FOUND"}}
        d["nvmlDeviceGetAccountingStats_v2"] = {"0": dict(stats, sampleCount=9, sumGpuUtil=360, sumFbUtil=63),
                                                "1": {"error": "NVML_ERROR_NOT_FOUND"}}
        proc = {"pid": 4242, "usedGpuMemory": 1 << 33, "gpuInstanceId": 0xFFFFFFFF,
                "computeInstanceId": 0xFFFFFFFF, "usedGpuCcProtectedMemory": 0}
        d["nvmlDeviceGetRunningProcessDetailList"] = {"0": [proc, dict(proc, pid=7, usedGpuMemory=na)], "1": [],
                                                      "2": [dict(proc, pid=99)]}
        # the caller's structs, filled (nvidia-ml-py's through byref): layouts must agree
        d["nvmlDeviceGetGpuFabricInfo"] = {"clusterUuid": list(range(16)), "status": 0, "state": 3}
        d["nvmlDeviceGetGpuFabricInfoV"] = {"clusterUuid": list(range(200, 216)), "status": 0, "cliqueId": 7,
                                            "state": 3, "healthMask": 9, "healthSummary": 1}
        d["nvmlDeviceGetPlatformInfo"] = {"ibGuid": "guid", "chassisSerialNumber": "1655822000123", "slotNumber": 4,
                                          "trayIndex": 2, "hostId": 1, "peerType": 0, "moduleId": 3 + dev}
        d["nvmlDeviceGetNvLinkInfo"] = {"isNvleEnabled": 1, "firmwareInfo": {"numValidEntries": 2, "firmwareVersion": [
            {"ucodeType": 1, "major": 3, "minor": 2, "subMinor": 1}, {"ucodeType": 2, "major": 9}]}}
        d["nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts"] = {"entryCount": 4}
        d["nvmlDeviceGetCapabilities"] = {"capMask": 1}
        d["nvmlDeviceGetProcessesUtilizationInfo"] = [
            {"timeStamp": 2 * i + 1, "pid": 4242 + i, "smUtil": 10 * i, "memUtil": 3, "encUtil": 0, "decUtil": 0,
             "jpgUtil": 0, "ofaUtil": 0} for i in range(3)]
    # the confidential-computing attestation report (nvidia-ml-py passes the nonce in it) and
    # an excluded GPU: answered on no other profile
    for dev, d in enumerate(prof["devices"]):
        d["nvmlDeviceGetConfComputeGpuAttestationReport"] = {
            "isCecAttestationReportPresent": dev, "attestationReportSize": 4, "cecAttestationReportSize": 2 * dev,
            "attestationReport": [0x11, 0x22, 0x33, 0x44 + dev], "cecAttestationReport": [7, 9][:2 * dev]}
    prof["system"]["nvmlGetExcludedDeviceCount"] = 1
    prof["system"]["nvmlGetExcludedDeviceInfoByIndex"] = {"0": {
        "pci": {"busIdLegacy": "0000:C1:00.0", "domain": 0, "bus": 0xC1, "device": 0, "pciDeviceId": 0x233110DE,
                "pciSubSystemId": 0x16C110DE, "busId": "00000000:C1:00.0"},
        "uuid": "GPU-3a1c2b4d-0000-4000-8000-00000000e0c1"}}
    prof["system"]["nvmlSystemGetCPER_v1"] = {"cursor": {"cperTypeMask": 1, "uuid": "GPU-x", "handle": 77},
                                              "bufferSize": 4096}
    prof["units"] = [UNIT, {"nvmlUnitGetDevices": [], "nvmlUnitGetUnitInfo": {"error": "NVML_ERROR_NO_PERMISSION"}}]
    return prof


# An S-class unit holding both GPUs (the default profile has none, as an H100 server).
UNIT = {"nvmlUnitGetUnitInfo": {"name": "S2075", "id": "0324109000012", "serial": "0324109000012",
                                "firmwareVersion": "6.1"},
        "nvmlUnitGetLedState": {"cause": "", "color": 0},
        "nvmlUnitGetPsuInfo": {"state": "Normal", "current": 11, "voltage": 12, "power": 132},
        "nvmlUnitGetTemperature": {"0": 28, "1": 41, "2": 55},
        "nvmlUnitGetFanSpeedInfo": {"fans": [{"speed": 6800, "state": 0}, {"speed": 6750, "state": 1}], "count": 2},
        "nvmlUnitGetDevices": [0, 1]}


def _drain(ref):
    """No init left anywhere: ours, and the simulated library's own refcount (shared with ref)."""
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()
    for _ in range(100):
        try:
            ref.nvmlShutdown()
        except ref.NVMLError_Uninitialized:
            break


def make_mig_instances():
    """MIG devices on the MIG profile's GPU (simulated: creating them is no getter's job, the
    tool only reads): a 1g.10gb GPU instance with one compute instance, and a 3g.40gb one
    with two, so that the MIG getters answer with ids and handles."""
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    for gi_profile, ci_profiles in ((pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE, [0]),
                                    (pynvml.NVML_GPU_INSTANCE_PROFILE_3_SLICE, [0, 0])):
        gi = pynvml.nvmlDeviceCreateGpuInstance(h, pynvml.nvmlDeviceGetGpuInstanceProfileInfo(h, gi_profile).id)
        for ci_profile in ci_profiles:
            ci_id = pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(
                gi, ci_profile, pynvml.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED).id
            pynvml.nvmlGpuInstanceCreateComputeInstance(gi, ci_id)


def _run(ref, profile, tmp_path_factory, prepare=None):
    path = tmp_path_factory.mktemp("profile") / "profile.json"
    path.write_text(json.dumps(profile))
    old = os.environ.get("PYNVML_SIM_PROFILE")
    _drain(ref)
    os.environ["PYNVML_SIM_PROFILE"] = str(path)
    try:
        pynvml.nvmlInit()
        ref.nvmlInit()
        assert pynvml.nvmlDeviceGetCount() == len(profile["devices"])
        if prepare:
            prepare()
        return cmp.run_comparison(pynvml, ref)
    finally:
        _drain(ref)
        if old is None:
            os.environ.pop("PYNVML_SIM_PROFILE", None)
        else:
            os.environ["PYNVML_SIM_PROFILE"] = old


@pytest.fixture(scope="module")
def records(ref, tmp_path_factory):
    base = json.loads((ROOT / "sim" / "profiles" / "default.json").read_text())
    out = {}
    for label, prof in (("default", base), ("rich", rich_profile(base))):
        out[label] = _run(ref, prof, tmp_path_factory)
    # the built-in profiles where the vGPU and MIG getters answer (the H100's have no vGPU
    # and no MIG instance): so that each function is compared on a value at least once
    for label, name in VALUE_PROFILES.items():
        out[label] = _run(ref, json.loads((ROOT / "sim" / "profiles" / name).read_text()), tmp_path_factory,
                          make_mig_instances if label == "mig" else None)
    return out


VALUE_PROFILES = {"vgpu": "vgpu-host.json", "mig": "h100-mig.json"}


OUR_GETTERS = sorted(n for n in dir(pynvml) if n.startswith("nvml") and cmp.is_compared(n, getattr(pynvml, n))
                     and callable(getattr(pynvml, n)) and not isinstance(getattr(pynvml, n), type))


@pytest.mark.simulator
@pytest.mark.parametrize("profile", ["default", "rich"])
@pytest.mark.parametrize("name", OUR_GETTERS + ["handle =="])
def test_ours_agrees_with_nvidia_ml_py(name, profile, records, ref):
    if name != "handle ==" and not callable(getattr(ref, name, None)):
        pytest.skip(f"nvidia-ml-py has no {name}")
    recs = [r for r in records[profile] if r["function"] == name]
    if not recs and profile == "default" and "unit" in inspect.signature(getattr(pynvml, name)).parameters:
        pytest.skip("the default profile has no units (as an H100 server): compared on the rich one")
    if not recs and any((name, p) in cmp.CHAINED for p in inspect.signature(getattr(pynvml, name)).parameters):
        assert any(r["function"] == name for r in records["vgpu"])
        pytest.skip("its arguments come from vGPU instances, which only the vGPU host profile has")
    assert recs, f"no call of {name} was compared"
    if name.startswith("nvmlDevice") and name != "nvmlDeviceGetCount" and "HandleBy" not in name:
        assert {c for r in recs for c in re.findall(r"dev(\d)", r["call"])} >= {"0", "1"}, "both GPUs"
    bad = []
    for r in recs:
        if r["status"] == "agree":
            continue
        known = KNOWN_DIFFERENCES.get(name)
        if known is None or not known[1](r["ours"], r["reference"], r):
            bad.append((r["call"], r["reason"], r["ours"], r["reference"]))
        else:
            assert r["status"] == "known", ("the tool should know this one too", r)
    assert bad == [], "\n".join(f"{c}: {why}\n  ours {o}\n  ref  {x}" for c, why, o, x in bad)


@pytest.mark.simulator
def test_every_known_difference_still_occurs(records):
    """Each entry of KNOWN_DIFFERENCES is seen: none stays listed after it stopped being true."""
    seen = {r["function"] for rs in records.values() for r in rs if r["status"] != "agree"}
    assert seen <= set(KNOWN_DIFFERENCES)
    assert set(KNOWN_DIFFERENCES) - seen <= {"nvmlDeviceGetTopologyNearestGpus"}   # see its reason


@pytest.mark.simulator
def test_coverage_of_the_comparison(records, ref):
    names = {r["function"] for r in records["default"]}
    ours_and_ref = {f.pyname for f in SPEC.functions if f.python and callable(getattr(ref, f.pyname, None))
                    and f.pyname in OUR_GETTERS}
    takes_unit = {n for n in ours_and_ref if "unit" in inspect.signature(getattr(pynvml, n)).parameters}
    assert ours_and_ref - names == takes_unit       # every getter nvidia-ml-py also has (no units here)
    assert takes_unit <= {r["function"] for r in records["rich"]}
    assert {"nvmlSystemGetDriverVersion", "nvmlSystemGetNVMLVersion", "nvmlSystemGetCudaDriverVersion",
            "nvmlSystemGetCudaDriverVersion_v2", "nvmlDeviceGetCount"} <= names
    calls = {r["call"] for r in records["default"]}
    for c in ("nvmlDeviceGetClock(dev1, 5, 5)", "nvmlDeviceGetMemoryErrorCounter(dev0, 5, 0, 3)",
              "nvmlDeviceGetTopologyCommonAncestor(dev0, dev1)", "nvmlSystemGetProcessName(4242)",
              "nvmlDeviceGetMemoryInfo(dev1, 33554472)", "nvmlDeviceGetTopologyNearestGpus(dev0, 50)"):
        assert c in calls
    # the rich profile reaches success on what the default one only answers with errors
    rich = {r["call"]: r for r in records["rich"]}
    for c in ("nvmlDeviceGetFanSpeed(dev0)", "nvmlDeviceGetRetiredPages_v2(dev1, 0)",
              "nvmlDeviceGetProcessUtilization(dev0, 0)", "nvmlDeviceGetNvLinkCapability(dev1, 3, 3)",
              "nvmlDeviceGetGraphicsRunningProcesses(dev0)",
              # getters family: the caller's structs filled, process details, samples, utilization
              "nvmlDeviceGetGpuFabricInfoV(dev1, <new c_nvmlGpuFabricInfo_v3_t>)",
              "nvmlDeviceGetPlatformInfo(dev1, <new c_nvmlPlatformInfo_v2_t>)",
              "nvmlDeviceGetNvLinkInfo(dev0, <new c_nvmlNvLinkInfo_v2_t>)",
              "nvmlDeviceGetCapabilities(dev0, <new c_nvmlDeviceCapabilities_v1_t>)",
              "nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts(dev1, <new c_nvmlEccSramUniqueUncorrectedErrorCounts_v1_t>)",
              "nvmlSystemGetCPER_v1(<new c_nvmlGetCPER_v1_t>)",
              "nvmlDeviceGetPciInfoExt(dev1, <new nvmlPciInfoExt_v1_t, version=nvmlPciInfoExt_v1>)",
              "nvmlDeviceGetRunningProcessDetailList(dev0, 16777240, 2)",
              "nvmlDeviceGetProcessesUtilizationInfo(dev1, 2)", "nvmlDeviceGetAccountingStats_v2(dev0, 0)",
              "nvmlDeviceGetSamples(dev1, 0, 0)", "nvmlDeviceGetThermalSettings(dev0, 3)",
              "nvmlDeviceGetConfComputeGpuCertificate(dev1)", "nvmlDeviceGetBridgeChipInfo(dev0)"):
        assert rich[c]["ours"]["type"] != "exception" and rich[c]["status"] == "agree", rich[c]
    gp = rich["nvmlDeviceGetGraphicsRunningProcesses(dev0)"]["ours"]
    assert gp["items"][0]["items"]["usedGpuMemory"] == {"type": "NoneType", "value": None}


@pytest.mark.simulator
def test_simulator_rejects_zero_count_with_an_array():
    """As NVML of driver 580 on an H100 does (ctypes probe on the GPU machine):
    nvmlDeviceGetTopologyNearestGpus(dev, level, &count=0, NULL) -> SUCCESS, count 0, but
    (&count=0, non-NULL array) -> INVALID_ARGUMENT, and (&count=4, array) -> SUCCESS, count 0.
    nvidia-ml-py makes that second call, so on a real GPU it raises where the simulator lets
    it return []."""
    lib = ctypes.CDLL(str(SIM_LIBRARY))
    assert lib.nvmlInit_v2() == 0
    try:
        h = ctypes.c_void_p()
        assert lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(h)) == 0
        arr = (ctypes.c_void_p * 4)()
        n = ctypes.c_uint(0)
        assert lib.nvmlDeviceGetTopologyNearestGpus(h, 0, ctypes.byref(n), None) == 0 and n.value == 0
        n = ctypes.c_uint(4)
        assert lib.nvmlDeviceGetTopologyNearestGpus(h, 0, ctypes.byref(n), arr) == 0 and n.value == 0
        n = ctypes.c_uint(0)
        assert lib.nvmlDeviceGetTopologyNearestGpus(h, 0, ctypes.byref(n), arr) == 2     # INVALID_ARGUMENT
    finally:
        lib.nvmlShutdown()


def test_tool_classifies_parameters_as_the_spec_declares():
    for f in SPEC.functions:
        if not f.python or not cmp.is_compared(f.pyname, getattr(pynvml, f.pyname)):
            continue
        fn = getattr(pynvml, f.pyname)
        params = list(inspect.signature(fn).parameters.values())
        kinds = [cmp.param_kind(f.pyname, p) for p in params]
        spec_kinds = {p.name: p.type for p in f.inputs}
        for p, k in zip(params, kinds):
            t = spec_kinds.get(p.name)
            if t is None:   # a hand-written wrapper's own arguments (pyargs=; the MIG profile infos' version)
                assert k in ("version", "fieldids", "systemeventset", "eventdata", "int", "optional", "str", "ctypesout",
                             "nonce"), \
                    (f.pyname, p.name, k)
            elif t.kind == "handle":
                assert k == {"Device": "device", "Unit": "unit", "EventSet": "eventset", "GpmSample": "gpmsample",
                             "SystemEventSet": "systemeventset"}[t.base], (f.pyname, p.name)
            elif t.kind == "struct":
                assert k == "struct", (f.pyname, p.name)
            elif t.kind == "str":
                assert k == "str", (f.pyname, p.name)
            else:
                assert t.kind == "scalar" and k == "int", (f.pyname, p.name, k)


def test_tool_calls_getters_only(reference_data):
    api = json.loads((reference_data / "nvidia-ml-py-api.json").read_text())["functions"]
    verbs = re.compile(r"Set|Reset|Clear|Create|Destroy|Register|Remove|Drain|Freeze|Modify|Discover|"
                       r"Validate|Flush|Restore")
    chosen = [n for n in api if cmp.is_read_only(n)]
    # getters whose names hold such a verb (Set-tings, Gpu-Set, Flush-Time) are listed by name
    assert not [n for n in chosen if verbs.search(n) and n not in cmp.READ_ONLY_EXTRA]
    assert all("Get" in n for n in chosen
               if n not in ("nvmlErrorString", "nvmlDeviceIsMigDeviceHandle", "nvmlDeviceOnSameBoard"))
    for n in ("nvmlDeviceSetPersistenceMode", "nvmlDeviceClearEccErrorCounts", "nvmlDeviceResetGpuLockedClocks",
              "nvmlEventSetCreate", "nvmlEventSetWait_v2", "nvmlDeviceRegisterEvents", "nvmlInit", "nvmlShutdown",
              "nvmlDeviceCreateGpuInstance", "nvmlDeviceModifyDrainState", "nvmlDeviceDiscoverGpus"):
        assert not cmp.is_read_only(n), n
    # every getter of ours is compared (but those filling a GPM sample or metrics struct, see the tool)
    assert {f.pyname for f in SPEC.functions if f.python and "Get" in f.pyname
            and not cmp.takes_pointers(f.pyname, getattr(pynvml, f.pyname))} - cmp.FILLS_CALLER_OBJECTS \
        <= set(OUR_GETTERS)
    assert not cmp.FILLS_CALLER_OBJECTS & set(OUR_GETTERS)
    # MIG instance handles and the caller's ctypes buffers are never made up from ints
    for n in ("nvmlGpuInstanceGetInfo", "nvmlDeviceGetGpuInstances", "nvmlComputeInstanceGetInfo",
              "nvmlGpuInstanceGetComputeInstanceProfileInfo", "nvmlDeviceGetGpuInstancePossiblePlacements"):
        if hasattr(pynvml, n):
            assert n not in OUR_GETTERS and cmp.takes_pointers(n, getattr(pynvml, n)), n
    assert "nvmlDeviceIsMigDeviceHandle" in OUR_GETTERS


def test_tool_comparison_rules():
    i = lambda v: {"type": "int", "value": v}  # noqa: E731
    assert cmp.compare(i(100), i(100)) == []
    assert cmp.compare(i(100), i(105)) != []                                  # exact by default
    assert cmp.compare(i(100), i(105), volatile=True) == []                   # within tolerance
    assert cmp.compare(i(100), i(200), volatile=True) != []
    assert cmp.compare(i(100), i(105), volatile=True, exact=True) != []
    assert cmp.compare(i(10**15), i(10**15 + 30), path=".timestamp") == []     # a timestamp field
    assert cmp.compare(i(300), i(1), path="[3].latencyUsec") == []             # not compared
    assert cmp.compare(i(300), i(1), path="[3].latencyUsec", exact=True) != []
    assert cmp.compare(i(728), i(638), volatile=True, tol=cmp.tolerance_of("nvmlDeviceGetPcieThroughput")) == []
    lst = {"type": "list", "items": [i(1)]}
    assert cmp.compare(lst, dict(lst, type="tuple")) != []                    # list vs tuple
    s = lambda cls, fields, **v: {"type": "struct", "class": cls, "fields": fields,  # noqa: E731
                                  "values": {k: i(x) for k, x in v.items()}}
    assert cmp.compare(s("A", ["x"], x=1), s("A", ["x"], x=1)) == []
    assert cmp.compare(s("A", ["x"], x=1), s("B", ["x"], x=1)) != []
    assert cmp.compare(s("A", ["x", "y"], x=1, y=2), s("A", ["y", "x"], x=1, y=2)) != []
    e = lambda c: {"type": "exception", "class": c, "value": None}  # noqa: E731
    assert cmp.compare(e("NVMLError_NotSupported"), e("NVMLError_NotSupported")) == []
    assert cmp.compare(e("NVMLError_NotSupported"), e("NVMLError_NoPermission")) != []
    assert cmp.compare(e("TypeError"), i(0)) != []
    h = lambda n: {"type": "handle", "index": n}  # noqa: E731
    assert cmp.compare(h(0), h(0)) == [] and cmp.compare(h(0), h(1)) != []


@pytest.mark.simulator
def test_tool_reports_a_difference(ref, nvml):
    """A wrong result of ours is a DIFF, not an agreement or a known difference."""
    ref.nvmlInit()
    try:
        fake = types.SimpleNamespace(**{n: getattr(pynvml, n) for n in dir(pynvml) if not n.startswith("__")})
        fake.nvmlDeviceGetName = lambda handle: "not an H100"
        fake.nvmlDeviceGetEccMode = lambda handle: tuple(pynvml.nvmlDeviceGetEccMode(handle))
        recs = cmp.run_comparison(fake, ref, only={"nvmlDeviceGetName", "nvmlDeviceGetEccMode", "nvmlDeviceGetBrand"})
    finally:
        ref.nvmlShutdown()
    by = {r["call"]: r for r in recs}
    assert by["nvmlDeviceGetName(dev0)"]["status"] == "diff"
    assert "not an H100" in by["nvmlDeviceGetName(dev0)"]["reason"]
    assert by["nvmlDeviceGetEccMode(dev1)"]["status"] == "diff" and "tuple" in by["nvmlDeviceGetEccMode(dev1)"]["reason"]
    assert by["nvmlDeviceGetBrand(dev1)"]["status"] == "agree"
    s = cmp.summarize(recs)
    assert s["unexplained"] == 4 and s["known"] == 1 and s["agreed"] == s["compared"] - 5   # 1: handle ==


SUMMARY = re.compile(r"compared (\d+) calls of (\d+) functions: (\d+) agreed, (\d+) differed "
                     r"\((\d+) known nvidia-ml-py behaviour, (\d+) unexplained\)")


@pytest.mark.parametrize("profile", ["default", "rich"])
def test_tool_runs_standalone_on_the_simulator(profile, tmp_path, default_profile):
    if not REF_MODULE.exists():
        pytest.skip("nvidia-ml-py is not in .ref/ (make ref)")
    if not SIM_LIBRARY.exists():
        pytest.skip("the simulated NVML was not built")
    env = dict(os.environ, PYNVML_LIBRARY="sim")
    env.pop("PYNVML_SIM_PROFILE", None)
    if profile == "rich":
        (tmp_path / "rich.json").write_text(json.dumps(rich_profile(default_profile)))
        env["PYNVML_SIM_PROFILE"] = str(tmp_path / "rich.json")
    out = tmp_path / "compare.json"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "compare_with_nvidia_ml_py.py"),
                        "--reference", str(REF_MODULE), "--json", str(out), "--verbose"],
                       capture_output=True, text=True, env=env, timeout=300, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    m = SUMMARY.search(r.stdout)
    assert m, r.stdout[-2000:]
    compared, functions, agreed, differed, known, unexplained = map(int, m.groups())
    assert compared > 1000 and functions > 90 and unexplained == 0
    assert agreed + differed == compared and known == differed
    lines = r.stdout.splitlines()
    assert sum(ln.startswith("AGREE ") for ln in lines) == agreed
    assert sum(ln.startswith("DIFF ") for ln in lines) == differed
    data = json.loads(out.read_text())
    assert data["summary"]["compared"] == compared and len(data["calls"]) == compared
    assert data["library"].endswith("libnvidia-ml.so.1") and "_sim" in data["library"]
    for d in data["summary"]["differences"]:
        assert d["function"] in KNOWN_DIFFERENCES and d["status"] == "known"
        assert d["function"] in r.stdout


def test_tool_refuses_a_reference_that_is_not_nvidia_ml_py(tmp_path):
    env = dict(os.environ, PYNVML_LIBRARY="sim")
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "compare_with_nvidia_ml_py.py"),
                        "--reference", str(tmp_path / "nothing.py")], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 2 and "not found" in r.stderr
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "compare_with_nvidia_ml_py.py"),
                        "--reference", pynvml.__file__], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and "is ours" in r.stderr


def test_tool_finds_the_reference(tmp_path, monkeypatch):
    found = cmp.find_reference()
    local = ROOT / ".ref" / "nvidia-ml-py" / "pynvml.py"
    if os.environ.get("PYNVML_REFERENCE"):
        assert found == Path(os.environ["PYNVML_REFERENCE"])
    elif local.exists():
        assert found == local
    if found is not None:           # never ours (a package): a single-file pynvml.py
        assert found.name == "pynvml.py" and found.is_file()
    (tmp_path / "pynvml.py").write_text("")
    assert cmp.find_reference(str(tmp_path)) == tmp_path / "pynvml.py"
    assert cmp.find_reference(str(tmp_path / "pynvml.py")) == tmp_path / "pynvml.py"
    monkeypatch.setenv("PYNVML_REFERENCE", str(tmp_path))
    assert cmp.find_reference() == tmp_path / "pynvml.py"


@pytest.mark.simulator
def test_zz_summary(records, capsys):
    """The differential run in numbers (printed with the test output)."""
    total = sum(len(v) for v in records.values())
    parts = []
    for label, recs in records.items():
        s = cmp.summarize(recs)
        parts.append(f"{label} profile: {s['compared']} calls of {s['functions']} functions, {s['agreed']} agreed "
                      f"({s['values']} on a value, {s['errors']} on the same exception), {s['known']} known nvidia-ml-py differences, {s['unexplained']} unexplained")
        assert s["unexplained"] == 0
    with capsys.disabled():
        print(f"\n[reference diff] {total} calls compared with nvidia-ml-py 13.610.43 on the simulator; "
              + "; ".join(parts))
        kinds = sorted({r["function"] for rs in records.values() for r in rs if r["status"] == "known"})
        print(f"[reference diff] known differences in: {', '.join(kinds)}")


# Functions no profile here compares on a value (only exceptions of one class), and why.
# The tool takes the vGPU type and instance ids, MIG device handles and struct arguments
# from what the GPUs answer (tools/compare_with_nvidia_ml_py.py: device_facts, CHAINED),
# the MIG profile gets instances (make_mig_instances) and the profiles have data for every
# other getter; these are what is left.
NEVER_A_VALUE = {
    "handle ==": "compares two handles (an == of the tool's, not a call)",
    "nvmlDeviceGetGpuFabricInfo": (
        "nvidia-ml-py 13.610.43's c_nvmlGpuFabricInfo_t is wrong (an 80-byte clusterUuid): every answer "
        "is a known difference; tests/test_family_615.py compares it with 13.615.71, whose struct is right"),
}

# For each profile, the functions compared on a value there (the test below fails when one
# stops being compared so; PYNVML_UPDATE_VALUE_LIST=1 rewrites the file after a change that
# is meant).
VALUE_LIST = ROOT / "tests" / "data" / "reference_diff_values.json"


@pytest.mark.simulator
def test_value_comparisons_are_counted(records, capsys):
    """An agreement on NVMLError_NotSupported against NVMLError_NotSupported says little:
    the summary counts the agreements on a value apart, and they stay above a floor; on
    the rich profile every function is compared on a value at least once."""
    for label, floor in VALUE_FLOORS.items():
        s = cmp.summarize(records[label])
        with capsys.disabled():
            print(f"\n[{label}] " + cmp.format_summary(s).splitlines()[1])
        assert s["values"] - s["values_known"] + s["errors"] == s["agreed"]
        assert s["values"] >= floor, (label, s["values"])
    every = [r for rs in records.values() for r in rs]
    on_value = {r["function"] for r in every if cmp.on_value(r)}
    never = {r["function"] for r in every} - on_value
    with capsys.disabled():
        print(f"[all profiles] {len(on_value)} of {len(on_value | never)} functions compared on a value")
    assert never == set(NEVER_A_VALUE), " ".join(sorted(never))


VALUE_FLOORS = {"default": 570, "rich": 720, "vgpu": 505, "mig": 315}   # measured: 572, 726, 511, 321


@pytest.mark.simulator
def test_no_getter_stops_being_compared_on_a_value(records):
    """Each function compared on a value on a profile (tests/data/reference_diff_values.json)
    still is: a change to the tool, a profile or ours that turns its answers into errors (or
    stops calling it) fails here, by name, even where the totals stay above their floors."""
    now = {label: sorted({r["function"] for r in recs if cmp.on_value(r)}) for label, recs in records.items()}
    if os.environ.get("PYNVML_UPDATE_VALUE_LIST") == "1":
        VALUE_LIST.write_text(json.dumps(now, indent=1) + "\n")
    listed = json.loads(VALUE_LIST.read_text())
    assert set(listed) == set(now)
    lost = {label: sorted(set(fns) - set(now[label])) for label, fns in listed.items() if set(fns) - set(now[label])}
    assert not lost, f"no longer compared on a value: {lost}"
    # and the list is kept current, so that what is compared today is guarded tomorrow
    new = {label: sorted(set(fns) - set(listed[label])) for label, fns in now.items() if set(fns) - set(listed[label])}
    assert not new, f"compared on a value but not listed (PYNVML_UPDATE_VALUE_LIST=1): {new}"
