"""Events, GPM and S-class units (spec/functions_events.nvml, ext/hand_events.c,
sim/entry_points_events.c).

Events are fired through the simulator's control function pynvmlSimFireEvent (exported by
the simulated libnvidia-ml.so.1, called here through ctypes) or listed in a profile; GPM
metrics come from two samples; units from a profile's "units" list.  nvidia-ml-py (the
`ref` fixture, on the same simulated NVML) is the reference for shapes and for the
simulator's behaviour toward a ctypes caller.  Tests without the `simulator` marker also
run on a real GPU (PYNVML_TEST_REAL=1): they change no GPU state."""
import ctypes
import os
import signal
import threading
import time

import pytest

import pynvml
from conftest import SIM_LIBRARY, of_class

XID = pynvml.nvmlEventTypeXidCriticalError      # 8
PSTATE = pynvml.nvmlEventTypePState             # 4
NA = 0xFFFFFFFF                                 # instance ids of an event of the whole GPU


def _sim():
    lib = ctypes.CDLL(str(SIM_LIBRARY))
    lib.pynvmlSimFireEvent.argtypes = [ctypes.c_uint, ctypes.c_ulonglong, ctypes.c_ulonglong]
    lib.pynvmlSimFireSystemEvent.argtypes = [ctypes.c_ulonglong, ctypes.c_uint]
    return lib


def fire(dev, etype, data):
    assert _sim().pynvmlSimFireEvent(dev, etype, data) == 0


@pytest.fixture
def h(nvml):
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


@pytest.fixture
def evset(h):
    s = pynvml.nvmlEventSetCreate()
    yield s
    try:
        pynvml.nvmlEventSetFree(s)
    except (ValueError, pynvml.NVMLError):
        pass


def start(use_profile, profile):
    use_profile(profile)
    pynvml.nvmlInit()
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


# --- device events ------------------------------------------------------------------------------

@pytest.mark.simulator
def test_registered_event_is_delivered_with_its_data(h, evset, ref):
    pynvml.nvmlDeviceRegisterEvents(h[1], XID | PSTATE, evset)
    fire(1, XID, 79)
    e = pynvml.nvmlEventSetWait(evset, 1000)
    assert of_class(e, pynvml.c_nvmlEventData_t)
    assert [f[0] for f in type(e)._fields_] == [f[0] for f in ref.c_nvmlEventData_t._fields_]
    assert (e.device, e.eventType, e.eventData, e.gpuInstanceId, e.computeInstanceId) == (h[1], XID, 79, NA, NA)
    assert pynvml.nvmlDeviceGetIndex(e.device) == 1
    assert "eventType: 0x00000008" in str(e)
    fire(1, PSTATE, 3)
    e = pynvml.nvmlEventSetWait_v2(evset, 1000)
    assert (e.eventType, e.eventData) == (PSTATE, 3)


@pytest.mark.simulator
def test_events_in_order_and_only_those_registered(h, evset):
    pynvml.nvmlDeviceRegisterEvents(h[0], XID, evset)
    fire(1, XID, 1)              # another device
    fire(0, PSTATE, 2)           # another type
    fire(0, XID, 3)
    fire(0, XID, 4)
    assert [pynvml.nvmlEventSetWait(evset, 500).eventData for _ in range(2)] == [3, 4]
    with pytest.raises(pynvml.NVMLError_Timeout):
        pynvml.nvmlEventSetWait(evset, 50)


@pytest.mark.simulator
def test_each_set_gets_its_own_copy(h, evset):
    other = pynvml.nvmlEventSetCreate()
    try:
        pynvml.nvmlDeviceRegisterEvents(h[0], XID, evset)
        pynvml.nvmlDeviceRegisterEvents(h[0], XID, other)
        fire(0, XID, 13)
        assert pynvml.nvmlEventSetWait(evset, 500).eventData == 13
        assert pynvml.nvmlEventSetWait(other, 500).eventData == 13
    finally:
        pynvml.nvmlEventSetFree(other)


@pytest.mark.simulator
def test_many_events_to_many_waiting_threads(h):
    """Four threads, each waiting on its own set: every one gets all 300 events, in order."""
    sets = [pynvml.nvmlEventSetCreate() for _ in range(4)]
    for s in sets:
        pynvml.nvmlDeviceRegisterEvents(h[0], XID, s)
    got = [[] for _ in sets]

    def waiter(i):
        while len(got[i]) < 300:
            got[i].append(pynvml.nvmlEventSetWait(sets[i], 5000).eventData)

    threads = [threading.Thread(target=waiter, args=(i,)) for i in range(len(sets))]
    for t in threads:
        t.start()
    for n in range(300):
        fire(0, XID, n)
    for t in threads:
        t.join(30)
    assert all(g == list(range(300)) for g in got)
    for s in sets:
        pynvml.nvmlEventSetFree(s)


