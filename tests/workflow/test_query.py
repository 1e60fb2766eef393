"""Querying stored cubes made by the real workflow, including one with unfilled cells."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kurtosis
from scipy.stats import t as student_t
from wfhelpers import SMOKE_CUBE, make_workdir, run_snakemake, smoke_config, write_config

import netsense
from netsense.core.closed_form import lemma3_inv_sum
from netsense.core.expectations import g23_mean
from netsense.core.samplers import PlaneSampler
from netsense.core.stats import CV_FOLDS, Z95, mean_estimate
from netsense.pipeline.cells import read_shards, write_cell
from netsense.pipeline.config import resolve
from netsense.pipeline.plan import plan
from netsense.pipeline.template import cube_attrs, write_template

pytestmark = pytest.mark.slow
NETSENSE = str(Path(sys.executable).parent / "netsense")
# Same numbers through dask reductions vs numpy: float64 summation order only.
STAT_RTOL = 1e-12


@pytest.fixture(scope="module")
def cubes(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("query"))
    cfg = smoke_config(cube={"trial_chunk": 1000})
    run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)  # the queries read the cube only
    run = wd / "results" / "smoke"
    # An interrupted assembly: template written, some regions not (cell (0,0) full, cell (0,1)
    # only its first 1000 trials, the others never written).
    c = resolve(json.loads(json.dumps(cfg)))
    samples = read_shards(c, [run / "shards" / f"{s.name}.npz" for s in plan(c)])
    part = wd / "partial.zarr"
    chunks = write_template(c, part, cube_attrs(c))
    label = c.sampler_labels[0]
    write_cell(c, part, chunks, 0, {"lam": 0, "gamma": 0},
               samples[(label, None, c.lam[0], c.gamma[0])])
    import xarray as xr

    g = samples[(label, None, c.lam[0], c.gamma[1])]
    dims = netsense.pipeline.template.factor_dims(c)  # format 4: the factors, no (M, rho_s)
    assert dims == ("sampler", "lam", "gamma", "trial")
    xr.Dataset({f: (dims, g[f][None, None, None, :1000]) for f in ("g18", "g23")}).to_zarr(
        part, region={"sampler": slice(0, 1), "lam": slice(0, 1), "gamma": slice(1, 2),
                      "trial": slice(0, 1000)}, mode="r+")
    return {"full": run / "cube.zarr", "partial": part, "cfg": c}


def _naive_cv(y, x, mu, folds=CV_FOLDS):
    """The control-variate estimate written out: per fold, np.cov over the other folds."""
    n = len(y)
    k = (np.arange(n) * folds) // n
    z = np.empty(n)
    for f in range(folds):
        c = np.cov(y[k != f], x[k != f])
        z[k == f] = y[k == f] - c[0, 1] / c[1, 1] * (x[k == f] - mu)
    return z.mean(), z.std(ddof=1) / np.sqrt(n), kurtosis(z, fisher=False, bias=True)


def _cli(*args):
    return subprocess.run([NETSENSE, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_summarize_matches_numpy(cubes):
    ds = netsense.open_cube(cubes["full"])
    df = netsense.summarize(ds, var=["crlb_m2"], stats=["mean", "std", "sem", "ci95", "median",
                                                         "quantile:0.9", "count", "plain",
                                                         "method", "variance_reduction",
                                                         "closed_form", "ratio"],
                            where={"gamma": "4", "lam": "1/900", "M": 4})
    assert len(df) == 2  # the two rho_s values remain
    pt = dict(sampler="plane-K32", gamma=4.0, lam=1 / 900, M=4)
    raw = ds.crlb_m2.sel(**pt).values  # (rho_s, trial)
    control = ds.jensen_m2.sel(**pt).values
    # E[eq. 23] of plane-K32 exactly: Theorem 2 times the sampler's factor (core.expectations)
    factor = g23_mean(PlaneSampler(32), 1 / 900, 4.0) / (2 * lemma3_inv_sum(1 / 900, 4.0) ** 2)
    mus = ds.closed_form_m2.sel(gamma=4.0, lam=1 / 900, M=4).values * factor
    for row, x, c, mu in zip(df.itertuples(), raw, control, mus, strict=True):
        m, sd = x.mean(), x.std(ddof=1)
        assert row.crlb_m2_plain_mean == pytest.approx(m, rel=STAT_RTOL)
        assert row.crlb_m2_std == pytest.approx(sd, rel=STAT_RTOL)
        assert row.crlb_m2_plain_sem == pytest.approx(sd / np.sqrt(x.size), rel=STAT_RTOL)
        # plain: Hall's interval (stats.PLAIN_INTERVAL, checked against a naive one there)
        assert row.crlb_m2_plain_mean_ci95_low == pytest.approx(float(mean_estimate(x).ci_low),
                                                                rel=1e-10)
        assert row.crlb_m2_plain_mean_ci95_low > m - Z95 * sd / np.sqrt(x.size)  # right skew: up
        cm, cse, kappa = _naive_cv(x, c, mu)
        assert row.crlb_m2_method == "control_variate"
        assert row.crlb_m2_mean == pytest.approx(cm, rel=1e-10)
        assert row.crlb_m2_sem == pytest.approx(cse, rel=1e-9)
        half = student_t.ppf(0.975, 2 * x.size / (kappa - 1)) * cse  # kurtosis-adjusted t
        assert row.crlb_m2_mean_ci95_low == pytest.approx(cm - half, rel=1e-9)
        assert row.crlb_m2_variance_reduction == pytest.approx((sd / np.sqrt(x.size) / cse) ** 2,
                                                               rel=1e-8)
        assert row.crlb_m2_median == pytest.approx(np.median(x), rel=STAT_RTOL)
        assert row.crlb_m2_count == x.size
    assert df["crlb_m2_q0.9"].tolist() == pytest.approx(np.quantile(raw, 0.9, axis=1).tolist(),
                                                        rel=STAT_RTOL)
    want = ds.closed_form_m2.sel(gamma=4.0, lam=1 / 900, M=4).values
    assert df["closed_form_m2"].tolist() == pytest.approx(want.tolist(), rel=0)
    assert (df["crlb_m2_mean_over_closed_form"] * df["closed_form_m2"]).tolist() == \
        pytest.approx(df["crlb_m2_mean"].tolist(), rel=1e-14)


def test_cli_query_csv_and_value_forms(cubes):
    a = _cli("query", cubes["full"], "--where", "lam=1/400", "--where", "gamma=2.50",
             "--where", "rho_s_db=120.0000000001", "--stats", "mean,count", "--format", "csv")
    assert a.returncode == 0, a.stderr
    df = pd.read_csv(io.StringIO(a.stdout))
    assert len(df) == 2 and set(df["M"]) == {1, 4}
    ds = netsense.open_cube(cubes["full"])
    want = ds.jensen_m2.isel(sampler=0).sel(lam=1 / 400, gamma=2.5, rho_s_db=120.0).mean("trial").values
    assert df["jensen_m2_mean"].tolist() == pytest.approx(want.tolist(), rel=STAT_RTOL)
    j = _cli("query", cubes["full"], "--where", "gamma=2.6", "--nearest", "--format", "json")
    assert j.returncode == 0, j.stderr
    rows = json.loads(j.stdout)
    assert {r["gamma"] for r in rows} == {2.5} and len(rows) == 8


@pytest.mark.parametrize("args, field", [
    (["--where", "gamma=3"], "--where gamma"),           # off the axis: nearest values shown
    (["--where", "colour=3"], "--where colour"),         # unknown key
    (["--var", "snr"], "--var"),                         # unknown variable
    (["--stats", "mode"], "--stats"),                    # unknown statistic
    (["--where", "M=4", "--where", "M=1"], "--where"),   # the same key twice
    (["--where", "lam=abc"], "--where lam"),
])
def test_cli_query_errors(cubes, args, field):
    p = _cli("query", cubes["full"], *args)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], p.stderr
    if args[:2] == ["--where", "gamma=3"]:
        assert "2.5, 4" in lines[0]


def test_cli_query_not_a_cube(tmp_path):
    p = _cli("query", tmp_path)
    assert p.returncode != 0 and "not a netsense cube" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_unfilled_cells_are_counted_not_averaged(cubes):
    ds = netsense.open_cube(cubes["partial"], require_complete=False)
    with pytest.raises(netsense.errors.CubeError, match="incomplete"):
        netsense.open_cube(cubes["partial"])
    df = netsense.summarize(ds, var=["crlb_m2"], stats=["mean", "count", "filled", "plain",
                                                         "method"],
                            where={"M": 4, "rho_s_db": 120})
    full = netsense.open_cube(cubes["full"])
    c = cubes["cfg"]
    for row in df.itertuples():
        i, j = c.lam.index(row.lam), c.gamma.index(row.gamma)
        ref = full.crlb_m2.isel(sampler=0).sel(M=4, rho_s_db=120.0, lam=row.lam, gamma=row.gamma).values
        if (i, j) == (0, 0):
            assert row.crlb_m2_count == 3000 and row.crlb_m2_unfilled == 0
            assert row.crlb_m2_plain_mean == pytest.approx(ref.mean(), rel=STAT_RTOL)
            assert row.crlb_m2_method == "control_variate"
        elif (i, j) == (0, 1):
            assert row.crlb_m2_count == 1000 and row.crlb_m2_unfilled == 2000
            assert row.crlb_m2_plain_mean == pytest.approx(ref[:1000].mean(), rel=STAT_RTOL)
            assert row.crlb_m2_method == "control_variate"  # over the stored trials
        else:
            assert row.crlb_m2_count == 0 and row.crlb_m2_unfilled == 3000
            assert np.isnan(row.crlb_m2_mean)  # no data: no number, never a zero
            assert row.crlb_m2_method == "plain" and np.isnan(row.crlb_m2_plain_mean)
    info = _cli("info", cubes["partial"], "--json")
    assert info.returncode == 0, info.stderr
    d = json.loads(info.stdout)
    assert d["complete"] is False
    assert (d["points_filled"], d["points_partly_filled"], d["points_unfilled"]) == (4, 4, 8)
    q = _cli("query", cubes["partial"], "--where", "M=4")
    assert q.returncode == 0 and "INCOMPLETE" in q.stderr


def test_info_full_cube(cubes):
    p = _cli("info", cubes["full"])
    assert p.returncode == 0, p.stderr
    for text in ("dims       sampler=1, M=2, rho_s_db=2, lam=2, gamma=2, trial=3000", "seed 7",
                 'samplers   {"beam": "full", "kind": "plane", "nearest": 32}',
                 "16 points: 16 filled, 0 partly, 0 unfilled", "[m^2]"):
        assert text in p.stdout, text
