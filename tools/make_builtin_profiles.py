"""Write the simulator's other built-in profiles (sim/profiles/*.json), each derived from
the default one (two H100s modelled on a real one) by changing what the model differs in:

    hgx-h100-8   eight H100 SXM GPUs joined by NVSwitch: 18 NVLinks each (state, version,
                 remote device type and PCI info, error counters), P2P over NVLink between
                 every pair, the PCIe topology of a two-socket box
    h100-mig     one H100 with MIG on (create GPU and compute instances with NVML's calls)
    a100         one A100-SXM4-80GB (Ampere, compute capability 8.0, 400 W, PCIe gen 4)
    rtx4090      one GeForce RTX 4090 (Ada, 24 GB, two fans, a display attached, no ECC,
                 no MIG, no NVLink)

The figures are public specifications of those boards, not measurements; the output is
checked in (python tools/make_builtin_profiles.py rewrites it) and a test keeps it current.
"""
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "sim" / "profiles"

NOT_SUPPORTED = {"error": "NVML_ERROR_NOT_SUPPORTED"}
# NVML's topology levels and a few enums (facts of the ABI)
INTERNAL, SINGLE, MULTIPLE, HOSTBRIDGE, NODE, SYSTEM = 0, 10, 20, 30, 40, 50
NVLINK_DEVICE_TYPE_SWITCH = 2
ARCH_AMPERE, ARCH_ADA = 7, 8
BRAND_GEFORCE = 5


def pci(bus, device_id):
    return {"bus": bus, "busId": "00000000:%02X:00.0" % bus, "busIdLegacy": "0000:%02X:00.0" % bus, "device": 0,
            "domain": 0, "pciDeviceId": device_id, "pciSubSystemId": 0x16C110DE}


def identity(d, i, bus, uuid_tail):
    d["nvmlDeviceGetUUID"] = "GPU-%08x-1111-2222-3333-%012x" % (uuid_tail, i)
    d["nvmlDeviceGetSerial"] = "16500000%05d" % (i + 1)
    d["nvmlDeviceGetMinorNumber"] = i
    d["nvmlDeviceGetModuleId"] = i + 1
    dev_id = d["nvmlDeviceGetPciInfo_v3"]["pciDeviceId"]
    d["nvmlDeviceGetPciInfo_v3"] = pci(bus, dev_id)
    if isinstance(d.get("nvmlDeviceGetPciInfoExt"), dict):
        d["nvmlDeviceGetPciInfoExt"].update({"bus": bus, "busId": "00000000:%02X:00.0" % bus, "device": 0})


