"""Issue #5 (speed): what the import-time and per-call work may skip, and that skipping it
changes nothing a user can see.

- The ~220 struct classes are made on first use (ext/structs.c: the module's __getattr__),
  not at import; `from pynvml import *`, dir() and every way of reaching a class still
  give the one class object.
- pynvml/__init__.py copies _nvml's public names in C (_nvml._export).
- The probes bench/run.py uses to split a call's cost (ext/hand_speed.c).
- When a call lets go of the GIL (ext/gil.h): whenever another thread could want it,
  and not when the caller is the only Python thread.
"""
import subprocess
import sys

import pytest

import pynvml
from conftest import REAL, of_class


def _fresh(code):
    """Run code in a fresh interpreter (on the simulator, or the real GPU under
    PYNVML_TEST_REAL=1); its stdout."""
    env = dict(__import__("os").environ)
    if not REAL:
        env["PYNVML_LIBRARY"] = "sim"
    r = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_import_makes_no_struct_class():
    out = _fresh("import pynvml, pynvml._nvml as m; "
                 "print(sum(1 for v in vars(m).values() if hasattr(v, '_fields_')), "
                 "'c_nvmlMemory_t' in vars(pynvml), 'c_nvmlMemory_t' in vars(m))")
    assert out == "0 False False"


def test_first_use_makes_one_class_reached_every_way():
    out = _fresh("""
import pynvml, pynvml._nvml as m
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
mem = pynvml.nvmlDeviceGetMemoryInfo(h)           # made by the call's result
made = [n for n, v in vars(m).items() if hasattr(v, '_fields_')]
print(made)
print(type(mem) is m._result_class(m.c_nvmlMemory_t) and m.c_nvmlMemory_t is pynvml.c_nvmlMemory_t, 'c_nvmlMemory_t' in vars(pynvml))
print(pynvml.nvmlPciInfo_t is m.nvmlPciInfo_t is type(pynvml.nvmlDeviceGetPciInfo(h)))
print(pynvml.c_nvmlProcessInfo_t is pynvml.c_nvmlProcessInfo_v3_t is m.c_nvmlProcessInfo_v2_t)
""").splitlines()
    assert out[0] == "['c_nvmlMemory_t']"
    assert out[1:] == ["True True", "True", "True"]


def test_star_import_and_dir_give_every_class():
    names = set(pynvml._nvml._lazy_names())
    assert {"c_nvmlMemory_t", "nvmlPciInfo_t", "c_nvmlProcessInfo_v3_t"} <= names
    assert len(names) == len(set(pynvml._nvml._lazy_names())) > 150
    out = _fresh("""
import pynvml
ns = {}
exec('from pynvml import *', ns)
lazy = set(pynvml._nvml._lazy_names())
print(lazy <= set(ns), lazy <= set(dir(pynvml)), lazy <= set(dir(pynvml._nvml)))
print(all(ns[n] is getattr(pynvml._nvml, n) for n in lazy))
print(not any(n.startswith('_') for n in ns if n != '__builtins__'))
print('nvmlInit' in ns, 'NVML_TEMPERATURE_GPU' in ns, 'NVMLError_NotSupported' in ns, 'nvmlFriendlyObject' in ns)
""").splitlines()
    assert out == ["True True True", "True", "True", "True True True True"]


def test_star_import_names_match_before_laziness():
    # everything public of _nvml, plus what __init__.py defines, plus the classes
    ns = {}
    exec("from pynvml import *", ns)
    public = {n for n in vars(pynvml._nvml) if not n.startswith("_")}
    assert public <= set(ns)
    assert {"nvmlStructToFriendlyObject", "nvmlExceptionClass", "NVMLError"} <= set(ns)


@pytest.mark.parametrize("name", ["c_nvmlNoSuch_t", "nvmlNoSuchFunction", "_lazy_nope", "__wrapped__"])
def test_unknown_names_are_attribute_errors(name):
    with pytest.raises(AttributeError):
        getattr(pynvml, name)
    with pytest.raises(AttributeError):
        getattr(pynvml._nvml, name)


