"""What a long-running monitor meets: a GPU lost mid-way, the interpreter exiting with
NVML still initialized, reloading the module, sub-interpreters."""
import subprocess
import sys
import textwrap

import pytest

import pynvml


def run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.simulator
def test_monitoring_loop_keeps_the_healthy_gpus_when_one_is_lost(use_profile, default_profile):
    default_profile["devices"][1]["lost"] = {"error": "NVML_ERROR_GPU_IS_LOST"}
    use_profile(default_profile)
    pynvml.nvmlInit()
    seen, lost = {}, []
    for _ in range(3):                      # a few rounds of a monitoring loop
        for i in range(pynvml.nvmlDeviceGetCount()):
            try:
                h = pynvml.nvmlDeviceGetHandleByIndex(i)
                seen[i] = (pynvml.nvmlDeviceGetUtilizationRates(h).gpu,
                           pynvml.nvmlDeviceGetMemoryInfo(h).used, pynvml.nvmlDeviceGetPowerUsage(h))
            except pynvml.NVMLError_GpuIsLost:
                lost.append(i)
    assert list(seen) == [0] and lost == [1, 1, 1]
    assert seen[0] == (0, 503316480, 71670)


def test_exit_with_nvml_still_initialized():
    r = run("""
        import pynvml
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        pynvml.nvmlDeviceGetName(h)
        """)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_module_reload_keeps_working():
    r = run("""
        import importlib, pynvml
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        pynvml = importlib.reload(pynvml)
        pynvml.nvmlInit()
        print(pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0)) == pynvml.nvmlDeviceGetName(h))
        try:
            pynvml.nvmlDeviceGetHandleByIndex(99)
        except pynvml.NVMLError as e:
            print(type(e).__name__)
        pynvml.nvmlShutdown(); pynvml.nvmlShutdown()
        """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "NVMLError_InvalidArgument"]


SUBINTERPRETERS = textwrap.dedent("""
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        import _interpreters as interpreters

    def create(isolated):
        # 3.12 takes isolated=, 3.13 a config name; before 3.12 every one shares the GIL
        for args, kw in ((), {"isolated": isolated}), (("isolated" if isolated else "legacy",), {}):
            try:
                return interpreters.create(*args, **kw)
            except TypeError:
                pass
        return interpreters.create()

    def run_in(interp, code):
        # 3.12 raises the sub-interpreter's failure; 3.13 returns a snapshot of it
        try:
            failure = interpreters.run_string(interp, code)
        except Exception as e:
            return str(e)
        return None if failure is None else f"{getattr(failure, 'type', '')} {getattr(failure, 'msg', '')}"
    """)


@pytest.mark.skipif(sys.version_info < (3, 10), reason="no sub-interpreter API to drive from Python")
def test_sub_interpreters_each_get_their_own_module():
    # Sub-interpreters that share the main GIL: each imports and initializes its own module.
    r = run(SUBINTERPRETERS + textwrap.dedent("""
        import pynvml
        pynvml.nvmlInit()
        code = ("import pynvml\\n"
                "pynvml.nvmlInit()\\n"
                "assert pynvml.nvmlDeviceGetCount() >= 1\\n"
                "pynvml.nvmlShutdown()\\n")
        for _ in range(3):
            interp = create(isolated=False)
            failure = run_in(interp, code)
            assert failure is None, failure
            interpreters.destroy(interp)
        print(pynvml.nvmlDeviceGetCount() >= 1)
        pynvml.nvmlShutdown()
        """))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "True", r.stdout


@pytest.mark.skipif(sys.version_info < (3, 10), reason="no sub-interpreter API to drive from Python")
def test_a_sub_interpreter_makes_calls_release_the_gil():
    # ext/gil.h keeps the GIL only when ours is the one thread of the one interpreter: a
    # sub-interpreter sharing the GIL may have threads of its own.
    r = run(SUBINTERPRETERS + textwrap.dedent("""
        import pynvml._nvml as m
        seen = [m._gil_shared()]
        interp = create(isolated=False)
        seen.append(m._gil_shared())
        interpreters.destroy(interp)
        seen.append(m._gil_shared())
        print(seen)
        """))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[False, True, False]", r.stdout


@pytest.mark.skipif(sys.version_info < (3, 12), reason="interpreters with their own GIL came in 3.12")
def test_interpreter_with_its_own_gil_gets_a_clean_import_error():
    # The extension does not claim per-interpreter-GIL support (NVML and our loader are
    # process-wide), so CPython refuses the import there: an ImportError, not a crash.
    r = run(SUBINTERPRETERS + textwrap.dedent("""
        interp = create(isolated=True)
        failure = run_in(interp, "import pynvml._nvml")
        print(failure is not None and "ImportError" in failure and "subinterpreters" in failure, failure)
        interpreters.destroy(interp)
        """))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "True", r.stdout
