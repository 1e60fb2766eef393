"""netsense.core.stats, the one module every estimate from trials comes from: against a naive
implementation, its non-finite rule, and its intervals' coverage where the normal approximation
is exact (Gaussian trials)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsense.core.stats import (
    CV_FOLDS,
    CV_INTERVAL,
    CV_MIN_TRIALS,
    PLAIN_INTERVAL,
    Z95,
    RunningCV,
    RunningMoments,
    cv_corrected,
    cv_estimate,
    interval_bounds,
    interval_calibrated,
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


def _naive_hall(x):
    """Hall's (1992) interval written out: the skewness from sums, then the root of the cubic
    g(w) = -+z/sqrt(n) found numerically (not by the closed-form inverse)."""
    from scipy.optimize import brentq

    v = [float(t) for t in x]
    n = len(v)
    m = sum(v) / n
    sd = math.sqrt(sum((t - m) ** 2 for t in v) / (n - 1))
    s = n * sum((t - m) ** 3 for t in v) / ((n - 1) * (n - 2) * sd**3)

    def root(target):
        return brentq(lambda w: w + s * w**2 / 3 + s**2 * w**3 / 27 + s / (6 * n) - target,
                      -10.0, 10.0, xtol=1e-15)

    return m - sd * root(Z95 / math.sqrt(n)), m - sd * root(-Z95 / math.sqrt(n))


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
    lo, hi = _naive_hall(x)  # the reported plain interval (stats.PLAIN_INTERVAL)
    assert PLAIN_INTERVAL == "hall"
    assert float(e.ci_low) == pytest.approx(lo, rel=1e-10)
    assert float(e.ci_high) == pytest.approx(hi, rel=1e-10)
    e = mean_estimate(x, interval="normal")
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


# --- the control-variate estimator -------------------------------------------------------------

def _naive_cv(y, x, mu, folds):
    """cv_estimate written out: for each fold, the coefficient from np.cov over the other folds,
    then the corrected trials of that fold."""
    n = len(y)
    k = (np.arange(n) * folds) // n
    z = np.empty(n)
    for f in range(folds):
        out = k != f
        c = np.cov(y[out], x[out])
        z[k == f] = y[k == f] - c[0, 1] / c[1, 1] * (x[k == f] - mu)
    return z.mean(), z.std(ddof=1) / math.sqrt(n)


def _pairs(rng, n, shape=(), rho=0.99):
    """Bivariate lognormal-ish pairs with a strong correlation and a known E[x] = 1."""
    g = rng.standard_normal((2, *shape, n))
    x = np.exp(0.5 * g[0] - 0.125)  # E[x] = 1
    y = 2.0 * x + math.sqrt(1 - rho**2) * g[1]  # E[y] = 2
    return y, x


def test_cv_estimate_matches_the_naive_fold_loop():
    y, x = _pairs(np.random.default_rng(11), 3001)
    e = cv_estimate(y, x, 1.0)
    m, se = _naive_cv(y, x, 1.0, CV_FOLDS)
    assert float(e.mean) == pytest.approx(m, rel=REORDER_RTOL)
    assert float(e.sem) == pytest.approx(se, rel=1e-10)
    assert e.method == "control_variate" and bool(e.cv_used)
    assert float(e.plain.mean) == y.mean()  # the plain estimate beside it, numpy's bit for bit
    assert float(e.variance_reduction) == pytest.approx((y.std(ddof=1) / (se * math.sqrt(3001)))
                                                        ** 2, rel=1e-10)


def test_cv_estimate_along_an_axis_is_the_estimate_of_each_row():
    y, x = _pairs(np.random.default_rng(12), 500, shape=(3, 2))
    mu = np.array([[1.0, 1.0], [1.0, np.nan], [1.0, 1.0]])  # one point without a known mean
    e = cv_estimate(y, x, mu, axis=-1)
    for i in range(3):
        for j in range(2):
            one = cv_estimate(y[i, j], x[i, j], mu[i, j])
            assert e.mean[i, j] == pytest.approx(float(one.mean), rel=REORDER_RTOL)
    assert e.method[1, 1] == "plain" and e.mean[1, 1] == y[1, 1].mean()
    assert e.cv_used.sum() == 5
    p = mean_estimate(y[1, 1])  # a point that falls back reports the plain interval, too
    assert (e.ci_low[1, 1], e.ci_high[1, 1]) == (float(p.ci_low), float(p.ci_high))


def test_cv_interval_covers_at_95_percent_and_the_estimate_is_unbiased():
    """Gaussian pairs (the normal interval is exact up to O(1/n)): coverage within binomial
    error, and the mean over repetitions within 4 standard errors of the truth (the
    cross-fitted coefficient makes the estimate unbiased)."""
    rng = np.random.default_rng(13)
    g = rng.standard_normal((2, COVERAGE_REPS, 200))
    x = g[0]
    y = 3.0 + x + 0.3 * g[1]
    e = cv_estimate(y, x, 0.0, axis=-1)
    covered = np.mean((e.ci_low <= 3.0) & (e.ci_high >= 3.0))
    assert abs(covered - 0.95) <= COVERAGE_TOL, covered
    assert abs(e.mean.mean() - 3.0) <= 4 * e.mean.std(ddof=1) / math.sqrt(COVERAGE_REPS)
    # var(y) / var(y - b x) = (1 + 0.09) / 0.09 for these pairs; 2000 x 200 trials
    assert np.median(e.variance_reduction) == pytest.approx(1.09 / 0.09, rel=0.02)


def test_cv_falls_back_to_plain_and_says_why():
    y, x = _pairs(np.random.default_rng(14), 400)
    e = cv_estimate(y, x, float("nan"))
    assert e.method == "plain" and "no exact mean" in e.reason and float(e.mean) == y.mean()
    y2 = y.copy()
    y2[5] = np.inf  # a singular FIM where the control is finite: the pairs are not x's law
    e = cv_estimate(y2, x, 1.0)
    assert e.method == "plain" and "infinite" in e.reason and int(e.n_nonfinite) == 1
    e = cv_estimate(y[:CV_MIN_TRIALS - 1], x[:CV_MIN_TRIALS - 1], 1.0)
    assert e.method == "plain" and "too few" in e.reason
    x2 = x.copy()
    x2[7] = np.inf  # a value without its control: the pairs are not y's law either
    e = cv_estimate(y, x2, 1.0)
    assert e.method == "plain" and "no finite control" in e.reason and float(e.mean) == y.mean()
    run = RunningCV(400, 1.0)
    run.add(y, x2)
    assert run.summary()["method"] == "plain"


def test_calibration_covers_only_what_was_measured():
    assert interval_calibrated("control_variate", 2.5, 1000)
    assert not interval_calibrated("control_variate", 5.5, 1000)
    assert interval_calibrated("control_variate", 5.5, 10_000)
    assert interval_calibrated("plain", 5.0, 1000) and not interval_calibrated("plain", 5.5, 9999)
    assert not interval_calibrated("plain", 6.5, 10**7)  # beyond the measured gammas
    assert not interval_calibrated("plain", 2.0, 10**7)  # below them
    assert not interval_calibrated("control_variate", 3.0, 999)


def test_cv_leaves_missing_trials_out():
    y, x = _pairs(np.random.default_rng(15), 1000)
    y[[3, 500]] = np.nan
    x[[3, 500]] = np.nan
    e = cv_estimate(y, x, 1.0)
    keep = np.isfinite(y)
    assert int(e.n) == 998 and int(e.n_missing) == 2
    # same corrected trials as the naive loop over the kept ones, folds from the stored index
    z = cv_corrected(y, x, 1.0)
    assert np.isnan(z[[3, 500]]).all() and float(e.mean) == pytest.approx(z[keep].mean(),
                                                                           rel=REORDER_RTOL)


def test_running_cv_over_blocks_equals_cv_estimate_of_all_trials():
    y, x = _pairs(np.random.default_rng(16), 5000)
    run = RunningCV(5000, 1.0)
    for a, b in ((0, 1234), (1234, 1235), (1235, 5000)):
        run.add(y[a:b], x[a:b])
    s = run.summary(scale=3.0)
    e = cv_estimate(y, x, 1.0)
    assert s["method"] == "control_variate"
    assert s["mean"] == pytest.approx(3.0 * float(e.mean), rel=1e-12)
    assert s["sem"] == pytest.approx(3.0 * float(e.sem), rel=1e-8)  # power sums vs residuals
    assert s["variance_reduction"] == pytest.approx(float(e.variance_reduction), rel=1e-8)
    assert s["plain"]["mean"] == pytest.approx(3.0 * y.mean(), rel=REORDER_RTOL)
    assert RunningCV(10, float("nan")).summary()["method"] == "plain"


def test_hall_interval_is_normal_without_skew_and_moves_up_with_right_skew():
    lo, hi = interval_bounds(1.0, 2.0, 400, 0.0, "hall")
    assert lo == pytest.approx(1.0 - Z95 * 0.1, rel=1e-12)
    assert hi == pytest.approx(1.0 + Z95 * 0.1, rel=1e-12)
    lo2, hi2 = interval_bounds(1.0, 2.0, 400, 2.0, "hall")
    assert lo2 > lo and hi2 > hi
    # the inverse is exact: g(w) at the bounds' w equals -+ Z95 / sqrt(n)
    s, n = 2.0, 400
    for bound, target in ((lo2, Z95 / 20), (hi2, -Z95 / 20)):
        w = (1.0 - bound) / 2.0
        assert w + s * w**2 / 3 + s**2 * w**3 / 27 + s / (6 * n) == pytest.approx(target,
                                                                                   rel=1e-12)


def test_kurtosis_t_interval_against_scipy():
    """The control variate's interval: Student's t with nu = 2n/(kappa - 1), kappa the sample
    kurtosis, from scipy's own kurtosis and t quantile."""
    from scipy import stats as sps

    x = np.random.default_rng(17).standard_t(5, size=800)
    e = mean_estimate(x, interval="kurtosis_t")
    kappa = sps.kurtosis(x, fisher=False, bias=True)
    h = sps.t.ppf(0.975, 2 * 800 / (kappa - 1)) * x.std(ddof=1) / math.sqrt(800)
    assert float(e.ci_low) == pytest.approx(x.mean() - h, rel=1e-12)
    assert float(e.ci_high) == pytest.approx(x.mean() + h, rel=1e-12)
    assert CV_INTERVAL == "kurtosis_t"
    # normal trials: kappa ~ 3, nu ~ n - 1, nearly the normal interval
    g = np.random.default_rng(18).standard_normal(5000)
    lo, hi = mean_estimate(g, interval="kurtosis_t").ci_low, mean_estimate(g, interval="normal").ci_low
    assert float(lo) == pytest.approx(float(hi), rel=1e-3)


