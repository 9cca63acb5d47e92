"""Values that move with the simulator's clock (sim/moving.c), driven by the test
(pynvml._sim.advance_clock), so every read is decided, not timed."""
import math

import pytest

import pynvml
import pynvml._sim as sim

pytestmark = pytest.mark.simulator


def start(use_profile, profile):
    use_profile(profile)
    pynvml.nvmlInit()
    sim.advance_clock(0)   # stop the clock at (about) 0
    return pynvml.nvmlDeviceGetHandleByIndex(0)


def test_utilization_sequence_and_temperature_ramp(use_profile, default_profile):
    d = default_profile["devices"][0]
    d["nvmlDeviceGetUtilizationRates"] = {"gpu": {"sequence": [0, 50, 100], "period_ms": 1000}, "memory": 7}
    d["nvmlDeviceGetTemperature"] = {"0": {"ramp": [40, 90], "over_ms": 10000}}
    h = start(use_profile, default_profile)
    t0 = sim.advance_clock(0)
    seen = []
    for _ in range(7):
        seen.append((pynvml.nvmlDeviceGetUtilizationRates(h).gpu, pynvml.nvmlDeviceGetTemperature(h, 0)))
        sim.advance_clock(1000)
    # the clock was stopped somewhere in its first second: each step is one period on
    k = int(t0 // 1000)
    assert [u for u, _ in seen] == [[0, 50, 100][(k + i) % 3] for i in range(7)]
    temps = [t for _, t in seen]
    assert temps == sorted(temps) and temps[0] == round(40 + 50 * t0 / 10000) and temps[-1] - temps[0] == 30
    sim.advance_clock(60000)
    assert pynvml.nvmlDeviceGetTemperature(h, 0) == 90   # the ramp's end, held


def test_steps_reach_the_slowdown_threshold(use_profile, default_profile):
    d = default_profile["devices"][0]
    slowdown = d["nvmlDeviceGetTemperatureThreshold"]["1"]
    d["nvmlDeviceGetTemperature"] = {"0": {"steps": [[0, 40], [5000, 70], [9000, slowdown]]}}
    h = start(use_profile, default_profile)
    assert pynvml.nvmlDeviceGetTemperature(h, 0) == 40
    sim.advance_clock(5000)
    assert pynvml.nvmlDeviceGetTemperature(h, 0) == 70
    sim.advance_clock(4000)
    assert pynvml.nvmlDeviceGetTemperature(h, 0) == slowdown >= pynvml.nvmlDeviceGetTemperatureThreshold(h, 1)


def test_memory_fills(use_profile, default_profile):
    d = default_profile["devices"][0]
    total = d["nvmlDeviceGetMemoryInfo"]["total"]
    d["nvmlDeviceGetMemoryInfo"]["used"] = {"ramp": [0, total], "over_ms": 100000}
    h = start(use_profile, default_profile)
    t0 = sim.advance_clock(0)
    used = [pynvml.nvmlDeviceGetMemoryInfo(h).used]
    for _ in range(4):
        sim.advance_clock(25000)
        used.append(pynvml.nvmlDeviceGetMemoryInfo(h).used)
    assert used == sorted(used) and used[-1] == total
    assert abs(used[1] - total * (t0 + 25000) / 100000) <= 1


def test_sine_and_random_walk_are_deterministic(use_profile, default_profile):
    d = default_profile["devices"][0]
    d["nvmlDeviceGetPowerUsage"] = {"sine": {"mean": 300000, "amplitude": 100000, "period_ms": 4000}}
    d["nvmlDeviceGetFanSpeed"] = {"random_walk": {"start": 50, "step": 5, "every_ms": 100, "min": 30, "max": 70,
                                                  "seed": 3}}
    h = start(use_profile, default_profile)
    t0 = sim.advance_clock(0)
    power, fans = [], []
    for _ in range(8):
        power.append(pynvml.nvmlDeviceGetPowerUsage(h))
        fans.append(pynvml.nvmlDeviceGetFanSpeed(h))
        sim.advance_clock(500)
    assert power == [round(300000 + 100000 * math.sin(2 * math.pi * (t0 + 500 * i) / 4000)) for i in range(8)]
    assert all(30 <= f <= 70 for f in fans) and len(set(fans)) > 1
    assert all(abs(a - b) <= 25 and (a - b) % 5 == 0 for a, b in zip(fans, fans[1:]))


def test_a_moving_value_out_of_range_is_an_error_not_a_wrap(use_profile, default_profile):
    d = default_profile["devices"][0]
    d["nvmlDeviceGetPowerUsage"] = {"ramp": [10, -10], "over_ms": 1000}
    h = start(use_profile, default_profile)
    sim.advance_clock(2000)
    with pytest.raises(pynvml.NVMLError_Unknown):
        pynvml.nvmlDeviceGetPowerUsage(h)


def test_a_bad_moving_value_is_refused_at_load(use_profile, default_profile, capfd):
    default_profile["devices"][0]["nvmlDeviceGetPowerUsage"] = {"ramp": [1, 2], "over_ms": 0}
    path = use_profile(default_profile)
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        pynvml.nvmlInit()
    assert f"{path}: $.devices[0].nvmlDeviceGetPowerUsage.over_ms: out of range" in capfd.readouterr().err


def test_a_process_starts_and_exits(use_profile, default_profile):
    d = default_profile["devices"][0]
    d["nvmlDeviceGetComputeRunningProcesses_v3"] = [
        {"pid": 100, "usedGpuMemory": 1 << 30, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF},
        {"pid": 200, "usedGpuMemory": 2 << 30, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF,
         "_from_ms": 10000, "_until_ms": 20000}]
    h = start(use_profile, default_profile)
    pids = lambda: [p.pid for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h)]   # noqa: E731
    assert pids() == [100]
    sim.advance_clock(10000)
    assert pids() == [100, 200]
    assert [p.usedGpuMemory for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h)] == [1 << 30, 2 << 30]
    sim.advance_clock(10000)
    assert pids() == [100]


def test_energy_integrates_the_power(use_profile, default_profile):
    d = default_profile["devices"][0]
    d["nvmlDeviceGetPowerUsage"] = {"steps": [[0, 100000], [10000, 300000]]}   # 100 W, then 300 W
    d["nvmlDeviceGetTotalEnergyConsumption"] = {"energy": {"start": 5000}}
    default_profile["devices"][1]["nvmlDeviceGetPowerUsage"] = 200000
    default_profile["devices"][1]["nvmlDeviceGetTotalEnergyConsumption"] = {"energy": {"start": 0}}
    h = start(use_profile, default_profile)
    h1 = pynvml.nvmlDeviceGetHandleByIndex(1)
    t0 = sim.advance_clock(0)
    e0, f0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(h), pynvml.nvmlDeviceGetTotalEnergyConsumption(h1)
    assert abs(e0 - (5000 + 100 * t0)) <= 1 and abs(f0 - 200 * t0) <= 1   # mW x ms / 1000 = mJ
    sim.advance_clock(20000)
    e1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
    # 100 W until 10 s, 300 W after: within one slice of the integration (20 s / 1000)
    want = 5000 + 100 * 10000 + 300 * (t0 + 20000 - 10000)
    assert abs(e1 - want) <= 200 * 20
    assert pynvml.nvmlDeviceGetTotalEnergyConsumption(h1) - f0 == 200 * 20000
