"""The cube before its trials: the template (coordinates, attributes, encoding), Theorem 2 and
the exact control means over its parameter dims, and the scale of each per-trial variable.

What the assembly writes first, into a store whose per-trial chunks it then fills
(:mod:`.cells`); every grid here is over the axes the sweep gives, each network parameter from
the axis that sets it (:meth:`netsense.pipeline.config.SweepConfig.grids`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json

import numpy as np

from ..core.closed_form import theorem2_m2
from ..core.system import db_to_lin
from ..core.variables import VARIABLES
from ..version import __version__
from .axes import NETWORK_PARAMS, SAMPLER_DIM, SCALE, TRIAL_DIM, scale_factor
from .config import SweepConfig, cube_config
from .cube import (
    COMPLETE_ATTR,
    CONTROL_MEAN,
    COORD_ATTRS,
    FACTORS,
    FORMAT,
    FORMAT_ATTR,
    SAMPLERS_ATTR,
    SCALE_VAR,
    VAR_ATTRS,
    VARIABLES_ATTR,
    sampler_entries_attr,
)
from .plan import cell_slots, cells


def scale_dims(cfg: SweepConfig) -> tuple[str, ...]:
    """The cube's dims that scale every sample exactly (role ``scale``: the antennas, rho_s)."""
    from .axes import AXES

    return tuple(d for d in cfg.dims[1:-1] if AXES[d].role == SCALE)


def scales_m2(cfg: SweepConfig) -> np.ndarray:
    """c^2 / (M_t M_r eta(rho_s)) over the scale dims (:func:`scale_dims`, in the cube's order)
    [m^2 per unit geometric factor]: what turns a variable's factor into the variable
    (:data:`netsense.core.variables.ERROR_SCALE`)."""
    dims = scale_dims(cfg)
    g = cfg.grids(dims)
    scale = cfg.system.error_scale_m2(g["M_t"], g["M_r"], db_to_lin(g["rho_s_db"]))
    extra = scale_factor(cfg.values, dims)  # 1.0 unless a scale axis brings its own factor
    return scale if isinstance(extra, float) else scale * extra


def closed_form_grid(cfg: SweepConfig) -> np.ndarray:
    """Theorem 2 (eq. 26 of [1]) over the cube's parameter dims; NaN where gamma <= 2. (For tied
    axes M_t = M_r = M and lam_t = lam_r = lam broadcast the same arrays, so the stored numbers
    are bit for bit those of the cubes written before separate axes existed.)"""
    dims = [d for d in cfg.dims[1:-1] if d != "gamma"]
    g = {p: v for p, v in cfg.grids(dims).items() if p in NETWORK_PARAMS and p != "gamma"}
    extra = scale_factor(cfg.values, dims)  # 1.0 unless a scale axis brings its own factor
    # every parameter dim at its length: a link axis sets none of Theorem 2's parameters (its
    # closed form is the ideal link's at every value)
    shape = tuple(len(cfg.values[d]) for d in dims)
    out = np.full((*shape, len(cfg.gamma)), np.nan)
    for j, gamma in enumerate(cfg.gamma):
        if gamma > 2:  # Theorem 2 needs gamma > 2; NaN (no closed form) otherwise
            cf = theorem2_m2(gamma=gamma, system=cfg.system, **g)  # eq. (26)
            out[..., j] = np.broadcast_to(cf if isinstance(extra, float) else cf * extra, shape)
    return np.moveaxis(out, -1, cfg.dims[1:-1].index("gamma"))  # gamma at its own dim


def cell_fingerprints(cfg: SweepConfig) -> dict:
    """{cell key: the fingerprint its blocks are stored under} (:mod:`.plan`)."""
    return {c.key: c.fingerprints(cfg.block_trials)[0] for c in cells(cfg)}


