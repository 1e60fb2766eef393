"""Incremental assembly's reuse of a stored cube: which of its cells a new cube can take
unchanged, linking their chunk files, and the snapshot of the last cube they are taken from.

The last cube is kept as a hard-linked snapshot (:func:`snapshot_path`; Snakemake deletes a
job's old output before the job runs). A stored cell serves the new cube only if everything
that made its bytes is the same (:func:`reusable_cells`) and its chunk files are all there and
sound (:func:`cell_sound`); its chunks are then hard-linked (:func:`link_cell`), not rewritten.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .axes import AXES_TABLE, SHAPE
from .cells import cell_chunk_keys
from .config import SweepConfig, resolve
from .cube import COMPLETE_ATTR, FACTORS, FORMAT, FORMAT_ATTR, SAMPLERS_ATTR
from .plan import cells
from .template import cell_fingerprints, sampler_entries

# Cube config keys that may differ between a stored cube and a new one whose cells it can still
# serve: the lists of cells (the sampler entries and every shape axis).
CELL_LIST_KEYS = ("sampler", *(f"sweep.{a.name}" for a in AXES_TABLE if a.role == SHAPE))
# Array metadata that must match for a stored chunk file to mean the same in the new cube.
CHUNK_META_KEYS = ("data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs",
                   "dimension_names", "storage_transformers")
# The only chunk layout link_cell knows: c/<i0>/.../<i_n>, one file per chunk.
DEFAULT_KEYS = {"name": "default", "configuration": {"separator": "/"}}
# In the snapshot: per cell, the shard files it was read from and the fingerprint its samples
# were stored under ({"shards": {cell: stats}, "fingerprints": {cell: fingerprint}}).
SHARD_STATS = "netsense-shards.json"


def _without_cell_lists(raw: dict) -> dict:
    out = json.loads(json.dumps(raw, sort_keys=True, default=str))
    for dotted in CELL_LIST_KEYS:
        *parents, last = dotted.split(".")
        node = out
        for p in parents:
            node = node.get(p, {})
        node.pop(last, None)
    return out


def meta(path: Path) -> dict:
    """A zarr group's or array's metadata (``zarr.json``)."""
    return json.loads((path / "zarr.json").read_text())


def stats_key(key) -> str:
    """A cell key as the snapshot's JSON key."""
    return json.dumps(list(key))  # floats as repr: exact round trip


def shard_stats(files) -> list:
    out = []
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            return []
        # inode and ctime too: every shard write replaces the file (new inode), and no copy
        # tool (cp -p, rsync -a, tar) can set ctime back
        out.append([str(f), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns])
    return out


def _spec_key(entry: dict) -> str:
    """What must be equal for a stored entry to be the new one: the entry itself (what shaped
    each cell's samples is compared cell by cell, by fingerprint)."""
    return json.dumps(entry["spec"], sort_keys=True)


def reusable_cells(cfg: SweepConfig, old_path, attrs: dict,
                   shard_stats: dict | None = None) -> tuple[dict, str]:
    """Cells of a stored cube that the new cube can take unchanged, and why not, if none.

    Returns ({new cell key: (old sampler index, {shape dim: old index})}, reason).
    A stored cell is reused only if the stored cube is complete and was made by the same code
    (``attrs``' code versions, netsense version) from the same config apart from the cell lists
    (``CELL_LIST_KEYS``), the sampler behind its label is the same, the cell's samples were
    stored under the same fingerprint (what the kernel computes for it, :mod:`.plan`), its
    arrays encode chunks the same way and, with ``shard_stats`` ({cell id: :func:`shard_stats` of
    its shard files now}), those shard files are the ones the stored cell was read from: a shard
    that was written again or changed since is read again. Anything else rebuilds the cell from
    its shards.
    """
    old_path = Path(old_path)
    if not (old_path / "zarr.json").exists():
        return {}, "no previous cube"
    try:
        root = meta(old_path)
        old_attrs = root.get("attributes", {})
        if not old_attrs.get(COMPLETE_ATTR) or not root.get("consolidated_metadata"):
            return {}, "previous cube incomplete"
        for k in ("netsense_version", "code_version_cube", "software"):
            if old_attrs.get(k) != attrs.get(k):
                return {}, f"previous cube made by other code ({k})"
        if _without_cell_lists(json.loads(old_attrs["config_json"])) != _without_cell_lists(
                json.loads(attrs["config_json"])):
            return {}, "previous cube made with other settings"
        if old_attrs.get(FORMAT_ATTR) != FORMAT or not isinstance(
                old_attrs.get(SAMPLERS_ATTR), list):
            return {}, f"previous cube has format {old_attrs.get(FORMAT_ATTR, '1 or 2')!r}"
        ents = old_attrs[SAMPLERS_ATTR]
        labels = [str(e["label"]) for e in ents]
        specs = [_spec_key(e) for e in ents]
        # the axes from the stored config, as the template wrote them (same code, checked
        # above): no coordinate chunk is read, so a corrupted one costs only itself
        old_cfg = resolve(json.loads(old_attrs["config_json"]))
        if len(old_cfg.samplers) != len(labels) or old_cfg.dims != cfg.dims or any(
                list(old_cfg.values[d]) != list(cfg.values[d]) for d in cfg.dims[1:-1]
                if d not in cfg.shape_dims):
            return {}, "previous cube has another layout"
        old_values = {d: list(old_cfg.values[d]) for d in cfg.shape_dims}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {}, f"previous cube unreadable ({type(exc).__name__})"
    try:
        stored = json.loads((old_path / SHARD_STATS).read_text())
        read_from, old_fps = stored["shards"], stored["fingerprints"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}, f"previous cube has no {SHARD_STATS} with fingerprints"
    new_specs = {e["label"]: _spec_key(e) for e in sampler_entries(cfg)}
    new_fps = cell_fingerprints(cfg)
    out = {}
    for cell in cells(cfg):
        key, label = cell.key, cell.label
        if label in labels and specs[labels.index(label)] == new_specs[label] \
                and all(x in old_values[d] for d, x in cell.point):
            if old_fps.get(stats_key(key)) != new_fps[key]:
                continue
            if shard_stats is not None and read_from.get(stats_key(key)) != shard_stats.get(
                    stats_key(key), []):
                continue
            out[key] = (labels.index(label), {d: old_values[d].index(x) for d, x in cell.point})
    return out, "" if out else "no cell in common"


