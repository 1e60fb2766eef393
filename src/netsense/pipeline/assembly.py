"""Assembling the cube from shard files (:mod:`.cube` is its format).

Assembly writes a template (:mod:`.template`) and then each cell's slab (:mod:`.cells`) into a
temporary store beside the target, marks it complete, consolidates the metadata and renames it
into place: a reader sees no cube or a complete one, never a half-written store under the final
name.

Incremental assembly (:mod:`.reuse`): the last cube is kept as a hard-linked snapshot; the cells
it can serve unchanged are linked from it and only new cells are read from their shards.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .cells import read_shards, write_cell
from .config import SweepConfig
from .cube import COMPLETE_ATTR, FACTORS
from .plan import cell_slots, cells
from .reuse import (
    CHUNK_META_KEYS,
    DEFAULT_KEYS,
    cell_sound,
    link_cell,
    meta,
    reusable_cells,
    shard_stats,
    snapshot,
    snapshot_path,
    stats_key,
)
from .template import cell_fingerprints, cube_attrs, write_template


def assemble(cfg: SweepConfig, shard_files, out_path, extra_attrs: dict | None = None,
             shard_cells: dict | None = None, log=None) -> Path:
    """Build the cube at ``out_path`` (see module docstring).

    ``shard_cells``: {shard file: cell key}. With it, the cells that the previous cube (its
    snapshot, :func:`~.reuse.snapshot_path`) can serve unchanged
    (:func:`~.reuse.reusable_cells`) have their chunk files hard-linked into the new store and
    only the other cells' shards are read: adding a gamma or a lam writes only the new cells.
    Without it, or when nothing can be reused, every shard is read.
    """
    import zarr

    out_path = Path(out_path)
    prev = snapshot_path(out_path)
    attrs = cube_attrs(cfg, extra_attrs)
    cell_files: dict = {}
    for f, key in (shard_cells or {}).items():
        cell_files.setdefault(key, []).append(f)
    read_from = {stats_key(k): shard_stats(v) for k, v in cell_files.items()}  # before reading
    reuse, why = reusable_cells(cfg, prev, attrs, read_from) if shard_cells else ({}, "")
    tmp = out_path.with_name(out_path.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    shards = write_template(cfg, tmp, attrs)
    if reuse:
        old_meta = meta(prev)["consolidated_metadata"]["metadata"]
        new_meta = {v: meta(tmp / v) for v in FACTORS}
        if any({k: old_meta.get(v, {}).get(k) for k in CHUNK_META_KEYS} !=
               {k: new_meta[v].get(k) for k in CHUNK_META_KEYS} for v in FACTORS):
            reuse, why = {}, "previous cube encodes chunks differently"
        elif any(new_meta[v].get("chunk_key_encoding") != DEFAULT_KEYS for v in FACTORS):
            reuse, why = {}, "chunk layout is not one '/'-keyed file per shard"
    bad = []
    if reuse:  # a stored cell with a missing or corrupted chunk is read from its shards again
        for cell, _, m, _ in cell_slots(cfg):
            if cell.key in reuse and not cell_sound(cfg, prev, reuse[cell.key], m, shards):
                bad.append(cell.describe())
                del reuse[cell.key]
    todo = {c.key for c in cells(cfg) if c.key not in reuse}
    files = shard_files if not shard_cells else [f for f in shard_files
                                                 if shard_cells[f] in todo]
    samples = read_shards(cfg, files, only=todo)
    linked = 0
    for cell, k, m, idx in cell_slots(cfg):
        key = cell.key
        if key in reuse:
            for v in FACTORS:
                linked += link_cell(cfg, prev, tmp, v, reuse[key], (k, idx), m, shards)
        else:
            write_cell(cfg, tmp, shards, k, idx, samples[key], m)
    if log is not None:
        n = len(reuse) + len(todo)
        print(f"netsense: assemble: {len(todo)} of {n} cell(s) written from shards, "
              f"{len(reuse)} taken from the previous cube ({linked} shard files linked)"
              + (f"; nothing reused: {why}" if why and shard_cells else ""), file=log)
        if bad:
            print(f"netsense: assemble: {len(bad)} stored cell(s) had a missing or corrupt chunk "
                  f"and were rebuilt from their shards: {', '.join(bad)}", file=log)
    group = zarr.open_group(tmp, mode="r+")
    group.attrs[COMPLETE_ATTR] = True  # written last: only a finished store says complete
    zarr.consolidate_metadata(tmp)
    old = out_path.with_name(out_path.name + ".old")
    if out_path.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(out_path, old)
    os.replace(tmp, out_path)
    if old.exists():
        shutil.rmtree(old)
    if shard_cells:
        snapshot(out_path, prev, {"shards": read_from, "fingerprints": {
            stats_key(k): fp for k, fp in cell_fingerprints(cfg).items()}}, log)
    return out_path
