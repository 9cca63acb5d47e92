"""pynvml.smi against nvidia-smi on a real GPU, field by field and element by element.

    python tools/compare_smi.py [--fields FILE] [--json OUT] [--show-equal]

Compares, for every GPU:
  * `nvidia-smi --query-gpu=<every field> --format=csv` with pynvml.smi's csv (header
    byte for byte, then each value), and the same with --format=csv,noheader,nounits;
  * `nvidia-smi -q -x` with pynvml.smi's XmlDeviceQuery(), element by element.
Values that change by themselves (time, temperatures, power, clocks, utilization,
throughput) count as equal within a tolerance.  Prints how many are equal and every
difference; --json writes the same as data.  The fields are pynvml.smi's (the 214 of
nvidia-smi 580), or those of FILE (one field a line, aliases after: the format of
tests/data/reference/nvidia-smi-query-gpu-fields.txt).  Exit status 0 (differences are
reported, not judged), 2 where nvidia-smi or NVML cannot be run.

Then every view (--views, on by default): for each capture in tests/data/reference/h200/
(its first line is the nvidia-smi command: the summary table, -L, -q, -q -d SECTION,
--query-compute-apps, dmon, pmon, topo -m, nvlink -s, mig -lgip, --version, ...), the same
arguments are given to nvidia-smi and to pynvml-smi, and their lines compared: equal,
moving (the same once the numbers of a line that moves by itself are masked: times,
power, temperatures, clocks, utilization, throughput, samples, dmon/pmon values) or
different (with the reason where one is known, KNOWN_DIFFERENCES).  The same comparison runs
in the suite against the captures themselves on the profile modelled on them
(tests/test_smi_reference.py).  Everything run is read-only.
"""
import argparse
import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pynvml
import pynvml.smi as smi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAPTURES = os.path.join(ROOT, "tests", "data", "reference", "h200")

# --------------------------------------------------------------------------------------
# Views: line by line
# --------------------------------------------------------------------------------------

# Labels (text before " : ") of -q lines whose numbers move by themselves.
MOVING_LABELS = {
    "Timestamp", "Average Power Draw", "Instantaneous Power Draw", "Power Draw", "Tx Throughput",
    "Rx Throughput", "GPU Current Temp", "Memory Current Temp", "GPU T.Limit Temp", "Duration",
    "Number of Samples", "Max", "Min", "Avg", "Graphics", "SM", "Memory", "Video", "GPU", "Encoder",
    "Decoder", "JPEG", "OFA", "Used", "Free", "Reserved", "Used GPU Memory", "Performance State", "Idle",
    "SW Power Capping", "Sync Boost", "SW Thermal Slowdown", "HW Thermal Slowdown", "HW Power Braking",
    "Replays Since Reset", "Process ID",
}
# The same, narrowed to what moves between the captures themselves (taken a second apart on
# an idle GPU): what the suite allows on the simulated H200.
STILL_MOVING_LABELS = {"Timestamp", "Average Power Draw", "Instantaneous Power Draw", "Tx Throughput",
                       "Rx Throughput", "Avg"}
TIME_PATTERNS = [re.compile(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}"),
                 re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3}")]
NUMBER = re.compile(r"\d+(?:\.\d+)?")

# Lines that differ for a known reason: (capture file or "*", a regex on nvidia-smi's line) -> reason
KNOWN_DIFFERENCES = [
    ("*", r"^\s*(GPU Part Number\s*:|<gpu_part_number>)", "the GPU part number has no NVML call: pynvml shows N/A"),
    ("*", r"^\s*(Sparse Operation Mode\s*:|<sparse_operation_mode>)",
     "sparse operation mode has no NVML call: pynvml shows N/A"),
    ("version.txt", r"^NVIDIA-SMI version", "pynvml-smi names itself and its own version"),
    ("bogus-option.txt", r"^ERROR: Option", "the hint names pynvml-smi -h"),
]