def test_running_cv_interval_equals_the_array_interval_for_heavy_tails():
    rng = np.random.default_rng(19)
    x = rng.pareto(3.5, 6000) + 1.0  # E[x] = 3.5 / 2.5
    y = 2.0 * x + rng.standard_t(4, 6000)
    run = RunningCV(6000, 3.5 / 2.5)
    for a in range(0, 6000, 1000):
        run.add(y[a:a + 1000], x[a:a + 1000])
    e = cv_estimate(y, x, 3.5 / 2.5)
    assert run.summary()["ci95"] == pytest.approx([float(e.ci_low), float(e.ci_high)], rel=1e-9)


# --- one table of cases for the array and the streaming estimators ---------------------------
# cv_estimate / mean_estimate (cube queries, studies) and RunningCV / RunningMoments (netsense mc)
# implement one rule each; every case below goes through both. A case: the trials y (eq. 18),
# their control x (eq. 23), E[x], and where the stream is cut into blocks.
# Power sums against corrected residuals (RunningCV's sem, interval): a few 1e-10 relative.
POWER_SUMS_RTOL = 1e-8


def _case(name, n=400, mu=1.0, y_at=(), x_at=(), cuts=(137, 138, 300), seed=21):
    y, x = _pairs(np.random.default_rng(seed), n)
    for i, v in y_at:
        y[i] = v
    for i, v in x_at:
        x[i] = v
    return pytest.param(y, x, mu, [c for c in cuts if c < n], id=name)


