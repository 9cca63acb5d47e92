"""Pointer fields (POINTER(T), c_void_p, c_char_p in nvidia-ml-py's classes) against
nvidia-ml-py 13.615.71 itself (`ref_new`): what an assignment takes or refuses, what the
field then reads as, that the struct keeps what it points to alive (ctypes' KeepRef), and
the three NVML 13.615 calls that need one (NVLink telemetry samples, memory limits, event
context data) written as a user of nvidia-ml-py writes them, with the same results from
ours and from nvidia-ml-py on the same simulated NVML (sim/entry_points_615.c,
sim/entry_points_events.c)."""
import copy
import ctypes
import gc
import sys

import pytest

import pynvml


def _pointer_fields(mod):
    """(class name, field, ctypes type) of every pointer field of nvidia-ml-py's classes,
    handles (pointers to its opaque struct_c_nvml*_t) left out."""
    out = []
    for name, cls in sorted(vars(mod).items()):
        if not (isinstance(cls, type) and issubclass(cls, (ctypes.Structure, ctypes.Union))) \
                or not name.startswith("c_") or getattr(ctypes, name, None) is cls:
            continue
        for f in cls._fields_:
            t = f[1]
            if t in (ctypes.c_void_p, ctypes.c_char_p) or \
                    (issubclass(t, ctypes._Pointer) and not t._type_.__name__.startswith("struct_")):
                out.append((name, f[0], t))
    return out


def _values(mod, t):
    """What a program might assign to a field of type t, made with module mod's classes."""
    vals = {"None": None, "int": 0x1000, "str": "/a", "bytes": b"/a", "c_void_p": ctypes.c_void_p(0x1000),
            "u8 array": (ctypes.c_ubyte * 4)(), "tuple": ()}
    if issubclass(t, ctypes._Pointer):
        item = t._type_
        item = getattr(mod, item.__name__) if item.__name__.startswith("c_nvml") else item
        new = lambda: item.from_buffer_copy(bytes(ctypes.sizeof(item)))   # noqa: E731 (an __init__ may want arguments)
        vals.update({"array": (item * 2)(), "pointer": ctypes.pointer(new()), "null pointer": ctypes.POINTER(item)(),
                     "byref": ctypes.byref(new()), "item": new(), "wrong array": (ctypes.c_char * 2)()})
    return vals


def _outcome(mod, cls_name, field, key, value):
    cls = getattr(mod, cls_name)
    obj = cls.from_buffer_copy(bytes(ctypes.sizeof(cls)))   # an __init__ may want arguments
    try:
        setattr(obj, field, value)
    except Exception as e:   # noqa: BLE001 - the kind of error is what is compared
        return type(e).__name__
    if key == "int" and getattr(mod, cls_name)._fields_ and \
            dict((f[0], f[1]) for f in getattr(mod, cls_name)._fields_)[field] is ctypes.c_char_p:
        return "ok"          # reading would follow address 0x1000, in nvidia-ml-py as in ours
    v = getattr(obj, field)
    if isinstance(v, ctypes._Pointer):
        want = None if value is None or key == "tuple" else ctypes.cast(value, ctypes.c_void_p).value
        got = ctypes.cast(v, ctypes.c_void_p).value
        return ("pointer", type(v).__name__, got == want)
    return ("value", v)


def test_every_pointer_field_takes_and_reads_what_nvidia_ml_py_s_does(ref_new):
    fields = _pointer_fields(ref_new)
    assert len(fields) >= 20
    assert ("c_nvmlNvlinkTelemetrySamples_v1_t", "telemetrySamples") in {f[:2] for f in fields}
    differ = []
    for cls_name, field, t in fields:
        ours_t = dict((f[0], f[1]) for f in getattr(pynvml, cls_name)._fields_)[field]
        assert ours_t.__name__ == t.__name__, (cls_name, field)
        theirs_vals, ours_vals = _values(ref_new, t), _values(pynvml, ours_t)
        for key in theirs_vals:
            a = _outcome(ref_new, cls_name, field, key, theirs_vals[key])
            b = _outcome(pynvml, cls_name, field, key, ours_vals[key])
            if a != b:
                differ.append((cls_name, field, key, a, b))
    assert differ == []


