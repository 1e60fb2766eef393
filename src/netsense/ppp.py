"""Poisson point process samplers for one side (TXs or RXs) of the network, target at the origin.

Every sampler takes a ``numpy.random.Generator`` and is vectorized over trials (no Python loop
per trial). Each returns the per-trial :class:`~netsense.fisher.LegStats` (path-loss weights
L = r^-gamma and unit vectors from the node to the target), which is all that eq. (18) and
eq. (23) of [1] need (factorized form).

* ``plane`` (default): the K nearest nodes of a PPP on the whole plane by radial ordering
  (pi lam r_i^2 are the arrival times of a unit-rate Poisson process), plus the conditional
  mean of the far field beyond r_K. Exact in distribution for the K nearest nodes; the far field
  adds 2 pi lam r_K^(2-gamma)/(gamma-2) to A and half of that times I to T, 0 to V.
* ``disk``: a homogeneous PPP in a disk of radius R (the paper's finite window; biased for the
  infinite-plane Theorem 2, see the physics notes).
* :func:`sample_stable_sum`: the exact law of A = sum L over the whole plane (positive stable),
  for eq. (23) alone.

Per-node factors (e.g. a TX's beamforming gain g_k / M_t, :mod:`netsense.beam`): the ``*_stats``
samplers take an optional ``node_factor`` callable(rng, shape) -> weights, drawn from the same
generator AFTER the node positions and angles of that side, and multiplied into the path-loss
weights. Without it no extra variates are drawn: the stream and the results are those of the
unweighted sampler, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .fisher import LegStats, leg_stats
from .system import InputError

SAMPLER_KINDS = ("plane", "disk")


@dataclass(frozen=True)
class SamplerSpec:
    """Which PPP sampler and its parameters.

    kind : "plane" or "disk"
    nearest : int
        K, the number of explicit nearest nodes per side (``plane``).
    radius_m : float
        Window radius R [m] (``disk``).
    """

    kind: str = "plane"
    nearest: int = 64
    radius_m: float = 500.0

    def __post_init__(self):
        if self.kind not in SAMPLER_KINDS:
            raise InputError("sampler.kind", self.kind, f"must be one of {list(SAMPLER_KINDS)}")
        if isinstance(self.nearest, bool) or not isinstance(self.nearest, (int, np.integer)) \
                or self.nearest < 1:
            raise InputError("sampler.nearest", self.nearest, "must be an integer >= 1")
        r = self.radius_m
        if isinstance(r, bool) or not isinstance(r, (int, float, np.number)) \
                or not math.isfinite(float(r)) or r <= 0:
            raise InputError("sampler.radius_m", r, "must be a finite number > 0 (metres)")

    def key(self) -> str:
        """Canonical text of the parameters that shape the geometry (for seeding and caching)."""
        if self.kind == "plane":
            return f"plane;K={int(self.nearest)}"
        return f"disk;R={float(self.radius_m)!r}"

    def label(self) -> str:
        """Short name for the cube's ``sampler`` coordinate: ``plane-K64``, ``disk-R500``."""
        if self.kind == "plane":
            return f"plane-K{int(self.nearest)}"
        return f"disk-R{float(self.radius_m):g}"


@dataclass(frozen=True)
class NodeFactor:
    """Per-node multiplicative weight, i.i.d. over nodes and independent of their positions.

    draw : callable(rng, shape) -> ndarray of ``shape``
        Draws the factors (finite, >= 0) from ``rng``.
    mean : float
        E[factor]; the ``plane`` sampler needs it for the far-field conditional mean.
    """

    draw: Callable[[np.random.Generator, tuple], np.ndarray]
    mean: float

    def __call__(self, rng: np.random.Generator, shape) -> np.ndarray:
        return self.draw(rng, shape)


def _draw_factor(node_factor, rng: np.random.Generator, shape: tuple) -> np.ndarray:
    f = np.asarray(node_factor(rng, shape), dtype=float)
    if f.shape != shape:
        raise InputError("node_factor", f.shape, f"must return an array of the node shape {shape}")
    return f


def _factor_mean(node_factor) -> float:
    m = getattr(node_factor, "mean", None)
    if m is None or isinstance(m, bool) or not math.isfinite(float(m)) or float(m) < 0:
        raise InputError("node_factor", node_factor, "the plane sampler needs E[factor] as a "
                         "finite attribute .mean >= 0 (for the far-field conditional mean)")
    return float(m)


def check_density(lam) -> float:
    v = float(lam)
    if not math.isfinite(v) or v <= 0:
        raise InputError("lam", lam, "density must be finite and > 0 (per m^2)")
    return v


def _angles_to_units(rng: np.random.Generator, shape):
    phi = rng.uniform(-math.pi, math.pi, size=shape)  # full azimuths (erratum 2), uniform
    return np.cos(phi), np.sin(phi)


def plane_nodes(rng: np.random.Generator, lam: float, nearest: int, n_trials: int):
    """Radial ordering of a plane PPP: squared distances r_i^2 (sorted) and node unit vectors.

    Returns ``r2, ux, uy`` each of shape (n_trials, nearest).
    """
    lam = check_density(lam)
    arrivals = np.cumsum(rng.standard_exponential(size=(n_trials, nearest)), axis=1)
    r2 = arrivals / (math.pi * lam)  # pi lam r_i^2 = Gamma_i (LePage series)
    ux, uy = _angles_to_units(rng, (n_trials, nearest))
    return r2, ux, uy


