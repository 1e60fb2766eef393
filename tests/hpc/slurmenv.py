"""When the HPC tests require a SLURM (tests/hpc/conftest.py): one function, importable by the
tests of it (a module of its own: conftest modules share one name across directories)."""

from __future__ import annotations


def slurm_required(env) -> bool:
    """Whether a missing SLURM fails the HPC tests: NETSENSE_REQUIRE_SLURM=1. Unset, empty or 0:
    they skip. Any other value raises (ValueError: one line naming the variable and the rule)."""
    v = env.get("NETSENSE_REQUIRE_SLURM", "")
    if v not in ("", "0", "1"):
        raise ValueError(f"NETSENSE_REQUIRE_SLURM: {v!r}: must be 1 (require SLURM), 0 or unset")
    return v == "1"
