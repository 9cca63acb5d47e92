"""The NVMLError hierarchy (src/pynvml/_errors.py, raised by the C extension for every
failing NVML call) against nvidia-ml-py's (13.610.43):
the 31 NVMLError_* classes and their codes, NVMLError(code) picking the subclass,
str() from NVMLError._errcode_to_string / nvmlErrorString, == by value, pickling,
nvmlExceptionClass, and every NVML return code raised as the right class when the
(simulated) library returns it."""
import copy
import json
import os
import pickle
import string
import subprocess
import sys

import pytest

import pynvml

# NVML_ERROR_* -> value, as nvidia-ml-py 13.610.43 defines them (nvml.h's nvmlReturn_t).
NVML_ERRORS = {
    "NVML_ERROR_UNINITIALIZED": 1, "NVML_ERROR_INVALID_ARGUMENT": 2, "NVML_ERROR_NOT_SUPPORTED": 3,
    "NVML_ERROR_NO_PERMISSION": 4, "NVML_ERROR_ALREADY_INITIALIZED": 5, "NVML_ERROR_NOT_FOUND": 6,
    "NVML_ERROR_INSUFFICIENT_SIZE": 7, "NVML_ERROR_INSUFFICIENT_POWER": 8,
    "NVML_ERROR_DRIVER_NOT_LOADED": 9, "NVML_ERROR_TIMEOUT": 10, "NVML_ERROR_IRQ_ISSUE": 11,
    "NVML_ERROR_LIBRARY_NOT_FOUND": 12, "NVML_ERROR_FUNCTION_NOT_FOUND": 13,
    "NVML_ERROR_CORRUPTED_INFOROM": 14, "NVML_ERROR_GPU_IS_LOST": 15, "NVML_ERROR_RESET_REQUIRED": 16,
    "NVML_ERROR_OPERATING_SYSTEM": 17, "NVML_ERROR_LIB_RM_VERSION_MISMATCH": 18, "NVML_ERROR_IN_USE": 19,
    "NVML_ERROR_MEMORY": 20, "NVML_ERROR_NO_DATA": 21, "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED": 22,
    "NVML_ERROR_INSUFFICIENT_RESOURCES": 23, "NVML_ERROR_FREQ_NOT_SUPPORTED": 24,
    "NVML_ERROR_ARGUMENT_VERSION_MISMATCH": 25, "NVML_ERROR_DEPRECATED": 26, "NVML_ERROR_NOT_READY": 27,
    "NVML_ERROR_GPU_NOT_FOUND": 28, "NVML_ERROR_INVALID_STATE": 29,
    "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED": 30, "NVML_ERROR_UNKNOWN": 999,
}

# nvidia-ml-py's NVMLError._errcode_to_string (the 20 codes it knows the text of).
KNOWN_MESSAGES = {
    1: "Uninitialized", 2: "Invalid Argument", 3: "Not Supported", 4: "Insufficient Permissions",
    5: "Already Initialized", 6: "Not Found", 7: "Insufficient Size", 8: "Insufficient External Power",
    9: "Driver Not Loaded", 10: "Timeout", 11: "Interrupt Request Issue",
    12: "NVML Shared Library Not Found", 13: "Function Not Found", 14: "Corrupted infoROM",
    15: "GPU is lost", 16: "GPU requires restart", 17: "The operating system has blocked the request.",
    18: "RM has detected an NVML/RM version mismatch.", 20: "Insufficient Memory", 999: "Unknown Error",
}


def class_name(const_name):
    """NVML_ERROR_ALREADY_INITIALIZED -> NVMLError_AlreadyInitialized (nvidia-ml-py's rule)."""
    return "NVMLError_" + string.capwords(const_name[len("NVML_ERROR_"):], "_").replace("_", "")


ERROR_CLASSES = {class_name(k): v for k, v in NVML_ERRORS.items()}


def _run(code, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=60)


# --- the classes ---------------------------------------------------------------------


def test_thirty_one_error_classes():
    assert len(ERROR_CLASSES) == 31
    ours = {n for n in dir(pynvml) if n.startswith("NVMLError_")}
    assert ours == set(ERROR_CLASSES)


