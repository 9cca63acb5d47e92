"""The views of nvidia-smi 580 beyond --query-gpu and -q: the summary table, -q -d SECTION,
--query-compute-apps and the other list queries, dmon, pmon, topo -m, nvlink -s, mig -lgip /
-lgi / -lci, --version.

Each view is two functions: one gathers the data (a dict, or a list of dicts: what
``nvidia_smi``'s methods return), one lays it out as nvidia-smi 580 prints it (column
widths measured on the captures in tests/data/reference/h200/).  Values come from the query
engine of pynvml.smi (the same NVML calls and formatting as --query-gpu and -q) where it has
them, and from pynvml's functions otherwise.  Nothing here changes a GPU's state.

Imported by pynvml.smi only when one of these views is asked for.
"""
import time

import pynvml
from pynvml import smi as _smi

_NA = "N/A"
_NO_VALUE = 0xFFFFFFFF          # a process outside any MIG instance: gpuInstanceId / computeInstanceId


def _handles(devices):
    count = pynvml.nvmlDeviceGetCount()
    idx = list(range(count)) if devices is None else list(devices)
    return [(i, pynvml.nvmlDeviceGetHandleByIndex(i)) for i in idx]


def _rows(keys, devices, mode=_smi._MODE_XML):
    """Per GPU, the engine's values of these items (by key), as a dict."""
    items = [_smi._BY_KEY[k] for k in keys]
    _, rows = _smi._query(items, devices, mode)
    return [dict(zip(keys, row)) for row in rows]


def _try(fn, *args, default=None, **kwargs):
    try:
        return fn(*args, **kwargs)
    except pynvml.NVMLError:
        return default


def _timestamp_text(t=None):
    """nvidia-smi's time: 'Tue Dec  1 22:16:45 2026' (the day padded with a space)."""
    tm = time.localtime(t)
    return time.strftime("%a %b ", tm) + "%2d" % tm.tm_mday + time.strftime(" %H:%M:%S %Y", tm)


