"""pynvml: Python bindings to NVIDIA's management library (NVML), written in C.

A drop-in replacement for nvidia-ml-py's ``pynvml``::

    from pynvml import *
    nvmlInit()
    handle = nvmlDeviceGetHandleByIndex(0)
    print(nvmlDeviceGetName(handle), nvmlDeviceGetMemoryInfo(handle).used)
    nvmlShutdown()

The functions, struct classes, constants and NVMLError classes come from the C
extension ``pynvml._nvml``.  This file adds the few pure-Python names of the original
API (friendly objects, the ctypes-facing internals some tools reach for).  ctypes is
imported only when one of those is used.

Environment: PYNVML_LIBRARY=<path> loads another libnvidia-ml; PYNVML_LIBRARY=sim the
simulated NVML shipped in this package, whose GPUs PYNVML_SIM_PROFILE=<json> describes.
"""
from . import _nvml
from ._errors import NVMLError, make_error_classes, nvmlExceptionClass  # noqa: F401
from ._nvml import _library_path

# Import time (issue #5): _nvml._export(globals()) is `from ._nvml import *` (every public
# name: functions, constants, handle classes) in C, ten times faster; the struct classes
# are made on first use by _nvml's and our __getattr__ below.
_nvml._export(globals())
globals().update(make_error_classes({k: v for k, v in vars(_nvml).items() if k.startswith("NVML_ERROR_")}))
del make_error_classes

__version__ = "13.615.71"   # the nvidia-ml-py release (NVML API) whose names it follows


class NVMLLibraryMismatchError(Exception):
    pass


class nvmlFriendlyObject:
    """A struct's fields as plain attributes (any value can be assigned)."""

    def __init__(self, dictionary):
        for key in dictionary:
            setattr(self, key, dictionary[key])

    def __str__(self):
        return self.__dict__.__str__()

    __repr__ = object.__repr__


def nvmlStructToFriendlyObject(struct):
    """A struct (ours, or a ctypes one) as an nvmlFriendlyObject, bytes decoded."""
    d = {}
    for field in struct._fields_:
        key = field[0]
        value = getattr(struct, key)
        d[key] = value.decode() if isinstance(value, bytes) else value
    return nvmlFriendlyObject(d)


def nvmlFriendlyObjectToStruct(obj, model):
    """Fill `model` (a struct instance) from a friendly object's attributes."""
    for field in model._fields_:
        key = field[0]
        setattr(model, key, obj.__dict__[key])
    return model


def _nvmlCheckReturn(ret):
    if ret != NVML_SUCCESS:  # noqa: F405
        raise NVMLError(ret)
    return ret


# --- nvidia-ml-py's decorators, for code that wraps its own ctypes calls with them --------

def convertStrBytes(func):
    """Decorate `func`: str positional arguments reach it as UTF-8 bytes (keywords as
    given), and a bytes result comes back as str."""
    from functools import wraps

    @wraps(func)
    def wrapper(*args, **kwargs):
        res = func(*[a.encode() if isinstance(a, str) else a for a in args], **kwargs)
        return res.decode() if isinstance(res, bytes) else res

    return wrapper


