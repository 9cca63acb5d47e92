"""tests/data/reference, the suite's copy of the reference facts (tools/import_reference.py):
that it names no real identifier, and that the tool scrubs one wherever it appears."""
import json
import shutil
import subprocess
import sys

from conftest import REFERENCE, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import import_reference  # noqa: E402

REAL_UUID = "GPU-3f2a9c41-77e0-4b1d-9a55-0c1e2d3f4a5b"
REAL_SERIAL = "1654321098765"


def test_the_copy_names_no_identifier_that_is_not_fake():
    texts = {p.relative_to(REFERENCE).as_posix(): p.read_text() for p in REFERENCE.rglob("*") if p.is_file()}
    assert {"nvml-abi.json", "nvidia-ml-py-api.json", "h100/nvidia-ml-py.json", "h200/q.txt"} <= set(texts)
    assert import_reference.identifiers(texts) == set()


def test_an_identifier_is_scrubbed_in_every_file(tmp_path):
    # a source like the team's, with a real-looking UUID and serial where the captures hold them
    src, dest = tmp_path / "src", tmp_path / "dest"
    shutil.copytree(REFERENCE, src)
    xml = src / "h200" / "q-x.txt"
    xml.write_text(xml.read_text().replace("<serial>0000000000000</serial>", f"<serial>{REAL_SERIAL}</serial>")
                   .replace("GPU-00000000-0000-0000-0000-000000000000", REAL_UUID))
    (src / "h200" / "q.txt").write_text((src / "h200" / "q.txt").read_text() + f"Serial: {REAL_SERIAL}\n")
    rec = json.loads((src / "h100" / "nvidia-ml-py.json").read_text())
    rec["calls"]["nvmlDeviceGetSerial(h)"]["value"] = "1659999999999"
    (src / "h100" / "nvidia-ml-py.json").write_text(json.dumps(rec))
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "import_reference.py"), str(src), "--dest", str(dest)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "3 identifiers scrubbed" in r.stdout, r.stdout + r.stderr
    out = "".join(p.read_text() for p in dest.rglob("*") if p.is_file())
    assert REAL_UUID not in out and REAL_SERIAL not in out and "1659999999999" not in out
    assert (dest / "h200" / "q-x.txt").read_text() == (REFERENCE / "h200" / "q-x.txt").read_text()
    assert (dest / "h200" / "q.txt").read_text().endswith("Serial: 0000000000000\n")
    # everything else as the source has it; the check mode sees a stale copy
    assert (dest / "nvml-abi.json").read_text() == (REFERENCE / "nvml-abi.json").read_text()
    (dest / "h200" / "L.txt").write_text("edited\n")
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "import_reference.py"), str(src), "--dest", str(dest),
                        "--check"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "L.txt differs" in r.stderr


def test_no_source_is_one_line_and_exit_2(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "import_reference.py"), str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a folder" in r.stderr
