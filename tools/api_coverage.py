#!/usr/bin/env python3
"""How much of nvidia-ml-py's public API our pynvml has, by name.

    python tools/api_coverage.py [--reference PATH] [--min PERCENT] [--missing]
    python tools/api_coverage.py --module .ref/nvidia-ml-py-13.615.71/pynvml.py [--min ...] [--missing]

Reads the names of nvidia-ml-py 13.610.43 from tests/data/reference/nvidia-ml-py-api.json
(functions, struct classes, constants, NVMLError classes) and counts those that
`import pynvml` (ours) has.  Prints one line per kind and the total; --missing also
lists the absent names.  Exit status 1 when the function coverage is below --min
(a percentage), 2 when the reference is not there.

--module takes another release's pynvml.py instead (make ref puts 13.615.71 in .ref/): its
names are read by importing it (it loads no NVML then), and its constants' values are
compared with ours too ("values" line; a value that differs is listed, and is exit 1).
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("functions", "classes", "constants", "errors")


def coverage(api, module):
    """{kind: (present names, missing names)} over the reference's names."""
    have = set(dir(module))
    out = {}
    for kind in KINDS:
        names = sorted(api.get(kind, {}))
        out[kind] = ([n for n in names if n in have], [n for n in names if n not in have])
    return out


def api_of_module(path):
    """The reference's kinds of names, read from an nvidia-ml-py pynvml.py by import."""
    import ctypes
    import importlib.util
    import inspect

    spec = importlib.util.spec_from_file_location("nvidia_ml_py_coverage", str(path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["nvidia_ml_py_coverage"] = mod
    spec.loader.exec_module(mod)
    api = {k: {} for k in KINDS}
    for n, v in vars(mod).items():
        if n.startswith("_") or getattr(ctypes, n, object()) is v:
            continue
        if isinstance(v, type) and issubclass(v, Exception) and n.startswith("NVMLError_"):
            api["errors"][n] = getattr(v, "value", None)
        elif inspect.isfunction(v) and v.__module__ == mod.__name__:
            api["functions"][n] = None
        elif isinstance(v, type) and issubclass(v, (ctypes.Structure, ctypes.Union)):
            api["classes"][n] = None
        elif isinstance(v, (int, str)) and not isinstance(v, bool):
            api["constants"][n] = v
    return api


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=str(ROOT / "tests" / "data" / "reference" / "nvidia-ml-py-api.json"))
    ap.add_argument("--module", help="an nvidia-ml-py pynvml.py to read the names (and values) from instead")
    ap.add_argument("--min", type=float, default=0.0, help="least function coverage, in percent")
    ap.add_argument("--missing", action="store_true", help="list the names we lack")
    args = ap.parse_args(argv)
    path = Path(args.module or args.reference)
    if path.is_dir():
        path = path / ("pynvml.py" if args.module else "nvidia-ml-py-api.json")
    if not path.exists():
        print(f"reference not found: {path}", file=sys.stderr)
        return 2
    api = api_of_module(path) if args.module else json.loads(path.read_text())
    import pynvml

    cov = coverage(api, pynvml)
    total_have = total = 0
    for kind in KINDS:
        have, missing = cov[kind]
        n = len(have) + len(missing)
        total_have += len(have)
        total += n
        pct = 100.0 * len(have) / n if n else 100.0
        print(f"{kind:10s} {len(have):5d} of {n:5d}  {pct:5.1f}%")
        if args.missing and missing:
            print("  missing: " + ", ".join(missing))
    print(f"{'all':10s} {total_have:5d} of {total:5d}  {100.0 * total_have / total:5.1f}%")
    if args.module:
        differ = [f"{n}: ours {getattr(pynvml, n)!r}, reference {v!r}" for n, v in api["constants"].items()
                  if hasattr(pynvml, n) and getattr(pynvml, n) != v]
        print(f"{'values':10s} {len(api['constants']) - len(differ):5d} of {len(api['constants']):5d} constants equal")
        for d in differ:
            print("  differs: " + d)
        if differ:
            return 1
    have, missing = cov["functions"]
    fpct = 100.0 * len(have) / (len(have) + len(missing))
    if fpct < args.min:
        print(f"function coverage {fpct:.1f}% is below --min {args.min}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
