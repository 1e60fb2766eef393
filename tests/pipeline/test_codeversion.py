"""Derived code versions (netsense.pipeline.codeversion) on a small package written for the test:
the import closure read from the syntax trees, and what changes a version and what does not.
The end-to-end check (a module change re-runs exactly its rules) is
tests/workflow/test_code_versions.py."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from netsense.pipeline import codeversion as cv


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    """A throwaway ``netsense`` package on sys.path, so that ROOT_PACKAGE resolves to it."""
    root = tmp_path / "netsense"
    files = {
        "__init__.py": "from .core import a\n",
        "core/__init__.py": '"""core"""\n',
        "core/a.py": '"""A."""\nfrom . import b\nX = b.Y + 1\n',
        "core/b.py": "Y = 1\n",
        "core/c.py": "Z = 2\n",
        "cli/__init__.py": "",
        "cli/run.py": textwrap.dedent('''\
            def main():
                from ..core.a import X  # a lazy import counts too
                return X
            '''),
        "cli/other.py": "from ..core import c\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    for m in [m for m in sys.modules if m == "netsense" or m.startswith("netsense.")]:
        monkeypatch.delitem(sys.modules, m)
    for f in (cv._root_dir, cv._parse, cv._imports, cv._module_hash):
        f.cache_clear()
    yield root
    for f in (cv._root_dir, cv._parse, cv._imports, cv._module_hash):
        f.cache_clear()
    importlib.invalidate_caches()


def _version(root, module):
    return cv.code_version(module)  # cached per file state: an edit is seen without clearing


def test_closure_follows_relative_and_lazy_imports(pkg):
    assert cv.closure("netsense.cli.run") == {"netsense.cli.run", "netsense.core.a",
                                              "netsense.core.b"}
    assert cv.closure("netsense.cli.other") == {"netsense.cli.other", "netsense.core.c"}


def test_a_code_change_changes_the_version_of_its_importers_only(pkg):
    run, other = _version(pkg, "netsense.cli.run"), _version(pkg, "netsense.cli.other")
    (pkg / "core" / "b.py").write_text("Y = 2\n")
    assert _version(pkg, "netsense.cli.run") != run
    assert _version(pkg, "netsense.cli.other") == other


def test_comments_docstrings_and_formatting_change_nothing(pkg):
    before = _version(pkg, "netsense.cli.run")
    (pkg / "core" / "a.py").write_text('"""Other words."""\n# why\nfrom . import b  # note\n\n'
                                       "X = (b.Y\n     + 1)\n")
    assert _version(pkg, "netsense.cli.run") == before


def test_moving_an_import_to_its_absolute_spelling_changes_nothing(pkg):
    before = _version(pkg, "netsense.cli.run")
    (pkg / "core" / "a.py").write_text('"""A."""\nfrom netsense.core import b\nX = b.Y + 1\n')
    assert _version(pkg, "netsense.cli.run") == before


def test_the_real_commands_have_versions():
    from netsense.pipeline.codeversion import command_module, command_version

    for c in ("shard", "assemble", "fit", "figure", "study", "estimate"):
        assert importlib.util.find_spec(command_module(c)) is not None
        assert len(command_version(c)) == 12
