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
"""
import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pynvml
import pynvml.smi as smi

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
    print("\n(%d fields, %.1f s)" % (len(fields), time.time() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"fields": fields, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
