#!/usr/bin/env bash
# Everything the project runs on the GPU machine (the `device` tool), in one call:
#
#   bash tools/gpu_session.sh [STEP ...]   (carry .carry: cJSON for the simulator build;
#                                           the reference data is the repo's tests/data)
#
# STEPs (all of them when none is named; each call has 10 minutes, so split a long run,
# REUSE=1 in the later calls):
#   real sim compare abi smi smibench smiviews rss sweep bench compare615 polls clients capture exporter
#
# polls (bench/polls.py) also times gpustat and nvitop where .carry/clients holds them
# (pure Python: cp -r .ref/clients .carry/clients, then
#  pip install --no-deps --target .carry/clients blessed wcwidth); without them it says
# "skipped" for those two cases and times the rest.
#
# clients needs wheels in .whl/ (git-ignored; that machine has no network), made here with
#   pip download -d .whl --only-binary=:all: --python-version 3.12 --no-deps nvitop==1.7.2 \
#     nvitop-exporter==1.7.2 prometheus-client blessed wcwidth psutil
#
# It builds pynvml for that machine's Python, runs the test suite on the real GPU
# (PYNVML_TEST_REAL=1: read-only tests only) and on the simulator, compares ours with
# nvidia-ml-py getter by getter, runs the benchmarks, and saves nvidia-smi's view.
# Nothing here changes the GPU's state.  Results go to $OUT (the device tool brings
# them back).
set -u
PY=${PY:-/opt/torch/.venv/bin/python3}
OUT=${OUT:-/tmp/gpu-session}
mkdir -p "$OUT"
STEPS=" ${*:-real sim compare abi smi smibench smiviews rss sweep bench compare615 polls clients capture exporter} "
want() { [[ "$STEPS" == *" $1 "* ]]; }
export PYNVML_CJSON="$PWD/.carry/cjson" PYTHONUNBUFFERED=1
REFERENCE=$($PY -c 'import importlib.util as u; print(u.find_spec("pynvml").origin)')
export PYNVML_REFERENCE="$REFERENCE"
echo "reference nvidia-ml-py: $REFERENCE"
# nvidia-ml-py 13.615.71 too, where its wheel was carried (.whl/): the tests that compare the
# classes 13.615 changed take it from PYNVML_REFERENCE_NEW (they skip without it)
WHL615=$(ls .whl/nvidia_ml_py-13.615.71-*.whl 2>/dev/null | head -1)
if [ -n "$WHL615" ]; then
  rm -rf /tmp/ref615 && $PY -m zipfile -e "$WHL615" /tmp/ref615 && export PYNVML_REFERENCE_NEW=/tmp/ref615/pynvml.py
fi

# REUSE=1: keep the /tmp/ours an earlier call on this (still warm) machine built
if [ -z "${REUSE:-}" ] || [ ! -d /tmp/ours/pynvml ]; then
rm -rf /tmp/ours build
$PY -m pip install -q --no-build-isolation --no-deps --target /tmp/ours . >"$OUT/build.txt" 2>&1 \
  || { cat "$OUT/build.txt"; exit 1; }
fi
# .pyc files, as a user's pip install writes them: the import benchmark must not time
# compiling our .py files from source (this machine's Python writes no bytecode itself)
$PY -m compileall -q /tmp/ours/pynvml >/dev/null
export PYTHONPATH=/tmp/ours
$PY -c 'import pynvml; print("ours:", pynvml.__file__)'

nvidia-smi -q -x >"$OUT/nvidia-smi-q.xml" 2>&1
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1

if want real; then
  echo "== tests on the real GPU"
  PYNVML_TEST_REAL=1 timeout 300 $PY -m pytest -q -p no:cacheprovider tests 2>&1 | tee "$OUT/pytest-real.txt" | tail -25
fi
if want sim; then
  echo "== tests on the simulator"
  timeout 300 $PY -m pytest -q -p no:cacheprovider -x tests 2>&1 | tee "$OUT/pytest-sim.txt" | tail -5
