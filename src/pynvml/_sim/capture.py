"""python -m pynvml._sim capture [-o FILE] [--anonymize]: a profile of this machine's
GPUs, made from read-only getters only, that the simulator then answers as they did.

Every getter of capture_plan.GETTERS (generated from the spec: the getters whose
simulator entry point reads the profile the generated way) is called on every GPU; a
keyed input (a sensor, a clock type, another GPU) is tried over a small range, and each
key that NVML does not refuse as an invalid argument is kept, with its value or its
error ({"error": "NVML_ERROR_NOT_SUPPORTED"}).  Nothing that changes the GPU is called:
the plan holds getters (Get, Is, Query) and no setter.

The getters the simulator answers by hand are captured here too (HAND below): the
temperature by sensor (nvmlDeviceGetTemperatureV), every field id of the spec that
answers (nvmlDeviceGetFieldValues), samples of every type (nvmlDeviceGetSamples) and
per-process utilization (nvmlDeviceGetProcessesUtilizationInfo), the names of the
processes the GPUs run (nvmlSystemGetProcessName), and MIG as it is: the GPU instance
profiles with their placements, the GPU and compute instances that exist, and every
getter of each MIG device (entry_points_mig.c reads them back: "mig": {"instances"}).
Events and GPM are not captured.

The profile says "captured": FORMAT: the simulator then answers a getter it lacks as
NOT_SUPPORTED and derives no answer from another getter's data (sim.h).  Format 1 (the
H200's built-in capture) held the plan's getters only; 2 holds HAND's, MIG and process
names too, which replay_check compares only in a capture of format 2.

--anonymize replaces UUIDs (of GPUs and MIG devices), serial numbers, PCI bus ids and
board ids with made-up ones (the same made-up value wherever a real one appeared), and
keeps only the last part of a process's name (a command's path may hold a user's name).
"""
import json
import re
import sys

from .capture_plan import GETTERS, STRUCTS

FORMAT = 2
INT_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "ulong": 64, "i32": 32, "i64": 64}
# keys tried per keyed input, by depth: the enums NVML keys by are small
KEY_RANGES = (range(16), range(8), range(4), range(4))
SAFE_INT = 2 ** 53


def _scalar(v, t):
    if v is None:   # NVML_VALUE_NOT_AVAILABLE, which pynvml reads as None: all bits set
        v = (1 << INT_BITS[t]) - 1 if t[0] != "i" else -1
    if isinstance(v, float) or t == "f64":
        return float(v)
    v = int(v)
    return v if -SAFE_INT < v < SAFE_INT else str(v)   # beyond a double's integers: a string


def to_json(v, t, devices):
    """A Python result of type t (capture_plan's spelling) as profile data."""
    if t.startswith("["):
        return [to_json(x, t[1:-1], devices) for x in (v or [])]
    if t.startswith("S:"):
        return {name: to_json(getattr(v, name), ft, devices) for name, ft in STRUCTS[t[2:]]
                if not ft.startswith("skip") and hasattr(v, name)}
    if t == "str":
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    if t == "char":
        return v if isinstance(v, str) else int(v)
    if t == "device":
        return next((i for i, h in enumerate(devices) if h == v), 0)
    return _scalar(v, t)


def _error(e):
    import pynvml

    for name in dir(pynvml):
        if name.startswith("NVML_ERROR_") and getattr(pynvml, name) == e.value:
            return {"error": name}
    return {"error": e.value}


REFUSED = {"error": "NVML_ERROR_INVALID_ARGUMENT"}


def _keyed(fn, args, levels, devices, outs, depth=0):
    """The data under one function, one level per keyed input (None: nothing to keep).

    A key NVML refuses as an invalid argument is left out (the simulator answers a key
    it lacks so); a function that refuses every key it is tried with, or takes none and
    refuses the call, is kept as REFUSED at the top: the simulator then answers every
    call of it so, as the GPU did, where a function missing from the profile would
    answer NOT_SUPPORTED."""
    import pynvml

    if depth == len(levels):
        try:
            r = fn(*args)
        except pynvml.NVMLError_InvalidArgument:
            return REFUSED if depth == 0 else None
        except pynvml.NVMLError as e:
            return _error(e)
        except (TypeError, ValueError):   # a key out of the argument's range
            return None
        if len(outs) == 1:
            if isinstance(r, list) and not outs[0].startswith("["):
                r = r[0]   # returns=list: the one output in a list (as nvidia-ml-py)
            return to_json(r, outs[0], devices)
        return [to_json(x, t, devices) for x, t in zip(r, outs)]
    keys = range(len(devices)) if levels[depth] == "device" else KEY_RANGES[min(depth, 3)]
    node = {}
    for k in keys:
        arg = devices[k] if levels[depth] == "device" else k
        sub = _keyed(fn, args + [arg], levels, devices, outs, depth + 1)
        if sub is not None:
            node[str(k)] = sub
    if depth == 0 and not node:
        return REFUSED if node == {} and _tried(fn, args, levels, devices) else None
    return node or None


