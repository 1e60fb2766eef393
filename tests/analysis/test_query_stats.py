"""Every statistic of a cube query (netsense.analysis.query.summarize, `netsense query`) against
numpy on stored cubes: the fixture cubes of formats 1 and 2 (tests/fixtures) and the small
format-3 cube of tests/analysis/conftest.py, each point's trials read back and reduced here
(tests/analysis/analysis_reference.py). The `std` of a variable with a control variate is that
of its stored trials, never of the corrected ones. The command line and the Python entry point
answer one table of queries with the same rows.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from analysis_reference import control_mean, plain, reported, theorem2
from scipy import stats

import netsense
from netsense.analysis.query import summarize
from netsense.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
COVERAGE_M = 0.05  # an accuracy [m] some trials of these small cubes reach and some do not
ALL_STATS = ["mean", "median", "std", "sem", "ci95", "count", "filled", "quantile:0.9", "method",
             "variance_reduction", "calibrated", "plain", "ratio", "closed_form",
             f"coverage:{COVERAGE_M}", "localizable"]
# Means of 48 or 240 float64 values summed in another order; eq. (26) in float64.
REL_TOL = 1e-12
# The fold coefficients from np.cov against centred power sums (the control variate).
CV_RTOL = 1e-9
# Hall's root by brentq (xtol 1e-15) against its closed-form inverse; scipy's t quantile
# against scipy.special.stdtrit.
INTERVAL_RTOL = 1e-9


DIMS = ["sampler", "M", "rho_s_db", "lam", "gamma"]


def _entry(ds, label):
    from netsense.pipeline.cube import entries

    return next(e for e in entries(ds) if e.label == label)


def check_rows(df, ds):
    """Every row of ``df`` (all of ALL_STATS) against numpy over the point's stored trials."""
    rows = df.to_dict(orient="records")
    assert sorted(tuple(r[d] for d in DIMS) for r in rows) == sorted(
        itertools.product(*(ds[d].values.tolist() for d in DIMS)))  # one row per point
    n_trials = ds.sizes["trial"]
    methods = set()
    for row in rows:
        p = {d: row[d] for d in DIMS}
        pt = ds.sel(**p)
        y, x = pt["crlb_m2"].values, pt["jensen_m2"].values
        e = _entry(ds, p["sampler"])
        M, rho, lam, g = int(p["M"]), float(p["rho_s_db"]), float(p["lam"]), float(p["gamma"])
        closed = theorem2(M, M, rho, lam, lam, g)  # eq. (26)
        r18 = reported(y, x, control_mean(e.sampler, e.beam, M, M, rho, lam, lam, g))
        p18, p23 = plain(y), plain(x)
        methods.add(r18["method"])
        rel = CV_RTOL if r18["method"] == "control_variate" else REL_TOL
        assert row["crlb_m2_method"] == r18["method"]
        assert row["crlb_m2_mean"] == pytest.approx(r18["mean"], rel=rel)
        assert row["crlb_m2_sem"] == pytest.approx(r18["sem"], rel=rel)
        assert row["crlb_m2_mean_ci95_low"] == pytest.approx(r18["lo"], rel=INTERVAL_RTOL)
        assert row["crlb_m2_mean_ci95_high"] == pytest.approx(r18["hi"], rel=INTERVAL_RTOL)
        assert row["crlb_m2_variance_reduction"] == pytest.approx(
            r18.get("variance_reduction", 1.0), rel=rel)
        # std describes the stored trials, whatever the estimator of the mean
        assert row["crlb_m2_std"] == pytest.approx(p18["std"], rel=REL_TOL)
        assert row["crlb_m2_plain_mean"] == pytest.approx(p18["mean"], rel=REL_TOL)
        assert row["crlb_m2_plain_sem"] == pytest.approx(p18["sem"], rel=REL_TOL)
        assert row["crlb_m2_plain_mean_ci95_low"] == pytest.approx(p18["lo"], rel=INTERVAL_RTOL)
        assert row["crlb_m2_plain_mean_ci95_high"] == pytest.approx(p18["hi"], rel=INTERVAL_RTOL)
        assert row["jensen_m2_mean"] == pytest.approx(p23["mean"], rel=REL_TOL)
        assert row["jensen_m2_std"] == pytest.approx(p23["std"], rel=REL_TOL)
        assert row["jensen_m2_sem"] == pytest.approx(p23["sem"], rel=REL_TOL)
        assert row["jensen_m2_mean_ci95_low"] == pytest.approx(p23["lo"], rel=INTERVAL_RTOL)
        assert row["jensen_m2_mean_ci95_high"] == pytest.approx(p23["hi"], rel=INTERVAL_RTOL)
        for v, t in (("crlb_m2", y), ("jensen_m2", x)):
            stored = t[~np.isnan(t)]
            assert row[f"{v}_median"] == pytest.approx(np.median(stored), rel=REL_TOL)
            assert row[f"{v}_q0.9"] == pytest.approx(np.quantile(stored, 0.9), rel=REL_TOL)
            n, srt = len(stored), np.sort(stored)  # +inf sorts last: a real trial, not covered
            for name, q in (("median", 0.5), ("q0.9", 0.9)):
                lo, hi = int(stats.binom.ppf(0.025, n, q)), int(stats.binom.ppf(0.975, n, q))
                assert row[f"{v}_{name}_ci95_low"] == srt[lo - 1]
                assert row[f"{v}_{name}_ci95_high"] == (srt[hi] if hi < n else np.inf)
            k = int((stored <= COVERAGE_M ** 2).sum())
            cov = f"{v}_coverage_{COVERAGE_M:g}m"
            assert row[cov] == k / n
            for key, ci in ((cov, stats.binomtest(k, n).proportion_ci(method="exact")),
                            (f"{v}_localizable", stats.binomtest(
                                int(np.isfinite(stored).sum()), n).proportion_ci(method="exact"))):
                assert row[f"{key}_ci95_low"] == pytest.approx(ci.low, rel=INTERVAL_RTOL, abs=0)
                assert row[f"{key}_ci95_high"] == pytest.approx(ci.high, rel=INTERVAL_RTOL)
            assert row[f"{v}_localizable"] == np.isfinite(stored).sum() / n
            assert row[f"{v}_count"] == int(np.isfinite(t).sum())
            assert row[f"{v}_stored"] == n_trials
            assert row[f"{v}_unfilled"] == int(np.isnan(t).sum())
            assert row[f"{v}_nonfinite"] == int(np.isinf(t).sum())
            assert row[f"{v}_mean_ci95_calibrated"] is False  # fewer than 1 000 trials
        assert row["closed_form_m2"] == pytest.approx(closed, rel=REL_TOL)
        assert row["crlb_m2_mean_over_closed_form"] == pytest.approx(r18["mean"] / closed,
                                                                     rel=rel)
        assert row["jensen_m2_mean_over_closed_form"] == pytest.approx(p23["mean"] / closed,
                                                                       rel=REL_TOL)
    return methods


