# pynvml_utils.smi is the pynvml.smi module itself.
from pynvml.smi import *
from pynvml.smi import __all__ as __all__
