"""The struct and union classes of pynvml._nvml against nvidia-ml-py's ctypes classes:
construction (positional, keyword, ctypes' wrapping of ints), type errors, attribute
round trips, char fields as str, nested union views sharing the parent's bytes,
_fields_ / _fmt_, str() (the _PrintableStructure format), the C size and byte layout,
== by content, copy, pickle, the buffer protocol, structs returned by NVML calls, and
nvmlStructToFriendlyObject / nvmlFriendlyObjectToStruct."""
import copy
import ctypes
import json
import pickle
import re

import pytest

import pynvml
from conftest import of_class
# Our struct classes and the nvml.h record each one lays out.
C_RECORD = {
    "c_nvmlMemory_t": "nvmlMemory_t",
    "c_nvmlMemory_v2_t": "nvmlMemory_v2_t",
    "c_nvmlBAR1Memory_t": "nvmlBAR1Memory_t",
    "c_nvmlUtilization_t": "nvmlUtilization_t",
    "c_nvmlEccErrorCounts_t": "nvmlEccErrorCounts_t",
    "c_nvmlProcessInfo_t": "nvmlProcessInfo_t",
    "c_nvmlProcessInfo_v2_t": "nvmlProcessInfo_v2_t",
    "c_nvmlProcessInfo_v3_t": "nvmlProcessInfo_t",
    "c_nvmlProcessUtilizationSample_t": "nvmlProcessUtilizationSample_t",
    "c_nvmlViolationTime_t": "nvmlViolationTime_t",
    "c_nvmlFieldValue_t": "nvmlFieldValue_t",
    "c_nvmlValue_t": "nvmlValue_t",
    "c_nvmlSample_t": "nvmlSample_t",
    "nvmlPciInfo_t": "nvmlPciInfo_t",
}

# Every struct/union class the extension defines (aliases once, under their own name).
# The classes of the first functions, in depth; tests/test_struct_classes.py covers all.
STRUCT_CLASSES = sorted(C_RECORD)

UNIONS = {"c_nvmlValue_t"}
PRINTABLE = [n for n in STRUCT_CLASSES if n not in UNIONS]

ADDRESS = re.compile(r"<[\w.]*?(\w+) object at 0x[0-9a-fA-F]+>")


def masked(text):
    """An object repr (module and address differ between the two packages) as <Name>."""
    return ADDRESS.sub(r"<\1>", text)


def ref_class(ref, name):
    cls = getattr(ref, name, None)
    if cls is None:
        pytest.skip(f"nvidia-ml-py has no {name}")
    return cls


def sample_values(ref_cls, pattern):
    """Field values for a ctypes class, from its field types: {name: value}.  Nested
    structs/unions are left out (set through their views).  pattern 'mixed' gives
    distinct values per field, 'max' the all-ones value of each int field."""
    values = {}
    for i, (name, ctype, *_) in enumerate(ref_cls._fields_):
        if issubclass(ctype, ctypes.Array) and ctype._type_ is ctypes.c_char:
            text = "0000:65:00.0" if "bus" in name.lower() else "abcdefghijklmnopqrstuvwxyz"
            values[name] = text[: min(len(text), ctype._length_ - 1)] if pattern == "mixed" else ""
        elif ctype in (ctypes.c_double, ctypes.c_float):
            values[name] = 2.5 if pattern == "mixed" else -1.0
        elif issubclass(ctype, (ctypes.Structure, ctypes.Union, ctypes.Array)):
            continue
        else:
            size = ctypes.sizeof(ctype)
            signed = ctype(-1).value == -1
            if pattern == "max":
                values[name] = -1 if signed else 2 ** (8 * size) - 1
            elif signed:
                values[name] = -(1000 + 7 * i)
            else:
                values[name] = (0x1122334455667788 + 0x0101 * i) & (2 ** (8 * size) - 1)
    return values


def build_pair(ref, name, pattern="mixed"):
    """The same values in our class and in nvidia-ml-py's."""
    rcls = ref_class(ref, name)
    values = sample_values(rcls, pattern)
    if name in UNIONS:
        values = {"ullVal": values["ullVal"]}
    ours = getattr(pynvml, name)(**values)
    theirs = rcls()
    for k, v in values.items():
        setattr(theirs, k, v)
    for fname, ctype, *_ in rcls._fields_:
        if issubclass(ctype, ctypes.Union):
            n = 0x4142434445464748 if pattern == "mixed" else 2**64 - 1
            getattr(ours, fname).ullVal = n
            getattr(theirs, fname).ullVal = n
    return ours, theirs, values