ESTIMATOR_CASES = [
    # (y, x, E[x], block cuts): expected method and reason follow from the rule itself
    _case("all finite"),
    _case("unknown control mean", mu=float("nan")),
    _case("+inf eq18 with a finite control", y_at=[(5, np.inf)]),
    _case("-inf eq18 with a finite control", y_at=[(5, -np.inf)]),
    _case("inf eq18 with a finite control in the last block only", y_at=[(390, np.inf)]),
    _case("finite eq18 with an infinite control", x_at=[(7, np.inf)]),
    _case("finite eq18 with a NaN control", x_at=[(7, np.nan)]),
    _case("both infinite: counted, pair left out", y_at=[(9, np.inf)], x_at=[(9, np.inf)]),
    _case("eq18 missing (NaN), control finite", y_at=[(3, np.nan)]),
    _case("both missing", y_at=[(3, np.nan)], x_at=[(3, np.nan)]),
    _case("one pair fewer than the control variate needs", n=CV_MIN_TRIALS - 1),
    _case("exactly the pairs the control variate needs", n=CV_MIN_TRIALS),
    _case("too few finite pairs after infinite ones", n=CV_MIN_TRIALS + 1,
          y_at=[(2, np.inf)], x_at=[(2, np.inf), (4, np.inf)], cuts=(10,)),
    _case("every eq18 trial infinite", n=50, y_at=[(i, np.inf) for i in range(50)]),
    _case("one block", cuts=()),
]


