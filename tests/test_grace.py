"""Amortized init/shutdown (ext/loader.c, issue #19): the last nvmlShutdown makes our layer
uninitialized at once, but NVML's real shutdown waits for a grace period
(PYNVML_SHUTDOWN_GRACE seconds), which the next nvmlInit with the same flags cancels.

What is counted is NVML's real nvmlInit*/nvmlShutdown calls: the simulator's counters
(pynvml._sim.init_shutdown_calls()), or, for what a process does up to its very end, a
stand-in library that logs them to a file (tests/shim/minimal_nvml.c, -DLOG_CALLS).
Nothing here is timed: a test that waits for the timer waits for its effect."""
import re
import time
import warnings

import pytest

import pynvml
from pynvml import _sim
from test_loading import build_shim, lines, run_py

pytestmark = pytest.mark.simulator
NO_GPUS = pynvml.NVML_INIT_FLAG_NO_GPUS


@pytest.fixture
def grace(monkeypatch):
    """A long grace period (no timer fires during the test); nothing held before or after."""
    assert pynvml._nvml._refcount() == 0
    pynvml._nvml._release_now()
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "600")
    yield
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()
    pynvml._nvml._release_now()


def calls():
    return _sim.init_shutdown_calls()


def delta(before):
    now = calls()
    return now[0] - before[0], now[1] - before[1]


def poll():
    pynvml.nvmlInit()
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        return pynvml.nvmlDeviceGetName(h), pynvml.nvmlDeviceGetTemperature(h, 0)
    finally:
        pynvml.nvmlShutdown()


def test_a_poll_loop_initializes_nvml_once(grace):
    first = poll()                      # loads the library: the counters exist from here
    c0 = calls()
    for _ in range(50):
        assert poll() == first
    assert delta(c0) == (0, 0)          # 50 polls, no real init or shutdown
    assert pynvml._nvml._release_pending()
    assert pynvml._nvml._release_now() is True
    assert delta(c0) == (0, 1)          # the one real shutdown
    assert not pynvml._nvml._release_pending()
    assert pynvml._nvml._release_now() is False
    poll()
    assert delta(c0) == (1, 1)          # after a real shutdown, a real init


def test_grace_zero_turns_it_off(grace, monkeypatch):
    poll()
    pynvml._nvml._release_now()
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "0")
    c0 = calls()
    for _ in range(5):
        poll()
        assert not pynvml._nvml._release_pending()
    assert delta(c0) == (5, 5)


def test_nested_inits_with_the_same_flags_make_no_nvml_call(grace):
    poll()
    c0 = calls()
    pynvml.nvmlInit()                   # takes over the held initialization
    pynvml.nvmlInit()                   # nested, same flags: counted by us alone
    for _ in range(5):
        poll()                          # a library polling while its caller holds NVML
    pynvml.nvmlShutdown()
    assert delta(c0) == (0, 0) and pynvml._nvml._refcount() == 1
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml.nvmlInitWithFlags(NO_GPUS)   # other flags: NVML's count goes up...
    pynvml.nvmlInit()
    assert delta(c0) == (1, 0) and pynvml._nvml._refcount() == 3
    pynvml.nvmlShutdown()               # ...and down again by the one it must
    pynvml.nvmlShutdown()
    assert delta(c0) == (1, 1) and pynvml.nvmlDeviceGetName(h)
    pynvml.nvmlShutdown()               # the last: deferred
    assert delta(c0) == (1, 1) and pynvml._nvml._release_pending()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetName(h)


def test_without_grace_every_call_reaches_nvml(grace, monkeypatch):
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "0")
    poll()
    c0 = calls()
    pynvml.nvmlInit()
    pynvml.nvmlInit()
    pynvml.nvmlInitWithFlags(NO_GPUS)
    for _ in range(3):
        pynvml.nvmlShutdown()
    assert delta(c0) == (3, 3) and not pynvml._nvml._release_pending()


def test_the_grace_period_changed_between_init_and_shutdown(grace, monkeypatch):
    poll()
    c0 = calls()
    pynvml.nvmlInit()                   # held one taken over: 1 reference of NVML's
    pynvml.nvmlInit()                   # counted alone
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "0")
    pynvml.nvmlInit()                   # passed to NVML: 2
    pynvml.nvmlShutdown()
    pynvml.nvmlShutdown()
    pynvml.nvmlShutdown()               # NVML's count back to 0, at once
    assert delta(c0) == (1, 2) and not pynvml._nvml._release_pending()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()


