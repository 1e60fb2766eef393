"""NETSENSE_REQUIRE_SLURM (set by .ci/run): with it, a machine without SLURM fails the HPC
tests; without it they skip with the reason. Checked by running the HPC tests in a subprocess
whose PATH has no sinfo (no SLURM needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from slurmenv import slurm_required

ROOT = Path(__file__).resolve().parents[2]
HPC = ROOT / "tests" / "hpc"


def _run_hpc_tests(tmp_path, **env):
    """pytest in a subprocess on one test that asks for the ``slurm`` fixture of
    tests/hpc/conftest.py (loaded as a plugin), with no sinfo on PATH."""
    test = tmp_path / "test_needs_slurm.py"
    test.write_text("def test_needs_slurm(slurm):\n    pass\n")
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "NETSENSE_REQUIRE_SLURM")}
    base["PATH"] = str(tmp_path)  # no sinfo here
    base["PYTHONPATH"] = os.pathsep.join([str(HPC), base.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rs", "-p", "conftest", "--rootdir", str(tmp_path), str(test)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**base, **env})


def test_missing_slurm_fails_when_required_and_skips_otherwise(tmp_path):
    req = _run_hpc_tests(tmp_path, NETSENSE_REQUIRE_SLURM="1")
    assert req.returncode == 1 and "SLURM is required here" in req.stdout, req.stdout[-2000:]
    # CI=true alone no longer decides: the requirement is the explicit variable
    skip = _run_hpc_tests(tmp_path, CI="true")
    assert skip.returncode == 0 and "1 skipped" in skip.stdout, skip.stdout[-2000:]
    assert "sinfo not found" in skip.stdout


@pytest.mark.parametrize(("value", "want"), [("", False), ("0", False), ("1", True)])
def test_slurm_required_values(value, want):
    assert slurm_required({"NETSENSE_REQUIRE_SLURM": value}) is want
    assert slurm_required({}) is False


@pytest.mark.parametrize("value", ["true", "yes", " 1"])
def test_other_values_are_refused_on_one_line(value):
    with pytest.raises(ValueError, match=r"^NETSENSE_REQUIRE_SLURM: .*must be 1"):
        slurm_required({"NETSENSE_REQUIRE_SLURM": value})


def test_ci_entry_point_requires_slurm():
    text = (ROOT / ".ci" / "run").read_text()
    assert "export NETSENSE_REQUIRE_SLURM=1" in text
    assert text.index("export NETSENSE_REQUIRE_SLURM=1") < text.index("make test")
