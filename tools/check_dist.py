"""Check an installed pynvml (from the sdist or a wheel) as a user gets it: run with the
interpreter of the environment it is installed in, from outside the checkout.

    .venv-x/bin/python tools/check_dist.py [--readme README.md]

Checks, a line each (exit status 1 if any fails):
  binaries   the extension, the simulator and what is bundled beside it are stripped
             (no .symtab, no .debug_*) and carry no RUNPATH but $ORIGIN
  ldd        every library the simulator and the extension load is inside the package or
             is the C library's (libc, libm, libdl, libpthread, ld-linux): no system cJSON
  simulator  PYNVML_LIBRARY=sim: nvmlInit, the two simulated H100s, `python -m pynvml`
  hide       a `python -m pynvml._sim hide` copy in a folder of its own, loaded by path
             (pynvml) and through LD_LIBRARY_PATH (ctypes, as nvidia-ml-py does)
  utils      pynvml_utils.nvidia_smi and pynvml_utils.smi are pynvml.smi's
  readme     the README's examples (doctest), with --readme

make check-dist runs it in a fresh venv per sdist or wheel, in a mount namespace where the
system's libcjson cannot be opened (tools/check_dist.sh).
"""
import argparse
import doctest
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

C_LIBRARY = re.compile(r"^(linux-vdso|libc|libm|libdl|libpthread|librt|ld-linux[-\w]*)\.so")


