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
* :func:`inv_sum_mean_plane_guard`: the whole plane outside a guard disk of radius g (Lemma 3
  with the radial integral from g).
* :func:`inv_sum_mean_plane_nearest_guard`: the guarded ``plane`` sampler (the K nearest nodes
  beyond g by radial ordering, plus the far field's conditional mean), :mod:`.samplers.plane`.
* :func:`inv_sum_mean_link`: any link model of :mod:`netsense.core.links` (heights, blockage,
  shadowing) on the plane or in a window, over the trials with A > 0; with
  :func:`inv_sum_mean_plane_heights`, :func:`shadowing_equivalent_density`,
  :func:`localizable_probability` and :func:`eq18_high_density_m2` the exact references of the
  link models (docs: guide/links.md).

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


# Composite Gauss-Legendre on a log scale for the guarded forms: GL_NODES nodes per segment of
# GL_WIDTH e-folds. The integrands are analytic and vary by O(1) per e-fold on that scale, so a
# 20-node rule per 2 e-folds is exact to float64 (checked against mpmath to 1e-12,
# tests/core/test_expectations_guard.py).
_GL_NODES = 20
_GL_WIDTH = 2.0


def _log_gl(z_lo: float, z_hi: float):
    """Nodes x = e^z and weights (dz e^z folded in) of a composite Gauss-Legendre rule over
    z in [z_lo, z_hi]: int_{e^z_lo}^{e^z_hi} f(x) dx ~ sum w f(x)."""
    xi, wi = np.polynomial.legendre.leggauss(_GL_NODES)
    n_seg = max(1, math.ceil((z_hi - z_lo) / _GL_WIDTH))
    edges = np.linspace(z_lo, z_hi, n_seg + 1)
    half = 0.5 * (edges[1:] - edges[:-1])[:, None]
    z = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * xi[None, :]
    x = np.exp(z).ravel()
    return x, (half * wi[None, :]).ravel() * x


def _check_guard(guard_m) -> float:
    v = _scalar("guard_m", guard_m)
    if not (math.isfinite(v) and v > 0):
        raise InputError("guard_m", guard_m, "must be a finite number > 0 (metres)")
    return v


def _guard_exponent(y, d: float, g1md: float):
    """D(y) = y^d gamma_lower(1 - d, y) - (1 - e^-y) >= 0 (unregularized lower incomplete gamma,
    g1md = Gamma(1 - d)): int_g0^inf (1 - exp(-s v^-a)) dv = g0 D(s g0^-a) for a = 1/d."""
    from scipy.special import gammainc  # lazy

    return y**d * g1md * gammainc(1.0 - d, y) + np.expm1(-y)


@lru_cache(maxsize=256)
def _plane_guard_unit(gamma: float, g0: float) -> float:
    """E[1/B] of the whole plane outside the guard, A = (pi lam)^(gamma/2) B, g0 = pi lam g^2."""
    from scipy.special import gamma as gamma_fn  # lazy

    a, d = 0.5 * gamma, 2.0 / gamma
    g1md = float(gamma_fn(1.0 - d))
    # Lemma 3's integral (eq. 31-35) with the radial integral from the guard: in the arrival
    # times v = pi lam r^2 (a unit-rate PPP on [g0, inf)),
    #   E[1/B] = int_0^inf exp(-int_g0^inf (1 - exp(-s v^-a)) dv) ds,
    # and int_g0^inf = Gamma(1-d) s^d - g0 h(s g0^-a) (h = 1 - phi, module docstring), so with
    # y = s g0^-a the exponent is -g0 D(y), D(y) = y^d gamma_lower(1-d, y) - (1 - e^-y) >= 0.
    # g0 = 0 is Lemma 3 (eq. 24): int exp(-Gamma(1-d) s^d) ds.
    def integrand(s):
        return np.exp(-g0 * _guard_exponent(s * g0**-a, d, g1md))

    # Mass: up to s where Gamma(1-d) s^d - g0 ~ 80 (D >= Gamma(1-d) y^d - 1); the integrand is 1
    # at s -> 0 (int_0^s_lo ~ s_lo, kept), and s_lo is 1e-20 below the smallest scale.
    s_hi = ((_T_MAX + g0) / g1md) ** a
    s_lo = 1e-20 * min(g1md**-a, g0 ** (a - 1.0))
    s, w = _log_gl(math.log(s_lo), math.log(s_hi))
    return float(s_lo + np.dot(w, integrand(s)))


def inv_sum_mean_plane_guard(lam: float, gamma: float, guard_m: float) -> float:
    """E[1/A] [m^gamma] over a PPP of density ``lam`` [m^-2] on the plane outside a guard disk
    of radius ``guard_m`` = g [m] around the target (no node closer than g).

    With g0 = pi lam g^2, A = (pi lam)^(gamma/2) B and

        E[1/B] = int_0^inf exp(-Gamma(1 - d) s^d + g0 h(s g0^-a)) ds,

    d = 2/gamma, a = gamma/2, h = 1 - phi (module docstring): Lemma 3's integral (eq. 31-35) with
    the radial integral starting at g. g -> 0 is Lemma 3.
    """
    lam, gamma, guard_m = _check_density(lam), _check_gamma(gamma), _check_guard(guard_m)
    g0 = math.pi * lam * guard_m**2
    return (math.pi * lam) ** (-0.5 * gamma) * _plane_guard_unit(gamma, g0)


@lru_cache(maxsize=256)
def _plane_nearest_guard_unit(gamma: float, nearest: int, g0: float) -> float:
    """E[1/B] of the guarded ``plane`` sampler, A = (pi lam)^(gamma/2) B (dimensionless)."""
    from scipy import integrate  # lazy
    from scipy.special import gamma as gamma_fn
    from scipy.special import gammainc, gammaln

    a, d, c, k = 0.5 * gamma, 2.0 / gamma, 2.0 / (gamma - 2.0), nearest
    g1md = float(gamma_fn(1.0 - d))
    # Arrivals Gamma_i = g0 + E_i (E_i a unit-rate Poisson process), B = sum_{i<=K} Gamma_i^-a
    # + c Gamma_K^(1-a). Given E_K = e (G = g0 + e, beta = g0/G) the other K-1 arrivals are
    # uniform on [g0, G], i.e. G u with u uniform on [beta, 1]; with s = t G^a (eq. 31)
    #   E[1/B] = int f_K(e) G^a J(G) de,  J = int_0^inf exp(-t (1 + c G)) psi(t)^(K-1) dt,
    #   psi = 1 - H,  H(t) = (1/(1-beta)) int_beta^1 (1 - exp(-t u^-a)) du
    #                      = d t^d (F(t beta^-a) - F(t)) / (1 - beta),
    #   F(w) = int_0^w (1 - e^-x) x^(-d-1) dx = (gamma_lower(1-d, w) - (1 - e^-w) w^-d) / d,
    # which keeps H accurate where it is small (no cancellation of its t^d terms). beta = 0 is
    # the unguarded sampler (H = h). Unlike it, the e integral is no gamma integral: 2-D.
    def big_f(w):
        return (g1md * gammainc(1.0 - d, w) + np.expm1(-w) * w**-d) / d

    def j_of(big_g):
        beta = g0 / big_g
        rate = 1.0 + c * big_g
        scale = 1.0 / rate
        if k > 1:
            scale = min(scale, ((k - 1) * g1md) ** -a)
        t, w = _log_gl(math.log(scale) - _Z_BELOW, math.log(_T_MAX / rate))
        if k == 1:
            return float(np.dot(w, np.exp(-t * rate)))
        hh = d * t**d * (big_f(t * beta**-a) - big_f(t)) / (1.0 - beta)
        with np.errstate(divide="ignore"):
            log_psi = np.log1p(-np.minimum(hh, 1.0))
        return float(np.dot(w, np.exp(-t * rate + (k - 1) * log_psi)))

    log_norm = -float(gammaln(k))

    def outer(e):
        if e <= 0.0:
            return 0.0 if k > 1 else g0**a * j_of(g0)
        return math.exp(log_norm + (k - 1) * math.log(e) - e) * (g0 + e) ** a * j_of(g0 + e)

    # f_K(e) = e^(K-1) e^-e / (K-1)!: its mass is within K +- ~8 sqrt(K), and e^-e is below 1e-35
    # of the peak 80 beyond it.
    pts = sorted({0.0, *[max(0.0, k - 1 + j * math.sqrt(k)) for j in (-4, -2, -1, 0, 1, 2, 4)]})
    hi = k + 8.0 * math.sqrt(k) + _T_MAX
    total = 0.0
    for lo, up in itertools.pairwise([*pts, hi]):
        if up > lo:
            total += integrate.quad(outer, lo, up, epsabs=0.0, epsrel=_EPSREL, limit=_LIMIT)[0]
    return total


def inv_sum_mean_plane_nearest_guard(lam: float, gamma: float, nearest: int,
                                     guard_m: float) -> float:
    """E[1/A] [m^gamma] of the guarded ``plane`` sampler: the ``nearest`` = K nearest nodes
    beyond the guard radius ``guard_m`` = g [m] of a PPP of density ``lam`` [m^-2], by radial
    ordering (arrivals from pi lam g^2), plus the far field's conditional mean beyond r_K
    (:mod:`netsense.core.samplers.plane` with ``guard_m``). A two-dimensional quadrature (see
    the source); it tends to :func:`inv_sum_mean_plane_guard` as K grows, and to
    :func:`inv_sum_mean_plane_nearest` as g -> 0.
    """
    lam, gamma, nearest = _check_density(lam), _check_gamma(gamma), _check_nearest(nearest)
    guard_m = _check_guard(guard_m)
    g0 = math.pi * lam * guard_m**2
    return (math.pi * lam) ** (-0.5 * gamma) * _plane_nearest_guard_unit(gamma, nearest, g0)


# --------------------------------------------------------------------------------------------
# Link models (netsense.core.links): heights, blockage, shadowing

# Gauss-Hermite nodes of the shadowing expectation E_S[f(S)], ln S = K_DB sigma Z: the integrands
# are analytic in Z but vary over a range of Z that grows with sigma. Measured against 300
# nodes: 48 nodes agree to 4e-13 up to sigma = 8 dB (2e-9 at 12 dB); 12 per dB beyond to 1e-12
# up to 20 dB (tests/core/test_expectations_links.py, against mpmath at 6 dB and under
# refinement).
_GH_NODES = 48
_GH_NODES_UP_TO_DB = 8.0
_GH_PER_DB = 12


def _gh_nodes(sigma_db: float) -> int:
    return _GH_NODES if sigma_db <= _GH_NODES_UP_TO_DB else math.ceil(_GH_PER_DB * sigma_db)
# Radial and outer rules of the nested form (_link_unit): Gauss-Legendre nodes per segment and
# segment width in e-folds of the radius and of s. Checked against mpmath and under refinement
# (tests/core/test_links_expectations.py): halving both widths moves no value by 1e-12.
_RADIAL_NODES, _RADIAL_WIDTH = 16, 0.5
_OUTER_NODES, _OUTER_WIDTH = 20, 1.0
# The LOS intensity beyond beta r = 75 (e^-75 ~ 3e-33 of its mass near beta r ~ 1) is left out;
# below 1e-9 of the length scale the radial integral is below 1e-18 of the mass.
_LOS_REACH = 75.0
_RADIAL_FLOOR = 1e-9


def _gl_rule(z_lo: float, z_hi: float, nodes: int, width: float):
    """Composite Gauss-Legendre rule on [z_lo, z_hi] in segments of ``width``: nodes z, weights."""
    xi, wi = np.polynomial.legendre.leggauss(nodes)
    n_seg = max(1, math.ceil((z_hi - z_lo) / width))
    edges = np.linspace(z_lo, z_hi, n_seg + 1)
    half = 0.5 * (edges[1:] - edges[:-1])[:, None]
    z = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * xi[None, :]
    return z.ravel(), (half * wi[None, :]).ravel()


def _shadow_rule(sigma_db: float):
    """(gains S_k, weights) of E_S[f(S)] for the lognormal shadowing (one node S = 1 without)."""
    if sigma_db == 0:
        return np.ones(1), np.ones(1)
    from .links import K_DB

    x, w = np.polynomial.hermite.hermgauss(_gh_nodes(sigma_db))
    return np.exp(K_DB * sigma_db * math.sqrt(2.0) * x), w / math.sqrt(math.pi)


def _check_link(height_m, blockage_per_m, shadowing_db, r_min, r_max):
    from .links import check_blockage, check_height, check_shadowing

    h = check_height("height_m", _scalar("height_m", height_m))
    beta = check_blockage("blockage_per_m", _scalar("blockage_per_m", blockage_per_m))
    sigma = check_shadowing("shadowing_db", _scalar("shadowing_db", shadowing_db))
    lo = check_height("r_min", _scalar("r_min", r_min))
    hi = _scalar("r_max", r_max)
    if not hi > lo:
        raise InputError("r_max", r_max, f"must be > r_min = {lo:g} m (may be inf)")
    return h, beta, sigma, lo, hi


@lru_cache(maxsize=256)
def _plane_shadow_unit(gamma: float, g0: float, sigma_db: float) -> float:
    """E[1/B] of the whole plane beyond pi lam x0 = g0 > 0 (a guard and/or heights) with
    i.i.d. lognormal gains, A = (pi lam)^(gamma/2) B: the guarded form with E_S inside."""
    from scipy.special import gamma as gamma_fn  # lazy

    from .links import shadow_moment

    a, d = 0.5 * gamma, 2.0 / gamma
    g1md = float(gamma_fn(1.0 - d))
    gains, gw = _shadow_rule(sigma_db)
    # E exp(-s B) = exp(-int_g0^inf (1 - E_S exp(-s S v^-a)) dv) = exp(-g0 E_S[D(s S g0^-a)])
    # (eq. 31-35 with the PGFL of the marked PPP); E[1/B] = int_0^inf of it ds (eq. 31).
    def integrand(s):
        y = s[:, None] * gains[None, :] * g0**-a
        return np.exp(-g0 * (_guard_exponent(y, d, g1md) @ gw))

    # Mass: g0 E_S[D] ~ Gamma(1-d) E[S^d] s^d - g0 for large s, ~ s E[S] g0^(1-a) d/(1-d) for
    # small s (D(y) ~ y d/(1-d)).
    sd_mean, s_mean = shadow_moment(sigma_db, d), shadow_moment(sigma_db, 1.0)
    s_hi = ((_T_MAX + g0) / (g1md * sd_mean)) ** a
    s_lo = 1e-20 * min((g1md * sd_mean) ** -a, g0 ** (a - 1.0) / s_mean)
    x, w = _log_gl(math.log(s_lo), math.log(s_hi))
    return float(s_lo + np.dot(w, integrand(x)))


@lru_cache(maxsize=256)
def _link_unit(gamma: float, lam_u: float, eta: float, b: float, sigma_db: float, rho_min: float,
               rho_max: float) -> float:
    """E[1/A | A > 0] in units of a length l (l^-gamma A; lam_u = lam l^2, eta = h/l, b = beta l,
    rho = r/l) for a side with a finite mean count mu of usable nodes (blockage or a window)."""
    from .links import shadow_moment

    a = 0.5 * gamma
    gains, gw = _shadow_rule(sigma_db)
    # Radial rule on log rho: node masses m_j = lam p(rho) 2 pi rho drho of the usable nodes.
    rho_hi = min(rho_max, _LOS_REACH / b) if b > 0 else rho_max
    floor = _RADIAL_FLOOR * min(1.0, rho_hi, eta if eta > 0 else 1.0)
    rho_lo = rho_min if rho_min > 0 else floor
    z, wz = _gl_rule(math.log(rho_lo), math.log(rho_hi), _RADIAL_NODES, _RADIAL_WIDTH)
    rho = np.exp(z)
    mass = lam_u * wz * rho * 2.0 * math.pi * rho * np.exp(-b * rho)
    w = (rho * rho + eta * eta) ** -a  # path loss, bounded by eta^-gamma with heights
    mu = float(mass.sum())
    # PGFL of the thinned, marked PPP (eq. 31-35): E exp(-sA) = exp(-D(s)) with
    # D(s) = int (1 - E_S e^(-s S w)) m and J(s) = int E_S e^(-s S w) m = mu - D(s); P(A = 0) =
    # e^-mu, so (eq. 31 on A > 0) E[1/A | A > 0] = int_0^inf (e^-D - e^-mu) ds / (1 - e^-mu), and
    # e^-D - e^-mu = e^-D (1 - e^-J): each factor from the sum that is accurate where it matters
    # (D small as s -> 0, J small as s -> inf), with no cancellation between them.
    def integrand(svals):
        y = svals[:, None, None] * w[None, :, None] * gains[None, None, :]
        d_s = (-np.expm1(-y) @ gw) @ mass
        j_s = (np.exp(-y) @ gw) @ mass
        return np.exp(-d_s) * -np.expm1(-j_s)

    # Mass of the s integral: from s ~ 1/E[A] (where D grows) to beyond 1/(S w) of the farthest
    # usable node with weight (J decays as e^(-s S w)): 80 e-folds of the slowest term.
    weight_s = gains[gw > 1e-30]
    a_mean = float(np.dot(mass, w)) * shadow_moment(sigma_db, 1.0)
    far = w[mass > 1e-30 * mu].min() * weight_s.min()
    s_lo, s_hi = 1e-20 / a_mean, _T_MAX / far
    zs, ws = _gl_rule(math.log(s_lo), math.log(s_hi), _OUTER_NODES, _OUTER_WIDTH)
    svals = np.exp(zs)
    total = 0.0
    for k in range(0, svals.size, 64):  # chunks keep the (s, rho, S) temporaries small
        sv = svals[k:k + 64]
        total += float(np.dot(ws[k:k + 64] * sv, integrand(sv)))
    return s_lo + total / -math.expm1(-mu)  # the integrand is 1 on [0, s_lo]


def inv_sum_mean_link(lam: float, gamma: float, *, height_m: float = 0.0,
                      blockage_per_m: float = 0.0, shadowing_db: float = 0.0,
                      r_min: float = 0.0, r_max: float = math.inf) -> float:
    """E[1/A | A > 0] [m^gamma] of one side under a link model (:mod:`netsense.core.links`): a
    PPP of density ``lam`` [m^-2] in the horizontal annulus r_min <= r < r_max [m] (the whole
    plane by default), nodes ``height_m`` above the target, each leg LOS with probability
    exp(-beta r) (``blockage_per_m`` = beta; NLOS nodes unusable) and with an i.i.d. lognormal
    gain of sigma = ``shadowing_db`` (median 0 dB); A = sum S (r^2 + h^2)^(-gamma/2).

    Notes
    -----
    The PGFL of the thinned, marked PPP gives the Laplace transform (eq. 31-35 of [1] with the
    radial integral over the usable nodes):

        L(s) = E exp(-s A) = exp(-lam int (1 - E_S exp(-s S w(r))) p(r) 2 pi r dr).

    * Infinitely many usable nodes (no blockage, r_max = inf): E[1/A] = int_0^inf L(s) ds (eq.
      31). Without a height or a guard this is Lemma 3 at the density lam E[S^(2/gamma)] (the
      displacement theorem, :func:`shadowing_equivalent_density`). With x0 = r_min^2 + h^2 > 0
      and no shadowing, the radial integral is closed:
      pi lam [s^d gamma_lower(1 - d, s x0^-a) - x0 (1 - exp(-s x0^-a))] (d = 2/gamma,
      a = gamma/2): heights act on A exactly as a guard radius sqrt(r_min^2 + h^2)
      (:func:`inv_sum_mean_plane_heights`); with shadowing E_S is taken inside it.
    * A finite mean count mu = lam int p(r) 2 pi r dr of usable nodes (blockage, or a finite
      window): P(A = 0) = e^-mu > 0, so E[1/A] is infinite; the conditional mean is

          E[1/A | A > 0] = int_0^inf (L(s) - e^-mu) ds / (1 - e^-mu),

      a nested quadrature (the radial integral has no closed form under blockage).

    Under blockage E[eq. 23] and E[eq. 18] are infinite: this conditional mean is what a Monte
    Carlo of eq. (23) averages over its finite trials (2 E[1/A_t | A_t > 0] E[1/A_r | A_r > 0],
    the sides being independent).
    """
    lam, gamma = _check_density(lam), _check_gamma(gamma)
    h, beta, sigma, lo, hi = _check_link(height_m, blockage_per_m, shadowing_db, r_min, r_max)
    if beta == 0 and math.isinf(hi):
        x0 = lo * lo + h * h
        if x0 == 0:
            return inv_sum_mean_plane(shadowing_equivalent_density(lam, gamma, sigma), gamma)
        if sigma == 0:
            return inv_sum_mean_plane_guard(lam, gamma, math.sqrt(x0))
        g0 = math.pi * lam * x0
        return (math.pi * lam) ** (-0.5 * gamma) * _plane_shadow_unit(gamma, g0, sigma)
    ell = 1.0 / beta if beta > 0 else hi  # the length unit: the mean LOS length, or the window
    return ell**gamma * _link_unit(gamma, lam * ell * ell, h / ell, beta * ell, sigma, lo / ell,
                                   hi / ell)


def inv_sum_mean_plane_heights(lam: float, gamma: float, height_m: float) -> float:
    """E[1/A] [m^gamma] on the whole plane with every node ``height_m`` = h above the target,
    every leg LOS: int_0^inf E exp(-sA) ds with (links notes, section 1)

        E exp(-sA) = exp(-pi lam [s^d gamma_lower(1 - d, s h^-gamma) - h^2 (1 - exp(-s h^-gamma))])

    (d = 2/gamma; h -> 0 gives Lemma 3's transform, eq. 35). The map r -> d = sqrt(r^2 + h^2)
    takes the plane's PPP to the radial law of a PPP beyond a guard radius h (r dr = d dd), so
    for A (not for eq. 18) heights are a guard zone of radius h: this is
    :func:`inv_sum_mean_plane_guard` at g = h, which evaluates the same integral.
    """
    from .links import check_height

    h = check_height("height_m", _scalar("height_m", height_m))
    if h == 0:
        return inv_sum_mean_plane(lam, gamma)
    return inv_sum_mean_plane_guard(lam, gamma, h)


def shadowing_equivalent_density(lam: float, gamma: float, shadowing_db: float) -> float:
    """lam E[S^(2/gamma)] [m^-2]: the density of the unshadowed PPP that a PPP of density ``lam``
    with i.i.d. lognormal shadowing (sigma ``shadowing_db``, median 0 dB) equals on the whole
    plane, without heights or blockage, for eq. (18) and eq. (23) alike (the displacement
    theorem). E[S^(2/gamma)] = exp((2 sigma K_DB / gamma)^2 / 2), K_DB = ln(10)/10. Theorem 2 and
    c(gamma) apply at this density."""
    from .links import check_shadowing, shadowing_density_factor

    lam, gamma = _check_density(lam), _check_gamma(gamma)
    sigma = check_shadowing("shadowing_db", _scalar("shadowing_db", shadowing_db))
    return lam * shadowing_density_factor(sigma, gamma)


def localizable_probability(sampler, lam_t: float, lam_r: float | None = None) -> float | None:
    """P(eq. 18 is finite) of a network of ``sampler`` (TX density ``lam_t``, RX ``lam_r``,
    default the same), where the usable nodes of each side are a Poisson number
    (:meth:`~netsense.core.samplers.base.Sampler.usable_count_mean`):
    (1 - e^-mu_t)(1 - e^-mu_r) - mu_t e^-mu_t mu_r e^-mu_r (:func:`netsense.core.links.
    localizable_probability`); 1 with infinitely many nodes; None where not known."""
    from .links import localizable_probability as formula

    mu_t = sampler.usable_count_mean(lam_t, "tx")
    mu_r = sampler.usable_count_mean(lam_t if lam_r is None else lam_r, "rx")
    if mu_t is None or mu_r is None:
        return None
    return formula(mu_t, mu_r)


def eq18_high_density_m2(*, lam_t: float, lam_r: float, gamma: float, height_t_m: float,
                         height_r_m: float, M_t: int, M_r: int, rho_s_db: float, system=None,
                         guard_m: float = 0.0) -> float:
    """The high-density limit of eq. (18) [m^2] with antenna heights: c^2 / (M_t M_r eta) times
    :func:`netsense.core.links.eq18_high_density_limit`, proportional to 1 / (lam_t lam_r)."""
    from .links import eq18_high_density_limit
    from .system import DEFAULT_SYSTEM, db_to_lin

    system = DEFAULT_SYSTEM if system is None else system
    lam_t, lam_r, gamma = _check_density(lam_t), _check_density(lam_r), _check_gamma(gamma)
    scale = float(system.error_scale_m2(M_t, M_r, db_to_lin(rho_s_db)))
    return scale * eq18_high_density_limit(lam_t, lam_r, gamma, height_t_m, height_r_m, guard_m)


def inv_sum_mean(sampler, lam: float, gamma: float, side: str = "tx") -> float | None:
    """E[1/A] of one unweighted side as ``sampler`` samples it, exactly (over the trials with
    A > 0): the sampler's own :meth:`~netsense.core.samplers.base.Sampler.inv_sum_mean` (the
    functions of this module), under ``side``'s link model where it has one
    (:meth:`~netsense.core.samplers.base.Sampler.side_inv_sum_mean`); None when none is
    known."""
    return sampler.side_inv_sum_mean(lam, gamma, side)


def g23_mean(sampler, lam: float, gamma: float, beam: str = "full",
             lam_r: float | None = None) -> float:
    """E[g23] of a block's trials (:mod:`netsense.core.blocks`), exactly: 2 E[1/A_t] E[1/A_r]
    (the sides are independent; eq. (23) of [1] without its constant), the known mean of the
    control variate of E[g18]. ``lam`` is the TX density, and the RX one unless ``lam_r`` is
    given. NaN when it is not known: a beam model other than ``full`` weights the TXs (no exact
    weighted expectation is implemented; those estimates are the plain ones), gamma <= 2
    (implemented for gamma > 2 only), or the sampler has no entry here."""
    if beam != "full" or not gamma > 2.0:
        return float("nan")
    inv_t = inv_sum_mean(sampler, lam, gamma, "tx")
    same = lam_r is None and sampler.link("tx") == sampler.link("rx")
    inv_r = inv_t if same else inv_sum_mean(sampler, lam if lam_r is None else lam_r, gamma, "rx")
    return float("nan") if inv_t is None or inv_r is None else 2.0 * inv_t * inv_r
