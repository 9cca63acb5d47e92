"""Every function of the bindings, driven by the spec (spec/*.nvml, through codegen/spec.py)
and the simulator's profiles rather than by hand-written expectations:

  a. the success path: on each simulated GPU, every argument the profile has data for,
     the result equal to that data (synthesized from the spec where the default profile
     has only errors);
  b. errors: the profile's {"error": ...} at the function's key, or a missing key for an
     argument, raised as the right NVMLError_* class;
  c. wrong arguments (a wrong object where the handle goes, bad ints and strings, wrong
     arity, unknown keywords) raise TypeError/ValueError in-process;
  d. the system calls, device lookups, field values, memory info versions, topology,
     retired pages, process utilization, and the GIL being released around NVML calls;
  e. parameter names as nvidia-ml-py's.
"""
import copy
import ctypes
import inspect
import json
import sys
import threading
import time

import pytest

import pynvml
from conftest import REFERENCE, ROOT, of_class

sys.path.insert(0, str(ROOT / "codegen"))
import spec as spec_mod  # noqa: E402

SPEC = spec_mod.load()
FUNCS = {f.pyname: f for f in SPEC.functions}
PY_FUNCS = [f for f in SPEC.functions if f.python]
U64_MAX = 2**64 - 1


def simkey(f):
    return f.options.get("simkey", f.csym)


# Hand-written wrappers' own arguments that take what a spec type takes.
PYARG_TYPES = {("nvmlDeviceGetHandleByUUIDV", "uuid"): spec_mod.Type("str", "str"),
               ("nvmlDeviceGetHandleByUUIDV", "type"): spec_mod.Type("u32", "scalar"),
               ("nvmlDeviceGetTemperatureV", "sensor"): spec_mod.Type("u32", "scalar"),
               ("nvmlDeviceGetTemperatureV1", "sensor"): spec_mod.Type("u32", "scalar"),
               ("nvmlDeviceGetAccountingStats_v2", "pid"): spec_mod.Type("u32", "scalar"),
               ("nvmlDeviceGetProcessesUtilizationInfo", "timeStamp"): spec_mod.Type("u64", "scalar"),
               ("nvmlDeviceGetSamples", "sampling_type"): spec_mod.Type("u32", "scalar"),
               ("nvmlDeviceGetSamples", "timeStamp"): spec_mod.Type("u64", "scalar")}


def py_params(f):
    """[(name, kind)] of the Python arguments; kind is a spec Type, or 'version' / 'fieldIds'."""
    if "pyargs" in f.options:
        by_name = {p.name: p.type for p in f.inputs}
        out = []
        for a in [a for a in f.options["pyargs"].split(",") if a]:
            name = a.split("=")[0]
            out.append((name, PYARG_TYPES.get((f.pyname, name)) or by_name.get(name, name)))
        return out
    # refargs=: nvidia-ml-py's optional output objects, after the inputs
    return [(p.name, p.type) for p in f.inputs] + [(a, "refarg") for a in f.options.get("refargs", "").split(",") if a]


def takes_device_first(f):
    ps = py_params(f)
    return bool(ps) and not isinstance(ps[0][1], str) and ps[0][1].kind == "handle" and ps[0][1].base == "Device"


def outputs(f):
    return [p for p in f.params if p.role == "out"]


def keyed_inputs(f):
    """The inputs after the device that the simulator descends by (scalars and devices)."""
    return [p for p in f.inputs[1:] if p.role == "in" and p.type.kind in ("scalar", "handle")]


def error_class(name):
    return pynvml.nvmlExceptionClass(getattr(pynvml, name))


def is_error(node):
    return isinstance(node, dict) and "error" in node


def buffer_size(t):
    c = t.count
    return int(c) if c.isdigit() else SPEC.const_value(c)


# Generic device functions: everything with a device first but the hand-shaped field values,
# the calls without outputs (they act: register events, take a GPM sample, change a
# setting; their family's tests, tests/test_family_*.py, test them), and what the simulator
# answers from a model of its own (simstate: MIG, tests/test_family_mig.py).
ACTIONS = {f.pyname for f in PY_FUNCS if takes_device_first(f) and (not outputs(f) or f.sim_setter)
           and f.pyname != "nvmlDeviceGetFieldValues"}
# Hand-written wrappers whose arguments or simulator data have shapes of their own
# (sim/entry_points_getters.c): tests/test_family_getters.py tests them.
HAND_SHAPED = {"nvmlDeviceGetTemperatureV", "nvmlDeviceGetTemperatureV1", "nvmlDeviceGetSupportedPerformanceStates",
               "nvmlDeviceGetGspFirmwareVersion", "nvmlDeviceGetAccountingStats_v2",
               "nvmlDeviceGetConfComputeGpuAttestationReport", "nvmlDeviceGetRunningProcessDetailList",
               "nvmlDeviceGetProcessesUtilizationInfo", "nvmlDeviceGetSamples", "nvmlSystemGetDriverBranch"}
DEVICE_FUNCS = [f for f in PY_FUNCS if takes_device_first(f) and f.pyname != "nvmlDeviceGetFieldValues"
                and f.pyname not in ACTIONS and not f.sim_state and f.pyname not in HAND_SHAPED]
DEVICE_NAMES = [f.pyname for f in DEVICE_FUNCS]


# --- data: from the profile, or synthesized from the spec -------------------------------------

