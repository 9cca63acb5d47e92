"""What reaches the user besides the calls: the docstrings (help(), editors) and the type
stubs' coverage of the public names (mypy and pyright check the stubs themselves: make
typecheck)."""
import ast
import importlib
import inspect
import pydoc
import re
import sys

import pytest

import pynvml
import pynvml.smi
from conftest import ROOT

sys.path.insert(0, str(ROOT / "codegen"))
import emit_doc  # noqa: E402
import emit_stubs  # noqa: E402
import spec as spec_mod  # noqa: E402

SPEC = spec_mod.load()
PUBLIC = emit_stubs.public_functions(SPEC)
HAND = {f.pyname for f in PUBLIC if f.hand_ext or not f.python or f in emit_stubs.core_functions()}


@pytest.mark.parametrize("f", PUBLIC, ids=lambda f: f.pyname)
def test_docstring_says_signature_result_errors_and_entry_point(f):
    fn = getattr(pynvml, f.pyname)
    doc = inspect.getdoc(getattr(fn, "__wrapped__", fn))
    assert doc.startswith(emit_doc.typed_signature(SPEC, f) + "\n"), doc[:200]
    assert "Raises:" in doc and "TypeError, ValueError" in doc
    assert f"NVML entry point: {f.csym}" in doc
    since, codes = SPEC.entry_points.get(f.csym, (None, []))
    if since:
        assert f"first in the nvml.h of CUDA {since}" in doc
    if f.options.get("result") != "rc":
        for code in codes:
            assert f"    {emit_doc.error_class(code)}: " in doc
    # the text signature stays first, for inspect.signature (and stubtest)
    names = [a.name for a in emit_stubs.args(SPEC, f)]
    assert list(inspect.signature(fn).parameters) == names


def test_hand_written_words_are_kept():
    """A hand-written function's own words sit between the typed signature and Args."""
    for name in sorted(HAND):
        doc = inspect.getdoc(getattr(pynvml, name))
        own = doc.split("\n\n", 1)[1].split("\nArgs:")[0].split("\nReturns:")[0].split("\nRaises:")[0]
        assert own.strip() and not own.startswith(("Args:", "Returns:", "Raises:")), (name, doc[:300])
    doc = inspect.getdoc(pynvml.nvmlDeviceGetMemoryInfo)
    assert "with version=nvmlMemory_v2 a c_nvmlMemory_v2_t" in doc


def test_help_shows_the_docstring():
    text = pydoc.render_doc(pynvml.nvmlDeviceGetName, renderer=pydoc.plaintext)
    assert "nvmlDeviceGetName(handle: c_nvmlDevice_t) -> str" in text
    assert "NVMLError_InvalidArgument" in text and "NVML entry point: nvmlDeviceGetName" in text


def test_errors_named_in_docstrings_exist():
    named = set()
    for f in PUBLIC:
        named |= set(re.findall(r"\bNVMLError_\w+", getattr(pynvml, f.pyname).__doc__))
    assert len(named) > 10
    for n in named:
        assert issubclass(getattr(pynvml, n), pynvml.NVMLError), n


def test_entry_point_facts_name_known_entry_points_and_codes():
    codes = {c.name[len("NVML_ERROR_"):] for c in SPEC.constants if c.name.startswith("NVML_ERROR_")}
    assert SPEC.entry_points, "spec/entry_points.nvml is empty"
    # the headers' every entry point (tools/nvml_header_facts.py): the spec's are among them
    # but for the few nvml.h does not declare (the simulator's, older unversioned ones)
    missing = [s for s in SPEC.c_symbols if s not in SPEC.entry_points]
    assert len(missing) < 0.05 * len(SPEC.c_symbols), missing
    for sym, (since, raises) in SPEC.entry_points.items():
        assert re.fullmatch(r"nvml\w+", sym), sym
        assert since in emit_doc.DRIVERS or re.fullmatch(r"\d+\.\d+", since), (sym, since)
        assert set(raises) <= codes, (sym, set(raises) - codes)


def _stub_names(path):
    """The names a stub defines at its top level (assignments, annotations, defs, classes, imports as X)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom) and node.names[0].name == "*" and node.level == 0:
            # a star import of another package (ctypes): its public names, as at run time
            names |= {n for n in dir(importlib.import_module(node.module)) if not n.startswith("_")}
        elif isinstance(node, (ast.ImportFrom, ast.Import)):
            names |= {a.asname for a in node.names if a.asname}
    return names


def test_stubs_cover_every_public_name():
    """Every public name at run time is in the stubs (and nothing the stubs name is missing),
    so no name reaches a type checker as Any or an error.  stubtest checks the types too."""
    import ctypes.util  # noqa: F401  (pynvml has `util` once ctypes.util is imported, as nvidia-ml-py)

    stubs = ROOT / "src" / "pynvml"
    stubbed = _stub_names(stubs / "__init__.pyi") | _stub_names(stubs / "_nvml.pyi")
    runtime = {n for n in dir(pynvml) if not n.startswith("_")} - {"nvml", "smi", "smi_views", "batch", "exporter"}  # submodules
    assert sorted(runtime - stubbed) == []
    private_stub_only = {n for n in stubbed if n.startswith("_")}
    assert sorted(n for n in stubbed - runtime - private_stub_only if not hasattr(pynvml, n)) == []
    smi = _stub_names(stubs / "smi.pyi")
    smi_runtime = {n for n in dir(pynvml.smi) if not n.startswith("_")} - {"atexit", "sys", "weakref", "pynvml"}
    assert sorted(smi_runtime - smi) == []
