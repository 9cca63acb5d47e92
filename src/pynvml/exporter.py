"""pynvml.exporter: each GPU's metrics for Prometheus, under dcgm-exporter's names.

    pynvml-exporter [--host ADDR] [--port 9400] [-f COUNTERS.csv] [--timeout SEC] [--once]
    python -m pynvml.exporter ...

Serves ``/metrics`` in Prometheus's text format: for every GPU the ``DCGM_FI_DEV_*``
metrics of NVIDIA's dcgm-exporter that NVML gives directly and its ``DCGM_FI_PROF_*``
profiling metrics through GPM (``METRICS`` below), with the same names, types, units and
labels (``gpu``, ``UUID``, ``pci_bus_id``, ``device``, ``modelName``, ``Hostname``), so that
dashboards and alert rules written for dcgm-exporter work unchanged.  Each GPU instance of
a GPU in MIG mode has its own series of what NVML gives per instance (framebuffer, GPM,
processes), labelled as dcgm-exporter's: the parent's labels plus ``GPU_I_PROFILE``
(``1g.10gb``) and ``GPU_I_ID``.  Per-process memory, which dcgm-exporter lacks, is
``pynvml_exporter_process_fb_used`` (MiB) with ``pid`` and ``type`` labels.  ``-f`` takes
a counters file in dcgm-exporter's CSV form (``DCGM FIELD, type, help`` a line, ``#``
comments): only those metrics are exported, with that file's types and help.  A field of
dcgm-exporter that NVML cannot give is named on stderr once and left out; a line that is
no field at all, or a type other than gauge or counter, is one clear line and exit status 2.

A scrape costs per GPU one nvmlDeviceGetFieldValues for every field-valued metric, one
``pynvml.batch.query`` for the slow samplers (PCIe throughput: both directions at once),
one call for the metrics that share one (memory, utilization), a direct call for each of
the others and one GPM sample (the last scrape's is kept: the GPM metrics are over the
scrape interval, never a sleep).  Several GPUs are read side by side, each on a thread of
its own; one GPU is read on the scrape's own thread (less CPU than a hand-over).  A scrape
never waits past ``--timeout`` (default 2 s): a GPU whose calls hang (a driver stuck, the
simulator's ``delay_ms``) or is lost gets ``pynvml_exporter_gpu_up`` 0 and a count in
``pynvml_exporter_errors_total`` while the others are served (a read made inline that
hangs is answered for by a watchdog thread at the timeout); a hung GPU is not asked again
until its earlier call has come back, so threads never pile up.  XID errors come from a
thread that waits on an NVML event set (``DCGM_FI_DEV_XID_ERRORS`` is the last XID seen on
that GPU, 0 before any, as dcgm-exporter).

Why not prometheus-client: its counters always carry ``_total`` in the family name (the
OpenMetrics rule), which would rename dcgm-exporter's counters
(``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` ...) and break the dashboards this exporter is
for; the text format is a few lines (``_format``) and the server is the standard
library's, so the exporter needs nothing beyond this package.
"""
import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import os
import socket
import sys
import threading
import time
import queue
import re

import pynvml as N
from pynvml import batch

__all__ = ["METRICS", "Exporter", "parse_counters", "main"]

_MiB = 1 << 20
_ALL_LINKS = 0xFFFFFFFF


class _Part:
    """A part of one NVML answer: ``call(handle)`` made once per device and scrape for all
    the metrics that share it (memory's free, used and reserved: one nvmlDeviceGetMemoryInfo)."""
    __slots__ = ("call", "extract")

    def __init__(self, call, extract):
        self.call = call
        self.extract = extract


def _memory_info(h):
    return N.nvmlDeviceGetMemoryInfo(h, N.nvmlMemory_v2)


