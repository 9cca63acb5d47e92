"""python -m pynvml._sim: the simulated NVML's tools.

    python -m pynvml._sim path                      where the simulator library is
    python -m pynvml._sim symbols [--library L]     the entry points it exports
    python -m pynvml._sim check PROFILE             every problem of a profile (a file or a
                                                    built-in name), or a summary of its GPUs
    python -m pynvml._sim capture [-o FILE] [--anonymize]
        a profile of this machine's GPUs, from read-only getters (capture.py)
    python -m pynvml._sim replay-check FILE
        the simulator replaying a captured FILE answers every getter as captured
    python -m pynvml._sim hide -o OUT [--library L] NAME|PATTERN ...
        a copy (OUT: a file named *.so*, or a directory, made if missing, that gets
        libnvidia-ml.so.1) in which those
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
    cp = sub.add_parser("check", help="check a profile: every problem, or a summary of its GPUs")
    cp.add_argument("profile", help="a profile's file, or a built-in profile's name")
    sp = sub.add_parser("symbols", help="list the symbols the library exports")
    sp.add_argument("--library", help="another library than the simulator")
    cap = sub.add_parser("capture", help="write a profile of this machine's GPUs (read-only getters)")
    cap.add_argument("-o", "--out", help="the file to write (default: standard output)")
    cap.add_argument("--anonymize", action="store_true", help="replace UUIDs, serials, PCI bus ids")
    rp = sub.add_parser("replay-check", help="does the simulator replay a captured profile exactly?")
    rp.add_argument("file")
    hp = sub.add_parser("hide", help="write a copy without some entry points")
    hp.add_argument("-o", "--out", required=True, help="the file to write (*.so*), or a directory (made if missing)")
    hp.add_argument("--library", help="the library to copy (default: the simulator)")
    hp.add_argument("names", nargs="+", help="entry points, or fnmatch patterns ('nvmlDeviceGetMig*')")
    args = ap.parse_args(argv)
    if args.cmd == "path":
        print(_hide.sim_library())
    elif args.cmd == "capture":
        from . import capture

        try:
            return capture.main(args.out, args.anonymize)
        except Exception as e:   # NVML missing, a file that cannot be written: one line
            print(f"python -m pynvml._sim capture: {e}", file=sys.stderr)
            return 1
    elif args.cmd == "replay-check":
        from . import capture

        return capture.replay_check(args.file)
    elif args.cmd == "check":
        from . import check

        return check.check(args.profile)
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
