"""pynvml_utils: the newer home of nvidia_smi (from pynvml_utils import nvidia_smi), as
PyPI's `pynvml` has it, here backed by pynvml.smi.

A module, not a package, on purpose: PyPI's `pynvml` installs a package `pynvml_utils/`,
and none of our files may be one of its files, or installing one would overwrite the
other's and uninstalling one would delete the other's.  Where both are installed, theirs
(a package) is the one Python imports, and `from pynvml import *` in it warns (see
pynvml/__init__.py); uninstalling theirs brings this one back.
"""
import sys

import pynvml.smi as smi
from pynvml.smi import nvidia_smi  # noqa: F401

_PYNVML_C = True                      # ours (pynvml checks for it)
# `import pynvml_utils.smi` finds the submodule in sys.modules: pynvml.smi is that module
sys.modules[__name__ + ".smi"] = smi