def _cuda_version(v):
    return "%d.%d" % (v // 1000, (v % 1000) // 10)


# --------------------------------------------------------------------------------------
# --version
# --------------------------------------------------------------------------------------

def version():
    """{'pynvml': ..., 'driver': '580.159.04', 'nvml': '580.159', 'cuda': '13.0'}"""
    drv = pynvml.nvmlSystemGetDriverVersion()
    nvml = _try(pynvml.nvmlSystemGetNVMLVersion, default=_NA)
    parts = nvml.split(".")
    if len(parts) == 4:             # 13.580.159.04: the API version, then the driver's
        nvml = ".".join(parts[1:3])
    cuda = _try(pynvml.nvmlSystemGetCudaDriverVersion)
    return {"pynvml": pynvml.__version__, "driver": drv, "nvml": nvml,
            "cuda": _cuda_version(cuda) if cuda is not None else _NA}


def render_version(v):
    return ("pynvml-smi version  : %s\nNVML version        : %s\nDRIVER version      : %s\n"
            "CUDA Version        : %s\n" % (v["pynvml"], v["nvml"], v["driver"], v["cuda"]))


# --------------------------------------------------------------------------------------
# The summary table (nvidia-smi with no argument)
# --------------------------------------------------------------------------------------

_SUMMARY_KEYS = ["name", "persistence_mode", "pci.bus_id", "display_active",
                 "ecc.errors.uncorrected.volatile.total", "fan.speed", "temperature.gpu", "pstate",
                 "power.draw", "power.limit", "memory.used", "memory.total", "utilization.gpu",
                 "compute_mode", "mig.mode.current", "index", "ecc.mode.current"]


def _mig_devices(i, h, full=True):
    """The MIG devices of GPU i (handle h, MIG mode on), in NVML's order (the MIG Dev column);
    full=False: their profile and UUID only (what -L shows)."""
    out = []
    for n in range(_try(pynvml.nvmlDeviceGetMaxMigDeviceCount, h, default=0) or 0):
        m = _try(pynvml.nvmlDeviceGetMigDeviceHandleByIndex, h, n)
        if m is None:
            continue
        name = _try(pynvml.nvmlDeviceGetName, m, default="")
        profile = name.rpartition(" MIG ")[2] if " MIG " in name else None
        if not full:
            out.append({"gpu": i, "mig_device": len(out), "profile": profile,
                        "uuid": _try(pynvml.nvmlDeviceGetUUID, m, default=_NA)})
            continue
        mem = _try(pynvml.nvmlDeviceGetMemoryInfo, m)
        bar1 = _try(pynvml.nvmlDeviceGetBAR1MemoryInfo, m)
        attrs = _try(pynvml.nvmlDeviceGetAttributes, m)
        ecc = _try(pynvml.nvmlDeviceGetTotalEccErrors, m, pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                   pynvml.NVML_VOLATILE_ECC)
        out.append({"gpu": i, "mig_device": len(out),
                    "gpu_instance_id": _try(pynvml.nvmlDeviceGetGpuInstanceId, m),
                    "compute_instance_id": _try(pynvml.nvmlDeviceGetComputeInstanceId, m),
                    "profile": profile,
                    "uuid": _try(pynvml.nvmlDeviceGetUUID, m, default=_NA),
                    "memory_used_mib": None if mem is None else mem.used >> 20,
                    "memory_total_mib": None if mem is None else mem.total >> 20,
                    "bar1_used_mib": None if bar1 is None else bar1.bar1Used >> 20,
                    "bar1_total_mib": None if bar1 is None else bar1.bar1Total >> 20,
                    "sm": None if attrs is None else attrs.multiprocessorCount,
                    "ecc_uncorrected_volatile": ecc,
                    # the engines the compute instance shares with the others of its GPU instance
                    "shared": None if attrs is None else {
                        "ce": attrs.sharedCopyEngineCount, "enc": attrs.sharedEncoderCount,
                        "dec": attrs.sharedDecoderCount, "ofa": attrs.sharedOfaCount,
                        "jpg": attrs.sharedJpegCount}})
    return out


def mig_devices(devices=None):
    """The MIG devices of the GPUs in MIG mode; None where no GPU is in MIG mode."""
    found = None
    for i, h in _handles(devices):
        if _mig_on(h):
            found = (found or []) + _mig_devices(i, h)
    return found


def _processes(devices):
    """Running processes of each GPU: compute, graphics and MPS, a pid once (type C, G, C+G, M)."""
    out = []
    for i, h in _handles(devices):
        seen = {}
        for kind, fn in (("C", pynvml.nvmlDeviceGetComputeRunningProcesses),
                         ("G", pynvml.nvmlDeviceGetGraphicsRunningProcesses),
                         ("M", pynvml.nvmlDeviceGetMPSComputeRunningProcesses)):
            for p in _try(fn, h, default=[]) or []:
                key = (p.pid, p.gpuInstanceId, p.computeInstanceId)
                if key in seen:
                    if kind not in seen[key]["type"]:
                        seen[key]["type"] += "+" + kind
                    continue
                used = p.usedGpuMemory
                seen[key] = {"gpu": i, "pid": p.pid, "type": kind,
                             "gpu_instance_id": None if p.gpuInstanceId == _NO_VALUE else p.gpuInstanceId,
                             "compute_instance_id": None if p.computeInstanceId == _NO_VALUE else p.computeInstanceId,
                             "used_memory_mib": None if used is None else used >> 20}
        for p in seen.values():
            p["process_name"] = _try(pynvml.nvmlSystemGetProcessName, p["pid"], default=_NA)
            out.append(p)
    return out


def summary(devices=None):
    """The data of nvidia-smi's table: versions, a dict per GPU, the processes."""
    v = version()
    gpus = []
    for row in _rows(_SUMMARY_KEYS, devices):
        gpus.append(dict(row))
    mig = mig_devices(devices) if any(g["mig.mode.current"] == "Enabled" for g in gpus) else None
    return {"timestamp": _timestamp_text(), "driver_version": v["driver"], "cuda_version": v["cuda"],
            "gpus": gpus, "mig_devices": mig, "processes": _processes(devices)}


def _num(text, unit):
    """'118.11 W' -> '118W' (rounded), 'N/A' as it is."""
    if not text[:1].isdigit():
        return _NA
    return "%.0f%s" % (float(text.split()[0]), unit)


def _mib(text):
    return text.split()[0] + "MiB" if text[:1].isdigit() else _NA


def _compact(text):
    """'34 C' -> '34C'; anything that is not a number -> 'N/A'."""
    return text.replace(" ", "") if text[:1].isdigit() else _NA


def _fit(text, width):
    return text if len(text) <= width else text[:width - 3] + "..."


def render_summary(s):
    bar = "+" + "-" * 89 + "+"
    cols = "+" + "-" * 41 + "+" + "-" * 24 + "+" + "-" * 22 + "+"
    out = [s["timestamp"] + "       ", bar,
           "| NVIDIA-SMI %-23sDriver Version: %-15sCUDA Version: %-9s|" % (
               s["driver_version"], s["driver_version"], s["cuda_version"]),
           cols,
           "| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |",
           "| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |",
           "|                                         |                        |               MIG M. |",
           "|" + "=" * 41 + "+" + "=" * 24 + "+" + "=" * 22 + "|"]
    for n, g in enumerate(s["gpus"]):
        if n:
            out.append(cols)
        pers = {"Enabled": "On", "Disabled": "Off"}.get(g["persistence_mode"], _NA)
        disp = {"Enabled": "On", "Disabled": "Off"}.get(g["display_active"], _NA)
        fan, temp, util = (_compact(g[k]) for k in ("fan.speed", "temperature.gpu", "utilization.gpu"))
        compute = {"Exclusive_Process": "E. Process", "Exclusive_Thread": "E. Thread"}.get(
            g["compute_mode"], g["compute_mode"])
        mig = g["mig.mode.current"] == "Enabled"
        # In MIG mode nvidia-smi (570 and later, in every public capture) shows the ECC mode
        # where the volatile count is, and N/A for the GPU's memory and utilization: those
        # belong to the MIG devices, in the block below.
        ecc = ({"Enabled": "On", "Disabled": "Off"}.get(g.get("ecc.mode.current"), _NA) if mig
               else g["ecc.errors.uncorrected.volatile.total"])
        # persistence mode left-aligned ("On  |", "Off |"); a name longer than 27 characters
        # cut to 24 and "..." (published captures: "NVIDIA GeForce RTX 4070 Ti" whole, longer
        # names cut so)
        out.append("|%4s  %-31s%-3s | %18s %3s |%21s |" % (
            g["index"], _fit(g["name"], 27), pers, g["pci.bus_id"], disp, ecc))
        memory = "%21s   " % _NA if mig else " %10s / %9s " % (_mib(g["memory.used"]), _mib(g["memory.total"]))
        out.append("| %3s %5s %5s %15s / %5s |%s| %7s%13s |" % (
            fan, temp, g["pstate"], _num(g["power.draw"], "W"), _num(g["power.limit"], "W"),
            memory, _NA if mig else util, compute))
        out.append("|%41s|%24s|%21s |" % ("", "", g["mig.mode.current"]))
    out += [cols, ""]
    if s.get("mig_devices") is not None:
        out += _render_mig_block(s["mig_devices"], bar)
    out += [bar,
            "| Processes:                                                                              |",
            "|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |",
            "|        ID   ID                                                               Usage      |",
            "|" + "=" * 89 + "|"]
    if not s["processes"]:
        out.append("|  %-87s|" % "No running processes found")
    for p in s["processes"]:
        gi = _NA if p["gpu_instance_id"] is None else str(p["gpu_instance_id"])
        ci = _NA if p["compute_instance_id"] is None else str(p["compute_instance_id"])
        name = p["process_name"]
        if len(name) > 36:
            name = "..." + name[-33:]
        mem = _NA if p["used_memory_mib"] is None else "%dMiB" % p["used_memory_mib"]
        out.append("|%5d %5s %4s%16d %6s   %-36s%10s |" % (p["gpu"], gi, ci, p["pid"], p["type"], name, mem))
    out.append(bar)
    return "\n".join(out) + "\n"


def _render_mig_block(migs, bar):
    """nvidia-smi's "MIG devices:" block (its layout as 570-580 print it), then the line of
    spaces it leaves before the processes."""
    cols = "+" + "-" * 18 + "+" + "-" * 34 + "+" + "-" * 11 + "+" + "-" * 23 + "+"
    out = [bar, "| %-88s|" % "MIG devices:", cols,
           "| GPU  GI  CI  MIG |                     Memory-Usage |        Vol|        Shared         |",
           "|      ID  ID  Dev |                       BAR1-Usage | SM     Unc| CE ENC  DEC  OFA  JPG |",
           "|                  |                                  |        ECC|                       |",
           "|" + "=" * 18 + "+" + "=" * 34 + "+" + "=" * 11 + "+" + "=" * 23 + "|"]
    if not migs:
        return out + ["|  %-87s|" % "No MIG devices found", bar, " " * 89]

    def num(v):
        return _NA if v is None else str(v)

    def pair(used, total, width, tail):
        if used is None or total is None:
            return "%*s%s" % (width + 11, _NA, tail)
        return "%*s / %5dMiB%s" % (width, "%dMiB" % used, total, tail)

    for d in migs:
        sh = d["shared"] or {}
        out.append("|%3s%5s%4s%4s  |%s|%3s%7s |%3s%4s%5s%5s%5s |" % (
            d["gpu"], num(d["gpu_instance_id"]), num(d["compute_instance_id"]), d["mig_device"],
            pair(d["memory_used_mib"], d["memory_total_mib"], 19, "    "),
            num(d["sm"]), num(d["ecc_uncorrected_volatile"]),
            *(num(sh.get(k)) for k in ("ce", "enc", "dec", "ofa", "jpg"))))
        out.append("|%18s|%s|%11s|%23s|" % ("", pair(d["bar1_used_mib"], d["bar1_total_mib"], 21, "  "), "", ""))
        out.append(cols)
    return out + [" " * 89]


def list_gpus(devices=None):
    out = []
    idx = list(range(pynvml.nvmlDeviceGetCount())) if devices is None else list(devices)
    rows = _rows(["name", "uuid", "mig.mode.current"], devices)
    mig = [i for i, row in zip(idx, rows) if row["mig.mode.current"] == "Enabled"]
    handles = dict(_handles(mig)) if mig else {}
    for i, row in zip(idx, rows):
        out.append({"index": i, "name": row["name"], "uuid": row["uuid"],
                    "mig_devices": _mig_devices(i, handles[i], full=False) if i in handles else []})
    return out


def render_list(gpus):
    out = []
    for g in gpus:
        out.append("GPU %d: %s (UUID: %s)\n" % (g["index"], g["name"], g["uuid"]))
        for d in g.get("mig_devices", ()):
            out.append("  MIG %-12sDevice %2d: (UUID: %s)\n" % (d["profile"] or _NA, d["mig_device"], d["uuid"]))
    return "".join(out)


# --------------------------------------------------------------------------------------
# -q -d SECTION
# --------------------------------------------------------------------------------------

# Each section: the elements of -q -x's <gpu> it shows, and the samples it adds after the
# element named (nvmlDeviceGetSamples: type, label, unit).
_SAMPLES = {
    "UTILIZATION": ("utilization", [(1, "GPU Utilization Samples", "%"), (2, "Memory Utilization Samples", "%"),
                                    (3, "ENC Utilization Samples", "%"), (4, "DEC Utilization Samples", "%"),
                                    (8, "JPG Utilization Samples", "%"), (9, "OFA Utilization Samples", "%")]),
    "POWER": ("gpu_power_readings", [(0, "Power Samples", "W")]),
    "CLOCK": ("max_customer_boost_clocks", [(5, "SM Clock Samples", "MHz"), (6, "Memory Clock Samples", "MHz")]),
}
SECTIONS = {
    "MEMORY": ["fb_memory_usage", "bar1_memory_usage", "cc_protected_memory_usage"],
    "UTILIZATION": ["utilization"],
    "ECC": ["ecc_mode", "ecc_errors"],
    "TEMPERATURE": ["temperature"],
    "POWER": ["gpu_power_readings", "gpu_memory_power_readings", "module_power_readings"],
    "CLOCK": ["clocks", "applications_clocks", "default_applications_clocks", "deferred_clocks", "max_clocks",
              "max_customer_boost_clocks", "clock_policy"],
    "COMPUTE": ["compute_mode"],
    "PIDS": ["processes"],
    "PERFORMANCE": ["performance_state", "clocks_event_reasons", "clocks_event_reasons_counters",
                    "sparse_operation_mode"],
    "SUPPORTED_CLOCKS": ["supported_clocks"],
    "PAGE_RETIREMENT": ["retired_pages"],
    "ACCOUNTING": ["accounting_mode", "accounting_mode_buffer_size", "accounted_processes"],
    "ENCODER_STATS": ["encoder_stats"],
    "SUPPORTED_GPU_TARGET_TEMP": ["supported_gpu_target_temp"],
    "VOLTAGE": ["voltage"],
    "FBC_STATS": ["fbc_stats"],
    "ROW_REMAPPER": ["remapped_rows"],
    "GSP_FIRMWARE_VERSION": ["gsp_firmware_version"],
    "POWER_SMOOTHING": ["power_smoothing"],
    "POWER_PROFILES": ["power_profiles"],
}


def parse_sections(text):
    """'MEMORY,utilization' -> ['MEMORY', 'UTILIZATION']; ValueError for an unknown one."""
    names = [s.strip().upper() for s in text.split(",")]
    if not names or any(n not in SECTIONS for n in names):
        raise ValueError("Failed to parse --display/-d flags")
    return names


def samples(handle, kind):
    """nvmlDeviceGetSamples as nvidia-smi -q -d shows it: duration (s), count, max, min, avg (or None)."""
    try:
        vtype, vals = pynvml.nvmlDeviceGetSamples(handle, kind, 0)
    except pynvml.NVMLError:
        return None
    if not vals:
        return None
    field = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal", 6: "usVal"}.get(vtype, "uiVal")
    values = [getattr(s.sampleValue, field) for s in vals]
    duration = (vals[-1].timeStamp - vals[0].timeStamp) / 1e6
    return {"duration_s": duration, "count": len(values), "max": max(values), "min": min(values),
            "avg": sum(values) / len(values)}


def _sample_lines(s, label, unit, depth=1):
    pad = "    " * depth

    def line(name, value):
        return "%-55s: %s" % (pad + "    " + name, value)

    out = [pad + label]
    if s is None:
        return out + [line(n, "Not Found") for n in ("Duration", "Number of Samples", "Max", "Min", "Avg")]
    if unit == "W":
        val = lambda v: "%.2f W" % (v / 1000.0)     # noqa: E731 (mW)
    else:
        val = lambda v: "%d %s" % (v, unit)         # noqa: E731
    return out + [line("Duration", "%.2f sec" % s["duration_s"]), line("Number of Samples", s["count"]),
                  line("Max", val(s["max"])), line("Min", val(s["min"])), line("Avg", val(int(s["avg"])))]


def query_sections(sections, devices=None):
    """The -q tree limited to these sections, as a dict per GPU (with the samples)."""
    want = {tag for sec in sections for tag in SECTIONS[sec]}
    items = [it for it in _smi._ITEMS if it.in_full_xml and (it.is_global or it.xml_path[0] in want)]
    items = [it for it in items if not it.is_global or it.xml_path[0] in ("timestamp", "driver_version",
                                                                            "cuda_version", "attached_gpus")]
    tree = _smi._xml_tree(items, devices)
    extra = {}
    for i, h in _handles(devices):
        for sec in sections:
            if sec in _SAMPLES:
                after, kinds = _SAMPLES[sec]
                extra.setdefault(i, []).append((after, [(label, unit, samples(h, k)) for k, label, unit in kinds]))
    return tree, extra


def render_sections(tree, extra, sections, devices=None):
    idx = list(range(pynvml.nvmlDeviceGetCount())) if devices is None else list(devices)
    shown = set()
    for sec in sections:
        shown.update(SECTIONS[sec])
    text = _smi._render_text(tree, keep=shown)
    # the samples go after their section's element in each GPU's block
    blocks = text.split("\nGPU ")
    for n, i in enumerate(idx):
        if i not in extra or n + 1 >= len(blocks):
            continue
        lines = blocks[n + 1].split("\n")
        for after, groups in extra[i]:
            label = _smi._LABELS.get(after)
            at = None
            for k, line in enumerate(lines):
                if line == "    " + label:
                    at = k + 1
                    while at < len(lines) and lines[at].startswith("        "):
                        at += 1
            if at is None:
                continue
            add = []
            for lab, unit, s in groups:
                add += _sample_lines(s, lab, unit)
            lines[at:at] = add
        blocks[n + 1] = "\n".join(lines)
    return "\nGPU ".join(blocks)


# --------------------------------------------------------------------------------------
# --query-compute-apps, --query-accounted-apps, --query-retired-pages,
# --query-remapped-rows, --query-supported-clocks
# --------------------------------------------------------------------------------------

_COMMON = [("timestamp", "timestamp", "The time of the query, as YYYY/MM/DD HH:MM:SS.msec."),
           ("gpu_name", "name", "The GPU's product name."),
           ("gpu_bus_id", "pci.bus_id", "The GPU's PCI bus id, as domain:bus:device.function in hex."),
           ("gpu_serial", "serial", "The serial number printed on the board."),
           ("gpu_uuid", "uuid", "The GPU's globally unique id.")]

# name, aliases, unit, help
LIST_QUERIES = {
    "compute-apps": [("pid", (), None, "The process id."),
                     ("process_name", ("name",), None, "The process' name."),
                     ("used_gpu_memory", ("used_memory",), "MiB", "The GPU memory the process uses, in MiB.")],
    "accounted-apps": [("vgpu_instance", (), None, "The vGPU instance of the process (N/A off vGPU)."),
                       ("pid", (), None, "The process id."),
                       ("gpu_utilization", ("gpu_util",), "%", "The GPU's utilization by the process, in %."),
                       ("mem_utilization", ("mem_util",), "%", "The memory utilization by the process, in %."),
                       ("max_memory_usage", (), "MiB", "The most GPU memory the process used, in MiB."),
                       ("time", (), "ms", "How long the process ran, in ms.")],
    "retired-pages": [("retired_pages.address", (), None, "The address of a retired page."),
                      ("retired_pages.timestamp", (), None, "When the page was retired."),
                      ("retired_pages.cause", (), None, "Why: Single Bit ECC or Double Bit ECC.")],
    "remapped-rows": [("remapped_rows.correctable", ("remapped_rows.sbe",), None, "Rows remapped for corrected errors."),
                      ("remapped_rows.correctable_inactive", (), None, "Inactive rows remapped for corrected errors."),
                      ("remapped_rows.uncorrectable", ("remapped_rows.dbe",), None,
                       "Rows remapped for uncorrected errors."),
                      ("remapped_rows.uncorrectable_inactive", (), None,
                       "Inactive rows remapped for uncorrected errors."),
                      ("remapped_rows.pending", (), None, "Whether a remapping waits for a GPU reset."),
                      ("remapped_rows.failure", (), None, "Whether a remapping failed."),
                      ("remapped_rows.histogram.max", (), None, "Banks with all their spare rows left."),
                      ("remapped_rows.histogram.high", (), None, "Banks with most of their spare rows left."),
                      ("remapped_rows.histogram.partial", (), None, "Banks with some of their spare rows left."),
                      ("remapped_rows.histogram.low", (), None, "Banks with few spare rows left."),
                      ("remapped_rows.histogram.none", (), None, "Banks with no spare row left.")],
    "supported-clocks": [("memory", ("mem",), "MHz", "A supported memory clock, in MHz."),
                         ("graphics", ("gr",), "MHz", "A graphics clock supported with that memory clock, in MHz.")],
}


def list_fields(kind):
    """[(name, aliases, unit, help)] of a --query-<kind>, the GPU's fields first."""
    if kind not in LIST_QUERIES:
        raise ValueError("%r is not one of nvidia-smi's list queries (%s)" % (kind, ", ".join(LIST_QUERIES)))
    return [(n, (), None, h) for n, _, h in _COMMON] + LIST_QUERIES[kind]


def _resolve_list(kind, names):
    fields = {}
    for name, aliases, unit, _ in list_fields(kind):
        for n in (name,) + tuple(aliases):
            fields[n] = (name, unit)
    out = []
    for n in names:
        if n not in fields:
            raise ValueError('Field "%s" is not a valid field to query.' % n)
        out.append(fields[n])
    return out


def _csv_time():
    t = time.time()
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(t)) + ".%03d" % (int(t * 1000) % 1000)


