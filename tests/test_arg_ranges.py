"""Arguments at the very ends of their C type's range reach NVML; one past is a ValueError
(ext/convert.c), and what NVML writes into a name is decoded with U+FFFD for invalid UTF-8.
(Mutation testing, tools/mutants.json, showed these edges unguarded: issue #18.)"""
import json

import pytest

import pynvml

pytestmark = [pytest.mark.simulator, pytest.mark.mutates]


@pytest.fixture
def h(nvml):
    return pynvml.nvmlDeviceGetHandleByIndex(0)


def test_u32_ends(h):
    with pytest.raises(pynvml.NVMLError_InvalidArgument):     # reaches NVML: no such GPU
        pynvml.nvmlDeviceGetHandleByIndex(2**32 - 1)
    with pytest.raises(ValueError, match=r"0\.\.4294967295"):
        pynvml.nvmlDeviceGetHandleByIndex(2**32)
    with pytest.raises(ValueError):
        pynvml.nvmlDeviceGetHandleByIndex(-1)


def test_u64_ends(h):
    # the largest u64 reaches NVML (the simulator keeps numbers as doubles: it is read back
    # only where a double holds it exactly)
    assert pynvml.nvmlDeviceSetConfComputeUnprotectedMemSize(h, 2**64 - 1) == pynvml.NVML_SUCCESS
    pynvml.nvmlDeviceSetConfComputeUnprotectedMemSize(h, 2**40 + 1)
    assert pynvml.nvmlDeviceGetConfComputeMemSizeInfo(h).unprotectedMemSizeKib == 2**40 + 1
    for bad in (2**64, -1):
        with pytest.raises(ValueError, match="nvmlDeviceSetConfComputeUnprotectedMemSize"):
            pynvml.nvmlDeviceSetConfComputeUnprotectedMemSize(h, bad)


def test_i32_ends(h):
    # in range for the C type, out of the GPU's: NVML's INVALID_ARGUMENT, not ours
    for edge in (-2**31, 2**31 - 1):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceSetGpcClkVfOffset(h, edge)
    for bad in (-2**31 - 1, 2**31):
        with pytest.raises(ValueError, match=r"-2147483648\.\.2147483647"):
            pynvml.nvmlDeviceSetGpcClkVfOffset(h, bad)


def test_invalid_utf8_in_a_name_is_replaced(use_profile, default_profile):
    # raw bytes in the profile (JSON text cannot escape them): the simulator passes them on
    default_profile["devices"][0]["nvmlDeviceGetName"] = "NVIDIA @@ H100"
    text = json.dumps(default_profile).encode().replace(b"NVIDIA @@ H100", b"NVIDIA \xff\xfe H100")
    use_profile(text)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    assert pynvml.nvmlDeviceGetName(h) == "NVIDIA \ufffd\ufffd H100"
