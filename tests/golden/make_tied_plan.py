"""Writes tests/golden/tied_plan.json: every shard of every shipped tied config (its name,
which carries the cell id, and its params: seed, cell, stream-shaping code version).

The cell id hashes everything that shapes a cell's samples, so equal names and params mean the
same cached blocks serve the config and the same numbers come out. Generated with the code
before separate lam_t/lam_r axes existed (commit b4ac1cf); tests/pipeline/test_separate_axes.py
checks that the code of today plans the same shards. Regenerate only when a change is meant to
re-sample every cell (and say so in CHANGELOG.md):

    PYTHONPATH=src python tests/golden/make_tied_plan.py tests/golden/tied_plan.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONFIGS = ("config/config.yaml", "config/smoke.yaml", "config/paper-fig1.yaml",
           "config/paper-gap.yaml", "config/paper-sec2c.yaml", "config/beams.yaml",
           "tests/configs/smoke.yaml")


def tied_plan(root: Path) -> dict:
    from netsense.pipeline.config import load
    from netsense.pipeline.plan import plan

    out = {}
    for c in CONFIGS:
        cfg = load(root / c)
        out[c] = [[s.name, s.params(cfg)] for s in plan(cfg)]
    return out


if __name__ == "__main__":
    root = Path.cwd()  # run from the repository root
    Path(sys.argv[1]).write_text(json.dumps(tied_plan(root), indent=0, sort_keys=True) + "\n")
