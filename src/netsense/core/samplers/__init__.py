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

``guard_m`` (:data:`COMMON_PARAMS`) is a parameter of every kind, a field of the base class: no
node closer than that to the target; 0 (the default) leaves a kind's key, label, mapping and
numbers as they are. So are the link models of :mod:`netsense.core.links` (``height_m`` or
``height_t_m``/``height_r_m``, ``blockage_per_m``, ``shadowing_db``), which every kind
implements in its ``linked_stats``; 0 (the default) is the paper's ideal link. What a kind
alone knows is an attribute of its class: its exact E[1/A]
(:meth:`~.base.Sampler.inv_sum_mean`), how many nodes a network holds while it is sampled
(:meth:`~.base.Sampler.nodes_per_trial`) and whether it is scale-free
(:attr:`~.base.Sampler.scale_free`); no code outside this package branches on a kind.
"""

from __future__ import annotations

from ...errors import InputError
from ..links import LINK_PARAMS
from .base import GUARD_PARAM, NodeFactor, Sampler, check_density
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

# Parameters every kind takes (one schema property each; not in any kind's PARAMS): the guard
# zone and the link models (netsense.core.links).
COMMON_PARAMS: dict = {**GUARD_PARAM, **LINK_PARAMS}


def sampler_class(kind: str, field: str = "sampler.kind") -> type[Sampler]:
    """The registered class of ``kind``; an :class:`InputError` naming the kinds otherwise."""
    try:
        return SAMPLERS[kind]
    except (KeyError, TypeError):
        raise InputError(field, kind, f"must be one of {list(SAMPLERS)}") from None


def sampler_from_mapping(mapping: dict, field: str = "sampler") -> Sampler:
    """Build the sampler a config entry describes (``kind`` defaults to ``plane``)."""
    return sampler_class(mapping.get("kind", DEFAULT_KIND), f"{field}.kind").from_mapping(mapping,
                                                                                      field)


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