def test_getattr_hook_refuses_non_str():
    with pytest.raises(AttributeError):
        pynvml._nvml.__getattr__(b"c_nvmlMemory_t")
    with pytest.raises(TypeError):
        pynvml._nvml._export([])


def test_nested_field_of_a_class_not_made_yet():
    # c_nvmlFieldValue_t.value is a c_nvmlValue_t: making the parent (its ctypes layout) makes it
    out = _fresh("""
import pynvml, pynvml._nvml as m
fv = pynvml.c_nvmlFieldValue_t()
print('c_nvmlValue_t' in vars(m))
try:
    fv.value = 5
except TypeError as e:
    print('TypeError', 'c_nvmlValue_t' in str(e))
v = fv.value
print(type(v) is pynvml.c_nvmlValue_t, 'c_nvmlValue_t' in vars(m))
fv.value = pynvml.c_nvmlValue_t(ullVal=7)
print(fv.value.ullVal)
""").splitlines()
    # the nested class is made with its parent: the parent's ctypes layout holds it
    assert out == ["True", "TypeError True", "True True", "7"]


def test_subclass_of_a_lazy_class():
    class Mine(pynvml.c_nvmlBAR1Memory_t):
        pass

    m = Mine(1, 2, 3)
    assert (m.bar1Total, m.bar1Free, m.bar1Used) == (1, 2, 3)
    assert isinstance(m, pynvml.c_nvmlBAR1Memory_t)


def test_results_are_whole_and_independent(nvml):
    # pn_struct_new fills a result without zeroing: every byte must be NVML's
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    a = pynvml.nvmlDeviceGetPciInfo_v3(h)
    b = pynvml.nvmlDeviceGetPciInfo_v3(h)
    assert a == b and a is not b and bytes(a) == bytes(b)
    b.bus = a.bus + 1
    assert a != b and a.bus + 1 == b.bus
    assert pynvml.nvmlDeviceGetMemoryInfo(h).total == pynvml.nvmlDeviceGetMemoryInfo(h).total


def test_handle_fast_path_keeps_every_check(nvml):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert pynvml.nvmlDeviceGetIndex(h) == 0
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetIndex(object())
    pynvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetIndex(h)       # stale: the epoch check is in the inline path too
    pynvml.nvmlInit()


def test_no_argument_wrappers_still_check_arguments(nvml):
    assert pynvml.nvmlDeviceGetCount() >= 1
    with pytest.raises(TypeError, match="positional"):
        pynvml.nvmlDeviceGetCount(1)
    with pytest.raises(TypeError, match="keyword"):
        pynvml.nvmlDeviceGetCount(x=1)


def test_probes():
    assert pynvml._nvml._probe_call() is None
    assert pynvml._nvml._probe_gil() is None
    assert pynvml._nvml._probe_nvml_gil() is None
    ns = pynvml._nvml._probe_gil_ns(1000)
    assert 0 < ns < 1e6
    with pytest.raises(ValueError):
        pynvml._nvml._probe_gil_ns(0)
    with pytest.raises(TypeError):
        pynvml._nvml._probe_gil_ns("x")