@pytest.fixture(scope="module")
def abi_records(reference_data):
    return json.loads((reference_data / "nvml-abi.json").read_text())["records"]


# --- construction ------------------------------------------------------------------------


def test_positional_and_keyword_construction():
    m = pynvml.c_nvmlMemory_t(100, 60, 40)
    assert (m.total, m.free, m.used) == (100, 60, 40)
    m = pynvml.c_nvmlMemory_t(100, used=40)
    assert (m.total, m.free, m.used) == (100, 0, 40)
    m = pynvml.c_nvmlMemory_t()
    assert (m.total, m.free, m.used) == (0, 0, 0)
    u = pynvml.c_nvmlUtilization_t(memory=3, gpu=10)
    assert (u.gpu, u.memory) == (10, 3)


def test_ints_wrap_like_ctypes(ref):
    m = pynvml.c_nvmlMemory_t(-1, -1, -1)
    assert (m.total, m.free, m.used) == (2**64 - 1,) * 3
    assert m.total == ref.c_nvmlMemory_t(-1, -1, -1).total
    cases = [
        ("c_nvmlUtilization_t", {"gpu": 2**32 + 1, "memory": -1}),
        ("c_nvmlMemory_t", {"total": 2**64 + 3, "free": -(2**63), "used": True}),
        ("c_nvmlFieldValue_t", {"timestamp": -5, "latencyUsec": 2**63, "fieldId": -2}),
        ("c_nvmlValue_t", {"siVal": -1}),
        ("c_nvmlValue_t", {"usVal": 70000}),
        ("c_nvmlProcessInfo_t", {"pid": 2**33 + 5, "usedGpuMemory": -2}),
    ]
    for name, kw in cases:
        ours = getattr(pynvml, name)(**kw)
        theirs = getattr(ref, name)(**kw)
        for k in kw:
            assert getattr(ours, k) == getattr(theirs, k), (name, k)
        assert bytes(ours) == bytes(theirs), name


def test_union_members_share_bytes():
    v = pynvml.c_nvmlValue_t()
    v.siVal = -1
    assert (v.uiVal, v.usVal, v.siVal) == (2**32 - 1, 0xFFFF, -1)
    assert v.ullVal == 2**32 - 1
    v.dVal = 1.0
    assert v.ullVal == 0x3FF0000000000000
    v.ullVal = 2**64 - 1
    assert v.sllVal == -1 and v.ulVal == 2**64 - 1
    assert len(bytes(v)) == 8


def test_double_field():
    v = pynvml.c_nvmlValue_t(dVal=3)
    assert v.dVal == 3.0 and isinstance(v.dVal, float)
    v.dVal = -2.5
    assert v.dVal == -2.5
    with pytest.raises(TypeError):
        v.dVal = "x"
    with pytest.raises(TypeError):
        v.dVal = None


def test_too_many_args_and_unknown_keyword():
    with pytest.raises(TypeError):
        pynvml.c_nvmlMemory_t(1, 2, 3, 4)
    with pytest.raises(TypeError):
        pynvml.c_nvmlUtilization_t(1, 2, 3)
    with pytest.raises(TypeError):
        pynvml.c_nvmlMemory_t(bogus=1)
    with pytest.raises(TypeError):
        pynvml.c_nvmlMemory_t(1, total=2)   # given twice
    with pytest.raises(TypeError):
        pynvml.nvmlPciInfo_t(**{"busid": "x"})   # names are case-sensitive


@pytest.mark.parametrize("value", [1.5, 1.0, "1", b"1", None, [1], object()])
def test_int_field_refuses_non_int(value):
    with pytest.raises(TypeError):
        pynvml.c_nvmlMemory_t(value)
    with pytest.raises(TypeError):
        pynvml.c_nvmlMemory_t(total=value)
    m = pynvml.c_nvmlMemory_t(7)
    with pytest.raises(TypeError):
        m.total = value
    assert m.total == 7        # unchanged by the failed assignment


