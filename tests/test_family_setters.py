"""Setters, resets and clears (spec/functions_setters.nvml) on the simulator: each changes
what its getter answers afterwards; values out of range are INVALID_ARGUMENT and change
nothing; an {"error": ...} at the setter's key (a user who is not root: NO_PERMISSION) or
at its getter's raises that error's class; wrong argument types are TypeError; the state
lives as long as the loaded profile (sim/entry_points_setters.c).

Every test here changes GPU state: simulator only (markers `mutates` and `simulator`), so
none of these calls ever reaches a real GPU."""
import copy
import ctypes
import threading

import pytest

import pynvml
from test_functions import SPEC

pytestmark = [pytest.mark.mutates, pytest.mark.simulator]

# the generated setters, and the hand-written ones that answer their own key's error first
SETTERS = [f for f in SPEC.functions if f.python and (f.sim_setter or f.pyname in (
    "nvmlDeviceSetHostname_v1", "nvmlDeviceClearFieldValues", "nvmlDeviceWorkloadPowerProfileSetRequestedProfiles",
    "nvmlDeviceWorkloadPowerProfileClearRequestedProfiles"))]
N = pynvml


def rich(profile):
    """The default profile, with data for what the H100 does not have (fans, NVLink
    counters, auto boost, operation and driver modes, settable thresholds, VF offsets)."""
    p = copy.deepcopy(profile)
    for d in p["devices"]:
        d["nvmlDeviceGetNumFans"] = 2
        d["nvmlDeviceGetMinMaxFanSpeed"] = [30, 100]
        d["nvmlDeviceGetTargetFanSpeed"] = {"0": 45, "1": 45}
        d["nvmlDeviceGetFanSpeed_v2"] = {"0": 44, "1": 46}
        d["nvmlDeviceGetFanControlPolicy_v2"] = {"0": 0, "1": 0}
        d["nvmlDeviceGetAutoBoostedClocksEnabled"] = [1, 1]
        d["nvmlDeviceGetGpuOperationMode"] = [0, 0]
        d["nvmlDeviceGetDriverModel_v2"] = [1, 1]
        d["nvmlDeviceGetDriverModel"] = [1, 1]
        d["nvmlDeviceGetTemperatureThreshold"]["5"] = 83
        d["nvmlDeviceGetGpcClkMinMaxVfOffset"] = [-200, 1000]
        d["nvmlDeviceGetMemClkMinMaxVfOffset"] = [-1000, 1500]
        d["nvmlDeviceGetTotalEccErrors"] = {"0": {"0": 3, "1": 30}, "1": {"0": 4, "1": 40}}
        d["nvmlDeviceGetDetailedEccErrors"]["0"]["0"]["l2Cache"] = 2
        d["nvmlDeviceGetAccountingPids"] = [101, 202]
        d["nvmlDeviceGetDramEncryptionMode"] = [{"encryptionState": 0}, {"encryptionState": 0}]
        d["nvmlDeviceGetNvLinkErrorCounter"] = {"0": {"0": 5, "1": 6, "2": 7}, "1": {"0": 1, "1": 1, "2": 1}}
        d["nvmlDeviceGetNvLinkUtilizationCounter"] = {"0": {"0": ["1000", "2000"], "1": [3, 4]}}
        d["nvmlDeviceGetNvLinkUtilizationControl"] = {"0": {"0": {"units": 0, "pktfilter": 255}}}
    return p


@pytest.fixture
def start(use_profile, default_profile):
    """start(profile=None, edit=None) -> device 0's handle, on the rich profile (or profile)."""
    def go(profile=None, edit=None):
        p = rich(default_profile) if profile is None else profile
        if edit:
            edit(p)
        use_profile(p)
        N.nvmlInit()
        return N.nvmlDeviceGetHandleByIndex(0)
    return go


@pytest.fixture
def h(start):
    return start()


# --- each setter, then its getter ------------------------------------------------------------

def test_persistence_and_compute_mode(h):
    assert N.nvmlDeviceGetPersistenceMode(h) == 1
    assert N.nvmlDeviceSetPersistenceMode(h, 0) is None
    assert N.nvmlDeviceGetPersistenceMode(h) == 0
    N.nvmlDeviceSetComputeMode(h, N.NVML_COMPUTEMODE_EXCLUSIVE_PROCESS)
    assert N.nvmlDeviceGetComputeMode(h) == N.NVML_COMPUTEMODE_EXCLUSIVE_PROCESS
    # the other GPU keeps its own settings
    assert N.nvmlDeviceGetPersistenceMode(N.nvmlDeviceGetHandleByIndex(1)) == 1
    for bad in (2, 99):
        with pytest.raises(N.NVMLError_InvalidArgument):
            N.nvmlDeviceSetPersistenceMode(h, bad)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetComputeMode(h, 4)
    assert N.nvmlDeviceGetPersistenceMode(h) == 0


def test_ecc_mode_is_pending_until_reset(h):
    N.nvmlDeviceSetEccMode(h, 0)
    assert N.nvmlDeviceGetEccMode(h) == [1, 0]
    assert N.nvmlDeviceGetCurrentEccMode(h) == 1 and N.nvmlDeviceGetPendingEccMode(h) == 0
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetEccMode(h, 2)


def test_clear_ecc_error_counts_zeroes_only_that_counter_type(h):
    N.nvmlDeviceClearEccErrorCounts(h, N.NVML_VOLATILE_ECC)
    for err in (0, 1):
        assert N.nvmlDeviceGetTotalEccErrors(h, err, N.NVML_VOLATILE_ECC) == 0
    assert N.nvmlDeviceGetTotalEccErrors(h, 0, N.NVML_AGGREGATE_ECC) == 30
    assert N.nvmlDeviceGetDetailedEccErrors(h, 0, N.NVML_VOLATILE_ECC).l2Cache == 0
    N.nvmlDeviceClearEccErrorCounts(h, N.NVML_AGGREGATE_ECC)
    assert N.nvmlDeviceGetTotalEccErrors(h, 1, N.NVML_AGGREGATE_ECC) == 0
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceClearEccErrorCounts(h, 2)


def test_mig_mode_is_pending_and_returns_the_activation_status(h):
    assert N.nvmlDeviceSetMigMode(h, N.NVML_DEVICE_MIG_ENABLE) == N.NVML_SUCCESS
    assert N.nvmlDeviceGetMigMode(h) == [0, 1]
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetMigMode(h, 2)


def test_operation_and_driver_model_are_pending(h):
    N.nvmlDeviceSetGpuOperationMode(h, N.NVML_GOM_COMPUTE)
    assert N.nvmlDeviceGetGpuOperationMode(h) == [0, N.NVML_GOM_COMPUTE]
    assert N.nvmlDeviceGetPendingGpuOperationMode(h) == N.NVML_GOM_COMPUTE
    N.nvmlDeviceSetDriverModel(h, 0)
    assert N.nvmlDeviceGetDriverModel(h) == [1, 0] and N.nvmlDeviceGetDriverModel_v1(h) == [1, 0]
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetDriverModel(h, 3)


