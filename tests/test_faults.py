"""Injected faults in the simulated NVML (syntax: sim/sim.h), a GPU lost mid-run, entry
points left out as in an older driver, and every return code raised as its class
through a fault, by ours and by nvidia-ml-py."""
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pynvml
import pynvml._sim as sim
from pynvml._sim import hide_symbols

from conftest import REF_MODULE
from test_errors import NVML_ERRORS, class_name

pytestmark = pytest.mark.simulator


def start(use_profile, profile):
    use_profile(profile)
    pynvml.nvmlInit()
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


def outcomes(call, n):
    """'.' for each call that succeeded, else the error class's name less NVMLError_."""
    out = []
    for _ in range(n):
        try:
            call()
            out.append(".")
        except pynvml.NVMLError as e:
            out.append(type(e).__name__[len("NVMLError_"):])
    return out


def power(h):
    return lambda: pynvml.nvmlDeviceGetPowerUsage(h)


# --- after N, for M calls, codes by name or number ----------------------------------------


def test_fault_after_n_calls_from_then_on(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": {"error": "GPU_IS_LOST", "after": 5}}
    h0, h1 = start(use_profile, default_profile)
    assert outcomes(power(h0), 8) == ["."] * 5 + ["GpuIsLost"] * 3
    # the other device, and the other entry points of this one, are untouched
    assert outcomes(power(h1), 8) == ["."] * 8
    assert pynvml.nvmlDeviceGetTemperature(h0, 0) == 35
    assert pynvml.nvmlDeviceGetPowerUsage(h1) == default_profile["devices"][1]["nvmlDeviceGetPowerUsage"]


def test_fault_for_m_calls(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": "NVML_ERROR_TIMEOUT", "after": 2, "count": 3}}
    h0, _ = start(use_profile, default_profile)
    assert outcomes(power(h0), 7) == [".", ".", "Timeout", "Timeout", "Timeout", ".", "."]
    assert pynvml.nvmlDeviceGetPowerUsage(h0) == default_profile["devices"][0]["nvmlDeviceGetPowerUsage"]


def test_fault_always_and_code_forms(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": 15},
        "nvmlDeviceGetTemperature": {"error": "NO_PERMISSION"},
        "nvmlDeviceGetName": {"error": 777},
    }
    h0, _ = start(use_profile, default_profile)
    assert outcomes(power(h0), 2) == ["GpuIsLost"] * 2
    with pytest.raises(pynvml.NVMLError_NoPermission):
        pynvml.nvmlDeviceGetTemperature(h0, 0)
    with pytest.raises(pynvml.NVMLError) as info:
        pynvml.nvmlDeviceGetName(h0)
    assert type(info.value) is pynvml.NVMLError and info.value.value == 777


def test_a_list_of_faults_on_one_entry_point(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": [
        {"error": "TIMEOUT", "after": 1, "count": 1},
        {"error": "UNKNOWN", "after": 3},
    ]}
    h0, _ = start(use_profile, default_profile)
    assert outcomes(power(h0), 5) == [".", "Timeout", ".", "Unknown", "Unknown"]


def test_star_is_every_entry_point_with_one_counter(use_profile, default_profile):
    default_profile["devices"][1]["faults"] = {"*": {"error": "IN_USE", "after": 3, "count": 2}}
    h0, h1 = start(use_profile, default_profile)
    calls = [lambda: pynvml.nvmlDeviceGetName(h1), lambda: pynvml.nvmlDeviceGetPowerUsage(h1),
             lambda: pynvml.nvmlDeviceGetTemperature(h1, 0), lambda: pynvml.nvmlDeviceGetUUID(h1),
             lambda: pynvml.nvmlDeviceGetMemoryInfo(h1), lambda: pynvml.nvmlDeviceGetName(h1)]
    # call 0 was start()'s handle lookup by index
    assert [outcomes(c, 1)[0] for c in calls] == [".", ".", "InUse", "InUse", ".", "."]
    assert outcomes(power(h0), 3) == ["."] * 3


def test_the_first_rule_that_fires_decides(use_profile, default_profile):
    # two rules match one call: the first (in the profile's order) gives the error; the
    # later one still counts the call (its "after" runs out at the same pace)
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": {"error": "IN_USE", "count": 2},
                                               "*": {"error": "NO_DATA", "after": 2}}
    h0, _ = start(use_profile, default_profile)
    # "*" counted start()'s handle lookup as its call 0
    assert outcomes(power(h0), 4) == ["InUse", "InUse", "NoData", "NoData"]


