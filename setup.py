"""Build of pynvml's two C parts (pyproject.toml holds the metadata):

* pynvml._nvml                  the extension module (ext/), NVML loaded at run time
* pynvml/_sim/libnvidia-ml.so.1 the simulated NVML (sim/), which reads JSON with cJSON
                                (Debian: libcjson-dev); built only where cJSON is found

The C under ext/generated, sim/generated and include/ is generated from spec/ by
codegen/generate.py and checked in (tests/test_generated.py keeps it current).
"""
import glob
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SIM_NAME = "libnvidia-ml.so.1"
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers",
          "-fno-strict-aliasing"]
# make sanitize: ASan + UBSan build for the tests (float-cast-overflow, not in UBSan's
# default set: a double out of the C type's range converted, e.g. a profile's 1e300)
SANITIZERS = "-fsanitize=address,undefined,float-cast-overflow"
if os.environ.get("PYNVML_SANITIZE"):
    CFLAGS += [SANITIZERS, "-fno-omit-frame-pointer", "-O1", "-g"]
SAN_LINK = [SANITIZERS] if os.environ.get("PYNVML_SANITIZE") else []


def cjson_dirs():
    """Where cJSON's header and library are: PYNVML_CJSON (a prefix) or the system."""
    prefix = os.environ.get("PYNVML_CJSON")
    candidates = [prefix] if prefix else ["/usr", "/usr/local"]
    for p in candidates:
        if p and os.path.exists(os.path.join(p, "include", "cjson", "cJSON.h")):
            libdirs = [d for d in glob.glob(os.path.join(p, "lib*")) + glob.glob(os.path.join(p, "lib", "*-linux-gnu"))]
            return os.path.join(p, "include"), libdirs
    return None, None


class BuildExt(build_ext):
    def build_extensions(self):
        self.compiler.src_extensions.append(".S")
        super().build_extensions()

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
        extra_link_args=SAN_LINK,
    )
]

inc, libdirs = cjson_dirs()
if inc is not None:
    profile = os.path.join(HERE, "sim", "profiles", "default.json")
    extensions.append(Extension(
        "pynvml._sim.libnvidia_ml",
        sources=sorted(glob.glob("sim/*.c")) + ["sim/generated/entry_points.c", "sim/incbin.S"],
        include_dirs=["include", "sim", inc],
        library_dirs=libdirs,
        runtime_library_dirs=libdirs if os.environ.get("PYNVML_CJSON") else [],
        libraries=["cjson", "pthread"],
        define_macros=[("SIM_DEFAULT_PROFILE", '"%s"' % profile)],
        depends=glob.glob("sim/*.h") + [profile, "include/nvml_decls.h"],
        extra_compile_args=CFLAGS,
        # -Bsymbolic: the library's calls to its own entry points bind at link time, so a
        # copy with some symbols hidden (python -m pynvml._sim hide) still works
        extra_link_args=["-Wl,-soname," + SIM_NAME, "-Wl,-Bsymbolic"] + SAN_LINK,
    ))
else:
    sys.stderr.write("pynvml: cJSON not found (apt-get install libcjson-dev): building without the simulator\n")

# PYNVML_BUILD_DIR keeps a differently configured build (the sanitizer one) apart.
setup(ext_modules=extensions, cmdclass={"build_ext": BuildExt},
      options={"build": {"build_base": os.environ.get("PYNVML_BUILD_DIR", "build")}})
