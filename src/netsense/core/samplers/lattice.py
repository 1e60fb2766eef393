"""``lattice``: a perturbed hexagonal lattice (the classic cellular layout).

A triangular lattice of sites (hexagonal cells) with lattice constant a, cell area
sqrt(3)/2 a^2 = 1/lam, so its density is the sweep's ``lam`` exactly. Each trial shifts it by a
uniform point of a unit cell and rotates it by a uniform angle, which makes the process
stationary and isotropic, and displaces each site by i.i.d. isotropic Gaussian noise of standard
deviation sigma per coordinate (``noise_m``; sigma -> infinity tends to the PPP, sigma = 0 is the
rigid lattice). The target sees the nodes of a window of radius R (:mod:`.window`) plus the far
field's mean; sites up to R + 6 sigma + 2a are placed, beyond which a node falls in the window
with probability below exp(-18).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Sampler, check_nonnegative_length
from .window import (
    WINDOW_NODES,
    WindowedKind,
    window_nodes_per_trial,
    window_radius,
)

REACH = 6.0  # sites beyond R + REACH sigma (+ 2a, the shift) are left out


def lattice_constant(lam: float) -> float:
    """a [m] of the triangular lattice of density ``lam`` [m^-2]: sqrt(3)/2 a^2 = 1/lam."""
    return math.sqrt(2.0 / (math.sqrt(3.0) * lam))


@dataclass(frozen=True)
class LatticeSampler(WindowedKind, Sampler):
    """Perturbed hexagonal lattice (random shift and rotation), window plus the far field's mean.

    noise_m : float
        Gaussian displacement sigma of each site, per coordinate [m] (0: the rigid lattice).
    guard_m : float
        Guard radius [m]: no node closer than that to the target (0: none).
    """

    kind = "lattice"
    PARAMS: ClassVar[dict] = {"noise_m": {
        "type": "number", "minimum": 0, "default": 0.0,
        "description": "Gaussian displacement sigma of each site of the lattice sampler "
                       "(perturbed hexagonal lattice), per coordinate [m]."}}
    SUMMARY = "perturbed hexagonal lattice, window + far-field mean"
    TABLE_COLUMNS: ClassVar[dict] = {"noise_m": "noise_m"}
    AXIS_LABELS: ClassVar[dict] = {"noise_m": "lattice noise sigma [m]"}
    noise_m: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "noise_m", check_nonnegative_length("sampler.noise_m",
                                                                     self.noise_m))

    def _key(self) -> str:
        return f"lattice;sigma={self.noise_m!r};mu={WINDOW_NODES!r}"

    def _label(self) -> str:
        return f"lattice-s{self.noise_m:g}"

    def _describe(self) -> str:
        return f"hex lattice, sigma={self.noise_m:g} m"

    def nodes_per_trial(self, lam):
        # every site up to R + REACH sigma + 2a is drawn, kept or not (lattice_points)
        reach = window_radius(lam) + REACH * self.noise_m + 2.0 * lattice_constant(lam)
        return window_nodes_per_trial(lam * math.pi * reach**2, lam, self.blockage_per_m)

    def window_points(self, rng, lam, radius_m, n_trials):
        return lattice_points(rng, lam, self.noise_m, radius_m, n_trials)


def lattice_sites(lam: float, radius_m: float):
    """Sites i a1 + j a2 of the unshifted lattice within ``radius_m`` [m] of the origin,
    a1 = a (1, 0), a2 = a (1/2, sqrt(3)/2): arrays x, y."""
    a = lattice_constant(lam)
    n = math.ceil(2.0 * radius_m / (math.sqrt(3.0) * a)) + 2  # |i|, |j| needed
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    x = a * (i + 0.5 * j).ravel()
    y = a * (0.5 * math.sqrt(3.0) * j).ravel()
    inside = x * x + y * y <= radius_m**2
    return x[inside], y[inside]


def lattice_points(rng: np.random.Generator, lam: float, noise_m: float, radius_m: float,
                   n_trials: int):
    """Perturbed, shifted and rotated lattice nodes covering the disk of radius ``radius_m``
    for ``n_trials`` trials: flat ``owner, x, y`` (trial, metres)."""
    a = lattice_constant(lam)
    # sites up to R + REACH sigma + 2a: the shift moves a site by up to |a1 + a2| = sqrt(3) a < 2a
    sx, sy = lattice_sites(lam, radius_m + REACH * noise_m + 2.0 * a)
    # Uniform shift over one unit cell (s1 a1 + s2 a2) and a uniform rotation per trial.
    s1, s2 = rng.uniform(size=(2, n_trials, 1))
    theta = rng.uniform(-math.pi, math.pi, size=(n_trials, 1))
    bx = sx[None, :] + a * (s1 + 0.5 * s2)
    by = sy[None, :] + a * (0.5 * math.sqrt(3.0)) * s2
    c, s = np.cos(theta), np.sin(theta)
    x, y = c * bx - s * by, s * bx + c * by
    if noise_m > 0:
        x = x + noise_m * rng.standard_normal(size=x.shape)
        y = y + noise_m * rng.standard_normal(size=y.shape)
    owner = np.broadcast_to(np.arange(n_trials)[:, None], x.shape)
    return owner.ravel(), x.ravel(), y.ravel()
