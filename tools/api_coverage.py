#!/usr/bin/env python3
"""How much of nvidia-ml-py's public API our pynvml has, by name.

    python tools/api_coverage.py [--reference PATH] [--min PERCENT] [--missing]

Reads the names of nvidia-ml-py 13.610.43 from tests/data/reference/nvidia-ml-py-api.json
(functions, struct classes, constants, NVMLError classes) and counts those that
`import pynvml` (ours) has.  Prints one line per kind and the total; --missing also
lists the absent names.  Exit status 1 when the function coverage is below --min
(a percentage), 2 when the reference is not there.
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=str(ROOT / "tests" / "data" / "reference" / "nvidia-ml-py-api.json"))
    ap.add_argument("--min", type=float, default=0.0, help="least function coverage, in percent")
    ap.add_argument("--missing", action="store_true", help="list the names we lack")
    args = ap.parse_args(argv)
    path = Path(args.reference)
    if path.is_dir():
        path = path / "nvidia-ml-py-api.json"
    if not path.exists():
        print(f"reference not found: {path}", file=sys.stderr)
        return 2
    api = json.loads(path.read_text())
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
    have, missing = cov["functions"]
    fpct = 100.0 * len(have) / (len(have) + len(missing))
    if fpct < args.min:
        print(f"function coverage {fpct:.1f}% is below --min {args.min}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