def list_query(kind, names, devices=None):
    """The records of --query-<kind> as dicts: field name -> (value, unit) where a unit applies."""
    fields = _resolve_list(kind, names)
    gpu_keys = [k for _, k, _ in _COMMON if k != "timestamp"]
    gpus = _rows(gpu_keys, devices, _smi._MODE_CSV_NOUNITS)
    stamp = _csv_time()
    records = []
    for (i, h), gpu in zip(_handles(devices), gpus):
        common = {"timestamp": stamp}
        for n, k, _ in _COMMON[1:]:
            common[n] = gpu[k]
        for rec in _records(kind, i, h):
            r = dict(common)
            r.update(rec)
            records.append(r)
    return fields, records


def _records(kind, i, h):
    if kind == "compute-apps":
        for p in _processes([i]):
            if "C" in p["type"] or "M" in p["type"]:
                yield {"pid": p["pid"], "process_name": p["process_name"], "used_gpu_memory": p["used_memory_mib"]}
    elif kind == "accounted-apps":
        for pid in _try(pynvml.nvmlDeviceGetAccountingPids, h, default=[]) or []:
            st = _try(pynvml.nvmlDeviceGetAccountingStats, h, pid)
            if st is None:
                continue
            yield {"vgpu_instance": None, "pid": pid, "gpu_utilization": st.gpuUtilization,
                   "mem_utilization": st.memoryUtilization, "max_memory_usage": st.maxMemoryUsage >> 20,
                   "time": st.time}
    elif kind == "retired-pages":
        for cause, label in ((pynvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS, "Single Bit ECC"),
                             (pynvml.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR, "Double Bit ECC")):
            try:
                # [{"address": ..., "timestamp": ...}] (nvidia-ml-py's shape), one per page
                pages = pynvml.nvmlDeviceGetRetiredPages_v2(h, cause)
            except pynvml.NVMLError:
                # not supported (a GPU that remaps rows instead): one line per cause, no page
                yield {"retired_pages.address": None, "retired_pages.timestamp": None, "retired_pages.cause": label}
                continue
            for addr, t in ((p["address"], p["timestamp"]) for p in pages):
                yield {"retired_pages.address": "0x%016x" % addr,
                       "retired_pages.timestamp": _timestamp_text(t / 1e6), "retired_pages.cause": label}
    elif kind == "remapped-rows":
        keys = [n for n, *_ in LIST_QUERIES["remapped-rows"]]
        row = _rows(keys, [i], _smi._MODE_CSV_NOUNITS)[0]
        yield {k: (None if row[k] == "[N/A]" else row[k]) for k in keys}
    elif kind == "supported-clocks":
        for mem in _try(pynvml.nvmlDeviceGetSupportedMemoryClocks, h, default=[]) or []:
            for gr in _try(pynvml.nvmlDeviceGetSupportedGraphicsClocks, h, mem, default=[]) or []:
                yield {"memory": mem, "graphics": gr}


