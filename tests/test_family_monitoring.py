"""The getters that nvidia-smi's query engine and monitoring tools (nvitop, gpustat) use,
on the default profile: the values a real H100 (driver 580.159.04) gave, and the MIG
queries of a GPU with MIG off."""
import ctypes

import pytest

import pynvml
from conftest import of_class
pytestmark = pytest.mark.simulator


@pytest.fixture
def h(nvml):
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


def test_h100_values(h):
    d = h[0]
    assert pynvml.nvmlDeviceGetAccountingMode(d) == 0
    assert pynvml.nvmlDeviceGetAccountingBufferSize(d) == 4000
    assert pynvml.nvmlDeviceGetAccountingPids(d) == []
    assert pynvml.nvmlDeviceGetAddressingMode(d) == 0
    assert pynvml.nvmlDeviceGetJpgUtilization(d) == [0, 100000]
    assert pynvml.nvmlDeviceGetOfaUtilization(d) == [0, 100000]
    assert pynvml.nvmlDeviceGetEncoderStats(d) == (0, 0, 0)
    assert pynvml.nvmlDeviceGetEncoderCapacity(d, 0) == 100
    assert pynvml.nvmlDeviceGetEncoderSessions(d) == [] and pynvml.nvmlDeviceGetFBCSessions(d) == []
    fbc = pynvml.nvmlDeviceGetFBCStats(d)
    assert (fbc.sessionsCount, fbc.averageFPS, fbc.averageLatency) == (0, 0, 0)
    assert pynvml.nvmlDeviceGetMarginTemperature(d) == 52
    assert pynvml.nvmlDeviceGetVirtualizationMode(d) == 1
    assert pynvml.nvmlDeviceGetPdi(d) == 0x0123456789ABCDEF
    assert pynvml.nvmlDeviceGetRepairStatus(d) == [0, 0]
    assert pynvml.nvmlDeviceGetUnrepairableMemoryFlag_v1(d) == 0
    hist = pynvml.nvmlDeviceGetRowRemapperHistogram(d)
    assert (hist.max, hist.high, hist.partial, hist.low, hist.none) == (2560, 0, 0, 0, 0)
    assert pynvml.nvmlDeviceGetSupportedMemoryClocks(d) == [2619, 1593]
    assert pynvml.nvmlDeviceGetC2cModeInfoV(d).isC2cEnabled == 0
    assert type(pynvml.nvmlDeviceGetC2cModeInfoV1(d)).__name__ == "c_nvmlC2cModeInfo_v1_t"
    cc = pynvml.nvmlDeviceGetConfComputeMemSizeInfo(d)
    assert (cc.protectedMemSizeKib, cc.unprotectedMemSizeKib) == (0, 83024896)
    pm = pynvml.nvmlDeviceGetConfComputeProtectedMemoryUsage(d)
    assert of_class(pm, pynvml.c_nvmlMemory_t) and (pm.total, pm.free, pm.used) == (0, 0, 0)
    assert pynvml.nvmlDeviceGetCurrentEccMode(d) == 1 and pynvml.nvmlDeviceGetPendingEccMode(d) == 1
    assert pynvml.nvmlDeviceGetDefaultEccMode(d) == [1]
    assert pynvml.nvmlDeviceGetNumGpuCores(d) == 16896 and pynvml.nvmlDeviceGetIrqNum(d) == 41
    assert pynvml.nvmlDeviceGetBusType(d) == 2 and pynvml.nvmlDeviceGetPcieLinkMaxSpeed(d) == 5
    assert pynvml.nvmlDeviceGetSupportedEventTypes(d) == 65439
    assert pynvml.nvmlDeviceGetCurrentClockFreqs(d).startswith("nvclock=345, ")
    assert pynvml.nvmlDeviceGetPerformanceModes(d).startswith("perf=0, ")


def test_driver_model_is_windows_only(h):
    for name in ("nvmlDeviceGetDriverModel", "nvmlDeviceGetDriverModel_v1", "nvmlDeviceGetDriverModel_v2",
                 "nvmlDeviceGetCurrentDriverModel", "nvmlDeviceGetPendingDriverModel"):
        with pytest.raises(pynvml.NVMLError_NotSupported):
            getattr(pynvml, name)(h[0])


def test_mig_queries_on_a_gpu_with_mig_off(h):
    is_mig = pynvml.nvmlDeviceIsMigDeviceHandle(h[0])
    assert type(is_mig) is ctypes.c_uint and is_mig.value == 0     # nvidia-ml-py returns its c_uint
    assert pynvml.nvmlDeviceGetMaxMigDeviceCount(h[0]) == 0
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetMigDeviceHandleByIndex(h[0], 0)
    for fn in (pynvml.nvmlDeviceGetGpuInstanceId, pynvml.nvmlDeviceGetComputeInstanceId,
               pynvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            fn(h[0])


def test_mig_device_handles(default_profile, use_profile):
    """MIG on, one GPU instance with a compute instance: the parent's MIG device is a
    handle, and back (the simulator's MIG model: tests/test_family_mig.py)."""
    prof = default_profile
    prof["devices"][0]["nvmlDeviceGetMigMode"] = [1, 1]
    use_profile(prof)
    pynvml.nvmlInit()
    try:
        parent = pynvml.nvmlDeviceGetHandleByIndex(0)
        gi = pynvml.nvmlDeviceCreateGpuInstance(parent, 19)
        pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 0)
        mig = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(parent, 0)
        assert type(mig) is pynvml.c_nvmlDevice_t and mig != parent
        assert bool(pynvml.nvmlDeviceIsMigDeviceHandle(mig)) and not pynvml.nvmlDeviceIsMigDeviceHandle(parent)
        assert pynvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig) == parent
        with pytest.raises(pynvml.NVMLError_NotFound):
            pynvml.nvmlDeviceGetMigDeviceHandleByIndex(parent, 1)
    finally:
        pynvml.nvmlShutdown()


def test_memory_info_v2_reports_reserved(h):
    v1 = pynvml.nvmlDeviceGetMemoryInfo(h[0])
    v2 = pynvml.nvmlDeviceGetMemoryInfo(h[0], version=pynvml.nvmlMemory_v2)
    assert v2.reserved == 503316480 and v2.total == v1.total
    assert v2.used == v1.used - v2.reserved and v2.free == v1.free


def test_scoped_field_values_and_threshold(h):
    got = pynvml.nvmlDeviceGetFieldValues(h[0], [(185, 1), (185, 2), (186, 2), (192, 1)])
    assert [v.nvmlReturn for v in got] == [pynvml.NVML_ERROR_NOT_SUPPORTED, 0, pynvml.NVML_ERROR_NOT_SUPPORTED,
                                           pynvml.NVML_ERROR_NOT_SUPPORTED]
    assert (got[1].valueType, got[1].value.uiVal) == (1, 37950)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetTemperatureThreshold(h[0], 7)
