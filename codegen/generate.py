"""Generate the C and Python files that follow from the NVML spec.

    python codegen/generate.py          write the generated files
    python codegen/generate.py --check  exit 1 if any of them is out of date

The generated files are checked in; tests/test_generated.py runs --check.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import emit_capture  # noqa: E402
import emit_decls  # noqa: E402
import emit_ext  # noqa: E402
import emit_schema  # noqa: E402
import emit_sim  # noqa: E402
import emit_stubs  # noqa: E402
import spec as spec_mod  # noqa: E402

ROOT = HERE.parent


def outputs() -> dict[Path, str]:
    spec = spec_mod.load()
    extra = {}
    if (ROOT / emit_stubs.COMPAT_FILE).exists():   # issue #10's module: a stub of it too
        extra[ROOT / emit_stubs.COMPAT_FILE.replace(".py", ".pyi")] = emit_stubs.COMPAT_STUB
    return extra | {
        ROOT / "include" / "nvml_decls.h": emit_decls.emit(spec),
        ROOT / "ext" / "generated" / "sym_names.c.h": emit_decls.emit_sym_names(spec),
        ROOT / "ext" / "generated" / "wrappers.c.h": emit_ext.emit_wrappers(spec),
        ROOT / "ext" / "generated" / "structs.c.h": emit_ext.emit_structs(spec),
        ROOT / "ext" / "generated" / "constants.c.h": emit_ext.emit_constants(spec),
        ROOT / "sim" / "generated" / "entry_points.c": emit_sim.emit(spec),
        ROOT / "ext" / "generated" / "docs.c.h": emit_ext.emit_docs(spec, ROOT),
        ROOT / "src" / "pynvml" / "_nvml.pyi": emit_stubs.emit(spec),
        ROOT / "src" / "pynvml" / "__init__.pyi": emit_stubs.emit_init(spec, ROOT),
        ROOT / "src" / "pynvml" / "_sim" / "profile.schema.json": emit_schema.emit(spec),
        ROOT / "src" / "pynvml" / "_sim" / "capture_plan.py": emit_capture.emit(spec),
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in outputs().items():
        old = path.read_text() if path.exists() else None
        if old == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if check and stale:
        print("out of date (run python codegen/generate.py):", *map(str, stale), sep="\n  ")
        return 1
    if not check:
        for s in stale:
            print("wrote", s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
