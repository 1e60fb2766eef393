"""Sweep configuration: safe YAML loading, schema validation with defaults, one-line errors.

The schema is the workflow's ``schemas/config.schema.yaml`` (:mod:`.schema` reads it), completed
at load time with what the registries own: the properties of a sampler entry come from
:data:`netsense.core.samplers.SAMPLERS` and the beam models from :mod:`netsense.core.beam`.
The validation is the same from the CLI, the Snakefile and tests. Preconditions of the studies
(config key ``analyses``) are checked by :func:`netsense.analysis.studies.check_config`, which
the Snakefile and ``netsense run`` call.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from jsonschema import Draft202012Validator

from ..core.beam import BEAM_MODELS
from ..core.samplers import Sampler, parameter_names, sampler_from_mapping, schema_properties
from ..core.system import SystemParams
from ..errors import InputError
from ..files import read_text
from .axes import (
    AXES,
    AXES_TABLE,
    LAM_DIMS,
    LINK_DIMS,
    M_DIMS,
    PAPER_POINT,
    SAMPLER_DIM,
    SEPARATE,
    SHAPE,
    TRIAL_DIM,
    sweep_axes,
    sweep_schema,
)
from .schema import safe_load, schema_file

# Config keys that do not shape the cube: changing them re-draws figures and tables, never
# re-assembles. The rest of the config is the cube's identity (its attribute config_json).
VIEW_KEYS = ("dask", "plot", "analyses", "estimator")


def cube_config(raw: dict) -> dict:
    """The part of a config that shapes the cube."""
    return {k: v for k, v in raw.items() if k not in VIEW_KEYS}


def view_config(raw: dict) -> dict:
    """The part of a config that figures and studies read (everything but ``dask``)."""
    return {k: v for k, v in raw.items() if k != "dask"}


def schema() -> dict:
    """The config schema, with the sweep's axes, the sampler entry and the beam models filled in
    from the axes table and the registries."""
    sch = schema_file()
    sch["properties"]["sweep"].update(sweep_schema())
    # plot.reference takes a value of every axis (the link axes too), typed as one of its values
    ref = sch["properties"]["plot"]["properties"]["reference"]["properties"]
    for a in AXES_TABLE:
        ref.setdefault(a.name, a.items)
    entry = sch["$defs"]["sampler"]
    entry["properties"] = {**schema_properties(), **entry.get("properties", {})}
    entry["properties"]["beam"]["enum"] = list(BEAM_MODELS)
    return sch


def load_yaml(path) -> dict:
    """Load YAML safely (no object construction); errors name the file."""
    text = read_text("configfile", path)
    try:
        doc = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError("configfile", str(path), f"is not valid YAML ({problem}{where})") from None
    if not isinstance(doc, dict):
        raise InputError("configfile", str(path), "must be a YAML mapping of config keys")
    return doc


def _walk_nonfinite(obj, path=""):
    if isinstance(obj, float) and not math.isfinite(obj):
        raise InputError(path or "config", obj, "NaN and inf are not allowed; use finite numbers")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _walk_nonfinite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk_nonfinite(v, f"{path}[{i}]")


_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _coerce_numbers(inst, sch):
    """Turn number-like strings into floats where the schema wants a number.

    Some YAML 1.1 loaders (including the one Snakemake uses for ``configfile:``) read ``30e9``
    as a string; users mean a number.
    """
    if isinstance(inst, dict) and _is_object(sch):
        for key, sub in sch.get("properties", {}).items():
            if key in inst:
                inst[key] = _coerce_numbers(inst[key], sub)
        return inst
    if isinstance(inst, list) and "items" in sch:
        return [_coerce_numbers(v, sch["items"]) for v in inst]
    types = sch.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if "number" in types and isinstance(inst, str) and _FLOAT_TEXT.match(inst.strip()):
        return float(inst)
    return inst


def _is_object(sch) -> bool:
    t = sch.get("type")
    return t == "object" or (isinstance(t, list) and "object" in t)


def _fill_defaults(inst, sch):
    """Fill schema defaults in place, also inside a nullable block that is present."""
    if not isinstance(inst, dict) or not _is_object(sch):
        return
    for key, sub in sch.get("properties", {}).items():
        if key not in inst and "default" in sub:
            inst[key] = copy.deepcopy(sub["default"])
        if key in inst:
            _fill_defaults(inst[key], sub)


def _path(err) -> str:
    out = ""
    for p in err.absolute_path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "config"


def _describe(err, prefix: str = "") -> InputError:
    path = _path(err)
    if prefix:
        path = prefix if path == "config" else f"{prefix}.{path}"
    v, val = err.validator, err.validator_value
    if v == "required":
        missing = [k for k in val if k not in err.instance]
        key = f"{path}.{missing[0]}" if path != "config" else missing[0]
        return InputError(key, None, "required key is missing")
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        key = f"{path}.{extra[0]}" if path != "config" else extra[0]
        near = difflib.get_close_matches(str(extra[0]), allowed, n=1)
        guess = f"did you mean '{near[0]}'? " if near else ""
        return InputError(key, err.instance[extra[0]],
                          f"unknown key (typo?); {guess}allowed: {allowed}")
    if v == "type":
        return InputError(path, err.instance, f"must be of type {val}")
    if v == "minimum":
        return InputError(path, err.instance, f"must be >= {val}")
    if v == "exclusiveMinimum":
        return InputError(path, err.instance, f"must be > {val}")
    if v == "minItems":
        return InputError(path, err.instance, f"must list at least {val} value(s)")
    if v == "uniqueItems":
        return InputError(path, err.instance, "values must not repeat")
    if v == "enum":
        return InputError(path, err.instance, f"must be one of {val}")
    if v == "pattern":
        return InputError(path, err.instance, f"must match {val}")
    if v == "anyOf" and path.startswith("sweep.lam"):  # lam, lam_t, lam_r
        return InputError(path, err.instance, "must be a density > 0 per m^2, or a fraction like 1/900")
    if v == "anyOf" and path == "sampler":
        keys = ", ".join(["kind", *parameter_names(), "beam"])
        return InputError(path, err.instance, f"must be a sampler mapping ({keys}) or a "
                          "non-empty list of them")
    return InputError(path, err.instance, err.message)


@dataclass(frozen=True)
class SweepConfig:
    """The validated, normalized sweep.

    ``values`` holds the axes the sweep gives ({axis name: its values, sorted ascending}), rows of
    :data:`netsense.pipeline.axes.AXES_TABLE`: a tied axis (``M``: M_t = M_r, ``lam``:
    lam_t = lam_r) or both of its separate pair. ``cfg.<axis>`` reads one (empty where the sweep
    does not give it); everything else about the axes derives from the table.
    """

    name: str
    seed: int
    trials: int
    block_trials: int
    shard_blocks: int
    values: dict
    samplers: tuple[Sampler, ...]
    beams: tuple[str, ...]  # TX beam model per sampler entry (full: the paper's Remark 1)
    system: SystemParams
    trial_chunk: int
    analyses: tuple[str, ...]
    reference: dict
    dask: dict
    raw: dict = field(compare=False, repr=False)

    def __getattr__(self, name):
        if name in AXES:  # an axis the sweep does not give
            return tuple(self.__dict__.get("values", {}).get(name, ()))
        raise AttributeError(name)

    @property
    def param_axes(self) -> tuple:
        """The cube's parameter axes in order (rows of the axes table)."""
        return sweep_axes(self.values)

    @property
    def separate_M(self) -> bool:
        """The sweep gives M_t and M_r (two cube dims) instead of the tied M."""
        return any(AXES[d].tied is not None for d in self.m_dims)

    @property
    def separate_lam(self) -> bool:
        """The sweep gives lam_t and lam_r (two cube dims) instead of the tied lam."""
        return any(AXES[d].tied is not None for d in self.lam_dims)

    @property
    def dims(self) -> tuple[str, ...]:
        """The cube's dims: sampler, the parameter axes, trial."""
        return (SAMPLER_DIM, *(a.name for a in self.param_axes), TRIAL_DIM)

    @property
    def m_dims(self) -> tuple[str, ...]:
        """The antenna dims (``M``, or ``M_t`` and ``M_r``)."""
        return tuple(d for d in M_DIMS if d in self.values)

    @property
    def lam_dims(self) -> tuple[str, ...]:
        """The density dims (``lam``, or ``lam_t`` and ``lam_r``)."""
        return tuple(d for d in LAM_DIMS if d in self.values)

    @property
    def shape_dims(self) -> tuple[str, ...]:
        """The dims whose every value is sampled: the cells' coordinates (role ``shape``)."""
        return tuple(a.name for a in self.param_axes if a.role == SHAPE)

    @property
    def densities(self) -> list[tuple[float, ...]]:
        """Every density point in cube order: (lam,) tied, (lam_t, lam_r) separate."""
        return list(itertools.product(*(self.values[d] for d in self.lam_dims)))

    @property
    def n_blocks(self) -> int:
        """Blocks per cell."""
        return -(-self.trials // self.block_trials)

    @property
    def sampler_labels(self) -> list[str]:
        """The cube's ``sampler`` coordinate: one label per sampler entry."""
        return [model_label(s, b) for s, b in zip(self.samplers, self.beams, strict=True)]

    @property
    def tx_antenna_dim(self) -> str:
        """The dim that sets M_t (``M`` tied, ``M_t`` separate)."""
        (tx,) = [d for d in self.m_dims if "M_t" in AXES[d].sets]
        return tx

    def sampled_M(self, beam: str) -> list[tuple[int | None, int | None]]:
        """(index into the TX antenna axis, M_t) of the separately sampled antenna counts of a
        beam model: [(None, None)] for ``full`` (one layout serves every M), every value of the
        axis that sets M_t otherwise (a beam model weights the TXs only)."""
        return [(None, None)] if beam == "full" else list(enumerate(self.values[self.tx_antenna_dim]))

    def axes(self) -> dict:
        """{axis name: its sorted values}, in the cube's order."""
        return {a.name: list(self.values[a.name]) for a in self.param_axes}

    def grids(self, dims=None) -> dict:
        """{network parameter (:data:`~netsense.pipeline.axes.NETWORK_PARAMS`): its values as an
        array broadcast over ``dims`` (default: the cube's parameter dims)}, each parameter from
        the axis that sets it (a tied axis sets both sides' from one array)."""
        dims = [a.name for a in self.param_axes] if dims is None else list(dims)
        out = {}
        for name in dims:
            shape = [1] * len(dims)
            shape[dims.index(name)] = -1
            arr = np.asarray(self.values[name], float).reshape(shape)
            out.update({p: arr for p in AXES[name].sets})
        return out


def _reference(ref: dict, axes: dict) -> dict:
    out = {}
    for k, values in axes.items():
        if k in ref:
            v = AXES[k].parse(f"plot.reference.{k}", ref[k])
            match = [x for x in values if math.isclose(x, v, rel_tol=1e-9)]
            if not match:
                raise InputError(f"plot.reference.{k}", ref[k], f"must be one of sweep.{k} {values}")
            out[k] = match[0]
        else:
            paper = [x for x in values if math.isclose(x, PAPER_POINT[k], rel_tol=1e-9)]
            out[k] = paper[0] if paper else values[len(values) // 2]
    other = sorted(set(ref) - set(axes))
    if other:
        raise InputError(f"plot.reference.{other[0]}", ref[other[0]],
                         f"is not an axis of this sweep; its axes are {list(axes)}")
    return out


def _sweep_layout(sw: dict) -> tuple[str, ...]:
    """The axes the sweep gives: every row of the axes table that is not one of a separate pair,
    or, for a tied axis, its pair instead; one clear error for a mix of a tied key and its pair,
    or half a pair."""
    out = [a.name for a in AXES.values() if a.tied is None and a.name not in SEPARATE
           and (a.default is None or a.name in sw)]
    for tied, (a, b) in SEPARATE.items():
        has = [k for k in (a.name, b.name) if k in sw]
        if tied in sw and has:
            raise InputError(f"sweep.{has[0]}", sw[has[0]], f"give either sweep.{tied} (tied, "
                             f"{a.name} = {b.name}) or both sweep.{a.name} and sweep.{b.name}, "
                             "not both")
        if len(has) == 1:
            miss = b.name if has[0] == a.name else a.name
            raise InputError(f"sweep.{miss}", None, f"required key is missing (separate "
                             f"{tied} needs both sweep.{a.name} and sweep.{b.name}; or give "
                             f"sweep.{tied} alone)")
        if tied not in sw and not has and AXES[tied].default is None:
            raise InputError(f"sweep.{tied}", None, f"required key is missing (or give both "
                             f"sweep.{a.name} and sweep.{b.name})")
        if has or tied in sw or AXES[tied].default is None:
            out += [a.name, b.name] if has else [tied]
    return tuple(a.name for a in sweep_axes(out))


def default_analyses(separate_M: bool, separate_lam: bool) -> list[str]:
    """The config's ``analyses`` when it gives none, as the schema's description states: what
    draws the sweep's axes. Fig. 1 draws the tied M and lam; the asymmetric study needs separate
    densities; no study draws separate antennas with a tied density, which get the slope fits
    only. (tests/pipeline/test_config.py checks each against the studies' preconditions.)"""
    if separate_lam:
        return ["asymmetric"]
    return [] if separate_M else ["fig1"]


def _first_error(inst, sch, prefix: str = ""):
    errors = sorted(Draft202012Validator(sch).iter_errors(inst),
                    key=lambda e: (len(list(e.absolute_path)), str(list(e.absolute_path))))
    return _describe(errors[0], prefix) if errors else None


def model_label(spec: Sampler, beam: str) -> str:
    """Label of a (sampler, beam) network model: ``plane-K64``, ``disk-R500-codebook``."""
    return spec.label() if beam == "full" else f"{spec.label()}-{beam}"


def linked(sampler: Sampler, values: dict) -> Sampler:
    """``sampler`` with the link parameters the link axes' ``values`` ({axis: value}) set
    (:data:`netsense.pipeline.axes.LINK_PARAMS`): what a cell at those values samples, built by
    the sampler's own constructor (its checks run). No link axis: ``sampler`` itself."""
    import dataclasses

    kw = {p: float(v) for a, v in values.items() if a in LINK_DIMS for p in AXES[a].sets}
    return dataclasses.replace(sampler, **kw) if kw else sampler


# The keys of a sampler entry each link axis sets (an entry may not give one that is swept).
_ENTRY_KEYS = {"height_m": ("height_m", "height_t_m", "height_r_m"),
               "blockage_per_m": ("blockage_per_m",), "shadowing_db": ("shadowing_db",)}


def _entry_keys(axis: str) -> tuple[str, ...]:
    return _ENTRY_KEYS[AXES[axis].tied or axis]


def _check_links(raw_entries: list, samplers, axes: dict) -> None:
    """A link axis is refused with a sampler entry that gives the same key a non-zero value, and
    with an entry whose sampler cannot take one of its values (one line naming
    ``sweep.<axis>``)."""
    links = [d for d in LINK_DIMS if d in axes]
    for d in links:
        for i, item in enumerate(raw_entries):
            where = f"sampler[{i}]" if len(raw_entries) > 1 else "sampler"
            # a non-zero value: the filled config the workflow passes on gives every key its
            # default 0 (the ideal link), which agrees with any axis
            both = [k for k in _entry_keys(d) if isinstance(item, dict) and item.get(k, 0) != 0]
            if both:
                raise InputError(f"{where}.{both[0]}", item[both[0]], f"is also swept by "
                                 f"sweep.{d}; give it in one place: the sweep axis or the "
                                 "sampler entry, not both")
    for s in samplers:
        for point in itertools.product(*(axes[d] for d in links)):
            try:
                linked(s, dict(zip(links, point, strict=True)))
            except InputError as exc:
                named = [(d, v) for d, v in zip(links, point, strict=True) if v] \
                    or [(links[0], point[0])]
                d, v = named[0]
                raise InputError(f"sweep.{d}", v, f"cannot be sampled with sampler "
                                 f"{s.label()} ({exc})") from None


def _samplers(doc: dict, sch: dict) -> tuple[tuple[Sampler, ...], tuple[str, ...]]:
    """Validate ``sampler`` (one mapping or a list), fill each entry's defaults, build the specs.

    Errors name the entry: ``sampler.nearest`` for a mapping, ``sampler[1].nearest`` in a list.
    """
    raw = doc["sampler"]
    items = raw if isinstance(raw, list) else [raw]
    sub = sch["$defs"]["sampler"]
    specs, beams = [], []
    for i, item in enumerate(items):
        prefix = f"sampler[{i}]" if isinstance(raw, list) else "sampler"
        _coerce_numbers(item, sub)
        err = _first_error(item, sub, prefix)
        if err is not None:
            raise err
        _fill_defaults(item, sub)
        specs.append(sampler_from_mapping(item, prefix))
        beams.append(item["beam"])
    labels = [model_label(s, b) for s, b in zip(specs, beams, strict=True)]
    for i, lab in enumerate(labels):
        if lab in labels[:i]:
            raise InputError(f"sampler[{i}]", items[i], f"repeats sampler {lab}; list each once")
    return tuple(specs), tuple(beams)


def resolve(doc: dict) -> SweepConfig:
    """Validate a config mapping (filling defaults in place) and return a :class:`SweepConfig`."""
    if not isinstance(doc, dict):
        raise InputError("config", type(doc).__name__, "must be a mapping of config keys")
    sch = schema()
    _coerce_numbers(doc, sch)
    _walk_nonfinite(doc)
    given = doc.get("sampler")
    # the keys each sampler entry gives, before defaults fill them (_check_links)
    raw_entries = [dict(i) if isinstance(i, dict) else i
                   for i in (given if isinstance(given, list) else [given])]
    errors = sorted(Draft202012Validator(sch).iter_errors(doc),
                    key=lambda e: (len(list(e.absolute_path)), str(list(e.absolute_path))))
    if errors:
        raise _describe(errors[0])
    _fill_defaults(doc, sch)
    samplers, beams = _samplers(doc, sch)
    sw = doc["sweep"]
    layout = _sweep_layout(sw)
    doc.setdefault("analyses", default_analyses(*(any(AXES[n].tied == t for n in layout)
                                                  for t in ("M", "lam"))))
    axes = {}
    for ax in sweep_axes(layout):
        vals = sorted(int(v) if ax.integer else ax.parse(f"sweep.{ax.name}[{i}]", v)
                      for i, v in enumerate(sw[ax.name]))
        for x, y in itertools.pairwise(vals):
            if math.isclose(x, y, rel_tol=1e-9):
                raise InputError(f"sweep.{ax.name}", y, "values must not repeat")
        axes[ax.name] = vals
    _check_links(raw_entries, samplers, axes)
    gamma = axes["gamma"]
    for s in samplers:
        s.check_gamma("sweep.gamma", gamma[0])
    d = doc["dask"]
    if d.get("scheduler_address") and d.get("scheduler_file"):
        raise InputError("dask.scheduler_file", d["scheduler_file"],
                         "give either dask.scheduler_address or dask.scheduler_file, not both")
    dask_cfg = dict(d)
    if d.get("scheduler_address") or d.get("scheduler_file"):
        dask_cfg["cluster"] = "external"
    elif d["cluster"] == "external":
        raise InputError("dask.cluster", "external", "needs dask.scheduler_address or "
                         "dask.scheduler_file")
    elif d["cluster"] == "jobqueue":
        import importlib.util

        if importlib.util.find_spec("dask_jobqueue") is None:
            raise InputError("dask.cluster", "jobqueue", "needs dask-jobqueue (pip install -e "
                             "'.[hpc]')")
    est = doc.get("estimator")
    if est is not None:
        stems = set()
        for i, lay in enumerate(est["layouts"]):
            bad = [c for c in lay if c in "{}" or ord(c) < 32 or ord(c) == 127]
            if bad:
                raise InputError(f"estimator.layouts[{i}]", lay, "a layout path must not hold "
                                 "braces or control characters (Snakemake reads braces in file "
                                 "names as wildcards)")
            if not Path(lay).is_file():
                raise InputError(f"estimator.layouts[{i}]", lay, "file not found (paths are "
                                 "relative to the working directory, where results/ go)")
            if Path(lay).stem in stems:
                raise InputError(f"estimator.layouts[{i}]", lay, "two layouts share a file name")
            stems.add(Path(lay).stem)
    reference = _reference(doc["plot"]["reference"], axes)
    return SweepConfig(
        name=doc["name"], seed=int(doc["seed"]), trials=int(doc["trials"]),
        block_trials=int(doc["block_trials"]), shard_blocks=int(doc["shard_blocks"]),
        values={k: tuple(v) for k, v in axes.items()}, samplers=samplers, beams=beams,
        system=SystemParams.from_mapping(doc["system"]),
        trial_chunk=int(doc["cube"]["trial_chunk"]), analyses=tuple(doc["analyses"]),
        reference=reference, dask=dask_cfg, raw=doc,
    )


def load(path) -> SweepConfig:
    """Load, validate and normalize a config file."""
    return resolve(load_yaml(path))