def success_paths(f, node, limit=64):
    """[(keys, data)] for every argument path the profile has success data for."""
    out = []

    def walk(params, node, keys):
        if len(out) >= limit or is_error(node) or node is None:
            return
        if not params:
            out.append((keys, node))
            return
        if not isinstance(node, dict):
            return
        for k in sorted(node, key=lambda s: int(s) if s.isdigit() else 1 << 70):
            if k.isdigit():
                walk(params[1:], node[k], keys + [int(k)])

    walk(keyed_inputs(f), node, [])
    return out


class Synth:
    """Data for a function from the spec's types: extreme values (the top of unsigned
    ranges, the bottom of signed ones, strings that exactly fill their buffer), each one
    different so that outputs swapped or fields mixed up show."""

    def __init__(self):
        self.k = 0

    def scalar(self, base):
        self.k += 1
        k = self.k
        return {"u8": 255 - k % 200, "u16": 65535 - k, "u32": 4294967295 - k, "i32": -2147483648 + k,
                "u64": str(2**64 - 2 - k), "i64": str(-(2**63) + k), "ulong": str(2**64 - 2 - k),
                "f64": 0.5 + k}[base]

    def chars(self, size, tag):
        self.k += 1
        return ("%s-%d-" % (tag, self.k) + "0123456789" * 300)[: size - 1]

    def struct(self, cname):
        st = SPEC.structs[cname]
        d = {}
        for fl in st.fields:
            t = fl.type
            if fl.name == "version" and st.version:
                continue
            if t.kind == "char":
                d[fl.name] = self.chars(buffer_size(t), fl.name)
            elif t.count and t.kind == "struct":
                d[fl.name] = [self.struct(t.base) for _ in range(buffer_size(t))]
            elif t.kind == "struct":
                d[fl.name] = self.struct(t.base)
            elif t.count:
                d[fl.name] = [self.scalar(t.base) for _ in range(buffer_size(t))]
            else:
                d[fl.name] = self.scalar(t.base)
            if st.union:
                break           # one member: the others share its bytes
        return d

    def value(self, f, p, dev, ndev):
        t = p.type
        if t.counted:
            if t.kind == "handle":
                return [i for i in range(ndev) if i != dev] + [dev]
            if t.kind == "struct":
                items = [self.struct(t.base) for _ in range(3)]
                if "usedGpuMemory" in items[0]:
                    items[0]["usedGpuMemory"] = str(U64_MAX)     # NVML_VALUE_NOT_AVAILABLE -> None
                return items
            return [self.scalar(t.base) for _ in range(3)]
        if t.kind == "char":
            return self.chars(buffer_size(t), f.pyname)
        if t.kind == "struct":
            return self.struct(t.base)
        if t.kind == "handle":
            return 1 - dev
        return self.scalar(t.base)


def synth_node(f, dev, ndev):
    s = Synth()
    outs = outputs(f)
    data = [s.value(f, p, dev, ndev) for p in outs]
    node = data[0] if len(outs) == 1 else data
    for p in reversed(keyed_inputs(f)):
        node = {str(1 - dev if p.type.kind == "handle" else 3): node}
    return node


def with_data(profile, f, dev, synthesize=False):
    """(profile, paths): the profile, given synthesized data where it has none for f on dev
    (or always, with synthesize)."""
    devices = profile["devices"]
    if f.pyname == "nvmlDeviceGetIndex":     # simhand: the device's place, not profile data
        return profile, [([], dev)]
    paths = success_paths(f, devices[dev].get(simkey(f)))
    if paths and not synthesize:
        return profile, paths
    profile = copy.deepcopy(profile)
    devices = profile["devices"]
    devices[dev][simkey(f)] = synth_node(f, dev, len(devices))
    paths = success_paths(f, devices[dev][simkey(f)])
    assert paths, f.pyname
    return profile, paths


# --- expected values -------------------------------------------------------------------------

MASKS = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFFFFFF, "u64": U64_MAX, "ulong": U64_MAX}


def expect_scalar(base, d):
    if base == "f64":
        return float(d)
    v = int(d, 0) if isinstance(d, str) else int(d)
    if base in MASKS:
        return v & MASKS[base]
    return v


def check_value(t, value, data, handles, where):
    if t.counted:
        assert type(value) is list, where
        assert len(value) == len(data), where
        elt = spec_mod.Type(t.base, t.kind)
        for i, (v, d) in enumerate(zip(value, data)):
            check_value(elt, v, d, handles, f"{where}[{i}]")
    elif t.kind == "scalar":
        exp = expect_scalar(t.base, data)
        if t.bits:      # a bit field: its low bits
            exp &= (1 << t.bits) - 1
        assert type(value) is type(exp) and value == exp, (where, value, exp)
    elif t.kind == "char":
        assert type(value) is str and value == data, (where, value, data)
    elif t.kind == "handle":
        assert type(value) is pynvml.c_nvmlDevice_t, where
        assert pynvml.nvmlDeviceGetIndex(value) == data and value == handles[data], where
    elif t.kind == "struct":
        st = SPEC.structs[t.base]
        assert type(value).__name__ == st.pyname, (where, type(value).__name__)
        assert [x[0] for x in type(value)._fields_] == [fl.name for fl in st.fields], where
        for fl in st.fields:
            v = getattr(value, fl.name)
            if fl.name == "version" and st.version:
                continue
            if fl.name in data:
                if fl.type.count and fl.type.kind == "struct":
                    assert len(v) == len(data[fl.name]), where
                    for i, (x, d) in enumerate(zip(v, data[fl.name])):
                        check_value(spec_mod.Type(fl.type.base, "struct"), x, d, handles, f"{where}.{fl.name}[{i}]")
                elif fl.type.count and fl.type.kind != "char":
                    assert list(v) == [expect_scalar(fl.type.base, x) for x in data[fl.name]], where
                else:
                    check_value(fl.type, v, data[fl.name], handles, f"{where}.{fl.name}")
            elif st.union:   # another member of the union: the same bytes, read otherwise
                continue
            else:   # not in the profile: NVML left it as the wrapper zeroed it
                assert v in (0, "", 0.0), (where, fl.name, v)
    else:
        raise AssertionError(f"{where}: no check for {t}")


