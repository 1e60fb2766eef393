"""Exact E[1/A] of one side of a network for each sampler netsense runs.

A = sum over one side's nodes of the path loss r^-gamma (target at the origin). The two sides
are independent and sampled alike, so E[eq. 23] = E[g23] = 2 E[1/A_t] E[1/A_r] of [1] is known
without Monte Carlo once E[1/A] is. These values are the known means of the eq. (23) control
variate for eq. (18) (:func:`netsense.core.stats.cv_estimate`). A control mean must be the
mean of the sampler as it is, not of the infinite-plane model, or the control-variate estimate
inherits the sampler's bias against Lemma 3 and reports it as a property of eq. (18); hence one
function per sampler:

* :func:`inv_sum_mean_plane`: the whole plane, Lemma 3 (eq. 24/25).
* :func:`inv_sum_mean_plane_nearest`: the ``plane`` sampler (K nearest nodes by radial ordering
  plus the far field's conditional mean).
* :func:`inv_sum_mean_disk`: the ``disk`` sampler (a PPP in a disk of radius R), conditioned on
  at least one node.

The plane sampler's and the disk's values each reduce to one quadrature of a dimensionless
integral in gamma and K (plane) or in gamma and the disk's mean node count mu (disk); the
density and the radius only scale it. The quadrature runs on a log scale of its variable, so
that the mass (at t ~ K^(-gamma/2) for large K, or y ~ mu^(-gamma/2) for a large disk) and the
tails are resolved alike. The requested relative tolerance is 1e-13, and mpmath references agree
to within 1e-13 (tests/core/test_expectations.py).

Both use phi(t) = int_0^1 exp(-t u^(-gamma/2)) du = e^-t - t^d Gamma(1 - d, t), d = 2/gamma
(the Laplace transform of U^(-gamma/2), U uniform): the nodes of either sampler are, given the
outermost radius, uniform in r^2 inside it.
"""

from __future__ import annotations

import itertools
import math
import numbers
from functools import lru_cache

import numpy as np

from ..errors import InputError
from .closed_form import lemma3_inv_sum

# QUADPACK tolerance of every quadrature here: 1e-13 relative is near float64's limit for these
# smooth, positive integrands and two orders below the 1e-10 a control mean needs.
_EPSREL = 1e-13
_LIMIT = 400
# t beyond which exp(-t) is negligible against every integrand's mass (e^-80 ~ 2e-35).
_T_MAX = 80.0
# Left end of the log-scale quadrature: this many e-folds below the integrand's scale, where
# the integrand (proportional to its variable there) has fallen by e^-45 ~ 3e-20.
_Z_BELOW = 45.0
# phi(t) switches from incomplete gamma functions to its asymptotic series here: below it the
# cancellation in e^t phi(t) = 1 - t^d e^t Gamma(1 - d, t) costs ~t/d ulps (< 1e-13 at
# gamma = 6); above it the series' smallest term is ~e^-30 ~ 1e-13 of the sum.
_T_ASYMPTOTIC = 30.0


def _check_gamma(gamma) -> float:
    g = _scalar("gamma", gamma)
    if not (math.isfinite(g) and g > 2.0):
        raise InputError("gamma", gamma, "exact E[1/A] needs a finite path-loss exponent "
                         "gamma > 2 (the PPP sum of path losses diverges otherwise)")
    return g


def _check_density(lam) -> float:
    v = _scalar("lam", lam)
    if not (math.isfinite(v) and v > 0):
        raise InputError("lam", lam, "density must be finite and > 0 (per m^2)")
    return v


def _check_nearest(nearest) -> int:
    if isinstance(nearest, bool) or not isinstance(nearest, (int, np.integer)) or nearest < 1:
        raise InputError("nearest", nearest, "must be an integer >= 1")
    return int(nearest)


def _check_radius(radius_m) -> float:
    v = _scalar("radius_m", radius_m)
    if not (math.isfinite(v) and v > 0):
        raise InputError("radius_m", radius_m, "must be a finite number > 0 (metres)")
    return v


