"""netsense.core.distribution: quantiles, coverage and localizable fractions with their
distribution-free intervals, against scipy's binomial law and exact interval, and their coverage
measured by Monte Carlo against the exact binomial coverage (scipy.stats)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from netsense.core.distribution import (
    coverage_estimate,
    localizable_estimate,
    order_statistic_ranks,
    proportion_interval,
    proportion_interval_coverage,
    quantile_estimate,
    quantile_interval_coverage,
    quantile_slope,
)
from netsense.core.stats import quantiles
from netsense.errors import InputError

# Coverage over this many repetitions: binomial sd of a coverage near 0.95 is 0.0049.
REPS = 2000
COVERAGE_TOL = 4 * math.sqrt(0.95 * 0.05 / REPS)
# A scaled copy: float rounding of one multiplication and one division.
SCALE_RTOL = 1e-14
# scipy's beta quantiles against scipy.special.betaincinv: the same routine, to rounding.
CP_RTOL = 1e-10


def _scipy_ranks(n, q):
    return int(stats.binom.ppf(0.025, n, q)), int(stats.binom.ppf(0.975, n, q)) + 1


@pytest.mark.parametrize("n", [1, 7, 40, 200, 1000, 40_000])
@pytest.mark.parametrize("q", [0.0, 0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 1.0])
def test_ranks_are_scipys_binomial_quantiles(n, q):
    lo, hi = order_statistic_ranks(n, q)
    assert (int(lo), int(hi)) == _scipy_ranks(n, q)


@pytest.mark.parametrize("n", [10, 200, 1000])
@pytest.mark.parametrize("q", [0.05, 0.5, 0.9, 0.99])
def test_exact_coverage_of_the_quantile_interval_is_at_least_95_percent(n, q):
    lo, hi = _scipy_ranks(n, q)
    exact = stats.binom.cdf(hi - 1, n, q) - stats.binom.cdf(lo - 1, n, q)
    assert float(quantile_interval_coverage(n, q)) == pytest.approx(exact, abs=1e-12)
    assert exact >= 0.95


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (5, 100), (50, 100), (100, 100),
                                  (9495, 10_000), (39_990, 40_000)])
def test_clopper_pearson_is_scipys_exact_interval(k, n):
    lo, hi = proportion_interval(k, n)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert float(lo) == pytest.approx(ref.low, rel=CP_RTOL, abs=1e-300)
    assert float(hi) == pytest.approx(ref.high, rel=CP_RTOL)


def test_proportion_coverage_is_the_binomial_sum():
    n, p = 300, 0.93
    ks = np.arange(n + 1)
    inside = [stats.binomtest(int(k), n).proportion_ci(method="exact") for k in ks]
    ref = sum(stats.binom.pmf(k, n, p) for k, ci in zip(ks, inside, strict=True)
              if ci.low <= p <= ci.high)
    assert proportion_interval_coverage(n, p) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("q, n", [(0.5, 200), (0.9, 200), (0.95, 1000)])
def test_quantile_interval_coverage_measured(q, n):
    """Heavy-tailed trials (a Pareto of index 0.8: no mean); the interval covers the true
    quantile as often as the binomial law says."""
    rng = np.random.default_rng(31)
    x = rng.pareto(0.8, size=(REPS, n)) + 1.0
    true = (1.0 - q) ** (-1.0 / 0.8)
    e = quantile_estimate(x, q)
    cover = np.mean((e.ci_low <= true) & (true <= e.ci_high))
    lo, hi = _scipy_ranks(n, q)
    exact = stats.binom.cdf(hi - 1, n, q) - stats.binom.cdf(lo - 1, n, q)
    assert cover == pytest.approx(exact, abs=COVERAGE_TOL)


@pytest.mark.parametrize("p, n", [(0.5, 100), (0.95, 1000), (0.99, 400)])
def test_coverage_fraction_interval_coverage_measured(p, n):
    rng = np.random.default_rng(32)
    u = rng.uniform(size=(REPS, n))
    e = coverage_estimate(u, p)  # P(U <= p) = p
    cover = np.mean((e.ci_low <= p) & (p <= e.ci_high))
    assert cover == pytest.approx(proportion_interval_coverage(n, p), abs=COVERAGE_TOL)
    assert cover >= 0.95 - COVERAGE_TOL


def test_point_values_are_numpys():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=(4, 501))
    e = quantile_estimate(x, [0.1, 0.9])
    np.testing.assert_array_equal(e.value, quantiles(x, [0.1, 0.9]))
    np.testing.assert_array_equal(e.value, np.quantile(x, [0.1, 0.9], axis=1))
    s = np.sort(x, axis=1)
    lo, hi = _scipy_ranks(501, 0.9)
    np.testing.assert_array_equal(e.ci_low[1], s[:, lo - 1])
    np.testing.assert_array_equal(e.ci_high[1], s[:, hi - 1])
    c = coverage_estimate(x, 1.5)
    np.testing.assert_array_equal(c.value, (x <= 1.5).mean(axis=1))


def test_missing_left_out_infinite_kept():
    """NaN is a missing trial; +inf a real trial, never covered and above every quantile."""
    x = np.array([1.0, 2.0, 3.0, 4.0, np.inf, np.nan, np.nan])
    c = coverage_estimate(x, [3.5, 1e300])
    assert c.n.tolist() == [5, 5] and c.k.tolist() == [3, 4]
    assert c.n_missing.tolist() == [2, 2]
    e = quantile_estimate(x, 0.9)
    assert int(e.n) == 5 and int(e.n_nonfinite) == 1 and int(e.n_missing) == 2
    assert e.ci_high == np.inf  # 5 trials bound no 0.9-quantile from above
    half = np.concatenate([np.arange(1.0, 11.0), np.full(10, np.inf)])  # a median at the edge
    m = quantile_estimate(half, 0.5)
    lo, hi = _scipy_ranks(20, 0.5)
    assert (float(m.ci_low), float(m.ci_high)) == (float(lo), np.inf) and hi > 10
    loc = localizable_estimate(x)
    assert float(loc.value) == pytest.approx(4 / 5) and int(loc.n) == 5
    ref = stats.binomtest(4, 5).proportion_ci(method="exact")
    assert float(loc.ci_low) == pytest.approx(ref.low, rel=CP_RTOL)


def test_statistics_commute_with_a_positive_scale():
    """What lets a cube store geometric factors: quantiles scale, coverage thresholds divide."""
    rng = np.random.default_rng(2)
    g = rng.lognormal(sigma=2.0, size=(3, 2000))
    c = 7.3e-5
    a, b = quantile_estimate(c * g, [0.5, 0.95]), quantile_estimate(g, [0.5, 0.95]).times(c)
    for f in ("value", "ci_low", "ci_high"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=SCALE_RTOL)
    t = np.quantile(c * g, 0.9) * 1.0001  # not a stored value: no tie to round across
    np.testing.assert_array_equal(coverage_estimate(c * g, t).k, coverage_estimate(g, t / c).k)


def test_bad_thresholds_and_levels_are_one_line():
    with pytest.raises(InputError, match="threshold"):
        coverage_estimate([1.0, 2.0], 0.0)
    with pytest.raises(InputError, match="quantile"):
        quantile_estimate([1.0, 2.0], 1.5)


# Quantile slopes: Monte Carlo coverage of the interval (400 repetitions: binomial sd 0.011).
SLOPE_REPS = 400
SLOPE_TOL = 4 * math.sqrt(0.95 * 0.05 / SLOPE_REPS)


def test_quantile_slope_interval_covers_the_true_slope():
    """Independent points along x = log lam with quantiles scaling as lam^-2.5 (the plane's
    law at gamma = 2.5): the 95% interval of the slope covers -2.5 at its level."""
    rng = np.random.default_rng(3)
    lam = np.array([0.5, 1.0, 2.0])
    x = np.log(lam)
    hits = 0
    for _ in range(SLOPE_REPS):
        X = lam[:, None] ** -2.5 * rng.pareto(1.2, size=(3, 1000))
        _, lo, hi, _ = quantile_slope(x, X, 0.9)
        hits += lo <= -2.5 <= hi
    assert hits / SLOPE_REPS == pytest.approx(0.95, abs=SLOPE_TOL)


def test_quantile_slope_of_scaled_copies_is_exact():
    """Along M and rho_s every point is the same networks scaled: the slope is exact."""
    rng = np.random.default_rng(4)
    g = rng.lognormal(size=3000)
    m = np.array([1.0, 2.0, 4.0, 8.0])
    X = m[:, None] ** -2.0 * g
    s, lo, hi, bad = quantile_slope(np.log(m), X, 0.95)
    assert s == pytest.approx(-2.0, abs=1e-12)
    assert hi - lo < 1e-9 and bad == 0
