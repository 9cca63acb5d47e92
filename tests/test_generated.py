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