def _expected_method(y, x, mu):
    """The rule, written out: the control variate only with a known E[x], no trial with a
    finite control and an infinite value, no value without a finite control, and enough
    finite pairs."""
    pair = np.isfinite(y) & np.isfinite(x)
    x_only = bool((np.isfinite(x) & np.isinf(y)).any())
    y_only = bool((np.isfinite(y) & ~np.isfinite(x)).any())
    ok = math.isfinite(mu) and not x_only and not y_only and pair.sum() >= CV_MIN_TRIALS
    return "control_variate" if ok else "plain"


def _close(a, b, rel):
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=rel)


@pytest.mark.parametrize("y, x, mu, cuts", ESTIMATOR_CASES)
def test_array_and_streaming_cv_agree_on_every_case(y, x, mu, cuts):
    e = cv_estimate(y, x, mu)
    run = RunningCV(y.size, mu)
    for part_y, part_x in zip(np.split(y, cuts), np.split(x, cuts), strict=True):
        run.add(part_y, part_x)
    s = run.summary()
    want = _expected_method(y, x, mu)
    assert e.method == s["method"] == want
    assert e.reason == s["reason"]
    assert (e.reason == "") is (want == "control_variate")
    rel = REORDER_RTOL if want == "plain" else POWER_SUMS_RTOL
    assert _close(s["mean"], e.mean, REORDER_RTOL)
    assert _close(s["sem"], e.sem, rel)
    assert _close(s["ci95"][0], e.ci_low, rel) and _close(s["ci95"][1], e.ci_high, rel)
    assert s["n"] == int(e.n)
    if not np.isnan(y).any():  # a streamed trial is never missing (see the report's note)
        assert s["n_inf"] == int(e.n_nonfinite) == int(np.isinf(y).sum())
    assert _close(s["plain"]["mean"], e.plain.mean, REORDER_RTOL)
    assert _close(s["plain"]["sem"], e.plain.sem, REORDER_RTOL)
    if want == "plain":
        assert s["variance_reduction"] == 1.0 and float(e.variance_reduction) == 1.0
    else:
        assert s["variance_reduction"] == pytest.approx(float(e.variance_reduction),
                                                        rel=POWER_SUMS_RTOL)


MOMENT_CASES = [
    pytest.param(np.random.default_rng(22).gamma(0.5, 2.0, 300), (1, 150), id="finite"),
    pytest.param(np.array([1.0, np.inf, 3.0, -np.inf, 4.0]), (2,), id="infinite trials"),
    pytest.param(np.full(6, np.inf), (3,), id="every trial infinite"),
    pytest.param(np.array([np.inf, 2.0, np.inf]), (1,), id="one finite trial"),
    pytest.param(np.array([2.0, 5.0]), (1,), id="two trials"),
    pytest.param(np.full(5, 3.0), (2,), id="no spread"),
]


@pytest.mark.parametrize("x, cuts", MOMENT_CASES)
def test_array_and_streaming_plain_mean_agree_on_every_case(x, cuts):
    e = mean_estimate(x)
    rm = RunningMoments()
    for part in np.split(x, cuts):
        rm.add(part)
    s = rm.summary()
    assert s["n"] == int(e.n) and s["n_inf"] == int(e.n_nonfinite)
    assert _close(s["mean"], e.mean, REORDER_RTOL)
    assert _close(s["sem"], e.sem, REORDER_RTOL)
    assert _close(s["ci95"][0], e.ci_low, 1e-10) and _close(s["ci95"][1], e.ci_high, 1e-10)


