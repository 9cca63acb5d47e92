"""The JSON schema of a simulator profile (src/pynvml/_sim/profile.schema.json), made
from the spec: what each generated entry point reads (codegen/emit_sim.py describes the
shape), each number within its C type's range, the faults and the lost-GPU syntax
(sim/sim.h).  The simulator embeds it and checks every profile against it when loading
(sim/profile_check.c, which implements the part of JSON Schema draft-07 used here), and
editors can validate profiles with it (`"$schema"` in a profile is allowed).

Entry points whose simulator is hand-written (simhand) accept any value here: their
files (sim/entry_points_*.c) check their own shapes at the call.  Members of a device
that are not entry points (read by those files) are listed in EXTRA_KEYS below.
"""
from __future__ import annotations

import json

from spec import Function, Spec, SpecError

# Members of a profile's objects that are not an entry point's name: read by the
# hand-written files named.  Anything else unknown is refused.
EXTRA_KEYS = {
    "system": {
        "faults": "injected faults (sim/sim.h)",
        "processNames": "PID -> process name (entry_points_hand.c)",
    },
    "device": {
        "faults": "injected faults (sim/sim.h)",
        "lost": "a lost GPU (sim/sim.h)",
        "events": "events to deliver (entry_points_events.c)",
        "operational_events": "GPU operational events to deliver (entry_points_events.c)",
        "mig": "MIG profiles and placements (entry_points_mig.c)",
        "gpm": "GPM metrics (entry_points_events.c)",
        "fieldValues": "field values by id (entry_points_hand.c)",
    },
}

INT_RANGES = {
    "u8": (0, 255), "u16": (0, 65535), "u32": (0, 4294967295), "i32": (-2147483648, 2147483647),
    # the doubles nearest the 64-bit limits from inside (larger values: as strings)
    "u64": (0, 18446744073709549568), "ulong": (0, 18446744073709549568),
    "i64": (-9223372036854775808, 9223372036854774784),
}
C_NAMES = {"u8": "unsigned 8-bit", "u16": "unsigned 16-bit", "u32": "unsigned 32-bit", "i32": "signed 32-bit",
           "u64": "unsigned 64-bit", "ulong": "unsigned 64-bit", "i64": "signed 64-bit"}

ERROR = {"$ref": "#/definitions/error"}
MOVING = {"$ref": "#/definitions/moving"}


def _or_error(s: dict) -> dict:
    out = {"anyOf": [s, ERROR]}
    if "description" in s:
        out["description"] = s["description"] + ', or {"error": CODE}'
    return out


def _scalar(base: str) -> dict:
    if base == "f64":
        return {"$ref": "#/definitions/f64"}
    return {"$ref": f"#/definitions/{base}"}


def _scalar_defs() -> dict:
    defs = {"f64": _or_error({"type": "number", "description": "a number"})}
    for base, (lo, hi) in INT_RANGES.items():
        desc = f"{'a' if base.startswith('i') else 'an'} {C_NAMES[base]} integer ({lo} to {hi})"
        alts = [{"type": "integer", "minimum": lo, "maximum": hi, "description": desc},
                {"type": "boolean"}]
        if base in ("u64", "ulong", "i64"):
            alts.append({"type": "string", "pattern": "^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$",
                         "description": "a 64-bit number as a decimal or 0x string"})
        alts += [ERROR, MOVING]
        defs[base] = {"anyOf": alts, "description": desc + ", or {\"error\": CODE}, or a value that moves"}
    defs["f64"]["anyOf"].append(MOVING)
    num = {"type": "number"}
    pos = {"type": "number", "exclusiveMinimum": 0, "description": "a number of milliseconds above 0"}
    defs["moving"] = {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "description": "a value that moves with the simulator's clock (sim/moving.c): "
                       "sequence, steps, ramp, sine, random_walk or energy",
        "properties": {
            "sequence": {"type": "array", "items": num}, "period_ms": pos,
            "steps": {"type": "array", "items": {"type": "array", "items": [num, num]}},
            "ramp": {"type": "array", "items": [num, num]}, "over_ms": pos,
            "sine": {"type": "object", "additionalProperties": False,
                     "properties": {"mean": num, "amplitude": num, "period_ms": pos}},
            "energy": {"type": "object", "additionalProperties": False, "properties": {"start": num}},
            "random_walk": {"type": "object", "additionalProperties": False,
                            "properties": {"start": num, "step": num, "every_ms": pos, "min": num, "max": num,
                                           "seed": {"type": "integer", "minimum": 0}}},
        },
    }
    return defs


