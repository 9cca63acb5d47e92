"""Every struct and union class of nvidia-ml-py 13.610.43 against ours: the class exists
under the same name (aliases are the same object), with the same `_fields_` (names, order,
ctypes type names), the same `_fmt_`, the same size, nvml.h's offsets (or, for the
classes nvml.h lacks, the ctypes class's), construction by position and keyword, the
values nvidia-ml-py's __init__ sets, and str() like nvidia-ml-py's except where a field
is an array, a pointer or a handle (spec/structs.nvml: those print as the value the field
reads as).  Then the field kinds those classes brought: u8 arrays (bytes), other arrays
(lists), unions, nested and arrays of structs (views), pointers (an int or None, never
settable but to None), C string pointers, handles, single chars and bit fields."""
import ctypes
import json
import pickle
import re
from pathlib import Path

import pytest

import pynvml
from conftest import of_class
LAYOUTS = pynvml._nvml._struct_layouts()
ADDRESS = re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>")
# a ctypes pointer type's module is whichever module first asked ctypes for it
POINTER_REPR = re.compile(r"<[\w.]*?(LP_\w+) object at 0x[0-9a-fA-F]+>")


def normalized(text):
    return ADDRESS.sub(r"<\1 object at 0x0>", POINTER_REPR.sub(r"<\1 object at 0x0>", text))
MASK = re.compile(r"<[\w.]*?(\w+) object at 0x[0-9a-fA-F]+>")   # module and address differ
# nvidia-ml-py's empty Structures that its handle types point to: we have no class for
# them (our handles are not ctypes pointers); see OPAQUE below.
OPAQUE_PREFIX = "struct_c_nvml"


@pytest.fixture(scope="module")
def api(reference_data):
    return json.loads((reference_data / "nvidia-ml-py-api.json").read_text())


@pytest.fixture(scope="module")
def records(reference_data):
    return json.loads((reference_data / "nvml-abi.json").read_text())["records"]


def reference_class_names():
    """The struct/union class names of nvidia-ml-py, from the reference data."""
    from conftest import REFERENCE
    classes = json.loads((REFERENCE / "nvidia-ml-py-api.json").read_text())["classes"]
    return sorted(n for n, bases in classes.items() if bases[0] in ("Structure", "Union", "_PrintableStructure"))


ALL = reference_class_names()
CLASSES = [n for n in ALL if not n.startswith(OPAQUE_PREFIX)]
OPAQUE = [n for n in ALL if n.startswith(OPAQUE_PREFIX)]


# Classes nvidia-ml-py 13.615.71 changed, which ours follow: c_nvmlGpuFabricInfo_t took
# nvml.h's 16-byte clusterUuid (80 before), c_nvmlGpmMetricsGet_t holds NVML_GPM_METRIC_MAX
# (477, was 333) metrics, c_nvmlVgpuPlacementList_v1_t's fields are in nvml.h's order.
CHANGED_IN_13_615 = {"c_nvmlGpuFabricInfo_t", "c_nvmlGpmMetricsGet_t", "c_nvmlVgpuPlacementList_v1_t"}


class _EitherRelease:
    """nvidia-ml-py 13.610.43, and for the classes it lacks or 13.615.71 changed, 13.615.71
    (the classes NVML 13.615 brought are held against the release that has them)."""

    def __init__(self, old, new):
        self._old, self._new = old, new

    def __getattr__(self, name):
        if name in CHANGED_IN_13_615:
            return getattr(self._new, name)
        try:
            return getattr(self._old, name)
        except AttributeError:
            return getattr(self._new, name)


@pytest.fixture(scope="module")
def ref(ref, ref_new):
    return _EitherRelease(ref, ref_new)


def ours_and_theirs(ref, name):
    return getattr(pynvml, name), getattr(ref, name)


def ctypes_fields(rcls):
    return [(f[0], f[1].__name__) + tuple(f[2:]) for f in rcls._fields_]


def is_printable(rcls):
    return any(b.__name__ == "_PrintableStructure" for b in rcls.__mro__)