def test_a_pointer_field_keeps_what_it_points_to_alive():
    Sample = pynvml.c_nvmlNvlinkTelemetrySample_v1_t
    s = pynvml.c_nvmlNvlinkTelemetrySamples_v1_t()
    req = (Sample * 2)()
    buf = (ctypes.c_ulonglong * 3)(7, 8, 9)
    req[1].samples = buf                 # kept by req (a ctypes array: its item is a view of it)
    req[1].linkId = 4
    s.telemetrySamples = req
    before = sys.getrefcount(req)
    del req, buf
    gc.collect()
    for _ in range(100):                 # reuse freed memory, if any was freed
        (ctypes.c_ulonglong * 3)(1, 1, 1)
    assert s.telemetrySamples[1].linkId == 4 and s.telemetrySamples[1].samples[:3] == [7, 8, 9]
    assert before > 2
    c = copy.copy(s)                     # a copy points at the same array and keeps it too
    del s
    gc.collect()
    assert c.telemetrySamples[1].samples[:3] == [7, 8, 9]
    # a C string: the bytes live as long as the struct
    m = pynvml.c_nvmlGetMemoryLimits_v1_t()
    m.nameSpace = "/sys/fs/cgroup/" + "x" * 50
    gc.collect()
    assert m.nameSpace == "/sys/fs/cgroup/" + "x" * 50
    m.nameSpace = None
    assert m.nameSpace is None and bytes(m)[:8] == bytes(8)


def test_a_cycle_through_a_pointer_field_is_collected():
    class Mine(pynvml.c_nvmlNvlinkTelemetrySample_v1_t):
        pass                             # a subclass with a __dict__: it can refer back

    s = pynvml.c_nvmlNvlinkTelemetrySamples_v1_t()
    arr = (pynvml.c_nvmlNvlinkTelemetrySample_v1_t * 1)()
    s.telemetrySamples = arr
    m = Mine()
    m.back = s
    s2 = pynvml.c_nvmlNvlinkTelemetrySamples_v1_t()
    s2.telemetrySamples = ctypes.cast(ctypes.pointer(m), ctypes.POINTER(pynvml.c_nvmlNvlinkTelemetrySample_v1_t))
    s.telemetryCount = 1
    import weakref
    alive = weakref.ref(m)
    m.back = s2                          # s2 -> pointer -> m -> s2
    del m, s2, s, arr
    gc.collect()
    assert alive() is None


def test_an_object_of_ours_is_tracked_once_it_keeps_something():
    # what a wrapper or copy.copy makes is not tracked by the collector (it holds nothing)
    # until a pointer field keeps an object, which may lead back to it
    c = copy.copy(pynvml.c_nvmlNvlinkTelemetrySamples_v1_t())
    assert not gc.is_tracked(c)
    c.telemetrySamples = (pynvml.c_nvmlNvlinkTelemetrySample_v1_t * 1)()
    assert gc.is_tracked(c)


def test_pointer_fields_of_nested_structs_keep_their_own_targets(ref_new):
    """Two views of one parent (metrics[0].metricInfo, metrics[1].metricInfo) each keep what
    their char * points to (ctypes keys it by the chain of view indexes)."""
    def names(M):
        m = M.c_nvmlGpmMetricsGet_t()
        for i in range(3):
            m.metrics[i].metricInfo.shortName = ("name-%d-" % i).encode() * 20   # a new bytes each
        gc.collect()
        junk = [bytes(range(200)) for _ in range(200)]   # noqa: F841 - reuses freed memory, if any
        return [m.metrics[i].metricInfo.shortName for i in range(3)]

    assert names(pynvml) == names(ref_new) == [("name-%d-" % i).encode() * 20 for i in range(3)]