# ------------------------------------------------------------------------------------------
# netsense.core.distribution's proportions and quantiles, against scipy's binomial and beta laws


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (517, 1000), (999, 1000)])
def test_proportion_interval_is_clopper_pearson(k, n):
    from scipy import stats

    from netsense.core.distribution import proportion_interval

    lo, hi = (float(b) for b in proportion_interval(k, n))
    want_lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    want_hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    assert lo == pytest.approx(want_lo, rel=1e-10, abs=1e-15)
    assert hi == pytest.approx(want_hi, rel=1e-10, abs=1e-15)
    # its defining property: each tail of the binomial at the bounds is 2.5%
    if k > 0:
        assert stats.binom.sf(k - 1, n, lo) == pytest.approx(0.025, rel=1e-8)
    if k < n:
        assert stats.binom.cdf(k, n, hi) == pytest.approx(0.025, rel=1e-8)


@pytest.mark.parametrize("n, q", [(100, 0.5), (1000, 0.5), (501, 0.9), (50, 0.05), (5, 0.5)])
def test_order_statistic_ranks_are_the_tightest_that_hold(n, q):
    """P(B < l) <= 2.5% and P(B >= u) <= 2.5% (B ~ Binomial(n, q) trials below the quantile),
    and neither rank can move inward without breaking its tail."""
    from scipy import stats

    from netsense.core.distribution import order_statistic_ranks

    lo, hi = (int(r) for r in order_statistic_ranks(n, q))
    if lo >= 1:
        assert stats.binom.cdf(lo - 1, n, q) <= 0.025 < stats.binom.cdf(lo, n, q)
    else:
        assert stats.binom.cdf(0, n, q) > 0.025
    if hi <= n:
        assert stats.binom.sf(hi - 1, n, q) <= 0.025 < stats.binom.sf(hi - 2, n, q)
    else:
        assert stats.binom.sf(n - 1, n, q) > 0.025
    if (n, q) == (100, 0.5):
        assert (lo, hi) == (40, 61)  # the textbook median interval, X_(40) .. X_(61)


def test_quantile_estimate_counts_infinite_trials_and_covers():
    from netsense.core.distribution import order_statistic_ranks
    from netsense.core.distribution import quantile_estimate as estimate

    def quantile_estimate(x, q):
        e = estimate(x, q)
        return float(e.value), float(e.ci_low), float(e.ci_high)

    x = np.array([3.0, np.inf, 1.0, np.nan, 2.0, np.inf, 5.0, 4.0, 6.0, np.inf])
    v, lo, hi = quantile_estimate(x, 0.5)  # 9 trials: the NaN is missing, the infs are values
    srt = np.sort(x[~np.isnan(x)])
    assert v == 5.0 == srt[4]
    rl, ru = (int(r) for r in order_statistic_ranks(9, 0.5))
    assert (lo, hi) == (srt[rl - 1], srt[ru - 1]) and hi == np.inf
    # coverage of the median interval over repetitions (continuous law): >= 95%
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(COVERAGE_REPS):
        _, lo, hi = quantile_estimate(rng.exponential(size=60), 0.5)
        hits += lo <= math.log(2) <= hi
    assert hits / COVERAGE_REPS >= 0.95 - COVERAGE_TOL


def test_quantiles_with_infinite_trials_are_the_order_statistics_interpolated():
    """An unusable network (infinite eq. 18) is a value above every finite one: numpy's linear
    interpolation gives NaN next to it (inf - inf, inf * 0); the quantile is inf once its
    interpolation reaches an infinite order statistic, the lower one where it lands on it."""
    from netsense.core.stats import quantiles

    x = np.array([3.0, np.inf, 1.0, 2.0, np.inf, np.nan, np.inf])  # 6 values, 3 infinite
    qs = [0.0, 0.2, 0.4, 0.5, 0.6, 0.9, 1.0]
    s = np.sort(x[~np.isnan(x)])
    want = []
    for q in qs:  # the definition: position (n - 1) q between the order statistics
        p = (s.size - 1) * q
        i, t = int(np.floor(p)), p - np.floor(p)
        want.append(s[i] if t == 0 or np.isinf(s[i]) else
                    (np.inf if np.isinf(s[i + 1]) else s[i] + (s[i + 1] - s[i]) * t))
    got = quantiles(x, qs)
    assert got.tolist() == pytest.approx(want, rel=1e-15)
    assert np.isinf(quantiles(np.array([1.0, np.inf]), 0.5))  # numpy: nan
    assert quantiles(np.vstack([x, x]), [0.5], axis=-1).shape == (1, 2)