@pytest.mark.parametrize("const", sorted(NVML_ERRORS))
def test_error_constant_and_class(const):
    code = NVML_ERRORS[const]
    assert getattr(pynvml, const) == code
    cls = getattr(pynvml, class_name(const))
    assert isinstance(cls, type) and issubclass(cls, pynvml.NVMLError)
    assert issubclass(pynvml.NVMLError, Exception)
    assert cls.__name__ == class_name(const)
    # NVMLError(code) gives an instance of the subclass, whose args are (code,)
    e = pynvml.NVMLError(code)
    assert type(e) is cls
    assert e.value == code
    assert e.args == (code,)
    assert repr(e) == f"{cls.__name__}({code})"
    # the subclass, called with no argument, knows its code
    e = cls()
    assert type(e) is cls and e.value == code and e.args == ()
    # ... and ignores an argument it is given (nvidia-ml-py's subclasses do)
    e = cls(code + 1000)
    assert type(e) is cls and e.value == code
    # raised and caught as itself and as NVMLError
    with pytest.raises(cls) as info:
        raise pynvml.NVMLError(code)
    assert info.value.value == code
    with pytest.raises(pynvml.NVMLError):
        raise cls()
    # the class for a code, and the mapping behind it
    assert pynvml.nvmlExceptionClass(code) is cls
    assert pynvml.NVMLError._valClassMapping[code] is cls


def test_error_names_and_codes_match_nvidia_ml_py_api(reference_data):
    path = reference_data / "nvidia-ml-py-api.json"
    if not path.exists():
        pytest.skip("nvidia-ml-py-api.json is not there")
    api = json.loads(path.read_text())
    errors = api["errors"]
    assert len(errors) == 31
    consts = {k: v for k, v in api["constants"].items() if k.startswith("NVML_ERROR_")}
    assert consts == NVML_ERRORS
    assert {class_name(k) for k in consts} == set(errors)
    for name, code in errors.items():
        cls = getattr(pynvml, name)
        expected = code if code is not None else ERROR_CLASSES[name]
        assert cls().value == expected, name
        assert pynvml.nvmlExceptionClass(expected) is cls


def test_error_classes_like_reference(ref):
    for name, code in ERROR_CLASSES.items():
        assert getattr(ref, name)().value == code
        assert getattr(pynvml, name)().value == code
    assert set(pynvml.NVMLError._valClassMapping) == set(ref.NVMLError._valClassMapping)
    for code, cls in ref.NVMLError._valClassMapping.items():
        assert pynvml.NVMLError._valClassMapping[code].__name__ == cls.__name__


def test_val_class_mapping_is_complete():
    mapping = pynvml.NVMLError._valClassMapping
    assert isinstance(mapping, dict)
    assert {code: cls.__name__ for code, cls in mapping.items()} == {v: k for k, v in ERROR_CLASSES.items()}


def test_unknown_code_gives_plain_nvmlerror():
    for code in (0, 31, 12345, -1, 2**40):
        e = pynvml.NVMLError(code)
        assert type(e) is pynvml.NVMLError
        assert e.value == code
        assert e.args == (code,)
        assert isinstance(e, Exception)


def test_nvmlerror_needs_a_code():
    with pytest.raises(TypeError):
        pynvml.NVMLError()


@pytest.mark.parametrize("code", [0, 31, 12345, -1])
def test_exception_class_of_unknown_code_is_valueerror(code):
    with pytest.raises(ValueError, match=f"nvmlErrorCode {code} is not valid"):
        pynvml.nvmlExceptionClass(code)


def test_exception_class_of_non_int():
    with pytest.raises(ValueError):
        pynvml.nvmlExceptionClass("3")
    with pytest.raises(TypeError):
        pynvml.nvmlExceptionClass([3])   # unhashable, as a dict lookup in nvidia-ml-py


# --- str() -----------------------------------------------------------------------------