def test_wrong_values_are_type_errors_that_name_the_field():
    s = pynvml.c_nvmlNvlinkTelemetrySamples_v1_t()
    with pytest.raises(TypeError, match="telemetrySamples"):
        s.telemetrySamples = (ctypes.c_uint * 2)()
    with pytest.raises(TypeError, match="telemetrySamples"):
        pynvml.c_nvmlNvlinkTelemetrySamples_v1_t(1, 12345)
    d = pynvml.c_nvmlEventSetGetContextData_v1_t()
    with pytest.raises(TypeError, match="data"):
        d.data = "buffer"
    with pytest.raises(AttributeError):     # ours: no field can be deleted (ctypes: TypeError)
        del d.data
    with pytest.raises(TypeError):
        pynvml.c_nvmlSetMemoryLimits_v1_t(nameSpace=1.5)


# --- the three calls, as nvidia-ml-py's users write them ---------------------------------------

def _error(fn, *args):
    try:
        return ("returned", fn(*args))
    except Exception as e:   # noqa: BLE001 - NVMLError_* compared by name
        return ("raised", type(e).__name__)


def telemetry(M, h):
    Sample = M.c_nvmlNvlinkTelemetrySample_v1_t
    req = (Sample * 4)()
    req[0].linkId, req[0].sampleType = 3, M.NVML_NVLINK_TELEMETRY_SAMPLE_TYPE_THROUGHPUT_RAW_RX   # count query
    buf = (ctypes.c_ulonglong * 2)()
    req[1].linkId, req[1].sampleCount, req[1].samples = 5, 2, buf
    req[2].linkId = 30                                   # a link the profile lacks
    full = (ctypes.c_ulonglong * 4)()
    req[3].linkId, req[3].sampleType, req[3].sampleCount, req[3].samples = 17, 1, 4, full
    samples = M.c_nvmlNvlinkTelemetrySamples_v1_t()
    samples.telemetryCount = 4
    samples.telemetrySamples = req
    del req, buf, full                                   # the struct keeps them
    gc.collect()
    out = [M.nvmlDeviceGetNvLinkTelemetrySamples_v1(h, samples)]
    for i in range(4):
        t = samples.telemetrySamples[i]
        out.append((t.linkId, t.nvmlReturn, t.sampleCount,
                    t.samples[:t.sampleCount] if t.samples and t.nvmlReturn == 0 else None))
    # what NVML refuses, the whole call: INVALID_ARGUMENT
    for change in ({"sampleCount": 5}, {"sampleType": 2}, {"linkId": M.NVML_NVLINK_MAX_LINKS},
                   {"samples": None}):
        one = (Sample * 1)()
        one[0].linkId, one[0].sampleCount, one[0].samples = 5, 1, (ctypes.c_ulonglong * 5)()
        for k, v in change.items():
            setattr(one[0], k, v)
        bad = M.c_nvmlNvlinkTelemetrySamples_v1_t()
        bad.telemetryCount, bad.telemetrySamples = 1, one
        out.append((change, _error(M.nvmlDeviceGetNvLinkTelemetrySamples_v1, h, bad), one[0].nvmlReturn))
    return out


def memory_limits(M, h):
    path = "/sys/fs/cgroup/job-615"
    get = M.c_nvmlGetMemoryLimits_v1_t()
    get.nameSpace = path
    out = [_error(M.nvmlDeviceGetMemoryLimits_v1, h, get)]          # no limits yet
    lim = M.c_nvmlSetMemoryLimits_v1_t()
    lim.nameSpace = path.encode()
    for soft, hard in ((2 << 30, 1 << 30), (1 << 30, 1 << 50), (1 << 30, 4 << 30)):
        lim.softLimit, lim.hardLimit = soft, hard
        out.append(_error(M.nvmlDeviceSetMemoryLimits_v1, h, lim))
        out.append(_error(M.nvmlDeviceGetMemoryLimits_v1, h, get))
        out.append((get.nameSpace, get.softLimit, get.hardLimit, get.currentUsed))
    lim.softLimit, lim.hardLimit = 0, M.NVML_DEVICE_MEMORY_LIMIT_MAX                       # cleared
    out.append(_error(M.nvmlDeviceSetMemoryLimits_v1, h, lim))
    M.nvmlDeviceGetMemoryLimits_v1(h, get)
    out.append((get.softLimit, get.hardLimit))
    lim.nameSpace = "relative/path"
    out.append(_error(M.nvmlDeviceSetMemoryLimits_v1, h, lim))
    out.append(_error(M.nvmlDeviceGetMemoryLimits_v1, h, M.c_nvmlGetMemoryLimits_v1_t()))   # no path
    return out


