"""The axes table is the one place a swept axis is declared: a new axis is a row, and the config
(its key, validation, the schema), the plan, the cube (a dim with its units, the scaled
samples, Theorem 2 and the control means), the queries (``--where``) and the docs' config
reference take it from there. Checked by adding a toy axis to a copy of the package and running
a sweep over it end to end (plan, shards, assembly, query) in a subprocess.

The toy axis scales every sample exactly (role ``scale``), as the antennas and rho_s do: an
extra loss L [dB] that multiplies every error by 10^(L/10). A new axis that shapes the samples
is a row and the place it enters the kernel (netsense.core.blocks); that place is the sampler's
own code, so this test keeps to the scale role, which needs nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netsense.pipeline.axes import (
    AXES_TABLE,
    LINK_PARAMS,
    NETWORK_PARAMS,
    ORDER,
    SCALE,
    SEPARATE,
    SHAPE,
)
from netsense.pipeline.config import schema

ROOT = Path(__file__).resolve().parents[2]
NETSENSE = str(Path(sys.executable).parent / "netsense")
# Two products of the same float64 numbers taken in another order: a few ulp.
SCALE_RTOL = 1e-14

NEW_ROW = '''    Axis("loss_db", "dB", "extra loss", SCALE, ("loss_db",), 0.0, default=0.0,
         factor=lambda db: 10.0 ** (db / 10.0),
         description="An extra loss L, multiplying every error by 10^(L/10) [dB]."),
)
AXES = {a.name: a for a in AXES_TABLE}'''

SWEEP = {"name": "toy", "seed": 5, "trials": 300, "block_trials": 100, "shard_blocks": 2,
         "sweep": {"M": [1, 4], "rho_s_db": [120], "lam": ["1/900"], "gamma": [2.5, 4.0],
                   "loss_db": [0, 3]},
         "sampler": {"kind": "plane", "nearest": 8}, "analyses": []}

RUN = r"""
import contextlib, io, json, sys
from pathlib import Path
import numpy as np
import netsense
from netsense.analysis.query import summarize
from netsense.pipeline.assembly import assemble
from netsense.pipeline.config import resolve
from netsense.pipeline.plan import cells, plan
from netsense.pipeline.shard import run_shard
from netsense.pipeline.template import code_versions
run = Path(sys.argv[2])
cfg = resolve(json.loads(sys.argv[1]))
files = []
for s in plan(cfg):
    f = run / "shards" / f"{s.name}.npz"
    f.parent.mkdir(parents=True, exist_ok=True)
    run_shard(s.params(cfg), f, run / "blocks" / s.cell_id, lambda: contextlib.nullcontext(None),
              log=io.StringIO())
    files.append(f)
assemble(cfg, files, run / "cube.zarr", code_versions(cfg))
ds = netsense.open_cube(run / "cube.zarr")
df = summarize(ds, where={"loss_db": "3", "M": "4"}, stats=["mean", "closed_form"])
print(json.dumps({"dims": list(ds.crlb_m2.dims), "units": ds.loss_db.attrs["units"],
                  "n_cells": len(cells(cfg)),
                  "crlb": ds.crlb_m2.sel(M=4, rho_s_db=120).values.tolist(),
                  "closed": ds.closed_form_m2.sel(M=4, rho_s_db=120).values.tolist(),
                  "rows": len(df), "where_loss": sorted(set(df["loss_db"]))}))
"""


def test_the_table_is_consistent():
    names = [a.name for a in AXES_TABLE]
    assert tuple(names) == ORDER and len(set(names)) == len(names)
    for a in AXES_TABLE:
        assert a.role in (SHAPE, SCALE) and a.sets, a.name
        assert a.description and "[" in a.description, (a.name, "unit in brackets")
        assert a.tied is None or a.name in {x.name for x in SEPARATE[a.tied]}
        # Theorem 2's parameters, or the sampler's link parameters (a link axis: shape, no fit)
        assert a.factor is not None or set(a.sets) <= set(NETWORK_PARAMS) \
            or (set(a.sets) <= set(LINK_PARAMS) and a.role == SHAPE and a.fit is None
                and a.default == 0.0), a.name
    # a tied axis sets what its pair sets, together
    for tied, pair in SEPARATE.items():
        t = next(a for a in AXES_TABLE if a.name == tied)
        assert set(t.sets) == {p for a in pair for p in a.sets} and t.role == pair[0].role
    sweep = schema()["properties"]["sweep"]
    assert list(sweep["properties"]) == names and set(sweep["required"]) == {"rho_s_db", "gamma"}


@pytest.fixture(scope="module")
def with_new_axis(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("axes")
    shutil.copytree(ROOT / "src" / "netsense", tmp / "src" / "netsense",
                    ignore=shutil.ignore_patterns("__pycache__"))
    axes = tmp / "src" / "netsense" / "pipeline" / "axes.py"
    text = axes.read_text()
    old = ")\nAXES = {a.name: a for a in AXES_TABLE}"
    assert text.count(old) == 1
    axes.write_text(text.replace(old, "\n" + NEW_ROW))
    return tmp


def test_a_new_axis_is_one_row(with_new_axis):
    diff = subprocess.run(["diff", "-rq", str(ROOT / "src" / "netsense"),
                           str(with_new_axis / "src" / "netsense"), "-x", "__pycache__"],
                          capture_output=True, text=True)
    assert len(diff.stdout.splitlines()) == 1, diff.stdout  # the table


def test_a_new_axis_end_to_end(with_new_axis, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(with_new_axis / "src")}
    # the config: a key of its own, validated, optional (the sweeps that omit it are as before)
    (tmp_path / "c.yaml").write_text(json.dumps(SWEEP))
    ok = subprocess.run([NETSENSE, "validate", "c.yaml"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "2 cells" in ok.stdout, ok.stderr  # one layout per lam, gamma
    bad = {**SWEEP, "sweep": {**SWEEP["sweep"], "loss_db": ["x"]}}
    (tmp_path / "bad.yaml").write_text(json.dumps(bad))
    p = subprocess.run([NETSENSE, "validate", "bad.yaml"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.strip().startswith("netsense: error: sweep.loss_db[0]")
    # plan, shards, assembly and query
    out = subprocess.run([sys.executable, "-c", RUN, json.dumps(SWEEP), str(tmp_path / "run")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout)
    assert r["dims"] == ["sampler", "M", "rho_s_db", "lam", "gamma", "loss_db", "trial"]
    assert r["units"] == "dB" and r["n_cells"] == 2  # a scale axis samples nothing more
    crlb, closed = np.array(r["crlb"]), np.array(r["closed"])  # (sampler, lam, gamma, loss, trial)
    np.testing.assert_allclose(crlb[..., 1, :], crlb[..., 0, :] * 10 ** 0.3, rtol=SCALE_RTOL)
    np.testing.assert_allclose(closed[..., 1], closed[..., 0] * 10 ** 0.3, rtol=SCALE_RTOL)
    assert r["rows"] == 2 and r["where_loss"] == [3.0]  # --where on the new axis
