"""pynvml_utils: the newer home of nvidia_smi (from pynvml_utils import nvidia_smi)."""
from pynvml.smi import nvidia_smi  # noqa: F401
