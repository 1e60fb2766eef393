"""The exact law of eq. (23) of [1] on the whole plane: its CDF, quantiles and coverage.

Per side, A = sum over a plane PPP of density lam of ||x||^-gamma is positive stable (proof of
Lemma 3, eq. 32-35): A = s(lam) S with s(lam) = (pi lam Gamma(1 - delta))^(1/delta),
delta = 2/gamma, and E[exp(-u S)] = exp(-u^delta). eq. (23) of one network is
k 2 / (A_t A_r) (k = c^2 / (M_t M_r eta), :meth:`~netsense.core.system.SystemParams.error_scale_m2`),
so

    P(eq. 23 <= y) = P(S_t S_r >= x),  x = 2 k / (s(lam_t) s(lam_r) y),

with S_t, S_r independent copies of S: the law depends on the densities through lam_t lam_r only
(a density ratio drops out exactly). The CDF of S is Zolotarev's integral (Kanter's
representation S = (K(phi) / E)^((1 - delta)/delta), phi uniform on (0, pi), E ~ Exp(1)):

    P(S <= x) = (1/pi) int_0^pi exp(-x^(-delta/(1-delta)) K(phi)) dphi,
    K(phi) = sin(delta phi)^(delta/(1-delta)) sin((1-delta) phi) / sin(phi)^(1/(1-delta)),

and that of the product, integrating both exponentials out (E[exp(-c/E)] = 2 sqrt(c) K_1(2 sqrt c)),
a smooth integral over the two angles:

    P(S_1 S_2 <= x) = (1/pi^2) int int h(K(phi_1) K(phi_2) x^(-delta/(1-delta))) dphi_1 dphi_2,
    h(c) = 2 sqrt(c) K_1(2 sqrt(c)).

gamma = 4 (delta = 1/2) is Levy's law: A = c / Z^2, c = pi^3 lam^2 / 2, Z standard normal, so
P(2 / (A_t A_r) <= y) = P(|Z_1 Z_2| <= w) = (2/pi) int_0^w K_0(t) dt, w = sqrt(c_t c_r y / 2)
(the product of two normals has density K_0(|t|)/pi): :func:`jensen_cdf_gamma4`, a closed form
the general integral is tested against (tests/core/test_jensen_law.py).

This is the law on the whole plane. The ``plane`` sampler (K nearest nodes plus the far field's
mean, exact for means) has not quite this law: at K = 64 its CDF of eq. (23) departs from this
one by 0.7e-4 to 4.1e-4 at p = 0.5 ... 0.99, gamma 2.5 and 4 (4 million trials,
benchmarks/distribution_coverage.py; docs: guide/coverage.md).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..errors import InputError
from .system import DEFAULT_SYSTEM, SystemParams, db_to_lin

# Gauss-Legendre nodes per panel of the angle integrals (each panel's integrand is smooth; the
# panels are graded toward both ends, where K(phi) is flat (phi -> 0) or blows up (phi -> pi)).
_GL_NODES = 16
# Near phi = pi, log K grows like -(1/(1-delta)) log(pi - phi): panels in log(pi - phi) are at most
# this much log K wide (h falls from 1 to 0 over a few units of log c), and at most a quarter
# decade.
_LOGK_PER_PANEL = 8.0
# h(c) < 1e-300 beyond log c = this (2 sqrt(c) > 700): no panel is needed past it.
_LOG_C_MAX = math.log((700.0 / 2.0) ** 2)
# A CDF below this is 0 to every digit a double shows beside 1 (its complement's rounding).
_TINY = 1e-300


def _check_gamma(gamma) -> float:
    g = float(gamma)
    if not (math.isfinite(g) and g > 2.0):
        raise InputError("gamma", gamma, "the stable law of eq. (23) needs a finite gamma > 2")
    return g


def _check_density(name: str, lam) -> float:
    v = float(lam)
    if not (math.isfinite(v) and v > 0):
        raise InputError(name, lam, "density must be finite and > 0 (per m^2)")
    return v


def log_kanter(phi, delta: float):
    """log K(phi) of Kanter's representation (the module docstring), for 0 < phi < pi."""
    phi = np.asarray(phi, float)
    return ((delta / (1.0 - delta)) * np.log(np.sin(delta * phi))
            + np.log(np.sin((1.0 - delta) * phi)) - np.log(np.sin(phi)) / (1.0 - delta))


