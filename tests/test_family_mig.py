"""MIG: GPU instances (GIs) and compute instances (CIs) on the simulator's model of an
H100 80GB (sim/entry_points_mig.c, sim/profiles/extras/mig.json): profiles, placements,
creating and destroying instances, remaining capacity, MIG device handles, the errors a
GPU gives, and nvidia-ml-py's calling conventions (ctypes arrays and counts).

Everything that creates or destroys an instance is `mutates`: never run on a real GPU.
"""
import ctypes
import json

import pytest

import pynvml
from conftest import of_class
simulator = pytest.mark.simulator
mutates = pytest.mark.mutates

P1G, P1G_ME, P1G20, P2G, P3G, P4G, P7G = 19, 20, 15, 14, 9, 5, 0     # GI profile ids of an H100
GI_PROFILES = {   # NVML_GPU_INSTANCE_PROFILE_* -> (id, name, slices, instances, SMs, memory MB, placements, size)
    0: (P1G, "MIG 1g.10gb", 1, 7, 16, 9984, [0, 1, 2, 3, 4, 5, 6], 1),
    1: (P2G, "MIG 2g.20gb", 2, 3, 32, 20096, [0, 2, 4], 2),
    2: (P3G, "MIG 3g.40gb", 3, 2, 60, 40448, [0, 4], 4),
    3: (P4G, "MIG 4g.40gb", 4, 1, 64, 40448, [0], 4),
    4: (P7G, "MIG 7g.80gb", 7, 1, 132, 81152, [0], 8),
    7: (P1G_ME, "MIG 1g.10gb+me", 1, 1, 16, 9984, [0, 1, 2, 3, 4, 5, 6], 1),
    9: (P1G20, "MIG 1g.20gb", 1, 4, 16, 20096, [0, 2, 4, 6], 2),
}


def start(use_profile, profile, mig=(1, 1)):
    """Devices of `profile` with GPU 0's MIG mode (current, pending) set; nvmlInit done."""
    if mig is not None:
        profile["devices"][0]["nvmlDeviceGetMigMode"] = list(mig)
    use_profile(profile)
    pynvml.nvmlInit()
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]


@pytest.fixture
def h(default_profile, use_profile):
    """MIG on for GPU 0 (off for GPU 1), a freshly loaded profile: no instances."""
    return start(use_profile, default_profile)


def caps(dev):
    return {pid: pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity(dev, pid)
            for pid in (P1G, P2G, P3G, P4G, P7G, P1G_ME, P1G20)}


def placement(cls, start, size):
    p = cls()
    p.start, p.size = start, size
    return p


# --- profiles ----------------------------------------------------------------------------------

@simulator
def test_gpu_instance_profiles(h):
    for index, (pid, name, slices, count, sms, mem, starts, size) in GI_PROFILES.items():
        for dev in h:                                       # MIG off (GPU 1) answers the same
            info = pynvml.nvmlDeviceGetGpuInstanceProfileInfo(dev, index)
            assert of_class(info, pynvml.c_nvmlGpuInstanceProfileInfo_v2_t)
            assert (info.id, info.name, info.sliceCount, info.instanceCount, info.multiprocessorCount,
                    info.memorySizeMB) == (pid, name, slices, count, sms, mem)
            assert info.version == pynvml.nvmlGpuInstanceProfileInfo_v2
            v1 = pynvml.nvmlDeviceGetGpuInstanceProfileInfo(dev, index, version=1)
            assert of_class(v1, pynvml.c_nvmlGpuInstanceProfileInfo_t)
            assert (v1.id, v1.sliceCount, v1.memorySizeMB) == (pid, slices, mem)
            assert pynvml.nvmlDeviceGetGpuInstanceProfileInfoV(dev, index) == info
            assert pynvml.nvmlDeviceGetGpuInstanceProfileInfoById(dev, pid) == info
            got = pynvml.nvmlDeviceGetGpuInstancePossiblePlacements(dev, pid)
            assert [(p.start, p.size) for p in got] == [(s, size) for s in starts]
            assert all(of_class(p, pynvml.c_nvmlGpuInstancePlacement_t) for p in got)
    d = h[0]
    with pytest.raises(pynvml.NVMLError_NotSupported):       # 8-slice: no such profile on an H100
        pynvml.nvmlDeviceGetGpuInstanceProfileInfo(d, pynvml.NVML_GPU_INSTANCE_PROFILE_8_SLICE)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetGpuInstanceProfileInfo(d, pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT)
    for version in (0, 3, None):                            # nvidia-ml-py knows versions 1 and 2
        with pytest.raises(pynvml.NVMLError_FunctionNotFound):
            pynvml.nvmlDeviceGetGpuInstanceProfileInfo(d, 0, version)
    for bad_id in (1, 2, 3, 4, 99):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceGetGpuInstanceProfileInfoById(d, bad_id)
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceGetGpuInstancePossiblePlacements(d, bad_id)


@simulator
def test_profiles_agree_with_the_recorded_h100(h, reference_data):
    """What nvidia-ml-py returned on the real H100 (MIG off) for the recorded calls."""
    calls = json.loads((reference_data / "h100" / "nvidia-ml-py.json").read_text())["calls"]
    fns = {"nvmlDeviceGetGpuInstanceProfileInfo": pynvml.nvmlDeviceGetGpuInstanceProfileInfo,
           "nvmlDeviceGetGpuInstanceProfileInfoV": pynvml.nvmlDeviceGetGpuInstanceProfileInfoV,
           "nvmlDeviceGetGpuInstanceProfileInfoById": pynvml.nvmlDeviceGetGpuInstanceProfileInfoById,
           "nvmlDeviceGetGpuInstanceRemainingCapacity": pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity,
           "nvmlDeviceGetGpuInstanceById": pynvml.nvmlDeviceGetGpuInstanceById,
           "nvmlDeviceGetMaxMigDeviceCount": pynvml.nvmlDeviceGetMaxMigDeviceCount,
           "nvmlDeviceGetMigDeviceHandleByIndex": pynvml.nvmlDeviceGetMigDeviceHandleByIndex,
           "nvmlDeviceGetGpuInstanceId": pynvml.nvmlDeviceGetGpuInstanceId,
           "nvmlDeviceGetComputeInstanceId": pynvml.nvmlDeviceGetComputeInstanceId,
           "nvmlDeviceGetDeviceHandleFromMigDeviceHandle": pynvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle}
    checked = 0
    for call, rec in calls.items():
        name, _, args = call.partition("(")
        if name not in fns:
            continue
        ints = [int(a) for a in args.rstrip(")").split(",")[1:]]
        dev = h[1]                                          # GPU 1: MIG off, as the H100 was
        if "error" in rec:
            with pytest.raises(pynvml.NVMLError) as ei:
                fns[name](dev, *ints)
            assert ei.value.value == rec["code"], call
        else:
            got = fns[name](dev, *ints)
            want = rec["value"]
            if isinstance(want, dict):
                for k, v in want.items():
                    if k not in ("__class__", "version"):
                        assert getattr(got, k) == v, (call, k)
            else:
                assert got == want, call
        checked += 1
    assert checked >= 40


