"""Statistics over Monte Carlo trials: the one place every reported estimate comes from.

Every number netsense reports from trials (``netsense mc``, cube queries, slope fits, figures,
studies, findings, the estimator study) is computed here, with one rule for values that are not
finite:

* NaN means *missing*: a trial that was never stored (an unfilled cube region). It is not a
  trial; it is counted (``n_missing``) and never averaged in.
* +-inf is a real trial with an infinite value (a singular FIM: every node collinear with the
  target). It is counted (``n_nonfinite``) and reported beside the estimate, which is over the
  finite trials; callers print a warning when the count is not zero.

Two estimators of a mean are defined here, and only here:

* :func:`mean_estimate`: the plain sample mean with its 95% interval (``PLAIN_INTERVAL``,
  Hall's skewness-corrected one; the eq. (23) Monte Carlo, which checks the sampler, and every
  quantity without a control).
* :func:`cv_estimate`: the control-variate estimate of E[y] with a control x of exactly known
  mean (E[eq. 18] with eq. (23) as the control, :mod:`netsense.core.expectations`). The
  coefficient is *cross-fitted*: trials are split into ``CV_FOLDS`` contiguous folds and the
  trials of each fold are corrected with the coefficient fitted on the other folds, so the
  coefficient is independent of the trials it corrects and the estimate is exactly unbiased
  (the plug-in coefficient fitted on the same trials carries an O(1/n) bias). The plain
  estimate is computed beside it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # two-sided 95% normal quantile, scipy.stats.norm.ppf(0.975)

# The 95% intervals reported, chosen by their coverage measured over 1 000 independent
# repetitions per cell (benchmarks/coverage.py, benchmarks/results/coverage.json; docs:
# guide/samplers.md, "Estimates and intervals that hold"): a plain mean of right-skewed trials
# gets Hall's skewness-corrected interval (the normal one covered 0.906 for E[eq. 23] at
# gamma = 5 with 1 000 trials, Hall's 0.941); the control-variate estimate, whose corrected
# trials are nearly symmetric but heavy-tailed (its misses fall on both sides alike), the
# kurtosis-adjusted t interval (normal: 0.913 at gamma = 5 with 1 000 trials, 0.929 on the disk
# at gamma = 4; kurtosis-adjusted t: 0.932 and 0.94; Hall's correction did not help).
PLAIN_INTERVAL = "hall"
CV_INTERVAL = "kurtosis_t"
# Where those intervals were measured to hold (no cell below 93%): per estimator, (largest
# gamma, smallest trials per cell) in increasing gamma. Measured at gamma 2.05, 2.5, 3, 4, 5, 6
# with 1 000 and 10 000 trials (plane and disk samplers); beyond gamma = 6 or below 1 000 trials
# nothing was measured, and an interval there is reported as not calibrated.
CALIBRATED_MIN_TRIALS = {"control_variate": ((5.0, 1_000), (6.0, 10_000)),
                         "plain": ((5.0, 1_000), (6.0, 10_000))}
CALIBRATED_MIN_GAMMA = 2.05  # the smallest gamma measured


def calibrated_min_trials(method: str, gamma: float) -> int | None:
    """The fewest trials per cell at which the reported interval of ``method``
    (``control_variate`` or ``plain``) was measured to hold at ``gamma``; None: not measured."""
    if not gamma >= CALIBRATED_MIN_GAMMA - 1e-12:
        return None
    for g_max, n_min in CALIBRATED_MIN_TRIALS[method]:
        if gamma <= g_max + 1e-12:
            return n_min
    return None


def interval_calibrated(method: str, gamma: float, n: int) -> bool:
    """Whether an interval of ``method`` from ``n`` trials at ``gamma`` is one whose coverage
    was measured to hold (:data:`CALIBRATED_MIN_TRIALS`)."""
    n_min = calibrated_min_trials(method, float(gamma))
    return n_min is not None and int(n) >= n_min


@dataclass(frozen=True)
class MeanEstimate:
    """A mean over trials with its standard error and 95% interval (arrays or scalars).

    ``n`` finite trials were used; ``n_nonfinite`` trials were +-inf and ``n_missing`` NaN
    (not stored), neither averaged in.
    """

    mean: np.ndarray
    sem: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray
    n_nonfinite: np.ndarray
    n_missing: np.ndarray
    std: np.ndarray

    def over(self, ref) -> MeanEstimate:
        """The same estimate divided by a constant ``ref`` (a ratio to a closed form)."""
        return MeanEstimate(self.mean / ref, self.sem / ref, self.ci_low / ref,
                            self.ci_high / ref, self.n, self.n_nonfinite, self.n_missing,
                            self.std / ref)


def _moments(x: np.ndarray, axis: int):
    finite = np.isfinite(x)
    n = finite.sum(axis=axis)
    n_missing = np.isnan(x).sum(axis=axis)
    n_nonfinite = (~finite).sum(axis=axis) - n_missing
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if finite.all():
            mean = x.mean(axis=axis)
            std = x.std(axis=axis, ddof=1)
        else:  # reduce each slice's finite values alone: numpy's sums over exactly those
            rows = np.moveaxis(x, axis, -1)
            keep = np.moveaxis(finite, axis, -1)
            flat, flat_keep = rows.reshape(-1, rows.shape[-1]), keep.reshape(-1, rows.shape[-1])
            mean = np.array([r[k].mean() if k.any() else np.nan
                             for r, k in zip(flat, flat_keep, strict=True)]).reshape(rows.shape[:-1])
            std = np.array([r[k].std(ddof=1) if k.sum() > 1 else np.nan
                            for r, k in zip(flat, flat_keep, strict=True)]).reshape(rows.shape[:-1])
    std = np.where(n >= 2, std, np.nan)
    mean = np.where(n >= 1, mean, np.nan)
    return mean, std, n, n_nonfinite, n_missing


def mean_estimate(x, axis: int = -1, interval: str | None = None) -> MeanEstimate:
    """The mean of the finite trials along ``axis`` with its standard error and 95% interval.

    Parameters
    ----------
    x : array_like
        Per-trial values; any shape, trials along ``axis``.

    Returns
    -------
    MeanEstimate
        Arrays with ``axis`` reduced (0-d arrays for a 1-d ``x``). The standard error is
        sd / sqrt(n) with the sample sd (ddof = 1) of the n finite trials; NaN when n < 2.
        The interval is :func:`interval_bounds` of kind ``interval`` (default
        ``PLAIN_INTERVAL``).
    """
    interval = PLAIN_INTERVAL if interval is None else interval
    x = np.asarray(x, dtype=float)
    mean, std, n, n_nonfinite, n_missing = _moments(x, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = std / np.sqrt(n)
    if interval == "normal":  # written out: the numbers reported before, bit for bit
        lo, hi = mean - Z95 * sem, mean + Z95 * sem
    elif interval == "kurtosis_t":
        lo, hi = interval_bounds(mean, std, n, kind=interval,
                                 kurtosis=sample_kurtosis(x, mean, n, axis=axis))
    else:
        skew = sample_skewness(x, mean, std, n, axis=axis)
        lo, hi = interval_bounds(mean, std, n, skew, interval)
    return MeanEstimate(mean=mean, sem=sem, ci_low=lo, ci_high=hi,
                        n=n, n_nonfinite=n_nonfinite, n_missing=n_missing, std=std)


CV_FOLDS = 10  # cross-fitting folds of the control-variate coefficient (see the module docstring)
CV_MIN_TRIALS = 2 * CV_FOLDS  # fewer finite pairs: the plain estimate is reported


@dataclass(frozen=True)
class CVEstimate(MeanEstimate):
    """A control-variate estimate of a mean (the fields of :class:`MeanEstimate`, for the
    reported estimate) with the plain estimate beside it.

    ``cv_used`` (bool per point): the control variate was used; where not (unknown control
    mean, too few trials) the reported fields are the plain ones and ``reason`` says why.
    ``std`` is the standard deviation of the corrected trials; ``variance_reduction`` =
    var(y) / var(corrected) (1 for the plain method); ``coef`` the coefficient over all finite
    pairs (for display; in y's units per x's, not rescaled by :meth:`over`).
    """

    plain: MeanEstimate
    variance_reduction: np.ndarray
    coef: np.ndarray
    cv_used: np.ndarray
    reason: str = ""

    @property
    def method(self):
        """``"control_variate"`` or ``"plain"`` per point (a str for a 0-d estimate)."""
        m = np.where(self.cv_used, "control_variate", "plain")
        return str(m) if m.ndim == 0 else m

    def over(self, ref) -> CVEstimate:
        """The same estimate divided by a constant ``ref`` (a ratio to a closed form)."""
        return CVEstimate(self.mean / ref, self.sem / ref, self.ci_low / ref, self.ci_high / ref,
                          self.n, self.n_nonfinite, self.n_missing, self.std / ref,
                          self.plain.over(ref), self.variance_reduction, self.coef, self.cv_used,
                          self.reason)


def _plain_as_cv(plain: MeanEstimate, reason: str) -> CVEstimate:
    one = np.ones_like(np.asarray(plain.mean, float))
    return CVEstimate(plain.mean, plain.sem, plain.ci_low, plain.ci_high, plain.n,
                      plain.n_nonfinite, plain.n_missing, plain.std, plain, one,
                      np.zeros_like(one), np.zeros(one.shape, bool), reason)


def fold_index(n: int, folds: int = CV_FOLDS, start: int = 0, stop: int | None = None
               ) -> np.ndarray:
    """Fold of trials ``start .. stop - 1`` of ``n`` (default all): ``folds`` contiguous runs of
    (nearly) equal length."""
    return (np.arange(start, n if stop is None else stop) * folds) // n


def _fallback_reason(mean_known: bool, x_only: bool, y_only: bool, enough: bool) -> str:
    """Why the plain estimate is reported instead of the control variate ("" when it is not)."""
    if not mean_known:
        return "no exact mean of the control"
    if x_only:
        return "some trials have a finite control but an infinite value"
    if y_only:
        return "some trials have a value but no finite control"
    if not enough:
        return "too few finite trials for the control variate"
    return ""


def _min_pairs(folds: int) -> int:
    """The fewest finite pairs the control variate is used from."""
    return max(CV_MIN_TRIALS, 2 * folds)


def _cv_core(y, x, x_mean, folds, plain_interval=None):
    """Cross-fitted corrected trials z (NaN where the pair is not finite) over the last axis,
    the points where the control is usable, the all-trial coefficient and the plain estimate."""
    plain = mean_estimate(y, axis=-1, interval=plain_interval)
    mu = np.broadcast_to(np.asarray(x_mean, dtype=float), plain.mean.shape)
    pair = np.isfinite(y) & np.isfinite(x)
    x_only = (np.isfinite(x) & ~np.isfinite(y) & ~np.isnan(y)).any(axis=-1)
    y_only = (np.isfinite(y) & ~np.isfinite(x)).any(axis=-1)  # a value without its control
    usable = np.isfinite(mu) & ~x_only & ~y_only & (pair.sum(axis=-1) >= _min_pairs(folds))
    reason = _fallback_reason(bool(np.isfinite(mu).any()), bool(x_only.any()),
                              bool(y_only.any()), bool(usable.all()))
    if not usable.any():
        return None, usable, None, plain, reason
    k = fold_index(y.shape[-1], folds)
    starts = np.searchsorted(k, np.arange(folds))  # folds are contiguous runs of trials
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = np.where(pair, x - mu[..., None], 0.0)  # centred: sums of squares stay accurate
        yc = np.where(pair, y - np.where(np.isfinite(plain.mean), plain.mean, 0.0)[..., None], 0.0)
        sums = [np.add.reduceat(a, starts, axis=-1)
                for a in (pair.astype(float), xc, yc, xc * xc, xc * yc)]  # (..., folds)
        tot = [a.sum(axis=-1, keepdims=True) for a in sums]
        on, ox, oy, oxx, oxy = (t - f for t, f in zip(tot, sums, strict=True))  # outside fold k
        b_out = (oxy - ox * oy / on) / (oxx - ox * ox / on)  # (..., folds)
        b_all = ((tot[4] - tot[1] * tot[2] / tot[0]) / (tot[3] - tot[1] ** 2 / tot[0]))[..., 0]
        b_out = np.where(np.isfinite(b_out), b_out, 0.0)
        z = np.where(pair, y - np.repeat(b_out, np.diff([*starts, y.shape[-1]]), axis=-1) * xc,
                     np.nan)
    z = np.where(usable[..., None], z, y)
    return z, usable, np.where(usable, b_all, 0.0), plain, reason


def cv_corrected(y, x, x_mean, axis: int = -1, folds: int = CV_FOLDS,
                 return_usable: bool = False):
    """The corrected trials y_i - b_(-k(i)) (x_i - x_mean) of :func:`cv_estimate` (their mean is
    the estimate), NaN where a pair is not finite; ``y`` itself where the control is not usable.

    For functions of several means (slope fits): the corrected trials of several points keep
    the trial pairing, so their sample covariance is that of the estimates times n.
    ``return_usable``: also return where the control was used (bool per point).
    """
    y = np.moveaxis(np.asarray(y, dtype=float), axis, -1)
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    z, usable, _, _, _ = _cv_core(y, x, x_mean, folds, plain_interval="normal")  # cheapest
    out = np.moveaxis(y if z is None else z, -1, axis)
    return (out, usable) if return_usable else out


def cv_estimate(y, x, x_mean, axis: int = -1, folds: int = CV_FOLDS,
                interval: str | None = None, plain_interval: str | None = None) -> CVEstimate:
    """Control-variate estimate of E[y] with the control ``x`` of known mean ``x_mean``.

    mean_cv = mean_i (y_i - b_(-k(i)) (x_i - x_mean)), b_(-k) = cov(y, x) / var(x) over the
    trials outside fold k(i) (cross-fitting; the module docstring says why). The standard
    error is the sample sd of the corrected trials over sqrt(n).

    Parameters
    ----------
    y, x : array_like
        Paired per-trial values (same shape), trials along ``axis``.
    x_mean : float or array_like
        E[x], broadcast against the reduced shape; NaN where it is not known (those points
        get the plain estimate). It must be the mean of x over the trials that are finite:
        a trial is used when both y and x are finite (NaN: not stored; +-inf: counted in
        ``n_nonfinite``). Where some trial has a finite x but a non-finite y, the finite
        pairs are no longer a sample of x's law and the plain estimate is reported.
    folds : int
        Cross-fitting folds.
    interval, plain_interval : str
        ``"normal"``, ``"kurtosis_t"`` or ``"hall"`` (:func:`interval_bounds`) for the
        control-variate and the plain estimate (defaults ``CV_INTERVAL``, ``PLAIN_INTERVAL``);
        points where the control is not usable get the plain estimate's interval.

    Returns
    -------
    CVEstimate
    """
    y = np.moveaxis(np.asarray(y, dtype=float), axis, -1)
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    if y.shape != x.shape:
        raise ValueError(f"y and x must have the same shape, got {y.shape} and {x.shape}")
    z, usable, b_all, plain, reason = _cv_core(y, x, x_mean, folds, plain_interval)
    if z is None:
        return _plain_as_cv(plain, reason)
    corrected = mean_estimate(z, axis=-1, interval=CV_INTERVAL if interval is None else interval)
    with np.errstate(invalid="ignore", divide="ignore"):
        vr = np.where(usable, (plain.std / corrected.std) ** 2, 1.0)
    # where the control is not usable z is y: same mean and sem, but the plain interval
    lo = np.where(usable, corrected.ci_low, plain.ci_low)
    hi = np.where(usable, corrected.ci_high, plain.ci_high)
    return CVEstimate(mean=corrected.mean, sem=corrected.sem, ci_low=lo,
                      ci_high=hi, n=corrected.n, n_nonfinite=plain.n_nonfinite,
                      n_missing=plain.n_missing, std=corrected.std, plain=plain,
                      variance_reduction=vr, coef=b_all, cv_used=usable, reason=reason)


def interval_bounds(mean, std, n, skew=None, kind: str = "normal", kurtosis=None):
    """95% interval of a mean from n trials with sample sd ``std`` (and sample skewness).

    ``normal``: mean -+ Z95 std / sqrt(n). ``kurtosis_t``: mean -+ t_nu std / sqrt(n), the
    Student quantile with nu = 2 n / (kappa - 1) degrees of freedom, kappa the sample kurtosis
    (passed as ``skew``'s sibling ``kurtosis``): the sample variance of heavy-tailed trials has
    variance sigma^4 (kappa - 1) / n, that of a scaled chi-square with nu degrees of freedom
    (Satterthwaite's approximation), so the studentized mean is nearly t_nu; for normal
    trials (kappa = 3) nu = n - 1 nearly. ``hall``: Hall's (1992) skewness-removing cubic
    transformation of the studentized mean, g(w) = w + s w^2/3 + s^2 w^3/27 + s/(6n) with
    w = (mean - mu)/std, inverted in closed form: [mean - std g^-1(Z95/sqrt(n)),
    mean - std g^-1(-Z95/sqrt(n))], g^-1(v) = (3/s)((1 + s (v - s/(6n)))^(1/3) - 1). A right
    skew (s > 0) moves the interval up: a sample mean of right-skewed trials falls short of the
    true mean more often than it overshoots.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        h = Z95 * std / np.sqrt(n)
        if kind == "normal":
            return mean - h, mean + h
        if kind == "kurtosis_t":
            from scipy.special import stdtrit  # Student t quantile; lazy, and not scipy.stats

            nu = 2.0 * n / np.maximum(np.asarray(kurtosis, float) - 1.0, 1e-12)
            h = stdtrit(np.maximum(nu, 1.0), 0.975) * std / np.sqrt(n)
            return mean - h, mean + h
        if kind != "hall":
            raise ValueError(f"interval kind {kind!r}: must be 'normal', 'kurtosis_t' or 'hall'")
        s = np.asarray(skew, float)
        small = np.abs(s) < 1e-8

        def ginv(v):
            safe = np.where(small, 1.0, s)
            cubic = (3.0 / safe) * (np.cbrt(1.0 + safe * (v - safe / (6.0 * n))) - 1.0)
            return np.where(small, v - s / (6.0 * n), cubic)

        q = Z95 / np.sqrt(n)
        return mean - std * ginv(q), mean - std * ginv(-q)


def sample_skewness(x, mean, std, n, axis: int = -1):
    """n sum (x - mean)^3 / ((n - 1)(n - 2) std^3) over the finite trials; 0 where fewer
    than three trials or no spread (no skewness to correct)."""
    x = np.asarray(x, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(np.isfinite(x), x - np.expand_dims(mean, axis), 0.0)
        m3 = (d * d * d).sum(axis=axis)  # not d ** 3: numpy pow is ~20x slower
        g = n * m3 / ((n - 1) * (n - 2) * std ** 3)
    return np.where((n > 2) & (std > 0) & np.isfinite(g), g, 0.0)


def sample_kurtosis(x, mean, n, axis: int = -1):
    """m4 / m2^2 (central moments with 1/n) over the finite trials; 3 (normal) where fewer than
    four trials or no spread."""
    x = np.asarray(x, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d2 = np.where(np.isfinite(x), x - np.expand_dims(mean, axis), 0.0) ** 2
        k = n * (d2 * d2).sum(axis=axis) / d2.sum(axis=axis) ** 2
    return np.where((n > 3) & np.isfinite(k), k, 3.0)


def quantiles(x, q, axis: int = -1) -> np.ndarray:
    """Quantiles ``q`` (in [0, 1]) of the stored trials along ``axis`` (linear interpolation).

    Missing trials (NaN) are left out; infinite ones are real values and stay in. The
    quantiles form the leading axis of the result.
    """
    x, q = np.asarray(x, float), np.asarray(q, float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing slice gives NaN
        out = np.asarray(np.nanquantile(x, q, axis=axis))
        # numpy interpolates a + (b - a) t, NaN where b is infinite (inf - inf, inf * 0): the
        # quantile is then the lower order statistic where t = 0 or both are infinite, else inf
        bad = np.isnan(out) & (np.isinf(x).any(axis=axis) if x.ndim else np.isinf(x))
        if bad.any():
            lower = np.asarray(np.nanquantile(x, q, axis=axis, method="lower"))
            n = (~np.isnan(x)).sum(axis=axis)
            pos = (n - 1.0) * q.reshape(q.shape + (1,) * np.ndim(n))
            exact = (pos == np.floor(pos)) | np.isinf(lower)
            out = np.where(bad, np.where(exact, lower, np.inf), out)
    return out


@dataclass(frozen=True)
class PairedSample:
    """Per-point means of trials that are paired across points (the same trial index is the
    same network, or an independent one, at every point), for functions of several means.

    ``means`` (points,), ``trial_cov`` (points, points) the sample covariance of one trial's
    values across points (ddof = 1); the covariance of the means is ``trial_cov / n``.
    ``n_nonfinite``: trials left out because a value at some point was not finite.
    """

    means: np.ndarray
    trial_cov: np.ndarray
    n: int
    n_nonfinite: int


def paired_sample(X) -> PairedSample:
    """Means and trial covariance of ``X`` (points, trials), over the trials finite at every
    point (a trial is one network; dropping it at one point only would break the pairing)."""
    X = np.asarray(X, dtype=float)
    keep = np.isfinite(X).all(axis=0)
    if not keep.all():
        X = X[:, keep]
    return PairedSample(means=X.mean(axis=1), trial_cov=np.atleast_2d(np.cov(X)),
                        n=int(X.shape[1]), n_nonfinite=int((~keep).sum()))


def ratio_se(m1, se1, m2, se2):
    """Standard error of m1 / m2 for independent estimates (delta method):
    |m1/m2| sqrt((se1/m1)^2 + (se2/m2)^2)."""
    return (m1 / m2) * log_ratio_se(m1, se1, m2, se2)


def log_ratio_se(m1, se1, m2, se2):
    """Standard error of log(m1 / m2) for independent estimates (delta method)."""
    return np.sqrt((se1 / m1) ** 2 + (se2 / m2) ** 2) if isinstance(m1, np.ndarray) \
        else math.sqrt((se1 / m1) ** 2 + (se2 / m2) ** 2)


@dataclass
class RunningMoments:
    """Streaming count, mean, M2 and M3 over blocks of trials (Chan et al. pairwise combination),
    for means of more trials than fit in memory at once. Non-finite trials are counted
    (``n_inf``) and left out, by the rule of the module docstring."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    m3: float = 0.0
    n_inf: int = 0

    def add(self, x: np.ndarray):
        """Fold one block of trials in."""
        x = np.asarray(x, float)
        finite = np.isfinite(x)
        self.n_inf += int((~finite).sum())
        x = x[finite]
        nb = x.size
        if nb == 0:
            return
        mb = float(x.mean())
        d = x - mb
        m2b = float((d**2).sum())
        m3b = float((d * d * d).sum())
        na, n = self.n, self.n + nb
        delta = mb - self.mean
        # third central moment of the union (Chan et al.; Pebay 2008, eq. 2.1), before m2 moves
        self.m3 += (m3b + delta**3 * na * nb * (na - nb) / n**2
                    + 3.0 * delta * (na * m2b - nb * self.m2) / n)
        self.mean += delta * nb / n
        self.m2 += m2b + delta**2 * na * nb / n
        self.n = n

    def summary(self, scale: float = 1.0) -> dict:
        """``{"mean", "sem", "ci95": [low, high], "n", "n_inf"}``, all multiplied by ``scale``
        (``scale`` > 0); the interval is ``PLAIN_INTERVAL``'s, as :func:`mean_estimate`'s."""
        n = self.n
        sd = math.sqrt(self.m2 / (n - 1)) if n > 1 else math.nan
        se = sd / math.sqrt(n) if n > 0 else math.nan
        skew = n * self.m3 / ((n - 1) * (n - 2) * sd**3) if n > 2 and sd > 0 else 0.0
        lo, hi = interval_bounds(self.mean, sd, n, skew, PLAIN_INTERVAL) if n > 1 else \
            (math.nan, math.nan)
        mean = self.mean if n > 0 else math.nan  # no finite trial: no mean, not its start 0
        return {"mean": mean * scale, "sem": se * scale,
                "ci95": [float(lo) * scale, float(hi) * scale], "n": n, "n_inf": self.n_inf}


# Power sums kept per fold by RunningCV: u^a v^b for a + b <= 4, u = y - c_y and v = x - E[x]
# over the finite pairs (the corrected trials' moments up to the fourth, for CV_INTERVAL).
_POWERS = tuple((a, k - a) for k in range(5) for a in range(k, -1, -1))


@dataclass
class RunningCV:
    """Streaming :func:`cv_estimate` over blocks of paired trials (``netsense mc``), in O(folds)
    memory: the cross-fitted estimate needs only per-fold power sums of the pair, because the
    corrected trials of fold k are linear in (y, x) given the coefficient b_(-k).

    ``n_total``: the trials that will be added (fixes the folds); ``x_mean``: E[x] (NaN:
    unknown, the plain estimate is reported). Blocks are added in trial order.
    """

    n_total: int
    x_mean: float
    folds: int = CV_FOLDS

    def __post_init__(self):
        self.sums = np.zeros((self.folds, len(_POWERS)))
        self.c_y = None
        self.seen = 0
        self.x_only = False
        self.y_only = False
        self.n_inf = 0
        self.plain = RunningMoments()

    def add(self, y, x):
        """Fold the next block of pairs in (``y`` the estimated quantity, ``x`` the control)."""
        y, x = np.asarray(y, float), np.asarray(x, float)
        self.plain.add(y)
        k = fold_index(self.n_total, self.folds, self.seen, self.seen + y.size)
        self.seen += y.size
        pair = np.isfinite(y) & np.isfinite(x)
        self.x_only |= bool((np.isfinite(x) & np.isinf(y)).any())
        self.y_only |= bool((np.isfinite(y) & ~np.isfinite(x)).any())
        self.n_inf += int(np.isinf(y).sum())
        if self.c_y is None and pair.any():
            self.c_y = float(y[pair].mean())  # a centre for accurate sums, not an estimate
        if not pair.any() or not math.isfinite(self.x_mean):
            return
        u, v, k = y[pair] - self.c_y, x[pair] - self.x_mean, k[pair]
        up, vp = [np.ones_like(u)], [np.ones_like(v)]
        for _ in range(4):  # powers by products: numpy's pow is far slower
            up.append(up[-1] * u)
            vp.append(vp[-1] * v)
        for j, (a, b) in enumerate(_POWERS):
            self.sums[:, j] += np.bincount(k, weights=up[a] * vp[b], minlength=self.folds)

    def summary(self, scale: float = 1.0) -> dict:
        """The estimate as :meth:`RunningMoments.summary` gives it, plus ``method``, ``plain``
        (the plain estimate), ``variance_reduction`` and ``reason`` (why plain, else "")."""
        plain = self.plain.summary(scale)
        reason = _fallback_reason(math.isfinite(self.x_mean), self.x_only, self.y_only,
                                  self.sums[:, 0].sum() >= _min_pairs(self.folds))
        out = {k: plain[k] for k in ("mean", "sem", "ci95", "n", "n_inf")}
        if reason:
            return {**out, "method": "plain", "reason": reason, "variance_reduction": 1.0,
                    "plain": plain}
        S = dict(zip(_POWERS, self.sums.T, strict=True))
        tot = {p: v.sum() for p, v in S.items()}
        out_n = tot[0, 0] - S[0, 0]
        ou, ov = tot[1, 0] - S[1, 0], tot[0, 1] - S[0, 1]
        ouv, ovv = tot[1, 1] - S[1, 1], tot[0, 2] - S[0, 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            b = (ouv - ou * ov / out_n) / (ovv - ov * ov / out_n)  # fitted outside each fold
        b = np.where(np.isfinite(b), b, 0.0)
        # corrected trials w = u - b_k v: sum of w^k over each fold (binomial expansion), then
        # over all folds
        n = tot[0, 0]
        sw = [float(sum(math.comb(k, j) * ((-b) ** j * S[k - j, j]).sum() for j in range(k + 1)))
              for k in range(5)]
        mean_w = sw[1] / n
        m2 = max(0.0, sw[2] - n * mean_w**2)
        m4 = sw[4] - 4 * mean_w * sw[3] + 6 * mean_w**2 * sw[2] - 3 * n * mean_w**4
        var_w = m2 / (n - 1)
        se = math.sqrt(var_w / n)
        mean = (self.c_y + mean_w) * scale
        kurt = n * m4 / m2**2 if m2 > 0 and n > 3 else 3.0
        if CV_INTERVAL != "kurtosis_t":
            raise NotImplementedError("RunningCV implements the kurtosis-adjusted t interval only")
        _, hi = interval_bounds(mean_w, math.sqrt(var_w), n, kind=CV_INTERVAL, kurtosis=kurt)
        h = (float(hi) - mean_w) * scale
        var_plain = self.plain.m2 / (self.plain.n - 1)
        vr = var_plain / var_w if var_w > 0 else math.inf
        if self.seen != self.n_total:
            raise ValueError(f"RunningCV was set up for {self.n_total} trials, got {self.seen}")
        return {"mean": mean, "sem": se * scale, "ci95": [mean - h, mean + h], "n": int(n),
                "n_inf": self.n_inf, "method": "control_variate", "reason": "",
                "variance_reduction": vr, "plain": plain}
