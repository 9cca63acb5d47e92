"""The command line of pynvml.smi (python -m pynvml.smi, pynvml-smi), in nvidia-smi's terms."""
import importlib.metadata
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

import pynvml
from pynvml.smi import main

pytestmark = pytest.mark.simulator


@pytest.fixture(autouse=True)
def clean_nvml():
    yield
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()


def run(capsys, *args):
    rc = main(list(args))
    return rc, capsys.readouterr().out


def test_query_gpu_csv(capsys):
    rc, out = run(capsys, "--query-gpu=name,memory.total,pstate", "--format=csv")
    assert rc == 0
    assert out == ("name, memory.total [MiB], pstate\n"
                   "NVIDIA H100 80GB HBM3, 81559 MiB, P0\n"
                   "NVIDIA H100 80GB HBM3, 81559 MiB, P0\n")


def test_format_modifiers(capsys):
    assert run(capsys, "--query-gpu=memory.total", "--format=csv,noheader,nounits") == (0, "81559\n81559\n")
    # nounits keeps the unit in the header, as nvidia-smi does
    assert run(capsys, "--query-gpu", "memory.total", "--format", "csv,nounits") == (
        0, "memory.total [MiB]\n81559\n81559\n")
    assert run(capsys, "--query-gpu=index")[1] == "index\n0\n1\n"        # csv by default
    assert run(capsys, "--query-gpu=name", "--format=xml") == (2, "Format modifier is not recognized.\n")


def test_unknown_field(capsys):
    assert run(capsys, "--query-gpu=name,foo", "--format=csv") == (
        2, 'Field "foo" is not a valid field to query.\n\n')
    assert run(capsys, "--query-gpu=name, memory.total", "--format=csv")[0] == 2


def test_id_selects_gpus(capsys):
    assert run(capsys, "--query-gpu=index,pci.bus_id", "--format=csv,noheader", "-i", "1") == (
        0, "1, 00000000:00:07.0\n")
    uuid = pynvml.nvmlInit() or pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(1))
    pynvml.nvmlShutdown()
    assert run(capsys, "--query-gpu=index", "--format=csv,noheader", "--id=%s" % uuid) == (0, "1\n")
    assert run(capsys, "--query-gpu=index", "--format=csv,noheader", "-i", "00000000:00:07.0,0") == (0, "1\n0\n")
    assert run(capsys, "--query-gpu=index", "--format=csv", "-i", "7") == (6, "No devices were found\n")


def test_list_gpus(capsys):
    rc, out = run(capsys, "-L")
    assert rc == 0
    assert out.splitlines() == [
        "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-1111-2222-3333-444444444444)",
        "GPU 1: NVIDIA H100 80GB HBM3 (UUID: %s)" % out.splitlines()[1].split("UUID: ")[1].rstrip(")"),
    ]


def test_q_x_and_q(capsys):
    rc, out = run(capsys, "-q", "-x", "-i", "0")
    assert rc == 0
    root = ET.fromstring(out.split("\n", 2)[2])
    assert [g.get("id") for g in root.findall("gpu")] == ["00000000:00:06.0"]
    rc, out = run(capsys, "-q")
    assert rc == 0
    assert "==============NVSMI LOG==============" in out
    lines = out.splitlines()
    assert "    Product Name                                       : NVIDIA H100 80GB HBM3" in lines
    assert "        Total                                          : 81559 MiB" in lines
    assert "        Bus                                            : 0x00" in lines
    assert sum(line.startswith("GPU 0000") for line in lines) == 2


def test_help(capsys):
    rc, out = run(capsys, "--help-query-gpu")
    assert rc == 0 and '"memory.total"' in out and '"name" or "gpu_name"' in out
    rc, out = run(capsys, "-h")
    assert rc == 0 and "--query-gpu" in out
    assert run(capsys, "--bogus")[0] == 255       # nvidia-smi's status for an option it does not take


def test_loop_ms_prints_the_header_once(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pynvml.smi", "--query-gpu=index,memory.free",
                             "--format=csv", "-lms", "20"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(7)]
    finally:
        proc.kill()
        proc.wait(10)
    assert lines[0] == "index, memory.free [MiB]\n"
    assert lines[1:] == ["0, 81079 MiB\n", "1, 64695 MiB\n"] * 3


def test_bad_loop_interval(capsys):
    assert run(capsys, "--query-gpu=index", "-l", "0")[0] == 2
    assert run(capsys, "--query-gpu=index", "-lms", "x")[0] == 2


def test_python_dash_m_and_console_script():
    out = subprocess.run([sys.executable, "-m", "pynvml.smi", "--query-gpu=count", "--format=csv,noheader"],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout) == (0, "2\n2\n")
    eps = importlib.metadata.entry_points()
    eps = eps.select(group="console_scripts") if hasattr(eps, "select") else eps.get("console_scripts", [])  # 3.9
    scripts = {ep.name: ep.value for ep in eps}
    assert scripts.get("pynvml-smi") == "pynvml.smi:_console"
    exe = os.path.join(os.path.dirname(sys.executable), "pynvml-smi")
    if os.path.exists(exe):
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.startswith("GPU 0: NVIDIA H100")