@simulator
@mutates
def test_compute_instance_profiles(h):
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P7G)
    # SMs: an even share of the GI's (the model's rule; the H100's own split is not recorded)
    want = {0: (1, 7, 18, "MIG 1c.7g.80gb"), 1: (2, 3, 36, "MIG 2c.7g.80gb"), 2: (3, 2, 56, "MIG 3c.7g.80gb"),
            3: (4, 1, 74, "MIG 4c.7g.80gb"), 4: (7, 1, 132, "MIG 7g.80gb")}
    for index, (slices, count, sms, name) in want.items():
        info = pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, index, pynvml.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
        assert of_class(info, pynvml.c_nvmlComputeInstanceProfileInfo_v2_t)
        assert (info.id, info.sliceCount, info.instanceCount, info.multiprocessorCount, info.name) == \
            (index, slices, count, sms, name)
        assert (info.sharedCopyEngineCount, info.sharedDecoderCount, info.sharedJpegCount, info.sharedOfaCount) == (8, 7, 7, 1)
        assert pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, index, 0) == info
        v1 = pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, index, 0, 1)
        assert of_class(v1, pynvml.c_nvmlComputeInstanceProfileInfo_t) and (v1.id, v1.sliceCount) == (index, slices)
        assert pynvml.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, index) == count
    starts = {0: [0, 1, 2, 3, 4, 5, 6], 1: [0, 2, 4], 2: [0, 4], 3: [0], 4: [0]}
    for index, s in starts.items():
        got = pynvml.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, index)
        assert [(p.start, p.size) for p in got] == [(x, want[index][0]) for x in s]
        assert all(of_class(p, pynvml.c_nvmlComputeInstancePlacement_t) for p in got)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):      # only the shared engine profile
        pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, 1)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_8_SLICE, 0)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_COUNT, 0)
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, 0, 0, 3)


# --- MIG off, and faults -----------------------------------------------------------------------

@simulator
@mutates
def test_mig_off(default_profile, use_profile):
    """GPU 0 with MIG pending (not current) and GPU 1 off: nothing can be created (NVML's
    documented NOT_SUPPORTED); the queries answer as the H100 did with MIG off."""
    h = start(use_profile, default_profile, mig=(0, 1))
    for d in h:
        assert pynvml.nvmlDeviceGetMigMode(d)[0] == 0
        with pytest.raises(pynvml.NVMLError_NotSupported):
            pynvml.nvmlDeviceCreateGpuInstance(d, P1G)
        with pytest.raises(pynvml.NVMLError_NotSupported):
            pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P1G, placement(pynvml.c_nvmlGpuInstancePlacement_t, 0, 1))
        assert pynvml.nvmlDeviceGetGpuInstances(d, P1G) == []
        with pytest.raises(pynvml.NVMLError_NotFound):
            pynvml.nvmlDeviceGetGpuInstanceById(d, 7)
        assert caps(d) == {P1G: 7, P2G: 3, P3G: 2, P4G: 1, P7G: 1, P1G_ME: 1, P1G20: 4}
        assert pynvml.nvmlDeviceGetMaxMigDeviceCount(d) == 0
        with pytest.raises(pynvml.NVMLError_NotFound):
            pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, 0)
        assert not pynvml.nvmlDeviceIsMigDeviceHandle(d)
        for fn in (pynvml.nvmlDeviceGetGpuInstanceId, pynvml.nvmlDeviceGetComputeInstanceId,
                   pynvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle):
            with pytest.raises(pynvml.NVMLError_InvalidArgument):
                fn(d)


