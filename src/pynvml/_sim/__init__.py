"""The simulated NVML (libnvidia-ml.so.1) lives here; PYNVML_LIBRARY=sim loads it."""