# --- the classes themselves ------------------------------------------------------------------


def test_reference_lists_them_all(api):
    assert len(ALL) == 181 and len(CLASSES) == 174 and len(OPAQUE) == 7


@pytest.mark.parametrize("name", CLASSES)
def test_class_exists_with_fields_and_fmt(ref, name):
    ours, theirs = ours_and_theirs(ref, name)
    assert isinstance(ours, type) and ours.__module__ == "pynvml"
    assert ours.__name__ == theirs.__name__          # aliases print their class's name
    assert ctypes_fields(ours) == ctypes_fields(theirs)
    assert issubclass(ours, (ctypes.Structure, ctypes.Union))   # a ctypes type (issue #10)
    if is_printable(theirs):
        assert ours._fmt_ == theirs._fmt_
    else:
        assert not hasattr(ours, "_fmt_") and not hasattr(theirs, "_fmt_")


def test_aliases_are_the_same_class(ref):
    pairs = [(a, b) for a in CLASSES for b in CLASSES if a < b and getattr(ref, a) is getattr(ref, b)]
    assert len(pairs) == 5   # ProcessInfo (3 names), ProcessDetailList, GpuFabricInfoV
    for a, b in pairs:
        assert getattr(pynvml, a) is getattr(pynvml, b), (a, b)
    distinct = {id(getattr(pynvml, n)) for n in CLASSES}
    assert len(distinct) == len({id(getattr(ref, n)) for n in CLASSES})


@pytest.mark.parametrize("name", OPAQUE)
def test_opaque_handle_structs(ref, name):
    # nvidia-ml-py's empty Structures behind its handle pointers (POINTER(struct_...)):
    # ours are ctypes Structures too (made on first use), as empty as theirs
    ours = getattr(pynvml, name)
    assert issubclass(ours, ctypes.Structure)
    assert ctypes.sizeof(getattr(ref, name)) == 0 == ctypes.sizeof(ours)
    ctypes.POINTER(ours)()


@pytest.mark.parametrize("name", CLASSES)
def test_size_is_the_ctypes_size(ref, name):
    ours, theirs = ours_and_theirs(ref, name)
    assert len(bytes(ours())) == ctypes.sizeof(theirs)
    assert LAYOUTS[ours.__doc__][0] == ctypes.sizeof(theirs)


# Where nvml.h and nvidia-ml-py disagree on offsets, we follow nvml.h.
NVML_H_WINS = {("c_nvmlVgpuPlacementList_v1_t", "count"), ("c_nvmlVgpuPlacementList_v1_t", "placementSize")}


@pytest.mark.parametrize("name", CLASSES)
def test_offsets(ref, records, name):
    ours, theirs = ours_and_theirs(ref, name)
    cname = ours.__doc__
    size, align, cfields = LAYOUTS[cname]
    assert len(cfields) == len(ours._fields_)
    record = records.get(cname)
    if cname.startswith("pn_"):
        # our own declaration: nvml.h has none of this layout, the ctypes class is the truth
        assert record is None or record["size"] != size
        assert align == ctypes.alignment(theirs)
    else:
        assert (size, align) == (record["size"], record["align"])
        offsets = {n: off for n, _t, off in record["fields"]}
        for (cfield, off) in cfields:
            assert offsets.get(cfield, off) == off, (cname, cfield)
    for (pyfield, *_), (_cf, off) in zip(ours._fields_, cfields):
        if (name, pyfield) not in NVML_H_WINS:
            assert getattr(theirs, pyfield).offset == off, (name, pyfield)