def test_errcode_to_string_table():
    table = pynvml.NVMLError._errcode_to_string
    assert isinstance(table, dict)
    for code, text in KNOWN_MESSAGES.items():
        assert table[code] == text


def test_errcode_to_string_table_like_reference(ref):
    for code, text in KNOWN_MESSAGES.items():
        assert ref.NVMLError._errcode_to_string[code] == text == pynvml.NVMLError._errcode_to_string[code]


@pytest.mark.parametrize("code", sorted(KNOWN_MESSAGES))
def test_str_of_known_code(code):
    assert str(pynvml.NVMLError(code)) == KNOWN_MESSAGES[code]
    assert str(pynvml.nvmlExceptionClass(code)()) == KNOWN_MESSAGES[code]


def test_str_of_code_outside_the_table_before_the_library_is_loaded():
    # nvidia-ml-py: nvmlErrorString raises NVMLError_Uninitialized -> "NVML Error with code N"
    r = _run("import pynvml\n"
             "print(str(pynvml.NVMLError(25)))\n"
             "print(str(pynvml.NVMLError(12345)))\n"
             "print(str(pynvml.NVMLError_InUse()))\n"
             "print(25 in pynvml.NVMLError._errcode_to_string)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["NVML Error with code 25", "NVML Error with code 12345",
                                     "NVML Error with code 19", "False"]


@pytest.mark.simulator
def test_str_of_code_outside_the_table_asks_nvml(nvml):
    for code in (19, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30):
        text = pynvml.nvmlErrorString(code)
        assert text and not text.startswith("NVML Error with code")
        assert str(pynvml.NVMLError(code)) == text
        # remembered in the table, as nvidia-ml-py does
        assert pynvml.NVMLError._errcode_to_string[code] == text
    assert str(pynvml.NVMLError(25)) == "The provided version is invalid/unsupported"
    assert str(pynvml.NVMLError_GpuNotFound()) == "No GPUs were found"
    # a code NVML does not know: NVML's own text for it
    assert str(pynvml.NVMLError(4321)) == pynvml.nvmlErrorString(4321)


@pytest.mark.simulator
def test_str_like_reference(ref, nvml):
    ref.nvmlInit()
    try:
        for code in list(KNOWN_MESSAGES) + [19, 21, 25, 28, 30]:
            assert str(pynvml.NVMLError(code)) == str(ref.NVMLError(code)), code
    finally:
        ref.nvmlShutdown()


# --- == and hashing --------------------------------------------------------------------


def test_eq_compares_value():
    assert pynvml.NVMLError(3) == pynvml.NVMLError_NotSupported()
    assert pynvml.NVMLError_NotSupported() == pynvml.NVMLError_NotSupported()
    assert not (pynvml.NVMLError(3) != pynvml.NVMLError(3))
    assert pynvml.NVMLError(3) != pynvml.NVMLError(4)
    assert not (pynvml.NVMLError_NotSupported() == pynvml.NVMLError_NoPermission())
    assert pynvml.NVMLError(12345) == pynvml.NVMLError(12345)
    assert pynvml.NVMLError(12345) != pynvml.NVMLError(12346)
    assert pynvml.NVMLError(3) in [pynvml.NVMLError(1), pynvml.NVMLError_NotSupported()]


def test_instances_are_unhashable_like_reference(ref):
    with pytest.raises(TypeError):
        hash(ref.NVMLError(3))
    with pytest.raises(TypeError):
        hash(pynvml.NVMLError(3))
    with pytest.raises(TypeError):
        hash(pynvml.NVMLError(12345))


# --- pickling and subclassing --------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: pynvml.NVMLError(3),
    lambda: pynvml.NVMLError_NotSupported(),
    lambda: pynvml.NVMLError(999),
    lambda: pynvml.NVMLError(12345),
    lambda: pynvml.NVMLError_Uninitialized(),
])
def test_pickle_round_trip(make):
    e = make()
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(e, proto))
        assert type(back) is type(e)
        assert back.value == e.value
        assert back == e
        assert str(back) == str(e)
    c = copy.copy(e)
    assert type(c) is type(e) and c.value == e.value


