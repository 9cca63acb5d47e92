"""Build of pynvml's two C parts (pyproject.toml holds the metadata):

* pynvml._nvml                  the extension module (ext/), NVML loaded at run time
* pynvml/_sim/libnvidia-ml.so.1 the simulated NVML (sim/), which reads JSON with cJSON
                                (Debian: libcjson-dev, or PYNVML_CJSON=<prefix>); without
                                cJSON the build stops and says so, unless PYNVML_NO_SIM=1

Environment:
  PYNVML_WERROR=1    every warning is an error (CI builds so, with gcc and with clang: CC=clang)
  PYNVML_DEBUG=1     keep the debug information (the binaries are stripped otherwise)
  PYNVML_SANITIZE=1  ASan + UBSan build (make sanitize)
  PYNVML_FUZZ=1      ASan + UBSan + libFuzzer's coverage, by clang (make fuzz-args)
  PYNVML_BUILD_DIR   build folder (default build/), to keep such builds apart

  PYNVML_SYSTEM_CJSON=1  link the system's cJSON without a copy (a distribution's package)

Linking: the binaries carry no RUNPATH of the build machine (Python's own -rpath, which
pyenv's LDSHARED has, is dropped: the extension needs no library but libc and libdl).
cJSON is bundled at build time: the libcjson.so.1 the simulator was linked with is
copied beside it (pynvml/_sim/) and the simulator's RUNPATH is $ORIGIN, so every install,
from the sdist or a wheel, runs where no cJSON is installed, and the copies that
`python -m pynvml._sim hide` writes take that file with them.  (Static linking would be
simpler, but Debian ships no libcjson.a; auditwheel's own bundling puts the library in
another folder, which a copy of the simulator elsewhere would not find.)

The C under ext/generated, sim/generated and include/ is generated from spec/ by
codegen/generate.py and checked in (tests/test_generated.py keeps it current).
"""
import glob
import os
import sys

import setuptools
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SIM_NAME = "libnvidia-ml.so.1"
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers",
          "-fno-strict-aliasing"]
LINK = []
if os.environ.get("PYNVML_WERROR"):     # CI: a warning fails the build (GCC 14 makes this one an error anyway)
    CFLAGS += ["-Werror", "-Werror=implicit-function-declaration"]
# make sanitize: ASan + UBSan build for the tests (float-cast-overflow, not in UBSan's
# default set: a double out of the C type's range converted, e.g. a profile's 1e300)
SANITIZERS = "-fsanitize=address,undefined,float-cast-overflow"
if os.environ.get("PYNVML_FUZZ"):       # make fuzz-args: the same, and libFuzzer's coverage (clang only)
    CFLAGS += [SANITIZERS + ",fuzzer-no-link", "-fno-omit-frame-pointer", "-O1", "-g"]
    LINK += [SANITIZERS + ",fuzzer-no-link"]
elif os.environ.get("PYNVML_SANITIZE"):
    CFLAGS += [SANITIZERS, "-fno-omit-frame-pointer", "-O1", "-g"]
    LINK += [SANITIZERS]
elif not os.environ.get("PYNVML_DEBUG"):
    LINK += ["-s"]                      # no symbol table or debug information (.dynsym stays)


CJSON_LICENSES = [os.path.join(os.environ.get("PYNVML_CJSON") or "/usr", p) for p in
                  ("share/doc/libcjson1/copyright", "share/licenses/cjson/LICENSE", "share/doc/cjson/LICENSE")]


def cjson_dirs():
    """Where cJSON's header and library are: PYNVML_CJSON (a prefix) or the system."""
    prefix = os.environ.get("PYNVML_CJSON")
    candidates = [prefix] if prefix else ["/usr", "/usr/local"]
    for p in candidates:
        if p and os.path.exists(os.path.join(p, "include", "cjson", "cJSON.h")):
            libdirs = [d for d in glob.glob(os.path.join(p, "lib*")) + glob.glob(os.path.join(p, "lib", "*-linux-gnu"))]
            return os.path.join(p, "include"), libdirs
    return None, None


def cjson_to_bundle(libdirs):
    """(the library file, its soname, its licence file) to copy beside the simulator, or
    None where one is missing: the build then links the system's cJSON as it is."""
    import re
    for d in libdirs:
        real = os.path.realpath(os.path.join(d, "libcjson.so"))
        m = re.match(r"(libcjson\.so\.\d+)(\.|$)", os.path.basename(real))
        licence = next((f for f in CJSON_LICENSES if os.path.exists(f)), None)
        if os.path.exists(real) and m and licence:
            return real, m.group(1), licence
    return None


def _no_rpath(cmd):
    """A link command without -rpath/-R options (Python's LDSHARED from pyenv has them)."""
    out, skip = [], False
    for arg in cmd:
        if skip:
            skip = False
        elif arg.startswith(("-Wl,-rpath", "-Wl,-R", "-Wl,--enable-new-dtags")) or (arg.startswith("-R") and len(arg) > 2):
            pass
        elif arg in ("-R", "-rpath"):
            skip = True
        else:
            out.append(arg)
    return out


