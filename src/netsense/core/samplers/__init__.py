"""Point-process samplers for one side (TXs or RXs) of the network, and their registry.

Each sampler kind is one module holding a frozen parameter dataclass (a subclass of
:class:`~.base.Sampler`) and its vectorized sampling functions; :data:`SAMPLERS` maps the
config's ``sampler.kind`` to that class. Adding a sampler is one new module plus one entry
here: its key, label, legend text, config schema fragment and mapping round trip come with the
class, and no other code branches on a kind's name (CONTRIBUTING.md, "Add a sampler").

* ``plane`` (:mod:`.plane`, default): the K nearest nodes of a PPP on the whole plane by radial
  ordering, plus the conditional mean of the far field beyond r_K. Unbiased for Theorem 2.
* ``disk`` (:mod:`.disk`): a homogeneous PPP in a disk of radius R (the paper's finite window).
* ``matern`` (:mod:`.matern`): Matérn type II hard-core (repulsive), window + far-field mean.
* ``thomas`` (:mod:`.thomas`): Thomas cluster process (clustered), window + far-field mean.
* ``lattice`` (:mod:`.lattice`): perturbed hexagonal lattice, window + far-field mean
  (:mod:`.window` holds what the three share).
* :func:`~.stable.sample_stable_sum`: the exact law of A = sum L over the whole plane
  (positive stable), for eq. (23) alone; a check, not a sampler of networks.

``guard_m`` (:data:`COMMON_PARAMS`) is a parameter of every kind: no node closer than that to
the target. The three kinds above carry it as a field; for ``plane`` and ``disk`` an entry with
``guard_m`` > 0 is built as their guarded variant (:mod:`.guard`), and one without it, or with
0, as before (same class, key, label, stream and code version).
"""

from __future__ import annotations

import math
from dataclasses import fields

from ...errors import InputError
from .base import NodeFactor, Sampler, check_density
from .disk import DiskSampler
from .guard import GUARD_PARAM, GUARDED
from .lattice import LatticeSampler
from .matern import MaternSampler
from .plane import PlaneSampler
from .thomas import ThomasSampler

# The registry: sampler.kind -> its parameter class. One line per kind.
SAMPLERS: dict[str, type[Sampler]] = {
    PlaneSampler.kind: PlaneSampler,
    DiskSampler.kind: DiskSampler,
    MaternSampler.kind: MaternSampler,
    ThomasSampler.kind: ThomasSampler,
    LatticeSampler.kind: LatticeSampler,
}

DEFAULT_KIND = PlaneSampler.kind  # sampler.kind when a config entry leaves it out

# Parameters every kind takes (one schema property each; not in any kind's PARAMS).
COMMON_PARAMS: dict = dict(GUARD_PARAM)


def sampler_class(kind: str, field: str = "sampler.kind") -> type[Sampler]:
    """The registered class of ``kind``; an :class:`InputError` naming the kinds otherwise."""
    try:
        return SAMPLERS[kind]
    except (KeyError, TypeError):
        raise InputError(field, kind, f"must be one of {list(SAMPLERS)}") from None


def sampler_from_mapping(mapping: dict, field: str = "sampler") -> Sampler:
    """Build the sampler a config entry describes (``kind`` defaults to ``plane``).

    ``guard_m`` > 0 on a kind that has no such field (plane, disk) builds its guarded variant
    (:mod:`.guard`); absent or 0 it is ignored, so such an entry is the unguarded sampler."""
    cls = sampler_class(mapping.get("kind", DEFAULT_KIND), f"{field}.kind")
    guard = mapping.get("guard_m")
    if guard is not None and "guard_m" not in {f.name for f in fields(cls)}:
        if isinstance(guard, bool) or not isinstance(guard, (int, float)) \
                or not math.isfinite(float(guard)) or guard < 0:
            raise InputError(f"{field}.guard_m", guard, "must be a finite number >= 0 (metres; "
                             "0 = no guard zone)")
        if guard > 0:
            cls = GUARDED[cls]
    return cls.from_mapping(mapping)


def parameter_names() -> list[str]:
    """Every registered kind's parameter names, in registry order, then the common ones."""
    return [p for cls in SAMPLERS.values() for p in cls.PARAMS] + list(COMMON_PARAMS)


def schema_properties() -> dict:
    """JSON-schema properties of a sampler entry: ``kind`` and every kind's parameters.

    A parameter name belongs to one kind only (checked here), so the union is unambiguous;
    an entry may carry another kind's parameters, which that entry's sampler ignores.
    """
    props = {"kind": {"type": "string", "enum": list(SAMPLERS), "default": DEFAULT_KIND,
                      "description": "; ".join(f"{k}: {(cls.__doc__ or '').splitlines()[0]}"
                                               for k, cls in SAMPLERS.items())}}
    for cls in SAMPLERS.values():
        for name, sub in cls.PARAMS.items():
            if name in props:
                raise RuntimeError(f"sampler parameter {name!r} is defined by two kinds")
            props[name] = sub
    for name, sub in COMMON_PARAMS.items():
        if name in props:
            raise RuntimeError(f"sampler parameter {name!r} is both common and a kind's")
        props[name] = sub
    return props


__all__ = ["COMMON_PARAMS", "SAMPLERS", "DiskSampler", "LatticeSampler", "MaternSampler", "NodeFactor",
           "PlaneSampler", "Sampler", "ThomasSampler", "check_density",
           "parameter_names", "sampler_class", "sampler_from_mapping", "schema_properties"]