def test_driver_model_and_operation_mode_not_supported_on_the_h100(start, default_profile):
    h = start(default_profile)
    with pytest.raises(N.NVMLError_NotSupported):
        N.nvmlDeviceSetDriverModel(h, 1)
    with pytest.raises(N.NVMLError_NotSupported):
        N.nvmlDeviceSetGpuOperationMode(h, 1)
    with pytest.raises(N.NVMLError_NotSupported):
        N.nvmlDeviceSetAutoBoostedClocksEnabled(h, 1)


def test_accounting(h):
    N.nvmlDeviceSetAccountingMode(h, 1)
    assert N.nvmlDeviceGetAccountingMode(h) == 1
    assert N.nvmlDeviceGetAccountingPids(h) == [101, 202]
    N.nvmlDeviceClearAccountingPids(h)
    assert N.nvmlDeviceGetAccountingPids(h) == []
    N.nvmlDeviceClearAccountingPids(h)   # an empty list stays empty
    assert N.nvmlDeviceGetAccountingPids(h) == []


def test_api_restriction_per_api(h):
    N.nvmlDeviceSetAPIRestriction(h, N.NVML_RESTRICTED_API_SET_AUTO_BOOSTED_CLOCKS, 1)
    assert N.nvmlDeviceGetAPIRestriction(h, N.NVML_RESTRICTED_API_SET_AUTO_BOOSTED_CLOCKS) == 1
    with pytest.raises(N.NVMLError_NotSupported):   # as its getter (the H100's)
        N.nvmlDeviceSetAPIRestriction(h, N.NVML_RESTRICTED_API_SET_APPLICATION_CLOCKS, 1)
    with pytest.raises(N.NVMLError_InvalidArgument):   # no such API
        N.nvmlDeviceSetAPIRestriction(h, 7, 1)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetAPIRestriction(h, 1, 2)


def test_virtualization_mode_returns_the_code_as_nvidia_ml_py(h):
    assert N.nvmlDeviceSetVirtualizationMode(h, N.NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU) == N.NVML_SUCCESS
    assert N.nvmlDeviceGetVirtualizationMode(h) == N.NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU
    # nvidia-ml-py returns NVML's code unchecked here: no exception
    assert N.nvmlDeviceSetVirtualizationMode(h, 9) == N.NVML_ERROR_INVALID_ARGUMENT
    assert N.nvmlDeviceGetVirtualizationMode(h) == N.NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU


def test_power_limit_within_the_constraints(h):
    lo, hi = N.nvmlDeviceGetPowerManagementLimitConstraints(h)
    N.nvmlDeviceSetPowerManagementLimit(h, 450000)
    assert N.nvmlDeviceGetPowerManagementLimit(h) == 450000
    assert N.nvmlDeviceGetEnforcedPowerLimit(h) == 450000
    N.nvmlDeviceSetPowerManagementLimit(h, lo)
    N.nvmlDeviceSetPowerManagementLimit(h, hi)
    for bad in (lo - 1, hi + 1, 0):
        with pytest.raises(N.NVMLError_InvalidArgument):
            N.nvmlDeviceSetPowerManagementLimit(h, bad)
    assert N.nvmlDeviceGetPowerManagementLimit(h) == hi
    with pytest.raises(ValueError):
        N.nvmlDeviceSetPowerManagementLimit(h, -1)


def test_applications_clocks_set_and_reset(h):
    default = [N.nvmlDeviceGetDefaultApplicationsClock(h, t) for t in (0, 1, 2)]
    N.nvmlDeviceSetApplicationsClocks(h, 1593, 1410)
    assert N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_MEM) == 1593
    assert N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_GRAPHICS) == 1410
    assert N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_SM) == 1410
    with pytest.raises(N.NVMLError_InvalidArgument):   # not a supported memory clock
        N.nvmlDeviceSetApplicationsClocks(h, 1600, 1410)
    with pytest.raises(N.NVMLError_InvalidArgument):   # above the maximum graphics clock
        N.nvmlDeviceSetApplicationsClocks(h, 2619, N.nvmlDeviceGetMaxClockInfo(h, 0) + 1)
    assert N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_MEM) == 1593
    N.nvmlDeviceResetApplicationsClocks(h)
    assert [N.nvmlDeviceGetApplicationsClock(h, t) for t in (0, 1, 2)] == default
    with pytest.raises(N.NVMLError_NotSupported):   # the video clock stays as it was
        N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_VIDEO)


def test_locked_clocks(h):
    assert N.nvmlDeviceSetGpuLockedClocks(h, 1000, 1500) is None
    assert N.nvmlDeviceSetMemoryLockedClocks(h, 1593, 2619) is None
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetGpuLockedClocks(h, 1500, 1000)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetMemoryLockedClocks(h, 2619, 1593)
    assert N.nvmlDeviceResetGpuLockedClocks(h) is None
    assert N.nvmlDeviceResetMemoryLockedClocks(h) is None


def test_auto_boosted_clocks(h):
    N.nvmlDeviceSetAutoBoostedClocksEnabled(h, 0)
    assert N.nvmlDeviceGetAutoBoostedClocksEnabled(h) == [0, 1]
    N.nvmlDeviceSetDefaultAutoBoostedClocksEnabled(h, 0, 0)
    assert N.nvmlDeviceGetAutoBoostedClocksEnabled(h) == [0, 0]
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetAutoBoostedClocksEnabled(h, 5)


@pytest.mark.parametrize("kind, lo, hi", [("Gpc", -200, 1000), ("Mem", -1000, 1500)])
def test_vf_offsets_within_their_range(h, kind, lo, hi):
    set_, get = getattr(N, f"nvmlDeviceSet{kind}ClkVfOffset"), getattr(N, f"nvmlDeviceGet{kind}ClkVfOffset")
    assert set_(h, lo) == N.NVML_SUCCESS and get(h) == lo
    assert set_(h, hi) == N.NVML_SUCCESS and get(h) == hi
    for bad in (lo - 1, hi + 1):
        with pytest.raises(N.NVMLError_InvalidArgument):
            set_(h, bad)
    assert get(h) == hi


def test_vf_offsets_on_the_h100_range_of_zero(start, default_profile):
    h = start(default_profile, lambda p: p["devices"][0].update(nvmlDeviceGetGpcClkMinMaxVfOffset=[0, 0]))
    assert N.nvmlDeviceSetGpcClkVfOffset(h, 0) == 0
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetGpcClkVfOffset(h, 10)


