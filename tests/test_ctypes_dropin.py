"""Our struct classes where code uses a ctypes type (issue #10): each operation that code
written for nvidia-ml-py does with its ctypes classes, done with ours and with nvidia-ml-py's
on the same simulated NVML, compared byte for byte and field by field.  The classes are
real ctypes.Structure / ctypes.Union subclasses (ext/structs.c), so ctypes itself is the
independent judge: it lays them out, and its own functions must take them."""
import copy
import ctypes
import pickle
import subprocess
import sys

import pytest

import pynvml
from conftest import of_class

simulator = pytest.mark.simulator


def test_the_classes_are_ctypes_types_of_nvml_h_sizes(ref):
    for name in ("c_nvmlMemory_t", "c_nvmlMemory_v2_t", "nvmlPciInfo_t", "c_nvmlFieldValue_t", "c_nvmlValue_t",
                 "c_nvmlProcessInfo_v3_t", "c_nvmlGpuInstanceProfileInfo_v2_t"):
        ours, theirs = getattr(pynvml, name), getattr(ref, name)
        assert issubclass(ours, (ctypes.Structure, ctypes.Union)), name
        assert ctypes.sizeof(ours) == ctypes.sizeof(theirs) == ctypes.sizeof(ours()), name
        assert ctypes.alignment(ours) == ctypes.alignment(theirs), name
    assert issubclass(pynvml.c_nvmlValue_t, ctypes.Union)


def test_array_types_sizeof_and_items(ref):
    arr = (pynvml.c_nvmlFieldValue_t * 4)()
    assert isinstance(arr, ctypes.Array) and len(arr) == 4
    assert ctypes.sizeof(arr) == 4 * ctypes.sizeof(ref.c_nvmlFieldValue_t)
    arr[2].fieldId = 91                        # an item is a view of the array's bytes
    arr[2].value.ullVal = 2**64 - 1
    assert of_class(arr[2], pynvml.c_nvmlFieldValue_t) and arr[2].fieldId == 91
    theirs = (ref.c_nvmlFieldValue_t * 4).from_buffer_copy(arr)
    assert theirs[2].fieldId == 91 and theirs[2].value.ullVal == 2**64 - 1
    arr[0] = pynvml.c_nvmlFieldValue_t(fieldId=7)   # item assignment copies the bytes in
    assert arr[0].fieldId == 7 and bytes(arr)[:4] == (7).to_bytes(4, "little")
    assert [v.fieldId for v in arr[:3]] == [7, 0, 91]


def test_byref_pointer_addressof_cast_memmove():
    m = pynvml.c_nvmlMemory_t(1, 2, 3)
    p = ctypes.pointer(m)
    assert type(p) is ctypes.POINTER(pynvml.c_nvmlMemory_t)
    p.contents.free = 20                       # through the pointer, into m's bytes
    assert m.free == 20
    assert ctypes.addressof(p.contents) == ctypes.addressof(m)
    assert ctypes.cast(ctypes.byref(m), ctypes.POINTER(ctypes.c_ulonglong))[2] == 3
    ctypes.memmove(ctypes.byref(m), (ctypes.c_ulonglong * 3)(4, 5, 6), 24)   # memmove takes addresses
    assert (m.total, m.free, m.used) == (4, 5, 6)
    ctypes.memmove(ctypes.addressof(m) + 8, ctypes.byref(ctypes.c_ulonglong(50)), 8)
    assert m.free == 50
    m.free = 5
    assert (m.total, m.free, m.used) == (4, 5, 6)
    v = pynvml.c_nvmlMemory_t.from_buffer(bytearray(bytes(m)))
    w = pynvml.c_nvmlMemory_t.from_buffer_copy(bytes(m))
    assert v == w == m and str(v) == "c_nvmlMemory_t(total: 4 B, free: 5 B, used: 6 B)"


def test_a_c_function_fills_our_structs_through_byref():
    # a C callback standing for an NVML entry point that fills its argument
    @ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(pynvml.c_nvmlMemory_t))
    def fill(handle, out):
        out.contents.total, out.contents.used = 100, 40
        return 0

    m = pynvml.c_nvmlMemory_t()
    assert fill(None, ctypes.byref(m)) == 0 and (m.total, m.used) == (100, 40)


def test_construction_takes_ctypes_values_as_ctypes_does(ref):
    # gpustat's own tests build process infos this way
    ours = pynvml.c_nvmlProcessInfo_t(pid=ctypes.c_uint(42), usedGpuMemory=ctypes.c_ulonglong(2**33))
    theirs = ref.c_nvmlProcessInfo_t(pid=ctypes.c_uint(42), usedGpuMemory=ctypes.c_ulonglong(2**33))
    assert bytes(ours) == bytes(theirs) and (ours.pid, ours.usedGpuMemory) == (42, 2**33)
    s = pynvml.c_nvmlSample_t(timeStamp=ctypes.c_ulonglong(5))
    s.sampleValue.dVal = 0.5
    assert s.timeStamp == 5 and s.sampleValue.dVal == 0.5
    with pytest.raises(TypeError):
        pynvml.c_nvmlMemory_t(total=ctypes.c_char_p(b"x"))