def check_result(f, result, data, handles):
    outs = outputs(f)
    post = f.options.get("post")
    if "pick" in f.options:        # the Python result is a field (or a list of fields) of the struct
        st = SPEC.structs[outs[0].type.base]
        by = {fl.name: fl for fl in st.fields}
        names = f.options["pick"].split(",")
        got = [result] if len(names) == 1 else result
        if len(names) > 1:
            assert type(result) is list and len(result) == len(names), f.pyname
        for n, v in zip(names, got):
            t = by[n].type
            if n in data and t.count and t.kind == "struct":     # an array of structs: a list
                assert type(v) is list and len(v) == len(data[n]), f.pyname
                for i, (x, d) in enumerate(zip(v, data[n])):
                    check_value(spec_mod.Type(t.base, "struct"), x, d, handles, f"{f.pyname}.{n}[{i}]")
            elif n in data:
                check_value(by[n].type, v, data[n], handles, f"{f.pyname}.{n}")
            else:
                assert v in (0, ""), (f.pyname, n, v)
        return
    if "each" in f.options:        # each struct output's field (and "item": one of them)
        fld = f.options["each"]
        ftype = {fl.name: fl.type for fl in SPEC.structs[outs[0].type.base].fields}[fld]
        items = [int(f.options["item"])] if "item" in f.options else range(len(outs))
        got = [result] if "item" in f.options else result
        for v, i in zip(got, items):
            if fld in data[i]:
                check_value(ftype, v, data[i][fld], handles, f"{f.pyname}[{i}]")
            else:
                assert v == 0, (f.pyname, i, v)
        return
    if "item" in f.options:        # one of the outputs
        i = int(f.options["item"])
        check_value(outs[i].type, result, data[i], handles, f"{f.pyname}[{i}]")
        return
    if post == "nonzero":          # nvidia-ml-py's (value != 0)
        assert result is (expect_scalar(outs[0].type.base, data) != 0), f.pyname
        return
    if post == "cuint":            # nvidia-ml-py's ctypes.c_uint itself
        assert type(result) is ctypes.c_uint and result.value == expect_scalar("u32", data), f.pyname
        return
    if len(outs) == 1 and f.shape == "list":
        assert type(result) is list and len(result) == 1, f.pyname
        check_value(outs[0].type, result[0], data, handles, f.pyname)
        return
    if post == "processes":
        assert type(result) is list and len(result) == len(data)
        st = SPEC.structs[outs[0].type.base]
        for obj, d in zip(result, data):
            assert type(obj) is pynvml.nvmlFriendlyObject
            exp = {fl.name: expect_scalar(fl.type.base, d.get(fl.name, 0)) for fl in st.fields}
            if exp["usedGpuMemory"] == U64_MAX:
                exp["usedGpuMemory"] = None
            assert vars(obj) == exp and list(vars(obj)) == list(exp)
    elif post == "retired_pages_v2":
        assert result == [{"address": expect_scalar("u64", a), "timestamp": expect_scalar("u64", t)}
                          for a, t in zip(*data)]
        assert all(list(d) == ["address", "timestamp"] for d in result)
    elif len(outs) == 1:
        check_value(outs[0].type, result, data, handles, f.pyname)
    else:
        assert type(result) is (list if f.shape == "list" else tuple), (f.pyname, type(result))
        assert len(result) == len(outs)
        for i, (p, v, d) in enumerate(zip(outs, result, data)):
            check_value(p.type, v, d, handles, f"{f.pyname}[{i}]")


def args_for(f, keys, handles):
    vals = []
    for p, k in zip(keyed_inputs(f), keys):
        vals.append(handles[k] if p.type.kind == "handle" else k)
    return vals


def start(use_profile, profile):
    use_profile(profile)
    pynvml.nvmlInit()
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


# --- a. success path ------------------------------------------------------------------------------

@pytest.mark.simulator
@pytest.mark.parametrize("dev, source", [(0, "profile"), (1, "profile"), (0, "synthesized")])
@pytest.mark.parametrize("name", DEVICE_NAMES)
def test_success_path_returns_the_profile_data(name, dev, source, default_profile, use_profile):
    f = FUNCS[name]
    profile, paths = with_data(default_profile, f, dev, synthesize=source == "synthesized")
    handles = start(use_profile, profile)
    fn = getattr(pynvml, name)
    for keys, data in paths:
        result = fn(handles[dev], *args_for(f, keys, handles))
        check_result(f, result, data, handles)


def test_every_device_function_is_covered():
    """The generic tests above reach every Python function of the spec taking a device,
    except the field values (tested on their own below) and the hand-shaped ones
    (tests/test_family_getters.py)."""
    names = {f.pyname for f in PY_FUNCS if takes_device_first(f) and not f.sim_state}
    assert names - set(DEVICE_NAMES) - ACTIONS - HAND_SHAPED == {"nvmlDeviceGetFieldValues"}
    assert len(DEVICE_NAMES) > 80


@pytest.mark.simulator
def test_default_profile_data_is_used_where_it_has_some(default_profile):
    """Most functions are tested on the default profile's own (H100) data, not synthesized."""
    own = [n for n in DEVICE_NAMES for dev in (0, 1)
           if success_paths(FUNCS[n], default_profile["devices"][dev].get(simkey(FUNCS[n])))]
    assert len(own) > 2 * 70


