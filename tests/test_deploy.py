"""deploy/: the systemd unit and the Kubernetes DaemonSet of pynvml-exporter are valid.

The unit is checked by systemd's own `systemd-analyze verify` (Debian's systemd), with its
ExecStart pointed at this venv's pynvml-exporter (the unit's /opt path is where the README
installs it, not here); the DaemonSet against the Kubernetes API's schema by
kubernetes-validate (PyPI, its schemas bundled; make ref installs it), strictly (no field
the API does not have).  Each check is shown to fail on a broken copy, and the exporter's
own command line in each file is parsed by the exporter's parser.
"""
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

UNIT = ROOT / "deploy" / "pynvml-exporter.service"
DAEMONSET = ROOT / "deploy" / "pynvml-exporter-daemonset.yaml"
K8S_VERSION = "1.31.0"


def verify_unit(text, tmp_path):
    exe = Path(sys.executable).parent / "pynvml-exporter"
    if not exe.exists():
        pytest.skip("no pynvml-exporter script beside this Python (make build installs it)")
    unit = tmp_path / "pynvml-exporter.service"
    unit.write_text(re.sub(r"^ExecStart=\S+", "ExecStart=%s" % exe, text, flags=re.M))
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze (Debian's systemd)")
def test_systemd_unit_verifies(tmp_path):
    r = verify_unit(UNIT.read_text(), tmp_path)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr
    # the check can fail: a value systemd does not know (it says so on stderr)
    broken = UNIT.read_text().replace("Restart=always", "Restart=sometimes")
    r = verify_unit(broken, tmp_path)
    assert "restart specifier" in r.stderr and "sometimes" in r.stderr, r.stderr


def test_systemd_unit_command_line_parses():
    from pynvml import exporter
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    args = shlex.split(line.split("=", 1)[1])[1:]
    opts = exporter._parser().parse_args(args)
    assert opts.port == 9400


def test_daemonset_against_the_kubernetes_schema(tmp_path):
    pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (make ref installs it)")
    cli = [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", K8S_VERSION]
    r = subprocess.run(cli + [str(DAEMONSET)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "passed for resource daemonset/pynvml-exporter" in r.stdout, r.stdout + r.stderr
    # the check can fail: a field the API does not have, and a port that is not a number
    text = DAEMONSET.read_text()
    for old, new in [("readinessProbe:", "readynessProbe:"), ("containerPort: 9400", "containerPort: nine")]:
        assert old in text
        bad = tmp_path / "bad.yaml"
        bad.write_text(text.replace(old, new))
        r = subprocess.run(cli + [str(bad)], capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "passed" not in r.stdout, (new, r.stdout)


def test_daemonset_command_line_parses():
    yaml = pytest.importorskip("yaml", reason="PyYAML (kubernetes-validate brings it; make ref)")
    from pynvml import exporter
    doc = yaml.safe_load(DAEMONSET.read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    script = container["command"][-1]
    args = shlex.split(script.split("exec ", 1)[1])[1:]
    opts = exporter._parser().parse_args(args)
    assert opts.port == container["ports"][0]["containerPort"] == 9400
