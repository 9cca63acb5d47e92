#!/usr/bin/env python3
"""Benchmarks: our C-extension pynvml vs raw NVML (C) vs nvidia-ml-py vs plain ctypes.

    PYNVML_LIBRARY=sim .venv/bin/python bench/run.py --quick     (the simulated NVML)
    python bench/run.py --reference /path/to/nvidia-ml-py/pynvml.py --markdown --json out.json

What it measures (bench/README.md says how to read it):
  per call      ns per call of nine getters: raw C (bench/raw_nvml.c, built here with cc),
                ours, nvidia-ml-py, and a plain ctypes call with argtypes set (the floor of any
                ctypes binding); all on the very library ours loaded
  struct field  ns per `mem.total`: ours, a plain Python object, nvidia-ml-py's ctypes struct
  import        `import pynvml` in fresh interpreters (median), modules it adds, ctypes loaded?
  memory        VmRSS of a fresh interpreter, after `import pynvml`, after nvmlInit()
  threads       total calls/s of one cheap call from 1, 2, 4, 8 Python threads

Python timings are timeit loops (gc off): N iterations per repeat, N calibrated so that a repeat
takes a fixed time, repeats taken round-robin over everything timed in a table, the median of
the repeats reported (min in --json too).  The raw C
numbers are medians of runs as well.  Nothing here changes GPU state.
"""
import argparse
import ctypes
import datetime
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
RAW_BIN = BUILD / "raw_nvml"
DEFAULT_REF = ROOT / ".ref" / "nvidia-ml-py" / "pynvml.py"


# --------------------------------------------------------------------------- options
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer, shorter repeats (about 15 s)")
    p.add_argument("--json", metavar="OUT", help="save all results as JSON")
    p.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    p.add_argument("--reference", metavar="PATH",
                   help="nvidia-ml-py's pynvml.py (default: $PYNVML_REFERENCE or .ref/nvidia-ml-py/pynvml.py)")
    p.add_argument("--device", type=int, default=0, help="device index to time (default 0)")
    p.add_argument("--null", action="store_true",
                   help="time against bench/null_nvml.c, an NVML whose calls return at once: "
                        "ours - raw C is then the binding's own cost alone")
    return p.parse_args(argv)


class Settings:
    def __init__(self, quick):
        self.quick = quick
        self.target_s = 0.005 if quick else 0.02      # one timeit repeat
        self.repeats = 5 if quick else 7
        self.import_runs = 5 if quick else 21
        self.mem_runs = 1 if quick else 3
        self.thread_s = 0.25 if quick else 0.6        # per thread count and binding
        self.threads = (1, 2, 4, 8)


