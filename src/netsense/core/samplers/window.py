"""What the stationary non-Poisson samplers share: a window around the target plus the far field.

The ``matern``, ``thomas`` and ``lattice`` samplers have no radial ordering: they sample the
process in a disk of radius R around the target (the target at the origin) and add the far
field's MEAN by Campbell's theorem, E[sum_{|x| > R} f(x)] = lam int_{|x| > R} f(x) dx for any
stationary process of intensity lam: 2 pi lam R^(2 - gamma) / (gamma - 2) to A and half of it to
each diagonal entry of T = sum L u u^T (isotropy), nothing to V = sum L u. This is what the
``plane`` sampler does beyond its K-th node (:mod:`.plane`), with R fixed instead of r_K.

R is set by the mean node count in the window, mu = lam pi R^2 (:data:`WINDOW_NODES`), so the
window is the same in units of the mean spacing at every density. The relative bias of E[eq. 18]
and of E[1/A] that replacing the far field's fluctuations by its mean leaves decays like
mu^(1 - gamma) (its variance over A^2); benchmarks/window_bias.py measures it for every kind
against R, and the default keeps it below 0.5% for gamma >= 2.5 (docs: guide/findings.md, the
window-bias table).

A guard zone (``guard_m`` = g > 0) removes the nodes closer than g to the target.

Link models (:mod:`netsense.core.links`, :func:`window_link_stats`): heights and shadowing act on
each node of the window, and the far field's mean is that of nodes at height h with gains of
mean E[S]. Under blockage a mean is the wrong stand-in for the far field: its LOS nodes are few
(their mean count 2 pi lam/beta^2 (1 + beta R) e^(-beta R) is often below one) and whether there
is one decides whether a side is usable. So the window's nodes are thinned to their LOS ones,
and beyond R the LOS nodes of a PPP of the same intensity are sampled exactly and completely
(:func:`netsense.core.links.los_nodes`); the kind's correlations beyond R are left out, as the
far field's mean leaves them out without blockage.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InputError
from ..fisher import LegStats
from ..links import far_field_tails, los_count_mean, los_nodes
from .base import (
    check_density,
    draw_factor,
    factor_mean,
    far_field_mean,
    link_tail_factor,
    linked_ragged_stats,
    ragged_stats,
    thin_to_los,
    with_far_field,
)

# Mean node count in the window, mu = lam pi R^2: the bias target is |relative bias| < 0.5% of
# E[eq. 18] and E[1/A] at gamma >= 2.5 for every kind (measured: benchmarks/window_bias.py,
# benchmarks/results/window-bias.json).
WINDOW_NODES = 400.0


def window_radius(lam: float, nodes: float = WINDOW_NODES) -> float:
    """R [m] of the window holding ``nodes`` nodes on average at density ``lam`` [m^-2]."""
    return math.sqrt(nodes / (math.pi * lam))


def check_window_gamma(kind: str, field: str, gamma: float) -> None:
    """The far field's mean is finite only for gamma > 2 (an :class:`InputError` otherwise)."""
    if not (math.isfinite(gamma) and gamma > 2.0):
        raise InputError(field, gamma, f"must be > 2 with sampler.kind {kind} (the far field's "
                         "mean beyond the window, 2 pi lam R^(2-gamma)/(gamma-2), diverges "
                         "for gamma <= 2)")


def disk_points(rng: np.random.Generator, counts: np.ndarray, radius_m: float):
    """Uniform points in a disk of radius ``radius_m`` centred at the origin: flat x, y."""
    total = int(counts.sum())
    r = radius_m * np.sqrt(rng.uniform(size=total))  # uniform in the disk: r^2 uniform
    phi = rng.uniform(-math.pi, math.pi, size=total)
    return r * np.cos(phi), r * np.sin(phi)


def window_nodes_per_trial(window_nodes: float, lam: float, blockage_per_m: float) -> float:
    """Nodes one side holds while sampled: the kind's generated window, plus the LOS nodes
    sampled beyond it under blockage."""
    if blockage_per_m == 0:
        return window_nodes
    return window_nodes + los_count_mean(lam, blockage_per_m, window_radius(lam))



def _check_window(gamma: float, radius_m: float, guard_m: float) -> None:
    if not gamma > 2.0:
        raise InputError("gamma", gamma, "a windowed sampler needs gamma > 2 (the far field's "
                         "mean diverges otherwise)")
    if not guard_m < radius_m:
        raise InputError("sampler.guard_m", guard_m, f"must be below the window radius "
                         f"{radius_m:g} m at this density")