class Emitter:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.defs: dict = {}

    def const(self, text: str) -> int | None:
        try:
            return int(text)
        except ValueError:
            try:
                return self.spec.const_value(text)
            except Exception:
                return None

    def value(self, t) -> dict:
        """The schema of one value of type t (an output, a struct field, an array item)."""
        if t.kind == "scalar":
            return _scalar(t.base)
        if t.kind in ("char", "str"):
            return _or_error({"type": "string", "description": "a string"})
        if t.kind == "char1":
            return {"anyOf": [{"type": "string", "maxLength": 1}, _scalar("u8")]}
        if t.kind == "handle":
            if t.base != "Device":
                return {}
            return _or_error({"type": "integer", "minimum": 0, "maximum": 63, "description": "a device index"})
        if t.kind == "struct":
            self.struct(t.base)
            return {"$ref": f"#/definitions/{t.base}"}
        if t.kind in ("ptr", "opaque"):
            return {}
        raise SpecError(f"no schema for {t}")

    def item_or_array(self, t) -> dict:
        if t.kind == "char":   # char[SIZE]: a string
            return _or_error({"type": "string", "description": "a string"})
        one = self.value(type(t)(base=t.base, kind=t.kind, pointee=t.pointee))
        if t.count or t.counted:
            arr = {"type": "array", "items": one}
            n = self.const(t.count) if t.count else None
            if n is not None:
                arr["maxItems"] = n
            return _or_error(arr)
        return one

    def struct(self, cname: str):
        if cname in self.defs:
            return
        self.defs[cname] = {}   # recursion guard
        s = self.spec.structs[cname]
        props = {}
        for fld in s.fields:
            if fld.name == "version" and s.version:
                props[fld.name] = {}   # the caller's: never read
                continue
            props[fld.name] = self.item_or_array(fld.type) if fld.type.kind != "char" else \
                _or_error({"type": "string"})
        # "_from_ms"/"_until_ms": an item of a list output that exists for a while (sim/device_model.c)
        self.defs[cname] = _or_error({"type": "object", "properties": props, "additionalProperties": False,
                                      "patternProperties": {"^_(from|until)_ms$": {"type": "number"}},
                                      "description": f"a {cname}: an object of its fields"})

    def entry(self, f: Function) -> dict:
        """What the generated entry point of f reads under its key."""
        if f.hand_sim:
            return {"description": "read by a hand-written entry point (sim/entry_points_*.c)"}
        if f.sim_setter:
            return _or_error({"type": "object", "maxProperties": 0,
                              "description": "a setter's key holds only {\"error\": CODE}"})
        first = f.params[0] if f.params else None
        on_device = first is not None and first.role == "in" and first.type.base in ("Device", "Unit")
        fill_name, _, fill_keys = f.options.get("fills", "").partition(":")
        if "fills" in f.options and not fill_name:
            fill_name = f.params[-1].name
        levels = []
        outs = [p for p in f.params if p.role == "out" or p.name == fill_name]
        for p in f.params[1 if on_device else 0:]:
            if p.name == fill_name:
                levels += [p.name + "." + k for k in filter(None, fill_keys.split(","))]
            elif p.role == "in" and p.type.kind in ("scalar", "handle"):
                levels.append(p.name)
            elif p.role == "in" and p.type.kind == "str":
                levels.append(p.name + ":str")
        if len(outs) == 1:
            node = self.item_or_array(outs[0].type)
        else:
            node = _or_error({"type": "array", "items": [self.item_or_array(p.type) for p in outs],
                              "description": f"a list of {len(outs)} outputs: "
                                             + ", ".join(p.name for p in outs)})
        for lv in reversed(levels):
            if lv.endswith(":str"):
                node = _or_error({"type": "object", "additionalProperties": node,
                                  "description": f"keyed by {lv[:-4]}"})
            else:
                node = _or_error({"type": "object", "patternProperties": {"^[0-9]+$": node},
                                  "additionalProperties": False,
                                  "description": f"keyed by {lv} (decimal numbers)"})
        return node


def fault_defs(spec: Spec) -> dict:
    names = sorted({f.csym for f in spec.functions} | {"*", "nvmlInit", "nvmlInit_v2", "nvmlInitWithFlags",
                                                       "nvmlShutdown"})
    count = {"type": "integer", "minimum": 0, "maximum": 9007199254740992, "description": "an integer >= 0"}
    rule = {"type": "object", "additionalProperties": False,
            "description": "a fault {\"error\": CODE, \"delay_ms\": D, \"after\": N, \"count\": M, "
                           "\"probability\": P, \"seed\": S}",
            "properties": {"error": {"$ref": "#/definitions/code"},
                           "delay_ms": {"type": "number", "minimum": 0, "maximum": 3600000,
                                        "description": "a number of milliseconds from 0 to 3600000"},
                           "after": count, "count": count, "seed": count,
                           "probability": {"type": "number", "minimum": 0, "maximum": 1,
                                           "description": "a number from 0 to 1"}}}
    return {
        "fault": rule,
        "faults": {"type": "object", "propertyNames": {"enum": names},
                   "description": "entry point (its C name, or \"*\") -> a fault or a list of faults",
                   "additionalProperties": {"anyOf": [{"$ref": "#/definitions/fault"},
                                                      {"type": "array", "items": {"$ref": "#/definitions/fault"}}],
                                            "description": "a fault (an object) or a list of faults"}},
        "lost": {"anyOf": [{"type": "boolean"},
                           {"type": "object", "additionalProperties": False,
                            "properties": {"error": {"$ref": "#/definitions/code"}, "after": count}}],
                 "description": "true, or {\"error\": CODE} and/or {\"after\": N}"},
    }


