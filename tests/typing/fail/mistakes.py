"""Deliberate mistakes: each line below must be an error, of exactly the kind its comments
name, to mypy --strict (# type: ignore[code]; --warn-unused-ignores makes an ignore that is
not needed an error) and to pyright (# pyright: ignore[rule]; reportUnnecessaryTypeIgnoreComment
likewise).  Were a stub to fall back to Any, its line would stop being an error and the
check would fail (make typecheck)."""
from __future__ import annotations

from pynvml import *
from pynvml.smi import nvidia_smi

nvmlInit()
h = nvmlDeviceGetHandleByIndex(0)
u = nvmlUnitGetHandleByIndex(0)

# a result's field of the wrong type
bad_total: str = nvmlDeviceGetMemoryInfo(h).total  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
# a str where an int goes
nvmlDeviceGetTemperature(h, "x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
# a unit handle where a device goes
nvmlDeviceGetName(u)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
# a device handle where an event set goes
nvmlEventSetWait(h, 10)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
# an int where a handle goes (nvidia-ml-py crashes on it)
nvmlDeviceGetUUID(0)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
# a field the struct does not have
nvmlDeviceGetUtilizationRates(h).cpu  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
# a tuple result is not a struct
nvmlDeviceGetCudaComputeCapability(h).major  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
# too many arguments
nvmlDeviceGetCount(0)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
# a function that does not exist
nvmlDeviceGetFrobnication(h)  # type: ignore[name-defined]  # pyright: ignore[reportUndefinedVariable]
# a setter returns None
nvmlDeviceSetPersistenceMode(h, 0) + 1  # type: ignore[func-returns-value, operator]  # pyright: ignore[reportOperatorIssue]
# the count is an int
count: str = nvmlDeviceGetCount()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
# a constant is an int, not a str
name: str = NVML_TEMPERATURE_GPU  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
# a process's usedGpuMemory may be None
used: int = nvmlDeviceGetComputeRunningProcesses(h)[0].usedGpuMemory  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
# a struct field takes the field's type
c_nvmlMemory_t(total="big")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
# handles cannot be passed across kinds inside structs either
nvmlDeviceGetGpuInstanceById(u, 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
# the error's code is an int
code: str = NVMLError_NotSupported().value  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
# the placements list, not an int, when no ctypes objects are given
nvmlDeviceGetGpuInstancePossiblePlacements(h, 9) + 1  # type: ignore[operator]  # pyright: ignore[reportOperatorIssue]
# smi: XmlDeviceQuery gives text
nvidia_smi.getInstance().XmlDeviceQuery()["gpu"]  # type: ignore[index]  # pyright: ignore[reportArgumentType]
