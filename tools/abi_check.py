"""Check our declarations of the NVML ABI against a real nvml.h with a C compiler.

    python tools/abi_check.py --nvml-h PATH/nvml.h
    python tools/abi_check.py --nvml-dev 13.4.92       # PyPI's nvidia-nvml-dev (downloaded once)

Reads nvml.h itself (through the C preprocessor) for the names it declares: its struct
and union typedefs, its enum constants and integer macros.  Then writes a C program that
includes nvml.h and prints sizeof, _Alignof and offsetof of every struct the spec declares
that nvml.h has (with every field of ours), and the value of every constant the spec
declares that nvml.h also has; compiles and runs it; compares with the layout our own C
compiler gave our declarations (pynvml._nvml._struct_layouts()) and with our constants.
Exit 1 on any mismatch that is not a known one (KNOWN_DIFFERENCES: where nvidia-ml-py,
which we follow, and that header disagree).  Structs and constants nvml.h lacks are
counted, not failed (nvidia-ml-py has some of its own).

--nvml-dev VERSION downloads that wheel with pip into .ref/nvidia-nvml-dev-VERSION/ (never
into the repository's tracked files: the header is NVIDIA's) and checks its
nvidia/cu13/include/nvml.h; `make abi` does that for 13.4.92 (CI runs it).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "codegen"))

import spec as spec_mod  # noqa: E402

# Where nvidia-ml-py and an nvml.h disagree we keep nvidia-ml-py's value, since code
# written for it must see the same numbers: name -> (ours, that nvml.h's).  The header is
# told apart by its NVML_API_VERSION and by whether it declares nvmlEventSetWait_v3_t
# (new in the 13.4 header, which goes with nvidia-ml-py 13.615.71).
ONE_TUPLES = {   # nvidia-ml-py's 1-tuples (a stray comma), kept for code that passes them on
    "NVML_P2P_CAPS_INDEX_READ": ((0,), 0),
    "NVML_GRID_LICENSE_EXPIRY_NOT_AVAILABLE": ((0,), 0),
    "NVML_GRID_LICENSE_EXPIRY_INVALID": ((1,), 1),
    "NVML_GRID_LICENSE_EXPIRY_VALID": ((2,), 2),
    "NVML_GRID_LICENSE_EXPIRY_NOT_APPLICABLE": ((3,), 3),
    "NVML_GRID_LICENSE_EXPIRY_PERMANENT": ((4,), 4),
}
NVIDIA_ML_PY_DIFFERS = {   # nvml.h of CUDA 13.0 (the GPU machine's; tests/data/reference)
    "NVML_GPM_METRIC_MAX": (477, 210),                    # newer metrics in nvidia-ml-py
    "NVML_COMPUTE_INSTANCE_PROFILE_COUNT": (9, 8),
    "NVML_FI_MAX": (308, 274),                            # newer field ids
    "NVML_GPU_INSTANCE_PROFILE_COUNT": (18, 17),
    "NVML_NVLINK_MAX_LINKS": (36, 18),
    "NVML_POWER_SMOOTHING_NUM_PROFILE_PARAMS": (8, 4),
    "nvmlC2cModeInfo_v1": (16777224, 16777220),           # nvidia-ml-py's struct is 8 bytes
    **ONE_TUPLES,
    # newer members of these enums in nvidia-ml-py 13.615.71
    "NVML_BRAND_COUNT": (20, 18),
    "NVML_TEMPERATURE_COUNT": (2, 1),
    "NVML_POWER_PROFILE_MAX": (25, 15),
    "nvmlClocksThrottleReasonAll": (2047, 511),           # two more reasons in 13.615.71
}
NVML_13_4_DIFFERS = {      # nvml.h of PyPI's nvidia-nvml-dev 13.4.92
    "nvmlC2cModeInfo_v1": (16777224, 16777220),           # nvidia-ml-py's struct is 8 bytes
    **ONE_TUPLES,
    # nvidia-ml-py 13.615.71 widened nvmlClocksThrottleReasonAll by the two new reasons
    # (board limit, reliability) but left nvmlClocksEventReasonAll as it was
    "nvmlClocksEventReasonAll": (511, 2047),
}


def known_differences(header):
    """The table for this header (a HeaderNames)."""
    return NVML_13_4_DIFFERS if "nvmlEventSetWait_v3_t" in header.typedefs else NVIDIA_ML_PY_DIFFERS


# Members that sit in an anonymous union in nvml.h, under another name there.
UNION_MEMBERS = {("nvmlPRMTLV_v1_t", "data"): "inData"}


# --- what nvml.h declares (read through the preprocessor, no list kept anywhere) ----------------

class HeaderNames:
    """The names an nvml.h declares: struct/union typedefs (and typedefs of them), enum
    constants (by enum) and integer-looking object macros, and its function prototypes."""

    def __init__(self, typedefs, enums, macros, functions):
        self.typedefs, self.enums, self.macros, self.functions = typedefs, enums, macros, functions

    @property
    def constants(self):
        return set(self.macros) | {k for e in self.enums.values() for k in e}


def _cc():
    return os.environ.get("CC", "cc")


def read_header(nvml_h) -> HeaderNames:
    nvml_h = str(nvml_h)
    text = subprocess.run([_cc(), "-E", "-P", "-x", "c", nvml_h], capture_output=True, text=True, check=True).stdout
    defined = subprocess.run([_cc(), "-E", "-dM", "-x", "c", nvml_h], capture_output=True, text=True,
                             check=True).stdout
    builtin = subprocess.run([_cc(), "-E", "-dM", "-x", "c", "/dev/null"], capture_output=True, text=True,
                             check=True).stdout
    skip = {line.split()[1] for line in builtin.splitlines() if line.startswith("#define ")}
    macros = {}
    for line in defined.splitlines():
        m = re.match(r"#define (\w+) (.+)$", line)   # object-like macros only (no '(' after the name)
        if m and m.group(1) not in skip and not m.group(1).startswith("_") and not m.group(2).startswith('"'):
            macros[m.group(1)] = m.group(2).strip()
    typedefs, enums = set(), {}
    i = 0
    for m in re.finditer(r"\btypedef\s+(struct|union|enum)\b\s*(\w*)\s*(\{)?", text):
        if m.start() < i:
            continue
        if m.group(3) is None:          # typedef struct tag name;
            n = re.match(r"\s*(\w+)\s*;", text[m.end():])
            if n and m.group(1) != "enum":
                typedefs.add(n.group(1))
            continue
        depth, j = 1, m.end()
        while depth:
            c = text[j]
            depth += c == "{"
            depth -= c == "}"
            j += 1
        body = text[m.end():j - 1]
        n = re.match(r"\s*(\w+)\s*;", text[j:])
        name = n.group(1) if n else m.group(2)
        i = j
        if m.group(1) == "enum":
            members = {}
            for item in body.split(","):
                k = re.match(r"\s*(\w+)", item)
                if k:
                    members[k.group(1)] = True
            enums[name] = members
        else:
            typedefs.add(name)
    # typedef OTHER_t NAME_t; of a struct typedef (nvmlGpuFabricInfoV_t and the like)
    for m in re.finditer(r"\btypedef\s+(\w+)\s+(\w+)\s*;", text):
        if m.group(1) in typedefs:
            typedefs.add(m.group(2))
    functions = set(re.findall(r"\bnvmlReturn_t\s+(nvml\w+)\s*\(", text))
    return HeaderNames(typedefs, enums, macros, functions)


# --- programs that print what the compiler makes of nvml.h ---------------------------------------

def probe_program(structs, nvml_h):
    lines = ["#include <stdio.h>", "#include <stddef.h>", f'#include "{nvml_h}"', "int main(void) {",
             '  printf("{\\"structs\\": {");', "  int first = 1;"]
    for s in structs:
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
    r = subprocess.run([_cc(), "-std=c11", "-w", "-o", str(exe), str(c)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"compiling {name} failed:\n{r.stderr[:4000]}")
    return json.loads(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout)


def header_facts(spec, nvml_h, header=None):
    """(layouts {cname: (size, align, [(field, offset)])}, constants {name: value}) that
    nvml.h gives for the spec's structs and integer constants it also declares."""
    header = header or read_header(nvml_h)
    structs = [s for s in spec.structs.values() if not s.nonabi and s.cname in header.typedefs]
    names = [c.name for c in spec.constants if isinstance(c.value, int) and c.name in header.constants]
    nvml_h = str(Path(nvml_h).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        layouts = compile_run(probe_program(structs, nvml_h), tmp, "structs")["structs"] if structs else {}
        values = compile_run(constants_program(names, nvml_h), tmp, "constants") if names else {}
    return layouts, values


def nvml_dev_header(version: str) -> Path:
    """nvidia/cu13/include/nvml.h of PyPI's nvidia-nvml-dev VERSION, downloaded once into .ref/."""
    dest = ROOT / ".ref" / f"nvidia-nvml-dev-{version}"
    header = dest / "nvidia" / "cu13" / "include" / "nvml.h"
    if not header.exists():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            "-d", tmp, f"nvidia-nvml-dev=={version}"], check=True)
            wheel = next(Path(tmp).glob("*.whl"))
            with zipfile.ZipFile(wheel) as z:
                z.extractall(dest)
    if not header.exists():
        raise SystemExit(f"nvidia-nvml-dev {version} holds no nvidia/cu13/include/nvml.h")
    return header


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--nvml-h", help="the nvml.h to check against")
    g.add_argument("--nvml-dev", metavar="VERSION", help="PyPI's nvidia-nvml-dev of that version (downloaded)")
    args = ap.parse_args(argv)
    nvml_h = Path(args.nvml_h) if args.nvml_h else nvml_dev_header(args.nvml_dev)
    if not nvml_h.is_file():
        print(f"abi_check: no such file: {nvml_h}", file=sys.stderr)
        return 2
    import pynvml

    spec = spec_mod.load()
    header = read_header(nvml_h)
    known = known_differences(header)
    ours = pynvml._nvml._struct_layouts()
    theirs, values = header_facts(spec, nvml_h, header)
    problems, nfields = [], 0
    for name, (size, align, fields) in theirs.items():
        osize, oalign, ofields = ours[name]
        if (size, align) != (osize, oalign):
            problems.append(f"{name}: size/align {osize}/{oalign}, nvml.h {size}/{align}")
        ours_off = dict(ofields)
        for fname, off in fields:
            nfields += 1
            if ours_off.get(fname) != off:
                problems.append(f"{name}.{fname}: offset {ours_off.get(fname)}, nvml.h {off}")
    accepted = []
    for n, v in values.items():
        ours_v = getattr(pynvml, n)
        if (ours_v & 0xFFFFFFFFFFFFFFFF) != (v & 0xFFFFFFFFFFFFFFFF):
            (accepted if known.get(n) == (ours_v, v) else problems).append(f"{n}: ours {ours_v}, nvml.h {v}")
    # a known difference this header does not show is stale; nvidia-ml-py's 1-tuples are
    # names the spec may not declare as constants at all (pynvml/_compat_names.py has them)
    stale = sorted(n for n in known if (n not in values and n not in ONE_TUPLES)
                   or (n in values and (getattr(pynvml, n), values[n]) != known[n]))
    problems += [f"{n}: listed as a known difference {known[n]}, which this nvml.h does not show" for n in stale]
    abi_structs = [s for s in spec.structs.values() if not s.nonabi]
    lacks = sorted(s.cname for s in abi_structs if s.cname not in header.typedefs)
    print(f"checked against {nvml_h}: {len(theirs)} structs ({nfields} field offsets, sizes, alignments) "
          f"and {len(values)} constants; {len(problems)} differ, {len(accepted)} known differences "
          f"(nvidia-ml-py's values); nvml.h lacks {len(lacks)} of the spec's structs "
          f"and {sum(1 for c in spec.constants if c.name not in header.constants)} of its constants")
    for p in accepted:
        print("  known", p)
    for n in lacks:
        print("  nvml.h lacks struct", n)
    for p in problems:
        print("  DIFF", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
