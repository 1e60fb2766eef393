"""``matern``: a Matérn type II hard-core process (repulsive: planned base-station sites).

Parents form a PPP of intensity lam_p, each with an independent uniform mark; a parent is
removed when another parent within the hard-core distance delta has a smaller mark. The retained
points are at least delta apart and have intensity

    lam = (1 - exp(-lam_p pi delta^2)) / (pi delta^2),

which is the sweep's ``lam``: lam_p is solved from it, lam_p = -log(1 - lam pi delta^2) /
(pi delta^2), so lam pi delta^2 < 1 (the densest Matérn II is 1/(pi delta^2)). delta -> 0 is the
PPP. The target sees the points of a window of radius R (:mod:`.window`) plus the far field's
mean; parents are drawn in the disk of radius R + delta, so that every point in the window
competes with all its neighbours (no edge effect).
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


@dataclass(frozen=True)
class MaternSampler(WindowedKind, Sampler):
    """Matérn type II hard-core process, window plus the far field's mean.

    hardcore_m : float
        Hard-core distance delta [m]: no two nodes are closer.
    guard_m : float
        Guard radius [m]: no node closer than that to the target (0: none).
    """

    kind = "matern"
    PARAMS: ClassVar[dict] = {"hardcore_m": {
        "type": "number", "exclusiveMinimum": 0, "default": 10.0,
        "description": "Hard-core distance delta of the matern sampler (Matérn type II; "
                       "needs lam pi delta^2 < 1) [m]."}}
    SUMMARY = "Matérn II hard-core, window + far-field mean"
    TABLE_COLUMNS: ClassVar[dict] = {"delta_m": "hardcore_m"}
    AXIS_LABELS: ClassVar[dict] = {"hardcore_m": "hard-core distance delta [m]"}
    hardcore_m: float = 10.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "hardcore_m", check_positive_length("sampler.hardcore_m",
                                                                     self.hardcore_m))

    def _key(self) -> str:
        return f"matern;delta={self.hardcore_m!r};mu={WINDOW_NODES!r}"

    def _label(self) -> str:
        return f"matern-d{self.hardcore_m:g}"

    def _describe(self) -> str:
        return f"Matérn II, delta={self.hardcore_m:g} m"

    def nodes_per_trial(self, lam):
        # every parent of the disk of radius R + delta is drawn (matern_points)
        return window_nodes_per_trial(parent_density(lam, self.hardcore_m) * math.pi * (
            window_radius(lam) + self.hardcore_m) ** 2, lam, self.blockage_per_m)

    def window_points(self, rng, lam, radius_m, n_trials):
        return matern_points(rng, lam, self.hardcore_m, radius_m, n_trials)


def parent_density(lam: float, hardcore_m: float) -> float:
    """lam_p [m^-2] of the Matérn II process whose retained intensity is ``lam`` [m^-2]."""
    area = math.pi * hardcore_m**2
    if not lam * area < 1.0:
        raise InputError("sampler.hardcore_m", hardcore_m, f"too large for lam = {lam:.6g}/m^2: "
                         f"a Matérn II process needs lam pi delta^2 < 1 (delta < "
                         f"{math.sqrt(1.0 / (math.pi * lam)):.4g} m)")
    return -math.log1p(-lam * area) / area  # inverse of lam = (1 - exp(-lam_p pi delta^2))/(pi delta^2)


def matern_points(rng: np.random.Generator, lam: float, hardcore_m: float, radius_m: float,
                  n_trials: int):
    """Matérn II points of retained intensity ``lam`` in (at least) the disk of radius
    ``radius_m`` for ``n_trials`` independent trials: flat ``owner, x, y`` (trial, metres)."""
    from scipy.spatial import cKDTree  # lazy: keeps other samplers' start-up short

    lam_p = parent_density(lam, hardcore_m)
    outer = radius_m + hardcore_m  # parents competing with any point of the window
    counts = rng.poisson(lam_p * math.pi * outer**2, size=n_trials)
    x, y = disk_points(rng, counts, outer)
    marks = rng.uniform(size=x.size)
    owner = np.repeat(np.arange(n_trials), counts)
    # All trials in one tree: trial t is shifted along x by t times more than a disk's width,
    # so no pair spans two trials.
    pitch = 2.0 * outer + 4.0 * hardcore_m
    pairs = cKDTree(np.column_stack([x + pitch * owner, y])).query_pairs(
        hardcore_m, output_type="ndarray")
    removed = np.zeros(x.size, dtype=bool)
    if len(pairs):
        i, j = pairs[:, 0], pairs[:, 1]
        # Type II: the point with the larger mark of each close pair goes, whether or not the
        # other is itself removed.
        removed[np.where(marks[i] > marks[j], i, j)] = True
    keep = ~removed
    return owner[keep], x[keep], y[keep]
