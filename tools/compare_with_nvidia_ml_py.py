#!/usr/bin/env python3
"""Call every getter that both pynvml (ours) and nvidia-ml-py have, with the same
arguments, on whatever NVML is loaded, and compare what each returns.

    python tools/compare_with_nvidia_ml_py.py [--reference PATH] [--json OUT] [--verbose]
                                              [--only NAME ...] [--exact]

Ours is imported as `pynvml` (so PYTHONPATH / PYNVML_LIBRARY choose which one and which
NVML); nvidia-ml-py's single-file pynvml.py is loaded from --reference under another
module name and handed the very library ours loaded (its `nvmlLib` preset), so both
talk to one NVML: the real libnvidia-ml.so.1 on a GPU machine, or the simulated one
with PYNVML_LIBRARY=sim.  Without --reference the script takes $PYNVML_REFERENCE, or
.ref/nvidia-ml-py/pynvml.py (make ref) if present, else the first pynvml.py found on sys.path (also on the path
that Python has without PYTHONPATH, where ours usually is on a GPU machine).

Only getters are called: a function must have `Get` in its name and none of the verbs
that change state (MUTATING below); nvmlErrorString is the one exception.  Nor are those
that take a MIG instance handle or the caller's ctypes buffers (POINTER_PARAMS).  Arguments:
each device handle, the ints 0..5 for every integer parameter (every combination), a
few extra values where a parameter has meaningful ones (topology levels, pids, field
ids, a version's default), and what the GPUs answer: for the handle lookups the
identifiers the devices report, for the vGPU getters the vGPU type ids and instances
(and their accounted pids) the devices list, for the MIG getters the MIG device handles,
for nvmlGetVgpuCompatibility the metadata structs each library's own getters return.

A getter that fills the caller's struct (FILLED_STRUCTS) is called with a new object of
that class for each library (nvidia-ml-py's through ctypes.byref, as its callers pass it)
and compared as [result, the object after the call]; nvidia-ml-py's optional output
objects (OPTIONAL_OUTPUTS: a c_uint(), a struct it would write into) are left out.

Results are compared by value and by shape: int, float, str, None, list, tuple, dict;
structs field by field (by their _fields_ names, and their class name; an array field
as a list, a u8[N] field as bytes, which ours reads it as, a pointer field as its address
or None); a sample's value union as the member its value type names; nvmlFriendlyObject
by its __dict__; a device handle by nvmlDeviceGetIndex of it; an exception by its class
name.  Values that change by themselves (temperatures, power, clocks, utilization,
energy, timestamps, fans, throughput, violation times, PCIe counters) are compared within
a tolerance (10% or 10 units; 50% for PCIe throughput (or 10 MB/s) and utilization; a field value's
read latency is not compared) unless --exact.  Differences that are known behaviour of
nvidia-ml-py (known_difference below) are counted apart from the rest.

Output: with --verbose one line per call (AGREE, or DIFF with the reason); always a
summary (calls compared, agreed, of the agreements how many on a value rather than on the
same exception, differed, of those known) and a table of differences.
--json OUT writes every call with both results.  Exit status 0 when no difference is
left unexplained, 1 otherwise, 2 when the comparison could not run.
"""
from __future__ import annotations

import argparse
import ctypes
import importlib.util
import inspect
import itertools
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter, OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF_MODULE_NAME = "nvidia_ml_py_reference"

# A name with one of these verbs may change the GPU's state: it is never called.
MUTATING = re.compile(
    r"(Set|Reset|Clear|Create|Destroy|Register|Remove|Drain|Freeze|Modify|Discover|Validate|Flush|"
    r"Restore|Free|Alloc|Wait|Start|Stop|Enable|Disable|Inject|Control|Init|Shutdown|Kill|Trigger|"
    r"Update|Apply|Commit|Attach|Detach|Add|Delete|Release|Lock|Unlock|Pause|Resume|Activate|"
    r"Deactivate|Write|Load|Unload|Force|Issue|Request|Cancel|Begin|End|Submit|Power(?:On|Off)|Migrate)")
READ_ONLY_EXTRA = {"nvmlErrorString", "nvmlDeviceIsMigDeviceHandle", "nvmlDeviceOnSameBoard",
                   # getters whose names hold a verb of MUTATING (Add-ressing, Enable-d, Control,
                   # Set-tings, Gpu-Set, Flush-Time)
                   "nvmlDeviceGetAddressingMode", "nvmlDeviceGetAutoBoostedClocksEnabled",
                   "nvmlDeviceGetNvLinkUtilizationControl", "nvmlDeviceGetThermalSettings",
                   "nvmlSystemGetTopologyGpuSet", "nvmlDeviceGetLastBBXFlushTime",
                   "nvmlDeviceGetFanControlPolicy_v2"}
# "Get" in the name, but they fill an object the caller allocated (a GPM sample, a metrics
# struct holding two samples): not getters of the GPU's state, and not callable without
# nvmlGpmSampleAlloc.  tests/test_family_events.py tests them.
FILLS_CALLER_OBJECTS = {"nvmlGpmSampleGet", "nvmlGpmMigSampleGet", "nvmlGpmMetricsGet",
                        # the caller's struct, filled in place (an int there makes NVML crash, as
                        # on the H100): tests/test_family_setters.py compares them
                        "nvmlDeviceGetClockOffsets", "nvmlDeviceGetPowerMizerMode_v1", "nvmlDeviceGetNvlinkBwMode",
                        "nvmlDeviceGetNvlinkSupportedBwModes", "nvmlDeviceWorkloadPowerProfileGetCurrentProfiles",
                        "nvmlDeviceWorkloadPowerProfileGetProfilesInfo", "nvmlSystemGetConfComputeSettings",
                        # an event set's contexts: the set would have to be created (not read-only);
                        # tests/test_family_615.py compares them
                        "nvmlEventSetGetContextCount_v1", "nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1",
                        "nvmlEventSetGetContextInfo_v1", "nvmlEventSetGetContextData_v1"}

# Parameter names -> kind (nvidia-ml-py's and ours agree on these; see tests/test_reference_diff.py).
DEVICE_PARAMS = {"handle", "device", "device1", "device2", "handle1", "handle2", "migDevice"}
UNIT_PARAMS = {"unit"}           # a unit handle: each unit of nvmlUnitGetHandleByIndex
# Parameters of the functions never called here (they take objects that only state-changing
# calls make), by kind, so that every parameter has one.
OTHER_PARAMS = {"eventSet": "eventset", "gpmSample": "gpmsample", "setHandle": "systemeventset",
                "req": "struct", "metricsGet": "struct", "eventData": "eventdata",
                # structs the setters family's calls take or fill (never called here)
                "control": "struct", "info": "struct", "setBwMode": "struct", "getBwMode": "struct",
                "supportedBwModes": "struct", "settings": "struct",
                "requestedProfiles": "struct", "updateProfiles": "struct", "c_info": "struct",
                "pciInfo": "struct", "currentProfiles": "struct", "profilesInfo": "struct"}