fi
if want compare; then
  if [ -f tools/compare_with_nvidia_ml_py.py ]; then
    echo "== ours vs nvidia-ml-py on the real GPU"
    timeout 200 $PY tools/compare_with_nvidia_ml_py.py --reference "$REFERENCE" --json "$OUT/compare.json" \
      2>&1 | tee "$OUT/compare.txt" | tail -40
  fi
fi
if want compare615; then
  # nvidia-ml-py 13.615.71 as the reference (its wheel carried in .whl/: pure Python;
  # pip download --no-deps nvidia-ml-py==13.615.71 -d .whl), read-only getters only.  Then
  # the 13.615 functions driver 580 lacks: each must raise NVMLError_FunctionNotFound in ours
  # as in 13.615.71 (called with a new struct of its class: nothing reaches the GPU).
  WHL=$(ls .whl/nvidia_ml_py-13.615.71-*.whl 2>/dev/null | head -1)
  if [ -n "$WHL" ]; then
    rm -rf /tmp/ref615 && $PY -m zipfile -e "$WHL" /tmp/ref615
    echo "== ours vs nvidia-ml-py 13.615.71 on the real GPU"
    timeout 200 $PY tools/compare_with_nvidia_ml_py.py --reference /tmp/ref615/pynvml.py \
      --json "$OUT/compare615.json" 2>&1 | tee "$OUT/compare615.txt" | tail -25
    echo "== the 13.615 functions driver 580 lacks: NVMLError_FunctionNotFound in both"
    timeout 120 $PY tools/check_function_not_found.py --reference /tmp/ref615/pynvml.py 2>&1 \
      | tee "$OUT/function-not-found.txt" | tail -25
  else
    echo "compare615: no .whl/nvidia_ml_py-13.615.71-*.whl (pip download --no-deps nvidia-ml-py==13.615.71 -d .whl)"
  fi
fi
if want abi; then
  echo "== ABI: our declarations against the real nvml.h"
  $PY tools/abi_check.py --nvml-h /usr/local/cuda-13.0/targets/x86_64-linux/include/nvml.h 2>&1 | tee "$OUT/abi.txt" | tail -5
fi
if want smi; then
  # --query-gpu and -q -x value by value, then every view of tests/data/reference/h200 line by
  # line (each capture's nvidia-smi arguments, all read-only, given to both tools)
  echo "== nvidia-smi's queries and views: ours against nvidia-smi"
  timeout 300 $PY tools/compare_smi.py --json "$OUT/compare-smi.json" 2>&1 | tee "$OUT/compare-smi.txt" | tail -90
fi
if want smibench; then
  echo "== smi benchmark: full query against its NVML calls; pynvml-smi against nvidia-smi"
  timeout 120 $PY bench/smi_bench.py 2>&1 | tee "$OUT/smi-bench.txt"
fi
if want smiviews; then
  echo "== pynvml-smi's views as processes against nvidia-smi; dmon -d 1's CPU use"
  # ours run by this venv (its .pth files cost ~55 ms a process) and by /usr/bin/python3 (a plain
  # interpreter, PYTHONPATH=/tmp/ours); the output ends with a markdown table for BENCHMARKS.md
  timeout 300 $PY bench/smi_views_bench.py --repeat 11 --json "$OUT/smi-views-bench.json" 2>&1 | tee "$OUT/smi-views-bench.txt"
fi
if want rss; then
  echo "== RSS over many calls of each kind of wrapper"
  timeout 120 $PY tools/rss_check.py --calls 200000 2>&1 | tee "$OUT/rss.txt"
fi
if want sweep; then
  echo "== wrong arguments, read-only functions: ours, then nvidia-ml-py"
  timeout 300 $PY tools/crash_sweep.py --read-only --json "$OUT/sweep-ours.json" 2>&1 | tail -12
  timeout 400 $PY tools/crash_sweep.py --read-only --module "$REFERENCE" --json "$OUT/sweep-ref.json" 2>&1 | tail -8