def test_counting_starts_at_load_and_reset_starts_it_again(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "after": 2}}
    h0, _ = start(use_profile, default_profile)
    assert outcomes(power(h0), 1) == ["."]
    # the same profile: shut down and initialized again, the counter goes on
    pynvml.nvmlShutdown()
    pynvml.nvmlInit()
    h0 = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert outcomes(power(h0), 2) == [".", "Unknown"]
    sim.reset_faults()
    assert outcomes(power(h0), 3) == [".", ".", "Unknown"]


# --- at random, with a seed ------------------------------------------------------------------


def _pattern(use_profile, profile, n=300):
    h0, _ = start(use_profile, profile)
    return "".join("x" if o != "." else "." for o in outcomes(power(h0), n))


def test_random_faults_repeat_with_the_same_seed(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "probability": 0.3, "seed": 7}}
    first = _pattern(use_profile, default_profile)
    sim.reset_faults()
    h0 = pynvml.nvmlDeviceGetHandleByIndex(0)
    again = "".join("x" if o != "." else "." for o in outcomes(power(h0), 300))
    assert first == again
    assert 60 <= first.count("x") <= 120          # about 0.3 of 300
    assert "xx" in first and ".." in first


def test_random_faults_same_seed_in_another_process(use_profile, default_profile, tmp_path):
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "probability": 0.5, "seed": 12345}}
    path = use_profile(default_profile)
    code = textwrap.dedent("""
        import pynvml
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        out = ""
        for _ in range(200):
            try:
                pynvml.nvmlDeviceGetPowerUsage(h); out += "."
            except pynvml.NVMLError_Unknown:
                out += "x"
        print(out)
        """)
    env = dict(os.environ, PYNVML_SIM_PROFILE=str(path))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.count("x") in range(70, 131)
    # ... and in this process (nvidia-ml-py's calls would count the same way)
    pynvml.nvmlInit()
    h0 = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert "".join("x" if o != "." else "." for o in outcomes(power(h0), 200)) == runs[0].stdout.strip()


def test_random_faults_differ_with_another_seed(use_profile, default_profile):
    rule = {"error": "UNKNOWN", "probability": 0.3, "seed": 7}
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetPowerUsage": rule}
    a = _pattern(use_profile, default_profile)
    pynvml.nvmlShutdown()
    rule["seed"] = 8
    b = _pattern(use_profile, default_profile)
    assert a != b


def test_probability_zero_and_one(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "probability": 0.0, "seed": 1},
        "nvmlDeviceGetName": {"error": "UNKNOWN", "probability": 1.0, "seed": 1}}
    h0, _ = start(use_profile, default_profile)
    assert outcomes(power(h0), 50) == ["."] * 50
    assert outcomes(lambda: pynvml.nvmlDeviceGetName(h0), 50) == ["Unknown"] * 50


def test_random_faults_with_a_window(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "probability": 0.5, "seed": 3, "after": 10, "count": 20}}
    p = _pattern(use_profile, default_profile, 60)
    assert p[:10] == "." * 10 and p[30:] == "." * 30 and "x" in p[10:30]


def test_threads_share_the_counters(use_profile, default_profile):
    # 4 threads x 100 calls: calls 100..149 fail, whoever makes them; and a random rule
    # fails the same number of calls as the same 400 calls made by one thread
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": "TIMEOUT", "after": 100, "count": 50},
        "nvmlDeviceGetTemperature": {"error": "UNKNOWN", "probability": 0.25, "seed": 99}}
    h0, _ = start(use_profile, default_profile)
    results = {"power": [], "temp": []}

    def worker():
        p = outcomes(power(h0), 100)
        t = outcomes(lambda: pynvml.nvmlDeviceGetTemperature(h0, 0), 100)
        results["power"] += p
        results["temp"] += t

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["power"].count("Timeout") == 50 and len(results["power"]) == 400
    sim.reset_faults()
    alone = outcomes(lambda: pynvml.nvmlDeviceGetTemperature(h0, 0), 400)
    assert results["temp"].count("Unknown") == alone.count("Unknown") > 0


# --- system faults and the hand-written entry points ------------------------------------


