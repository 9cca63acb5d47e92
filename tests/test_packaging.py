"""What the packaging promises, on the installed package: pynvml_utils beside PyPI's
`pynvml` (a shadowing package warns once), hide copies that take the bundled cJSON with
them, and binaries without the build machine's RUNPATH.
(make check-dist checks the sdist and the wheels themselves, in fresh venvs.)"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pynvml
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import check_dist  # noqa: E402

# the package as this project's build makes it (bundled cJSON, stripped RUNPATH): not what
# tools/gpu_session.sh installs on the GPU machine (--target, its own cJSON, no bundling)
pytestmark = pytest.mark.simulator

PKG = Path(pynvml.__file__).parent
SIM = PKG / "_sim" / "libnvidia-ml.so.1"


def _run(code, tmp_path, pythonpath=(), **env):
    return subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, pythonpath)), **env))


def test_our_pynvml_utils_is_pynvml_smi(tmp_path):
    r = _run("import pynvml.smi, pynvml_utils, pynvml_utils.smi as s\n"
             "from pynvml_utils.smi import nvidia_smi\n"
             "print(pynvml_utils.nvidia_smi is pynvml.smi.nvidia_smi is nvidia_smi, s is pynvml.smi,"
             " pynvml_utils.__file__.endswith('pynvml_utils.py'))", tmp_path)
    assert r.stdout.split() == ["True", "True", "True"] and "Warning" not in r.stderr, r.stderr


@pytest.mark.parametrize("first", ["pynvml", "pynvml_utils"])
def test_a_shadowing_pynvml_utils_package_warns_once(tmp_path, first):
    # PyPI pynvml's pynvml_utils is a package whose smi star-imports pynvml
    theirs = tmp_path / "site" / "pynvml_utils"
    theirs.mkdir(parents=True)
    (theirs / "__init__.py").write_text("from .smi import nvidia_smi\n")
    (theirs / "smi.py").write_text("from pynvml import *\nclass nvidia_smi: pass\n")
    r = _run(f"import {first}\nimport pynvml_utils, pynvml\nfrom pynvml import *\n"
             "print(pynvml_utils.__file__)", tmp_path, [tmp_path / "site"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(theirs / "__init__.py")
    assert r.stderr.count("RuntimeWarning") == 1 and "pip uninstall pynvml" in r.stderr, r.stderr


def test_hide_copy_takes_the_bundled_libraries_along(tmp_path):
    beside = {p.name for p in SIM.parent.glob("lib*.so*")} - {SIM.name}
    out = tmp_path / "old-driver"
    out.mkdir()
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "hide", "-o", str(out), "nvmlDeviceGetPowerUsage"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {SIM.name} | beside
    for name in beside:
        assert (out / name).read_bytes() == (SIM.parent / name).read_bytes()
    r = _run("import pynvml as p; p.nvmlInit(); h = p.nvmlDeviceGetHandleByIndex(0)\n"
             "try: p.nvmlDeviceGetPowerUsage(h)\nexcept p.NVMLError_FunctionNotFound: print('hidden')",
             tmp_path, PYNVML_LIBRARY=str(out / SIM.name))
    assert r.stdout.strip() == "hidden", r.stderr


def test_binaries_have_no_runpath_of_the_build_machine():
    # pyenv's Python links every extension with -rpath to its own lib/: setup.py drops it
    for lib in [SIM, Path(pynvml._nvml.__file__)]:
        _, paths = check_dist.elf_info(lib)
        assert all(p == "$ORIGIN" for p in paths), (lib, paths)
    if (SIM.parent / "libcjson.so.1").exists():      # a bundling build (all but the sanitizer's)
        assert check_dist.elf_info(SIM)[1] == ["$ORIGIN"]



def test_make_build_clears_stale_build_folders(tmp_path):
    """make build (and every build of the package by the Makefile) first removes build/lib*
    and build/bdist*: setuptools copies into them and never deletes, so a module deleted
    from src/ went into the venv again from there.  Run with a stand-in venv whose python
    only records its arguments (nothing is built or installed)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".created").touch()
    calls = tmp_path / "calls"
    fake = venv / "bin" / "python"
    fake.write_text(f"#!/bin/sh\nls -d {ROOT}/build/lib* {ROOT}/build/bdist* >>{calls} 2>&1\n"
                    f"echo \"python $*\" >>{calls}\n")
    fake.chmod(0o755)
    stale = [ROOT / "build" / "lib.stale-test" / "pynvml" / "deleted_module.py",
             ROOT / "build" / "bdist.stale-test" / "wheel" / "pynvml" / "deleted_module.py"]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("raise ImportError('a module deleted from src/')\n")
    r = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "build", f"VENV={venv}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not any(p.exists() or p.parent.parent.exists() for p in stale)
    log = calls.read_text()
    assert "-m pip install" in log and "stale-test" not in log, log      # gone before pip ran
