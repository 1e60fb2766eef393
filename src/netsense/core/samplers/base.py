"""What every sampler shares: the sampler interface, the guard zone, per-node factors, the far
field's mean, per-trial sums of ragged node lists, and the density check.

A sampler samples ONE side (the TXs or the RXs) of ``n_trials`` independent networks around a
target at the origin, vectorized over trials, from a ``numpy.random.Generator``, and returns the
per-trial :class:`~netsense.core.fisher.LegStats` (path-loss weights L = r^-gamma and unit
vectors from the node to the target): all that eq. (18) and eq. (23) of [1] need in their
factorized form.

Every kind takes a guard radius ``guard_m`` (no node closer than that to the target; 0, the
default, is no guard zone and leaves the kind's key, label, mapping and numbers as they were),
and the link models of :mod:`netsense.core.links` (antenna heights ``height_t_m``/``height_r_m``,
blockage ``blockage_per_m``, shadowing ``shadowing_db``; ``height_m`` in a mapping sets both
heights). A side whose link is the paper's ideal one is sampled by the kind's own
:meth:`Sampler.side_stats`, bit for bit as before; otherwise by its :meth:`Sampler.linked_stats`.

Per-node factors (e.g. a TX's beamforming gain g_k / M_t, :mod:`netsense.core.beam`): a
sampler's ``side_stats`` takes an optional ``node_factor`` callable(rng, shape) -> weights,
drawn from the same generator AFTER the node positions and angles of that side, and multiplied
into the path-loss weights. Without it no extra variates are drawn: the stream and the results
are those of the unweighted sampler, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from ...errors import InputError
from ..fisher import LegStats
from ..links import (
    LINK_PARAMS,
    Link,
    blockage_key,
    check_blockage,
    check_height,
    check_shadowing,
    draw_shadowing,
    height_geometry,
    los_probability,
    shadow_moment,
    shadowing_key,
)

# The guard zone, a parameter of every kind (one schema property; not in any kind's PARAMS).
GUARD_PARAM = {"guard_m": {
    "type": "number", "minimum": 0, "default": 0.0,
    "description": "Guard radius g of every sampler kind: no node closer than g to the target "
                   "(0: no guard zone) [m]."}}


@dataclass(frozen=True)
class Sampler:
    """Base of every sampler's parameter object (one frozen dataclass per kind).

    A subclass sets ``kind``, ``PARAMS`` (the JSON-schema fragment of its own parameters, each
    with a type, a ``default`` and a ``description`` with its unit), ``SUMMARY`` (a few words
    for figure titles), ``TABLE_COLUMNS`` ({result-table column: parameter}) and
    ``AXIS_LABELS`` ({parameter: figure axis label with unit}), and implements
    :meth:`_key`, :meth:`_label`, :meth:`_describe` (the guard zone is added to each here) and
    :meth:`side_stats`; where it knows them, :meth:`inv_sum_mean` (its exact E[1/A]),
    :meth:`nodes_per_trial` and :attr:`scale_free`. Its dataclass fields are the keys of
    ``PARAMS`` and ``guard_m`` (keyword-only, common to every kind).

    guard_m : float
        Guard radius g [m]: no node closer than g to the target (0: none).
    height_t_m, height_r_m : float
        Antenna heights of the TXs and of the RXs above the target's plane [m] (0: on it).
    blockage_per_m : float
        Blockage beta [1/m]: a leg is LOS with probability exp(-beta r) (0: always).
    shadowing_db : float
        Shadowing sigma [dB] of a per-leg lognormal gain with median 0 dB (0: none).
    """

    kind: ClassVar[str] = ""
    PARAMS: ClassVar[dict] = {}
    SUMMARY: ClassVar[str] = ""
    TABLE_COLUMNS: ClassVar[dict] = {}
    AXIS_LABELS: ClassVar[dict] = {}
    SIZE_PARAMS: ClassVar[tuple] = ()  # the parameters that set how many nodes a network holds
    guard_m: float = field(default=0.0, kw_only=True)
    height_t_m: float = field(default=0.0, kw_only=True)
    height_r_m: float = field(default=0.0, kw_only=True)
    blockage_per_m: float = field(default=0.0, kw_only=True)
    shadowing_db: float = field(default=0.0, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "guard_m", check_guard("sampler.guard_m", self.guard_m))
        for name in ("height_t_m", "height_r_m"):
            object.__setattr__(self, name, check_height(f"sampler.{name}", getattr(self, name)))
        object.__setattr__(self, "blockage_per_m", check_blockage("sampler.blockage_per_m",
                                                                  self.blockage_per_m))
        object.__setattr__(self, "shadowing_db", check_shadowing("sampler.shadowing_db",
                                                                 self.shadowing_db))
        if self.has_link and type(self).linked_stats is Sampler.linked_stats:
            raise InputError("sampler.kind", self.kind, "has no link models (heights, blockage, "
                             "shadowing): its class implements no linked_stats")

    def _key(self) -> str:
        """The kind's own parameters as canonical text (:meth:`key` adds the guard)."""
        raise NotImplementedError

    def _label(self) -> str:
        """The kind's own short name (:meth:`label` adds the guard)."""
        raise NotImplementedError

    def _describe(self) -> str:
        """The kind's own legend text (:meth:`describe` adds the guard)."""
        raise NotImplementedError

    def _guard_key(self) -> str:
        return self._key() + (f";guard={self.guard_m!r}" if self.guard_m > 0 else "")

    def key(self) -> str:
        """Canonical text of the parameters that shape the geometry (seeding and caching).

        Part of every random stream's key: it must never change for a given sampler. The link
        models add their non-default values (heights, blockage, shadowing) at the end."""
        if self.height_t_m == self.height_r_m:
            heights = f";height={self.height_t_m!r}" if self.height_t_m > 0 else ""
        else:
            heights = (f";height_t={self.height_t_m!r}" if self.height_t_m > 0 else "") \
                + (f";height_r={self.height_r_m!r}" if self.height_r_m > 0 else "")
        return self._guard_key() + heights + blockage_key(self.blockage_per_m) \
            + shadowing_key(self.shadowing_db)

    def side_key(self, side: str) -> str:
        """The key of one side's own stream (separate parameters): :meth:`key` with that side's
        link only, so that a side's samples are shared by every sampler that agrees on it."""
        return self._guard_key() + self.link(side).key()

    def label(self) -> str:
        """Short name on the cube's ``sampler`` coordinate (``plane-K64``, ``plane-K64-g10``,
        ``plane-K64-h10-b0.02-sh8``)."""
        out = self._label() + (f"-g{self.guard_m:g}" if self.guard_m > 0 else "")
        if self.height_t_m == self.height_r_m:
            out += f"-h{self.height_t_m:g}" if self.height_t_m > 0 else ""
        else:
            out += (f"-ht{self.height_t_m:g}" if self.height_t_m > 0 else "") \
                + (f"-hr{self.height_r_m:g}" if self.height_r_m > 0 else "")
        out += f"-b{self.blockage_per_m:g}" if self.blockage_per_m > 0 else ""
        return out + (f"-sh{self.shadowing_db:g}" if self.shadowing_db > 0 else "")

    def describe(self) -> str:
        """Legend text for figures."""
        out = self._describe() + (f", guard {self.guard_m:g} m" if self.guard_m > 0 else "")
        if self.height_t_m == self.height_r_m:
            out += f", antennas {self.height_t_m:g} m high" if self.height_t_m > 0 else ""
        elif self.height_t_m > 0 or self.height_r_m > 0:
            out += f", TX {self.height_t_m:g} m / RX {self.height_r_m:g} m high"
        if self.blockage_per_m > 0:
            out += f", blockage 1/beta = {1.0 / self.blockage_per_m:.3g} m"
        return out + (f", shadowing {self.shadowing_db:g} dB" if self.shadowing_db > 0 else "")

    # ---- link models (netsense.core.links) -------------------------------------------------

    @property
    def has_link(self) -> bool:
        """Whether any link model departs from the paper's ideal link."""
        return bool(self.height_t_m or self.height_r_m or self.blockage_per_m
                    or self.shadowing_db)

    def link(self, side: str) -> Link:
        """The link model of one side (``tx`` or ``rx``)."""
        if side not in ("tx", "rx"):
            raise InputError("side", side, "must be 'tx' or 'rx'")
        return Link(self.height_t_m if side == "tx" else self.height_r_m, self.blockage_per_m,
                    self.shadowing_db)

    def sample_side(self, rng: np.random.Generator, lam: float, gamma: float, n_trials: int,
                    node_factor=None, side: str = "tx") -> LegStats:
        """Sample one side of ``n_trials`` networks under its link model: the kind's own
        :meth:`side_stats` for the ideal link (bit for bit as before link models existed), its
        :meth:`linked_stats` otherwise."""
        link = self.link(side)
        if link.ideal:
            return self.side_stats(rng, lam, gamma, n_trials, node_factor=node_factor)
        return self.linked_stats(rng, lam, gamma, n_trials, link, node_factor=node_factor)

    def linked_stats(self, rng: np.random.Generator, lam: float, gamma: float, n_trials: int,
                     link: Link, node_factor=None) -> LegStats:
        """Sample one side under a non-ideal ``link`` (:mod:`netsense.core.links`): heights,
        blockage and shadowing. Every registered kind implements it."""
        raise NotImplementedError

    def side_inv_sum_mean(self, lam: float, gamma: float, side: str = "tx") -> float | None:
        """:meth:`inv_sum_mean` of one side under its link model (over the trials with A > 0);
        None where no exact value is known."""
        link = self.link(side)
        if link.ideal:
            return self.inv_sum_mean(lam, gamma)
        return self.linked_inv_sum_mean(lam, gamma, link)

    def linked_inv_sum_mean(self, lam: float, gamma: float, link: Link) -> float | None:
        """E[1/A | A > 0] of one side under a non-ideal ``link``, exactly; None: not known."""
        return None

    def usable_count_mean(self, lam: float, side: str = "tx") -> float | None:
        """The mean number of usable nodes of one side when that number is Poisson (a PPP in a
        window, or the LOS nodes under blockage), ``inf`` for infinitely many (a plane without
        blockage), None where the count's law is not Poisson (the localizable probability is
        then not known exactly)."""
        return None

    def check_gamma(self, field: str, gamma: float) -> None:
        """Raise :class:`InputError` on ``field`` if this sampler cannot run at ``gamma``."""
        if not (math.isfinite(gamma) and gamma > 0):
            raise InputError(field, gamma, "must be finite and > 0")

    def side_stats(self, rng: np.random.Generator, lam: float, gamma: float, n_trials: int,
                   node_factor=None) -> LegStats:
        """Sample one side of ``n_trials`` independent networks (see the module docstring)."""
        raise NotImplementedError

    def inv_sum_mean(self, lam: float, gamma: float) -> float | None:
        """E[1/A] of one unweighted side exactly (over the trials with A > 0), the known mean of
        the control variate; None where no exact value is known (the estimates are then plain)."""
        return None

    def nodes_per_trial(self, lam: float) -> float | None:
        """Mean nodes one side of one network holds at once while sampled (what sizes a block's
        memory), at density ``lam``; None where it is bounded and small."""
        return None

    @property
    def scale_free(self) -> bool:
        """A PPP of density lam is one of density 1 scaled by lam^(-1/2) (no length in the
        sampler): every statistic then scales exactly with lam, and a lam slope tests the Monte
        Carlo alone."""
        return False

    def to_mapping(self) -> dict:
        """``{"kind": ..., <parameter>: value}``, as a config entry writes it: the kind's own
        parameters, and the common ones only where they differ from their default (no guard
        zone: no ``guard_m``); equal heights as ``height_m``."""
        common = {"guard_m", *LINK_PARAMS}
        out = {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)
                                     if f.name not in common}}
        if self.guard_m > 0:
            out["guard_m"] = self.guard_m
        if self.height_t_m == self.height_r_m:
            if self.height_t_m > 0:
                out["height_m"] = self.height_t_m
        else:
            out.update({k: getattr(self, k) for k in ("height_t_m", "height_r_m")
                        if getattr(self, k) > 0})
        out.update({k: getattr(self, k) for k in ("blockage_per_m", "shadowing_db")
                    if getattr(self, k) > 0})
        return out

    @classmethod
    def from_mapping(cls, mapping: dict, field: str = "sampler") -> Sampler:
        """Build from a config entry; keys of other kinds' parameters are ignored. ``height_m``
        (both sides) and ``height_t_m``/``height_r_m`` are two forms of the heights: one of
        them may be non-zero."""
        kw = {f.name: mapping[f.name] for f in fields(cls) if f.name in mapping}
        tied = mapping.get("height_m", 0.0)
        if tied != 0:
            tied = check_height(f"{field}.height_m", tied)
            if any(mapping.get(k, 0.0) != 0 for k in ("height_t_m", "height_r_m")):
                raise InputError(f"{field}.height_m", tied, "give height_m (both sides) or "
                                 "height_t_m and height_r_m, not both forms")
            kw["height_t_m"] = kw["height_r_m"] = tied
        return cls(**kw)


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