def test_wait_times_out(h, evset):
    pynvml.nvmlDeviceRegisterEvents(h[0], XID, evset)
    t0 = time.monotonic()
    with pytest.raises(pynvml.NVMLError_Timeout) as ei:
        pynvml.nvmlEventSetWait(evset, 250)       # longer than a wait slice: the slices add up
    took = time.monotonic() - t0
    assert ei.value.value == pynvml.NVML_ERROR_TIMEOUT
    assert 0.24 <= took < 2.0, took
    t0 = time.monotonic()
    with pytest.raises(pynvml.NVMLError_Timeout):
        pynvml.nvmlEventSetWait(evset, 0)         # a poll
    assert time.monotonic() - t0 < 0.1


@pytest.mark.simulator
def test_wait_releases_the_gil(h, evset):
    """A thread blocked in the wait lets other Python threads run; an event fired
    meanwhile ends the wait long before its timeout."""
    pynvml.nvmlDeviceRegisterEvents(h[0], XID, evset)
    got = []

    def waiter():
        t0 = time.monotonic()
        got.append(pynvml.nvmlEventSetWait(evset, 10000))
        got.append(time.monotonic() - t0)

    t = threading.Thread(target=waiter)
    t.start()
    spins, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 0.3:
        spins += 1
    assert t.is_alive() and spins > 10000       # the main thread ran while the waiter waited
    fire(0, XID, 42)
    t.join(5)
    assert not t.is_alive() and got[0].eventData == 42 and got[1] < 5