def _nearest_mib(nbytes):
    """Bytes to MiB as nvidia-smi shows framebuffer memory (ext/smi_query.c's F_FBMIB)."""
    return (nbytes + _MiB // 2) // _MiB


def _memory(attr):
    # MiB as nvidia-smi shows them (ext/smi_query.c does the same): free and used rounded to
    # the nearest, reserved rounded up (the H200 reserves 615.06 MiB; nvidia-smi shows 616)
    if attr == "reserved":
        return _Part(_memory_info, lambda m: -(-m.reserved // _MiB))
    return _Part(_memory_info, lambda m: _nearest_mib(getattr(m, attr)))


def _utilization(attr):
    return _Part(N.nvmlDeviceGetUtilizationRates, lambda u: getattr(u, attr))


def _clock(kind):
    return lambda h: N.nvmlDeviceGetClockInfo(h, kind)


class _Batch(str):
    """A metric of pynvml.batch.query: the slow calls, made concurrently."""


class _Gpm:
    """A GPM metric (Hopper and later): NVML's metric id and the factor to dcgm-exporter's
    unit (a percentage to a ratio 0-1, MiB/s to bytes/s), from two samples the exporter keeps:
    the one of the last scrape and this scrape's, so the interval is the scrape interval."""
    __slots__ = ("id", "scale")

    def __init__(self, metric_id, scale):
        self.id = metric_id
        self.scale = scale


_RATIO = 0.01
# name -> (type, help, source): source is a tuple of NVML field ids (their values summed,
# each read with scope 0 unless the id is a pair (id, scope)), a metric of pynvml.batch
# (_Batch), a GPM metric (_Gpm), a part of a shared call (_Part), a function of the
# handle, "xid" (the event thread's) or "processes" (per-process memory).
METRICS = {
    "DCGM_FI_DEV_SM_CLOCK": ("gauge", "SM clock frequency (in MHz).", _clock(N.NVML_CLOCK_SM)),
    "DCGM_FI_DEV_MEM_CLOCK": ("gauge", "Memory clock frequency (in MHz).", _clock(N.NVML_CLOCK_MEM)),
    "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C).",
                             lambda h: N.nvmlDeviceGetTemperature(h, N.NVML_TEMPERATURE_GPU)),
    "DCGM_FI_DEV_MEMORY_TEMP": ("gauge", "Memory temperature (in C).", (N.NVML_FI_DEV_MEMORY_TEMP,)),
    "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W).",
                                lambda h: N.nvmlDeviceGetPowerUsage(h) / 1000.0),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("counter", "Total energy consumption since boot (in mJ).",
                                             (N.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION,)),
    "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %).", _utilization("gpu")),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("gauge", "Memory utilization (in %).", _utilization("memory")),
    "DCGM_FI_DEV_ENC_UTIL": ("gauge", "Encoder utilization (in %).",
                             lambda h: N.nvmlDeviceGetEncoderUtilization(h)[0]),
    "DCGM_FI_DEV_DEC_UTIL": ("gauge", "Decoder utilization (in %).",
                             lambda h: N.nvmlDeviceGetDecoderUtilization(h)[0]),
    "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB).", _memory("free")),
    "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB).", _memory("used")),
    "DCGM_FI_DEV_FB_RESERVED": ("gauge", "Framebuffer memory reserved (in MiB).", _memory("reserved")),
    # NVML samples PCIe throughput for 20 ms a direction: both directions side by side,
    # GIL released, through pynvml.batch (in KB/s, as dcgm-exporter's values, which its CSV types counter)
    "DCGM_FI_DEV_PCIE_TX_THROUGHPUT": ("counter", "Total number of bytes transmitted through PCIe TX (in KB) via NVML.",
                                       _Batch("pci/tx_util")),
    "DCGM_FI_DEV_PCIE_RX_THROUGHPUT": ("counter", "Total number of bytes received through PCIe RX (in KB) via NVML.",
                                       _Batch("pci/rx_util")),
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": ("counter", "Total number of PCIe retries.",
                                        (N.NVML_FI_DEV_PCIE_REPLAY_COUNTER,)),
    "DCGM_FI_DEV_XID_ERRORS": ("gauge", "Value of the last XID error encountered.", "xid"),
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": ("counter", "Total number of single-bit volatile ECC errors.",
                                      (N.NVML_FI_DEV_ECC_SBE_VOL_TOTAL,)),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ("counter", "Total number of double-bit volatile ECC errors.",
                                      (N.NVML_FI_DEV_ECC_DBE_VOL_TOTAL,)),
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": ("counter", "Total number of single-bit persistent ECC errors.",
                                      (N.NVML_FI_DEV_ECC_SBE_AGG_TOTAL,)),
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": ("counter", "Total number of double-bit persistent ECC errors.",
                                      (N.NVML_FI_DEV_ECC_DBE_AGG_TOTAL,)),
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": ("counter", "Number of remapped rows for correctable errors",
                                              (N.NVML_FI_DEV_REMAPPED_COR,)),
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": ("counter", "Number of remapped rows for uncorrectable errors",
                                                (N.NVML_FI_DEV_REMAPPED_UNC,)),
    "DCGM_FI_DEV_ROW_REMAP_PENDING": ("gauge", "Whether rows are pending remapping",
                                      (N.NVML_FI_DEV_REMAPPED_PENDING,)),
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": ("gauge", "Whether remapping of rows has failed",
                                      (N.NVML_FI_DEV_REMAPPED_FAILURE,)),
    # NVLink data throughput of all links, transmitted plus received (in KiB)
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL": ("counter", "Total number of NVLink bandwidth counters for all lanes",
                                           ((N.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX, _ALL_LINKS),
                                            (N.NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX, _ALL_LINKS))),
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": ("gauge", "Current clock throttle reasons (bitmask of NVML's reasons).",
                                           N.nvmlDeviceGetCurrentClocksEventReasons),
    # DCGM's profiling fields (dcgm-exporter's dcp-metrics-included.csv) through GPM: ratios
    # 0-1 where NVML gives percentages, bytes per second where it gives MiB/s
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("gauge", "Ratio of time the graphics engine is active.",
                                      _Gpm(N.NVML_GPM_METRIC_GRAPHICS_UTIL, _RATIO)),
    "DCGM_FI_PROF_SM_ACTIVE": ("gauge", "The ratio of cycles an SM has at least 1 warp assigned.",
                               _Gpm(N.NVML_GPM_METRIC_SM_UTIL, _RATIO)),
    "DCGM_FI_PROF_SM_OCCUPANCY": ("gauge", "The ratio of number of warps resident on an SM.",
                                  _Gpm(N.NVML_GPM_METRIC_SM_OCCUPANCY, _RATIO)),
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": ("gauge", "Ratio of cycles the tensor (HMMA) pipe is active.",
                                        _Gpm(N.NVML_GPM_METRIC_ANY_TENSOR_UTIL, _RATIO)),
    "DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE": ("gauge", "Ratio of cycles the tensor (DFMA) pipe is active.",
                                             _Gpm(N.NVML_GPM_METRIC_DFMA_TENSOR_UTIL, _RATIO)),
    "DCGM_FI_PROF_PIPE_TENSOR_HMMA_ACTIVE": ("gauge", "Ratio of cycles the tensor (HMMA) pipe is active.",
                                             _Gpm(N.NVML_GPM_METRIC_HMMA_TENSOR_UTIL, _RATIO)),
    "DCGM_FI_PROF_PIPE_TENSOR_IMMA_ACTIVE": ("gauge", "Ratio of cycles the tensor (IMMA) pipe is active.",
                                             _Gpm(N.NVML_GPM_METRIC_IMMA_TENSOR_UTIL, _RATIO)),
    "DCGM_FI_PROF_PIPE_INT_ACTIVE": ("gauge", "Ratio of cycles the integer pipe is active.",
                                     _Gpm(N.NVML_GPM_METRIC_INTEGER_UTIL, _RATIO)),
    "DCGM_FI_PROF_DRAM_ACTIVE": ("gauge", "Ratio of cycles the device memory interface is active sending or "
                                 "receiving data.", _Gpm(N.NVML_GPM_METRIC_DRAM_BW_UTIL, _RATIO)),
    "DCGM_FI_PROF_PIPE_FP64_ACTIVE": ("gauge", "Ratio of cycles the fp64 pipes are active.",
                                      _Gpm(N.NVML_GPM_METRIC_FP64_UTIL, _RATIO)),
    "DCGM_FI_PROF_PIPE_FP32_ACTIVE": ("gauge", "Ratio of cycles the fp32 pipes are active.",
                                      _Gpm(N.NVML_GPM_METRIC_FP32_UTIL, _RATIO)),
    "DCGM_FI_PROF_PIPE_FP16_ACTIVE": ("gauge", "Ratio of cycles the fp16 pipes are active.",
                                      _Gpm(N.NVML_GPM_METRIC_FP16_UTIL, _RATIO)),
    "DCGM_FI_PROF_PCIE_TX_BYTES": ("gauge", "The rate of data transmitted over the PCIe bus - including both "
                                   "protocol headers and data payloads - in bytes per second.",
                                   _Gpm(N.NVML_GPM_METRIC_PCIE_TX_PER_SEC, _MiB)),
    "DCGM_FI_PROF_PCIE_RX_BYTES": ("gauge", "The rate of data received over the PCIe bus - including both "
                                   "protocol headers and data payloads - in bytes per second.",
                                   _Gpm(N.NVML_GPM_METRIC_PCIE_RX_PER_SEC, _MiB)),
    "DCGM_FI_PROF_NVLINK_TX_BYTES": ("gauge", "The rate of data transmitted over NVLink, not including protocol "
                                     "headers, in bytes per second.",
                                     _Gpm(N.NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC, _MiB)),
    "DCGM_FI_PROF_NVLINK_RX_BYTES": ("gauge", "The rate of data received over NVLink, not including protocol "
                                     "headers, in bytes per second.",
                                     _Gpm(N.NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC, _MiB)),
    # dcgm-exporter has no per-process metric (its issues #94, #109, #339); this one has its
    # labels and the unit of DCGM_FI_DEV_FB_USED, plus pid and type (compute or graphics)
    "pynvml_exporter_process_fb_used": ("gauge", "Framebuffer memory used by a process (in MiB).", "processes"),
}
# dcgm-exporter's newer name of the same field
_ALIASES = {"DCGM_FI_DEV_CLOCKS_EVENT_REASONS": "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS"}
# what NVML gives per MIG instance (a GPU instance: dcgm-exporter's GPU_I entity)
_MIG_METRICS = frozenset(["DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_RESERVED",
                          "pynvml_exporter_process_fb_used"] +
                         [n for n, m in METRICS.items() if isinstance(m[2], _Gpm)])