def test_system_faults(use_profile, default_profile):
    default_profile["system"]["faults"] = {
        "nvmlSystemGetDriverVersion": {"error": "UNKNOWN", "after": 1},
        "nvmlDeviceGetCount_v2": {"error": "DRIVER_NOT_LOADED", "after": 2, "count": 1},
        "nvmlSystemGetProcessName": {"error": "NO_PERMISSION"},
    }
    use_profile(default_profile)
    pynvml.nvmlInit()
    assert outcomes(pynvml.nvmlSystemGetDriverVersion, 3) == [".", "Unknown", "Unknown"]
    assert outcomes(pynvml.nvmlDeviceGetCount, 4) == [".", ".", "DriverNotLoaded", "."]
    with pytest.raises(pynvml.NVMLError_NoPermission):
        pynvml.nvmlSystemGetProcessName(4242)
    # device calls do not read the system's faults
    assert pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0)) == "NVIDIA H100 80GB HBM3"


def test_init_fault_leaves_nvml_uninitialized(use_profile, default_profile, monkeypatch):
    # pynvml's nvmlInit and nvmlInitWithFlags call nvmlInitWithFlags (as nvidia-ml-py's do);
    # every nvmlShutdown reaches NVML (no grace period: ext/loader.c), so its faults show
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "0")
    default_profile["system"]["faults"] = {
        "nvmlInitWithFlags": {"error": "LIB_RM_VERSION_MISMATCH", "after": 1, "count": 1},
        "nvmlShutdown": {"error": "UNKNOWN", "after": 1, "count": 1}}
    use_profile(default_profile)
    pynvml.nvmlInit()                                   # init call 0
    with pytest.raises(pynvml.NVMLError_LibRmVersionMismatch):
        pynvml.nvmlInit()                               # init call 1 fails
    assert pynvml._nvml._refcount() == 1
    pynvml.nvmlShutdown()                               # shutdown call 0
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()
    pynvml.nvmlInit()                                   # init call 2
    with pytest.raises(pynvml.NVMLError_Unknown):
        pynvml.nvmlShutdown()                           # shutdown call 1 fails: NVML stays up
    assert pynvml.nvmlDeviceGetCount() == 2
    pynvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()


def test_faults_on_hand_written_entry_points(use_profile, default_profile):
    uuid1 = default_profile["devices"][1]["nvmlDeviceGetUUID"]
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetHandleByIndex_v2": {"error": "UNKNOWN", "after": 1, "count": 1},
        "nvmlDeviceGetIndex": {"error": "TIMEOUT"},
        "nvmlDeviceGetFieldValues": {"error": "NOT_READY"}}
    default_profile["devices"][1]["faults"] = {"nvmlDeviceGetHandleByUUID": {"error": "IN_USE"}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    assert outcomes(lambda: pynvml.nvmlDeviceGetHandleByIndex(0), 3) == [".", "Unknown", "."]
    h0 = pynvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(pynvml.NVMLError_Timeout):
        pynvml.nvmlDeviceGetIndex(h0)
    with pytest.raises(pynvml.NVMLError_NotReady):
        pynvml.nvmlDeviceGetFieldValues(h0, [1])
    with pytest.raises(pynvml.NVMLError_InUse):
        pynvml.nvmlDeviceGetHandleByUUID(uuid1)
    assert pynvml.nvmlDeviceGetIndex(pynvml.nvmlDeviceGetHandleByIndex(1)) == 1


def test_delay_makes_calls_slow_then_answer(use_profile, default_profile):
    """A slow driver: "delay_ms" alone delays the faulty calls, which then answer as usual;
    with "error" they answer that code late (a hung GPU's TIMEOUT).  Which calls were
    delayed is counted by the simulator; a delayed call lasts at least the delay."""
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"delay_ms": 150, "after": 1, "count": 1},
        "nvmlDeviceGetTemperature": {"delay_ms": 100, "error": "TIMEOUT"}}
    h0, h1 = start(use_profile, default_profile)
    sim.max_concurrent_delays()                      # start counting
    watts = default_profile["devices"][0]["nvmlDeviceGetPowerUsage"]
    delayed = []
    for _ in range(3):
        t0 = time.monotonic()
        assert pynvml.nvmlDeviceGetPowerUsage(h0) == watts
        delayed.append((sim.max_concurrent_delays(), time.monotonic() - t0))
    assert [n for n, _ in delayed] == [0, 1, 0]      # only call 1 (after 1, count 1)
    assert delayed[1][1] >= 0.15
    t0 = time.monotonic()
    with pytest.raises(pynvml.NVMLError_Timeout):
        pynvml.nvmlDeviceGetTemperature(h0, 0)
    assert time.monotonic() - t0 >= 0.1 and sim.max_concurrent_delays() == 1
    assert pynvml.nvmlDeviceGetTemperature(h1, 0) == default_profile["devices"][1]["nvmlDeviceGetTemperature"]["0"]
    assert sim.max_concurrent_delays() == 0 and sim.delays_now() == 0