def throwOnVersionMismatch(func):
    """Decorate `func`: NVMLError_FunctionNotFound becomes NVMLLibraryMismatchError, naming
    the versioned function (func's name + "_v2") to use instead."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NVMLError_FunctionNotFound:  # noqa: F405
            raise NVMLLibraryMismatchError(
                "Unversioned function called and the pyNVML version does not match the NVML lib version. "
                "Either use matching pyNVML and NVML lib versions or use a versioned function such as "
                + func.__name__ + "_v2") from None

    # functools.wraps by hand: functools is not imported by `import pynvml` otherwise
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(func, attr))
        except AttributeError:
            pass
    wrapper.__wrapped__ = func
    return wrapper


# nvidia-ml-py's unversioned process getters call the _v3 ones through
# throwOnVersionMismatch: on a driver without _v3 they raise NVMLLibraryMismatchError.
nvmlDeviceGetComputeRunningProcesses = throwOnVersionMismatch(nvmlDeviceGetComputeRunningProcesses)  # noqa: F405
nvmlDeviceGetGraphicsRunningProcesses = throwOnVersionMismatch(nvmlDeviceGetGraphicsRunningProcesses)  # noqa: F405
nvmlDeviceGetMPSComputeRunningProcesses = throwOnVersionMismatch(  # noqa: F405
    nvmlDeviceGetMPSComputeRunningProcesses)  # noqa: F405


# The ctypes-based names (_ctypes_compat), listed without importing ctypes.
_CTYPES_NAMES = ("NVML_VALUE_NOT_AVAILABLE_ulonglong", "NVML_VALUE_NOT_AVAILABLE_uint",
                 "struct_c_nvmlDevice_t", "struct_c_nvmlUnit_t", "struct_c_nvmlEventSet_t",
                 "struct_c_nvmlSystemEventSet_t", "struct_c_nvmlGpuInstance_t",
                 "struct_c_nvmlComputeInstance_t", "struct_c_nvmlGpmSample_t")


def __getattr__(name):
    # Lazily made names: they need ctypes, which `import pynvml` does not load.
    if name in ("_PrintableStructure", "NVML_VALUE_NOT_AVAILABLE_ulonglong", "NVML_VALUE_NOT_AVAILABLE_uint") \
            or name.startswith("struct_c_nvml"):
        from . import _ctypes_compat

        value = getattr(_ctypes_compat, name)
        globals()[name] = value
        return value
    if name == "__all__":
        # `from pynvml import *`: every public name, the struct classes not made yet too
        # (nvidia-ml-py has no __all__: its star import gives all its public globals).
        _warn_if_utils_shadowed()
        return sorted({n for n in globals() if not n.startswith("_")} | set(_nvml._lazy_names())
                      | set(_CTYPES_NAMES) | _compat().names(public_only=True))
    if not name.startswith("_"):
        # The struct classes: _nvml makes each on first use (import time).
        try:
            value = getattr(_nvml, name)
        except AttributeError:
            pass
        else:
            globals()[name] = value
            return value
    if name.startswith("__"):
        raise AttributeError(f"module 'pynvml' has no attribute {name!r}")
    # nvidia-ml-py's other names (ctypes', os, sys, the enum type aliases, its loader and
    # function-pointer lookup, ...): _compat_names makes them, or says there is no such name.
    return _compat().get(name)


def _compat():
    # import_module, not `from . import`: that asks hasattr(pynvml, ...), i.e. __getattr__
    from importlib import import_module

    return import_module(__name__ + "._compat_names")


def _warn_if_utils_shadowed():
    # PyPI's `pynvml` installs a package pynvml_utils that shadows our module of that
    # name (src/pynvml_utils.py says why both can be there); its smi star-imports us.
    import sys

    utils = sys.modules.get("pynvml_utils")
    if utils is not None and not getattr(utils, "_PYNVML_C", False) and not _SHADOW_WARNED:
        globals()["_SHADOW_WARNED"] = True
        import warnings

        warnings.warn("pynvml_utils is the one of PyPI's (deprecated) 'pynvml' package, which shadows "
                      "pynvml-c's: `pip uninstall pynvml` brings pynvml-c's back", RuntimeWarning, stacklevel=3)


_SHADOW_WARNED = False


def __dir__():
    return sorted(set(globals()) | set(_nvml._lazy_names()) | set(_CTYPES_NAMES) | {"_PrintableStructure"}
                  | _compat().names())


_nvml._configure(sim_library=__path__[0] + "/_sim/libnvidia-ml.so.1", friendly_class=nvmlFriendlyObject,
                 error_base=NVMLError, error_classes=NVMLError._valClassMapping)
