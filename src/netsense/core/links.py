"""Link models beyond the ideal plane of [1]: antenna heights, blockage and shadowing.

The paper puts TXs, RXs and the target on one plane with an unbounded path loss d^-gamma and
every link usable. Three departures change where its law error ~ (lam_t lam_r)^(-gamma/2) holds
(docs: guide/links.md); each is a parameter of every sampler kind (:class:`Link` per side):

* **heights** ``height_m`` = h: a node at horizontal distance r from the target stands h above
  it (h_t for the TXs, h_r for the RXs). The leg's distance is d = sqrt(r^2 + h^2), its path
  loss w = d^-gamma is bounded (w <= h^-gamma), and the target's position is estimated in the
  ground plane (its altitude known): the gradient of the leg's delay there is (r/d) u / c, u the
  horizontal unit vector. The factorization of eq. (15) holds with a = (r/d) u in place of u
  (:func:`height_geometry`). Differs from [1]: the paper's nodes are on the target's plane.
* **blockage** ``blockage_per_m`` = beta: a leg of horizontal length r is line of sight (LOS)
  with probability p(r) = exp(-beta r), independently per node (the random Boolean blockage of
  Bai and Heath: beta = 2 lam_b (E[L] + E[W]) / pi for rectangular blockers of density lam_b,
  mean length L and width W). An NLOS leg's delay is biased, so that node is unusable: the
  sides are thinned. The LOS nodes of a side are an inhomogeneous PPP with a finite mean count
  (:func:`los_count_mean`), sampled exactly and completely by :func:`los_radii`. A side may have
  no LOS node: eq. (18) and eq. (23) are then infinite with a positive probability, and so are
  their means (:func:`localizable_probability`).
* **shadowing** ``shadowing_db`` = sigma: each leg's gain is multiplied by an i.i.d. lognormal
  S, 10 log10 S ~ N(0, sigma^2) (median 0 dB). On the plane without heights or blockage the
  displacement theorem makes the shadowed network exactly an unshadowed PPP of density
  lam E[S^(2/gamma)] (:func:`shadowing_density_factor`); with heights or blockage (which depend
  on the physical distance) the gains are drawn per node.

A side with every parameter 0 (:attr:`Link.ideal`) is the paper's, and every sampler then runs
its own code as before: keys, labels, streams and numbers unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

K_DB = math.log(10.0) / 10.0  # ln S = K_DB * (S in dB)

# The schema of the link parameters, common to every sampler kind (0: the paper's ideal link).
LINK_PARAMS = {
    "height_m": {
        "type": "number", "minimum": 0, "default": 0.0,
        "description": "Antenna height h of every TX and RX above the target's ground plane "
                       "(h_t = h_r = h; or give height_t_m and height_r_m) [m]."},
    "height_t_m": {
        "type": "number", "minimum": 0, "default": 0.0,
        "description": "TX antenna height h_t above the target's ground plane (with "
                       "height_r_m, instead of height_m) [m]."},
    "height_r_m": {
        "type": "number", "minimum": 0, "default": 0.0,
        "description": "RX antenna height h_r above the target's ground plane (with "
                       "height_t_m, instead of height_m) [m]."},
    "blockage_per_m": {
        "type": "number", "minimum": 0, "default": 0.0,
        "description": "Blockage beta: a leg of horizontal length r is line of sight with "
                       "probability exp(-beta r), NLOS legs unusable (0: no blockage) [1/m]."},
    "shadowing_db": {
        "type": "number", "minimum": 0, "default": 0.0,
        "description": "Shadowing sigma: per-leg lognormal gain, 10 log10 S ~ N(0, sigma^2), "
                       "median 0 dB (0: none) [dB]."},
}


def _check_nonnegative(field: str, value, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or value < 0:
        raise InputError(field, value, f"must be a finite number >= 0 ({unit}; 0 = none)")
    return float(value)


def check_height(field: str, value) -> float:
    """An antenna height >= 0 [m], else an :class:`InputError` on ``field``."""
    return _check_nonnegative(field, value, "metres")


def check_blockage(field: str, value) -> float:
    """A blockage coefficient beta >= 0 [1/m], else an :class:`InputError` on ``field``."""
    return _check_nonnegative(field, value, "per metre")


# Measured urban shadowing is 4-12 dB; at 20 dB a gain spans 1e+-6 within 3 sigma. The exact
# means are checked to 1e-12 up to here (netsense.core.expectations, _gh_nodes).
MAX_SHADOWING_DB = 20.0


def check_shadowing(field: str, value) -> float:
    """A shadowing sigma in [0, :data:`MAX_SHADOWING_DB`] dB, else an :class:`InputError`."""
    v = _check_nonnegative(field, value, "dB")
    if v > MAX_SHADOWING_DB:
        raise InputError(field, value, f"must be <= {MAX_SHADOWING_DB:g} dB (a lognormal "
                         "shadowing sigma; measured urban values are 4-12 dB)")
    return v


@dataclass(frozen=True)
class Link:
    """The link model of one side of a network.

    height_m : float
        Antenna height h of the side's nodes above the target's plane [m].
    blockage_per_m : float
        beta of the LOS probability exp(-beta r) [1/m] (0: every leg LOS).
    shadowing_db : float
        sigma of the per-leg lognormal gain [dB] (0: none).
    """

    height_m: float = 0.0
    blockage_per_m: float = 0.0
    shadowing_db: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "height_m", check_height("height_m", self.height_m))
        object.__setattr__(self, "blockage_per_m", check_blockage("blockage_per_m",
                                                                  self.blockage_per_m))
        object.__setattr__(self, "shadowing_db", check_shadowing("shadowing_db",
                                                                 self.shadowing_db))

    @property
    def ideal(self) -> bool:
        """The paper's link: no height, no blockage, no shadowing."""
        return self.height_m == 0 and self.blockage_per_m == 0 and self.shadowing_db == 0

    def key(self) -> str:
        """Canonical text of the side's non-default link parameters ("" for the ideal link)."""
        return (f";height={self.height_m!r}" if self.height_m > 0 else "") \
            + blockage_key(self.blockage_per_m) + shadowing_key(self.shadowing_db)


