"""Every public function, called with a matrix of wrong arguments in a child process
(tools/crash_sweep.py): no call may crash or hang the interpreter, and a wrong type
where a handle goes must be an exception, never a call that reaches NVML."""
import json
import subprocess
import sys

from conftest import REAL, ROOT


def test_no_wrong_argument_crashes_or_hangs(tmp_path):
    out = tmp_path / "sweep.json"
    cmd = [sys.executable, str(ROOT / "tools" / "crash_sweep.py"), "--json", str(out)]
    if REAL:
        cmd.append("--read-only")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    data = json.loads(out.read_text())
    summary = data["summary"]
    assert summary["crashes"] == 0, summary["crashed_functions"]
    assert summary["calls"] > 1000 and summary["functions"] > 50
    assert r.returncode == 0, r.stdout + r.stderr
    # SystemError: a C function that failed without an exception, or left one set (a bug of ours)
    assert [c for c in data["calls"] if c[2] == "SystemError"] == []
    handle_params = ("GOOD",)
    for name, args, outcome in data["calls"]:
        if args and args[0] not in handle_params and name.startswith("nvmlDevice") and \
                "Handle" not in name and args[0] != "stale":
            # anything but a live device handle in the handle's place
            assert outcome in ("TypeError", "ValueError"), (name, args, outcome)
        if args and args[0] == "stale" and len(args) > 0 and name.startswith("nvmlDeviceGet") \
                and "Handle" not in name:
            assert outcome == "NVMLError_Uninitialized", (name, args, outcome)
