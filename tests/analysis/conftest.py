"""Small cubes shared by the study and query tests (tests/analysis/test_studies.py,
tests/analysis/test_query_stats.py; one unit in tests/conftest.py's SHARED, so they are built once):
assembled by the real shard runner and assembly (no Dask, no mocks), session-scoped.

* ``tied``: every tied study's preconditions at once: M = 1 and 4, lam = 1/900 and 4/900 (the
  single-antenna network of sec2c at 4 lam), the plane PPP (deployments' reference and beams'
  full twin), its codebook beam, a disk window and a guarded plane.
* ``separate``: M_t, M_r in {1, 2} and lam_t, lam_r in {1/900, 2/900}: Section II-C read off
  the cube, where the MIMO point and its single-antenna point share one side's trials.

To re-point after a restructuring, only ``build`` below names the pipeline's functions.
"""

from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

TIED = {
    "name": "an-tied", "seed": 23, "trials": 240, "block_trials": 120, "shard_blocks": 2,
    "sweep": {"M": [1, 4], "rho_s_db": [110, 120], "lam": ["1/900", "4/900"],
              "gamma": [2.5, 4.0]},
    "sampler": [{"kind": "plane", "nearest": 8}, {"kind": "plane", "nearest": 8,
                                                  "beam": "codebook"},
                {"kind": "disk", "radius_m": 90}, {"kind": "plane", "nearest": 8, "guard_m": 5}],
}
SEPARATE = {
    "name": "an-sep", "seed": 29, "trials": 240, "block_trials": 120, "shard_blocks": 2,
    "sweep": {"M_t": [1, 2], "M_r": [1, 2], "rho_s_db": [120], "lam_t": ["1/900", "2/900"],
              "lam_r": ["1/900", "2/900"], "gamma": [3.0]},
    "sampler": {"kind": "plane", "nearest": 8},
}


@dataclass(frozen=True)
class Cube:
    cfg: object  # the SweepConfig it was made from
    path: Path


def build(raw: dict, where: Path) -> Cube:
    """A cube of ``raw`` assembled from its shards, computed here."""
    from netsense.pipeline.assembly import assemble
    from netsense.pipeline.config import resolve
    from netsense.pipeline.plan import plan
    from netsense.pipeline.shard import run_shard
    from netsense.pipeline.template import code_versions

    cfg = resolve(copy.deepcopy(raw))
    files = []
    for s in plan(cfg):
        f = where / "shards" / f"{s.name}.npz"
        f.parent.mkdir(parents=True, exist_ok=True)
        run_shard(s.params(cfg), f, where / "blocks" / s.cell_id,
                  lambda: contextlib.nullcontext(None), log=io.StringIO())
        files.append(f)
    return Cube(cfg, assemble(cfg, files, where / "cube.zarr", code_versions(cfg)))


@pytest.fixture(scope="session")
def tied_cube(tmp_path_factory) -> Cube:
    return build(TIED, tmp_path_factory.mktemp("tied"))


@pytest.fixture(scope="session")
def separate_cube(tmp_path_factory) -> Cube:
    return build(SEPARATE, tmp_path_factory.mktemp("separate"))
