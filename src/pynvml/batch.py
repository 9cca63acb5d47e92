"""pynvml.batch: many (device, metric) pairs in one call, NVML's calls made concurrently.

    import pynvml
    from pynvml import batch

    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(1)
    values = batch.query([(0, "temperature.gpu"), (0, "pci/tx_util"), (0, "pci/rx_util"),
                          (h, "power.draw"), (h, "pci/tx_util"), (h, "pci/rx_util")])
    for v in values:
        if isinstance(v, pynvml.NVMLError):   # this pair's error; the others still answer
            ...

A device is an index (as nvmlDeviceGetHandleByIndex takes) or a device handle.  A metric
is a field name of ``nvidia-smi --query-gpu`` (``pynvml.smi.QUERY_FIELDS``, aliases too)
or the path of an element of ``nvidia-smi -q -x`` (``"pci/tx_util"``, ``"clocks/graphics_clock"``);
``METRICS`` lists them all.  The answer is a list in the order of the pairs: each the value
as ``nvidia_smi.DeviceQuery`` gives it (an int, a float, a str, a list of dicts for the
list elements such as ``"processes"``) or, where NVML failed for that pair, the
``NVMLError`` instance (``NVMLError_NotSupported``, ``NVMLError_GpuIsLost``, ...) that the
call would have raised: one pair's error never costs the others their values.  An index
beyond the GPUs is such a per-pair error (``NVMLError_InvalidArgument``).  A metric name
that does not exist, or a device that is neither, raises before NVML is called.

Each NVML call is made once per device, however many pairs need it.  The calls of
different devices run side by side on threads of their own, and each call that NVML
takes long over because it samples first (``nvmlDeviceGetPcieThroughput``, one for each
direction, ~20 ms on an H200; ``nvmlDeviceValidateInforom``) runs beside the rest, all
with the GIL released: a query of N GPUs costs about its slowest device's time, not the
sum (ext/batch.c, BENCHMARKS.md).  ``nvidia_smi.DeviceQuery`` and the command line
``pynvml-smi`` run on the same engine.
"""
from pynvml import _nvml

__all__ = ["query", "METRICS"]

_by_name = None


def _metrics():
    global _by_name
    if _by_name is None:
        by = {}
        for index, raw in enumerate(_nvml._smi_items()):
            names, xml = raw[0], raw[2]
            for n in names:
                by.setdefault(n, index)
            if xml:
                by.setdefault(xml, index)
        _by_name = by
    return _by_name


def __getattr__(name):
    if name == "METRICS":
        return tuple(_metrics())
    raise AttributeError("module 'pynvml.batch' has no attribute %r" % name)


def query(pairs):
    """[value or NVMLError, ...] for [(device, metric), ...]: see the module's help."""
    by = _metrics()
    devices, items = [], []
    for pair in list(pairs):
        try:
            device, metric = pair
        except (TypeError, ValueError):
            raise TypeError("batch.query: each pair must be (device, metric), not %r" % (pair,)) from None
        if not isinstance(metric, str):
            raise TypeError("batch.query: a metric is a str, not %s" % type(metric).__name__)
        index = by.get(metric)
        if index is None:
            raise ValueError("batch.query: no metric %r (pynvml.batch.METRICS lists them)" % metric)
        if isinstance(device, int) and not isinstance(device, bool):
            device = int(device)
        devices.append(device)
        items.append(index)
    return _nvml._batch_query(tuple(devices), tuple(items))
