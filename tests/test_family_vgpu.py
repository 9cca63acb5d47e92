"""vGPU type and instance getters: their ids are plain unsigned ints, and the simulator
keeps their data under "system", keyed by the id."""
import pytest

import pynvml

pytestmark = pytest.mark.simulator

TYPE, INST = 7, 3001


@pytest.fixture
def vgpu(default_profile, use_profile):
    s = default_profile["system"]
    t = str(TYPE)
    s.update({
        "nvmlVgpuTypeGetGpuInstanceProfileId": {t: 19},
        "nvmlVgpuTypeGetDeviceID": {t: [0x2330, "0x16C110DE"]},
        "nvmlVgpuTypeGetFramebufferSize": {t: "21474836480"},
        "nvmlVgpuTypeGetNumDisplayHeads": {t: 4},
        "nvmlVgpuTypeGetLicense": {t: "NVIDIA-vComputeServer,9.0"},
        "nvmlVgpuTypeGetFrameRateLimit": {t: 60},
        "nvmlVgpuTypeGetGspHeapSize": {t: 16777216},
        "nvmlVgpuTypeGetFbReservation": {t: 0},
        "nvmlVgpuTypeGetMaxInstancesPerVm": {t: 1},
        "nvmlVgpuTypeGetBAR1Info": {t: {"bar1Size": 268435456}},
        "nvmlVgpuInstanceGetUUID": {str(INST): "9e4c4a3c-0000-1111-2222-333344445555"},
        "nvmlVgpuInstanceGetType": {str(INST): TYPE},
        "nvmlVgpuInstanceGetFbUsage": {str(INST): 1048576},
        "nvmlVgpuInstanceGetEccMode": {str(INST): {"error": "NVML_ERROR_NOT_SUPPORTED"}},
        "nvmlVgpuInstanceGetPlacementId": {str(INST): {"placementId": 5}},
    })
    default_profile["devices"][0]["nvmlVgpuTypeGetMaxInstances"] = {t: 4}
    use_profile(default_profile)
    pynvml.nvmlInit()
    yield pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml.nvmlShutdown()


def test_vgpu_type_getters(vgpu):
    assert pynvml.nvmlVgpuTypeGetGpuInstanceProfileId(TYPE) == 19
    assert pynvml.nvmlVgpuTypeGetDeviceID(TYPE) == (0x2330, 0x16C110DE)     # a tuple, as nvidia-ml-py's
    assert pynvml.nvmlVgpuTypeGetFramebufferSize(TYPE) == 20 << 30
    assert pynvml.nvmlVgpuTypeGetNumDisplayHeads(TYPE) == 4
    assert pynvml.nvmlVgpuTypeGetLicense(TYPE) == "NVIDIA-vComputeServer,9.0"
    assert pynvml.nvmlVgpuTypeGetFrameRateLimit(TYPE) == 60
    assert pynvml.nvmlVgpuTypeGetGspHeapSize(TYPE) == 16777216 and pynvml.nvmlVgpuTypeGetFbReservation(TYPE) == 0
    assert pynvml.nvmlVgpuTypeGetMaxInstancesPerVm(TYPE) == 1
    assert pynvml.nvmlVgpuTypeGetMaxInstances(vgpu, TYPE) == 4
    bar1 = pynvml.nvmlVgpuTypeGetBAR1Info(TYPE)
    assert bar1.version == pynvml.VgpuTypeBar1Info_v1 and bar1.bar1Size == 256 << 20
    with pytest.raises(pynvml.NVMLError_InvalidArgument):          # an id the profile does not know
        pynvml.nvmlVgpuTypeGetNumDisplayHeads(TYPE + 1)
    with pytest.raises(pynvml.NVMLError_NotSupported):             # no data at all
        pynvml.nvmlVgpuInstanceGetLicenseStatus(INST)


def test_vgpu_instance_getters(vgpu):
    assert pynvml.nvmlVgpuInstanceGetUUID(INST) == "9e4c4a3c-0000-1111-2222-333344445555"
    assert pynvml.nvmlVgpuInstanceGetType(INST) == TYPE
    assert pynvml.nvmlVgpuInstanceGetFbUsage(INST) == 1048576
    assert pynvml.nvmlVgpuInstanceGetPlacementId(INST) == 5
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlVgpuInstanceGetEccMode(INST)
    for bad in (None, -1, 2**32, "1", 1.5):
        with pytest.raises((TypeError, ValueError)):
            pynvml.nvmlVgpuInstanceGetType(bad)


def test_vgpu_getters_need_init():
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        pynvml.nvmlVgpuInstanceGetType(INST)
