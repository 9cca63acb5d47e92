"""Loading NVML and the life of an initialization, in pynvml._nvml (ext/loader.c,
ext/handles.c): a library that is missing or lacks a function, calls before nvmlInit,
the init/shutdown refcount and stale handles, threads, fork, the handle types, and
simulator profiles that are broken or hold invalid UTF-8.

What changes process-wide state (which library is loaded, fork) runs in a child
Python (sys.executable)."""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pynvml
from conftest import REAL

HERE = Path(__file__).resolve().parent
SIM_NAME = "NVIDIA H100 80GB HBM3"


def run_py(code, timeout=120, args=(), **env):
    """Run `code` in a fresh interpreter; env values of None remove the variable."""
    e = dict(os.environ)
    e.pop("PYNVML_SIM_PROFILE", None)
    for k, v in env.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return subprocess.run([sys.executable, *args, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=e, timeout=timeout)


def lines(r):
    assert r.returncode == 0, f"rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout.splitlines()


@pytest.fixture
def clean():
    """No initialization held by this process before and after the test."""
    assert pynvml._nvml._refcount() == 0
    yield
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


# --- import ------------------------------------------------------------------------------


@pytest.mark.parametrize("library", [None, "sim", "/nonexistent/libx.so"])
@pytest.mark.parametrize("warnings", [(), ("-W", "error")])
def test_import_is_silent(library, warnings):
    r = run_py("import pynvml, pynvml._nvml", args=warnings, PYNVML_LIBRARY=library)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""


# --- a library that cannot be loaded -------------------------------------------------------


def test_missing_library_path_is_library_not_found():
    r = run_py("""
        import pynvml
        for attempt in range(2):
            try:
                pynvml.nvmlInit()
            except pynvml.NVMLError as e:
                print(type(e).__name__, e.value)
                print(str(e))
        print(pynvml._nvml._refcount())
        try:
            pynvml.nvmlDeviceGetCount()
        except pynvml.NVMLError as e:
            print(type(e).__name__)
        try:
            pynvml.nvmlInitWithFlags(0)
        except pynvml.NVMLError_LibraryNotFound:
            print("flags too")
    """, PYNVML_LIBRARY="/nonexistent/libx.so")
    out = lines(r)
    assert out[0] == "NVMLError_LibraryNotFound 12"
    assert out[1].startswith("NVML Shared Library Not Found")
    assert "/nonexistent/libx.so" in out[1]                 # which library
    assert "No such file" in out[1]                          # and why
    assert out[2:4] == out[0:2]                              # a retry fails the same way
    assert out[4:] == ["0", "NVMLError_Uninitialized", "flags too"]


def test_no_driver_and_no_override_is_library_not_found():
    r = run_py("""
        import pynvml
        try:
            pynvml.nvmlInit()
            print("loaded")
        except pynvml.NVMLError_LibraryNotFound as e:
            print(str(e))
    """, PYNVML_LIBRARY=None)
    out = lines(r)
    if out == ["loaded"]:
        pytest.skip("this machine has libnvidia-ml.so.1")
    assert out[0].startswith("NVML Shared Library Not Found")
    assert "libnvidia-ml.so.1" in out[0]


def test_library_that_is_not_a_shared_object(tmp_path):
    bogus = tmp_path / "libnvidia-ml.so.1"
    bogus.write_text("not an ELF file\n")
    r = run_py("""
        import pynvml
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError_LibraryNotFound as e:
            print(e.value, str(e))
    """, PYNVML_LIBRARY=str(bogus))
    out = lines(r)
    assert out[0].startswith("12 NVML Shared Library Not Found")
    assert str(bogus) in out[0]


# --- a library that lacks a function -------------------------------------------------------


def build_shim(tmp_path_factory, name, *defines):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    out = tmp_path_factory.mktemp("shim") / name
    subprocess.run([gcc, "-shared", "-fPIC", *defines, "-o", str(out), str(HERE / "shim" / "minimal_nvml.c")],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def minimal_library(tmp_path_factory):
    return build_shim(tmp_path_factory, "libminimal-nvml.so")


def test_library_without_init_entry_point(tmp_path_factory):
    lib = build_shim(tmp_path_factory, "libnoinit-nvml.so", "-DWITHOUT_INIT")
    r = run_py("""
        import pynvml
        for f in (pynvml.nvmlInit, lambda: pynvml.nvmlInitWithFlags(0)):
            try:
                f()
            except pynvml.NVMLError as e:
                print(type(e).__name__, e.value)
        print(pynvml._nvml._refcount())
    """, PYNVML_LIBRARY=str(lib))
    assert lines(r) == ["NVMLError_FunctionNotFound 13"] * 2 + ["0"]


def test_function_missing_from_the_library(minimal_library):
    r = run_py("""
        import pynvml
        pynvml.nvmlInit()
        print(pynvml._nvml._refcount())
        for f in (pynvml.nvmlDeviceGetCount, pynvml.nvmlSystemGetDriverVersion):
            try:
                f()
            except pynvml.NVMLError as e:
                print(type(e).__name__, e.value, str(e))
        print(pynvml.nvmlErrorString(3))
        print(str(pynvml.NVMLError(25)))
        pynvml.nvmlShutdown()
        print(pynvml._nvml._refcount())
    """, PYNVML_LIBRARY=str(minimal_library))
    assert lines(r) == [
        "1",
        "NVMLError_FunctionNotFound 13 Function Not Found",
        "NVMLError_FunctionNotFound 13 Function Not Found",
        "minimal shim error text",
        "minimal shim error text",
        "0",
    ]


# --- before any nvmlInit -------------------------------------------------------------------


@pytest.mark.simulator
def test_calls_before_init_are_uninitialized():
    r = run_py("""
        import pynvml
        calls = [
            lambda: pynvml.nvmlDeviceGetCount(),
            lambda: pynvml.nvmlDeviceGetHandleByIndex(0),
            lambda: pynvml.nvmlSystemGetDriverVersion(),
            lambda: pynvml.nvmlErrorString(3),
            lambda: pynvml.nvmlShutdown(),
        ]
        for c in calls:
            try:
                c()
                print("no error")
            except pynvml.NVMLError as e:
                print(type(e).__name__, e.value)
        print(pynvml._nvml._refcount())
        pynvml.nvmlInit()
        print(pynvml.nvmlDeviceGetCount())
    """, PYNVML_LIBRARY="sim")
    assert lines(r) == ["NVMLError_Uninitialized 1"] * 5 + ["0", "2"]


# --- the refcount ----------------------------------------------------------------------------


@pytest.mark.simulator
def test_refcount_and_stale_handles(clean):
    rc = pynvml._nvml._refcount
    pynvml.nvmlInit()
    pynvml.nvmlInit()
    assert rc() == 2
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml.nvmlShutdown()
    assert rc() == 1
    assert pynvml.nvmlDeviceGetName(h) == SIM_NAME        # one init still held
    assert pynvml.nvmlDeviceGetCount() == 2
    pynvml.nvmlShutdown()
    assert rc() == 0
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetName(h)                       # stale: not passed to NVML
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetMemoryInfo(h)
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()                       # NVML's own answer
    # a new initialization does not revive the old handle
    pynvml.nvmlInitWithFlags(0)
    assert rc() == 1
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetName(h)
    h2 = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert pynvml.nvmlDeviceGetName(h2) == SIM_NAME
    assert h2 == h                                        # same device, same value
    pynvml.nvmlShutdown()
    assert rc() == 0


@pytest.mark.simulator
def test_init_with_flags_counts_like_init(clean):
    rc = pynvml._nvml._refcount
    pynvml.nvmlInitWithFlags(0)
    pynvml.nvmlInit()
    pynvml.nvmlInitWithFlags(pynvml.NVML_INIT_FLAG_NO_GPUS)
    assert rc() == 3
    for expected in (2, 1, 0):
        pynvml.nvmlShutdown()
        assert rc() == expected


@pytest.mark.simulator
def test_shutdown_with_nothing_initialized(clean):
    pynvml.nvmlInit()
    pynvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlShutdown()
    assert pynvml._nvml._refcount() == 0                 # not driven below zero
    pynvml.nvmlInit()
    assert pynvml._nvml._refcount() == 1
    pynvml.nvmlShutdown()


@pytest.mark.simulator
def test_failed_init_does_not_count(clean, use_profile):
    use_profile("{ broken")
    with pytest.raises(pynvml.NVMLError):
        pynvml.nvmlInit()
    assert pynvml._nvml._refcount() == 0


# --- threads -------------------------------------------------------------------------------

THREADS_SCRIPT = """
import sys, threading, pynvml
HOLD = {hold}
errors = []
done = threading.Event()

def worker():
    try:
        for _ in range(200):
            pynvml.nvmlInit()
            try:
                h = pynvml.nvmlDeviceGetHandleByIndex(0)
                assert pynvml.nvmlDeviceGetName(h) == "{name}"
                assert pynvml.nvmlDeviceGetMemoryInfo(h).total > 0
                assert pynvml.nvmlDeviceGetCount() == 2
            finally:
                pynvml.nvmlShutdown()
    except BaseException as e:
        errors.append("worker: " + repr(e))

def observer():
    if HOLD:
        pynvml.nvmlInit()
    h = None
    try:
        while not done.is_set():
            try:
                if h is None:
                    h = pynvml.nvmlDeviceGetHandleByIndex(1)
                assert pynvml.nvmlDeviceGetName(h) == "{name}"
                assert pynvml.nvmlDeviceGetCount() == 2
                pynvml.nvmlDeviceGetTemperature(h, 0)
            except pynvml.NVMLError_Uninitialized:
                if HOLD:
                    raise
                h = None
    except BaseException as e:
        errors.append("observer: " + repr(e))
    finally:
        if HOLD:
            pynvml.nvmlShutdown()

threads = [threading.Thread(target=worker) for _ in range(8)]
observers = [threading.Thread(target=observer) for _ in range(4)]
for t in threads + observers:
    t.start()
for t in threads:
    t.join()
done.set()
for t in observers:
    t.join()
print(pynvml._nvml._refcount(), len(errors))
for e in errors[:5]:
    print(e)
"""


@pytest.mark.simulator
def test_threads_init_and_shutdown_while_others_hold_an_init():
    r = run_py(THREADS_SCRIPT.format(hold=True, name=SIM_NAME), PYNVML_LIBRARY="sim")
    assert lines(r) == ["0 0"]


@pytest.mark.simulator
def test_threads_init_and_shutdown_while_others_call_getters():
    # The getter threads hold no initialization of their own: each call either works or
    # raises NVMLError_Uninitialized (a handle from before the last shutdown), never
    # anything else and never a crash.  The race is timing-dependent: a few tries.
    for attempt in range(8):
        r = run_py(THREADS_SCRIPT.format(hold=False, name=SIM_NAME), PYNVML_LIBRARY="sim")
        assert r.returncode == 0, f"try {attempt}: rc={r.returncode} (signal?)\n{r.stderr[-2000:]}"
        assert lines(r) == ["0 0"], f"try {attempt}"


# --- fork ----------------------------------------------------------------------------------


@pytest.mark.simulator
def test_fork_child_starts_uninitialized():
    r = run_py("""
        import os, pynvml
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                pynvml.nvmlDeviceGetName(h)
                code = 10
            except pynvml.NVMLError_Uninitialized:
                pass
            except BaseException:
                code = 11
            if pynvml._nvml._refcount() != 0:
                code = code or 12
            try:
                pynvml.nvmlInit()
                h2 = pynvml.nvmlDeviceGetHandleByIndex(0)
                if pynvml.nvmlDeviceGetName(h2) != "%s":
                    code = code or 13
                if pynvml._nvml._refcount() != 1:
                    code = code or 14
                try:
                    pynvml.nvmlDeviceGetName(h)      # still stale after the child's init
                    code = code or 15
                except pynvml.NVMLError_Uninitialized:
                    pass
                pynvml.nvmlShutdown()
            except BaseException:
                code = code or 16
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        print(pynvml.nvmlDeviceGetName(h), pynvml._nvml._refcount())
        pynvml.nvmlShutdown()
    """ % SIM_NAME, PYNVML_LIBRARY="sim")
    assert lines(r) == ["0", f"{SIM_NAME} 1"]


@pytest.mark.simulator
def test_fork_with_multiprocessing():
    r = run_py("""
        import multiprocessing as mp, pynvml

        def stale(_):
            try:
                pynvml.nvmlDeviceGetName(H)
                return "no error"
            except pynvml.NVMLError as e:
                return e                     # pickled back to the parent

        def fresh(i):
            pynvml.nvmlInit()
            try:
                return pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))
            finally:
                pynvml.nvmlShutdown()

        pynvml.nvmlInit()
        H = pynvml.nvmlDeviceGetHandleByIndex(0)
        ctx = mp.get_context("fork")
        with ctx.Pool(2) as pool:
            errs = pool.map(stale, range(2))
            names = pool.map(fresh, [0, 1])
        print([type(e).__name__ for e in errs], [getattr(e, "value", None) for e in errs])
        print(names == ["%s"] * 2)
        print(pynvml.nvmlDeviceGetName(H))
    """ % SIM_NAME, PYNVML_LIBRARY="sim")
    assert lines(r) == ["['NVMLError_Uninitialized', 'NVMLError_Uninitialized'] [1, 1]", "True", SIM_NAME]


# --- handles ---------------------------------------------------------------------------------

HANDLE_TYPES = ["c_nvmlDevice_t", "c_nvmlUnit_t", "c_nvmlEventSet_t", "c_nvmlGpuInstance_t",
                "c_nvmlComputeInstance_t", "c_nvmlGpmSample_t"]


@pytest.mark.parametrize("name", HANDLE_TYPES)
def test_handle_types_cannot_be_constructed(name):
    cls = getattr(pynvml, name)
    with pytest.raises(TypeError):
        cls()
    with pytest.raises(TypeError):
        cls(0x1234)


# Functions taking a handle of another kind than a device, with one argument.
OTHER_KIND_CALLS = ["nvmlUnitGetTemperature", "nvmlUnitGetFanSpeedInfo", "nvmlUnitGetLedState",
                    "nvmlUnitGetPsuInfo", "nvmlUnitGetUnitInfo", "nvmlUnitGetDevices", "nvmlEventSetFree",
                    "nvmlGpuInstanceDestroy", "nvmlGpuInstanceGetInfo", "nvmlComputeInstanceDestroy",
                    "nvmlComputeInstanceGetInfo", "nvmlGpmSampleFree"]


def test_device_handle_where_another_kind_is_expected(nvml):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    found = [n for n in OTHER_KIND_CALLS if hasattr(pynvml, n)]
    if REAL:    # on a real GPU nothing that destroys, not even with an argument refused before NVML
        found = [n for n in found if "Destroy" not in n]
    if not found:
        pytest.skip("no function takes a unit, event set, instance or GPM sample handle yet")
    for name in found:
        fn = getattr(pynvml, name)
        with pytest.raises(TypeError):
            if name == "nvmlUnitGetTemperature":
                fn(h, 0)
            else:
                fn(h)


@pytest.mark.parametrize("bad", [None, 0, 1, -1, 2**70, "0", b"\0" * 8, 1.0, [], object()])
def test_non_handles_are_typeerror(nvml, bad):
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetName(bad)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetMemoryInfo(bad)


def test_struct_is_not_a_handle(nvml):
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetName(pynvml.c_nvmlMemory_t())


@pytest.mark.simulator
def test_ctypes_pointers_are_accepted(nvml):
    h = pynvml.nvmlDeviceGetHandleByIndex(1)

    class struct_opaque(ctypes.Structure):
        pass

    ptr = ctypes.cast(ctypes.c_void_p(h.value), ctypes.POINTER(struct_opaque))
    assert pynvml.nvmlDeviceGetName(ptr) == SIM_NAME
    assert pynvml.nvmlDeviceGetIndex(ptr) == 1
    assert pynvml.nvmlDeviceGetIndex(ctypes.c_void_p(h.value)) == 1


@pytest.mark.simulator
def test_nvidia_ml_py_handles_are_accepted(nvml, ref):
    ref.nvmlInit()
    try:
        rh = ref.nvmlDeviceGetHandleByIndex(1)
        assert pynvml.nvmlDeviceGetIndex(rh) == 1
        assert pynvml.nvmlDeviceGetName(rh) == ref.nvmlDeviceGetName(rh)
    finally:
        ref.nvmlShutdown()


def test_null_ctypes_pointer_is_valueerror(nvml):
    class struct_opaque(ctypes.Structure):
        pass

    for null in (ctypes.POINTER(struct_opaque)(), ctypes.c_void_p(), ctypes.c_void_p(0)):
        with pytest.raises(ValueError):
            pynvml.nvmlDeviceGetName(null)


@pytest.mark.simulator   # two GPUs
def test_handles_compare_and_hash_by_value(nvml):
    a = pynvml.nvmlDeviceGetHandleByIndex(0)
    b = pynvml.nvmlDeviceGetHandleByIndex(0)
    c = pynvml.nvmlDeviceGetHandleByIndex(1)
    assert a is not b
    assert a == b and not (a != b)
    assert hash(a) == hash(b)
    assert a != c and not (a == c)
    assert len({a, b, c}) == 2
    assert {a: 1}[b] == 1
    assert a != a.value and a != None  # noqa: E711
    assert isinstance(a.value, int) and a.value != 0
    assert a.value == b.value != c.value
    assert type(a) is pynvml.c_nvmlDevice_t
    assert "c_nvmlDevice_t" in repr(a)


def test_as_parameter_is_c_void_p(nvml):
    last = pynvml.nvmlDeviceGetCount() - 1
    h = pynvml.nvmlDeviceGetHandleByIndex(last)
    p = h._as_parameter_
    assert isinstance(p, ctypes.c_void_p)
    assert p.value == h.value
    # a ctypes function of the same library takes our handle as it is
    lib = ctypes.CDLL(pynvml._library_path())
    index = ctypes.c_uint(99)
    assert lib.nvmlDeviceGetIndex(h, ctypes.byref(index)) == 0
    assert index.value == last


# --- broken simulator profiles -----------------------------------------------------------------


@pytest.mark.simulator
@pytest.mark.parametrize("text", [b"{ not json", b"", b"[1, 2, 3]", b"\xff\xfe\x00garbage", b'"devices"'])
def test_invalid_profile_is_an_nvml_error(clean, use_profile, default_profile, text):
    use_profile(text)
    with pytest.raises(pynvml.NVMLError) as info:
        pynvml.nvmlInit()
    assert type(info.value) is pynvml.NVMLError_DriverNotLoaded
    assert info.value.value == pynvml.NVML_ERROR_DRIVER_NOT_LOADED
    assert pynvml._nvml._refcount() == 0
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()
    # a good profile afterwards works
    use_profile(default_profile)
    pynvml.nvmlInit()
    assert pynvml.nvmlDeviceGetCount() == 2
    pynvml.nvmlShutdown()


@pytest.mark.simulator
def test_missing_profile_file_is_an_nvml_error(clean, monkeypatch, tmp_path):
    monkeypatch.setenv("PYNVML_SIM_PROFILE", str(tmp_path / "no-such-profile.json"))
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        pynvml.nvmlInit()
    assert pynvml._nvml._refcount() == 0


@pytest.mark.simulator
def test_device_strings_with_invalid_utf8(clean, use_profile, default_profile):
    default_profile["devices"][0]["nvmlDeviceGetName"] = "@NAME@"
    default_profile["devices"][0]["nvmlDeviceGetSerial"] = "@SERIAL@"
    raw = json.dumps(default_profile).encode()
    raw = raw.replace(b"@NAME@", b"NVIDIA \xff H100\xc3").replace(b"@SERIAL@", b"\xfe\xff123")
    use_profile(raw)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert pynvml.nvmlDeviceGetName(h) == "NVIDIA \ufffd H100\ufffd"
    assert pynvml.nvmlDeviceGetSerial(h) == "\ufffd\ufffd123"
    assert pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(1)) == SIM_NAME