def test_ctrl_c_interrupts_a_wait():
    """Ctrl-C (SIGINT) in the main thread during a long wait: KeyboardInterrupt within
    a wait slice (100 ms), not after the timeout."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here")
    pynvml.nvmlInit()
    s = pynvml.nvmlEventSetCreate()
    try:
        pynvml.nvmlDeviceRegisterEvents(pynvml.nvmlDeviceGetHandleByIndex(0), XID, s)
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        t0 = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            pynvml.nvmlEventSetWait(s, 20000)
        assert time.monotonic() - t0 < 3
        timer.join()
        pynvml.nvmlEventSetFree(s)               # the set is still fine
    finally:
        pynvml.nvmlShutdown()


@pytest.mark.simulator
def test_profile_events_arrive_after_their_delay(default_profile, use_profile):
    default_profile["devices"][0]["events"] = [
        {"type": XID, "data": 31, "after_ms": 300},
        {"type": "0x4", "data": 2, "after_ms": 100, "gpuInstanceId": 1, "computeInstanceId": 0}]
    h = start(use_profile, default_profile)
    s = pynvml.nvmlEventSetCreate()
    t0 = time.monotonic()
    pynvml.nvmlDeviceRegisterEvents(h[0], XID | PSTATE, s)
    with pytest.raises(pynvml.NVMLError_Timeout):
        pynvml.nvmlEventSetWait(s, 50)                  # not yet
    e = pynvml.nvmlEventSetWait(s, 2000)
    assert (e.eventType, e.eventData, e.gpuInstanceId, e.computeInstanceId) == (PSTATE, 2, 1, 0)
    assert time.monotonic() - t0 >= 0.09
    e = pynvml.nvmlEventSetWait(s, 2000)
    assert (e.eventType, e.eventData, e.device) == (XID, 31, h[0])
    assert time.monotonic() - t0 >= 0.29
    # registering only Xid on another set queues only the Xid event
    s2 = pynvml.nvmlEventSetCreate()
    pynvml.nvmlDeviceRegisterEvents(h[0], XID, s2)
    assert pynvml.nvmlEventSetWait(s2, 2000).eventType == XID
    with pytest.raises(pynvml.NVMLError_Timeout):
        pynvml.nvmlEventSetWait(s2, 50)
    pynvml.nvmlEventSetFree(s)
    pynvml.nvmlEventSetFree(s2)


@pytest.mark.simulator
def test_unsupported_event_type_is_not_supported(h, evset):
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceRegisterEvents(h[0], 1 << 40, evset)
    assert pynvml.nvmlDeviceGetSupportedEventTypes(h[0]) & XID
    pynvml.nvmlDeviceRegisterEvents(h[0], pynvml.nvmlDeviceGetSupportedEventTypes(h[0]), evset)   # all of them


@pytest.mark.simulator
def test_a_device_supporting_fewer_types(default_profile, use_profile):
    default_profile["devices"][1]["nvmlDeviceGetSupportedEventTypes"] = XID
    default_profile["devices"][0]["nvmlDeviceRegisterEvents"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    h = start(use_profile, default_profile)
    s = pynvml.nvmlEventSetCreate()
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceRegisterEvents(h[1], XID | PSTATE, s)
    pynvml.nvmlDeviceRegisterEvents(h[1], XID, s)
    with pytest.raises(pynvml.NVMLError_NoPermission):
        pynvml.nvmlDeviceRegisterEvents(h[0], XID, s)
    pynvml.nvmlEventSetFree(s)


def test_freed_event_set_is_refused_before_nvml(h):
    s = pynvml.nvmlEventSetCreate()
    pynvml.nvmlDeviceRegisterEvents(h[0], XID, s)
    assert pynvml.nvmlEventSetFree(s) is None
    for call in (lambda: pynvml.nvmlEventSetWait(s, 10), lambda: pynvml.nvmlEventSetWait_v2(s, 10),
                 lambda: pynvml.nvmlDeviceRegisterEvents(h[0], XID, s), lambda: pynvml.nvmlEventSetFree(s)):
        with pytest.raises(ValueError, match="freed"):
            call()


@pytest.mark.simulator
def test_free_while_another_thread_waits(h):
    s = pynvml.nvmlEventSetCreate()
    pynvml.nvmlDeviceRegisterEvents(h[0], XID, s)
    out = []

    def waiter():
        try:
            pynvml.nvmlEventSetWait(s, 10000)
        except Exception as e:  # noqa: BLE001
            out.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.15)
    pynvml.nvmlEventSetFree(s)
    t.join(5)
    assert not t.is_alive()
    # NVML woke it (the set is gone), or it saw the free between two slices
    assert type(out[0]) in (pynvml.NVMLError_InvalidArgument, ValueError), out


def test_event_set_after_shutdown_is_uninitialized():
    pynvml.nvmlInit()
    s = pynvml.nvmlEventSetCreate()
    pynvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlEventSetWait(s, 0)


@pytest.mark.simulator
def test_handle_kinds_are_not_interchangeable(h, evset):
    sample = pynvml.nvmlGpmSampleAlloc()
    try:
        with pytest.raises(TypeError):
            pynvml.nvmlEventSetWait(sample, 0)
        with pytest.raises(TypeError):
            pynvml.nvmlEventSetWait(h[0], 0)
        with pytest.raises(TypeError):
            pynvml.nvmlDeviceRegisterEvents(h[0], XID, h[1])
        with pytest.raises(TypeError):
            pynvml.nvmlDeviceRegisterEvents(evset, XID, evset)
        with pytest.raises(TypeError):
            pynvml.nvmlGpmSampleFree(evset)
        with pytest.raises(TypeError):
            pynvml.nvmlGpmSampleGet(h[0], evset)
        with pytest.raises(TypeError):
            pynvml.nvmlUnitGetUnitInfo(sample)
        with pytest.raises(TypeError):
            pynvml.nvmlEventSetFree(pynvml.nvmlSystemEventSetCreate(pynvml.nvmlSystemEventSetCreateRequest_v1))
        for cls in (pynvml.c_nvmlEventSet_t, pynvml.c_nvmlGpmSample_t, pynvml.c_nvmlSystemEventSet_t):
            with pytest.raises(TypeError):
                cls()
    finally:
        pynvml.nvmlGpmSampleFree(sample)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "10", None])
def test_wait_timeout_must_be_a_u32(evset, bad):
    with pytest.raises((TypeError, ValueError)):
        pynvml.nvmlEventSetWait(evset, bad)


@pytest.mark.simulator
def test_nvidia_ml_py_receives_the_same_events(h, ref):
    """The simulator's events through nvidia-ml-py's ctypes calls, beside ours."""
    ref.nvmlInit()
    try:
        rs = ref.nvmlEventSetCreate()
        ours = pynvml.nvmlEventSetCreate()
        ref.nvmlDeviceRegisterEvents(ref.nvmlDeviceGetHandleByIndex(1), XID, rs)
        pynvml.nvmlDeviceRegisterEvents(h[1], XID, ours)
        fire(1, XID, 48)
        r, o = ref.nvmlEventSetWait(rs, 1000), pynvml.nvmlEventSetWait(ours, 1000)
        for name, _ in ref.c_nvmlEventData_t._fields_:
            if name != "device":
                assert getattr(r, name) == getattr(o, name), name
        assert ctypes.cast(r.device, ctypes.c_void_p).value == o.device.value
        with pytest.raises(ref.NVMLError_Timeout):
            ref.nvmlEventSetWait(rs, 20)
        ref.nvmlEventSetFree(rs)
        pynvml.nvmlEventSetFree(ours)
    finally:
        ref.nvmlShutdown()


# --- system events ----------------------------------------------------------------------------

V = {"create": pynvml.nvmlSystemEventSetCreateRequest_v1, "free": pynvml.nvmlSystemEventSetFreeRequest_v1,
     "register": pynvml.nvmlSystemRegisterEventRequest_v1, "wait": pynvml.nvmlSystemEventSetWaitRequest_v1}
BIND, UNBIND = pynvml.nvmlSystemEventTypeGpuDriverBind, pynvml.nvmlSystemEventTypeGpuDriverUnbind


@pytest.mark.simulator
def test_system_events(nvml, ref):
    s = pynvml.nvmlSystemEventSetCreate(V["create"])
    assert type(s) is pynvml.c_nvmlSystemEventSet_t
    assert pynvml.nvmlSystemRegisterEvents(V["register"], BIND | UNBIND, s) is None
    assert pynvml.nvmlSystemEventSetWait(V["wait"], s, 50, None, 4) == []          # timeout: no events
    sim = _sim()
    assert sim.pynvmlSimFireSystemEvent(UNBIND, 1) == 0 and sim.pynvmlSimFireSystemEvent(BIND, 1) == 0
    assert pynvml.nvmlSystemEventSetWait(V["wait"], s, 1000, None, 4) == [
        {"eventType": UNBIND, "gpuId": 1}, {"eventType": BIND, "gpuId": 1}]
    # into the caller's structs: ours, or a ctypes array of nvidia-ml-py's (its documented use)
    mine = [pynvml.c_nvmlSystemEventData_v1_t() for _ in range(2)]
    sim.pynvmlSimFireSystemEvent(BIND, 3)
    assert pynvml.nvmlSystemEventSetWait(V["wait"], s, 1000, mine, 2) == [{"eventType": BIND, "gpuId": 3}]
    assert (mine[0].eventType, mine[0].gpuId) == (BIND, 3)
    arr = (ref.c_nvmlSystemEventData_v1_t * 3)()
    sim.pynvmlSimFireSystemEvent(UNBIND, 5)
    assert pynvml.nvmlSystemEventSetWait(V["wait"], s, 1000, arr, 3) == [{"eventType": UNBIND, "gpuId": 5}]
    assert (arr[0].eventType, arr[0].gpuId) == (UNBIND, 5)
    assert pynvml.nvmlSystemEventSetFree(V["free"], s) is None
    with pytest.raises(ValueError, match="freed"):
        pynvml.nvmlSystemEventSetWait(V["wait"], s, 0, None, 1)


@pytest.mark.simulator
def test_system_event_errors(nvml):
    for call in (lambda: pynvml.nvmlSystemEventSetCreate(0),
                 lambda: pynvml.nvmlSystemEventSetCreate(V["wait"])):
        with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
            call()
    s = pynvml.nvmlSystemEventSetCreate(V["create"])
    try:
        with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
            pynvml.nvmlSystemRegisterEvents(1, BIND, s)
        with pytest.raises(pynvml.NVMLError_NotSupported):
            pynvml.nvmlSystemRegisterEvents(V["register"], 1 << 5, s)
        with pytest.raises(ValueError):
            pynvml.nvmlSystemEventSetWait(V["wait"], s, 0, [pynvml.c_nvmlSystemEventData_v1_t()], 2)  # too few
        with pytest.raises(ValueError):
            pynvml.nvmlSystemEventSetWait(V["wait"], s, 0, bytearray(8), 1)                         # too small
        with pytest.raises(TypeError):
            pynvml.nvmlSystemEventSetWait(V["wait"], s, 0, [pynvml.c_nvmlMemory_t()], 1)
        for bad in ("xx", b"x" * 64, memoryview(bytes(64)), 5, pynvml.c_nvmlSystemEventData_v1_t()):
            with pytest.raises(TypeError):
                pynvml.nvmlSystemEventSetWait(V["wait"], s, 0, bad, 1)
        room = bytearray(64)
        assert pynvml.nvmlSystemEventSetWait(V["wait"], s, 0, room, 4) == []    # a timeout; room still usable
        room.extend(b"x")                                                       # no export left behind
        with pytest.raises(TypeError):
            pynvml.nvmlSystemRegisterEvents(V["register"], BIND, pynvml.nvmlDeviceGetHandleByIndex(0))
    finally:
        pynvml.nvmlSystemEventSetFree(V["free"], s)


@pytest.mark.simulator
def test_system_request_structs(nvml, ref):
    """c_nvmlSystem*(req): NVML called on the request struct, as nvidia-ml-py's are."""
    req = pynvml.c_nvmlSystemEventSetCreateRequest_v1_t()
    assert req.version == V["create"] and req.set is None
    assert [f[0] for f in type(req)._fields_] == [f[0] for f in ref.c_nvmlSystemEventSetCreateRequest_v1_t._fields_]
    assert pynvml.c_nvmlSystemEventSetCreate(req) is None
    s = req.set
    assert type(s) is pynvml.c_nvmlSystemEventSet_t
    reg = pynvml.c_nvmlSystemRegisterEventRequest_v1_t()
    reg.eventTypes, reg.set = BIND, s
    pynvml.c_nvmlSystemRegisterEvents(req=reg)
    wait = pynvml.c_nvmlSystemEventSetWaitRequest_v1_t()
    wait.set, wait.timeoutms, wait.dataSize = s, 10, 0
    with pytest.raises(pynvml.NVMLError_InvalidArgument):       # no room for events: use nvmlSystemEventSetWait
        pynvml.c_nvmlSystemEventSetWait(wait)
    with pytest.raises(TypeError):
        wait.data = 1234                                          # a pointer NVML writes through
    free = pynvml.c_nvmlSystemEventSetFreeRequest_v1_t()
    free.set = s
    pynvml.c_nvmlSystemEventSetFree(free)
    with pytest.raises(ValueError, match="freed"):
        pynvml.c_nvmlSystemRegisterEvents(reg)                    # still holds the freed set
    with pytest.raises(ValueError, match="freed"):
        reg.set = s
    with pytest.raises(TypeError):
        pynvml.c_nvmlSystemEventSetCreate(reg)                   # another request's struct