def emit_schema(spec: Spec) -> dict:
    em = Emitter(spec)
    system: dict = {}
    device: dict = {}
    unit: dict = {}
    for f in spec.functions:
        key = f.options.get("simkey", f.csym)
        first = f.params[0] if f.params else None
        base = first.type.base if first is not None and first.role == "in" else None
        target = device if base in ("Device", "GpuInstance", "ComputeInstance") else \
            unit if base == "Unit" else system
        if f.hand_sim:
            # a hand-written entry point reads where its file says: either level
            for t in (system, device, unit):
                t.setdefault(key, em.entry(f))
            continue
        new = em.entry(f)
        old = target.get(key)
        if old is not None and "description" not in old and old != new:
            # two functions read the same key (a struct and its newer version): either fits
            new = {"anyOf": (old["anyOf"] if old.get("x-either") else [old]) + [new], "x-either": True}
        target[key] = new
    codes = []
    for c in spec.constants:
        if (c.name.startswith("NVML_ERROR_") or c.name == "NVML_SUCCESS") and isinstance(c.value, int):
            codes.append(c.name)
            if c.name.startswith("NVML_ERROR_"):
                codes += [c.name[11:], c.name[5:]]
    defs = {"error": {"type": "object", "required": ["error"], "additionalProperties": False,
                      "properties": {"error": {"$ref": "#/definitions/code"}},
                      "description": "{\"error\": CODE}: the call fails with that return code"},
            "code": {"anyOf": [{"type": "string", "enum": sorted(set(codes)),
                                "description": "a return code's name (NOT_SUPPORTED, NVML_ERROR_NOT_SUPPORTED)"},
                               {"type": "integer"}],
                     "description": "a return code: its name (NOT_SUPPORTED, NVML_ERROR_NOT_SUPPORTED) or number"}}
    defs.update(_scalar_defs())
    defs.update(fault_defs(spec))
    comments = {"^(_|\\$schema$)": {}}
    system.update({k: {"$ref": "#/definitions/faults"} if k == "faults" else {} for k in EXTRA_KEYS["system"]})
    for k in EXTRA_KEYS["device"]:
        device[k] = {"$ref": f"#/definitions/{k}"} if k in ("faults", "lost") else {}
    defs.update(em.defs)
    defs["system"] = {"type": "object", "properties": dict(sorted(system.items())), "patternProperties": comments,
                      "additionalProperties": False, "description": "the system's entry points"}
    defs["device"] = {"type": "object", "properties": dict(sorted(device.items())), "patternProperties": comments,
                      "additionalProperties": False, "description": "a device's entry points"}
    defs["unit"] = {"type": "object", "properties": dict(sorted(unit.items())), "patternProperties": comments,
                    "additionalProperties": False, "description": "an S-class unit's entry points"}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://github.com/pynvml-c/pynvml/profile.schema.json",
        "title": "A profile of the simulated NVML (pynvml)",
        "description": "Generated by codegen/generate.py from spec/. Do not edit.",
        "type": "object",
        "properties": {
            "about": {"description": "what the profile is, where it came from (not read)"},
            "captured": {"type": "integer", "minimum": 1, "maximum": 1000,
                         "description": "written by python -m pynvml._sim capture, its format: the profile "
                                        "holds every getter that answered, and no entry point falls back to "
                                        "another's data (1: the plan's getters; 2: the hand-written ones too)"},
            "system": {"$ref": "#/definitions/system"},
            "devices": {"type": "array", "maxItems": 64, "items": {"$ref": "#/definitions/device"},
                        "description": "a list of device objects (at most 64)"},
            "units": {"type": "array", "items": {"$ref": "#/definitions/unit"}},
        },
        "patternProperties": comments,
        "additionalProperties": False,
        "definitions": dict(sorted(defs.items())),
    }


def emit(spec: Spec) -> str:
    return json.dumps(emit_schema(spec), indent=1) + "\n"