def hgx(base):
    buses = [0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB]
    switches = [0x05, 0x06, 0x07, 0x08]   # the NVSwitches' buses (four on an HGX H100 baseboard)
    proto = base["devices"][0]
    devs = []
    for i, bus in enumerate(buses):
        d = copy.deepcopy(proto)
        identity(d, i, bus, 0x8A100000)
        d["nvmlDeviceGetMultiGpuBoard"] = 1
        d["nvmlDeviceOnSameBoard"] = {str(j): 1 for j in range(8)}
        socket = i // 4
        d["nvmlDeviceGetTopologyCommonAncestor"] = {
            str(j): (NODE if j // 4 == socket else SYSTEM) for j in range(8) if j != i}
        near = {INTERNAL: [], SINGLE: [], MULTIPLE: [], HOSTBRIDGE: [],
                NODE: [j for j in range(8) if j != i and j // 4 == socket],
                SYSTEM: [j for j in range(8) if j != i]}
        d["nvmlDeviceGetTopologyNearestGpus"] = {str(k): v for k, v in near.items()}
        d["nvmlDeviceGetP2PStatus"] = {str(j): {str(cap): 0 for cap in range(5)} for j in range(8) if j != i}
        links = range(18)
        d["nvmlDeviceGetNvLinkState"] = {str(k): 1 for k in links}
        d["nvmlDeviceGetNvLinkVersion"] = {str(k): 4 for k in links}
        d["nvmlDeviceGetNvLinkRemoteDeviceType"] = {str(k): NVLINK_DEVICE_TYPE_SWITCH for k in links}
        d["nvmlDeviceGetNvLinkRemotePciInfo_v2"] = {str(k): pci(switches[k % 4], 0x22A310DE) for k in links}
        d["nvmlDeviceGetNvLinkCapability"] = {str(k): {str(c): 1 for c in range(6)} for k in links}
        d["nvmlDeviceGetNvLinkErrorCounter"] = {str(k): {str(c): 0 for c in range(4)} for k in links}
        d["nvmlDeviceGetUtilizationRates"] = {"gpu": 0, "memory": 0}
        devs.append(d)
    out = {"about": "Eight simulated H100 80GB HBM3 (SXM5) joined by NVSwitch, as an HGX H100 board in a "
                    "two-socket server. Written by tools/make_builtin_profiles.py.",
           "system": copy.deepcopy(base["system"]), "devices": devs}
    return out


def one(base, about):
    d = copy.deepcopy(base["devices"][0])
    d["nvmlDeviceOnSameBoard"] = {"0": 1}
    d["nvmlDeviceGetTopologyCommonAncestor"] = {}
    d["nvmlDeviceGetTopologyNearestGpus"] = {str(k): [] for k in (0, 10, 20, 30, 40, 50)}
    for key in ("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v3"):
        if key in d:
            d[key] = []
    return {"about": about + " Written by tools/make_builtin_profiles.py.",
            "system": copy.deepcopy(base["system"]), "devices": [d]}


def h100_mig(base):
    p = one(base, "One simulated H100 80GB HBM3 with MIG on: GPU and compute instances are made by "
                  "nvmlDeviceCreateGpuInstance and nvmlGpuInstanceCreateComputeInstance.")
    p["devices"][0]["nvmlDeviceGetMigMode"] = [1, 1]
    return p


def a100(base):
    p = one(base, "One simulated A100-SXM4-80GB (Ampere).")
    d = p["devices"][0]
    identity(d, 0, 0x07, 0xA1000000)
    d["nvmlDeviceGetName"] = "NVIDIA A100-SXM4-80GB"
    d["nvmlDeviceGetArchitecture"] = ARCH_AMPERE
    d["nvmlDeviceGetCudaComputeCapability"] = [8, 0]
    d["nvmlDeviceGetPciInfo_v3"]["pciDeviceId"] = 0x20B210DE
    total = 85899345920
    d["nvmlDeviceGetMemoryInfo"] = {"total": total, "free": total - 524288000, "used": 524288000}
    d["nvmlDeviceGetMemoryInfo_v2"] = {"total": total, "free": total - 524288000, "used": 0, "reserved": 524288000}
    for key in ("nvmlDeviceGetPowerManagementLimit", "nvmlDeviceGetEnforcedPowerLimit",
                "nvmlDeviceGetPowerManagementDefaultLimit"):
        if key in d:
            d[key] = 400000
    d["nvmlDeviceGetPowerManagementLimitConstraints"] = [100000, 400000]
    d["nvmlDeviceGetPowerUsage"] = 62000
    d["nvmlDeviceGetMaxClockInfo"] = {"0": 1410, "1": 1410, "2": 1593, "3": 1290}
    d["nvmlDeviceGetClockInfo"] = {"0": 210, "1": 210, "2": 1593, "3": 795, "4": NOT_SUPPORTED, "5": NOT_SUPPORTED}
    d["nvmlDeviceGetApplicationsClock"] = {"0": 1410, "1": 1410, "2": 1593, "3": NOT_SUPPORTED}
    d["nvmlDeviceGetDefaultApplicationsClock"] = {"0": 1410, "1": 1410, "2": 1593, "3": NOT_SUPPORTED}
    d["nvmlDeviceGetSupportedMemoryClocks"] = [1593]
    for key in ("nvmlDeviceGetMaxPcieLinkGeneration", "nvmlDeviceGetGpuMaxPcieLinkGeneration",
                "nvmlDeviceGetCurrPcieLinkGeneration", "nvmlDeviceGetPcieLinkMaxSpeed"):
        d[key] = 4
    d["nvmlDeviceGetPcieSpeed"] = 16000
    d["nvmlDeviceGetTemperature"] = {"0": 31}
    d["nvmlDeviceGetTemperatureThreshold"].update({"0": 92, "1": 89, "2": 85, "3": 85})
    return p


def rtx4090(base):
    p = one(base, "One simulated GeForce RTX 4090 (Ada) in a workstation: fans, a display attached, "
                  "no ECC, MIG or NVLink.")
    d = p["devices"][0]
    identity(d, 0, 0x01, 0x40900000)
    d["nvmlDeviceGetName"] = "NVIDIA GeForce RTX 4090"
    d["nvmlDeviceGetBrand"] = BRAND_GEFORCE
    d["nvmlDeviceGetArchitecture"] = ARCH_ADA
    d["nvmlDeviceGetCudaComputeCapability"] = [8, 9]
    d["nvmlDeviceGetPciInfo_v3"]["pciDeviceId"] = 0x268410DE
    d["nvmlDeviceGetSerial"] = {"error": "NVML_ERROR_NOT_SUPPORTED"}   # GeForce boards report none
    total = 25757220864
    d["nvmlDeviceGetMemoryInfo"] = {"total": total, "free": total - 1073741824, "used": 1073741824}
    d["nvmlDeviceGetMemoryInfo_v2"] = {"total": total, "free": total - 1342177280, "used": 1073741824,
                                       "reserved": 268435456}
    for key in ("nvmlDeviceGetPowerManagementLimit", "nvmlDeviceGetEnforcedPowerLimit",
                "nvmlDeviceGetPowerManagementDefaultLimit"):
        if key in d:
            d[key] = 450000
    d["nvmlDeviceGetPowerManagementLimitConstraints"] = [150000, 600000]
    d["nvmlDeviceGetPowerUsage"] = 31000
    d["nvmlDeviceGetMaxClockInfo"] = {"0": 3120, "1": 3120, "2": 10501, "3": 2415}
    d["nvmlDeviceGetClockInfo"] = {"0": 210, "1": 210, "2": 405, "3": 1185, "4": NOT_SUPPORTED, "5": NOT_SUPPORTED}
    d["nvmlDeviceGetApplicationsClock"] = NOT_SUPPORTED
    d["nvmlDeviceGetDefaultApplicationsClock"] = NOT_SUPPORTED
    d["nvmlDeviceGetSupportedMemoryClocks"] = [10501, 10251, 5001, 810, 405]
    # fans and a display
    d["nvmlDeviceGetNumFans"] = 2
    d["nvmlDeviceGetFanSpeed"] = 30
    d["nvmlDeviceGetFanSpeed_v2"] = {"0": 30, "1": 31}
    d["nvmlDeviceGetMinMaxFanSpeed"] = [30, 100]
    d["nvmlDeviceGetDisplayMode"] = 1
    d["nvmlDeviceGetDisplayActive"] = 1
    # what a consumer board lacks
    for key in ("nvmlDeviceGetEccMode", "nvmlDeviceGetDefaultEccMode", "nvmlDeviceGetTotalEccErrors",
                "nvmlDeviceGetDetailedEccErrors", "nvmlDeviceGetMigMode", "nvmlDeviceGetPersistenceMode"):
        d[key] = NOT_SUPPORTED
    d.pop("mig", None)
    for key in ("nvmlDeviceGetMaxPcieLinkGeneration", "nvmlDeviceGetGpuMaxPcieLinkGeneration",
                "nvmlDeviceGetCurrPcieLinkGeneration", "nvmlDeviceGetPcieLinkMaxSpeed"):
        d[key] = 4
    d["nvmlDeviceGetPcieSpeed"] = 16000
    d["nvmlDeviceGetTemperature"] = {"0": 38}
    d["nvmlDeviceGetTemperatureThreshold"].update({"0": 97, "1": 94, "2": 92, "3": 90})
    return p


BUILT = {"hgx-h100-8": hgx, "h100-mig": h100_mig, "a100": a100, "rtx4090": rtx4090}


def outputs():
    base = json.loads((PROFILES / "default.json").read_text())
    return {PROFILES / f"{name}.json": json.dumps(make(base), indent=1) + "\n" for name, make in BUILT.items()}


def main(argv):
    stale = [p for p, text in outputs().items() if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        for p in stale:
            print("out of date (python tools/make_builtin_profiles.py):", p.relative_to(ROOT))
        return 1 if stale else 0
    for p, text in outputs().items():
        p.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