# ctypes objects a caller may pass for NVML to fill (nvmlDeviceGetMinMaxFanSpeed(handle,
# minSpeed=c_uint(), ...)): left to their defaults (an int there is a wild pointer to
# nvidia-ml-py).
CTYPES_OUT_PARAMS = {"minSpeed", "maxSpeed", "minOffset", "maxOffset", "fanControlPolicy"}
# A name that is an int elsewhere: (function, parameter) -> kind.
OTHER_PARAMS_OF = {("nvmlDevicePowerSmoothingSetState", "state"): "struct",
                   ("nvmlDevicePowerSmoothingActivatePresetProfile", "profile"): "struct",
                   ("nvmlDevicePowerSmoothingUpdatePresetProfileParam", "profile"): "struct"}
STR_PARAMS = {"uuid", "serial", "pciBusId"}
# Getters that fill the caller's struct (nvidia-ml-py passes the argument through to NVML:
# a pointer, byref(obj)): called with a new object of this class each (nvidia-ml-py's
# through ctypes.byref), and compared as [result, the object after the call].
FILLED_STRUCTS = {"nvmlDeviceGetPciInfoExt": "nvmlPciInfoExt_v1_t",
                  "nvmlDeviceGetGpuFabricInfo": "c_nvmlGpuFabricInfo_t",
                  "nvmlDeviceGetGpuFabricInfoV": "c_nvmlGpuFabricInfo_v3_t",
                  "nvmlDeviceGetPlatformInfo": "c_nvmlPlatformInfo_v2_t",
                  "nvmlDeviceGetSramEccErrorStatus": "c_nvmlEccSramErrorStatus_v1_t",
                  "nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts": "c_nvmlEccSramUniqueUncorrectedErrorCounts_v1_t",
                  "nvmlDeviceGetCapabilities": "c_nvmlDeviceCapabilities_v1_t",
                  "nvmlDeviceGetRemappedRows_v2": "c_nvmlRemappedRowsInfo_v2_t",
                  "nvmlDeviceGetNvLinkInfo": "c_nvmlNvLinkInfo_v2_t",
                  "nvmlSystemGetCPER_v1": "c_nvmlGetCPER_v1_t",
                  # nvidia-ml-py 13.615.71's
                  "nvmlDeviceGetAdaptiveTgpModeInfo_v1": "c_nvmlAdaptiveTgpModeInfo_v1_t",
                  "nvmlDeviceGetBankRemapperStatus_v1": "c_nvmlEccBankRemapperStatus_v1_t",
                  "nvmlDeviceGetGpuFabricInfo_v4": "c_nvmlGpuFabricInfo_v4_t",
                  "nvmlDevicePerfMetricsGetSamples_v1": "c_nvmlPerfMetricsSamples_v1_t",
                  "nvmlDeviceGetMemoryLimits_v1": "c_nvmlGetMemoryLimits_v1_t",
                  "nvmlDeviceGetNvLinkTelemetrySamples_v1": "c_nvmlNvlinkTelemetrySamples_v1_t"}
# Classes whose new object has no version word (nvidia-ml-py's __init__ sets none): also
# called with it set to this macro, as a caller must.
FILLED_VERSIONS = {"nvmlDeviceGetPciInfoExt": "nvmlPciInfoExt_v1"}
FILLED_PARAMS = {"c_info", "gpuFabricInfo", "platformInfo", "status", "counts", "caps", "info", "cper",
                 "samples", "limits"}
# Of those, the classes nvidia-ml-py passes through byref() itself (the others it hands to
# NVML as given: its callers pass byref(obj)).
CALLEE_BYREF = {"c_nvmlGetCPER_v1_t", "c_nvmlPerfMetricsSamples_v1_t", "c_nvmlGetMemoryLimits_v1_t",
                "c_nvmlNvlinkTelemetrySamples_v1_t"}
# nvidia-ml-py's optional output objects (a c_uint(), a struct, a char buffer it writes
# into instead of its own): never passed, both libraries use their default.
OPTIONAL_OUTPUTS = {"nvmlDeviceGetThermalSettings": {"c_thermalsettings"},
                    "nvmlDeviceGetDynamicPstatesInfo": {"c_dynamicpstatesinfo"},
                    "nvmlDeviceGetMinMaxClockOfPState": {"minClockMHz", "maxClockMHz"},
                    "nvmlDeviceGetClkMonStatus": {"c_clkMonInfo"},
                    "nvmlDeviceGetGspFirmwareMode": {"isEnabled", "defaultMode"},
                    "nvmlDeviceGetGspFirmwareVersion": {"version"},
                    "nvmlDeviceGetModuleId": {"moduleId"}}
INT_VALUES = range(6)
# Arguments taken from what the GPUs answer (device_facts), beside the ints 0..5: the vGPU
# type ids a device supports, the vGPU instances running on it (and their accounted pids),
# so that the vGPU type and instance getters reach their answers, not only their errors.
FACT_INTS = {"vgpuTypeId": "vgpu_types", "vgpuInstance": "vgpu_instances"}
# Getters whose device argument may also be a MIG device handle (each one that
# nvmlDeviceGetMigDeviceHandleByIndex gives on a GPU in MIG mode, asked anew for each library).
MIG_HANDLE_FUNCS = {"nvmlDeviceGetComputeInstanceId", "nvmlDeviceGetGpuInstanceId",
                    "nvmlDeviceGetDeviceHandleFromMigDeviceHandle", "nvmlDeviceIsMigDeviceHandle"}
# Struct arguments made by an earlier getter of the same library: (function, parameter) ->
# (the getter, the fact whose values are its argument: a device index or a vGPU instance).
CHAINED = {("nvmlGetVgpuCompatibility", "vgpuMetadata"): ("nvmlVgpuInstanceGetMetadata", "vgpu_instances"),
           ("nvmlGetVgpuCompatibility", "pgpuMetadata"): ("nvmlDeviceGetVgpuMetadata", "devices")}
# A nonce for the attestation report (NVML takes 32 bytes; nvidia-ml-py copies len(c_nonce)).
NONCES = {"c_nonce": [bytes(range(32))]}

# Values that change between two calls made a moment apart.
VOLATILE_FUNCTIONS = re.compile(
    r"Temperature(?!Threshold)|PowerUsage|Energy|ClockInfo|GetClock$|Utilization|FanSpeed|"
    r"PcieThroughput|PcieReplayCounter|ViolationStatus|MemoryInfo|RunningProcesses|PerformanceState|"
    r"PowerState|ClocksEventReasons|ClocksThrottleReasons|FieldValues|EnforcedPowerLimit|GetSamples|"
    r"ThermalSettings")
