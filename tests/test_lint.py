"""Workflow and code checks: `snakemake --lint`, `snakefmt --check`, `ruff check`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(cmd, cwd=ROOT):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_snakemake_lint_is_clean(tmp_path):
    for item in ("Snakefile", "workflow", "config", "profiles", "data"):  # data: the layouts
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    proc = _run([BIN / "snakemake", "--lint"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_snakefmt_clean():
    proc = _run([BIN / "snakefmt", "--check", "Snakefile", "workflow"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_clean():
    proc = _run([BIN / "ruff", "check", "src", "tests", "benchmarks"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