def test_offsets_where_nvml_h_differs_from_nvidia_ml_py(ref):
    # nvidia-ml-py 13.610.43's c_nvmlVgpuPlacementList_v1_t has count at 4 and placementSize
    # at 8; nvml.h the other way round: ours follows nvml.h, and 13.615.71's field order
    cls = pynvml.c_nvmlVgpuPlacementList_v1_t
    assert [f[0] for f in cls._fields_] == ["version", "placementSize", "count", "placementIds"]
    assert [f[0] for f in ref.c_nvmlVgpuPlacementList_v1_t._fields_] == [f[0] for f in cls._fields_]
    b = bytes(cls(count=1, placementSize=2))
    assert b[4:12] == (2).to_bytes(4, "little") + (1).to_bytes(4, "little")
    # fields nvml.h names otherwise keep nvidia-ml-py's name at nvml.h's offset
    assert dict(LAYOUTS["nvmlCoolerInfo_v1_t"][2])["signalType"] == 8
    assert bytes(pynvml.c_nvmlCoolerInfo_t(coolerControlType=7))[8] == 7
    assert dict(LAYOUTS["nvmlExcludedDeviceInfo_t"][2])["pciInfo"] == 0


# --- construction, defaults, str() -------------------------------------------------------------


def ref_instance(theirs):
    try:
        return theirs()
    except (TypeError, NameError):
        # c_nvmlPRMCounterList_v1_t needs a count; c_nvmlPRMCounter_v1_t and
        # c_nvmlPRMCounterValue_v1_t fail in nvidia-ml-py's own __init__
        return None


@pytest.mark.parametrize("name", CLASSES)
def test_new_object_has_the_reference_bytes(ref, name):
    # all zero, but for what nvidia-ml-py's __init__ sets (version words)
    ours, theirs = ours_and_theirs(ref, name)
    r = ref_instance(theirs)
    expected = bytes(r) if r is not None else bytes(ctypes.sizeof(theirs))
    assert bytes(ours()) == expected
    if "version" in [f[0] for f in ours._fields_] and r is not None:
        assert ours().version == r.version


def test_version_defaults_examples():
    assert pynvml.c_nvmlPdi_t().version == pynvml.nvmlPdi_v1
    assert pynvml.c_nvmlUUID_t().version == pynvml.nvmlUUID_v1
    assert pynvml.c_nvmlNvLinkInfo_v1_t().version == pynvml.nvmlNvLinkInfo_v1
    assert pynvml.c_nvmlGpuFabricInfoV_t().version == pynvml.nvmlGpuFabricInfo_v2
    assert pynvml.c_nvmlMemory_v2_t().version == 0          # nvidia-ml-py sets none there
    assert pynvml.c_nvmlPdi_t(version=5).version == 5       # an argument wins
    assert pynvml.c_nvmlPdi_t(5, 6).value == 6


@pytest.mark.parametrize("name", CLASSES)
def test_construction_by_position_and_keyword(ref, name):
    # every field a value of its own, none zero (a constructor that ignored an argument, or
    # put it in the wrong field, shows), read back field by field; and the bytes are those
    # nvidia-ml-py's class makes of the same values
    cls, theirs = ours_and_theirs(ref, name)
    names = [f[0] for f in cls._fields_]
    values, theirs_values, checked = distinct_values(cls)
    by_position, by_keyword = cls(*values), cls(**dict(zip(names, values)))
    for n in checked:
        want = values[names.index(n)]
        assert getattr(by_position, n) == want, (name, n)
        assert getattr(by_keyword, n) == want, (name, n)
    assert bytes(by_position) == bytes(by_keyword)
    try:
        r = theirs(*theirs_values)
    except (TypeError, NameError):      # nvidia-ml-py's own __init__ fails (see ref_instance)
        r = None
    if r is not None:
        assert bytes(by_position) == bytes(r), name
    with pytest.raises(TypeError):
        cls(*values, *[0] * (len(names) - len(values) + 1))
    with pytest.raises(TypeError):
        cls(no_such_field=1)
    with pytest.raises(TypeError):
        cls(*values[:1], **{names[0]: values[0]})     # one field given twice
    back = pickle.loads(pickle.dumps(by_position))
    assert type(back) is cls and back == by_position and (back != cls()) == bool(checked)


def test_distinct_values_reach_nearly_every_class():
    # only classes of arrays, pointers and nested structs get no value of their own
    bare = [n for n in CLASSES if not distinct_values(getattr(pynvml, n))[2]]
    assert len(bare) <= 8, bare


