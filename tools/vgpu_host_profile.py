#!/usr/bin/env python3
"""A simulator profile of a vGPU host: the default profile (two H100) with GPU 0 as a vGPU host
that has two vGPU types and two running vGPU instances, with data for every vGPU call.

    python tools/vgpu_host_profile.py [OUT]      (default: sim/profiles/vgpu-host.json)
    PYNVML_LIBRARY=sim PYNVML_SIM_PROFILE=sim/profiles/vgpu-host.json python -c 'import pynvml; ...'

tests/test_family_vgpu2.py runs on it (vgpu_host_profile()).  GPU 1 stays a plain H100.
"""
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

T4C, T80C = 7, 8            # vGPU type ids
I1, I2 = 3001, 3002         # vGPU instances (both of type 7, on GPU 0)
T0 = 1_700_000_000_000_000  # sample timestamps (us)
RANGE = {"minVersion": 0x100000, "maxVersion": 0x120000}
EXPIRY = {"year": 2027, "month": 1, "day": 31, "hour": 23, "min": 59, "sec": 59, "status": 1}


def _value(v):
    return {"uiVal": v}


def vgpu_host_profile(default_profile):
    """The default profile with GPU 0 as a vGPU host (GPU 1 stays a plain H100)."""
    p = copy.deepcopy(default_profile)
    d, s = p["devices"][0], p["system"]
    d.update({
        "nvmlDeviceGetVirtualizationMode": 3,                 # NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU
        "nvmlDeviceGetHostVgpuMode": 1,
        "nvmlDeviceGetSupportedVgpus": [T4C, T80C],
        "nvmlDeviceGetCreatableVgpus": [T4C],
        "nvmlDeviceGetActiveVgpus": [I1, I2],
        "nvmlDeviceGetVgpuCapabilities": {str(c): int(c in (0, 3, 4, 8)) for c in range(12)},
        "nvmlDeviceGetVgpuHeterogeneousMode": {"mode": 0},
        "nvmlDeviceGetVgpuUtilization": {"0": [1, [
            {"vgpuInstance": i, "timeStamp": T0 + k, "smUtil": _value(40 + k), "memUtil": _value(10),
             "encUtil": _value(0), "decUtil": _value(k)} for k, i in enumerate((I1, I2))]]},
        "nvmlDeviceGetVgpuProcessUtilization": {"0": [
            {"vgpuInstance": I1, "pid": 4242, "processName": "python3", "timeStamp": T0, "smUtil": 40,
             "memUtil": 10, "encUtil": 0, "decUtil": 0}]},
        "nvmlDeviceGetVgpuInstancesUtilizationInfo": [
            {"vgpuInstance": i, "timeStamp": T0 + k, "smUtil": _value(40 + k), "memUtil": _value(10),
             "encUtil": _value(1), "decUtil": _value(2), "jpgUtil": _value(3), "ofaUtil": _value(4)}
            for k, i in enumerate((I1, I2, I1))],
        "nvmlDeviceGetVgpuProcessesUtilizationInfo": [
            {"processName": "python3", "timeStamp": T0 + k, "vgpuInstance": I1, "pid": 4242 + k, "smUtil": 40,
             "memUtil": 10, "encUtil": 1, "decUtil": 2, "jpgUtil": 3, "ofaUtil": 4} for k in range(2)],
        "nvmlDeviceGetVgpuSchedulerCapabilities": {
            "supportedSchedulers": [1, 2, 3], "maxTimeslice": 30000000, "minTimeslice": 1000000,
            "isArrModeSupported": 1, "maxFrequencyForARR": 960, "minFrequencyForARR": 100,
            "maxAvgFactorForARR": 60, "minAvgFactorForARR": 1},
        "nvmlDeviceGetVgpuSchedulerState": {
            "schedulerPolicy": 1, "arrMode": 2,
            "schedulerParams": {"vgpuSchedDataWithARR": {"avgFactor": 33, "timeslice": 2000000}}},
        "nvmlDeviceGetVgpuSchedulerLog": {
            "engineId": 1, "schedulerPolicy": 1, "arrMode": 2,
            "schedulerParams": {"vgpuSchedDataWithARR": {"avgFactor": 33, "timeslice": 2000000}},
            "entriesCount": 2,
            "logEntries": [{"timestamp": T0 + k, "timeRunTotal": 5000 * (k + 1), "timeRun": 5000, "swRunlistId": k,
                            "targetTimeSlice": 2000000, "cumulativePreemptionTime": 10 * k} for k in range(2)]},
        "nvmlDeviceGetGridLicensableFeatures_v4": {
            "isGridLicenseSupported": 1, "licensableFeaturesCount": 1,
            "gridLicensableFeatures": [{"featureCode": 4, "featureState": 1, "licenseInfo": "NVIDIA-vComputeServer",
                                        "productName": "NVIDIA Virtual Compute Server", "featureEnabled": 1,
                                        "licenseExpiry": EXPIRY}]},
        "nvmlDeviceGetVgpuMetadata": {
            "version": 1, "revision": 1, "hostDriverVersion": "580.159.04", "pgpuVirtualizationCaps": 1,
            "hostSupportedVgpuRange": RANGE, "opaqueDataSize": 8, "opaqueData": "pgpu-opq"},
        "nvmlDeviceGetPgpuMetadataString": "580.159.04;vgpu=0x100000-0x120000",
        "nvmlVgpuTypeGetMaxInstances": {str(T4C): 4, str(T80C): 1},
        "nvmlDeviceGetVgpuTypeSupportedPlacements": {str(T4C): {"placementSize": 2, "placementIds": [0, 2, 4, 6]},
                                                     str(T80C): {"placementSize": 8, "placementIds": [0]}},
        "nvmlDeviceGetVgpuTypeCreatablePlacements": {str(T4C): {"placementSize": 2, "placementIds": [4, 6]},
                                                     str(T80C): {"placementSize": 8, "placementIds": []}},
    })
    inst = {str(I1): None, str(I2): None}
    s.update({
        "nvmlGetVgpuDriverCapabilities": {"0": 1, "1": 0},
        "nvmlGetVgpuVersion": [dict(RANGE), dict(RANGE)],
        "nvmlGetVgpuCompatibility": {"vgpuVmCompatibility": 15, "compatibilityLimitCode": 0},
        "nvmlVgpuTypeGetCapabilities": {str(t): {str(c): int(c == 1) for c in range(5)} for t in (T4C, T80C)},
        "nvmlVgpuTypeGetClass": {str(T4C): "Compute", str(T80C): "Compute"},
        "nvmlVgpuTypeGetName": {str(T4C): "NVIDIA H100-4C", str(T80C): "NVIDIA H100-80C"},
        "nvmlVgpuTypeGetResolution": {str(T4C): {"0": [4096, 2160]}, str(T80C): {"0": [4096, 2160]}},
        "nvmlVgpuTypeGetMaxInstancesPerGpuInstance": {str(T4C): 1, str(T80C): 1},
        "nvmlVgpuTypeGetLicense": {str(T4C): "NVIDIA-vComputeServer,9.0"},
        "nvmlVgpuInstanceGetType": dict.fromkeys(inst, T4C),
        "nvmlVgpuInstanceGetUUID": {str(I1): "9e4c4a3c-0000-1111-2222-333344445555",
                                    str(I2): "9e4c4a3c-0000-1111-2222-333344446666"},
        "nvmlVgpuInstanceGetVmID": {str(I1): ["vm-3001", 1], str(I2): ["42", 0]},
        "nvmlVgpuInstanceGetLicenseInfo_v2": {str(I1): {"isLicensed": 1, "licenseExpiry": EXPIRY, "currentState": 5},
                                              str(I2): {"isLicensed": 0, "currentState": 4}},
        "nvmlVgpuInstanceGetRuntimeStateSize": {str(I1): {"size": 268435456}},
        "nvmlVgpuInstanceGetEncoderStats": {str(I1): [2, 60, 1200], str(I2): [0, 0, 0]},
        "nvmlVgpuInstanceGetEncoderSessions": {
            str(I1): [{"sessionId": 1, "pid": 4242, "vgpuInstance": I1, "codecType": 1, "hResolution": 1920,
                       "vResolution": 1080, "averageFps": 60, "encodeLatency": 1200}], str(I2): []},
        "nvmlVgpuInstanceGetFBCStats": {str(I1): {"sessionsCount": 1, "averageFPS": 30, "averageLatency": 900}},
        "nvmlVgpuInstanceGetFBCSessions": {
            str(I1): [{"sessionId": 9, "pid": 4242, "vgpuInstance": I1, "displayOrdinal": 0, "sessionType": 1,
                       "sessionFlags": 0, "hMaxResolution": 3840, "vMaxResolution": 2160, "hResolution": 1920,
                       "vResolution": 1080, "averageFPS": 30, "averageLatency": 900}], str(I2): []},
        "nvmlVgpuInstanceGetAccountingPids": {str(I1): [4242, 4243], str(I2): []},
        "nvmlVgpuInstanceGetAccountingStats": {
            str(I1): {str(pid): {"gpuUtilization": 50, "memoryUtilization": 20, "maxMemoryUsage": 1 << 30,
                                 "time": 1000, "startTime": T0, "isRunning": 1} for pid in (4242, 4243)},
            str(I2): {}},
        "nvmlVgpuInstanceGetEncoderCapacity": {str(I1): 100, str(I2): 50},
        "nvmlVgpuInstanceGetGpuPciId": {str(I1): "00000000:02:00.0"},
        "nvmlVgpuInstanceGetMetadata": {str(I1): {
            "version": 1, "revision": 1, "guestInfoState": 1, "guestDriverVersion": "580.159.04",
            "hostDriverVersion": "580.159.04", "vgpuVirtualizationCaps": 1, "guestVgpuVersion": 0x110000,
            "opaqueDataSize": 4, "opaqueData": "vopq"}},
        # the rest of the type and instance getters (H100-4C: 4 GiB, H100-80C: the whole GPU),
        # so that each is compared with nvidia-ml-py on a value (tests/test_reference_diff.py)
        "nvmlVgpuTypeGetBAR1Info": {str(T4C): {"version": 0x1000010, "bar1Size": 256 << 20},
                                    str(T80C): {"version": 0x1000010, "bar1Size": 128 << 30}},
        "nvmlVgpuTypeGetDeviceID": {str(T4C): [0x2331, 0x18c310de], str(T80C): [0x2331, 0x18d710de]},
        "nvmlVgpuTypeGetFramebufferSize": {str(T4C): 4 << 30, str(T80C): 80 << 30},
        "nvmlVgpuTypeGetFbReservation": {str(T4C): 92 << 20, str(T80C): 1 << 30},
        "nvmlVgpuTypeGetGspHeapSize": {str(T4C): 40 << 20, str(T80C): 86 << 20},
        "nvmlVgpuTypeGetFrameRateLimit": {str(T4C): 60, str(T80C): 60},
        "nvmlVgpuTypeGetGpuInstanceProfileId": {str(T4C): 0xFFFFFFFF, str(T80C): 0xFFFFFFFF},
        "nvmlVgpuTypeGetMaxInstancesPerVm": {str(T4C): 1, str(T80C): 1},
        "nvmlVgpuTypeGetNumDisplayHeads": {str(T4C): 1, str(T80C): 1},
        "nvmlVgpuInstanceGetAccountingMode": {str(I1): 1, str(I2): 0},
        "nvmlVgpuInstanceGetEccMode": {str(I1): 1, str(I2): 1},
        "nvmlVgpuInstanceGetFbUsage": {str(I1): 1 << 30, str(I2): 0},
        "nvmlVgpuInstanceGetFrameRateLimit": {str(I1): 60, str(I2): 60},
        "nvmlVgpuInstanceGetGpuInstanceId": {str(I1): 0xFFFFFFFF, str(I2): 0xFFFFFFFF},
        "nvmlVgpuInstanceGetLicenseStatus": {str(I1): 1, str(I2): 0},
        "nvmlVgpuInstanceGetMdevUUID": {str(I1): "b2c1e1f0-0000-4000-8000-000000003001"},
        "nvmlVgpuInstanceGetPlacementId": {str(I1): {"version": 0x1000008, "placementId": 0},
                                           str(I2): {"version": 0x1000008, "placementId": 2}},
        "nvmlVgpuInstanceGetVmDriverVersion": {str(I1): "580.159.04", str(I2): "Not Available"},
    })
    return p


def main(argv):
    out = Path(argv[0]) if argv else ROOT / "sim" / "profiles" / "vgpu-host.json"
    default = json.loads((ROOT / "sim" / "profiles" / "default.json").read_text())
    prof = vgpu_host_profile(default)
    prof["about"] = ("The default profile's two H100, GPU 0 a vGPU host (two vGPU types, two instances). "
                     "Written by tools/vgpu_host_profile.py.")
    out.write_text(json.dumps(prof, indent=1, sort_keys=True) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1:])