@pytest.mark.parametrize("faults, message", [
    ({"nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "afer": 5}}, 'unknown member "afer"'),
    ({"nvmlDeviceGetPowerUsage": {"after": 5}}, 'needs an "error" or a "delay_ms"'),
    ({"nvmlDeviceGetPowerUsage": {"delay_ms": -1}}, "delay_ms: out of range: expected a number of milliseconds"),
    ({"nvmlDeviceGetPowerUsage": {"delay_ms": "5"}}, 'delay_ms: expected a number of milliseconds'),
    ({"nvmlDeviceGetPowerUsage": {"error": "NO_SUCH_CODE"}}, "error: expected a return code's name"),
    ({"nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "probability": 1.5}}, "probability: out of range"),
    ({"nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "after": -1}}, "after: out of range: expected an integer >= 0"),
    ({"nvmlDeviceGetPowerUsage": {"error": "UNKNOWN", "count": 2.5}}, "count: expected an integer >= 0, got 2.5"),
    ({"nvmlDeviceGetPowerUsage": "UNKNOWN"}, "expected a fault (an object) or a list of faults"),
    ([], "faults: expected entry point"),
    ({"nvmlDeviceGetPowerUsge": {"error": "UNKNOWN"}}, '"nvmlDeviceGetPowerUsge" is no NVML entry point'),
])
def test_a_bad_fault_refuses_the_profile(faults, message, use_profile, default_profile, capfd):
    default_profile["devices"][1]["faults"] = faults
    path = use_profile(default_profile)
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        pynvml.nvmlInit()
    err = capfd.readouterr().err
    # the place: the file and the JSON path (the one check faults.c makes itself: "device 1")
    assert (f"{path}: $.devices[1].faults" in err or "device 1" in err) and message in err
    assert pynvml._nvml._refcount() == 0


# --- a GPU lost mid-run ------------------------------------------------------------------------


def monitor(binding, rounds):
    """A monitoring loop: per round, per GPU, a handle and three readings, or 'lost'."""
    log = []
    for _ in range(rounds):
        row = []
        for i in range(binding.nvmlDeviceGetCount()):
            try:
                h = binding.nvmlDeviceGetHandleByIndex(i)
                row.append((binding.nvmlDeviceGetUtilizationRates(h).gpu,
                            binding.nvmlDeviceGetMemoryInfo(h).used, binding.nvmlDeviceGetPowerUsage(h)))
            except binding.NVMLError_GpuIsLost:
                row.append("lost")
        log.append(row)
    return log


HEALTHY = (0, 503316480, 71670)


def test_gpu_lost_after_n_calls_mid_run(use_profile, default_profile):
    # 4 calls a round on a GPU: lost after 10 calls is during the third round
    default_profile["devices"][1]["lost"] = {"after": 10}
    use_profile(default_profile)
    pynvml.nvmlInit()
    log = monitor(pynvml, 5)
    assert [row[0] for row in log] == [HEALTHY] * 5
    assert [row[1] == "lost" for row in log] == [False, False, True, True, True]
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        pynvml.nvmlDeviceGetHandleByIndex(1)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        pynvml.nvmlDeviceGetHandleByUUID(default_profile["devices"][1]["nvmlDeviceGetUUID"])
    assert pynvml.nvmlDeviceGetCount() == 2   # it is still there, answering GPU_IS_LOST


def test_gpu_lost_with_another_code(use_profile, default_profile):
    default_profile["devices"][0]["lost"] = {"after": 2, "error": "UNKNOWN"}
    h0, h1 = start(use_profile, default_profile)   # the handle lookup is call 1
    assert outcomes(lambda: pynvml.nvmlDeviceGetName(h0), 3) == [".", "Unknown", "Unknown"]
    assert outcomes(lambda: pynvml.nvmlDeviceGetName(h1), 3) == ["."] * 3


def test_gpu_lost_at_a_control_call(use_profile, default_profile):
    use_profile(default_profile)
    pynvml.nvmlInit()
    before = monitor(pynvml, 2)
    h1 = pynvml.nvmlDeviceGetHandleByIndex(1)
    sim.lose_device(1)
    after = monitor(pynvml, 2)
    assert before == [[HEALTHY, before[0][1]]] * 2 and before[0][1] != "lost"
    assert after == [[HEALTHY, "lost"]] * 2
    with pytest.raises(pynvml.NVMLError_GpuIsLost):   # a handle taken before, too
        pynvml.nvmlDeviceGetName(h1)
    sim.lose_device(0, pynvml.NVML_ERROR_UNKNOWN)
    with pytest.raises(pynvml.NVMLError_Unknown):
        pynvml.nvmlDeviceGetHandleByIndex(0)
    sim.reset_faults()                                # back as the profile starts them
    assert monitor(pynvml, 1) == before[:1]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        sim.lose_device(5)


def test_gpu_lost_mid_run_seen_by_nvidia_ml_py_too(use_profile, default_profile, ref):
    # nvidia-ml-py on the same simulator (the ref fixture's nvmlLib): one device, two bindings
    use_profile(default_profile)
    pynvml.nvmlInit()
    ref.nvmlInit()
    try:
        assert monitor(ref, 1) == monitor(pynvml, 1)
        sim.lose_device(0, library=ref.nvmlLib)
        theirs, ours = monitor(ref, 2), monitor(pynvml, 2)
        assert theirs == ours and [row[0] for row in ours] == ["lost", "lost"]
        assert all(row[1] not in ("lost", HEALTHY) for row in ours)
    finally:
        ref.nvmlShutdown()


def test_gpu_lost_from_the_start_forms(use_profile, default_profile):
    default_profile["devices"][0]["lost"] = True
    default_profile["devices"][1]["lost"] = {"error": "NVML_ERROR_GPU_IS_LOST"}
    use_profile(default_profile)
    pynvml.nvmlInit()
    assert monitor(pynvml, 1) == [["lost", "lost"]]


# --- every return code as its class, through a fault --------------------------------------------


@pytest.mark.parametrize("const", sorted(NVML_ERRORS))
def test_every_code_through_a_fault_in_both_bindings(const, use_profile, default_profile, ref):
    """test_errors.py injects each code as a profile value; here it comes from a fault
    after one good call, on a generated and a hand-written entry point, and nvidia-ml-py
    (on the same library) must raise the same class."""
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetPowerUsage": {"error": const, "after": 1},
        "nvmlDeviceGetIndex": {"error": const[len("NVML_ERROR_"):], "after": 1}}
    h0, _ = start(use_profile, default_profile)
    ref.nvmlInit()
    try:
        rh0 = ref.nvmlDeviceGetHandleByIndex(0)
        assert pynvml.nvmlDeviceGetPowerUsage(h0) == default_profile["devices"][0]["nvmlDeviceGetPowerUsage"]
        assert ref.nvmlDeviceGetIndex(rh0) == 0
        for binding, call in ((pynvml, lambda: pynvml.nvmlDeviceGetPowerUsage(h0)),
                              (ref, lambda: ref.nvmlDeviceGetPowerUsage(rh0)),
                              (pynvml, lambda: pynvml.nvmlDeviceGetIndex(h0)),
                              (ref, lambda: ref.nvmlDeviceGetIndex(rh0))):
            with pytest.raises(binding.NVMLError) as info:
                call()
            assert type(info.value) is getattr(binding, class_name(const))
            assert info.value.value == NVML_ERRORS[const]
    finally:
        ref.nvmlShutdown()


# --- entry points left out (an older driver) ----------------------------------------------------


def run_py(code, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=e, timeout=60)


@pytest.fixture
def older_driver(tmp_path):
    out, hidden = sim.hide(["nvmlDeviceGetPowerUsage", "nvmlDeviceGetMig*"], str(tmp_path))
    return out, hidden


def test_hide_writes_a_library_without_those_symbols(older_driver):
    out, hidden = older_driver
    assert os.path.basename(out) == "libnvidia-ml.so.1"
    assert "nvmlDeviceGetPowerUsage" in hidden and "nvmlDeviceGetMigMode" in hidden
    assert all(n == "nvmlDeviceGetPowerUsage" or n.startswith("nvmlDeviceGetMig") for n in hidden)
    left = set(hide_symbols.exported(out))
    assert not left & set(hidden)
    assert left | set(hidden) == set(hide_symbols.exported())
    assert os.path.getsize(out) == os.path.getsize(hide_symbols.sim_library())


def test_hidden_entry_point_in_pynvml(older_driver):
    out, _ = older_driver
    r = run_py("""
        import pynvml
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        print(pynvml.nvmlDeviceGetName(h))
        for f in (lambda: pynvml.nvmlDeviceGetPowerUsage(h), lambda: pynvml.nvmlDeviceGetMigMode(h)):
            try:
                f()
            except pynvml.NVMLError as e:
                print(type(e).__name__, e.value)
        print(pynvml.nvmlDeviceGetTemperature(h, 0))
        """, PYNVML_LIBRARY=out)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["NVIDIA H100 80GB HBM3", "NVMLError_FunctionNotFound 13",
                                     "NVMLError_FunctionNotFound 13", "35"]


def test_hidden_entry_point_in_nvidia_ml_py(older_driver, ref):
    out, _ = older_driver
    # nvidia-ml-py's own loader, finding the copy as libnvidia-ml.so.1 on LD_LIBRARY_PATH
    r = run_py("""
        import pynvml
        assert pynvml.__file__ == %r, pynvml.__file__
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        print(pynvml.nvmlDeviceGetName(h))
        try:
            pynvml.nvmlDeviceGetPowerUsage(h)
        except pynvml.NVMLError_FunctionNotFound as e:
            print(type(e).__name__, e.value)
        print(pynvml.nvmlDeviceGetTemperature(h, 0))
        """ % ref.__file__, LD_LIBRARY_PATH=os.path.dirname(out), PYTHONPATH=os.path.dirname(ref.__file__),
        PYNVML_LIBRARY="")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["NVIDIA H100 80GB HBM3", "NVMLError_FunctionNotFound 13", "35"]


def test_the_simulator_binds_to_none_of_its_own_symbols_by_name():
    # what makes hiding safe: no relocation of the library names a symbol it defines
    # (-Bsymbolic, hidden helpers), so hiding any of them cannot break a call inside it
    path = hide_symbols.sim_library()
    data = open(path, "rb").read()
    secs = hide_symbols._sections(data)
    dynsym, syms = hide_symbols._dynamic_symbols(data, secs)
    own = {k: name for k, name, defined, _ in syms if defined}
    assert len(own) > 150
    assert [own[k] for k in hide_symbols._relocated(data, secs, dynsym) if k in own] == []


def test_hiding_a_newer_name_keeps_the_older_one(tmp_path):
    # nvmlDeviceGetHandleByIndex and _v2 share their code inside the simulator: with
    # _v2 (and nvmlInit_v2) hidden, the old names must still work
    out, _ = sim.hide(["nvmlDeviceGetHandleByIndex_v2", "nvmlInit_v2"], str(tmp_path))
    r = run_py(f"""
        import ctypes
        lib = ctypes.CDLL({out!r})
        print(hasattr(lib, "nvmlDeviceGetHandleByIndex_v2"), hasattr(lib, "nvmlInit_v2"))
        d = ctypes.c_void_p()
        print(lib.nvmlInit(), lib.nvmlDeviceGetHandleByIndex(1, ctypes.byref(d)), d.value is not None)
        i = ctypes.c_uint(7)
        print(lib.nvmlDeviceGetIndex(d, ctypes.byref(i)), i.value)
        """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False", "0", "0", "True", "0", "1"]


UNVERSIONED_PROCESS_GETTERS = ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses",
                               "nvmlDeviceGetMPSComputeRunningProcesses")


def test_older_driver_without_v3_process_getters_like_nvidia_ml_py(tmp_path, ref):
    # A driver without the _v3 process getters: nvidia-ml-py's unversioned names raise
    # NVMLLibraryMismatchError (not an NVMLError) there, pointing to the _v2 names.
    out, _ = sim.hide([n + "_v3" for n in UNVERSIONED_PROCESS_GETTERS], str(tmp_path))
    code = """
        import sys
        sys.path.insert(0, sys.argv[1]) if sys.argv[1] else None
        import pynvml
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(1)
        for n in %r:
            try:
                getattr(pynvml, n)(h)
            except Exception as e:
                print(type(e).__name__)
        print([p.pid for p in pynvml.nvmlDeviceGetComputeRunningProcesses_v2(h)])
        """ % (UNVERSIONED_PROCESS_GETTERS,)
    theirs = subprocess.run([sys.executable, "-c", textwrap.dedent(code), os.path.dirname(ref.__file__)],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(out), PYNVML_LIBRARY=""))
    ours = subprocess.run([sys.executable, "-c", textwrap.dedent(code), ""], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYNVML_LIBRARY=out))
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout.split() == ["NVMLLibraryMismatchError"] * 3 + ["[4242]"]
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_hide_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(hide_symbols.HideError, match="defines no symbol 'nvmlNoSuchThing'"):
        sim.hide(["nvmlNoSuchThing"], str(tmp_path))
    # a library that calls its own exported function through the PLT (cJSON does)
    cjson = "/usr/lib/x86_64-linux-gnu/libcjson.so.1"
    if os.path.exists(cjson):
        with pytest.raises(hide_symbols.HideError, match="binds to cJSON_ParseWithOpts itself"):
            hide_symbols.hide(["cJSON_ParseWithOpts"], str(tmp_path / "x.so"), cjson)
    assert os.listdir(tmp_path) == []
    with pytest.raises(hide_symbols.HideError, match="not an ELF file"):
        p = tmp_path / "not.so"
        p.write_bytes(b"hello")
        hide_symbols.hide(["x"], str(tmp_path / "y.so"), str(p))


def test_hide_command_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "hide", "-o", str(tmp_path),
                        "nvmlDeviceGetPowerUsage"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "1 entry points hidden: nvmlDeviceGetPowerUsage" in r.stdout
    assert "nvmlDeviceGetPowerUsage" not in hide_symbols.exported(str(tmp_path / "libnvidia-ml.so.1"))
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "hide", "-o", str(tmp_path), "nvmlNope"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "defines no symbol 'nvmlNope'" in r.stderr
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "symbols"], capture_output=True, text=True,
                       timeout=60)
    names = r.stdout.split()
    assert r.returncode == 0 and "nvmlDeviceGetPowerUsage" in names and "pynvmlSimLoseDevice" in names
    assert not [n for n in names if n.startswith("sim_")]   # the helpers stay inside


def test_simulator_exports_only_nvml_and_its_control_calls():
    names = hide_symbols.exported()
    assert {n for n in names if not n.startswith("nvml")} == {"pynvmlSimLoseDevice", "pynvmlSimResetFaults", "pynvmlSimFireEvent",
                                                                  "pynvmlSimFireSystemEvent", "pynvmlSimMaxConcurrentDelays",
                                                                  "pynvmlSimDelaysNow", "pynvmlSimInitShutdownCalls",
                                                                  "pynvmlSimCheckProfile",
                                                                  "pynvmlSimLastLoadError", "pynvmlSimAdvanceClock"}


def test_the_readme_example_profile(use_profile):
    from conftest import ROOT

    text = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```json\n")[1:]]
    block = next(b for b in blocks if '"faults"' in b)
    use_profile(json.loads(block))
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        pynvml.nvmlInit()
    pynvml.nvmlInit()
    h0, h1 = (pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(2))
    assert outcomes(power(h0), 6) == ["NotSupported"] * 5 + ["GpuIsLost"]   # no data, then the fault
    assert outcomes(lambda: pynvml.nvmlDeviceGetName(h1), 100) == ["NotSupported"] * 99 + ["GpuIsLost"]


# --- the profile's lookup (members hashed at load) ------------------------------------------


def test_a_repeated_name_in_a_profile_reads_its_first_value(use_profile, default_profile):
    # cJSON keeps both members; the simulator's index must answer as cJSON's lookup does
    d0 = default_profile["devices"][0]
    d0.pop("nvmlDeviceGetBrand")
    text = json.dumps(default_profile)
    first = '{"nvmlDeviceGetBrand": 7, "nvmlDeviceGetBrand": 9, '
    text = text.replace('"devices": [{', '"devices": [' + first, 1)
    text = text.replace('"system": {', '"system": {"nvmlSystemGetDriverVersion": "1.2.3", ', 1)
    use_profile(text)
    pynvml.nvmlInit()
    assert pynvml.nvmlDeviceGetBrand(pynvml.nvmlDeviceGetHandleByIndex(0)) == 7
    assert pynvml.nvmlSystemGetDriverVersion() == "1.2.3"
    assert pynvml.nvmlDeviceGetBrand(pynvml.nvmlDeviceGetHandleByIndex(1)) == default_profile["devices"][1]["nvmlDeviceGetBrand"]


def test_many_members_and_keys(use_profile, default_profile):
    # a device with thousands of members (comments: "_" names), and integer keys of every width
    d0 = default_profile["devices"][0]
    for i in range(5000):
        d0[f"_x{i}"] = i
    d0["nvmlDeviceGetTemperature"] = {"0": 1, "9": 2, "10": 3, "4294967295": 4}
    use_profile(default_profile)
    pynvml.nvmlInit()
    h0 = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert [pynvml.nvmlDeviceGetTemperature(h0, s) for s in (0, 9, 10, 2**32 - 1)] == [1, 2, 3, 4]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetTemperature(h0, 1)
    assert pynvml.nvmlDeviceGetName(h0) == "NVIDIA H100 80GB HBM3"


# --- chaos: every code, at random, everywhere -----------------------------------------------


def test_random_faults_of_every_code_everywhere_never_crash(tmp_path, default_profile):
    """Each entry point of both devices and the system fails at random with any of the
    31 codes (about half the calls): every getter of pynvml, the smi query engine and
    nvidia-ml-py's getters must answer or raise NVMLError, never crash or hang (in a
    child process, so a crash is a failed test)."""
    chaos = {"*": [{"error": code, "probability": 0.02, "seed": i} for i, code in enumerate(NVML_ERRORS)]}
    for where in [default_profile["system"]] + default_profile["devices"]:
        where["faults"] = chaos
    path = tmp_path / "chaos.json"
    path.write_text(json.dumps(default_profile))
    code = textwrap.dedent("""
        import collections, inspect, sys, importlib.util
        import pynvml, pynvml._sim.hide_symbols
        from pynvml.smi import nvidia_smi
        spec = importlib.util.spec_from_file_location("refpynvml", sys.argv[1])
        ref = importlib.util.module_from_spec(spec); sys.modules["refpynvml"] = ref; spec.loader.exec_module(ref)
        import ctypes
        ref.nvmlLib = ctypes.CDLL(pynvml._sim.hide_symbols.sim_library())
        seen = collections.Counter()
        def attempt(f, *a):
            try:
                f(*a); seen["ok"] += 1
            except (pynvml.NVMLError, ref.NVMLError, ref.NVMLLibraryMismatchError, pynvml.NVMLLibraryMismatchError) as e:
                # (both turn FUNCTION_NOT_FOUND from the unversioned process getters
                # into NVMLLibraryMismatchError)
                seen[type(e).__name__.replace("NVMLError_", "")] += 1
        for _ in range(200):
            attempt(pynvml.nvmlInit)
            attempt(ref.nvmlInit)
        handles = []
        for i in range(2):
            for _ in range(50):
                try:
                    handles.append(pynvml.nvmlDeviceGetHandleByIndex(i)); break
                except pynvml.NVMLError:
                    pass
        getters = [getattr(pynvml, n) for n in dir(pynvml) if n.startswith("nvmlDeviceGet") and "Handle" not in n and callable(getattr(pynvml, n))]
        for _ in range(3):
            for h in handles:
                for g in getters:
                    try:
                        n = len([p for p in inspect.signature(g).parameters.values() if p.default is p.empty])
                    except (TypeError, ValueError):
                        continue
                    if n == 1:
                        attempt(g, h)
        smi = nvidia_smi.getInstance()
        for _ in range(5):
            try:
                smi.DeviceQuery(); seen["smi"] += 1
            except pynvml.NVMLError as e:
                seen["smi " + type(e).__name__] += 1
        rh = None
        for _ in range(50):
            try:
                rh = ref.nvmlDeviceGetHandleByIndex(0); break
            except ref.NVMLError:
                pass
        for name in ("nvmlDeviceGetName", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetPowerUsage",
                     "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetComputeRunningProcesses"):
            for _ in range(20):
                attempt(getattr(ref, name), rh)
        print(len(seen), seen["ok"], sum(v for k, v in seen.items() if k.startswith("smi")))
        """)
    env = dict(os.environ, PYNVML_SIM_PROFILE=str(path), PYNVML_LIBRARY="sim")
    r = subprocess.run([sys.executable, "-c", code, str(REF_MODULE)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    kinds, ok, smi_runs = map(int, r.stdout.split())
    assert kinds > 25 and ok > 100 and smi_runs == 5      # most codes seen, many calls succeeded


def test_a_list_that_keeps_growing_is_asked_again(use_profile, default_profile):
    # INSUFFICIENT_SIZE on the calls after the size query (a list that grew each time): the
    # generated wrapper asks again, with more room, up to its limit of tries (ext/generated)
    default_profile["devices"][0]["faults"] = {
        "nvmlDeviceGetSupportedMemoryClocks": {"error": "INSUFFICIENT_SIZE", "after": 1, "count": 3}}
    h0, _ = start(use_profile, default_profile)
    assert pynvml.nvmlDeviceGetSupportedMemoryClocks(h0) == [2619, 1593]
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetSupportedMemoryClocks": {"error": "INSUFFICIENT_SIZE"}}
    pynvml.nvmlShutdown()
    h0, _ = start(use_profile, default_profile)
    with pytest.raises(pynvml.NVMLError_InsufficientSize):      # never enough: it gives up
        pynvml.nvmlDeviceGetSupportedMemoryClocks(h0)
