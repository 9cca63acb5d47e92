"""The smi views' formatting at its edges, each against what nvidia-smi prints (facts of
its output; the whole views are compared with real captures in tests/test_smi_reference.py,
whose H200 has no NVLink, one CPU range and a name far from the column's width):

  - ``topo -m``'s CPU Affinity is CPU ranges joined by commas ("0-15,32-47"), a lone CPU
    as itself ("0,2": two CPUs a gap apart are no range);
  - ``nvlink -s`` gives each active link's speed in GB/s of 1000 MB/s, three decimals (an
    H100 SXM's NVLink 4: "Link 0: 26.562 GB/s");
  - the summary's Pwr:Usage/Cap are whole watts rounded to the nearest, and a name longer
    than 27 characters is cut to 24 and "..." ("NVIDIA RTX PRO 6000 Blac..." in a published
    capture), one of 27 is not;
  - ``--query-gpu`` and ``--query-compute-apps`` CSV quote a value holding a comma or a quote, a
    quote doubled (RFC 4180).
"""
import json

import pytest

import pynvml
from pynvml import smi_views
from pynvml.smi import main

pytestmark = pytest.mark.simulator


@pytest.fixture
def start(use_profile, default_profile):
    def go(**members):
        for k, v in members.items():
            default_profile["devices"][0][k] = v
        use_profile(default_profile)
        pynvml.nvmlInit()
    yield go
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


@pytest.mark.parametrize("words,text", [
    ([0xFFFF], "0-15"), ([0x0000FFFF0000FFFF], "0-15,32-47"), ([5], "0,2"), ([1, 3], "0,64-65"),
])
def test_cpu_affinity_as_ranges(start, words, text):
    start(nvmlDeviceGetCpuAffinity=words)
    t = smi_views.topology()
    assert t["gpus"][0]["cpu_affinity"] == text
    assert ("GPU0\t X \t" in smi_views.render_topology(t)) and ("\t%s\t" % text) in smi_views.render_topology(t)


def test_nvlink_speed_in_gb_per_s_of_1000_mb(start, default_profile):
    fields = dict(default_profile["devices"][0]["nvmlDeviceGetFieldValues"])
    fields[str(pynvml.NVML_FI_DEV_NVLINK_SPEED_MBPS_COMMON)] = {"value": 26562, "valueType": 1}
    start(nvmlDeviceGetNvLinkState={"0": 1, "1": 0}, nvmlDeviceGetFieldValues=fields)
    out = smi_views.render_nvlink_status(smi_views.nvlink_status([0]))
    assert "\t Link 0: 26.562 GB/s\n" in out and "\t Link 1: <inactive>\n" in out


@pytest.mark.parametrize("mw,shown", [(118110, "118W"), (118600, "119W"), (699500, "700W")])
def test_summary_power_rounded_to_whole_watts(start, capsys, default_profile, mw, shown):
    fields = dict(default_profile["devices"][0]["nvmlDeviceGetFieldValues"])
    fields[str(pynvml.NVML_FI_DEV_POWER_AVERAGE)] = {"value": mw, "valueType": 1}     # what power.draw reads
    start(nvmlDeviceGetPowerUsage=mw, nvmlDeviceGetFieldValues=fields, nvmlDeviceGetEnforcedPowerLimit=700000,
          nvmlDeviceGetPowerManagementLimit=700000)
    assert main([]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if "/  700W |" in ln][0]
    assert (" %s /  700W |" % shown) in line, line


@pytest.mark.parametrize("name,shown", [("N" * 27, "N" * 27), ("N" * 28, "N" * 24 + "..."),
                                        ("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3")])
def test_summary_name_fits_27_columns(start, capsys, name, shown):
    start(nvmlDeviceGetName=name)
    assert main([]) == 0
    out = capsys.readouterr().out
    row = [ln for ln in out.splitlines() if ln.startswith("|   0  ")][0]
    assert row.startswith("|   0  " + shown + " ") and len(row) == 89 + 2, row


def test_query_gpu_csv_quotes_commas_and_quotes(start, capsys):
    start(nvmlDeviceGetName='NVIDIA "H100", 80GB')
    assert main(["--query-gpu=index,name", "--format=csv,noheader", "-i", "0"]) == 0
    assert capsys.readouterr().out == '0, "NVIDIA ""H100"", 80GB"\n'


def test_query_compute_apps_csv_quotes_commas_and_quotes(use_profile, default_profile, capsys):
    default_profile["system"]["nvmlSystemGetProcessName"] = {"4242": 'train "big", v2'}
    use_profile(default_profile)
    try:
        assert main(["--query-compute-apps=pid,process_name", "--format=csv,noheader"]) == 0
        assert capsys.readouterr().out == '4242, "train ""big"", v2"\n'
    finally:
        while pynvml._nvml._refcount() > 0:
            pynvml.nvmlShutdown()
