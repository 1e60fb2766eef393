"""Statistics over Monte Carlo trials: the one place every reported estimate comes from.

Every number netsense reports from trials (``netsense mc``, cube queries, slope fits, figures,
studies, findings, the estimator study) is computed here, with one rule for values that are not
finite:

* NaN means *missing*: a trial that was never stored (an unfilled cube region). It is not a
  trial; it is counted (``n_missing``) and never averaged in.
* +-inf is a real trial with an infinite value (a singular FIM: every node collinear with the
  target). It is counted (``n_nonfinite``) and reported beside the estimate, which is over the
  finite trials; callers print a warning when the count is not zero.

The estimator of a mean is the plain sample mean with the normal 95% interval
mean +- Z95 * sd / sqrt(n). It is defined here only, so that a better one (a control variate,
a calibrated interval) replaces it for every caller at once.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # two-sided 95% normal quantile, scipy.stats.norm.ppf(0.975)


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


def mean_estimate(x, axis: int = -1) -> MeanEstimate:
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
    """
    x = np.asarray(x, dtype=float)
    mean, std, n, n_nonfinite, n_missing = _moments(x, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        sem = std / np.sqrt(n)
    return MeanEstimate(mean=mean, sem=sem, ci_low=mean - Z95 * sem, ci_high=mean + Z95 * sem,
                        n=n, n_nonfinite=n_nonfinite, n_missing=n_missing, std=std)


def quantiles(x, q, axis: int = -1) -> np.ndarray:
    """Quantiles ``q`` (in [0, 1]) of the stored trials along ``axis`` (linear interpolation).

    Missing trials (NaN) are left out; infinite ones are real values and stay in. The
    quantiles form the leading axis of the result.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing slice gives NaN
        return np.nanquantile(np.asarray(x, float), np.asarray(q, float), axis=axis)


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
    """Streaming count, mean and M2 over blocks of trials (Chan et al. pairwise combination),
    for means of more trials than fit in memory at once. Non-finite trials are counted
    (``n_inf``) and left out, by the rule of the module docstring."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
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
        m2b = float(((x - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta**2 * self.n * nb / n
        self.n = n

    def summary(self, scale: float = 1.0) -> dict:
        """``{"mean", "sem", "ci95": [low, high], "n", "n_inf"}``, all multiplied by ``scale``."""
        sd = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else math.nan
        se = sd / math.sqrt(self.n) if self.n > 0 else math.nan
        mean = self.mean * scale
        return {"mean": mean, "sem": se * scale, "ci95": [mean - Z95 * se * scale,
                                                          mean + Z95 * se * scale],
                "n": self.n, "n_inf": self.n_inf}
