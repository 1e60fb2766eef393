"""The plan of every shipped config is fixed: its cells' ids carry the fingerprint of what the
sampling kernel computes for them, so this test fails exactly when a change moves a sampled
number of some shipped config (and names the configs whose cells would be sampled again), and
passes for any tidying of the sampling code that leaves the numbers as they were."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "plan.json"


def test_shipped_configs_plan_the_cells_they_always_did():
    """Every shipped config plans the shards (cell ids, params, fingerprints) of
    tests/golden/make_plan.py: the same cached blocks serve them and the same numbers come out."""
    sys.path.insert(0, str(GOLDEN.parent))
    try:
        from make_plan import configs, shipped_plan
    finally:
        sys.path.pop(0)
    want = json.loads(GOLDEN.read_text())  # a missing golden file fails the test
    got = json.loads(json.dumps(shipped_plan(ROOT), sort_keys=True))
    assert set(got) == set(want) == set(configs(ROOT))
    changed = [c for c in want if got[c] != want[c]]
    for c in want:
        assert len(got[c]) == len(want[c]) > 0, c
    assert changed == [], f"the planned shards of {changed} changed: their cells would be " \
        "sampled again (see tests/golden/make_plan.py)"
