"""The summary table in MIG mode against nvidia-smi outputs people have published.

No capture of ours has a GPU in MIG mode with instances (the H200 of the GPU machine is
shared: its MIG mode is not ours to change), so the layout of the "MIG devices:" block and
of a MIG-mode GPU's lines is checked against public outputs (tests/data/public/, driver 570,
whose table is 580's but for the line under the version header): each capture's values are
read back from its text, given to render_summary, and every line must come out as the
capture's.  Then the same block from the simulator (h100-mig with instances made through
NVML): the values must be NVML's.
"""
import io
import re

import pytest

import pynvml
from conftest import ROOT
from pynvml import smi_views as v
from pynvml.smi import main

pytestmark = pytest.mark.simulator

PUBLIC = ROOT / "tests" / "data" / "public"


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _read_capture(text, full_name=None):
    """The summary's data as the capture shows it (the input render_summary takes)."""
    lines = text.splitlines()
    top = lines.index("|=========================================+========================+======================|")
    a, b, c = (_cells(x) for x in lines[top + 1:top + 4])
    index, rest = a[0].split(None, 1)
    name, pers = rest.rsplit(None, 1)
    bus, disp = a[1].split()
    fan, temp, pstate, power = b[0].split(None, 3)
    draw, limit = (p.strip() for p in power.split("/"))
    on = {"On": "Enabled", "Off": "Disabled"}
    gpu = {"index": index, "name": full_name or name, "persistence_mode": on[pers], "pci.bus_id": bus,
           "display_active": on[disp], "ecc.errors.uncorrected.volatile.total": "0",
           "ecc.mode.current": on.get(a[2], a[2]), "fan.speed": fan.replace("%", " %"),
           "temperature.gpu": temp.replace("C", " C"), "pstate": pstate,
           "power.draw": "%s.00 W" % draw[:-1], "power.limit": "%s.00 W" % limit[:-1],
           "memory.used": "[N/A]", "memory.total": "[N/A]", "utilization.gpu": "[N/A]",
           "compute_mode": b[2].split()[-1], "mig.mode.current": c[2]}
    migs = []
    row = re.compile(r"^\|\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\|\s+(\d+)MiB /\s+(\d+)MiB\s+\|\s+(\d+)\s+(\d+) \|"
                     r"\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+) \|$")
    for n, line in enumerate(lines):
        m = row.match(line)
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        bar1 = re.match(r"^\|\s+\|\s+(\d+)MiB /\s+(\d+)MiB\s+\|", lines[n + 1])
        migs.append({"gpu": g[0], "gpu_instance_id": g[1], "compute_instance_id": g[2], "mig_device": g[3],
                     "memory_used_mib": g[4], "memory_total_mib": g[5], "sm": g[6],
                     "ecc_uncorrected_volatile": g[7],
                     "bar1_used_mib": int(bar1.group(1)), "bar1_total_mib": int(bar1.group(2)),
                     "shared": dict(zip(("ce", "enc", "dec", "ofa", "jpg"), g[8:13]))})
    return {"timestamp": "-", "driver_version": "-", "cuda_version": "-", "gpus": [gpu],
            "mig_devices": migs if "| MIG devices:" in text else None, "processes": []}


def _ours_from_column_header(s):
    out = v.render_summary(s).splitlines()
    return out[out.index("| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |"):]


@pytest.mark.parametrize("capture, full_name, exact", [
    ("mig-h200-570.txt", None, False),   # that page lost the trailing spaces of one line
    ("mig-rtx-pro-6000-570.txt", "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", True),
])
def test_mig_mode_summary_as_published(capture, full_name, exact):
    text = (PUBLIC / capture).read_text()
    s = _read_capture(text, full_name)
    assert s["mig_devices"], "the capture's MIG devices were not read"
    ours = _ours_from_column_header(s)
    want = text.splitlines()
    if not exact:
        ours = [line.rstrip() for line in ours]
    assert ours == want


def test_summary_without_mig_has_no_mig_block():
    text = (PUBLIC / "mig-h200-570.txt").read_text()
    s = _read_capture(text)
    s["gpus"][0].update({"mig.mode.current": "Disabled", "memory.used": "1643 MiB", "memory.total": "143771 MiB",
                         "utilization.gpu": "0 %"})
    s["mig_devices"] = None
    out = _ours_from_column_header(s)
    assert not any("MIG devices" in line for line in out)
    assert out[4] == "|   0  NVIDIA H200                    Off |   00000000:00:00.0 Off |                    0 |"
    assert out[5] == "| N/A   31C    P0             76W /  700W |    1643MiB / 143771MiB |      0%      Default |"


def _run(capsys, *args):
    rc = main(list(args))
    return rc, capsys.readouterr().out


@pytest.fixture
def mig_gpu(use_profile):
    use_profile((ROOT / "sim" / "profiles" / "h100-mig.json").read_text())
    pynvml.nvmlInit()
    yield pynvml.nvmlDeviceGetHandleByIndex(0)
    pynvml.nvmlShutdown()


def _make(h, gi_profile, ci_profile):
    info = pynvml.nvmlDeviceGetGpuInstanceProfileInfo(h, gi_profile)
    gi = pynvml.nvmlDeviceCreateGpuInstance(h, info.id)
    cinfo = pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, ci_profile,
                                                              pynvml.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
    ci = pynvml.nvmlGpuInstanceCreateComputeInstance(gi, cinfo.id)
    return gi, ci, info, cinfo


