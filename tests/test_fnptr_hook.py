"""A client's pynvml._nvmlGetFunctionPointer (or cache entry) is honoured by our C
functions, as nvidia-ml-py's functions honour it (ext/fnptr_hook.c,
src/pynvml/_compat_names.py): gpustat replaces it to fall back from the _v3 process getters
to _v2, its test suite makes it return Python fakes, and other tools add cache entries."""
import ctypes

import pytest

import pynvml

pytestmark = pytest.mark.simulator

ORIGINAL = pynvml._nvmlGetFunctionPointer


@pytest.fixture
def hooks(nvml):
    """Yields pynvml; puts the lookup back as it was afterwards."""
    yield pynvml
    pynvml._nvmlGetFunctionPointer = ORIGINAL
    pynvml._nvmlGetFunctionPointer_cache.clear()
    assert not pynvml._nvml._fnptr_hooked()


def test_not_hooked_until_a_client_changes_the_lookup(hooks):
    assert not pynvml._nvml._fnptr_hooked()
    assert pynvml._nvmlGetFunctionPointer("nvmlDeviceGetName") is pynvml._nvmlGetFunctionPointer_cache["nvmlDeviceGetName"]
    assert not pynvml._nvml._fnptr_hooked()       # our own lookup filling its cache is no change
    pynvml._nvmlGetFunctionPointer = lambda name: ORIGINAL(name)
    assert pynvml._nvml._fnptr_hooked()
    pynvml._nvmlGetFunctionPointer = ORIGINAL
    assert not pynvml._nvml._fnptr_hooked()


def _fallback(original, calls):
    """gpustat's lookup: the _v2 process getter where the library lacks _v3."""
    def lookup(name):
        calls.append(name)
        if name == "nvmlDeviceGetComputeRunningProcesses_v3":
            return original("nvmlDeviceGetComputeRunningProcesses_v2")
        return original(name)
    return lookup


def test_a_replaced_lookup_picks_the_entry_point_as_in_nvidia_ml_py(hooks, ref):
    ref.nvmlInit()
    try:
        h, rh = pynvml.nvmlDeviceGetHandleByIndex(1), ref.nvmlDeviceGetHandleByIndex(1)
        ours_calls, ref_calls = [], []
        pynvml._nvmlGetFunctionPointer = _fallback(ORIGINAL, ours_calls)
        ref_original = ref._nvmlGetFunctionPointer
        ref._nvmlGetFunctionPointer = _fallback(ref_original, ref_calls)
        try:
            ours = [vars(p) for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h)]
            theirs = [vars(p) for p in ref.nvmlDeviceGetComputeRunningProcesses(rh)]
        finally:
            ref._nvmlGetFunctionPointer = ref_original
        assert ours == theirs and ours[0]["pid"] == 4242
        assert ours_calls == ref_calls == ["nvmlDeviceGetComputeRunningProcesses_v3"]   # once per call
        ours_calls.clear()
        assert pynvml.nvmlDeviceGetName(h) == ref.nvmlDeviceGetName(rh)
        mem = pynvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2)
        assert ours_calls == ["nvmlDeviceGetName", "nvmlDeviceGetMemoryInfo_v2"]
        assert mem.total == ref.nvmlDeviceGetMemoryInfo(rh, version=ref.nvmlMemory_v2).total
    finally:
        ref.nvmlShutdown()


def test_a_cache_entry_is_what_gets_called(hooks, ref):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    serial = pynvml.nvmlDeviceGetSerial(h)
    pynvml._nvmlGetFunctionPointer_cache["nvmlDeviceGetName"] = ORIGINAL("nvmlDeviceGetSerial")
    assert pynvml._nvml._fnptr_hooked()
    assert pynvml.nvmlDeviceGetName(h) == serial          # what nvidia-ml-py does with that entry:
    ref.nvmlInit()
    try:
        ref._nvmlGetFunctionPointer_cache["nvmlDeviceGetName"] = ref._nvmlGetFunctionPointer("nvmlDeviceGetSerial")
        assert ref.nvmlDeviceGetName(ref.nvmlDeviceGetHandleByIndex(0)) == serial
    finally:
        del ref._nvmlGetFunctionPointer_cache["nvmlDeviceGetName"]
        ref.nvmlShutdown()
    pynvml._nvmlGetFunctionPointer_cache.clear()
    assert pynvml.nvmlDeviceGetName(h) != serial


def test_an_error_of_the_lookup_propagates(hooks):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)

    def lookup(name):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
    pynvml._nvmlGetFunctionPointer = lookup
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        pynvml.nvmlDeviceGetUUID(h)
    with pytest.raises(pynvml.NVMLLibraryMismatchError):      # the unversioned getter, as nvidia-ml-py's
        pynvml.nvmlDeviceGetComputeRunningProcesses(h)
    pynvml.nvmlInit()            # init and shutdown keep dlsym: they run under the init lock
    pynvml.nvmlShutdown()


def test_a_ctypes_callback_is_called_from_c(hooks):
    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_uint))
    def count(out):
        out[0] = 7
        return pynvml.NVML_SUCCESS
    pynvml._nvmlGetFunctionPointer_cache["nvmlDeviceGetCount_v2"] = count
    assert pynvml.nvmlDeviceGetCount() == 7


def test_a_python_function_where_none_can_go_is_a_clear_type_error(hooks):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml._nvmlGetFunctionPointer_cache["nvmlDeviceGetUUID"] = lambda *args: 0
    with pytest.raises(TypeError, match=r"_nvmlGetFunctionPointer\('nvmlDeviceGetUUID'\) gave .*ctypes function"):
        pynvml.nvmlDeviceGetUUID(h)
    with pytest.raises(TypeError, match="two callables"):
        pynvml._nvml._set_fnptr_hook(len, None)


def test_a_python_fake_of_the_process_getter_is_called_as_nvidia_ml_py_calls_it(hooks):
    seen = []

    def fake(handle, count, procs):      # gpustat's test suite's fake: its own handle objects
        seen.append(handle)
        if count._obj.value == 0:
            count._obj.value = 1
            return pynvml.NVML_ERROR_INSUFFICIENT_SIZE
        count._obj.value = 1
        procs[0] = pynvml.c_nvmlProcessInfo_t(pid=ctypes.c_uint(99), usedGpuMemory=ctypes.c_ulonglong(2 ** 64 - 1))
        return pynvml.NVML_SUCCESS
    pynvml._nvmlGetFunctionPointer_cache["nvmlDeviceGetGraphicsRunningProcesses_v3"] = fake
    handle = object()
    procs = pynvml.nvmlDeviceGetGraphicsRunningProcesses(handle)
    assert seen == [handle, handle]
    assert [(p.pid, p.usedGpuMemory) for p in procs] == [(99, None)]


def test_a_python_fake_of_memory_info(hooks):
    def fake(handle, mem):
        mem._obj.total, mem._obj.used = 100, 40
        return pynvml.NVML_SUCCESS
    pynvml._nvmlGetFunctionPointer_cache["nvmlDeviceGetMemoryInfo_v2"] = fake
    mem = pynvml.nvmlDeviceGetMemoryInfo("fake handle", version=pynvml.nvmlMemory_v2)
    assert (mem.version, mem.total, mem.used) == (pynvml.nvmlMemory_v2, 100, 40)