@simulator
@mutates
def test_faults_from_the_profile(default_profile, use_profile):
    prof = default_profile
    prof["devices"][0]["nvmlDeviceCreateGpuInstance"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    prof["devices"][0]["nvmlGpuInstanceDestroy"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    prof["devices"][0]["nvmlDeviceGetGpuInstanceRemainingCapacity"] = {"error": "NVML_ERROR_UNKNOWN"}
    prof["devices"][1]["nvmlDeviceGetMigMode"] = {"error": "NVML_ERROR_NOT_SUPPORTED"}
    del prof["devices"][1]["mig"]                              # a GPU without MIG
    h = start(use_profile, prof)
    with pytest.raises(pynvml.NVMLError_NoPermission):
        pynvml.nvmlDeviceCreateGpuInstance(h[0], P1G)
    with pytest.raises(pynvml.NVMLError_Unknown):
        pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity(h[0], P1G)
    gi = pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(h[0], P1G, placement(pynvml.c_nvmlGpuInstancePlacement_t, 3, 1))
    with pytest.raises(pynvml.NVMLError_NoPermission):
        pynvml.nvmlGpuInstanceDestroy(gi)
    assert pynvml.nvmlDeviceGetGpuInstances(h[0], P1G) == [gi]          # still there
    for fn, args in ((pynvml.nvmlDeviceCreateGpuInstance, (P1G,)),
                     (pynvml.nvmlDeviceGetGpuInstanceProfileInfo, (0,)),
                     (pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity, (P1G,)),
                     (pynvml.nvmlDeviceGetGpuInstances, (P1G,)),
                     (pynvml.nvmlDeviceGetGpuInstancePossiblePlacements, (P1G,))):
        with pytest.raises(pynvml.NVMLError_NotSupported):
            fn(h[1], *args)
    assert pynvml.nvmlDeviceGetMaxMigDeviceCount(h[1]) == 0


# --- GPU instances -----------------------------------------------------------------------------

@simulator
@mutates
def test_gpu_instance_round_trip(h):
    d = h[0]
    assert pynvml.nvmlDeviceGetGpuInstances(d, P1G) == []
    gi = pynvml.nvmlDeviceCreateGpuInstance(d, P1G)
    assert type(gi) is pynvml.c_nvmlGpuInstance_t
    info = pynvml.nvmlGpuInstanceGetInfo(gi)
    assert of_class(info, pynvml.c_nvmlGpuInstanceInfo_t)
    # the highest free placement first, its id the buddy-tree node (eighths are 7..14)
    assert (info.device, info.id, info.profileId, info.placement.start, info.placement.size) == (d, 13, P1G, 6, 1)
    assert pynvml.nvmlDeviceGetGpuInstances(d, P1G) == [gi]
    assert pynvml.nvmlDeviceGetGpuInstances(d, P2G) == []
    assert pynvml.nvmlDeviceGetGpuInstanceById(d, 13) == gi
    assert caps(d)[P1G] == 6
    gi2 = pynvml.nvmlDeviceCreateGpuInstance(d, P1G)
    assert pynvml.nvmlGpuInstanceGetInfo(gi2).id == 12 and gi2 != gi
    assert set(pynvml.nvmlDeviceGetGpuInstances(d, P1G)) == {gi, gi2}
    assert pynvml.nvmlGpuInstanceDestroy(gi) == pynvml.NVML_SUCCESS
    assert pynvml.nvmlDeviceGetGpuInstances(d, P1G) == [gi2]
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetGpuInstanceById(d, 13)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):       # destroyed twice
        pynvml.nvmlGpuInstanceDestroy(gi)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlGpuInstanceGetInfo(gi)
    pynvml.nvmlGpuInstanceDestroy(gi2)
    assert caps(d) == {P1G: 7, P2G: 3, P3G: 2, P4G: 1, P7G: 1, P1G_ME: 1, P1G20: 4}
    assert pynvml.nvmlDeviceGetGpuInstances(h[1], P1G) == []   # the other GPU has none


@simulator
@mutates
def test_remaining_capacity_goes_down(h):
    d = h[0]
    seen = []
    for i in range(7):
        seen.append(caps(d)[P1G])
        pynvml.nvmlDeviceCreateGpuInstance(d, P1G)
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert caps(d) == {P1G: 0, P2G: 0, P3G: 0, P4G: 0, P7G: 0, P1G_ME: 0, P1G20: 0}
    with pytest.raises(pynvml.NVMLError_InsufficientResources):
        pynvml.nvmlDeviceCreateGpuInstance(d, P1G)
    ids = sorted(pynvml.nvmlGpuInstanceGetInfo(g).id for g in pynvml.nvmlDeviceGetGpuInstances(d, P1G))
    assert ids == list(range(7, 14))
    for g in pynvml.nvmlDeviceGetGpuInstances(d, P1G):
        pynvml.nvmlGpuInstanceDestroy(g)
    # a 4g and a 3g fill the GPU (7 compute slices, 8 memory slices)
    g4 = pynvml.nvmlDeviceCreateGpuInstance(d, P4G)
    assert caps(d) == {P1G: 3, P2G: 1, P3G: 1, P4G: 0, P7G: 0, P1G_ME: 1, P1G20: 2}
    g3 = pynvml.nvmlDeviceCreateGpuInstance(d, P3G)
    assert [(i.placement.start, i.placement.size, i.id) for i in map(pynvml.nvmlGpuInstanceGetInfo, (g4, g3))] == \
        [(0, 4, 1), (4, 4, 2)]
    assert set(caps(d).values()) == {0}
    # two 3g leave one compute slice but no memory
    pynvml.nvmlGpuInstanceDestroy(g4)
    pynvml.nvmlDeviceCreateGpuInstance(d, P3G)
    assert set(caps(d).values()) == {0}


@simulator
@mutates
def test_instance_count_of_a_profile_limits_it(h):
    d = h[0]
    pynvml.nvmlDeviceCreateGpuInstance(d, P1G_ME)                    # one +me instance at most
    assert caps(d)[P1G_ME] == 0 and caps(d)[P1G] == 6
    with pytest.raises(pynvml.NVMLError_InsufficientResources):
        pynvml.nvmlDeviceCreateGpuInstance(d, P1G_ME)
    pynvml.nvmlDeviceCreateGpuInstance(d, P1G)


@simulator
@mutates
def test_placements(h):
    d = h[0]
    P = pynvml.c_nvmlGpuInstancePlacement_t
    g = pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P2G, placement(P, 2, 2))
    info = pynvml.nvmlGpuInstanceGetInfo(g)
    assert (info.id, info.placement.start, info.placement.size) == (4, 2, 2)       # quarters are 3..6
    with pytest.raises(pynvml.NVMLError_InsufficientResources):    # overlaps the 2g
        pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P1G, placement(P, 3, 1))
    with pytest.raises(pynvml.NVMLError_InsufficientResources):
        pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P3G, placement(P, 0, 4))
    with pytest.raises(pynvml.NVMLError_InvalidArgument):          # no 2g placement starts at 1
        pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P2G, placement(P, 1, 2))
    with pytest.raises(pynvml.NVMLError_InvalidArgument):          # nor is a 2g one slice
        pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P2G, placement(P, 4, 1))
    g3 = pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P3G, placement(P, 4, 4))
    assert pynvml.nvmlGpuInstanceGetInfo(g3).id == 2
    g1 = pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P1G, placement(P, 0, 1))
    assert pynvml.nvmlGpuInstanceGetInfo(g1).id == 7
    # the placements a profile has do not depend on what is taken
    assert len(pynvml.nvmlDeviceGetGpuInstancePossiblePlacements(d, P1G)) == 7
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P1G, pynvml.c_nvmlComputeInstancePlacement_t())
    with pytest.raises(TypeError):
        pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(d, P1G, (1, 1))


@simulator
@mutates
def test_bad_profile_ids(h):
    d = h[0]
    for pid in (1, 2, 99, 2**32 - 1):
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceCreateGpuInstance(d, pid)
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceGetGpuInstances(d, pid)
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity(d, pid)
    for bad in (-1, 2**32):
        with pytest.raises(ValueError):
            pynvml.nvmlDeviceCreateGpuInstance(d, bad)
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetGpuInstanceById(d, 99)


# --- compute instances -------------------------------------------------------------------------

@simulator
@mutates
def test_compute_instance_round_trip(h):
    d = h[0]
    gi = pynvml.nvmlDeviceCreateGpuInstance(d, P7G)
    assert pynvml.nvmlGpuInstanceGetComputeInstances(gi, 0) == []
    ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 0)
    assert type(ci) is pynvml.c_nvmlComputeInstance_t
    for get in (pynvml.nvmlComputeInstanceGetInfo, pynvml.nvmlComputeInstanceGetInfo_v2):
        info = get(ci)
        assert of_class(info, pynvml.c_nvmlComputeInstanceInfo_t)
        assert (info.device, info.gpuInstance, info.id, info.profileId, info.placement.start, info.placement.size) == \
            (d, gi, 0, 0, 0, 1)
    assert pynvml.nvmlGpuInstanceGetComputeInstances(gi, 0) == [ci]
    assert pynvml.nvmlGpuInstanceGetComputeInstanceById(gi, 0) == ci
    assert pynvml.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 0) == 6
    assert pynvml.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 4) == 0       # 7c needs all
    ci2 = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 1)           # 2c: the lowest free, 2-3
    assert (pynvml.nvmlComputeInstanceGetInfo(ci2).id, pynvml.nvmlComputeInstanceGetInfo(ci2).placement.start) == (1, 2)
    assert pynvml.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, 0) == 4
    with pytest.raises(pynvml.NVMLError_InUse):                         # CIs go first
        pynvml.nvmlGpuInstanceDestroy(gi)
    assert pynvml.nvmlComputeInstanceDestroy(ci) == pynvml.NVML_SUCCESS
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # destroyed twice
        pynvml.nvmlComputeInstanceDestroy(ci)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlComputeInstanceGetInfo(ci)
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlGpuInstanceGetComputeInstanceById(gi, 0)
    with pytest.raises(pynvml.NVMLError_InUse):
        pynvml.nvmlGpuInstanceDestroy(gi)
    pynvml.nvmlComputeInstanceDestroy(ci2)
    pynvml.nvmlGpuInstanceDestroy(gi)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # its GI is gone
        pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 0)


