"""Sphinx configuration of pynvml's documentation (make docs: docs/_build/html/index.html).

The API reference (api/*.rst, written here at each build and not checked in) comes from
the same source as the C and the stubs: the spec (spec/*.nvml, read with codegen/spec.py)
lists the functions by family, the struct classes with their fields' Python types and the
constants by enum; each function's text is its docstring in the built module (generated
from the spec by codegen/emit_doc.py), which autodoc reads.  So the package must be built
first (make docs does it).  The guide pages include the README's sections (MyST)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "codegen"))

import emit_doc  # noqa: E402
import emit_stubs  # noqa: E402
import spec as spec_mod  # noqa: E402

project = "pynvml"
author = "the pynvml authors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_docstring_signature = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]   # the README's headings start at level 1 and 3

# The spec files, their page titles, in the order of the reference.
FAMILIES = [
    ("functions.nvml", "core", "Library, system and devices"),
    ("functions_getters.nvml", "getters", "More getters"),
    ("functions_setters.nvml", "setters", "Setters"),
    ("functions_events.nvml", "events", "Events, GPM samples, S-class units"),
    ("functions_mig.nvml", "mig", "MIG: GPU and compute instances"),
    ("functions_vgpu.nvml", "vgpu", "vGPU"),
    ("functions_prm.nvml", "prm", "PRM counters"),
]

SECTION_RE = re.compile(r"^# --- (.*?)\s*-*\s*$")
NAME_RE = re.compile(r"^(\w+)")


def title(text: str, mark: str) -> list[str]:
    return [text, mark * max(len(text), 3), ""]


def family_sections(path: Path, public: set[str]) -> list[tuple[str, list[str]]]:
    """[(section title, [function names])] of one spec file, in its order."""
    out: list[tuple[str, list[str]]] = []
    for line in path.read_text().splitlines():
        m = SECTION_RE.match(line)
        if m:
            out.append((m.group(1).split(" (")[0].split(":")[0].strip() or "Functions", []))
            continue
        m = NAME_RE.match(line)
        if m and m.group(1) in public:
            if not out:
                out.append(("Functions", []))
            out[-1][1].append(m.group(1))
    return [(t, names) for t, names in out if names]


def write_api(spec: spec_mod.Spec) -> None:
    api = HERE / "api"
    api.mkdir(exist_ok=True)
    public = {f.pyname for f in emit_stubs.public_functions(spec)}
    pages = []
    for fname, page, heading in FAMILIES:
        o = title(heading, "=") + [".. currentmodule:: pynvml", ""]
        if page == "core":
            o += title("Initialization", "-")
            o += [f".. autofunction:: {f.pyname}" for f in emit_stubs.core_functions()] + [""]
        seen: set[str] = set()
        for sec, names in family_sections(ROOT / "spec" / fname, public):
            if sec in seen:   # a section title used twice in one file: keep both apart
                sec = f"{sec} ({len(seen)})"
            seen.add(sec)
            o += title(sec[0].upper() + sec[1:], "-")
            o += [f".. autofunction:: {n}" for n in names] + [""]
        (api / f"{page}.rst").write_text("\n".join(o))
        pages.append(page)

    # struct classes: fields and their Python types, from the spec
    o = title("Struct classes", "=") + [
        ".. currentmodule:: pynvml", "",
        "Each class is a C struct of NVML's (or nvidia-ml-py's layout, where said).  "
        "``Class(*fields, **fields)`` makes one (fields in this order); a field reads as "
        "the type shown and takes what the stub's ``__init__`` says.", ""]
    for st in sorted(spec.structs.values(), key=lambda s: s.pyname.lower()):
        o += [f".. class:: {st.pyname}", ""]
        o += [f"   {'nvidia-ml-py' if st.nonabi else 'NVML'}'s ``{st.cname if not st.nonabi else st.pyname}``"
              + (f"; also named {', '.join(f'``{a}``' for a in st.aliases)}" if st.aliases else "") + ".", ""]
        for fl in st.fields:
            # a field named like a builtin type (str, bytes) gets no index entry: it would
            # make every `str` of the reference ambiguous
            hide = ["      :no-index:"] if fl.name in ("str", "bytes", "int", "float", "list") else []
            o += [f"   .. attribute:: {fl.name}", f"      :type: {emit_stubs.field_type(spec, fl.type)}"] + hide + [""]
    (api / "structs.rst").write_text("\n".join(o))
    pages.append("structs")

    # handles, errors, constants
    o = title("Handles, errors and constants", "=") + [".. currentmodule:: pynvml", ""]
    o += title("Handles", "-") + [
        "Handles come from NVML (``nvmlDeviceGetHandleByIndex`` and the like), cannot be made "
        "from Python, compare equal when they name the same object, and are valid until the "
        "last ``nvmlShutdown``.  Each kind is its own class, so a type checker catches a unit "
        "passed where a device goes.", ""]
    for kind, (_c, py) in spec_mod.HANDLES.items():
        o += [f".. class:: {py}", "", f"   {emit_stubs.HANDLE_WORDS[kind][0].upper()}{emit_stubs.HANDLE_WORDS[kind][1:]}.",
              "", "   .. attribute:: value", "      :type: int", "", "      The handle's address.", ""]
    o += title("Errors", "-") + [
        ".. class:: NVMLError(value)", "",
        "   The base class: ``NVMLError(code)`` makes the subclass of that code; ``.value`` is the code.", ""]
    for c in spec.constants:
        if c.name.startswith("NVML_ERROR_") and isinstance(c.value, int):
            code = c.name[len("NVML_ERROR_"):]
            o += [f".. class:: {emit_stubs.error_class_name(c.name)}", "",
                  f"   ``{c.name}`` ({c.value}): {emit_doc.CODE_WORDS.get(code, 'NVML returned ' + code)}.", ""]
    o += title("Constants", "-") + ["All are ``Final[int]`` (a few ``Final[str]``), by the enum they belong to.", ""]
    group, rows = "", []

    def flush() -> None:
        if rows:
            nonlocal o
            o += [f".. rubric:: {group or 'Other'}", "", ".. list-table::", "   :widths: 70 30", ""]
            for name, value in rows:
                o += [f"   * - ``{name}``", f"     - ``{value!r}``"]
            o.append("")

    for line in (ROOT / "spec" / "constants.nvml").read_text().splitlines():
        if line.startswith("# ") and not line.startswith("# Constants") and " " not in line[2:].strip() \
                and line[2:].strip():
            flush()
            group, rows = line[2:].strip(), []
        elif line and not line.startswith("#") and "=" in line:
            name, _, value = (s.strip() for s in line.split(" #")[0].partition("="))
            rows.append((name, value.strip('"') if value.startswith('"') else int(value, 0)))
    flush()
    (api / "names.rst").write_text("\n".join(o))
    pages.append("names")

    (api / "index.rst").write_text("\n".join(
        title("API reference", "=")
        + ["Every public name of ``pynvml``, from the spec that the C and the type stubs are generated "
           "from.  A function's entry says its typed signature, arguments, result, the ``NVMLError`` "
           "classes NVIDIA documents for its entry point, and the first NVML (CUDA toolkit's ``nvml.h``, "
           "driver branch) that has it.", "", ".. toctree::", "   :maxdepth: 1", ""]
        + [f"   {p}" for p in pages]) + "\n")


write_api(spec_mod.load())
