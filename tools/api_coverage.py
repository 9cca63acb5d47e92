#!/usr/bin/env python3
"""How much of nvidia-ml-py's public API our pynvml has, by name.

    python tools/api_coverage.py [--reference PATH] [--min PERCENT] [--missing]
    python tools/api_coverage.py --names [DIR] [--missing]
    python tools/api_coverage.py --module .ref/nvidia-ml-py-13.615.71/pynvml.py [--min ...] [--missing]

Reads the names of nvidia-ml-py 13.610.43 from tests/data/reference/nvidia-ml-py-api.json
(functions, struct classes, constants, NVMLError classes) and counts those that
`import pynvml` (ours) has.  Prints one line per kind and the total; --missing also
lists the absent names.  Exit status 1 when the function coverage is below --min
(a percentage), 2 when the reference is not there.

--names checks every name of nvidia-ml-py's module (all but dunders: its ctypes names,
modules, enum type aliases and internals too), loading its pynvml.py from DIR (a pip
--target folder of any version; default .ref/nvidia-ml-py, which `make ref` fills) beside
ours in this process: each must be in ours, of the same kind (module, exception class,
class, callable, or the type of a value) and, for values (constants, ctypes instances,
1-tuples, dicts, None), equal; a module or ctypes object must be the very same one.
Prints the version and the counts; exit status 1 when a name is missing or differs.

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


def load_reference(folder):
    """nvidia-ml-py's pynvml.py from `folder`, as module nvidia_ml_py_reference, and its version."""
    import importlib.util

    path = Path(folder) / "pynvml.py"
    spec = importlib.util.spec_from_file_location("nvidia_ml_py_reference", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod          # its _extractNVMLErrorsAsClasses looks itself up there
    spec.loader.exec_module(mod)
    versions = sorted(p.name[len("nvidia_ml_py-"):-len(".dist-info")] for p in Path(folder).glob("nvidia_ml_py-*.dist-info"))
    return mod, (versions[-1] if versions else "?")


def kind(value):
    import types

    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, type):
        return "exception class" if issubclass(value, BaseException) else "class"
    if callable(value):
        return "callable"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__


def same_value(a, b):
    """Whether ours (a) equals the reference's (b): None when not a value to compare."""
    import ctypes

    if isinstance(b, (int, float, str, bytes, tuple, dict)) or b is None:
        same_type = type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict))
        return same_type and a == b
    if isinstance(b, ctypes._SimpleCData):
        return type(a) is type(b) and a.value == b.value
    return None


def check_names(ref, ours):
    """{"names": all, "missing": [...], "kind": [(name, ours, ref)], "value": [...], "compared": n}"""
    import types
    import ctypes

    ctypes_objects = {id(v) for v in vars(ctypes).values()}
    out = {"names": [], "missing": [], "kind": [], "value": [], "compared": 0}
    for name, b in vars(ref).items():
        if name.startswith("__") and name.endswith("__"):
            continue
        out["names"].append(name)
        try:
            a = getattr(ours, name)
        except AttributeError:
            out["missing"].append(name)
            continue
        if kind(a) != kind(b):
            out["kind"].append((name, kind(a), kind(b)))
            continue
        if isinstance(b, types.ModuleType) or id(b) in ctypes_objects:
            same = a is b
        else:
            same = same_value(a, b)
        if same is not None:
            out["compared"] += 1
            if not same:
                out["value"].append((name, a, b))
    return out


def main_names(folder, show):
    if not (Path(folder) / "pynvml.py").exists():
        print(f"nvidia-ml-py not found in {folder} (make ref installs it)", file=sys.stderr)
        return 2
    ref, version = load_reference(folder)
    import pynvml

    r = check_names(ref, pynvml)
    n = len(r["names"])
    print(f"nvidia-ml-py {version}: {n} names (all but dunders)")
    print(f"present    {n - len(r['missing']):5d} of {n:5d}")
    print(f"same kind  {n - len(r['missing']) - len(r['kind']):5d} of {n - len(r['missing']):5d}")
    print(f"same value {r['compared'] - len(r['value']):5d} of {r['compared']:5d} compared")
    if show:
        if r["missing"]:
            print("  missing: " + ", ".join(r["missing"]))
        for name, a, b in r["kind"]:
            print(f"  kind of {name}: ours {a}, nvidia-ml-py's {b}")
        for name, a, b in r["value"]:
            print(f"  value of {name}: ours {a!r}, nvidia-ml-py's {b!r}")
    return 1 if r["missing"] or r["kind"] or r["value"] else 0

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
    ap.add_argument("--names", nargs="?", const=str(ROOT / ".ref" / "nvidia-ml-py"), metavar="DIR",
                    help="every name of the nvidia-ml-py in DIR, with kinds and values")
    args = ap.parse_args(argv)
    if args.names is not None:
        return main_names(args.names, args.missing)
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