@simulator
@mutates
def test_compute_instance_placements_and_limits(h):
    d = h[0]
    P = pynvml.c_nvmlComputeInstancePlacement_t
    gi = pynvml.nvmlDeviceCreateGpuInstance(d, P3G)
    assert [(p.start, p.size) for p in pynvml.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, 0)] == \
        [(0, 1), (1, 1), (2, 1)]
    with pytest.raises(pynvml.NVMLError_NotSupported):                 # a 4c in a 3g
        pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 3)
    c1 = pynvml.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, placement(P, 2, 1))
    assert pynvml.nvmlComputeInstanceGetInfo(c1).placement.start == 2
    with pytest.raises(pynvml.NVMLError_InsufficientResources):        # a 3c needs all three
        pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 2)
    with pytest.raises(pynvml.NVMLError_InsufficientResources):
        pynvml.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, placement(P, 2, 1))
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # no such placement
        pynvml.nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, placement(P, 3, 1))
    c2 = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 1)            # the 2c at 0
    assert pynvml.nvmlComputeInstanceGetInfo(c2).placement.start == 0
    assert [pynvml.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi, p) for p in (0, 1, 2)] == [0, 0, 0]
    # each GI has its own compute slices
    gi2 = pynvml.nvmlDeviceCreateGpuInstance(d, P3G)
    assert pynvml.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(gi2, 2) == 1
    assert pynvml.nvmlGpuInstanceGetComputeInstances(gi2, 0) == []
    assert pynvml.nvmlGpuInstanceGetComputeInstances(gi, 0) == [c1]
    # a 4g: 1-, 2- and 4-slice CIs, no 3-slice one
    for g in (gi, gi2):
        for c in pynvml.nvmlGpuInstanceGetComputeInstances(g, 0) + pynvml.nvmlGpuInstanceGetComputeInstances(g, 1):
            pynvml.nvmlComputeInstanceDestroy(c)
        pynvml.nvmlGpuInstanceDestroy(g)
    g4 = pynvml.nvmlDeviceCreateGpuInstance(d, P4G)
    assert [pynvml.nvmlGpuInstanceGetComputeInstanceRemainingCapacity(g4, p) for p in (0, 1, 3)] == [4, 2, 1]
    with pytest.raises(pynvml.NVMLError_NotSupported):
        pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(g4, 2, 0)


# --- MIG devices -------------------------------------------------------------------------------

@simulator
@mutates
def test_mig_device_handles_follow_the_instances(h):
    d = h[0]
    assert pynvml.nvmlDeviceGetMaxMigDeviceCount(d) == 7
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, 0)
    g3 = pynvml.nvmlDeviceCreateGpuInstance(d, P3G)                     # id 2 (placement 4)
    g2 = pynvml.nvmlDeviceCreateGpuInstanceWithPlacement(
        d, P2G, placement(pynvml.c_nvmlGpuInstancePlacement_t, 0, 2))     # id 3
    c30 = pynvml.nvmlGpuInstanceCreateComputeInstance(g3, 0)
    c31 = pynvml.nvmlGpuInstanceCreateComputeInstance(g3, 0)
    c20 = pynvml.nvmlGpuInstanceCreateComputeInstance(g2, 1)
    migs = [pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, i) for i in range(3)]
    assert all(type(m) is pynvml.c_nvmlDevice_t for m in migs) and len(set(migs)) == 3
    assert [(pynvml.nvmlDeviceGetGpuInstanceId(m), pynvml.nvmlDeviceGetComputeInstanceId(m)) for m in migs] == \
        [(2, 0), (2, 1), (3, 0)]
    for m in migs:
        assert pynvml.nvmlDeviceIsMigDeviceHandle(m).value == 1
        assert pynvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(m) == d
    assert pynvml.nvmlDeviceIsMigDeviceHandle(d).value == 0
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, 3)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # past the maximum
        pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, 7)
    with pytest.raises(pynvml.NVMLError_NotFound):                     # GPU 1 has MIG off
        pynvml.nvmlDeviceGetMigDeviceHandleByIndex(h[1], 0)
    pynvml.nvmlComputeInstanceDestroy(c31)
    assert [pynvml.nvmlDeviceGetComputeInstanceId(pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, i))
            for i in range(2)] == [0, 0]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # that MIG device is gone
        pynvml.nvmlDeviceGetGpuInstanceId(migs[1])
    for c in (c30, c20):
        pynvml.nvmlComputeInstanceDestroy(c)
    with pytest.raises(pynvml.NVMLError_NotFound):
        pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, 0)


@simulator
@mutates
def test_mig_devices_answer_the_device_getters(h):
    d = h[0]
    gi = pynvml.nvmlDeviceCreateGpuInstance(d, P3G)
    pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 1)                   # 2c: CI 0, slices 0-1
    ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 0)              # 1c: CI 1, slice 2
    m0, m1 = (pynvml.nvmlDeviceGetMigDeviceHandleByIndex(d, i) for i in range(2))
    assert pynvml.nvmlDeviceGetName(m0) == "NVIDIA H100 80GB HBM3 MIG 2c.3g.40gb"
    assert pynvml.nvmlDeviceGetName(m1) == "NVIDIA H100 80GB HBM3 MIG 1c.3g.40gb"
    u0, u1 = pynvml.nvmlDeviceGetUUID(m0), pynvml.nvmlDeviceGetUUID(m1)
    assert u0.startswith("MIG-") and len(u0) == len(pynvml.nvmlDeviceGetUUID(d)) and u0 != u1
    mem = pynvml.nvmlDeviceGetMemoryInfo(m1)
    assert (mem.total, mem.used, mem.free) == (40448 << 20, 0, 40448 << 20)     # the GI's memory
    assert pynvml.nvmlDeviceGetMemoryInfo(m0, version=pynvml.nvmlMemory_v2).total == 40448 << 20
    attr = pynvml.nvmlDeviceGetAttributes(m0)
    assert (attr.gpuInstanceSliceCount, attr.computeInstanceSliceCount, attr.memorySizeMB,
            attr.multiprocessorCount) == (3, 2, 40448, 40)
    assert pynvml.nvmlDeviceGetComputeRunningProcesses(m1) == []
    with pytest.raises(pynvml.NVMLError_NotSupported):                 # as on a MIG device
        pynvml.nvmlDeviceGetUtilizationRates(m1)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlDeviceGetIndex(m1)
    pynvml.nvmlComputeInstanceDestroy(ci)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # gone with its CI
        pynvml.nvmlDeviceGetName(m1)
    assert pynvml.nvmlDeviceGetName(m0).endswith("MIG 2c.3g.40gb")