@pytest.mark.parametrize("value", [5, 1.0, None, ["a"], bytearray(b"ab")[0]])
def test_char_field_refuses_non_text(value):
    with pytest.raises(TypeError):
        pynvml.nvmlPciInfo_t(busId=value)
    p = pynvml.nvmlPciInfo_t(busId="keep")
    with pytest.raises(TypeError):
        p.busId = value
    assert p.busId == "keep"


def test_char_field_too_long_is_valueerror(ref):
    p = pynvml.nvmlPciInfo_t()
    with pytest.raises(ValueError):
        p.busIdLegacy = "x" * 17                     # char[16]
    with pytest.raises(ValueError):
        p.busId = b"y" * 40                          # char[32]
    with pytest.raises(ValueError):
        pynvml.nvmlPciInfo_t(busId="z" * 100)
    with pytest.raises(ValueError):
        ref.nvmlPciInfo_t(busIdLegacy="x" * 17)     # ctypes agrees
    assert p.busIdLegacy == "" and p.busId == ""


def test_char_field_exactly_full_like_ctypes(ref):
    # ctypes fills a char[16] with 16 bytes (no terminator) and reads them back
    theirs = ref.nvmlPciInfo_t(busIdLegacy="x" * 16)
    assert theirs.busIdLegacy == "x" * 16
    ours = pynvml.nvmlPciInfo_t(busIdLegacy="x" * 16)
    assert ours.busIdLegacy == "x" * 16


def test_attribute_round_trips():
    for name in STRUCT_CLASSES:
        cls = getattr(pynvml, name)
        s = cls()
        for fname, *_ in cls._fields_:
            cur = getattr(s, fname)
            if isinstance(cur, str):
                setattr(s, fname, "ab")
                assert getattr(s, fname) == "ab"
            elif isinstance(cur, float):
                setattr(s, fname, 0.25)
                assert getattr(s, fname) == 0.25
            elif isinstance(cur, int):
                setattr(s, fname, 42)
                assert getattr(s, fname) == 42, (name, fname)
                setattr(s, fname, 0)


def test_char_fields_read_as_str_and_take_str_or_bytes():
    p = pynvml.nvmlPciInfo_t(busId="00000000:65:00.0", busIdLegacy=b"0000:65:00.0")
    assert p.busId == "00000000:65:00.0" and type(p.busId) is str
    assert p.busIdLegacy == "0000:65:00.0" and type(p.busIdLegacy) is str
    p.busId = b"abc"
    assert p.busId == "abc"
    p.busId = "d\u00e9f"                      # UTF-8 encoded, decoded back
    assert p.busId == "d\u00e9f"
    assert bytes(p)[:0] == b""
    p.busId = ""
    assert p.busId == ""
    # a shorter value clears what a longer one left
    p.busId = "0123456789"
    p.busId = "ab"
    assert p.busId == "ab"


def test_char_field_with_invalid_utf8_reads_with_replacement():
    p = pynvml.nvmlPciInfo_t()
    p.busId = b"ab\xffcd"
    assert p.busId == "ab\ufffdcd"
    assert "busId: ab\ufffdcd" in str(p)


# --- nested union views --------------------------------------------------------------------


def test_nested_union_view_shares_parent_bytes():
    fv = pynvml.c_nvmlFieldValue_t(fieldId=1)
    before = bytes(fv)
    view = fv.value
    assert isinstance(view, pynvml.c_nvmlValue_t)
    fv.value.ullVal = 0x0102030405060708
    after = bytes(fv)
    assert after != before
    assert after[32:40] == (0x0102030405060708).to_bytes(8, "little")
    assert view.ullVal == 0x0102030405060708           # an earlier view sees it
    view.uiVal = 7
    assert fv.value.ullVal == 0x0102030400000007       # and writes through
    assert bytes(fv)[:32] == before[:32]


def test_view_outlives_parent():
    fv = pynvml.c_nvmlFieldValue_t()
    view = fv.value
    view.ullVal = 99
    del fv
    import gc
    gc.collect()
    assert view.ullVal == 99
    view.siVal = -1
    assert view.uiVal == 2**32 - 1


def test_assigning_a_nested_union_copies_it():
    fv = pynvml.c_nvmlFieldValue_t()
    v = pynvml.c_nvmlValue_t(ullVal=5)
    fv.value = v
    assert fv.value.ullVal == 5
    v.ullVal = 6
    assert fv.value.ullVal == 5
    s = pynvml.c_nvmlSample_t(timeStamp=1, sampleValue=pynvml.c_nvmlValue_t(siVal=-3))
    assert s.sampleValue.siVal == -3 and s.timeStamp == 1
    for bad in (5, None, pynvml.c_nvmlMemory_t()):
        with pytest.raises(TypeError):
            fv.value = bad


