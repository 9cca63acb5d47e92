"""The names of nvidia-ml-py's module that are not NVML's API, and its function-pointer lookup.

nvidia-ml-py is a ctypes module: `from ctypes import *` puts ctypes' names in it (c_uint,
byref, POINTER, sizeof, Structure, CDLL, ...), it imports os, sys, threading and string,
keeps NVML's enum types as ctypes aliases (`_nvmlEnableState_t = c_uint`), loads the
library with `_LoadNvmlLibrary()` and looks every entry point up through
`_nvmlGetFunctionPointer(name)` and its cache dict, on every call.  Tools reach for all of
these, so pynvml has them too, made on first use by pynvml.__getattr__ (`import pynvml`
does not import ctypes or this module).

The function-pointer lookup is honoured as nvidia-ml-py honours it: a client that replaces
`pynvml._nvmlGetFunctionPointer` (gpustat, to fall back from the _v3 process getters to
_v2 on old drivers) or puts an entry in `_nvmlGetFunctionPointer_cache` changes what our C
functions call.  Noticing that costs nothing while nobody does it: reading either name
turns the module's class into _WatchedModule, whose __setattr__ sees a replacement, and the
cache is a dict whose writes are seen; then _nvml._set_fnptr_hook() makes the C functions
ask resolve() for each entry point (ext/fnptr_hook.c says how).  A ctypes function pointer
is called through the usual C path; a plain Python function (a test's fake) is called
the way nvidia-ml-py calls it, with ctypes arguments and the caller's own argument
objects, by the functions in PY_PATHS (the ones clients fake); the others refuse it with
a TypeError that says so.  Each call asks the lookup once, as nvidia-ml-py's do.
"""
import sys
import types

# `from ctypes import *`: ctypes' public names (it has no __all__), over the CPython
# versions pynvml supports; each is there where this Python's ctypes has it.
CTYPES_NAMES = frozenset((
    "ARRAY", "ArgumentError", "Array", "BigEndianStructure", "BigEndianUnion", "CDLL",
    "CFUNCTYPE", "DEFAULT_MODE", "LibraryLoader", "LittleEndianStructure", "LittleEndianUnion",
    "POINTER", "PYFUNCTYPE", "PyDLL", "RTLD_GLOBAL", "RTLD_LOCAL", "SIZEOF_TIME_T",
    "SetPointerType", "Structure", "Union", "addressof", "alignment", "byref", "c_bool", "c_buffer",
    "c_byte", "c_char", "c_char_p", "c_double", "c_float", "c_int", "c_int16", "c_int32", "c_int64",
    "c_int8", "c_long", "c_longdouble", "c_longlong", "c_short", "c_size_t", "c_ssize_t", "c_time_t",
    "c_ubyte", "c_uint", "c_uint16", "c_uint32", "c_uint64", "c_uint8", "c_ulong", "c_ulonglong",
    "c_ushort", "c_void_p", "c_voidp", "c_wchar", "c_wchar_p", "cast", "cdll", "create_string_buffer",
    "create_unicode_buffer", "get_errno", "memmove", "memset", "pointer", "py_object", "pydll",
    "pythonapi", "resize", "set_errno", "sizeof", "string_at", "wstring_at",
    "util",    # ctypes.util, once something imported it (nvidia-ml-py's star import has it then)
))

# Other modules' names that nvidia-ml-py imports: name -> (module, attribute or None).
IMPORTED = {
    "os": ("os", None), "sys": ("sys", None), "threading": ("threading", None), "string": ("string", None),
    "find_library": ("ctypes.util", "find_library"), "wraps": ("functools", "wraps"),
}