fi
if want capture; then
  # read-only: the capture calls getters only (src/pynvml/_sim/capture.py: the spec's
  # getters, field values, samples, process names, MIG profiles and instances as they
  # are, MIG devices' getters; no instance is made); then the simulator replays the
  # capture and every getter is compared with it
  echo "== capture of this GPU as a simulator profile, and its replay"
  timeout 300 $PY -m pynvml._sim capture --anonymize -o "$OUT/h200.json" 2>&1 | tee "$OUT/capture.txt"
  timeout 300 $PY -m pynvml._sim check "$OUT/h200.json" 2>&1 | tee -a "$OUT/capture.txt" | tail -12
  timeout 300 $PY -m pynvml._sim replay-check "$OUT/h200.json" 2>&1 | tee -a "$OUT/capture.txt" | tail -55
fi
if want bench; then
  if [ -f bench/run.py ]; then
    echo "== benchmarks"
    # nvidia-ml-py's site-packages holds no .pyc either: time its import from a compiled
    # copy, as a pip install would leave it (the site-packages stay untouched)
    rm -rf /tmp/ref && mkdir -p /tmp/ref && cp "$REFERENCE" /tmp/ref/pynvml.py
    cp -r "$(dirname "$REFERENCE")"/nvidia_ml_py-*.dist-info /tmp/ref/ 2>/dev/null   # its version, for the header
    $PY -m compileall -q /tmp/ref >/dev/null
    timeout 300 $PY bench/run.py --reference /tmp/ref/pynvml.py --json "$OUT/bench.json" --markdown \
      2>&1 | tee "$OUT/bench.md" | tail -40
  fi
fi
if want polls; then
  echo "== polls: init-query-shutdown, gpustat, nvitop, PCIe both ways, DeviceQuery(); ours vs nvidia-ml-py"
  # read-only: getters, gpustat's and nvitop's queries, nvidia_smi.DeviceQuery()
  CLIENTS="$PWD/.carry/clients"
  timeout 400 $PY bench/polls.py --reference "$REFERENCE" --clients "$CLIENTS" --json "$OUT/polls.json" \
    2>&1 | tee "$OUT/polls.md" | tail -20
  echo "== polls on the simulator, delay_ms faults standing in for NVML's cost"
  PYNVML_LIBRARY=sim timeout 150 $PY bench/polls.py --sim-delays --repeat 10 --reference "$REFERENCE" \
    --clients "$CLIENTS" 2>&1 | tee "$OUT/polls-sim.md" | tail -14
fi
if want clients; then
  if ls .whl/nvitop_exporter-*.whl >/dev/null 2>&1; then
    echo "== nvitop's Device getters and nvitop-exporter's metrics: ours, then nvidia-ml-py (read-only)"
    rm -rf /tmp/clients
    $PY -m pip install -q --no-index --no-deps --find-links .whl --target /tmp/clients nvitop==1.7.2 \
      nvitop-exporter==1.7.2 prometheus-client blessed wcwidth psutil >"$OUT/clients-install.txt" 2>&1
    timeout 300 $PY tools/client_check.py --reference "$(dirname "$REFERENCE")" --clients /tmp/clients \
      --json "$OUT/clients.json" 2>&1 | tee "$OUT/clients.txt" | tail -30
  else
    echo "== clients: no .whl/nvitop_exporter-*.whl (see the top of this file)"
  fi
fi
if want exporter; then
  # read-only: one scrape of pynvml-exporter (getters, field values, an XID event set)
  # beside nvidia-smi --query-gpu; then its CPU per scrape against nvitop-exporter's, where
  # the clients step installed nvitop-exporter into /tmp/clients
  echo "== pynvml-exporter: one scrape against nvidia-smi"
  timeout 120 $PY tools/exporter_gpu_check.py --json "$OUT/exporter.json" 2>&1 | tee "$OUT/exporter.txt" | tail -30
  if [ -d /tmp/clients/nvitop_exporter ]; then
    echo "== pynvml-exporter vs nvitop-exporter: CPU per scrape"
    timeout 200 $PY bench/exporter_bench.py --real --clients /tmp/clients --reference "$(dirname "$REFERENCE")" \
      --json "$OUT/exporter-bench.json" 2>&1 | tee "$OUT/exporter-bench.txt"
  fi
fi
