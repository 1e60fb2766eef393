"""A cube's cells: their per-trial factors read from the shard files, written into the cube's
stored factors, and the shard files each cell occupies.

A cell (:class:`netsense.pipeline.plan.Cell`) is one (sampler entry, shape values) of the sweep,
and for a non-full beam model one M_t. The cube stores its factors once (format 4): the scale
dims (the antennas and rho_s) are a multiplication away (``scale_m2``, :mod:`.cube`).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np

from ..core.variables import VARIABLES
from ..errors import CorruptFileError, CubeError
from .axes import SAMPLER_DIM, TRIAL_DIM
from .config import SweepConfig
from .cubeformat import FACTORS
from .plan import Cell, cells
from .store import load_arrays
from .template import factor_dims


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


def cell_region(cfg: SweepConfig, s: int, m: int | None, idx: dict) -> dict:
    """The region of a cell in the stored factors (:func:`~.template.factor_dims`), without the
    trials: the sampler's index, the cell's index of every shape dim, and along the TX antenna
    dim (where the factors have one) the cell's ``m`` (a non-full beam model) or all of it (a
    full-beam entry: one layout serves every M)."""
    region = {}
    for d in factor_dims(cfg)[:-1]:
        if d == SAMPLER_DIM:
            region[d] = slice(s, s + 1)
        elif d in idx:
            region[d] = slice(idx[d], idx[d] + 1)
        else:
            region[d] = slice(None) if m is None else slice(m, m + 1)
    return region


def write_cell(cfg: SweepConfig, path, shards, s: int, idx: dict, samples: dict,
               m: int | None = None) -> None:
    """Write a cell's factors (its slab of :func:`cell_region`) from its per-trial factors,
    one shard window at a time (concurrent writers of distinct cells never share a shard)."""
    import xarray as xr

    fdims = factor_dims(cfg)
    region = cell_region(cfg, s, m, idx)
    n = [len(range(*sl.indices(len(cfg.samplers) if d == SAMPLER_DIM else len(cfg.values[d]))))
         for d, sl in region.items()]
    window = shards[-1]
    for a in range(0, cfg.trials, window):
        b = min(a + window, cfg.trials)
        part = xr.Dataset({f: (fdims, np.broadcast_to(samples[f][a:b], (*n, b - a)))
                           for f in FACTORS})
        # every chunk is written, all-NaN ones too: a missing chunk is then a fault
        # (netsense.pipeline.integrity), never a cell that happened to be NaN
        part.to_zarr(path, region={**region, TRIAL_DIM: slice(a, b)}, mode="r+",
                     consolidated=False, write_empty_chunks=True)


def cell_chunk_keys(cfg: SweepConfig, s: int, m: int | None, idx: dict, shards) -> list[tuple]:
    """The shard index tuples (one per factor dim) of a cell's region: its files of a factor."""
    ranges = []
    for d, sl in cell_region(cfg, s, m, idx).items():
        n = len(cfg.samplers) if d == SAMPLER_DIM else len(cfg.values[d])
        ranges.append(range(*sl.indices(n)))
    n_shard = -(-cfg.trials // shards[-1])
    return [(*k, t) for k in itertools.product(*ranges) for t in range(n_shard)]