def read_capture(path):
    """(arguments, output lines, exit status) of a capture: '$ nvidia-smi ARGS', output, '[exit N]'."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    args = shlex.split(lines[0][2:])[1:]
    if lines and lines[-1] == "":
        lines.pop()
    status = int(lines[-1][len("[exit "):-1]) if lines[-1].startswith("[exit ") else None
    return args, lines[1:-1], status


def capture_views(folder=CAPTURES):
    """{file name: (args, lines, status)} of the captures a view comparison uses."""
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".txt") and name != "help.txt":
            out[name] = read_capture(os.path.join(folder, name))
    return out


# The same for -q -x's elements (their tags).
MOVING_TAGS = {"timestamp", "average_power_draw", "instant_power_draw", "tx_util", "rx_util", "gpu_temp",
               "memory_temp", "gpu_temp_tlimit", "graphics_clock", "sm_clock", "mem_clock", "video_clock",
               "gpu_util", "memory_util", "encoder_util", "decoder_util", "jpeg_util", "ofa_util", "used", "free",
               "reserved", "used_memory", "performance_state", "clocks_event_reason_gpu_idle", "pid",
               "clocks_event_reasons_counters_sw_power_cap", "replay_counter"}
STILL_MOVING_TAGS = {"timestamp", "average_power_draw", "instant_power_draw", "tx_util", "rx_util"}
_TAG = re.compile(r"^\s*<(\w+)>[^<]*</\1>$")


def _label(line):
    m = _TAG.match(line)
    if m:
        return "<%s>" % m.group(1)
    head, sep, _ = line.partition(" : ")
    return head.strip() if sep else None


def _mask(line):
    for pat in TIME_PATTERNS:
        line = pat.sub("<time>", line)
    return re.sub(r"\s+", " ", NUMBER.sub("#", line)).strip()


def known_reason(view, theirs):
    for where, pat, reason in KNOWN_DIFFERENCES:
        if (where == "*" or where == view) and re.search(pat, theirs or ""):
            return reason
    return None


def classify(view, ours, theirs, moving_labels=MOVING_LABELS, row=None):
    """'equal', 'moving' or 'different' for one line of a view (row: its index)."""
    if ours == theirs:
        return "equal"
    if ours is None or theirs is None or _mask(ours) != _mask(theirs):
        return "different"
    if view.startswith(("dmon", "pmon")) or view.startswith("query-") and not view.startswith("query-gpu"):
        return "moving"                    # sampled values, or a time stamp column
    if view.startswith("query-gpu"):
        return "moving" if moving_labels is MOVING_LABELS else "different"   # compare_csv judges those
    if any(p.search(theirs) for p in TIME_PATTERNS) and _mask(ours) == _mask(theirs) and \
            _label(theirs) in (None, "Timestamp", "<timestamp>"):
        return "moving"
    tags = MOVING_TAGS if moving_labels is MOVING_LABELS else STILL_MOVING_TAGS
    if _label(theirs) and _label(theirs).startswith("<"):
        return "moving" if _label(theirs)[1:-1] in tags else "different"
    if view.startswith(("default", "i0-default")) and ("W /" in theirs or "MiB |" in theirs):
        return "moving" if moving_labels is MOVING_LABELS or "W /" in theirs else "different"
    if _label(theirs) in moving_labels:
        return "moving"
    return "different"


def _normalise_help(lines):
    """--help-query-*: the field lines only (the prose is ours), without a unit suffix, in any
    order; nvidia-smi's quoted value descriptions ('"0: Default" means ...') are prose, and
    its '"clocks.max.sm" or "clocks.max.sm"' is the one name."""
    out = []
    for ln in lines:
        if not ln.startswith('"') or re.match(r'^"\d+: ', ln):
            continue
        ln = re.sub(r" \[[^]]*\]$", "", ln)
        names = ln.split(" or ")
        out.append(" or ".join(n for i, n in enumerate(names) if n not in names[:i]))
    return sorted(out)


# --query-gpu fields nvidia-smi 580 answers while its -q shows N/A for them (the simulated
# H200 follows -q: nvmlDeviceGetPlatformInfo NOT_SUPPORTED)
CSV_KNOWN = {"platform.chassis_serial_number", "platform.slot_number", "platform.tray_index", "platform.host_id",
             "platform.peer_type", "platform.module_id", "platform.gpu_fabric_guid"}
CSV_STILL_MOVING = {"timestamp", "power.draw", "power.draw.average", "power.draw.instant"}


def compare_csv_cells(fields, ours, theirs, still=False):
    """--query-gpu value by value: the same counts as compare_view, a cell being a 'line'."""
    res = {"equal": 0, "moving": 0, "total": 0, "different": []}
    a_rows = list(csv.reader(ours, skipinitialspace=True))
    b_rows = list(csv.reader(theirs, skipinitialspace=True))
    if len(a_rows) != len(b_rows):
        res["different"].append((None, len(a_rows), len(b_rows), "a different number of lines"))
    for n, (a, b) in enumerate(zip(a_rows, b_rows)):
        for name, x, y in zip(fields, a, b):
            res["total"] += 1
            if x == y:
                res["equal"] += 1
            elif still and name in CSV_STILL_MOVING and _mask(x) == _mask(y):
                res["moving"] += 1
            elif not still and same(name, x, y) != "different":
                res["moving"] += 1
            else:
                reason = "nvidia-smi answers it in --query-gpu, N/A in -q" if name in CSV_KNOWN else None
                res["different"].append((n + 1, "%s=%s" % (name, x), "%s=%s" % (name, y), reason))
    return res


def compare_view(view, ours, theirs, moving_labels=MOVING_LABELS, args=None):
    """Line by line: {'equal': n, 'moving': n, 'different': [(line number, ours, theirs, reason)], 'total': n}."""
    if view.startswith("query-gpu") and args:
        fields = [a for a in args if a.startswith("--query-gpu=")][0].split("=", 1)[1].split(",")
        return compare_csv_cells(fields, ours, theirs, still=moving_labels is not MOVING_LABELS)
    if view.startswith("help-query-"):
        ours, theirs = _normalise_help(ours), _normalise_help(theirs)
        a, b = set(ours), set(theirs)
        res = {"equal": len(a & b), "moving": 0, "total": len(b), "different": []}
        res["different"] += [(None, None, ln, None) for ln in sorted(b - a)]
        res["different"] += [(None, ln, None, None) for ln in sorted(a - b)]
        return res
    res = {"equal": 0, "moving": 0, "total": max(len(ours), len(theirs)), "different": []}
    for n in range(res["total"]):
        a = ours[n] if n < len(ours) else None
        b = theirs[n] if n < len(theirs) else None
        verdict = classify(view, a, b, moving_labels, n)
        if verdict == "different":
            res["different"].append((n + 1, a, b, known_reason(view, b)))
        else:
            res[verdict] += 1
    return res


def run_ours(args, env=None):
    """pynvml-smi ARGS in this process: (output lines, exit status)."""
    import contextlib
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = smi.main(list(args))
    while pynvml._nvml._refcount() > 0:
        pynvml.nvmlShutdown()
    text = buf.getvalue()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines, status


# what each subcommand may be given here (nvlink and mig also have options that change state)
_SUB_READ_ONLY = {"dmon": None, "pmon": None, "topo": {"-m", "--matrix"},
                  "nvlink": {"-s", "--status", "-c", "--capabilities", "-i", "--id"},
                  "mig": {"-lgip", "-lgi", "-lci", "-i", "--id", "--list-gpu-instance-profiles",
                          "--list-gpu-instances", "--list-compute-instances"}}


def read_only(args):
    """False where an argument is one of nvidia-smi's options that change a GPU's state (never run)."""
    names = [a.split("=", 1)[0] for a in args if a.startswith("-")]
    if args and args[0] in _SUB_READ_ONLY:
        allowed = _SUB_READ_ONLY[args[0]]
        if allowed is None:         # dmon, pmon: monitoring only
            return True
        return all(n in allowed for n in names)
    return not (set(names) & smi._STATE_OPTIONS or set(names) & smi._MIG_STATE_OPTIONS)


def compare_views(report):
    results = []
    for view, (args, _, _) in capture_views().items():
        if not read_only(args):
            print("%s: not run (it would change the GPU's state)" % view)
            continue
        out = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=120)
        theirs = out.stdout.split("\n")
        if theirs and theirs[-1] == "":
            theirs.pop()
        ours, status = run_ours(args)
        r = compare_view(view, ours, theirs, args=args)
        r.update(view=view, args=" ".join(args), status_ours=status, status_theirs=out.returncode)
        results.append(r)
    return results

# name (csv field or XML tag) -> allowed difference, for values that move by themselves
TOLERANCE = [
    (re.compile(r"temperature\.|_temp$|temp_tlimit"), 5.0),
    (re.compile(r"power\.draw|power_draw"), 15.0),
    (re.compile(r"^clocks\.current\.|^clocks\.(gr|sm|mem|video)$|^clocks/"), 2000.0),
    (re.compile(r"tx_util|rx_util"), 1e9),          # PCIe throughput (KB/s), before the _util$ below
    (re.compile(r"utilization\.|_util$"), 100.0),
    (re.compile(r"clocks_event_reasons\.active|clocks_throttle_reasons\.active|pstate|performance_state|"
                r"power_state|gpu_idle|clocks_event_reason_"), None),   # any value: it follows the load
    (re.compile(r"counters|energy"), 1e12),
]
TIME_CSV = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{3}$")
TIME_XML = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$")


def tolerance(name):
    for pat, tol in TOLERANCE:
        if pat.search(name):
            return True, tol
    return False, 0.0


def number(text):
    m = re.match(r"\s*(-?\d+(?:\.\d+)?)\s*(.*)$", text)
    return (float(m.group(1)), m.group(2)) if m else (None, None)


def same(name, ours, theirs):
    """'equal', 'close' (within tolerance) or 'different'."""
    if ours == theirs:
        return "equal"
    if name.endswith("timestamp"):
        a, b = ours.strip(), theirs.strip()
        if (TIME_CSV.match(a) and TIME_CSV.match(b)) or (TIME_XML.match(a) and TIME_XML.match(b)):
            return "close"
        return "different"
    moving, tol = tolerance(name)
    if moving:
        if tol is None:
            return "close"
        a, ua = number(ours)
        b, ub = number(theirs)
        if a is not None and b is not None and ua == ub and abs(a - b) <= tol:
            return "close"
    return "different"


def nvidia_smi(*args):
    out = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("nvidia-smi %s: exit %d: %s" % (" ".join(args), out.returncode,
                                                             (out.stdout + out.stderr).strip()[:500]))
    return out.stdout


def compare_csv(nvsmi, fields, units, report):
    fmt = "csv" if units else "csv,noheader,nounits"
    theirs = list(csv.reader(nvidia_smi("--query-gpu=" + ",".join(fields), "--format=" + fmt).splitlines()))
    ours = list(csv.reader(nvsmi.CsvQuery(",".join(fields), header=units, units=units)))
    kind = "csv" if units else "csv,noheader,nounits"
    result = {"kind": kind, "equal": 0, "close": 0, "total": 0, "differences": []}
    if units:
        for i, (a, b) in enumerate(zip(ours[0], theirs[0])):
            result["total"] += 1
            if a == b:
                result["equal"] += 1
            else:
                result["differences"].append({"gpu": None, "field": fields[i], "what": "header",
                                              "ours": a, "nvidia-smi": b})
        ours, theirs = ours[1:], theirs[1:]
    if len(ours) != len(theirs):
        result["differences"].append({"gpu": None, "field": None, "what": "rows", "ours": len(ours),
                                      "nvidia-smi": len(theirs)})
    for g, (row_a, row_b) in enumerate(zip(ours, theirs)):
        for name, a, b in zip(fields, row_a, row_b):
            result["total"] += 1
            verdict = same(name, a.strip(), b.strip())
            if verdict == "different":
                result["differences"].append({"gpu": g, "field": name, "what": "value", "ours": a.strip(),
                                              "nvidia-smi": b.strip()})
            else:
                result[verdict] += 1
                if report.show_equal:
                    print("  equal %s gpu%d %s: %s" % (kind, g, name, a.strip()))
    return result


def flatten(text):
    """[(path, text)] of the leaves, repeated siblings numbered: gpu[0]/pci/pci_bus."""
    root = ET.fromstring(text.split("\n", 2)[2] if text.startswith("<?xml") else text)
    out = []

    def walk(e, path):
        counts = {}
        for k in e:
            counts[k.tag] = counts.get(k.tag, 0) + 1
        seen = {}
        for k in e:
            n = seen.get(k.tag, 0)
            seen[k.tag] = n + 1
            p = "%s/%s" % (path, k.tag) + ("[%d]" % n if counts[k.tag] > 1 or k.tag == "gpu" else "")
            if len(k):
                walk(k, p)
            else:
                out.append((p, (k.text or "").strip()))
    walk(root, "")
    return out


def compare_xml(nvsmi, report):
    theirs = flatten(nvidia_smi("-q", "-x"))
    ours = flatten(nvsmi.XmlDeviceQuery())
    a, b = dict(ours), dict(theirs)
    result = {"kind": "xml", "equal": 0, "close": 0, "total": 0, "differences": []}
    for path, tv in theirs:
        result["total"] += 1
        if path not in a:
            result["differences"].append({"element": path, "what": "missing in ours", "nvidia-smi": tv})
            continue
        verdict = same(path.rsplit("/", 1)[-1] if "clocks" not in path else path.split("/", 2)[-1], a[path], tv)
        if verdict == "different":
            result["differences"].append({"element": path, "what": "value", "ours": a[path], "nvidia-smi": tv})
        else:
            result[verdict] += 1
            if report.show_equal:
                print("  equal xml %s: %s" % (path, tv))
    for path, ov in ours:
        if path not in b:
            result["differences"].append({"element": path, "what": "extra in ours", "ours": ov})
    # the order of the elements, as a whole
    order_ours = [p for p, _ in ours if p in b]
    order_theirs = [p for p, _ in theirs if p in a]
    result["same_order"] = order_ours == order_theirs
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fields", help="a file of fields (nvidia-smi-query-gpu-fields.txt's format)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--show-equal", action="store_true", help="print the equal values too")
    ap.add_argument("--no-views", dest="views", action="store_false",
                    help="leave out the line-by-line comparison of the views")
    args = ap.parse_args(argv)
    if shutil.which("nvidia-smi") is None:
        print("nvidia-smi is not on the PATH", file=sys.stderr)
        return 2
    if args.fields:
        with open(args.fields) as f:
            fields = [line.split()[0] for line in f if line.strip()]
    else:
        fields = [it.names[0] for it in smi._ITEMS if it.names]
    try:
        nvsmi = smi.nvidia_smi.getInstance()
        pynvml.nvmlDeviceGetCount()
    except pynvml.NVMLError as e:
        print("NVML: %s" % e, file=sys.stderr)
        return 2
    print("pynvml %s (%s) against %s" % (pynvml.__version__, pynvml.__file__,
                                         nvidia_smi("--version").splitlines()[0]))
    # an older nvidia-smi rejects the fields it does not know: leave those out, and say so
    for _ in range(len(fields)):
        try:
            nvidia_smi("--query-gpu=" + ",".join(fields), "--format=csv,noheader")
            break
        except RuntimeError as e:
            m = re.search(r'Field "([^"]*)" is not a valid field', str(e))
            if m is None or m.group(1) not in fields:
                print(e, file=sys.stderr)
                return 2
            print("nvidia-smi does not know %s: left out" % m.group(1))
            fields.remove(m.group(1))
    results = []
    t0 = time.time()
    for units in (True, False):
        results.append(compare_csv(nvsmi, fields, units, args))
    results.append(compare_xml(nvsmi, args))
    views = compare_views(args) if args.views else []
    for r in results:
        extra = "" if r["kind"] != "xml" else ", same element order: %s" % ("yes" if r["same_order"] else "no")
        print("\n== %s: %d of %d equal, %d more within tolerance, %d different%s" % (
            r["kind"], r["equal"], r["total"], r["close"], len(r["differences"]), extra))
        for d in r["differences"]:
            where = d.get("element") or "gpu%s %s %s" % (d.get("gpu"), d.get("what"), d.get("field"))
            if "ours" in d and "nvidia-smi" in d:
                print("  %s: ours %r, nvidia-smi %r" % (where, d["ours"], d["nvidia-smi"]))
            else:
                print("  %s: %s %r" % (where, d["what"], d.get("ours", d.get("nvidia-smi"))))
    if views:
        print("\n== views: pynvml-smi ARGS against nvidia-smi ARGS, line by line")
        print("%-34s %6s %6s %6s %6s  %s" % ("view", "lines", "equal", "moving", "diff", "exit ours/theirs"))
        for r in views:
            print("%-34s %6d %6d %6d %6d  %s/%s" % (r["view"][:-4], r["total"], r["equal"], r["moving"],
                                                  len(r["different"]), r["status_ours"], r["status_theirs"]))
        for r in views:
            for n, a, b, reason in r["different"]:
                print("  %s line %s: ours %r, nvidia-smi %r%s" % (r["view"], n, a, b,
                                                                  " (%s)" % reason if reason else ""))
    print("\n(%d fields, %.1f s)" % (len(fields), time.time() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"fields": fields, "results": results, "views": views}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