def blockage_key(beta: float) -> str:
    return f";blockage={beta!r}" if beta > 0 else ""


def shadowing_key(sigma_db: float) -> str:
    return f";shadowing={sigma_db!r}" if sigma_db > 0 else ""


# --------------------------------------------------------------------------------------------
# Shadowing


def shadow_moment(sigma_db: float, p: float) -> float:
    """E[S^p] of the lognormal gain with median 0 dB: exp((p sigma K_DB)^2 / 2)."""
    return math.exp(0.5 * (p * sigma_db * K_DB) ** 2)


def shadowing_density_factor(sigma_db: float, gamma: float) -> float:
    """E[S^(2/gamma)]: a shadowed PPP of density lam on the plane is, for the sum of the path
    losses and for the whole FIM, an unshadowed PPP of density lam E[S^(2/gamma)] (the
    displacement theorem: each node moves along its own direction to r S^(-1/gamma))."""
    return shadow_moment(sigma_db, 2.0 / gamma)


def draw_shadowing(rng: np.random.Generator, sigma_db: float, shape) -> np.ndarray:
    """i.i.d. lognormal gains S = 10^(sigma Z / 10), Z standard normal (median 0 dB)."""
    return np.exp((sigma_db * K_DB) * rng.standard_normal(size=shape))


# --------------------------------------------------------------------------------------------
# Heights


def height_geometry(r2, ux, uy, gamma: float, height_m: float):
    """Weights and horizontal gradient vectors of legs at horizontal squared distance ``r2``
    [m^2] and height ``height_m`` [m]: w = (r^2 + h^2)^(-gamma/2) and a = (r/d) u.

    Returns ``w, ax, ay`` of the shape of ``r2``. With h = 0 they are r^-gamma and u itself.
    """
    if height_m == 0:
        return r2 ** (-0.5 * gamma), ux, uy
    d2 = r2 + height_m * height_m
    w = d2 ** (-0.5 * gamma)  # 3-D path loss, bounded by h^-gamma
    shrink = np.sqrt(r2 / d2)  # |a| = r/d: the horizontal part of the unit vector
    return w, ux * shrink, uy * shrink


def far_field_tails(lam: float, gamma: float, r2_edge, height_m: float = 0.0):
    """The far field's conditional mean beyond the horizontal radius sqrt(``r2_edge``) of a PPP
    of density ``lam`` whose nodes stand ``height_m`` above the target, every leg LOS: its
    contribution to A = sum w and to each diagonal entry of T = sum w a a^T (isotropy; nothing
    to the off-diagonal or to V).

    With x0 = r_e^2 + h^2 and a = gamma/2 (Campbell's theorem):
    E[A] = 2 pi lam x0^(1-a) / (gamma - 2), and E[sum w |a|^2] = pi lam x0^(-a) (a r_e^2 + h^2)
    / (a (a - 1)), half of which goes on each diagonal entry of T. h = 0 is the paper's
    2 pi lam r_e^(2-gamma)/(gamma-2) with half of it on each diagonal entry.
    """
    a = 0.5 * gamma
    r2 = np.asarray(r2_edge, float)
    x0 = r2 + height_m * height_m
    a_tail = 2.0 * math.pi * lam * x0 ** (1.0 - a) / (gamma - 2.0)
    t_tail = 0.5 * math.pi * lam * x0 ** (-a) * (a * r2 + height_m * height_m) / (a * (a - 1.0))
    return a_tail, t_tail