def test_fans(h):
    assert N.nvmlDeviceSetFanSpeed_v2(h, 1, 80) == N.NVML_SUCCESS
    assert N.nvmlDeviceGetTargetFanSpeed(h, 1) == 80 and N.nvmlDeviceGetTargetFanSpeed(h, 0) == 45
    for fan, speed in ((1, 29), (1, 101), (2, 50)):   # below min, above max, no such fan
        with pytest.raises(N.NVMLError_InvalidArgument):
            N.nvmlDeviceSetFanSpeed_v2(h, fan, speed)
    assert N.nvmlDeviceSetFanControlPolicy(h, 0, N.NVML_FAN_POLICY_MANUAL) == N.NVML_SUCCESS
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetFanControlPolicy(h, 0, 2)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetFanControlPolicy(h, 3, 0)
    assert N.nvmlDeviceSetDefaultFanSpeed_v2(h, 1) == N.NVML_SUCCESS
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetDefaultFanSpeed_v2(h, 2)


def test_fans_on_the_h100_which_has_none(start, default_profile):
    """The H100 answers INVALID_ARGUMENT for its fan range (it has no fans): setting a fan's
    speed fails the same way."""
    h = start(default_profile)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceGetMinMaxFanSpeed(h)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetFanSpeed_v2(h, 0, 50)


def test_temperature_threshold(h):
    N.nvmlDeviceSetTemperatureThreshold(h, N.NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_CURR, 80)
    assert N.nvmlDeviceGetTemperatureThreshold(h, N.NVML_TEMPERATURE_THRESHOLD_ACOUSTIC_CURR) == 80
    with pytest.raises(N.NVMLError_InvalidArgument):   # the shutdown threshold cannot be set
        N.nvmlDeviceSetTemperatureThreshold(h, N.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN, 80)
    with pytest.raises(N.NVMLError_NotSupported):      # GPS: as its getter on the H100
        N.nvmlDeviceSetTemperatureThreshold(h, N.NVML_TEMPERATURE_THRESHOLD_GPS_CURR, 80)
    assert N.nvmlDeviceGetTemperatureThreshold(h, N.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN) == 95


def test_nvlink_counters_reset_freeze_and_control(h):
    N.nvmlDeviceResetNvLinkErrorCounters(h, 0)
    assert [N.nvmlDeviceGetNvLinkErrorCounter(h, 0, c) for c in range(3)] == [0, 0, 0]
    assert N.nvmlDeviceGetNvLinkErrorCounter(h, 1, 0) == 1
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceResetNvLinkErrorCounters(h, 9)
    assert N.nvmlDeviceGetNvLinkUtilizationCounter(h, 0, 0) == (1000, 2000)
    N.nvmlDeviceFreezeNvLinkUtilizationCounter(h, 0, 0, 1)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceFreezeNvLinkUtilizationCounter(h, 0, 5, 1)
    N.nvmlDeviceResetNvLinkUtilizationCounter(h, 0, 0)
    assert N.nvmlDeviceGetNvLinkUtilizationCounter(h, 0, 0) == (0, 0)
    assert N.nvmlDeviceGetNvLinkUtilizationCounter(h, 0, 1) == (3, 4)
    control = N.nvmlNvLinkUtilizationControl_t()
    control.units, control.pktfilter = N.NVML_NVLINK_COUNTER_UNIT_BYTES, 0x7
    N.nvmlDeviceSetNvLinkUtilizationControl(h, 0, 0, control, 0)
    got = N.nvmlDeviceGetNvLinkUtilizationControl(h, 0, 0)
    assert (got.units, got.pktfilter) == (N.NVML_NVLINK_COUNTER_UNIT_BYTES, 0x7)
    assert N.nvmlDeviceGetNvLinkUtilizationCounter(h, 0, 1) == (3, 4)
    N.nvmlDeviceSetNvLinkUtilizationControl(h, 0, 0, control, 0)
    with pytest.raises(TypeError):
        N.nvmlDeviceSetNvLinkUtilizationControl(h, 0, 0, 5, 0)


def test_nvlink_on_the_h100_is_not_supported(start, default_profile):
    h = start(default_profile)
    with pytest.raises(N.NVMLError_NotSupported):
        N.nvmlDeviceFreezeNvLinkUtilizationCounter(h, 0, 0, 1)


def test_system_setters(h):
    assert N.nvmlSystemSetNvlinkBwMode(2) == N.NVML_SUCCESS
    assert N.nvmlSystemGetNvlinkBwMode() == 2
    assert N.nvmlSystemSetConfComputeGpusReadyState(1) == N.NVML_SUCCESS
    assert N.nvmlSystemGetConfComputeGpusReadyState() == 1
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlSystemSetConfComputeGpusReadyState(2)
    assert N.nvmlDeviceSetConfComputeUnprotectedMemSize(h, 1 << 20) == N.NVML_SUCCESS
    assert N.nvmlDeviceGetConfComputeMemSizeInfo(h).unprotectedMemSizeKib == 1 << 20


def test_inforom_validation_and_cpu_affinity_answer_their_injected_error(start, default_profile):
    h = start(default_profile, lambda p: p["devices"][0].update(
        nvmlDeviceValidateInforom={"error": "CORRUPTED_INFOROM"}))
    with pytest.raises(N.NVMLError_CorruptedInforom):
        N.nvmlDeviceValidateInforom(h)
    assert N.nvmlDeviceValidateInforom(N.nvmlDeviceGetHandleByIndex(1)) is None
    assert N.nvmlDeviceSetCpuAffinity(h) is None and N.nvmlDeviceClearCpuAffinity(h) is None


# --- errors for every setter -------------------------------------------------------------------

STR_ARGS = {"hostname"}


def py_args(f):
    """[(name, Type or 'int'/'str')]: the Python arguments without a default."""
    if "pyargs" not in f.options:
        return [(p.name, p.type) for p in f.inputs]
    by_name = {p.name: p.type for p in f.inputs}
    return [(a, by_name.get(a, "str" if a in STR_ARGS else "list" if a == "fieldIds" else "int"))
            for a in f.options["pyargs"].split(",") if "=" not in a]


def args_of(f, handle):
    """Arguments the setter accepts (their values may be refused by the simulator)."""
    out = []
    for _, t in py_args(f):
        if t == "str":
            out.append("gpu-host")
        elif t == "list":
            out.append([83])
        elif t == "int":
            out.append(0)
        elif t.kind == "handle":
            out.append(handle)
        elif t.kind == "struct":
            st = SPEC.structs[t.base]
            obj = getattr(N, st.pyname)()
            if st.version:
                obj.version = getattr(N, st.version)
            out.append(obj)
        else:
            out.append(0)
    return out


def call(f, args):
    """The setter's NVMLError class name, or None; a `result=rc` setter's returned code as one."""
    try:
        r = getattr(N, f.pyname)(*args)
    except N.NVMLError as e:
        return type(e).__name__
    if f.options.get("result") == "rc" and r:
        return type(N.NVMLError(r)).__name__
    return None


@pytest.mark.parametrize("code, cls", [("NO_PERMISSION", "NVMLError_NoPermission"),
                                       ("NVML_ERROR_NOT_SUPPORTED", "NVMLError_NotSupported"),
                                       ("GPU_IS_LOST", "NVMLError_GpuIsLost")])