@simulator
@mutates
def test_threads_creating_and_destroying(h):
    """The GIL is released around each call: threads racing for the 7 slices never get
    more, nor the same one twice."""
    import threading

    d, made, errors = h[0], [], []

    def work():
        try:
            for _ in range(200):
                try:
                    gi = pynvml.nvmlDeviceCreateGpuInstance(d, P1G)
                except pynvml.NVMLError_InsufficientResources:
                    continue
                made.append(pynvml.nvmlGpuInstanceGetInfo(gi).id)
                assert len(pynvml.nvmlDeviceGetGpuInstances(d, P1G)) <= 7
                pynvml.nvmlGpuInstanceDestroy(gi)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and made and set(made) <= set(range(7, 14))
    assert pynvml.nvmlDeviceGetGpuInstances(d, P1G) == [] and caps(d)[P1G] == 7


# --- handles and arguments ----------------------------------------------------------------------

@simulator
@mutates
def test_handle_kinds_are_refused_where_another_is_expected(h):
    d = h[0]
    gi = pynvml.nvmlDeviceCreateGpuInstance(d, P7G)
    ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 0)
    for fn, args in ((pynvml.nvmlGpuInstanceGetInfo, (ci,)), (pynvml.nvmlGpuInstanceDestroy, (ci,)),
                     (pynvml.nvmlGpuInstanceCreateComputeInstance, (ci, 0)),
                     (pynvml.nvmlGpuInstanceGetComputeInstances, (ci, 0)),
                     (pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo, (ci, 0, 0)),
                     (pynvml.nvmlComputeInstanceDestroy, (gi,)), (pynvml.nvmlComputeInstanceGetInfo, (gi,)),
                     (pynvml.nvmlGpuInstanceGetInfo, (d,)), (pynvml.nvmlComputeInstanceGetInfo, (d,)),
                     (pynvml.nvmlDeviceGetName, (gi,)), (pynvml.nvmlDeviceCreateGpuInstance, (gi, P1G)),
                     (pynvml.nvmlDeviceGetGpuInstances, (ci, P1G)),
                     (pynvml.nvmlGpuInstanceGetInfo, (None,)), (pynvml.nvmlGpuInstanceGetInfo, (0,))):
        with pytest.raises(TypeError):
            fn(*args)
    with pytest.raises(TypeError):
        pynvml.c_nvmlGpuInstance_t()
    # still both there
    assert pynvml.nvmlGpuInstanceGetComputeInstances(gi, 0) == [ci]


@simulator
@mutates
def test_instances_outlive_an_init_but_not_a_new_profile(default_profile, use_profile, tmp_path, monkeypatch):
    h = start(use_profile, default_profile)
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P2G)
    gid = pynvml.nvmlGpuInstanceGetInfo(gi).id
    pynvml.nvmlShutdown()
    pynvml.nvmlInit()
    with pytest.raises(pynvml.NVMLError_Uninitialized):                # the handle object is stale
        pynvml.nvmlGpuInstanceGetInfo(gi)
    d = pynvml.nvmlDeviceGetHandleByIndex(0)
    again = pynvml.nvmlDeviceGetGpuInstanceById(d, gid)                 # the instance is not
    assert pynvml.nvmlGpuInstanceGetInfo(again).profileId == P2G
    pynvml.nvmlShutdown()
    pynvml._nvml._release_now()   # NVML's real shutdown, not kept for a grace period
    other = tmp_path / "other.json"
    other.write_text(json.dumps(default_profile))
    monkeypatch.setenv("PYNVML_SIM_PROFILE", str(other))
    pynvml.nvmlInit()
    assert pynvml.nvmlDeviceGetGpuInstances(pynvml.nvmlDeviceGetHandleByIndex(0), P2G) == []


@simulator
@mutates
def test_instances_are_listed_and_the_helpers_stay_inside(default_profile, use_profile):
    """The instances made are listed; the simulator's own helpers (sim_mig_instance_count,
    for a MIG mode setter) are not exported beside NVML's entry points."""
    h = start(use_profile, default_profile)
    lib = ctypes.CDLL(pynvml._nvml._library_path())
    assert not hasattr(lib, "sim_mig_instance_count")
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P7G)
    pynvml.nvmlGpuInstanceCreateComputeInstance(gi, 0)
    assert pynvml.nvmlDeviceGetGpuInstances(h[0], P7G) == [gi]
    assert pynvml.nvmlDeviceGetGpuInstances(h[1], P7G) == []


# --- nvidia-ml-py's conventions -----------------------------------------------------------------

