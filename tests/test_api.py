"""The module's public face: what `from pynvml import *` gives, names older code and
tools reach for, and that importing costs no ctypes and prints nothing."""
import inspect
import subprocess
import sys

import pytest

import pynvml


def test_star_import_gives_functions_constants_classes_errors():
    ns = {}
    exec("from pynvml import *", ns)
    for name in ("nvmlInit", "nvmlShutdown", "nvmlDeviceGetHandleByIndex", "nvmlDeviceGetMemoryInfo",
                 "NVML_TEMPERATURE_GPU", "NVMLError", "NVMLError_NotSupported", "c_nvmlMemory_t",
                 "nvmlPciInfo_t", "nvmlStructToFriendlyObject", "nvmlFriendlyObject", "nvmlExceptionClass"):
        assert name in ns, name


def test_old_names_and_version():
    import pynvml.nvml as old

    assert old.nvmlInit is pynvml.nvmlInit
    assert isinstance(pynvml.__version__, str) and pynvml.__version__.startswith("13.")
    assert pynvml.NVMLError._errcode_to_string[pynvml.NVML_ERROR_NOT_SUPPORTED] == "Not Supported"
    assert callable(pynvml._nvmlCheckReturn) and callable(pynvml._nvmlGetFunctionPointer)
    assert isinstance(pynvml._nvmlGetFunctionPointer_cache, dict)


def test_functions_have_signatures_and_docs():
    for name in ("nvmlDeviceGetTemperature", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetFieldValues",
                 "nvmlInitWithFlags", "nvmlSystemGetDriverVersion"):
        fn = getattr(pynvml, name)
        sig = inspect.signature(fn)
        assert fn.__doc__
    assert list(inspect.signature(pynvml.nvmlDeviceGetMemoryInfo).parameters) == ["handle", "version"]
    assert list(inspect.signature(pynvml.nvmlDeviceGetTemperature).parameters) == ["handle", "sensor"]
    assert sig is not None


def _run(code, **env):
    import os

    e = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, env=e)


def test_import_is_silent_and_does_not_load_ctypes():
    r = _run("import sys, pynvml; print('ctypes' in sys.modules, '_ctypes' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "False False\n" and r.stderr == ""


def test_ctypes_names_load_on_first_use():
    r = _run("import sys, pynvml; pynvml._PrintableStructure; print('ctypes' in sys.modules)")
    assert r.stdout == "True\n", r.stderr


@pytest.mark.parametrize("attr", ["nvmlNoSuchFunction", "_nope"])
def test_unknown_attribute_is_attribute_error(attr):
    with pytest.raises(AttributeError):
        getattr(pynvml, attr)


def test_nvml_check_return_as_nvidia_ml_py(ref):
    # nvidia-ml-py's helper for code that calls NVML through ctypes: 0 back, an error raised
    for code in (0, 3, 999):
        ours = theirs = None
        try:
            ours = pynvml._nvmlCheckReturn(code)
        except pynvml.NVMLError as e:
            ours = (type(e).__name__, e.value)
        try:
            theirs = ref._nvmlCheckReturn(code)
        except ref.NVMLError as e:
            theirs = (type(e).__name__, e.value)
        assert ours == theirs, code
    assert pynvml._nvmlCheckReturn(0) == 0
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml._nvmlCheckReturn(3)
