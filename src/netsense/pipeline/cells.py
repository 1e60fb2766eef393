"""A cube's cells: their per-trial factors read from the shard files, written into the cube's
per-trial arrays at every scale, and the chunk files each cell occupies.

A cell (:class:`netsense.pipeline.plan.Cell`) is one (sampler entry, shape values) of the sweep,
and for a non-full beam model one M_t. Its slab of a per-trial variable spans the scale dims
(the antennas and rho_s: one layout serves them all, scaled exactly) at the cell's own index of
every shape dim.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np

from ..core.variables import VARIABLES
from ..errors import CorruptFileError, CubeError
from .axes import AXES, SAMPLER_DIM, TRIAL_DIM
from .config import SweepConfig
from .plan import Cell, cells
from .store import load_arrays
from .template import scale_dims, scales_m2


def read_shards(cfg: SweepConfig, shard_files, only=None) -> dict:
    """Load and verify shard files; returns {cell key: {field: (trials,), ...}} (the per-trial
    factors of :mod:`netsense.core.variables`; keys as :attr:`netsense.pipeline.plan.Cell.key`).

    ``only``: the cell keys to return (and check for complete coverage); default all.

    A corrupt shard is moved aside (``.corrupt``) so that the next run recomputes it, and a
    :class:`CorruptFileError` naming it is raised.
    """
    parts: dict = {}
    for f in shard_files:
        try:
            arrays, meta = load_arrays(f)
        except CorruptFileError as exc:
            p = Path(f)
            if p.exists():
                os.replace(p, p.with_name(p.name + ".corrupt"))
            raise CorruptFileError(f, f"{exc.reason}; moved aside, re-run the same command "
                                   "to recompute it") from None
        parts.setdefault(Cell.from_params(meta).key, []).append(
            (meta["trial_start"], meta["trial_stop"], arrays))
    out = {}
    for cell in cells(cfg):
        key = cell.key
        if only is not None and key not in only:
            continue
        pieces = sorted(parts.get(key, []), key=lambda p: p[0])
        pos = 0
        what = cell.describe()
        for start, stop, _ in pieces:
            if start != pos:
                raise CubeError(f"shards of {what} leave a gap at trial {pos}")
            pos = stop
        if pos != cfg.trials:
            raise CubeError(f"shards of {what} cover {pos} of {cfg.trials} trials")
        out[key] = {v.field: np.concatenate([p[2][v.field] for p in pieces]) for v in VARIABLES}
    return out


def _tx_antenna_dim(cfg: SweepConfig) -> str:
    """The dim that sets M_t (``M`` tied, ``M_t`` separate): a non-full beam samples each value."""
    (d,) = [d for d in cfg.m_dims if "M_t" in AXES[d].sets]
    return d


def cell_region(cfg: SweepConfig, s: int, m: int | None, idx: dict) -> dict:
    """The cube region of a cell, without the trials: {dim: slice}. Every scale dim is whole,
    but for a non-full beam model the M_t dim at the cell's ``m``; every shape dim at the
    cell's index (``idx``: {shape dim: index})."""
    region = {SAMPLER_DIM: slice(s, s + 1)}
    for d in cfg.dims[1:-1]:
        if d in idx:
            region[d] = slice(idx[d], idx[d] + 1)
        elif m is not None and d == _tx_antenna_dim(cfg):
            region[d] = slice(m, m + 1)
        else:
            region[d] = slice(None)
    return region


def write_cell(cfg: SweepConfig, path, chunks, s: int, idx: dict, samples: dict,
               m: int | None = None) -> None:
    """Write a cell's slab (:func:`cell_region`) from its per-trial factors, every variable its
    factor times the scale, in trial windows aligned to whole chunks (concurrent writers of
    distinct cells never share a chunk)."""
    import xarray as xr

    dims = cfg.dims
    region = cell_region(cfg, s, m, idx)
    sdims = scale_dims(cfg)
    scale = scales_m2(cfg)[tuple(region[d] for d in sdims)]
    full = [1] * len(dims)  # the scale broadcast over the cube's dims (scale dims in order)
    for d, n in zip(sdims, scale.shape, strict=True):
        full[dims.index(d)] = n
    scale = scale.reshape(full)
    per_trial = int(np.prod(scale.shape))
    window = chunks[-1] * max(1, 2**24 // max(1, per_trial * chunks[-1]))  # ~128 MB per write
    lead = (None,) * (len(dims) - 1)
    for a in range(0, cfg.trials, window):
        b = min(a + window, cfg.trials)
        part = xr.Dataset({v.name: (dims, scale * samples[v.field][(*lead, slice(a, b))])
                           for v in VARIABLES})
        # every chunk is written, all-NaN ones too: a missing chunk file is then a fault
        # (netsense.pipeline.integrity), never a cell that happened to be NaN
        part.to_zarr(path, region={**region, TRIAL_DIM: slice(a, b)}, mode="r+",
                     consolidated=False, write_empty_chunks=True)


def cell_chunk_keys(cfg: SweepConfig, s: int, m: int | None, idx: dict, chunks) -> list[tuple]:
    """The chunk index tuples (sampler, each parameter dim, trial chunk) of a cell's slab of
    a per-trial variable, one chunk per trial window per point of its region."""
    region = cell_region(cfg, s, m, idx)
    ranges = []
    for d in cfg.dims[:-1]:
        sl = region[d]
        n = len(cfg.samplers) if d == SAMPLER_DIM else len(cfg.values[d])
        ranges.append(range(*sl.indices(n)))
    n_trial = -(-cfg.trials // chunks[-1])
    return [(*k, t) for k in itertools.product(*ranges) for t in range(n_trial)]