def test_the_layer_is_uninitialized_after_the_last_shutdown(grace):
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml.nvmlDeviceGetName(h)
    pynvml.nvmlShutdown()
    assert pynvml._nvml._release_pending()          # NVML itself is still initialized...
    for call in (lambda: pynvml.nvmlDeviceGetName(h),          # ...but a handle is stale,
                 lambda: pynvml.nvmlDeviceGetMemoryInfo(h),
                 pynvml.nvmlDeviceGetCount,                     # calls without one answer
                 lambda: pynvml.nvmlDeviceGetHandleByIndex(0),  # as NVML would after a real
                 pynvml.nvmlSystemGetDriverVersion,             # shutdown,
                 lambda: pynvml.nvmlDeviceGetFieldValues(h, [1]),
                 pynvml.nvmlShutdown):                          # and so does one shutdown too many
        with pytest.raises(pynvml.NVMLError_Uninitialized):
            call()
    assert pynvml._nvml._refcount() == 0
    assert pynvml._nvml._release_pending()          # which did not release the held one
    assert pynvml.nvmlErrorString(pynvml.NVML_ERROR_UNINITIALIZED) == "Uninitialized"
    from pynvml.smi import nvidia_smi
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml._nvml._smi_query([0], None, 3)
    pynvml.nvmlInit()                                # a new initialization: still stale
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetName(h)
    h2 = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert h2 == h and pynvml.nvmlDeviceGetName(h2)
    assert nvidia_smi.getInstance().DeviceQuery("name")["gpu"]


def test_other_flags_initialize_for_real(grace):
    poll()
    c0 = calls()
    pynvml.nvmlInitWithFlags(NO_GPUS)   # held with flags 0: shut down, initialized anew
    assert delta(c0) == (1, 1)
    pynvml.nvmlShutdown()
    assert delta(c0) == (1, 1) and pynvml._nvml._release_pending()
    pynvml.nvmlInitWithFlags(NO_GPUS)   # same flags as held now: cancelled
    assert delta(c0) == (1, 1)
    pynvml.nvmlShutdown()
    pynvml.nvmlInit()                   # flags 0 again: for real
    assert delta(c0) == (2, 2)
    assert pynvml.nvmlDeviceGetCount() == 2


def test_errors_at_init_reach_the_caller(grace, use_profile, default_profile, monkeypatch):
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "600")
    default_profile.setdefault("system", {})["faults"] = {
        "nvmlInitWithFlags": {"error": "DRIVER_NOT_LOADED", "after": 1, "count": 1}}
    use_profile(default_profile)
    poll()                                # call 0: fine; its shutdown is deferred
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        pynvml.nvmlInitWithFlags(NO_GPUS) # other flags: a real init, call 1, which fails
    assert pynvml._nvml._refcount() == 0
    assert not pynvml._nvml._release_pending()   # the held one was shut down for it
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlDeviceGetCount()
    poll()                                # call 2: fine again


def test_the_first_init_error_reaches_the_caller(grace, use_profile, default_profile):
    default_profile.setdefault("system", {})["faults"] = {
        "nvmlInitWithFlags": {"error": "DRIVER_NOT_LOADED", "count": 1}}
    use_profile(default_profile)
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        pynvml.nvmlInit()
    assert pynvml._nvml._refcount() == 0 and not pynvml._nvml._release_pending()
    poll()


def test_the_timer_shuts_nvml_down(grace, monkeypatch):
    poll()
    pynvml._nvml._release_now()
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "0.05")
    c0 = calls()
    poll()
    assert delta(c0)[0] == 1
    deadline = time.monotonic() + 60       # waits for the effect, asserts nothing on time
    while pynvml._nvml._release_pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pynvml._nvml._release_pending()
    assert delta(c0) == (1, 1)
    poll()                                 # and a poll after it initializes for real
    assert delta(c0)[0] == 2


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "1e9", "5s"])
def test_a_bad_grace_value_warns_and_shuts_down_at_once(grace, monkeypatch, value):
    poll()
    pynvml._nvml._release_now()
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", value)
    c0 = calls()
    with pytest.warns(RuntimeWarning, match=r"^PYNVML_SHUTDOWN_GRACE=%s is not a number of seconds from 0 to "
                      r"86400: NVML is shut down at once$" % re.escape(value)):
        poll()
    assert delta(c0) == (1, 1) and not pynvml._nvml._release_pending()


def test_a_bad_grace_value_as_an_error(grace, monkeypatch):
    pynvml.nvmlInit()
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "soon")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="soon"):
            pynvml.nvmlShutdown()
    assert pynvml._nvml._refcount() == 1       # nothing was shut down
    monkeypatch.setenv("PYNVML_SHUTDOWN_GRACE", "0")
    pynvml.nvmlShutdown()


def test_threads_polling_together(grace):
    import threading

    poll()
    c0 = calls()
    errors = []

    def worker():
        try:
            for _ in range(100):
                poll()
        except BaseException as e:   # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert pynvml._nvml._refcount() == 0
    i, s = delta(c0)
    # the polls overlap, so some inits come while another thread still holds one (passed
    # to NVML, as always); NVML's own refcount ends where it began: one held (at c0) or none
    assert i - s == (1 if pynvml._nvml._release_pending() else 0) - 1


# --- the process's end and fork: seen from outside, through a library that logs -------------


@pytest.fixture(scope="module")
def logging_library(tmp_path_factory):
    return build_shim(tmp_path_factory, "liblogging-nvml.so", "-DLOG_CALLS")