def distinct_values(cls):
    """(ours, nvidia-ml-py's, the fields given a value of their own): i + 1 for unsigned
    ints (wrapped to a bit field's width), -(i + 1) for signed ones, i + 0.5 for doubles,
    a letter or a short text for chars; what a new object holds for arrays, pointers and
    nested structs.  A union gets one such value (its fields overlap)."""
    zero = cls()
    values, theirs, checked = [], [], []
    for i, f in enumerate(cls._fields_):
        name, t = f[0], f[1]
        v = getattr(zero, name)
        r = getattr(zero, name) if not isinstance(v, str) else v.encode()
        if issubclass(cls, ctypes.Union) and checked:
            break                           # a union: the fields after it would overwrite it
        if t in (ctypes.c_uint, ctypes.c_ulong, ctypes.c_ushort, ctypes.c_ubyte, ctypes.c_ulonglong):
            v = r = (i % (2 ** f[2] - 1)) + 1 if len(f) > 2 else i + 1
        elif t in (ctypes.c_int, ctypes.c_long, ctypes.c_longlong):
            v = r = -(i + 1)
        elif t is ctypes.c_double:
            v = r = i + 0.5
        elif t is ctypes.c_char:
            v = chr(ord("A") + i % 26)
            r = v.encode()
        elif issubclass(t, ctypes.Array) and t._type_ is ctypes.c_char:
            v = "f%d" % i
            r = v.encode()
        else:
            values.append(v)
            theirs.append(r)
            continue
        checked.append(name)
        values.append(v)
        theirs.append(r)
    return values, theirs, checked


class _Expected:
    """Stands for a field value in the str() we expect: prints as `text`."""

    def __init__(self, text):
        self.text = text

    __str__ = __repr__ = lambda self: self.text


def expected_str(value):
    """What our str() prints for nvidia-ml-py's object `value`: _PrintableStructure's
    format, except that arrays and handles print as the value ours reads as."""
    cls = type(value)
    if not is_printable(cls):
        return f"<pynvml.{cls.__name__} object at 0x0>"
    parts = []
    for key, *_ in cls._fields_:
        v = expected_value(getattr(value, key))
        fmt = cls._fmt_.get(key, cls._fmt_.get("<default>", "%s"))
        parts.append(("%s: " + fmt) % (key, v))
    return f"{cls.__name__}({', '.join(parts)})"


def expected_value(v):
    if isinstance(v, ctypes.Array):
        if v._type_ is ctypes.c_ubyte:
            return bytes(v)
        return [expected_value(e) for e in v]
    if isinstance(v, ctypes._Pointer) and v._type_.__name__.startswith("struct_"):
        return None if not v else ctypes.cast(v, ctypes.c_void_p).value   # a handle: ours reads it so
    if isinstance(v, ctypes._Pointer):   # read as nvidia-ml-py reads it: a ctypes pointer
        return _Expected(f"<{type(v).__name__} object at 0x0>")
    if isinstance(v, (ctypes.Structure, ctypes.Union)):
        return _Expected(expected_str(v))
    return v


@pytest.mark.parametrize("name", [n for n in CLASSES if n != "c_nvmlPRMCounter_v1_t"])
def test_str_of_a_new_object_like_reference(ref, name):
    ours, theirs = ours_and_theirs(ref, name)
    r = ref_instance(theirs)
    if r is None:
        r = theirs.from_buffer_copy(bytes(ours()))
    assert normalized(str(ours())) == expected_str(r)


def test_str_of_a_new_object_is_nvidia_ml_py_s_where_no_array_pointer_or_handle(ref):
    same = 0
    for name in CLASSES:
        ours, theirs = ours_and_theirs(ref, name)
        r = ref_instance(theirs)
        if r is None or not is_printable(theirs) or re.search(r"Array|LP_", str(theirs._fields_)):
            continue
        if any(issubclass(f[1], (ctypes.Structure, ctypes.Union)) and re.search(r"Array|LP_", str(f[1]._fields_))
               for f in theirs._fields_):
            continue
        assert MASK.sub(r"<\1>", str(ours())) == MASK.sub(r"<\1>", str(r)), name
        same += 1
    assert same >= 70


