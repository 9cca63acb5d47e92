"""tools/api_coverage.py: our names against nvidia-ml-py 13.610.43's, with a floor that
only goes up (raise FLOOR when functions are added)."""
import json
import subprocess
import sys

import pytest

from conftest import REFERENCE, ROOT

FLOOR = 100.0     # percent of nvidia-ml-py's 424 functions: all of them


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "api_coverage.py"),
                           "--reference", str(REFERENCE), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _needs_reference():
    assert (REFERENCE / "nvidia-ml-py-api.json").exists(), "tests/data/reference: python tools/import_reference.py"


def test_function_coverage_is_above_the_floor():
    r = _run("--min", str(FLOOR))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines()}
    assert set(lines) == {"functions", "classes", "constants", "errors", "all"}
    have, total = int(lines["functions"][1]), int(lines["functions"][3])
    assert total == 424 and 100.0 * have / total >= FLOOR
    assert lines["errors"][1] == lines["errors"][3] == "31"


def test_below_the_minimum_fails_and_lists_what_is_missing(tmp_path):
    # the reference list plus a function nobody has: 100% is then out of reach
    api = json.loads((REFERENCE / "nvidia-ml-py-api.json").read_text())
    funcs = api["functions"]
    if isinstance(funcs, list):
        funcs.append("nvmlDeviceGetNoSuchThing")
    else:
        funcs["nvmlDeviceGetNoSuchThing"] = funcs[next(iter(funcs))]
    ref = tmp_path / "nvidia-ml-py-api.json"
    ref.write_text(json.dumps(api))
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "api_coverage.py"), "--reference", str(ref),
                        "--min", "100", "--missing"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "below --min" in r.stderr
    missing = r.stdout.split("missing:")[1].split("\n")[0]
    assert missing.split(", ") == [" nvmlDeviceGetNoSuchThing"] or missing.strip() == "nvmlDeviceGetNoSuchThing"


def test_missing_reference_is_exit_2(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "api_coverage.py"), "--reference",
                        str(tmp_path / "none.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