def logged(path):
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_interpreter_exit_shuts_nvml_down(logging_library, tmp_path):
    log = tmp_path / "calls.log"
    r = run_py("""
        import os, pynvml
        for _ in range(3):
            pynvml.nvmlInit()
            pynvml.nvmlShutdown()
        print(os.getpid(), pynvml._nvml._release_pending())
    """, PYNVML_LIBRARY=str(logging_library), PYNVML_SHIM_LOG=str(log), PYNVML_SHUTDOWN_GRACE="600")
    pid, pending = lines(r)[0].split()
    assert pending == "True"
    assert logged(log) == [[pid, "init"], [pid, "shutdown"]]


def test_a_fork_child_never_shuts_the_parents_nvml_down(logging_library, tmp_path):
    log = tmp_path / "calls.log"
    r = run_py("""
        import os, sys, pynvml
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()                 # held for the grace period
        pid = os.fork()
        if pid == 0:
            ok = not pynvml._nvml._release_pending() and pynvml._nvml._refcount() == 0
            sys.exit(0 if ok else 3)          # a normal exit: Python's exit hooks run
        _, status = os.waitpid(pid, 0)
        print(os.getpid(), pid, os.waitstatus_to_exitcode(status), pynvml._nvml._release_pending())
    """, PYNVML_LIBRARY=str(logging_library), PYNVML_SHIM_LOG=str(log), PYNVML_SHUTDOWN_GRACE="600")
    parent, child, code, pending = lines(r)[0].split()
    assert (code, pending) == ("0", "True")
    assert logged(log) == [[parent, "init"], [parent, "shutdown"]]


def test_the_timer_keeps_no_interpreter_alive(logging_library, tmp_path):
    # with an hour of grace the process still ends as soon as its main thread does
    log = tmp_path / "calls.log"
    r = run_py("""
        import pynvml
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        print("done")
    """, timeout=60, PYNVML_LIBRARY=str(logging_library), PYNVML_SHIM_LOG=str(log),
        PYNVML_SHUTDOWN_GRACE="3600")
    assert lines(r) == ["done"]
    assert [what for _, what in logged(log)] == ["init", "shutdown"]


def test_fork_while_another_thread_is_inside_nvml_init(default_profile, tmp_path):
    """Issue #11: a thread inside nvmlInit (held there by a "delay_ms" fault) holds the
    extension's init lock when another thread forks; the child's nvmlInit must not wait
    for a thread that does not exist there."""
    import json

    default_profile.setdefault("system", {})["faults"] = {
        "nvmlInitWithFlags": {"delay_ms": 3000, "count": 1}}
    profile = tmp_path / "slow-init.json"
    profile.write_text(json.dumps(default_profile))
    r = run_py("""
        import os, threading, time, pynvml
        from pynvml import _sim
        t = threading.Thread(target=pynvml.nvmlInit)
        t.start()
        # the first init is inside its delay once the simulator is loaded and counts it
        while True:
            try:
                if _sim.delays_now() == 1:
                    break
            except RuntimeError:
                pass                           # the library is not loaded yet
            time.sleep(0.001)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                pynvml.nvmlInit()
                n = pynvml.nvmlDeviceGetCount()
                pynvml.nvmlShutdown()
                code = 0 if n == 2 else 2
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print("child", os.waitstatus_to_exitcode(status))
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                print("child hung in nvmlInit")
                break
            time.sleep(0.01)
        t.join()
        print(pynvml._nvml._refcount())
    """, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=str(profile), PYNVML_SHUTDOWN_GRACE="0")
    assert lines(r) == ["child 0", "1"]


def test_exit_while_a_daemon_thread_is_inside_nvml_init(default_profile, tmp_path):
    # finalization ends a daemon thread that wants the GIL back on its way out of nvmlInit,
    # with the init lock held: the exit hook must not wait for it for ever
    import json

    default_profile.setdefault("system", {})["faults"] = {
        "nvmlInitWithFlags": {"delay_ms": 2500, "count": 1}}
    profile = tmp_path / "slow-init.json"
    profile.write_text(json.dumps(default_profile))
    r = run_py("""
        import threading, time, pynvml
        from pynvml import _sim
        threading.Thread(target=pynvml.nvmlInit, daemon=True).start()
        while True:
            try:
                if _sim.delays_now() == 1:
                    break
            except RuntimeError:
                pass                           # the library is not loaded yet
            time.sleep(0.001)
        print("exiting")
    """, timeout=60, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=str(profile), PYNVML_SHUTDOWN_GRACE="600")
    assert lines(r) == ["exiting"]


def test_another_simulator_profile_is_initialized_anew(grace, monkeypatch, tmp_path, default_profile):
    # Within the grace period, a test that points PYNVML_SIM_PROFILE at other GPUs before
    # nvmlInit gets those GPUs: the held initialization is not taken over.
    assert poll()[1] == 35                          # the built-in profile
    c0 = calls()
    default_profile["devices"][0]["nvmlDeviceGetTemperature"] = {"0": 71}
    path = tmp_path / "hot.json"
    path.write_text(__import__("json").dumps(default_profile))
    monkeypatch.setenv("PYNVML_SIM_PROFILE", str(path))
    assert poll()[1] == 71
    i, s = delta(c0)
    assert (i, s) == (1, 1)                          # the held one shut down, a real init
    assert poll()[1] == 71 and delta(c0) == (1, 1)   # and that one is held in turn