@pytest.mark.parametrize("name", CLASSES)
def test_scalar_values_and_str_like_reference(ref, name):
    # every int field set to a distinct value on both sides: same bytes, same str()
    ours, theirs = ours_and_theirs(ref, name)
    r = theirs.from_buffer_copy(bytes(ours()))
    o = ours()
    for i, (key, ctype, *bits) in enumerate(theirs._fields_):
        if ctype in (ctypes.c_uint, ctypes.c_int, ctypes.c_ulong, ctypes.c_long, ctypes.c_ushort, ctypes.c_ubyte):
            v = (0x5A5A5A5A5A5A5A5A + 0x1111 * i) & ((1 << (8 * ctypes.sizeof(ctype))) - 1)
            setattr(o, key, v)
            setattr(r, key, v)
            assert getattr(o, key) == getattr(r, key), key
    if name not in {n for n, _ in NVML_H_WINS}:
        assert bytes(o) == bytes(r)
    if name != "c_nvmlPRMCounter_v1_t":
        assert normalized(str(o)) == expected_str(r)


# --- field kinds --------------------------------------------------------------------------------


def test_u8_array_reads_as_bytes_and_takes_bytes_or_ints(ref):
    f = pynvml.c_nvmlGpuFabricInfo_v2_t()
    assert f.clusterUuid == bytes(16) and type(f.clusterUuid) is bytes
    f.clusterUuid = b"\x01\x02"
    assert f.clusterUuid == b"\x01\x02" + bytes(14)
    f.clusterUuid = [255] * 16
    assert f.clusterUuid == b"\xff" * 16
    f.clusterUuid = bytearray(b"\x07")             # what is not given is zeroed
    assert f.clusterUuid == b"\x07" + bytes(15)
    theirs = ref.c_nvmlGpuFabricInfo_v2_t()
    theirs.clusterUuid[0] = 9
    f.clusterUuid = theirs.clusterUuid             # a ctypes array (buffer) too
    assert f.clusterUuid == bytes(theirs.clusterUuid) and bytes(f) == bytes(theirs)
    for bad in (b"x" * 17, [0] * 17):
        with pytest.raises(ValueError):
            f.clusterUuid = bad
    for bad in ("text", 5, None, [1.5]):
        with pytest.raises(TypeError):
            f.clusterUuid = bad
    assert f.clusterUuid == bytes(theirs.clusterUuid)   # unchanged by the failures
    t = pynvml.c_nvmlPRMTLV_v1_t(8, 0, b"\x01" * 8)
    assert t.dataSize == 8 and t.data[:9] == b"\x01" * 8 + b"\0" and len(t.data) == 496


def test_scalar_array_reads_as_list_and_is_set_whole():
    m = pynvml.c_nvmlMask255_t()
    assert m.mask == [0] * 8
    m.mask = [1, 2, 3]
    assert m.mask == [1, 2, 3, 0, 0, 0, 0, 0]
    m.mask = (-1,) * 8
    assert m.mask == [2**32 - 1] * 8
    with pytest.raises(TypeError):
        m.mask = [1, "2"]
    with pytest.raises(ValueError):
        m.mask = [0] * 9
    assert m.mask == [2**32 - 1] * 8                      # all or nothing
    assert bytes(m) == b"\xff" * 32