# NVML's enum (and id) types as nvidia-ml-py names them (13.610.43's and 13.615.71's):
# ctypes aliases, c_uint but one.
ENUM_TYPES = tuple("_nvml%s_t" % n for n in (
    "EnableState BrandType TemperatureThresholds TemperatureSensors ComputeMode MemoryLocation "
    "NvLinkErrorCounter NvLinkEccLaneErrorCounter NvLinkCapability NvLinkUtilizationCountPktTypes "
    "NvLinkUtilizationCountUnits NvLinkDeviceType EccBitType EccCounterType MemoryErrorType ClockType "
    "ClockId DriverModel Pstates InforomObject Return FanState FanControlPolicy LedColor "
    "GpuOperationMode PageRetirementCause RestrictedAPI BridgeChipType ValueType NvlinkVersion "
    "PerfPolicyType EncoderQueryType FBCSessionType DetachGpuState PcieLinkState SamplingType "
    "PcieUtilCounter GpuTopologyLevel GpuP2PCapsIndex GpuP2PStatus DeviceArchitecture BusType "
    "PowerSource AdaptiveClockInfoStatus ClockLimitId PcieLinkMaxSpeed PcieAtomicsCapability "
    "AffinityScope DeviceGpuRecoveryAction VgpuTypeId VgpuInstance VgpuVmIdType "
    "GridLicenseFeatureCode GridLicenseExpiryStatus VgpuCapability VgpuDriverCapability "
    "DeviceVgpuCapability VgpuGuestInfoState VgpuVmCompatibility VgpuPgpuCompatibilityLimitCode "
    "HostVgpuMode ConfComputeGpusReadyState ConfComputeGpuCaps ConfComputeCpuCaps "
    "ConfComputeDevToolsMode ConfComputeCcFeature ConfComputeCcKeyRotationThreshAttackerAdv "
    "ProcessMode CoolerControl CoolerTarget PowerMizerMode GpuFabricState PowerScopeType "
    # new in nvidia-ml-py 13.615.71
    "GpuOperationalEventLogLevel OperationalEventSeverity EventDataType GpuOperationalEventContextType").split())
ENUM_TYPE_CTYPE = {"_nvmlGridLicenseExpiryStatus_t": "c_ubyte"}   # the others: c_uint

# Six constants that nvidia-ml-py defines with a trailing comma: 1-tuples, kept so, for
# code that passes them on.
TUPLE_CONSTANTS = {
    "NVML_P2P_CAPS_INDEX_READ": (0,),
    "NVML_GRID_LICENSE_EXPIRY_NOT_AVAILABLE": (0,), "NVML_GRID_LICENSE_EXPIRY_INVALID": (1,),
    "NVML_GRID_LICENSE_EXPIRY_VALID": (2,), "NVML_GRID_LICENSE_EXPIRY_NOT_APPLICABLE": (3,),
    "NVML_GRID_LICENSE_EXPIRY_PERMANENT": (4,),
}

# Made here, on first use (this module's functions, and the loader's state).
OWN = ("_nvmlGetFunctionPointer", "_nvmlGetFunctionPointer_cache", "nvmlLib", "libLoadLock",
       "_LoadNvmlLibrary", "_extractNVMLErrorsAsClasses", "_nvmlLib_refcount")

# What __dir__ and `from pynvml import *` add (CTYPES_NAMES only where this ctypes has them).
NAMES = frozenset(CTYPES_NAMES) | set(IMPORTED) | set(ENUM_TYPES) | set(TUPLE_CONSTANTS) | set(OWN)

_pynvml = sys.modules[__package__]
_nvml = _pynvml._nvml


def names(public_only=False):
    """The names this module provides that exist here (dir(pynvml), or its __all__)."""
    import ctypes
    out = (NAMES - CTYPES_NAMES) | {n for n in CTYPES_NAMES if hasattr(ctypes, n)}
    return {n for n in out if not n.startswith("_")} if public_only else out


def get(name):
    """The value of `name` (one of NAMES), stored into pynvml's namespace; AttributeError if
    it is not one of ours."""
    if name in TUPLE_CONSTANTS:
        value = TUPLE_CONSTANTS[name]
    elif name in CTYPES_NAMES:
        import ctypes
        try:
            value = getattr(ctypes, name)
        except AttributeError:
            raise AttributeError(f"module 'pynvml' has no attribute {name!r}") from None
    elif name in IMPORTED:
        module, attr = IMPORTED[name]
        import importlib
        value = importlib.import_module(module)
        if attr is not None:
            value = getattr(value, attr)
    elif name in ENUM_TYPES:
        import ctypes
        value = getattr(ctypes, ENUM_TYPE_CTYPE.get(name, "c_uint"))
    elif name == "nvmlLib":
        return ctypes_library()     # None until a library is loaded: not stored before
    elif name == "libLoadLock":
        import threading
        value = threading.Lock()
    elif name == "_nvmlLib_refcount":
        return _nvml._refcount()    # successful nvmlInit calls not shut down yet, read each time
    elif name in ("_nvmlGetFunctionPointer", "_nvmlGetFunctionPointer_cache"):
        watch()
        return _pynvml.__dict__[name]
    elif name in OWN:
        value = globals()[name]
    else:
        raise AttributeError(f"module 'pynvml' has no attribute {name!r}")
    _pynvml.__dict__[name] = value
    return value


# --- the library, as a ctypes CDLL (nvmlLib) ------------------------------------------------

