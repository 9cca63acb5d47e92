"""Shared test set-up.

The suite runs against the simulated NVML (PYNVML_LIBRARY=sim) unless
PYNVML_TEST_REAL=1, where it runs against the real libnvidia-ml.so.1 and skips what
needs the simulator (marker `simulator`) or would change the GPU's state (`mutates`).

Fixtures:
  nvml            nvmlInit() for the test, nvmlShutdown() after
  (autouse)       NVML really shut down before and after each test (no grace period between)
  use_profile     use_profile(dict) runs the next nvmlInit on that simulator profile
  default_profile the built-in simulator profile, as a dict (a fresh copy)
  ref             nvidia-ml-py's pynvml (from .ref/), bound to the same NVML as ours
  ref_new         nvidia-ml-py 13.615.71's, the same way
  reference_data  tests/data/reference/ (tools/import_reference.py)

PYNVML_TEST_SECOND_THREAD=1 (make test-threads) keeps an idle second Python thread
alive through the whole run: a wrapper releases the GIL around NVML only when another
thread could want it (ext/gil.h), so without one the release path (its error paths
included) never runs in a single-threaded test process.
"""
import copy
import ctypes
import importlib.util
import json
import os
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The reference facts (ABI, nvidia-ml-py's names, H100/H200 captures): the copy in the
# repo that tools/import_reference.py writes, so a bare clone runs every test.
REFERENCE = ROOT / "tests" / "data" / "reference"
# nvidia-ml-py's pynvml.py: from .ref/ (make ref), or where PYNVML_REFERENCE points
REF_MODULE = Path(os.environ.get("PYNVML_REFERENCE") or ROOT / ".ref" / "nvidia-ml-py" / "pynvml.py")
# nvidia-ml-py 13.615.71 (make ref puts it beside 13.610.43), or where PYNVML_REFERENCE_NEW points
REF_NEW_MODULE = Path(os.environ.get("PYNVML_REFERENCE_NEW") or
                      ROOT / ".ref" / "nvidia-ml-py-13.615.71" / "pynvml.py")
REAL = os.environ.get("PYNVML_TEST_REAL") == "1"

if not REAL:
    os.environ["PYNVML_LIBRARY"] = "sim"
    os.environ.pop("PYNVML_SIM_PROFILE", None)

import pynvml  # noqa: E402

SIM_LIBRARY = Path(pynvml.__file__).parent / "_sim" / "libnvidia-ml.so.1"

SECOND_THREAD = os.environ.get("PYNVML_TEST_SECOND_THREAD") == "1"
if SECOND_THREAD:
    _idle = threading.Thread(target=threading.Event().wait, name="pynvml-test-idle", daemon=True)
    _idle.start()


@pytest.fixture(autouse=True)
def _second_thread():
    """With PYNVML_TEST_SECOND_THREAD=1: each test runs with the GIL-releasing path on."""
    if SECOND_THREAD:
        assert _idle.is_alive() and pynvml._nvml._gil_shared()
    yield


def pytest_collection_modifyitems(config, items):
    if not REAL:
        return
    skip_sim = pytest.mark.skip(reason="needs the simulated NVML (running on a real GPU)")
    skip_mut = pytest.mark.skip(reason="changes GPU state: simulator only")
    for item in items:
        if "simulator" in item.keywords:
            item.add_marker(skip_sim)
        if "mutates" in item.keywords:
            item.add_marker(skip_mut)


@pytest.fixture(autouse=True)
def _nvml_released():
    """Each test starts and ends with NVML really shut down where nothing holds it: the
    grace period after the last nvmlShutdown (ext/loader.c, tests/test_grace.py) would
    otherwise carry one test's simulator profile into the next test's first nvmlInit."""
    if pynvml._nvml._refcount() == 0:
        pynvml._nvml._release_now()
    yield
    if pynvml._nvml._refcount() == 0:
        pynvml._nvml._release_now()


@pytest.fixture
def nvml():
    pynvml.nvmlInit()
    try:
        yield pynvml
    finally:
        while pynvml._nvml._refcount() > 0:
            pynvml.nvmlShutdown()


@pytest.fixture
def default_profile():
    return copy.deepcopy(_default_profile())


def _default_profile():
    global _DEFAULT
    try:
        return _DEFAULT
    except NameError:
        _DEFAULT = json.loads((ROOT / "sim" / "profiles" / "default.json").read_text())
        return _DEFAULT


@pytest.fixture
def use_profile(tmp_path, monkeypatch):
    """use_profile(profile_dict) -> path; the next first nvmlInit loads it."""
    if REAL:
        pytest.skip("simulator profiles need the simulated NVML")
    assert pynvml._nvml._refcount() == 0, "a profile takes effect at the first nvmlInit"

    def use(profile):
        # the simulator loads a profile at NVML's real first init: not within the grace
        # period that keeps NVML initialized after the last nvmlShutdown (ext/loader.c)
        pynvml._nvml._release_now()
        path = tmp_path / "profile.json"
        text = profile if isinstance(profile, (str, bytes)) else json.dumps(profile)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        monkeypatch.setenv("PYNVML_SIM_PROFILE", str(path))
        return path

    yield use
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()
    pynvml._nvml._release_now()   # the next test's first nvmlInit loads its own profile


def _reference_module(path, name, release):
    """nvidia-ml-py's pynvml.py at `path`, imported as `name`, on the NVML ours uses."""
    if not path.exists():
        pytest.skip(f"nvidia-ml-py {release} is not in .ref/ (make ref)")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    # Its loader only opens a library when nvmlLib is None: hand it ours.
    mod.nvmlLib = ctypes.CDLL(str(SIM_LIBRARY) if not REAL else "libnvidia-ml.so.1")
    return mod


@pytest.fixture(scope="session")
def ref():
    """nvidia-ml-py 13.610.43, imported under another name, on the NVML ours uses."""
    return _reference_module(REF_MODULE, "nvidia_ml_py_ref", "13.610.43")


@pytest.fixture(scope="session")
def ref_new():
    """nvidia-ml-py 13.615.71, imported under another name, on the NVML ours uses."""
    return _reference_module(REF_NEW_MODULE, "nvidia_ml_py_ref_new", "13.615.71")


@pytest.fixture(scope="session")
def reference_data():
    assert REFERENCE.is_dir(), f"{REFERENCE} is missing (python tools/import_reference.py writes it)"
    return REFERENCE


def of_class(obj, cls):
    """obj is an object of struct class `cls` exactly: one made of the class (by the
    caller or by ctypes), or what a function returns, an object of the class's result
    class (ext/structs.c, "Value slots": a subclass of the same name)."""
    return type(obj) is cls or type(obj) is pynvml._nvml._result_class(cls)
