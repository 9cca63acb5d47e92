"""The smi views' arithmetic on values where the rounding and the units show (issue #18's
mutation testing: on the default profile's numbers a floor and a round agree, 645 KB/s is
0 MB/s by either divisor, and CUDA 13.0 reads the same however its minor is taken).
The expected numbers follow nvidia-smi's conventions, as the views' comments give them:
dmon's power in whole watts (rounded), PCIe throughput in MB/s (1000 KB), framebuffer in
MiB rounded to the nearest; retired page addresses as 0x and 16 hex digits; CUDA 12.4 for
12040 (in the views and in the C engine's -q)."""
import pytest

import pynvml
import pynvml.smi
from pynvml import smi_views

pytestmark = pytest.mark.simulator


@pytest.fixture
def views(use_profile, default_profile):
    d = default_profile["devices"][0]
    d["nvmlDeviceGetPowerUsage"] = 71670                       # 71.67 W
    d["nvmlDeviceGetPcieThroughput"] = {"0": 1023999, "1": 2048000}   # KB/s: tx, rx
    d["nvmlDeviceGetMemoryInfo_v2"]["used"] = (1634 << 20) + (3 << 18)   # 1634.75 MiB
    d["nvmlDeviceGetMemoryInfo_v2"]["reserved"] = (615 << 20) + 62915    # 615.06 MiB, as an H200's
    d["nvmlDeviceGetRetiredPages_v2"] = {"0": [["4096"], [1700000000]], "1": [[], []]}
    default_profile["system"]["nvmlSystemGetCudaDriverVersion"] = 12040
    use_profile(default_profile)
    pynvml.nvmlInit()
    yield
    pynvml.nvmlShutdown()


def test_dmon_units_and_rounding(views):
    row = smi_views.dmon_sample("pmt", devices=[0])[0]
    assert row["pwr"] == 72
    assert (row["txpci"], row["rxpci"]) == (1023, 2048)
    assert row["fb"] == 1635


def test_retired_page_address_and_cuda_version(views):
    _, records = smi_views.list_query("retired-pages", ["retired_pages.address", "retired_pages.cause"], devices=[0])
    assert [(r["retired_pages.address"], r["retired_pages.cause"]) for r in records] == [
        ("0x0000000000001000", "Single Bit ECC")]
    assert smi_views.version()["cuda"] == "12.4"


def test_device_query_reserved_rounds_up_and_cuda_version(views):
    # nvidia-smi showed an H200's 615.06 MiB reserved as 616 (ext/smi_query.c, F_MEMREQ)
    q = pynvml.smi.nvidia_smi.getInstance().DeviceQuery("memory.reserved")
    assert q["gpu"][0]["fb_memory_usage"]["reserved"] == 616
    assert pynvml.smi.nvidia_smi.getInstance().DeviceQuery()["cuda_version"] == "12.4"