def test_struct_array_items_are_views():
    h = pynvml.c_nvmlBridgeChipHierarchy_t()
    items = h.bridgeChipInfo
    assert len(items) == 128 and of_class(items[0], pynvml.c_nvmlBridgeChipInfo_t)
    items[1].fwVersion = 0x1234
    assert h.bridgeChipInfo[1].fwVersion == 0x1234
    assert bytes(h)[4 + 8 + 4:4 + 8 + 8] == (0x1234).to_bytes(4, "little")
    h.bridgeChipInfo = [pynvml.c_nvmlBridgeChipInfo_t(1, 2)]
    assert (h.bridgeChipInfo[0].type, h.bridgeChipInfo[0].fwVersion, h.bridgeChipInfo[1].fwVersion) == (1, 2, 0)
    with pytest.raises(TypeError):
        h.bridgeChipInfo = [pynvml.c_nvmlMemory_t()]
    nested = pynvml.c_nvmlWorkloadPowerProfileProfilesInfo_v1_t()
    nested.perfProfile[254].conflictingmask.mask = [7] * 8
    assert nested.perfProfile[254].conflictingmask.mask == [7] * 8
    assert bytes(nested)[-32:] == (7).to_bytes(4, "little") * 8


def test_unions_share_bytes():
    v = pynvml.c_nvmlUUIDValue_t()
    v.str = "GPU-1"
    assert v.bytes[:6] == b"GPU-1\0"
    v.bytes = b"\x41" * 16
    assert v.str == "A" * 16
    u = pynvml.c_nvmlUUID_t()
    u.value.str = "abc"
    assert bytes(u)[8:12] == b"abc\0" and u.value.bytes[:3] == b"abc"
    s = pynvml.c_nvmlVgpuSchedulerGetState_t()
    s.schedulerParams.vgpuSchedDataWithARR.avgFactor = 3
    s.schedulerParams.vgpuSchedDataWithARR.timeslice = 4
    assert s.schedulerParams.vgpuSchedData.timeslice == 3   # the other member, same bytes
    assert str(s).startswith("c_nvmlVgpuSchedulerGetState_t(schedulerPolicy: 0, arrMode: 0, "
                             "schedulerParams: <pynvml.c_nvmlVgpuSchedulerParams_t object at 0x")


def test_struct_with_pointers_has_a_read_only_buffer():
    a = pynvml.c_nvmlActiveVgpuInstanceInfo_v1_t()
    # no bytes from a buffer can forge a handle: a struct with pointers has a read-only buffer
    view = memoryview(a)
    assert view.readonly and len(view) == 16
    with pytest.raises(TypeError):
        view[8:16] = b"\xff" * 8
    with pytest.raises((TypeError, BufferError)):
        (ctypes.c_char * 16).from_buffer(a)
    assert bytes(a)[8:] == bytes(8)
    assert not memoryview(pynvml.nvmlPciInfo_t()).readonly
    # nested deeper too
    assert memoryview(pynvml.c_nvmlGpmMetricsGet_t()).readonly
    assert memoryview(pynvml.c_nvmlGpmMetric_t()).readonly     # metricInfo holds char *
    assert pynvml.c_nvmlPRMCounterList_v1_t(3, None).numCounters == 3   # nvidia-ml-py's (num, ctrs=None)


def test_c_string_pointer_fields():
    info = pynvml.c_metricInfo_t()
    assert (info.shortName, info.longName, info.unit) == (None, None, None)
    with pytest.raises(TypeError):      # a plain ctypes Structure in nvidia-ml-py: bytes only
        info.shortName = "sm"
    info.unit = b"%"
    assert info.unit == b"%"                 # as a ctypes c_char_p reads
    assert pynvml.c_nvmlGpmMetric_t().metricInfo.unit is None


def test_pickle_of_null_pointers():
    a = pynvml.c_nvmlVgpuTypeIdInfo_v1_t(vgpuCount=2)
    assert pickle.loads(pickle.dumps(a)) == a        # NULL pointers pickle as None


