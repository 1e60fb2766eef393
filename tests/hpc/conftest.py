"""HPC tests need a running SLURM (tests/hpc/slurm-up.sh). Without one they skip with the
reason, except under CI=true or NETSENSE_REQUIRE_SLURM=1, where a missing SLURM is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def _slurm_state() -> str | None:
    if shutil.which("sinfo") is None:
        return "sinfo not found (SLURM is not installed)"
    p = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return f"sinfo failed: {p.stderr.strip()[:200]}"
    if not any(s in p.stdout for s in ("idle", "mixed", "allocated")):
        return f"no usable SLURM node (sinfo says {p.stdout.strip()!r})"
    return None


@pytest.fixture(scope="session")
def slurm():
    problem = _slurm_state()
    if problem:
        required = os.environ.get("CI") == "true" or os.environ.get("NETSENSE_REQUIRE_SLURM") == "1"
        msg = f"{problem}; start one with: sudo bash tests/hpc/slurm-up.sh"
        if required:
            pytest.fail(f"SLURM is required here (CI=true or NETSENSE_REQUIRE_SLURM=1): {msg}")
        pytest.skip(msg)