def csv_field(value):
    """A csv value as nvidia-smi writes it; one holding a comma or a quote is quoted (RFC 4180)."""
    text = str(value)
    if "," in text or '"' in text or "\n" in text:
        return '"%s"' % text.replace('"', '""')
    return text


def render_list_query(fields, records, header=True, units=True):
    out = []
    if header:
        out.append(", ".join("%s [%s]" % (n, u) if u else n for n, u in fields))
    for r in records:
        vals = []
        for n, u in fields:
            v = r.get(n)
            if v is None:
                vals.append("[N/A]")
            elif u and units:
                vals.append(csv_field("%s %s" % (v, u)))
            else:
                vals.append(csv_field(v))
        out.append(", ".join(vals))
    return out


def help_list_query(kind):
    out = ['List of valid properties to query for the switch "--query-%s":' % kind, ""]
    for name, aliases, unit, text in list_fields(kind):
        out.append(" or ".join('"%s"' % n for n in (name,) + tuple(aliases)) + (" [%s]" % unit if unit else ""))
        out.append(text)
        out.append("")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------
# dmon, pmon
# --------------------------------------------------------------------------------------

# group letter -> [(column, unit, how)]
DMON_GROUPS = {
    "p": [("pwr", "W"), ("gtemp", "C"), ("mtemp", "C")],
    "u": [("sm", "%"), ("mem", "%"), ("enc", "%"), ("dec", "%"), ("jpg", "%"), ("ofa", "%")],
    "c": [("mclk", "MHz"), ("pclk", "MHz")],
    "v": [("pviol", "%"), ("tviol", "bool")],
    "m": [("fb", "MB"), ("bar1", "MB"), ("ccpm", "MB")],
    "e": [("sbecc", "errs"), ("dbecc", "errs"), ("pci", "errs")],
    "t": [("rxpci", "MB/s"), ("txpci", "MB/s")],
}
DMON_ORDER = "pucvmet"