def _h(log_c):
    """h(c) = 2 sqrt(c) K_1(2 sqrt(c)) = E[exp(-c/E)], E ~ Exp(1), from log c (1 at c = 0)."""
    from scipy.special import k1e

    log_c = np.asarray(log_c, float)
    z = 2.0 * np.exp(0.5 * np.minimum(log_c, _LOG_C_MAX))
    with np.errstate(under="ignore"):
        out = z * k1e(z) * np.exp(-z)
    return np.where(log_c >= _LOG_C_MAX, 0.0, np.where(z < 1e-150, 1.0, out))


@lru_cache(maxsize=64)
def _angle_rule(delta: float, log_k_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on (0, pi): panels graded in decades toward 0 (8 decades), evenly in
    the middle, and in steps of log(pi - phi) toward pi until log K(phi) exceeds ``log_k_max``
    (beyond which the integrand is 0 to double precision)."""
    p = 1.0 / (1.0 - delta)  # log K ~ -p log(pi - phi) near pi
    step = min(0.25 * math.log(10.0), _LOGK_PER_PANEL / p)
    tail = [0.1]
    while tail[-1] > 1e-15:
        d = tail[-1] * math.exp(-step)
        tail.append(d)
        if float(log_kanter(math.pi * (1.0 - d), delta)) > log_k_max:
            break
    t = np.unique(np.concatenate([[0.0], 10.0 ** -np.arange(8.0, 0.0, -1.0),
                                  np.linspace(0.1, 0.9, 9), 1.0 - np.asarray(tail), [1.0]]))
    x, w = np.polynomial.legendre.leggauss(_GL_NODES)
    a, b = math.pi * t[:-1, None], math.pi * t[1:, None]
    return ((b - a) / 2 * x + (a + b) / 2).ravel(), ((b - a) / 2 * w).ravel()


def _k_min(delta: float) -> float:
    """log K(0+) = (delta/(1-delta)) log delta + log(1 - delta), the smallest log K."""
    return (delta / (1.0 - delta)) * math.log(delta) + math.log(1.0 - delta)


def stable_cdf(x, delta: float):
    """P(S <= x) of the positive stable S with E[exp(-u S)] = exp(-u^delta), 0 < delta < 1
    (Zolotarev's integral)."""
    x = np.asarray(x, float)
    u = delta / (1.0 - delta)
    lx = np.log(np.where(x > 0, x, 1.0))
    phi, w = _angle_rule(delta, float(u * np.max(lx, initial=0.0) + _LOG_C_MAX + 1.0))
    lk = log_kanter(phi, delta)
    with np.errstate(under="ignore", over="ignore"):
        e = np.exp(-np.exp(lk[None, :] - u * lx.reshape(-1, 1)))
    out = (e @ w) / math.pi
    return np.where(x > 0, out, 0.0).reshape(x.shape)


def stable_product_cdf(x, delta: float):
    """P(S_1 S_2 <= x) of two independent positive delta-stable variables (the module
    docstring's two-angle integral); ``x`` any shape."""
    x = np.asarray(x, float)
    u = delta / (1.0 - delta)
    flat = x.reshape(-1)
    out = np.zeros(flat.shape)
    for i, v in enumerate(flat):
        if not v > 0:
            continue
        if math.isinf(v):
            out[i] = 1.0
            continue
        log_k_max = u * math.log(v) + _LOG_C_MAX - _k_min(delta) + 1.0
        phi, w = _angle_rule(delta, round(max(log_k_max, 0.0), 1) + 1.0)
        lk = log_kanter(phi, delta)
        out[i] = float(w @ _h(lk[:, None] + lk[None, :] - u * math.log(v)) @ w) / math.pi ** 2
    return np.clip(out, 0.0, 1.0).reshape(x.shape)


def stable_scale(lam: float, gamma: float) -> float:
    """s(lam) = (pi lam Gamma(1 - 2/gamma))^(gamma/2): A = s S (the module docstring)."""
    return (math.pi * lam * math.gamma(1.0 - 2.0 / gamma)) ** (gamma / 2.0)


def jensen_cdf(y, *, gamma: float, lam_t: float, lam_r: float, scale: float = 1.0):
    """P(eq. 23 <= y) on the whole plane, eq. (23) = ``scale`` 2 / (A_t A_r) (``scale`` = 1:
    the geometric factor g23 the blocks compute; the system's error scale: m^2)."""
    gamma = _check_gamma(gamma)
    lam_t, lam_r = _check_density("lam_t", lam_t), _check_density("lam_r", lam_r)
    y = np.asarray(y, float)
    with np.errstate(divide="ignore"):
        x = 2.0 * scale / (stable_scale(lam_t, gamma) * stable_scale(lam_r, gamma) * y)
    # P(S_t S_r >= x): the complement of the product's CDF (continuous: >= and > agree)
    return np.where(y > 0, 1.0 - stable_product_cdf(x, 2.0 / gamma), 0.0)


def jensen_cdf_gamma4(y, *, lam_t: float, lam_r: float, scale: float = 1.0):
    """P(eq. 23 <= y) at gamma = 4 in closed form: (2/pi) int_0^w K_0(t) dt,
    w = sqrt(c_t c_r y / (2 scale)), c = pi^3 lam^2 / 2 (the module docstring);
    ``scipy.special.iti0k0`` gives the integral of K_0."""
    from scipy.special import iti0k0

    lam_t, lam_r = _check_density("lam_t", lam_t), _check_density("lam_r", lam_r)
    c_t, c_r = math.pi ** 3 * lam_t ** 2 / 2.0, math.pi ** 3 * lam_r ** 2 / 2.0
    y = np.asarray(y, float)
    w = np.sqrt(c_t * c_r * np.maximum(y, 0.0) / (2.0 * scale))
    return (2.0 / math.pi) * iti0k0(w)[1]


def jensen_quantile(p, *, gamma: float, lam_t: float, lam_r: float, scale: float = 1.0):
    """y with P(eq. 23 <= y) = p on the whole plane (0 < p < 1), by root-finding on log y."""
    from scipy.optimize import brentq

    gamma = _check_gamma(gamma)
    ps = np.asarray(p, float)
    if not np.all((ps > 0) & (ps < 1)):
        raise InputError("p", p, "a probability strictly between 0 and 1")
    # the median of S_t S_r is O(1): bracket around x = 1, i.e. y0 = 2 scale / (s_t s_r)
    y0 = 2.0 * scale / (stable_scale(lam_t, gamma) * stable_scale(lam_r, gamma))

    def one(q):
        def f(z):
            return float(jensen_cdf(y0 * math.exp(z), gamma=gamma, lam_t=lam_t, lam_r=lam_r,
                                    scale=scale)) - q
        lo, hi = -5.0, 5.0
        while f(lo) > 0:
            lo *= 2
        while f(hi) < 0:
            hi *= 2
        return y0 * math.exp(brentq(f, lo, hi, xtol=1e-13, rtol=1e-14))

    out = np.array([one(float(q)) for q in ps.reshape(-1)])
    return out.reshape(ps.shape) if ps.ndim else float(out[0])


def jensen_coverage(rmse_m, *, gamma: float, lam_t: float, lam_r: float, M_t: int, M_r: int,
                    rho_s_db: float, system: SystemParams = DEFAULT_SYSTEM):
    """P(sqrt(eq. 23) <= R) [1] on the whole plane for R = ``rmse_m`` [m] (array_like): the
    exact fraction of target positions (of networks) where eq. (23) is within R^2."""
    r = np.asarray(rmse_m, float)
    if not np.all(np.isfinite(r) & (r > 0)):
        raise InputError("rmse_m", rmse_m, "accuracies must be finite and > 0 (metres)")
    scale = float(system.error_scale_m2(M_t, M_r, db_to_lin(rho_s_db)))
    return jensen_cdf(r * r, gamma=gamma, lam_t=lam_t, lam_r=lam_r, scale=scale)