# --- GPM ----------------------------------------------------------------------------------------

PCT = {1: "gr_util", 2: "sm_util", 3: "sm_occupancy", 10: "dram_bw_util"}
BW = {20: "pcie_tx", 21: "pcie_rx"}


def metrics_between(s1, s2, ids):
    m = pynvml.c_nvmlGpmMetricsGet_t()
    m.version = pynvml.NVML_GPM_METRICS_GET_VERSION
    m.numMetrics = len(ids)
    m.sample1, m.sample2 = s1, s2
    for i, mid in enumerate(ids):
        m.metrics[i].metricId = mid
    assert pynvml.nvmlGpmMetricsGet(m) is m
    return m


@pytest.mark.simulator
def test_gpm_support_on_h100(h):
    for d in h:
        sup = pynvml.nvmlGpmQueryDeviceSupport(d)
        assert of_class(sup, pynvml.c_nvmlGpmSupport_t)
        assert (sup.version, sup.isSupportedDevice) == (pynvml.NVML_GPM_SUPPORT_VERSION, 1)
        assert pynvml.nvmlGpmQueryIfStreamingEnabled(d) == 0


@pytest.mark.simulator
def test_gpm_metrics_from_two_samples(h, ref):
    ids = list(PCT) + list(BW) + [13, 60, 999]
    s = [pynvml.nvmlGpmSampleAlloc() for _ in range(3)]
    assert type(s[0]) is pynvml.c_nvmlGpmSample_t
    assert pynvml.nvmlGpmSampleGet(h[1], s[0]) is s[0]
    time.sleep(0.08)
    pynvml.nvmlGpmSampleGet(h[1], s[1])
    time.sleep(0.3)
    pynvml.nvmlGpmSampleGet(h[1], s[2])
    a, b = metrics_between(s[0], s[1], ids), metrics_between(s[1], s[2], ids)
    assert type(a).__name__ == "c_nvmlGpmMetricsGet_t"
    assert [f[0] for f in type(a)._fields_] == [f[0] for f in ref.c_nvmlGpmMetricsGet_t._fields_]
    for m in (a, b):
        by = {m.metrics[i].metricId: m.metrics[i] for i in range(len(ids))}
        for mid, short in PCT.items():
            assert by[mid].nvmlReturn == 0 and 0.0 <= by[mid].value <= 100.0, (mid, by[mid].value)
            assert by[mid].metricInfo.shortName == short.encode() and by[mid].metricInfo.unit == b"%"
        assert 87 * 0.85 - 0.01 <= by[1].value <= 87 * 1.15 + 0.01          # the profile's mean, +-15%
        for mid in BW:
            assert by[mid].value > 500 and by[mid].metricInfo.unit == b"MiB/sec"
        assert by[60].nvmlReturn == 0 and by[60].value == 0.0               # no NVLink traffic
        assert by[999].nvmlReturn == pynvml.NVML_ERROR_NOT_SUPPORTED and by[999].metricInfo.shortName is None
    # two intervals, two sets of values
    assert [a.metrics[i].value for i in range(4)] != [b.metrics[i].value for i in range(4)]
    # the idle GPU
    s0, s1 = pynvml.nvmlGpmSampleAlloc(), pynvml.nvmlGpmSampleAlloc()
    pynvml.nvmlGpmSampleGet(h[0], s0)
    time.sleep(0.02)
    pynvml.nvmlGpmSampleGet(h[0], s1)
    assert metrics_between(s0, s1, [2]).metrics[0].value == 0.0
    for x in s + [s0, s1]:
        assert pynvml.nvmlGpmSampleFree(x) is None


