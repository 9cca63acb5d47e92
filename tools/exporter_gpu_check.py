"""pynvml-exporter on a real GPU, against nvidia-smi: read-only (tools/gpu_session.sh exporter).

    python tools/exporter_gpu_check.py [--json OUT]

Runs one scrape (`python -m pynvml.exporter --once`) and `nvidia-smi --query-gpu` right
after, and prints each metric of each GPU beside nvidia-smi's value of the same thing.
Values that move (power, utilization, clocks, temperature) are compared within a
tolerance; the others must be equal.  Exit status 1 where one differs.
"""
import argparse
import json
import re
import subprocess
import sys

# dcgm-exporter's name -> (nvidia-smi's field, allowed difference)
PAIRS = {
    "DCGM_FI_DEV_SM_CLOCK": ("clocks.sm", 400),
    "DCGM_FI_DEV_MEM_CLOCK": ("clocks.mem", 0),
    "DCGM_FI_DEV_GPU_TEMP": ("temperature.gpu", 3),
    "DCGM_FI_DEV_MEMORY_TEMP": ("temperature.memory", 3),
    "DCGM_FI_DEV_POWER_USAGE": ("power.draw", 30),
    "DCGM_FI_DEV_GPU_UTIL": ("utilization.gpu", 30),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("utilization.memory", 30),
    "DCGM_FI_DEV_ENC_UTIL": ("utilization.encoder", 30),
    "DCGM_FI_DEV_DEC_UTIL": ("utilization.decoder", 30),
    "DCGM_FI_DEV_FB_FREE": ("memory.free", 512),
    "DCGM_FI_DEV_FB_USED": ("memory.used", 512),
    "DCGM_FI_DEV_FB_RESERVED": ("memory.reserved", 0),
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": ("ecc.errors.corrected.volatile.total", 0),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ("ecc.errors.uncorrected.volatile.total", 0),
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": ("ecc.errors.corrected.aggregate.total", 0),
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": ("ecc.errors.uncorrected.aggregate.total", 0),
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": ("clocks_event_reasons.active", None),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json")
    args = ap.parse_args()
    r = subprocess.run([sys.executable, "-m", "pynvml.exporter", "--once"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        sys.exit("pynvml-exporter --once failed (%d): %s" % (r.returncode, r.stderr.strip()))
    ours = {}
    for line in r.stdout.splitlines():
        m = re.match(r'^(DCGM_FI_DEV_\w+)\{gpu="(\d+)".*\} (\S+)$', line)
        if m:
            ours[(m.group(1), int(m.group(2)))] = float(m.group(3))
    fields = ["index"] + [f for f, _ in PAIRS.values()]
    s = subprocess.run(["nvidia-smi", "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"],
                       capture_output=True, text=True, timeout=60)
    smi = {}
    for line in s.stdout.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        smi[int(cells[0])] = dict(zip(fields[1:], cells[1:]))
    bad, rows = 0, []
    for gpu, values in sorted(smi.items()):
        for name, (field, tolerance) in PAIRS.items():
            theirs = values.get(field, "")
            mine = ours.get((name, gpu))
            try:
                t = float(int(theirs, 16)) if theirs.startswith("0x") else float(theirs)
            except ValueError:
                t = None     # [N/A], [Not Supported]
            if mine is None or t is None:
                verdict = "absent in both" if mine is None and t is None else "only one has it"
            elif tolerance is None or abs(mine - t) <= tolerance:
                verdict = "ok"
            else:
                verdict = "DIFFERS"
            bad += verdict in ("DIFFERS", "only one has it")
            rows.append({"gpu": gpu, "metric": name, "ours": mine, "nvidia-smi": theirs, "verdict": verdict})
            print("%d %-38s ours %-14s nvidia-smi %-14s %s" % (gpu, name, mine, theirs, verdict))
    exported = sorted({k[0] for k in ours})
    print("exported: %d metrics of %d GPU(s); %d differ from nvidia-smi" % (len(exported), len(smi), bad))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "exported": exported, "scrape": r.stdout}, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