def plane_stats(rng: np.random.Generator, lam: float, gamma: float, nearest: int,
                n_trials: int, node_factor=None) -> LegStats:
    """LegStats of the ``plane`` sampler: K nearest nodes plus the far-field conditional mean.

    ``node_factor`` (optional): callable(rng, shape) -> per-node weights with an attribute
    ``mean`` = E[factor] (e.g. :class:`NodeFactor`), drawn after the nodes, shape (n_trials, K).
    """
    if not gamma > 2.0:
        raise InputError("gamma", gamma, "the plane sampler needs gamma > 2 (the far field "
                         "of an infinite PPP diverges otherwise)")
    fmean = None if node_factor is None else _factor_mean(node_factor)
    r2, ux, uy = plane_nodes(rng, lam, nearest, n_trials)
    w = r2 ** (-0.5 * gamma)  # path loss L = r^-gamma
    if node_factor is not None:
        w = w * _draw_factor(node_factor, rng, w.shape)
    s = leg_stats(w, ux, uy)
    # Conditional mean of the PPP outside radius r_K: int_{r_K}^inf 2 pi lam r r^-gamma dr.
    rk2 = r2[:, -1]
    tail = 2.0 * math.pi * lam * rk2 ** (1.0 - 0.5 * gamma) / (gamma - 2.0)
    if fmean is not None:
        # The factors are i.i.d. and independent of the positions (a TX's array orientation is
        # independent of where it stands), so the conditional mean of sum f L over the far field
        # is E[f] times that of sum L; the same for sum f L u u^T.
        tail = tail * fmean
    return LegStats(A=s.A + tail, txx=s.txx + 0.5 * tail, txy=s.txy, tyy=s.tyy + 0.5 * tail,
                    vx=s.vx, vy=s.vy)


def disk_nodes(rng: np.random.Generator, lam: float, radius_m: float, n_trials: int):
    """Homogeneous PPP in a disk: flat arrays over all trials.

    Returns ``counts`` (n_trials,) and flat ``r2, ux, uy`` of length counts.sum(); trial t owns
    the slice ``offsets[t]:offsets[t+1]`` with ``offsets = [0, cumsum(counts)]``.
    """
    lam = check_density(lam)
    counts = rng.poisson(lam * math.pi * radius_m**2, size=n_trials)
    total = int(counts.sum())
    r2 = radius_m**2 * rng.uniform(size=total)  # uniform in the disk: r^2 uniform
    ux, uy = _angles_to_units(rng, total)
    return counts, r2, ux, uy


def disk_stats(rng: np.random.Generator, lam: float, gamma: float, radius_m: float,
               n_trials: int, node_factor=None) -> LegStats:
    """LegStats of the ``disk`` sampler (no far field: the paper's finite window).

    ``node_factor`` (optional): callable(rng, shape) -> per-node weights, drawn after the nodes
    for the flat node array (shape (counts.sum(),)).
    """
    counts, r2, ux, uy = disk_nodes(rng, lam, radius_m, n_trials)
    owner = np.repeat(np.arange(n_trials), counts)
    w = r2 ** (-0.5 * gamma)
    if node_factor is not None:
        w = w * _draw_factor(node_factor, rng, w.shape)
    wx, wy = w * ux, w * uy

    def per_trial(values):
        return np.bincount(owner, weights=values, minlength=n_trials)

    return LegStats(A=per_trial(w), txx=per_trial(wx * ux), txy=per_trial(wx * uy),
                    tyy=per_trial(wy * uy), vx=per_trial(wx), vy=per_trial(wy))


def side_stats(rng: np.random.Generator, spec: SamplerSpec, lam: float, gamma: float,
               n_trials: int, node_factor=None) -> LegStats:
    """Sample one side (TX or RX) of ``n_trials`` independent networks with ``spec``.

    ``node_factor``: optional per-node weight (see :class:`NodeFactor`), drawn after the nodes.
    """
    if spec.kind == "plane":
        return plane_stats(rng, lam, gamma, spec.nearest, n_trials, node_factor)
    return disk_stats(rng, lam, gamma, spec.radius_m, n_trials, node_factor)


def sample_positive_stable(rng: np.random.Generator, alpha: float, size) -> np.ndarray:
    """Positive alpha-stable S with E[exp(-s S)] = exp(-s^alpha), 0 < alpha < 1.

    Kanter's representation: with U ~ Uniform(0, pi), E ~ Exp(1),
    S = sin(alpha U) / sin(U)^(1/alpha) * (sin((1 - alpha) U) / E)^((1 - alpha)/alpha).
    """
    if not 0.0 < alpha < 1.0:
        raise InputError("alpha", alpha, "stable index must be in (0, 1)")
    u = rng.uniform(0.0, math.pi, size=size)
    e = rng.standard_exponential(size=size)
    return (np.sin(alpha * u) / np.sin(u) ** (1.0 / alpha)
            * (np.sin((1.0 - alpha) * u) / e) ** ((1.0 - alpha) / alpha))


def sample_stable_sum(rng: np.random.Generator, lam: float, gamma: float, size) -> np.ndarray:
    """Exact sample of A = sum_{x in PPP} ||x||^-gamma on the whole plane (gamma > 2).

    E[exp(-s A)] = exp(-pi lam Gamma(1 - 2/gamma) s^(2/gamma)) (proof of Lemma 3, eq. 32-35),
    so A = (pi lam Gamma(1 - 2/gamma))^(gamma/2) S with S positive (2/gamma)-stable.
    """
    if not gamma > 2.0:
        raise InputError("gamma", gamma, "the stable law of A needs gamma > 2")
    lam = check_density(lam)
    scale = (math.pi * lam * math.gamma(1.0 - 2.0 / gamma)) ** (gamma / 2.0)
    return scale * sample_positive_stable(rng, 2.0 / gamma, size)