@pytest.mark.simulator
def test_gpm_metrics_errors(h):
    s1, s2, fresh = (pynvml.nvmlGpmSampleAlloc() for _ in range(3))
    other = pynvml.nvmlGpmSampleAlloc()
    try:
        pynvml.nvmlGpmSampleGet(h[1], s1)
        time.sleep(0.01)
        pynvml.nvmlGpmSampleGet(h[1], s2)
        pynvml.nvmlGpmSampleGet(h[0], other)
        for pair in ((s2, s1), (s1, fresh), (s1, other), (s1, None)):   # order, never taken, two GPUs, none
            with pytest.raises(pynvml.NVMLError_InvalidArgument):
                metrics_between(*pair, [1])
        m = pynvml.c_nvmlGpmMetricsGet_t()
        m.sample1, m.sample2, m.numMetrics = s1, s2, 1
        with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):   # version left 0
            pynvml.nvmlGpmMetricsGet(m)
        m.version = 1
        m.numMetrics = pynvml.NVML_GPM_METRIC_MAX + 1                  # 478 (nvidia-ml-py 13.615.71's array)
        with pytest.raises(ValueError):                                 # past the struct's array
            pynvml.nvmlGpmMetricsGet(m)
        m.numMetrics = 211
        with pytest.raises(pynvml.NVMLError_InvalidArgument):           # past NVML's NVML_GPM_METRIC_MAX
            pynvml.nvmlGpmMetricsGet(m)
        with pytest.raises(TypeError):
            m.sample1 = h[0]
        with pytest.raises(TypeError):
            pynvml.nvmlGpmMetricsGet(pynvml.c_nvmlGpmSupport_t())
        with pytest.raises(pynvml.NVMLError_NotSupported):              # MIG off
            pynvml.nvmlGpmMigSampleGet(h[0], 0, s1)
    finally:
        for x in (s1, s2, fresh, other):
            pynvml.nvmlGpmSampleFree(x)


