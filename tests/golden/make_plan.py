"""Writes tests/golden/plan.json: every shard of every shipped config (its name, which carries
the cell id, and its params: seed, cell, and the fingerprint of what the kernel computes for it).

The cell id hashes everything that shapes a cell's samples (seed, stream keys, the kernel's
fingerprint for that cell: :func:`netsense.core.blocks.fingerprints`), so equal names and params
mean the same cached blocks serve the config and the same numbers come out.
tests/pipeline/test_plan.py checks that the code of today plans the same shards: a change to the
sampling code that moves no sampled number (a helper moved, a module split) passes it; one that
changes a number fails it, naming the configs whose cells would be sampled again. Regenerate only
when a change is meant to re-sample those cells (and say so in CHANGELOG.md):

    PYTHONPATH=src python tests/golden/make_plan.py tests/golden/plan.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONFIG_DIRS = ("config", "tests/configs")


def configs(root: Path) -> list[str]:
    """Every shipped config, relative to the repository root."""
    return sorted(str(p.relative_to(root)) for d in CONFIG_DIRS
                  for p in (root / d).glob("*.yaml"))


def shipped_plan(root: Path) -> dict:
    from netsense.pipeline.config import load
    from netsense.pipeline.plan import plan

    out = {}
    for c in configs(root):
        cfg = load(root / c)
        out[c] = [[s.name, s.params(cfg)] for s in plan(cfg)]
    return out


if __name__ == "__main__":
    root = Path.cwd()  # run from the repository root
    Path(sys.argv[1]).write_text(json.dumps(shipped_plan(root), indent=0, sort_keys=True) + "\n")
