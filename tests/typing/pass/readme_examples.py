"""The README's examples as a typed client writes them: mypy --strict and pyright
(strict) must find nothing here (make typecheck)."""
from __future__ import annotations

import ctypes

import pynvml
from pynvml import *


def show_all() -> list[tuple[str, int, int]]:
    nvmlInit()
    rows: list[tuple[str, int, int]] = []
    for i in range(nvmlDeviceGetCount()):
        h: c_nvmlDevice_t = nvmlDeviceGetHandleByIndex(i)
        mem = nvmlDeviceGetMemoryInfo(h)
        rows.append((nvmlDeviceGetName(h), mem.used, nvmlDeviceGetUtilizationRates(h).gpu))
    nvmlShutdown()
    return rows


def details(h: c_nvmlDevice_t) -> None:
    total: int = nvmlDeviceGetMemoryInfo(h).total
    v2 = nvmlDeviceGetMemoryInfo(h, version=nvmlMemory_v2)
    temp: int = nvmlDeviceGetTemperature(h, NVML_TEMPERATURE_GPU)
    major, minor = nvmlDeviceGetCudaComputeCapability(h)
    pids: list[int] = [p.pid for p in nvmlDeviceGetComputeRunningProcesses(h)]
    used: list[int | None] = [p.usedGpuMemory for p in nvmlDeviceGetComputeRunningProcesses(h)]
    print(total, v2.total, temp, major + minor, pids, used)
    try:
        nvmlDeviceGetFanSpeed(h)
    except NVMLError_NotSupported as e:
        code: int = e.value
        print(code, str(e))
    except NVMLError as e:
        print(type(e) is nvmlExceptionClass(e.value))


def events() -> None:
    nvmlInit()
    es = nvmlEventSetCreate()
    nvmlDeviceRegisterEvents(nvmlDeviceGetHandleByIndex(0), nvmlEventTypeXidCriticalError, es)
    lib = pynvml.nvmlLib
    if lib is not None:
        lib.pynvmlSimFireEvent(0, ctypes.c_ulonglong(8), ctypes.c_ulonglong(79))
    e = nvmlEventSetWait(es, 1000)
    print(e.eventType, e.eventData, e.device)
    nvmlEventSetFree(es)
    nvmlShutdown()


def mig(gpu: c_nvmlDevice_t) -> None:
    info = nvmlDeviceGetGpuInstanceProfileInfo(gpu, NVML_GPU_INSTANCE_PROFILE_1_SLICE)
    name: str = info.name
    left: int = nvmlDeviceGetGpuInstanceRemainingCapacity(gpu, info.id)
    spots = [(p.start, p.size) for p in nvmlDeviceGetGpuInstancePossiblePlacements(gpu, 9)]
    for gi in nvmlDeviceGetGpuInstances(gpu, info.id):
        for ci in nvmlGpuInstanceGetComputeInstances(gi, 0):
            print(ci.value)
    print(name, left, spots, info.memorySizeMB)


def setters(gpu: c_nvmlDevice_t) -> None:
    nvmlDeviceSetPersistenceMode(gpu, 0)
    mode: int = nvmlDeviceGetPersistenceMode(gpu)
    nvmlDeviceSetApplicationsClocks(gpu, 1593, 1410)
    clocks = (nvmlDeviceGetApplicationsClock(gpu, NVML_CLOCK_MEM),
              nvmlDeviceGetApplicationsClock(gpu, NVML_CLOCK_GRAPHICS))
    nvmlDeviceResetApplicationsClocks(gpu)
    print(mode, clocks)


def structs_and_fields(h: c_nvmlDevice_t) -> None:
    mem = c_nvmlMemory_t(total=1, free=2, used=3)
    m2 = mem.__copy__()
    vals = nvmlDeviceGetFieldValues(h, [NVML_FI_DEV_POWER_INSTANT, (NVML_FI_DEV_NVLINK_BANDWIDTH_C0_TOTAL, 0)])
    for v in vals:
        print(v.fieldId, v.nvmlReturn, v.value.ullVal)
    pages = nvmlDeviceGetRetiredPages_v2(h, NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR)
    addr: list[int] = [p["address"] for p in pages]
    is_mig: bool = bool(nvmlDeviceIsMigDeviceHandle(h))
    same: bool = nvmlDeviceOnSameBoard(h, h)
    pci = nvmlDeviceGetPciInfo(h)
    bus: str = pci.busId
    print(m2.total, addr, is_mig, same, bus)


def units_and_handles() -> None:
    for i in range(nvmlUnitGetCount()):
        u: c_nvmlUnit_t = nvmlUnitGetHandleByIndex(i)
        devs: list[c_nvmlDevice_t] = nvmlUnitGetDevices(u)
        print(nvmlUnitGetUnitInfo(u).name, len(devs))
    sample = nvmlGpmSampleAlloc()
    nvmlGpmSampleFree(sample)


def constants() -> None:
    fmt: str = NVML_DEVICE_PCI_BUS_ID_FMT
    ok: int = NVML_SUCCESS
    err: type[NVMLError] = NVMLError_GpuIsLost
    na: ctypes.c_uint = NVML_VALUE_NOT_AVAILABLE_uint
    print(fmt, ok, err, na.value, pynvml.__version__)


def friendly(h: c_nvmlDevice_t) -> None:
    obj = nvmlStructToFriendlyObject(nvmlDeviceGetMemoryInfo(h))
    back = nvmlFriendlyObjectToStruct(obj, c_nvmlMemory_t())
    print(back.total)


def ctypes_interop(h: c_nvmlDevice_t) -> None:
    """The struct classes are ctypes types: arrays, sizeof, byref, from_buffer_copy."""
    arr = (c_nvmlMemory_t * 4)()
    arr[0].total = 1
    size: int = ctypes.sizeof(c_nvmlMemory_t)
    mem = nvmlDeviceGetMemoryInfo(h)
    ref = ctypes.byref(mem)
    copy = c_nvmlMemory_t.from_buffer_copy(bytes(mem))
    print(size, ref, copy.used, mem.__deepcopy__({}).free)


def pointer_fields(h: c_nvmlDevice_t) -> None:
    """Pointer fields as nvidia-ml-py's: a ctypes array in, a ctypes pointer out."""
    req = (c_nvmlNvlinkTelemetrySample_v1_t * 2)()
    buf = (ctypes.c_ulonglong * 4)()
    req[0].linkId, req[0].sampleCount = 2, 4
    s = c_nvmlNvlinkTelemetrySamples_v1_t(telemetryCount=2, telemetrySamples=req)
    nvmlDeviceGetNvLinkTelemetrySamples_v1(h, s)
    first: int = s.telemetrySamples[0].linkId
    lim = c_nvmlGetMemoryLimits_v1_t(nameSpace="/sys/fs/cgroup/job")
    nvmlDeviceGetMemoryLimits_v1(h, lim)
    path: str | None = lim.nameSpace
    data = c_nvmlEventSetGetContextData_v1_t(data=ctypes.addressof(buf), dataSize=32)
    version: int = c_nvmlPerfMetricsSamples_v1_t().version
    print(first, path, data.data, version, len(buf))


def smi_views() -> None:
    from pynvml.smi import nvidia_smi

    nvsmi = nvidia_smi.getInstance()
    rows = [r["pid"] for r in nvsmi.ComputeApps()]
    version: str = nvsmi.Version()["driver"]
    mig = nvsmi.MigInstances()
    print(rows, version, nvsmi.Dmon("pu"), nvsmi.Topology()["gpus"], mig is None)
