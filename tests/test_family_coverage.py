"""tools/api_coverage.py: our names against nvidia-ml-py 13.610.43's, with a floor that
only goes up (raise FLOOR when functions are added)."""
import subprocess
import sys

import pytest

from conftest import REFERENCE, ROOT

FLOOR = 90.0      # percent of nvidia-ml-py's 424 functions (384 bound when this was set)


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "api_coverage.py"),
                           "--reference", str(REFERENCE), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _needs_reference():
    if not (REFERENCE / "nvidia-ml-py-api.json").exists():
        pytest.skip("../shared/reference/nvidia-ml-py-api.json is not here")


def test_function_coverage_is_above_the_floor():
    r = _run("--min", str(FLOOR))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines()}
    assert set(lines) == {"functions", "classes", "constants", "errors", "all"}
    have, total = int(lines["functions"][1]), int(lines["functions"][3])
    assert total == 424 and 100.0 * have / total >= FLOOR
    assert lines["errors"][1] == lines["errors"][3] == "31"


def test_below_the_minimum_fails_and_lists_what_is_missing():
    r = _run("--min", "100", "--missing")
    assert r.returncode == 1 and "below --min" in r.stderr
    assert "missing:" in r.stdout and "nvmlDeviceGetName" not in r.stdout.split("missing:")[1].split("\n")[0]


def test_missing_reference_is_exit_2(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "api_coverage.py"), "--reference",
                        str(tmp_path / "none.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
