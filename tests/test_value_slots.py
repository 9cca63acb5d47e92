"""Value slots (issue #5): what the functions return of the struct classes whose fields
read as fast as a plain object's attributes is an object of the class's result class, a
subclass of the same name that keeps each field's value as a Python object beside the C
bytes (ext/structs.c, "Value slots"; which classes: codegen/emit_ext.py value_cached).
Whatever writes the bytes through the class must leave every slot equal to what the bytes
say, and nothing but ctypes' raw tools may write the bytes around the slots.  The classes
themselves (issue #10: real ctypes types) read every field from the bytes."""
import copy
import ctypes
import pickle
import random
import sys
from pathlib import Path

import pytest

import pynvml

ROOT = Path(__file__).resolve().parent.parent


def _has_slots(cls):
    fields = [f[0] for f in cls._fields_]
    return bool(fields) and all(type(cls.__dict__.get(f)).__name__ == "member_descriptor" for f in fields)


NAMES = sorted({n for n in pynvml._nvml._lazy_names()})
RESULT = {getattr(pynvml, n).__name__: pynvml._nvml._result_class(getattr(pynvml, n)) for n in NAMES}
CACHED = sorted(n for n, r in RESULT.items() if r is not None and _has_slots(r))


def test_the_generator_s_choice_is_what_the_module_has():
    sys.path.insert(0, str(ROOT / "codegen"))
    try:
        import emit_ext
        import spec as spec_mod
        spec = spec_mod.load(ROOT / "spec")
        want = {spec.structs[c].pyname for c in emit_ext.value_cached(spec)}
    finally:
        sys.path.remove(str(ROOT / "codegen"))
    assert CACHED == sorted(want)
    assert {"c_nvmlMemory_t", "c_nvmlUtilization_t", "c_nvmlProcessInfo_v2_t", "c_nvmlBAR1Memory_t"} <= set(CACHED)
    # never one that NVML fills in place or that another struct holds
    assert not {"nvmlPciInfo_t", "c_nvmlPlatformInfo_v2_t", "c_nvmlFieldValue_t"} & set(CACHED)


