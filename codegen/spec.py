"""Reader for the NVML API spec in ``spec/*.nvml``.

The spec is written in a small line-oriented language of our own, described at the
top of each spec file.  This module turns it into plain Python objects that the
emitters (``emit_*.py``) walk; it knows nothing about C or Python output.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"

# Scalar types of the spec and their C spelling.
SCALARS = {
    "u8": "unsigned char",
    "u16": "unsigned short",
    "u32": "unsigned int",
    "i32": "int",
    "u64": "unsigned long long",
    "i64": "long long",
    "ulong": "unsigned long",
    "f64": "double",
}

# Opaque handle kinds: spec name -> (C typedef, Python class name).  A handle field of
# a struct reads as the handle object (None when NULL).
HANDLES = {
    "Device": ("nvmlDevice_t", "c_nvmlDevice_t"),
    "Unit": ("nvmlUnit_t", "c_nvmlUnit_t"),
    "EventSet": ("nvmlEventSet_t", "c_nvmlEventSet_t"),
    "GpuInstance": ("nvmlGpuInstance_t", "c_nvmlGpuInstance_t"),
    "ComputeInstance": ("nvmlComputeInstance_t", "c_nvmlComputeInstance_t"),
    "GpmSample": ("nvmlGpmSample_t", "c_nvmlGpmSample_t"),
    "SystemEventSet": ("nvmlSystemEventSet_t", "c_nvmlSystemEventSet_t"),
}

# Handles that the extension has no Python class for yet: spec name -> (C typedef, the
# ctypes struct nvidia-ml-py points to).  A field of such a type is an opaque pointer.
OPAQUE_HANDLES: dict[str, tuple[str, str]] = {}

# The ctypes type names nvidia-ml-py's classes use for our scalars (x86-64 Linux, where
# c_ulonglong is c_ulong), as `_fields_` spells them.
CTYPES_NAMES = {"u8": "c_ubyte", "u16": "c_ushort", "u32": "c_uint", "i32": "c_int", "u64": "c_ulong",
                "i64": "c_long", "ulong": "c_ulong", "f64": "c_double"}


class SpecError(Exception):
    pass


@dataclass
class Type:
    """A spec type: scalar, handle, struct, char buffer, fixed or counted array, and in
    structs also a single char, a pointer or an opaque handle."""

    base: str                # 'u32', 'Device', 'nvmlMemory_t', 'char', 'str'
    kind: str                # scalar | handle | struct | char | str | char1 | ptr | opaque
    count: str | None = None  # fixed array length (number or macro name); None if not an array
    counted: bool = False     # "T[]": length comes from an NVML count parameter
    pointee: "Type | None" = None   # kind ptr: what it points to (char: a C string)
    bits: int | None = None   # a ctypes bit field of nvidia-ml-py's over the whole C member

    @property
    def is_array(self) -> bool:
        return self.count is not None or self.counted


@dataclass
class Field:
    name: str                    # the Python name
    type: Type
    fmt: str | None = None
    cname: str = ""              # the C member name (nvml.h's), when it differs

    def __post_init__(self):
        self.cname = self.cname or self.name


@dataclass
class Struct:
    cname: str           # C typedef name, e.g. nvmlMemory_t
    pyname: str          # Python class name, e.g. c_nvmlMemory_t
    union: bool
    fields: list[Field]
    fmt_default: str | None = None
    version: str | None = None   # macro holding the struct's version word
    printable: bool = True       # str() like nvidia-ml-py's _PrintableStructure
    aliases: list[str] = field(default_factory=list)   # other Python names of the class
    nonabi: bool = False         # no such struct in nvml.h: the layout is nvidia-ml-py's
    c_order: list[str] | None = None   # Python field names in C order, where it differs
    defaults: dict[str, str] = field(default_factory=dict)  # field -> value set at construction
    attr: tuple[str, str] | None = None   # (name, value): a Python attribute that is no field
    line: int = 0

    def c_fields(self) -> list[Field]:
        """The fields in the order of the C declaration."""
        if not self.c_order:
            return self.fields
        by_name = {f.name: f for f in self.fields}
        return [by_name[n] for n in self.c_order]


@dataclass
class Param:
    name: str
    type: Type
    role: str                    # in | out | inout | fixed (C only: its value is the default) |
                                 # ref (an input NVML takes by pointer)
    default: str | None = None

    @property
    def is_input(self) -> bool:
        """A Python argument (count parameters are handled by the wrapper)."""
        return self.role in ("in", "inout", "ref")


@dataclass
class Function:
    pyname: str
    csym: str
    params: list[Param]
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def inputs(self) -> list[Param]:
        return [p for p in self.params if p.is_input]

    @property
    def outputs(self) -> list[Param]:
        return [p for p in self.params if p.role in ("out", "inout")]

    @property
    def shape(self) -> str:
        return self.options.get("returns", "tuple")

    @property
    def hand_ext(self) -> bool:
        return "hand" in self.options

    @property
    def python(self) -> bool:
        """Whether the function has a Python wrapper (generated or hand-written)."""
        return "cdecl" not in self.options

    @property
    def sim_setter(self) -> bool:
        """The simulator's entry point is a generated setter (sets= clears= copies= checks=
        setter): it changes the profile data that getters read (spec/functions_setters.nvml)."""
        return any(k in self.options for k in ("sets", "clears", "copies", "checks", "setter"))

    @property
    def hand_sim(self) -> bool:
        return "simhand" in self.options or "simstate" in self.options

    @property
    def sim_state(self) -> bool:
        """The simulator answers from state of its own (e.g. MIG instances), not from the
        profile's data under the function's key: the generic profile-driven tests skip it."""
        return "simstate" in self.options


@dataclass
class Constant:
    name: str
    value: int | str


@dataclass
class Spec:
    constants: list[Constant]
    structs: dict[str, Struct]
    functions: list[Function]
    typedefs: dict[str, str] = field(default_factory=dict)  # C alias -> a struct's C name
    # entry point -> (the first CUDA toolkit whose nvml.h has it, the NVML_ERROR_* codes
    # NVIDIA documents for it): spec/entry_points.nvml, for the docstrings
    entry_points: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def const_value(self, name: str) -> int:
        for c in self.constants:
            if c.name == name:
                return c.value  # type: ignore[return-value]
        raise SpecError(f"unknown constant {name}")

    @property
    def c_symbols(self) -> list[str]:
        """Every NVML entry point the bindings resolve, once each, sorted."""
        return sorted({f.csym for f in self.functions} | set(EXTRA_SYMBOLS))


# Entry points called by hand-written code rather than by a spec function.
EXTRA_SYMBOLS = ["nvmlInitWithFlags", "nvmlInit_v2", "nvmlShutdown", "nvmlErrorString"]

_TYPE_RE = re.compile(r"^(?P<base>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<bits>[0-9]+))?(?P<ptr>\*)?"
                      r"(?:\[(?P<count>[A-Za-z0-9_]*)\])?$")


def parse_type(text: str, structs: dict[str, Struct] | None, where: str, in_struct: bool = False,
               typedefs: dict[str, str] | None = None) -> Type:
    m = _TYPE_RE.match(text)
    if not m:
        raise SpecError(f"{where}: bad type {text!r}")
    base, count = m.group("base"), m.group("count")
    if typedefs and base in typedefs:
        base = typedefs[base]
    if m.group("bits"):
        if not in_struct or base not in ("u8", "u16", "u32", "u64") or m.group("ptr") or count is not None:
            raise SpecError(f"{where}: bit fields are single unsigned struct fields")
        return Type(base, "scalar", bits=int(m.group("bits")))
    if m.group("ptr"):
        if not in_struct or count is not None:
            raise SpecError(f"{where}: pointers are struct fields only, and not in arrays")
        if base == "char":
            return Type("char", "ptr", pointee=Type("char", "char1"))
        if base == "void":   # nvml.h's void * (nvidia-ml-py's c_void_p): an address
            return Type("void", "ptr", pointee=Type("void", "void"))
        pointee = parse_type(base, structs, where, in_struct, typedefs)
        if pointee.kind not in ("scalar", "struct"):
            raise SpecError(f"{where}: a pointer to {base} is not supported")
        return Type(base, "ptr", pointee=pointee)
    if base in SCALARS:
        kind = "scalar"
    elif base in HANDLES:
        kind = "handle"
    elif base in OPAQUE_HANDLES and in_struct:
        kind = "opaque"
    elif base == "char":
        kind = "char" if count or not in_struct else "char1"
    elif base == "str":
        kind = "str"
    elif structs is None or base in structs:
        kind = "struct"
    else:
        raise SpecError(f"{where}: unknown type {base!r}")
    if kind == "char" and not count:
        raise SpecError(f"{where}: char needs a size")
    if kind in ("handle", "opaque", "char1") and count is not None and in_struct:
        raise SpecError(f"{where}: no arrays of {base} in structs")
    if count is None:
        return Type(base, kind)
    if count == "":
        return Type(base, kind, counted=True)
    return Type(base, kind, count=count)


def _lines(path: Path):
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.strip():
            yield no, line


def parse_constants(path: Path) -> list[Constant]:
    out = []
    for no, line in _lines(path):
        name, _, value = (s.strip() for s in line.partition("="))
        if not value:
            raise SpecError(f"{path.name}:{no}: expected NAME = VALUE")
        if value.startswith('"'):
            out.append(Constant(name, value[1:-1]))
        else:
            out.append(Constant(name, int(value, 0)))
    return out


_STRUCT_RE = re.compile(r"^(struct|union)\s+(\w+)\s*:\s*(\w+)(.*)$")
_STR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_STRUCT_FLAGS = {"plain", "nonabi"}


def parse_structs(path: Path) -> tuple[dict[str, Struct], dict[str, str]]:
    """The structs (by C name) and the C typedef aliases of structs.nvml."""
    structs: dict[str, Struct] = {}
    typedefs: dict[str, str] = {}
    order: list[tuple[Struct, list[tuple[int, str, str, str | None]]]] = []
    cur = None
    for no, line in _lines(path):
        where = f"{path.name}:{no}"
        if line.startswith("alias "):
            alias, _, target = (w.strip() for w in line[len("alias "):].partition("="))
            for st in structs.values():
                if st.pyname == target:
                    st.aliases.append(alias)
                    break
            else:
                raise SpecError(f"{where}: alias of unknown class {target}")
            cur = None
            continue
        if line.startswith("typedef "):
            alias, _, target = (w.strip() for w in line[len("typedef "):].partition("="))
            if target not in structs or alias in structs or alias in typedefs:
                raise SpecError(f"{where}: typedef {alias} of unknown struct {target} (or declared twice)")
            typedefs[alias] = target
            cur = None
            continue
        if not line[0].isspace():
            m = _STRUCT_RE.match(line)
            if not m:
                raise SpecError(f"{where}: expected 'struct CNAME : PYNAME'")
            kind, cname, pyname, rest = m.groups()
            if cname in structs:
                raise SpecError(f"{where}: {cname} declared twice")
            flags = set(rest.split())
            if flags - _STRUCT_FLAGS:
                raise SpecError(f"{where}: unknown flags {sorted(flags - _STRUCT_FLAGS)}")
            cur = Struct(cname, pyname, kind == "union", [], line=no)
            cur.printable = "plain" not in flags
            cur.nonabi = "nonabi" in flags
            if cur.nonabi != cname.startswith("pn_"):
                raise SpecError(f"{where}: a struct of our own (nonabi) has a pn_ C name, and only it")
            structs[cname] = cur
            order.append((cur, []))
            continue
        if cur is None:
            raise SpecError(f"{where}: field outside a struct")
        words = line.split(None, 1)
        if words[0] == "fmt":
            cur.fmt_default = _STR_RE.search(line).group(1)
        elif words[0] == "version":
            cur.version = words[1].strip()
        elif words[0] == "c_order":
            cur.c_order = words[1].split()
        elif words[0] in ("default", "attr"):
            fname, _, value = (w.strip() for w in words[1].partition("="))
            if not value:
                raise SpecError(f"{where}: expected '{words[0]} NAME = VALUE'")
            if words[0] == "attr":
                cur.attr = (fname, value)
            else:
                cur.defaults[fname] = value
        else:
            m = _STR_RE.search(line)
            fmt = m.group(1) if m else None
            body = line[: m.start()] if m else line
            tname, fname = body.split()
            order[-1][1].append((no, tname, fname, fmt))
    for st, raw_fields in order:
        where = f"{path.name}:{st.line}"
        for no, tname, fname, fmt in raw_fields:
            t = parse_type(tname, structs, f"{path.name}:{no}", in_struct=True, typedefs=typedefs)
            pyname, _, cname = fname.partition(":")
            st.fields.append(Field(pyname, t, fmt, cname))
        names = [f.name for f in st.fields]
        if len(set(names)) != len(names) or not names:
            raise SpecError(f"{where}: {st.pyname} needs fields, each once")
        if st.c_order is not None and sorted(st.c_order) != sorted(names):
            raise SpecError(f"{where}: c_order must name every field once")
        if st.attr and st.attr[0] in names:
            raise SpecError(f"{where}: attr {st.attr[0]} is a field")
        for fname in st.defaults:
            if fname not in names or st.fields[names.index(fname)].type.kind != "scalar" \
                    or st.fields[names.index(fname)].type.count:
                raise SpecError(f"{where}: default for {fname}, which is not a scalar field")
    return structs, typedefs


_FUNC_RE = re.compile(r"^(?P<py>\w+)(?:\s*=\s*(?P<c>\w+))?\s*\((?P<params>[^)]*)\)\s*(?P<opts>.*)$")


def parse_functions(path: Path, structs: dict[str, Struct], typedefs: dict[str, str] | None = None) -> list[Function]:
    out = []
    for no, line in _lines(path):
        where = f"{path.name}:{no}"
        m = _FUNC_RE.match(line.strip())
        if not m:
            raise SpecError(f"{where}: expected NAME[ = CSYMBOL](params) [options]")
        params = []
        for ptext in filter(None, (p.strip() for p in m.group("params").split(","))):
            default = None
            if "=" in ptext:
                ptext, default = (s.strip() for s in ptext.split("=", 1))
            words = ptext.split()
            if words[0] == "count" and len(words) == 2:
                params.append(Param(words[1], Type("u32", "scalar"), "count"))
                continue
            role = "in"
            if words[0] in ("out", "inout", "fixed", "ref"):
                role = words.pop(0)
            if role == "fixed" and default is None:
                raise SpecError(f"{where}: a fixed parameter needs its value (fixed u32 flags = 0)")
            if len(words) != 2:
                raise SpecError(f"{where}: bad parameter {ptext!r}")
            params.append(Param(words[1], parse_type(words[0], structs, where, typedefs=typedefs), role, default))
        counts = {p.name for p in params if p.role == "count"}
        for p in params:
            if p.type.count in counts:
                p.type.counted = True
            elif p.type.is_array and p.type.kind != "char":
                raise SpecError(f"{where}: array {p.name} needs a `count` parameter")
        opts = {}
        for word in m.group("opts").split():
            key, _, value = word.partition("=")
            opts[key] = value
        if opts.get("returns", "tuple") not in ("tuple", "list"):
            raise SpecError(f"{where}: returns= must be tuple or list")
        out.append(Function(m.group("py"), m.group("c") or m.group("py"), params, opts, no))
    return out


def parse_entry_points(path: Path) -> dict[str, tuple[str, list[str]]]:
    out: dict[str, tuple[str, list[str]]] = {}
    if not path.exists():
        return out
    for no, line in _lines(path):
        words = line.split()
        opts = dict(w.partition("=")[::2] for w in words[1:])
        if "since" not in opts or set(opts) - {"since", "raises"} or words[0] in out:
            raise SpecError(f"{path.name}:{no}: expected ENTRY_POINT since=TOOLKIT [raises=CODE,...], once each")
        out[words[0]] = (opts["since"], [c for c in opts.get("raises", "").split(",") if c])
    return out


def apply_python_options(path: Path, functions: list[Function]) -> None:
    """spec/python.nvml: more options of functions, by Python name (their Python types)."""
    if not path.exists():
        return
    by_name = {f.pyname: f for f in functions}
    for no, line in _lines(path):
        words = line.split()
        f = by_name.get(words[0])
        if f is None or any("=" not in w for w in words[1:]):
            raise SpecError(f"{path.name}:{no}: expected FUNCTION OPTION=VALUE ..., of a declared function")
        for w in words[1:]:
            key, _, value = w.partition("=")
            f.options[key] = value


def load(spec_dir: Path = SPEC_DIR) -> Spec:
    constants = parse_constants(spec_dir / "constants.nvml")
    structs, typedefs = parse_structs(spec_dir / "structs.nvml")
    # functions.nvml, then each family's own file (functions_*.nvml), in name order
    functions = []
    for path in [spec_dir / "functions.nvml"] + sorted(spec_dir.glob("functions_*.nvml")):
        functions += parse_functions(path, structs, typedefs)
    apply_python_options(spec_dir / "python.nvml", functions)
    names = [f.pyname for f in functions]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SpecError(f"functions declared twice: {sorted(dup)}")
    return Spec(constants, structs, functions, typedefs, parse_entry_points(spec_dir / "entry_points.nvml"))