def draw_factor(node_factor, rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Per-node factors of ``shape`` from ``node_factor``, checked for their shape."""
    f = np.asarray(node_factor(rng, shape), dtype=float)
    if f.shape != shape:
        raise InputError("node_factor", f.shape, f"must return an array of the node shape {shape}")
    return f


def factor_mean(node_factor) -> float:
    """E[factor] of ``node_factor`` (its ``mean`` attribute), checked."""
    m = getattr(node_factor, "mean", None)
    if m is None or isinstance(m, bool) or not math.isfinite(float(m)) or float(m) < 0:
        raise InputError("node_factor", node_factor, "the plane sampler needs E[factor] as a "
                         "finite attribute .mean >= 0 (for the far-field conditional mean)")
    return float(m)


def check_density(lam) -> float:
    """``lam`` as a float; an :class:`InputError` unless finite and > 0 (per m^2)."""
    v = float(lam)
    if not math.isfinite(v) or v <= 0:
        raise InputError("lam", lam, "density must be finite and > 0 (per m^2)")
    return v


def check_positive_int(field: str, value) -> int:
    """An integer >= 1, else an :class:`InputError` on ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(field, value, "must be an integer >= 1")
    return int(value)


def check_positive_length(field: str, value) -> float:
    """A finite length > 0 [m], else an :class:`InputError` on ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or value <= 0:
        raise InputError(field, value, "must be a finite number > 0 (metres)")
    return float(value)


def angles_to_units(rng: np.random.Generator, shape):
    """Unit vectors of i.i.d. azimuths uniform on (-pi, pi] (full azimuths, erratum 2)."""
    phi = rng.uniform(-math.pi, math.pi, size=shape)
    return np.cos(phi), np.sin(phi)


def check_guard(field: str, value) -> float:
    """A guard radius >= 0 [m] (0: none), else an :class:`InputError` on ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or value < 0:
        raise InputError(field, value, "must be a finite number >= 0 (metres; 0 = no guard zone)")
    return float(value)


def check_nonnegative_length(field: str, value) -> float:
    """A finite length >= 0 [m], else an :class:`InputError` on ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)) or value < 0:
        raise InputError(field, value, "must be a finite number >= 0 (metres)")
    return float(value)


def far_field_mean(lam: float, gamma: float, power: float | np.ndarray, fmean=None):
    """The conditional mean of A over a PPP (or, by Campbell's theorem, any stationary process)
    of intensity ``lam`` beyond a radius r: int_r^inf 2 pi lam s s^-gamma ds =
    2 pi lam r^(2 - gamma) / (gamma - 2), with ``power`` = r^(2 - gamma) as the caller computes
    it; times E[factor] (``fmean``) for factors i.i.d. and independent of the positions."""
    tail = 2.0 * math.pi * lam * power / (gamma - 2.0)
    return tail if fmean is None else tail * fmean


def with_tails(s: LegStats, a_tail, t_tail) -> LegStats:
    """``s`` plus a far field's mean: ``a_tail`` on A, ``t_tail`` on each diagonal entry of T
    (isotropy), nothing on the off-diagonal or on V."""
    return LegStats(A=s.A + a_tail, txx=s.txx + t_tail, txy=s.txy, tyy=s.tyy + t_tail,
                    vx=s.vx, vy=s.vy)


def with_far_field(s: LegStats, tail) -> LegStats:
    """``s`` plus the far field's mean ``tail`` of A: half of it on each diagonal entry of
    T = sum L u u^T (isotropy), nothing on the off-diagonal or on V = sum L u."""
    return LegStats(A=s.A + tail, txx=s.txx + 0.5 * tail, txy=s.txy, tyy=s.tyy + 0.5 * tail,
                    vx=s.vx, vy=s.vy)


def ragged_stats(owner: np.ndarray, w: np.ndarray, ux: np.ndarray, uy: np.ndarray,
                 n_trials: int) -> LegStats:
    """:class:`LegStats` per trial of flat node arrays (weights ``w``, unit vectors), node i
    belonging to trial ``owner[i]`` (a trial with no node sums to 0)."""
    wx, wy = w * ux, w * uy

    def per_trial(values):
        return np.bincount(owner, weights=values, minlength=n_trials)

    return LegStats(A=per_trial(w), txx=per_trial(wx * ux), txy=per_trial(wx * uy),
                    tyy=per_trial(wy * uy), vx=per_trial(wx), vy=per_trial(wy))


def link_tail_factor(link: Link, node_factor=None) -> float:
    """The factor by which i.i.d. per-leg gains scale a far field's mean: E[S] of the shadowing
    times E[factor] of the node factor (both independent of the positions)."""
    out = shadow_moment(link.shadowing_db, 1.0) if link.shadowing_db > 0 else 1.0
    return out if node_factor is None else out * factor_mean(node_factor)


def thin_to_los(rng: np.random.Generator, beta: float, r2: np.ndarray, *arrays):
    """Keep each node with its LOS probability exp(-beta r) (one uniform per node, drawn
    here): ``r2`` and ``arrays`` (flat, one value per node) restricted to the LOS nodes."""
    keep = rng.uniform(size=r2.shape) < los_probability(np.sqrt(r2), beta)
    return (r2[keep], *(a[keep] for a in arrays))


def linked_ragged_stats(rng: np.random.Generator, owner: np.ndarray, r2: np.ndarray,
                        ux: np.ndarray, uy: np.ndarray, n_trials: int, gamma: float, link: Link,
                        node_factor=None, tails=None) -> LegStats:
    """:class:`LegStats` per trial of usable nodes (flat arrays; node i of trial ``owner[i]``,
    squared horizontal distance ``r2`` [m^2], horizontal unit vector toward the target) under
    ``link``'s heights and shadowing: weights (r^2 + h^2)^(-gamma/2) times the gains, vectors
    (r/d) u. Draws, in order: the shadowing gains, then the node factors. ``tails``: a far
    field's mean (A, each diagonal entry of T), added as drawn by the caller."""
    w, ax, ay = height_geometry(r2, ux, uy, gamma, link.height_m)
    if link.shadowing_db > 0:
        w = w * draw_shadowing(rng, link.shadowing_db, w.shape)
    if node_factor is not None:
        w = w * draw_factor(node_factor, rng, w.shape)
    s = ragged_stats(owner, w, ax, ay, n_trials)
    return s if tails is None else with_tails(s, *tails)
