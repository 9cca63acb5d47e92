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


# --- what a capture records beyond the plan's getters ------------------------------------

H200_REFUSED = ("nvmlDeviceGetFanSpeed_v2", "nvmlDeviceGetTargetFanSpeed")


def test_the_shipped_h200_capture_replays_with_no_difference():
    """The H200's capture, replayed: every getter as the file holds it, those it refused as
    invalid arguments (no fans, no vGPU types) refused so, not NOT_SUPPORTED."""
    import pynvml._sim as sim

    path = os.path.join(os.path.dirname(sim.__file__), "profiles", "h200.json")
    if not os.path.exists(path):   # an editable install: the source tree's
        path = os.path.join(os.path.dirname(__file__), "..", "sim", "profiles", "h200.json")
    with open(path) as f:
        want = json.load(f)
    r = replay_check(path)
    n = sum(len(d) for d in want["devices"]) + len(want["system"])
    assert r.returncode == 0 and f"{n} entry points captured, 0 differences" in r.stdout, r.stdout
    for key in H200_REFUSED:
        assert want["devices"][0][key] == {"error": "NVML_ERROR_INVALID_ARGUMENT"}
    code = ("import pynvml as p; p.nvmlInit(); h = p.nvmlDeviceGetHandleByIndex(0)\n"
            "for f in (lambda: p.nvmlDeviceGetFanSpeed_v2(h, 0), lambda: p.nvmlVgpuTypeGetLicense(1),\n"
            "          lambda: p.nvmlDeviceGetFanSpeed(h)):\n"
            "    try: f()\n"
            "    except p.NVMLError as e: print(type(e).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], env=sim_env("h200"), capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["NVMLError_InvalidArgument", "NVMLError_InvalidArgument",
                                  "NVMLError_NotSupported"], out.stderr


def test_a_getter_refused_on_every_key_is_captured_as_refused(tmp_path, default_profile):
    d = default_profile["devices"][0]
    d["nvmlDeviceGetNumFans"] = 0
    d["nvmlDeviceGetFanSpeed_v2"] = {"error": "INVALID_ARGUMENT"}   # as a GPU without fans
    d["nvmlDeviceGetClockInfo"] = {"0": 1980}                        # the other keys: refused
    (tmp_path / "p.json").write_text(json.dumps(default_profile))
    got = capture(tmp_path / "cap.json", profile=tmp_path / "p.json")
    assert got["captured"] == 2
    assert got["devices"][0]["nvmlDeviceGetFanSpeed_v2"] == {"error": "NVML_ERROR_INVALID_ARGUMENT"}
    assert got["devices"][0]["nvmlDeviceGetClockInfo"] == {"0": 1980}
    # a getter the profile lacks stays NOT_SUPPORTED, as the simulator answered it
    assert got["devices"][1]["nvmlDeviceGetFanSpeed_v2"]["0"] == {"error": "NVML_ERROR_NOT_SUPPORTED"}
    assert replay_check(tmp_path / "cap.json").returncode == 0


def test_a_captured_profile_answers_no_getter_from_another_ones_data(tmp_path, default_profile):
    """nvmlDeviceGetTemperatureV falls back to nvmlDeviceGetTemperature's data in a written
    profile; in a captured one (which would hold it had the GPU answered), it is unsupported."""
    d = default_profile["devices"][0]
    d.pop("nvmlDeviceGetTemperatureV", None)
    d["nvmlDeviceGetTemperature"] = {"0": 41}
    code = ("import pynvml as p; p.nvmlInit(); h = p.nvmlDeviceGetHandleByIndex(0)\n"
            "try: print(p.nvmlDeviceGetTemperatureV(h, 0))\n"
            "except p.NVMLError as e: print(type(e).__name__)\n")
    answers = []
    for captured in (None, 2):
        if captured:
            default_profile["captured"] = captured
        (tmp_path / "p.json").write_text(json.dumps(default_profile))
        r = subprocess.run([sys.executable, "-c", code], env=sim_env(tmp_path / "p.json"), capture_output=True,
                           text=True, timeout=60)
        answers.append(r.stdout.strip() or r.stderr)
    assert answers == ["41", "NVMLError_NotSupported"]


MIG_SCRIPT = """
import json, sys
import pynvml as p
from pynvml._sim import capture
p.nvmlInit()
h = p.nvmlDeviceGetHandleByIndex(0)
gi = p.nvmlDeviceCreateGpuInstance(h, p.nvmlDeviceGetGpuInstanceProfileInfo(h, p.NVML_GPU_INSTANCE_PROFILE_3_SLICE).id)
p.nvmlGpuInstanceCreateComputeInstance(gi, p.NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE)
p.nvmlGpuInstanceCreateComputeInstance(gi, p.NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE)
gi2 = p.nvmlDeviceCreateGpuInstance(h, p.nvmlDeviceGetGpuInstanceProfileInfo(h, p.NVML_GPU_INSTANCE_PROFILE_1_SLICE).id)
p.nvmlGpuInstanceCreateComputeInstance(gi2, p.NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE)
names = [p.nvmlDeviceGetName(p.nvmlDeviceGetMigDeviceHandleByIndex(h, i)) for i in range(3)]
p.nvmlShutdown()
json.dump({"profile": capture.capture(), "names": names}, open(sys.argv[1], "w"))
"""

