"""Coverage-guided fuzzing of the extension's argument converters (ext/convert.c, the
generated wrappers, the hand-written ones): every function of pynvml._nvml called on the
simulator with arguments a fuzzer picks: integers out of range, negative and huge, bools,
floats (NaN, infinities), str and bytes with NULs and bad UTF-8, wrong struct classes,
GPU handles, stale MIG device handles, lists, and objects whose __index__, __len__,
__iter__ or __float__ raise or re-enter NVML (shutting it down mid-call, or calling it).

A Python exception is the right answer to a bad argument; what this looks for is a
crash, a sanitizer report (ASan, UBSan: the extension and the simulator are built with
them and with libFuzzer's coverage by `make fuzz-args`), or a SystemError (a C function
that returned NULL without an exception, or a value with one set).

Run by `make fuzz-args` (FUZZ_ARGS_SECONDS, 60 s in CI) with atheris (Google's
coverage-guided fuzzer for Python and its C extensions, from PyPI), under
LD_PRELOAD=atheris's asan_with_fuzzer.so.  A crash stops it and leaves the input in
build-fuzz-args/: `python fuzz/fuzz_args.py that-file` replays it; make it a test.
"""
import os
import sys

os.environ.setdefault("PYNVML_LIBRARY", "sim")
os.environ.pop("PYNVML_SIM_PROFILE", None)

import atheris  # noqa: E402

with atheris.instrument_imports():
    import pynvml  # noqa: E402
    from pynvml import _nvml  # noqa: E402

# Functions left out: those that wait (a fuzzed timeout would hang the run).
SKIP = {"nvmlEventSetWait", "nvmlEventSetWait_v2", "nvmlEventSetWait_v3", "nvmlSystemEventSetWait",
        "c_nvmlSystemEventSetWait"}
FUNCTIONS = sorted(n for n in dir(_nvml) if not n.startswith("_") and n not in SKIP
                   and callable(getattr(_nvml, n)) and not isinstance(getattr(_nvml, n), type))
STRUCTS = sorted(n for n in dir(pynvml) if n.startswith("c_nvml") and isinstance(getattr(pynvml, n), type))
INTS = (0, 1, -1, 2, 7, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32,
        2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63 - 1, 2 ** 100, -2 ** 100)
FLOATS = (0.0, -0.0, 1.5, -1.0, 1e300, float("nan"), float("inf"), float("-inf"))
# strings a converter must refuse or take whole: a lone surrogate (no UTF-8), NULs inside,
# bad UTF-8, long ones, a GPU's real UUID and bus id with something after them
STRINGS = ("\ud800", "GPU-\udfff", "a\x00b", "\x00", b"\xff\xfe\x00", b"\xc3(", "", "x" * 4096, b"y" * 100000,
           "GPU-00000000-0000-0000-0000-000000000000\x00tail", "00000000:17:00.0", "0000:17:00.0 ", "\u00e9" * 300)

STATE = {}


def setup():
    pynvml.nvmlInit()
    n = pynvml.nvmlDeviceGetCount()
    STATE["devices"] = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
    STATE["stale"] = []


class Raises:
    """An argument whose protocol methods raise, or run `action` (re-entering NVML)."""

    def __init__(self, action):
        self.action = action

    def _go(self):
        r = self.action()
        if isinstance(r, BaseException):
            raise r
        return 1

    def __index__(self):
        return self._go()

    def __int__(self):
        return self._go()

    def __float__(self):
        return float(self._go())

    def __len__(self):
        return self._go()

    def __iter__(self):
        self._go()
        return iter((1, 2))

    def __getitem__(self, i):
        self._go()
        raise IndexError(i)

    def __bool__(self):
        return bool(self._go())


def _shutdown():
    try:
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        pass
    return None


def _reenter():
    try:
        pynvml.nvmlDeviceGetCount()
        pynvml.nvmlDeviceGetName(STATE["devices"][0])
    except pynvml.NVMLError:
        pass
    return None


ACTIONS = (lambda: ValueError("fuzz"), lambda: OverflowError("fuzz"), lambda: KeyboardInterrupt(),
           _shutdown, _reenter, lambda: 2 ** 70)


def stale_handle():
    """A MIG device handle of a compute instance destroyed since (or a GPU's, on a profile
    without MIG)."""
    try:
        h = STATE["devices"][0]
        gi = pynvml.nvmlDeviceCreateGpuInstance(h, 19)
        ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 0)
        md = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(h, 0)
        pynvml.nvmlComputeInstanceDestroy(ci)
        pynvml.nvmlGpuInstanceDestroy(gi)
        return md
    except pynvml.NVMLError:
        return STATE["devices"][-1]


def argument(fdp, depth=0):
    kind = fdp.ConsumeIntInRange(0, 18)
    if kind == 18:
        return STRINGS[fdp.ConsumeIntInRange(0, len(STRINGS) - 1)]
    if kind == 0:
        return INTS[fdp.ConsumeIntInRange(0, len(INTS) - 1)]
    if kind == 1:
        return fdp.ConsumeIntInRange(-4, 64)
    if kind == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 16))
    if kind == 3:
        return fdp.ConsumeBool()
    if kind == 4:
        return FLOATS[fdp.ConsumeIntInRange(0, len(FLOATS) - 1)]
    if kind == 5:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 80))   # NULs and surrogates included
    if kind == 6:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 80))     # NULs and bad UTF-8 included
    if kind == 7:
        return None
    if kind in (8, 9):
        devs = STATE["devices"]
        return devs[fdp.ConsumeIntInRange(0, len(devs) - 1)] if devs else None
    if kind == 10:
        if not STATE["stale"]:
            STATE["stale"].append(stale_handle())
        return STATE["stale"][0]
    if kind == 11:   # a struct, of a class the function may not take
        cls = getattr(pynvml, STRUCTS[fdp.ConsumeIntInRange(0, len(STRUCTS) - 1)])
        try:
            return cls()
        except Exception:
            return cls
    if kind == 12:
        return Raises(ACTIONS[fdp.ConsumeIntInRange(0, len(ACTIONS) - 1)])
    if kind == 13 and depth < 2:
        return [argument(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 5))]
    if kind == 14 and depth < 2:
        return tuple(argument(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 3)))
    if kind == 15:
        return bytearray(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)))
    if kind == 16:
        return memoryview(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)))
    return object()


def one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    name = FUNCTIONS[fdp.ConsumeIntInRange(0, len(FUNCTIONS) - 1)]
    args = [argument(fdp) for _ in range(fdp.ConsumeIntInRange(0, 6))]
    kwargs = {}
    if fdp.ConsumeIntInRange(0, 7) == 0:
        kwargs[fdp.ConsumeUnicode(8) or "version"] = argument(fdp)
    try:
        getattr(_nvml, name)(*args, **kwargs)
    except SystemError:
        raise   # a C function's result and its exception disagree: a bug
    except (Exception, KeyboardInterrupt):
        pass
    finally:
        if name in ("nvmlShutdown",) or any(isinstance(a, Raises) and a.action is _shutdown for a in args):
            _restore()
        elif name.startswith("nvmlInit"):
            _restore()


def _restore():
    """NVML initialized exactly once again, whatever the input did to the refcount."""
    while True:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            break
    setup()


def main():
    setup()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