def mean_sums(lam: float, gamma: float, height_m: float, guard_m: float = 0.0):
    """(E[A], E[B]) of one side on the whole plane beyond the guard radius, every leg LOS, with
    B = sum w |a|^2 = tr T [m^-gamma]: :func:`far_field_tails` from the guard radius (E[B] is
    twice the diagonal tail). E[A] = 2 pi lam h^(2-gamma)/(gamma - 2) and E[B] = 2 E[A]/gamma
    without a guard; both infinite for g = h = 0."""
    if guard_m == 0 and height_m == 0:
        return math.inf, math.inf
    a_tail, t_tail = far_field_tails(lam, gamma, guard_m * guard_m, height_m)
    return float(a_tail), 2.0 * float(t_tail)


# --------------------------------------------------------------------------------------------
# Blockage


def los_probability(r, beta: float):
    """P(LOS) = exp(-beta r) of a leg of horizontal length ``r`` [m]."""
    return np.exp(-beta * np.asarray(r, float))


def _q(x):
    """(1 + x) e^-x: the fraction 2 pi lam / beta^2 of LOS nodes beyond beta r = x."""
    return (1.0 + x) * math.exp(-x) if math.isfinite(x) else 0.0


def los_count_mean(lam: float, beta: float, r_min: float = 0.0, r_max: float = math.inf
                   ) -> float:
    """Mean number of usable (LOS) nodes of a PPP of density ``lam`` in r_min <= r < r_max
    (horizontal, [m]): lam int p(r) 2 pi r dr = (2 pi lam / beta^2) [q(beta r_min) -
    q(beta r_max)], q(x) = (1 + x) e^-x; pi lam (r_max^2 - r_min^2) without blockage (inf on the
    whole plane)."""
    if beta == 0:
        return math.pi * lam * (r_max * r_max - r_min * r_min)
    return 2.0 * math.pi * lam / beta**2 * (_q(beta * r_min) - _q(beta * r_max))


def localizable_probability(mu_t: float, mu_r: float) -> float:
    """P(the FIM has rank 2) for Poisson counts of usable nodes with means ``mu_t``, ``mu_r``
    (positions in general position): N_t >= 1, N_r >= 1 and N_t N_r >= 2, i.e.
    (1 - e^-mu_t)(1 - e^-mu_r) - mu_t e^-mu_t mu_r e^-mu_r. One TX and one RX give a rank-1
    FIM (a single bistatic range); ``inf`` is a side with infinitely many nodes."""
    def none(mu):  # P(N = 0)
        return 0.0 if math.isinf(mu) else math.exp(-mu)

    def one(mu):  # P(N = 1)
        return 0.0 if math.isinf(mu) else mu * math.exp(-mu)

    return (1.0 - none(mu_t)) * (1.0 - none(mu_r)) - one(mu_t) * one(mu_r)


# phi(x) = x - log(1 + x) has a relative rounding error ~2 eps / x computed directly: below
# _PHI_SERIES its Taylor series sum_{k>=2} (-1)^k x^k / k is used, whose terms beyond
# _PHI_TERMS are below 0.05^20 / 0.05^2 ~ 4e-24 of the sum.
_PHI_SERIES = 0.05
_PHI_TERMS = 22
_NEWTON_MAX = 60


def _phi(x):
    """phi(x) = x - log1p(x) = -log q(x) (see :func:`los_radii`), accurate for small x."""
    x = np.asarray(x, float)
    out = np.atleast_1d(x - np.log1p(x))
    small = np.atleast_1d(x < _PHI_SERIES)
    if small.any():
        xs = np.atleast_1d(x)[small]
        series = np.zeros_like(xs)
        for k in range(_PHI_TERMS, 1, -1):  # Horner: x^2 (1/2 - x (1/3 - x (1/4 - ...)))
            series = 1.0 / k - xs * series
        out[small] = xs * xs * series
    return out.reshape(x.shape)


