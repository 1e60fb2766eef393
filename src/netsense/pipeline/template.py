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
from ..version import __version__
from .axes import NETWORK_PARAMS, SAMPLER_DIM, SCALE, TRIAL_DIM, scale_factor
from .config import SweepConfig, cube_config
from .cube import (
    COMPLETE_ATTR,
    CONTROL_MEAN,
    COORD_ATTRS,
    DATA_VARS,
    FORMAT,
    FORMAT_ATTR,
    SAMPLERS_ATTR,
    VAR_ATTRS,
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
    shape = np.broadcast_shapes(*(v.shape for v in g.values()), np.shape(extra))
    out = np.full((*shape, len(cfg.gamma)), np.nan)
    for j, gamma in enumerate(cfg.gamma):
        if gamma > 2:  # Theorem 2 needs gamma > 2; NaN (no closed form) otherwise
            cf = theorem2_m2(gamma=gamma, system=cfg.system, **g)  # eq. (26)
            out[..., j] = cf if isinstance(extra, float) else cf * extra
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
            cell.sampler, float(lam_t), float(g), cell.beam, lam_r=float(lam_r)) / (
            2.0 * (x[0] ** 2 if len(x) == 1 else x[0] * x[1]))
    return closed_form[None, ...] * f


def codecs() -> dict:
    """Every array's codecs after its serializer: zstd as zarr's default (level 0, no frame
    checksum, so the compressed bytes are those of format 2) and a CRC-32C of them, a core
    zarr v3 codec that every implementation checks when it reads the chunk."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return {"compressors": (ZstdCodec(level=0, checksum=False), Crc32cCodec())}


def template(cfg: SweepConfig, attrs: dict):
    """The cube as a lazy Dataset (NaN data), its encoding and its chunks."""
    import dask.array as da
    import xarray as xr

    shape = (len(cfg.samplers), *(len(v) for v in cfg.axes().values()), cfg.trials)
    tchunk = min(cfg.trial_chunk, cfg.trials)
    chunks = (*([1] * (len(shape) - 1)), tchunk)
    n_s = len(cfg.samplers)
    coords = {SAMPLER_DIM: np.arange(n_s, dtype=np.int64),  # codes; the labels are in attrs
              **{a.name: np.asarray(getattr(cfg, a.name), np.int64 if a.integer else float)
                 for a in cfg.param_axes},
              TRIAL_DIM: np.arange(cfg.trials, dtype=np.int64)}
    dims = cfg.dims
    data = {v: (dims, da.full(shape, np.nan, chunks=chunks), VAR_ATTRS[v]) for v in DATA_VARS}
    closed = closed_form_grid(cfg)
    data["closed_form_m2"] = (dims[1:-1], closed, VAR_ATTRS["closed_form_m2"])
    data[CONTROL_MEAN] = (dims[:-1], control_mean_grid(cfg, closed), VAR_ATTRS[CONTROL_MEAN])
    ds = xr.Dataset(data, coords=coords,
                    attrs={**attrs, FORMAT_ATTR: FORMAT, SAMPLERS_ATTR: sampler_entries(cfg)})
    for c, a in COORD_ATTRS.items():
        if c in ds:
            ds[c].attrs.update(a)
    # a CF categorical coordinate: the codes and what they stand for
    ds[SAMPLER_DIM].attrs.update(flag_values=list(range(n_s)),
                                 flag_meanings=" ".join(cfg.sampler_labels))
    encoding = {v: {**codecs(), **({"chunks": chunks} if v in DATA_VARS else {})}
                for v in (*ds.data_vars, *ds.coords)}
    return ds, encoding, chunks


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
    """Metadata, coordinates and closed form only; data chunks stay unwritten (NaN)."""
    ds, encoding, chunks = template(cfg, attrs)
    ds.to_zarr(path, mode="w", compute=False, encoding=encoding, zarr_format=3,
               consolidated=False, write_empty_chunks=True)
    return chunks