# --- _fields_, _fmt_ and str() against nvidia-ml-py ---------------------------------------


@pytest.mark.parametrize("name", STRUCT_CLASSES)
def test_fields_names_and_order_match_reference(ref, name):
    ours = getattr(pynvml, name)
    theirs = ref_class(ref, name)
    assert [f[0] for f in ours._fields_] == [f[0] for f in theirs._fields_]


@pytest.mark.parametrize("name", PRINTABLE)
def test_fmt_matches_reference(ref, name):
    assert getattr(pynvml, name)._fmt_ == ref_class(ref, name)._fmt_


def test_union_prints_as_plain_object(ref):
    ours = str(pynvml.c_nvmlValue_t(ullVal=1))
    assert re.fullmatch(r"<pynvml\.c_nvmlValue_t object at 0x[0-9a-fA-F]+>", ours), ours
    assert masked(ours) == masked(str(ref.c_nvmlValue_t()))


@pytest.mark.parametrize("pattern", ["mixed", "max", "zero"])
@pytest.mark.parametrize("name", PRINTABLE)
def test_str_matches_reference(ref, name, pattern):
    if pattern == "zero":
        ours, theirs = getattr(pynvml, name)(), ref_class(ref, name)()
    else:
        ours, theirs, _ = build_pair(ref, name, pattern)
    ours_text, theirs_text = masked(str(ours)), masked(str(theirs))
    canonical = type(theirs).__name__
    if canonical != name:
        # an alias in nvidia-ml-py prints its class's own name (see the alias test)
        ours_text = ours_text.replace(type(ours).__name__ + "(", canonical + "(", 1)
    assert ours_text == theirs_text


def test_process_info_aliases_like_reference(ref):
    # nvidia-ml-py: c_nvmlProcessInfo_t = c_nvmlProcessInfo_v3_t = c_nvmlProcessInfo_v2_t,
    # one class, which prints as "c_nvmlProcessInfo_v2_t(pid: ...)"
    assert ref.c_nvmlProcessInfo_t is ref.c_nvmlProcessInfo_v3_t is ref.c_nvmlProcessInfo_v2_t
    assert pynvml.c_nvmlProcessInfo_t is pynvml.c_nvmlProcessInfo_v3_t
    assert pynvml.c_nvmlProcessInfo_v3_t is pynvml.c_nvmlProcessInfo_v2_t
    assert str(pynvml.c_nvmlProcessInfo_t(pid=1)) == str(ref.c_nvmlProcessInfo_t(pid=1))


def test_str_examples():
    assert str(pynvml.c_nvmlMemory_t(100, 60, 40)) == "c_nvmlMemory_t(total: 100 B, free: 60 B, used: 40 B)"
    assert str(pynvml.c_nvmlUtilization_t(10, 3)) == "c_nvmlUtilization_t(gpu: 10 %, memory: 3 %)"
    p = pynvml.nvmlPciInfo_t(busIdLegacy="0000:00:06.0", domain=0, bus=0, device=6,
                             pciDeviceId=0x233010DE, pciSubSystemId=0x16C110DE, busId="00000000:00:06.0")
    assert str(p) == ("nvmlPciInfo_t(busIdLegacy: 0000:00:06.0, domain: 0x00000000, bus: 0x00, "
                      "device: 0x06, pciDeviceId: 0x233010DE, pciSubSystemId: 0x16C110DE, "
                      "busId: 00000000:00:06.0)")
    fv = str(pynvml.c_nvmlFieldValue_t())
    assert re.fullmatch(r"c_nvmlFieldValue_t\(fieldId: 0, scopeId: 0, timestamp: 0, latencyUsec: 0, "
                        r"valueType: 0, nvmlReturn: 0, value: <pynvml\.c_nvmlValue_t object at 0x[0-9a-f]+>\)",
                        fv), fv
    assert str(pynvml.c_nvmlMemory_v2_t(version=pynvml.nvmlMemory_v2)).startswith(
        "c_nvmlMemory_v2_t(version: 33554472 B, total: 0 B")


