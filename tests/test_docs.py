"""Docs are part of the feature: every registered function is documented,
and the examples in the README run."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from engine.expr import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent


def headings(path: Path, level: str) -> set[str]:
    pattern = re.compile(rf"^{level} (\S+)\s*$", re.MULTILINE)
    return set(pattern.findall(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("key", sorted(FUNCTIONS.keys()))
def test_every_function_has_an_entry_with_signature_and_example(key: str) -> None:
    text = (ROOT / "docs" / "formulas.md").read_text(encoding="utf-8")
    match = re.search(rf"^### {re.escape(key)}\n(.*?)(?=^#{{1,3}} |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/formulas.md has no '### {key}' entry"
    entry = match.group(1)
    assert f"`{key}(" in entry, f"the {key} entry has no signature line"
    assert "Example" in entry or "example" in entry, f"the {key} entry has no example"


def test_no_entry_documents_a_function_that_does_not_exist() -> None:
    documented = headings(ROOT / "docs" / "formulas.md", "###")
    assert documented - set(FUNCTIONS.keys()) == set()


def test_readme_examples_run() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "README.md", str(ROOT / "README.md"), 0)
    assert test.examples, "the README should show runnable examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0
