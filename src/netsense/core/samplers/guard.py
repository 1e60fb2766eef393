"""Guarded variants of the ``plane`` and ``disk`` samplers: no node closer than ``guard_m`` to
the target (a guard zone).

They live here, not in :mod:`.plane` and :mod:`.disk`, so that those modules, and with them the
code version, stream keys and numbers of every unguarded cell, stay as they are: the registry
(:func:`netsense.core.samplers.sampler_from_mapping`) builds a guarded variant only for an entry
with ``guard_m`` > 0, and its ``kind`` stays ``plane`` or ``disk``.

* :class:`GuardedPlaneSampler`: exact by radial ordering, the arrival times pi lam r_i^2 of the
  nodes beyond g being g0 + Gamma_i with g0 = pi lam g^2 (a unit-rate Poisson process on
  [g0, inf)), plus the far field's conditional mean beyond r_K as in :mod:`.plane`. Its exact
  E[1/A] is :func:`netsense.core.expectations.inv_sum_mean_plane_nearest_guard`.
* :class:`GuardedDiskSampler`: a PPP in the annulus g <= r < R (r^2 uniform on [g^2, R^2]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ..fisher import LegStats, leg_stats
from .base import angles_to_units, check_density, draw_factor, factor_mean
from .disk import DiskSampler
from .plane import PlaneSampler

GUARD_PARAM = {"guard_m": {
    "type": "number", "minimum": 0, "default": 0.0,
    "description": "Guard radius g of every sampler kind: no node closer than g to the target "
                   "(0: no guard zone) [m]."}}


def check_guard_positive(field: str, value) -> float:
    """A finite guard radius > 0 [m] (a guarded variant with g = 0 would be a second name of
    the unguarded sampler), else an :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or value <= 0:
        raise InputError(field, value, "must be a finite number > 0 (metres) for a guarded "
                         "sampler")
    return float(value)


@dataclass(frozen=True)
class GuardedPlaneSampler(PlaneSampler):
    """K nearest nodes beyond the guard radius of an infinite PPP plus the far-field mean.

    nearest : int
        K, the number of explicit nearest nodes per side beyond the guard.
    guard_m : float
        Guard radius g [m] > 0.
    """

    guard_m: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "guard_m", check_guard_positive("sampler.guard_m",
                                                                 self.guard_m))

    def key(self) -> str:
        return f"{super().key()};guard={self.guard_m!r}"

    def label(self) -> str:
        return f"{super().label()}-g{self.guard_m:g}"

    def describe(self) -> str:
        return f"plane, K={int(self.nearest)}, guard {self.guard_m:g} m (unbiased)"

    def side_stats(self, rng, lam, gamma, n_trials, node_factor=None) -> LegStats:
        return guarded_plane_stats(rng, lam, gamma, self.nearest, self.guard_m, n_trials,
                                   node_factor)


def guarded_plane_stats(rng: np.random.Generator, lam: float, gamma: float, nearest: int,
                        guard_m: float, n_trials: int, node_factor=None) -> LegStats:
    """LegStats of :class:`GuardedPlaneSampler` (as :func:`.plane.plane_stats`, with the
    arrivals starting at pi lam g^2)."""
    if not gamma > 2.0:
        raise InputError("gamma", gamma, "the plane sampler needs gamma > 2 (the far field "
                         "of an infinite PPP diverges otherwise)")
    fmean = None if node_factor is None else factor_mean(node_factor)
    lam = check_density(lam)
    # Radial ordering outside the guard: pi lam r_i^2 = pi lam g^2 + Gamma_i.
    arrivals = math.pi * lam * guard_m**2 + np.cumsum(
        rng.standard_exponential(size=(n_trials, nearest)), axis=1)
    r2 = arrivals / (math.pi * lam)
    ux, uy = angles_to_units(rng, (n_trials, nearest))
    w = r2 ** (-0.5 * gamma)
    if node_factor is not None:
        w = w * draw_factor(node_factor, rng, w.shape)
    s = leg_stats(w, ux, uy)
    rk2 = r2[:, -1]
    tail = 2.0 * math.pi * lam * rk2 ** (1.0 - 0.5 * gamma) / (gamma - 2.0)  # as in .plane
    if fmean is not None:
        tail = tail * fmean
    return LegStats(A=s.A + tail, txx=s.txx + 0.5 * tail, txy=s.txy, tyy=s.tyy + 0.5 * tail,
                    vx=s.vx, vy=s.vy)


@dataclass(frozen=True)
class GuardedDiskSampler(DiskSampler):
    """Homogeneous PPP in the annulus between the guard radius and the window radius.

    radius_m : float
        Window radius R [m].
    guard_m : float
        Guard radius g [m], 0 < g < R.
    """

    guard_m: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        g = check_guard_positive("sampler.guard_m", self.guard_m)
        if not g < self.radius_m:
            raise InputError("sampler.guard_m", self.guard_m, f"must be below radius_m = "
                             f"{self.radius_m:g} m")
        object.__setattr__(self, "guard_m", g)

    def key(self) -> str:
        return f"{super().key()};guard={self.guard_m!r}"

    def label(self) -> str:
        return f"{super().label()}-g{self.guard_m:g}"

    def describe(self) -> str:
        return f"disk R={float(self.radius_m):g} m, guard {self.guard_m:g} m"

    def side_stats(self, rng, lam, gamma, n_trials, node_factor=None) -> LegStats:
        lam = check_density(lam)
        g2, r2max = self.guard_m**2, self.radius_m**2
        counts = rng.poisson(lam * math.pi * (r2max - g2), size=n_trials)
        total = int(counts.sum())
        r2 = g2 + (r2max - g2) * rng.uniform(size=total)  # uniform in the annulus
        ux, uy = angles_to_units(rng, total)
        owner = np.repeat(np.arange(n_trials), counts)
        w = r2 ** (-0.5 * gamma)
        if node_factor is not None:
            w = w * draw_factor(node_factor, rng, w.shape)
        wx, wy = w * ux, w * uy

        def per_trial(values):
            return np.bincount(owner, weights=values, minlength=n_trials)

        return LegStats(A=per_trial(w), txx=per_trial(wx * ux), txy=per_trial(wx * uy),
                        tyy=per_trial(wy * uy), vx=per_trial(wx), vy=per_trial(wy))


# The unguarded kinds whose guarded variant is built here (the registry's dispatch).
GUARDED = {PlaneSampler: GuardedPlaneSampler, DiskSampler: GuardedDiskSampler}