@simulator
@mutates
def test_ctypes_arrays_and_counts(h):
    d = h[0]
    GI = ctypes.POINTER(pynvml.struct_c_nvmlGpuInstance_t)
    gis = [pynvml.nvmlDeviceCreateGpuInstance(d, P1G) for _ in range(3)]
    arr, count = (GI * 7)(), ctypes.c_uint(99)
    assert pynvml.nvmlDeviceGetGpuInstances(d, P1G, arr, ctypes.byref(count)) == pynvml.NVML_SUCCESS
    assert count.value == 3
    assert sorted(ctypes.cast(arr[i], ctypes.c_void_p).value for i in range(3)) == sorted(g.value for g in gis)
    assert not arr[3]
    # the ctypes pointers are handles to ours
    assert sorted(pynvml.nvmlGpuInstanceGetInfo(arr[i]).id for i in range(3)) == [11, 12, 13]
    count2 = ctypes.c_uint()
    assert pynvml.nvmlDeviceGetGpuInstances(d, P1G, ctypes.byref(arr), ctypes.pointer(count2)) == 0
    assert count2.value == 3
    with pytest.raises(pynvml.NVMLError_InsufficientSize):             # NVML would write past it
        pynvml.nvmlDeviceGetGpuInstances(d, P1G, (GI * 2)(), ctypes.byref(count))
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # a NULL array, as NVML says
        pynvml.nvmlDeviceGetGpuInstances(d, P1G, None, ctypes.byref(count))
    with pytest.raises(pynvml.NVMLError_InvalidArgument):              # a NULL count
        pynvml.nvmlDeviceGetGpuInstances(d, P1G, arr, None)
    # placements: a NULL array asks for the count
    n = ctypes.c_uint()
    assert pynvml.nvmlDeviceGetGpuInstancePossiblePlacements(d, P2G, None, ctypes.byref(n)) == 0 and n.value == 3

    class Placement(ctypes.Structure):
        _fields_ = [("start", ctypes.c_uint), ("size", ctypes.c_uint)]

    places = (Placement * n.value)()
    assert pynvml.nvmlDeviceGetGpuInstancePossiblePlacements(d, P2G, places, ctypes.byref(n)) == 0
    assert [(p.start, p.size) for p in places] == [(0, 2), (2, 2), (4, 2)]
    # compute instances, the same way
    ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gis[0], 0)
    carr, cn = (ctypes.POINTER(pynvml.struct_c_nvmlComputeInstance_t) * 1)(), ctypes.c_uint()
    assert pynvml.nvmlGpuInstanceGetComputeInstances(gis[0], 0, carr, ctypes.byref(cn)) == 0
    assert cn.value == 1 and ctypes.cast(carr[0], ctypes.c_void_p).value == ci.value
    assert pynvml.nvmlComputeInstanceGetInfo(carr[0]).gpuInstance == gis[0]
    assert pynvml.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gis[0], 0, None, ctypes.byref(cn)) == 0
    assert cn.value == 1
    for bad in (b"\0" * 64, "x", 5, [0] * 8, ctypes.c_uint8()):
        with pytest.raises((TypeError, ValueError)):
            pynvml.nvmlDeviceGetGpuInstances(d, P1G, bad, ctypes.byref(count))
        with pytest.raises((TypeError, ValueError)):
            pynvml.nvmlDeviceGetGpuInstances(d, P1G, arr, bad)


@simulator
@mutates
def test_nvidia_ml_py_agrees(h, ref):
    """nvidia-ml-py, on the same simulated NVML: instances either library made are the
    same to the other, and the profile infos are field for field the same."""
    ref.nvmlInit()
    try:
        rd = ref.nvmlDeviceGetHandleByIndex(0)
        rgi = ref.nvmlDeviceCreateGpuInstance(rd, P3G)
        gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P1G)
        for index in GI_PROFILES:
            for v in (1, 2):
                a = pynvml.nvmlDeviceGetGpuInstanceProfileInfo(h[0], index, v)
                b = ref.nvmlDeviceGetGpuInstanceProfileInfo(rd, index, v)
                assert [getattr(a, f) for f, _ in a._fields_] == [getattr(b, f) for f, _ in b._fields_]
        assert ref.nvmlGpuInstanceGetInfo(rgi).id == pynvml.nvmlGpuInstanceGetInfo(rgi).id == 2
        ours_view = ctypes.cast(ctypes.c_void_p(gi.value), type(rgi))
        assert ref.nvmlGpuInstanceGetInfo(ours_view).id == 10      # 1g: the highest slice the 3g left
        for index in range(5):
            for v in (1, 2):
                a = pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(rgi, index, 0, v) if index < 3 else None
                try:
                    b = ref.nvmlGpuInstanceGetComputeInstanceProfileInfo(rgi, index, 0, v)
                except ref.NVMLError_NotSupported:
                    b = None
                if a is None or b is None:
                    assert a is None and b is None, index
                else:
                    assert [getattr(a, f) for f, _ in a._fields_] == [getattr(b, f) for f, _ in b._fields_]
        arr, n = (type(rgi) * 2)(), ctypes.c_uint()
        ref.nvmlDeviceGetGpuInstances(rd, P3G, arr, ctypes.byref(n))
        assert n.value == 1 and pynvml.nvmlDeviceGetGpuInstances(h[0], P3G)[0].value == ctypes.cast(arr[0], ctypes.c_void_p).value
        assert ref.nvmlDeviceGetGpuInstanceRemainingCapacity(rd, P3G) == pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity(h[0], P3G) == 0
        rci = ref.nvmlGpuInstanceCreateComputeInstance(rgi, 0)
        assert ref.nvmlComputeInstanceGetInfo(rci).id == pynvml.nvmlComputeInstanceGetInfo(rci).id == 0
        assert ref.nvmlDeviceGetMaxMigDeviceCount(rd) == 7
        with pytest.raises(ref.NVMLError_InUse):
            ref.nvmlGpuInstanceDestroy(rgi)
        assert ref.nvmlComputeInstanceDestroy(rci) == 0 and ref.nvmlGpuInstanceDestroy(rgi) == 0
        with pytest.raises(pynvml.NVMLError_InvalidArgument):
            pynvml.nvmlGpuInstanceDestroy(rgi)
    finally:
        ref.nvmlShutdown()


# --- vGPU on a GPU instance ---------------------------------------------------------------------

VGPU_HOST = {"nvmlGpuInstanceGetVgpuHeterogeneousMode": {"mode": 1},
             "nvmlGpuInstanceGetActiveVgpus": [3001, 3002],
             "nvmlGpuInstanceGetCreatableVgpus": [7, 8, 9],
             "nvmlGpuInstanceGetVgpuTypeCreatablePlacements": {"7": {"placementIds": [0, 4], "placementSize": 4},
                                                              "8": {"placementIds": [], "placementSize": 8}},
             "nvmlGpuInstanceGetVgpuSchedulerState": {"schedulerPolicy": 2, "arrMode": 0, "timeslice": 2000},
             "nvmlGpuInstanceGetVgpuSchedulerLog": {}}


@simulator
@mutates
def test_vgpu_heterogeneous_mode_of_a_gpu_instance(default_profile, use_profile):
    default_profile["devices"][0].update(VGPU_HOST)
    h = start(use_profile, default_profile)
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P3G)
    gi2 = pynvml.nvmlDeviceCreateGpuInstance(h[0], P3G)
    assert pynvml.nvmlGpuInstanceGetVgpuHeterogeneousMode(gi) == 1
    assert pynvml.nvmlGpuInstanceSetVgpuHeterogeneousMode(gi, 0) == pynvml.NVML_SUCCESS
    assert pynvml.nvmlGpuInstanceGetVgpuHeterogeneousMode(gi) == 0
    assert pynvml.nvmlGpuInstanceGetVgpuHeterogeneousMode(gi2) == 1          # each GI its own
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlGpuInstanceSetVgpuHeterogeneousMode(gi, 2)
    for bad in (-1, 2**32, None, "1"):
        with pytest.raises((TypeError, ValueError)):
            pynvml.nvmlGpuInstanceSetVgpuHeterogeneousMode(gi, bad)
    with pytest.raises(TypeError):
        pynvml.nvmlGpuInstanceSetVgpuHeterogeneousMode(h[0], 0)


