"""The batch query API (pynvml.batch, ext/batch.c) and the concurrency of the smi engine's
fetch phase (nvidia_smi.DeviceQuery): values and per-pair errors, checked against the
single calls and nvidia-ml-py; concurrency seen by the simulator's delay counters (a
"delay_ms" fault stands in for NVML's sampling time), never timed."""
import threading
import time

import pytest

import pynvml
from pynvml import _sim, batch
from pynvml.smi import nvidia_smi

pytestmark = pytest.mark.simulator
TX, RX = pynvml.NVML_PCIE_UTIL_TX_BYTES, pynvml.NVML_PCIE_UTIL_RX_BYTES


def slow(profile, entry_point, ms=400, devices=(0, 1)):
    for d in devices:
        profile["devices"][d].setdefault("faults", {})[entry_point] = {"delay_ms": ms}
    return profile


def test_values_are_those_of_the_single_calls(nvml, ref):
    h1 = pynvml.nvmlDeviceGetHandleByIndex(1)
    pairs = [(0, "temperature.gpu"), (0, "pci/tx_util"), (0, "pci/rx_util"), (h1, "clocks.current.sm"),
             (h1, "name"), (1, "memory.total"), (0, "driver_version"), (1, "pcie.link.gen.current"),
             (0, "uuid"), (1, "uuid")]
    got = batch.query(pairs)
    r0, r1 = ref.nvmlDeviceGetHandleByIndex(0), ref.nvmlDeviceGetHandleByIndex(1)
    assert got == [
        ref.nvmlDeviceGetTemperature(r0, 0),
        ref.nvmlDeviceGetPcieThroughput(r0, TX),
        ref.nvmlDeviceGetPcieThroughput(r0, RX),
        ref.nvmlDeviceGetClockInfo(r1, pynvml.NVML_CLOCK_SM),
        ref.nvmlDeviceGetName(r1),
        ref.nvmlDeviceGetMemoryInfo(r1).total // 2**20,
        ref.nvmlSystemGetDriverVersion(),
        ref.nvmlDeviceGetCurrPcieLinkGeneration(r1),
        ref.nvmlDeviceGetUUID(r0),
        ref.nvmlDeviceGetUUID(r1),
    ]
    # the same values as DeviceQuery's, pair by pair
    q = nvidia_smi.getInstance().DeviceQuery("temperature.gpu,power.draw")
    assert got[0] == q["gpu"][0]["temperature"]["gpu_temp"]
    assert batch.query([(1, "power.draw")]) == [q["gpu"][1]["power_readings"]["power_draw"]]
    assert batch.query([]) == []


def test_every_metric_answers_on_every_device(nvml):
    names = batch.METRICS
    assert "pci/tx_util" in names and "temperature.gpu" in names and "gpu_name" in names
    got = batch.query([(d, m) for d in (0, 1) for m in names])
    assert len(got) == 2 * len(names)
    assert all(not isinstance(v, Exception) or isinstance(v, pynvml.NVMLError) for v in got)
    assert sum(not isinstance(v, Exception) for v in got) > len(names)   # most have values


def test_each_pair_has_its_own_error(use_profile, default_profile):
    default_profile["devices"][0]["faults"] = {"nvmlDeviceGetSerial": {"error": "GPU_IS_LOST"},
                                               "nvmlDeviceGetTemperature": {"error": "NOT_SUPPORTED"}}
    use_profile(default_profile)
    pynvml.nvmlInit()
    got = batch.query([(0, "serial"), (0, "temperature.gpu"), (0, "name"), (1, "serial"),
                       (7, "name"), (1, "name")])
    assert type(got[0]) is pynvml.NVMLError_GpuIsLost and got[0].value == pynvml.NVML_ERROR_GPU_IS_LOST
    assert type(got[1]) is pynvml.NVMLError_NotSupported
    assert got[2] == got[5] == "NVIDIA H100 80GB HBM3"
    assert got[3] == pynvml.nvmlDeviceGetSerial(pynvml.nvmlDeviceGetHandleByIndex(1))
    assert type(got[4]) is pynvml.NVMLError_InvalidArgument        # no GPU 7: that pair alone