def context_data(M, h):
    es = M.nvmlEventSetCreate()
    try:
        M.nvmlEventSetRegisterGpuOperationalEvents_v1(
            es, M.c_nvmlGpuOperationalEventConfig_v1_t(uuid=M.nvmlDeviceGetUUID(h)))
        w = M.c_nvmlEventSetWait_v3_t()
        w.timeoutMs = 1000
        M.nvmlEventSetWait_v3(es, w)
        info = M.c_nvmlEventSetGetContextInfo_v1_t()
        info.index = 0
        M.nvmlEventSetGetContextInfo_v1(es, info)
        data = M.c_nvmlEventSetGetContextData_v1_t()
        data.index = 0
        out = [info.dataSize, _error(M.nvmlEventSetGetContextData_v1, es, data), data.dataSize]   # size query
        small = (ctypes.c_ubyte * 2)()
        data.data, data.dataSize = ctypes.addressof(small), len(small)
        out += [_error(M.nvmlEventSetGetContextData_v1, es, data), data.dataSize, bytes(small)]
        buf = (ctypes.c_ubyte * info.dataSize)()
        data.data = ctypes.cast(buf, ctypes.c_void_p).value
        data.dataSize = len(buf)
        out += [_error(M.nvmlEventSetGetContextData_v1, es, data), data.dataSize, bytes(buf),
                data.data == ctypes.addressof(buf)]
        data.index = 1
        out.append(_error(M.nvmlEventSetGetContextData_v1, es, data))
        return out
    finally:
        M.nvmlEventSetFree(es)


def _both(ref_new, use_profile, profile, scenario, index):
    """The scenario with nvidia-ml-py 13.615.71, then with ours, each on a freshly loaded
    profile."""
    results = []
    for M in (ref_new, pynvml):
        use_profile(profile)
        M.nvmlInit()
        try:
            results.append(scenario(M, M.nvmlDeviceGetHandleByIndex(index)))
        finally:
            M.nvmlShutdown()
    pynvml._nvml._release_now()
    return results


@pytest.mark.simulator
def test_nvlink_telemetry_samples_as_nvidia_ml_py(ref_new, use_profile, default_profile):
    theirs, ours = _both(ref_new, use_profile, default_profile, telemetry, 1)
    assert ours == theirs
    want = default_profile["devices"][1]["nvmlDeviceGetNvLinkTelemetrySamples_v1"]
    assert ours[:5] == [0, (3, 0, len(want["3"]["1"]), None), (5, 0, 2, want["5"]["0"][:2]),
                        (30, pynvml.NVML_ERROR_NOT_SUPPORTED, 0, None), (17, 0, 4, want["17"]["1"])]
    assert all(r[1] == ("raised", "NVMLError_InvalidArgument") and r[2] == 0 for r in ours[5:])


@pytest.mark.simulator
@pytest.mark.mutates
def test_memory_limits_as_nvidia_ml_py(ref_new, use_profile, default_profile):
    theirs, ours = _both(ref_new, use_profile, default_profile, memory_limits, 1)
    assert ours == theirs
    gib = 1 << 30
    assert ours == [("raised", "NVMLError_NotFound"),
                    ("raised", "NVMLError_InvalidArgument"), ("raised", "NVMLError_NotFound"),
                    ("/sys/fs/cgroup/job-615", 0, 0, 0),                               # soft above hard
                    ("raised", "NVMLError_InvalidArgument"), ("raised", "NVMLError_NotFound"),
                    ("/sys/fs/cgroup/job-615", 0, 0, 0),                               # above the memory
                    ("returned", None), ("returned", None), ("/sys/fs/cgroup/job-615", gib, 4 * gib, 0),
                    ("returned", None), (0, 2**64 - 1),
                    ("raised", "NVMLError_OperatingSystem"), ("raised", "NVMLError_InvalidArgument")]