def _library_to_load():
    """What nvmlInit loads (or has loaded): PYNVML_LIBRARY's path, the simulator, the driver's."""
    path = _nvml._library_path()
    if path is not None:
        return path
    import os
    want = os.environ.get("PYNVML_LIBRARY") or "libnvidia-ml.so.1"
    return _pynvml.__path__[0] + "/_sim/libnvidia-ml.so.1" if want == "sim" else want


def ctypes_library():
    """pynvml.nvmlLib: a ctypes CDLL of the very library that _nvml loaded (None before)."""
    lib = _pynvml.__dict__.get("nvmlLib")
    if lib is None:
        path = _nvml._library_path()
        if path is None:
            return None
        import ctypes
        lib = _pynvml.__dict__["nvmlLib"] = ctypes.CDLL(path)
    return lib


def _LoadNvmlLibrary():
    """Load the library as nvidia-ml-py's _LoadNvmlLibrary does: into pynvml.nvmlLib
    (NVMLError_LibraryNotFound when it cannot be loaded).  nvmlInit loads it by itself."""
    if _pynvml.__dict__.get("nvmlLib") is None:
        import ctypes
        try:
            _pynvml.__dict__["nvmlLib"] = ctypes.CDLL(_library_to_load())
        except OSError:
            raise _pynvml.NVMLError(_pynvml.NVML_ERROR_LIBRARY_NOT_FOUND) from None


def _extractNVMLErrorsAsClasses():
    """Give every NVML_ERROR_* constant of pynvml that has no NVMLError subclass one (the
    known codes have theirs from the start)."""
    from ._errors import NVMLError, make_error_classes
    ns = _pynvml.__dict__
    codes = {k: v for k, v in ns.items()
             if k.startswith("NVML_ERROR_") and isinstance(v, int) and v not in NVMLError._valClassMapping}
    ns.update(make_error_classes(codes))


# --- _nvmlGetFunctionPointer and noticing its replacement -----------------------------------

class _Cache(dict):
    """_nvmlGetFunctionPointer_cache: a dict that notices the entries clients put in it."""
    __slots__ = ("client",)

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        self.client = True
        _update()

    def update(self, *args, **kwargs):
        dict.update(self, *args, **kwargs)
        self.client = True
        _update()

    def setdefault(self, key, default=None):
        value = dict.setdefault(self, key, default)
        self.client = True
        _update()
        return value

    def clear(self):
        dict.clear(self)
        self.client = False
        _update()


_cache = _Cache()
_cache.client = False


def _nvmlGetFunctionPointer(name):
    """A ctypes function of the library _nvml loaded, by entry point name (cached), as
    nvidia-ml-py's: NVMLError_Uninitialized before nvmlInit, NVMLError_FunctionNotFound
    for a name the library lacks."""
    cache = _pynvml.__dict__.get("_nvmlGetFunctionPointer_cache", _cache)
    if name in cache:
        return cache[name]
    lib = ctypes_library()
    if lib is None:
        raise _pynvml.NVMLError(_pynvml.NVML_ERROR_UNINITIALIZED)
    try:
        fn = getattr(lib, name)
    except AttributeError:
        raise _pynvml.NVMLError(_pynvml.NVML_ERROR_FUNCTION_NOT_FOUND) from None
    dict.__setitem__(cache, name, fn)    # our own entry: not a client's
    return fn


class _WatchedModule(types.ModuleType):
    """pynvml's class once a client has read _nvmlGetFunctionPointer or its cache: it sees
    them replaced.  (A module subclass makes attribute reads slower, ~6 -> ~20 ns: only the
    clients that reach for the lookup get it.)"""

    def __setattr__(self, name, value):
        types.ModuleType.__setattr__(self, name, value)
        if name in ("_nvmlGetFunctionPointer", "_nvmlGetFunctionPointer_cache"):
            _update()

    def __delattr__(self, name):
        types.ModuleType.__delattr__(self, name)
        if name in ("_nvmlGetFunctionPointer", "_nvmlGetFunctionPointer_cache"):
            _update()


def watch():
    """Put the lookup into pynvml's namespace and start watching it (first read of either)."""
    ns = _pynvml.__dict__
    if "_nvmlGetFunctionPointer" not in ns:
        ns["_nvmlGetFunctionPointer"] = _nvmlGetFunctionPointer
    if "_nvmlGetFunctionPointer_cache" not in ns:
        ns["_nvmlGetFunctionPointer_cache"] = _cache
    if type(_pynvml) is types.ModuleType:
        _pynvml.__class__ = _WatchedModule


