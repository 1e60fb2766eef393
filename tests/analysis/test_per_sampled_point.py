"""Statistics once per sampled point (format 4): every estimate a query, a fit, Fig. 1 and the
studies report from a format-4 cube is taken on the stored factors (g18, g23) and scaled per
(M_t, M_r, rho_s), and equals the same estimate taken on the variables at every point (the
readers' path for formats 1-3) up to rounding; the stored factors are what is read; a variable
changed by arithmetic is reduced as it is.

The reference is the same cube with the variables' factor marks (encoding) removed
(:func:`netsense.pipeline.cube.factored` then returns None): the full per-point computation.
The cubes are tests/analysis/conftest.py's (real shards, real assembly): the tied cube has a
codebook entry (M shapes its samples: M is a factor dim), a disk and a guarded plane; the
separate cube has M_t, M_r and lam_t, lam_r.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_query_stats import ALL_STATS

import netsense
from netsense.analysis.estimates import control_mean, estimate
from netsense.analysis.figures.fig1 import panel_stats
from netsense.analysis.fits import EXACT_SLOPE_ATOL, binomial_tail, fit_slopes
from netsense.analysis.query import summarize
from netsense.pipeline.cube import FACTOR_KEY, SCALE_KEY, factored

# The product factor x scale is rounded once per trial; a statistic taken before or after it
# differs by a few ulp (2.2e-16 each), which the control variate's cancellation (y - b (x - mu),
# variance reductions up to ~50 here) and a 240-trial sum amplify: measured up to 2e-14 on these
# cubes; 1e-11 leaves three orders of margin and is far below any Monte Carlo error (1e-2).
ROUNDING_RTOL = 1e-11
# The width rounding gives an exact slope's interval in the per-point fit (rank-one trial
# covariance, c . 1 = 0 in float64): measured up to 1.4e-9; a Monte Carlo one here is > 1e-3.
ROUNDING_WIDTH = 1e-7
# Hall's and the kurtosis-adjusted t interval solve for their bounds numerically (brentq,
# xtol 1e-15, test_query_stats.INTERVAL_RTOL): the bounds agree to that solver's tolerance.
INTERVAL_RTOL = 1e-9


def per_point(ds):
    """``ds`` with its variables no longer marked as factor x scale: every statistic is then
    taken on the variables at every point (the path of formats 1-3)."""
    out = ds.copy()
    for v in ("crlb_m2", "jensen_m2"):
        out[v].encoding = {k: a for k, a in out[v].encoding.items()
                           if k not in (FACTOR_KEY, SCALE_KEY)}
    return out


@pytest.fixture(scope="module", params=["tied", "separate"])
def cube(request):
    return netsense.open_cube(request.getfixturevalue(f"{request.param}_cube").path)


def test_the_fixture_cubes_store_factors(cube):
    assert cube.attrs["netsense_format"] == 4
    for v in ("crlb_m2", "jensen_m2"):
        f, s = factored(cube, v)
        assert "trial" in f.dims and "rho_s_db" in s.dims and "rho_s_db" not in f.dims
    assert factored(per_point(cube), "crlb_m2") is None


def _close(a, b, rtol, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape, what
    assert np.array_equal(np.isnan(a), np.isnan(b)), what
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=0, err_msg=what)


def test_query_equals_the_per_point_query(cube):
    stats = [s for s in ALL_STATS if s != "calibrated"]
    got, want = summarize(cube, stats=stats), summarize(per_point(cube), stats=stats)
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    for c in got.columns:
        if got[c].dtype.kind in "fc":
            rtol = INTERVAL_RTOL if "ci95" in c else ROUNDING_RTOL
            _close(got[c], want[c], rtol, c)
        else:  # coordinates, counts, methods: identical
            assert got[c].tolist() == want[c].tolist(), c
    assert got.attrs["nonfinite_trials"] == want.attrs["nonfinite_trials"]


def test_estimates_equal_the_per_point_estimates(cube):
    """estimate(), what the studies and Fig. 1 call, over the whole cube and along one axis."""
    control = control_mean(cube)
    for v in ("crlb_m2", "jensen_m2"):
        got, want = estimate(cube, v, control), estimate(per_point(cube), v, control)
        for f in ("mean", "sem", "std", "n", "n_nonfinite", "n_missing"):
            _close(getattr(got, f), getattr(want, f), ROUNDING_RTOL, f"{v}.{f}")
        for f in ("ci_low", "ci_high"):
            _close(getattr(got, f), getattr(want, f), INTERVAL_RTOL, f"{v}.{f}")
        if hasattr(want, "plain"):
            assert np.array_equal(got.cv_used, want.cv_used)
            _close(got.variance_reduction, want.variance_reduction, ROUNDING_RTOL, v)
            _close(got.plain.mean, want.plain.mean, ROUNDING_RTOL, v)


def test_fig1_panels_equal_the_per_point_panels(cube):
    ref = {d: cube[d].values[-1] for d in cube.dims if d not in ("sampler", "trial")}
    for dim in ref:
        got = panel_stats(cube, dim, ref)
        want = panel_stats(per_point(cube), dim, ref)
        assert np.array_equal(got["x"], want["x"])
        for q in ("crlb", "jensen"):
            _close(got[q].mean, want[q].mean, ROUNDING_RTOL, f"{dim} {q}")
            _close(got[q].ci_low, want[q].ci_low, INTERVAL_RTOL, f"{dim} {q}")


def test_slopes_equal_the_per_point_slopes(cube):
    """Every slope row: the same rows; Monte Carlo slopes and intervals to rounding; an exact
    slope (along a scaling axis, one set of trials times each point's scale) to
    EXACT_SLOPE_ATOL, its interval of zero width. The per-point fit gives such an interval a
    width of rounding (measured up to 1.4e-9 at 240 trials, above EXACT_SLOPE_ATOL: that row
    was then reported as an uncalibrated Monte Carlo interval)."""
    got, want = fit_slopes(cube), fit_slopes(per_point(cube))
    assert len(got) == len(want)
    exact_rows = 0
    for g, w in zip(got, want, strict=True):
        exact = w["quantity"] != "closed_form" and w["ci_high"] - w["ci_low"] < ROUNDING_WIDTH
        keys = [k for k in w if k not in ("slope", "ci_low", "ci_high")
                and not (exact and k == "interval_calibrated")]
        assert {k: g[k] for k in keys} == {k: w[k] for k in keys}
        if w["quantity"] == "closed_form":
            assert (g["slope"], g["ci_low"], g["ci_high"]) == (w["slope"], w["ci_low"],
                                                              w["ci_high"])
        elif exact:
            exact_rows += 1
            assert g["ci_low"] == g["slope"] == g["ci_high"] and g["interval_calibrated"]
            assert math.isclose(g["slope"], w["slope"], abs_tol=EXACT_SLOPE_ATOL)
        else:
            for k in ("slope", "ci_low", "ci_high"):
                assert math.isclose(g[k], w[k], rel_tol=INTERVAL_RTOL), (k, w)
    assert exact_rows > 0


def test_the_stored_factors_are_what_is_read(cube):
    """The variables replaced by NaN, their factor marks kept: a query still answers from the
    factors (so it reduced them, not the product)."""
    blank = cube.copy()
    for v in ("crlb_m2", "jensen_m2"):
        blank[v] = cube[v] * np.nan
        blank[v].encoding.update(cube[v].encoding)
    got = summarize(blank, stats=["mean", "count"])
    want = summarize(cube, stats=["mean", "count"])
    assert np.isfinite(got["crlb_m2_mean"]).all()
    assert got["crlb_m2_mean"].tolist() == want["crlb_m2_mean"].tolist()


def test_a_variable_changed_by_arithmetic_is_reduced_as_it_is(cube):
    """Arithmetic drops the factor marks (xarray keeps attrs through it, not encoding): the
    doubled variable's mean is twice the mean."""
    doubled = cube.copy()
    doubled["jensen_m2"] = cube["jensen_m2"] * 2.0
    got = summarize(doubled, var="jensen_m2", stats=["mean"])["jensen_m2_mean"]
    want = summarize(cube, var="jensen_m2", stats=["mean"])["jensen_m2_mean"]
    _close(got, 2.0 * want, ROUNDING_RTOL, "doubled")


@pytest.mark.parametrize("k, n", [(0, 10), (1, 20), (3, 20), (7, 40), (20, 20), (21, 20)])
def test_binomial_tail_against_scipy(k, n):
    """``netsense fit``'s chance of k or more misses of n, without importing scipy.stats."""
    from scipy.stats import binom

    assert math.isclose(binomial_tail(k, n, 0.05), float(binom.sf(k - 1, n, 0.05)),
                        rel_tol=1e-12, abs_tol=1e-300)
