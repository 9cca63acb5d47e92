"""Copy the reference facts the test suite needs into tests/data/reference, identifiers
scrubbed, so that a clone with nothing beside it runs the whole suite.

    python tools/import_reference.py [SOURCE]      (default: ../shared/reference, or ../../)
    python tools/import_reference.py --check [SOURCE]

SOURCE is the team's reference folder (its README says where each file came from: nvml.h
of CUDA 13.0, nvidia-ml-py 13.610.43's names, nvidia-smi 580 and nvidia-ml-py on an H100
and an H200).  Each file is copied under the same relative path (tests read
tests/data/reference/h200/q.txt where the source has h200/q.txt), and a README there
records where the copy came from.

Scrubbing: the identifiers of a GPU (UUID, serial number, PDI, fabric GUID, host name)
are found where the captures name them (nvidia-smi -q -x's elements, nvidia-ml-py's
recorded calls, every GPU-/MIG- UUID in any file) and every occurrence of each one, in
every file, is replaced by zeros of the same shape.  Values that are already fake (all
zeros, or the sequences the captures were given: 1650000000001, 0x0123456789abcdef,
GPU-00000000-1111-2222-3333-444444444444) stay: the simulator's default profile and the
tests know them.  --check writes nothing and exits 1 where tests/data differs from what
an import would write (so a stale or hand-edited copy is seen).
"""
import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "tests" / "data" / "reference"

# What the tests read: the two API descriptions, the smi field list, every capture.
FILES = ["nvml-abi.json", "nvidia-ml-py-api.json", "nvidia-smi-query-gpu-fields.txt"]
FOLDERS = ["h100", "h200"]

FAKE = {"1650000000001", "0x0123456789abcdef", "00000000-1111-2222-3333-444444444444"}
UUID = re.compile(r"\b(?:GPU|MIG)-(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b")
# nvidia-smi -q -x elements that hold an identifier of the GPU or its host
XML_IDS = re.compile(r"<(serial|uuid|pdi|gpu_fabric_guid|hostname|chassis_serial_number)>([^<]*)</\1>")
# nvidia-ml-py calls whose result identifies the GPU or its host
CALL_IDS = ("nvmlDeviceGetSerial(", "nvmlDeviceGetUUID(", "nvmlDeviceGetPdi(", "nvmlDeviceGetHostname")


def _head(value):
    return next((h for h in ("GPU-", "MIG-", "0x") if value.startswith(h)), "")


def _is_fake(value):
    body = value[len(_head(value)):]
    return body in FAKE or value in FAKE or not body.strip("0-") or value in ("N/A", "[N/A]")


def _zeros(value):
    """The same shape, every digit and letter 0 (a GPU-, MIG- or 0x head and dashes kept)."""
    head = _head(value)
    return head + re.sub(r"[0-9a-zA-Z]", "0", value[len(head):])


def identifiers(texts):
    """The identifier values the captures name, that are not fake already."""
    found = set()
    for name, text in texts.items():
        found.update(m.group(0) for m in UUID.finditer(text))
        found.update(m.group(2).strip() for m in XML_IDS.finditer(text))
        if name.endswith("nvidia-ml-py.json"):
            for call, rec in json.loads(text).get("calls", {}).items():
                if call.startswith(CALL_IDS) and isinstance(rec, dict) and isinstance(rec.get("value"), str):
                    found.add(rec["value"])
    return {v for v in found if not _is_fake(v) and len(v) >= 6}


def scrubbed(source):
    """{relative path: text}, scrubbed."""
    paths = [source / f for f in FILES] + sorted(p for d in FOLDERS for p in (source / d).glob("*") if p.is_file())
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"import_reference: not in {source}: {', '.join(missing)}")
    texts = {p.relative_to(source).as_posix(): p.read_text() for p in paths}
    ids = sorted(identifiers(texts), key=len, reverse=True)
    for rel, text in texts.items():
        for v in ids:
            text = text.replace(v, _zeros(v))
        texts[rel] = text
    return texts, len(ids)


README = """# Reference data for the tests

Written by `tools/import_reference.py` (do not edit by hand: rerun it; `--check` tells
whether this copy is current).  Facts about NVML and the tools around it, against which
the tests check the project, identifiers (UUID, serial number, PDI) replaced by zeros:

| file | what |
|---|---|
| `nvml-abi.json` | NVML's functions, structs (sizes, field offsets), enums and macros as `nvml.h` of CUDA 13.0 (x86-64 Linux) declares them, and the symbols driver 580.159.04's `libnvidia-ml.so.1` exports |
| `nvidia-ml-py-api.json` | the public names of nvidia-ml-py 13.610.43: functions with signatures and the entry points each calls, struct classes, constants, error classes |
| `nvidia-smi-query-gpu-fields.txt` | the fields `nvidia-smi --query-gpu` accepts (driver 580), one a line, aliases after |
| `h100/` | on a real H100 80GB HBM3 (driver 580.159.04): nvidia-ml-py's result for each getter (`nvidia-ml-py.json`), `nvidia-smi -q` (text and XML), `--query-gpu` of every field (csv, and nounits) |
| `h200/` | nvidia-smi 580.159.04 on an H200, a file per command (the command line, its output, `[exit N]`): the default table, `-L`, `-q` and its sections, `-q -x`, the `--query-*` and `--help-query-*` options, `dmon`, `pmon`, `topo -m`, `nvlink`, `mig`, `--version`, `-h`, errors |
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", nargs="?", help="default: shared/reference beside the checkout or its parent")
    ap.add_argument("--check", action="store_true", help="compare with tests/data; write nothing")
    ap.add_argument("--dest", default=str(DEST), help="where to write (default: tests/data/reference)")
    args = ap.parse_args(argv)
    dest = Path(args.dest)
    source = Path(args.source) if args.source else next(
        (d for d in (ROOT.parent / "shared" / "reference", ROOT.parent.parent / "shared" / "reference")
         if d.is_dir()), ROOT.parent / "shared" / "reference")
    if not source.is_dir():
        print(f"import_reference: {source} is not a folder (the team's reference data)", file=sys.stderr)
        return 2
    texts, n_ids = scrubbed(source)
    texts["README.md"] = README
    if args.check:
        stale = [rel for rel, text in texts.items()
                 if not (dest / rel).exists() or (dest / rel).read_text() != text]
        extra = [p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()
                 and p.relative_to(dest).as_posix() not in texts]
        for rel in stale + extra:
            print(f"import_reference: {dest / rel} differs from an import", file=sys.stderr)
        return 1 if stale or extra else 0
    if dest.exists():
        shutil.rmtree(dest)
    for rel, text in texts.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    print(f"{dest}: {len(texts)} files, {n_ids} identifiers scrubbed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