@simulator
@mutates
def test_vgpu_scheduler_of_a_gpu_instance(default_profile, use_profile):
    default_profile["devices"][0].update(VGPU_HOST)
    h = start(use_profile, default_profile)
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P7G)
    info = pynvml.c_nvmlVgpuSchedulerStateInfo_v1_t()
    info.version = pynvml.nvmlVgpuSchedulerStateInfo_v1
    got = pynvml.nvmlGpuInstanceGetVgpuSchedulerState(gi, info)
    assert got is info                                         # filled in place and returned
    assert (info.schedulerPolicy, info.arrMode, info.schedulerParams.vgpuSchedData.timeslice) == (2, 0, 2000)
    state = pynvml.c_nvmlVgpuSchedulerState_v1_t()
    state.version = pynvml.nvmlVgpuSchedulerState_v1
    state.schedulerPolicy, state.enableARRMode = pynvml.NVML_VGPU_SCHEDULER_POLICY_BEST_EFFORT, 1
    state.schedulerParams.vgpuSchedDataWithARR.avgFactor = 10
    state.schedulerParams.vgpuSchedDataWithARR.frequency = 500
    assert pynvml.nvmlGpuInstanceSetVgpuSchedulerState(gi, state) == pynvml.NVML_SUCCESS
    pynvml.nvmlGpuInstanceGetVgpuSchedulerState(gi, info)
    assert (info.schedulerPolicy, info.arrMode) == (1, 1)
    assert (info.schedulerParams.vgpuSchedDataWithARR.avgFactor, info.schedulerParams.vgpuSchedDataWithARR.timeslice) == (10, 2000)
    log = pynvml.c_nvmlVgpuSchedulerLogInfo_v1_t()
    log.version = pynvml.nvmlVgpuSchedulerLogInfo_v1
    assert pynvml.nvmlGpuInstanceGetVgpuSchedulerLog(gi, log) is log
    assert (log.schedulerPolicy, log.arrMode, log.entriesCount) == (1, 1, 0)
    info.version = 0
    with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
        pynvml.nvmlGpuInstanceGetVgpuSchedulerState(gi, info)
    state.schedulerPolicy = 9
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlGpuInstanceSetVgpuSchedulerState(gi, state)
    with pytest.raises(TypeError):                              # another struct
        pynvml.nvmlGpuInstanceGetVgpuSchedulerState(gi, log)
    # nvidia-ml-py's _v2 calls: driver 580 exports none of them, nor does the simulator
    for name, cls in (("nvmlGpuInstanceGetVgpuSchedulerState_v2", pynvml.c_nvmlVgpuSchedulerStateInfo_v2_t),
                      ("nvmlGpuInstanceGetVgpuSchedulerLog_v2", pynvml.c_nvmlVgpuSchedulerLogInfo_v2_t),
                      ("nvmlGpuInstanceSetVgpuSchedulerState_v2", pynvml.c_nvmlVgpuSchedulerState_v2_t)):
        with pytest.raises(pynvml.NVMLError_FunctionNotFound):
            getattr(pynvml, name)(gi, cls())


@simulator
@mutates
def test_vgpu_on_a_gpu_instance_unsupported_by_default(h):
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P7G)
    info = pynvml.c_nvmlVgpuSchedulerStateInfo_v1_t()
    info.version = pynvml.nvmlVgpuSchedulerStateInfo_v1
    state = pynvml.c_nvmlVgpuSchedulerState_v1_t()
    state.version = pynvml.nvmlVgpuSchedulerState_v1
    log = pynvml.c_nvmlVgpuSchedulerLogInfo_v1_t()
    log.version = pynvml.nvmlVgpuSchedulerLogInfo_v1
    active = pynvml.c_nvmlActiveVgpuInstanceInfo_v1_t()
    active.version = pynvml.nvmlActiveVgpuInstanceInfo_v1
    for fn, arg in ((pynvml.nvmlGpuInstanceGetVgpuHeterogeneousMode, None),
                    (pynvml.nvmlGpuInstanceGetActiveVgpus, active),
                    (pynvml.nvmlGpuInstanceSetVgpuHeterogeneousMode, 1),
                    (pynvml.nvmlGpuInstanceGetVgpuSchedulerState, info),
                    (pynvml.nvmlGpuInstanceSetVgpuSchedulerState, state),
                    (pynvml.nvmlGpuInstanceGetVgpuSchedulerLog, log)):
        with pytest.raises(pynvml.NVMLError_NotSupported):     # the H100 is no vGPU host
            fn(gi) if arg is None else fn(gi, arg)


@simulator
@mutates
def test_vgpu_on_a_gpu_instance_as_nvidia_ml_py(default_profile, use_profile, ref):
    default_profile["devices"][0].update(VGPU_HOST)
    h = start(use_profile, default_profile)
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P7G)
    ref.nvmlInit()
    try:
        rgi = ctypes.cast(ctypes.c_void_p(gi.value), ref.c_nvmlGpuInstance_t)
        assert ref.nvmlGpuInstanceGetVgpuHeterogeneousMode(rgi) == pynvml.nvmlGpuInstanceGetVgpuHeterogeneousMode(gi) == 1
        ref.nvmlGpuInstanceSetVgpuHeterogeneousMode(rgi, 0)
        assert pynvml.nvmlGpuInstanceGetVgpuHeterogeneousMode(gi) == 0
        a = ref.c_nvmlVgpuSchedulerStateInfo_v1_t()
        a.version = ref.nvmlVgpuSchedulerStateInfo_v1
        b = pynvml.c_nvmlVgpuSchedulerStateInfo_v1_t()
        b.version = pynvml.nvmlVgpuSchedulerStateInfo_v1
        a, b = ref.nvmlGpuInstanceGetVgpuSchedulerState(rgi, a), pynvml.nvmlGpuInstanceGetVgpuSchedulerState(gi, b)
        assert bytes(a) == bytes(b)
        with pytest.raises(ref.NVMLError_FunctionNotFound):
            ref.nvmlGpuInstanceGetVgpuSchedulerState_v2(rgi, ref.c_nvmlVgpuSchedulerStateInfo_v2_t())
    finally:
        ref.nvmlShutdown()


def _ids(ptr, n):
    assert isinstance(ptr, ctypes.POINTER(ctypes.c_uint))   # read as nvidia-ml-py's POINTER(c_uint)
    return ptr[:n] if n else []


