# The stub of _errors.py (the NVMLError base class); the subclasses, one per
# NVML_ERROR_* code, are in __init__.pyi (generated from the spec).
from typing import ClassVar

from typing_extensions import Self

class NVMLError(Exception):
    """An NVML return code other than success; NVMLError(code) gives the subclass for that code."""

    _valClassMapping: ClassVar[dict[int, type[NVMLError]]]
    _errcode_to_string: ClassVar[dict[int, str]]
    value: int
    def __new__(typ, value: int) -> Self: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

def make_error_classes(namespace: dict[str, object]) -> dict[str, type[NVMLError]]: ...
def nvmlExceptionClass(nvmlErrorCode: int) -> type[NVMLError]: ...