_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "GPU_I_PROFILE", "GPU_I_ID", "Hostname")
_NO_INSTANCE = 0xFFFFFFFF        # a process's gpuInstanceId outside MIG
_MIG_REFRESH_S = 30.0            # how often a GPU's MIG instances are listed again


class CountersError(ValueError):
    """A counters file that cannot be used; the message is one line."""


def parse_counters(path, warn=None):
    """[(name, type, help), ...] from a counters file in dcgm-exporter's CSV form.

    Fields of DCGM this exporter cannot give are passed to ``warn`` (a function of one
    line) and left out; anything else wrong raises CountersError."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CountersError("counters file %s: %s" % (path, getattr(e, "strerror", None) or e)) from None
    chosen, seen = [], set()
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = [p.strip() for p in text.split(",", 2)]
        where = "counters file %s line %d" % (path, number)
        if len(parts) < 2 or not parts[0]:
            raise CountersError("%s: expected 'DCGM FIELD, type, help', got %r" % (where, text))
        name, kind = parts[0], parts[1].lower()
        help_ = parts[2] if len(parts) > 2 and parts[2] else None
        if not (name.startswith("DCGM_") or name in METRICS) or not name.replace("_", "").isalnum():
            raise CountersError("%s: %r is not a DCGM field name" % (where, name))
        if kind not in ("gauge", "counter"):
            raise CountersError("%s: type %r (gauge or counter)" % (where, parts[1]))
        name = _ALIASES.get(name, name)
        if name not in METRICS:
            if warn:
                warn("%s: %s is not given by NVML here; left out" % (where, name))
            continue
        if name in seen:
            continue
        seen.add(name)
        chosen.append((name, kind, help_ or METRICS[name][1]))
    return chosen


def _field_value(v):
    t = v.valueType
    u = v.value
    if t == N.NVML_VALUE_TYPE_DOUBLE:
        return u.dVal
    if t == N.NVML_VALUE_TYPE_UNSIGNED_INT:
        return u.uiVal
    if t == N.NVML_VALUE_TYPE_UNSIGNED_LONG:
        return u.ulVal
    if t == N.NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return u.sllVal
    if t == N.NVML_VALUE_TYPE_SIGNED_INT:
        return u.siVal
    if t == getattr(N, "NVML_VALUE_TYPE_UNSIGNED_SHORT", 6):
        return u.usVal
    return u.ullVal


def _error_name(e):
    return type(e).__name__.replace("NVMLError_", "") if isinstance(e, N.NVMLError) else type(e).__name__


class _Job:
    """One read of one GPU, answered by its worker thread (or inline, by the scrape's)."""
    __slots__ = ("fn", "done", "value", "error", "started")

    def __init__(self, fn):
        self.fn = fn
        self.done = threading.Event()
        self.value = self.error = None
        self.started = time.monotonic()

    def run(self):
        try:
            self.value = self.fn()
        except BaseException as e:   # handed to the scrape that asked
            self.error = e
        self.done.set()


def _work(jobs):
    while True:
        job = jobs.get()
        if job is None:
            return
        job.run()


# The shortest interval GPM metrics are taken over: a shorter one holds few updates of the
# GPU's counters, and its ratios jump.
GPM_MIN_INTERVAL = 0.1


class _GpmSamples:
    """Two GPM samples of a GPU or a GPU instance: the last one taken and a spare; each read
    takes a new one into the spare and gets the metrics of the interval since the last."""

    def __init__(self, take, ids):
        self.take = take                 # fills a sample: nvmlGpmSampleGet or nvmlGpmMigSampleGet
        self.ids = ids
        self.last = N.nvmlGpmSampleAlloc()
        self.spare = N.nvmlGpmSampleAlloc()
        self.query = N.c_nvmlGpmMetricsGet_t()
        self.query.version = N.NVML_GPM_METRICS_GET_VERSION
        self.query.numMetrics = len(ids)
        # the struct's entries, taken once (each read of .metrics builds all 477 of them)
        self.entries = self.query.metrics[:len(ids)]
        for entry, i in zip(self.entries, ids):
            entry.metricId = i
        self.answers = None      # the last read's, given again to a scrape too soon after it
        try:
            take(self.last)
        except N.NVMLError:
            self.free()
            raise
        self.taken = time.monotonic()

    def read(self):
        """[(nvmlReturn, value), ...] in the order of ids, over the time since the last read
        (the last read's answers where that was less than GPM_MIN_INTERVAL ago, None before
        any: two Prometheus servers scraping at once, the first scrape right after the start)."""
        if time.monotonic() - self.taken < GPM_MIN_INTERVAL:
            return self.answers
        self.take(self.spare)
        q = self.query
        q.sample1, q.sample2 = self.last, self.spare
        self.last, self.spare = self.spare, self.last
        self.taken = time.monotonic()
        N.nvmlGpmMetricsGet(q)
        self.answers = [(m.nvmlReturn, m.value) for m in self.entries]
        return self.answers

    def free(self):
        for s in (self.last, self.spare):
            try:
                N.nvmlGpmSampleFree(s)
            except N.NVMLError:
                pass


class _Mig:
    """A GPU instance of a GPU in MIG mode: dcgm-exporter's GPU_I entity."""

    def __init__(self, gi_id, handle, labels):
        self.gi_id = gi_id
        self.handle = handle             # the MIG device of its first compute instance
        self.labels = labels
        self.label_text = _labels(labels)
        self.gpm = None


class _Gpu:
    def __init__(self, index, handle, labels, threaded):
        self.index = index
        self.handle = handle
        self.labels = labels
        self.label_text = _labels(labels)
        self.pending = None      # the job of the last scrape (still running where it hung)
        self.xid = 0
        self.gpm = None          # _GpmSamples where GPM metrics are chosen and supported
        self.mig = {}            # GPU instance id -> _Mig
        self.mig_checked = None  # when MIG instances were last listed
        self.jobs = None
        if threaded:
            # a daemon thread of its own: a GPU that hangs holds only it, and never the exit
            self.jobs = queue.SimpleQueue()
            threading.Thread(target=_work, args=(self.jobs,), name="pynvml-exporter-gpu%d" % index,
                             daemon=True).start()

    def submit(self, fn):
        self.pending = _Job(fn)
        self.jobs.put(self.pending)
        return self.pending


class _Answer:
    """The answer to one HTTP scrape, given once: by the scrape, or, where an inline read
    hangs, by the watchdog in its place."""
    __slots__ = ("send", "deadline", "lock", "given", "results")

    def __init__(self, send, deadline=0.0):
        self.send = send
        self.deadline = deadline
        self.lock = threading.Lock()
        self.given = False
        self.results = []        # the GPUs read so far

    def give(self, text):
        with self.lock:
            if self.given:
                return False
            self.given = True
        self.send(text)
        return True


# A machine of at most this many GPUs reads them on the scrape's own thread: a thread per GPU
# costs more CPU than it saves wall time with one (a hung read is still answered on time,
# by the watchdog: Exporter.serve).
INLINE_MAX_GPUS = 1


class Exporter:
    """The metrics of all GPUs and MIG instances; ``scrape()`` is one /metrics answer (a str),
    ``serve(send)`` the same given to ``send`` (the HTTP server's way)."""

    def __init__(self, counters=None, timeout=2.0, hostname=None, inline=None):
        self.counters = counters if counters is not None else [(n, m[0], m[1]) for n, m in METRICS.items()]
        self.timeout = timeout
        hostname = hostname or os.environ.get("NODE_NAME") or socket.gethostname()
        chosen = {n for n, _, _ in self.counters}
        # the field ids of the chosen metrics, in one list: one nvmlDeviceGetFieldValues a GPU
        self._fields, self._calls, self._slots, self._batch, self._gpm = [], [], {}, [], []
        for name, _, _ in self.counters:
            source = METRICS[name][2]
            if isinstance(source, _Batch):
                self._batch.append((name, source))
            elif isinstance(source, _Gpm):
                self._gpm.append((name, source))
            elif isinstance(source, tuple):
                slots = []
                for f in source:
                    slots.append(len(self._fields))
                    self._fields.append(f)
                self._slots[name] = slots
            elif isinstance(source, _Part) or callable(source):
                self._calls.append((name, source))
        self._gpm_ids = [g.id for _, g in self._gpm]
        # each family's HELP and TYPE lines, written once
        self._headers = [(name, "# HELP %s %s\n# TYPE %s %s\n" % (name, _escape_help(help_), name, kind))
                         for name, kind, help_ in self.counters]
        self._mig_calls = [(n, s) for n, s in self._calls if n in _MIG_METRICS]
        self._processes = "pynvml_exporter_process_fb_used" in chosen
        self._xid = "DCGM_FI_DEV_XID_ERRORS" in chosen
        self._mig_wanted = bool(chosen & _MIG_METRICS)
        self._lock = threading.Lock()         # one threaded scrape at a time
        self._state = threading.Lock()        # the error counts
        self.errors = {}         # (gpu index, what, error) -> count
        count = N.nvmlDeviceGetCount()
        self.inline = count <= INLINE_MAX_GPUS if inline is None else bool(inline)
        self.gpus = [self._open(i, hostname) for i in range(count)]
        self._stop = threading.Event()
        self._xid_thread = None
        if self._xid:
            self._xid_thread = threading.Thread(target=self._watch_xids, name="pynvml-exporter-xid", daemon=True)
            self._xid_thread.start()
        self._waiting = []       # the _Answers of inline reads under way
        self._watchdog = None

    def _open(self, index, hostname):
        labels = {"gpu": str(index), "UUID": "", "pci_bus_id": "", "device": "nvidia%d" % index,
                  "modelName": "", "Hostname": hostname}
        handle = None
        try:
            handle = N.nvmlDeviceGetHandleByIndex(index)
            labels["UUID"] = N.nvmlDeviceGetUUID(handle)
            labels["pci_bus_id"] = N.nvmlDeviceGetPciInfo(handle).busId
            labels["modelName"] = N.nvmlDeviceGetName(handle)
            labels["device"] = "nvidia%d" % N.nvmlDeviceGetMinorNumber(handle)
        except N.NVMLError as e:
            self._count(index, "open", e)
        gpu = _Gpu(index, handle, labels, threaded=not self.inline)
        if handle is not None and self._gpm_ids:
            try:
                if N.nvmlGpmQueryDeviceSupport(handle).isSupportedDevice:
                    gpu.gpm = _GpmSamples(lambda s, h=handle: N.nvmlGpmSampleGet(h, s), self._gpm_ids)
            except N.NVMLError as e:
                if not isinstance(e, (N.NVMLError_NotSupported, N.NVMLError_FunctionNotFound)):
                    self._count(index, "gpm", e)
        if handle is not None and self._mig_wanted:
            try:
                self._list_mig(gpu)
            except N.NVMLError as e:
                self._count(index, "mig", e)
        return gpu

    def _count(self, index, what, e):
        key = (index, what, _error_name(e) if not isinstance(e, str) else e)
        with self._state:
            self.errors[key] = self.errors.get(key, 0) + 1

    # -- MIG -----------------------------------------------------------------------------
    def _list_mig(self, gpu):
        """Find the GPU instances of a GPU in MIG mode (none when MIG is off), keeping the
        GPM samples of those still there."""
        gpu.mig_checked = time.monotonic()
        h = gpu.handle
        found = {}
        try:
            if N.nvmlDeviceGetMigMode(h)[0] != N.NVML_DEVICE_MIG_ENABLE:
                gpu.mig = {}
                return
            count = N.nvmlDeviceGetMaxMigDeviceCount(h)
        except (N.NVMLError_NotSupported, N.NVMLError_FunctionNotFound):
            gpu.mig = {}
            return
        for i in range(count):
            try:
                m = N.nvmlDeviceGetMigDeviceHandleByIndex(h, i)
            except N.NVMLError_NotFound:
                continue
            gi = N.nvmlDeviceGetGpuInstanceId(m)
            if gi in found:
                continue
            old = gpu.mig.get(gi)
            if old is not None:
                old.handle = m
                found[gi] = old
                continue
            labels = dict(gpu.labels, GPU_I_PROFILE=_gi_profile(h, gi, m), GPU_I_ID=str(gi))
            mig = found[gi] = _Mig(gi, m, labels)
            if gpu.gpm is not None:
                try:
                    mig.gpm = _GpmSamples(lambda s, h=h, gi=gi: N.nvmlGpmMigSampleGet(h, gi, s), self._gpm_ids)
                except N.NVMLError as e:
                    if not isinstance(e, N.NVMLError_NotSupported):
                        self._count(gpu.index, "gpm", e)
        for gi, mig in gpu.mig.items():
            if gi not in found and mig.gpm is not None:
                mig.gpm.free()
        gpu.mig = found

    # -- XID events ----------------------------------------------------------------------
    def _watch_xids(self):
        try:
            event_set = N.nvmlEventSetCreate()
        except N.NVMLError as e:
            self._count(-1, "xid", e)
            return
        by_handle = {}
        for gpu in self.gpus:
            if gpu.handle is None:
                continue
            try:
                N.nvmlDeviceRegisterEvents(gpu.handle, N.nvmlEventTypeXidCriticalError, event_set)
                by_handle[N.nvmlDeviceGetUUID(gpu.handle)] = gpu
            except N.NVMLError as e:
                if not isinstance(e, N.NVMLError_NotSupported):
                    self._count(gpu.index, "xid", e)
        while not self._stop.is_set():
            try:
                data = N.nvmlEventSetWait(event_set, 500)
            except N.NVMLError_Timeout:
                continue
            except N.NVMLError as e:
                self._count(-1, "xid", e)
                self._stop.wait(1.0)
                continue
            if data.eventType & N.nvmlEventTypeXidCriticalError:
                try:
                    gpu = by_handle.get(N.nvmlDeviceGetUUID(data.device))
                except N.NVMLError:
                    gpu = None
                if gpu is not None:
                    gpu.xid = int(data.eventData)
        try:
            N.nvmlEventSetFree(event_set)
        except N.NVMLError:
            pass

    def close(self):
        self._stop.set()
        if self._xid_thread is not None:
            self._xid_thread.join(2.0)
        if self._watchdog is not None:
            self._watchdog.join(2.0)
        for gpu in self.gpus:
            if gpu.jobs is not None:
                gpu.jobs.put(None)

    # -- one scrape ----------------------------------------------------------------------
    def _calls_of(self, h, calls, values, errors):
        """The direct calls (shared ones once) of one device into values."""
        shared = {}
        for name, call in calls:
            try:
                if isinstance(call, _Part):
                    answer = shared.get(call.call)
                    if answer is None:
                        try:
                            answer = call.call(h)
                        except N.NVMLError as e:
                            answer = e
                        shared[call.call] = answer
                    if isinstance(answer, BaseException):
                        raise answer
                    values[name] = call.extract(answer)
                else:
                    values[name] = call(h)
            except N.NVMLError_NotSupported:
                pass
            except N.NVMLError_GpuIsLost:
                raise
            except N.NVMLError as e:
                errors.append((name, e))

    def _gpm_of(self, samples, values, errors):
        try:
            answers = samples.read()
        except (N.NVMLError_GpuIsLost, N.NVMLError_NotSupported):
            raise
        except N.NVMLError as e:
            errors.append(("gpm", e))
            return
        for (name, g), (rc, v) in zip(self._gpm, answers or ()):
            if rc == N.NVML_SUCCESS:
                values[name] = v * g.scale
            elif rc != N.NVML_ERROR_NOT_SUPPORTED:
                errors.append((name, N.NVMLError(rc)))

    def _processes_of(self, gpu, values, mig_values, errors):
        seen = set()
        for kind, fn in (("compute", N.nvmlDeviceGetComputeRunningProcesses),
                         ("graphics", N.nvmlDeviceGetGraphicsRunningProcesses)):
            try:
                procs = fn(gpu.handle)
            except N.NVMLError_NotSupported:
                continue
            except N.NVMLError_GpuIsLost:
                raise
            except N.NVMLError as e:
                errors.append(("pynvml_exporter_process_fb_used", e))
                continue
            for p in procs:
                if p.usedGpuMemory is None or (p.pid, kind) in seen:
                    continue        # NVML could not say (no privilege, WDDM)
                seen.add((p.pid, kind))
                target = values
                gi = getattr(p, "gpuInstanceId", _NO_INSTANCE)
                if gi != _NO_INSTANCE and gi in mig_values:
                    target = mig_values[gi]
                target.setdefault("pynvml_exporter_process_fb_used", []).append(
                    (',pid="%d",type="%s"' % (p.pid, kind), _nearest_mib(p.usedGpuMemory)))

    def _read(self, gpu):
        """({name: value}, [(name, NVMLError), ...], [(_Mig, {name: value}), ...]) of one GPU
        and its MIG instances.  A lost GPU raises NVMLError_GpuIsLost."""
        h = gpu.handle
        values, errors = {}, []
        if self._fields:
            try:
                fv = N.nvmlDeviceGetFieldValues(h, self._fields)
            except N.NVMLError_NotSupported:      # no field at all on this GPU
                fv = None
            if fv is not None:
                for name, slots in self._slots.items():
                    total, ok = 0, True
                    for s in slots:
                        v = fv[s]
                        if v.nvmlReturn != N.NVML_SUCCESS:
                            ok = False
                            if v.nvmlReturn == N.NVML_ERROR_GPU_IS_LOST:
                                raise N.NVMLError(v.nvmlReturn)
                            if v.nvmlReturn != N.NVML_ERROR_NOT_SUPPORTED:
                                errors.append((name, N.NVMLError(v.nvmlReturn)))
                            break
                        total += _field_value(v)
                    if ok:
                        values[name] = total
        if self._batch:
            answers = batch.query([(h, metric) for _, metric in self._batch])
            for (name, _), v in zip(self._batch, answers):
                if isinstance(v, N.NVMLError_GpuIsLost):
                    raise v
                if isinstance(v, N.NVMLError):
                    if not isinstance(v, N.NVMLError_NotSupported):
                        errors.append((name, v))
                elif isinstance(v, (int, float)):
                    values[name] = v
        self._calls_of(h, self._calls, values, errors)
        if gpu.gpm is not None:
            try:
                self._gpm_of(gpu.gpm, values, errors)
            except N.NVMLError_NotSupported:     # GPM off (MIG mode on, say): not asked again
                gpu.gpm.free()
                gpu.gpm = None
        mig_results = []
        if self._mig_wanted and (gpu.mig_checked is None or time.monotonic() - gpu.mig_checked > _MIG_REFRESH_S):
            try:
                self._list_mig(gpu)
            except N.NVMLError_GpuIsLost:
                raise
            except N.NVMLError as e:
                errors.append(("mig", e))
        mig_values = {}
        for gi, mig in gpu.mig.items():
            mv = mig_values[gi] = {}
            self._calls_of(mig.handle, self._mig_calls, mv, errors)
            if mig.gpm is not None:
                try:
                    self._gpm_of(mig.gpm, mv, errors)
                except N.NVMLError_NotSupported:
                    mig.gpm.free()
                    mig.gpm = None
            mig_results.append((mig, mv))
        if self._processes:
            self._processes_of(gpu, values, mig_values, errors)
        return values, errors, mig_results

    def _finish(self, gpu, job):
        """(gpu, values, mig results) of a job that has ended, errors counted."""
        if job.error is not None:
            self._count(gpu.index, "scrape", job.error)
            return (gpu, None, ())
        values, errors, mig_results = job.value
        for name, e in errors:
            self._count(gpu.index, name, e)
        if self._xid:
            values["DCGM_FI_DEV_XID_ERRORS"] = gpu.xid
        return (gpu, values, mig_results)

    def _ask(self, gpu, wait_until=None):
        """A new job for this GPU, or None (and counted) where it has no handle or its last
        read has not come back.  With wait_until, a read of another scrape that is not yet
        late is waited for until then (two Prometheus servers scraping at once)."""
        if gpu.handle is None:
            return None
        while True:
            with self._state:
                last = gpu.pending
                if last is None or last.done.is_set():
                    gpu.pending = _Job(lambda: self._read(gpu))
                    return gpu.pending
            now = time.monotonic()
            # a read older than a scrape's budget hangs: not waited for
            if (wait_until is None or now - last.started >= self.timeout - self._tick()
                    or not last.done.wait(max(0.0, wait_until - now))):
                self._count(gpu.index, "scrape", "busy")
                return None

    def collect(self):
        """[(gpu, {name: value} or None, [(mig, {name: value}), ...]), ...]: each GPU's values
        within the timeout, read on each GPU's thread (on this one where inline)."""
        deadline = time.monotonic() + self.timeout
        asked = []
        for gpu in self.gpus:
            job = self._ask(gpu)
            if job is not None and gpu.jobs is not None:
                gpu.jobs.put(job)
            asked.append((gpu, job))
        results = []
        for gpu, job in asked:
            if job is None:
                results.append((gpu, None, ()))
                continue
            if gpu.jobs is None:
                job.run()                # inline (an Exporter of inline=True called directly)
            if not job.done.wait(max(0.0, deadline - time.monotonic())):
                self._count(gpu.index, "scrape", "Timeout")
                results.append((gpu, None, ()))
                continue
            results.append(self._finish(gpu, job))
        return results

    def _render(self, results, start):
        entities = []            # (label text, values) of each GPU and MIG instance
        for gpu, values, mig_results in results:
            if values is not None:
                entities.append((gpu.label_text, values))
                entities.extend((mig.label_text, mv) for mig, mv in mig_results)
        out = []
        for name, header in self._headers:
            lines = []
            for label_text, values in entities:
                v = values.get(name)
                if v is None:
                    continue
                if isinstance(v, list):
                    lines.extend("%s{%s%s} %s" % (name, label_text, extra, _number(x)) for extra, x in v)
                else:
                    lines.append("%s{%s} %s" % (name, label_text, _number(v)))
            if lines:
                out.append(header)
                out.append("\n".join(lines) + "\n")
        out.append("# HELP pynvml_exporter_gpu_up 1 when this GPU's metrics were read in this scrape.\n"
                   "# TYPE pynvml_exporter_gpu_up gauge\n")
        for gpu, values, _ in results:
            out.append("pynvml_exporter_gpu_up{%s} %d\n" % (gpu.label_text, values is not None))
        out.append("# HELP pynvml_exporter_errors_total NVML calls that failed (not 'not supported'), "
                   "timed out or were skipped while an earlier one hung.\n"
                   "# TYPE pynvml_exporter_errors_total counter\n")
        with self._state:
            errors = sorted(self.errors.items(), key=str)
        for (index, what, error), count in errors:
            gpu_label = str(index) if index >= 0 else ""
            out.append('pynvml_exporter_errors_total{gpu="%s",metric="%s",error="%s"} %d\n'
                       % (gpu_label, _escape(what), _escape(str(error)), count))
        out.append("# HELP pynvml_exporter_scrape_duration_seconds Time this scrape took.\n"
                   "# TYPE pynvml_exporter_scrape_duration_seconds gauge\n"
                   "pynvml_exporter_scrape_duration_seconds %.6f\n" % (time.monotonic() - start))
        return "".join(out)

    def scrape(self):
        """One /metrics answer: every GPU read on a thread of its own, waited for up to the
        timeout (an inline Exporter reads here, with no bound: serve() is bounded)."""
        with self._lock:
            start = time.monotonic()
            return self._render(self.collect(), start)

    # -- inline reads, bounded by the watchdog ------------------------------------------------
    def serve(self, send):
        """One /metrics answer given to ``send(text)`` within the timeout.  Threaded, this
        is send(scrape()).  Inline, the GPU is read on this thread; should the read hang,
        the watchdog sends the answer without it at the deadline, and this thread's own,
        when its read comes back, is dropped."""
        if not self.inline:
            send(self.scrape())
            return
        start = time.monotonic()
        answer = _Answer(send, start + self.timeout)
        with self._state:
            self._waiting.append(answer)
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="pynvml-exporter-watchdog",
                                                  daemon=True)
                self._watchdog.start()
        try:
            for gpu in self.gpus:
                job = self._ask(gpu, answer.deadline - self._tick())
                if job is None:
                    answer.results.append((gpu, None, ()))
                    continue
                job.run()
                if answer.given:         # too late: the watchdog answered, the GPU was counted
                    return
                answer.results.append(self._finish(gpu, job))
            answer.give(self._render(answer.results, start))
        finally:
            with self._state:
                self._waiting.remove(answer)

    def _tick(self):
        return min(0.25, self.timeout / 4)

    def _watch(self):
        """Answers the inline scrapes whose read has not come back by their deadline."""
        tick = self._tick()
        while not self._stop.wait(tick):
            now = time.monotonic()
            with self._state:
                late = [a for a in self._waiting if not a.given and now >= a.deadline - tick]
            for a in late:
                results = list(a.results)
                for gpu in self.gpus[len(results):]:
                    results.append((gpu, None, ()))
                    if gpu.pending is not None and not gpu.pending.done.is_set():
                        self._count(gpu.index, "scrape", "Timeout")
                try:
                    a.give(self._render(results, a.deadline - self.timeout))
                except OSError:          # the scraper hung up: nothing to answer
                    pass


