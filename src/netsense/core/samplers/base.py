"""What every sampler shares: the sampler interface, per-node factors and the density check.

A sampler samples ONE side (the TXs or the RXs) of ``n_trials`` independent networks around a
target at the origin, vectorized over trials, from a ``numpy.random.Generator``, and returns the
per-trial :class:`~netsense.core.fisher.LegStats` (path-loss weights L = r^-gamma and unit
vectors from the node to the target): all that eq. (18) and eq. (23) of [1] need in their
factorized form.

Per-node factors (e.g. a TX's beamforming gain g_k / M_t, :mod:`netsense.core.beam`): a
sampler's ``side_stats`` takes an optional ``node_factor`` callable(rng, shape) -> weights,
drawn from the same generator AFTER the node positions and angles of that side, and multiplied
into the path-loss weights. Without it no extra variates are drawn: the stream and the results
are those of the unweighted sampler, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ...errors import InputError
from ..fisher import LegStats


@dataclass(frozen=True)
class Sampler:
    """Base of every sampler's parameter object (one frozen dataclass per kind).

    A subclass sets ``kind``, ``PARAMS`` (the JSON-schema fragment of its parameters, each
    with a type, a ``default`` and a ``description`` with its unit), ``SUMMARY`` (a few words
    for figure titles), ``TABLE_COLUMNS`` ({result-table column: parameter}) and
    ``AXIS_LABELS`` ({parameter: figure axis label with unit}), and implements :meth:`key`,
    :meth:`label`, :meth:`describe` and :meth:`side_stats`. Its dataclass fields are exactly
    the keys of ``PARAMS``.
    """

    kind: ClassVar[str] = ""
    PARAMS: ClassVar[dict] = {}
    SUMMARY: ClassVar[str] = ""
    TABLE_COLUMNS: ClassVar[dict] = {}
    AXIS_LABELS: ClassVar[dict] = {}

    def key(self) -> str:
        """Canonical text of the parameters that shape the geometry (seeding and caching).

        Part of every random stream's key: it must never change for a given sampler."""
        raise NotImplementedError

    def label(self) -> str:
        """Short name on the cube's ``sampler`` coordinate (``plane-K64``)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Legend text for figures."""
        raise NotImplementedError

    def check_gamma(self, field: str, gamma: float) -> None:
        """Raise :class:`InputError` on ``field`` if this sampler cannot run at ``gamma``."""
        if not (math.isfinite(gamma) and gamma > 0):
            raise InputError(field, gamma, "must be finite and > 0")

    def side_stats(self, rng: np.random.Generator, lam: float, gamma: float, n_trials: int,
                   node_factor=None) -> LegStats:
        """Sample one side of ``n_trials`` independent networks (see the module docstring)."""
        raise NotImplementedError

    def to_mapping(self) -> dict:
        """``{"kind": ..., <parameter>: value}``, as a config entry writes it."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}

    @classmethod
    def from_mapping(cls, mapping: dict) -> Sampler:
        """Build from a config entry; keys of other kinds' parameters are ignored."""
        return cls(**{f.name: mapping[f.name] for f in fields(cls) if f.name in mapping})


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
