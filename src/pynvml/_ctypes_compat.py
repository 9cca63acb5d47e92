"""ctypes-based names of the original API, for tools that build their own ctypes
structs on them (nvitop subclasses _PrintableStructure).  Imported on first use only,
so `import pynvml` does not pay for ctypes."""
import ctypes

NVML_VALUE_NOT_AVAILABLE_ulonglong = ctypes.c_ulonglong(-1)
NVML_VALUE_NOT_AVAILABLE_uint = ctypes.c_uint(-1)


class _PrintableStructure(ctypes.Structure):
    """A ctypes.Structure that prints as ``Name(field: value, ...)``.

    ``_fmt_`` maps a field name (or ``"<default>"``) to a %-format for its value.
    Byte strings read back as str, and str assigned to a field is stored as bytes.
    """

    _fmt_: "dict[str, str]" = {}

    def __str__(self):
        parts = []
        for field in self._fields_:
            key = field[0]
            fmt = self._fmt_.get(key, self._fmt_.get("<default>", "%s"))
            parts.append(("%s: " + fmt) % (key, getattr(self, key)))
        return "%s(%s)" % (type(self).__name__, ", ".join(parts))

    def __getattribute__(self, name):
        value = super().__getattribute__(name)
        return value.decode() if isinstance(value, bytes) else value

    def __setattr__(self, name, value):
        if isinstance(value, str):
            value = value.encode()
        super().__setattr__(name, value)


# The opaque structs behind NVML's handles, for ctypes code that builds POINTER()s to
# them.  Our own handles are not ctypes pointers, but convert to and from them.
class struct_c_nvmlDevice_t(ctypes.Structure):
    pass


class struct_c_nvmlUnit_t(ctypes.Structure):
    pass


class struct_c_nvmlEventSet_t(ctypes.Structure):
    pass


class struct_c_nvmlSystemEventSet_t(ctypes.Structure):
    pass


class struct_c_nvmlGpuInstance_t(ctypes.Structure):
    pass


class struct_c_nvmlComputeInstance_t(ctypes.Structure):
    pass


class struct_c_nvmlGpmSample_t(ctypes.Structure):
    pass
