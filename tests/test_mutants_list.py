"""The mutation list (tools/mutants.json, `make mutate`) still applies to the code: each
mutant's text is found exactly once in its file.  A change or a merge that moves the code
would otherwise turn a mutant into an "error" that only `make mutate` (not in CI) shows."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = json.loads((ROOT / "tools" / "mutants.json").read_text())


def test_the_list_is_large_and_ids_are_unique():
    ids = [m["id"] for m in MUTANTS]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("m", MUTANTS, ids=[m["id"] for m in MUTANTS])
def test_mutant_applies_once(m):
    text = (ROOT / m["file"]).read_text()
    assert text.count(m["from"]) == 1, "%s: 'from' found %d times in %s" % (m["id"], text.count(m["from"]), m["file"])
    assert m["to"] != m["from"] and m["tests"]
    for t in m["tests"]:
        assert (ROOT / t.split("::")[0]).exists(), t