# --- b. errors from the profile ---------------------------------------------------------------------

ERROR_NAMES = [n for n in DEVICE_NAMES if n != "nvmlDeviceGetIndex"]   # GetIndex reads no profile data


@pytest.mark.simulator
@pytest.mark.parametrize("code", ["NVML_ERROR_NOT_SUPPORTED", "NVML_ERROR_NO_PERMISSION"])
@pytest.mark.parametrize("name", ERROR_NAMES + ["nvmlDeviceGetFieldValues"])
def test_profile_error_raises_its_class(name, code, default_profile, use_profile):
    f = FUNCS[name]
    if name == "nvmlDeviceGetFieldValues":
        profile, keys = default_profile, []
    else:
        profile, paths = with_data(default_profile, f, 0)
        keys = paths[0][0]
    profile = copy.deepcopy(profile)
    profile["devices"][0][simkey(f)] = {"error": code}
    if name == "nvmlDeviceGetMemoryInfo":       # v2 reads its own entry
        profile["devices"][0]["nvmlDeviceGetMemoryInfo_v2"] = {"error": code}
    handles = start(use_profile, profile)
    fn = getattr(pynvml, name)
    args = [[1]] if name == "nvmlDeviceGetFieldValues" else args_for(f, keys, handles)
    with pytest.raises(error_class(code)) as ei:
        fn(handles[0], *args)
    assert type(ei.value) is error_class(code)
    assert ei.value.value == getattr(pynvml, code)
    if name == "nvmlDeviceGetMemoryInfo":
        with pytest.raises(error_class(code)):
            fn(handles[0], pynvml.nvmlMemory_v2)


KEYED_NAMES = [f.pyname for f in DEVICE_FUNCS if keyed_inputs(f)]


@pytest.mark.simulator
@pytest.mark.parametrize("name", KEYED_NAMES)
def test_argument_without_data_is_invalid_argument_and_nested_error_is_raised(name, default_profile, use_profile):
    f = FUNCS[name]
    profile, paths = with_data(default_profile, f, 0)
    keys = paths[0][0]
    # a nested error: the first path's data replaced by one
    profile = copy.deepcopy(profile)
    node = profile["devices"][0][simkey(f)]
    for k in keys[:-1]:
        node = node[str(k)]
    node[str(keys[-1])] = {"error": "NVML_ERROR_NO_PERMISSION"}
    handles = start(use_profile, profile)
    fn = getattr(pynvml, name)
    with pytest.raises(pynvml.NVMLError_NoPermission):
        fn(handles[0], *args_for(f, keys, handles))
    # each keyed argument in turn set to a value the profile has no key for
    for i, p in enumerate(keyed_inputs(f)):
        bad = list(args_for(f, keys, handles))
        if p.type.kind == "handle":
            missing = [j for j in range(len(handles)) if str(j) not in _node_at(profile, f, keys[:i])]
            if not missing:
                continue
            bad[i] = handles[missing[0]]
        else:
            bad[i] = 4000
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            fn(handles[0], *bad)


def _node_at(profile, f, keys):
    node = profile["devices"][0][simkey(f)]
    for k in keys:
        node = node[str(k)]
    return node


# --- c. wrong arguments -----------------------------------------------------------------------------

class struct_c_nvmlUnit_t(ctypes.Structure):   # what a ctypes caller would have for a unit
    pass


def bad_handles():
    return [None, 0, 1, -1, 1.5, "0", b"0", [], object(), struct_c_nvmlUnit_t(),
            ctypes.POINTER(struct_c_nvmlUnit_t)(), ctypes.c_void_p(None), pynvml.c_nvmlMemory_t(),
            pynvml.c_nvmlDevice_t]


BAD_INTS = {
    "u32": [None, 1.5, "1", b"1", -1, 2**32, 2**64, [], object()],
    "u64": [None, 1.5, "1", b"1", -1, 2**64, 2**65, []],
    "i32": [None, 1.5, "1", b"1", 2**31, -(2**31) - 1, 2**64, []],
}
BAD_STRS = [None, 5, 1.5, "a\0b", b"a\0b", [], object()]


def good_args(f, handle):
    out = []
    for name, t in py_params(f):
        if t in ("version", "refarg"):
            out.append(None)
        elif t == "fieldIds":
            out.append([1])
        elif isinstance(t, str):       # a hand wrapper's own argument: None for a caller's ctypes buffer
            out.append(None if name.endswith("Ref") else 0)
        elif t.kind == "struct":
            out.append(getattr(pynvml, SPEC.structs[t.base].pyname)())
        elif t.kind == "handle":
            out.append(handle)
        elif t.kind == "str":
            out.append("GPU-none")
        else:
            out.append(0)
    return out


