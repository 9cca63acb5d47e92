from pynvml.smi import nvidia_smi as nvidia_smi
