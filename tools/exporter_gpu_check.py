"""pynvml-exporter on a real GPU, against nvidia-smi: read-only (tools/gpu_session.sh exporter).

    python tools/exporter_gpu_check.py [--json OUT]

Runs one scrape (`python -m pynvml.exporter --once`) and `nvidia-smi --query-gpu` right
after, and prints each metric of each GPU beside nvidia-smi's value of the same thing.
Values that move (power, utilization, clocks, temperature) are compared within a
tolerance; the others must be equal.  Exit status 1 where one differs.  Then, also
read-only: the per-process memory against ``nvidia-smi --query-compute-apps``, the
DCGM_FI_PROF_* (GPM) values (ratios within 0-1), the MIG instances where MIG is on, and
the CPU time of each NVML call a scrape makes (where the CPU per scrape goes).
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
    bad += check_processes(r.stdout)
    bad += check_prof(r.stdout)
    mig = [line for line in r.stdout.splitlines() if "GPU_I_ID=" in line and not line.startswith("#")]
    print("MIG instance series: %d%s" % (len(mig), "" if mig else " (MIG off on every GPU)"))
    for line in mig[:10]:
        print("  " + line)
    costs = call_costs()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "exported": exported, "scrape": r.stdout, "call_costs": costs}, f, indent=1)
    return 1 if bad else 0


def check_processes(text):
    """pynvml_exporter_process_fb_used against nvidia-smi --query-compute-apps (MiB)."""
    ours = {}
    for line in text.splitlines():
        m = re.match(r'^pynvml_exporter_process_fb_used\{.*UUID="([^"]*)".*pid="(\d+)",type="compute".*\} (\S+)$', line)
        if m:
            ours[(m.group(1), int(m.group(2)))] = float(m.group(3))
    s = subprocess.run(["nvidia-smi", "--query-compute-apps=gpu_uuid,pid,used_memory", "--format=csv,noheader,nounits"],
                       capture_output=True, text=True, timeout=60)
    theirs = {}
    for line in s.stdout.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) == 3 and cells[1].isdigit():
            try:
                theirs[(cells[0], int(cells[1]))] = float(cells[2])
            except ValueError:
                theirs[(cells[0], int(cells[1]))] = None
    bad = 0
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key), theirs.get(key)
        ok = a is not None and b is not None and abs(a - b) <= 64     # memory moves between the two reads
        bad += not ok and (a is None) != (b is None)
        print("process %s pid %d: ours %s MiB, nvidia-smi %s MiB %s" % (key[0], key[1], a, b, "ok" if ok else "DIFFERS"))
    print("processes: %d ours, %d nvidia-smi" % (len(ours), len(theirs)))
    return bad


def check_prof(text):
    """DCGM_FI_PROF_*: present where GPM is (Hopper), ratios within 0-1, rates >= 0."""
    bad, n = 0, 0
    for line in text.splitlines():
        m = re.match(r'^(DCGM_FI_PROF_\w+)\{gpu="(\d+)"(.*)\} (\S+)$', line)
        if not m:
            continue
        n += 1
        v = float(m.group(4))
        ratio = not m.group(1).endswith("_BYTES")
        ok = (0 <= v <= 1) if ratio else v >= 0
        bad += not ok
        if not ok or m.group(2) == "0" and "GPU_I_ID" not in m.group(3):
            print("%s gpu %s %s %s" % (m.group(1), m.group(2), v, "ok" if ok else "OUT OF RANGE"))
    print("DCGM_FI_PROF_* series: %d, %d out of range" % (n, bad))
    return bad


def call_costs(reps=20):
    """CPU ms of each NVML call (or call group) of one GPU's read, and of a whole scrape."""
    import time
    import pynvml as N
    from pynvml import batch, exporter
    N.nvmlInit()
    exporter.GPM_MIN_INTERVAL = 0.0      # each read a GPM sample, as scrapes seconds apart
    e = exporter.Exporter(hostname="check")
    gpu = next((g for g in e.gpus if g.handle is not None), None)
    if gpu is None:
        return {}
    h = gpu.handle
    groups = []
    if e._fields:
        groups.append(("nvmlDeviceGetFieldValues (%d fields)" % len(e._fields),
                       lambda: N.nvmlDeviceGetFieldValues(h, e._fields)))
    for name, fields in e._slots.items():
        chosen = [e._fields[i] for i in fields]
        groups.append(("  field of " + name, lambda chosen=chosen: N.nvmlDeviceGetFieldValues(h, chosen)))
    seen = set()
    for name, call in e._calls:
        fn = call.call if isinstance(call, exporter._Part) else call
        if fn in seen:
            continue
        seen.add(fn)
        label = "%s (shared)" % getattr(fn, "__name__", name) if isinstance(call, exporter._Part) else name
        groups.append((label, lambda fn=fn: fn(h)))
    if e._batch:
        groups.append(("pynvml.batch.query (PCIe tx+rx)", lambda: batch.query([(h, m) for _, m in e._batch])))
    if gpu.gpm is not None:
        groups.append(("GPM sample + metrics", gpu.gpm.read))
    groups.append(("processes (compute + graphics)", lambda: (N.nvmlDeviceGetComputeRunningProcesses(h),
                                                              N.nvmlDeviceGetGraphicsRunningProcesses(h))))
    answers = []
    groups.append(("a whole scrape (serve, %s)" % ("inline" if e.inline else "a thread per GPU"),
                   lambda: e.serve(answers.append)))
    costs = {}
    print("CPU per call on GPU %d (ms, mean of %d):" % (gpu.index, reps))
    for label, fn in groups:
        try:
            fn()
        except N.NVMLError as err:
            print("  %-48s %s" % (label, err))
            continue
        c = time.process_time()
        w = time.perf_counter()
        for _ in range(reps):
            fn()
        costs[label] = cpu = (time.process_time() - c) * 1000 / reps
        wall = (time.perf_counter() - w) * 1000 / reps
        print("  %-48s CPU %7.3f   wall %7.3f" % (label, cpu, wall))
    e.close()
    return costs


if __name__ == "__main__":
    sys.exit(main())