def test_freed_gpm_sample_never_reaches_nvml(h):
    s1, s2 = pynvml.nvmlGpmSampleAlloc(), pynvml.nvmlGpmSampleAlloc()
    pynvml.nvmlGpmSampleGet(h[-1], s1)
    time.sleep(0.01)
    pynvml.nvmlGpmSampleGet(h[-1], s2)
    m = pynvml.c_nvmlGpmMetricsGet_t()
    m.version, m.numMetrics, m.sample1, m.sample2 = 1, 1, s1, s2
    copy = m.sample1                       # another object for the same sample, read from the struct
    assert copy == s1 and copy is not s1
    pynvml.nvmlGpmSampleFree(s1)
    for call in (lambda: pynvml.nvmlGpmSampleGet(h[-1], s1), lambda: pynvml.nvmlGpmSampleGet(h[-1], copy),
                 lambda: pynvml.nvmlGpmSampleFree(s1), lambda: pynvml.nvmlGpmMetricsGet(m),
                 lambda: pynvml.nvmlGpmMigSampleGet(h[-1], 0, copy)):
        with pytest.raises(ValueError, match="freed"):
            call()
    with pytest.raises(ValueError, match="freed"):
        m.sample1 = copy
    pynvml.nvmlGpmSampleFree(s2)


@pytest.mark.mutates
@pytest.mark.simulator
def test_gpm_streaming_and_mig_samples(default_profile, use_profile):
    default_profile["devices"][1]["nvmlGpmMigSampleGet"] = {"1": {}}
    default_profile["devices"][0]["nvmlGpmQueryDeviceSupport"] = {"isSupportedDevice": 0}
    h = start(use_profile, default_profile)
    assert pynvml.nvmlGpmSetStreamingEnabled(h[1], 1) == pynvml.NVML_SUCCESS
    assert pynvml.nvmlGpmQueryIfStreamingEnabled(h[1]) == 1
    pynvml.nvmlGpmSetStreamingEnabled(h[1], 0)
    assert pynvml.nvmlGpmQueryIfStreamingEnabled(h[1]) == 0
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlGpmSetStreamingEnabled(h[1], 2)
    s1, s2 = pynvml.nvmlGpmSampleAlloc(), pynvml.nvmlGpmSampleAlloc()
    assert pynvml.nvmlGpmMigSampleGet(h[1], 1, s1) is s1
    time.sleep(0.01)
    pynvml.nvmlGpmMigSampleGet(h[1], 1, s2)
    assert 0 < metrics_between(s1, s2, [1]).metrics[0].value <= 100
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlGpmMigSampleGet(h[1], 2, s1)                # no such GPU instance
    for call in (lambda: pynvml.nvmlGpmSampleGet(h[0], s1), lambda: pynvml.nvmlGpmSetStreamingEnabled(h[0], 1)):
        with pytest.raises(pynvml.NVMLError_NotSupported):     # GPM not supported there
            call()
    assert pynvml.nvmlGpmQueryDeviceSupport(h[0]).isSupportedDevice == 0


