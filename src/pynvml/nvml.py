"""`pynvml.nvml`, the module name older code imports: the same module as `pynvml`."""
import sys

import pynvml

sys.modules[__name__] = pynvml