def parse_dmon_select(text):
    if not text or any(c not in DMON_ORDER for c in text):
        raise ValueError('Invalid value for -s: "%s" (metric groups: %s)' % (text, DMON_ORDER))
    return "".join(c for c in DMON_ORDER if c in text)


def _violation(h, kind, state):
    """Percent of the time since the last sample spent in a violation (state: the last sample per GPU)."""
    v = _try(pynvml.nvmlDeviceGetViolationStatus, h, kind)
    if v is None:
        return None
    prev = state.get(kind)
    state[kind] = (v.referenceTime, v.violationTime)
    if prev is None or v.referenceTime <= prev[0]:
        return 0
    return min(100, int(100 * (v.violationTime - prev[1]) * 1000 / (v.referenceTime - prev[0]) / 1e6))


def dmon_sample(select="puc", devices=None, state=None):
    """One line's worth per GPU: column -> value (None where not supported)."""
    if state is None:
        state = {}
    out = []
    for i, h in _handles(devices):
        st = state.setdefault(i, {})
        row = {"gpu": i}
        if "p" in select:
            mw = _try(pynvml.nvmlDeviceGetPowerUsage, h)
            row["pwr"] = None if mw is None else int(round(mw / 1000.0))
            row["gtemp"] = _try(pynvml.nvmlDeviceGetTemperature, h, pynvml.NVML_TEMPERATURE_GPU)
            fv = _try(pynvml.nvmlDeviceGetFieldValues, h, [pynvml.NVML_FI_DEV_MEMORY_TEMP])
            row["mtemp"] = fv[0].value.uiVal if fv and fv[0].nvmlReturn == 0 else None
        if "u" in select:
            u = _try(pynvml.nvmlDeviceGetUtilizationRates, h)
            row["sm"], row["mem"] = (u.gpu, u.memory) if u is not None else (None, None)
            for col, fn in (("enc", pynvml.nvmlDeviceGetEncoderUtilization),
                            ("dec", pynvml.nvmlDeviceGetDecoderUtilization),
                            ("jpg", getattr(pynvml, "nvmlDeviceGetJpgUtilization", None)),
                            ("ofa", getattr(pynvml, "nvmlDeviceGetOfaUtilization", None))):
                r = _try(fn, h) if fn is not None else None
                row[col] = r[0] if r is not None else None
        if "c" in select:
            row["mclk"] = _try(pynvml.nvmlDeviceGetClockInfo, h, pynvml.NVML_CLOCK_MEM)
            row["pclk"] = _try(pynvml.nvmlDeviceGetClockInfo, h, pynvml.NVML_CLOCK_GRAPHICS)
        if "v" in select:
            row["pviol"] = _violation(h, pynvml.NVML_PERF_POLICY_POWER, st)
            t = _violation(h, pynvml.NVML_PERF_POLICY_THERMAL, st)
            row["tviol"] = None if t is None else int(t > 0)
        if "m" in select:
            m = _try(pynvml.nvmlDeviceGetMemoryInfo, h, version=pynvml.nvmlMemory_v2)
            row["fb"] = None if m is None else (m.used + (1 << 19)) >> 20
            b = _try(pynvml.nvmlDeviceGetBAR1MemoryInfo, h)
            row["bar1"] = None if b is None else b.bar1Used >> 20
            c = _try(pynvml.nvmlDeviceGetConfComputeProtectedMemoryUsage, h)
            row["ccpm"] = None if c is None else c.used >> 20
        if "e" in select:
            row["sbecc"] = _try(pynvml.nvmlDeviceGetTotalEccErrors, h, pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED,
                                pynvml.NVML_VOLATILE_ECC)
            row["dbecc"] = _try(pynvml.nvmlDeviceGetTotalEccErrors, h, pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                                pynvml.NVML_VOLATILE_ECC)
            row["pci"] = _try(pynvml.nvmlDeviceGetPcieReplayCounter, h)
        if "t" in select:
            rx = _try(pynvml.nvmlDeviceGetPcieThroughput, h, pynvml.NVML_PCIE_UTIL_RX_BYTES)
            tx = _try(pynvml.nvmlDeviceGetPcieThroughput, h, pynvml.NVML_PCIE_UTIL_TX_BYTES)
            row["rxpci"] = None if rx is None else rx // 1000
            row["txpci"] = None if tx is None else tx // 1000
        out.append(row)
    return out


