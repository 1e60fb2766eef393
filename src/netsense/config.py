"""Sweep configuration: safe YAML loading, schema validation with defaults, one-line errors.

The schema lives in ``workflow/schemas/config.schema.yaml`` (a copy ships inside the package so
that the validation is the same from the CLI, the Snakefile and tests).
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from .ppp import SamplerSpec
from .system import InputError, SystemParams

PAPER_POINT = {"M": 4, "rho_s_db": 120.0, "lam": 1.0 / 900.0, "gamma": 2.5}
AXES = ("M", "rho_s_db", "lam", "gamma")


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader (no object construction) that reads 1e9 and 30.0e9 as floats (YAML 1.2)."""


_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def safe_load(text: str):
    return yaml.load(text, Loader=_SafeLoader)


def schema() -> dict:
    text = resources.files("netsense").joinpath("config.schema.yaml").read_text()
    return safe_load(text)


def load_yaml(path) -> dict:
    """Load YAML safely (no object construction); errors name the file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise InputError("configfile", str(path), f"cannot be read ({exc.strerror})") from None
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
    if isinstance(inst, dict) and sch.get("type") == "object":
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


def _fill_defaults(inst, sch):
    if not isinstance(inst, dict) or sch.get("type") != "object":
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
        return InputError(key, err.instance[extra[0]], f"unknown key (typo?); allowed: {allowed}")
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
    if v == "anyOf" and path.startswith("sweep.lam"):
        return InputError(path, err.instance, "must be a density > 0 per m^2, or a fraction like 1/900")
    if v == "anyOf" and path == "sampler":
        return InputError(path, err.instance, "must be a sampler mapping (kind, nearest, radius_m) "
                          "or a non-empty list of them")
    return InputError(path, err.instance, err.message)


def parse_density(name: str, v) -> float:
    if isinstance(v, str):
        try:
            if "/" in v:
                num, den = v.split("/", 1)
                out = float(num) / float(den)
            else:
                out = float(v)
        except (ValueError, ZeroDivisionError):
            raise InputError(name, v, "must be a density > 0 per m^2, or a fraction like 1/900"
                             ) from None
    else:
        out = float(v)
    if not (math.isfinite(out) and out > 0):
        raise InputError(name, v, "density must be finite and > 0 per m^2")
    return out


@dataclass(frozen=True)
class SweepConfig:
    """The validated, normalized sweep. Axes are sorted ascending."""

    name: str
    seed: int
    trials: int
    block_trials: int
    shard_blocks: int
    M: tuple[int, ...]
    rho_s_db: tuple[float, ...]
    lam: tuple[float, ...]
    gamma: tuple[float, ...]
    samplers: tuple[SamplerSpec, ...]
    beams: tuple[str, ...]  # TX beam model per sampler entry (full: the paper's Remark 1)
    system: SystemParams
    trial_chunk: int
    analyses: tuple[str, ...]
    reference: dict
    dask: dict
    raw: dict = field(compare=False, repr=False)

    @property
    def n_blocks(self) -> int:
        return -(-self.trials // self.block_trials)

    @property
    def sampler_labels(self) -> list[str]:
        return [model_label(s, b) for s, b in zip(self.samplers, self.beams, strict=True)]

    def sampled_M(self, beam: str) -> list[tuple[int | None, int | None]]:
        """(index into sweep.M, M) of the separately sampled M values of a beam model:
        [(None, None)] for ``full`` (one layout serves every M), every M otherwise."""
        return [(None, None)] if beam == "full" else list(enumerate(self.M))

    def axes(self) -> dict:
        return {"M": list(self.M), "rho_s_db": list(self.rho_s_db), "lam": list(self.lam),
                "gamma": list(self.gamma)}


def _reference(ref: dict, axes: dict) -> dict:
    out = {}
    for k in AXES:
        values = axes[k]
        if k in ref:
            v = parse_density("plot.reference.lam", ref[k]) if k == "lam" else ref[k]
            match = [x for x in values if math.isclose(x, v, rel_tol=1e-9)]
            if not match:
                raise InputError(f"plot.reference.{k}", ref[k], f"must be one of sweep.{k} {values}")
            out[k] = match[0]
        else:
            paper = [x for x in values if math.isclose(x, PAPER_POINT[k], rel_tol=1e-9)]
            out[k] = paper[0] if paper else values[len(values) // 2]
    return out


def _first_error(inst, sch, prefix: str = ""):
    errors = sorted(Draft202012Validator(sch).iter_errors(inst),
                    key=lambda e: (len(list(e.absolute_path)), str(list(e.absolute_path))))
    return _describe(errors[0], prefix) if errors else None


def model_label(spec: SamplerSpec, beam: str) -> str:
    """Label of a (sampler, beam) network model: ``plane-K64``, ``disk-R500-codebook``."""
    return spec.label() if beam == "full" else f"{spec.label()}-{beam}"


def _samplers(doc: dict, sch: dict) -> tuple[tuple[SamplerSpec, ...], tuple[str, ...]]:
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
        specs.append(SamplerSpec(**{k: v for k, v in item.items() if k != "beam"}))
        beams.append(item["beam"])
    labels = [model_label(s, b) for s, b in zip(specs, beams, strict=True)]
    for i, lab in enumerate(labels):
        if lab in labels[:i]:
            raise InputError(f"sampler[{i}]", items[i], f"repeats sampler {lab}; list each once")
    return tuple(specs), tuple(beams)


def _check_analyses(analyses, axes: dict, reference: dict, samplers=(), beams=()) -> None:
    if "beams" in analyses:
        pairs = [(s, b) for s, b in zip(samplers, beams, strict=True)]
        has_ref = any(b != "full" and (s, "full") in pairs for s, b in pairs)
        if not has_ref or len(axes["M"]) < 2:
            raise InputError("analyses", "beams", "needs a sampler entry with beam codebook or "
                             "fixed, the same sampler with beam full, and at least 2 values in "
                             "sweep.M")
    if "sec2c" in analyses:
        lam0 = reference["lam"]
        pairs = [m for m in axes["M"] if m > 1 and any(
            math.isclose(m * lam0, x, rel_tol=1e-9) for x in axes["lam"])]
        if 1 not in axes["M"] or not pairs:
            raise InputError("analyses", "sec2c", "needs 1 in sweep.M and, for some M > 1 in "
                             "sweep.M, M x plot.reference.lam in sweep.lam (the single-antenna "
                             f"network at M lam; reference lam is {lam0:.6g})")


def resolve(doc: dict) -> SweepConfig:
    """Validate a config mapping (filling defaults in place) and return a :class:`SweepConfig`."""
    if not isinstance(doc, dict):
        raise InputError("config", type(doc).__name__, "must be a mapping of config keys")
    sch = schema()
    _coerce_numbers(doc, sch)
    _walk_nonfinite(doc)
    errors = sorted(Draft202012Validator(sch).iter_errors(doc),
                    key=lambda e: (len(list(e.absolute_path)), str(list(e.absolute_path))))
    if errors:
        raise _describe(errors[0])
    _fill_defaults(doc, sch)
    samplers, beams = _samplers(doc, sch)
    sw = doc["sweep"]
    lam = [parse_density(f"sweep.lam[{i}]", v) for i, v in enumerate(sw["lam"])]
    for name, vals in (("sweep.lam", lam), ("sweep.rho_s_db", [float(x) for x in sw["rho_s_db"]]),
                       ("sweep.gamma", [float(x) for x in sw["gamma"]])):
        s = sorted(vals)
        for a, b in itertools.pairwise(s):
            if math.isclose(a, b, rel_tol=1e-9):
                raise InputError(name, b, "values must not repeat")
    gamma = sorted(float(g) for g in sw["gamma"])
    if any(s.kind == "plane" for s in samplers) and gamma[0] <= 2.0:
        raise InputError("sweep.gamma", gamma[0], "must be > 2 with sampler.kind plane (the "
                         "far field of an infinite PPP diverges for gamma <= 2)")
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
    axes = {"M": sorted(int(m) for m in sw["M"]), "rho_s_db": sorted(float(x) for x in sw["rho_s_db"]),
            "lam": sorted(lam), "gamma": gamma}
    est = doc.get("estimator")
    if est is not None:
        est.setdefault("trials", 10000)
        stems = set()
        for i, lay in enumerate(est["layouts"]):
            if not Path(lay).is_file():
                raise InputError(f"estimator.layouts[{i}]", lay, "file not found (paths are "
                                 "relative to the project root)")
            if Path(lay).stem in stems:
                raise InputError(f"estimator.layouts[{i}]", lay, "two layouts share a file name")
            stems.add(Path(lay).stem)
    reference = _reference(doc["plot"]["reference"], axes)
    _check_analyses(doc["analyses"], axes, reference, samplers, beams)
    return SweepConfig(
        name=doc["name"], seed=int(doc["seed"]), trials=int(doc["trials"]),
        block_trials=int(doc["block_trials"]), shard_blocks=int(doc["shard_blocks"]),
        M=tuple(axes["M"]), rho_s_db=tuple(axes["rho_s_db"]), lam=tuple(axes["lam"]),
        gamma=tuple(gamma), samplers=samplers, beams=beams, system=SystemParams.from_mapping(doc["system"]),
        trial_chunk=int(doc["cube"]["trial_chunk"]), analyses=tuple(doc["analyses"]),
        reference=reference, dask=dask_cfg, raw=doc,
    )


def load(path) -> SweepConfig:
    return resolve(load_yaml(path))