def _escape(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels):
    return ",".join('%s="%s"' % (k, _escape(labels[k])) for k in _LABELS if k in labels)


def _number(v):
    if isinstance(v, float):
        return repr(v)
    return str(int(v))


def _gi_profile(h, gi, mig):
    """dcgm-exporter's GPU_I_PROFILE of GPU instance `gi` ("1g.10gb"): its profile's name,
    less NVML's "MIG " (from the name of its MIG device where the instance cannot be asked)."""
    try:
        profile_id = N.nvmlGpuInstanceGetInfo(N.nvmlDeviceGetGpuInstanceById(h, gi)).profileId
        try:
            name = N.nvmlDeviceGetGpuInstanceProfileInfoByIdV(h, profile_id).name
        except (N.NVMLError_FunctionNotFound, N.NVMLError_NotSupported):
            name = None
            for p in range(N.NVML_GPU_INSTANCE_PROFILE_COUNT):
                try:
                    info = N.nvmlDeviceGetGpuInstanceProfileInfo(h, p)
                except N.NVMLError:
                    continue
                if info.id == profile_id:
                    name = info.name
                    break
        if name is None:
            raise N.NVMLError(N.NVML_ERROR_NOT_FOUND)
    except N.NVMLError:
        # "NVIDIA H100 80GB HBM3 MIG 1c.2g.20gb": a compute instance's name, its GI's after "c."
        name = N.nvmlDeviceGetName(mig).rsplit("MIG ", 1)[-1]
        name = re.sub(r"^\d+c\.", "", name)
    if isinstance(name, bytes):
        name = name.decode()
    return name[4:] if name.startswith("MIG ") else name