def _date_cols(options, header):
    cols = []
    if "D" in options:
        cols.append(("Date", "YYYYMMDD") if header else time.strftime("%Y%m%d"))
    if "T" in options:
        cols.append(("Time", "HH:MM:SS") if header else time.strftime("%H:%M:%S"))
    return cols


def render_dmon_header(select, options=""):
    """The two header lines; with -o D/T the date and time columns first (the first one
    carries the '#')."""
    cols = [c for g in select for c in DMON_GROUPS[g]]
    dates = _date_cols(options, True)
    lines = []
    for row, lead in ((0, "gpu"), (1, "Idx")):
        cells = ["%-8s" % d[row] for d in dates]
        if cells:
            text = "#" + " ".join(cells) + "%5s" % lead
        else:
            text = "# " + lead
        lines.append(text + "".join(" %6s" % c[row] for c in cols) + " ")
    return lines


def render_dmon_rows(select, rows, options=""):
    cols = [c for g in select for c, _ in DMON_GROUPS[g]]
    dates = _date_cols(options, False)
    out = []
    for r in rows:
        vals = ["-" if r.get(c) is None else str(r[c]) for c in cols]
        lead = (" " + " ".join("%-8s" % d for d in dates)) if dates else ""
        out.append(lead + "%5d" % r["gpu"] + "".join(" %6s" % v for v in vals) + " ")
    return out


def pmon_sample(devices=None):
    """One record per process per GPU: gpu, pid, type, sm, mem, enc, dec, jpg, ofa (None: '-'), command."""
    out = []
    util = {}
    for i, h in _handles(devices):
        try:
            for s in pynvml.nvmlDeviceGetProcessUtilization(h, 0):
                util[(i, s.pid)] = s
        except pynvml.NVMLError:
            pass
    for p in _processes(devices):
        s = util.get((p["gpu"], p["pid"]))
        rec = {"gpu": p["gpu"], "pid": p["pid"], "type": p["type"],
               "command": p["process_name"].rsplit("/", 1)[-1] if p["process_name"] != _NA else "-"}
        rec["sm"] = s.smUtil if s is not None else 0
        rec["mem"] = s.memUtil if s is not None else 0
        for col, attr in (("enc", "encUtil"), ("dec", "decUtil"), ("jpg", "jpgUtil"), ("ofa", "ofaUtil")):
            v = getattr(s, attr, 0) if s is not None else 0
            rec[col] = v or None            # nvidia-smi shows an idle engine as '-'
        out.append(rec)
    return out


PMON_HEADER = ["# gpu         pid   type     sm    mem    enc    dec    jpg    ofa    command ",
               "# Idx           #    C/G      %      %      %      %      %      %    name "]


def render_pmon_rows(recs, devices=None):
    out = []
    for r in recs:
        vals = ["-" if r[c] is None else str(r[c]) for c in ("sm", "mem", "enc", "dec", "jpg", "ofa")]
        out.append("%5d %10d %5s" % (r["gpu"], r["pid"], r["type"]) + "".join(" %6s" % v for v in vals)
                   + "    %-15s" % r["command"][:15])
    if not recs:
        idx = range(pynvml.nvmlDeviceGetCount()) if devices is None else devices
        for i in idx:
            out.append("%5d %10s %5s" % (i, "-", "-") + " %6s" % "-" * 6 + "    %-15s" % "-")
    return out


# --------------------------------------------------------------------------------------
# topo -m, nvlink -s
# --------------------------------------------------------------------------------------

_TOPO_LEVEL = {0: "X", 10: "PIX", 20: "PXB", 30: "PHB", 40: "NODE", 50: "SYS"}
TOPO_LEGEND = """
Legend:

  X    = Self
  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)
  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host Bridges within a NUMA node
  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)
  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host Bridge)
  PIX  = Connection traversing at most a single PCIe bridge
  NV#  = Connection traversing a bonded set of # NVLinks
"""