def _raises_type_or_value(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except (TypeError, ValueError):
        return
    except BaseException as e:  # noqa: BLE001
        raise AssertionError(f"{fn.__name__}{args!r} {kwargs!r} raised {type(e).__name__}: {e}") from e
    raise AssertionError(f"{fn.__name__}{args!r} {kwargs!r} returned")


@pytest.mark.parametrize("name", [f.pyname for f in PY_FUNCS])
def test_wrong_arguments_raise_type_or_value_error(name, nvml):
    f = FUNCS[name]
    fn = getattr(pynvml, name)
    params = py_params(f)
    sig = inspect.signature(fn)
    assert [p for p in sig.parameters] == [n for n, _ in params]
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    good = good_args(f, handle)
    for i, (pname, t) in enumerate(params):
        if t == "version":
            bads = [1.5, "1", b"1", -1, 2**32, [1], object()]
        elif t == "fieldIds":
            bads = [None, 5, "abc", b"abc", 1.5, [None], ["1"], [1.5], [-1], [2**32], [(1, 2, 3)], [(1,)],
                    [(1, "a")], [("a", 1)], [(1, -1)], [(2**32, 0)], [object()]]
        elif isinstance(t, str) and pname.endswith("Ref"):   # a caller's ctypes buffer (None: a list)
            bads = [5, 1.5, "abc", b"abc", [], object(), ctypes.c_uint8()]
        elif isinstance(t, str) and pname == "hostname":   # a str of nvmlDeviceSetHostname_v1's
            bads = [object(), 1.5, 5, [object()], "x" * 64]
        elif isinstance(t, str):       # a hand-written wrapper's own argument (pyargs=)
            bads = [object(), 1.5, "x", [object()]]
        elif t.kind == "handle":
            bads = bad_handles()
        elif t.kind == "struct":
            bads = [None, 0, "x", b"x", pynvml.c_nvmlMemory_t(), object(), type(pynvml.c_nvmlMemory_t())]
        elif t.kind == "str":
            bads = BAD_STRS
        else:
            bads = BAD_INTS[t.base]
        for bad in bads:
            args = list(good)
            args[i] = bad
            _raises_type_or_value(fn, *args)
            if f.pyname != "nvmlErrorString":          # METH_O: takes no keywords at all
                kw = dict(zip([n for n, _ in params], good))
                kw[pname] = bad
                _raises_type_or_value(fn, **kw)
    required = [p for p in sig.parameters.values() if p.default is inspect.Parameter.empty]
    with pytest.raises(TypeError):
        fn(*good, 0)                                    # one too many
    with pytest.raises(TypeError):
        fn(*good, 0, 0, 0)
    if required:
        with pytest.raises(TypeError):
            fn(*good[: len(required) - 1])              # one too few
        with pytest.raises(TypeError):
            fn(*good[:len(required)], **{required[0].name: good[0]})   # the same argument twice
    with pytest.raises(TypeError):
        fn(*good, bogus=1)                              # unknown keyword
    with pytest.raises(TypeError):
        fn(*good[:len(required)], **{"Handle": 0})


def test_handle_kinds_cannot_be_made_and_are_not_interchangeable(nvml):
    for cls in (pynvml.c_nvmlDevice_t, pynvml.c_nvmlUnit_t):
        with pytest.raises(TypeError):
            cls()
        with pytest.raises(TypeError):
            object.__new__(cls)
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceGetName(type(h))


@pytest.mark.simulator
def test_foreign_ctypes_pointer_is_passed_through_and_refused_by_nvml(nvml):
    """A non-NULL ctypes pointer is taken as a handle (ctypes interop); the simulated NVML
    recognizes it as none of its devices.  (On a real GPU this would be a wild pointer.)"""
    unit = struct_c_nvmlUnit_t()
    for f in DEVICE_FUNCS:
        fn = getattr(pynvml, f.pyname)
        args = good_args(f, ctypes.pointer(unit))
        if f.pyname == "nvmlDeviceGetTopologyCommonAncestor":
            args[1] = pynvml.nvmlDeviceGetHandleByIndex(0)
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            fn(*args)


# --- d. system, lookups, field values, versions, topology, pages, samples, GIL -----------------

# (those filling a struct of the caller's: the family tests)
SYSTEM_FUNCS = [f for f in PY_FUNCS if f.pyname.startswith("nvmlSystemGet") and f.pyname not in HAND_SHAPED
                and "fills" not in f.options]


def _system_paths(f, system):
    node = system[simkey(f)]
    if not f.inputs:
        return [([], node)]
    return [([int(k)], v) for k, v in node.items() if not is_error(v)]


@pytest.mark.simulator
@pytest.mark.parametrize("variant", ["data", "NVML_ERROR_NOT_SUPPORTED", "NVML_ERROR_NO_PERMISSION", "missing"])
@pytest.mark.parametrize("name", [f.pyname for f in SYSTEM_FUNCS])
def test_system_functions(name, variant, default_profile, use_profile):
    f = FUNCS[name]
    system = default_profile["system"]
    assert simkey(f) in system, name
    paths = _system_paths(f, system)
    assert paths
    if variant == "missing":
        del system[simkey(f)]
    elif variant != "data":
        system[simkey(f)] = {"error": variant}
    handles = start(use_profile, default_profile)
    fn = getattr(pynvml, name)
    if variant == "data":
        for keys, data in paths:
            check_result(f, fn(*keys), data, handles)
        if name == "nvmlSystemGetProcessName":   # a pid the profile does not know
            with pytest.raises(pynvml.NVMLError_NotFound):
                fn(1)
    else:
        with pytest.raises(pynvml.NVMLError_NotSupported if variant == "missing" else error_class(variant)):
            fn(*(paths[0][0]))


@pytest.mark.simulator
def test_system_functions_need_init():
    assert pynvml._nvml._refcount() == 0
    for f in SYSTEM_FUNCS + [FUNCS["nvmlDeviceGetCount"]]:
        with pytest.raises(pynvml.NVMLError_Uninitialized):
            getattr(pynvml, f.pyname)(*([4242] if f.inputs else []))


@pytest.mark.simulator
@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_device_count_and_handles_by_index(n, default_profile, use_profile):
    prof = copy.deepcopy(default_profile)
    prof["devices"] = [copy.deepcopy(prof["devices"][i % 2]) for i in range(n)]
    start(use_profile, prof)
    assert pynvml.nvmlDeviceGetCount() == n and type(pynvml.nvmlDeviceGetCount()) is int
    for i in range(n):
        h = pynvml.nvmlDeviceGetHandleByIndex(i)
        assert type(h) is pynvml.c_nvmlDevice_t
        assert pynvml.nvmlDeviceGetIndex(h) == i
        assert h == pynvml.nvmlDeviceGetHandleByIndex(i) and hash(h) == hash(pynvml.nvmlDeviceGetHandleByIndex(i))
        assert pynvml.nvmlDeviceGetHandleByIndex(index=i) == h
    for bad in (n, n + 1, 2**32 - 1):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceGetHandleByIndex(bad)


def _ids(default_profile):
    out = []
    for d in default_profile["devices"]:
        pci = d["nvmlDeviceGetPciInfo_v3"]
        out.append({"uuid": d["nvmlDeviceGetUUID"], "serial": d["nvmlDeviceGetSerial"],
                    "busId": pci["busId"], "busIdLegacy": pci["busIdLegacy"]})
    return out


@pytest.mark.simulator
def test_default_profile_devices_have_distinct_identities(default_profile):
    """Two boards never share a UUID, serial number or PCI bus id: a lookup by any of them
    must find one GPU."""
    ids = _ids(default_profile)
    for key in ("uuid", "serial", "busId"):
        values = [i[key] for i in ids]
        assert len(set(values)) == len(values), f"default.json: devices share the {key} {values}"


@pytest.mark.simulator
def test_handles_by_uuid_serial_and_pci_bus_id(default_profile, use_profile):
    prof = copy.deepcopy(default_profile)
    # unique serials, and bus ids with hex letters so that their case matters
    for i, d in enumerate(prof["devices"]):
        d["nvmlDeviceGetSerial"] = "165000000000%d" % (i + 2)
        d["nvmlDeviceGetPciInfo_v3"].update(busId="0000000A:B%d:00.0" % i, busIdLegacy="000A:B%d:00.0" % i, bus=0xB0 + i)
    handles = start(use_profile, prof)
    for i, ids in enumerate(_ids(prof)):
        h = handles[i]
        for fn, values in ((pynvml.nvmlDeviceGetHandleByUUID, [ids["uuid"]]),
                           (pynvml.nvmlDeviceGetHandleBySerial, [ids["serial"]]),
                           (pynvml.nvmlDeviceGetHandleByPciBusId,
                            [ids["busId"], ids["busId"].lower(), ids["busId"].upper(), ids["busIdLegacy"],
                             ids["busIdLegacy"].lower()])):
            for v in values:
                for arg in (v, v.encode()):
                    got = fn(arg)
                    assert type(got) is pynvml.c_nvmlDevice_t and got == h, (fn.__name__, arg)
                    assert pynvml.nvmlDeviceGetIndex(got) == i
            name = list(inspect.signature(fn).parameters)[0]
            assert fn(**{name: values[0]}) == h      # by keyword too (nvidia-ml-py: TypeError)
        assert pynvml.nvmlDeviceGetUUID(h) == ids["uuid"]
        assert pynvml.nvmlDeviceGetPciInfo(h).busId == ids["busId"]
    for fn, v in ((pynvml.nvmlDeviceGetHandleByUUID, "GPU-ffffffff-0000-0000-0000-000000000000"),
                  (pynvml.nvmlDeviceGetHandleBySerial, "0"),
                  (pynvml.nvmlDeviceGetHandleByPciBusId, "0000:ff:1f.7"),
                  (pynvml.nvmlDeviceGetHandleByPciBusId, "")):
        with pytest.raises(pynvml.NVMLError_NotFound):
            fn(v)


@pytest.mark.simulator
def test_field_values(default_profile, use_profile):
    handles = start(use_profile, default_profile)
    for dev, h in enumerate(handles):
        table = default_profile["devices"][dev]["nvmlDeviceGetFieldValues"]
        ids = sorted(int(k) for k in table if k.isdigit())
        assert len(ids) > 100
        got = pynvml.nvmlDeviceGetFieldValues(h, ids)
        assert type(got) is list and len(got) == len(ids)
        members = ["dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal"]
        for fid, v in zip(ids, got):
            assert of_class(v, pynvml.c_nvmlFieldValue_t)
            assert v.fieldId == fid and v.scopeId == 0
            entry = table[str(fid)]
            if is_error(entry):
                assert v.nvmlReturn == getattr(pynvml, entry["error"]), fid
                continue
            assert v.nvmlReturn == pynvml.NVML_SUCCESS and v.valueType == entry["valueType"], fid
            member = getattr(v.value, members[entry["valueType"]])
            assert member == entry["value"] and type(member) is (float if entry["valueType"] == 0 else int), fid
            assert v.timestamp > 1_600_000_000 * 10**6 and v.latencyUsec >= 0
        # (id, scope) pairs, tuples or lists, mixed with ints; an unknown id: NOT_SUPPORTED in its entry
        mixed = pynvml.nvmlDeviceGetFieldValues(h, ((ids[0], 0), [ids[1], 3], 99999, ids[2]))
        assert [(v.fieldId, v.scopeId) for v in mixed] == [(ids[0], 0), (ids[1], 3), (99999, 0), (ids[2], 0)]
        assert mixed[2].nvmlReturn == pynvml.NVML_ERROR_NOT_SUPPORTED
        assert mixed[0].nvmlReturn == got[0].nvmlReturn and mixed[3].nvmlReturn == got[2].nvmlReturn
        assert pynvml.nvmlDeviceGetFieldValues(h, []) == []
        assert pynvml.nvmlDeviceGetFieldValues(handle=h, fieldIds=[ids[0]])[0].fieldId == ids[0]
        for bad in (5, None, "abc", b"abc", (i for i in ids), {1: 2}.keys(), ["1"], [None], [1.5], [-1], [2**32],
                    [(1, 2, 3)], [()], [(1,)], [(1, "a")], [(None, 0)], [(1, -1)]):
            with pytest.raises((TypeError, ValueError)):
                pynvml.nvmlDeviceGetFieldValues(h, bad)


@pytest.mark.simulator
def test_field_values_scope_key(default_profile, use_profile):
    prof = copy.deepcopy(default_profile)
    prof["devices"][0]["nvmlDeviceGetFieldValues"].update({"7:2": {"valueType": 1, "value": 77}, "8": {"valueType": 4, "value": -5}})
    handles = start(use_profile, prof)
    v = pynvml.nvmlDeviceGetFieldValues(handles[0], [(7, 2), (7, 1), (8, 9)])
    assert (v[0].nvmlReturn, v[0].value.uiVal) == (0, 77)
    assert v[1].nvmlReturn == pynvml.NVML_ERROR_NOT_SUPPORTED     # the profile has "7" as an error
    assert (v[2].nvmlReturn, v[2].valueType, v[2].value.sllVal) == (0, 4, -5)


@pytest.mark.simulator
def test_memory_info_versions(default_profile, use_profile):
    handles = start(use_profile, default_profile)
    for dev, h in enumerate(handles):
        data = default_profile["devices"][dev]["nvmlDeviceGetMemoryInfo"]
        for v1 in (pynvml.nvmlDeviceGetMemoryInfo(h), pynvml.nvmlDeviceGetMemoryInfo(h, None),
                   pynvml.nvmlDeviceGetMemoryInfo(h, 0), pynvml.nvmlDeviceGetMemoryInfo(h, version=None),
                   pynvml.nvmlDeviceGetMemoryInfo(h, False)):
            assert of_class(v1, pynvml.c_nvmlMemory_t)
            assert {k: getattr(v1, k) for k in ("total", "free", "used")} == data
        v2 = pynvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2)
        assert of_class(v2, pynvml.c_nvmlMemory_v2_t)
        assert [f[0] for f in v2._fields_] == ["version", "total", "reserved", "free", "used"]
        assert v2.version == pynvml.nvmlMemory_v2 == 0x02000028
        data2 = default_profile["devices"][dev]["nvmlDeviceGetMemoryInfo_v2"]
        assert {k: getattr(v2, k) for k in ("total", "reserved", "free", "used")} == data2
        # NVML's v2 counts what it reserves apart: v1's used is v2's used plus reserved
        assert data2["total"] == data["total"] and data2["used"] + data2["reserved"] == data["used"]
        for wrong in (1, pynvml.nvmlMemory_v2 + 1, 0x01000028, True):
            with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
                pynvml.nvmlDeviceGetMemoryInfo(h, wrong)
        for bad in ("x", 1.5, -1, 2**32):
            with pytest.raises((TypeError, ValueError)):
                pynvml.nvmlDeviceGetMemoryInfo(h, bad)


