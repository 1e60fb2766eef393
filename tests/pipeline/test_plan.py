"""The plan of every shipped config is fixed: its cells' ids carry the fingerprint of what the
sampling kernel computes for them, so this test fails exactly when a change moves a sampled
number of some shipped config (and names the configs whose cells would be sampled again), and
passes for any tidying of the sampling code that leaves the numbers as they were."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


# A sweep over every kind (and a guard): which cells a change of the sampling code re-samples.
KINDS_SWEEP = {
    "name": "kinds", "seed": 3, "trials": 200, "block_trials": 100,
    "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/900"], "gamma": [2.5, 4.0]},
    "sampler": [{"kind": "plane", "nearest": 16}, {"kind": "plane", "nearest": 16, "guard_m": 5},
                {"kind": "disk", "radius_m": 100}, {"kind": "matern", "hardcore_m": 8},
                {"kind": "thomas", "daughters": 3, "scatter_m": 10},
                {"kind": "lattice", "noise_m": 5}],
}
IDS = """
import json, sys
from netsense.pipeline.config import resolve
from netsense.pipeline.plan import cell_id, cells
cfg = resolve(json.loads(sys.argv[1]))
print(json.dumps({c.label + ' ' + str(c.gamma): cell_id(cfg, c) for c in cells(cfg)}))
"""


def _ids(src: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", IDS, json.dumps(KINDS_SWEEP)], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
    return json.loads(out.stdout)


def _edit(src: Path, module: str, old: str, new: str) -> None:
    path = src / "netsense" / module
    text = path.read_text()
    assert text.count(old) == 1, (module, old)
    path.write_text(text.replace(old, new))


@pytest.fixture
def package(tmp_path) -> Path:
    """A copy of the package, to change."""
    shutil.copytree(ROOT / "src" / "netsense", tmp_path / "src" / "netsense",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "src"


def test_a_refactor_of_a_sampler_keeps_every_cell_id(package):
    """A helper moved into another module, a local renamed: the same numbers, the same ids (so
    every cached block stays valid and no shard job runs)."""
    before = _ids(package)
    plane = package / "netsense" / "core" / "samplers" / "plane.py"
    text = plane.read_text()
    start = text.index("def plane_nodes(")
    end = text.index("def plane_stats(")
    helper = text[start:end].replace("arrivals", "arrival_times")
    plane.write_text(text[:start] + text[end:])
    with open(plane.parent / "radial.py", "w") as f:
        f.write("import math\n\nimport numpy as np\n\nfrom .base import angles_to_units, "
                "check_density\n\n\n" + helper)
    _edit(package, "core/samplers/plane.py", "from .base import (",
          "from .radial import plane_nodes\nfrom .base import (")
    assert _ids(package) == before


@pytest.mark.parametrize("module, old, new, kind", [
    # one character of arithmetic: the path-loss exponent of the disk's nodes, and which node
    # of a close Matérn pair goes
    ("core/samplers/disk.py", "w = r2 ** (-0.5 * gamma)", "w = r2 ** (-0.6 * gamma)", "disk"),
    ("core/samplers/matern.py", "np.where(marks[i] > marks[j], i, j)",
     "np.where(marks[i] < marks[j], i, j)", "matern"),
])
def test_an_arithmetic_change_resamples_that_samplers_cells_only(package, module, old, new, kind):
    before = _ids(package)
    _edit(package, module, old, new)
    after = _ids(package)
    assert after.keys() == before.keys()
    moved = {c for c in after if after[c] != before[c]}
    assert moved == {c for c in after if c.startswith(kind)} and moved
