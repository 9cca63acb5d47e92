"""What loading a simulator profile costs: time and peak RSS of a fresh process that
runs nvmlInit on it, for the built-in profile, the 8-GPU one and synthetic profiles near
the loader's limits (16 MiB, 2,000,000 JSON values; sim/profile_load.c).

    python bench/profile_load.py
"""
import json
import os
import subprocess
import sys
import tempfile

CHILD = r'''
import resource, sys, time
import pynvml
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
try:
    pynvml.nvmlInit()
    out = "loaded"
except pynvml.NVMLError as e:
    out = type(e).__name__
dt = time.perf_counter() - t0
print(out, "%.3f" % dt, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)
'''


def measure(profile):
    env = dict(os.environ, PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=profile)
    r = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True)
    return r.stdout.split()


def main():
    tmp = tempfile.mkdtemp()
    cases = [("built-in default (85 KB)", "default"), ("built-in hgx-h100-8 (390 KB)", "hgx-h100-8")]
    big = os.path.join(tmp, "values.json")
    with open(big, "w") as f:   # 1.9 million small numbers in 3.8 MB: the most values allowed
        f.write('{"devices": [{"_pad": [' + "0," * 1_900_000 + "0]}]}")
    cases.append(("1.9 M values, 3.8 MB (near the value limit)", big))
    over = os.path.join(tmp, "over.json")
    with open(over, "w") as f:   # the 50 MB array of the issue: refused before parsing
        f.write('{"devices": [{"_pad": [' + "0," * 2_100_000 + "0]}]}")
    cases.append(("2.1 M values (over the limit: refused)", over))
    strings = os.path.join(tmp, "strings.json")
    with open(strings, "w") as f:   # few values, 15 MB of text: near the size limit
        json.dump({"devices": [{"_pad": ["x" * 1_000_000] * 15}]}, f)
    cases.append(("15 MB of strings (near the size limit)", strings))
    print("%-46s %-26s %9s %12s" % ("profile", "nvmlInit", "seconds", "RSS +MiB"))
    for label, path in cases:
        out, dt, mib = measure(path)
        print("%-46s %-26s %9s %12s" % (label, out, dt, mib))


if __name__ == "__main__":
    main()