@pytest.mark.parametrize("name", [f.pyname for f in SETTERS])
def test_injected_error_at_the_setters_key(name, code, cls, start, default_profile):
    f = next(x for x in SETTERS if x.pyname == name)
    where = "system" if name.startswith("nvmlSystem") else "device"

    def edit(p):
        (p["system"] if where == "system" else p["devices"][0])[f.csym] = {"error": code}
    h = start(rich(default_profile), edit)
    assert call(f, args_of(f, h)) == cls
    if where == "device" and code != "NVML_ERROR_NOT_SUPPORTED":   # the other GPU is not affected
        assert call(f, args_of(f, N.nvmlDeviceGetHandleByIndex(1))) != cls


@pytest.mark.parametrize("name", [f.pyname for f in SETTERS if f.options.get("sets")])
def test_getter_error_is_the_setters_error(name, start, default_profile):
    """A setter is supported where its getter is: the getter's {"error"} answers for both."""
    f = next(x for x in SETTERS if x.pyname == name)
    first = f.options["sets"].split(";")[0].lstrip("?").split("/")[0].split("=")[0]

    def edit(p):
        for node in [p["system"]] if name.startswith("nvmlSystem") else p["devices"]:
            node[first] = {"error": "NVML_ERROR_NO_PERMISSION"}
    h = start(rich(default_profile), edit)
    # (the checks of the value come first: 0 may be out of range)
    allowed = {"NVMLError_NoPermission"} | ({"NVMLError_InvalidArgument"} if "checks" in f.options else set())
    assert call(f, args_of(f, h)) in allowed


def test_no_permission_as_for_a_user_who_is_not_root(start, default_profile):
    """A profile for a non-root user: every setter NO_PERMISSION, the getters unchanged."""
    def edit(p):
        for f in SETTERS:
            (p["system"] if f.pyname.startswith("nvmlSystem") else p["devices"][0])[f.csym] = \
                {"error": "NVML_ERROR_NO_PERMISSION"}
    h = start(rich(default_profile), edit)
    for f in SETTERS:
        assert call(f, args_of(f, h)) == "NVMLError_NoPermission", f.pyname
    assert N.nvmlDeviceGetPersistenceMode(h) == 1 and N.nvmlDeviceGetPowerManagementLimit(h) == 700000


# --- "changes nothing": every getter that takes only the device, before and after ---------------

# getters that need more than the device (keyed by a fan, a link, a clock type, ...): the
# snapshot reads them at argument 0 (and 1 for a second one)
def _snapshot_calls():
    calls = []
    for g in SPEC.functions:
        if not (g.python and g.pyname.startswith("nvmlDeviceGet") and g.params and g.params[0].type.kind == "handle"):
            continue
        ins = [p for p in g.params if p.role in ("in", "ref")][1:]
        if any(p.type.kind != "scalar" for p in ins if p.default is None):
            continue
        calls.append((g.pyname, [0] * sum(p.default is None for p in ins)))
    return calls


SNAPSHOT_CALLS = _snapshot_calls()


def _plain(v):
    """A getter's answer as plain data (structs by their bytes, handles by their index)."""
    if isinstance(v, (list, tuple)) or (isinstance(v, ctypes.Array) and not isinstance(v, (bytes, str))):
        return [_plain(x) for x in v]
    if isinstance(v, (ctypes.Structure, ctypes.Union)):
        return bytes(v)
    if isinstance(v, N.nvmlFriendlyObject):
        return {k: _plain(x) for k, x in vars(v).items()}
    if type(v).__name__.endswith("_t") or "Handle" in type(v).__name__:
        return type(v).__name__
    return v


def snapshot(h):
    """{getter: its answer, or its exception's class}, for device 0's getters (but the
    samples, which are the simulator's clock's)."""
    out = {}
    for name, args in SNAPSHOT_CALLS:
        if name == "nvmlDeviceGetSamples":
            continue
        try:
            out[name] = _plain(getattr(N, name)(h, *args))
        except N.NVMLError as e:
            out[name] = type(e).__name__
        except (TypeError, ValueError) as e:
            out[name] = type(e).__name__
    return out


def getters_written(f):
    """The getters whose data the setter `f` writes (the keys of its sets=, clears=, copies=)."""
    keys = []
    for opt in ("sets", "clears", "copies"):
        for part in str(f.options.get(opt, "")).split(";"):
            key = part.split("=")[0].split(">")[-1].split("/")[0].strip()   # copies=FROM>TO
            if key.startswith("nvmlDeviceGet"):
                keys.append(PYNAME_OF_KEY.get(key, key))
    return keys


# the simulator's keys (C names, or a function's simkey=) -> the Python function
PYNAME_OF_KEY = {g.options.get("simkey", g.csym): g.pyname for g in SPEC.functions if g.python}


# written by setters, read by getters that fill a caller's struct (not in the snapshot)
NO_PLAIN_GETTER = {"nvmlDeviceGetAdaptiveTgpModeInfo_v1", "nvmlDeviceGetNvlinkBwMode", "nvmlDeviceGetClockOffsets",
                   "nvmlDeviceGetPowerMizerMode_v1"}


def test_snapshot_is_steady_and_sees_a_change(h):
    a = snapshot(h)
    assert len(a) > 150 and snapshot(h) == a      # nothing moves on its own
    assert sum(not isinstance(v, str) or not v.startswith("NVMLError") for v in a.values()) > 100
    N.nvmlDeviceSetPersistenceMode(h, 0)
    b = snapshot(h)
    assert {k for k in a if a[k] != b[k]} == {"nvmlDeviceGetPersistenceMode"}


@pytest.mark.parametrize("name", [f.pyname for f in SETTERS])
def test_wrong_types_are_type_errors_and_change_nothing(name, h):
    f = next(x for x in SETTERS if x.pyname == name)
    good = args_of(f, h)
    fn = getattr(N, name)
    before = snapshot(h)
    for i, (_, t) in enumerate(py_args(f)):
        bads = (1, 1.5, None, object()) if t in ("str", "list") else ("1", 1.5, None, object())
        for bad in bads + ((ctypes.c_uint(1),) if getattr(t, "kind", "") == "struct" else ()):
            args = list(good)
            args[i] = bad
            with pytest.raises(TypeError):
                fn(*args)
    optional = sum("=" in a for a in f.options.get("pyargs", "").split(","))
    with pytest.raises(TypeError):
        fn(*good, *[0] * (optional + 1))   # one argument too many
    after = snapshot(h)
    # what the setter's own getters answer (its sets=/clears=/copies= keys) among them
    assert set(getters_written(f)) <= set(before) | NO_PLAIN_GETTER, getters_written(f)
    assert after == before


@pytest.mark.parametrize("name", [f.pyname for f in SETTERS])
def test_setters_need_init_and_a_live_handle(name, h):
    f = next(x for x in SETTERS if x.pyname == name)
    args = args_of(f, h)
    N.nvmlShutdown()
    assert call(f, args) == "NVMLError_Uninitialized"


