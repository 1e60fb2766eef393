"""``disk``: a homogeneous PPP in a disk of radius R around the target.

The paper's finite window (its Fig. 1 simulation), with an optional guard zone (the annulus
g <= r < R) and the link models of :mod:`netsense.core.links` (heights, blockage by thinning,
shadowing gains per node; the window stays horizontal: nodes with g <= r < R). Biased for the
infinite-plane Theorem 2 of [1]: the far field it leaves out decays like R^(2 - gamma) (docs:
guide/findings.md, item 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import InputError
from ..fisher import LegStats
from ..links import los_count_mean
from .base import (
    Sampler,
    angles_to_units,
    check_density,
    check_positive_length,
    draw_factor,
    linked_ragged_stats,
    ragged_stats,
    thin_to_los,
)


@dataclass(frozen=True)
class DiskSampler(Sampler):
    """Homogeneous PPP in a disk.

    radius_m : float
        Window radius R [m].
    guard_m : float
        Guard radius g [m], 0 <= g < R: the PPP is in the annulus g <= r < R.
    """

    kind = "disk"
    PARAMS: ClassVar[dict] = {"radius_m": {"type": "number", "exclusiveMinimum": 0, "default": 500.0,
                           "description": "Window radius R for the disk sampler [m]."}}
    SUMMARY = "the paper's finite window"
    TABLE_COLUMNS: ClassVar[dict] = {"R_m": "radius_m"}
    AXIS_LABELS: ClassVar[dict] = {"radius_m": "window radius R [m]  (paper: R = 500 m, about 870 nodes per "
                               "side at lam = 1/900)"}
    SIZE_PARAMS = ("radius_m",)
    radius_m: float = 500.0

    def __post_init__(self):  # one type per value: 500 and 500.0 are the same entry
        super().__post_init__()
        object.__setattr__(self, "radius_m", check_positive_length("sampler.radius_m",
                                                                   self.radius_m))
        if not self.guard_m < self.radius_m:
            raise InputError("sampler.guard_m", self.guard_m, f"must be below radius_m = "
                             f"{self.radius_m:g} m")

    def _key(self) -> str:
        return f"disk;R={float(self.radius_m)!r}"

    def _label(self) -> str:
        return f"disk-R{float(self.radius_m):g}"

    def _describe(self) -> str:
        return f"disk R={float(self.radius_m):g} m" + ("" if self.guard_m > 0 else
                                                        " (paper's window)")

    def side_stats(self, rng, lam, gamma, n_trials, node_factor=None) -> LegStats:
        return disk_stats(rng, lam, gamma, self.radius_m, n_trials, node_factor, self.guard_m)

    def inv_sum_mean(self, lam, gamma):
        from ..expectations import inv_sum_mean_disk

        return inv_sum_mean_disk(lam, gamma, self.radius_m) if self.guard_m == 0 else None

    def nodes_per_trial(self, lam):
        return lam * math.pi * (self.radius_m**2 - self.guard_m**2)

    def linked_stats(self, rng, lam, gamma, n_trials, link, node_factor=None) -> LegStats:
        counts, r2, ux, uy = disk_nodes(rng, lam, self.radius_m, n_trials, self.guard_m)
        owner = np.repeat(np.arange(n_trials), counts)
        if link.blockage_per_m > 0:
            r2, owner, ux, uy = thin_to_los(rng, link.blockage_per_m, r2, owner, ux, uy)
        return linked_ragged_stats(rng, owner, r2, ux, uy, n_trials, gamma, link, node_factor)

    def linked_inv_sum_mean(self, lam, gamma, link):
        from ..expectations import inv_sum_mean_link

        return inv_sum_mean_link(lam, gamma, height_m=link.height_m,
                                 blockage_per_m=link.blockage_per_m,
                                 shadowing_db=link.shadowing_db, r_min=self.guard_m,
                                 r_max=self.radius_m)

    def usable_count_mean(self, lam, side="tx"):
        return los_count_mean(lam, self.blockage_per_m, self.guard_m, self.radius_m)


def disk_nodes(rng: np.random.Generator, lam: float, radius_m: float, n_trials: int,
               guard_m: float = 0.0):
    """Homogeneous PPP in the annulus ``guard_m`` <= r < ``radius_m`` (a disk without a guard):
    flat arrays over all trials.

    Returns ``counts`` (n_trials,) and flat ``r2, ux, uy`` of length counts.sum(); trial t owns
    the slice ``offsets[t]:offsets[t+1]`` with ``offsets = [0, cumsum(counts)]``.
    """
    lam = check_density(lam)
    g2, r2max = guard_m**2, radius_m**2
    counts = rng.poisson(lam * math.pi * (r2max - g2), size=n_trials)
    total = int(counts.sum())
    r2 = g2 + (r2max - g2) * rng.uniform(size=total)  # uniform in the annulus: r^2 uniform
    ux, uy = angles_to_units(rng, total)
    return counts, r2, ux, uy


def disk_stats(rng: np.random.Generator, lam: float, gamma: float, radius_m: float,
               n_trials: int, node_factor=None, guard_m: float = 0.0) -> LegStats:
    """LegStats of the ``disk`` sampler (no far field: the paper's finite window).

    ``node_factor`` (optional): callable(rng, shape) -> per-node weights, drawn after the nodes
    for the flat node array (shape (counts.sum(),)).
    """
    counts, r2, ux, uy = disk_nodes(rng, lam, radius_m, n_trials, guard_m)
    owner = np.repeat(np.arange(n_trials), counts)
    w = r2 ** (-0.5 * gamma)
    if node_factor is not None:
        w = w * draw_factor(node_factor, rng, w.shape)
    return ragged_stats(owner, w, ux, uy, n_trials)
