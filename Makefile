# The project's commands.  A newcomer needs two:  make run   and   make test
#
#   make run        build, then show each GPU (the simulated ones where no GPU is)
#   make test       build, then run the whole test suite (what .ci/run does)
#   make sanitize   the test suite on an ASan + UBSan build (CI runs it too)
#   make generate   regenerate the C, simulator and stubs from spec/
#   make bench      time our calls against raw NVML and nvidia-ml-py (bench/README.md)
#
# Everything lands in .venv (Python packages) and .ref (nvidia-ml-py and the client
# tools the tests compare against, kept apart so their top-level pynvml.py can't
# shadow ours).  System packages: cJSON's headers (libcjson-dev), installed if missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REF := .ref
REF_VERSION := 13.610.43

.PHONY: run test sanitize generate bench sysdeps venv build ref clean

run: build
	$(PY) -m pynvml

test: build ref
	$(PY) -m pytest -q $(PYTEST_ARGS)

sysdeps:
	@if [ ! -f /usr/include/cjson/cJSON.h ]; then \
	  echo "installing libcjson-dev (the simulator's JSON parser)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libcjson-dev >/dev/null; \
	fi

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "pytest>=7" "hypothesis>=6"
	touch $@

venv: $(VENV)/.created

build: sysdeps venv
	$(PY) -m pip install -q --no-deps --force-reinstall .

# nvidia-ml-py, and gpustat and nvitop without it (their own needs go into .venv)
ref: venv
	@if [ ! -f $(REF)/nvidia-ml-py/pynvml.py ]; then \
	  $(PY) -m pip install -q --no-deps --target $(REF)/nvidia-ml-py nvidia-ml-py==$(REF_VERSION); fi
	@if [ ! -d $(REF)/clients/nvitop ]; then \
	  $(PY) -m pip install -q --no-deps --target $(REF)/clients gpustat==1.1.1 nvitop==1.7.2 && \
	  $(PY) -m pip install -q "psutil>=5.6.6" "blessed>=1.17.1"; fi

# The suite against an AddressSanitizer + UndefinedBehaviorSanitizer build of the
# extension and the simulator (in .venv-san; leaks are not checked: CPython itself
# keeps memory until exit).  CI runs it after the plain suite.
SAN_VENV := .venv-san
sanitize: sysdeps ref
	test -x $(SAN_VENV)/bin/python || $(PYTHON) -m venv $(SAN_VENV)
	$(SAN_VENV)/bin/python -m pip install -q "pytest>=7" "hypothesis>=6" "psutil>=5.6.6" "blessed>=1.17.1"
	PYNVML_SANITIZE=1 PYNVML_BUILD_DIR=build-san $(SAN_VENV)/bin/python -m pip install -q --no-deps --force-reinstall .
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(SAN_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

generate:
	$(PYTHON) codegen/generate.py

bench: build ref
	$(PY) bench/run.py

clean:
	rm -rf build build-san $(VENV) $(SAN_VENV) $(REF) src/pynvml/*.so src/pynvml/_sim/*.so*
