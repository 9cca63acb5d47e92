"""The simulator under callers that fight back (issue #11's simulator findings): a
profile reloaded under a call still inside it, a MIG handle where a GPU's goes, a lost
GPU that must fail every device call, faults on every entry point (setters included),
and PYNVML_SIM_PROFILE naming something that is not a regular file."""
import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest

import pynvml

from conftest import ROOT

pytestmark = pytest.mark.simulator

CHILD_ENV = dict(os.environ, PYNVML_LIBRARY="sim")


def run_child(code, timeout=60, **env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=dict(CHILD_ENV, **env))


# --- a reload under a call that is still inside the old profile -----------------------------


def test_reload_while_a_delayed_call_is_inside_the_old_profile(tmp_path, default_profile):
    """A call slowed by a delay_ms fault keeps the fault table and profile it started
    with, while another thread shuts down, points at another profile and inits again
    (before: heap use after free in sim_fault_hit; a crash or a wrong code)."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"delay_ms": 500, "error": "TIMEOUT"}}
    first.write_text(json.dumps(default_profile))
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetTemperature": [{"error": "UNKNOWN"}] * 40}
    default_profile["devices"][0]["nvmlDeviceGetName"] = "the second profile"
    second.write_text(json.dumps(default_profile))
    r = run_child(f"""
        import os, threading, time
        import pynvml, pynvml._sim as sim
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        got = []
        def slow():
            try:
                pynvml.nvmlDeviceGetPowerUsage(h)
                got.append("returned")
            except pynvml.NVMLError as e:
                got.append(type(e).__name__)
        t = threading.Thread(target=slow)
        t.start()
        while sim.delays_now() == 0:
            time.sleep(0.005)
        pynvml.nvmlShutdown()
        os.environ["PYNVML_SIM_PROFILE"] = {str(second)!r}
        for _ in range(3):     # each reload would free what the slow call reads
            pynvml.nvmlInit()
            junk = [bytearray(96) for _ in range(20000)]   # reuse freed memory
            pynvml.nvmlShutdown()
            os.environ["PYNVML_SIM_PROFILE"] = {str(first)!r} if _ % 2 else {str(second)!r}
        pynvml.nvmlInit()
        t.join()
        print(got[0], pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0)))
    """, PYNVML_SIM_PROFILE=str(first))
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split()[0] == "NVMLError_Timeout"


# --- MIG device handles where a GPU's goes ---------------------------------------------------


def mig_profile(default_profile):
    default_profile["devices"][0]["nvmlDeviceGetMigMode"] = [1, 1]
    return default_profile


def test_temperature_v_with_a_mig_device_handle(use_profile, default_profile):
    """Before: a NULL dereference (sim_device_of(a MIG handle) is NULL)."""
    use_profile(mig_profile(default_profile))
    pynvml.nvmlInit()
    gpu = pynvml.nvmlDeviceGetHandleByIndex(0)
    gi = pynvml.nvmlDeviceCreateGpuInstance(gpu, pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE)
    ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE)
    try:
        mig = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(gpu, 0)
        try:
            pynvml.nvmlDeviceGetTemperatureV(mig, pynvml.NVML_TEMPERATURE_GPU)
        except pynvml.NVMLError as e:   # an answer, whichever: the point is no crash
            assert isinstance(e, (pynvml.NVMLError_NotSupported, pynvml.NVMLError_InvalidArgument))
    finally:
        pynvml.nvmlComputeInstanceDestroy(ci)
        pynvml.nvmlGpuInstanceDestroy(gi)


# --- a lost GPU fails every device call; faults reach every entry point ---------------------


def device_functions():
    """Every public function whose first argument is a device handle."""
    out = []
    for name in sorted(dir(pynvml)):
        if not name.startswith("nvmlDevice") or "Handle" in name and "MigDevice" not in name:
            continue
        fn = getattr(pynvml, name)
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            continue
        if params and params[0].name in ("handle", "device", "device1"):
            out.append((name, fn, len([p for p in params if p.default is p.empty
                                       and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])))
    return out


CODES = {pynvml.NVMLError_GpuIsLost: pynvml.NVML_ERROR_GPU_IS_LOST, pynvml.NVMLError_Timeout: pynvml.NVML_ERROR_TIMEOUT}


def sweep_device(handle, expect):
    """Call each device function on `handle` with zeros for the other arguments: each
    must raise `expect`, or be refused before NVML (TypeError/ValueError for a zero
    where something else goes).  Returns the functions that answered otherwise."""
    wrong, reached = [], 0
    for name, fn, nreq in device_functions():
        args = [handle] + [0] * (nreq - 1)
        try:
            r = fn(*args)
            if r == CODES[expect]:   # one that returns NVML's code (nvmlDeviceSetVirtualizationMode)
                reached += 1
            else:
                wrong.append((name, "returned"))
        except expect:
            reached += 1
        except pynvml.NVMLError_FunctionNotFound:
            pass   # an entry point the simulated driver lacks (as a real one would)
        except (TypeError, ValueError, AttributeError):
            pass
        except pynvml.NVMLError as e:
            wrong.append((name, type(e).__name__))
    return wrong, reached


def test_a_lost_gpu_fails_every_device_call(use_profile, default_profile):
    """Before: 37 of them (setters, resets, clears, RegisterEvents, GpmSampleGet, MIG
    profile queries) still answered."""
    default_profile["devices"][0]["lost"] = {"after": 1}   # the lookup below is call 0
    use_profile(default_profile)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    wrong, reached = sweep_device(h, pynvml.NVMLError_GpuIsLost)
    print(wrong)
    assert wrong == []
    assert reached > 120


def test_a_star_fault_fails_every_device_call_setters_included(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {"*": {"error": "NVML_ERROR_TIMEOUT", "after": 1}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)   # call 0 of the "*" counter
    with pytest.raises(pynvml.NVMLError_Timeout):
        pynvml.nvmlDeviceGetHandleByIndex(0)
    wrong, reached = sweep_device(h, pynvml.NVMLError_Timeout)
    assert wrong == []
    assert reached > 120


@pytest.mark.parametrize("setter,args", [
    ("nvmlDeviceSetPersistenceMode", (0,)),
    ("nvmlDeviceResetApplicationsClocks", ()),
    ("nvmlDeviceClearEccErrorCounts", (0,)),
    ("nvmlDeviceSetMigMode", (1,)),
])
def test_a_fault_named_on_a_setter(setter, args, use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {setter: {"error": "NO_PERMISSION", "after": 1, "count": 1}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    fn = getattr(pynvml, setter)
    fn(h, *args)                       # call 0: before the fault
    with pytest.raises(pynvml.NVMLError_NoPermission):
        fn(h, *args)                   # call 1
    fn(h, *args)                       # call 2: after it


# --- PYNVML_SIM_PROFILE naming what is not a regular file -------------------------------------


def test_a_fifo_profile_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "profile.fifo"
    os.mkfifo(fifo)
    r = run_child("""
        import pynvml
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as e:
            print(type(e).__name__)
    """, timeout=20, PYNVML_SIM_PROFILE=str(fifo))
    assert r.stdout.strip() == "NVMLError_DriverNotLoaded"
    assert "not a regular file" in r.stderr and str(fifo) in r.stderr


def test_dev_zero_is_refused_without_growing_memory():
    r = run_child("""
        import resource, pynvml
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as e:
            print(type(e).__name__, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """, timeout=20, PYNVML_SIM_PROFILE="/dev/zero")
    name, mib = r.stdout.split()
    # (before: 6.7 GiB in 6 s, and on; the peak RSS grew by what the library itself needs)
    assert name == "NVMLError_DriverNotLoaded" and int(mib) < 100
    assert "not a regular file" in r.stderr


def test_a_profile_over_the_size_limit_is_refused(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.write(b'{"system": {}, "devices": [{}], "pad": "')
        f.truncate(70 * 2**20)
    f = open(big, "ab")
    f.write(b'"}')
    f.close()
    r = run_child("""
        import pynvml
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as e:
            print(type(e).__name__)
    """, timeout=30, PYNVML_SIM_PROFILE=str(big))
    assert r.stdout.strip() == "NVMLError_DriverNotLoaded"
    assert "larger than" in r.stderr and "MiB" in r.stderr
