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


@pytest.mark.skipif(sys.version_info < (3, 10), reason="no sub-interpreter API to drive from Python")
def test_sub_interpreters_each_get_their_own_module():
    r = run("""
        import pynvml
        try:
            import _xxsubinterpreters as interpreters
        except ImportError:
            import _interpreters as interpreters
        pynvml.nvmlInit()
        code = ("import pynvml\\n"
                "pynvml.nvmlInit()\\n"
                "assert pynvml.nvmlDeviceGetCount() >= 1\\n"
                "pynvml.nvmlShutdown()\\n")
        for _ in range(3):
            interp = interpreters.create()
            interpreters.run_string(interp, code)
            interpreters.destroy(interp)
        print(pynvml.nvmlDeviceGetCount() >= 1)
        pynvml.nvmlShutdown()
        """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True"