@pytest.mark.simulator
def test_topology(default_profile, use_profile):
    prof = copy.deepcopy(default_profile)
    prof["devices"].append(copy.deepcopy(prof["devices"][1]))
    d0 = prof["devices"][0]
    d0["nvmlDeviceGetTopologyNearestGpus"]["40"] = [2]
    d0["nvmlDeviceGetTopologyNearestGpus"]["50"] = [1, 2]
    d0["nvmlDeviceGetTopologyCommonAncestor"] = {"1": 50, "2": 40}
    h = start(use_profile, prof)
    for lvl, node in d0["nvmlDeviceGetTopologyNearestGpus"].items():
        got = pynvml.nvmlDeviceGetTopologyNearestGpus(h[0], int(lvl))
        assert type(got) is list and got == [h[i] for i in node]
        assert [pynvml.nvmlDeviceGetIndex(x) for x in got] == node
    assert pynvml.nvmlDeviceGetTopologyNearestGpus(h[1], pynvml.NVML_TOPOLOGY_SYSTEM) == [h[0]]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetTopologyNearestGpus(h[0], 1)
    assert pynvml.nvmlDeviceGetTopologyCommonAncestor(h[0], h[1]) == 50
    assert pynvml.nvmlDeviceGetTopologyCommonAncestor(h[0], h[2]) == 40
    assert pynvml.nvmlDeviceGetTopologyCommonAncestor(device1=h[1], device2=h[0]) == 50
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetTopologyCommonAncestor(h[0], h[0])
    for bad in (None, 0, 1, "x", pynvml.c_nvmlMemory_t()):
        with pytest.raises((TypeError, ValueError)):
            pynvml.nvmlDeviceGetTopologyCommonAncestor(h[0], bad)