def _scalar(field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(field, value, "must be a real number")
    return float(value)


def _h_and_log_phi(t: float, d: float, gamma_1md: float):
    """(h, log phi) at t, with h = 1 - phi and phi = e^-t - t^d Gamma(1 - d, t), each to
    relative accuracy ~1e-14 or better (h where it is small, log phi where phi is small)."""
    from scipy.special import gammaincc  # lazy: keeps the shard jobs' start-up short

    if t < 1.0:
        # Sum of two positive terms: no cancellation, accurate as t -> 0 where h ~ Gamma(1-d) t^d.
        h = -math.expm1(-t) + t**d * gamma_1md * gammaincc(1.0 - d, t)
        return h, math.log1p(-h)
    if t <= _T_ASYMPTOTIC:
        psi = 1.0 - t**d * math.exp(t) * gamma_1md * gammaincc(1.0 - d, t)  # e^t phi(t)
    else:
        # Gamma(-d, t) ~ t^(-d-1) e^-t sum_n (-1)^n (1 + d)_n t^-n, so with
        # phi = d^-1 t^d Gamma(-d, t): e^t phi = (d/t) sum_n (-1)^n (1 + d)_n t^-n.
        term, total, n = 1.0, 1.0, 0
        while True:
            nxt = -term * (n + 1 + d) / t
            if abs(nxt) >= abs(term) or abs(nxt) < 1e-17 * abs(total):
                break
            term, n = nxt, n + 1
            total += term
        psi = d / t * total
    log_phi = -t + math.log(psi)
    return -math.expm1(log_phi), log_phi


def _log_scale_quad(log_integrand, z_scale: float) -> float:
    """int_0^inf f(x) dx = int exp(z + log f(e^z)) dz over z in [z_scale - 45, log 80].

    ``z_scale`` is the log of the scale of the integrand's mass; the breakpoints around it let
    QUADPACK find the peak however narrow it is on the linear scale.
    """
    from scipy import integrate  # lazy

    z_lo, z_hi = z_scale - _Z_BELOW, math.log(_T_MAX)
    edges = [z_lo, *[z for z in np.arange(z_scale - 12.0, z_scale + 8.0, 2.0) if z_lo < z < z_hi],
             z_hi]

    def f(z):
        return math.exp(z + log_integrand(math.exp(z)))

    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        val, _ = integrate.quad(f, lo, hi, epsabs=0.0, epsrel=_EPSREL, limit=_LIMIT)
        total += val
    return total


def inv_sum_mean_plane(lam: float, gamma: float) -> float:
    """E[1/A] over a PPP of density ``lam`` [m^-2] on the whole plane [m^gamma]: Lemma 3,

    Gamma(1 + gamma/2) (pi lam Gamma(1 - 2/gamma))^(-gamma/2), gamma > 2.
    """
    lam, gamma = _check_density(lam), _check_gamma(gamma)
    return float(lemma3_inv_sum(lam, gamma))  # eq. (24)/(25)


@lru_cache(maxsize=256)
def _plane_nearest_unit(gamma: float, nearest: int) -> float:
    """E[1/B] of the ``plane`` sampler, A = (pi lam)^(gamma/2) B (dimensionless)."""
    from scipy.special import gamma as gamma_fn  # lazy
    from scipy.special import gammaln

    a, d, c, k = 0.5 * gamma, 2.0 / gamma, 2.0 / (gamma - 2.0), nearest
    g1md = float(gamma_fn(1.0 - d))
    # With Gamma_i the arrival times of a unit-rate Poisson process (pi lam r_i^2 = Gamma_i),
    # B = sum_{i<=K} Gamma_i^-a + c Gamma_K^(1-a), c = 2/(gamma - 2) the far-field mean.
    # Given Gamma_K = g the other K-1 arrivals are g U_i, U_i iid uniform, so
    # B = g^-a (1 + c g + sum_{i<K} U_i^-a) and, by E[1/B] = int_0^inf E[exp(-sB)] ds (eq. 31)
    # with s = t g^a:
    #   E[1/B] = int f_K(g) g^a int_0^inf exp(-t (1 + c g)) phi(t)^(K-1) dt dg.
    # The g integral is a gamma integral, int f_K(g) g^a e^(-c t g) dg
    # = Gamma(K + a)/Gamma(K) (1 + c t)^-(K + a), which leaves one quadrature in t.
    log_pre = float(gammaln(k + a) - gammaln(k))

    def log_integrand(t):
        log_phi = _h_and_log_phi(t, d, g1md)[1] if k > 1 else 0.0
        return log_pre - t - (k + a) * math.log1p(c * t) + (k - 1) * log_phi

    # Scale of the mass: phi^(K-1) ~ exp(-(K-1) Gamma(1-d) t^d) and (1 + c t)^-(K+a) cut t off
    # at ~((K-1) Gamma(1-d))^-a and ~1/(c (K + a)); e^-t at 1.
    scale = min(1.0, 1.0 / (c * (k + a)))
    if k > 1:
        scale = min(scale, ((k - 1) * g1md) ** (-a))
    return _log_scale_quad(log_integrand, math.log(scale))


def inv_sum_mean_plane_nearest(lam: float, gamma: float, nearest: int) -> float:
    """E[1/A] of the ``plane`` sampler [m^gamma]: the ``nearest`` = K nearest nodes of a PPP of
    density ``lam`` [m^-2] on the plane, by radial ordering, plus the far field's conditional
    mean 2 pi lam r_K^(2-gamma)/(gamma - 2) (:mod:`netsense.core.samplers.plane`).

    E[1/A] = (pi lam)^(-gamma/2) E[1/B] with

        E[1/B] = Gamma(K + a)/Gamma(K) int_0^inf e^-t (1 + c t)^-(K + a) phi(t)^(K-1) dt,

    a = gamma/2, c = 2/(gamma - 2), phi as in the module docstring. It tends to Lemma 3 as K
    grows, from below (the far field's mean replaces its fluctuations, and 1/A is convex).
    """
    lam, gamma, nearest = _check_density(lam), _check_gamma(gamma), _check_nearest(nearest)
    return (math.pi * lam) ** (-0.5 * gamma) * _plane_nearest_unit(gamma, nearest)


@lru_cache(maxsize=256)
def _disk_unit(gamma: float, mu: float) -> float:
    """E[1/A | N >= 1] R^-gamma of the ``disk`` sampler, mu = lam pi R^2 (dimensionless)."""
    from scipy.special import gamma as gamma_fn  # lazy

    d = 2.0 / gamma
    g1md = float(gamma_fn(1.0 - d))
    # PGFL (eq. 32-34) on the disk: E[exp(-sA)] = exp(-2 pi lam int_0^R r (1 - e^(-s r^-gamma)) dr).
    # With y = s R^-gamma the radial integral is (R^2/2) h(y), h = 1 - phi (r = R u^(1/2)), so
    # E[exp(-sA)] = exp(-mu h(y)); eq. (35) is its R -> inf limit. It tends to P(N = 0) = e^-mu
    # as s -> inf, hence (eq. 31 on the event N >= 1)
    #   E[1/A | N >= 1] = R^gamma int_0^inf (e^(-mu h(y)) - e^-mu) dy / (1 - e^-mu),
    # evaluated as e^(-mu h) (1 - e^(-mu phi)) / (1 - e^-mu) to keep every factor accurate.
    log_norm = -math.log(-math.expm1(-mu))

    def log_integrand(y):
        h, log_phi = _h_and_log_phi(y, d, g1md)
        mu_phi = mu * math.exp(log_phi)
        if mu_phi == 0.0:
            return -math.inf
        return log_norm - mu * h + math.log(-math.expm1(-mu_phi))

    # Scale of the mass: h(y) ~ Gamma(1-d) y^d for small y, so mu h ~ 1 at y ~ (mu Gamma(1-d))^(-1/d).
    scale = min(1.0, (mu * g1md) ** (-1.0 / d))
    return _log_scale_quad(log_integrand, math.log(scale))


def inv_sum_mean_disk(lam: float, gamma: float, radius_m: float) -> float:
    """E[1/A | N >= 1] of the ``disk`` sampler [m^gamma]: a PPP of density ``lam`` [m^-2] in a
    disk of radius ``radius_m`` = R [m] around the target, given at least one node in it.

    With mu = lam pi R^2 and h = 1 - phi (module docstring),

        E[1/A | N >= 1] = R^gamma int_0^inf (exp(-mu h(y)) - e^-mu) dy / (1 - e^-mu).

    Why conditioned: with probability P(N = 0) = e^-mu the disk is empty, A = 0 and 1/A = +inf,
    so E[1/A] itself is infinite for every finite R. The sampler returns those trials as +inf
    and :mod:`netsense.core.stats` averages the finite trials only, counting the others, so the
    mean it estimates is this conditional one. For eq. (23) a trial is finite iff both sides
    have a node; the sides are independent, so E[g23 | finite] = 2 E[1/A_t | N_t >= 1]
    E[1/A_r | N_r >= 1]. At the paper's window (mu ~ 870) the conditioning changes nothing
    visible (e^-mu ~ 1e-379); it matters for small windows or sparse networks.
    """
    lam, gamma, radius_m = _check_density(lam), _check_gamma(gamma), _check_radius(radius_m)
    mu = lam * math.pi * radius_m**2
    return radius_m**gamma * _disk_unit(gamma, mu)


# Which function gives each sampler's exact E[1/A]: by sampler class, beside the sampler
# modules rather than in them, so that the code version of a sampler's samples (the module
# that samples, netsense.pipeline.plan.sample_code_version) does not change with its
# expectations. A sampler without an entry has no exact value: its estimates are the plain ones.
def _plane(sampler, lam, gamma):
    return inv_sum_mean_plane_nearest(lam, gamma, sampler.nearest)


def _disk(sampler, lam, gamma):
    return inv_sum_mean_disk(lam, gamma, sampler.radius_m)


def _exact_table() -> dict:
    from .samplers import DiskSampler, PlaneSampler

    return {PlaneSampler: _plane, DiskSampler: _disk}


def inv_sum_mean(sampler, lam: float, gamma: float) -> float | None:
    """E[1/A] of one unweighted side as ``sampler`` samples it, exactly (over the trials with
    A > 0); None when no exact value is known for its class."""
    f = _exact_table().get(type(sampler))
    return None if f is None else f(sampler, lam, gamma)


def g23_mean(sampler, lam: float, gamma: float, beam: str = "full") -> float:
    """E[g23] of a block's trials (:mod:`netsense.core.blocks`), exactly: 2 E[1/A_t] E[1/A_r]
    (the sides are independent and sampled alike; eq. (23) of [1] without its constant), the
    known mean of the control variate of E[g18]. NaN when it is not known: a beam model other
    than ``full`` weights the TXs (no exact weighted expectation is implemented; those
    estimates are the plain ones), gamma <= 2 (implemented for gamma > 2 only), or the sampler
    has no entry here."""
    if beam != "full" or not gamma > 2.0:
        return float("nan")
    inv = inv_sum_mean(sampler, lam, gamma)
    return float("nan") if inv is None else 2.0 * inv * inv


def g23_mean_sides(sampler, lam_t: float, lam_r: float, gamma: float,
                   beam: str = "full") -> float:
    """E[g23] with the sides at their own densities: 2 E[1/A_t] E[1/A_r] (the sides are
    independent; :mod:`netsense.core.sides`). NaN where :func:`g23_mean` would be."""
    if beam != "full" or not gamma > 2.0:
        return float("nan")
    inv_t, inv_r = inv_sum_mean(sampler, lam_t, gamma), inv_sum_mean(sampler, lam_r, gamma)
    return float("nan") if inv_t is None or inv_r is None else 2.0 * inv_t * inv_r