# Pointer fields that point to an array of `count` unsigned ints NVML filled (the caller's
# buffer): compared by those ints, not by the buffer's address.
POINTED_ARRAYS = {"placementIds": "count"}
VALUE_MEMBERS = ["dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal"]   # by NVML_VALUE_TYPE_*
VOLATILE_FIELDS = re.compile(r"(?i)timestamp|referenceTime|violationTime")
# How long NVML took to read a field value: says nothing about the value (types compared only).
IGNORED_FIELDS = re.compile(r"\.latencyUsec$")
REL_TOL, ABS_TOL = 0.10, 10
# Looser where a value is an average over a short window (PCIe KB/s over 20 ms, utilization %).
# An idle GPU's PCIe traffic is bursts of driver housekeeping: two 20 ms windows a moment
# apart read 696 and 2321 KB/s on the H200 (2026-11-28), so 10 MB/s either way.
TOLERANCES = [(re.compile(r"PcieThroughput"), 0.5, 10000), (re.compile(r"Utilization"), 0.5, 25)]


# --- loading ---------------------------------------------------------------------------------

def find_reference(explicit: str | None = None) -> Path | None:
    """nvidia-ml-py's pynvml.py: --reference, $PYNVML_REFERENCE, .ref/ (make ref), or a
    pynvml.py on sys.path."""
    explicit = explicit or os.environ.get("PYNVML_REFERENCE")
    if explicit:
        p = Path(explicit)
        return p / "pynvml.py" if p.is_dir() else p
    local = ROOT / ".ref" / "nvidia-ml-py" / "pynvml.py"
    if local.exists():
        return local
    paths = list(sys.path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:   # the path this Python has without PYTHONPATH (ours is often put first through it)
        out = subprocess.run([sys.executable, "-c", "import sys, json; print(json.dumps(sys.path))"],
                             capture_output=True, text=True, env=env, cwd="/", timeout=60)
        paths += json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    for entry in paths:
        candidate = Path(entry or ".") / "pynvml.py"   # ours is a package, pynvml/__init__.py
        if candidate.is_file():
            return candidate
    return None


def load_reference(path: Path, library_path: str | None):
    """Import nvidia-ml-py from `path` as REF_MODULE_NAME, bound to `library_path`."""
    spec = importlib.util.spec_from_file_location(REF_MODULE_NAME, str(path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[REF_MODULE_NAME] = mod      # it looks itself up in sys.modules while loading
    spec.loader.exec_module(mod)
    if library_path:
        # Its loader opens a library only while nvmlLib is None: give it the one ours uses.
        mod.nvmlLib = ctypes.CDLL(library_path)
    return mod


def library_path_of(ours) -> str:
    try:
        p = ours._nvml._library_path()
    except AttributeError:
        p = None
    return p or "libnvidia-ml.so.1"


# --- which functions, which arguments --------------------------------------------------------

def is_read_only(name: str) -> bool:
    if name in READ_ONLY_EXTRA:
        return True
    if name in FILLS_CALLER_OBJECTS:
        return False
    return name.startswith("nvml") and "Get" in name and MUTATING.search(name) is None


# Arguments nvidia-ml-py hands to NVML as pointers, unchecked: a MIG instance handle, the
# caller's ctypes array or count (…Ref), a struct of the caller's (c_…).  An int there is a
# wild pointer, so such functions are never called (the MIG family's tests compare them).
POINTER_PARAMS = re.compile(r"^(gpuInstance|computeInstance)$|Ref$|^c_")


def takes_pointers(name: str, fn) -> bool:
    if name.startswith(("nvmlGpuInstance", "nvmlComputeInstance")):   # an instance handle first
        return True
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return any(POINTER_PARAMS.search(p) and not _given_safely(name, p) for p in params)


def _given_safely(name: str, p: str) -> bool:
    """A c_ parameter this tool never fills with an int: a struct it makes (FILLED_STRUCTS),
    an optional output left out (OPTIONAL_OUTPUTS), or the attestation nonce, which
    nvidia-ml-py measures with len() before any ctypes call (an int: TypeError)."""
    return ((name in FILLED_STRUCTS and p in FILLED_PARAMS) or p in OPTIONAL_OUTPUTS.get(name, ())
            or (name, p) == ("nvmlDeviceGetConfComputeGpuAttestationReport", "c_nonce"))


def is_compared(name: str, fn) -> bool:
    """A getter that can be called with the arguments below on both libraries."""
    return is_read_only(name) and not takes_pointers(name, fn)


def param_kind(fname: str, p: inspect.Parameter) -> str:
    """device | unit | int | str | version | fieldids (or an OTHER_PARAMS kind): what a parameter takes."""
    if p.name in DEVICE_PARAMS:
        return "device"
    if p.name in UNIT_PARAMS:
        return "unit"
    if p.name in CTYPES_OUT_PARAMS and p.default is not inspect.Parameter.empty:
        return "ctypesout"
    if (fname, p.name) in OTHER_PARAMS_OF:
        return OTHER_PARAMS_OF[(fname, p.name)]
    if p.name in OTHER_PARAMS:
        return OTHER_PARAMS[p.name]
    if p.name in OPTIONAL_OUTPUTS.get(fname, ()):
        return "optional"
    if fname in FILLED_STRUCTS and p.name in FILLED_PARAMS:
        return "struct"
    if p.name in STR_PARAMS:
        return "str"
    if p.name == "fieldIds":
        return "fieldids"
    if (fname, p.name) in CHAINED:
        return "chained"
    if p.name in NONCES:
        return "nonce"
    if fname == "nvmlDeviceGetMemoryInfo" and p.name == "version":
        return "version"
    return "int"


def common_functions(ours, ref, only=None) -> list[str]:
    names = []
    for n in sorted(dir(ours)):
        if not n.startswith("nvml") or not is_read_only(n):
            continue
        a, b = getattr(ours, n), getattr(ref, n, None)
        if takes_pointers(n, a) or (callable(b) and takes_pointers(n, b)):
            continue
        if not callable(a) or not callable(b) or isinstance(a, type):
            continue
        if only and n not in only:
            continue
        names.append(n)
    return names


class Arg:
    """An argument, made for each library separately (handles differ)."""

    def __init__(self, label, value=None, device=None, unit=None, filled=None, version=None, chain=None):
        self.label, self.value, self.device, self.unit, self.filled = label, value, device, unit, filled
        self.version, self.chain = version, chain
        self.callee_byref = filled in CALLEE_BYREF   # nvidia-ml-py's byref() is its own

    def make(self, handles, units=(), lib=None, filled=None):
        if self.chain is not None:      # (getter, [Arg]): that library's own answer
            fn, args = self.chain
            return getattr(lib, fn)(*[a.make(handles, units, lib, filled) for a in args])
        if self.filled is not None:
            obj = getattr(lib, self.filled)()
            if self.version:
                obj.version = getattr(lib, self.version)
            filled.append(obj)
            # ours takes the object; nvidia-ml-py passes what it is given to NVML as it is
            if getattr(lib, "_nvml", None) is not None or self.callee_byref:
                return obj
            return ctypes.byref(obj)
        if self.unit is not None:
            return units[self.unit]
        return handles[self.device] if self.device is not None else self.value


def device_facts(ours, handles):
    """What the devices report (ours asked): identifiers and pids, for argument values."""
    facts = []
    for h in handles:
        f = {}
        for key, fn in (("uuid", "nvmlDeviceGetUUID"), ("serial", "nvmlDeviceGetSerial")):
            try:
                f[key] = getattr(ours, fn)(h)
            except Exception:  # noqa: BLE001 - a device that lacks it just gives no value
                pass
        try:
            pci = ours.nvmlDeviceGetPciInfo(h)
            f["busId"], f["busIdLegacy"] = pci.busId, pci.busIdLegacy
        except Exception:  # noqa: BLE001
            pass
        pids = set()
        for fn in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            try:
                pids |= {p.pid for p in getattr(ours, fn)(h)}
            except Exception:  # noqa: BLE001
                pass
        f["pids"] = sorted(pids)
        # vGPU types and instances, and MIG devices: arguments of the vGPU and MIG getters
        f["vgpu_types"], f["vgpu_instances"], f["vgpu_pids"], f["mig_devices"] = [], [], [], []
        for key, fn in (("vgpu_types", "nvmlDeviceGetSupportedVgpus"), ("vgpu_instances", "nvmlDeviceGetActiveVgpus")):
            try:
                f[key] = [int(v) for v in getattr(ours, fn)(h)]
            except Exception:  # noqa: BLE001
                pass
        for i in f["vgpu_instances"]:
            try:
                count, pids = ours.nvmlVgpuInstanceGetAccountingPids(i)     # nvidia-ml-py's (c_uint, array)
                f["vgpu_pids"] += [int(p) for p in pids]
            except Exception:  # noqa: BLE001
                pass
        try:
            for i in range(ours.nvmlDeviceGetMaxMigDeviceCount(h)):
                try:
                    ours.nvmlDeviceGetMigDeviceHandleByIndex(h, i)
                    f["mig_devices"].append(i)
                except Exception:  # noqa: BLE001 - no MIG device at this index
                    pass
        except Exception:  # noqa: BLE001 - not MIG-capable
            pass
        facts.append(f)
    return facts


def _fact_values(facts, key):
    return sorted({v for f in facts for v in f.get(key, ())})


def constants(ours, prefix):
    return sorted({v for k, v in vars(ours).items() if k.startswith(prefix) and isinstance(v, int)})


def str_values(pname, facts):
    out = []
    for i, f in enumerate(facts):
        if pname == "uuid" and "uuid" in f:
            out += [f["uuid"], f["uuid"].lower(), f["uuid"].encode()]
        elif pname == "serial" and "serial" in f:
            out += [f["serial"], f["serial"].encode()]
        elif pname == "pciBusId" and "busId" in f:
            out += [f["busId"], f["busId"].lower(), f["busId"].upper(), f["busIdLegacy"], f["busId"].encode()]
    out.append({"uuid": "GPU-00000000-0000-0000-0000-000000000000", "serial": "0",
                "pciBusId": "0000:ff:1f.7"}[pname])
    seen, uniq = set(), []
    for v in out:
        if (type(v), v) not in seen:
            seen.add((type(v), v))
            uniq.append(v)
    return uniq


def plan_calls(ours, name, ndev, facts, nunits=0):
    """[(label, [Arg...], {kw: Arg})] for one function."""
    fn = getattr(ours, name)
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    kinds = [param_kind(name, p) for p in params]
    if not params:
        return [(f"{name}()", [], {})]
    choices = []
    for p, k in zip(params, kinds):
        if k == "device":
            choices.append([Arg(f"dev{i}", device=i) for i in range(ndev)])
            if name in MIG_HANDLE_FUNCS:
                choices[-1] += [Arg(f"mig{d}.{m}", chain=("nvmlDeviceGetMigDeviceHandleByIndex",
                                                          [Arg(f"dev{d}", device=d), Arg(repr(m), m)]))
                                for d, f in enumerate(facts) for m in f.get("mig_devices", ())]
        elif k == "chained":
            fn, key = CHAINED[(name, p.name)]
            srcs = ([Arg(f"dev{i}", device=i) for i in range(ndev)] if key == "devices" else
                    [Arg(repr(v), v) for v in _fact_values(facts, key)])
            choices.append([Arg(f"{fn}({a.label})", chain=(fn, [a])) for a in srcs])
        elif k == "nonce":
            choices.append([Arg(repr(v), v) for v in NONCES[p.name]])
        elif k == "unit":
            choices.append([Arg(f"unit{i}", unit=i) for i in range(nunits)])
        elif k == "struct" and name in FILLED_STRUCTS:
            cls, ver = FILLED_STRUCTS[name], FILLED_VERSIONS.get(name)
            choices.append([Arg(f"<new {cls}>", filled=cls)] +
                           ([Arg(f"<new {cls}, version={ver}>", filled=cls, version=ver)] if ver else []))
        elif k in OTHER_PARAMS.values():
            return []
        elif k in ("optional", "ctypesout"):
            choices.append([Arg("<default>", inspect.Parameter.empty)])
        elif k == "int":
            vals = list(INT_VALUES)
            if name == "nvmlDeviceGetTopologyNearestGpus":
                vals += constants(ours, "NVML_TOPOLOGY_")
            elif name == "nvmlSystemGetProcessName":
                vals += [pid for f in facts for pid in f["pids"]]
            elif name == "nvmlDeviceGetRunningProcessDetailList" and p.name == "version":
                vals += [getattr(ours, "nvmlProcessDetailList_v1", 0x1000018)]
            elif name == "nvmlErrorString":
                vals += constants(ours, "NVML_ERROR_") + [-1, 999]
            elif p.name in FACT_INTS:
                vals += _fact_values(facts, FACT_INTS[p.name])
            elif name == "nvmlVgpuInstanceGetAccountingStats" and p.name == "pid":
                vals += _fact_values(facts, "vgpu_pids")
            if isinstance(p.default, int) and not isinstance(p.default, bool):
                vals.append(p.default)          # a version's default: what callers pass
            choices.append(([Arg("<default>", inspect.Parameter.empty)] if p.default is None else []) +
                           [Arg(repr(v), v) for v in sorted(set(vals), key=vals.index)])
        elif k == "str":
            choices.append([Arg(repr(v), v) for v in str_values(p.name, facts)])
        elif k == "version":
            vals = [None, 0, getattr(ours, "nvmlMemory_v2", 0x02000028)] + list(INT_VALUES)[1:]
            choices.append([Arg("<default>", inspect.Parameter.empty)] +
                           [Arg(repr(v), v) for v in sorted(set(vals), key=vals.index)])
        elif k == "fieldids":
            ids = [v for v in constants(ours, "NVML_FI_DEV_") if v < 1000] or list(range(1, 300))
            choices.append([Arg(repr(v), v) for v in INT_VALUES] +
                           [Arg("[]", []), Arg("[all NVML_FI_DEV_*]", ids),
                            Arg("[(id, 0) pairs, 99999]", [(i, 0) for i in ids[:20]] + [99999])])
    calls = []
    for combo in itertools.product(*choices):
        left_out = [a.value is inspect.Parameter.empty and a.device is None and a.chain is None for a in combo]
        if any(left_out[i] and not left_out[i + 1] for i in range(len(combo) - 1)):
            continue                            # left out, then one given: not a call one can write
        args = [a for a in combo if a.value is not inspect.Parameter.empty or a.device is not None]
        label = f"{name}({', '.join(a.label for a in args)})"
        calls.append((label, args, {}))
    # A str argument by keyword, as callers write it (nvmlDeviceGetHandleByUUID(uuid=...)).
    if len(params) == 1 and kinds[0] == "str":
        for a in choices[0][:1]:
            calls.append((f"{name}({params[0].name}={a.label})", [], {params[0].name: a}))
    return calls


# --- canonical form of a result ----------------------------------------------------------------

def canon(v, lib, depth=0):
    """A JSON-able description of a result, the same for equal results of either library."""
    if depth > 20:
        return {"type": "other", "repr": "<too deep>"}
    if v is None or isinstance(v, (bool, str)):
        return {"type": type(v).__name__, "value": v}
    if isinstance(v, int):
        return {"type": "int", "value": int(v)}
    if isinstance(v, float):
        return {"type": "float", "value": None if math.isnan(v) else v, "nan": math.isnan(v)}
    if isinstance(v, bytes):
        return {"type": "bytes", "value": v.hex()}
    if isinstance(v, (list, tuple)):
        return {"type": type(v).__name__, "items": [canon(x, lib, depth + 1) for x in v]}
    if isinstance(v, dict):
        return {"type": "dict", "items": {str(k): canon(x, lib, depth + 1) for k, x in v.items()}}
    unit_cls = getattr(lib, "c_nvmlUnit_t", None)
    if isinstance(unit_cls, type) and isinstance(v, unit_cls):
        # no index to ask NVML for: the address (both libraries load the same NVML)
        address = v.value if hasattr(v, "value") else ctypes.cast(v, ctypes.c_void_p).value
        return {"type": "unit", "address": address}
    handle_cls = getattr(lib, "c_nvmlDevice_t", None)
    if isinstance(handle_cls, type) and isinstance(v, handle_cls):
        try:
            return {"type": "handle", "index": lib.nvmlDeviceGetIndex(v)}
        except Exception as e:  # noqa: BLE001
            # a MIG device handle has no index: its UUID ("MIG-...") says which it is
            try:
                return {"type": "handle", "index": None, "uuid": lib.nvmlDeviceGetUUID(v)}
            except Exception:  # noqa: BLE001
                return {"type": "handle", "index": None, "error": type(e).__name__}
    gi_cls = getattr(lib, "c_nvmlGpuInstance_t", None)
    if isinstance(gi_cls, type) and isinstance(v, gi_cls):
        # a GPU instance handle: what nvmlGpuInstanceGetInfo says of it (its device, id, profile, placement)
        try:
            return {"type": "gpu_instance", "info": canon(lib.nvmlGpuInstanceGetInfo(v), lib, depth + 1)}
        except Exception as e:  # noqa: BLE001
            return {"type": "gpu_instance", "info": None, "error": type(e).__name__}
    if isinstance(v, ctypes.Array):
        return {"type": "ctypes_array", "items": [canon(x, lib, depth + 1) for x in v]}
    if type(v).__name__ == "nvmlFriendlyObject":
        return {"type": "friendly", "items": {k: canon(x, lib, depth + 1) for k, x in vars(v).items()}}
    fields = getattr(type(v), "_fields_", None)
    if fields is not None:
        names = [f[0] for f in fields]
        values = {}
        for n in names:
            x = getattr(v, n)
            if n in ("value", "sampleValue") and "valueType" in names and getattr(type(x), "_fields_", None):
                # a c_nvmlValue_t union: the member that valueType says NVML wrote
                t = v.valueType
                member = VALUE_MEMBERS[t] if t < len(VALUE_MEMBERS) else None
                values[n] = {"type": "union", "member": member,
                             "value": canon(getattr(x, member), lib, depth + 1) if member else None}
            elif n in POINTED_ARRAYS and POINTED_ARRAYS[n] in names:
                address = x if isinstance(x, int) or x is None else ctypes.cast(x, ctypes.c_void_p).value
                count = getattr(v, POINTED_ARRAYS[n])
                values[n] = ({"type": "NoneType", "value": None} if not address else
                             canon(list(ctypes.cast(address, ctypes.POINTER(ctypes.c_uint))[:count]), lib, depth + 1))
            elif isinstance(x, ctypes._Pointer) and not getattr(type(x), "_type_", None) in (
                    getattr(lib, "struct_c_nvmlDevice_t", None), getattr(lib, "struct_c_nvmlUnit_t", None)):
                # a pointer field (a ctypes pointer in both): its address, None when NULL
                values[n] = canon(ctypes.cast(x, ctypes.c_void_p).value, lib, depth + 1)
            else:
                values[n] = canon(x, lib, depth + 1)
                if values[n]["type"] == "ctypes_array":   # an array field: ours reads as a list
                    values[n]["type"] = "list"
        return {"type": "struct", "class": type(v).__name__, "fields": names, "values": values}
    return {"type": "other", "class": type(v).__name__, "repr": repr(v)}


def canon_exception(e):
    return {"type": "exception", "class": type(e).__name__, "value": getattr(e, "value", None),
            "text": str(e)[:200]}


def _close(a, b, rel=REL_TOL, absolute=ABS_TOL):
    return abs(a - b) <= max(absolute, rel * max(abs(a), abs(b)))


def tolerance_of(name):
    for rx, rel, absolute in TOLERANCES:
        if rx.search(name):
            return rel, absolute
    return REL_TOL, ABS_TOL


def _u8_array_as_bytes(x, y):
    """A u8[N] field (c_uint8 * N): ours reads it as bytes, nvidia-ml-py as a ctypes array of
    ints (a list here).  Both index to the same ints, iterate alike and give the same
    bytes(); compared by those items: the list as bytes where every item is a byte."""
    for p, q in ((x, y), (y, x)):
        if p["type"] == "bytes" and q["type"] == "list" and \
                all(i["type"] == "int" and 0 <= i["value"] <= 255 for i in q["items"]):
            q = {"type": "bytes", "value": bytes(i["value"] for i in q["items"]).hex()}
            return (p, q) if p is x else (q, p)
    return x, y


def compare(a, b, volatile=False, exact=False, path="", tol=(REL_TOL, ABS_TOL)) -> list[str]:
    """Differences between two canonical results (empty when they agree).  `volatile`: the
    numbers may change between the two calls; within `tol` (relative, absolute) they agree."""
    where = path or "result"
    if a["type"] != b["type"]:
        what = lambda c: c["class"] if c["type"] == "exception" else c["type"]  # noqa: E731
        return [f"{where}: ours {what(a)}, nvidia-ml-py {what(b)}"]
    t = a["type"]
    if t == "exception":
        return [] if a["class"] == b["class"] else [f"{where}: ours raises {a['class']}, nvidia-ml-py {b['class']}"]
    if t in ("int", "float"):
        if t == "float" and a["nan"] and b["nan"]:
            return []
        x, y = a["value"], b["value"]
        if x == y or (not exact and IGNORED_FIELDS.search(path)):
            return []
        tolerant = not exact and (volatile or VOLATILE_FIELDS.search(path or "") is not None)
        if tolerant and x is not None and y is not None and _close(x, y, *tol):
            return []
        return [f"{where}: ours {x!r}, nvidia-ml-py {y!r}"]
    if t in ("str", "bool", "NoneType", "bytes"):
        return [] if a["value"] == b["value"] else [f"{where}: ours {a['value']!r}, nvidia-ml-py {b['value']!r}"]
    if t in ("list", "tuple", "ctypes_array"):
        if len(a["items"]) != len(b["items"]):
            return [f"{where}: ours {len(a['items'])} items, nvidia-ml-py {len(b['items'])}"]
        out = []
        for i, (x, y) in enumerate(zip(a["items"], b["items"])):
            out += compare(x, y, volatile, exact, f"{path}[{i}]", tol)
        return out
    if t in ("dict", "friendly"):
        if list(a["items"]) != list(b["items"]):
            return [f"{where}: ours keys {list(a['items'])}, nvidia-ml-py {list(b['items'])}"]
        out = []
        for k in a["items"]:
            out += compare(a["items"][k], b["items"][k], volatile, exact, f"{path}.{k}", tol)
        return out
    if t == "struct":
        out = []
        if a["class"] != b["class"]:
            out.append(f"{where}: ours class {a['class']}, nvidia-ml-py {b['class']}")
        if a["fields"] != b["fields"]:
            return out + [f"{where}: ours fields {a['fields']}, nvidia-ml-py {b['fields']}"]
        for k in a["fields"]:
            x, y = a["values"][k], b["values"][k]
            if x["type"] == "list" and y["type"] == "ctypes_array":
                y = dict(y, type="list")    # an array field: ours reads as a list (spec/structs.nvml)
            x, y = _u8_array_as_bytes(x, y)
            out += compare(x, y, volatile, exact, f"{path}.{k}", tol)
        return out
    if t == "handle":
        if a["index"] != b["index"]:
            return [f"{where}: ours device {a['index']}, nvidia-ml-py {b['index']}"]
        return [] if a.get("uuid") == b.get("uuid") else [f"{where}: ours {a.get('uuid')}, nvidia-ml-py {b.get('uuid')}"]
    if t == "gpu_instance":
        if a["info"] is None or b["info"] is None:
            return [] if a == b else [f"{where}: ours {a}, nvidia-ml-py {b}"]
        return compare(a["info"], b["info"], volatile, exact, f"{path}.info", tol)
    if t == "unit":
        return [] if a["address"] == b["address"] else [f"{where}: ours unit {a['address']}, nvidia-ml-py {b['address']}"]
    if t == "union":
        if a["member"] != b["member"]:
            return [f"{where}: ours member {a['member']}, nvidia-ml-py {b['member']}"]
        if a["value"] is None or b["value"] is None:
            return [] if a["value"] == b["value"] else [f"{where}: ours {a['value']}, nvidia-ml-py {b['value']}"]
        return compare(a["value"], b["value"], volatile, exact, f"{path}.{a['member']}", tol)
    return [] if a.get("repr") == b.get("repr") else [f"{where}: ours {a.get('repr')}, nvidia-ml-py {b.get('repr')}"]


# --- known behaviour of nvidia-ml-py -----------------------------------------------------------

def _same_items(o, r, volatile, exact, tol):
    return compare({"type": "list", "items": o["items"]}, {"type": "list", "items": r["items"]},
                   volatile, exact, "", tol) == []


def _holds_not_available(o):
    """Whether a result (a struct, or a list of them) has a memory field of 2**64 - 1."""
    items = o.get("items", []) if o["type"] == "list" else [o]
    return any(x.get("type") == "struct" and any(
        k in ("maxMemoryUsage", "usedGpuMemory", "usedGpuCcProtectedMemory") and v == {"type": "int", "value": 2**64 - 1}
        for k, v in x["values"].items()) for x in items)


def _all_zero(rec):
    """A struct record whose fields are all the int 0."""
    return rec.get("type") == "struct" and all(v == {"type": "int", "value": 0} for v in rec["values"].values())


def _placements_count_first(o, r):
    """A c_nvmlVgpuPlacementList_v1_t whose count and placementSize the reference swapped."""
    try:
        ov, rv = o["values"], r["values"]
        return (o["class"] == r["class"] == "c_nvmlVgpuPlacementList_v1_t"
                and o["fields"] == ["version", "placementSize", "count", "placementIds"]
                and r["fields"] == ["version", "count", "placementSize", "placementIds"]
                and ov["version"] == rv["version"] and ov["count"] == rv["placementSize"]
                and ov["placementSize"] == rv["count"])
    except (KeyError, TypeError):
        return False


def _zero_count(o):
    """nvidia-ml-py's (c_uint count, ctypes array) with count 0 and no items."""
    c, arr = o["items"] if len(o.get("items", [])) == 2 else (None, None)
    return c == {"type": "other", "class": "c_uint", "repr": "c_uint(0)"} and arr.get("items") == []


def _fabric_info_80(o, r):
    """[result, c_nvmlGpuFabricInfo_t]: the reference's clusterUuid is 80 bytes (its first 16 ours)."""
    try:
        ou, ru = o["items"][1]["values"]["clusterUuid"], r["items"][1]["values"]["clusterUuid"]
        return (o["items"][0] == r["items"][0] and len(ru["items"]) == 80 and
                bytes(i["value"] for i in ru["items"][:16]).hex() == ou["value"])
    except (KeyError, IndexError, TypeError):
        return False


def known_difference(name, keyword, o, r, volatile=False, exact=False, tol=(REL_TOL, ABS_TOL)):
    """The reason, when ours vs nvidia-ml-py differ exactly as a known nvidia-ml-py quirk does."""
    if name == "nvmlDeviceGetFieldValues" and o["type"] == "list" and r["type"] == "ctypes_array" \
            and _same_items(o, r, volatile, exact, tol):
        return "nvidia-ml-py returns its ctypes array itself, ours a list of the same structs"
    if name == "nvmlUnitGetDevices" and o["type"] == "list" and r["type"] == "ctypes_array" \
            and _same_items(o, r, volatile, exact, tol):
        return "nvidia-ml-py returns its ctypes array of device handles, ours a list of the same handles"
    if name == "nvmlDeviceGetProcessUtilization" and o == {"type": "list", "items": []} \
            and r["type"] == "exception" and r["class"] == "NVMLError" and r["value"] == 0:
        return "nvidia-ml-py raises NVMLError(0) when NVML's size query succeeds (no samples); ours returns []"
    if name == "nvmlDeviceGetTopologyNearestGpus" and o == {"type": "list", "items": []} \
            and r["type"] == "exception" and r["class"] == "NVMLError_InvalidArgument":
        # Seen on an H100 (driver 580): the size query (count 0, no array) answers SUCCESS, 0;
        # nvidia-ml-py then calls again with count 0 and an empty ctypes array (not NULL),
        # which NVML rejects.  Ours stops after the query.
        return ("nvidia-ml-py's second call passes count 0 with a non-NULL empty array, which NVML "
                "rejects (INVALID_ARGUMENT); ours returns [] after the size query answered 0")
    if name == "nvmlDeviceGetHandleByUUIDV" and r["type"] == "exception" and (
            (r["class"] == "TypeError" and o["type"] in ("handle", "exception")) or
            (r["class"] == "NVMLError_NotFound" and o["type"] == "exception" and o["class"] == "TypeError")):
        return ("nvidia-ml-py refuses a str uuid for NVML_UUID_TYPE_ASCII (a c_char array takes bytes) and "
                "copies its UTF-32 bytes for NVML_UUID_TYPE_BINARY; ours encodes str for ASCII and takes "
                "bytes-like only for BINARY")
    if name in ("nvmlDeviceGetAccountingStats", "nvmlDeviceGetRunningProcessDetailList") and \
            r["type"] == "exception" and r["class"] == "TypeError" and _holds_not_available(o):
        return ("nvidia-ml-py assigns None to a ctypes integer field where NVML says "
                "NVML_VALUE_NOT_AVAILABLE (TypeError); ours returns the struct with NVML's value")
    if name in ("nvmlDeviceGetVgpuTypeCreatablePlacements", "nvmlDeviceGetVgpuTypeSupportedPlacements") \
            and _placements_count_first(o, r):
        return ("nvidia-ml-py before 13.615.71 declares c_nvmlVgpuPlacementList_v1_t with count before "
                "placementSize, so it reads each in the other's place; ours as nvml.h (and 13.615.71)")
    if name == "nvmlVgpuInstanceGetAccountingPids" and o["type"] == "tuple" and _zero_count(o) \
            and r["type"] == "exception" and r["class"] == "NVMLError" and r["value"] == 0:
        return "nvidia-ml-py raises NVMLError(0) when NVML's size query succeeds (no pids); ours returns the empty list"
    if name == "nvmlDeviceGetVgpuTypeCreatablePlacements" and o["type"] == "exception" \
            and o["class"] == "NVMLError_ArgumentVersionMismatch" and r["type"] == "exception" \
            and r["class"] == "UnboundLocalError":
        return ("nvidia-ml-py makes no placement list for a version other than 1 or 2 and fails with "
                "UnboundLocalError; ours raises NVMLError_ArgumentVersionMismatch")
    if name == "nvmlDeviceGetThermalSettings" and o["type"] == r["type"] == "list" \
            and len(o["items"]) == len(r["items"]) and all(
                compare(oi, ri, volatile, exact, "", tol) == [] or _all_zero(oi)
                for oi, ri in zip(o["items"], r["items"])):
        # Seen on an H200 (driver 580): NVML fills only the sensor asked for; nvidia-ml-py's
        # default argument is one struct made at import, so the sensors of earlier calls stay
        # in what it returns.  Ours starts from a zeroed struct each call.
        return ("nvidia-ml-py's default c_thermalsettings is one shared struct: sensors filled by "
                "earlier calls stay in its result, where ours has zeros")
    if name == "nvmlDeviceGetGpuFabricInfo" and _fabric_info_80(o, r):
        return ("nvidia-ml-py before 13.615.71 gives c_nvmlGpuFabricInfo_t an 80-byte clusterUuid, so status, "
                "cliqueId and state read where NVML does not write them; ours has nvml.h's 16 bytes, as 13.615.71")
    if keyword and r["type"] == "exception" and r["class"] == "TypeError" and o["type"] == "handle":
        return "nvidia-ml-py's @convertStrBytes encodes positional str arguments only: a str keyword is a TypeError"
    return None


# --- running -------------------------------------------------------------------------------------

def signature_mismatch(a, b):
    """(ours, theirs) as text when the parameter names differ, else None."""
    try:
        sa, sb = inspect.signature(a), inspect.signature(b)
    except (TypeError, ValueError):
        return None
    if list(sa.parameters) == list(sb.parameters):
        return None
    return str(sa), str(sb)


def _call(lib, fn_name, args, kwargs, handles, units=()):
    filled = []
    try:
        v = getattr(lib, fn_name)(*[a.make(handles, units, lib, filled) for a in args],
                                  **{k: a.make(handles, units, lib, filled) for k, a in kwargs.items()})
        c = canon([v] + filled if filled else v, lib)
        return _samples_by_value_type(c) if fn_name == "nvmlDeviceGetSamples" else c
    except Exception as e:  # noqa: BLE001 - an exception is a result to compare
        return canon_exception(e)


def _samples_by_value_type(c):
    """nvmlDeviceGetSamples' (valueType, [c_nvmlSample_t]): each sample's value union as the
    member valueType names (the others read the same bytes otherwise)."""
    if c["type"] != "tuple" or len(c["items"]) != 2 or c["items"][0]["type"] != "int":
        return c
    t = c["items"][0]["value"]
    member = VALUE_MEMBERS[t] if 0 <= t < len(VALUE_MEMBERS) else None
    for smp in c["items"][1].get("items", []):
        v = smp.get("values", {}).get("sampleValue")
        if v and v["type"] == "struct" and member in v["values"]:
            smp["values"]["sampleValue"] = {"type": "union", "member": member, "value": v["values"][member]}
    return c


def units_of(lib):
    """The S-class units' handles (none on most machines)."""
    try:
        return [lib.nvmlUnitGetHandleByIndex(i) for i in range(lib.nvmlUnitGetCount())]
    except Exception:  # noqa: BLE001 - no units, or no unit functions
        return []


def run_comparison(ours, ref, only=None, exact=False, log=None):
    """Both libraries must be initialized.  Returns the list of per-call records."""
    n = ours.nvmlDeviceGetCount()
    ours_handles = [ours.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
    ref_handles = [ref.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
    facts = device_facts(ours, ours_handles)
    ours_units, ref_units = units_of(ours), units_of(ref)
    if len(ours_units) != len(ref_units):
        ours_units = ref_units = []
    records = []
    for name in common_functions(ours, ref, only):
        volatile = VOLATILE_FUNCTIONS.search(name) is not None
        tol = tolerance_of(name)
        mismatch = signature_mismatch(getattr(ours, name), getattr(ref, name))
        if mismatch:
            # Another nvidia-ml-py version may take something else there (a pointer, say):
            # calling it with our arguments could crash the process.  Not called.
            rec = {"function": name, "call": f"{name}{mismatch[0]}", "ours": {"type": "not called"},
                   "reference": {"type": "not called"},
                   "status": "diff", "reason": f"not called: parameters differ, ours {mismatch[0]}, "
                                               f"nvidia-ml-py {mismatch[1]}"}
            records.append(rec)
            if log:
                log(rec)
            continue
        for label, args, kwargs in plan_calls(ours, name, n, facts, len(ours_units)):
            o = _call(ours, name, args, kwargs, ours_handles, ours_units)
            r = _call(ref, name, args, kwargs, ref_handles, ref_units)
            diffs = compare(o, r, volatile, exact, "", tol)
            rec = {"function": name, "call": label, "ours": o, "reference": r}
            if not diffs:
                rec["status"] = "agree"
            else:
                reason = known_difference(name, bool(kwargs), o, r, volatile, exact, tol)
                rec["status"] = "known" if reason else "diff"
                rec["reason"] = reason or "; ".join(diffs[:3]) + (f" (+{len(diffs) - 3} more)" if len(diffs) > 3 else "")
            records.append(rec)
            if log:
                log(rec)
    # Handle identity: ours compares handles by the device, nvidia-ml-py by the Python object.
    if n:
        o = {"type": "bool", "value": ours.nvmlDeviceGetHandleByIndex(0) == ours.nvmlDeviceGetHandleByIndex(0)}
        r = {"type": "bool", "value": ref.nvmlDeviceGetHandleByIndex(0) == ref.nvmlDeviceGetHandleByIndex(0)}
        rec = {"function": "handle ==", "call": "nvmlDeviceGetHandleByIndex(0) == nvmlDeviceGetHandleByIndex(0)",
               "ours": o, "reference": r}
        if o == r:
            rec["status"] = "agree"
        elif o["value"] is True and r["value"] is False:
            rec["status"], rec["reason"] = "known", ("nvidia-ml-py's handles are ctypes pointers compared by "
                                                     "identity: two handles of one GPU are !=")
        else:
            rec["status"], rec["reason"] = "diff", f"ours {o['value']}, nvidia-ml-py {r['value']}"
        records.append(rec)
        if log:
            log(rec)
    return records


# Known differences that compare the values all the same: nvidia-ml-py's ctypes array
# against our list, item by item (known_difference requires the items to agree).
ITEMS_COMPARED = {"nvmlDeviceGetFieldValues", "nvmlUnitGetDevices"}


def on_value(rec):
    """Whether a record compared a value (not only two exceptions of one class)."""
    if rec["status"] == "agree":
        return rec["ours"].get("type") != "exception"
    return rec["status"] == "known" and rec["function"] in ITEMS_COMPARED and rec["ours"].get("type") == "list"


def summarize(records):
    c = Counter(r["status"] for r in records)
    table = Counter((r["function"], r["status"], r["reason"]) for r in records if r["status"] != "agree")
    # an agreement on a value (a number, a struct, a list, ...) says more than two exceptions
    # of one class (NotSupported against NotSupported): both are counted
    valued = [r for r in records if on_value(r)]
    return {
        "compared": len(records), "agreed": c["agree"], "differed": c["known"] + c["diff"],
        "values": len(valued), "values_known": sum(r["status"] == "known" for r in valued), "errors": sum(r["status"] == "agree" and not on_value(r) for r in records),
        "functions_on_value": len({r["function"] for r in valued}),
        "known": c["known"], "unexplained": c["diff"],
        "functions": len({r["function"] for r in records}),
        "differences": [{"function": f, "status": s, "reason": why, "calls": k}
                        for (f, s, why), k in sorted(table.items())],
    }


def format_summary(s):
    lines = [f"compared {s['compared']} calls of {s['functions']} functions: {s['agreed']} agreed, "
             f"{s['differed']} differed ({s['known']} known nvidia-ml-py behaviour, {s['unexplained']} unexplained)",
             f"{s['values']} compared on a value ({s['values_known']} of them known differences whose items agree), "
             f"{s['errors']} agreements on the same exception; "
             f"{s['functions_on_value']} of the {s['functions']} functions compared on a value at least once"]
    if s["differences"]:
        w = max(len(d["function"]) for d in s["differences"])
        lines.append(f"{'function':<{w}}  {'calls':>5}  {'kind':<7}  reason")
        for d in s["differences"]:
            kind = "known" if d["status"] == "known" else "DIFF"
            lines.append(f"{d['function']:<{w}}  {d['calls']:>5}  {kind:<7}  {d['reason']}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", help="nvidia-ml-py's pynvml.py (or the folder holding it)")
    ap.add_argument("--json", metavar="OUT", help="write every call and both results here")
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per call")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="compare these functions only")
    ap.add_argument("--exact", action="store_true", help="no tolerance for values that change by themselves")
    opts = ap.parse_args(argv)

    import pynvml as ours

    ref_path = find_reference(opts.reference)
    if ref_path is None or not ref_path.is_file():
        print(f"nvidia-ml-py's pynvml.py not found ({ref_path or 'give --reference'})", file=sys.stderr)
        return 2
    if Path(ours.__file__).resolve() == ref_path.resolve():
        print(f"{ref_path} is ours, not nvidia-ml-py", file=sys.stderr)
        return 2
    try:
        ours.nvmlInit()
    except Exception as e:  # noqa: BLE001
        print(f"nvmlInit (ours) failed: {e!r}", file=sys.stderr)
        return 2
    lib_path = library_path_of(ours)
    ref = load_reference(ref_path, lib_path)
    ref.nvmlInit()
    print(f"ours: {Path(ours.__file__).parent}  nvidia-ml-py: {ref_path}  NVML: {lib_path}")
    try:
        print(f"driver {ours.nvmlSystemGetDriverVersion()}, {ours.nvmlDeviceGetCount()} device(s)")
    except Exception as e:  # noqa: BLE001
        print(f"driver/device count unavailable: {e!r}")

    def log(rec):
        if opts.verbose:
            if rec["status"] == "agree":
                print(f"AGREE {rec['call']}")
            elif rec["status"] == "known":
                print(f"DIFF {rec['call']}: known nvidia-ml-py behaviour: {rec['reason']}")
            else:
                print(f"DIFF {rec['call']}: {rec['reason']}")

    records = run_comparison(ours, ref, only=set(opts.only) if opts.only else None, exact=opts.exact, log=log)
    summary = summarize(records)
    print(format_summary(summary))
    if opts.json:
        Path(opts.json).write_text(json.dumps(OrderedDict(
            library=lib_path, reference=str(ref_path), ours=str(Path(ours.__file__).parent),
            exact=opts.exact, summary=summary, calls=records), indent=1, default=repr))
    ref.nvmlShutdown()
    ours.nvmlShutdown()
    return 0 if summary["unexplained"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
