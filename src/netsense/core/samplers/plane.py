"""``plane``: the K nearest nodes of a PPP on the whole plane, plus the far field's mean.

Radial ordering (LePage): pi lam r_i^2 are the arrival times of a unit-rate Poisson process
and the angles are i.i.d. uniform, so the K nearest nodes are exact in distribution. Beyond
r_K the rest is a PPP outside the disk of radius r_K; its conditional mean contribution is
deterministic: 2 pi lam r_K^(2-gamma)/(gamma-2) to A, half of that times I to T, 0 to V. This
removes the truncation bias of a finite window for Theorem 2 of [1]. A guard zone (no node
within g of the target) starts the arrivals at pi lam g^2; the sampler stays exact, with an
exact E[1/A] (:func:`netsense.core.expectations.inv_sum_mean_plane_nearest_guard`).

Under a link model (:mod:`netsense.core.links`, :func:`plane_link_stats`):

* heights: the same K nearest nodes (horizontal radial ordering), weights (r^2 + h^2)^(-gamma/2)
  and vectors (r/d) u, and the far field's mean beyond r_K with heights. A's law is exactly the
  guarded sampler's with g' = sqrt(g^2 + h^2) (pi lam d^2 = pi lam (g^2 + h^2) + Gamma_i), so its
  E[1/A] is known exactly;
* shadowing alone (no height, no guard): the displacement theorem makes the shadowed PPP an
  unshadowed one of density lam E[S^(2/gamma)] for the whole FIM, so the sampler is the plane
  sampler at that density (exact; the gains need not be drawn);
* blockage: every LOS node, exactly and completely (:func:`netsense.core.links.los_nodes`): the
  LOS nodes are finitely many, there is no far field and K is not used.

With shadowing and a height or a guard zone the displacement breaks (both depend on the
physical distance): the K nearest nodes get i.i.d. gains and the far field's mean E[S] times its
own, like a windowed kind (no exact E[1/A] is known: the estimates are plain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import InputError
from ..fisher import LegStats, leg_stats
from ..links import (
    Link,
    draw_shadowing,
    far_field_tails,
    height_geometry,
    los_count_mean,
    los_nodes,
    shadowing_density_factor,
)
from .base import (
    Sampler,
    angles_to_units,
    check_density,
    check_positive_int,
    draw_factor,
    factor_mean,
    far_field_mean,
    link_tail_factor,
    linked_ragged_stats,
    with_far_field,
    with_tails,
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
        if self.blockage_per_m > 0:  # every LOS node
            return los_count_mean(lam, self.blockage_per_m, self.guard_m)
        return float(self.nearest)

    @property
    def scale_free(self) -> bool:
        # a guard radius, a height and 1/beta are lengths: lam pi g^2 changes with lam. Shadowing
        # alone is a density factor (displacement theorem): still scale-free.
        return self.guard_m == 0 and self.height_t_m == 0 and self.height_r_m == 0 \
            and self.blockage_per_m == 0

    def linked_stats(self, rng, lam, gamma, n_trials, link, node_factor=None) -> LegStats:
        return plane_link_stats(rng, lam, gamma, self.nearest, n_trials, link, node_factor,
                                self.guard_m)

    def linked_inv_sum_mean(self, lam, gamma, link):
        from ..expectations import (
            inv_sum_mean_link,
            inv_sum_mean_plane_nearest,
            inv_sum_mean_plane_nearest_guard,
        )

        if link.blockage_per_m > 0:  # every LOS node: the whole plane's conditional mean
            return inv_sum_mean_link(lam, gamma, height_m=link.height_m,
                                     blockage_per_m=link.blockage_per_m,
                                     shadowing_db=link.shadowing_db, r_min=self.guard_m)
        if link.shadowing_db == 0:  # heights: A is the guarded sampler's, g' = sqrt(g^2 + h^2)
            return inv_sum_mean_plane_nearest_guard(lam, gamma, self.nearest,
                                                    math.hypot(self.guard_m, link.height_m))
        if link.height_m == 0 and self.guard_m == 0:  # the displacement theorem
            return inv_sum_mean_plane_nearest(lam * shadowing_density_factor(
                link.shadowing_db, gamma), gamma, self.nearest)
        return None

    def usable_count_mean(self, lam, side="tx"):
        if self.blockage_per_m > 0:
            return los_count_mean(lam, self.blockage_per_m, self.guard_m)
        return math.inf


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


def plane_link_stats(rng: np.random.Generator, lam: float, gamma: float, nearest: int,
                     n_trials: int, link: Link, node_factor=None, guard_m: float = 0.0
                     ) -> LegStats:
    """LegStats of the ``plane`` sampler under a non-ideal ``link`` (module docstring: which
    construction each link model gets). Draws, in order: the nodes (and angles), the shadowing
    gains where they are drawn, the node factors."""
    lam = check_density(lam)
    if link.blockage_per_m > 0:
        owner, r2, ux, uy = los_nodes(rng, lam, link.blockage_per_m, guard_m, n_trials)
        return linked_ragged_stats(rng, owner, r2, ux, uy, n_trials, gamma, link, node_factor)
    if link.height_m == 0 and guard_m == 0:  # shadowing alone: the displacement theorem
        return plane_stats(rng, lam * shadowing_density_factor(link.shadowing_db, gamma), gamma,
                           nearest, n_trials, node_factor)
    if not gamma > 2.0:
        raise InputError("gamma", gamma, "the plane sampler needs gamma > 2 (the far field "
                         "of an infinite PPP diverges otherwise)")
    tail_factor = link_tail_factor(link, node_factor)  # checks E[factor] before drawing
    r2, ux, uy = plane_nodes(rng, lam, nearest, n_trials, guard_m)
    w, ax, ay = height_geometry(r2, ux, uy, gamma, link.height_m)
    if link.shadowing_db > 0:
        w = w * draw_shadowing(rng, link.shadowing_db, w.shape)
    if node_factor is not None:
        w = w * draw_factor(node_factor, rng, w.shape)
    a_tail, t_tail = far_field_tails(lam, gamma, r2[:, -1], link.height_m)  # beyond r_K
    return with_tails(leg_stats(w, ax, ay), tail_factor * a_tail, tail_factor * t_tail)