# -- the command line ----------------------------------------------------------------------
class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _Usage("pynvml-exporter: %s (pynvml-exporter --help)" % message)


def _parser():
    p = _Parser(prog="pynvml-exporter",
                description="GPU metrics for Prometheus under dcgm-exporter's names (pynvml.exporter).")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all, 0.0.0.0)")
    p.add_argument("-p", "--port", type=int, default=9400, help="port (default 9400, as dcgm-exporter)")
    p.add_argument("-f", "--collectors", metavar="FILE",
                   help="counters file in dcgm-exporter's CSV form: the metrics to export (default: all)")
    p.add_argument("--timeout", type=float, default=2.0,
                   help="longest a scrape waits for a GPU, in seconds (default 2)")
    p.add_argument("--hostname", help="the Hostname label (default: $NODE_NAME, else this host's name)")
    p.add_argument("--once", action="store_true", help="print one scrape on stdout and exit")
    return p


class _Handler(BaseHTTPRequestHandler):
    """/metrics: one scrape of the server's exporter."""

    def do_GET(self):
        if self.path.split("?")[0] == "/metrics":
            self.server.exporter.serve(self._send_metrics)
            return
        if self.path == "/":
            body, ctype, code = b"<html><body><a href=\"/metrics\">/metrics</a></body></html>\n", "text/html", 200
        else:
            body, ctype, code = b"not found: try /metrics\n", "text/plain", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_metrics(self, text):
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, exporter):
        self.exporter = exporter
        super().__init__(address, _Handler)


