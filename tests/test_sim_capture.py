"""python -m pynvml._sim capture: a profile from read-only getters, which the simulator
replays exactly (capture on the simulator, replay, every getter equal), anonymized on
request; `replay-check` is the comparison the GPU session runs on a real capture."""
import json
import os
import re
import subprocess
import sys

import pytest


pytestmark = pytest.mark.simulator


def sim_env(profile=None):
    env = dict(os.environ, PYNVML_LIBRARY="sim")
    env.pop("PYNVML_SIM_PROFILE", None)
    if profile is not None:
        env["PYNVML_SIM_PROFILE"] = str(profile)
    return env


def capture(out, *flags, profile=None):
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "capture", "-o", str(out), *flags],
                       env=sim_env(profile), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


def replay_check(path):
    return subprocess.run([sys.executable, "-m", "pynvml._sim", "replay-check", str(path)], env=sim_env(),
                          capture_output=True, text=True, timeout=300)


def test_capture_then_replay_answers_every_getter_as_captured(tmp_path, default_profile):
    got = capture(tmp_path / "cap.json")
    n = sum(len(d) for d in got["devices"]) + len(got["system"])
    assert n > 250 and len(got["devices"]) == 2
    # what the simulator answered is what its profile says
    d0 = default_profile["devices"][0]
    for key in ("nvmlDeviceGetName", "nvmlDeviceGetUUID", "nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage",
                "nvmlDeviceGetClockInfo"):
        assert got["devices"][0][key] == d0[key], key
    assert got["devices"][0]["nvmlDeviceGetMemoryInfo"] == {k: d0["nvmlDeviceGetMemoryInfo"][k]
                                                           for k in ("total", "free", "used")}
    assert got["system"]["nvmlSystemGetDriverVersion"] == default_profile["system"]["nvmlSystemGetDriverVersion"]
    r = replay_check(tmp_path / "cap.json")
    assert r.returncode == 0 and f"{n} entry points captured, 0 differences" in r.stdout, r.stdout


def test_capture_follows_the_profile_and_its_errors(tmp_path, default_profile):
    d = default_profile["devices"][1]
    d["nvmlDeviceGetTemperature"] = {"0": 77}
    d["nvmlDeviceGetPowerUsage"] = {"error": "NVML_ERROR_NO_PERMISSION"}
    d["nvmlDeviceGetP2PStatus"] = {"0": {"0": 0, "1": 4}, "1": {"0": 2}}
    (tmp_path / "p.json").write_text(json.dumps(default_profile))
    got = capture(tmp_path / "cap.json", profile=tmp_path / "p.json")["devices"][1]
    assert got["nvmlDeviceGetTemperature"] == {"0": 77}
    assert got["nvmlDeviceGetPowerUsage"] == {"error": "NVML_ERROR_NO_PERMISSION"}
    assert got["nvmlDeviceGetP2PStatus"] == {"0": {"0": 0, "1": 4}, "1": {"0": 2}}
    assert replay_check(tmp_path / "cap.json").returncode == 0


def test_anonymize_replaces_identifiers_and_still_replays(tmp_path, default_profile):
    got = capture(tmp_path / "cap.json", "--anonymize")
    text = json.dumps(got)
    for dev in default_profile["devices"]:
        assert dev["nvmlDeviceGetUUID"] not in text and dev["nvmlDeviceGetSerial"] not in text
        assert dev["nvmlDeviceGetPciInfo_v3"]["busId"] not in text
    uuids = [d["nvmlDeviceGetUUID"] for d in got["devices"]]
    assert len(set(uuids)) == 2 and all(re.fullmatch(r"GPU-[0-9a-f-]{36}", u) for u in uuids)
    pci = got["devices"][1]["nvmlDeviceGetPciInfo_v3"]
    assert int(pci["busId"].split(":")[1], 16) == pci["bus"]
    assert got["about"].endswith("(anonymized)")
    assert replay_check(tmp_path / "cap.json").returncode == 0


def test_capture_calls_getters_only():
    from pynvml._sim.capture_plan import GETTERS

    names = [g[1] for g in GETTERS]
    assert len(names) > 150
    # the verb after the object: Get, Is or Query (never Set, Reset, Clear, Create, ...)
    verb = re.compile(r"^nvml(Device|System|Unit|Vgpu[A-Za-z]*?)(Get|Is|Query)[A-Z]")
    assert [n for n in names if not verb.match(n)] == []


def test_replay_check_names_a_difference(tmp_path):
    cap = capture(tmp_path / "cap.json")
    cap["devices"][0]["nvmlDeviceGetTemperature"] = {"0": 36}
    (tmp_path / "edited.json").write_text(json.dumps(cap))
    # the file now says 36, and the simulator replays 36: equal.  A captured value the
    # simulator cannot answer (a key it never asks) is a difference:
    cap["devices"][0]["nvmlDeviceGetTemperature"] = {"0": 36, "99": 1}
    (tmp_path / "edited2.json").write_text(json.dumps(cap))
    assert replay_check(tmp_path / "edited.json").returncode == 0
    r = replay_check(tmp_path / "edited2.json")
    assert r.returncode == 1 and "$.devices[0].nvmlDeviceGetTemperature.99 (missing in the replay)" in r.stdout


def test_capture_without_nvml_is_one_line():
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "capture"],
                       env=dict(os.environ, PYNVML_LIBRARY="/nonexistent/libnvidia-ml.so.1"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
