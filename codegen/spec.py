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

# Opaque handle kinds: spec name -> (C typedef, Python class name).
HANDLES = {
    "Device": ("nvmlDevice_t", "c_nvmlDevice_t"),
    "Unit": ("nvmlUnit_t", "c_nvmlUnit_t"),
    "EventSet": ("nvmlEventSet_t", "c_nvmlEventSet_t"),
    "GpuInstance": ("nvmlGpuInstance_t", "c_nvmlGpuInstance_t"),
    "ComputeInstance": ("nvmlComputeInstance_t", "c_nvmlComputeInstance_t"),
    "GpmSample": ("nvmlGpmSample_t", "c_nvmlGpmSample_t"),
}


class SpecError(Exception):
    pass


@dataclass
class Type:
    """A spec type: scalar, handle, struct, char buffer, fixed or counted array."""

    base: str                # 'u32', 'Device', 'nvmlMemory_t', 'char', 'str'
    kind: str                # scalar | handle | struct | char | str
    count: str | None = None  # fixed array length (number or macro name); None if not an array
    counted: bool = False     # "T[]": length comes from an NVML count parameter

    @property
    def is_array(self) -> bool:
        return self.count is not None or self.counted


@dataclass
class Field:
    name: str
    type: Type
    fmt: str | None = None


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
    line: int = 0


@dataclass
class Param:
    name: str
    type: Type
    role: str                    # in | out | inout
    default: str | None = None

    @property
    def is_input(self) -> bool:
        """A Python argument (count parameters are handled by the wrapper)."""
        return self.role in ("in", "inout")


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
    def hand_sim(self) -> bool:
        return "simhand" in self.options


@dataclass
class Constant:
    name: str
    value: int | str


@dataclass
class Spec:
    constants: list[Constant]
    structs: dict[str, Struct]
    functions: list[Function]

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

_TYPE_RE = re.compile(r"^(?P<base>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<count>[A-Za-z0-9_]*)\])?$")


def parse_type(text: str, structs: dict[str, Struct] | None, where: str) -> Type:
    m = _TYPE_RE.match(text)
    if not m:
        raise SpecError(f"{where}: bad type {text!r}")
    base, count = m.group("base"), m.group("count")
    if base in SCALARS:
        kind = "scalar"
    elif base in HANDLES:
        kind = "handle"
    elif base == "char":
        kind = "char"
    elif base == "str":
        kind = "str"
    elif structs is None or base in structs:
        kind = "struct"
    else:
        raise SpecError(f"{where}: unknown type {base!r}")
    if kind == "char" and not count:
        raise SpecError(f"{where}: char needs a size")
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


def parse_structs(path: Path) -> dict[str, Struct]:
    structs: dict[str, Struct] = {}
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
            continue
        if not line[0].isspace():
            m = _STRUCT_RE.match(line)
            if not m:
                raise SpecError(f"{where}: expected 'struct CNAME : PYNAME'")
            kind, cname, pyname, rest = m.groups()
            cur = Struct(cname, pyname, kind == "union", [], line=no)
            if "plain" in rest.split():
                cur.printable = False
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
        else:
            m = _STR_RE.search(line)
            fmt = m.group(1) if m else None
            body = line[: m.start()] if m else line
            tname, fname = body.split()
            order[-1][1].append((no, tname, fname, fmt))
    for st, raw_fields in order:
        for no, tname, fname, fmt in raw_fields:
            t = parse_type(tname, structs, f"{path.name}:{no}")
            st.fields.append(Field(fname, t, fmt))
    return structs


_FUNC_RE = re.compile(r"^(?P<py>\w+)(?:\s*=\s*(?P<c>\w+))?\s*\((?P<params>[^)]*)\)\s*(?P<opts>.*)$")


def parse_functions(path: Path, structs: dict[str, Struct]) -> list[Function]:
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
            if words[0] in ("out", "inout"):
                role = words.pop(0)
            if len(words) != 2:
                raise SpecError(f"{where}: bad parameter {ptext!r}")
            params.append(Param(words[1], parse_type(words[0], structs, where), role, default))
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


def load(spec_dir: Path = SPEC_DIR) -> Spec:
    constants = parse_constants(spec_dir / "constants.nvml")
    structs = parse_structs(spec_dir / "structs.nvml")
    functions = parse_functions(spec_dir / "functions.nvml", structs)
    names = [f.pyname for f in functions]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SpecError(f"functions declared twice: {sorted(dup)}")
    return Spec(constants, structs, functions)
