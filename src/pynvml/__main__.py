"""python -m pynvml: each GPU's name, memory, utilization, temperature, power and
processes.  Where no NVIDIA driver is installed it shows the simulated GPUs instead
(and says so); --sim asks for them explicitly."""
import argparse
import os
import sys
import time

import pynvml as N


def _try(fn, *args):
    try:
        return fn(*args)
    except N.NVMLError as e:
        return e


def _fmt(value, unit="", scale=1):
    if isinstance(value, N.NVMLError):
        return "[%s]" % value
    return "%d%s" % (value // scale, unit) if scale != 1 else "%s%s" % (value, unit)


def report(out=sys.stdout):
    print("Driver %s   NVML %s   CUDA %s" % (
        _try(N.nvmlSystemGetDriverVersion), _try(N.nvmlSystemGetNVMLVersion),
        _cuda(_try(N.nvmlSystemGetCudaDriverVersion))), file=out)
    for i in range(N.nvmlDeviceGetCount()):
        h = N.nvmlDeviceGetHandleByIndex(i)
        name = _try(N.nvmlDeviceGetName, h)
        print("GPU %d: %s (%s)" % (i, name, _try(N.nvmlDeviceGetUUID, h)), file=out)
        mem = _try(N.nvmlDeviceGetMemoryInfo, h)
        if isinstance(mem, N.NVMLError):
            print("  memory       %s" % _fmt(mem), file=out)
        else:
            print("  memory       %d / %d MiB used" % (mem.used >> 20, mem.total >> 20), file=out)
        util = _try(N.nvmlDeviceGetUtilizationRates, h)
        if isinstance(util, N.NVMLError):
            print("  utilization  %s" % _fmt(util), file=out)
        else:
            print("  utilization  gpu %d %%, memory %d %%" % (util.gpu, util.memory), file=out)
        temp = _try(N.nvmlDeviceGetTemperature, h, N.NVML_TEMPERATURE_GPU)
        print("  temperature  %s" % _fmt(temp, " C"), file=out)
        power = _try(N.nvmlDeviceGetPowerUsage, h)
        limit = _try(N.nvmlDeviceGetEnforcedPowerLimit, h)
        print("  power        %s / %s" % (_fmt(power, " W", 1000), _fmt(limit, " W", 1000)), file=out)
        procs = _try(N.nvmlDeviceGetComputeRunningProcesses, h)
        if isinstance(procs, N.NVMLError):
            print("  processes    %s" % _fmt(procs), file=out)
        elif not procs:
            print("  processes    none", file=out)
        else:
            print("  processes", file=out)
            for p in procs:
                pname = _try(N.nvmlSystemGetProcessName, p.pid)
                used = "n/a" if p.usedGpuMemory is None else "%d MiB" % (p.usedGpuMemory >> 20)
                print("    %7d  %-24s %s" % (p.pid, pname if isinstance(pname, str) else "?", used), file=out)


def _cuda(v):
    if isinstance(v, N.NVMLError):
        return _fmt(v)
    return "%d.%d" % (v // 1000, v % 1000 // 10)


def why_init_failed(e):
    """One line for a failed nvmlInit: the library that is not NVML, the profile the
    simulator refused (its first problem), or NVML's own error."""
    lib = os.environ.get("PYNVML_LIBRARY", "")
    path = N._nvml._library_path() or lib
    if isinstance(e, N.NVMLError_FunctionNotFound):
        return "%s is not an NVML library (it has no nvmlInit_v2)%s" % (
            path, " (PYNVML_LIBRARY)" if lib else "")
    if isinstance(e, N.NVMLError_DriverNotLoaded) and path:
        try:
            import ctypes

            sim = ctypes.CDLL(path)
            last = getattr(sim, "pynvmlSimLastLoadError", None)
        except OSError:
            last = None
        if last is not None:
            last.restype = ctypes.c_char_p
            lines = (last() or b"").decode("utf-8", "replace").splitlines()
            if lines:
                more = " (and %d more: python -m pynvml._sim check %s)" % (
                    len(lines) - 2, os.environ.get("PYNVML_SIM_PROFILE")) if len(lines) > 2 else ""
                return "the simulated NVML refused its profile: %s%s" % (lines[0], more)
    return "nvmlInit failed: %s%s" % (e, " (PYNVML_LIBRARY=%s)" % lib if lib else "")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m pynvml", description=__doc__)
    ap.add_argument("--sim", action="store_true", help="use the simulated NVML (PYNVML_LIBRARY=sim)")
    ap.add_argument("-l", "--loop", type=float, metavar="SECONDS", help="repeat every SECONDS")
    args = ap.parse_args(argv)
    if args.sim:
        os.environ["PYNVML_LIBRARY"] = "sim"
    try:
        try:
            N.nvmlInit()
        except N.NVMLError_LibraryNotFound as e:
            if os.environ.get("PYNVML_LIBRARY"):
                raise
            print("(no NVIDIA driver here: %s; showing the simulated GPUs)" % e)
            os.environ["PYNVML_LIBRARY"] = "sim"
            N.nvmlInit()
    except N.NVMLError as e:
        print("python -m pynvml: %s" % why_init_failed(e), file=sys.stderr)
        return 1
    try:
        while True:
            report()
            if not args.loop:
                break
            time.sleep(args.loop)
            print()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:   # the reader went away (| head): stop quietly
        sys.stdout = open(os.devnull, "w")
    finally:
        N.nvmlShutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