def _ranges(bits):
    """[0, 1, 2, 3, 8] -> '0-3,8'"""
    out = []
    start = prev = None
    for b in bits + [None]:
        if b is not None and prev is not None and b == prev + 1:
            prev = b
            continue
        if start is not None:
            out.append(str(start) if start == prev else "%d-%d" % (start, prev))
        start = prev = b
    return ",".join(out) if out else _NA


def _mask_bits(words, width=64):
    return [w * width + b for w, word in enumerate(words) for b in range(width) if word >> b & 1]


_NVLINK_TO_SWITCH = 2      # nvmlDeviceGetNvLinkRemoteDeviceType: an NVSwitch (0 a GPU, 1 an IBMNPU)


def _nvlinks(h):
    """Active NVLinks of a GPU: [(link, remote PCI bus id, remote is an NVSwitch)]."""
    out = []
    for link in range(getattr(pynvml, "NVML_NVLINK_MAX_LINKS", 18)):
        try:
            if pynvml.nvmlDeviceGetNvLinkState(h, link) != 1:
                continue
        except pynvml.NVMLError:
            continue
        pci = _try(pynvml.nvmlDeviceGetNvLinkRemotePciInfo, h, link)
        switch = _try(pynvml.nvmlDeviceGetNvLinkRemoteDeviceType, h, link) == _NVLINK_TO_SWITCH
        out.append((link, pci.busId if pci is not None else None, switch))
    return out


def _nvlink_count(mine, theirs, their_bus):
    """The NV# of a pair: links from one GPU straight to the other, plus, where both reach
    NVSwitches, the links of the one with fewer (an HGX H100's 18 per GPU: NV18 between
    every pair, as nvidia-smi topo -m shows on those machines)."""
    direct = sum(1 for _, remote, switch in mine
                 if not switch and remote is not None and remote.lower() == their_bus.lower())
    return direct + min(sum(1 for link in mine if link[2]), sum(1 for link in theirs if link[2]))