def _pages(n):
    return [[str(0x1000 * (i + 1) + (1 << 60)) for i in range(n)], [1_700_000_000 + i for i in range(n)]]


@pytest.mark.simulator
@pytest.mark.parametrize("n", [0, 1, 3, 200])
def test_retired_pages_v2_shape(n, default_profile, use_profile):
    prof = copy.deepcopy(default_profile)
    prof["devices"][0]["nvmlDeviceGetRetiredPages_v2"] = {"0": _pages(n), "1": _pages(1)}
    h = start(use_profile, prof)
    got = pynvml.nvmlDeviceGetRetiredPages_v2(h[0], 0)
    addrs, times = _pages(n)
    assert got == [{"address": int(a), "timestamp": t} for a, t in zip(addrs, times)]
    assert all(type(d) is dict and list(d) == ["address", "timestamp"] for d in got)
    assert all(type(d["address"]) is int and type(d["timestamp"]) is int for d in got)
    assert len(pynvml.nvmlDeviceGetRetiredPages_v2(h[0], sourceFilter=1)) == 1
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetRetiredPages_v2(h[0], 2)


@pytest.mark.simulator
def test_retired_pages_v1_and_v2_each_read_their_profile_entry(default_profile, use_profile):
    """v1 reads a list of addresses, v2 [addresses, timestamps]: each its own entry."""
    prof = copy.deepcopy(default_profile)
    prof["devices"][0]["nvmlDeviceGetRetiredPages_v2"] = {"0": _pages(2)}
    prof["devices"][0]["nvmlDeviceGetRetiredPages"] = {"0": _pages(2)[0]}
    h = start(use_profile, prof)
    v2 = pynvml.nvmlDeviceGetRetiredPages_v2(h[0], 0)
    v1 = pynvml.nvmlDeviceGetRetiredPages(h[0], 0)
    assert v1 == [d["address"] for d in v2]