def _reference_view(ref, obj):
    """The values nvidia-ml-py's ctypes class reads from obj's bytes, as ours spells them."""
    r = getattr(ref, type(obj).__name__).from_buffer_copy(bytes(obj))
    out = {}
    for name, ctype, *bits in r._fields_:
        v = getattr(r, name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out[name] = v
    return out


def _ours(obj):
    return {f[0]: getattr(obj, f[0]) for f in obj._fields_}


def _int_width(ctype):
    return 8 * ctypes.sizeof(ctype)


@pytest.mark.parametrize("name", CACHED)
def test_every_write_leaves_the_slots_equal_to_the_bytes(ref, name):
    cls = RESULT[name]
    assert issubclass(cls, getattr(pynvml, name)) and cls.__name__ == name
    rcls = getattr(ref, name)
    rng = random.Random(name)
    o = cls()
    assert _ours(o) == _reference_view(ref, o)
    for step in range(40):
        fname, ctype, *bits = rng.choice(rcls._fields_)
        if issubclass(ctype, ctypes.Array) or ctype is ctypes.c_char:   # text
            size = ctypes.sizeof(ctype)
            value = rng.choice(["", "a", "GPU-" + "x" * rng.randrange(size + 3), b"bytes"[:size]])
        elif ctype in (ctypes.c_double, ctypes.c_float):
            value = rng.choice([0.5, -1.25, 1e300, "x"])
        else:
            w = bits[0] if bits else _int_width(ctype)
            value = rng.choice([0, 1, 255, 256, 2**w - 1, 2**w, -1, -(2**w), 2**64 + 5, "7", 1.5, None])
        try:
            setattr(o, fname, value)
        except (TypeError, ValueError):
            pass
        assert _ours(o) == _reference_view(ref, o), (step, fname, value)


def result(cls, *args):
    """An object of cls's result class, as a function returns (here made by calling it)."""
    return pynvml._nvml._result_class(cls)(*args)


def test_reads_return_the_kept_object():
    m = result(pynvml.c_nvmlMemory_t, 2**40, 2**41, 2**42)
    assert m.total is m.total                        # not a new int per read
    m.total = 7
    assert m.total == 7 and bytes(m)[:8] == (7).to_bytes(8, "little")


def test_init_again_and_failed_init_keep_slots_and_bytes_together():
    m = result(pynvml.c_nvmlMemory_t, 1, 2, 3)
    with pytest.raises(TypeError):
        m.__init__(5, "x")                           # total set, then free refused
    assert (m.total, m.free, m.used) == (5, 2, 3)
    assert bytes(m) == b"".join(v.to_bytes(8, "little") for v in (5, 2, 3))


def test_nothing_writes_around_the_slots():
    m = result(pynvml.c_nvmlMemory_t, 1, 2, 3)
    with pytest.raises((AttributeError, TypeError)):
        object.__setattr__(m, "total", 9)            # refused: the member descriptor is read-only
    with pytest.raises(AttributeError):
        del m.total
    with pytest.raises(TypeError):
        memoryview(m)[0:8] = bytes(8)
    with pytest.raises(AttributeError):
        m.not_a_field = 1
    with pytest.raises(TypeError):
        (ctypes.c_ubyte * 24).from_buffer(m)
    assert (m.total, m.free, m.used) == (1, 2, 3)


def test_ctypes_makes_objects_of_the_class_not_the_result_class():
    # where ctypes makes an object over a result's bytes, it is one of the class, which
    # reads the bytes: pointer(r).contents, and writes through it are seen by the class
    m = result(pynvml.c_nvmlMemory_t, 1, 2, 3)
    p = ctypes.pointer(m)
    assert type(p) is ctypes.POINTER(pynvml.c_nvmlMemory_t)
    c = p.contents
    assert type(c) is pynvml.c_nvmlMemory_t and (c.total, c.free, c.used) == (1, 2, 3)
    assert ctypes.sizeof(m) == 24 and ctypes.addressof(c) == ctypes.addressof(m)


def test_copies_pickles_and_subclasses():
    m = result(pynvml.c_nvmlMemory_t, 2**63, 2, 3)
    for c in (copy.copy(m), copy.deepcopy(m)):
        assert type(c) is type(m) and c == m and (c.total, c.free, c.used) == (2**63, 2, 3)
    back = pickle.loads(pickle.dumps(m))                 # unpickled as the class itself
    assert type(back) is pynvml.c_nvmlMemory_t and back == m and m == back

    class Mine(pynvml.c_nvmlMemory_t):
        pass

    s = Mine(1, 2, 3)
    s.total = 10
    s.note = "extra"                                 # a subclass's own attribute
    assert (s.total, s.free, s.note) == (10, 2, "extra")
    assert bytes(s)[:8] == (10).to_bytes(8, "little")


def test_text_fields_and_wrapped_ints(ref):
    a = result(pynvml.c_nvmlUtilization_t)
    p = result(pynvml.c_nvmlHwbcEntry_t)
    p.firmwareVersion = "1.2.3"
    assert p.firmwareVersion == "1.2.3" and _ours(p) == _reference_view(ref, p)
    with pytest.raises(ValueError):
        p.firmwareVersion = "x" * 100
    assert p.firmwareVersion == "1.2.3"
    a.gpu = 2**32 + 5                                # wrapped to 32 bits, as ctypes does
    assert a.gpu == 5 and _ours(a) == _reference_view(ref, a)


@pytest.mark.simulator
def test_results_from_nvml(nvml, ref):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    for obj in (pynvml.nvmlDeviceGetMemoryInfo(h), pynvml.nvmlDeviceGetUtilizationRates(h),
                pynvml.nvmlDeviceGetBAR1MemoryInfo(h), pynvml.nvmlDeviceGetMemoryInfo(h, pynvml.nvmlMemory_v2)):
        assert type(obj).__name__ in CACHED
        assert _ours(obj) == _reference_view(ref, obj)
