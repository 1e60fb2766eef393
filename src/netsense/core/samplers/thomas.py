"""``thomas``: a Thomas cluster process (clustered: hotspots of small cells).

Parents form a PPP of intensity lam_p; each has a Poisson number of daughters with mean c
(``daughters``), scattered around it by i.i.d. isotropic Gaussian offsets of standard deviation
sigma per coordinate (``scatter_m``); the daughters are the nodes. Their intensity is
lam = lam_p c, the sweep's ``lam`` (lam_p = lam / c). sigma -> infinity tends to the PPP. The
target sees the daughters of a window of radius R (:mod:`.window`) plus the far field's mean;
parents are drawn in the disk of radius R + 6 sigma, beyond which a parent puts a daughter in the
window with probability below exp(-18) ~ 2e-8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import InputError
from .base import Sampler, check_positive_length
from .window import (
    WINDOW_NODES,
    WindowedKind,
    disk_points,
    window_nodes_per_trial,
    window_radius,
)

# Parents beyond R + REACH sigma are left out: P(|offset| > REACH sigma) = exp(-REACH^2 / 2).
REACH = 6.0


@dataclass(frozen=True)
class ThomasSampler(WindowedKind, Sampler):
    """Thomas cluster process, window plus the far field's mean.

    daughters : float
        Mean daughters per cluster c [count] (Poisson).
    scatter_m : float
        Gaussian scatter sigma of a daughter around its parent, per coordinate [m].
    guard_m : float
        Guard radius [m]: no node closer than that to the target (0: none).
    """

    kind = "thomas"
    PARAMS: ClassVar[dict] = {
        "daughters": {"type": "number", "exclusiveMinimum": 0, "default": 5.0,
                      "description": "Mean daughters per cluster c of the thomas sampler "
                                     "(Poisson) [count]."},
        "scatter_m": {"type": "number", "exclusiveMinimum": 0, "default": 20.0,
                      "description": "Gaussian scatter sigma of the thomas sampler's daughters "
                                     "around their parent, per coordinate [m]."}}
    SUMMARY = "Thomas cluster, window + far-field mean"
    TABLE_COLUMNS: ClassVar[dict] = {"sigma_m": "scatter_m", "c": "daughters"}  # regularity first
    AXIS_LABELS: ClassVar[dict] = {"daughters": "mean daughters per cluster c [count]",
                                   "scatter_m": "cluster scatter sigma [m]"}
    daughters: float = 5.0
    scatter_m: float = 20.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "daughters", check_mean_count("sampler.daughters",
                                                               self.daughters))
        object.__setattr__(self, "scatter_m", check_positive_length("sampler.scatter_m",
                                                                    self.scatter_m))

    def _key(self) -> str:
        return f"thomas;c={self.daughters!r};sigma={self.scatter_m!r};mu={WINDOW_NODES!r}"

    def _label(self) -> str:
        return f"thomas-c{self.daughters:g}-s{self.scatter_m:g}"

    def _describe(self) -> str:
        return f"Thomas, c={self.daughters:g}, sigma={self.scatter_m:g} m"

    def nodes_per_trial(self, lam):
        # every daughter of a parent in the disk of radius R + REACH sigma is drawn
        return window_nodes_per_trial(lam * math.pi * (window_radius(lam)
                                                       + REACH * self.scatter_m) ** 2,
                                      lam, self.blockage_per_m)

    def window_points(self, rng, lam, radius_m, n_trials):
        return thomas_points(rng, lam, self.daughters, self.scatter_m, radius_m, n_trials)


def check_mean_count(field: str, value) -> float:
    """A finite mean count > 0, else an :class:`InputError` on ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or value <= 0:
        raise InputError(field, value, "must be a finite number > 0 (mean daughters per cluster)")
    return float(value)


def thomas_points(rng: np.random.Generator, lam: float, daughters: float, scatter_m: float,
                  radius_m: float, n_trials: int):
    """Thomas daughters of intensity ``lam`` [m^-2] covering the disk of radius ``radius_m``
    for ``n_trials`` trials: flat ``owner, x, y`` (trial, metres)."""
    outer = radius_m + REACH * scatter_m
    n_parents = rng.poisson(lam / daughters * math.pi * outer**2, size=n_trials)
    px, py = disk_points(rng, n_parents, outer)
    n_daughters = rng.poisson(daughters, size=px.size)
    parent_owner = np.repeat(np.arange(n_trials), n_parents)
    owner = np.repeat(parent_owner, n_daughters)
    offsets = scatter_m * rng.standard_normal(size=(2, owner.size))
    return owner, np.repeat(px, n_daughters) + offsets[0], np.repeat(py, n_daughters) + offsets[1]
