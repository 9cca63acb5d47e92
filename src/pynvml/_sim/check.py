"""python -m pynvml._sim check PROFILE: every problem of a profile, or a summary of its
GPUs.  The check is the simulator's own (the one nvmlInit makes: the JSON schema
generated from the spec, profile.schema.json, and the fault syntax), so what passes
here loads."""
import ctypes
import os
import subprocess
import sys

from .hide_symbols import sim_library


def problems(profile):
    """The lines the simulator reports for `profile` (a path or a built-in name); []
    when it would load."""
    lib = ctypes.CDLL(sim_library())
    fn = lib.pynvmlSimCheckProfile
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    fn.restype = ctypes.c_int
    buf = ctypes.create_string_buffer(64 * 1024)
    rc = fn(os.fsencode(profile), buf, len(buf))
    lines = buf.value.decode("utf-8", "replace").splitlines()
    if rc != 0 and not lines:
        lines = [f"{profile}: refused (see the messages above)"]
    return lines if rc != 0 else []


SUMMARY = r'''
import pynvml as N
N.nvmlInit()
n = N.nvmlDeviceGetCount()
print("%d GPU%s" % (n, "" if n == 1 else "s"))
def get(f, *a):
    try:
        return f(*a)
    except N.NVMLError as e:
        return "[%s]" % e
for i in range(n):
    try:
        h = N.nvmlDeviceGetHandleByIndex(i)
    except N.NVMLError as e:
        print("  GPU %d: [%s]" % (i, e)); continue
    mem = get(N.nvmlDeviceGetMemoryInfo, h)
    mem = mem if isinstance(mem, str) else "%d MiB" % (mem.total >> 20)
    mig = get(N.nvmlDeviceGetMigMode, h)
    mig = mig if isinstance(mig, str) else ("on" if mig[0] else "off")
    print("  GPU %d: %s, %s, %s, MIG %s" % (i, get(N.nvmlDeviceGetName, h), get(N.nvmlDeviceGetUUID, h), mem, mig))
'''


def check(profile, out=sys.stdout, err=sys.stderr):
    """Print the problems (exit status 1) or the GPUs (0)."""
    found = problems(profile)
    if found:
        for line in found:
            print(line, file=err)
        return 1
    env = dict(os.environ, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=profile)
    r = subprocess.run([sys.executable, "-c", SUMMARY], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{profile}: loads, but listing its GPUs failed: {r.stderr.strip().splitlines()[-1:]}", file=err)
        return 1
    print(f"{profile}: OK, " + r.stdout.rstrip(), file=out)
    return 0
