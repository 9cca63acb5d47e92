"""nvmlDeviceReadPRMCounters_v1 (ext/hand_prm.c, sim/entry_points_prm.c): a list of
c_nvmlPRMCounter_v1_t filled in place, per-counter status, the call's own errors, and
wrong arguments refused before NVML."""
import pytest

import pynvml

simulator = pytest.mark.simulator

PRM = {"1": {"valueType": pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG, "value": 123456789012},
       "2": {"valueType": pynvml.NVML_VALUE_TYPE_DOUBLE, "value": 0.25},
       "3": {"error": "NVML_ERROR_NO_PERMISSION"}}


@pytest.fixture
def gpu(use_profile, default_profile):
    default_profile["devices"][0]["nvmlDeviceReadPRMCounters_v1"] = PRM
    default_profile["devices"][1]["nvmlDeviceReadPRMCounters_v1"] = {"error": "NVML_ERROR_GPU_IS_LOST"}
    use_profile(default_profile)
    pynvml.nvmlInit()
    yield [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(2)]
    pynvml.nvmlShutdown()


@simulator
def test_counters_are_filled_in_place(gpu):
    ctrs = [pynvml.c_nvmlPRMCounter_v1_t(counterId=i) for i in (1, 2, 3, 99)]
    ctrs[0].inputValue.localPort = 1
    assert pynvml.nvmlDeviceReadPRMCounters_v1(gpu[0], ctrs) is None
    out = [c.outputValue for c in ctrs]
    assert (out[0].status, out[0].outputType, out[0].outputValue.ullVal) == (0, 3, 123456789012)
    assert (out[1].status, out[1].outputType, out[1].outputValue.dVal) == (0, 0, 0.25)
    assert out[2].status == pynvml.NVML_ERROR_NO_PERMISSION
    assert out[3].status == pynvml.NVML_ERROR_NOT_SUPPORTED
    assert ctrs[0].counterId == 1 and ctrs[0].inputValue.localPort == 1     # inputs untouched
    assert pynvml.nvmlDeviceReadPRMCounters_v1(gpu[0], tuple(ctrs[:1])) is None


@simulator
def test_empty_list_and_list_struct_without_counters(gpu):
    assert pynvml.nvmlDeviceReadPRMCounters_v1(gpu[0], []) is None
    assert pynvml.nvmlDeviceReadPRMCounters_v1(gpu[0], pynvml.c_nvmlPRMCounterList_v1_t()) is None
    with pytest.raises(pynvml.NVMLError_InvalidArgument):   # counters NULL: as NVML answers
        pynvml.nvmlDeviceReadPRMCounters_v1(gpu[0], pynvml.c_nvmlPRMCounterList_v1_t(numCounters=2))


def _read_list_struct(M, h):
    """nvidia-ml-py's way: a list struct pointing at a ctypes array of counters."""
    arr = (M.c_nvmlPRMCounter_v1_t * 3)()
    for i, cid in enumerate((1, 2, 99)):
        arr[i].counterId = cid
    lst = M.c_nvmlPRMCounterList_v1_t(3, arr)
    del arr                                           # the list struct keeps it
    assert M.nvmlDeviceReadPRMCounters_v1(h, lst) is None
    out = [lst.counters[i].outputValue for i in range(3)]
    return [(o.status, o.outputType, o.outputValue.ullVal) for o in out]


@simulator
def test_list_struct_pointing_at_an_array_as_nvidia_ml_py(gpu, ref_new):
    ours = _read_list_struct(pynvml, gpu[0])
    ref_new.nvmlInit()
    try:
        theirs = _read_list_struct(ref_new, ref_new.nvmlDeviceGetHandleByIndex(0))
    finally:
        ref_new.nvmlShutdown()
    assert ours == theirs
    assert ours[0] == (0, 3, 123456789012) and ours[2][0] == pynvml.NVML_ERROR_NOT_SUPPORTED


@simulator
def test_malformed_counter_data_is_a_status_not_a_crash(use_profile, default_profile):
    default_profile["devices"][0]["nvmlDeviceReadPRMCounters_v1"] = {"1": 5, "2": {"value": 3}, "3": {"valueType": 3}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    try:
        ctrs = [pynvml.c_nvmlPRMCounter_v1_t(counterId=i) for i in (1, 2, 3)]
        pynvml.nvmlDeviceReadPRMCounters_v1(pynvml.nvmlDeviceGetHandleByIndex(0), ctrs)
        assert all(c.outputValue.status != pynvml.NVML_SUCCESS for c in ctrs)
    finally:
        pynvml.nvmlShutdown()


@simulator
def test_the_calls_own_errors(gpu, use_profile, default_profile):
    ctr = pynvml.c_nvmlPRMCounter_v1_t(counterId=1)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        pynvml.nvmlDeviceReadPRMCounters_v1(gpu[1], [ctr])
    assert ctr.outputValue.status == 0 and ctr.outputValue.outputValue.ullVal == 0   # untouched on failure


@simulator
def test_not_supported_where_the_profile_has_no_prm_data(use_profile, default_profile):
    use_profile(default_profile)
    pynvml.nvmlInit()
    try:
        with pytest.raises(pynvml.NVMLError_NotSupported):
            pynvml.nvmlDeviceReadPRMCounters_v1(pynvml.nvmlDeviceGetHandleByIndex(0), [])
    finally:
        pynvml.nvmlShutdown()


@pytest.mark.parametrize("bad", [None, 0, "x", b"\0" * 24, [None], [1], [pynvml.c_nvmlMemory_t()],
                                 object(), [pynvml.c_nvmlPRMCounter_v1_t(), "x"]])
def test_wrong_arguments(nvml, bad):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceReadPRMCounters_v1(h, bad)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceReadPRMCounters_v1(bad, [])


def test_a_ctypes_list_struct_is_refused(nvml):
    # nvidia-ml-py-style code builds a ctypes struct pointing at a ctypes array: never passed by address
    import ctypes

    class CtypesList(ctypes.Structure):
        _fields_ = [("numCounters", ctypes.c_uint), ("counters", ctypes.c_void_p)]

    with pytest.raises(TypeError, match="list of pynvml.c_nvmlPRMCounter_v1_t"):
        pynvml.nvmlDeviceReadPRMCounters_v1(pynvml.nvmlDeviceGetHandleByIndex(0), CtypesList(1, None))


def test_too_many_counters(nvml):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(ValueError, match="at most"):
        pynvml.nvmlDeviceReadPRMCounters_v1(h, [pynvml.c_nvmlPRMCounter_v1_t()] * 65537)