def sampler_entries(cfg: SweepConfig) -> list[dict]:
    """The format-3 ``samplers`` attribute (:mod:`.cube`): label, kind, beam, the entry, and as
    its ``code_version`` a digest of the fingerprints of its cells in this cube (what shaped
    them; incremental assembly compares the fingerprints cell by cell)."""
    entries = [{**s.to_mapping(), "beam": b} for s, b in zip(cfg.samplers, cfg.beams, strict=True)]
    fps = cell_fingerprints(cfg)
    versions = [hashlib.sha256(";".join(fp for key, fp in fps.items() if key[0] == label)
                               .encode()).hexdigest()[:12] for label in cfg.sampler_labels]
    return sampler_entries_attr(cfg.sampler_labels, entries, versions)


def control_mean_grid(cfg: SweepConfig, closed_form: np.ndarray) -> np.ndarray:
    """``control_mean_m2`` over (sampler, the parameter dims): Theorem 2 times the sampler's
    exact E[eq. 23] relative to it (:func:`netsense.core.expectations.g23_mean` over
    2 Lemma3_t Lemma3_r; NaN where no exact mean is known). It depends on the sampler and the
    cell's shape parameters only: it is computed per cell and broadcast along the scale dims."""
    from ..core.closed_form import lemma3_inv_sum
    from ..core.expectations import g23_mean

    params = cfg.dims[1:-1]
    shape = [len(cfg.samplers), *(len(cfg.values[d]) if d in cfg.shape_dims else 1
                                  for d in params)]
    f = np.full(shape, np.nan)
    for cell, k, m, idx in cell_slots(cfg):
        if m is not None:  # a non-full beam has no exact mean: its estimates are plain
            continue
        lam_t, lam_r, g = cell.param("lam_t"), cell.param("lam_r"), cell.gamma
        if not g > 2.0:
            continue
        # 2 Lemma3_t Lemma3_r; a tied point squares its one value (the form its stored numbers
        # were computed with)
        x = [float(lemma3_inv_sum(v, g)) for v in ((lam_t,) if not cell.sides else (lam_t, lam_r))]
        f[(k, *(idx.get(d, 0) for d in params))] = g23_mean(
            cell.sampled, float(lam_t), float(g), cell.beam, lam_r=float(lam_r)) / (
            2.0 * (x[0] ** 2 if len(x) == 1 else x[0] * x[1]))
    return closed_form[None, ...] * f


