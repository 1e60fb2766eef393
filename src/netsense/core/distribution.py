"""Distribution metrics over Monte Carlo trials: coverage, quantiles, localizability, with
distribution-free 95% intervals.

By stationarity and ergodicity of the PPP, the law of the CRLB at the origin over random networks
is the law over target positions in one network: the fraction of trials with sqrt(eq. 18) <= r
is the *sensing coverage* at accuracy r (the fraction of the area where a target is located to
within r, in the CRLB sense), and a quantile of eq. (18) is the accuracy reached at that fraction
of places (docs: guide/coverage.md). These are the numbers a network planner asks for, and they
stay finite where the mean does not (a network with no usable node).

The intervals hold for any law, heavy tails included (the mean's intervals need care there,
:mod:`.stats`):

* a quantile's is between two order statistics whose ranks come from the binomial law of the
  number of trials below the quantile (:func:`order_statistic_ranks`); its coverage is
  >= 95% for every continuous law and every n, and equals :func:`quantile_interval_coverage`;
* a fraction's (coverage, localizable) is Clopper and Pearson's exact binomial interval
  (:func:`proportion_interval`), coverage >= 95% for every p and n
  (:func:`proportion_interval_coverage` gives it exactly).

Trials are counted by the rule of :mod:`.stats`: NaN is a missing trial (not stored; left out
and counted), +inf a real trial (a singular FIM: never covered, above every finite quantile).

Every function takes the trials of a point at any positive scale: for trials c g (c > 0, a
constant per point such as the antennas' and rho_s' factor),
``quantile_estimate(c g, q) = c quantile_estimate(g, q)`` and
``coverage_estimate(c g, t) = coverage_estimate(g, t / c)`` (counts and ranks do not see the
scale), so a statistic of a cube's geometric factors is computed once and scaled per (M, rho_s).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

LEVEL = 0.95  # every interval here is a two-sided 95% one, equal-tailed (2.5% each side)
_ALPHA = 1.0 - LEVEL
Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
# Quantile slopes: where their interval's coverage was measured to hold (0.937-0.957 over 300
# repetitions of lam = 1/1800, 1/900, 1/450 with 1 000 and 3 000 trials per point, q = 0.9;
# benchmarks/distribution_coverage.py, docs: guide/coverage.md): the fewest trials per point and
# the range of gamma.
QUANTILE_SLOPE_MIN_TRIALS = 1000
QUANTILE_SLOPE_GAMMAS = (2.5, 4.0)


def _binom_cdf(k, n, p):
    """P(B <= k) of B ~ Binomial(n, p), elementwise (k < 0: 0; k >= n: 1)."""
    from scipy.special import bdtr  # lazy, and not scipy.stats (slow to import)

    k, n, p = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float),
                                  np.asarray(p, float))
    with np.errstate(invalid="ignore"):
        out = bdtr(np.clip(k, 0, n).astype(np.int64), n.astype(np.int64), p)
    return np.where(k < 0, 0.0, np.where(k >= n, 1.0, out))


def _binom_ppf(y, n, p):
    """The smallest integer k with P(B <= k) >= y, B ~ Binomial(n, p) (scipy.stats.binom.ppf)."""
    from scipy.special import bdtrik

    n, p = np.broadcast_arrays(np.asarray(n, float), np.asarray(p, float))
    with np.errstate(invalid="ignore"):
        k = np.floor(bdtrik(y, n, p))
    k = np.clip(np.where(np.isfinite(k), k, 0.0) - 2.0, 0.0, n)
    for _ in range(6):  # bdtrik is the continuous inverse: a step or two from the integer one
        k = np.where(_binom_cdf(k, n, p) < y, k + 1.0, k)
    return np.minimum(k, n)


def order_statistic_ranks(n, q, level: float = LEVEL):
    """1-based ranks (l, u) of the order statistics X_(l) <= X_(u) that bound the q-quantile
    with probability >= ``level`` for any continuous law (equal tails).

    With B ~ Binomial(n, q) the number of trials below the quantile, X_(l) is below it iff
    B >= l and X_(u) above it iff B <= u - 1: l is the smallest k with P(B <= k) >= alpha/2
    (so P(B < l) < alpha/2) and u - 1 the smallest k with P(B <= k) >= 1 - alpha/2. l = 0 (no
    lower bound) or u = n + 1 (no upper bound) where n is too small for that tail.
    """
    a = (1.0 - level) / 2.0
    n = np.asarray(n, float)
    q = np.asarray(q, float)
    lo = _binom_ppf(a, n, q)
    hi = _binom_ppf(1.0 - a, n, q) + 1.0
    return lo.astype(np.int64), hi.astype(np.int64)


def quantile_interval_coverage(n, q, level: float = LEVEL):
    """The exact coverage of :func:`order_statistic_ranks`' interval for a continuous law:
    P(l <= B <= u - 1), B ~ Binomial(n, q)."""
    lo, hi = order_statistic_ranks(n, q, level)
    return _binom_cdf(hi - 1, n, q) - _binom_cdf(lo - 1, n, q)


@dataclass(frozen=True)
class QuantileEstimate:
    """Quantiles of the trials with their 95% order-statistic intervals (arrays).

    ``value`` is :func:`netsense.core.stats.quantiles` (linear interpolation between order
    statistics); ``ci_low``/``ci_high`` the order statistics X_(l), X_(u)
    (:func:`order_statistic_ranks`), -inf/+inf where n is too small for a bound. ``n``: trials
    used (finite and infinite), ``n_nonfinite`` the infinite ones, ``n_missing`` NaN.
    """

    value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray
    n_nonfinite: np.ndarray
    n_missing: np.ndarray

    def times(self, scale) -> QuantileEstimate:
        """The same quantiles of the trials times a constant ``scale`` > 0."""
        return QuantileEstimate(self.value * scale, self.ci_low * scale, self.ci_high * scale,
                                self.n, self.n_nonfinite, self.n_missing)


def _check_q(q) -> np.ndarray:
    qs = np.asarray(q, float)
    if not np.all((qs >= 0) & (qs <= 1)):
        raise InputError("quantile", q, "must be in [0, 1]")
    return qs


def quantile_estimate(x, q, axis: int = -1) -> QuantileEstimate:
    """Quantiles ``q`` of the trials along ``axis`` with their 95% order-statistic intervals.

    ``q`` a number or a sequence (then the quantiles form the leading axis of every field, as
    :func:`netsense.core.stats.quantiles` gives them).
    """
    from .stats import quantiles

    qs = _check_q(q)
    x = np.moveaxis(np.asarray(x, float), axis, -1)
    value = quantiles(x, qs, axis=-1)
    missing = np.isnan(x)
    n = (~missing).sum(axis=-1)
    n_nonfinite = np.isinf(x).sum(axis=-1)
    s = np.sort(x, axis=-1)  # NaN last, +inf just before
    last = s.shape[-1] - 1
    lows, highs = [], []
    for qi in qs.reshape(-1):
        lo, hi = order_statistic_ranks(n, qi)  # 1-based; 0 and n + 1: no bound on that side
        at_lo = np.take_along_axis(s, np.clip(lo - 1, 0, last)[..., None], axis=-1)[..., 0]
        at_hi = np.take_along_axis(s, np.clip(hi - 1, 0, last)[..., None], axis=-1)[..., 0]
        lows.append(np.where(lo < 1, -np.inf, at_lo))
        highs.append(np.where(hi > n, np.inf, at_hi))
    shape = qs.shape + n.shape
    ci_low = np.asarray(lows).reshape(shape)
    ci_high = np.asarray(highs).reshape(shape)
    empty = np.broadcast_to(n == 0, shape)
    return QuantileEstimate(value=np.asarray(value), ci_low=np.where(empty, np.nan, ci_low),
                            ci_high=np.where(empty, np.nan, ci_high), n=n,
                            n_nonfinite=n_nonfinite, n_missing=missing.sum(axis=-1))


@dataclass(frozen=True)
class ProportionEstimate:
    """A fraction k / n of trials with its 95% Clopper-Pearson interval (arrays).

    ``n``: trials counted (NaN, missing, left out: ``n_missing``).
    """

    value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    k: np.ndarray
    n: np.ndarray
    n_missing: np.ndarray


def proportion_interval(k, n, level: float = LEVEL):
    """Clopper and Pearson's exact interval for a binomial proportion: the beta quantiles
    [B(alpha/2; k, n - k + 1), B(1 - alpha/2; k + 1, n - k)], 0 at k = 0 and 1 at k = n."""
    from scipy.special import betaincinv

    a = (1.0 - level) / 2.0
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, betaincinv(np.maximum(k, 1e-300), n - k + 1.0, a), 0.0)
        hi = np.where(k < n, betaincinv(k + 1.0, np.maximum(n - k, 1e-300), 1.0 - a), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def proportion_interval_coverage(n: int, p: float, level: float = LEVEL) -> float:
    """The exact coverage of :func:`proportion_interval` at n trials and true fraction p:
    the binomial probability of the k whose interval holds p."""
    from scipy.special import bdtr

    k = np.arange(int(n) + 1, dtype=float)
    lo, hi = proportion_interval(k, float(n), level)
    cdf = np.concatenate([[0.0], bdtr(k.astype(np.int64), int(n), p)])
    pmf = np.diff(cdf)
    return float(pmf[(lo <= p) & (p <= hi)].sum())


def proportion_estimate(hit, axis: int = -1) -> ProportionEstimate:
    """The fraction of trials where ``hit`` (a float array: 1.0 hit, 0.0 not, NaN missing) is
    1, with its interval."""
    hit = np.moveaxis(np.asarray(hit, float), axis, -1)
    missing = np.isnan(hit)
    n = (~missing).sum(axis=-1)
    k = np.where(missing, 0.0, hit).sum(axis=-1)
    lo, hi = proportion_interval(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    return ProportionEstimate(value=value, ci_low=lo, ci_high=hi, k=k.astype(np.int64), n=n,
                              n_missing=missing.sum(axis=-1))


def coverage_estimate(x, threshold, axis: int = -1) -> ProportionEstimate:
    """The fraction of trials with ``x <= threshold`` (sensing coverage: x eq. 18 in m^2 and
    the threshold r^2), with its 95% Clopper-Pearson interval.

    ``threshold`` a number or a sequence (the thresholds then form the leading axis). An infinite
    trial is never covered; a NaN one is missing.
    """
    ts = np.asarray(threshold, float)
    if not np.all(np.isfinite(ts) & (ts > 0)):
        raise InputError("threshold", threshold, "must be finite and > 0")
    x = np.moveaxis(np.asarray(x, float), axis, -1)
    n_missing = np.isnan(x).sum(axis=-1)
    n = x.shape[-1] - n_missing
    # counts, one threshold at a time (a NaN is never <= t): a byte a trial at a time
    k = np.asarray([(x <= t).sum(axis=-1) for t in ts.reshape(-1)]).reshape(ts.shape + n.shape)
    lo, hi = proportion_interval(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    shape = k.shape
    return ProportionEstimate(value=value, ci_low=lo, ci_high=hi, k=k.astype(np.int64),
                              n=np.broadcast_to(n, shape), n_missing=np.broadcast_to(n_missing,
                                                                                     shape))


def localizable_estimate(x, axis: int = -1) -> ProportionEstimate:
    """The fraction of trials with a finite value (a localizable target: the FIM is
    invertible), with its 95% Clopper-Pearson interval."""
    x = np.asarray(x, float)
    return proportion_estimate(np.where(np.isnan(x), np.nan, np.isfinite(x).astype(float)),
                               axis=axis)


def quantile_slope(x, X, q: float):
    """Least-squares slope of log(q-quantile) on ``x`` over points, with a 95% interval.

    ``X`` (points, trials): per-trial values, paired across points as the mean's slope fit
    takes them (:func:`netsense.analysis.fits.slope_with_ci`: the same network at every point
    along M and rho_s, an independent one along lam). The slope is sum c_i log Q_i,
    c = (x - xbar) / sum (x - xbar)^2. Its variance is that of the mean of the per-trial
    influence values L_t = sum_i c_i (q - 1{X_it <= Q_i}) / (f_i Q_i) (Bahadur's representation
    of a sample quantile), with the density f_i at Q_i estimated from the order-statistic
    interval's spacing, (u - l) / (n (X_(u) - X_(l))) (Siddiqui's estimator). Where each point is
    a scaled copy of the others (M, rho_s) every L_t is 0 and so is the width, as for the mean.

    Returns (slope, ci_low, ci_high, trials left out as missing at some point).
    """
    x = np.asarray(x, float)
    X = np.asarray(X, float)
    keep = ~np.isnan(X).any(axis=0)  # a trial is one network: drop it at every point or none
    X = X[:, keep]
    n = X.shape[1]
    c = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    if n < 2:
        return math.nan, math.nan, math.nan, int((~keep).sum())
    e = quantile_estimate(X, q, axis=-1)
    Q = e.value
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = float(c @ np.log(Q))
        lo_r, hi_r = order_statistic_ranks(n, q)
        inv_fq = n * (e.ci_high - e.ci_low) / ((hi_r - lo_r) * Q)  # 1 / (f_i Q_i)
        infl = (q - (Q[:, None] >= X).astype(float)) * inv_fq[:, None]
        L = c @ infl
        se = float(L.std(ddof=1) / math.sqrt(n))
    if not (math.isfinite(s) and math.isfinite(se)):
        return math.nan, math.nan, math.nan, int((~keep).sum())
    return s, s - Z95 * se, s + Z95 * se, int((~keep).sum())