@pytest.mark.parametrize("name", STRUCT_CLASSES)
def test_field_values_and_bytes_match_reference(ref, name):
    ours, theirs, values = build_pair(ref, name)
    for k in values:
        assert getattr(ours, k) == getattr(theirs, k), k
    assert bytes(ours) == bytes(theirs)
    assert len(bytes(ours)) == ctypes.sizeof(theirs)


# --- size and layout -----------------------------------------------------------------------


@pytest.mark.parametrize("name", STRUCT_CLASSES)
def test_size_is_the_c_size(abi_records, name):
    cls = getattr(pynvml, name)
    cname = C_RECORD.get(name) or cls.__doc__
    record = abi_records.get(cname)
    if record is None:
        pytest.skip(f"no record for {name}")
    assert len(bytes(cls())) == record["size"]
    assert memoryview(cls()).nbytes == record["size"]


@pytest.mark.parametrize("name", ["c_nvmlFieldValue_t", "nvmlPciInfo_t", "c_nvmlMemory_v2_t",
                                  "c_nvmlProcessUtilizationSample_t", "c_nvmlProcessInfo_t"])
def test_field_offsets_in_bytes(abi_records, name):
    cls = getattr(pynvml, name)
    record = abi_records[C_RECORD[name]]
    for fname, ctype, offset in record["fields"]:
        s = cls()
        if "char" in ctype and "[" in ctype:
            setattr(s, fname, "Q")
            assert bytes(s)[offset:offset + 2] == b"Q\0", fname
        elif fname == "value":
            s.value.ullVal = 0xA5
            assert bytes(s)[offset] == 0xA5
        else:
            setattr(s, fname, 0xA5)
            assert bytes(s)[offset] == 0xA5, fname
        assert sum(1 for b in bytes(s) if b) == 1, fname


# --- ==, copy, pickle, buffer ------------------------------------------------------------------


def test_equality_by_content():
    a = pynvml.c_nvmlMemory_t(1, 2, 3)
    assert a == pynvml.c_nvmlMemory_t(1, 2, 3)
    assert not (a != pynvml.c_nvmlMemory_t(1, 2, 3))
    assert a != pynvml.c_nvmlMemory_t(1, 2, 4)
    assert a != pynvml.c_nvmlBAR1Memory_t(1, 2, 3)    # same bytes, another class
    assert a != (1, 2, 3)
    assert pynvml.nvmlPciInfo_t(busId="a") == pynvml.nvmlPciInfo_t(busId=b"a")
    fv1, fv2 = pynvml.c_nvmlFieldValue_t(), pynvml.c_nvmlFieldValue_t()
    fv1.value.ullVal = 1
    assert fv1 != fv2
    fv2.value.ullVal = 1
    assert fv1 == fv2
    assert fv1.value == fv2.value


def test_copy_is_independent():
    a = pynvml.c_nvmlMemory_t(1, 2, 3)
    b = copy.copy(a)
    assert b == a and b is not a and type(b) is type(a)
    b.total = 9
    assert a.total == 1
    fv = pynvml.c_nvmlFieldValue_t(fieldId=3)
    fv.value.ullVal = 77
    c = copy.copy(fv)
    c.value.ullVal = 78
    assert fv.value.ullVal == 77 and c.value.ullVal == 78
    d = copy.deepcopy(fv)
    assert d == fv and d is not fv


@pytest.mark.parametrize("name", STRUCT_CLASSES)
def test_pickle_round_trip(ref, name):
    ours, _theirs, _ = build_pair(ref, name)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(ours, proto))
        assert type(back) is type(ours)
        assert bytes(back) == bytes(ours)
        assert back == ours


def test_pickle_round_trip_of_all_ones_union_and_field_value():
    fv = pynvml.c_nvmlFieldValue_t(fieldId=7, timestamp=-1)
    fv.value.ullVal = 2**64 - 1
    assert bytes(pickle.loads(pickle.dumps(fv))) == bytes(fv)
    v = pynvml.c_nvmlValue_t(dVal=-0.0)
    assert bytes(pickle.loads(pickle.dumps(v))) == bytes(v)


