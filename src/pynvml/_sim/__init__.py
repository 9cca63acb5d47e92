"""The simulated NVML (libnvidia-ml.so.1) lives here; PYNVML_LIBRARY=sim loads it.

Its profile can inject faults (sim/sim.h describes the syntax); these helpers drive it
while it runs, through its control calls, and make copies without some entry points:

    lose_device(index, code=0)   the device answers GPU_IS_LOST (or code) from now on
    reset_faults()               fault counters and lost devices back to the profile's start
    init_shutdown_calls()        (nvmlInit* calls, nvmlShutdown calls) it has had
    advance_clock(ms)            stop the simulator's clock and move it on by ms (values that move)
    hide(names, out)             a copy of the library lacking those entry points (hide_symbols.py)

lose_device and reset_faults act on the simulator pynvml has loaded (after nvmlInit),
or on the library given as `library` (a path or a ctypes.CDLL, e.g. nvidia-ml-py's
nvmlLib).
"""
import os

SIM_NAME = "libnvidia-ml.so.1"


def _control(library):
    import ctypes

    if isinstance(library, ctypes.CDLL):
        return library
    if library is None:
        from pynvml import _nvml

        library = _nvml._library_path()
        if library is None:
            raise RuntimeError("NVML is not loaded yet: call nvmlInit() first")
    lib = ctypes.CDLL(library)
    if not hasattr(lib, "pynvmlSimLoseDevice"):
        raise RuntimeError(f"{library} is not the simulated NVML")
    return lib


def _check(rc):
    if rc != 0:
        from pynvml import NVMLError

        raise NVMLError(rc)


def lose_device(index, code=0, library=None):
    """From now on, every call on device `index` answers `code` (0: GPU_IS_LOST)."""
    lib = _control(library)
    _check(lib.pynvmlSimLoseDevice(int(index), int(code)))


def reset_faults(library=None):
    """Every fault counter to zero and every device as the profile starts it."""
    _check(_control(library).pynvmlSimResetFaults())


def max_concurrent_delays(library=None):
    """The most calls that were inside a "delay_ms" fault at once since the last call of
    this: how many threads' NVML calls overlapped (1 where something serialized them)."""
    lib = _control(library)
    lib.pynvmlSimMaxConcurrentDelays.restype = __import__("ctypes").c_uint
    return int(lib.pynvmlSimMaxConcurrentDelays())


def delays_now(library=None):
    """How many calls are inside a "delay_ms" fault right now."""
    lib = _control(library)
    lib.pynvmlSimDelaysNow.restype = __import__("ctypes").c_uint
    return int(lib.pynvmlSimDelaysNow())


def init_shutdown_calls(library=None):
    """(nvmlInit* calls, nvmlShutdown calls) the simulator has had since it was loaded:
    the real ones, whatever a binding's own refcount or grace period made of the caller's."""
    import ctypes

    lib = _control(library)
    i, s = ctypes.c_ulonglong(), ctypes.c_ulonglong()
    lib.pynvmlSimInitShutdownCalls(ctypes.byref(i), ctypes.byref(s))
    return int(i.value), int(s.value)


def advance_clock(ms=0.0, library=None):
    """Stop the simulator's clock (values that move follow it; sim/moving.c) and move it
    on by `ms` milliseconds; returns the clock's time, in ms since the profile was loaded.
    A stopped clock moves only by this, so a test decides what each read sees."""
    import ctypes

    lib = _control(library)
    lib.pynvmlSimAdvanceClock.restype = ctypes.c_double
    lib.pynvmlSimAdvanceClock.argtypes = [ctypes.c_double]
    return float(lib.pynvmlSimAdvanceClock(float(ms)))


def hide(names, out, library=None):
    """See hide_symbols.hide: a copy of the simulator whose entry points `names` are missing."""
    from . import hide_symbols as _hide

    return _hide.hide(names, out, library)
