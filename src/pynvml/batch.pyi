# The stub of pynvml.batch (hand-written: a Python module, not in the spec).
from collections.abc import Iterable
from typing import Final

from ._nvml import c_nvmlDevice_t

__all__ = ["query", "METRICS"]

METRICS: Final[tuple[str, ...]]

# Each answer is the value as nvidia_smi.DeviceQuery gives it (int, float, str, a list of
# dicts, None) or the NVMLError of that pair: object, to be narrowed (isinstance).
def query(pairs: Iterable[tuple[int | c_nvmlDevice_t, str]]) -> list[object]: ...