@pytest.mark.simulator
def test_handle_fields(nvml):
    h0 = pynvml.nvmlDeviceGetHandleByIndex(0)
    h1 = pynvml.nvmlDeviceGetHandleByIndex(1)
    e = pynvml.c_nvmlEventData_t()
    assert e.device is None
    e.device = h0
    assert type(e.device) is pynvml.c_nvmlDevice_t and e.device == h0
    assert pynvml.nvmlDeviceGetIndex(e.device) == 0
    assert int.from_bytes(bytes(e)[:8], "little") == h0.value
    g = pynvml.c_nvmlGpuInstanceInfo_t(h1, 3)
    assert g.device == h1 and g.id == 3
    assert "device: <pynvml.c_nvmlDevice_t 0x" in str(e)
    with pytest.raises(TypeError):
        pynvml.c_nvmlComputeInstanceInfo_t(gpuInstance=h0)     # a device is not a GPU instance
    for bad in (h0.value, 0, "dev", ctypes.c_void_p(h0.value)):
        with pytest.raises(TypeError):
            e.device = bad
    e.device = None
    assert e.device is None and bytes(e)[:8] == bytes(8)
    e.device = h0
    pynvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):   # a handle of an ended init
        e.device = h0
    assert e.device is not None                          # unchanged


def test_single_char_fields(ref):
    p = pynvml.c_nvmlPlatformInfo_v1_t()
    r = ref.c_nvmlPlatformInfo_v1_t()
    assert p.peerType == r.peerType == "\x00"
    for value, read in (("a", "a"), (b"b", "b"), (67, "C"), (bytearray(b"d"), "d")):
        p.peerType = value
        r.peerType = value if not isinstance(value, (bytearray,)) else bytes(value)
        assert p.peerType == read == r.peerType
    assert bytes(p) == bytes(r)
    for bad in ("ab", b"", 256, -1, "\u00e9"):
        with pytest.raises(ValueError):
            p.peerType = bad
    for bad in (1.5, None, [1]):
        with pytest.raises(TypeError):
            p.peerType = bad
    assert p.peerType == "d"
    p.moduleId = 0xFF
    assert p.moduleId == "\ufffd"                       # not UTF-8: replaced, not an error


def test_bit_field_like_ctypes(ref):
    ours = pynvml.c_nvmlGpuDynamicPstatesUtilization_t(bIsPresent=3, percentage=50)
    theirs = ref.c_nvmlGpuDynamicPstatesUtilization_t(bIsPresent=3, percentage=50)
    assert ours.bIsPresent == theirs.bIsPresent == 1 and bytes(ours) == bytes(theirs)
    assert ours._fields_[0] == ("bIsPresent", ctypes.c_uint, 1)
    # the other bits of the member keep their value, as in ctypes
    raw = (0xFFFFFFFE).to_bytes(4, "little") + bytes(12)
    theirs = ref.c_nvmlGpuDynamicPstatesUtilization_t.from_buffer_copy(raw)
    ours = pynvml.c_nvmlGpuDynamicPstatesUtilization_t.from_buffer_copy(raw)
    assert ours.bIsPresent == theirs.bIsPresent == 0
    ours.bIsPresent = theirs.bIsPresent = 1
    assert ours.bIsPresent == 1 and bytes(ours) == bytes(theirs) == b"\xff" * 4 + bytes(12)
    info = pynvml.c_nvmlGpuDynamicPstatesInfo_t()
    info.utilization[7].bIsPresent = 5
    assert info.utilization[7].bIsPresent == 1 and bytes(info)[4 + 7 * 16] == 1


# --- stubs --------------------------------------------------------------------------------------


def test_stubs_have_every_class_with_typed_fields():
    text = (Path(pynvml.__file__).parent / "_nvml.pyi").read_text()
    for name in CLASSES:
        cls = getattr(pynvml, name)
        if cls.__name__ != name:
            assert re.search(rf"^{name} = {cls.__name__}$", text, re.M), name
            continue
        m = re.search(rf"^class {name}(?:\(\w+\))?:\n((?:    .*\n)+)", text, re.M)
        assert m, name
        body = m.group(1)
        for fname, *_ in cls._fields_:
            assert re.search(rf"^    {fname}: \S", body, re.M), (name, fname)
    assert "    clusterUuid: bytes" in text
    assert "    vgpuInstances: ctypes._Pointer[ctypes.c_uint]" in text
    assert "    data: int | None" in text                         # a void *
    assert "    device: c_nvmlDevice_t | None" in text
    assert "    shortName: bytes | None" in text              # c_metricInfo_t is a plain Structure