def topology():
    """{'gpus': [{'index', 'links': {j: 'X'|'NV4'|'SYS'...}, 'cpu_affinity', 'numa_affinity', 'gpu_numa_id'}]}"""
    handles = _handles(None)
    bus = [r["pci.bus_id"] for r in _rows(["pci.bus_id"], None, _smi._MODE_CSV_NOUNITS)]
    nv = {i: _nvlinks(h) for i, h in handles}
    words = max(1, (256 + 63) // 64)
    gpus = []
    for i, h in handles:
        links = {}
        for j, hj in handles:
            if i == j:
                links[j] = "X"
                continue
            n = _nvlink_count(nv[i], nv[j], bus[j])
            if n:
                links[j] = "NV%d" % n
            else:
                level = _try(pynvml.nvmlDeviceGetTopologyCommonAncestor, h, hj)
                links[j] = _TOPO_LEVEL.get(level, _NA)
        cpu = _try(pynvml.nvmlDeviceGetCpuAffinity, h, words)
        numa = _try(pynvml.nvmlDeviceGetMemoryAffinity, h, 1, 0)
        node = _try(pynvml.nvmlDeviceGetNumaNodeId, h)
        gpus.append({"index": i, "links": links,
                     "cpu_affinity": _ranges(_mask_bits(list(cpu))) if cpu is not None else _NA,
                     "numa_affinity": _ranges(_mask_bits(list(numa))) if numa is not None else _NA,
                     "gpu_numa_id": _NA if node is None else str(node)})
    return {"gpus": gpus}


def render_topology(t):
    names = ["GPU%d" % g["index"] for g in t["gpus"]]
    out = ["\t\x1b[4m" + "\t".join(names + ["CPU Affinity", "NUMA Affinity", "GPU NUMA ID"]) + "\x1b[0m"]
    for g in t["gpus"]:
        cells = [" %s " % g["links"][o["index"]] if g["links"][o["index"]] == "X" else g["links"][o["index"]]
                 for o in t["gpus"]]
        out.append("GPU%d\t" % g["index"] + "\t".join(cells + [g["cpu_affinity"], g["numa_affinity"], ""])
                   + "\t" + g["gpu_numa_id"])
    return "\n".join(out) + "\n" + TOPO_LEGEND


def nvlink_status(devices=None):
    out = []
    rows = _rows(["name", "uuid"], devices)
    for (i, h), row in zip(_handles(devices), rows):
        links = []
        for link in range(getattr(pynvml, "NVML_NVLINK_MAX_LINKS", 18)):
            try:
                state = pynvml.nvmlDeviceGetNvLinkState(h, link)
            except pynvml.NVMLError:
                continue
            speed = None
            if state == 1:
                fv = _try(pynvml.nvmlDeviceGetFieldValues, h, [(pynvml.NVML_FI_DEV_NVLINK_SPEED_MBPS_COMMON, 0)])
                if fv and fv[0].nvmlReturn == 0:
                    speed = fv[0].value.uiVal
            links.append({"link": link, "active": state == 1, "speed_mbps": speed})
        if links:
            out.append({"index": i, "name": row["name"], "uuid": row["uuid"], "links": links})
    return out


def render_nvlink_status(status):
    out = []
    for g in status:
        out.append("GPU %d: %s (UUID: %s)" % (g["index"], g["name"], g["uuid"]))
        for ln in g["links"]:
            if not ln["active"]:
                out.append("\t Link %d: <inactive>" % ln["link"])
            elif ln["speed_mbps"] is None:
                out.append("\t Link %d: N/A" % ln["link"])
            else:
                out.append("\t Link %d: %.3f GB/s" % (ln["link"], ln["speed_mbps"] / 1000.0))
    return "".join(line + "\n" for line in out)


_NVLINK_CAPS = ["P2P is supported", "Access to system memory supported", "P2P atomics supported",
                "System memory atomics supported", "SLI is supported", "Link is supported"]


def nvlink_capabilities(devices=None):
    """Per GPU with NVLinks: per link, each capability (nvmlDeviceGetNvLinkCapability) true/false."""
    out = []
    rows = _rows(["name", "uuid"], devices)
    for (i, h), row in zip(_handles(devices), rows):
        links = []
        for link in range(getattr(pynvml, "NVML_NVLINK_MAX_LINKS", 18)):
            if _try(pynvml.nvmlDeviceGetNvLinkState, h, link) is None:
                continue
            links.append({"link": link, "caps": {name: bool(_try(pynvml.nvmlDeviceGetNvLinkCapability, h, link, n,
                                                                 default=0))
                                                 for n, name in enumerate(_NVLINK_CAPS)}})
        if links:
            out.append({"index": i, "name": row["name"], "uuid": row["uuid"], "links": links})
    return out


def render_nvlink_capabilities(caps):
    out = []
    for g in caps:
        out.append("GPU %d: %s (UUID: %s)" % (g["index"], g["name"], g["uuid"]))
        for ln in g["links"]:
            for name, ok in ln["caps"].items():
                out.append("\t Link %d, %s: %s" % (ln["link"], name, "true" if ok else "false"))
    return "".join(line + "\n" for line in out)


# --------------------------------------------------------------------------------------
# mig -lgip, -lgi, -lci
# --------------------------------------------------------------------------------------

def mig_profiles(devices=None):
    """GPU-instance profiles of each GPU that has them, ordered as nvidia-smi lists them."""
    out = []
    for i, h in _handles(devices):
        profs = []
        for p in range(getattr(pynvml, "NVML_GPU_INSTANCE_PROFILE_COUNT", 15)):
            info = _try(pynvml.nvmlDeviceGetGpuInstanceProfileInfo, h, p)
            if info is None:
                continue
            free = _try(pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity, h, info.id, default=0)
            profs.append((info.sliceCount, p, {
                "gpu": i, "name": info.name, "id": info.id, "free": free, "total": info.instanceCount,
                "memory_gib": info.memorySizeMB / 1024.0, "p2p": bool(info.isP2pSupported),
                "sm": info.multiprocessorCount, "dec": info.decoderCount, "enc": info.encoderCount,
                "ce": info.copyEngineCount, "jpeg": info.jpegCount, "ofa": info.ofaCount}))
        out += [d for _, _, d in sorted(profs, key=lambda t: t[:2])]
    return out


def render_mig_profiles(profs):
    sep = "+" + "-" * 79 + "+"
    out = [sep, "| GPU instance profiles:%56s|" % "",
           "| GPU   Name               ID    Instances   Memory     P2P    SM    DEC   ENC  |",
           "|                                Free/Total   GiB              CE    JPEG  OFA  |",
           "|" + "=" * 79 + "|"]
    for n, p in enumerate(profs):
        if n:
            out.append(sep)
        out.append("|%4d  %-18s%4d%8s        %-11s%-7s%-7s%-6s%-4s|" % (
            p["gpu"], p["name"], p["id"], "%d/%d" % (p["free"], p["total"]), "%.2f" % p["memory_gib"],
            "Yes" if p["p2p"] else "No", p["sm"], p["dec"], p["enc"]))
        out.append("|%63s%-6s%-6s%-4s|" % ("", p["ce"], p["jpeg"], p["ofa"]))
    out.append(sep)
    return "\n".join(out) + "\n"


def _mig_on(h):
    mode = _try(pynvml.nvmlDeviceGetMigMode, h)
    return mode is not None and mode[0] == 1


def mig_instances(devices=None):
    """GPU instances (with their compute instances) of the GPUs in MIG mode; None where no GPU is."""
    gis = []
    any_on = False
    for i, h in _handles(devices):
        if not _mig_on(h):
            continue
        any_on = True
        for p in range(getattr(pynvml, "NVML_GPU_INSTANCE_PROFILE_COUNT", 15)):
            info = _try(pynvml.nvmlDeviceGetGpuInstanceProfileInfo, h, p)
            if info is None:
                continue
            for gi in _try(pynvml.nvmlDeviceGetGpuInstances, h, info.id, default=[]) or []:
                gi_info = pynvml.nvmlGpuInstanceGetInfo(gi)
                cis = []
                for cp in range(getattr(pynvml, "NVML_COMPUTE_INSTANCE_PROFILE_COUNT", 8)):
                    cinfo = _try(pynvml.nvmlGpuInstanceGetComputeInstanceProfileInfo, gi, cp,
                                 pynvml.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
                    if cinfo is None:
                        continue
                    for ci in _try(pynvml.nvmlGpuInstanceGetComputeInstances, gi, cinfo.id, default=[]) or []:
                        ci_info = pynvml.nvmlComputeInstanceGetInfo(ci)
                        cis.append({"name": cinfo.name, "profile_id": cinfo.id, "id": ci_info.id,
                                    "placement": (ci_info.placement.start, ci_info.placement.size)})
                gis.append({"gpu": i, "name": info.name, "profile_id": info.id, "id": gi_info.id,
                            "placement": (gi_info.placement.start, gi_info.placement.size),
                            "compute_instances": cis})
    return gis if any_on else None


def render_mig_gpu_instances(gis):
    if gis is None:
        return "No MIG-enabled devices found.\n"
    if not gis:
        return "No GPU instances found: Not Found\n"
    sep = "+" + "-" * 57 + "+"
    out = [sep, "| GPU instances:%42s|" % "",
           "| GPU   Name               Profile  Instance   Placement  |",
           "|                            ID       ID       Start:Size |",
           "|" + "=" * 57 + "|"]
    for g in gis:
        out.append("|%4d  %-18s%6d %8d %10s     |" % (g["gpu"], g["name"], g["profile_id"], g["id"],
                                                    "%d:%d" % g["placement"]))
    out.append(sep)
    return "\n".join(out) + "\n"


def render_mig_compute_instances(gis):
    if gis is None:
        return "No MIG-enabled devices found.\n"
    rows = [(g, c) for g in gis for c in g["compute_instances"]]
    if not rows:
        return "No compute instances found: Not Found\n"
    sep = "+" + "-" * 68 + "+"
    out = [sep, "| Compute instances:%49s|" % "",
           "| GPU     GPU       Name             Profile   Instance   Placement  |",
           "|       Instance                       ID        ID       Start:Size |",
           "|         ID                                                         |",
           "|" + "=" * 68 + "|"]
    for g, c in rows:
        out.append("|%4d %6d       %-16s%8d %9d %10s     |" % (g["gpu"], g["id"], c["name"], c["profile_id"],
                                                               c["id"], "%d:%d" % c["placement"]))
    out.append(sep)
    return "\n".join(out) + "\n"
