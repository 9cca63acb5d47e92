"""python -m pynvml._sim: the simulated NVML's tools.

    python -m pynvml._sim path                      where the simulator library is
    python -m pynvml._sim symbols [--library L]     the entry points it exports
    python -m pynvml._sim hide -o OUT [--library L] NAME|PATTERN ...
        a copy (OUT: a file, or a directory that gets libnvidia-ml.so.1) in which those
        entry points cannot be found, as with an older driver; then
        PYNVML_LIBRARY=OUT/libnvidia-ml.so.1 (pynvml) or LD_LIBRARY_PATH=OUT (others)
"""
import argparse
import sys

from . import hide_symbols as _hide


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pynvml._sim", description="The simulated NVML's tools.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("path", help="print where the simulator library is")
    sp = sub.add_parser("symbols", help="list the symbols the library exports")
    sp.add_argument("--library", help="another library than the simulator")
    hp = sub.add_parser("hide", help="write a copy without some entry points")
    hp.add_argument("-o", "--out", required=True, help="the file to write, or a directory")
    hp.add_argument("--library", help="the library to copy (default: the simulator)")
    hp.add_argument("names", nargs="+", help="entry points, or fnmatch patterns ('nvmlDeviceGetMig*')")
    args = ap.parse_args(argv)
    if args.cmd == "path":
        print(_hide.sim_library())
    elif args.cmd == "symbols":
        print("\n".join(_hide.exported(args.library)))
    else:
        try:
            path, hidden = _hide.hide(args.names, args.out, args.library)
        except (_hide.HideError, OSError) as e:
            print(f"python -m pynvml._sim hide: {e}", file=sys.stderr)
            return 1
        print(f"{path}: {len(hidden)} entry points hidden: {' '.join(hidden)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
