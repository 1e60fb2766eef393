"""The law-window study's arithmetic (netsense.analysis.studies.lawwindow) on a small stored cube
with an ideal, a lifted and a blocked plane sampler, against numpy; its exact slopes against an
independent quadrature of the heights' Laplace transform (links-notes.md, section 1) and against
Lemma 3's exact power law; its window against the scale invariance of each link model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_reference import Z95
from conftest import build
from scipy import integrate, special

import netsense
from netsense.analysis.estimates import estimate
from netsense.analysis.studies import STUDIES, StudyInput
from netsense.analysis.studies import lawwindow as lw

RAW = {
    "name": "an-links", "seed": 31, "trials": 240, "block_trials": 120, "shard_blocks": 2,
    "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/3600", "1/900", "1/225"],
              "gamma": [2.5, 4.0]},
    "sampler": [{"kind": "plane", "nearest": 8}, {"kind": "plane", "nearest": 8, "height_m": 10},
                {"kind": "plane", "nearest": 8, "blockage_per_m": 0.05}],
}
REF = {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": 2.5}
# Logs and divisions of float64 medians and means: a few ulps.
REL_TOL = 1e-12
# Standard deviations of 240 influence values summed in another order.
INTERVAL_RTOL = 1e-9
# scipy.integrate.quad of the heights' transform over log s against inv_sum_mean_link's own
# quadrature: both ~1e-10 relative, through a log difference over log 4.
EXACT_ATOL = 1e-8
# The window's edges: 12 bisections of a quarter decade (10^(0.25 / 4096) - 1 = 1.4e-4 relative).
EDGE_RTOL = 2e-4


@pytest.fixture(scope="module")
def links(tmp_path_factory):
    cube = build(RAW, tmp_path_factory.mktemp("links"))
    ds = netsense.open_cube(cube.path)
    inp = StudyInput(ds, REF, [])
    return ds, inp, STUDIES["lawwindow"].rows(inp)


def median(x):
    return float(np.median(x))  # inf trials are values; an even count averages the middle two


def test_median_slope_and_its_interval_from_the_stored_trials(links):
    ds, _, rows = links
    assert len(rows) == 3 * 2 * 2  # entries x gammas x adjacent pairs
    for r in rows:
        a = ds["crlb_m2"].sel(sampler=r["sampler"], M=4, rho_s_db=120.0, lam=r["lam_low"],
                              gamma=r["gamma"]).values
        b = ds["crlb_m2"].sel(sampler=r["sampler"], M=4, rho_s_db=120.0, lam=r["lam_high"],
                              gamma=r["gamma"]).values
        m0, m1 = median(a), median(b)
        assert r["crlb_median_low_m2"] == pytest.approx(m0, rel=REL_TOL)
        assert r["crlb_median_high_m2"] == pytest.approx(m1, rel=REL_TOL)
        dx = 2.0 * math.log(r["lam_high"] / r["lam_low"])
        if not (math.isfinite(m0) and math.isfinite(m1)):
            assert math.isnan(r["crlb_median_slope"])  # fewer than half localizable
            continue
        s = math.log(m1 / m0) / dx
        assert r["crlb_median_slope"] == pytest.approx(s, rel=REL_TOL)
        # Bahadur's representation written out: per trial t the influence value
        # L_t = sum_i c_i (q - 1{X_it <= Q_i}) / (f_i Q_i), c = (-1/dx, 1/dx), 1/f_i by
        # Siddiqui from the ranks of the order-statistic interval; se = sd(L) / sqrt(n)
        L = 0.0
        for x, m, c in ((a, m0, -1.0 / dx), (b, m1, 1.0 / dx)):
            n = x.size
            lo, hi = netsense.core.distribution.order_statistic_ranks(n, 0.5)
            xs = np.sort(x)
            inv_f = n * (xs[int(hi) - 1] - xs[int(lo) - 1]) / (int(hi) - int(lo))
            L = L + c * (0.5 - (x <= m)) * inv_f / m
        h = Z95 * np.std(L, ddof=1) / math.sqrt(n)
        assert r["crlb_median_slope_ci_high"] - s == pytest.approx(h, rel=INTERVAL_RTOL)
        assert s - r["crlb_median_slope_ci_low"] == pytest.approx(h, rel=INTERVAL_RTOL)


def test_mean_slope_only_where_the_mean_is_finite(links):
    ds, inp, rows = links
    for r in rows:
        if r["blockage_per_m"] > 0:  # E[eq. 18] is infinite under blockage
            assert math.isnan(r["crlb_mean_slope"]) and r["exact_conditional"]
            continue
        e0, e1 = (estimate(ds.sel(sampler=r["sampler"], M=4, rho_s_db=120.0, lam=lam,
                                  gamma=r["gamma"])[["crlb_m2", "jensen_m2"]].load(), "crlb_m2",
                                                  inp.control)
                  for lam in (r["lam_low"], r["lam_high"]))
        dx = 2.0 * math.log(r["lam_high"] / r["lam_low"])
        m0, m1 = float(e0.mean), float(e1.mean)
        s = math.log(m1 / m0) / dx
        h = Z95 * math.hypot(float(e0.sem) / m0, float(e1.sem) / m1) / dx
        assert r["crlb_mean_slope"] == pytest.approx(s, rel=REL_TOL)
        assert r["crlb_mean_slope_ci_high"] - s == pytest.approx(h, rel=1e-9)
        assert not r["exact_conditional"]


def heights_inv_sum(lam, gamma, h):
    """E[1/A] with heights from links-notes.md section 1, written out: int_0^inf L(s) ds,
    L(s) = exp(-pi lam [s^d gammainc_lower(1 - d, s h^-gamma) - h^2 (1 - exp(-s h^-gamma))])."""
    d = 2.0 / gamma

    def laplace(s):
        lower = special.gammainc(1 - d, s * h**-gamma) * special.gamma(1 - d)
        return math.exp(-math.pi * lam * (s**d * lower - h * h * (1 - math.exp(-s * h**-gamma))))

    val, _ = integrate.quad(lambda t: laplace(math.exp(t)) * math.exp(t), -80, 200, limit=400,
                            epsabs=0, epsrel=1e-12)
    return val


def test_exact_slopes_against_lemma3_and_an_independent_quadrature(links):
    _, _, rows = links
    for r in rows:
        dx = 2.0 * math.log(r["lam_high"] / r["lam_low"])
        if r["sampler"] == "plane-K8":  # Lemma 3: E[1/A] ~ lam^(-gamma/2) exactly
            assert r["exact_slope"] == pytest.approx(-r["gamma"] / 2, abs=EXACT_ATOL)
        elif r["height_t_m"] > 0:
            i0, i1 = (heights_inv_sum(lam, r["gamma"], r["height_t_m"])
                      for lam in (r["lam_low"], r["lam_high"]))
            assert r["exact_slope"] == pytest.approx(2 * math.log(i1 / i0) / dx, abs=EXACT_ATOL)


def test_window_edges_scale_with_each_link_model():
    g = 4.0
    assert lw.law_window(g, (0.0, 0.0, 0.0, 0.0)) == lw.LAM_SPAN  # the ideal plane: everywhere
    # heights: E[1/A] depends on lam through lam h^2 only, so the upper edge times pi h^2 is one
    # number; at it the slope is (1 - LAW_TOL) gamma/2 from its side
    ups = []
    for h in (10.0, 25.0):
        low, high = lw.law_window(g, (h, h, 0.0, 0.0))
        assert low == lw.LAM_SPAN[0]
        ups.append(high * math.pi * h * h)
        s = lw.exact_slope(high, g, (h, h, 0.0, 0.0))
        assert -s == pytest.approx(g / 2 * (1 - lw.LAW_TOL), rel=5 * EDGE_RTOL)
    assert ups[0] == pytest.approx(ups[1], rel=EDGE_RTOL)
    t = lw.thresholds(g)
    assert t["max_lam_pi_h2"] == pytest.approx(ups[0], rel=EDGE_RTOL)
    assert t["max_beta_h"] == pytest.approx(math.sqrt(2 * t["max_lam_pi_h2"] / t["min_los_nodes"]))


def test_table_columns_and_study_registration(links):
    _, _, rows = links
    assert STUDIES["lawwindow"].files == ("lawwindow.png", "lawwindow.csv")
    for r in rows:
        assert r["theory"] == -r["gamma"] / 2
        assert r["lam_mid"] == pytest.approx(math.sqrt(r["lam_low"] * r["lam_high"]), rel=REL_TOL)
        if r["blockage_per_m"] > 0:
            mu = 2 * math.pi * r["lam_mid"] / r["blockage_per_m"] ** 2
            assert r["los_nodes_mid"] == pytest.approx(mu, rel=REL_TOL)


def test_ratio_rows_have_no_eq18_mean_under_blockage(links):
    """findings.json's ratios: E[eq. 18] of a blockage entry is infinite, so no mean or ratio of
    it is reported; eq. (23)'s is labelled conditional; other entries are untouched."""
    _, inp, _ = links
    for r in inp.ratios:
        if r["sampler"].endswith("-b0.05"):
            assert math.isnan(r["crlb_ratio"]) and math.isnan(r["crlb_mean_m2"])
            assert r["jensen_conditional"] is True and math.isfinite(r["jensen_ratio"])
        else:
            assert math.isfinite(r["crlb_ratio"]) and "jensen_conditional" not in r