# --- how long the state lives --------------------------------------------------------------

def test_state_outlives_shutdown_and_starts_again_with_the_profile(start, default_profile, use_profile):
    """Settings survive nvmlShutdown + nvmlInit (as a GPU's outlive an NVML session); a
    profile loaded anew (another path, or the file changed) starts from its data."""
    h = start(default_profile)
    N.nvmlDeviceSetPersistenceMode(h, 0)
    N.nvmlDeviceSetApplicationsClocks(h, 1593, 1000)
    N.nvmlShutdown()
    N.nvmlInit()
    h = N.nvmlDeviceGetHandleByIndex(0)   # a handle from before the shutdown is stale
    assert N.nvmlDeviceGetPersistenceMode(h) == 0
    assert N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_MEM) == 1593
    N.nvmlShutdown()
    use_profile(default_profile)   # the same data from another file: loaded anew
    N.nvmlInit()
    h = N.nvmlDeviceGetHandleByIndex(0)
    assert N.nvmlDeviceGetPersistenceMode(h) == 1
    assert N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_MEM) == 2619


def test_a_nested_init_keeps_the_state(h):
    N.nvmlDeviceSetPersistenceMode(h, 0)
    N.nvmlInit()
    N.nvmlShutdown()
    assert N.nvmlDeviceGetPersistenceMode(h) == 0


def test_setters_and_getters_in_threads(h):
    """Writers and readers at once: every read is one of the written values."""
    errors = []
    stop = threading.Event()

    def writer(v):
        for i in range(2000):
            N.nvmlDeviceSetPowerManagementLimit(h, v)
            N.nvmlDeviceClearAccountingPids(h)
            N.nvmlDeviceSetApplicationsClocks(h, 1593 if i % 2 else 2619, 1000)
            N.nvmlDeviceResetApplicationsClocks(h)

    def reader():
        while not stop.is_set():
            if N.nvmlDeviceGetPowerManagementLimit(h) not in (700000, 300000, 400000):
                errors.append("limit")
            if N.nvmlDeviceGetApplicationsClock(h, N.NVML_CLOCK_MEM) not in (2619, 1593):
                errors.append("clock")
            N.nvmlDeviceGetAccountingPids(h)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(v,)) for v in (300000, 400000)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert N.nvmlDeviceGetPowerManagementLimit(h) in (300000, 400000)


# --- never on a real GPU --------------------------------------------------------------------

