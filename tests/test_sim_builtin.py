"""The built-in profiles a tool author needs (PYNVML_SIM_PROFILE=name; written by
tools/make_builtin_profiles.py): an 8-GPU NVSwitch box, a MIG-enabled H100, an A100, a
consumer GPU with fans and a display.  Enum values are checked against nvidia-ml-py's
constants (.ref), not against numbers of our own."""
import itertools
import subprocess
import sys

import pytest

import pynvml

from conftest import ROOT

pytestmark = pytest.mark.simulator

BUILT_IN = ["default", "vgpu-host", "hgx-h100-8", "h100-mig", "a100", "rtx4090", "h200"]


@pytest.fixture
def builtin(monkeypatch):
    def use(name):
        monkeypatch.setenv("PYNVML_SIM_PROFILE", name)
        pynvml.nvmlInit()
        return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    yield use
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


def test_the_built_in_profiles_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "make_builtin_profiles.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_loads_by_name_and_passes_the_check(name):
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "check", name], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(f"{name}: OK, "), r.stderr


def test_hgx_nvswitch_box(builtin, ref):
    gpus = builtin("hgx-h100-8")
    assert len(gpus) == 8
    assert len({pynvml.nvmlDeviceGetUUID(h) for h in gpus}) == 8
    assert len({pynvml.nvmlDeviceGetPciInfo(h).busId for h in gpus}) == 8
    for (i, a), (j, b) in itertools.permutations(enumerate(gpus), 2):
        assert pynvml.nvmlDeviceGetP2PStatus(a, b, ref.NVML_P2P_CAPS_INDEX_NVLINK) == ref.NVML_P2P_STATUS_OK
        level = pynvml.nvmlDeviceGetTopologyCommonAncestor(a, b)
        assert level == (ref.NVML_TOPOLOGY_NODE if i // 4 == j // 4 else ref.NVML_TOPOLOGY_SYSTEM)
    near = pynvml.nvmlDeviceGetTopologyNearestGpus(gpus[0], ref.NVML_TOPOLOGY_NODE)
    assert sorted(pynvml.nvmlDeviceGetIndex(h) for h in near) == [1, 2, 3]
    h = gpus[5]
    assert ref.NVML_NVLINK_MAX_LINKS >= 18
    for link in range(18):   # an H100 SXM's NVLinks
        assert pynvml.nvmlDeviceGetNvLinkState(h, link) == ref.NVML_FEATURE_ENABLED
        assert pynvml.nvmlDeviceGetNvLinkRemoteDeviceType(h, link) == ref.NVML_NVLINK_DEVICE_TYPE_SWITCH
        assert pynvml.nvmlDeviceGetNvLinkErrorCounter(h, link, ref.NVML_NVLINK_ERROR_DL_CRC_FLIT) == 0
        assert pynvml.nvmlDeviceGetNvLinkRemotePciInfo(h, link).busId.endswith(":00.0")
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetNvLinkState(h, 18)


def test_h100_with_mig_on_makes_instances(builtin):
    (gpu,) = builtin("h100-mig")
    assert pynvml.nvmlDeviceGetMigMode(gpu) == [1, 1]
    info = pynvml.nvmlDeviceGetGpuInstanceProfileInfo(gpu, pynvml.NVML_GPU_INSTANCE_PROFILE_3_SLICE)
    gi = pynvml.nvmlDeviceCreateGpuInstance(gpu, info.id)
    try:
        ci_info = pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(
            gi, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE, pynvml.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
        ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, ci_info.id)
        try:
            mig = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(gpu, 0)
            assert int(pynvml.nvmlDeviceIsMigDeviceHandle(mig).value) == 1   # a c_uint, as nvidia-ml-py's
            assert pynvml.nvmlDeviceGetName(mig).startswith("NVIDIA H100 80GB HBM3 MIG 3g.40gb")
        finally:
            pynvml.nvmlComputeInstanceDestroy(ci)
    finally:
        pynvml.nvmlGpuInstanceDestroy(gi)


def test_a100(builtin, ref):
    (gpu,) = builtin("a100")
    assert pynvml.nvmlDeviceGetName(gpu) == "NVIDIA A100-SXM4-80GB"
    assert pynvml.nvmlDeviceGetArchitecture(gpu) == ref.NVML_DEVICE_ARCH_AMPERE
    assert pynvml.nvmlDeviceGetCudaComputeCapability(gpu) == (8, 0)
    assert pynvml.nvmlDeviceGetMemoryInfo(gpu).total == 80 * 2**30
    assert pynvml.nvmlDeviceGetPowerManagementLimitConstraints(gpu) == [100000, 400000]


def test_consumer_gpu_with_fans_and_a_display(builtin, ref):
    (gpu,) = builtin("rtx4090")
    assert pynvml.nvmlDeviceGetName(gpu) == "NVIDIA GeForce RTX 4090"
    assert pynvml.nvmlDeviceGetBrand(gpu) == ref.NVML_BRAND_GEFORCE
    assert pynvml.nvmlDeviceGetArchitecture(gpu) == ref.NVML_DEVICE_ARCH_ADA
    assert pynvml.nvmlDeviceGetNumFans(gpu) == 2
    assert [pynvml.nvmlDeviceGetFanSpeed_v2(gpu, f) for f in range(2)] == [30, 31]
    assert pynvml.nvmlDeviceGetDisplayActive(gpu) == ref.NVML_FEATURE_ENABLED
    for getter in (pynvml.nvmlDeviceGetEccMode, pynvml.nvmlDeviceGetMigMode, pynvml.nvmlDeviceGetSerial):
        with pytest.raises(pynvml.NVMLError_NotSupported):
            getter(gpu)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlDeviceGetNvLinkState(gpu, 0)


def test_the_h200_captured_on_the_gpu_machine(builtin, ref):
    # sim/profiles/h200.json is `python -m pynvml._sim capture --anonymize` of the real H200:
    # what the real one answered comes back, through ours and through nvidia-ml-py alike
    import json
    captured = json.loads((ROOT / "sim" / "profiles" / "h200.json").read_text())["devices"][0]
    (h,) = builtin("h200")
    assert pynvml.nvmlDeviceGetName(h) == captured["nvmlDeviceGetName"] == "NVIDIA H200"
    assert pynvml.nvmlDeviceGetUUID(h) == "GPU-00000000-0000-4000-8000-000000000000"   # anonymized
    mem = pynvml.nvmlDeviceGetMemoryInfo(h)
    assert mem.total == captured["nvmlDeviceGetMemoryInfo"]["total"] and mem.total > 140 * 2**30
    assert pynvml.nvmlDeviceGetPciInfo(h).busId == captured["nvmlDeviceGetPciInfo_v3"]["busId"]
    ref.nvmlInit()
    try:
        rh = ref.nvmlDeviceGetHandleByIndex(0)
        for f in ("nvmlDeviceGetName", "nvmlDeviceGetVbiosVersion", "nvmlDeviceGetPowerManagementLimit",
                  "nvmlDeviceGetMaxPcieLinkGeneration", "nvmlDeviceGetCudaComputeCapability"):
            assert getattr(pynvml, f)(h) == getattr(ref, f)(rh), f
    finally:
        ref.nvmlShutdown()
