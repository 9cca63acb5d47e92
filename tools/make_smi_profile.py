"""Write sim/profiles/smi-h200.json: one simulated H200 modelled on the nvidia-smi 580
captures in tests/data/reference/h200/ (driver 580.159.04, one CUDA process holding memory).

    python tools/make_smi_profile.py [--check]

The H200 and the H100 of sim/profiles/default.json are the same board family (SXM, Hopper,
same firmware layout): the H200 profile is the default profile's GPU 0 with what the H200's
captures show differently (names, PCI ids, memory, clocks, temperatures, power, the process).
The memory sizes are given in bytes that are NOT whole MiB (nvidia-smi rounds them to the
nearest MiB, so a formatter that floored would read one less), as a real GPU's are.
tests/test_smi_reference.py compares every view on this profile with the captures.
--check exits 1 when the checked-in file differs from what this writes.
"""
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "sim" / "profiles" / "smi-h200.json"
MiB = 1 << 20


def mib(x):
    """x MiB (a float) in whole bytes."""
    return int(round(x * MiB))


def build():
    base = json.loads((ROOT / "sim" / "profiles" / "default.json").read_text())
    dev = copy.deepcopy(base["devices"][0])
    # memory: the capture shows total 143771, reserved 616, used 1643, free 141514 MiB;
    # each value below rounds to it and floors to one less
    total, reserved, used, free = mib(143770.62), mib(615.71), mib(1642.55), mib(141513.58)
    pid, proc_mem = 448, 1634 * MiB
    dev.update({
        "nvmlDeviceGetName": "NVIDIA H200",
        "nvmlDeviceGetSerial": "0000000000000",
        "nvmlDeviceGetUUID": "GPU-00000000-0000-0000-0000-000000000000",
        "nvmlDeviceGetPdi": {"value": "0"},
        "nvmlDeviceGetVbiosVersion": "96.00.A5.00.1A",
        "nvmlDeviceGetBoardPartNumber": "692-2G520-0282-001",
        "nvmlDeviceGetInforomImageVersion": "G520.0282.02.02",
        "nvmlDeviceGetCurrentClocksEventReasons": 0,
        "nvmlDeviceGetRowRemapperHistogram": {"high": 0, "low": 0, "max": 3072, "none": 0, "partial": 0},
        "nvmlDeviceGetMemoryInfo": {"total": total, "free": free, "used": used + reserved},
        "nvmlDeviceGetMemoryInfo_v2": {"total": total, "free": free, "used": used, "reserved": reserved},
        # BAR1: 256 GiB, 1644.3 MiB used (BAR1 is floored by nvidia-smi)
        "nvmlDeviceGetBAR1MemoryInfo": {"bar1Total": 262144 * MiB, "bar1Used": mib(1644.3),
                                        "bar1Free": 262144 * MiB - mib(1644.3)},
        "nvmlDeviceGetTemperature": {"0": 34},
        "nvmlDeviceGetMarginTemperature": {"marginTemperature": 53},
        "nvmlDeviceGetPowerUsage": 118130,
        "nvmlDeviceGetClockInfo": {"0": 1980, "1": 1980, "2": 3201, "3": 1545,
                                   "4": {"error": "NVML_ERROR_NOT_SUPPORTED"},
                                   "5": {"error": "NVML_ERROR_NOT_SUPPORTED"}},
        "nvmlDeviceGetMaxClockInfo": {"0": 1980, "1": 1980, "2": 3201, "3": 1545},
        "nvmlDeviceGetApplicationsClock": {"0": 1980, "1": 1980, "2": 3201,
                                           "3": {"error": "NVML_ERROR_NOT_SUPPORTED"}},
        "nvmlDeviceGetDefaultApplicationsClock": {"0": 1980, "1": 1980, "2": 3201,
                                                  "3": {"error": "NVML_ERROR_NOT_SUPPORTED"}},
        "nvmlDeviceGetSupportedMemoryClocks": [3201, 2201],
        "nvmlDeviceGetPcieThroughput": {"0": 824, "1": 487},
        "nvmlDeviceGetComputeRunningProcesses_v3": [
            {"pid": pid, "usedGpuMemory": proc_mem, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF}],
    })
    pci = dict(dev["nvmlDeviceGetPciInfo_v3"], pciDeviceId=0x233510DE, pciSubSystemId=0x18BF10DE)
    dev["nvmlDeviceGetPciInfo_v3"] = pci
    dev["nvmlDeviceGetPciInfoExt"] = dict(dev["nvmlDeviceGetPciInfoExt"], pciDeviceId=0x233510DE,
                                          pciSubSystemId=0x18BF10DE)
    # both memory clocks allow the graphics clocks 1980 down to 345 MHz, 15 MHz apart
    graphics = list(range(1980, 344, -15))
    dev["nvmlDeviceGetSupportedGraphicsClocks"] = {"3201": graphics, "2201": graphics}
    # ECC counters by (error type, counter type, location): DRAM (2) and SRAM (7) count,
    # the other locations are not supported on Hopper
    counts = {str(loc): 0 for loc in (2, 7)}
    counts.update({str(loc): {"error": "NVML_ERROR_NOT_SUPPORTED"} for loc in (0, 1, 3, 4, 5, 6)})
    dev["nvmlDeviceGetMemoryErrorCounter"] = {str(t): {str(c): dict(counts) for c in (0, 1)} for t in (0, 1)}
    # MIG: the H200's GPU-instance profiles (nvidia-smi mig -lgip): name, MiB, SMs
    h200_mig = {19: ("MIG 1g.18gb", 16384, 16), 20: ("MIG 1g.18gb+me", 16384, 16), 15: ("MIG 1g.35gb", 33280, 26),
                14: ("MIG 2g.35gb", 33280, 32), 9: ("MIG 3g.71gb", 71424, 60), 5: ("MIG 4g.71gb", 71424, 64),
                0: ("MIG 7g.141gb", 143360, 132)}
    for prof in dev["mig"]["gpuInstanceProfiles"]:
        prof["name"], prof["memorySizeMB"], prof["multiprocessorCount"] = h200_mig[prof["id"]]
    # samples (nvmlDeviceGetSamples by type): power every 20 ms (mW), the engines'
    # utilization every 200 ms (%); clock samples are NOT_FOUND, as on the H200
    samples = dev["nvmlDeviceGetSamples"]
    samples["0"] = dict(samples["0"], values=[118790, 117110, 118340, 118080])
    samples["1"] = dict(samples["1"], values=[1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    for kind in ("3", "4", "8", "9"):
        samples[kind] = dict(samples["2"])
    fv = dev["nvmlDeviceGetFieldValues"]
    # average / instantaneous power (mW, GPU and memory), memory temperature (C)
    for fid, value in (("185", 118110), ("186", 117810), ("185:2", 46720), ("82", 35)):
        fv[fid] = dict(fv[fid], value=value)
    # the process detail list (nvmlDeviceGetRunningProcessDetailList, by mode: 0 compute)
    if "nvmlDeviceGetRunningProcessDetailList" in dev:
        dev["nvmlDeviceGetRunningProcessDetailList"] = {
            "0": [{"pid": pid, "usedGpuMemory": proc_mem, "gpuInstanceId": 0xFFFFFFFF,
                   "computeInstanceId": 0xFFFFFFFF, "usedGpuCcProtectedMemory": 0}], "1": [], "2": []}
    system = dict(base["system"])
    system["nvmlSystemGetProcessName"] = {str(pid): "/opt/torch/.venv/bin/python3"}
    system["nvmlSystemGetTopologyGpuSet"] = {"0": [0]}
    for key in ("nvmlDeviceGetTopologyCommonAncestor", "nvmlDeviceGetTopologyNearestGpus", "nvmlDeviceOnSameBoard"):
        dev.pop(key, None)
    about = ("One H200 as nvidia-smi 580.159.04 showed it (tests/data/reference/h200/, 2026-12-01): the default "
             "profile's H100 with the H200's names, PCI ids, memory (in bytes that are not whole MiB), clocks, "
             "temperatures, power and one CUDA process (pid 448).  Written by tools/make_smi_profile.py; "
             "tests/test_smi_reference.py compares pynvml-smi's views on it with the captures.")
    return {"about": about, "system": system, "devices": [dev]}


def main(argv):
    text = json.dumps(build(), indent=1, sort_keys=True) + "\n"
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text() == text
        print("%s is %s" % (OUT.relative_to(ROOT), "current" if same else "stale"))
        return 0 if same else 1
    OUT.write_text(text)
    print("wrote %s" % OUT.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