@pytest.mark.parametrize("pairs, exc, match", [
    ([(0, "no.such.metric")], ValueError, "no metric 'no.such.metric'"),
    ([(0, 5)], TypeError, "a metric is a str"),
    ([(0,)], TypeError, r"each pair must be \(device, metric\)"),
    ([5], TypeError, r"each pair must be \(device, metric\)"),
    ([(-1, "name")], ValueError, "device index"),
    ([(2**40, "name")], ValueError, "device index"),
    ([("0", "name")], TypeError, None),
    ([(None, "name")], TypeError, None),
    ([(True, "name")], TypeError, None),
])
def test_bad_pairs_raise_before_nvml(nvml, pairs, exc, match):
    with pytest.raises(exc, match=match):
        batch.query(pairs)


def test_the_private_entry_checks_its_arguments(nvml):
    for args in [(), ([0], [0]), ((0,), (0, 1)), ((0,), ("x",)), ((0,), (10**6,)), ((0,), (-1,))]:
        with pytest.raises((TypeError, ValueError)):
            pynvml._nvml._batch_query(*args)


def test_after_the_last_shutdown_and_with_stale_handles():
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        batch.query([(0, "name")])
    pynvml.nvmlInit()
    try:
        with pytest.raises(pynvml.NVMLError_Uninitialized):
            batch.query([(h, "name")])                  # a handle of an earlier init
    finally:
        pynvml.nvmlShutdown()


def test_pairs_that_change_while_read(nvml):
    # the pairs are copied before anything is converted: a sequence emptied by its own
    # iteration, or a pair that mutates the list, cannot shift what C reads
    pairs = [(0, "name"), (1, "name")]

    class Evil:
        def __iter__(self):
            pairs.clear()
            yield 0
            yield "name"

    pairs.append(Evil())
    got = batch.query(pairs)
    assert got == ["NVIDIA H100 80GB HBM3"] * 3


def test_pcie_directions_and_devices_sample_at_once(use_profile, default_profile):
    use_profile(slow(default_profile, "nvmlDeviceGetPcieThroughput"))
    pynvml.nvmlInit()
    _sim.max_concurrent_delays()
    got = batch.query([(d, m) for d in (0, 1) for m in ("pci/tx_util", "pci/rx_util")])
    assert all(isinstance(v, int) for v in got)
    assert _sim.max_concurrent_delays() == 4      # 2 GPUs x 2 directions, all inside NVML together


def test_device_query_overlaps_devices_and_samplers(use_profile, default_profile):
    slow(default_profile, "nvmlDeviceGetPcieThroughput")
    use_profile(slow(default_profile, "nvmlDeviceGetPowerUsage"))
    pynvml.nvmlInit()
    nvsmi = nvidia_smi.getInstance()
    _sim.max_concurrent_delays()
    full = nvsmi.DeviceQuery()
    assert len(full["gpu"]) == 2
    # both GPUs' power readings and their 4 PCIe samples: each its own job, all at once
    assert _sim.max_concurrent_delays() == 6
    pci = full["gpu"][0]["pci"]
    assert isinstance(pci["tx_util"], int) and isinstance(pci["rx_util"], int)


def test_devices_overlap_without_a_slow_call(use_profile, default_profile):
    use_profile(slow(default_profile, "nvmlDeviceGetPowerUsage"))
    pynvml.nvmlInit()
    _sim.max_concurrent_delays()
    nvidia_smi.getInstance().DeviceQuery()             # every field: worth a thread per GPU
    assert _sim.max_concurrent_delays() == 2


def test_the_gil_is_free_while_the_batch_waits(use_profile, default_profile):
    use_profile(slow(default_profile, "nvmlDeviceGetPcieThroughput", ms=1500))
    pynvml.nvmlInit()
    out = []
    t = threading.Thread(target=lambda: out.append(batch.query([(0, "pci/tx_util"), (1, "pci/rx_util")])))
    t.start()
    seen = 0
    deadline = time.monotonic() + 60
    while t.is_alive() and time.monotonic() < deadline:   # Python runs here meanwhile
        seen = max(seen, _sim.delays_now())
        time.sleep(0.005)
    t.join()
    assert seen == 2 and len(out[0]) == 2
