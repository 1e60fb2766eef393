"""``plane``: the K nearest nodes of a PPP on the whole plane, plus the far field's mean.

Radial ordering (LePage): pi lam r_i^2 are the arrival times of a unit-rate Poisson process
and the angles are i.i.d. uniform, so the K nearest nodes are exact in distribution. Beyond
r_K the rest is a PPP outside the disk of radius r_K; its conditional mean contribution is
deterministic: 2 pi lam r_K^(2-gamma)/(gamma-2) to A, half of that times I to T, 0 to V. This
removes the truncation bias of a finite window for Theorem 2 of [1]. A guard zone (no node
within g of the target) starts the arrivals at pi lam g^2; the sampler stays exact, with an
exact E[1/A] (:func:`netsense.core.expectations.inv_sum_mean_plane_nearest_guard`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import InputError
from ..fisher import LegStats, leg_stats
from .base import (
    Sampler,
    angles_to_units,
    check_density,
    check_positive_int,
    draw_factor,
    factor_mean,
    far_field_mean,
    with_far_field,
)


@dataclass(frozen=True)
class PlaneSampler(Sampler):
    """K nearest nodes of an infinite PPP plus the far-field conditional mean.

    nearest : int
        K, the number of explicit nearest nodes per side (beyond the guard radius, if any).
    guard_m : float
        Guard radius g [m] (0: none). The nodes beyond g are still a PPP by radial ordering:
        their arrival times pi lam r_i^2 are pi lam g^2 + Gamma_i.
    """

    kind = "plane"
    PARAMS: ClassVar[dict] = {"nearest": {"type": "integer", "minimum": 1, "default": 64,
                          "description": "K, explicit nearest nodes per side for the plane "
                                         "sampler [count]."}}
    SUMMARY = "K nearest + far-field mean"
    TABLE_COLUMNS: ClassVar[dict] = {"K": "nearest"}
    AXIS_LABELS: ClassVar[dict] = {"nearest": "explicit nearest nodes per side K  [count]"}
    SIZE_PARAMS = ("nearest",)
    nearest: int = 64

    def __post_init__(self):  # one type per value: 64 and numpy's 64 are the same entry
        super().__post_init__()
        object.__setattr__(self, "nearest", check_positive_int("sampler.nearest", self.nearest))

    def _key(self) -> str:
        return f"plane;K={int(self.nearest)}"

    def _label(self) -> str:
        return f"plane-K{int(self.nearest)}"

    def _describe(self) -> str:
        return f"plane, K={int(self.nearest)} (unbiased)"

    def check_gamma(self, field: str, gamma: float) -> None:
        if not gamma > 2.0:
            raise InputError(field, gamma, "must be > 2 with sampler.kind plane (the far field "
                             "of an infinite PPP diverges for gamma <= 2)")

    def side_stats(self, rng, lam, gamma, n_trials, node_factor=None) -> LegStats:
        return plane_stats(rng, lam, gamma, self.nearest, n_trials, node_factor, self.guard_m)

    def inv_sum_mean(self, lam, gamma):
        from ..expectations import inv_sum_mean_plane_nearest, inv_sum_mean_plane_nearest_guard

        if self.guard_m > 0:
            return inv_sum_mean_plane_nearest_guard(lam, gamma, self.nearest, self.guard_m)
        return inv_sum_mean_plane_nearest(lam, gamma, self.nearest)

    def nodes_per_trial(self, lam):
        return float(self.nearest)

    @property
    def scale_free(self) -> bool:
        return self.guard_m == 0  # a guard radius is a length: lam pi g^2 changes with lam


def plane_nodes(rng: np.random.Generator, lam: float, nearest: int, n_trials: int,
                guard_m: float = 0.0):
    """Radial ordering of a plane PPP beyond the guard radius: squared distances r_i^2 (sorted)
    and node unit vectors.

    Returns ``r2, ux, uy`` each of shape (n_trials, nearest).
    """
    lam = check_density(lam)
    # pi lam r_i^2 = pi lam g^2 + Gamma_i (LePage series; a unit-rate Poisson process on
    # [pi lam g^2, inf)); g = 0 adds an exact 0.0
    arrivals = math.pi * lam * guard_m**2 + np.cumsum(
        rng.standard_exponential(size=(n_trials, nearest)), axis=1)
    r2 = arrivals / (math.pi * lam)
    ux, uy = angles_to_units(rng, (n_trials, nearest))
    return r2, ux, uy


def plane_stats(rng: np.random.Generator, lam: float, gamma: float, nearest: int,
                n_trials: int, node_factor=None, guard_m: float = 0.0) -> LegStats:
    """LegStats of the ``plane`` sampler: K nearest nodes plus the far-field conditional mean.

    ``node_factor`` (optional): callable(rng, shape) -> per-node weights with an attribute
    ``mean`` = E[factor] (e.g. :class:`~.base.NodeFactor`), drawn after the nodes, shape
    (n_trials, K).
    """
    if not gamma > 2.0:
        raise InputError("gamma", gamma, "the plane sampler needs gamma > 2 (the far field "
                         "of an infinite PPP diverges otherwise)")
    # The factors are i.i.d. and independent of the positions (a TX's array orientation is
    # independent of where it stands), so the conditional mean of sum f L over the far field
    # is E[f] times that of sum L; the same for sum f L u u^T.
    fmean = None if node_factor is None else factor_mean(node_factor)
    r2, ux, uy = plane_nodes(rng, lam, nearest, n_trials, guard_m)
    w = r2 ** (-0.5 * gamma)  # path loss L = r^-gamma
    if node_factor is not None:
        w = w * draw_factor(node_factor, rng, w.shape)
    # the PPP beyond r_K, by its conditional mean
    rk2 = r2[:, -1]
    return with_far_field(leg_stats(w, ux, uy),
                          far_field_mean(lam, gamma, rk2 ** (1.0 - 0.5 * gamma), fmean))