def elf_info(path):
    """(section names, RUNPATH/RPATH strings) of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError(f"{path}: not a 64-bit ELF file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = secs[shstrndx][4]

    def cstr(off):
        return data[off:data.index(b"\0", off)].decode()

    names = [cstr(names_off + s[0]) for s in secs]
    paths = []
    for s in secs:
        if s[1] == 6:                        # SHT_DYNAMIC: (d_tag, d_val) pairs
            strtab = secs[s[6]][4]
            for k in range(s[5] // s[9]):
                tag, val = struct.unpack_from("<qQ", data, s[4] + k * s[9])
                if tag in (15, 29):          # DT_RPATH, DT_RUNPATH
                    paths.append(cstr(strtab + val))
    return names, paths


def check_binaries(pkg):
    files = [os.path.join(d, f) for d, _, fs in os.walk(pkg) for f in fs if ".so" in f]
    problems = []
    for f in files:
        names, paths = elf_info(f)
        debug = [n for n in names if n == ".symtab" or n.startswith(".debug")]
        if debug:
            problems.append(f"{os.path.relpath(f, pkg)} not stripped ({', '.join(debug)})")
        if any(p != "$ORIGIN" for p in paths):
            problems.append(f"{os.path.relpath(f, pkg)} has RUNPATH {paths}")
    return problems, f"{len(files)} ELF files: " + ", ".join(
        f"{os.path.relpath(f, pkg)} {os.path.getsize(f) // 1024} KiB" for f in sorted(files))


def check_ldd(pkg, libs):
    problems, seen = [], []
    for lib in libs:
        r = subprocess.run(["ldd", lib], capture_output=True, text=True)
        if r.returncode != 0 or "error" in r.stderr:
            problems.append(f"ldd {os.path.basename(lib)}: {r.stderr.strip() or r.stdout.strip()}")
            continue
        for line in r.stdout.splitlines():
            m = re.match(r"\s*(\S+)(?: => (\S+))?", line)
            if not m:
                continue
            name, where = m.group(1), m.group(2) or m.group(1)
            if "not found" in line:
                problems.append(f"{os.path.basename(lib)}: {name} not found")
            elif C_LIBRARY.match(os.path.basename(name)):
                continue
            elif not os.path.realpath(where).startswith(os.path.realpath(pkg) + os.sep):
                problems.append(f"{os.path.basename(lib)} loads {where}, outside the package")
            else:
                seen.append(f"{name} (in the package)")
    return problems, "outside libc: " + (", ".join(sorted(set(seen))) or "nothing")


def run_py(code, env=None, **kw):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})), cwd=tempfile.gettempdir(), **kw)


def check_simulator():
    r = run_py("import pynvml as p; p.nvmlInit(); n = p.nvmlDeviceGetCount(); "
               "h = p.nvmlDeviceGetHandleByIndex(0); print(n, p.nvmlDeviceGetName(h), "
               "p.nvmlDeviceGetMemoryInfo(h).total); p.nvmlShutdown()", {"PYNVML_LIBRARY": "sim"})
    if r.returncode != 0 or not r.stdout.startswith("2 NVIDIA H100 80GB HBM3 85520809984"):
        return [f"simulator: {r.stdout}{r.stderr}".strip()], ""
    m = subprocess.run([sys.executable, "-m", "pynvml"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYNVML_LIBRARY="sim"), cwd=tempfile.gettempdir())
    if m.returncode != 0 or "H100" not in m.stdout:
        return [f"python -m pynvml: exit {m.returncode}: {m.stderr.strip()[-300:]}"], ""
    return [], r.stdout.strip()


def check_hide():
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-m", "pynvml._sim", "hide", "-o", tmp, "nvmlDeviceGetPowerUsage"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return [f"hide: {r.stderr.strip()}"], ""
        lib = os.path.join(tmp, "libnvidia-ml.so.1")
        a = run_py("import pynvml as p; p.nvmlInit(); h = p.nvmlDeviceGetHandleByIndex(0)\n"
                   "try: p.nvmlDeviceGetPowerUsage(h)\n"
                   "except p.NVMLError_FunctionNotFound: print('hidden', p.nvmlDeviceGetName(h))",
                   {"PYNVML_LIBRARY": lib})
        b = run_py("import ctypes; lib = ctypes.CDLL('libnvidia-ml.so.1'); "
                   "print(lib.nvmlInit_v2(), hasattr(lib, 'nvmlDeviceGetPowerUsage'), hasattr(lib, 'nvmlDeviceGetName'))",
                   {"LD_LIBRARY_PATH": tmp})
        problems = []
        if a.stdout.strip() != "hidden NVIDIA H100 80GB HBM3":
            problems.append(f"hidden copy through pynvml: {a.stdout}{a.stderr}".strip())
        if b.stdout.strip() != "0 False True":
            problems.append(f"hidden copy through ctypes: {b.stdout}{b.stderr}".strip())
        return problems, "copy with " + ", ".join(sorted(os.listdir(tmp)))


def check_utils():
    r = run_py("import pynvml.smi, pynvml_utils, pynvml_utils.smi as s; "
               "assert pynvml_utils.nvidia_smi is pynvml.smi.nvidia_smi and s is pynvml.smi; print('ok')")
    return ([] if r.stdout.strip() == "ok" else [f"pynvml_utils: {r.stderr.strip()[-300:]}"]), ""


def check_readme(path):
    os.environ["PYNVML_LIBRARY"] = "sim"
    os.environ.pop("PYNVML_SIM_PROFILE", None)
    text = open(path).read()
    examples = "\n>>>".join(block.split("```", 1)[0] for block in text.split("```python\n>>>")[1:])
    test = doctest.DocTestParser().get_doctest(">>>" + examples, {}, "README", path, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=lambda s: sys.stdout.write(s))
    ok = runner.failures == 0 and runner.tries > 10
    return ([] if ok else [f"README: {runner.failures} of {runner.tries} examples failed"]), f"{runner.tries} examples"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", help="run this README's examples too")
    args = ap.parse_args(argv)
    sys.path = [p for p in sys.path if os.path.abspath(p) != os.path.dirname(os.path.abspath(__file__))]
    import pynvml
    pkg = os.path.dirname(pynvml.__file__)
    sim = os.path.join(pkg, "_sim", "libnvidia-ml.so.1")
    ext = pynvml._nvml.__file__
    print(f"pynvml {pynvml.__version__} from {pkg} (Python {sys.version.split()[0]})")
    checks = [("binaries", lambda: check_binaries(pkg)), ("ldd", lambda: check_ldd(pkg, [sim, ext])),
              ("simulator", check_simulator), ("hide", check_hide), ("utils", check_utils)]
    if args.readme:
        checks.append(("readme", lambda: check_readme(args.readme)))
    failed = 0
    for name, fn in checks:
        t = time.monotonic()
        try:
            problems, note = fn()
        except Exception as e:   # a check that cannot run is a failed check, said in one line
            problems, note = [f"{type(e).__name__}: {e}"], ""
        failed += bool(problems)
        print(f"  {name:10} {'FAIL' if problems else 'ok  '} {time.monotonic() - t:5.1f} s  {note}")
        for p in problems:
            print(f"      {p}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
