"""Workflow and code checks: `snakemake --lint`, `snakefmt --check`, `ruff check`, and the
package's layers and absence of import cycles (`lint-imports`, contracts in pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(cmd, cwd=ROOT):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_snakemake_lint_is_clean(tmp_path):
    for item in ("workflow", "config", "profiles", "data"):  # data: the layouts
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    proc = _run([BIN / "snakemake", "--lint"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_snakefmt_clean():
    proc = _run([BIN / "snakefmt", "--check", "workflow"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_clean():
    proc = _run([BIN / "ruff", "check", "src", "tests", "benchmarks"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _lint_imports(root: Path, pythonpath: Path):
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=root, capture_output=True,
                          text=True, timeout=300, env=env)


def test_import_layers_and_no_cycles():
    proc = _lint_imports(ROOT, ROOT / "src")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout, proc.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("core/stats.py", "from ..analysis import fits", "Layers"),          # core importing upward
    ("analysis/fits.py", "from ..cli import main", "Layers"),            # analysis importing the CLI
    ("pipeline/store.py", "from . import shard", "No import cycles"),   # store <-> shard
])
def test_lint_imports_catches_a_violation(tmp_path, module, line, contract):
    """The contracts are live: one bad import in a copy of the package breaks them."""
    shutil.copytree(ROOT / "src", tmp_path / "src")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "netsense" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    proc = _lint_imports(tmp_path, tmp_path / "src")
    assert proc.returncode != 0
    assert f"{contract}" in proc.stdout and "BROKEN" in proc.stdout, proc.stdout