MIG_NAMES = """
import pynvml as p
p.nvmlInit()
h = p.nvmlDeviceGetHandleByIndex(0)
print("|".join(p.nvmlDeviceGetName(p.nvmlDeviceGetMigDeviceHandleByIndex(h, i)) for i in range(3)))
print(len(p.nvmlDeviceGetGpuInstances(h, p.nvmlDeviceGetGpuInstanceProfileInfo(h, p.NVML_GPU_INSTANCE_PROFILE_3_SLICE).id)))
"""


def test_mig_instances_round_trip(tmp_path):
    """The MIG H100 with GPU and compute instances made by calls: the capture holds its
    profiles, placements, instances and each MIG device's getters; the simulator replaying
    it starts with those instances, and answers every getter as captured."""
    r = subprocess.run([sys.executable, "-c", MIG_SCRIPT, str(tmp_path / "out.json")], env=sim_env("h100-mig"),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    mig = out["profile"]["devices"][0]["mig"]
    assert mig["memorySlices"] == 8 and mig["computeSlices"] == 7
    assert [(g["profile"], len(g["computeInstances"])) for g in mig["instances"]] == [(9, 2), (19, 1)]
    names = {ci["device"]["nvmlDeviceGetName"] for g in mig["instances"] for ci in g["computeInstances"]}
    assert names == set(out["names"]) and len(names) == 2   # 1c.3g twice, and 1g
    (tmp_path / "cap.json").write_text(json.dumps(out["profile"]))
    r = replay_check(tmp_path / "cap.json")
    assert r.returncode == 0 and ", 0 differences" in r.stdout, r.stdout
    # anonymized: no MIG device's UUID left, and it still replays
    from pynvml._sim.capture import anonymize

    uuids = {ci["device"]["nvmlDeviceGetUUID"] for g in mig["instances"] for ci in g["computeInstances"]}
    anon = anonymize(json.loads(json.dumps(out["profile"])))
    assert len(uuids) == 3 and not any(u in json.dumps(anon) for u in uuids)
    (tmp_path / "anon.json").write_text(json.dumps(anon))
    assert replay_check(tmp_path / "anon.json").returncode == 0
    r = subprocess.run([sys.executable, "-c", MIG_NAMES], env=sim_env(tmp_path / "cap.json"), capture_output=True,
                       text=True, timeout=60)
    assert r.stdout.split("\n")[:2] == ["|".join(out["names"]), "1"], r.stderr


def test_processes_fields_and_samples_round_trip(tmp_path, default_profile):
    """Running processes with their names, field values and samples: captured, replayed equal."""
    d = default_profile["devices"][0]
    procs = [{"pid": 4242, "usedGpuMemory": 512 << 20, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF},
             {"pid": 5151, "usedGpuMemory": 1 << 30, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF}]
    d["nvmlDeviceGetComputeRunningProcesses_v3"] = procs
    default_profile["system"]["nvmlSystemGetProcessName"] = {"4242": "python3", "5151": "trainer", "6000": "gone"}
    d["nvmlDeviceGetProcessesUtilizationInfo"] = [{"timeStamp": 1000, "pid": 4242, "smUtil": 40, "memUtil": 10,
                                                   "encUtil": 0, "decUtil": 0, "jpgUtil": 0, "ofaUtil": 0}]
    (tmp_path / "p.json").write_text(json.dumps(default_profile))
    got = capture(tmp_path / "cap.json", profile=tmp_path / "p.json")
    assert got["system"]["nvmlSystemGetProcessName"] == {"4242": "python3", "5151": "trainer"}
    g = got["devices"][0]
    assert [p["pid"] for p in g["nvmlDeviceGetComputeRunningProcesses_v3"]] == [4242, 5151]
    assert g["nvmlDeviceGetProcessesUtilizationInfo"][0]["smUtil"] == 40
    # every field the profile answers (a value, or an error other than NOT_SUPPORTED), at
    # scope 0, none it does not; at another scope, what differs ("185:2": a power domain)
    answered = {k: v for k, v in d["nvmlDeviceGetFieldValues"].items() if ":" not in k and
                v.get("error") not in ("NOT_SUPPORTED", "NVML_ERROR_NOT_SUPPORTED")}
    assert len(answered) > 20
    assert {k: v for k, v in g["nvmlDeviceGetFieldValues"].items() if ":" not in k} == answered
    assert g["nvmlDeviceGetFieldValues"]["185:2"] == d["nvmlDeviceGetFieldValues"]["185:2"] != answered["185"]
    s = d["nvmlDeviceGetSamples"]["0"]
    assert (g["nvmlDeviceGetSamples"]["0"]["periodUs"], g["nvmlDeviceGetSamples"]["0"]["count"]) == \
        (s["periodUs"], s["count"])
    assert sorted(set(g["nvmlDeviceGetSamples"]["0"]["values"])) == sorted(set(s["values"]))
    r = replay_check(tmp_path / "cap.json")
    assert r.returncode == 0 and ", 0 differences" in r.stdout, r.stdout


def test_replay_check_of_a_missing_file_is_one_line(tmp_path):
    r = replay_check(tmp_path / "none.json")
    assert r.returncode == 1 and "Traceback" not in r.stderr + r.stdout
    assert r.stdout.strip().endswith("No such file or directory: '%s'" % (tmp_path / "none.json"))
