"""pynvml_utils.smi: the same module as pynvml.smi."""
import sys

import pynvml.smi

sys.modules[__name__] = pynvml.smi
