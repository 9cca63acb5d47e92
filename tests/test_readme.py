"""The README's examples, run as a doctest against the simulated NVML."""
import doctest
import os

import pytest

from conftest import ROOT


@pytest.mark.simulator
def test_readme_examples(use_profile):
    os.environ.pop("PYNVML_SIM_PROFILE", None)
    text = (ROOT / "README.md").read_text()
    # each block begins with ">>>", which the split takes away
    examples = "\n>>>".join(block.split("```", 1)[0] for block in text.split("```python\n>>>")[1:])
    parser = doctest.DocTestParser()
    test = parser.get_doctest(">>>" + examples, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 10