def codecs() -> dict:
    """Every array's codecs after its serializer: zstd as zarr's default (level 0, no frame
    checksum, so the compressed bytes are those of format 2) and a CRC-32C of them, a core
    zarr v3 codec that every implementation checks when it reads the chunk."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return {"compressors": (ZstdCodec(level=0, checksum=False), Crc32cCodec())}


# A cell's trials of a factor are a few shard files, not one file per trial chunk: one shard for
# up to SHARD_TRIALS trials (128 MB of float64), at most MAX_SHARDS_PER_CELL for any count (so a
# billion trials are 4 files of 2 GB per cell and factor), each shard made of trial_chunk-sized
# inner chunks that each carry their own CRC-32C (zarr v3's sharding codec).
SHARD_TRIALS = 2**24
MAX_SHARDS_PER_CELL = 4


def factor_dims(cfg: SweepConfig) -> tuple[str, ...]:
    """The dims of the stored factors (format 4): sampler, the TX antenna dim where a non-full
    beam model makes it shape the samples (a full-beam entry's samples are repeated along it),
    the shape dims, trial: the axes that shape samples, no scale dim."""
    tx = [cfg.tx_antenna_dim] if any(b != "full" for b in cfg.beams) else []
    return (SAMPLER_DIM, *tx, *cfg.shape_dims, TRIAL_DIM)


def trial_chunks(cfg: SweepConfig) -> tuple[int, int]:
    """(trials per inner chunk, trials per shard) of the stored factors."""
    tchunk = min(cfg.trial_chunk, cfg.trials)
    n_shards = min(MAX_SHARDS_PER_CELL, -(-cfg.trials // SHARD_TRIALS))
    per_shard = -(-cfg.trials // n_shards)
    return tchunk, tchunk * -(-per_shard // tchunk)


def template(cfg: SweepConfig, attrs: dict):
    """The cube as a lazy Dataset (NaN factors), its encoding and its factors' chunk and shard
    shapes (format 4, :mod:`.cube`)."""
    import dask.array as da
    import xarray as xr

    n_s = len(cfg.samplers)
    fdims = factor_dims(cfg)
    shape = tuple(n_s if d == SAMPLER_DIM else cfg.trials if d == TRIAL_DIM
                  else len(cfg.values[d]) for d in fdims)
    tchunk, tshard = trial_chunks(cfg)
    chunks = (*([1] * (len(shape) - 1)), tchunk)
    shards = (*([1] * (len(shape) - 1)), tshard)
    coords = {SAMPLER_DIM: np.arange(n_s, dtype=np.int64),  # codes; the labels are in attrs
              **{a.name: np.asarray(cfg.values[a.name], np.int64 if a.integer else float)
                 for a in cfg.param_axes},
              TRIAL_DIM: np.arange(cfg.trials, dtype=np.int64)}
    dims = cfg.dims
    data = {v.field: (fdims, da.full(shape, np.nan, chunks=shards), {
        "units": "1", "long_name": f"{v.long_name}, without its scale: "
        f"{v.name} = {v.field} * {SCALE_VAR}"}) for v in VARIABLES}
    data[SCALE_VAR] = (scale_dims(cfg), scales_m2(cfg), {
        "units": "m^2", "long_name": "c^2 / (M_t M_r eta(rho_s)): the scale of every per-trial "
        "variable (eq. 13: the FIM is linear in M_t M_r rho_s with full beam gain)"})
    closed = closed_form_grid(cfg)
    data["closed_form_m2"] = (dims[1:-1], closed, VAR_ATTRS["closed_form_m2"])
    data[CONTROL_MEAN] = (dims[:-1], control_mean_grid(cfg, closed), VAR_ATTRS[CONTROL_MEAN])
    readers = [{"name": v.name, "factor": v.field, "scale": SCALE_VAR, "units": v.units,
                "long_name": v.long_name, "dims": list(dims)} for v in VARIABLES]
    ds = xr.Dataset(data, coords=coords,
                    attrs={**attrs, FORMAT_ATTR: FORMAT, SAMPLERS_ATTR: sampler_entries(cfg),
                           VARIABLES_ATTR: readers})
    for c, a in COORD_ATTRS.items():
        if c in ds:
            ds[c].attrs.update(a)
    # a CF categorical coordinate: the codes and what they stand for
    ds[SAMPLER_DIM].attrs.update(flag_values=list(range(n_s)),
                                 flag_meanings=" ".join(cfg.sampler_labels))
    encoding = {v: {**codecs(), **({"chunks": chunks, "shards": shards} if v in FACTORS else {})}
                for v in (*ds.data_vars, *ds.coords)}
    return ds, encoding, shards


def _software() -> str:
    import xarray
    import zarr

    return f"numpy {np.__version__}; zarr {zarr.__version__}; xarray {xarray.__version__}"


def code_versions(cfg: SweepConfig) -> dict:
    """The cube's code-version attribute: the code of its assembly. (What shaped each
    sampler's samples is its ``sampler_code_version`` coordinate.) Incremental assembly reuses
    a stored cell only if both are equal."""
    from .codeversion import command_version

    return {"code_version_cube": command_version("assemble")}


def cube_attrs(cfg: SweepConfig, extra_attrs: dict | None = None) -> dict:
    """The cube's attributes: provenance, the cube-shaping config, completeness."""
    return {
        "title": "netsense Monte Carlo cube",
        "netsense_version": __version__,
        "config_json": json.dumps(cube_config(cfg.raw), sort_keys=True, default=str),
        "seed": cfg.seed,
        "trials": cfg.trials,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        # what else shapes the stored bytes (incremental assembly reuses cells only if equal)
        "software": _software(),
        COMPLETE_ATTR: False,
        **(extra_attrs or {}),
    }


def write_template(cfg: SweepConfig, path, attrs: dict) -> tuple:
    """Metadata, coordinates, the scales and the closed forms; the factors' shards stay unwritten
    (NaN). Returns the factors' shard shape."""
    ds, encoding, shards = template(cfg, attrs)
    ds.to_zarr(path, mode="w", compute=False, encoding=encoding, zarr_format=3,
               consolidated=False, write_empty_chunks=True)
    return shards