def _in_window(owner, x, y, radius_m: float, guard_m: float):
    """(owner, r^2, u_x, u_y) of the nodes with guard_m <= r < radius_m (r > 0), u the unit
    vector from the node to the target."""
    r2 = x * x + y * y
    keep = (r2 < radius_m * radius_m) & (r2 >= guard_m * guard_m) & (r2 > 0.0)
    owner, x, y, r2 = owner[keep], x[keep], y[keep], r2[keep]
    r = np.sqrt(r2)
    return owner, r2, -x / r, -y / r

def window_link_stats(rng: np.random.Generator, owner: np.ndarray, x: np.ndarray, y: np.ndarray,
                      n_trials: int, lam: float, gamma: float, radius_m: float, link,
                      guard_m: float = 0.0, node_factor=None) -> LegStats:
    """:func:`window_stats` under a non-ideal ``link`` (module docstring). Draws, after the
    kind's positions: the LOS uniforms of the window's nodes and the LOS nodes beyond it (under
    blockage), the shadowing gains, the node factors."""
    _check_window(gamma, radius_m, guard_m)
    tail_factor = link_tail_factor(link, node_factor)  # checks E[factor] before drawing
    owner, r2, ux, uy = _in_window(owner, x, y, radius_m, guard_m)
    if link.blockage_per_m > 0:
        r2, owner, ux, uy = thin_to_los(rng, link.blockage_per_m, r2, owner, ux, uy)
        f_owner, f_r2, f_ux, f_uy = los_nodes(rng, lam, link.blockage_per_m, radius_m, n_trials)
        return linked_ragged_stats(rng, np.concatenate([owner, f_owner]),
                                   np.concatenate([r2, f_r2]), np.concatenate([ux, f_ux]),
                                   np.concatenate([uy, f_uy]), n_trials, gamma, link,
                                   node_factor)
    a_tail, t_tail = far_field_tails(lam, gamma, radius_m * radius_m, link.height_m)
    return linked_ragged_stats(rng, owner, r2, ux, uy, n_trials, gamma, link, node_factor,
                               (tail_factor * a_tail, tail_factor * t_tail))


def window_stats(rng: np.random.Generator, owner: np.ndarray, x: np.ndarray, y: np.ndarray,
                 n_trials: int, lam: float, gamma: float, radius_m: float, guard_m: float = 0.0,
                 node_factor=None) -> LegStats:
    """LegStats of the nodes at (x, y) [m] (trial ``owner``) inside the window, plus the far
    field's mean.

    Nodes with r >= ``radius_m`` are dropped (the far field's mean stands for them) and so are
    those with r < ``guard_m``. ``node_factor`` (optional) is drawn after the positions, for
    the kept nodes in their flat order, and E[factor] scales the far field's mean.
    """
    _check_window(gamma, radius_m, guard_m)
    fmean = None if node_factor is None else factor_mean(node_factor)
    owner, r2, ux, uy = _in_window(owner, x, y, radius_m, guard_m)
    w = r2 ** (-0.5 * gamma)  # path loss L = r^-gamma
    if node_factor is not None:
        w = w * draw_factor(node_factor, rng, w.shape)
    # Campbell's theorem beyond R: the term the plane sampler adds beyond r_K
    return with_far_field(ragged_stats(owner, w, ux, uy, n_trials),
                          far_field_mean(lam, gamma, radius_m ** (2.0 - gamma), fmean))


class WindowedKind:
    """What the kinds sampled in a window around the target share (``matern``, ``thomas``,
    ``lattice``): a kind gives only its positions (:meth:`window_points`); the window's
    statistics, plain (:func:`window_stats`) or under its link model
    (:func:`window_link_stats`), its gamma range and its mean usable count follow from them.
    Listed before :class:`~.base.Sampler` among a kind's bases."""

    def window_points(self, rng: np.random.Generator, lam: float, radius_m: float,
                      n_trials: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner trial, x, y) [m] of the kind's nodes of ``n_trials`` networks around the
        window of radius ``radius_m``."""
        raise NotImplementedError

    def check_gamma(self, field: str, gamma: float) -> None:
        check_window_gamma(self.kind, field, gamma)

    def side_stats(self, rng, lam, gamma, n_trials, node_factor=None) -> LegStats:
        lam = check_density(lam)
        radius = window_radius(lam)
        owner, x, y = self.window_points(rng, lam, radius, n_trials)
        return window_stats(rng, owner, x, y, n_trials, lam, gamma, radius, self.guard_m,
                            node_factor)

    def linked_stats(self, rng, lam, gamma, n_trials, link, node_factor=None) -> LegStats:
        lam = check_density(lam)
        radius = window_radius(lam)
        owner, x, y = self.window_points(rng, lam, radius, n_trials)
        return window_link_stats(rng, owner, x, y, n_trials, lam, gamma, radius, link,
                                 self.guard_m, node_factor)

    def usable_count_mean(self, lam, side="tx"):
        # every node of the plane is usable without blockage; with it, not known in closed form
        return None if self.blockage_per_m > 0 else math.inf