def _tried(fn, args, levels, devices):
    """Whether NVML refused the function's first key as an invalid argument (and not
    Python its range): then every key was refused so."""
    import pynvml

    arg = devices[0] if levels[0] == "device" and devices else 0
    rest = [devices[0] if lv == "device" and devices else 0 for lv in levels[1:]]
    try:
        fn(*args, arg, *rest)
    except pynvml.NVMLError_InvalidArgument:
        return True
    except Exception:
        return False
    return False


def _device_getters(h, devices):
    """Every device getter of the plan, and the hand-written ones, on handle h."""
    import pynvml

    d = {}
    for key, pyname, on_device, levels, outs in GETTERS:
        fn = getattr(pynvml, pyname, None)
        if fn is not None and on_device:
            v = _keyed(fn, [h], levels, devices, outs)
            if v is not None:
                d[key] = v
    # the memory getter's Python function takes the struct's version: both kept
    for key, kw in (("nvmlDeviceGetMemoryInfo", {}), ("nvmlDeviceGetMemoryInfo_v2",
                                                     {"version": pynvml.nvmlMemory_v2})):
        try:
            m = pynvml.nvmlDeviceGetMemoryInfo(h, **kw)
            d[key] = {f: int(getattr(m, f)) for f in ("total", "free", "used", "reserved") if hasattr(m, f)}
        except pynvml.NVMLError as e:
            d[key] = _error(e)
    for key, get in HAND:
        v = get(h)
        if v is not None:
            d[key] = v
    return d


def capture():
    """The profile of the GPUs that pynvml's NVML sees now (nvmlInit is made here)."""
    import pynvml

    pynvml.nvmlInit()
    try:
        n = pynvml.nvmlDeviceGetCount()
        devices = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
        system = {}
        for key, pyname, on_device, levels, outs in GETTERS:
            fn = getattr(pynvml, pyname, None)
            if fn is not None and not on_device:
                v = _keyed(fn, [], levels, devices, outs)
                if v is not None:
                    system[key] = v
        devs = [_device_getters(h, devices) for h in devices]
        for d, h in zip(devs, devices):
            mig = _mig(h, devices)
            if mig is not None:
                d["mig"] = mig
        names = _process_names(devs)
        if names:
            system["nvmlSystemGetProcessName"] = names
        driver = system.get("nvmlSystemGetDriverVersion", "?")
        names = sorted({d.get("nvmlDeviceGetName", "?") for d in devs if isinstance(d.get("nvmlDeviceGetName"), str)})
        return {"about": "Captured by python -m pynvml._sim capture: %d GPU(s), %s, driver %s" % (
                    n, ", ".join(names), driver),
                "captured": FORMAT, "system": system, "devices": devs}
    finally:
        pynvml.nvmlShutdown()


# --- the getters the simulator answers by hand ------------------------------------------

def _call(fn, *args):
    """fn's result, or its NVML error as profile data (None: refused as invalid)."""
    import pynvml

    try:
        return fn(*args)
    except pynvml.NVMLError_InvalidArgument:
        return None
    except pynvml.NVMLError as e:
        return _error(e)


def _is_error(v):
    return isinstance(v, dict) and "error" in v


def _struct(s):
    """A ctypes struct's integer fields (and strings) as a dict."""
    out = {}
    for name, _t in s._fields_:
        v = getattr(s, name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, (int, str)):
            out[name] = v if isinstance(v, str) else _scalar(v, "u64" if v >= 0 else "i64")
    return out


VALUE_FIELDS = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal", 6: "usVal"}


def _value(v, vtype):
    return _scalar(getattr(v, VALUE_FIELDS.get(vtype, "ullVal")), "f64" if vtype == 0 else "i64" if vtype in (4, 5) else "u64")


