"""Write spec/entry_points.nvml: for each NVML entry point NVIDIA's headers declare, the first
nvml.h (of the CUDA toolkits below) that declares it and the NVML_ERROR_* codes its
documentation lists.  The docstrings and the API reference say both (codegen/emit_doc.py).

    python tools/nvml_header_facts.py [--headers DIR]

NVIDIA's headers come from PyPI (nvidia-nvml-dev*, one wheel per toolkit below, about
100 KB each; pip download, into a temporary folder, never committed).  Only facts are
taken from them: which names are declared, which return-code names a function's
`@return` list holds.  --headers DIR reads DIR/<toolkit>/nvml.h instead of downloading.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "codegen"))

import spec as spec_mod  # noqa: E402

# CUDA toolkit -> the wheel that has its nvml.h.  The oldest one stands for "this or older".
TOOLKITS = {
    "11.7": "nvidia-nvml-dev-cu11==11.7.91",
    "12.0": "nvidia-nvml-dev-cu12==12.0.76",
    "12.2": "nvidia-nvml-dev-cu12==12.2.81",
    "12.4": "nvidia-nvml-dev-cu12==12.4.99",
    "12.6": "nvidia-nvml-dev-cu12==12.6.37",
    "12.8": "nvidia-nvml-dev-cu12==12.8.55",
    "13.0": "nvidia-nvml-dev==13.0.39",
    "13.2": "nvidia-nvml-dev==13.2.51",
    "13.5": "nvidia-nvml-dev==13.5.37",
}

DECL_RE = re.compile(r"nvmlReturn_t\s+DECLDIR\s+(nvml\w+)\s*\(")
CODE_RE = re.compile(r"NVML_ERROR_([A-Z_]+)")


def fetch_headers(dest: Path) -> None:
    for tk, req in TOOLKITS.items():
        wheels = dest / "wheels" / tk
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), req],
                       check=True)
        whl = next(wheels.glob("*.whl"))
        with zipfile.ZipFile(whl) as z:
            name = next(n for n in z.namelist() if n.endswith("/nvml.h"))
            (dest / tk).mkdir(parents=True, exist_ok=True)
            (dest / tk / "nvml.h").write_bytes(z.read(name))


def declared(text: str) -> dict[str, list[str]]:
    """Each declared entry point -> the NVML_ERROR_* codes of the doc comment before it
    (empty for the undocumented legacy declarations)."""
    out: dict[str, list[str]] = {}
    for m in DECL_RE.finditer(text):
        name = m.group(1)
        head = text[:m.start()].rstrip()
        codes: list[str] = []
        if head.endswith("*/"):
            start = head.rfind("/**")
            comment = head[start:] if start >= 0 else ""
            ret = comment.find("@return")
            if ret >= 0:
                # the @return list ends at the next @-tag (e.g. @see) or the comment's end
                tail = comment[ret + 7:]
                nxt = re.search(r"\n\s*\*\s*[@\\](?!ref)", tail)
                codes = sorted(set(CODE_RE.findall(tail[: nxt.start()] if nxt else tail)))
        if codes or name not in out:
            out[name] = codes
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--headers", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hdir = args.headers
        if hdir is None:
            hdir = Path(tmp)
            fetch_headers(hdir)
        per_tk = {tk: declared((hdir / tk / "nvml.h").read_text(errors="replace")) for tk in TOOLKITS}
    spec = spec_mod.load()
    newest = list(TOOLKITS)[-1]
    lines = [
        "# NVML entry points: the first nvml.h that declares each (CUDA toolkit; 11.7 means",
        "# 11.7 or older) and the NVML_ERROR_* codes that NVIDIA's documentation of it lists",
        "# (without the prefix).  Written by tools/nvml_header_facts.py from the headers of",
        "# nvidia-nvml-dev; an entry point not here is said to be undocumented.  One a line:",
        "#",
        "#   ENTRY_POINT since=TOOLKIT [raises=CODE,CODE,...]",
        "",
    ]
    # every entry point of the headers (not only those the spec binds now), so that a
    # function added to the spec later has its facts already
    every = sorted(set().union(*per_tk.values()))
    for sym in every:
        first = next(tk for tk in TOOLKITS if sym in per_tk[tk])
        codes = per_tk[newest].get(sym) or next((per_tk[tk][sym] for tk in reversed(TOOLKITS)
                                                   if per_tk[tk].get(sym)), [])
        line = f"{sym} since={first}"
        if codes:
            line += " raises=" + ",".join(codes)
        lines.append(line)
    (ROOT / "spec" / "entry_points.nvml").write_text("\n".join(lines) + "\n")
    bound = sum(1 for sym in spec.c_symbols if any(sym in per_tk[tk] for tk in TOOLKITS))
    print(f"wrote spec/entry_points.nvml: {len(lines) - 7} entry points ({bound} of the spec's {len(spec.c_symbols)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
