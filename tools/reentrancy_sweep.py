"""Call every public function of pynvml, and assign every field of every struct class,
with arguments that fight back: objects whose __index__, __int__, __float__, __bool__,
__len__, __iter__, __getitem__, __repr__ and __del__ run code while the extension
converts them.  That code empties the list the object came from (so that the list's
reference was the last one), frees the event sets and GPM samples of the call, shuts
NVML down (and starts it again), or starts a thread that does so while the call runs.
No call may crash or hang the interpreter; an exception is fine.

    python tools/reentrancy_sweep.py [--json OUT] [--only NAME ...] [--no-structs]

As tools/crash_sweep.py: the calls run in a child process that says which call it is
in, so that a crash (a signal, an ASan report) costs one call, not the sweep.  The
simulated NVML only (GPU 0 with MIG on, so that GPU and compute instance handles
exist): the calls set, free and shut down.

What a function gets: its handle parameters (by name) a live handle of their kind, its
other parameters 0, then one parameter at a time the hostile object (HOSTILE below, in
KINDS) alone and in a list of three ([h, h, h], the list being its "home").  The child
counts the calls during which hostile code ran (`ran` in the summary): calls refused
before any conversion (a struct expected, a version that must be right) run none.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash_sweep import run  # noqa: E402

# What the hostile object does when any of its methods is called.
#   clear     empty its home list (drops the list's references: often the last one)
#   clear_big the same, and its __index__ answers 2**70 (the range error's path)
#   free      free the call's event sets, GPM samples and system event sets
#   shutdown  nvmlShutdown until NVML is down
#   reinit    nvmlShutdown until down, then nvmlInit (the handles go stale)
#   thread    start a thread that frees the call's objects and empties the home list
#   del       empty its home list; its __del__ (run as it goes) frees and shuts down
KINDS = ["clear", "clear_big", "free", "shutdown", "reinit", "thread", "del"]
# Where it goes: alone, or in a list of 3 or 32 of them (the nonce takes 32; an array
# field gets as many as it holds).
PLACES = ["bare", "list3", "list32"]

CHILD = r'''
import copy, json, os, sys, threading, time
os.environ["PYNVML_LIBRARY"] = "sim"
import pynvml as N
prof = json.load(open(sys.argv[2]))
prof["devices"][0]["nvmlDeviceGetMigMode"] = [1, 1]
path = sys.argv[2] + ".mig.json"
with open(path, "w") as f:
    json.dump(prof, f)
os.environ["PYNVML_SIM_PROFILE"] = path
if os.environ.get("PYNVML_TEST_SECOND_THREAD") == "1":   # make test-threads: the GIL-releasing path
    threading.Thread(target=threading.Event().wait, daemon=True).start()

HANDLE_PARAMS = {"handle", "device", "device1", "device2", "handle1", "handle2"}
state = {"ran": 0}
threads = []
made = {}     # the tracked objects of the current call: name -> handle

def ensure_init():
    while N._nvml._refcount() > 1:
        N.nvmlShutdown()
    if N._nvml._refcount() == 0:
        N.nvmlInit()

def free_all():
    for name, fn in (("eventSet", N.nvmlEventSetFree), ("gpmSample", N.nvmlGpmSampleFree)):
        if name in made:
            try: fn(made[name])
            except Exception: pass
    if "setHandle" in made:
        try: N.nvmlSystemEventSetFree(N.nvmlSystemEventSetFreeRequest_v1, made["setHandle"])
        except Exception: pass

def shutdown():
    while N._nvml._refcount() > 0:
        N.nvmlShutdown()

class Hostile:
    def __init__(self, kind, home=None):
        self.kind, self.home = kind, home
    def act(self):
        state["ran"] += 1
        k = self.kind
        if k in ("clear", "clear_big", "del") and self.home is not None:
            home, self.home = self.home, None
            home.clear()
        elif k == "free":
            free_all()
        elif k == "shutdown":
            shutdown()
        elif k == "reinit":
            shutdown(); N.nvmlInit()
        elif k == "thread" and len(threads) < 4:
            home, self.home = self.home, None
            def run():
                free_all()
                if home is not None:
                    home.clear()
            t = threading.Thread(target=run); threads.append(t); t.start()
    def __index__(self):
        self.act(); return 2**70 if self.kind == "clear_big" else 0
    def __int__(self):
        self.act(); return 0
    def __float__(self):
        self.act(); return 0.0
    def __bool__(self):
        self.act(); return True
    def __len__(self):
        self.act(); return 3
    def __iter__(self):
        self.act(); return iter([0, 0, 0])
    def __getitem__(self, i):
        self.act()
        if not isinstance(i, int) or i >= 3: raise IndexError(i)
        return 0
    def __repr__(self):
        self.act(); return "Hostile"
    def __del__(self):
        if self.kind == "del":   # (not counted as `ran`: it runs after any call)
            free_all(); shutdown()

def hostile(kind, place):
    if place == "bare":
        return Hostile(kind)
    home = []
    home.extend(Hostile(kind, home) for _ in range(int(place[4:])))
    return home

def base(name):
    """A live object for a handle parameter `name`, or 0."""
    if name in HANDLE_PARAMS:
        return N.nvmlDeviceGetHandleByIndex(0)
    if name == "eventSet":
        made[name] = N.nvmlEventSetCreate(); return made[name]
    if name == "gpmSample":
        made[name] = N.nvmlGpmSampleAlloc(); return made[name]
    if name == "setHandle":
        made[name] = N.nvmlSystemEventSetCreate(N.nvmlSystemEventSetCreateRequest_v1); return made[name]
    if name == "unit":
        return N.nvmlUnitGetHandleByIndex(0) if N.nvmlUnitGetCount() else 0
    if name in ("gpuInstance", "computeInstance", "migDevice"):
        d = N.nvmlDeviceGetHandleByIndex(0)
        gis = N.nvmlDeviceGetGpuInstances(d, N.NVML_GPU_INSTANCE_PROFILE_1_SLICE)
        gi = gis[0] if gis else N.nvmlDeviceCreateGpuInstance(d, N.NVML_GPU_INSTANCE_PROFILE_1_SLICE)
        if name == "gpuInstance":
            return gi
        cis = N.nvmlGpuInstanceGetComputeInstances(gi, 0)
        ci = cis[0] if cis else N.nvmlGpuInstanceCreateComputeInstance(gi, 0)
        return ci if name == "computeInstance" else N.nvmlDeviceGetMigDeviceHandleByIndex(d, 0)
    return 0

VERSIONS = {"nvmlSystemEventSetCreate": "nvmlSystemEventSetCreateRequest_v1",
            "nvmlSystemEventSetFree": "nvmlSystemEventSetFreeRequest_v1",
            "nvmlSystemRegisterEvents": "nvmlSystemRegisterEventRequest_v1",
            "nvmlSystemEventSetWait": "nvmlSystemEventSetWaitRequest_v1"}

plan = json.loads(sys.stdin.readline())
for i, (name, args) in enumerate(plan):
    print("BEGIN", i, flush=True)
    before = state["ran"]
    out = "return"
    try:
        ensure_init()
        made.clear()
        if name.startswith("struct:"):
            cls = getattr(N, name[7:])
            field, kind, place = args
            s = cls()
            if place == "list":   # as many as the array field holds
                now = getattr(s, field)
                place = "list%d" % (len(now) if isinstance(now, (list, bytes)) else 3)
            setattr(s, field, hostile(kind, place))
        else:
            params, pos, kind, place = args
            if name.startswith("smi."):   # nvidia_smi's queries: a field, every GPU
                from pynvml.smi import nvidia_smi
                fn = getattr(nvidia_smi.getInstance(), name[4:])
            else:
                fn = getattr(N, name)
            real = []
            for j, p in enumerate(params):
                if j == pos:
                    real.append(hostile(kind, place))
                elif name.startswith("smi."):
                    real.append({"filter": "name", "devices": None, "header": True, "units": True}[p])
                elif p == "version" and name in VERSIONS:
                    real.append(getattr(N, VERSIONS[name]))
                else:
                    real.append(base(p))
            fn(*real)
            del real
    except BaseException as e:
        out = type(e).__name__
    for t in threads:
        t.join()
    threads.clear()
    free_all()
    print("END", i, out + ("+ran" if state["ran"] > before else ""), flush=True)
'''


# nvidia_smi's queries (pynvml.smi), whose devices list the extension converts
SMI = ["smi.DeviceQuery", "smi.XmlDeviceQuery", "smi.CsvQuery"]


def build_plan(mod, names, structs):
    import inspect

    plan = []
    for name in names:
        fn = getattr(mod.smi.nvidia_smi, name[4:]) if name.startswith("smi.") else getattr(mod, name)
        try:
            params = [p.name for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            continue
        for pos in range(len(params)):
            for kind in KINDS:
                for place in PLACES:
                    plan.append((name, [params, pos, kind, place]))
    for cls_name in structs:
        for field in getattr(mod, cls_name)._fields_:
            field = field[0]
            for kind in KINDS:
                for place in ("bare", "list"):
                    plan.append(("struct:" + cls_name, [field, kind, place]))
    return plan


def public_functions(mod):
    return sorted(n for n in dir(mod) if n.startswith(("nvml", "c_nvml")) and callable(getattr(mod, n))
                  and not isinstance(getattr(mod, n), type)
                  and n not in ("nvmlInit", "nvmlInitWithFlags", "nvmlShutdown")
                  and not n.startswith(("nvmlStructToFriendly", "nvmlFriendlyObject")))


def struct_classes(mod):
    return sorted(n for n in dir(mod) if n.startswith("c_nvml") and isinstance(getattr(mod, n), type)
                  and hasattr(getattr(mod, n), "_fields_") and getattr(mod, n)._fields_)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", help="function or struct class names")
    ap.add_argument("--no-structs", action="store_true", help="functions only")
    ap.add_argument("--json", help="write every call's outcome here")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a call counts as hung")
    args = ap.parse_args(argv)
    os.environ["PYNVML_LIBRARY"] = "sim"
    # the child's Python objects as malloc blocks, debug-filled when freed: a freed object
    # read back is garbage at once (and under ASan, a reported use after free)
    os.environ.setdefault("PYTHONMALLOC", "malloc_debug")
    import pynvml as mod

    import pynvml.smi  # noqa: F401  (mod.smi)

    names = public_functions(mod) + SMI
    structs = [] if args.no_structs else struct_classes(mod)
    if args.only:
        names = [n for n in names if n in args.only]
        structs = [n for n in structs if n in args.only]
    plan = build_plan(mod, names, structs)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        prof = os.path.join(tmp, "profile.json")
        with open(os.path.join(root, "sim", "profiles", "default.json")) as src, open(prof, "w") as dst:
            dst.write(src.read())
        results = run(plan, "ours", prof, args.timeout, child=CHILD)
    bad = [(p, r) for p, r in zip(plan, results) if r is None or r.startswith(("CRASH", "HANG", "EXIT"))]
    fcalls = [r for p, r in zip(plan, results) if not p[0].startswith("struct:")]
    scalls = [r for p, r in zip(plan, results) if p[0].startswith("struct:")]
    summary = {"functions": len(names), "hostile_kinds": len(KINDS), "places": len(PLACES), "calls": len(fcalls),
               "calls_ran_hostile_code": sum(1 for r in fcalls if r and r.endswith("+ran")),
               "struct_classes": len(structs),
               "struct_fields": sum(len(getattr(mod, n)._fields_) for n in structs),
               "assignments": len(scalls),
               "assignments_ran_hostile_code": sum(1 for r in scalls if r and r.endswith("+ran")),
               "crashes": len(bad), "crashed": sorted({f"{p[0]} {p[1][1:] if not p[0].startswith('struct:') else p[1]}: {r}"
                                                       for p, r in bad})[:50],
               "outcomes": {k: results.count(k) for k in sorted(set(map(str, results)))}}
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "calls": [[p[0], p[1], r] for p, r in zip(plan, results)]}, f)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
