#!/usr/bin/env bash
# One sdist or wheel, installed in a fresh venv as a user would, then checked by
# tools/check_dist.py (smoke test, README examples, bundled cJSON, hide copies) where the
# system's cJSON cannot be loaded: in a mount namespace of its own (unshare -m, which
# needs root), /dev/null is mounted over the system's libcjson file, so a library that
# still needed it would fail to load.  Where that cannot be done it says so and checks
# without the mask (ldd then still shows what the simulator loads).
#
#   tools/check_dist.sh ARTIFACT PYTHON
set -euo pipefail
artifact=$1 py=$2
name=$(basename "$artifact"); venv=build-dist/venv-${name%.tar.gz}; venv=${venv%.whl}
rm -rf "$venv"
start=$(date +%s)
"$py" -m venv "$venv"
# an sdist builds here, against the system's cJSON (a build needs its headers); the
# result bundles the library it linked, as a wheel does
"$venv/bin/python" -m pip install -q --no-deps "$artifact" 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -c "import pynvml" || { echo "check-dist: $name did not install"; exit 1; }
built=$(( $(date +%s) - start ))
cjson=$(ldconfig -p | awk '/libcjson\.so\.1 /{print $NF; exit}')
run="$venv/bin/python tools/check_dist.py --readme README.md"
if [ -n "$cjson" ] && unshare -m true 2>/dev/null; then
  lib=$(readlink -f "$cjson")
  echo "== $name ($("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'), installed in ${built} s; the system's $lib masked)"
  unshare -m bash -c "mount --bind /dev/null '$lib' && \
    ! '$venv/bin/python' -c 'import ctypes; ctypes.CDLL(\"$lib\")' 2>/dev/null && $run"
else
  echo "== $name (installed in ${built} s; system cJSON ${cjson:-absent}: not masked, unshare -m needs root)"
  $run
fi