def hooked():
    """Whether a client changed the lookup: replaced the function or the cache, or wrote
    into the cache."""
    ns = _pynvml.__dict__
    cache = ns.get("_nvmlGetFunctionPointer_cache", _cache)
    return (ns.get("_nvmlGetFunctionPointer", _nvmlGetFunctionPointer) is not _nvmlGetFunctionPointer
            or cache is not _cache or _cache.client)


def _update():
    if hooked():
        _nvml._set_fnptr_hook(resolve, call)
    else:
        _nvml._set_fnptr_hook(None, None)


_ns = _pynvml.__dict__


def _is_ctypes_function(fn, _types={}):
    t = type(fn)
    known = _types.get(t)
    if known is None:
        import ctypes
        known = _types[t] = issubclass(t, ctypes._CFuncPtr)
    return known


def resolve(name):
    """The ctypes function the lookup gives for entry point `name` while a client has changed
    it (its NVMLError propagates): the C functions call its address (fnptr_hook.c reads it
    from the object's buffer).  A Python function is a TypeError that says where one goes."""
    fn = _ns.get("_nvmlGetFunctionPointer", _nvmlGetFunctionPointer)(name)
    if _is_ctypes_function(fn):
        return fn
    raise TypeError(
        f"pynvml._nvmlGetFunctionPointer({name!r}) gave {fn!r}: pynvml calls a Python function given "
        f"there only for {', '.join(sorted(PY_PATHS))}; give a ctypes function pointer instead")


def call(name, args, kwargs):
    """The Python function `name` of PY_PATHS, for the C function of that name while the
    lookup is changed: (fn,) when the lookup gives a ctypes function fn (the C function
    calls it; none of these functions returns a tuple), else nvidia-ml-py's algorithm around
    the Python function it gives, on the caller's own arguments."""
    symbol, algorithm = PY_PATHS[name]
    if kwargs is None:
        fn = _ns.get("_nvmlGetFunctionPointer", _nvmlGetFunctionPointer)(symbol(*args))
        return (fn,) if _is_ctypes_function(fn) else algorithm(fn, *args)
    fn = _ns.get("_nvmlGetFunctionPointer", _nvmlGetFunctionPointer)(symbol(*args, **kwargs))
    return (fn,) if _is_ctypes_function(fn) else algorithm(fn, *args, **kwargs)


# --- nvidia-ml-py's algorithms, for a Python function given by the lookup -------------------

def _processes(fn, handle):
    import ctypes
    count = ctypes.c_uint(0)
    ret = fn(handle, ctypes.byref(count), None)
    if ret == _pynvml.NVML_SUCCESS:
        return []
    if ret != _pynvml.NVML_ERROR_INSUFFICIENT_SIZE:
        raise _pynvml.NVMLError(ret)
    count.value = count.value * 2 + 5
    procs = (_pynvml.c_nvmlProcessInfo_v2_t * count.value)()
    ret = fn(handle, ctypes.byref(count), procs)
    if ret != _pynvml.NVML_SUCCESS:
        raise _pynvml.NVMLError(ret)
    out = []
    for i in range(count.value):
        obj = _pynvml.nvmlStructToFriendlyObject(procs[i])
        if obj.usedGpuMemory == 0xFFFFFFFFFFFFFFFF:    # NVML_VALUE_NOT_AVAILABLE
            obj.usedGpuMemory = None
        out.append(obj)
    return out


def _memory_symbol(handle, version=None):
    return "nvmlDeviceGetMemoryInfo_v2" if version else "nvmlDeviceGetMemoryInfo"


def _memory(fn, handle, version=None):
    import ctypes
    if version:
        mem = _pynvml.c_nvmlMemory_v2_t()
        mem.version = version
    else:
        mem = _pynvml.c_nvmlMemory_t()
    ret = fn(handle, ctypes.byref(mem))
    if ret != _pynvml.NVML_SUCCESS:
        raise _pynvml.NVMLError(ret)
    return mem


def _symbol(symbol):
    return lambda *args, **kwargs: symbol


PY_PATHS = {"nvmlDeviceGetMemoryInfo": (_memory_symbol, _memory)}
for _kind in ("Compute", "Graphics", "MPSCompute"):
    for _v in ("", "_v2", "_v3"):
        PY_PATHS[f"nvmlDeviceGet{_kind}RunningProcesses{_v}"] = (
            _symbol(f"nvmlDeviceGet{_kind}RunningProcesses{_v or '_v3'}"), _processes)
del _kind, _v