# Newton's relative step below which one more step reaches rounding (quadratic convergence:
# the next error is ~ its square); rounding itself leaves steps of ~3e-15 that never vanish.
_NEWTON_TOL = 1e-9


def _phi_inverse(c):
    """The x >= 0 with phi(x) = c >= 0, by Newton's method from above (phi is increasing and
    convex on x >= 0, and x0 = c + sqrt(2c) >= the root, so the iterates decrease to it)."""
    c = np.maximum(np.asarray(c, float), np.finfo(float).tiny)  # c = 0 only as 0 * E: x = 0+
    x = c + np.sqrt(2.0 * c)
    for _ in range(_NEWTON_MAX):
        step = _phi(x) - c
        step *= 1.0 + x
        step /= x  # phi'(x) = x / (1 + x)
        x -= step
        if not np.any(np.abs(step) > _NEWTON_TOL * x):
            step = (_phi(x) - c) * (1.0 + x) / x  # one more: to rounding
            x -= step
            break
    return x


def los_radii(rng: np.random.Generator, beta: float, r_min: float, size: int) -> np.ndarray:
    """``size`` i.i.d. horizontal distances [m] of LOS nodes beyond ``r_min``, with the law of
    the LOS intensity lam e^(-beta r) 2 pi r dr on r >= r_min (exactly, by inversion).

    The mass of the LOS intensity beyond beta r = x is proportional to q(x) = (1 + x) e^-x, so a
    node's x solves q(x) = q(x_min) U, U uniform: phi(x) = phi(x_min) + E with phi = -log q and
    E a standard exponential (no cancellation at any distance).
    """
    e = rng.standard_exponential(size=size)
    return _phi_inverse(_phi(beta * r_min) + e) / beta


def los_nodes(rng: np.random.Generator, lam: float, beta: float, r_min: float, n_trials: int):
    """Every LOS node of a PPP of density ``lam`` beyond the horizontal radius ``r_min`` [m],
    for ``n_trials`` independent trials: flat ``owner, r2, ux, uy`` (trial index, squared
    horizontal distance [m^2], unit vector from the node to the target).

    The LOS nodes are an inhomogeneous PPP with the finite mean count :func:`los_count_mean`,
    i.e. a Poisson number of i.i.d. points (:func:`los_radii`, uniform azimuths): exact and
    complete, with no far field to approximate. Draws: the counts, the distances, the angles.
    """
    counts = rng.poisson(los_count_mean(lam, beta, r_min), size=n_trials)
    total = int(counts.sum())
    r = los_radii(rng, beta, r_min, total)
    phi = rng.uniform(-math.pi, math.pi, size=total)  # full azimuths (erratum 2)
    return np.repeat(np.arange(n_trials), counts), r * r, np.cos(phi), np.sin(phi)


def eq18_high_density_limit(lam_t: float, lam_r: float, gamma: float, height_t_m: float,
                            height_r_m: float, guard_m: float = 0.0) -> float:
    """The limit of eq. (18) (geometric units, c^2 / (M_t M_r eta) = 1) as the densities grow
    with the heights fixed: 4 / (E[A_r] E[B_t] + E[A_t] E[B_r]) (:func:`mean_sums`), which is
    gamma / (E[A_t] E[A_r]) without a guard zone.

    With heights the path loss is bounded, E[A] = 2 pi lam h^(2-gamma)/(gamma - 2) is finite and
    E[T] = E[B]/2 I = E[A]/gamma I, so at lam pi h^2 >> 1 the FIM of eq. (15) concentrates on
    G = (E[A_r] E[B_t] + E[A_t] E[B_r])/2 I (V averages out) and eq. (18) tends to the value
    above, proportional to 1/(lam_t lam_r). Differs from [1]: eq. (26) scales as
    (lam_t lam_r)^(-gamma/2), which holds for lam pi h^2 << 1 only. Needs h_t > 0 and h_r > 0
    (or a guard radius).
    """
    a_t, b_t = mean_sums(lam_t, gamma, height_t_m, guard_m)
    a_r, b_r = mean_sums(lam_r, gamma, height_r_m, guard_m)
    if math.isinf(a_t) or math.isinf(a_r):
        raise InputError("height_m", (height_t_m, height_r_m), "the high-density limit of "
                         "eq. (18) needs both heights > 0 (without height the path loss is "
                         "unbounded and eq. (26) holds at every density)")
    return 4.0 / (a_r * b_t + a_t * b_r)
