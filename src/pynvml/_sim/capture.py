"""python -m pynvml._sim capture [-o FILE] [--anonymize]: a profile of this machine's
GPUs, made from read-only getters only, that the simulator then answers as they did.

Every getter of capture_plan.GETTERS (generated from the spec: the getters whose
simulator entry point reads the profile the generated way) is called on every GPU; a
keyed input (a sensor, a clock type, another GPU) is tried over a small range, and each
key that NVML does not refuse as an invalid argument is kept, with its value or its
error ({"error": "NVML_ERROR_NOT_SUPPORTED"}).  Nothing that changes the GPU is called:
the plan holds getters (Get, Is, Query) and no setter.  Hand-written parts of the
simulator (MIG instances, processes' names, field values, samples, events) are not
captured: they keep the simulator's defaults where a profile has none.

--anonymize replaces UUIDs, serial numbers, PCI bus ids and board ids with made-up ones
(the same made-up value wherever a real one appeared).
"""
import json
import re
import sys

from .capture_plan import GETTERS, STRUCTS

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


def _keyed(fn, args, levels, devices, outs, depth=0):
    """The data under one function, one level per keyed input (None: nothing to keep)."""
    import pynvml

    if depth == len(levels):
        try:
            r = fn(*args)
        except pynvml.NVMLError_InvalidArgument:
            return None
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
    return node or None


def capture():
    """The profile of the GPUs that pynvml's NVML sees now (nvmlInit is made here)."""
    import pynvml

    pynvml.nvmlInit()
    try:
        n = pynvml.nvmlDeviceGetCount()
        devices = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
        system, devs = {}, [{} for _ in devices]
        for key, pyname, on_device, levels, outs in GETTERS:
            fn = getattr(pynvml, pyname, None)
            if fn is None:
                continue
            if on_device:
                for d, h in zip(devs, devices):
                    v = _keyed(fn, [h], levels, devices, outs)
                    if v is not None:
                        d[key] = v
            else:
                v = _keyed(fn, [], levels, devices, outs)
                if v is not None:
                    system[key] = v
        for d, h in zip(devs, devices):
            # the memory getter's Python function takes the struct's version: both kept
            for key, kw in (("nvmlDeviceGetMemoryInfo", {}), ("nvmlDeviceGetMemoryInfo_v2",
                                                             {"version": pynvml.nvmlMemory_v2})):
                try:
                    m = pynvml.nvmlDeviceGetMemoryInfo(h, **kw)
                    d[key] = {f: int(getattr(m, f)) for f in ("total", "free", "used", "reserved") if hasattr(m, f)}
                except pynvml.NVMLError as e:
                    d[key] = _error(e)
        driver = system.get("nvmlSystemGetDriverVersion", "?")
        names = sorted({d.get("nvmlDeviceGetName", "?") for d in devs if isinstance(d.get("nvmlDeviceGetName"), str)})
        return {"about": "Captured by python -m pynvml._sim capture: %d GPU(s), %s, driver %s" % (
                    n, ", ".join(names), driver),
                "system": system, "devices": devs}
    finally:
        pynvml.nvmlShutdown()


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
    profile["devices"] = [{k: walk(v, k) for k, v in d.items()} for d in profile["devices"]]
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

    with open(path) as f:
        want = json.load(f)
    env = dict(os.environ, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=os.path.abspath(path))
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "capture"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{path}: the simulator could not replay it: {r.stderr.strip()}", file=out)
        return 1
    got = json.loads(r.stdout)
    want.pop("about", None)
    got.pop("about", None)
    n = sum(len(d) for d in want["devices"]) + len(want["system"])
    bad = diff(want, got)
    print(f"{path}: replayed by the simulator: {n} entry points captured, {len(bad)} differences", file=out)
    for d in bad[:50]:
        print("  $" + d, file=out)
    return 1 if bad else 0