def _temperature_v(h):
    import pynvml

    fn = getattr(pynvml, "nvmlDeviceGetTemperatureV", None)
    if fn is None:
        return None
    node = {}
    for sensor in range(4):
        v = _call(fn, h, sensor)
        if v is not None:
            node[str(sensor)] = v if _is_error(v) else int(v)
    return node or REFUSED


def _field_answers(h, ids):
    """{"ID" or "ID:SCOPE": answer} for (id, scope) pairs; NOT_SUPPORTED as None."""
    import pynvml

    out = {}
    for i in range(0, len(ids), 64):   # NVML takes at most 64 at once
        r = _call(pynvml.nvmlDeviceGetFieldValues, h, ids[i:i + 64])
        if r is None or _is_error(r):
            return r
        for f in r:
            key = str(f.fieldId) + (":%d" % f.scopeId if f.scopeId else "")
            if f.nvmlReturn == pynvml.NVML_SUCCESS:
                out[key] = {"valueType": int(f.valueType), "value": _value(f.value, f.valueType)}
            elif f.nvmlReturn != pynvml.NVML_ERROR_NOT_SUPPORTED:
                out[key] = _error(pynvml.NVMLError(f.nvmlReturn))
            else:
                out[key] = None
    return out


def _field_values(h):
    """Every field id of the spec that answers, as {"ID": {"valueType": T, "value": V}} or
    {"ID": {"error": CODE}} (NOT_SUPPORTED left out: the simulator answers an id it lacks
    so); then each of those at scopes 1 to 17 (a power domain, an NVLink), as "ID:SCOPE"
    where the answer is not the one at scope 0."""
    import pynvml

    ids = sorted({v for k, v in vars(pynvml).items() if k.startswith("NVML_FI_") and isinstance(v, int)
                  and 0 < v < getattr(pynvml, "NVML_FI_MAX", 1 << 16)})
    base = _field_answers(h, ids)
    if base is None or _is_error(base):
        return base
    out = {k: v for k, v in base.items() if v is not None}
    scoped = _field_answers(h, [(int(k), s) for k in out for s in range(1, 18)])
    for k, v in (scoped if isinstance(scoped, dict) else {}).items():
        if v != out[k.split(":")[0]]:
            out[k] = v if v is not None else {"error": "NVML_ERROR_NOT_SUPPORTED"}
    return out


