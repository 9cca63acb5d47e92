"""Mutation testing of the suite (make mutate): does a small plausible bug get caught?

    python tools/mutate.py [--only ID,ID] [--list] [--no-baseline] [--min 95]

The mutants are kept in tools/mutants.json, one object each:

    id           a short name (printed, and what --only takes)
    file         the file it changes (C under ext/ or sim/, Python under src/, codegen/)
    from, to     the exact original text (it must occur exactly once in the file) and its
                 replacement
    tests        pytest arguments that must catch it (a few files or -k selections: each
                 mutant is built and tested on its own, so keep them small)
    equivalent   (survivors only) why the mutant cannot be caught: it changes no behaviour

For each mutant: the file is changed; a codegen/ mutant also regenerates (codegen/generate.py)
the files it writes; the package is reinstalled into .venv (pip, in-tree build: a C mutant
recompiles the one file it changes, the others come from a compile cache, see `cc` below);
the tests run; the file (and anything regenerated) is put back whatever happens, and the
package reinstalled as it was at the end.  Killed: the tests fail (or hang past
--timeout).  Survived: they pass.  A mutant that does not build, or whose text is not found,
is an error in the list (reported, the run fails).

The score is killed / mutants; the run fails (exit 1) when it is under --min percent or a
survivor has no `equivalent` note.

    python tools/mutate.py cc ARGS...   the compile cache the builds run through (CC):
                                        gcc ARGS, its object file (and what the compiler
                                        said: its warnings) reused when the preprocessed
                                        source and the arguments are the same.  make build
                                        compiles through it too (see the Makefile).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "tools" / "mutants.json"
PY = ROOT / ".venv" / "bin" / "python"
CACHE = ROOT / "build" / "cc-cache"


# ---- the compile cache ------------------------------------------------------------------

def cc_main(args: list[str]) -> int:
    real = os.environ.get("MUTATE_REAL_CC", "gcc")
    if "-c" not in args or "-o" not in args:
        return subprocess.call([real, *args])          # a link, or anything else
    out = args[args.index("-o") + 1]
    src = [a for a in args if a.endswith((".c", ".S"))]
    if len(src) != 1 or src[0].endswith(".S"):          # .S: .incbin pulls in files -E does not show
        return subprocess.call([real, *args])
    pre_args = [a for i, a in enumerate(args) if a != "-c" and args[i - 1] != "-o" and a != "-o"]
    pre = subprocess.run([real, "-E", *pre_args], capture_output=True)
    if pre.returncode != 0:
        return subprocess.call([real, *args])
    key = hashlib.sha256(pre.stdout + "\0".join(pre_args).encode() + real.encode()).hexdigest()
    hit, said = CACHE / (key + ".o"), CACHE / (key + ".err")
    if hit.exists() and said.exists():
        shutil.copyfile(hit, out)
        sys.stderr.buffer.write(said.read_bytes())     # its warnings again, as a compile shows them
        return 0
    r = subprocess.run([real, *args], stderr=subprocess.PIPE)
    sys.stderr.buffer.write(r.stderr)
    if r.returncode == 0:
        CACHE.mkdir(parents=True, exist_ok=True)
        for src, dst in ((r.stderr, said), (Path(out).read_bytes(), hit)):
            tmp = dst.with_suffix(".tmp%d" % os.getpid())
            tmp.write_bytes(src)
            os.replace(tmp, dst)
    return r.returncode


# ---- the run ----------------------------------------------------------------------------

def load() -> list[dict]:
    mutants = json.loads(MUTANTS.read_text())
    ids = [m["id"] for m in mutants]
    if len(set(ids)) != len(ids):
        raise SystemExit("tools/mutants.json: an id is used twice")
    for m in mutants:
        missing = {"id", "file", "from", "to", "tests"} - m.keys()
        if missing:
            raise SystemExit(f"{m.get('id')}: missing {sorted(missing)}")
    return mutants


def clear_stale_build() -> None:
    """build/lib* and build/bdist* as an earlier build left them: setuptools copies into them
    and never deletes, so a module deleted since would be installed again (make build does
    the same)."""
    for d in list(ROOT.glob("build/lib*")) + list(ROOT.glob("build/bdist*")):
        shutil.rmtree(d)


def build(log: Path) -> bool:
    clear_stale_build()
    env = dict(os.environ, CC=f"{sys.executable} {Path(__file__).resolve()} cc")
    with log.open("ab") as f:
        rc = subprocess.call([str(PY), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "."],
                             cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
    return rc == 0


def run_tests(tests: list[str], timeout: float, log: Path) -> str:
    cmd = [str(PY), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    with log.open("ab") as f:
        f.write(("\n$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        try:
            rc = subprocess.call(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "killed (timeout)"
    if rc == 0:
        return "survived"
    if rc in (1, 134, 139, -6, -11) or rc < 0:
        return "killed"
    return f"error (pytest exit {rc}: see the log)"


def generated_outputs() -> list[Path]:
    sys.path.insert(0, str(ROOT / "codegen"))
    import generate  # noqa: E402
    return list(generate.outputs())


def run_one(m: dict, timeout: float, log: Path) -> str:
    path = ROOT / m["file"]
    original = path.read_bytes()
    text = original.decode()
    if text.count(m["from"]) != 1:
        return f"error ('from' found {text.count(m['from'])} times in {m['file']})"
    saved = {}
    if m["file"].startswith("codegen/"):
        saved = {p: p.read_bytes() for p in generated_outputs() if p.exists()}
    try:
        path.write_text(text.replace(m["from"], m["to"]))
        if saved:
            subprocess.run([sys.executable, str(ROOT / "codegen" / "generate.py")], cwd=ROOT, check=True,
                           capture_output=True)
            if all(p.read_bytes() == b for p, b in saved.items()):
                return "error (the generated files did not change)"
        if not build(log):
            return "error (does not build: see the log)"
        return run_tests(m["tests"], timeout, log)
    finally:
        path.write_bytes(original)
        for p, b in saved.items():
            p.write_bytes(b)


def main(argv: list[str]) -> int:
    if argv[:1] == ["cc"]:
        return cc_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run of all named tests unmutated")
    ap.add_argument("--min", type=float, default=95.0, help="the least score (percent) that passes")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds a mutant's tests may take")
    a = ap.parse_args(argv)
    mutants = load()
    if a.only:
        want = set(a.only.split(","))
        unknown = want - {m["id"] for m in mutants}
        if unknown:
            raise SystemExit(f"unknown mutant ids: {', '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m["id"] in want]
    if a.list:
        for m in mutants:
            print(f"{m['id']:32} {m['file']}")
        return 0
    if not PY.exists():
        raise SystemExit("no .venv: run make test (or make build) first")
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *{m["file"] for m in mutants}],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if dirty:
        print("note: uncommitted changes in mutated files (they are kept):\n" + dirty)
    log = Path(tempfile.gettempdir()) / f"pynvml-mutate-{os.getpid()}.log"
    print(f"{len(mutants)} mutants; log: {log}", flush=True)
    t0 = time.monotonic()
    if not build(log):
        raise SystemExit(f"the unmutated build failed: see {log}")
    if not a.no_baseline:
        tests = []
        for m in mutants:
            tests += [t for t in m["tests"] if t not in tests]
        files = sorted({t.split("::")[0] for t in tests if t.startswith("tests/")})
        print(f"baseline: {len(files)} test files unmutated ...", flush=True)
        if run_tests(files, a.timeout * 4, log) != "survived":
            raise SystemExit(f"the named tests fail without any mutant: see {log}")
    results = []
    try:
        for m in mutants:
            t = time.monotonic()
            r = run_one(m, a.timeout, log)
            results.append((m, r))
            print(f"  {m['id']:32} {r:20} {time.monotonic() - t:5.0f} s", flush=True)
    finally:
        build(log)                       # the package as the files are again
    killed = sum(r.startswith("killed") for _, r in results)
    survivors = [(m, r) for m, r in results if r == "survived"]
    errors = [(m, r) for m, r in results if r.startswith("error")]
    score = 100.0 * killed / max(len(results), 1)
    print(f"\nscore: {killed}/{len(results)} killed ({score:.1f}%), {len(survivors)} survived, "
          f"{len(errors)} errors, {time.monotonic() - t0:.0f} s")
    unexplained = 0
    for m, _ in survivors:
        note = m.get("equivalent")
        unexplained += not note
        print(f"  survivor {m['id']} ({m['file']}): " + (f"equivalent because {note}" if note else "UNEXPLAINED"))
    for m, r in errors:
        print(f"  {m['id']}: {r}")
    stale = [m["id"] for m, r in results if r.startswith("killed") and m.get("equivalent")]
    if stale:
        print("  killed although marked equivalent (drop the note):", ", ".join(stale))
    ok = score >= a.min and not unexplained and not errors
    print("PASS" if ok else "FAIL", f"(at least {a.min:g}% killed, every survivor explained)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
