"""Check our declarations of the NVML ABI against a real nvml.h with a C compiler.

    python tools/abi_check.py --nvml-h /usr/local/cuda-13.0/targets/x86_64-linux/include/nvml.h

Writes a C program that includes nvml.h and prints sizeof, _Alignof and offsetof of
every struct the spec declares (with every field of ours), and the value of every
constant the spec declares that nvml.h also has (as an enum or macro); compiles and
runs it; compares with the layout our own C compiler gave our declarations
(pynvml._nvml._struct_layouts()) and with our constants.  Exit 1 on any mismatch.
Names nvml.h lacks are listed, not failed (nvidia-ml-py has some of its own).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "codegen"))

import pynvml  # noqa: E402
import spec as spec_mod  # noqa: E402

# Where nvidia-ml-py 13.610.43 and nvml.h (CUDA 13.0) disagree we keep nvidia-ml-py's
# value, since code written for it must see the same numbers: name -> (ours, nvml.h's).
NVIDIA_ML_PY_DIFFERS = {
    "NVML_GPM_METRIC_MAX": (333, 210),                    # newer metrics in nvidia-ml-py
    "NVML_COMPUTE_INSTANCE_PROFILE_COUNT": (9, 8),
    "NVML_FI_MAX": (303, 274),                            # newer field ids
    "NVML_GPU_INSTANCE_PROFILE_COUNT": (18, 17),
    "NVML_NVLINK_MAX_LINKS": (36, 18),
    "NVML_POWER_SMOOTHING_NUM_PROFILE_PARAMS": (8, 4),
    "nvmlC2cModeInfo_v1": (16777224, 16777220),           # nvidia-ml-py's struct is 8 bytes
    # nvidia-ml-py's 1-tuples (a stray comma), kept for code that passes them on
    "NVML_P2P_CAPS_INDEX_READ": ((0,), 0),
    "NVML_GRID_LICENSE_EXPIRY_NOT_AVAILABLE": ((0,), 0),
    "NVML_GRID_LICENSE_EXPIRY_INVALID": ((1,), 1),
    "NVML_GRID_LICENSE_EXPIRY_VALID": ((2,), 2),
    "NVML_GRID_LICENSE_EXPIRY_NOT_APPLICABLE": ((3,), 3),
    "NVML_GRID_LICENSE_EXPIRY_PERMANENT": ((4,), 4),
}


# Members that sit in an anonymous union in nvml.h, under another name there.
UNION_MEMBERS = {("nvmlPRMTLV_v1_t", "data"): "inData"}


def probe_program(spec, nvml_h):
    lines = ["#include <stdio.h>", "#include <stddef.h>", f'#include "{nvml_h}"', "int main(void) {",
             '  printf("{\\"structs\\": {");', "  int first = 1;"]
    for s in spec.structs.values():
        fields = " ".join(
            f'printf("%s[\\"{f.cname or f.name}\\", %zu]", {i} ? ", " : "", offsetof({s.cname}, {UNION_MEMBERS.get((s.cname, f.name), f.cname or f.name)}));'
            for i, f in enumerate(s.fields) if not f.type.bits)
        lines.append(f'  printf("%s\\"{s.cname}\\": [%zu, %zu, [", first ? "" : ", ", sizeof({s.cname}), '
                     f"_Alignof({s.cname})); {fields} printf(\"]]\"); first = 0;")
    lines.append('  printf("}}\\n");')
    lines.append("  return 0;\n}")
    return "\n".join(lines) + "\n"


def constants_program(names, nvml_h):
    lines = ["#include <stdio.h>", f'#include "{nvml_h}"', "int main(void) {", '  printf("{");']
    for i, n in enumerate(names):
        sep = '""' if i == 0 else '", "'
        lines.append(f'  printf("%s\\"{n}\\": %lld", {sep}, (long long)({n}));')
    lines.append('  printf("}\\n");')
    lines.append("  return 0;\n}")
    return "\n".join(lines) + "\n"


def compile_run(source, workdir, name):
    c = Path(workdir) / f"{name}.c"
    exe = Path(workdir) / name
    c.write_text(source)
    r = subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-o", str(exe), str(c)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"compiling {name} failed:\n{r.stderr[:4000]}")
    return json.loads(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nvml-h", required=True)
    ap.add_argument("--abi-json", help="nvml-abi.json: which constant names nvml.h has "
                                       "(default: ../shared/reference or $PYNVML_REFERENCE_DATA)")
    args = ap.parse_args(argv)
    spec = spec_mod.load()
    abi_json = Path(args.abi_json) if args.abi_json else \
        Path(os.environ.get("PYNVML_REFERENCE_DATA") or ROOT.parent / "shared" / "reference") / "nvml-abi.json"
    abi = json.loads(abi_json.read_text())
    in_header = set(abi["macros"]) | {k for e in abi["enums"].values() for k in e}
    ours = pynvml._nvml._struct_layouts()
    header_structs = {s for s in spec.structs if s in abi["records"] or s in abi["typedefs"]}
    problems, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        spec.structs = {k: v for k, v in spec.structs.items() if k in header_structs}
        theirs = compile_run(probe_program(spec, args.nvml_h), tmp, "structs")["structs"]
        for name, (size, align, fields) in theirs.items():
            osize, oalign, ofields = ours[name]
            checked += 1
            if (size, align) != (osize, oalign):
                problems.append(f"{name}: size/align {osize}/{oalign}, nvml.h {size}/{align}")
            ours_off = dict(ofields)
            for fname, off in fields:
                if ours_off.get(fname) != off:
                    problems.append(f"{name}.{fname}: offset {ours_off.get(fname)}, nvml.h {off}")
        names = [c.name for c in spec.constants if isinstance(c.value, int) and c.name in in_header]
        values = compile_run(constants_program(names, args.nvml_h), tmp, "constants")
        for n, v in values.items():
            checked += 1
            ours_v = getattr(pynvml, n)
            if (ours_v & 0xFFFFFFFFFFFFFFFF) != (v & 0xFFFFFFFFFFFFFFFF) and \
                    NVIDIA_ML_PY_DIFFERS.get(n) != (ours_v, v):
                problems.append(f"{n}: ours {ours_v}, nvml.h {v}")
    skipped = sorted(set(spec_mod.load().structs) - header_structs)
    print(f"checked {checked} structs and constants against {args.nvml_h}; "
          f"{len(problems)} differ; structs nvml.h lacks: {len(skipped)}")
    for p in problems:
        print("  DIFF", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
