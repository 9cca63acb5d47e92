"""Every device getter's error path with a second Python thread alive (issue #18).

With one thread, a wrapper keeps the GIL around its NVML call (ext/gil.h); with two it
lets go and takes it back.  An error path that returned between the two (a `return
pn_raise(...)` inside PN_NVML_BEGIN/END) passes a single-threaded suite and crashes here:
the Python code after it runs without the GIL.  So each call runs in a child process
(a crash is a failed test, not a dead pytest) on a profile whose every device call fails
(a "*" fault rule), with a thread waiting on an Event meanwhile; the calls must raise the
injected NVMLError, and the thread must still be there to join.
"""
import json
import subprocess
import sys

import pytest

from test_functions import DEVICE_FUNCS

pytestmark = pytest.mark.simulator

# (name, the arguments after the handle): every required input an int 0 or a str ""
CALLS = []
for f in DEVICE_FUNCS:
    extra, ok = [], True
    for p in [p for p in f.params if p.role in ("in", "ref")][1:]:
        if p.default is not None:
            break
        if p.type.kind == "scalar":
            extra.append(0)
        elif p.type.kind == "str":
            extra.append("")
        else:
            ok = False
            break
    if ok:
        CALLS.append((f.pyname, extra))

CHILD = r"""
import json, sys, threading
import pynvml
calls = json.loads(sys.argv[1])
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)   # before the rule's "after": this one succeeds
go = threading.Event()
t = threading.Thread(target=go.wait)
t.start()
assert pynvml._nvml._gil_shared()
wrong = []
for name, extra in calls:
    try:
        r = getattr(pynvml, name)(h, *extra)
        wrong.append((name, "returned %r" % (r,)))
    except pynvml.NVMLError_Unknown:
        pass
    except Exception as e:
        wrong.append((name, "%s: %s" % (type(e).__name__, e)))
for version in (None, pynvml.nvmlMemory_v2):   # hand-written (ext/hand_core.c): v1 and v2 paths
    try:
        pynvml.nvmlDeviceGetMemoryInfo(h, version=version)
        wrong.append(("nvmlDeviceGetMemoryInfo", "returned"))
    except pynvml.NVMLError_Unknown:
        pass
go.set()
t.join()
print(json.dumps({"wrong": wrong, "calls": len(calls) + 2}))
"""


def test_every_device_getter_raises_with_a_second_thread_alive(default_profile, tmp_path):
    assert len(CALLS) > 150
    for d in default_profile["devices"]:
        # every call of the device's after the first (nvmlDeviceGetHandleByIndex) fails
        d["faults"] = {"*": {"error": "UNKNOWN", "after": 1}}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(default_profile))
    env = {"PYNVML_LIBRARY": "sim", "PYNVML_SIM_PROFILE": str(path)}
    import os
    r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(CALLS)], capture_output=True, text=True,
                       env={**os.environ, **env}, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["calls"] == len(CALLS) + 2
    assert out["wrong"] == []
