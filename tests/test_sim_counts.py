"""The simulated NVML at its edges, called as C code calls NVML (ctypes on the simulated
library): room for one item too few, or a string without room for its NUL, is
INSUFFICIENT_SIZE with the count needed and nothing written past the caller's buffer; a
shutdown without an init is UNINITIALIZED.  (Our wrappers always ask the size first and
count their own inits, so only a direct caller such as nvidia-ml-py meets these.)"""
import ctypes

import pytest

from conftest import SIM_LIBRARY

pytestmark = pytest.mark.simulator
NVML_ERROR_INSUFFICIENT_SIZE = 7


def test_one_item_too_few_is_insufficient_size():
    lib = ctypes.CDLL(str(SIM_LIBRARY))
    assert lib.nvmlInit_v2() == 0
    try:
        h = ctypes.c_void_p()
        assert lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(h)) == 0
        n = ctypes.c_uint(0)
        assert lib.nvmlDeviceGetSupportedMemoryClocks(h, ctypes.byref(n), None) == NVML_ERROR_INSUFFICIENT_SIZE
        need = n.value
        assert need == 2                                     # the default profile's 2619 and 1593 MHz
        guard = 0xA5A5A5A5
        arr = (ctypes.c_uint * (need + 1))(*([0] * (need - 1) + [guard, guard]))
        n = ctypes.c_uint(need - 1)
        assert lib.nvmlDeviceGetSupportedMemoryClocks(h, ctypes.byref(n), arr) == NVML_ERROR_INSUFFICIENT_SIZE
        assert n.value == need and list(arr)[need - 1:] == [guard, guard]     # nothing written past
        n = ctypes.c_uint(need)
        assert lib.nvmlDeviceGetSupportedMemoryClocks(h, ctypes.byref(n), arr) == 0
        assert n.value == need and list(arr)[:need] == [2619, 1593]
    finally:
        lib.nvmlShutdown()


def test_a_string_needs_room_for_its_nul():
    lib = ctypes.CDLL(str(SIM_LIBRARY))
    assert lib.nvmlInit_v2() == 0
    try:
        h = ctypes.c_void_p()
        assert lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(h)) == 0
        name = b"NVIDIA H100 80GB HBM3"                     # the default profile's
        buf = ctypes.create_string_buffer(b"\xa5" * (len(name) + 2))
        assert lib.nvmlDeviceGetName(h, buf, len(name)) == NVML_ERROR_INSUFFICIENT_SIZE
        assert buf.raw[len(name)] == 0xA5                    # no NUL written past the length given
        assert lib.nvmlDeviceGetName(h, buf, len(name) + 1) == 0 and buf.value == name
    finally:
        lib.nvmlShutdown()


def test_shutdown_without_init_is_uninitialized():
    # ours counts its own inits and never calls it so; nvidia-ml-py's nvmlShutdown does
    lib = ctypes.CDLL(str(SIM_LIBRARY))
    assert lib.nvmlInit_v2() == 0
    assert lib.nvmlShutdown() == 0
    assert lib.nvmlShutdown() == 1                          # NVML_ERROR_UNINITIALIZED