def test_raw_probe(nvml):
    raw = pynvml._nvml._probe_raw
    for name in ("nvmlDeviceGetCount_v2", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetPciInfo_v3"):
        assert raw(name, 10, 0) is None
    with pytest.raises(ValueError):
        raw("nvmlDeviceSetPowerManagementLimit", 1, 0)     # only the benchmark's readers
    with pytest.raises(ValueError):
        raw("nvmlDeviceGetPowerUsage", 0, 0)
    with pytest.raises(TypeError):
        raw(b"nvmlDeviceGetPowerUsage", 1, 0)
    with pytest.raises(TypeError):
        raw("nvmlDeviceGetPowerUsage", 1)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        raw("nvmlDeviceGetPowerUsage", 1, 99)               # no such device


def test_gil_is_released_only_when_another_thread_exists():
    out = _fresh("""
import threading, pynvml, pynvml._nvml as m
pynvml.nvmlInit()
seen = [m._gil_shared()]                       # the only thread
go = threading.Event()
t = threading.Thread(target=go.wait)
seen.append(m._gil_shared())                   # made, not started: no thread state yet
t.start()
seen.append(m._gil_shared())                   # alive (waiting)
inside = []
t2 = threading.Thread(target=lambda: inside.append(m._gil_shared()))
t2.start(); t2.join()                          # seen from the other thread too
go.set(); t.join()
seen.append(m._gil_shared())                   # both gone
print(seen, inside)
""")
    assert out == "[False, False, True, False] [True]"


@pytest.mark.simulator
def test_a_slow_call_lets_other_threads_run(use_profile, default_profile):
    """With another thread alive, a slow NVML call (the simulator's "delay_ms") lets it run
    Python code meanwhile: that thread sees the call inside NVML (sim.delays_now()) again
    and again.  Were the GIL kept, it could see that at most once (a look it had begun
    before the call went in).  Counted, not timed."""
    import threading
    import pynvml._sim as sim
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": {"delay_ms": 300, "after": 1}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml.nvmlDeviceGetPowerUsage(h)          # call 0: not delayed
    lib = sim._control(None)
    seen, stop, running = [0], threading.Event(), threading.Event()

    def watch():
        running.set()
        while not stop.is_set():
            if sim.delays_now(lib):
                seen[0] += 1

    t = threading.Thread(target=watch)
    t.start()
    try:
        running.wait()
        pynvml.nvmlDeviceGetPowerUsage(h)      # 300 ms inside NVML
    finally:
        stop.set()
        t.join()
    assert seen[0] >= 3, seen[0]


@pytest.mark.simulator
def test_threads_calling_at_once_are_inside_nvml_together(use_profile, default_profile):
    """Nothing of ours serializes calls: eight threads calling a slow entry point (the
    simulator's "delay_ms") are all inside NVML at once, as the simulator counts them; a
    call from the ninth, main thread goes on meanwhile.  Counted, not timed."""
    import threading
    import pynvml._sim as sim
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": {"delay_ms": 300}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    h0, h1 = pynvml.nvmlDeviceGetHandleByIndex(0), pynvml.nvmlDeviceGetHandleByIndex(1)
    sim.max_concurrent_delays()                  # start counting
    start = threading.Barrier(9)
    got = []

    def call():
        start.wait()
        got.append(pynvml.nvmlDeviceGetPowerUsage(h0))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    start.wait()
    other = pynvml.nvmlDeviceGetPowerUsage(h1)   # device 1: no delay
    for t in threads:
        t.join()
    assert got == [default_profile["devices"][0]["nvmlDeviceGetPowerUsage"]] * 8
    assert other == default_profile["devices"][1]["nvmlDeviceGetPowerUsage"]
    assert sim.max_concurrent_delays() == 8


def test_threads_racing_to_make_classes_get_one_class_each():
    out = _fresh("""
import threading, pynvml, pynvml._nvml as m
names = list(m._lazy_names())
got = [dict() for _ in range(8)]
barrier = threading.Barrier(8)
def work(k):
    barrier.wait()
    for n in (names if k % 2 else reversed(names)):
        got[k][n] = getattr(pynvml, n) if k % 3 else getattr(m, n)
ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(all(g[n] is getattr(m, n) for g in got for n in names))
""")
    assert out == "True"


def _bench_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "run.py"
    spec = importlib.util.spec_from_file_location("pynvml_bench_run", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_report_medians_and_fixed_costs():
    run = _bench_module()
    res = {
        "quick": True, "device": 0, "note": None, "null": False, "reference": None, "raw_build": "cc",
        "machine": {"date": "d", "cpu": "c", "nproc": 2, "python": "p", "library": "l", "simulated": True,
                    "ours": "o"},
        "raw": {"a": 100.0, "b": 200.0, "c": 400.0},
        "calls": {"a": {"ours": 150.0, "ref": 300.0}, "b": {"ours": 260.0, "ref": 520.0},
                  "c": {"ours": 440.0, "ref_error": "NVMLError_NotSupported"}},
        "fixed": {"loop": 4.0, "call": 7.0, "gil": 27.0, "nvml_gil": 11.0},
        "attr": {"x": 1.0}, "import": {}, "memory": {}, "threads": [{"call": "f", "error": "none"}],
        "seconds": 1.0,
    }
    text = run.report(res, markdown=False)
    median = next(line for line in text.splitlines() if line.startswith("median"))
    # ours/raw 1.5, 1.3, 1.1; ref/ours 2.0, 2.0; ref/raw 3.0, 2.6
    assert median.split()[-3:] == ["1.30x", "2.00x", "2.80x"]
    assert "deciding to keep the GIL (ext/gil.h: no other thread) 4.0 ns" in text
    assert "Releasing and retaking the GIL costs 20.0 ns" in text
    # with another thread, each call pays 27 - 11 = 16 ns more: 1.66, 1.38, 1.14 -> median 1.38
    assert "the median ours/raw is then 1.38x" in text
    row_a = next(line for line in text.splitlines() if line.startswith("a "))
    assert "+39" in row_a                                # 150 - 100 - 11
    assert "another thread was alive" not in text
    assert "another thread was alive" in run.report(dict(res, gil_shared=True), markdown=False)
    assert "NVML library itself adds +18.00 MiB" in run.report(dict(res, raw_rss_kib=18432), markdown=False)
    nopyc = dict(res, **{"import": {"ours": {"ms": 4.0, "ms_min": 3.0, "modules": 3, "ctypes": False,
                                             "file": "f", "bytecode": False}},
                                 "memory": {"ours": {"bare_kib": 1, "import_kib": 1, "init_kib": 1,
                                                     "init_ms": 1.0, "file": "f"}}})
    assert "ours's pynvml has no .pyc file here" in run.report(nopyc, markdown=False)
    assert ".pyc" not in text
    # the in-process raw timing, where there is one, is what the ratios are taken against
    here = dict(res, calls={k: dict(v, raw_here=v["ours"] / 1.25) for k, v in res["calls"].items()})
    text = run.report(here, markdown=False)
    median = next(line for line in text.splitlines() if line.startswith("median"))
    assert median.split()[-3] == "1.25x"
    assert "Against the C program instead, the median ours/raw is 1.30x." in text
    # binding - raw: nvidia-ml-py 180, 312 (ours 30, 52): medians 246 and 41 -> 6x less
    assert "nvidia-ml-py 246 ns, ours 41 ns (6x less)" in text
    assert "**median**" in run.report(res, markdown=True)


@pytest.mark.simulator
def test_hand_written_wrappers_ask_for_lazy_classes():
    # nvmlSystemEventSetWait checks its eventData against c_nvmlSystemEventData_v1_t: in a
    # fresh process that class is not made yet, and the check must make it, not crash.
    out = _fresh("""
import pynvml, pynvml._nvml as m
pynvml.nvmlInit()
s = pynvml.nvmlSystemEventSetCreate(pynvml.nvmlSystemEventSetCreateRequest_v1)
print('c_nvmlSystemEventData_v1_t' in vars(m))
w = pynvml.nvmlSystemEventSetWaitRequest_v1
print(pynvml.nvmlSystemEventSetWait(w, s, 0, bytearray(64), 2))
print(pynvml.nvmlSystemEventSetWait(w, s, 0, [pynvml.c_nvmlSystemEventData_v1_t()], 1))
print('c_nvmlSystemEventData_v1_t' in vars(m))
pynvml.nvmlSystemEventSetFree(pynvml.nvmlSystemEventSetFreeRequest_v1, s)
""").splitlines()
    assert out == ["False", "[]", "[]", "True"]


def test_freeable_handles_keep_their_checks(nvml):
    # pn_arg_handle's inline path is only for kinds that are never freed
    s = pynvml.nvmlEventSetCreate()
    pynvml.nvmlEventSetFree(s)
    with pytest.raises(ValueError, match="freed"):
        pynvml.nvmlEventSetFree(s)