def test_setters_are_never_swept_or_compared_on_a_real_gpu():
    """tools/crash_sweep.py --read-only (the sweep on a real GPU) leaves out every setter of
    this family, and the comparison with nvidia-ml-py never calls one."""
    import importlib.util
    import sys
    from conftest import ROOT
    spec = importlib.util.spec_from_file_location("crash_sweep_for_test", ROOT / "tools" / "crash_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    sys.path.insert(0, str(ROOT / "tools"))
    import compare_with_nvidia_ml_py as cmp
    for f in SETTERS + [s for s in SPEC.functions if s.pyname in (
            "nvmlDeviceModifyDrainState", "nvmlDeviceRemoveGpu", "nvmlDeviceDiscoverGpus",
            "nvmlDeviceWorkloadPowerProfileSetRequestedProfiles",
            "nvmlDeviceWorkloadPowerProfileClearRequestedProfiles")]:
        assert sweep.MUTATING.search(f.pyname[4:]), f.pyname
        assert not cmp.is_read_only(f.pyname), f.pyname


# --- the caller's structs: filled in place, or read -----------------------------------------

def with_structs(p):
    for d in p["devices"]:
        d["nvmlDeviceGetClockOffsets"] = {"0": {"0": {"clockOffsetMHz": 0, "minClockOffsetMHz": -300,
                                                      "maxClockOffsetMHz": 500}}}
        d["nvmlDeviceGetPowerMizerMode_v1"] = {"currentMode": 2, "mode": 2, "supportedPowerMizerModes": 15}
        d["nvmlDeviceGetNvlinkBwMode"] = {"bIsBest": 1, "bwMode": 0}
        d["nvmlDeviceGetNvlinkSupportedBwModes"] = {"bwModes": [0, 1, 2], "totalBwModes": 3}
        mask = {"mask": [0b1011, 0, 0, 0, 0, 0, 0, 0]}
        d["nvmlDeviceWorkloadPowerProfileGetCurrentProfiles"] = {
            "perfProfilesMask": mask, "requestedProfilesMask": {"mask": [0] * 8},
            "enforcedProfilesMask": {"mask": [0] * 8}}
        d["nvmlDeviceWorkloadPowerProfileGetProfilesInfo"] = {
            "perfProfilesMask": mask, "perfProfile": [{"profileId": 0, "priority": 3}, {"profileId": 1, "priority": 1}]}
    return p


@pytest.fixture
def hs(start, default_profile):
    return start(with_structs(rich(default_profile)))


def offset(type_=0, pstate=0, mhz=0):
    o = N.c_nvmlClockOffset_t()
    o.version, o.type, o.pstate, o.clockOffsetMHz = N.nvmlClockOffset_v1, type_, pstate, mhz
    return o


def test_clock_offsets(hs):
    info = offset()
    assert N.nvmlDeviceGetClockOffsets(hs, info) == N.NVML_SUCCESS
    assert (info.clockOffsetMHz, info.minClockOffsetMHz, info.maxClockOffsetMHz) == (0, -300, 500)
    assert N.nvmlDeviceSetClockOffsets(hs, offset(mhz=250)) == N.NVML_SUCCESS
    got = offset()
    N.nvmlDeviceGetClockOffsets(hs, got)
    assert got.clockOffsetMHz == 250 and got.type == 0 and got.version == N.nvmlClockOffset_v1
    for mhz in (-301, 501):
        with pytest.raises(N.NVMLError_InvalidArgument):
            N.nvmlDeviceSetClockOffsets(hs, offset(mhz=mhz))
    with pytest.raises(N.NVMLError_InvalidArgument):     # a P-state without offsets
        N.nvmlDeviceGetClockOffsets(hs, offset(pstate=5))
    bad = offset()
    bad.version = 0
    with pytest.raises(N.NVMLError_ArgumentVersionMismatch):
        N.nvmlDeviceGetClockOffsets(hs, bad)
    with pytest.raises(N.NVMLError_ArgumentVersionMismatch):
        N.nvmlDeviceSetClockOffsets(hs, bad)
    with pytest.raises(TypeError):
        N.nvmlDeviceGetClockOffsets(hs, 0)


def test_clock_offsets_on_the_default_profile_are_a_range_of_zero(start, default_profile):
    h = start(default_profile)
    info = offset(type_=N.NVML_CLOCK_MEM)
    N.nvmlDeviceGetClockOffsets(h, info)
    assert (info.clockOffsetMHz, info.minClockOffsetMHz, info.maxClockOffsetMHz) == (0, 0, 0)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetClockOffsets(h, offset(mhz=1))


def test_power_mizer_mode_returns_the_code(hs):
    info = N.c_nvmlDevicePowerMizerModes_v1_t()
    assert N.nvmlDeviceGetPowerMizerMode_v1(hs, info) == N.NVML_SUCCESS
    assert (info.currentMode, info.mode, info.supportedPowerMizerModes) == (2, 2, 15)
    info.mode = N.NVML_POWER_MIZER_MODE_PREFER_MAXIMUM_PERFORMANCE
    assert N.nvmlDeviceSetPowerMizerMode_v1(hs, info) == N.NVML_SUCCESS
    got = N.c_nvmlDevicePowerMizerModes_v1_t()
    N.nvmlDeviceGetPowerMizerMode_v1(hs, got)
    assert (got.currentMode, got.mode) == (1, 1)
    info.mode = 9   # nvidia-ml-py returns the code here: no exception
    assert N.nvmlDeviceSetPowerMizerMode_v1(hs, info) == N.NVML_ERROR_INVALID_ARGUMENT


def test_power_mizer_not_supported_on_the_h100(start, default_profile):
    h = start(default_profile)
    assert N.nvmlDeviceGetPowerMizerMode_v1(h, N.c_nvmlDevicePowerMizerModes_v1_t()) == N.NVML_ERROR_NOT_SUPPORTED


def test_nvlink_bandwidth_mode(hs):
    modes = N.c_nvmlNvlinkSupportedBwModes_v1_t()
    modes.version = N.nvmlNvlinkSupportedBwModes_v1
    assert N.nvmlDeviceGetNvlinkSupportedBwModes(hs, modes) == N.NVML_SUCCESS
    assert modes.totalBwModes == 3 and list(modes.bwModes[:3]) == [0, 1, 2]
    s = N.c_nvmlNvlinkSetBwMode_v1_t()
    s.version, s.bSetBest, s.bwMode = N.nvmlNvlinkSetBwMode_v1, 0, 2
    assert N.nvmlDeviceSetNvlinkBwMode(hs, s) == N.NVML_SUCCESS
    g = N.c_nvmlNvlinkGetBwMode_v1_t()
    g.version = N.nvmlNvlinkGetBwMode_v1
    assert N.nvmlDeviceGetNvlinkBwMode(hs, g) == N.NVML_SUCCESS
    assert (g.bIsBest, g.bwMode) == (0, 2)
    s.bwMode = 7   # not a supported mode
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetNvlinkBwMode(hs, s)


def test_nvlink_bandwidth_mode_not_supported_on_the_h100(start, default_profile):
    h = start(default_profile)
    g = N.c_nvmlNvlinkGetBwMode_v1_t()
    g.version = N.nvmlNvlinkGetBwMode_v1
    with pytest.raises(N.NVMLError_NotSupported):
        N.nvmlDeviceGetNvlinkBwMode(h, g)


def test_workload_power_profiles(hs):
    cur = N.c_nvmlWorkloadPowerProfileCurrentProfiles_v1_t()
    cur.version = N.nvmlWorkloadPowerProfileCurrentProfiles_v1
    info = N.c_nvmlWorkloadPowerProfileProfilesInfo_v1_t()
    info.version = N.nvmlWorkloadPowerProfileProfilesInfo_v1
    assert N.nvmlDeviceWorkloadPowerProfileGetProfilesInfo(hs, info) == N.NVML_SUCCESS
    assert info.perfProfilesMask.mask[0] == 0b1011 and info.perfProfile[0].priority == 3
    req = N.c_nvmlWorkloadPowerProfileRequestedProfiles_v1_t()
    req.version = N.nvmlWorkloadPowerProfileRequestedProfiles_v1
    req.requestedProfilesMask.mask = [0b1001] + [0] * 7
    assert N.nvmlDeviceWorkloadPowerProfileSetRequestedProfiles(hs, req) == N.NVML_SUCCESS
    N.nvmlDeviceWorkloadPowerProfileGetCurrentProfiles(hs, cur)
    assert cur.requestedProfilesMask.mask[0] == 0b1001
    req.requestedProfilesMask.mask = [0b0010] + [0] * 7
    N.nvmlDeviceWorkloadPowerProfileSetRequestedProfiles(hs, req)
    req.requestedProfilesMask.mask = [0b0001] + [0] * 7
    assert N.nvmlDeviceWorkloadPowerProfileClearRequestedProfiles(hs, req) == N.NVML_SUCCESS
    N.nvmlDeviceWorkloadPowerProfileGetCurrentProfiles(hs, cur)
    assert cur.requestedProfilesMask.mask[0] == 0b1010
    req.requestedProfilesMask.mask = [0b0100] + [0] * 7   # a profile the GPU does not have
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceWorkloadPowerProfileSetRequestedProfiles(hs, req)
    req.version = 0
    with pytest.raises(N.NVMLError_ArgumentVersionMismatch):
        N.nvmlDeviceWorkloadPowerProfileClearRequestedProfiles(hs, req)


def test_power_smoothing_checks_its_arguments(hs):
    prof = N.c_nvmlPowerSmoothingProfile_v1_t()
    prof.profileId, prof.paramId, prof.value = 1, 2, 0.5
    assert N.nvmlDevicePowerSmoothingActivatePresetProfile(hs, prof) is None
    assert N.nvmlDevicePowerSmoothingUpdatePresetProfileParam(hs, prof) is None
    prof.paramId = 8
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDevicePowerSmoothingUpdatePresetProfileParam(hs, prof)
    state = N.c_nvmlPowerSmoothingState_v1_t()
    state.state = 1
    assert N.nvmlDevicePowerSmoothingSetState(hs, state) is None
    state.state = 2
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDevicePowerSmoothingSetState(hs, state)


def test_system_conf_compute_settings_and_key_rotation(h):
    s = N.c_nvmlSystemConfComputeSettings_v1_t()
    s.version = N.nvmlSystemConfComputeSettings_v1
    assert N.nvmlSystemGetConfComputeSettings(s) == N.NVML_SUCCESS
    assert (s.environment, s.ccFeature, s.devToolsMode, s.multiGpuMode) == (0, 0, 0, 0)
    s.version = 1   # nvidia-ml-py returns the code here
    assert N.nvmlSystemGetConfComputeSettings(s) == N.NVML_ERROR_ARGUMENT_VERSION_MISMATCH
    k = N.nvmlSystemGetConfComputeKeyRotationThresholdInfo()
    assert type(k).__name__ == "c_nvmlConfComputeGetKeyRotationThresholdInfo_t"
    assert (k.version, k.attackerAdvantage) == (N.ConfComputeGetKeyRotationThresholdInfo_v1, 60)


def test_drain_state_by_pci_address(h):
    pci = N.nvmlDeviceGetPciInfo(h)
    assert N.nvmlDeviceQueryDrainState(pci) == 0
    with pytest.raises(N.NVMLError_InUse):   # removal wants a drained GPU
        N.nvmlDeviceRemoveGpu(pci)
    assert N.nvmlDeviceModifyDrainState(pci, N.NVML_FEATURE_ENABLED) is None
    assert N.nvmlDeviceQueryDrainState(pci) == 1
    assert N.nvmlDeviceQueryDrainState(N.nvmlDeviceGetPciInfo(N.nvmlDeviceGetHandleByIndex(1))) == 0
    assert N.nvmlDeviceRemoveGpu(pci) is None
    assert N.nvmlDeviceDiscoverGpus(pci) is None
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceModifyDrainState(pci, 2)
    other = N.nvmlPciInfo_t()
    other.busId = b"0000:99:00.0"
    with pytest.raises(N.NVMLError_NotFound):
        N.nvmlDeviceQueryDrainState(other)
    with pytest.raises(TypeError):
        N.nvmlDeviceQueryDrainState(h)


def test_drain_state_injected_no_permission(start, default_profile):
    h = start(default_profile, lambda p: p["devices"][0].update(
        nvmlDeviceModifyDrainState={"error": "NO_PERMISSION"}))
    pci = N.nvmlDeviceGetPciInfo(h)
    with pytest.raises(N.NVMLError_NoPermission):
        N.nvmlDeviceModifyDrainState(pci, 1)
    assert N.nvmlDeviceQueryDrainState(pci) == 0


def test_filled_structs_agree_with_nvidia_ml_py(hs, ref):
    """nvidia-ml-py passes the struct through (a caller gives it byref): the same values."""
    ref.nvmlInit()
    try:
        rh = ref.nvmlDeviceGetHandleByIndex(0)
        mine, theirs = offset(), ref.c_nvmlClockOffset_t()
        theirs.version = ref.nvmlClockOffset_v1
        N.nvmlDeviceGetClockOffsets(hs, mine)
        assert ref.nvmlDeviceGetClockOffsets(rh, ctypes.byref(theirs)) == 0
        assert [getattr(mine, n) for n, _ in theirs._fields_] == [getattr(theirs, n) for n, _ in theirs._fields_]
        pm, rpm = N.c_nvmlDevicePowerMizerModes_v1_t(), ref.c_nvmlDevicePowerMizerModes_v1_t()
        assert N.nvmlDeviceGetPowerMizerMode_v1(hs, pm) == ref.nvmlDeviceGetPowerMizerMode_v1(rh, ctypes.byref(rpm))
        assert (pm.currentMode, pm.mode) == (rpm.currentMode, rpm.mode)
        assert ref.nvmlDeviceGetCpuAffinity is not None
    finally:
        ref.nvmlShutdown()


# --- nvidia-ml-py builds the struct from arguments; outputs to the caller's ctypes objects ---

def test_dram_encryption_mode_is_pending(h):
    assert N.nvmlDeviceGetDramEncryptionMode(h) == [0, 0]
    assert N.nvmlDeviceSetDramEncryptionMode(h, N.NVML_FEATURE_ENABLED) is None
    assert N.nvmlDeviceGetDramEncryptionMode(h) == [0, 1]
    assert N.nvmlDeviceGetCurrentDramEncryptionMode(h) == 0 and N.nvmlDeviceGetPendingDramEncryptionMode(h) == 1
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlDeviceSetDramEncryptionMode(h, 2)


def test_dram_encryption_not_supported_on_the_h100(start, default_profile):
    h = start(default_profile)
    with pytest.raises(N.NVMLError_NotSupported):
        N.nvmlDeviceSetDramEncryptionMode(h, 1)
    with pytest.raises(N.NVMLError_NotSupported):
        N.nvmlDeviceGetPendingDramEncryptionMode(h)


def test_power_limit_v2(h):
    assert N.nvmlDeviceSetPowerManagementLimit_v2(h, N.NVML_POWER_SCOPE_GPU, 500000) == N.NVML_SUCCESS
    assert N.nvmlDeviceGetPowerManagementLimit(h) == 500000
    with pytest.raises(N.NVMLError_InvalidArgument):   # outside the constraints
        N.nvmlDeviceSetPowerManagementLimit_v2(h, N.NVML_POWER_SCOPE_GPU, 100)
    with pytest.raises(N.NVMLError_InvalidArgument):   # a scope the simulated GPU has no limit of
        N.nvmlDeviceSetPowerManagementLimit_v2(h, N.NVML_POWER_SCOPE_MODULE, 500000)
    with pytest.raises(N.NVMLError_ArgumentVersionMismatch):
        N.nvmlDeviceSetPowerManagementLimit_v2(h, 0, 500000, version=1)
    assert N.nvmlDeviceSetPowerManagementLimit_v2(h, 0, 600000, N.nvmlPowerValue_v2) == 0
    assert N.nvmlDeviceGetPowerManagementLimit(h) == 600000


def test_hostname_low_power_threshold_and_key_rotation(h):
    assert N.nvmlDeviceSetHostname_v1(h, "node-17") is None
    assert N.nvmlDeviceSetHostname_v1(h, b"node-17") is None
    with pytest.raises(ValueError):
        N.nvmlDeviceSetHostname_v1(h, "x" * 64)
    assert N.nvmlDeviceSetNvLinkDeviceLowPowerThreshold(h, 100) == N.NVML_SUCCESS
    assert N.nvmlSystemSetConfComputeKeyRotationThresholdInfo(55) == N.NVML_SUCCESS
    assert N.nvmlSystemGetConfComputeKeyRotationThresholdInfo().attackerAdvantage == 55
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlSystemSetConfComputeKeyRotationThresholdInfo(49)
    with pytest.raises(N.NVMLError_InvalidArgument):
        N.nvmlSystemSetConfComputeKeyRotationThresholdInfo(66)


def test_min_max_fan_speed_and_offsets_into_ctypes_objects(h):
    assert N.nvmlDeviceGetMinMaxFanSpeed(h) == [30, 100]
    lo, hi = ctypes.c_uint(), ctypes.c_uint()
    assert N.nvmlDeviceGetMinMaxFanSpeed(h, lo, hi) == [30, 100] and (lo.value, hi.value) == (30, 100)
    lo, hi = ctypes.c_uint(), ctypes.c_uint()
    assert N.nvmlDeviceGetMinMaxFanSpeed(h, ctypes.byref(lo), ctypes.pointer(hi)) == N.NVML_SUCCESS
    assert (lo.value, hi.value) == (30, 100)
    assert N.nvmlDeviceGetGpcClkMinMaxVfOffset(h) == (-200, 1000)
    a, b = ctypes.c_int(), ctypes.c_int()
    assert N.nvmlDeviceGetMemClkMinMaxVfOffset(h, a, b) == (-1000, 1500) and (a.value, b.value) == (-1000, 1500)
    p = ctypes.c_uint(7)
    assert N.nvmlDeviceGetFanControlPolicy_v2(h, 1) == 0
    N.nvmlDeviceSetFanSpeed_v2(h, 1, 70)   # a set speed makes the policy manual
    assert N.nvmlDeviceGetFanControlPolicy_v2(h, 1, p) == N.NVML_FAN_POLICY_MANUAL == p.value
    N.nvmlDeviceSetDefaultFanSpeed_v2(h, 1)
    assert N.nvmlDeviceGetFanControlPolicy_v2(h, 1, ctypes.byref(p)) == N.NVML_SUCCESS and p.value == 0
    with pytest.raises(N.NVMLError_InvalidArgument):   # 0 is a NULL pointer to nvidia-ml-py
        N.nvmlDeviceGetMinMaxFanSpeed(h, 0)
    for bad in (1, 1.5, "x", [], object(), ctypes.c_uint):
        with pytest.raises(TypeError):
            N.nvmlDeviceGetMinMaxFanSpeed(h, bad)


def test_ctypes_outputs_agree_with_nvidia_ml_py(h, ref):
    ref.nvmlInit()
    try:
        rh = ref.nvmlDeviceGetHandleByIndex(0)
        assert N.nvmlDeviceGetMinMaxFanSpeed(h) == ref.nvmlDeviceGetMinMaxFanSpeed(rh, ctypes.c_uint(), ctypes.c_uint())
        assert N.nvmlDeviceGetGpcClkMinMaxVfOffset(h) == ref.nvmlDeviceGetGpcClkMinMaxVfOffset(
            rh, ctypes.c_int(), ctypes.c_int())
        a, b = ctypes.c_uint(), ctypes.c_uint()
        assert ref.nvmlDeviceGetMinMaxFanSpeed(rh, ctypes.byref(a), ctypes.byref(b)) == \
            N.nvmlDeviceGetMinMaxFanSpeed(h, ctypes.byref(a), ctypes.byref(b)) == 0
        assert N.nvmlDeviceGetDramEncryptionMode(h) == ref.nvmlDeviceGetDramEncryptionMode(rh)
    finally:
        ref.nvmlShutdown()


def test_cpu_and_memory_affinity_as_the_h100(start, default_profile):
    h = start(default_profile)
    a = N.nvmlDeviceGetCpuAffinity(h, 1)
    assert type(a) is ctypes.c_ulonglong * 1 and list(a) == [65535]   # a ctypes array, as nvidia-ml-py's
    assert list(N.nvmlDeviceGetCpuAffinity(h, 3)) == [65535, 0, 0]
    assert list(N.nvmlDeviceGetCpuAffinityWithinScope(h, 1, N.NVML_AFFINITY_SCOPE_NODE)) == [65535]
    assert list(N.nvmlDeviceGetMemoryAffinity(h, 2, N.NVML_AFFINITY_SCOPE_SOCKET)) == [1, 0]
    for call_ in (lambda: N.nvmlDeviceGetCpuAffinity(h, 0), lambda: N.nvmlDeviceGetMemoryAffinity(h, 1, 2),
                  lambda: N.nvmlDeviceGetCpuAffinityWithinScope(h, 0, 0)):
        with pytest.raises(N.NVMLError_InvalidArgument):
            call_()
    with pytest.raises(ValueError):
        N.nvmlDeviceGetCpuAffinity(h, 2**32 - 1)
    with pytest.raises(TypeError):
        N.nvmlDeviceGetCpuAffinity(h, "1")
    # affinity is the GPU's, not the thread's: setting and clearing the thread's changes nothing
    N.nvmlDeviceSetCpuAffinity(h)
    N.nvmlDeviceClearCpuAffinity(h)
    assert list(N.nvmlDeviceGetCpuAffinity(h, 1)) == [65535]


def test_affinity_agrees_with_nvidia_ml_py(start, default_profile, ref):
    h = start(default_profile)
    ref.nvmlInit()
    try:
        rh = ref.nvmlDeviceGetHandleByIndex(0)
        assert list(N.nvmlDeviceGetCpuAffinity(h, 2)) == list(ref.nvmlDeviceGetCpuAffinity(rh, 2))
        assert list(N.nvmlDeviceGetMemoryAffinity(h, 1, 0)) == list(ref.nvmlDeviceGetMemoryAffinity(rh, 1, 0))
        assert list(N.nvmlDeviceGetCpuAffinityWithinScope(h, 1, 1)) == \
            list(ref.nvmlDeviceGetCpuAffinityWithinScope(rh, 1, 1))
    finally:
        ref.nvmlShutdown()


def test_affinity_profile_error(start, default_profile):
    h = start(default_profile, lambda p: p["devices"][0].update(nvmlDeviceGetCpuAffinity={"error": "NO_PERMISSION"}))
    with pytest.raises(N.NVMLError_NoPermission):
        N.nvmlDeviceGetCpuAffinity(h, 1)


def test_clear_field_values(h):
    before = {v.fieldId: v for v in N.nvmlDeviceGetFieldValues(h, [83, 169])}
    assert before[83].value.ullVal != 0 and before[169].value.uiVal != 0
    out = N.nvmlDeviceClearFieldValues(h, [83, (169, 0), 9999])
    assert [v.fieldId for v in out] == [83, 169, 9999]
    assert [v.nvmlReturn for v in out] == [N.NVML_SUCCESS, N.NVML_SUCCESS, N.NVML_ERROR_NOT_SUPPORTED]
    after = {v.fieldId: v for v in N.nvmlDeviceGetFieldValues(h, [83, 169])}
    assert after[83].value.ullVal == 0 and after[169].value.uiVal == 0
    assert after[83].valueType == before[83].valueType
    assert N.nvmlDeviceClearFieldValues(h, []) == []
    with pytest.raises(TypeError):
        N.nvmlDeviceClearFieldValues(h, "83")
    with pytest.raises(ValueError):
        N.nvmlDeviceClearFieldValues(h, [(1, 2, 3)])


def test_clear_field_values_injected_error(start, default_profile):
    h = start(default_profile, lambda p: p["devices"][0].update(
        nvmlDeviceClearFieldValues={"error": "NO_PERMISSION"}))
    with pytest.raises(N.NVMLError_NoPermission):
        N.nvmlDeviceClearFieldValues(h, [83])
    assert N.nvmlDeviceGetFieldValues(h, [83])[0].value.ullVal != 0


def test_hostname_is_written_where_the_profile_has_one(start, default_profile):
    h = start(default_profile, lambda p: p["devices"][0].update(nvmlDeviceGetHostname_v1={"value": "old-name"}))
    assert N.nvmlDeviceSetHostname_v1(h, "new-name") is None
    if not hasattr(N._nvml, "nvmlDeviceGetHostname_v1"):
        pytest.skip("nvmlDeviceGetHostname_v1 is another family's (the getters)")
    assert N.nvmlDeviceGetHostname_v1(h) in ("new-name", b"new-name")
    N.nvmlDeviceSetHostname_v1(h, b"")
    assert N.nvmlDeviceGetHostname_v1(h) in ("", b"")