@simulator
@mutates
def test_vgpu_id_lists_of_a_gpu_instance(default_profile, use_profile):
    default_profile["devices"][0].update(VGPU_HOST)
    h = start(use_profile, default_profile)
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P7G)
    active = pynvml.c_nvmlActiveVgpuInstanceInfo_v1_t()
    active.version = pynvml.nvmlActiveVgpuInstanceInfo_v1
    assert pynvml.nvmlGpuInstanceGetActiveVgpus(gi, active) is active
    assert active.vgpuCount == 2 and _ids(active.vgpuInstances, 2) == [3001, 3002]
    types = pynvml.c_nvmlVgpuTypeIdInfo_v1_t()
    types.version = pynvml.nvmlVgpuTypeIdInfo_v1
    pynvml.nvmlGpuInstanceGetCreatableVgpus(gi, types)
    assert types.vgpuCount == 3 and _ids(types.vgpuTypeIds, 3) == [7, 8, 9]
    places = pynvml.c_nvmlVgpuCreatablePlacementInfo_v1_t()
    places.version, places.vgpuTypeId = pynvml.nvmlVgpuCreatablePlacementInfo_v1, 7
    pynvml.nvmlGpuInstanceGetVgpuTypeCreatablePlacements(gi, places)
    assert (places.count, places.placementSize, _ids(places.placementIds, 2)) == (2, 4, [0, 4])
    places.vgpuTypeId = 8                                      # none: no array
    pynvml.nvmlGpuInstanceGetVgpuTypeCreatablePlacements(gi, places)
    assert (places.count, places.placementSize, bool(places.placementIds)) == (0, 8, False)   # NULL
    places.vgpuTypeId = 99
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        pynvml.nvmlGpuInstanceGetVgpuTypeCreatablePlacements(gi, places)
    assert not places.placementIds and places.count == 0       # nothing left pointing anywhere
    active.version = 0
    with pytest.raises(pynvml.NVMLError_ArgumentVersionMismatch):
        pynvml.nvmlGpuInstanceGetActiveVgpus(gi, active)
    with pytest.raises(TypeError):
        pynvml.nvmlGpuInstanceGetActiveVgpus(gi, types)
    # the array lives as long as the struct: another call replaces it
    types2 = pynvml.nvmlGpuInstanceGetCreatableVgpus(gi, types)
    import gc
    gc.collect()
    assert _ids(types2.vgpuTypeIds, 3) == [7, 8, 9]


@simulator
@mutates
def test_vgpu_id_lists_as_nvidia_ml_py(default_profile, use_profile, ref):
    default_profile["devices"][0].update(VGPU_HOST)
    h = start(use_profile, default_profile)
    gi = pynvml.nvmlDeviceCreateGpuInstance(h[0], P7G)
    ref.nvmlInit()
    try:
        rgi = ctypes.cast(ctypes.c_void_p(gi.value), ref.c_nvmlGpuInstance_t)
        a = ref.c_nvmlActiveVgpuInstanceInfo_v1_t()
        a.version = ref.nvmlActiveVgpuInstanceInfo_v1
        a = ref.nvmlGpuInstanceGetActiveVgpus(rgi, a)
        b = pynvml.c_nvmlActiveVgpuInstanceInfo_v1_t()
        b.version = pynvml.nvmlActiveVgpuInstanceInfo_v1
        b = pynvml.nvmlGpuInstanceGetActiveVgpus(gi, b)
        assert a.vgpuCount == b.vgpuCount == 2
        assert [a.vgpuInstances[i] for i in range(2)] == [b.vgpuInstances[i] for i in range(2)]
        c = ref.c_nvmlVgpuTypeIdInfo_v1_t()
        c.version = ref.nvmlVgpuTypeIdInfo_v1
        c = ref.nvmlGpuInstanceGetCreatableVgpus(rgi, c)
        assert [c.vgpuTypeIds[i] for i in range(c.vgpuCount)] == [7, 8, 9]
    finally:
        ref.nvmlShutdown()



def _outcome(fn):
    """A result as comparable data: the struct's fields, or the error's class and code."""
    try:
        v = fn()
    except Exception as e:  # noqa: BLE001 - an error is a result to compare
        return ("error", type(e).__name__, getattr(e, "value", None))
    if hasattr(v, "_fields_"):
        return ("ok", type(v).__name__, [getattr(v, f) for f, _ in v._fields_])
    return ("ok", type(v).__name__, v)


def test_read_only_queries_as_nvidia_ml_py(nvml, ref):
    """Read-only, so on a real GPU too (PYNVML_TEST_REAL=1): GPU 0's GI profiles, placements,
    capacities and instances, ours against nvidia-ml-py's (its ctypes arrays and counts)."""
    ref.nvmlInit()
    try:
        d, rd = pynvml.nvmlDeviceGetHandleByIndex(0), ref.nvmlDeviceGetHandleByIndex(0)
        found = 0
        for index in range(pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT + 1):
            for v in (1, 2, 3):
                a = _outcome(lambda: pynvml.nvmlDeviceGetGpuInstanceProfileInfo(d, index, v))
                b = _outcome(lambda: ref.nvmlDeviceGetGpuInstanceProfileInfo(rd, index, v))
                assert a[0] == b[0] and a[2] == b[2], (index, v, a, b)
            try:
                info = pynvml.nvmlDeviceGetGpuInstanceProfileInfo(d, index)
            except pynvml.NVMLError:
                continue
            found += 1
            pid = info.id
            assert _outcome(lambda: pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity(d, pid)) == \
                _outcome(lambda: ref.nvmlDeviceGetGpuInstanceRemainingCapacity(rd, pid))
            n = ctypes.c_uint()
            try:
                ref.nvmlDeviceGetGpuInstancePossiblePlacements(rd, pid, None, ctypes.byref(n))
                arr = (ref.c_nvmlGpuInstancePlacement_t * max(n.value, 1))()
                ref.nvmlDeviceGetGpuInstancePossiblePlacements(rd, pid, arr, ctypes.byref(n))
                theirs = [(arr[i].start, arr[i].size) for i in range(n.value)]
            except ref.NVMLError as e:
                theirs = e.value
            try:
                ours = [(p.start, p.size) for p in pynvml.nvmlDeviceGetGpuInstancePossiblePlacements(d, pid)]
            except pynvml.NVMLError as e:
                ours = e.value
            assert ours == theirs, (index, ours, theirs)
            gis = (ref.c_nvmlGpuInstance_t * max(info.instanceCount, 1))()
            try:
                ref.nvmlDeviceGetGpuInstances(rd, pid, gis, ctypes.byref(n))
                theirs = sorted(ctypes.cast(gis[i], ctypes.c_void_p).value for i in range(n.value))
            except ref.NVMLError as e:
                theirs = e.value
            try:
                ours = sorted(g.value for g in pynvml.nvmlDeviceGetGpuInstances(d, pid))
            except pynvml.NVMLError as e:
                ours = e.value
            assert ours == theirs, (index, ours, theirs)
        if not found:
            pytest.skip("GPU 0 has no MIG profiles")
    finally:
        ref.nvmlShutdown()
