"""The checked-in generated files are what codegen/generate.py makes from spec/."""
import subprocess
import sys

from conftest import ROOT


def test_generated_files_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "codegen" / "generate.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_spec_parses_and_is_consistent():
    sys.path.insert(0, str(ROOT / "codegen"))
    import spec

    s = spec.load()
    names = [c.name for c in s.constants]
    assert len(names) == len(set(names)), "a constant is declared twice"
    for f in s.functions:
        for p in f.params:
            if p.type.kind == "char" and p.role == "out":
                assert p.type.count.isdigit() or p.type.count in names, (f.pyname, p.name)
    for st in s.structs.values():
        if st.version:
            assert st.version in names, st.cname
            assert any(fl.name == "version" for fl in st.fields), st.cname


def test_spec_errors_are_reported_with_their_line(tmp_path):
    sys.path.insert(0, str(ROOT / "codegen"))
    import spec

    bad = tmp_path / "functions.nvml"
    bad.write_text("nvmlDeviceGetThing(Device handle, out frob x)\n")
    try:
        spec.parse_functions(bad, {})
    except spec.SpecError as e:
        assert "functions.nvml:1" in str(e) and "frob" in str(e)
    else:
        raise AssertionError("an unknown type was accepted")


def test_an_input_without_a_converter_is_a_spec_error(tmp_path):
    """A scalar input type that ext/convert.c has no converter for (f64, u8: none of NVML's
    functions takes one) stops the generator with a clear message, instead of a wrapper
    calling a converter that no test has ever reached."""
    sys.path.insert(0, str(ROOT / "codegen"))
    import emit_ext
    import spec

    s = spec.load()
    for base in ("f64", "u8"):
        f = tmp_path / "functions.nvml"
        f.write_text(f"nvmlDeviceSetThing(Device handle, {base} value)\n")
        (fn,) = spec.parse_functions(f, s.structs)
        try:
            emit_ext.emit_wrapper(s, fn)
        except spec.SpecError as e:
            assert f"no input conversion for {base}" in str(e) and "u32" in str(e)
        else:
            raise AssertionError(f"an {base} input was given a wrapper")
    f.write_text("nvmlDeviceSetThing(Device handle, u32 value)\n")
    (fn,) = spec.parse_functions(f, s.structs)
    assert any("pn_arg_u32" in line for line in emit_ext.emit_wrapper(s, fn))
