"""Every name of nvidia-ml-py's module (all but dunders), with its kind and value: the
ctypes names it re-exports, os/sys/threading/string, the `_nvml*_t` enum type aliases, the
1-tuple constants, its loader (src/pynvml/_compat_names.py).  tools/api_coverage.py --names
compares the whole module with nvidia-ml-py's in .ref/; the tests below check the tool and
what the names do."""
import ctypes
import re
import subprocess
import sys

import pytest

import pynvml
from conftest import REF_MODULE, REF_NEW_MODULE, ROOT

TOOL = ROOT / "tools" / "api_coverage.py"


def _tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120)


def _counts(out):
    lines = out.splitlines()
    total = int(lines[0].split(": ")[1].split()[0])
    assert lines[1].split() == ["present", str(total), "of", str(total)]
    assert lines[2].split() == ["same", "kind", str(total), "of", str(total)]
    same, _, compared = lines[3].split()[2:5]
    return total, int(same), int(compared)


@pytest.mark.skipif(not REF_NEW_MODULE.exists(), reason="make ref installs nvidia-ml-py 13.615.71")
def test_every_name_of_nvidia_ml_py_13_615_71_with_its_kind_and_value():
    r = _tool("--names", str(REF_NEW_MODULE.parent), "--missing")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("nvidia-ml-py 13.615.71: ")
    total, same, compared = _counts(r.stdout)
    assert total >= 2476 and same == compared > 1700     # 2478 on CPython 3.11+ (3.9's ctypes lacks two)


@pytest.mark.skipif(not (REF_MODULE.exists() and REF_NEW_MODULE.exists()), reason="make ref installs nvidia-ml-py")
def test_every_name_of_nvidia_ml_py_13_610_43_and_values_where_13_615_71_kept_them():
    # ours follows 13.615.71: every 13.610.43 name is there, of its kind; a value differs only
    # where 13.615.71 changed it (its enums' counts and maxima grew)
    r = _tool("--names", str(REF_MODULE.parent), "--missing")
    assert r.stdout.startswith("nvidia-ml-py 13.610.43: "), r.stdout + r.stderr
    total, same, compared = _counts(r.stdout)
    assert total >= 2190 and compared > 1500
    differ = re.findall(r"^  value of (\w+): ours ", r.stdout, re.M)
    assert len(differ) == compared - same and r.returncode == (1 if differ else 0)
    new = _load(REF_NEW_MODULE, "nvidia_ml_py_new_names")
    old = _load(REF_MODULE, "nvidia_ml_py_old_names")
    for name in differ:
        assert getattr(pynvml, name) == getattr(new, name) != getattr(old, name), name
    assert "missing:" not in r.stdout and "kind of" not in r.stdout


def _load(path, name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_the_name_check_finds_a_missing_name_another_kind_and_another_value(tmp_path):
    # a made-up "nvidia-ml-py": one name we lack, one of another kind, one of another value
    (tmp_path / "pynvml.py").write_text(
        "from ctypes import *\nimport os\nNVML_SUCCESS = 0\nNVML_NO_SUCH_CONSTANT = 7\n"
        "NVML_P2P_CAPS_INDEX_READ = 0\nNVML_TEMPERATURE_GPU = 1\n_nvmlBrandType_t = c_uint\n")
    (tmp_path / "nvidia_ml_py-99.1.2.dist-info").mkdir()
    r = _tool("--names", str(tmp_path), "--missing")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert out.startswith("nvidia-ml-py 99.1.2: ")
    assert "missing: NVML_NO_SUCH_CONSTANT\n" in out
    assert "kind of NVML_P2P_CAPS_INDEX_READ: ours tuple, nvidia-ml-py's int" in out
    assert "value of NVML_TEMPERATURE_GPU: ours 0, nvidia-ml-py's 1" in out
    assert "c_uint" not in out and "value of os" not in out


def test_no_reference_folder_is_exit_2(tmp_path):
    assert _tool("--names", str(tmp_path)).returncode == 2


def _run(code):
    return subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)


def test_import_does_not_load_ctypes_but_its_names_do():
    r = _run("import sys, pynvml\n"
             "print('ctypes' in sys.modules, pynvml.NVML_P2P_CAPS_INDEX_READ, pynvml.string.capwords('a b'),\n"
             "      type(pynvml).__name__, 'ctypes' in sys.modules)\n"
             "print(pynvml.c_uint.__name__, 'ctypes' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "False (0,) A B module False\nc_uint True\n"


def test_star_import_gives_the_ctypes_names():
    ns = {}
    exec("from pynvml import *", ns)
    for name in ("c_uint", "c_ulonglong", "byref", "pointer", "POINTER", "sizeof", "cast", "Structure",
                 "Union", "Array", "CDLL", "CFUNCTYPE", "create_string_buffer", "memmove", "ArgumentError",
                 "os", "sys", "threading", "string", "find_library", "wraps"):
        assert name in ns, name
    assert ns["byref"] is ctypes.byref and ns["c_ulonglong"] is ctypes.c_ulonglong and ns["os"] is __import__("os")
    assert ns["NVML_GRID_LICENSE_EXPIRY_PERMANENT"] == (4,)
    assert "_nvmlEnableState_t" not in ns and "_LoadNvmlLibrary" not in ns    # private, as in nvidia-ml-py


def test_enum_type_aliases_are_ctypes_integer_types():
    assert pynvml._nvmlEnableState_t is ctypes.c_uint and pynvml._nvmlReturn_t is ctypes.c_uint
    assert pynvml._nvmlGridLicenseExpiryStatus_t is ctypes.c_uint8
    mode = pynvml._nvmlComputeMode_t(pynvml.NVML_COMPUTEMODE_PROHIBITED)
    assert mode.value == 2


def test_names_in_dir_and_unknown_names_still_raise():
    d = dir(pynvml)
    for name in ("c_uint", "os", "_nvmlBrandType_t", "_LoadNvmlLibrary", "libLoadLock", "NVML_P2P_CAPS_INDEX_READ"):
        assert name in d
    for name in ("c_no_such_type", "_nvmlNoSuch_t", "__wrapped__"):
        with pytest.raises(AttributeError):
            getattr(pynvml, name)


def test_load_library_and_error_classes(nvml):
    pynvml._LoadNvmlLibrary()
    assert isinstance(pynvml.nvmlLib, ctypes.CDLL)
    assert pynvml.nvmlLib.nvmlDeviceGetCount_v2 is not None
    before = pynvml.NVMLError_NotSupported
    pynvml._extractNVMLErrorsAsClasses()     # idempotent: the classes stay the ones raised
    assert pynvml.NVMLError_NotSupported is before
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetFanSpeed(pynvml.nvmlDeviceGetHandleByIndex(0))
    with pynvml.libLoadLock:
        pass
