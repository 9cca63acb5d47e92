"""RSS over a million calls of each kind of wrapper: it must stay flat (no leak).

    python tools/rss_check.py [--calls N]

Kinds: a scalar result, a string, a struct, a list of structs, a handle, a raised
NVMLError, a rejected argument (TypeError).  Prints VmRSS before and after each kind
and exits 1 if any grew by more than --slack KiB.  Runs on any NVML
(PYNVML_LIBRARY=sim where there is no GPU).
"""
import argparse
import sys


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--slack", type=int, default=512, help="KiB of growth tolerated per kind")
    args = ap.parse_args(argv)
    import pynvml as N

    N.nvmlInit()
    h = N.nvmlDeviceGetHandleByIndex(0)
    last = N.nvmlDeviceGetHandleByIndex(N.nvmlDeviceGetCount() - 1)

    def raising():
        try:
            N.nvmlDeviceGetTemperature(h, 12345)
        except N.NVMLError:
            pass

    def rejected():
        try:
            N.nvmlDeviceGetTemperature(None, 0)
        except TypeError:
            pass

    kinds = {
        "scalar (nvmlDeviceGetPowerUsage)": lambda: N.nvmlDeviceGetPowerUsage(h),
        "string (nvmlDeviceGetName)": lambda: N.nvmlDeviceGetName(h),
        "struct (nvmlDeviceGetMemoryInfo)": lambda: N.nvmlDeviceGetMemoryInfo(h),
        "list (nvmlDeviceGetComputeRunningProcesses)": lambda: N.nvmlDeviceGetComputeRunningProcesses(last),
        "list of structs (nvmlDeviceGetFieldValues)": lambda: N.nvmlDeviceGetFieldValues(h, [1, 2, 3]),
        "handle (nvmlDeviceGetHandleByIndex)": lambda: N.nvmlDeviceGetHandleByIndex(0),
        "NVMLError raised": raising,
        "TypeError raised": rejected,
    }
    bad = 0
    for name, fn in kinds.items():
        for _ in range(10000):      # warm up: free lists, caches
            fn()
        before = rss_kib()
        for _ in range(args.calls):
            fn()
        after = rss_kib()
        grew = after - before
        flag = "ok" if grew <= args.slack else "GREW"
        bad += flag != "ok"
        print(f"{name:48} {args.calls:>9} calls  RSS {before} -> {after} KiB ({grew:+d})  {flag}")
    N.nvmlShutdown()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