def test_buffer_protocol(ref):
    p = pynvml.nvmlPciInfo_t(domain=1, bus=2, device=3)
    view = memoryview(p).cast("B")          # ctypes' buffer: one item of the struct's format
    assert view.nbytes == ctypes.sizeof(ref.nvmlPciInfo_t) and not view.readonly
    off = ref.nvmlPciInfo_t.bus.offset
    assert bytes(view[off:off + 4]) == (2).to_bytes(4, "little")
    view[off:off + 4] = (500).to_bytes(4, "little")     # writes reach the struct
    assert p.bus == 500
    view.release()
    # ctypes reads our bytes as its own struct
    theirs = ref.nvmlPciInfo_t.from_buffer_copy(p)
    assert (theirs.domain, theirs.bus, theirs.device) == (1, 500, 3)
    c = ctypes.c_ubyte * len(bytes(p))
    assert bytes(c.from_buffer(p)) == bytes(p)
    # a view of a nested union exposes just its 8 bytes
    fv = pynvml.c_nvmlFieldValue_t()
    fv.value.ullVal = 0x1122
    assert bytes(memoryview(fv.value)) == (0x1122).to_bytes(8, "little")


def test_buffer_of_a_class_with_value_slots_is_read_only(ref):
    # what nvmlDeviceGetMemoryInfo returns keeps its values in slots (ext/structs.c): its
    # bytes can be read, copied and compared, but written only through its fields
    m = pynvml._nvml._result_class(pynvml.c_nvmlMemory_t)(1, 2, 3)
    view = memoryview(m)
    assert view.nbytes == 24 and view.readonly
    assert bytes(view) == (1).to_bytes(8, "little") + (2).to_bytes(8, "little") + (3).to_bytes(8, "little")
    with pytest.raises(TypeError):
        view[8:16] = (500).to_bytes(8, "little")
    view.release()
    with pytest.raises(TypeError):
        (ctypes.c_ubyte * 24).from_buffer(m)
    theirs = ref.c_nvmlMemory_t.from_buffer_copy(m)
    assert (theirs.total, theirs.free, theirs.used) == (1, 2, 3) == (m.total, m.free, m.used)


# --- structs from NVML calls -------------------------------------------------------------------


@pytest.mark.simulator
def test_struct_returned_by_nvml_prints_with_units(nvml, ref):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    mem = pynvml.nvmlDeviceGetMemoryInfo(h)
    assert of_class(mem, pynvml.c_nvmlMemory_t)
    assert re.fullmatch(r"c_nvmlMemory_t\(total: \d+ B, free: \d+ B, used: \d+ B\)", str(mem)), str(mem)
    assert mem.total == mem.free + mem.used
    v2 = pynvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2)
    assert of_class(v2, pynvml.c_nvmlMemory_v2_t)
    assert str(v2).startswith("c_nvmlMemory_v2_t(version: 33554472 B, total: ")
    ref.nvmlInit()
    try:
        rh = ref.nvmlDeviceGetHandleByIndex(0)
        assert str(mem) == str(ref.nvmlDeviceGetMemoryInfo(rh))
        assert str(v2) == str(ref.nvmlDeviceGetMemoryInfo(rh, version=ref.nvmlMemory_v2))
        assert str(pynvml.nvmlDeviceGetPciInfo(h)) == str(ref.nvmlDeviceGetPciInfo(rh))
        assert str(pynvml.nvmlDeviceGetUtilizationRates(h)) == str(ref.nvmlDeviceGetUtilizationRates(rh))
        assert str(pynvml.nvmlDeviceGetBAR1MemoryInfo(h)) == str(ref.nvmlDeviceGetBAR1MemoryInfo(rh))
        assert bytes(pynvml.nvmlDeviceGetPciInfo(h)) == bytes(ref.nvmlDeviceGetPciInfo(rh))
    finally:
        ref.nvmlShutdown()


@pytest.mark.simulator
def test_struct_returned_by_nvml_is_an_independent_copy(nvml):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    a = pynvml.nvmlDeviceGetMemoryInfo(h)
    a.total = 1
    b = pynvml.nvmlDeviceGetMemoryInfo(h)
    assert b.total != 1
    pynvml.nvmlShutdown()
    assert a.total == 1 and str(b).startswith("c_nvmlMemory_t(total: ")   # outlive the shutdown


# --- friendly objects --------------------------------------------------------------------------


