"""Profiles checked when loaded (sim/profile_load.c, sim/profile_check.c, the schema
generated from the spec): a mistake is refused at nvmlInit with the file, the JSON path
and what was expected; `python -m pynvml._sim check` lists every problem or the GPUs;
built-in profiles by name; `python -m pynvml` says what is wrong in one line."""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

import pynvml

from conftest import ROOT

pytestmark = pytest.mark.simulator

SIM = dict(os.environ, PYNVML_LIBRARY="sim")


def init_error(path):
    """(the exception nvmlInit raised in a child, its stderr) for the profile at path."""
    code = textwrap.dedent("""
        import pynvml
        try:
            pynvml.nvmlInit()
            print("loaded", pynvml.nvmlDeviceGetCount())
        except pynvml.NVMLError as e:
            print(type(e).__name__)
    """)
    r = subprocess.run([sys.executable, "-c", code], env=dict(SIM, PYNVML_SIM_PROFILE=str(path)),
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip(), r.stderr


def write(tmp_path, profile, name="p.json"):
    p = tmp_path / name
    p.write_text(profile if isinstance(profile, str) else json.dumps(profile))
    return p


def with_device(default_profile, **members):
    default_profile["devices"][0].update(members)
    return default_profile


# each case: (a change to the default profile, or the file's text), then what stderr must say
BAD = [
    ('{"system": {}, "devices": [\n  {"nvmlDeviceGetName": "x",}\n]}', [":2:", ": not valid JSON here (near: "]),
    ("", ["the profile is empty"]),
    ("  \n", ["the profile is empty"]),
    ("[1, 2]", ["$: expected a JSON object"]),
    ({"devices": 5}, ["$.devices: expected a list of device objects (at most 64), got 5"]),
    ({"devices": [{}] * 65}, ["$.devices: at most 64 items expected, got 65"]),
    ({"devices": [7]}, ["$.devices[0]: expected a device's entry points, got 7"]),
    (lambda p: with_device(p, nvmlDeviceGetTemperature={"0": "hot"}),
     ['$.devices[0].nvmlDeviceGetTemperature.0: expected an unsigned 32-bit integer (0 to 4294967295), '
      'or {"error": CODE}, or a value that moves, got "hot"']),
    (lambda p: with_device(p, nvmlDeviceGetMemoryInfo={"total": -5, "free": 0, "used": 0}),
     ["$.devices[0].nvmlDeviceGetMemoryInfo.total: out of range: expected an unsigned 64-bit integer", "got -5"]),
    (lambda p: with_device(p, nvmlDeviceGetPowerUsage=1e300),
     ["$.devices[0].nvmlDeviceGetPowerUsage: out of range: expected an unsigned 32-bit integer", "got 1e+300"]),
    (lambda p: with_device(p, nvmlDeviceGetPowerUsage=-5), ["nvmlDeviceGetPowerUsage: out of range", "got -5"]),
    (lambda p: with_device(p, nvmlDeviceGetPowerUsage=1.5), ["nvmlDeviceGetPowerUsage: expected an unsigned 32-bit"]),
    (lambda p: with_device(p, nvmlDeviceGetPowrUsage=1), ['$.devices[0]: unknown member "nvmlDeviceGetPowrUsage"']),
    (lambda p: with_device(p, nvmlDeviceGetTemperature={"gpu": 35}),
     ['$.devices[0].nvmlDeviceGetTemperature: unknown member "gpu" (keyed by sensor (decimal numbers))']),
    (lambda p: with_device(p, nvmlDeviceGetMemoryInfo={"total": 1, "fre": 2}),
     ['$.devices[0].nvmlDeviceGetMemoryInfo: unknown member "fre"']),
    (lambda p: with_device(p, nvmlDeviceGetPowerUsage={"error": "NOT_SUPPORTD"}),
     ["$.devices[0].nvmlDeviceGetPowerUsage.error: expected a return code's name"]),
    (lambda p: with_device(p, nvmlDeviceGetClockInfo={"0": [1, 2]}),
     ["$.devices[0].nvmlDeviceGetClockInfo.0: expected an unsigned 32-bit integer"]),
    (lambda p: with_device(p, nvmlDeviceGetUUID=5), ['$.devices[0].nvmlDeviceGetUUID: expected a string, or {"error": CODE}, got 5']),
    # exclusiveMinimum: a period of 0 ms is refused (above 0 is the rule, not "at least 0")
    (lambda p: with_device(p, nvmlDeviceGetTemperature={"0": {"sequence": [30, 40], "period_ms": 0}}),
     ["$.devices[0].nvmlDeviceGetTemperature.0.period_ms: out of range: expected a number of milliseconds "
      "above 0, got 0"]),
    # maxLength: a char field of the platform info holds one character
    (lambda p: with_device(p, nvmlDeviceGetPlatformInfo={"slotNumber": "ab"}),
     ['$.devices[0].nvmlDeviceGetPlatformInfo.slotNumber: expected', 'got "ab"']),
]


@pytest.mark.parametrize("members", [
    {"nvmlDeviceGetTemperature": {"0": {"sequence": [30, 40], "period_ms": 0.5}}},
    {"nvmlDeviceGetPlatformInfo": {"slotNumber": "a", "trayIndex": 3}},
    {"nvmlDeviceGetPowerUsage": 4294967295},
], ids=["period-just-above-0", "one-char", "u32-max"])
def test_values_at_the_bounds_are_accepted(members, tmp_path, default_profile):
    """The other side of the bounds the cases above cross: the checker refuses no more."""
    outcome, err = init_error(write(tmp_path, with_device(default_profile, **members)))
    assert outcome == "loaded 2", err


@pytest.mark.parametrize("case,messages", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_a_bad_profile_is_refused_at_load_naming_the_place(case, messages, tmp_path, default_profile):
    if callable(case):
        case = case(default_profile)
    path = write(tmp_path, case)
    outcome, err = init_error(path)
    assert outcome == "NVMLError_DriverNotLoaded", err
    for m in messages:
        assert f"{path}" in err and m in err, err


def test_every_problem_is_reported_and_counted(tmp_path, default_profile):
    d = default_profile["devices"]
    d[0]["nvmlDeviceGetPowerUsage"] = -1
    d[1]["nvmlDeviceGetPowerUsage"] = "x"
    d[1]["nvmlDeviceGetFanSpeed"] = 1e10
    outcome, err = init_error(write(tmp_path, default_profile))
    assert outcome == "NVMLError_DriverNotLoaded"
    assert "$.devices[0].nvmlDeviceGetPowerUsage" in err and "$.devices[1].nvmlDeviceGetPowerUsage" in err
    assert "$.devices[1].nvmlDeviceGetFanSpeed" in err and "3 problems: the profile is refused" in err


def test_a_directory_is_refused(tmp_path):
    outcome, err = init_error(tmp_path)
    assert outcome == "NVMLError_DriverNotLoaded" and "is not a regular file" in err


def test_too_many_values_are_refused_before_parsing(tmp_path):
    """A 50 MB array used to take 9-13 s and 2 GB to load: refused at once now."""
    path = tmp_path / "big.json"
    path.write_text('{"system": {}, "devices": [{"_pad": [' + "0," * 3_000_000 + "0]}]}")
    t0 = time.monotonic()
    outcome, err = init_error(path)
    assert outcome == "NVMLError_DriverNotLoaded" and "holds more than 2000000 JSON values" in err
    assert time.monotonic() - t0 < 30   # (not a timing test: a guard against the old behaviour)


def test_the_built_in_profiles_pass_their_own_check():
    for name in ("default", "vgpu-host"):
        r = subprocess.run([sys.executable, "-m", "pynvml._sim", "check", name], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and f"{name}: OK, " in r.stdout, r.stderr


def test_a_built_in_profile_by_name(monkeypatch):
    monkeypatch.setenv("PYNVML_SIM_PROFILE", "vgpu-host")
    pynvml.nvmlInit()
    try:
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        assert pynvml.nvmlDeviceGetVirtualizationMode(h) == pynvml.NVML_GPU_VIRTUALIZATION_MODE_HOST_VGPU
    finally:
        pynvml.nvmlShutdown()


def test_an_unknown_name_lists_the_built_in_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome, err = init_error("no-such-gpu")
    assert outcome == "NVMLError_DriverNotLoaded"
    assert "PYNVML_SIM_PROFILE=no-such-gpu is neither a file nor a built-in profile (default, vgpu-host" in err


def test_check_command_lists_every_problem(tmp_path, default_profile):
    default_profile["devices"][0]["nvmlDeviceGetPowerUsage"] = -1
    default_profile["devices"][1]["nvmlDeviceGetTemperature"] = {"0": "x"}
    path = write(tmp_path, default_profile)
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "check", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert any("$.devices[0].nvmlDeviceGetPowerUsage" in x for x in lines)
    assert any("$.devices[1].nvmlDeviceGetTemperature.0" in x for x in lines)
    assert lines[-1] == f"{path}: 2 problems: the profile is refused"


def test_check_command_summarises_a_good_profile(tmp_path, default_profile):
    default_profile["devices"][1]["nvmlDeviceGetName"] = "Second GPU"
    default_profile["devices"][1]["nvmlDeviceGetMigMode"] = [1, 1]
    path = write(tmp_path, default_profile)
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "check", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"{path}: OK, 2 GPUs"
    assert "GPU 1: Second GPU" in r.stdout and "MIG on" in r.stdout and "81559 MiB" in r.stdout


def test_the_schema_is_shipped_and_describes_every_generated_getter():
    import pynvml._sim as sim

    schema = json.loads((ROOT / "src" / "pynvml" / "_sim" / "profile.schema.json").read_text())
    shipped = os.path.join(os.path.dirname(sim.__file__), "profile.schema.json")
    assert json.load(open(shipped)) == schema
    dev = schema["definitions"]["device"]["properties"]
    assert dev["nvmlDeviceGetMemoryInfo"] == {"$ref": "#/definitions/nvmlMemory_t"}
    assert schema["definitions"]["u32"]["anyOf"][0]["maximum"] == 2**32 - 1
    # a profile may name the schema, for editors
    assert "$schema" not in schema["definitions"]["device"]["properties"]
    assert "^(_|\\$schema$)" in schema["definitions"]["device"]["patternProperties"]


# --- python -m pynvml: one line, not a traceback -------------------------------------------------


def run_main(**env):
    return subprocess.run([sys.executable, "-m", "pynvml"], env=dict(os.environ, **env), capture_output=True,
                          text=True, timeout=60)


def test_main_with_a_library_that_is_not_nvml():
    r = run_main(PYNVML_LIBRARY="/lib/x86_64-linux-gnu/libc.so.6")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == ("python -m pynvml: /lib/x86_64-linux-gnu/libc.so.6 is not an NVML library "
                                "(it has no nvmlInit_v2) (PYNVML_LIBRARY)")


def test_main_with_a_missing_library():
    r = run_main(PYNVML_LIBRARY="/nonexistent/libnvidia-ml.so.1")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "/nonexistent/libnvidia-ml.so.1" in r.stderr


def test_main_with_a_bad_profile(tmp_path):
    path = write(tmp_path, {"devices": 5})
    r = run_main(PYNVML_LIBRARY="sim", PYNVML_SIM_PROFILE=str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last == (f"python -m pynvml: the simulated NVML refused its profile: {path}: $.devices: "
                    "expected a list of device objects (at most 64), got 5")


def test_hide_creates_the_directory(tmp_path):
    out = tmp_path / "older" / "driver"
    r = subprocess.run([sys.executable, "-m", "pynvml._sim", "hide", "-o", str(out), "nvmlDeviceGetPowerUsage"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (out / "libnvidia-ml.so.1").is_file() and out.is_dir()
