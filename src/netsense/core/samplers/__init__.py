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
"""

from __future__ import annotations

from ...errors import InputError
from .base import NodeFactor, Sampler, check_density
from .disk import DiskSampler
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


def sampler_class(kind: str, field: str = "sampler.kind") -> type[Sampler]:
    """The registered class of ``kind``; an :class:`InputError` naming the kinds otherwise."""
    try:
        return SAMPLERS[kind]
    except (KeyError, TypeError):
        raise InputError(field, kind, f"must be one of {list(SAMPLERS)}") from None


def sampler_from_mapping(mapping: dict, field: str = "sampler") -> Sampler:
    """Build the sampler a config entry describes (``kind`` defaults to ``plane``)."""
    return sampler_class(mapping.get("kind", DEFAULT_KIND), f"{field}.kind").from_mapping(mapping)


def parameter_names() -> list[str]:
    """Every registered kind's parameter names, in registry order."""
    return [p for cls in SAMPLERS.values() for p in cls.PARAMS]


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
    return props


__all__ = ["SAMPLERS", "DiskSampler", "LatticeSampler", "MaternSampler", "NodeFactor",
           "PlaneSampler", "Sampler", "ThomasSampler", "check_density",
           "parameter_names", "sampler_class", "sampler_from_mapping", "schema_properties"]