def _samples(n, t0=1_700_000_000_000_000):
    return [{"pid": 1000 + i, "timeStamp": t0 + i, "smUtil": i % 101, "memUtil": (2 * i) % 101,
             "encUtil": 0, "decUtil": 1} for i in range(n)]


@pytest.mark.simulator
def test_process_utilization(default_profile, use_profile):
    prof = copy.deepcopy(default_profile)
    prof["devices"][0]["nvmlDeviceGetProcessUtilization"] = {"0": _samples(3), "5": [], "7": _samples(300)}
    h = start(use_profile, prof)
    st = SPEC.structs["nvmlProcessUtilizationSample_t"]
    for ts, node in prof["devices"][0]["nvmlDeviceGetProcessUtilization"].items():
        got = pynvml.nvmlDeviceGetProcessUtilization(h[0], int(ts))
        assert type(got) is list and len(got) == len(node)      # [] where there are none
        for s, d in zip(got, node):
            assert of_class(s, pynvml.c_nvmlProcessUtilizationSample_t)
            assert {fl.name: getattr(s, fl.name) for fl in st.fields} == d
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetProcessUtilization(h[0], 1)
    with pytest.raises(pynvml.NVMLError_NotFound):             # the default profile's H100 answer
        pynvml.nvmlDeviceGetProcessUtilization(h[1], 0)
    assert len(pynvml.nvmlDeviceGetProcessUtilization(handle=h[0], timeStamp=0)) == 3


@pytest.mark.simulator
def test_running_processes_not_available_memory_is_none(default_profile, use_profile):
    prof = copy.deepcopy(default_profile)
    procs = [{"pid": 1, "usedGpuMemory": str(U64_MAX), "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF},
             {"pid": 2, "usedGpuMemory": str(U64_MAX - 1), "gpuInstanceId": 1, "computeInstanceId": 2}]
    for kind in ("Compute", "Graphics", "MPSCompute"):
        prof["devices"][0][f"nvmlDeviceGet{kind}RunningProcesses_v3"] = procs
    h = start(use_profile, prof)
    for kind in ("Compute", "Graphics", "MPSCompute"):
        for suffix in ("", "_v2", "_v3"):
            got = getattr(pynvml, f"nvmlDeviceGet{kind}RunningProcesses{suffix}")(h[0])
            assert [vars(p) for p in got] == [
                {"pid": 1, "usedGpuMemory": None, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF},
                {"pid": 2, "usedGpuMemory": U64_MAX - 1, "gpuInstanceId": 1, "computeInstanceId": 2}]
            assert str(got[0]) == str(vars(got[0]))


@pytest.mark.simulator
def test_calls_release_the_gil(nvml):
    """A call from a thread completes while the main thread runs Python code (weak check:
    both make progress together)."""
    h = pynvml.nvmlDeviceGetHandleByIndex(1)
    done = threading.Event()
    results = []

    def worker():
        for _ in range(2000):
            results.append(pynvml.nvmlDeviceGetName(h))
            pynvml.nvmlDeviceGetFieldValues(h, [1, 2, 3])
        done.set()

    t = threading.Thread(target=worker)
    spins = 0
    t.start()
    deadline = time.monotonic() + 30
    while not done.is_set() and time.monotonic() < deadline:
        spins += 1
    t.join(5)
    assert done.is_set() and spins > 0
    assert set(results) == {pynvml.nvmlDeviceGetName(h)} and len(results) == 2000


# --- e. parameter names as nvidia-ml-py's ------------------------------------------------------------

def test_parameter_names_match_nvidia_ml_py():
    path = REFERENCE / "nvidia-ml-py-api.json"
    ref = json.loads(path.read_text())["functions"]
    compared, mismatched = 0, []
    for name in sorted(n for n in dir(pynvml) if n.startswith("nvml")):
        fn = getattr(pynvml, name)
        if name not in ref or isinstance(fn, type) or not callable(fn):
            continue
        ref_sig = ref[name]["signature"]
        try:
            ours = str(inspect.signature(fn))
        except (TypeError, ValueError):
            mismatched.append((name, "<no signature>", ref_sig))
            continue
        compared += 1
        names = lambda s: [p.split("=")[0].strip().lstrip("*") for p in s.strip("()").split(",") if p.strip()]  # noqa: E731
        if names(ours) != names(ref_sig):
            mismatched.append((name, ours, ref_sig))
    assert compared > 90
    assert mismatched == []