def test_struct_to_friendly_object_matches_reference(ref):
    for name in ("c_nvmlProcessInfo_t", "nvmlPciInfo_t", "c_nvmlMemory_t", "c_nvmlUtilization_t"):
        ours, theirs, _ = build_pair(ref, name)
        fo = pynvml.nvmlStructToFriendlyObject(ours)
        assert of_class(fo, pynvml.nvmlFriendlyObject)
        assert str(fo) == str(ref.nvmlStructToFriendlyObject(theirs))
        assert list(vars(fo)) == [f[0] for f in ours._fields_]
    fo = pynvml.nvmlStructToFriendlyObject(pynvml.c_nvmlProcessInfo_t(100, 1048576, 2**32 - 1, 2**32 - 1))
    assert str(fo) == ("{'pid': 100, 'usedGpuMemory': 1048576, 'gpuInstanceId': 4294967295, "
                       "'computeInstanceId': 4294967295}")


def test_struct_to_friendly_object_of_a_ctypes_struct(ref):
    # any ctypes struct (a tool's own, as nvidia-ml-py takes them): c_char arrays come back
    # as str, other fields as ctypes reads them, as nvidia-ml-py's function gives them
    class Named(ctypes.Structure):
        _fields_ = [("name", ctypes.c_char * 16), ("count", ctypes.c_uint), ("raw", ctypes.c_ubyte * 2)]

    src = Named(b"GPU-7", 3, (ctypes.c_ubyte * 2)(1, 2))
    fo = pynvml.nvmlStructToFriendlyObject(src)
    assert of_class(fo, pynvml.nvmlFriendlyObject)
    assert fo.name == "GPU-7" and type(fo.name) is str and fo.count == 3
    assert list(fo.raw) == [1, 2]
    theirs = ref.nvmlStructToFriendlyObject(src)
    assert (fo.name, fo.count) == (theirs.name, theirs.count)
    assert str(fo).startswith("{'name': 'GPU-7', 'count': 3, 'raw': <")


def test_friendly_object_back_to_struct():
    src = pynvml.nvmlPciInfo_t(busIdLegacy="0000:65:00.0", domain=1, bus=0x65, device=0,
                               pciDeviceId=0x233010DE, pciSubSystemId=7, busId="00000001:65:00.0")
    fo = pynvml.nvmlStructToFriendlyObject(src)
    fo.bus = 0x66
    model = pynvml.nvmlPciInfo_t()
    out = pynvml.nvmlFriendlyObjectToStruct(fo, model)
    assert out is model
    assert out.bus == 0x66 and out.busId == "00000001:65:00.0" and out.pciDeviceId == 0x233010DE
    fo.bus = "not an int"
    with pytest.raises(TypeError):
        pynvml.nvmlFriendlyObjectToStruct(fo, pynvml.nvmlPciInfo_t())


@pytest.mark.simulator
def test_field_values_from_nvml_like_reference(nvml, ref):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    ours = pynvml.nvmlDeviceGetFieldValues(h, [1, 10])
    ref.nvmlInit()
    try:
        theirs = ref.nvmlDeviceGetFieldValues(ref.nvmlDeviceGetHandleByIndex(0), [1, 10])
    finally:
        ref.nvmlShutdown()
    assert len(ours) == len(theirs) == 2
    stamp = re.compile(r"timestamp: \d+")
    for a, b in zip(ours, theirs):
        assert of_class(a, pynvml.c_nvmlFieldValue_t)
        assert stamp.sub("timestamp: T", masked(str(a))) == stamp.sub("timestamp: T", masked(str(b)))
        assert (a.fieldId, a.valueType, a.nvmlReturn, a.value.ullVal) == \
               (b.fieldId, b.valueType, b.nvmlReturn, b.value.ullVal)
        assert bytes(a)[32:] == bytes(b)[32:]


# --- subclasses ------------------------------------------------------------------------------


class MyMemory(pynvml.c_nvmlMemory_t):
    pass


def test_subclass_of_a_struct_class():
    m = MyMemory(1, 2, 3)
    assert str(m) == "MyMemory(total: 1 B, free: 2 B, used: 3 B)"   # as _PrintableStructure
    assert isinstance(m, pynvml.c_nvmlMemory_t)
    assert m == MyMemory(1, 2, 3) and bytes(m) == bytes(pynvml.c_nvmlMemory_t(1, 2, 3))
    m.note = "extra attributes live in the subclass's __dict__"
    assert m.note.startswith("extra")
    back = pickle.loads(pickle.dumps(m))
    assert type(back) is MyMemory and back.total == 1
    c = copy.copy(m)
    assert type(c) is MyMemory and c == m