def test_user_subclass_of_a_subclass_keeps_the_code():
    class MyNotSupported(pynvml.NVMLError_NotSupported):
        pass

    e = MyNotSupported()
    assert type(e) is MyNotSupported
    assert e.value == pynvml.NVML_ERROR_NOT_SUPPORTED
    assert str(e) == "Not Supported"
    assert isinstance(e, pynvml.NVMLError_NotSupported) and isinstance(e, pynvml.NVMLError)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        raise e

    class Deeper(MyNotSupported):
        extra = 1

    assert Deeper().value == 3 and type(Deeper()) is Deeper


def test_pickled_user_subclass_stays_that_class():
    # nvidia-ml-py pickles an exception as (its class, its args): the class survives.
    e = _PicklableSub()
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is _PicklableSub
    assert back.value == pynvml.NVML_ERROR_GPU_IS_LOST


class _PicklableSub(pynvml.NVMLError_GpuIsLost):
    pass


def test_pickled_user_subclass_in_reference(ref):
    # the fact the previous test relies on
    sub = type("_RefSub", (ref.NVMLError_GpuIsLost,), {"__module__": __name__})
    globals()["_RefSub"] = sub
    try:
        back = pickle.loads(pickle.dumps(sub()))
        assert type(back) is sub and back.value == 15
    finally:
        del globals()["_RefSub"]


def test_user_subclass_of_nvmlerror_itself():
    # nvidia-ml-py: NVMLError.__new__ maps only when the class *is* NVMLError; for a
    # user subclass it keeps that class and stores the code given.
    class AppError(pynvml.NVMLError):
        pass

    e = AppError(3)
    assert type(e) is AppError
    assert e.value == 3
    assert str(e) == "Not Supported"


def test_user_subclass_of_nvmlerror_itself_in_reference(ref):
    # the fact the previous test relies on
    class AppError(ref.NVMLError):
        pass

    e = AppError(3)
    assert type(e) is AppError and e.value == 3 and str(e) == "Not Supported"


# --- every return code, as the (simulated) library returns it ------------------------------


@pytest.mark.simulator
@pytest.mark.parametrize("const", sorted(NVML_ERRORS))
def test_return_code_raises_its_class(const, use_profile, default_profile):
    default_profile["devices"][0]["nvmlDeviceGetBrand"] = {"error": const}
    use_profile(default_profile)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    cls = getattr(pynvml, class_name(const))
    with pytest.raises(pynvml.NVMLError) as info:
        pynvml.nvmlDeviceGetBrand(h)
    assert type(info.value) is cls
    assert info.value.value == NVML_ERRORS[const]
    assert info.value.args == (NVML_ERRORS[const],)
    # the other device is unaffected
    assert pynvml.nvmlDeviceGetBrand(pynvml.nvmlDeviceGetHandleByIndex(1)) == default_profile["devices"][1]["nvmlDeviceGetBrand"]


@pytest.mark.simulator
def test_unknown_return_code_raises_plain_nvmlerror(use_profile, default_profile):
    default_profile["devices"][0]["nvmlDeviceGetBrand"] = {"error": 777}
    use_profile(default_profile)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(pynvml.NVMLError) as info:
        pynvml.nvmlDeviceGetBrand(h)
    assert type(info.value) is pynvml.NVMLError
    assert info.value.value == 777
    assert str(info.value) == pynvml.nvmlErrorString(777)


@pytest.mark.simulator
def test_lost_device_raises_gpu_is_lost_everywhere(use_profile, default_profile):
    default_profile["devices"][1]["lost"] = {"error": "NVML_ERROR_GPU_IS_LOST"}
    use_profile(default_profile)
    pynvml.nvmlInit()
    with pytest.raises(pynvml.NVMLError_GpuIsLost) as info:
        pynvml.nvmlDeviceGetHandleByIndex(1)
    assert info.value.value == 15 and str(info.value) == "GPU is lost"
    assert pynvml.nvmlDeviceGetBrand(pynvml.nvmlDeviceGetHandleByIndex(0)) == 14