def test_mig_block_on_the_simulator(mig_gpu, capsys):
    h = mig_gpu
    rc, out = _run(capsys)
    lines = out.splitlines()
    assert rc == 0
    at = lines.index("| MIG devices:                                                                            |")
    assert lines[at + 6] == "|  No MIG devices found                                                                   |"
    assert lines[at + 8] == " " * 89 and lines[at + 10].startswith("| Processes:")
    from pynvml.smi import nvidia_smi
    assert nvidia_smi.getInstance().MigDevices() == []

    made = [_make(h, pynvml.NVML_GPU_INSTANCE_PROFILE_3_SLICE, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_3_SLICE),
            _make(h, pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE)]
    try:
        rc, out = _run(capsys)
        lines = out.splitlines()
        at = lines.index("| MIG devices:                                                                            |")
        rows = [line for line in lines[at:] if re.match(r"^\|\s+\d+\s+\d+\s+\d+\s+\d+\s+\|", line)]
        assert len(rows) == 2
        for n, row in enumerate(rows):
            m = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(h, n)
            attrs = pynvml.nvmlDeviceGetAttributes(m)
            mem = pynvml.nvmlDeviceGetMemoryInfo(m)
            gi, ci, info, cinfo = made[n]
            assert pynvml.nvmlDeviceGetGpuInstanceId(m) == pynvml.nvmlGpuInstanceGetInfo(gi).id
            want = "|%3d%5d%4d%4d  |%19s / %5dMiB    |%3d%7s |%3d%4d%5d%5d%5d |" % (
                0, pynvml.nvmlGpuInstanceGetInfo(gi).id, pynvml.nvmlComputeInstanceGetInfo(ci).id, n,
                "%dMiB" % (mem.used >> 20), mem.total >> 20, cinfo.multiprocessorCount, "N/A",
                cinfo.sharedCopyEngineCount, cinfo.sharedEncoderCount, cinfo.sharedDecoderCount,
                cinfo.sharedOfaCount, cinfo.sharedJpegCount)
            assert row == want
            assert attrs.multiprocessorCount == cinfo.multiprocessorCount
        # the same as data, from the API
        from pynvml.smi import nvidia_smi
        data = nvidia_smi.getInstance().MigDevices()
        assert [(d["gpu_instance_id"], d["compute_instance_id"], d["mig_device"], d["sm"]) for d in data] == \
            [(pynvml.nvmlGpuInstanceGetInfo(gi).id, pynvml.nvmlComputeInstanceGetInfo(ci).id, n,
              cinfo.multiprocessorCount) for n, (gi, ci, _, cinfo) in enumerate(made)]
        assert nvidia_smi.getInstance().Summary()["mig_devices"] == data
        # the GPU's own lines in MIG mode: ECC mode, N/A memory and utilization
        gpu = lines.index("|=========================================+========================+======================|")
        assert lines[gpu + 1].endswith("|                   On |")
        assert lines[gpu + 2][42:].startswith("|                  N/A   |     N/A ")
        # -L lists the MIG devices under their GPU, with the profile and UUID NVML gives
        rc, out = _run(capsys, "-L")
        listed = out.splitlines()
        assert len(listed) == 3 and listed[0].startswith("GPU 0: NVIDIA H100")
        for n, line in enumerate(listed[1:]):
            m = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(h, n)
            profile = pynvml.nvmlDeviceGetName(m).rsplit(" MIG ", 1)[1]
            assert line == "  MIG %-12sDevice %2d: (UUID: %s)" % (profile, n, pynvml.nvmlDeviceGetUUID(m))
        assert listed[1].startswith("  MIG 3g.40gb     Device  0: (UUID: MIG-")
    finally:
        for gi, ci, _, _ in reversed(made):
            pynvml.nvmlComputeInstanceDestroy(ci)
            pynvml.nvmlGpuInstanceDestroy(gi)


@pytest.fixture
def hgx(use_profile):
    use_profile((ROOT / "sim" / "profiles" / "hgx-h100-8.json").read_text())
    pynvml.nvmlInit()
    yield
    pynvml.nvmlShutdown()


def test_topology_through_nvswitches_as_published(hgx, capsys):
    # An HGX H100's GPUs reach each other through NVSwitches (each link's remote is a
    # switch, not the other GPU): nvidia-smi counts NV18 for every pair all the same.
    want = (PUBLIC / "topo-m-hgx-h100-8.txt").read_text().splitlines()
    rc, out = _run(capsys, "topo", "-m")
    ours = out.replace("\x1b[4m", "").replace("\x1b[0m", "").splitlines()
    assert rc == 0 and len(ours) == len(want)
    assert ours[0] == want[0]
    for mine, theirs in zip(ours[1:9], want[1:9]):
        m, t = mine.split("\t"), theirs.split("\t")
        assert len(m) == len(t)
        assert m[:9] == t[:9]                     # the GPU's name and its links to the 8 GPUs
        assert m[10:] == t[10:]                   # NUMA affinity column's neighbours, GPU NUMA ID
    assert ours[9:] == want[9:]                   # the legend


def test_nvlink_status_layout_as_published():
    lines = (PUBLIC / "nvlink-s-hgx-h100.txt").read_text()
    status = [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-00000000-0000-0000-0000-000000000000",
               "links": [{"link": n, "active": True, "speed_mbps": 26562} for n in (0, 1, 17)]}]
    assert v.render_nvlink_status(status) == lines


def test_nvlink_status_on_the_simulated_hgx(hgx, capsys):
    rc, out = _run(capsys, "nvlink", "-s")
    lines = out.splitlines()
    gpus = [n for n, line in enumerate(lines) if line.startswith("GPU ")]
    assert rc == 0 and len(gpus) == 8
    for n in gpus:
        links = lines[n + 1:n + 19]
        assert [line.split(":")[0] for line in links] == ["\t Link %d" % k for k in range(18)]
