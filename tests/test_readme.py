"""The README is true: every Python example in it runs as written, and its Python API and
config reference list every search setting (derived from settings.py, as the config is)."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from strategy_search.settings import SearchSettings, spec_of

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_has_python_examples():
    assert _python_blocks()  # else the test below would run nothing


@pytest.mark.parametrize("number", range(len(_python_blocks())))
def test_every_readme_python_example_runs(number, tmp_path, monkeypatch):
    """Run from a copy of the repository's data folders, so nothing lands in the checkout."""
    for folder in ("experiments/data", "benchmarks/data/keel"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(None):
        exec(compile(_python_blocks()[number], f"README.md python example {number + 1}", "exec"), {})


def test_the_python_api_section_lists_every_setting():
    section = _section("Python API")
    missing = [f.name for f in dataclasses.fields(SearchSettings) if f"`{f.name}`" not in section]
    assert not missing


def test_the_config_reference_lists_every_setting():
    block = _section("Config reference")
    keys = {spec_of(f).config for f in dataclasses.fields(SearchSettings)}
    missing = [key for key in sorted(keys) if not re.search(rf"\b{re.escape(key.split('.')[-1])}:", block)]
    assert not missing


def test_the_python_api_signature_names_every_argument_of_search():
    """The README's ``search(X, y, *, <settings>, ...)`` line: every keyword of the real
    function is either a setting (listed above) or named in the line itself."""
    import inspect

    import strategy_search

    signature = re.search(r"`search\(X, y, \*, <settings>, ([^)]*)\)`", _section("Python API"))
    assert signature, "the README's search() signature line"
    named = {name.strip() for name in signature.group(1).split(",")}
    settings = {f.name for f in dataclasses.fields(SearchSettings)}
    parameters = inspect.signature(strategy_search.search).parameters
    missing = [p for p in parameters if p not in ("X", "y") and p not in settings and p not in named]
    assert not missing