def _console(*args, **kw):
    """pynvml-smi as a process, through the console script's entry (main, then os._exit)."""
    return subprocess.run([sys.executable, "-c", "from pynvml.smi import _console; _console()", *args],
                          capture_output=True, text=True, timeout=60, **kw)


def test_console_exit_keeps_output_and_codes(tmp_path, capsys):
    # the process ends with os._exit: everything written must still arrive, codes unchanged
    def untimed(text):  # -q prints the time of the query: two runs may fall in different seconds
        return [line for line in text.splitlines() if not line.startswith("Timestamp")]

    q = _console("-q")
    assert q.returncode == 0 and q.stderr == ""
    code, text = run(capsys, "-q")
    assert (code, untimed(text)) == (0, untimed(q.stdout))
    assert len(untimed(q.stdout)) == len(q.stdout.splitlines()) - 1
    assert len(q.stdout.splitlines()) > 300
    out = tmp_path / "q.txt"
    f = _console("-q", "-f", str(out))
    assert (f.returncode, f.stdout) == (0, "")
    assert untimed(out.read_text()) == untimed(q.stdout)
    bad = _console("--bogus")
    assert (bad.returncode, bad.stdout) == (255, "ERROR: Option --bogus is not recognized. Please run 'pynvml-smi -h'.\n\n")
    none = _console("-i", "7")
    assert (none.returncode, none.stdout) == (6, "No devices were found\n")
    missing = _console("-L", env=dict(os.environ, PYNVML_LIBRARY="/nonexistent/libnvidia-ml.so.1"))
    assert missing.returncode == 9 and "PYNVML_LIBRARY=sim" in missing.stdout and missing.stderr == ""


def test_console_exit_into_a_closed_pipe():
    # `pynvml-smi -q -lms 10 | head -1`: the reader goes away; no traceback, no "Exception ignored"
    proc = subprocess.Popen([sys.executable, "-c", "from pynvml.smi import _console; _console()", "-q", "-lms", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(60) == 0 and err == b""


def test_in_process_main_still_shuts_nvml_down(capsys):
    # only the process entry leaves nvmlShutdown to the process's end; main() called from
    # Python balances its nvmlInit (the caller's own init count is left as it was)
    from pynvml import _nvml
    before = _nvml._refcount()
    assert run(capsys, "-L")[0] == 0
    assert _nvml._refcount() == before


# every view the parser accepts (each command line below must parse), and the words --help
# must show for it
_VIEWS = [([], "(no option)"), (["-L"], "-L, --list-gpus"), (["-q"], "-q, --query"), (["-q", "-x"], "-x, --xml-format"),
          (["-q", "-d", "MEMORY"], "-d, --display"), (["-i", "0"], "-i, --id"), (["-f", "x"], "-f, --filename"),
          (["--query-gpu=name"], "--query-gpu=FIELDS"), (["--query-compute-apps=pid"], "--query-compute-apps="),
          (["--query-accounted-apps=pid"], "--query-accounted-apps="),
          (["--query-retired-pages=timestamp"], "--query-retired-pages="),
          (["--query-remapped-rows=gpu_uuid"], "--query-remapped-rows="),
          (["--query-supported-clocks=memory"], "--query-supported-clocks="),
          (["--help-query-gpu"], "--help-query-gpu"), (["--help-query-compute-apps"], "--help-query-compute-apps"),
          (["--format=csv"], "--format=csv[,noheader][,nounits]"), (["-l", "1"], "-l, --loop"),
          (["-lms", "100"], "-lms, --loop-ms"), (["--version"], "--version"), (["--sim"], "--sim"),
          (["dmon", "-s", "pucvmet", "-d", "1", "-c", "1", "-o", "DT"], "dmon [-i ID] [-s pucvmet] [-d SEC] [-c COUNT] [-o DT]"),
          (["pmon", "-d", "1", "-c", "1"], "pmon [-i ID] [-d SEC] [-c COUNT]"), (["topo", "-m"], "topo -m"),
          (["nvlink", "-s"], "nvlink -s | -c"), (["nvlink", "-c"], "nvlink -s | -c"),
          (["mig", "-lgip"], "mig -lgip | -lgi | -lci"), (["mig", "-lgi"], "mig -lgip | -lgi | -lci"),
          (["mig", "-lci"], "mig -lgip | -lgi | -lci")]


@pytest.mark.parametrize("args, shown", _VIEWS, ids=[" ".join(a) or "summary" for a, _ in _VIEWS])
def test_help_lists_every_view(capsys, args, shown):
    from pynvml import smi
    smi._parse(args)                        # a view the command line takes...
    rc, out = run(capsys, "--help")
    assert rc == 0 and shown in out         # ...is in --help