@simulator
def test_nvitop_field_values_through_a_function_pointer(nvml, ref):
    """nvitop's own nvmlDeviceGetFieldValues: an array of our class, our handle, the entry
    point from _nvmlGetFunctionPointer, then a from_buffer view; against nvidia-ml-py."""
    ids = [pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION, (pynvml.NVML_FI_DEV_NVLINK_SPEED_MBPS_L0, 0),
           pynvml.NVML_FI_DEV_MEMORY_TEMP]

    def query(mod, handle):
        values = (mod.c_nvmlFieldValue_t * (len(ids) + 1))()
        for v in values:
            v.nvmlReturn = mod.NVML_ERROR_INVALID_ARGUMENT
        for i, fid in enumerate(ids):
            try:
                values[i].fieldId, values[i].scopeId = fid
            except TypeError:
                values[i].fieldId = fid
        fn = mod._nvmlGetFunctionPointer("nvmlDeviceGetFieldValues")
        assert fn(handle, ctypes.c_int32(len(ids)), ctypes.byref(values)) == 0
        view = (mod.c_nvmlFieldValue_t * len(ids)).from_buffer(values)
        return [(v.fieldId, v.scopeId, v.nvmlReturn, v.valueType, v.value.ullVal) for v in view]

    ref.nvmlInit()
    try:
        theirs = query(ref, ref.nvmlDeviceGetHandleByIndex(0))
    finally:
        ref.nvmlShutdown()
    ours = query(pynvml, pynvml.nvmlDeviceGetHandleByIndex(0))
    energy = [o for o in ours if o[0] == pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION][0]
    assert energy[2] == pynvml.NVML_SUCCESS and energy[4] > 0   # a value, not only errors
    for a, b in zip(ours, theirs):
        if a[0] == pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION:    # energy counts up between the calls
            assert a[:4] == b[:4] and a[4] >= b[4]
        else:
            assert a == b
    # the same values through our own function
    fv = pynvml.nvmlDeviceGetFieldValues(pynvml.nvmlDeviceGetHandleByIndex(0), ids)
    assert [(v.fieldId, v.nvmlReturn) for v in fv] == [(a[0], a[2]) for a in ours]


@simulator
def test_result_objects_are_ctypes_objects_too(nvml):
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    mem = pynvml.nvmlDeviceGetMemoryInfo(h)
    assert isinstance(mem, pynvml.c_nvmlMemory_t) and type(mem).__name__ == "c_nvmlMemory_t"
    assert ctypes.sizeof(mem) == 24 and ctypes.addressof(mem) != 0
    c = ctypes.pointer(mem).contents             # ctypes' object over the result's bytes
    assert type(c) is pynvml.c_nvmlMemory_t and (c.total, c.used) == (mem.total, mem.used)
    assert pynvml.c_nvmlMemory_t.from_buffer_copy(mem) == mem
    assert pickle.loads(pickle.dumps(mem)) == mem and copy.deepcopy(mem) == mem
    pci = pynvml.nvmlDeviceGetPciInfo(h)       # a class object (NVML fills such in place)
    assert type(pci) is pynvml.nvmlPciInfo_t and ctypes.sizeof(pci) == 68


@simulator
def test_struct_arrays_where_a_list_goes(use_profile, default_profile):
    default_profile["devices"][0]["nvmlDeviceReadPRMCounters_v1"] = {
        "1": {"valueType": pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG, "value": 77}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    try:
        arr = (pynvml.c_nvmlPRMCounter_v1_t * 2)()
        arr[0].counterId, arr[1].counterId = 1, 99
        pynvml.nvmlDeviceReadPRMCounters_v1(pynvml.nvmlDeviceGetHandleByIndex(0), arr)
        assert arr[0].outputValue.outputValue.ullVal == 77 and arr[0].outputValue.status == 0
        assert arr[1].outputValue.status == pynvml.NVML_ERROR_NOT_SUPPORTED
        with pytest.raises(TypeError):           # an array of another class is refused
            pynvml.nvmlDeviceReadPRMCounters_v1(pynvml.nvmlDeviceGetHandleByIndex(0),
                                                (pynvml.c_nvmlMemory_t * 2)())
    finally:
        pynvml.nvmlShutdown()


@simulator
def test_nvidia_ml_py_objects_given_to_ours_fit_or_are_refused(nvml, ref):
    """Its handles are ctypes pointers: used where a handle goes.  Its structs are other
    ctypes classes: refused with TypeError, never a crash (in a child, to be sure)."""
    code = """
import pynvml, sys
sys.path.insert(0, sys.argv[1])
import importlib.util as u
import ctypes, os
spec = u.spec_from_file_location("nvidia_ml_py", sys.argv[2]); ref = u.module_from_spec(spec)
sys.modules["nvidia_ml_py"] = ref; spec.loader.exec_module(ref)
pynvml.nvmlInit(); ref.nvmlLib = ctypes.CDLL(pynvml._nvml._library_path()); ref.nvmlInit()
rh = ref.nvmlDeviceGetHandleByIndex(0)
print(pynvml.nvmlDeviceGetName(rh) == pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0)))
for call in (lambda: pynvml.nvmlDeviceReadPRMCounters_v1(pynvml.nvmlDeviceGetHandleByIndex(0), [ref.c_nvmlPRMCounter_v1_t()]),
             lambda: pynvml.nvmlDeviceGetCpuAffinity(ref.c_nvmlMemory_t(), 1),
             lambda: pynvml.nvmlDeviceGetHandleByIndex(0) == rh):
    try:
        r = call()
        print("ok", r)
    except TypeError as e:
        print("TypeError")
"""
    from conftest import REF_MODULE
    out = subprocess.run([sys.executable, "-c", code, str(REF_MODULE.parent), str(REF_MODULE)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == ["True", "TypeError", "TypeError", "ok False"]


def test_import_does_not_load_ctypes_the_first_class_does():
    code = ("import sys, pynvml; a = 'ctypes' in sys.modules; pynvml.nvmlInit; b = 'ctypes' in sys.modules; "
            "pynvml.c_nvmlMemory_t; print(a, b, 'ctypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False", "True"], out.stderr
