"""Our declarations of the NVML ABI against nvml.h's facts (tests/data/reference/nvml-abi.json):
every struct's size, alignment and field offsets as our C compiler laid them out, and
every constant's value."""
import json
import re
import sys

import pytest

import pynvml
from conftest import ROOT


@pytest.fixture(scope="module")
def abi(reference_data):
    return json.loads((reference_data / "nvml-abi.json").read_text())


@pytest.fixture(scope="module")
def api(reference_data):
    return json.loads((reference_data / "nvidia-ml-py-api.json").read_text())


LAYOUTS = pynvml._nvml._struct_layouts()
# Structs of our own (spec/structs.nvml `nonabi`): nvidia-ml-py's layouts that nvml.h
# does not have; their C names begin with pn_ and tests/test_struct_classes.py holds
# them against the ctypes classes instead.
NVML_H_LAYOUTS = sorted(c for c in LAYOUTS if not c.startswith("pn_"))
# The structs NVML 13.615 brought (the end of spec/structs.nvml): not in this reference's
# nvml.h (CUDA 13.0); tools/abi_check.py (make abi) checks them against the 13.4 header.
_STRUCTS = (ROOT / "spec" / "structs.nvml").read_text()
NEW_IN_13_4 = set(re.findall(r"^(?:struct|union) (\w+)", _STRUCTS[_STRUCTS.index("# --- NVML 13.615"):], re.M))
# Values nvidia-ml-py 13.615.71 changed (we follow it): name -> (13.610.43's, ours)
CHANGED_IN_13_615 = {"NVML_BRAND_COUNT": (18, 20), "NVML_TEMPERATURE_COUNT": (1, 2), "NVML_FI_MAX": (303, 308),
                     "nvmlClocksThrottleReasonAll": (511, 2047), "NVML_GPM_METRIC_MAX": (333, 477),
                     "NVML_POWER_PROFILE_MAX": (15, 25)}
# Members nvml.h declares inside an unnamed union, which the reference does not list.
UNNAMED_IN_NVML_H = {"nvmlPRMTLV_v1_t": {"data"}}


@pytest.mark.parametrize("cname", NVML_H_LAYOUTS)
def test_struct_layout_matches_nvml_h(abi, cname):
    size, align, fields = LAYOUTS[cname]
    record = abi["records"].get(cname)
    if record is None and cname in NEW_IN_13_4:
        pytest.skip("new in nvml.h 13.4: make abi checks it against nvidia-nvml-dev's header")
    assert record is not None, f"{cname} is not a struct of nvml.h"
    assert (size, align) == (record["size"], record["align"])
    offsets = {name: off for name, _type, off in record["fields"]}
    unnamed = UNNAMED_IN_NVML_H.get(cname, set())
    assert {name for name, _ in fields} - unnamed == set(offsets), "field names differ"
    for name, off in fields:
        if name not in unnamed:
            assert offsets[name] == off, f"{cname}.{name}"


def test_structs_of_our_own_are_not_in_nvml_h(abi):
    ours = [c for c in LAYOUTS if c.startswith("pn_")]
    assert ours and not set(ours) & set(abi["records"])
    for c in ours:   # where nvml.h has the name, it lays it out otherwise
        record = abi["records"].get(c[3:])
        assert record is None or record["size"] != LAYOUTS[c][0], c


def test_every_struct_class_has_its_c_size():
    for cname, (size, _align, _fields) in LAYOUTS.items():
        cls = next(getattr(pynvml, n) for n in dir(pynvml)
                   if isinstance(getattr(pynvml, n), type) and getattr(pynvml, n).__doc__ == cname)
        assert len(bytes(cls())) == size


def test_constants_match_nvidia_ml_py(api):
    missing, wrong = [], []
    for name, value in api["constants"].items():
        if not hasattr(pynvml, name):
            missing.append(name)
        elif CHANGED_IN_13_615.get(name, (None,))[0] == value:
            assert getattr(pynvml, name) == CHANGED_IN_13_615[name][1]
        elif getattr(pynvml, name) != value or type(getattr(pynvml, name)) is not type(value):
            wrong.append((name, getattr(pynvml, name), value))
    assert not missing and not wrong, (missing[:20], wrong[:20])
    assert len(api["constants"]) == 1381


sys.path.insert(0, str(ROOT / "tools"))
from abi_check import NVIDIA_ML_PY_DIFFERS  # noqa: E402


def test_enum_and_macro_values_match_nvml_h(abi):
    checked, differs = 0, {}
    items = [kv for enum in abi["enums"].values() for kv in enum.items()] + list(abi["macros"].items())
    for name, value in items:
        if hasattr(pynvml, name) and isinstance(value, int):
            checked += 1
            if getattr(pynvml, name) != value:
                differs[name] = getattr(pynvml, name)
    # the two format strings are macros too; the reference records pointers for them
    differs.pop("NVML_DEVICE_PCI_BUS_ID_FMT", None)
    differs.pop("NVML_DEVICE_PCI_BUS_ID_LEGACY_FMT", None)
    assert differs == {k: v[0] for k, v in NVIDIA_ML_PY_DIFFERS.items()}
    assert checked > 1000


def test_error_classes_match_nvidia_ml_py(api):
    for name in api["errors"]:
        cls = getattr(pynvml, name)
        assert issubclass(cls, pynvml.NVMLError)
    assert len([n for n in dir(pynvml) if n.startswith("NVMLError_")]) == len(api["errors"]) == 31
