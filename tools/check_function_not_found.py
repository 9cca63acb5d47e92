#!/usr/bin/env python3
"""The NVML 13.615 functions (spec/functions_615.nvml) on the loaded NVML: which entry points
the driver exports, and for the getters among them, ours and nvidia-ml-py 13.615.71 called
alike on each GPU (a new struct of the function's class): both must raise the same
exception, NVMLError_FunctionNotFound where the driver lacks the entry point.

    python tools/check_function_not_found.py --reference PATH/pynvml.py

Read-only: setters and the event-set calls are never called, only looked up in the library
(dlsym).  Exit 1 when ours and the reference end differently for a getter, or when a getter
the driver lacks is not NVMLError_FunctionNotFound in ours.
"""
import argparse
import ctypes
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "codegen"))
sys.path.insert(0, str(ROOT / "tools"))

import compare_with_nvidia_ml_py as cmp  # noqa: E402
import spec as spec_mod  # noqa: E402


def outcome(fn):
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the exception's class is the result
        return type(e).__name__
    return f"returned {r!r}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", required=True, help="nvidia-ml-py 13.615.71's pynvml.py")
    args = ap.parse_args(argv)
    import pynvml

    funcs = spec_mod.parse_functions(spec_mod.SPEC_DIR / "functions_615.nvml", spec_mod.load().structs)
    pynvml.nvmlInit()      # first: which library ours loads is known once it has
    ref = cmp.load_reference(Path(args.reference), cmp.library_path_of(pynvml))
    ref.nvmlInit()
    lib = ctypes.CDLL(cmp.library_path_of(pynvml))
    bad = 0
    try:
        n = pynvml.nvmlDeviceGetCount()
        for f in funcs:
            exported = hasattr(lib, f.csym)
            if not cmp.is_read_only(f.pyname) or f.params[0].type.base != "Device":
                print(f"{f.pyname}: {'exported' if exported else 'not exported'} (not called: not a getter)")
                continue
            cls = "c_" + f.params[-1].type.base
            for i in range(n):
                ours = outcome(lambda: getattr(pynvml, f.pyname)(pynvml.nvmlDeviceGetHandleByIndex(i),
                                                                 getattr(pynvml, cls)()))
                obj = getattr(ref, cls)()
                arg = obj if cls in cmp.CALLEE_BYREF else ctypes.byref(obj)
                theirs = outcome(lambda: getattr(ref, f.pyname)(ref.nvmlDeviceGetHandleByIndex(i), arg))
                ok = ours == theirs and (exported or ours == "NVMLError_FunctionNotFound")
                bad += not ok
                print(f"{'OK  ' if ok else 'DIFF'} {f.pyname}(dev{i}): exported={exported} ours {ours}, "
                      f"nvidia-ml-py {theirs}")
    finally:
        pynvml.nvmlShutdown()
        ref.nvmlShutdown()
    print(f"{bad} getters end differently" if bad else "every getter ends the same way in both")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
