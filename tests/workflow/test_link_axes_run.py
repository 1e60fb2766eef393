"""The real workflow on a sweep over a link axis (issue 29: ``sweep.height_m: [0, 10]``): the
Snakefile samples, assembles, fits, draws Fig. 1 and the law-window study, and ``netsense
query --where height_m=10`` and ``netsense info`` read the cube."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from wfhelpers import make_workdir, run_snakemake, write_config

import netsense

pytestmark = pytest.mark.slow
NETSENSE = str(Path(sys.executable).parent / "netsense")
CFG = {
    "name": "linkax", "seed": 41, "trials": 400, "block_trials": 200, "shard_blocks": 1,
    "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/900", "4/900"], "gamma": [3.0],
              "height_m": [0, 10]},
    "sampler": {"kind": "plane", "nearest": 8},
    "analyses": ["fig1", "lawwindow"],
    "dask": {"cluster": "embedded", "n_workers": 2},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("linkax"))
    run_snakemake(wd, write_config(wd, CFG))
    return wd, wd / "results" / "linkax"


def test_the_workflow_runs_a_height_axis_end_to_end(run):
    _, out = run
    ds = netsense.open_cube(out / "cube.zarr")
    assert ds["crlb_m2"].dims == ("sampler", "M", "rho_s_db", "lam", "gamma", "height_m", "trial")
    assert list(ds["sampler"].values) == ["plane-K8"] and ds["height_m"].attrs["units"] == "m"
    assert np.isfinite(ds["crlb_m2"].values).all()
    # slopes: lam slopes per height, none along height_m
    slopes = pd.read_csv(out / "slopes.csv")
    assert "height_m" in slopes.columns and "height_m" not in set(slopes["axis"])
    lam = slopes[(slopes["axis"] == "lam") & (slopes["quantity"] == "crlb")]
    assert sorted(lam["height_m"]) == [0.0, 10.0]
    # the law-window study: a curve per height
    law = pd.read_csv(out / "lawwindow.csv")
    assert sorted(set(law["height_t_m"])) == [0.0, 10.0] and set(law["sampler"]) == {"plane-K8"}
    assert (out / "lawwindow.png").stat().st_size > 0 and (out / "fig1.png").stat().st_size > 0


def test_query_where_height_and_info(run):
    wd, out = run
    q = subprocess.run([NETSENSE, "query", str(out / "cube.zarr"), "--where", "height_m=10",
                        "--stats", "mean,median", "--format", "json"], capture_output=True,
                       text=True, timeout=120, cwd=wd)
    assert q.returncode == 0, q.stderr
    rows = json.loads(q.stdout)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert rows and all(r["height_m"] == 10.0 for r in rows)
    ds = netsense.open_cube(out / "cube.zarr")
    pt = ds["crlb_m2"].sel(sampler="plane-K8", M=4, rho_s_db=120, gamma=3.0, height_m=10.0)
    means = sorted(float(pt.sel(lam=lam).mean()) for lam in pt["lam"].values)
    assert np.allclose(sorted(r["crlb_m2_mean"] for r in rows), means, rtol=0.2)
    i = subprocess.run([NETSENSE, "info", str(out / "cube.zarr")], capture_output=True,
                       text=True, timeout=120, cwd=wd)
    assert i.returncode == 0 and "height_m" in i.stdout, i.stderr