def _samples(h):
    """nvmlDeviceGetSamples of each type: {"TYPE": {"valueType", "periodUs", "count",
    "values"}}, the values placed as the simulator hands them out (the sample at time t
    takes values[(t / period) % count]), so that a replay captures the same."""
    import pynvml

    node = {}
    for t in range(getattr(pynvml, "NVML_SAMPLINGTYPE_COUNT", 10)):
        r = _call(pynvml.nvmlDeviceGetSamples, h, t, 0)
        if r is None:
            continue
        if _is_error(r):
            node[str(t)] = r
            continue
        vtype, samples = r
        if not samples:
            continue
        stamps = [int(s.timeStamp) for s in samples]
        steps = sorted(b - a for a, b in zip(stamps, stamps[1:]) if b > a)
        period = steps[len(steps) // 2] if steps else 1000000
        n = len(samples)
        values = [0] * n
        k0 = (stamps[0] + period // 2) // period
        for i, s in enumerate(samples):
            values[(k0 + i) % n] = _value(s.sampleValue, vtype)
        node[str(t)] = {"valueType": int(vtype), "periodUs": period, "count": n, "values": values}
    return node or REFUSED


def _processes_utilization(h):
    import pynvml

    fn = getattr(pynvml, "nvmlDeviceGetProcessesUtilizationInfo", None)
    r = _call(fn, h, 0) if fn is not None else None
    if r is None or _is_error(r):
        return r
    return [_struct(s) for s in r]


HAND = (("nvmlDeviceGetTemperatureV", _temperature_v), ("nvmlDeviceGetFieldValues", _field_values),
        ("nvmlDeviceGetSamples", _samples),
        ("nvmlDeviceGetProcessesUtilizationInfo", _processes_utilization))

PROCESS_KEYS = ("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v3",
                "nvmlDeviceGetMPSComputeRunningProcesses_v3")


def _process_names(devs):
    """{"PID": name} for the processes of every GPU and MIG device."""
    import pynvml

    pids = set()
    for d in devs:
        for dd in [d] + [ci.get("device", {}) for gi in d.get("mig", {}).get("instances", [])
                         for ci in gi.get("computeInstances", [])]:
            for key in PROCESS_KEYS:
                if isinstance(dd.get(key), list):
                    pids.update(p["pid"] for p in dd[key] if isinstance(p, dict) and "pid" in p)
    names = {}
    for pid in sorted(pids):
        v = _call(pynvml.nvmlSystemGetProcessName, pid)
        if v is not None and not _is_error(v):
            names[str(pid)] = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return names


def _mig(h, devices):
    """MIG as it is on GPU h: its GPU instance profiles and their placements, and the
    instances that exist, each compute instance with its MIG device's getters (None: no
    MIG on this GPU)."""
    import pynvml

    profiles = []
    for idx in range(getattr(pynvml, "NVML_GPU_INSTANCE_PROFILE_COUNT", 0)):
        info = _call(pynvml.nvmlDeviceGetGpuInstanceProfileInfo, h, idx)
        if info is None or _is_error(info):
            continue
        p = _struct(info)
        p.pop("version", None)
        p["profile"] = idx
        places = _call(pynvml.nvmlDeviceGetGpuInstancePossiblePlacements, h, info.id)
        places = places if isinstance(places, list) else []
        p["placementSize"] = int(places[0].size) if places else 0
        p["placements"] = [int(x.start) for x in places]
        profiles.append(p)
    if not profiles:
        return None
    mig = {"memorySlices": max((p["placementSize"] + max(p["placements"], default=0) for p in profiles), default=0),
           "computeSlices": max(p.get("sliceCount", 0) for p in profiles),
           "gpuInstanceProfiles": profiles}
    # MIG devices, by (GPU instance id, compute instance id)
    migdevs = {}
    count = _call(pynvml.nvmlDeviceGetMaxMigDeviceCount, h)
    for i in range(count if isinstance(count, int) else 0):
        md = _call(pynvml.nvmlDeviceGetMigDeviceHandleByIndex, h, i)
        if md is None or _is_error(md):
            continue
        gid, cid = _call(pynvml.nvmlDeviceGetGpuInstanceId, md), _call(pynvml.nvmlDeviceGetComputeInstanceId, md)
        if isinstance(gid, int) and isinstance(cid, int):
            migdevs[(gid, cid)] = _device_getters(md, devices)
    instances = []
    for p in profiles:
        gis = _call(pynvml.nvmlDeviceGetGpuInstances, h, p["id"])
        for gi in gis if isinstance(gis, list) else []:
            info = pynvml.nvmlGpuInstanceGetInfo(gi)
            cis = []
            for cp in range(getattr(pynvml, "NVML_COMPUTE_INSTANCE_PROFILE_COUNT", 0)):
                found = _call(pynvml.nvmlGpuInstanceGetComputeInstances, gi, cp)
                for ci in found if isinstance(found, list) else []:
                    ci_info = pynvml.nvmlComputeInstanceGetInfo(ci)
                    entry = {"id": int(ci_info.id), "profile": int(ci_info.profileId),
                             "start": int(ci_info.placement.start)}
                    dev = migdevs.get((int(info.id), int(ci_info.id)))
                    if dev is not None:
                        entry["device"] = dev
                    cis.append(entry)
            instances.append({"id": int(info.id), "profile": int(info.profileId),
                              "start": int(info.placement.start),
                              "computeInstances": sorted(cis, key=lambda c: c["id"])})
    if instances:
        mig["instances"] = sorted(instances, key=lambda g: g["id"])
    return mig


# --- anonymizing --------------------------------------------------------------------------

UUID = re.compile(r"(GPU|MIG)-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
BUS_ID = re.compile(r"^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F]$")
SECRET_KEYS = {"nvmlDeviceGetSerial", "nvmlDeviceGetBoardId", "nvmlDeviceGetBoardPartNumber",
               "nvmlDeviceGetModuleId"}


def anonymize(profile):
    """The profile with identifying values replaced, consistently (in place, returned)."""
    made = {}

    def fake(real, kind):
        if real not in made:
            i = sum(1 for k in made.values() if k[0] == kind)
            if kind == "uuid":
                value = "%s-00000000-0000-4000-8000-%012d" % (real[:3], i)
            elif kind == "bus":
                width = len(real.split(":")[0])
                value = "%s:%02X:00.0" % ("0" * width, 0x10 + i)
            elif kind == "serial":
                value = "%0*d" % (max(len(real), 4), i + 1) if real.isdigit() else "SERIAL-%d" % i
            else:
                value = i
            made[real] = (kind, value)
        return made[real][1]

    def walk(v, key=None):
        if isinstance(v, dict):
            return {k: walk(x, k if key is None else key) if k != "error" else x for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, key) for x in v]
        if isinstance(v, str):
            if key in SECRET_KEYS:
                return fake(v, "serial")
            v = UUID.sub(lambda m: fake(m.group(0), "uuid"), v)
            if BUS_ID.match(v):
                return fake(v.upper(), "bus")
            return v
        if isinstance(v, (int, float)) and key in SECRET_KEYS and not isinstance(v, bool):
            return fake(v, "number")
        return v

    profile["system"] = walk(profile["system"])
    names = profile["system"].get("nvmlSystemGetProcessName")
    if isinstance(names, dict):   # a command's path may hold a user's name: its last part
        profile["system"]["nvmlSystemGetProcessName"] = {
            pid: n.rstrip("/").rsplit("/", 1)[-1] if isinstance(n, str) else n for pid, n in names.items()}
    profile["devices"] = [{k: walk(v, k) for k, v in d.items()} for d in profile["devices"]]
    # a MIG device's getters are a device's: its serial, its board's ids
    for d in profile["devices"]:
        for gi in d.get("mig", {}).get("instances", []) if isinstance(d.get("mig"), dict) else []:
            for ci in gi.get("computeInstances", []):
                if isinstance(ci.get("device"), dict):
                    ci["device"] = {k: walk(v, k) for k, v in ci["device"].items()}
    # the bus numbers inside PCI info structs follow their (made-up) bus id
    for d in profile["devices"]:
        for key in ("nvmlDeviceGetPciInfo", "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfoExt"):
            pci = d.get(key)
            if isinstance(pci, dict) and isinstance(pci.get("busId"), str) and BUS_ID.match(pci["busId"]):
                dom, bus, rest = pci["busId"].split(":")
                pci["bus"] = int(bus, 16)
                pci["domain"] = int(dom, 16)
                if isinstance(pci.get("busIdLegacy"), str):
                    pci["busIdLegacy"] = "%04X:%s:%s" % (int(dom, 16), bus, rest)
    profile["about"] += " (anonymized)"
    return profile


def main(out=None, anon=False):
    profile = capture()
    if anon:
        profile = anonymize(profile)
    text = json.dumps(profile, indent=1, sort_keys=False) + "\n"
    if out is None or out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w") as f:
            f.write(text)
        print(f"{out}: {len(profile['devices'])} GPU(s), "
              f"{sum(len(d) for d in profile['devices']) + len(profile['system'])} entry points captured",
              file=sys.stderr)
    return 0


def diff(a, b, path=""):
    """The places where two captures differ, as JSON paths."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k} ({'only in the replay' if k not in a else 'missing in the replay'})")
            else:
                out += diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def replay_check(path, out=sys.stdout):
    """Capture the simulator replaying the profile at `path` and compare with it: every
    getter's answer must be the one captured.  Returns the exit status."""
    import os
    import subprocess

    try:
        with open(path) as f:
            want = json.load(f)
    except (OSError, ValueError) as e:   # no such file, not JSON: one line
        print(f"{path}: cannot be read as a capture: {e}", file=out)
        return 1
    env = dict(os.environ, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=os.path.abspath(path))
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "capture"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{path}: the simulator could not replay it: {r.stderr.strip()}", file=out)
        return 1
    got = json.loads(r.stdout)
    want.pop("about", None)
    got.pop("about", None)
    fmt = want.get("captured", 1)
    got["captured"] = fmt
    skipped = 0
    if fmt < 2:   # what an older capture did not record: not compared
        later = {k for k, _ in HAND} | {"mig"}
        for w, g in zip(want["devices"], got["devices"]):
            skipped += sum(1 for k in later if k in g and k not in w)
            for k in later - set(w):
                g.pop(k, None)
        if "nvmlSystemGetProcessName" not in want["system"]:
            skipped += got["system"].pop("nvmlSystemGetProcessName", None) is not None
    n = sum(len(d) for d in want["devices"]) + len(want["system"])
    bad = diff(want, got)
    print(f"{path}: replayed by the simulator: {n} entry points captured, {len(bad)} differences"
          + (f" ({skipped} getters that a capture of format {fmt} does not record left out)" if skipped else ""),
          file=out)
    for d in bad[:50]:
        print("  $" + d, file=out)
    return 1 if bad else 0