def _chunk_path(store: Path, var: str, key: tuple) -> Path:
    return store.joinpath(var, "c", *map(str, key))


def cell_sound(cfg: SweepConfig, old: Path, src: tuple, m: int | None, shards) -> bool:
    """Every chunk file of the stored cell ``src`` (old sampler index, {shape dim: old index})
    is there and passes its checksum."""
    from .integrity import check_chunk_file

    old_cfg = _stored_config(old)
    keys = cell_chunk_keys(old_cfg, src[0], m, src[1], shards)
    metas = {v: meta(old / v) for v in FACTORS}
    return all(check_chunk_file(_chunk_path(old, v, k), metas[v], k) is None
               for v in FACTORS for k in keys)


def link_cell(cfg: SweepConfig, old: Path, new: Path, var: str, src: tuple, dst: tuple,
              m: int | None, shards) -> int:
    """Hard-link (else copy) one cell's chunk files of ``var`` from the old store (cell ``src``)
    to the new one (cell ``dst``: sampler index, {shape dim: index})."""
    old_keys = cell_chunk_keys(_stored_config(old), src[0], m, src[1], shards)
    new_keys = cell_chunk_keys(cfg, dst[0], m, dst[1], shards)
    for ko, kn in zip(old_keys, new_keys, strict=True):
        f, g = _chunk_path(old, var, ko), _chunk_path(new, var, kn)
        g.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, g)
        except OSError:  # no hard links here (another file system): copy
            shutil.copyfile(f, g)
    return len(new_keys)


def _stored_config(old: Path) -> SweepConfig:
    return resolve(json.loads(meta(old)["attributes"]["config_json"]))


def snapshot_path(out_path) -> Path:
    """Where the last assembled cube's hard-linked snapshot lives (``.<name>.prev``, beside it).

    Snakemake deletes a job's old output before the job runs, so the next assembly finds its
    reusable cells here. Hard links share the cube's blocks: no extra disk while both exist.
    """
    out_path = Path(out_path)
    return out_path.with_name(f".{out_path.name}.prev")


def snapshot(out_path: Path, prev: Path, stats: dict, log) -> None:
    """Replace the snapshot: never a half-deleted one under its name (a kill during a deletion
    leaves only ``.trash``, which no assembly reads, or ``.new``, which is rebuilt)."""
    new, trash = (prev.with_name(prev.name + x) for x in (".new", ".trash"))
    if prev.exists():
        if trash.exists():
            shutil.rmtree(trash)
        os.replace(prev, trash)
    for p in (new, trash):
        if p.exists():
            shutil.rmtree(p)
    try:
        shutil.copytree(out_path, new, copy_function=os.link)
        (new / SHARD_STATS).write_text(json.dumps(stats))
    except OSError as exc:  # no hard links on this file system: no snapshot, no reuse
        shutil.rmtree(new, ignore_errors=True)
        first = exc.args[0][0][2] if isinstance(exc, shutil.Error) and exc.args[0] else exc
        if log is not None:
            print(f"netsense: assemble: no snapshot for the next incremental assembly "
                  f"(hard links failed: {getattr(first, 'strerror', None) or first})", file=log)
        return
    os.replace(new, prev)


