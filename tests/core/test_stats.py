"""netsense.core.stats, the one module every estimate from trials comes from: against a naive
implementation, its non-finite rule, and its intervals' coverage where the normal approximation
is exact (Gaussian trials)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsense.core.stats import (
    Z95,
    RunningMoments,
    log_ratio_se,
    mean_estimate,
    paired_sample,
    quantiles,
    ratio_se,
)

# Sums of a few thousand float64 values in another order: relative rounding well below this.
REORDER_RTOL = 1e-12
# Coverage of a 95% interval, 2000 repetitions: binomial sd = sqrt(.95 .05 / 2000) = 0.0049.
COVERAGE_REPS = 2000
COVERAGE_TOL = 4 * math.sqrt(0.95 * 0.05 / COVERAGE_REPS)


def _naive(x):
    """Mean and standard error written out as sums, over a Python list."""
    v = [float(t) for t in x]
    n = len(v)
    m = sum(v) / n
    sd = math.sqrt(sum((t - m) ** 2 for t in v) / (n - 1))
    return m, sd / math.sqrt(n), n


def test_z95_is_the_normal_quantile():
    from scipy.stats import norm

    assert pytest.approx(norm.ppf(0.975), rel=1e-15) == Z95


def test_mean_estimate_matches_the_naive_sums():
    x = np.random.default_rng(1).lognormal(0.0, 1.5, size=5000)
    e = mean_estimate(x)
    m, se, n = _naive(x)
    assert float(e.mean) == pytest.approx(m, rel=REORDER_RTOL)
    assert float(e.sem) == pytest.approx(se, rel=REORDER_RTOL)
    assert int(e.n) == n and int(e.n_nonfinite) == 0 and int(e.n_missing) == 0
    assert float(e.ci_low) == pytest.approx(m - Z95 * se, rel=REORDER_RTOL)
    assert float(e.ci_high) == pytest.approx(m + Z95 * se, rel=REORDER_RTOL)


def test_mean_estimate_is_numpys_mean_bit_for_bit_when_all_finite():
    """The figures and studies reported x.mean() and x.std(ddof=1)/sqrt(n) before this module
    existed; with finite trials the numbers are those, bit for bit."""
    x = np.random.default_rng(2).standard_exponential((3, 4, 777))
    e = mean_estimate(x, axis=-1)
    assert np.array_equal(e.mean, x.mean(axis=-1))
    assert np.array_equal(e.sem, x.std(axis=-1, ddof=1) / np.sqrt(777))


def test_nan_is_missing_and_inf_is_counted_never_averaged_in():
    x = np.array([1.0, 2.0, np.nan, 3.0, np.inf, -np.inf, 4.0])
    e = mean_estimate(x)
    m, se, _ = _naive([1.0, 2.0, 3.0, 4.0])
    assert float(e.mean) == pytest.approx(m) and float(e.sem) == pytest.approx(se)
    assert (int(e.n), int(e.n_nonfinite), int(e.n_missing)) == (4, 2, 1)


def test_rows_are_independent_along_an_axis():
    x = np.array([[1.0, 2.0, 3.0], [np.nan, 5.0, np.inf], [1.0, np.nan, np.nan]])
    e = mean_estimate(x, axis=1)
    assert e.mean[0] == 2.0 and e.mean[1] == 5.0 and e.mean[2] == 1.0
    assert e.n.tolist() == [3, 1, 1]
    assert np.isnan(e.sem[1]) and np.isnan(e.sem[2])  # one trial: no standard error
    assert e.n_nonfinite.tolist() == [0, 1, 0] and e.n_missing.tolist() == [0, 1, 2]


def test_over_divides_every_part():
    e = mean_estimate(np.arange(10.0)).over(4.0)
    assert float(e.mean) == 4.5 / 4 and float(e.ci_high) == pytest.approx((4.5 + Z95 *
                                                                            float(e.sem) * 4) / 4)


def test_interval_covers_at_95_percent_for_gaussian_trials():
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 3.0, size=(COVERAGE_REPS, 200))
    e = mean_estimate(x, axis=1)
    covered = np.mean((e.ci_low <= 2.0) & (e.ci_high >= 2.0))
    assert abs(covered - 0.95) <= COVERAGE_TOL, covered


def test_quantiles_leave_missing_out_and_keep_infinite_values():
    x = np.array([[3.0, 1.0, np.nan, 2.0], [1.0, np.inf, 2.0, 3.0]])
    q = quantiles(x, [0.5, 0.25], axis=1)
    assert q[:, 0].tolist() == [2.0, 1.5]  # the missing trial is not a value
    assert q[:, 1].tolist() == [2.5, 1.75]  # the infinite one is the largest value


def test_paired_sample_drops_a_trial_at_every_point():
    X = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, np.inf, 6.0, 8.0]])
    ps = paired_sample(X)
    assert ps.n == 3 and ps.n_nonfinite == 1
    assert ps.means.tolist() == [8.0 / 3, 16.0 / 3]
    assert np.allclose(ps.trial_cov, np.cov(X[:, [0, 2, 3]]))


def test_ratio_standard_errors_match_the_spread_of_simulated_ratios():
    """Delta method against the sample spread of m1/m2 over many independent pairs of means."""
    rng = np.random.default_rng(4)
    m1, se1, m2, se2 = 3.0, 0.03, 2.0, 0.01
    a = rng.normal(m1, se1, 200_000)
    b = rng.normal(m2, se2, 200_000)
    assert ratio_se(m1, se1, m2, se2) == pytest.approx(np.std(a / b), rel=0.02)
    assert log_ratio_se(m1, se1, m2, se2) == pytest.approx(np.std(np.log(a / b)), rel=0.02)
    arr = log_ratio_se(np.array([m1]), np.array([se1]), np.array([m2]), np.array([se2]))
    assert arr[0] == pytest.approx(log_ratio_se(m1, se1, m2, se2))


def test_running_moments_equal_one_pass_over_all_blocks():
    rng = np.random.default_rng(5)
    blocks = [rng.gamma(0.5, 2.0, size=n) for n in (1000, 1, 2500, 333)]
    blocks[2][17] = np.inf
    rm = RunningMoments()
    for b in blocks:
        rm.add(b)
    flat = np.concatenate(blocks)
    e = mean_estimate(flat)
    s = rm.summary(scale=2.0)
    assert s["n"] == int(e.n) and s["n_inf"] == 1
    assert s["mean"] == pytest.approx(2.0 * float(e.mean), rel=REORDER_RTOL)
    assert s["sem"] == pytest.approx(2.0 * float(e.sem), rel=1e-10)
    assert s["ci95"][0] == pytest.approx(2.0 * float(e.ci_low), rel=1e-10)


def test_non_finite_rows_reduce_their_finite_values_exactly():
    """With a non-finite trial the estimate is numpy's over exactly the finite ones (what the
    studies computed before this module: x[isfinite(x)].mean())."""
    x = np.random.default_rng(6).lognormal(0, 2, size=(3, 1001))
    x[1, 10] = np.inf
    x[2, 20] = np.nan
    e = mean_estimate(x, axis=1)
    for i in range(3):
        f = x[i][np.isfinite(x[i])]
        assert e.mean[i] == f.mean() and e.sem[i] == f.std(ddof=1) / np.sqrt(f.size)