@pytest.mark.simulator
def test_errors_from_the_profile(default_profile, use_profile):
    d0, d1 = default_profile["devices"]
    default_profile["system"]["nvmlEventSetCreate"] = {"error": "NVML_ERROR_INSUFFICIENT_RESOURCES"}
    d0["nvmlGpmSampleGet"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    d0["nvmlGpmSetStreamingEnabled"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    d1["nvmlGpmMetricsGet"] = {"error": "NVML_ERROR_GPU_IS_LOST"}
    h = start(use_profile, default_profile)
    with pytest.raises(pynvml.NVMLError_InsufficientResources):
        pynvml.nvmlEventSetCreate()
    s1, s2 = pynvml.nvmlGpmSampleAlloc(), pynvml.nvmlGpmSampleAlloc()
    for call in (lambda: pynvml.nvmlGpmSampleGet(h[0], s1), lambda: pynvml.nvmlGpmSetStreamingEnabled(h[0], 1)):
        with pytest.raises(pynvml.NVMLError_NoPermission):
            call()
    pynvml.nvmlGpmSampleGet(h[1], s1)
    time.sleep(0.01)
    pynvml.nvmlGpmSampleGet(h[1], s2)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        metrics_between(s1, s2, [1])
    pynvml.nvmlGpmSampleFree(s1)
    pynvml.nvmlGpmSampleFree(s2)


@pytest.mark.simulator
def test_nvidia_ml_py_gpm_on_the_simulator(ref, h):
    """nvidia-ml-py's GPM calls (ctypes structs) on the same simulator: plausible metrics."""
    ref.nvmlInit()
    try:
        d = ref.nvmlDeviceGetHandleByIndex(1)
        assert ref.nvmlGpmQueryDeviceSupport(d).isSupportedDevice == 1
        a, b = ref.nvmlGpmSampleAlloc(), ref.nvmlGpmSampleAlloc()
        ref.nvmlGpmSampleGet(d, a)
        time.sleep(0.02)
        ref.nvmlGpmSampleGet(d, b)
        m = ref.c_nvmlGpmMetricsGet_t()
        m.version, m.numMetrics, m.sample1, m.sample2 = ref.NVML_GPM_METRICS_GET_VERSION, 2, a, b
        m.metrics[0].metricId, m.metrics[1].metricId = 3, 21
        ref.nvmlGpmMetricsGet(m)
        assert 0 < m.metrics[0].value <= 100 and m.metrics[1].value > 500
        assert m.metrics[0].metricInfo.shortName == b"sm_occupancy"
        ref.nvmlGpmSampleFree(a)
        ref.nvmlGpmSampleFree(b)
    finally:
        ref.nvmlShutdown()


def test_gpm_metrics_are_plausible(h):
    """On whatever NVML is loaded (a real GPU too): percentages within 0..100."""
    if not pynvml.nvmlGpmQueryDeviceSupport(h[0]).isSupportedDevice:
        pytest.skip("no GPM on this GPU")
    s1, s2 = pynvml.nvmlGpmSampleAlloc(), pynvml.nvmlGpmSampleAlloc()
    try:
        try:
            pynvml.nvmlGpmSampleGet(h[0], s1)
        except pynvml.NVMLError_NoPermission:
            pytest.skip("GPM sampling needs more privileges here")
        time.sleep(0.1)
        pynvml.nvmlGpmSampleGet(h[0], s2)
        ids = [1, 2, 3, 10, 20, 21]
        m = metrics_between(s1, s2, ids)
        for i, mid in enumerate(ids):
            r, v = m.metrics[i].nvmlReturn, m.metrics[i].value
            assert m.metrics[i].metricId == mid
            if mid > 13 and r == pynvml.NVML_ERROR_NOT_SUPPORTED:     # a bandwidth this GPU does not count
                continue
            assert r == 0 and v >= 0.0 and (mid > 13 or v <= 100.0), (mid, r, v)
    finally:
        pynvml.nvmlGpmSampleFree(s1)
        pynvml.nvmlGpmSampleFree(s2)


# --- units ----------------------------------------------------------------------------------------

UNIT = {"nvmlUnitGetUnitInfo": {"name": "S2075", "id": "0324109000012", "serial": "0324109000012",
                                "firmwareVersion": "6.1"},
        "nvmlUnitGetLedState": {"cause": "", "color": 0},
        "nvmlUnitGetPsuInfo": {"state": "Normal", "current": 11, "voltage": 12, "power": 132},
        "nvmlUnitGetTemperature": {"0": 28, "1": 41, "2": 55},
        "nvmlUnitGetFanSpeedInfo": {"fans": [{"speed": 6800, "state": 0}, {"speed": 6750, "state": 1}],
                                    "count": 2},
        "nvmlUnitGetDevices": [0, 1]}


def test_no_units_on_the_default_profile(nvml):
    assert pynvml.nvmlUnitGetCount() == 0
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlUnitGetHandleByIndex(0)


@pytest.mark.simulator
def test_a_unit_with_two_gpus(default_profile, use_profile, ref):
    default_profile["units"] = [UNIT]
    h = start(use_profile, default_profile)
    assert pynvml.nvmlUnitGetCount() == 1
    u = pynvml.nvmlUnitGetHandleByIndex(0)
    assert type(u) is pynvml.c_nvmlUnit_t and u == pynvml.nvmlUnitGetHandleByIndex(0)
    info = pynvml.nvmlUnitGetUnitInfo(u)
    assert of_class(info, pynvml.c_nvmlUnitInfo_t)
    assert (info.name, info.id, info.serial, info.firmwareVersion) == ("S2075", "0324109000012", "0324109000012", "6.1")
    led = pynvml.nvmlUnitGetLedState(u)
    assert (led.cause, led.color) == ("", pynvml.NVML_LED_COLOR_GREEN)
    psu = pynvml.nvmlUnitGetPsuInfo(u)
    assert (psu.state, psu.current, psu.voltage, psu.power) == ("Normal", 11, 12, 132)
    assert [pynvml.nvmlUnitGetTemperature(u, t) for t in (0, 1, 2)] == [28, 41, 55]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlUnitGetTemperature(u, 3)
    fans = pynvml.nvmlUnitGetFanSpeedInfo(u)
    assert fans.count == 2 and [(f.speed, f.state) for f in fans.fans[:2]] == [(6800, 0), (6750, pynvml.NVML_FAN_FAILED)]
    assert [f[0] for f in type(fans)._fields_] == [f[0] for f in ref.c_nvmlUnitFanSpeeds_t._fields_]
    assert pynvml.nvmlUnitGetDeviceCount(u) == 2
    assert pynvml.nvmlUnitGetDevices(u) == h
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlUnitGetHandleByIndex(1)
    with pytest.raises(TypeError):
        pynvml.nvmlUnitGetUnitInfo(h[0])
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetName(u)


@pytest.mark.mutates
@pytest.mark.simulator
def test_unit_led_state(default_profile, use_profile):
    default_profile["units"] = [UNIT, {"nvmlUnitSetLedState": {"error": "NVML_ERROR_NO_PERMISSION"}}]
    start(use_profile, default_profile)
    u, locked = pynvml.nvmlUnitGetHandleByIndex(0), pynvml.nvmlUnitGetHandleByIndex(1)
    assert pynvml.nvmlUnitSetLedState(u, pynvml.NVML_LED_COLOR_AMBER) is None
    assert pynvml.nvmlUnitGetLedState(u).color == pynvml.NVML_LED_COLOR_AMBER
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlUnitSetLedState(u, 7)
    with pytest.raises(pynvml.NVMLError_NoPermission):
        pynvml.nvmlUnitSetLedState(locked, pynvml.NVML_LED_COLOR_AMBER)
    with pytest.raises(pynvml.NVMLError_NotSupported):           # the second unit has no data
        pynvml.nvmlUnitGetPsuInfo(locked)
    assert pynvml.nvmlUnitGetDeviceCount(u) == 2
    with pytest.raises((TypeError, ValueError)):
        pynvml.nvmlUnitSetLedState(u, -1)


@pytest.mark.simulator
def test_unit_errors_from_the_profile(default_profile, use_profile):
    default_profile["units"] = [dict(UNIT, nvmlUnitGetDevices={"error": "NVML_ERROR_NO_PERMISSION"})]
    default_profile["system"]["nvmlUnitGetCount"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    start(use_profile, default_profile)
    with pytest.raises(pynvml.NVMLError_NoPermission):
        pynvml.nvmlUnitGetCount()
    u = pynvml.nvmlUnitGetHandleByIndex(0)
    for fn in (pynvml.nvmlUnitGetDevices, pynvml.nvmlUnitGetDeviceCount):
        with pytest.raises(pynvml.NVMLError_NoPermission):
            fn(u)