def _serve(exporter, host, port):
    server = _Server((host, port), exporter)
    sys.stderr.write("pynvml-exporter: serving /metrics of %d GPU(s) on %s:%d\n"
                     % (len(exporter.gpus), host, server.server_address[1]))
    sys.stderr.flush()
    server.serve_forever()


def main(argv=None):
    """The command line: pynvml-exporter / python -m pynvml.exporter."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        opts = _parser().parse_args(argv)
        if not 0 < opts.port < 65536:
            raise _Usage("pynvml-exporter: --port %d is not a TCP port (1-65535)" % opts.port)
        if not opts.timeout > 0:
            raise _Usage("pynvml-exporter: --timeout must be above 0 seconds")
        counters = None
        if opts.collectors:
            try:
                counters = parse_counters(opts.collectors,
                                          warn=lambda line: sys.stderr.write("pynvml-exporter: %s\n" % line))
            except CountersError as e:
                raise _Usage("pynvml-exporter: %s" % e) from None
            if not counters:
                raise _Usage("pynvml-exporter: counters file %s names no metric this exporter gives"
                             % opts.collectors)
    except _Usage as e:
        sys.stderr.write("%s\n" % e)
        return 2
    try:
        N.nvmlInit()
    except N.NVMLError as e:
        sys.stderr.write("pynvml-exporter: NVML cannot start: %s\n" % e)
        return 1
    # --once prints scrape(), bounded by the timeout only where each GPU has its thread
    exporter = Exporter(counters, timeout=opts.timeout, hostname=opts.hostname, inline=False if opts.once else None)
    try:
        if opts.once:
            if exporter._gpm_ids:    # GPM's first interval: from the exporter's start
                time.sleep(GPM_MIN_INTERVAL)
            sys.stdout.write(exporter.scrape())
            return 0
        _serve(exporter, opts.host, opts.port)
    except OSError as e:
        sys.stderr.write("pynvml-exporter: cannot listen on %s:%d: %s\n" % (opts.host, opts.port, e.strerror or e))
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        exporter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