class BuildExt(build_ext):
    def build_extensions(self):
        self.compiler.src_extensions.append(".S")
        self.compiler.linker_so = _no_rpath(self.compiler.linker_so)
        if NO_CJSON:                    # here, not at import: an sdist needs no cJSON
            sys.exit(NO_CJSON)
        super().build_extensions()

    def run(self):
        super().run()
        sim_dir = os.path.join("src" if self.inplace else self.build_lib, "pynvml", "_sim")
        if BUNDLE_CJSON and os.path.exists(os.path.join(sim_dir, SIM_NAME)):
            # libcjson.so.<major> (the name the simulator NEEDS) and cJSON's licence beside it
            self.copy_file(BUNDLE_CJSON[0], os.path.join(sim_dir, BUNDLE_CJSON[1]))
            self.copy_file(BUNDLE_CJSON[2], os.path.join(sim_dir, "cJSON-LICENSE"))

    def get_ext_filename(self, fullname):
        # The simulator is a plain shared library, named as NVML's own.
        if fullname == "pynvml._sim.libnvidia_ml":
            return os.path.join("pynvml", "_sim", SIM_NAME)
        if fullname == "libnvidia_ml":
            return SIM_NAME
        return super().get_ext_filename(fullname)

    def get_export_symbols(self, ext):
        return [] if ext.name.endswith("libnvidia_ml") else super().get_export_symbols(ext)


extensions = [
    Extension(
        "pynvml._nvml",
        sources=sorted(glob.glob("ext/*.c")),
        include_dirs=["include", "ext"],
        depends=glob.glob("ext/*.h") + glob.glob("ext/generated/*") + ["include/nvml_decls.h"],
        libraries=["dl"],
        extra_compile_args=CFLAGS,
        extra_link_args=LINK,
    )
]

inc, libdirs = cjson_dirs()
# The sanitizer build keeps the system's cJSON (ASan reports then name its own file).
BUNDLE_CJSON = None
if inc is not None and not (os.environ.get("PYNVML_SYSTEM_CJSON") or os.environ.get("PYNVML_SANITIZE")):
    BUNDLE_CJSON = cjson_to_bundle(libdirs)
    if BUNDLE_CJSON is None:
        sys.stderr.write("pynvml: cJSON's library file or licence not found in %s: the simulator links "
                         "it without a copy (an install then needs cJSON at run time)\n" % " ".join(libdirs))
if os.environ.get("PYNVML_NO_SIM"):
    inc = None
    sys.stderr.write("pynvml: PYNVML_NO_SIM=1: building without the simulator\n")
NO_CJSON = None if inc is not None or os.environ.get("PYNVML_NO_SIM") else (
    "pynvml: cJSON was not found, and the simulated NVML needs it to read its profiles.\n"
    "  Debian/Ubuntu: apt-get install libcjson-dev   (Fedora: cjson-devel)\n"
    "  or PYNVML_CJSON=<prefix> where <prefix>/include/cjson/cJSON.h is,\n"
    "  or PYNVML_NO_SIM=1 to build pynvml without the simulator.")
if inc is not None:
    # the built-in profiles and the profile schema, linked in by sim/incbin.S
    builtin = {"DEFAULT": "sim/profiles/default.json", "VGPU_HOST": "sim/profiles/vgpu-host.json",
               "HGX_H100_8": "sim/profiles/hgx-h100-8.json", "H100_MIG": "sim/profiles/h100-mig.json",
               "A100": "sim/profiles/a100.json", "RTX4090": "sim/profiles/rtx4090.json",
                "H200": "sim/profiles/h200.json",
               "SCHEMA": "src/pynvml/_sim/profile.schema.json"}
    extensions.append(Extension(
        "pynvml._sim.libnvidia_ml",
        sources=sorted(glob.glob("sim/*.c")) + ["sim/generated/entry_points.c", "sim/incbin.S"],
        include_dirs=["include", "sim", inc],
        library_dirs=libdirs,
        # $ORIGIN: the bundled copy beside it
        runtime_library_dirs=(["$ORIGIN"] if BUNDLE_CJSON else
                              libdirs if os.environ.get("PYNVML_CJSON") else []),
        libraries=["cjson", "pthread", "m"],
        define_macros=[("SIM_PROFILE_" + k, '"%s"' % os.path.join(HERE, v)) for k, v in builtin.items()],
        depends=glob.glob("sim/*.h") + [os.path.join(HERE, v) for v in builtin.values()] + ["include/nvml_decls.h"],
        extra_compile_args=CFLAGS,
        # -Bsymbolic: the library's calls to its own entry points bind at link time, so a
        # copy with some symbols hidden (python -m pynvml._sim hide) still works
        extra_link_args=["-Wl,-soname," + SIM_NAME, "-Wl,-Bsymbolic"] + LINK,
    ))

# The licence: an SPDX expression (PEP 639) where setuptools knows them (77 and later),
# text for an older one (the GPU machine builds with its own, --no-build-isolation).

NEW_SETUPTOOLS = tuple(int(x) for x in setuptools.__version__.split(".")[:2]) >= (77, 0)
LICENSE = {"license_expression" if NEW_SETUPTOOLS else "license": "BSD-3-Clause", "license_files": ["LICENSE"]}

# PYNVML_BUILD_DIR keeps a differently configured build (the sanitizer one) apart.
setup(**LICENSE, ext_modules=extensions, cmdclass={"build_ext": BuildExt},
      options={"build": {"build_base": os.environ.get("PYNVML_BUILD_DIR", "build")}})