# --------------------------------------------------------------------------- loading
def load_reference(path, lib_path):
    """nvidia-ml-py's pynvml.py under another module name, on the library ours loaded."""
    spec = importlib.util.spec_from_file_location("nvidia_ml_py_bench", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["nvidia_ml_py_bench"] = mod
    spec.loader.exec_module(mod)
    # Its loader opens a library only while nvmlLib is None: hand it the one ours uses.
    mod.nvmlLib = ctypes.CDLL(lib_path)
    mod.nvmlInit()
    return mod


def reference_version(path):
    for d in sorted(Path(path).parent.glob("nvidia_ml_py-*.dist-info")):
        return d.name[len("nvidia_ml_py-"):-len(".dist-info")]
    return "?"


def build_raw():
    """Compile bench/raw_nvml.c; returns (binary or None, message)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None, "no C compiler (cc)"
    BUILD.mkdir(parents=True, exist_ok=True)
    cmd = [cc, "-O2", "-Iinclude", "bench/raw_nvml.c", "-ldl", "-o", str(RAW_BIN.relative_to(ROOT))]
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"cc failed: {e}"
    if r.returncode != 0:
        return None, "cc failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return RAW_BIN, " ".join(cmd)


NULL_LIB = BUILD / "libnull_nvml.so"


def build_null():
    """Compile bench/null_nvml.c into a shared library; its path."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("--null: no C compiler (cc)")
    BUILD.mkdir(parents=True, exist_ok=True)
    cmd = [cc, "-O2", "-shared", "-fPIC", "-Iinclude", "bench/null_nvml.c", "-o", str(NULL_LIB.relative_to(ROOT))]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit("--null: cc failed: " + r.stderr.strip())
    return str(NULL_LIB)


def run_raw_threads(binary, lib_path, call, st):
    env = dict(os.environ, PYNVML_LIBRARY=lib_path)
    args = [str(binary), "--threads", ",".join(map(str, st.threads)), "--seconds", str(st.thread_s), "--call", call]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return None
    rates = json.loads(r.stdout)["rates"]
    return {int(k): v for k, v in rates.items() if v is not None} or None


def run_raw(binary, lib_path, quick):
    env = dict(os.environ, PYNVML_LIBRARY=lib_path)
    args = [str(binary)] + (["--quick"] if quick else [])
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return {}, (r.stderr.strip() or f"exit {r.returncode}")
    return json.loads(r.stdout), r.stderr.strip()


# --------------------------------------------------------------------------- timing
def calibrate(timer, st):
    """Iterations for one repeat of about st.target_s."""
    n = 1
    while True:
        dt = timer.timeit(n)
        if dt >= st.target_s / 10 or n >= 1 << 24:
            break
        n *= 4
    return max(1, int(n * st.target_s / max(dt, 1e-9)))


def time_many(jobs, st):
    """jobs: {key: (stmt, namespace)} -> {key: (median ns, min ns)}.

    All are calibrated first, then the repeats go round-robin over the jobs, so that a burst
    of noise from elsewhere on the machine spoils one repeat of several jobs (which the
    median drops), not every repeat of one job."""
    timers = {k: timeit.Timer(stmt, globals=ns) for k, (stmt, ns) in jobs.items()}
    counts = {k: calibrate(t, st) for k, t in timers.items()}
    runs = {k: [] for k in timers}
    for _ in range(st.repeats):
        for k, t in timers.items():
            runs[k].append(t.timeit(counts[k]) / counts[k] * 1e9)
    return {k: (statistics.median(v), min(v)) for k, v in runs.items()}


def call_job(fn, args):
    """(stmt, namespace) calling fn(*args) with the arguments as names, or the error's name."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - an NVMLError on this GPU: report, don't time
        return type(e).__name__
    names = [f"a{i}" for i in range(len(args))]
    return f"f({', '.join(names)})", dict(zip(names, args), f=fn)


# --------------------------------------------------------------------------- plain ctypes
class _Mem(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class _Util(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]


class _Pci(ctypes.Structure):
    _fields_ = [("busIdLegacy", ctypes.c_char * 16), ("domain", ctypes.c_uint), ("bus", ctypes.c_uint),
                ("device", ctypes.c_uint), ("pciDeviceId", ctypes.c_uint), ("pciSubSystemId", ctypes.c_uint),
                ("busId", ctypes.c_char * 32)]


def ctypes_calls(lib_path, index):
    """{entry point: (function with argtypes, args)}: outputs preallocated, pointers pre-made."""
    C = ctypes
    lib = C.CDLL(lib_path)   # its own CDLL object: argtypes set here don't reach nvidia-ml-py's

    def fn(name, argtypes):
        f = getattr(lib, name)
        f.argtypes = argtypes
        f.restype = C.c_int
        return f

    handle = C.c_void_p()
    get_handle = fn("nvmlDeviceGetHandleByIndex_v2", [C.c_uint, C.POINTER(C.c_void_p)])
    if get_handle(index, C.byref(handle)) != 0:
        return {}
    u = C.c_uint()
    hout = C.c_void_p()
    name = C.create_string_buffer(96)
    mem, util, pci = _Mem(), _Util(), _Pci()
    return {
        "nvmlDeviceGetCount_v2": (fn("nvmlDeviceGetCount_v2", [C.POINTER(C.c_uint)]), (C.byref(u),)),
        "nvmlDeviceGetHandleByIndex_v2": (get_handle, (index, C.byref(hout))),
        "nvmlDeviceGetName": (fn("nvmlDeviceGetName", [C.c_void_p, C.c_char_p, C.c_uint]), (handle, name, 96)),
        "nvmlDeviceGetMemoryInfo": (fn("nvmlDeviceGetMemoryInfo", [C.c_void_p, C.POINTER(_Mem)]),
                                    (handle, C.byref(mem))),
        "nvmlDeviceGetTemperature": (fn("nvmlDeviceGetTemperature", [C.c_void_p, C.c_uint, C.POINTER(C.c_uint)]),
                                     (handle, 0, C.byref(u))),
        "nvmlDeviceGetUtilizationRates": (fn("nvmlDeviceGetUtilizationRates", [C.c_void_p, C.POINTER(_Util)]),
                                          (handle, C.byref(util))),
        "nvmlDeviceGetPowerUsage": (fn("nvmlDeviceGetPowerUsage", [C.c_void_p, C.POINTER(C.c_uint)]),
                                    (handle, C.byref(u))),
        "nvmlDeviceGetClockInfo": (fn("nvmlDeviceGetClockInfo", [C.c_void_p, C.c_uint, C.POINTER(C.c_uint)]),
                                   (handle, 0, C.byref(u))),
        "nvmlDeviceGetPciInfo_v3": (fn("nvmlDeviceGetPciInfo_v3", [C.c_void_p, C.POINTER(_Pci)]),
                                    (handle, C.byref(pci))),
    }


# (C entry point, Python function name, arguments: "h" = the device handle, "i" = its index)
CALLS = [
    ("nvmlDeviceGetCount_v2", "nvmlDeviceGetCount", ()),
    ("nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex", ("i",)),
    ("nvmlDeviceGetName", "nvmlDeviceGetName", ("h",)),
    ("nvmlDeviceGetMemoryInfo", "nvmlDeviceGetMemoryInfo", ("h",)),
    ("nvmlDeviceGetTemperature", "nvmlDeviceGetTemperature", ("h", 0)),
    ("nvmlDeviceGetUtilizationRates", "nvmlDeviceGetUtilizationRates", ("h",)),
    ("nvmlDeviceGetPowerUsage", "nvmlDeviceGetPowerUsage", ("h",)),
    ("nvmlDeviceGetClockInfo", "nvmlDeviceGetClockInfo", ("h", 0)),
    ("nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v3", ("h",)),
]


RAW_BATCH = 1000   # raw C calls per statement of the in-process raw timing


def bind_args(spec, handle, index):
    return tuple(handle if a == "h" else index if a == "i" else a for a in spec)


def bench_calls(ours, ref, ours_h, ref_h, index, lib_path, st):
    cts = ctypes_calls(lib_path, index)
    out, jobs = {}, {}
    for cname, pyname, spec in CALLS:
        out[cname] = row = {"python": pyname}
        cands = [("ours", getattr(ours, pyname), bind_args(spec, ours_h, index))]
        if ref is not None:
            cands.append(("ref", getattr(ref, pyname), bind_args(spec, ref_h, index)))
        for label, fn, args in cands:
            job = call_job(fn, args)
            if isinstance(job, str):
                row[label], row[label + "_error"] = None, job
            else:
                jobs[cname, label] = job
        if cname in cts:
            f, args = cts[cname]
            rc = f(*args)
            if rc == 0:
                jobs[cname, "ctypes"] = call_job(f, args)
            else:
                row["ctypes"], row["ctypes_error"] = None, f"rc {rc}"
    # The fixed costs inside each of our calls, timed in the same round-robin: timeit's own
    # loop, a call to a C function that does nothing, one that only releases and retakes the
    # GIL, and one that does what a wrapper does around its NVML call (ext/gil.h: here, with
    # this one thread, keep the GIL).  Builds without the probes (ext/hand_speed.c) leave
    # them out.
    probes = {"loop": ("pass", {})}
    for key, name in (("call", "_probe_call"), ("gil", "_probe_gil"), ("nvml_gil", "_probe_nvml_gil"),
                      ("hook", "_probe_hook_entry")):
        fn = getattr(ours._nvml, name, None)
        if fn is not None:
            probes[key] = ("f()", {"f": fn})
    jobs.update({("_fixed", k): v for k, v in probes.items()})
    # The raw C calls once more, from this process (ext/hand_speed.c's _probe_raw: a C loop
    # of RAW_BATCH calls per statement), in the same round-robin: same core, same moment.
    raw_here = getattr(ours._nvml, "_probe_raw", None)
    for cname, _, _ in CALLS if raw_here is not None else ():
        try:
            raw_here(cname, 1, index)
        except Exception as e:  # noqa: BLE001
            out[cname]["raw_here_error"] = type(e).__name__
            continue
        jobs[cname, "raw_here"] = ("p(n, b, i)", {"p": raw_here, "n": cname, "b": RAW_BATCH, "i": index})
    fixed = {}
    for (cname, label), (med, mn) in time_many(jobs, st).items():
        if cname == "_fixed":
            fixed[label] = med
        elif label == "raw_here":
            out[cname][label], out[cname][label + "_min"] = med / RAW_BATCH, mn / RAW_BATCH
        else:
            out[cname][label], out[cname][label + "_min"] = med, mn
    gil_ns = getattr(ours._nvml, "_probe_gil_ns", None)
    if gil_ns is not None:
        fixed["gil_c"] = statistics.median(gil_ns(200_000) for _ in range(st.repeats))
    return out, fixed


# --------------------------------------------------------------------------- a client's lookup
HOOKED_CALLS = ("nvmlDeviceGetMemoryInfo", "nvmlDeviceGetName")


def bench_hooked(ours, ref, ours_h, ref_h, st):
    """ns per call of HOOKED_CALLS while a client's _nvmlGetFunctionPointer wraps the original
    (gpustat's), ours before and after, nvidia-ml-py with the same wrapper.  Run last: reading
    pynvml._nvmlGetFunctionPointer makes module attribute reads slower (_compat_names.py)."""
    def wrap(original):
        return lambda name: original(name)
    jobs = {}
    for name in HOOKED_CALLS:
        jobs[name, "ours"] = call_job(getattr(ours, name), (ours_h,))
    before = time_many(jobs, st)
    originals = [(m, m._nvmlGetFunctionPointer) for m in (ours, ref) if m is not None]
    for m, original in originals:
        m._nvmlGetFunctionPointer = wrap(original)
    try:
        jobs = {(name, "ours_hooked"): call_job(getattr(ours, name), (ours_h,)) for name in HOOKED_CALLS}
        if ref is not None:
            jobs.update({(name, "ref_hooked"): call_job(getattr(ref, name), (ref_h,)) for name in HOOKED_CALLS})
        after = time_many(jobs, st)
    finally:
        for m, original in originals:
            m._nvmlGetFunctionPointer = original
    out = {}
    for (name, label), (med, _) in list(before.items()) + list(after.items()):
        out.setdefault(name, {})[label] = med
    return out


# --------------------------------------------------------------------------- struct attribute
def bench_attr(ours, ref, ours_h, ref_h, st):
    class Plain:
        pass

    try:
        m = ours.nvmlDeviceGetMemoryInfo(ours_h)
    except Exception as e:  # noqa: BLE001
        return {"error": type(e).__name__}
    p = Plain()
    p.total = m.total
    c = _Mem(m.total, m.free, m.used)
    jobs = {"timeit loop (empty statement)": ("pass", {}),
            "ours: c_nvmlMemory_t .total": ("m.total", {"m": m}),
            "plain Python object .total": ("p.total", {"p": p}),
            "plain ctypes.Structure .total": ("c.total", {"c": c}),
            # any attribute a C type computes (a member or getset descriptor) goes this way:
            # the floor for a field read from C bytes, where the interpreter can't specialize
            "C descriptor floor: complex.real": ("z.real", {"z": complex(m.total, 0)})}
    try:
        jobs["ours: c_nvmlUtilization_t .gpu (small int)"] = ("u.gpu", {"u": ours.nvmlDeviceGetUtilizationRates(ours_h)})
    except Exception:  # noqa: BLE001 - not supported here
        pass
    if ref is not None:
        jobs["nvidia-ml-py: c_nvmlMemory_t .total"] = ("m.total", {"m": ref.nvmlDeviceGetMemoryInfo(ref_h)})
    rows = {k: med for k, (med, _) in time_many(jobs, st).items()}
    return rows


# --------------------------------------------------------------------------- import and memory
# Both import importlib.util before the baseline; nvidia-ml-py's pynvml.py is then loaded
# from its file under the name pynvml (what `import pynvml` does, without the path search,
# so a `pynvml` elsewhere on sys.path cannot be picked up instead).
_LOAD = r"""
import sys, time, importlib.util
def load_pynvml(ref):
    if not ref:
        import pynvml
        return pynvml
    spec = importlib.util.spec_from_file_location("pynvml", ref)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["pynvml"] = mod
    spec.loader.exec_module(mod)
    return mod
"""

_IMPORT_CODE = _LOAD + r"""
ref = sys.argv[1]
n0 = len(sys.modules)
t0 = time.perf_counter()
pynvml = load_pynvml(ref)
t1 = time.perf_counter()
import os
print(repr(((t1 - t0) * 1e3, len(sys.modules) - n0, "ctypes" in sys.modules, pynvml.__file__,
            bool(getattr(pynvml, "__cached__", None)) and os.path.exists(pynvml.__cached__))))
"""

_MEMORY_CODE = _LOAD + r"""
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
ref, lib = sys.argv[1], sys.argv[2]
r0 = rss()
pynvml = load_pynvml(ref)
r1 = rss()
t0 = time.perf_counter()
if ref:
    import ctypes
    pynvml.nvmlLib = ctypes.CDLL(lib)   # what nvidia-ml-py's nvmlInit would open itself
pynvml.nvmlInit()
t1 = time.perf_counter()
r2 = rss()
print(repr((r0, r1, r2, (t1 - t0) * 1e3, pynvml.__file__)))
"""


def _subprocess(code, args):
    # cwd: our build folder, so that '' on sys.path finds no stray pynvml
    r = subprocess.run([sys.executable, "-c", code] + list(args), cwd=BUILD, capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError((r.stderr.strip().splitlines() or ["?"])[-1])
    import ast
    return ast.literal_eval(r.stdout.strip().splitlines()[-1])


def bench_import(ref_file, expect_file, st):
    _subprocess(_IMPORT_CODE, [ref_file])          # warm-up: .pyc files written, page cache
    runs = [_subprocess(_IMPORT_CODE, [ref_file]) for _ in range(st.import_runs)]
    got = runs[0][3]
    if expect_file and os.path.realpath(got) != os.path.realpath(expect_file):
        raise RuntimeError(f"imported {got}, expected {expect_file}")
    return {"ms": statistics.median(r[0] for r in runs), "ms_min": min(r[0] for r in runs),
            "modules": runs[0][1], "ctypes": runs[0][2], "file": got, "bytecode": runs[-1][4]}


def bench_memory(ref_file, lib_path, st):
    runs = [_subprocess(_MEMORY_CODE, [ref_file, lib_path]) for _ in range(st.mem_runs)]
    bare = statistics.median(r[0] for r in runs)
    imp = statistics.median(r[1] - r[0] for r in runs)
    init = statistics.median(r[2] - r[1] for r in runs)
    return {"bare_kib": bare, "import_kib": imp, "init_kib": init,
            "init_ms": statistics.median(r[3] for r in runs), "file": runs[0][4]}


def fmt_rate(r):
    """calls/s: thousands as k, a slow call's few dozen as they are."""
    return f"{r / 1e3:,.0f}k" if r >= 10_000 else f"{r:,.0f}"


def bench_raw_rss(binary, lib_path):
    """KiB the NVML library adds to a C process (dlopen + nvmlInit), or None."""
    r = subprocess.run([str(binary), "--rss"], env=dict(os.environ, PYNVML_LIBRARY=lib_path),
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return None
    d = json.loads(r.stdout)
    return d["after_kib"] - d["before_kib"]


# --------------------------------------------------------------------------- threads
def thread_rate(fn, args, nthreads, seconds):
    """Total calls/s of fn(*args) from nthreads threads running for `seconds`."""
    barrier = threading.Barrier(nthreads + 1)
    stop = [False]
    counts = [0] * nthreads
    ends = [0.0] * nthreads

    def work(k):
        n = 0
        barrier.wait()
        while not stop[0]:
            for _ in range(32):
                fn(*args)
            n += 32
        counts[k] = n
        ends[k] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop[0] = True
    for t in threads:
        t.join()
    return sum(counts) / (max(ends) - t0)


def bench_threads(ours, ref, ours_h, ref_h, index, lib_path, st, raw_binary):
    """Threads scaling of the first cheap call that works here, of nvmlDeviceGetMemoryInfo
    (microseconds in the driver) and of nvmlDeviceGetPcieThroughput (~20 ms on a GPU: there
    releasing the GIL lets threads overlap)."""
    cts = ctypes_calls(lib_path, index)
    chosen = []
    for cname, pyname in (("nvmlDeviceGetPowerUsage", "nvmlDeviceGetPowerUsage"),
                          ("nvmlDeviceGetTemperature", "nvmlDeviceGetTemperature"),
                          ("nvmlDeviceGetCount_v2", "nvmlDeviceGetCount")):
        spec = next(s for c, _, s in CALLS if c == cname)
        try:
            getattr(ours, pyname)(*bind_args(spec, ours_h, index))
        except Exception:  # noqa: BLE001 - not supported here: try the next cheap call
            continue
        chosen.append((cname, pyname, spec))
        break
    spec = next(s for c, _, s in CALLS if c == "nvmlDeviceGetMemoryInfo")
    chosen.append(("nvmlDeviceGetMemoryInfo", "nvmlDeviceGetMemoryInfo", spec))
    # NVML samples the PCIe counters for ~20 ms before it answers: threads can overlap there
    chosen.append(("nvmlDeviceGetPcieThroughput", "nvmlDeviceGetPcieThroughput", ("h", 0)))
    out = []
    for cname, pyname, spec in chosen:
        bindings = [("ours", getattr(ours, pyname), bind_args(spec, ours_h, index))]
        if ref is not None:
            bindings.append(("nvidia-ml-py", getattr(ref, pyname), bind_args(spec, ref_h, index)))
        if cname in cts:
            bindings.append(("plain ctypes", *cts[cname]))
        res = {"call": cname, "rates": {}}
        try:
            bindings[0][1](*bindings[0][2])
        except Exception as e:  # noqa: BLE001
            out.append({"call": cname, "error": type(e).__name__})
            continue
        if raw_binary is not None and index == 0:
            raw = run_raw_threads(raw_binary, lib_path, cname, st)
            if raw:
                res["rates"]["raw C (pthreads)"] = raw
        for label, fn, args in bindings:
            res["rates"][label] = {n: thread_rate(fn, args, n, st.thread_s) for n in st.threads}
        out.append(res)
    return out


# --------------------------------------------------------------------------- machine
def machine_info(ours, h, lib_path, simulated):
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "library": lib_path,
        "simulated": simulated,
        "ours": f"pynvml {getattr(ours, '__version__', '?')} ({os.path.dirname(ours.__file__)})",
    }
    for key, fn in (("nvml_version", "nvmlSystemGetNVMLVersion"), ("driver_version", "nvmlSystemGetDriverVersion"),
                    ("gpu", "nvmlDeviceGetName")):
        try:
            info[key] = getattr(ours, fn)(h) if fn == "nvmlDeviceGetName" else getattr(ours, fn)()
        except Exception as e:  # noqa: BLE001
            info[key] = type(e).__name__
    try:
        info["device_count"] = ours.nvmlDeviceGetCount()
    except Exception:  # noqa: BLE001
        pass
    return info


# --------------------------------------------------------------------------- output
def fmt_ns(v):
    return "-" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_ratio(a, b):
    return "-" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"


def table(headers, rows, markdown, align=None):
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def line(cells):
        return "  ".join(str(c).rjust(w) if a == "r" else str(c).ljust(w) for c, w, a in zip(cells, widths, align))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def report(res, markdown):
    out = []
    h = "## " if markdown else "== "
    m = res["machine"]
    nvml = "simulated NVML (raw C = the simulator's own cost)" if m["simulated"] else "real NVML"
    if res.get("null"):
        nvml = "null NVML (bench/null_nvml.c: every call returns at once; ours - raw C = our own cost)"
    lines = [
        ("date", m["date"]),
        ("machine", f"{m['cpu']}, nproc {m['nproc']}"),
        ("NVML", f"{nvml}: {m['library']}"),
        ("versions", f"NVML {m.get('nvml_version')}, driver {m.get('driver_version')}"),
        ("device", f"{res['device']} of {m.get('device_count', '?')}: {m.get('gpu')}"),
        ("python", m["python"]),
        ("ours", m["ours"]),
        ("reference", res["reference"] or "not found (make ref, or --reference PATH): its columns are empty"),
        ("raw C", res["raw_build"]),
        ("timing", f"{'--quick' if res['quick'] else 'full'}; Python: median of timeit repeats (gc off), "
                   "C: median of runs, the lower of one set before and one after the Python timings"),
    ]
    if markdown:
        out.append("# pynvml benchmarks\n")
        out.append("\n".join(f"- {k}: {v}" for k, v in lines))
    else:
        out.append("pynvml benchmarks")
        out.extend(f"{k + ':':<11}{v}" for k, v in lines)
    if res.get("note"):
        out.append(("\n**" if markdown else "\nNOTE: ") + res["note"] + ("**" if markdown else ""))
    if res.get("raw_error"):
        out.append(f"raw C run: {res['raw_error']}")

    out.append("\n" + h + "ns per call (lower is better)")
    fixed = res.get("fixed") or {}
    # timeit loop + a C call + what a wrapper does around NVML (older builds: a GIL round trip)
    floor = fixed.get("nvml_gil", fixed.get("gil"))
    rows, ours_raw, ours_prog, ref_ours, ref_raw = [], [], [], [], []
    for cname, r in res["calls"].items():
        prog = res["raw"].get(cname)             # the C program, a process of its own
        here = r.get("raw_here")                 # the same C loop in this process
        raw = here if here is not None else prog
        ours = r.get("ours")
        ref = r.get("ref")
        own = ours - raw - floor if None not in (ours, raw, floor) else None
        if ours is not None and raw:
            ours_raw.append(ours / raw)
        if ours is not None and prog:
            ours_prog.append(ours / prog)
        if ours and ref is not None:
            ref_ours.append(ref / ours)
        if raw and ref is not None:
            ref_raw.append(ref / raw)
        rows.append([cname, fmt_ns(prog), fmt_ns(here),
                     fmt_ns(ours) if ours is not None else r.get("ours_error") or "-",
                     "-" if own is None else f"{own:+.0f}",
                     fmt_ns(ref) if ref is not None else r.get("ref_error") or "-",
                     fmt_ns(r.get("ctypes")), fmt_ratio(ours, raw), fmt_ratio(ref, ours), fmt_ratio(ref, raw)])
    if ours_raw or ref_ours:
        med = statistics.median
        rows.append(["**median**" if markdown else "median", "", "", "", "", "", "",
                     f"{med(ours_raw):.2f}x" if ours_raw else "-", f"{med(ref_ours):.2f}x" if ref_ours else "-",
                     f"{med(ref_raw):.2f}x" if ref_raw else "-"])
    out.append(table(["call", "raw C ns", "raw C here ns", "ours ns", "ours own ns", "nvidia-ml-py ns",
                      "plain ctypes ns", "ours/raw", "nvidia-ml-py/ours", "nvidia-ml-py/raw"], rows, markdown))
    nl = "\n" if markdown else ""
    out.append(nl + "raw C: bench/raw_nvml.c, a process of its own; raw C here: the same C loop run inside "
               "this process between the Python timings (_nvml._probe_raw).  The ratios and ours own ns "
               "take raw C here where there is one: same core, same moment.")
    if ours_prog and any(r.get("raw_here") is not None for r in res["calls"].values()):
        out.append(nl + f"Against the C program instead, the median ours/raw is {statistics.median(ours_prog):.2f}x.")
    if ref_raw:
        out.append(nl + "nvidia-ml-py/raw is the most nvidia-ml-py/ours could be, were our calls free.")
        over = []
        for cname, r in res["calls"].items():
            base = r.get("raw_here") or res["raw"].get(cname)
            if base and r.get("ours") is not None and r.get("ref") is not None:
                over.append((r["ref"] - base, r["ours"] - base))
        if over:
            ref_over = statistics.median(o[0] for o in over)
            ours_over = statistics.median(o[1] for o in over)
            line = (f"What each binding adds to the C call (binding - raw, median over the calls): "
                    f"nvidia-ml-py {ref_over:.0f} ns, ours {ours_over:.0f} ns")
            if ours_over > 0:
                line += f" ({ref_over / ours_over:.0f}x less)"
            out.append(nl + line + ".")
    if fixed:
        parts = [f"timeit loop {fixed['loop']:.1f} ns"]
        if "call" in fixed:
            parts.append(f"calling a C function that does nothing {fixed['call'] - fixed['loop']:.1f} ns")
        if "nvml_gil" in fixed and "call" in fixed:
            parts.append(f"deciding to keep the GIL (ext/gil.h: no other thread) {fixed['nvml_gil'] - fixed['call']:.1f} ns")
        if "hook" in fixed and "call" in fixed:
            parts.append(f"the check for a client's _nvmlGetFunctionPointer (ext/fnptr_hook.c's PN_HOOK_ENTRY, "
                         f"in the process and memory getters only) {fixed['hook'] - fixed['call']:.1f} ns")
        out.append(nl + "Fixed costs in every call of ours, this thread alone: " + "; ".join(parts) + ".")
        if floor is not None:
            out.append(nl + "ours own ns = ours - raw C - those: the wrapper's own work (arguments, "
                       "result object); a few ns either way is noise.")
        if "gil" in fixed and "call" in fixed:
            gil = fixed["gil"] - fixed["call"]
            extra = fixed["gil"] - floor if floor is not None else 0.0
            base = {c: r.get("raw_here") or res["raw"].get(c) for c, r in res["calls"].items()}
            shared = [(r["ours"] + extra) / base[c] for c, r in res["calls"].items()
                      if r.get("ours") is not None and base[c]]
            line = (f"Releasing and retaking the GIL costs {gil:.1f} ns"
                    + (f" ({fixed['gil_c']:.1f} ns timed in C)" if "gil_c" in fixed else "")
                    + ": every call pays it while another Python thread exists")
            if shared:
                line += f", and the median ours/raw is then {statistics.median(shared):.2f}x"
            out.append(nl + line + ".")
        if res.get("gil_shared"):
            out.append(nl + "**NOTE: another thread was alive during these timings: the calls released the GIL.**")

    out.append("\n" + h + "struct attribute access: ns per `mem.total` (timeit loop included)")
    attr = res["attr"]
    if "error" in attr:
        out.append(f"nvmlDeviceGetMemoryInfo failed: {attr['error']}")
    else:
        out.append(table(["what", "ns"], [[k, f"{v:.1f}"] for k, v in attr.items()], markdown))

    out.append("\n" + h + "import and memory (fresh interpreters)")
    rows = []
    for label in ("ours", "nvidia-ml-py"):
        imp, mem = res["import"].get(label), res["memory"].get(label)
        if imp is None and mem is None:
            continue
        if isinstance(imp, str) or isinstance(mem, str):
            rows.append([label, imp if isinstance(imp, str) else "", mem if isinstance(mem, str) else "", "", "",
                         "", ""])
            continue
        rows.append([label, f"{imp['ms']:.2f}", str(imp["modules"]), "yes" if imp["ctypes"] else "no",
                     f"{mem['import_kib'] / 1024:+.2f}", f"{mem['init_kib'] / 1024:+.2f}",
                     f"{(mem['bare_kib'] + mem['import_kib'] + mem['init_kib']) / 1024:.1f}", f"{mem['init_ms']:.2f}"])
    out.append(table(["module", "import ms (median)", "modules added", "ctypes loaded", "RSS +import MiB",
                      "RSS +nvmlInit MiB", "RSS after both MiB", "nvmlInit ms"], rows, markdown))
    bare = next((v["bare_kib"] for v in res["memory"].values() if isinstance(v, dict)), None)
    for label in ("ours", "nvidia-ml-py"):
        imp = res["import"].get(label)
        if isinstance(imp, dict) and imp.get("bytecode") is False:
            out.append(nl + f"**NOTE: {label}'s pynvml has no .pyc file here: its import time includes compiling "
                       "it from source (python -m compileall, as pip install does, fixes that).**")
    if res.get("raw_rss_kib") is not None:
        out.append(nl + f"The NVML library itself adds {res['raw_rss_kib'] / 1024:+.2f} MiB to a C program "
                   "(raw_nvml --rss: VmRSS before dlopen, after nvmlInit): the +nvmlInit column is "
                   "NVML's, not the binding's.")
    if bare is not None:
        out.append(("\n" if markdown else "") + f"(bare interpreter: VmRSS {bare / 1024:.1f} MiB; the first nvmlInit opens the library"
                   f"{' and reads the simulator profile' if m['simulated'] else ''})")

    for thr in res["threads"]:
        if "error" in thr:
            out.append(f"\nthreads, {thr['call']}: {thr['error']}")
            continue
        out.append("\n" + h + f"threads: total {thr['call']} calls/s (higher is better)")
        ns = sorted({n for v in thr["rates"].values() for n in v})
        rows = []
        for label, rates in thr["rates"].items():
            base = rates[ns[0]]
            rows.append([label] + [f"{fmt_rate(rates[n])} ({rates[n] / base:.2f})" for n in ns])
        out.append(table(["binding"] + [f"{n} thread{'s' if n > 1 else ''}" for n in ns], rows, markdown))
    if res["threads"]:
        out.append(("\n" if markdown else "") + f"(in parentheses: vs 1 thread; nproc {m['nproc']}.  With more than "
                   "one thread every binding releases the GIL around the C call and holds it for the rest, "
                   "so Python threads add throughput only while the C call is long next to the Python part "
                   "and a GIL hand-off (nvmlDeviceGetPcieThroughput: NVML samples for ~20 ms on a GPU); "
                   "for sub-us calls the hand-offs cost more than they free and the total falls.  raw C "
                   "is how far NVML itself scales.)")
    if res.get("hooked"):
        out.append("\n" + h + "a client's _nvmlGetFunctionPointer: ns per call (gpustat's wrapper of the original)")
        rows = []
        for name, r in res["hooked"].items():
            rows.append([name, fmt_ns(r.get("ours")), fmt_ns(r.get("ours_hooked")), fmt_ns(r.get("ref_hooked"))])
        out.append(table(["call", "ours", "ours, hooked", "nvidia-ml-py, hooked"], rows, markdown))
        out.append(("\n" if markdown else "") + "(hooked, every call asks the Python lookup once for its entry "
                   "point, as nvidia-ml-py's do.  Not hooked, nothing of it runs but the check in Fixed costs.)")
    out.append(f"\ntotal run time {res['seconds']:.1f} s")
    return "\n".join(out)


# --------------------------------------------------------------------------- main
def main(argv=None):
    args = parse_args(argv)
    st = Settings(args.quick)
    t_start = time.perf_counter()
    BUILD.mkdir(parents=True, exist_ok=True)

    if args.null:
        os.environ["PYNVML_LIBRARY"] = build_null()   # the subprocesses inherit it
    import pynvml as ours
    fallback = None
    try:
        ours.nvmlInit()
    except ours.NVMLError_LibraryNotFound:
        if os.environ.get("PYNVML_LIBRARY"):
            raise
        # No driver here (and no PYNVML_LIBRARY): run on the simulated NVML, and say so.
        # The subprocesses (import, memory) inherit it.
        os.environ["PYNVML_LIBRARY"] = "sim"
        ours.nvmlInit()
        fallback = "no libnvidia-ml.so.1 here: using the simulated NVML (PYNVML_LIBRARY=sim)"
    lib_path = ours._nvml._library_path()
    sim_path = os.path.join(os.path.dirname(ours.__file__), "_sim", "libnvidia-ml.so.1")
    simulated = os.environ.get("PYNVML_LIBRARY") == "sim" or (
        os.path.exists(lib_path) and os.path.realpath(lib_path) == os.path.realpath(sim_path))
    index = args.device
    ours_h = ours.nvmlDeviceGetHandleByIndex(index)

    ref_path = args.reference or os.environ.get("PYNVML_REFERENCE") or str(DEFAULT_REF)
    ref = ref_h = None
    if os.path.exists(ref_path):
        ref = load_reference(ref_path, lib_path)
        ref_h = ref.nvmlDeviceGetHandleByIndex(index)
    elif args.reference:
        sys.exit(f"--reference {args.reference}: no such file")

    res = {"quick": args.quick, "device": index, "note": fallback, "null": args.null, "machine": machine_info(ours, ours_h, lib_path, simulated),
           "reference": f"nvidia-ml-py {reference_version(ref_path)} ({ref_path})" if ref else None}

    binary, res["raw_build"] = build_raw()
    res["raw"], res["raw_error"] = ({}, None) if binary is None else run_raw(binary, lib_path, args.quick)
    if index != 0 and res["raw"]:
        res["raw_error"] = "raw C times device 0"

    res["gil_shared"] = bool(getattr(ours._nvml, "_gil_shared", lambda: True)())
    res["calls"], res["fixed"] = bench_calls(ours, ref, ours_h, ref_h, index, lib_path, st)
    if binary is not None and res["raw"]:
        # raw C once more, after the Python timings: on a shared machine load comes and goes,
        # and one C run, seconds away from the Python ones, can catch a burst of it.  Each
        # call keeps the lower of the two medians (the JSON keeps both).
        again, _ = run_raw(binary, lib_path, args.quick)
        res["raw_runs"] = [dict(res["raw"]), again]
        res["raw"] = {k: min(v, again.get(k, v)) for k, v in res["raw"].items()}
    res["attr"] = bench_attr(ours, ref, ours_h, ref_h, st)
    res["raw_rss_kib"] = bench_raw_rss(binary, lib_path) if binary is not None else None
    res["threads"] = bench_threads(ours, ref, ours_h, ref_h, index, lib_path, st, binary)
    res["hooked"] = bench_hooked(ours, ref, ours_h, ref_h, st)

    res["import"], res["memory"] = {}, {}
    for label, ref_file, expect in (("ours", "", ours.__file__),
                                    ("nvidia-ml-py", ref_path if ref else None, ref_path)):
        if ref_file is None:
            continue
        for key, fn in (("import", lambda: bench_import(ref_file, expect, st)),
                        ("memory", lambda: bench_memory(ref_file, lib_path, st))):
            try:
                res[key][label] = fn()
            except Exception as e:  # noqa: BLE001 - report it in the table, keep going
                res[key][label] = f"failed: {e}"

    if ref is not None:
        ref.nvmlShutdown()
    ours.nvmlShutdown()
    res["seconds"] = time.perf_counter() - t_start
    print(report(res, args.markdown))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str) + "\n")
        print(f"results saved to {args.json}")


if __name__ == "__main__":
    main()
