"""HPC tests need a running SLURM (tests/hpc/slurm-up.sh). Without one they skip with the
reason, except under NETSENSE_REQUIRE_SLURM=1 (what .ci/run sets), where a missing SLURM is a
failure. The requirement is explicit: it does not depend on how a CI service spells its own
variables, and a value of NETSENSE_REQUIRE_SLURM other than 0 or 1 is itself a failure (a typo
must not turn the tests into silent skips)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from slurmenv import slurm_required


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
    try:
        required = slurm_required(os.environ)
    except ValueError as exc:
        pytest.fail(str(exc))
    problem = _slurm_state()
    if problem:
        msg = f"{problem}; start one with: sudo bash tests/hpc/slurm-up.sh"
        if required:
            pytest.fail(f"SLURM is required here (NETSENSE_REQUIRE_SLURM=1): {msg}")
        pytest.skip(msg)