@pytest.mark.simulator
@pytest.mark.mutates
def test_event_context_data_as_nvidia_ml_py(ref_new, use_profile, default_profile):
    default_profile["devices"][0]["operational_events"] = [
        {"severity": 40, "logLevel": 50, "categoryId": 2, "moduleEventCode": 17, "sourceModule": "RM",
         "xid": 79, "after_ms": 0}]
    theirs, ours = _both(ref_new, use_profile, default_profile, context_data, 0)
    assert ours == theirs
    assert ours == [4, ("raised", "NVMLError_InsufficientSize"), 4,
                    ("raised", "NVMLError_InsufficientSize"), 4, bytes(2),
                    ("returned", None), 4, (79).to_bytes(4, "little"), True,
                    ("raised", "NVMLError_InvalidArgument")]


# --- the older calls whose struct points at the caller's buffer ----------------------------

SRAM = [{"unit": 1, "location": 2, "sublocation": 3, "extlocation": 4, "address": 0x4000, "isParity": 0, "count": 5},
        {"unit": 2, "location": 0, "sublocation": 0, "extlocation": 0, "address": 0x8000, "isParity": 1, "count": 1}]


def sram_errors(M, h):
    counts = M.c_nvmlEccSramUniqueUncorrectedErrorCounts_v1_t()
    arg = (lambda c: ctypes.byref(c)) if M is not pynvml else (lambda c: c)   # theirs passes it on as given
    out = [M.nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts(h, arg(counts)), counts.entryCount]   # count query
    small = (M.c_nvmlEccSramUniqueUncorrectedErrorEntry_v1_t * 1)()
    counts.entryCount, counts.entries = 1, small
    out += [_error(M.nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts, h, arg(counts)), counts.entryCount]
    counts.entries = (M.c_nvmlEccSramUniqueUncorrectedErrorEntry_v1_t * counts.entryCount)()
    out.append(_error(M.nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts, h, arg(counts)))
    out.append([{k: getattr(counts.entries[i], k) for k, *_ in counts.entries[i]._fields_}
                for i in range(counts.entryCount)])
    return out


def cper_records(M, h):
    cper = M.c_nvmlGetCPER_v1_t()
    cper.cursor.cperTypeMask = 1
    M.nvmlSystemGetCPER_v1(cper)                                  # the size query
    out = [cper.bufferSize, cper.cursor.handle]
    buf = (ctypes.c_ubyte * 8)()
    cper.buffer, cper.bufferSize = buf, len(buf)
    out += [_error(M.nvmlSystemGetCPER_v1, cper), cper.bufferSize]
    buf = (ctypes.c_ubyte * cper.bufferSize)()
    cper.buffer, cper.bufferSize = buf, len(buf)
    out += [_error(M.nvmlSystemGetCPER_v1, cper), cper.bufferSize, bytes(buf[:4]), cper.cursor.handle,
            int.from_bytes(bytes(buf[20:24]), "little")]
    cper.bufferSize = len(buf)
    out += [_error(M.nvmlSystemGetCPER_v1, cper), cper.bufferSize]   # no more records
    return out


@pytest.mark.simulator
def test_sram_unique_uncorrected_errors_as_nvidia_ml_py(ref_new, use_profile, default_profile):
    default_profile["devices"][1]["nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts"] = {"entries": SRAM}
    theirs, ours = _both(ref_new, use_profile, default_profile, sram_errors, 1)
    assert ours == theirs == [0, 2, ("raised", "NVMLError_InsufficientSize"), 2, ("returned", 0), SRAM]


@pytest.mark.simulator
def test_cper_records_as_nvidia_ml_py(ref_new, use_profile, default_profile):
    default_profile["system"]["nvmlSystemGetCPER_v1"] = {
        "cursor": {"cperTypeMask": 1, "uuid": "", "handle": 77}, "bufferSize": 256}
    theirs, ours = _both(ref_new, use_profile, default_profile, cper_records, 0)
    assert ours == theirs == [256, 0, ("raised", "NVMLError_InsufficientSize"), 256,
                              ("returned", None), 256, b"CPER", 77, 256, ("returned", None), 0]
