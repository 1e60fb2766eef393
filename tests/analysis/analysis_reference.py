"""Reference estimates for the study and query tests, written out with numpy and scipy from the
stored trials, independently of netsense.core.stats (its docstrings are the specification):

* plain mean: np.mean, sd np.std(ddof=1), sem sd / sqrt(n), and Hall's (1992) interval with the
  root of his cubic found numerically (brentq), not by the closed-form inverse;
* control variate: the corrected trials of a loop over CV_FOLDS contiguous folds, each fold's
  coefficient b = cov(y, x) / var(x) by np.cov over the other folds; mean, sem and the
  kurtosis-adjusted t interval (nu = 2 n / (kappa - 1), kappa scipy's kurtosis);
* the exact control mean: Theorem 2 (eq. 26) times E[g23] / (2 Lemma3_t Lemma3_r).
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
FOLDS = 10  # netsense.core.stats.CV_FOLDS, restated
MIN_PAIRS = 20  # netsense.core.stats.CV_MIN_TRIALS


def hall_interval(v: np.ndarray) -> tuple[float, float]:
    from scipy.optimize import brentq

    n = v.size
    m, sd = v.mean(), v.std(ddof=1)
    s = n * ((v - m) ** 3).sum() / ((n - 1) * (n - 2) * sd**3)

    def root(target):
        return brentq(lambda w: w + s * w**2 / 3 + s**2 * w**3 / 27 + s / (6 * n) - target,
                      -10.0, 10.0, xtol=1e-15)

    return m - sd * root(Z95 / math.sqrt(n)), m - sd * root(-Z95 / math.sqrt(n))


def kurtosis_t_interval(v: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    n = v.size
    kappa = stats.kurtosis(v, fisher=False, bias=True)
    h = stats.t.ppf(0.975, 2 * n / (kappa - 1)) * v.std(ddof=1) / math.sqrt(n)
    return v.mean() - h, v.mean() + h


def plain(y: np.ndarray) -> dict:
    """The plain estimate over the finite trials."""
    v = y[np.isfinite(y)]
    lo, hi = hall_interval(v)
    return {"mean": v.mean(), "std": v.std(ddof=1), "sem": v.std(ddof=1) / math.sqrt(v.size),
            "lo": lo, "hi": hi, "n": v.size, "method": "plain"}


def corrected(y: np.ndarray, x: np.ndarray, mu: float) -> np.ndarray:
    """Cross-fitted control-variate trials, NaN where the pair is not finite (missing). The
    folds are runs of the stored trial index, missing trials included."""
    n = y.size
    k = (np.arange(n) * FOLDS) // n
    keep = np.isfinite(y) & np.isfinite(x)
    z = np.full(n, np.nan)
    for f in range(FOLDS):
        out, here = keep & (k != f), keep & (k == f)
        c = np.cov(y[out], x[out])
        z[here] = y[here] - c[0, 1] / c[1, 1] * (x[here] - mu)
    return z


def reported(y: np.ndarray, x: np.ndarray, mu: float) -> dict:
    """E[eq. 18] as reported: the control variate where E[x] is known, no trial has a finite
    control with an infinite value or a value without a finite control, and there are enough
    finite pairs; the plain estimate otherwise. A missing (NaN) pair is left out."""
    keep = np.isfinite(y) & np.isfinite(x)
    mixed = (np.isfinite(x) & np.isinf(y)).any() or (np.isfinite(y) & ~np.isfinite(x)).any()
    if not math.isfinite(mu) or mixed or keep.sum() < MIN_PAIRS:
        return plain(y)
    z = corrected(y, x, mu)
    v = z[keep]
    lo, hi = kurtosis_t_interval(v)
    return {"mean": v.mean(), "std": v.std(ddof=1), "sem": v.std(ddof=1) / math.sqrt(v.size),
            "lo": lo, "hi": hi, "n": v.size, "method": "control_variate", "z": z,
            "variance_reduction": y[keep].var(ddof=1) / v.var(ddof=1)}


def control_mean(spec, beam, M_t, M_r, rho_s_db, lam_t, lam_r, gamma) -> float:
    """Exact E[eq. 23] of the sampler at a point [m^2] (NaN where not known): the tied
    expectation where lam_t = lam_r, the per-side one otherwise."""
    from netsense.core.closed_form import lemma3_inv_sum
    from netsense.core.expectations import g23_mean

    g23 = g23_mean(spec, lam_t, gamma, beam) if lam_t == lam_r else \
        g23_mean(spec, lam_t, gamma, beam, lam_r=lam_r)
    return theorem2(M_t, M_r, rho_s_db, lam_t, lam_r, gamma) * float(g23) / float(
        2 * lemma3_inv_sum(lam_t, gamma) * lemma3_inv_sum(lam_r, gamma))


def theorem2(M_t, M_r, rho_s_db, lam_t, lam_r, gamma) -> float:
    from netsense.core.closed_form import theorem2_m2

    return float(theorem2_m2(M_t=M_t, M_r=M_r, rho_s_db=rho_s_db, lam_t=lam_t, lam_r=lam_r,
                             gamma=gamma))
