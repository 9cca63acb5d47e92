"""pynvml.exporter: each GPU's metrics for Prometheus, under dcgm-exporter's names.

    pynvml-exporter [--host ADDR] [--port 9400] [-f COUNTERS.csv] [--timeout SEC] [--once]
    python -m pynvml.exporter ...

Serves ``/metrics`` in Prometheus's text format: for every GPU the ``DCGM_FI_DEV_*``
metrics of NVIDIA's dcgm-exporter that NVML gives directly (``METRICS`` below), with the
same names, types, units and labels (``gpu``, ``UUID``, ``pci_bus_id``, ``device``,
``modelName``, ``Hostname``), so that dashboards and alert rules written for
dcgm-exporter work unchanged.  ``-f`` takes a counters file in dcgm-exporter's CSV form
(``DCGM FIELD, type, help`` a line, ``#`` comments): only those metrics are exported,
with that file's types and help.  A field of dcgm-exporter that NVML cannot give (a DCGM
profiling field, say) is named on stderr once and left out; a line that is no field at
all, or a type other than gauge or counter, is one clear line and exit status 2.

A scrape costs per GPU one nvmlDeviceGetFieldValues for every field-valued metric, one
``pynvml.batch.query`` for the slow samplers (PCIe throughput: both directions at once)
and a direct call for each of the others, made on a thread of that GPU's own, all GPUs
side by side.  A scrape never waits past ``--timeout`` (default 2 s): a GPU whose calls hang
(a driver stuck, the simulator's ``delay_ms``) or is lost gets ``pynvml_exporter_gpu_up``
0 and a count in ``pynvml_exporter_errors_total`` while the others are served; a hung GPU
is not asked again until its earlier call has come back, so threads never pile up.
XID errors come from a thread that waits on an NVML event set (``DCGM_FI_DEV_XID_ERRORS``
is the last XID seen on that GPU, 0 before any, as dcgm-exporter).

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

import pynvml as N
from pynvml import batch

__all__ = ["METRICS", "Exporter", "parse_counters", "main"]

_MiB = 1 << 20
_ALL_LINKS = 0xFFFFFFFF


def _clock(kind):
    return lambda h: N.nvmlDeviceGetClockInfo(h, kind)


def _memory(attr):
    # MiB rounded to the nearest, as nvidia-smi shows them (floored, the H200's 616 MiB
    # reserved read 615)
    return lambda h: (getattr(N.nvmlDeviceGetMemoryInfo(h, N.nvmlMemory_v2), attr) + _MiB // 2) // _MiB


class _Batch(str):
    """A metric of pynvml.batch.query: the slow calls, made concurrently."""


# name -> (type, help, source): source is a tuple of NVML field ids (their values summed,
# each read with scope 0 unless the id is a pair (id, scope)), a metric of pynvml.batch
# (_Batch) or a function of the handle.
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
    "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %).",
                             lambda h: N.nvmlDeviceGetUtilizationRates(h).gpu),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("gauge", "Memory utilization (in %).",
                                  lambda h: N.nvmlDeviceGetUtilizationRates(h).memory),
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
}
# dcgm-exporter's newer name of the same field
_ALIASES = {"DCGM_FI_DEV_CLOCKS_EVENT_REASONS": "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS"}

_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname")


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
        if not name.startswith("DCGM_") or not name.replace("_", "").isalnum():
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
    """One read of one GPU, answered by its worker thread."""
    __slots__ = ("fn", "done", "value", "error")

    def __init__(self, fn):
        self.fn = fn
        self.done = threading.Event()
        self.value = self.error = None


def _work(jobs):
    while True:
        job = jobs.get()
        if job is None:
            return
        try:
            job.value = job.fn()
        except BaseException as e:   # handed to the scrape that asked
            job.error = e
        job.done.set()


class _Gpu:
    def __init__(self, index, handle, labels):
        self.index = index
        self.handle = handle
        self.labels = labels
        self.pending = None      # the job of the last scrape (still running where it hung)
        self.xid = 0
        # a daemon thread of its own: a GPU that hangs holds only it, and never the exit
        self.jobs = queue.SimpleQueue()
        threading.Thread(target=_work, args=(self.jobs,), name="pynvml-exporter-gpu%d" % index,
                         daemon=True).start()

    def submit(self, fn):
        self.pending = _Job(fn)
        self.jobs.put(self.pending)
        return self.pending


class Exporter:
    """The metrics of all GPUs; ``scrape()`` is one /metrics answer (a str)."""

    def __init__(self, counters=None, timeout=2.0, hostname=None):
        self.counters = counters if counters is not None else [(n, m[0], m[1]) for n, m in METRICS.items()]
        self.timeout = timeout
        hostname = hostname or os.environ.get("NODE_NAME") or socket.gethostname()
        # the field ids of the chosen metrics, in one list: one nvmlDeviceGetFieldValues a GPU
        self._fields, self._calls, self._slots, self._batch = [], [], {}, []
        for name, _, _ in self.counters:
            source = METRICS[name][2]
            if isinstance(source, _Batch):
                self._batch.append((name, source))
            elif isinstance(source, tuple):
                slots = []
                for f in source:
                    slots.append(len(self._fields))
                    self._fields.append(f)
                self._slots[name] = slots
            elif callable(source):
                self._calls.append((name, source))
        self._lock = threading.Lock()
        self.errors = {}         # (gpu index, what, error) -> count
        self.gpus = []
        for i in range(N.nvmlDeviceGetCount()):
            self.gpus.append(self._open(i, hostname))
        self._stop = threading.Event()
        self._xid_thread = None
        if any(n == "DCGM_FI_DEV_XID_ERRORS" for n, _, _ in self.counters):
            self._xid_thread = threading.Thread(target=self._watch_xids, name="pynvml-exporter-xid", daemon=True)
            self._xid_thread.start()

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
        return _Gpu(index, handle, labels)

    def _count(self, index, what, e):
        key = (index, what, _error_name(e) if not isinstance(e, str) else e)
        self.errors[key] = self.errors.get(key, 0) + 1

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
        for gpu in self.gpus:
            gpu.jobs.put(None)

    # -- one scrape ----------------------------------------------------------------------
    def _read(self, gpu):
        """{name: value} of one GPU, and [(name, NVMLError), ...] for the calls that failed.
        A lost GPU raises NVMLError_GpuIsLost."""
        h = gpu.handle
        values, errors = {}, []
        if self._fields:
            fv = N.nvmlDeviceGetFieldValues(h, self._fields)
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
        for name, call in self._calls:
            try:
                values[name] = call(h)
            except N.NVMLError_NotSupported:
                pass
            except N.NVMLError_GpuIsLost:
                raise
            except N.NVMLError as e:
                errors.append((name, e))
        return values, errors

    def collect(self):
        """[(gpu, {name: value} or None), ...]: each GPU's values within the timeout."""
        deadline = time.monotonic() + self.timeout
        asked = []
        for gpu in self.gpus:
            if gpu.handle is None:
                asked.append((gpu, "no handle"))
            elif gpu.pending is not None and not gpu.pending.done.is_set():
                self._count(gpu.index, "scrape", "busy")
                asked.append((gpu, "busy"))
            else:
                asked.append((gpu, gpu.submit(lambda gpu=gpu: self._read(gpu))))
        results = []
        for gpu, job in asked:
            if isinstance(job, str):
                results.append((gpu, None))
                continue
            if not job.done.wait(max(0.0, deadline - time.monotonic())):
                self._count(gpu.index, "scrape", "Timeout")
                results.append((gpu, None))
                continue
            if job.error is not None:
                self._count(gpu.index, "scrape", job.error)
                results.append((gpu, None))
                continue
            values, errors = job.value
            for name, e in errors:
                self._count(gpu.index, name, e)
            if "DCGM_FI_DEV_XID_ERRORS" in (n for n, _, _ in self.counters):
                values["DCGM_FI_DEV_XID_ERRORS"] = gpu.xid
            results.append((gpu, values))
        return results

    def scrape(self):
        with self._lock:
            start = time.monotonic()
            results = self.collect()
            out = []
            for name, kind, help_ in self.counters:
                lines = []
                for gpu, values in results:
                    if values is not None and name in values:
                        lines.append("%s{%s} %s" % (name, _labels(gpu.labels), _number(values[name])))
                if lines:
                    out.append("# HELP %s %s\n# TYPE %s %s\n" % (name, _escape_help(help_), name, kind))
                    out.append("\n".join(lines) + "\n")
            out.append("# HELP pynvml_exporter_gpu_up 1 when this GPU's metrics were read in this scrape.\n"
                       "# TYPE pynvml_exporter_gpu_up gauge\n")
            for gpu, values in results:
                out.append("pynvml_exporter_gpu_up{%s} %d\n" % (_labels(gpu.labels), values is not None))
            out.append("# HELP pynvml_exporter_errors_total NVML calls that failed (not 'not supported'), "
                       "timed out or were skipped while an earlier one hung.\n"
                       "# TYPE pynvml_exporter_errors_total counter\n")
            for (index, what, error), count in sorted(self.errors.items(), key=str):
                gpu_label = str(index) if index >= 0 else ""
                out.append('pynvml_exporter_errors_total{gpu="%s",metric="%s",error="%s"} %d\n'
                           % (gpu_label, _escape(what), _escape(str(error)), count))
            out.append("# HELP pynvml_exporter_scrape_duration_seconds Time this scrape took.\n"
                       "# TYPE pynvml_exporter_scrape_duration_seconds gauge\n"
                       "pynvml_exporter_scrape_duration_seconds %.6f\n" % (time.monotonic() - start))
            return "".join(out)


def _escape(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels):
    return ",".join('%s="%s"' % (k, _escape(labels[k])) for k in _LABELS)


def _number(v):
    if isinstance(v, float):
        return repr(v)
    return str(int(v))


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
            body = self.server.exporter.scrape().encode()
            ctype, code = "text/plain; version=0.0.4; charset=utf-8", 200
        elif self.path == "/":
            body, ctype, code = b"<html><body><a href=\"/metrics\">/metrics</a></body></html>\n", "text/html", 200
        else:
            body, ctype, code = b"not found: try /metrics\n", "text/plain", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
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
    exporter = Exporter(counters, timeout=opts.timeout, hostname=opts.hostname)
    try:
        if opts.once:
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
