#!/usr/bin/env python3
"""What the spec lacks or states differently, given an nvidia-ml-py release and an nvml.h:
the first step of adding a new NVML release (README: "Adding a new NVML release").

    python tools/nvml_upgrade_diff.py --nvidia-ml-py 13.615.71 [--nvml-dev 13.4.92 | --nvml-h PATH]
                                      [--emit-spec] [--json OUT]

--nvidia-ml-py takes a version (installed with pip into .ref/nvidia-ml-py-VERSION/, as
`make ref` does) or the path of a pynvml.py.  Its module is imported (it loads no NVML
then) and read by introspection: its functions (and the C entry points each resolves
through _nvmlGetFunctionPointer), its ctypes struct and union classes with their fields,
its constants with their values.  These are compared with spec/*.nvml (codegen/spec.py):

  functions   nvidia-ml-py's functions the spec has no Python function for; C entry points
              they call that no spec function declares
  classes     classes the spec has no struct (or alias) for; for those it has, fields that
              differ in name, order or ctypes type
  constants   constants the spec lacks, and those whose value differs

With an nvml.h (--nvml-h, or --nvml-dev VERSION for PyPI's nvidia-nvml-dev, downloaded
into .ref/ as tools/abi_check.py does; never into tracked files) also:

  nvml.h      the spec's constants whose value differs from the header's; the spec's structs
              whose size or field offsets differ (our layouts: the installed pynvml's, so
              build first); for each class the spec lacks, whether nvml.h declares it and
              the size there against nvidia-ml-py's ctypes size; the entry points nvidia-ml-py
              calls that nvml.h does not declare

--emit-spec prints spec lines for what is missing (constants under the name of the nvml.h
enum they belong to, structs with their fields from the ctypes classes): a start to edit,
not a finished spec (array lengths come as numbers, the Python functions need their
options chosen by hand).  Exit status 0 when nothing is missing or different, 1 otherwise.
"""
from __future__ import annotations

import argparse
import ctypes
import importlib.util
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "codegen"))
sys.path.insert(0, str(ROOT / "tools"))

import spec as spec_mod  # noqa: E402

CTYPES_TO_SPEC = {"c_uint": "u32", "c_int": "i32", "c_ulonglong": "u64", "c_ulong": "u64", "c_longlong": "i64",
                  "c_long": "i64", "c_ubyte": "u8", "c_uint8": "u8", "c_byte": "u8", "c_ushort": "u16",
                  "c_short": "i32", "c_double": "f64", "c_uint32": "u32", "c_uint64": "u64", "c_int32": "i32",
                  "c_char": "char", "c_char_p": "char*", "c_void_p": "void*", "c_bool": "u8"}


