# pynvml.nvml is the pynvml module itself (older code imports it by this name).
from pynvml import *
