"""Write sim/profiles/default.json: two H100 80GB HBM3, modelled on what nvidia-ml-py
returned on a real one (tests/data/reference/h100/nvidia-ml-py.json).

    python tools/make_default_profile.py [REFERENCE_DIR]

Every function of the spec with a recorded result on the H100 gets that result, under
the simulator's key for it (the C entry point, or the function's simkey=), keyed by
its integer arguments; an NVML error is recorded as {"error": NAME}.  A few values are
added by hand (below): the second GPU's identity, topology between the two, a process
per GPU, process names; and each function family's sim/profiles/extras/*.json.  The output is checked in; this is rerun only to refresh it.
"""
import copy
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "codegen"))
import spec as spec_mod  # noqa: E402

CALL = re.compile(r"^(\w+)\((.*)\)$")


def error_name(code, names):
    return names.get(code, code)


def value_of(v):
    if isinstance(v, dict):
        return {k: value_of(x) for k, x in v.items() if k != "__class__"}
    if isinstance(v, (list, tuple)):
        return [value_of(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
        return str(v)          # past a double's precision: the simulator reads such strings
    return v


def shape_for_sim(f, value):
    """What the simulator must hold so that the Python function returns `value`."""
    outs = [p for p in f.params if p.role == "out"]
    if "pick" in f.options:            # Python returns struct fields: the struct holds them
        names = f.options["pick"].split(",")
        return {names[0]: value} if len(names) == 1 else dict(zip(names, value))
    if f.options.get("post") == "cuint":
        return None                    # a ctypes object: the record has no value
    if len(outs) == 1 and f.shape == "list" and isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def main(argv):
    ref = Path(argv[0]) if argv else ROOT / "tests" / "data" / "reference"
    data = json.loads((ref / "h100" / "nvidia-ml-py.json").read_text())
    spec = spec_mod.load()
    codes = {c.value: c.name for c in spec.constants if c.name.startswith("NVML_ERROR_")}
    by_py = {f.pyname: f for f in spec.functions}
    system, device = {}, {}
    for call, result in sorted(data["calls"].items()):
        m = CALL.match(call)
        f = by_py.get(m.group(1)) if m else None
        if f is None or "crash" in result or "exception" in result or f.hand_sim or "item" in f.options:
            continue   # item=: one of another function's outputs; that function's record is used
        if any(p.type.kind == "struct" for p in f.inputs):
            continue   # the recorder passed ints where the caller's struct goes: no GPU data
        args = [a for a in m.group(2).split(",") if a]
        on_device = bool(args) and args[0] == "h"
        keys = args[1:] if on_device else args
        if any(not k.isdigit() for k in keys):
            continue
        if "error" in result:
            value = {"error": error_name(result["code"], codes)}
            if result["code"] == 2 and keys:   # a missing key already answers INVALID_ARGUMENT
                continue
        else:
            value = shape_for_sim(f, value_of(result["value"]))
            if value is None:
                continue
        target = device if on_device else system
        key = f.options.get("simkey", f.csym)
        if keys:
            node = target.setdefault(key, {})
            if not isinstance(node, dict) or "error" in node:
                continue
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            node[keys[-1]] = value
        else:
            target.setdefault(key, value)
    # A function whose every recorded argument failed the same way fails that way for all.
    for key, node in list(device.items()):
        if isinstance(node, dict) and node and all(isinstance(v, dict) and "error" in v for v in node.values()):
            errs = {v["error"] for v in node.values()}
            if len(errs) == 1 and not any(isinstance(v, dict) and set(v) - {"error"} for v in node.values()):
                device[key] = {"error": errs.pop()}
    fields = {}
    for fid, r in sorted(data["field_values"].items(), key=lambda kv: int(kv[0])):
        if r["ret"] != 0:
            fields[fid] = {"error": error_name(r["ret"], codes)}
            continue
        t = r["valueType"]
        member = ["dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal"][t]
        fields[fid] = {"valueType": t, "value": r["value"][member]}
    device["nvmlDeviceGetFieldValues"] = fields
    # Scoped field values, as the H100 answered them (the smi helper's measurements): the
    # simulator looks up "id:scope" before "id".
    for fid in range(185, 193):
        fields[f"{fid}:1"] = {"error": "NVML_ERROR_NOT_SUPPORTED"}
    fields["185:2"] = {"valueType": 1, "value": 37950}
    fields["186:2"] = {"error": "NVML_ERROR_NOT_SUPPORTED"}
    device.setdefault("nvmlDeviceGetTemperatureThreshold", {})["7"] = {"error": "NVML_ERROR_NOT_SUPPORTED"}
    # nvmlDeviceGetMemoryInfo_v2 has its own data: NVML reserves memory that v1 counts as used.
    reserved = 503316480
    v1 = device["nvmlDeviceGetMemoryInfo"]
    device["nvmlDeviceGetMemoryInfo_v2"] = {"total": v1["total"], "reserved": reserved, "free": v1["free"],
                                            "used": v1["used"] - reserved}
    device["nvmlDeviceIsMigDeviceHandle"] = 0           # a whole GPU, MIG off

    gpu0 = device
    gpu1 = copy.deepcopy(device)
    gpu0["nvmlDeviceGetMinorNumber"] = 0
    gpu1["nvmlDeviceGetMinorNumber"] = 1
    gpu1["nvmlDeviceGetUUID"] = gpu0["nvmlDeviceGetUUID"][:-1] + "1"
    gpu1["nvmlDeviceGetSerial"] = gpu0["nvmlDeviceGetSerial"][:-1] + "2"
    pci1 = gpu1["nvmlDeviceGetPciInfo_v3"]
    pci1["device"] = 7
    pci1["busId"] = "00000000:00:07.0"
    pci1["busIdLegacy"] = "0000:00:07.0"
    for g, other in ((gpu0, 1), (gpu1, 0)):
        g["nvmlDeviceGetTopologyCommonAncestor"] = {str(other): 50}   # NVML_TOPOLOGY_SYSTEM
        g["nvmlDeviceGetTopologyNearestGpus"] = {str(lvl): ([other] if lvl == 50 else [])
                                                 for lvl in (0, 10, 20, 30, 40, 50)}
    # A training job on GPU 1, so the process views have something to show.
    gpu1["nvmlDeviceGetComputeRunningProcesses_v3"] = [
        {"pid": 4242, "usedGpuMemory": 17179869184, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF}]
    for key in ("nvmlDeviceGetMemoryInfo", "nvmlDeviceGetMemoryInfo_v2"):
        mem = gpu1[key]
        mem["used"] += 17179869184
        mem["free"] -= 17179869184
    gpu1["nvmlDeviceGetUtilizationRates"] = {"gpu": 87, "memory": 41}
    gpu1["nvmlDeviceGetPowerUsage"] = 512345
    gpu1["nvmlDeviceGetTemperature"] = {"0": 61}
    system["nvmlSystemGetProcessName"] = {"4242": "python3"}
    # Hand-written additions, a file per function family: sim/profiles/extras/*.json, each
    # {"system": {...}, "all_devices": {...}, "devices": {"0": {...}, ...}}, merged by key.
    for extra in sorted((ROOT / "sim" / "profiles" / "extras").glob("*.json")):
        add = json.loads(extra.read_text())
        system.update(add.get("system", {}))
        for g in (gpu0, gpu1):
            g.update(copy.deepcopy(add.get("all_devices", {})))
        for idx, entries in add.get("devices", {}).items():
            (gpu0, gpu1)[int(idx)].update(entries)
    profile = {
        "about": "Two simulated NVIDIA H100 80GB HBM3, modelled on a real one (driver 580.159.04). "
                 "Written by tools/make_default_profile.py.",
        "system": system,
        "devices": [gpu0, gpu1],
    }
    out = ROOT / "sim" / "profiles" / "default.json"
    out.write_text(json.dumps(profile, indent=1, sort_keys=True) + "\n")
    print("wrote", out.relative_to(ROOT), len(gpu0), "device entries")


if __name__ == "__main__":
    main(sys.argv[1:])