def load_nvidia_ml_py(what: str):
    """nvidia-ml-py's module from a pynvml.py path, or a version (pip-installed into .ref/)."""
    path = Path(what)
    if not path.exists():
        dest = ROOT / ".ref" / f"nvidia-ml-py-{what}"
        path = dest / "pynvml.py"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(dest),
                            f"nvidia-ml-py=={what}"], check=True)
    elif path.is_dir():
        path = path / "pynvml.py"
    spec = importlib.util.spec_from_file_location("nvidia_ml_py_upgrade", str(path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["nvidia_ml_py_upgrade"] = mod
    spec.loader.exec_module(mod)
    return mod, path


def module_names(mod):
    """{functions: {name: [C entry points]}, classes: {name: class}, constants: {name: value}}."""
    functions, classes, constants = {}, {}, {}
    for name, v in vars(mod).items():
        if name.startswith("_") or getattr(ctypes, name, object()) is v:   # not ctypes' own names
            continue
        if inspect.isfunction(v) and v.__module__ == mod.__name__:
            try:
                src = inspect.getsource(v)
            except (OSError, TypeError):
                src = ""
            functions[name] = sorted(set(re.findall(r'_nvmlGetFunctionPointer\(\s*"(\w+)"', src)))
        elif isinstance(v, type) and issubclass(v, (ctypes.Structure, ctypes.Union)) and hasattr(v, "_fields_"):
            if not name.startswith("struct_c_nvml"):      # the opaque structs handles point to
                classes[name] = v
        elif isinstance(v, (int, str)) and not isinstance(v, bool) and not inspect.ismodule(v):
            constants[name] = v
    return {"functions": functions, "classes": classes, "constants": constants}


def ctypes_type_name(t) -> str:
    if hasattr(t, "_length_"):
        return f"{ctypes_type_name(t._type_)}[{t._length_}]"
    if hasattr(t, "_type_") and isinstance(t._type_, type) and t.__name__.startswith("LP_"):
        return ctypes_type_name(t._type_) + "*"
    return t.__name__


def spec_type_of(t, classes_by_type) -> str:
    """A spec TYPE for a ctypes field type (a proposal)."""
    if hasattr(t, "_length_"):
        inner = spec_type_of(t._type_, classes_by_type)
        return f"{inner}[{t._length_}]"
    if t.__name__.startswith("LP_"):
        return spec_type_of(t._type_, classes_by_type) + "*"
    if t in classes_by_type:
        return classes_by_type[t]
    return CTYPES_TO_SPEC.get(t.__name__, t.__name__)


def spec_field_types(spec, st) -> list[tuple[str, str]]:
    """(name, ctypes type name) of a spec struct's fields, as our class's _fields_ spells them."""
    out = []
    for f in st.fields:
        out.append((f.name, _spec_ctypes(spec, f.type)))
    return out


def _spec_ctypes(spec, t) -> str:
    base = {"u8": "c_ubyte", "u16": "c_ushort", "u32": "c_uint", "i32": "c_int", "u64": "c_ulong",
            "i64": "c_long", "ulong": "c_ulong", "f64": "c_double"}.get(t.base)
    if t.kind == "struct":
        base = spec.structs[t.base].pyname
    elif t.kind in ("char", "char1"):
        base = "c_char"
    elif t.kind == "ptr":
        if t.pointee.kind in ("char1", "void"):
            return "c_char_p" if t.pointee.kind == "char1" else "c_void_p"
        return f"{_spec_ctypes(spec, t.pointee)}*"
    elif t.kind in ("handle", "opaque"):
        base = t.base
    if t.count is not None:
        n = t.count if str(t.count).isdigit() else spec.const_value(t.count)
        return f"{base}[{n}]"
    return base or t.base


def compare_with_spec(spec, api):
    """{kind: [lines]} of what the spec lacks or states otherwise."""
    py_functions = {f.pyname for f in spec.functions if f.python}
    csyms = {f.csym for f in spec.functions} | set(spec_mod.EXTRA_SYMBOLS)
    classes = {}
    for st in spec.structs.values():
        classes[st.pyname] = st
        for a in st.aliases:
            classes[a] = st
    constants = {c.name: c.value for c in spec.constants}
    out = {"functions": [], "python layer": [], "entry points": [], "classes": [], "fields": [], "constants": [], "values": []}
    try:
        import pynvml
        in_python = set(dir(pynvml))
    except ImportError:
        in_python = set()
    for name, syms in sorted(api["functions"].items()):
        if name.startswith("nvml") and name not in py_functions:
            # hand-written Python of src/pynvml, or a function the spec should get
            out["python layer" if name in in_python else "functions"].append(name)
        out["entry points"] += [f"{s} (called by {name})" for s in syms if s not in csyms]
    for name, cls in sorted(api["classes"].items()):
        st = classes.get(name)
        if st is None:
            out["classes"].append(name)
            continue
        theirs = [(f[0], ctypes_type_name(f[1])) for f in cls._fields_]
        ours = spec_field_types(spec, st)
        if [n for n, _ in theirs] != [n for n, _ in ours]:
            out["fields"].append(f"{name}: fields {[n for n, _ in ours]}, nvidia-ml-py {[n for n, _ in theirs]}")
            continue
        for (n, a), (_, b) in zip(ours, theirs):
            if _norm(a) != _norm(b):
                out["fields"].append(f"{name}.{n}: {a}, nvidia-ml-py {b}")
    for name, value in sorted(api["constants"].items()):
        if name not in constants:
            out["constants"].append(name)
        elif constants[name] != value:
            out["values"].append(f"{name}: spec {constants[name]!r}, nvidia-ml-py {value!r}")
    return out


def _norm(t: str) -> str:
    # ctypes aliases on x86-64 Linux: c_ulonglong is c_ulong, c_uint8 c_ubyte, and so on;
    # a pointer to a scalar and a handle are told apart by name only
    for a, b in (("c_ulonglong", "c_ulong"), ("c_longlong", "c_long"), ("c_uint8", "c_ubyte"),
                 ("c_uint32", "c_uint"), ("c_uint64", "c_ulong"), ("c_int32", "c_int"), ("LP_", "")):
        t = t.replace(a, b)
    # a handle field: ours names the handle kind, nvidia-ml-py a pointer to its opaque struct
    m = re.match(r"struct_c_nvml(\w+)_t\*$", t)
    return m.group(1) if m else t


def compare_with_header(spec, api, nvml_h):
    import abi_check

    header = abi_check.read_header(nvml_h)
    layouts, values = abi_check.header_facts(spec, nvml_h, header)
    known = abi_check.known_differences(header)
    out = {"nvml.h values": [], "nvml.h layouts": [], "nvml.h classes": [], "nvml.h entry points": []}
    for c in spec.constants:
        if c.name in values and isinstance(c.value, int) and \
                (c.value & (2**64 - 1)) != (values[c.name] & (2**64 - 1)):
            note = " (a known difference: nvidia-ml-py's value)" if known.get(c.name) == (c.value, values[c.name]) else ""
            out["nvml.h values"].append(f"{c.name}: spec {c.value}, nvml.h {values[c.name]}{note}")
    try:
        import pynvml
        ours = pynvml._nvml._struct_layouts()
    except Exception:  # noqa: BLE001 - not built: layouts are not compared
        ours = {}
    for cname, (size, align, fields) in layouts.items():
        if cname not in ours:
            out["nvml.h layouts"].append(f"{cname}: in the spec, not in the installed pynvml (build first)")
            continue
        osize, oalign, ofields = ours[cname]
        if (size, align) != (osize, oalign):
            out["nvml.h layouts"].append(f"{cname}: size/align {osize}/{oalign}, nvml.h {size}/{align}")
        off = dict(ofields)
        out["nvml.h layouts"] += [f"{cname}.{f}: offset {off.get(f)}, nvml.h {o}" for f, o in fields if off.get(f) != o]
    spec_classes = {st.pyname for st in spec.structs.values()} | {a for st in spec.structs.values() for a in st.aliases}
    for name, cls in sorted(api["classes"].items()):
        if name in spec_classes:
            continue
        cname = name[2:] if name.startswith("c_") else name
        if cname in header.typedefs:
            size = _header_sizeof(nvml_h, cname)
            tag = "same size" if size == ctypes.sizeof(cls) else f"nvidia-ml-py's class is {ctypes.sizeof(cls)}: nonabi"
            out["nvml.h classes"].append(f"{name}: nvml.h's {cname} is {size} bytes ({tag})")
        else:
            out["nvml.h classes"].append(f"{name}: nvml.h has no {cname} (nested, or nvidia-ml-py's own: nonabi)")
    for name, syms in sorted(api["functions"].items()):
        out["nvml.h entry points"] += [f"{s} (called by {name})" for s in syms if s not in header.functions]
    return out, header


def _header_sizeof(nvml_h, cname):
    import tempfile

    import abi_check
    src = (f'#include <stdio.h>\n#include "{Path(nvml_h).resolve()}"\n'
           f'int main(void) {{ printf("%zu\\n", sizeof({cname})); return 0; }}\n')
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "s.c"
        c.write_text(src)
        subprocess.run([abi_check._cc(), "-w", "-o", str(Path(tmp) / "s"), str(c)], check=True)
        return int(subprocess.run([str(Path(tmp) / "s")], capture_output=True, text=True, check=True).stdout)


def emit_spec(api, missing, header=None):
    """Spec lines for the missing constants and classes (a proposal to edit)."""
    lines = []
    enum_of = {}
    if header is not None:
        for ename, members in header.enums.items():
            for m in members:
                enum_of[m] = ename
    missing_constants = [n for n in api["constants"] if n in set(missing["constants"])]   # module order
    width = max((len(n) for n in missing_constants), default=0)
    lines.append("# --- spec/constants.nvml ---")
    group = None
    for n in missing_constants:
        if enum_of.get(n, "") != group:
            group = enum_of.get(n, "")
            lines.append("")
            lines.append(f"# {group}" if group else "# (macros)")
        v = api["constants"][n]
        lines.append(f"{n:{width}s} = " + (f'"{v}"' if isinstance(v, str) else hex(v) if v > 0xFFFFFF else str(v)))
    lines.append("")
    lines.append("# --- spec/structs.nvml ---")
    classes_by_type = {cls: name[2:] if name.startswith("c_") else name for name, cls in api["classes"].items()}
    for name in missing["classes"]:
        cls = api["classes"][name]
        cname = classes_by_type[cls]
        nonabi = header is not None and cname not in header.typedefs
        kind = "union" if issubclass(cls, ctypes.Union) else "struct"
        lines.append(f"{kind} {'pn_' if nonabi else ''}{cname} : {name}{' nonabi' if nonabi else ''}")
        for f in cls._fields_:
            lines.append(f"    {spec_type_of(f[1], classes_by_type)}{':' + str(f[2]) if len(f) > 2 else ''} {f[0]}")
        lines.append("")
    lines.append("# --- functions (choose the options by hand) ---")
    for name in missing["functions"]:
        fn = api["function_objects"][name]
        lines.append(f"# {name}{inspect.signature(fn)} -> {', '.join(api['functions'][name])}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nvidia-ml-py", required=True, metavar="VERSION|PATH")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--nvml-h", help="an nvml.h")
    g.add_argument("--nvml-dev", metavar="VERSION", help="PyPI's nvidia-nvml-dev of that version (downloaded)")
    ap.add_argument("--emit-spec", action="store_true", help="print spec lines for what is missing")
    ap.add_argument("--json", help="write the findings as JSON")
    args = ap.parse_args(argv)
    mod, path = load_nvidia_ml_py(args.nvidia_ml_py)
    api = module_names(mod)
    api["function_objects"] = {n: getattr(mod, n) for n in api["functions"]}
    spec = spec_mod.load()
    found = compare_with_spec(spec, api)
    header = None
    nvml_h = args.nvml_h
    if args.nvml_dev:
        import abi_check
        nvml_h = str(abi_check.nvml_dev_header(args.nvml_dev))
    if nvml_h:
        more, header = compare_with_header(spec, api, nvml_h)
        found.update(more)
    print(f"nvidia-ml-py: {path} ({len(api['functions'])} functions, {len(api['classes'])} classes, "
          f"{len(api['constants'])} constants)" + (f"; nvml.h: {nvml_h}" if nvml_h else ""))
    titles = {"functions": "functions the spec lacks", "python layer": "functions src/pynvml has (not the spec)",
              "entry points": "C entry points no spec function declares",
              "classes": "classes the spec lacks", "fields": "fields that differ", "constants": "constants the spec lacks",
              "values": "constants whose value differs", "nvml.h values": "spec constants whose value nvml.h states otherwise",
              "nvml.h layouts": "spec structs laid out otherwise in nvml.h",
              "nvml.h classes": "the missing classes in nvml.h",
              "nvml.h entry points": "entry points nvidia-ml-py calls that nvml.h does not declare"}
    problems = 0
    for kind, items in found.items():
        print(f"{titles[kind]}: {len(items)}")
        for it in items:
            print(f"  {it}")
        if kind not in ("python layer", "nvml.h classes", "nvml.h entry points"):
            problems += len([i for i in items if "(a known difference" not in i])
    if args.emit_spec:
        print(emit_spec(api, found, header))
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=1))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