@pytest.mark.parametrize("fmt", [1, 2])
def test_every_statistic_of_an_old_format_cube(fmt):
    ds = netsense.open_cube(FIXTURES / f"cube-format{fmt}.zarr")
    df = summarize(ds, stats=ALL_STATS)
    assert check_rows(df, ds) == {"control_variate"}
    assert df.attrs["nonfinite_trials"] == 0


def test_every_statistic_of_a_format3_cube(tied_cube):
    ds = netsense.open_cube(tied_cube.path)
    df = summarize(ds, stats=ALL_STATS)
    assert check_rows(df, ds) == {"control_variate", "plain"}  # codebook: no exact mean


def test_missing_and_infinite_trials(tied_cube, tmp_path):
    """A copy of the cube with one infinite eq. (18) trial beside a finite control (that point
    reports the plain estimate over its finite trials and counts the infinite one) and one
    missing pair at another point (counted as unfilled; the control variate stands on the
    other pairs, folds by stored index). The cube stores geometric factors (format 4): a
    stored trial is that trial at every rho_s, so each fault shows at both rho_s points."""
    import zarr

    path = tmp_path / "cube.zarr"
    shutil.copytree(tied_cube.path, path)
    g18 = zarr.open_array(path / "g18", mode="r+")
    g23 = zarr.open_array(path / "g23", mode="r+")
    # (sampler, M, lam, gamma, trial): M shapes samples here (a codebook entry in the cube)
    assert g18.metadata.dimension_names == ("sampler", "M", "lam", "gamma", "trial")
    g18[0, 1, 0, 0, 5] = np.inf  # plane-K8, M=4, lam 1/900, gamma 2.5
    g18[0, 0, 1, 1, 7] = g23[0, 0, 1, 1, 7] = np.nan  # M=1, 4/900, 4.0
    ds = netsense.open_cube(path)
    df = summarize(ds, where={"sampler": "plane-K8"}, stats=ALL_STATS)
    methods = check_rows(df, ds.sel(sampler=["plane-K8"]))
    assert methods == {"control_variate", "plain"}
    assert df.attrs["nonfinite_trials"] == ds.sizes["rho_s_db"]
    inf_row = df[(df.M == 4) & (df.rho_s_db == 120) & (df.gamma == 2.5)
                 & np.isclose(df.lam, 1 / 900)].iloc[0]
    assert inf_row["crlb_m2_method"] == "plain" and inf_row["crlb_m2_count"] == 239
    nan_row = df[(df.M == 1) & (df.rho_s_db == 110) & (df.gamma == 4.0)
                 & np.isclose(df.lam, 4 / 900)].iloc[0]
    assert nan_row["crlb_m2_method"] == "control_variate"
    assert nan_row["crlb_m2_unfilled"] == nan_row["jensen_m2_unfilled"] == 1


# ---- the command line and the Python entry point: one table of queries ----------------------

QUERIES = [
    # (--where items, --stats, --var)
    (["M=4", "gamma=2.5", "rho_s_db=120"], "mean,sem,ci95,count", ""),  # the default stats
    (["sampler=plane-K8-codebook", "lam=4/900"], "mean,median,std,filled", "crlb_m2"),
    (["sampler=disk-R90", "gamma=4"], "ci95,quantile:0.25,count", "jensen_m2,crlb_m2"),
]


@pytest.mark.parametrize("where, stats, var", QUERIES, ids=["point", "codebook", "disk"])
def test_cli_and_python_query_give_the_same_rows(tied_cube, capsys, where, stats, var):
    args = ["query", str(tied_cube.path), "--stats", stats, "--format", "json"]
    for w in where:
        args += ["--where", w]
    if var:
        args += ["--var", var]
    assert main(args) in (0, None)
    cli = json.loads(capsys.readouterr().out)
    ds = netsense.open_cube(tied_cube.path)
    df = summarize(ds, var=[v for v in var.split(",") if v] or ("crlb_m2", "jensen_m2"),
                   stats=stats.split(","), where=dict(w.split("=", 1) for w in where))
    py = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    assert len(cli) == len(py) > 0
    for a, b in zip(cli, py, strict=True):
        assert list(a) == list(b)
        for k in a:
            same = a[k] == b[k] or (isinstance(b[k], float) and math.isclose(a[k], b[k],
                                                                           rel_tol=0.0))
            assert same, (k, a[k], b[k])
