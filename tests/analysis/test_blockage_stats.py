"""Under blockage no reader reports a mean of eq. (18) (issue 29): E[eq. 18] is infinite there
(netsense.core.mc.BLOCKAGE_MEAN_NOTE). On a small real cube (real shards, real assembly:
tests/analysis/conftest.py's ``build``) with one plain entry and one blockage entry:

* ``netsense query``/``summarize``: every mean-type column of crlb_m2 is NaN on the blockage rows
  (null in JSON, empty in CSV), a note says why and that jensen_m2's mean is conditional; the
  plain entry's rows and every other column are those of the query without the rule; the
  median, its order-statistic interval, coverage and the localizable fraction equal numpy's;
* ``fit_slopes``: no ``crlb`` row for the blockage entry, its eq. (23) rows labelled
  ``jensen_conditional``, the plain entry's rows unchanged; a quantile fit unchanged;
* ``info`` says which entries have a finite mean; Fig. 1's ``panel_stats`` gives the median.

beta = 0.05 /m at lam = 1/900: mu = 2 pi lam / beta^2 = 2.8, so about 12% of the trials have a
side without a LOS node (eq. 18 and eq. 23 infinite there); with too few LOS nodes to localize,
about 19% of eq. (18)'s trials are infinite.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import build
from scipy.stats import binom

import netsense
from netsense.analysis import fits, query
from netsense.analysis.figures.fig1 import panel_stats
from netsense.analysis.fits import JENSEN_CONDITIONAL, fit_slopes
from netsense.analysis.query import info, summarize
from netsense.cli.main import main
from netsense.core.distribution import order_statistic_ranks

PLAIN, BLOCKED = "plane-K8", "plane-K8-b0.05"
RAW = {
    "name": "blk", "seed": 31, "trials": 240, "block_trials": 120, "shard_blocks": 2,
    "sweep": {"M": [1, 4], "rho_s_db": [120], "lam": ["1/900", "4/900"], "gamma": [4.0]},
    "sampler": [{"kind": "plane", "nearest": 8},
                {"kind": "plane", "nearest": 8, "blockage_per_m": 0.05}],
}
MEAN_STATS = ["mean", "sem", "ci95", "calibrated", "method", "variance_reduction", "plain",
              "ratio", "std"]
OTHER_STATS = ["count", "filled", "median", "quantile:0.9", "coverage:1.0", "localizable",
               "closed_form"]


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    c = build(RAW, tmp_path_factory.mktemp("blockage"))
    return c.path


@pytest.fixture(scope="module")
def ds(cube):
    return netsense.open_cube(cube)


def _without_rule(monkeypatch, module):
    """The code as it was before the rule: every entry taken to have a finite mean."""
    monkeypatch.setattr(module, "mean_finite", lambda ds: {})


def test_the_cube_has_both_entries_and_infinite_trials(ds):
    assert [str(s) for s in ds["sampler"].values] == [PLAIN, BLOCKED]
    x = ds["crlb_m2"].sel(sampler=BLOCKED).values
    assert 0 < np.isinf(x).mean() < 0.5  # some trials without a LOS side, median finite
    assert np.isfinite(ds["crlb_m2"].sel(sampler=PLAIN).values).all()


def test_query_has_no_eq18_mean_for_the_blockage_entry(ds, monkeypatch):
    stats = MEAN_STATS + OTHER_STATS
    got = summarize(ds, stats=stats)
    blocked = (got["sampler"] == BLOCKED).to_numpy()
    mean_cols = [c for c in got.columns if c.startswith("crlb_m2_") and any(
        c == f"crlb_m2_{k}" or c.startswith(f"crlb_m2_{k}_") for k in
        ("mean", "sem", "method", "variance_reduction", "plain", "std"))]
    assert set(mean_cols) >= {"crlb_m2_mean", "crlb_m2_mean_ci95_low", "crlb_m2_mean_ci95_high",
                              "crlb_m2_mean_ci95_calibrated", "crlb_m2_method",
                              "crlb_m2_plain_mean", "crlb_m2_mean_over_closed_form",
                              "crlb_m2_std", "crlb_m2_sem", "crlb_m2_variance_reduction"}
    for c in mean_cols:
        assert got.loc[blocked, c].isna().all(), c
        assert got.loc[~blocked, c].notna().all(), c
    assert any("no mean of eq. (18)" in n and BLOCKED in n for n in got.attrs["notes"])
    assert any(n.startswith("jensen_m2") and "conditional on N_t >= 1 and N_r >= 1" in n
               for n in got.attrs["notes"])
    _without_rule(monkeypatch, query)
    old = summarize(ds, stats=stats)
    assert not old.attrs["notes"]
    # the plain entry's rows, and every other column, exactly as before
    pd.testing.assert_frame_equal(got.loc[~blocked].astype(object), old.loc[~blocked]
                                  .astype(object))
    rest = [c for c in got.columns if c not in mean_cols]
    pd.testing.assert_frame_equal(got[rest], old[rest])
    # the jensen mean of the blockage entry is the mean of its finite trials (conditional)
    for _, r in got[blocked].iterrows():
        x = ds["jensen_m2"].sel(sampler=BLOCKED, M=r["M"], rho_s_db=r["rho_s_db"],
                                lam=r["lam"], gamma=r["gamma"]).values
        np.testing.assert_allclose(r["jensen_m2_mean"], x[np.isfinite(x)].mean(), rtol=1e-12)


def test_query_without_blockage_entries_has_no_notes(ds):
    got = summarize(ds, where={"sampler": PLAIN})
    assert got.attrs["notes"] == [] and got["crlb_m2_mean"].notna().all()
    only = summarize(ds, stats=["median", "localizable"])  # no mean asked: nothing to note
    assert only.attrs["notes"] == []


def test_median_coverage_and_localizable_are_numpys(ds):
    # 0.75, not 0.9: at lam = 1/900 some 19% of the trials are infinite, and a quantile that
    # falls among them interpolates inf - inf (NaN, as numpy's)
    got = summarize(ds, stats=["median", "quantile:0.75", "coverage:1.0", "localizable"],
                    where={"sampler": BLOCKED})
    assert len(got) == 4
    for _, r in got.iterrows():
        for v in ("crlb_m2", "jensen_m2"):
            x = ds[v].sel(sampler=BLOCKED, M=r["M"], rho_s_db=r["rho_s_db"], lam=r["lam"],
                          gamma=r["gamma"]).values
            s, n = np.sort(x), x.size
            for name, q in (("median", 0.5), ("q0.75", 0.75)):
                assert np.isfinite(r[f"{v}_{name}"])
                np.testing.assert_allclose(r[f"{v}_{name}"], np.quantile(x, q), rtol=1e-12)
                lo, hi = order_statistic_ranks(n, q)
                # the ranks themselves, independently: binomial quantiles (scipy)
                assert (lo, hi) == (int(binom.ppf(0.025, n, q)), int(binom.ppf(0.975, n, q)) + 1)
                assert lo >= 1 and hi <= n
                assert r[f"{v}_{name}_ci95_low"] == s[lo - 1]
                assert r[f"{v}_{name}_ci95_high"] == s[hi - 1]
            assert r[f"{v}_localizable"] == np.isfinite(x).mean()
            assert r[f"{v}_coverage_1m"] == (x <= 1.0).mean()


def test_cli_csv_json_and_note(cube, capsys):
    assert main(["query", str(cube), "--where", "sampler=" + BLOCKED, "--where", "M=4",
                 "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    df = pd.read_csv(io.StringIO(out))
    assert df["crlb_m2_mean"].isna().all() and df["crlb_m2_mean_over_closed_form"].isna().all()
    assert df["jensen_m2_mean"].notna().all() and (df["crlb_m2_count"] > 0).all()
    assert "no mean of eq. (18) under blockage" in err and "conditional on N_t >= 1" in err
    assert main(["query", str(cube), "--where", "sampler=" + BLOCKED, "--format", "json"]) == 0
    out, _ = capsys.readouterr()
    rows = json.loads(out)
    assert rows and all(r["crlb_m2_mean"] is None and r["crlb_m2_mean_ci95_low"] is None
                        for r in rows)
    assert all(isinstance(r["jensen_m2_mean"], float) for r in rows)


def _key(r):
    return (r["sampler"], r["quantity"], r["axis"], r["M"], r["lam"], r["gamma"])


def test_slopes_have_no_eq18_mean_row_for_the_blockage_entry(ds, monkeypatch):
    rows = fit_slopes(ds)
    assert not [r for r in rows if r["sampler"] == BLOCKED and r["quantity"] == "crlb"]
    cond = [r for r in rows if r["sampler"] == BLOCKED and r["quantity"] == JENSEN_CONDITIONAL]
    assert {r["axis"] for r in cond} == {"M", "lam"}
    assert not [r for r in rows if r["sampler"] == BLOCKED and r["quantity"] == "jensen"]
    assert {r["quantity"] for r in rows if r["sampler"] == PLAIN} == {"crlb", "jensen"}
    _without_rule(monkeypatch, fits)
    old = fit_slopes(ds)
    plain_old = [r for r in old if r["sampler"] != BLOCKED]
    assert [r for r in rows if r["sampler"] != BLOCKED] == plain_old
    # the conditional rows are the old jensen rows of that entry, renamed
    was = {_key(r): r for r in old if r["sampler"] == BLOCKED and r["quantity"] == "jensen"}
    assert len(was) == len(cond)
    for r in cond:
        assert {**r, "quantity": "jensen"} == was[_key({**r, "quantity": "jensen"})]
    summary = "\n".join(fits.fit_summary(rows, {}, {}))
    assert f"{BLOCKED} (blockage): no slope of E[eq. 18]" in summary


def test_quantile_slopes_keep_the_blockage_entry(ds):
    rows = fit_slopes(ds, quantile=0.5)
    assert {r["quantity"] for r in rows if r["sampler"] == BLOCKED} == {"crlb_q0.5",
                                                                         "jensen_q0.5"}


def test_info_and_fig1_panel(cube, ds):
    assert info(cube)["mean_finite"] == {PLAIN: True, BLOCKED: False}
    ref = {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": 4.0}
    st = panel_stats(ds, "lam", ref, BLOCKED)
    assert st["median"] == {"crlb"} and not hasattr(st["crlb"], "mean")
    x = ds["crlb_m2"].sel(sampler=BLOCKED, M=4, rho_s_db=120.0, gamma=4.0).transpose(
        "lam", "trial").values
    np.testing.assert_allclose(st["crlb"].value, np.quantile(x, 0.5, axis=-1), rtol=1e-12)
    assert panel_stats(ds, "lam", ref, PLAIN)["median"] == set()


def test_plot_draws_no_eq18_mean_for_the_blockage_entry_and_says_why(cube, tmp_path, capsys):
    """netsense plot: the blockage entry's eq. (18) series is NaN (nothing drawn), its eq. (23)
    series is drawn, and the two notes of the query are printed."""
    from netsense.analysis.figures.plot import plot_cube

    ds = netsense.open_cube(cube)
    res = plot_cube(ds, "lam", {"M": 4}, tmp_path / "p.png")
    assert np.isnan(res["series"][BLOCKED]["crlb_m2_mean"]).all()
    assert np.isfinite(res["series"][BLOCKED]["jensen_m2_mean"]).all()
    assert np.isfinite(res["series"][PLAIN]["crlb_m2_mean"]).all()
    assert any("no mean of eq. (18) under blockage" in n for n in res["notes"])
    out = tmp_path / "q.png"
    assert main(["plot", str(cube), "--x", "lam", "--where", "M=4", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert out.exists() and "no mean of eq. (18) under blockage" in err
    assert "conditional on N_t >= 1" in err


def test_fig1_says_median_where_it_draws_one(ds, tmp_path):
    """Fig. 1's ratio panel of a blockage entry is labelled with the median of eq. (18) it
    draws, the plain entry's with the mean; the band's legend entry says both."""
    from netsense.analysis.figures.fig1 import fig1

    ref = {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": 4.0}
    fig = fig1(ds, ref, [], "", tmp_path / "f.png", None)
    ratio = {a.get_gid(): a.get_ylabel() for a in fig.axes if (a.get_gid() or "").startswith("ratio:")}
    assert ratio, "no ratio panel drawn"
    for gid, label in ratio.items():
        if gid.endswith(BLOCKED):
            assert "eq. 18: median" in label and "MC mean" not in label
        else:
            assert "MC mean" in label and "median" not in label
    texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert any("of eq. 18 under blockage: its median" in t for t in texts)
