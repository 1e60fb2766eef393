"""Assembling the cube from shard files (:mod:`.cube` is its format).

Assembly writes a template and then one region per (cell, trial window) into a temporary store
beside the target, marks it complete, consolidates the metadata and renames it into place: a
reader sees no cube or a complete one, never a half-written store under the final name.

Incremental assembly: the last cube is kept as a hard-linked snapshot (:func:`snapshot_path`);
the cells it can serve unchanged (:func:`reusable_cells`) are linked from it and only new cells
are read from their shards.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..core.closed_form import theorem2_m2
from ..core.system import db_to_lin
from ..errors import CorruptFileError, CubeError
from ..version import __version__
from .axes import SAMPLER_DIM, TRIAL_DIM
from .config import SweepConfig, cube_config, resolve
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
from .plan import Cell, cell_slots, cells
from .store import load_arrays


def read_shards(cfg: SweepConfig, shard_files, only=None) -> dict:
    """Load and verify shard files; returns {cell key: {"g18": (trials,), ...}}
    (:attr:`netsense.pipeline.plan.Cell.key`: (label, M, lam, gamma), or (label, M, lam_t,
    lam_r, gamma) with separate densities).

    ``M`` is None for a full-beam sampler (one layout serves every M), else the M (M_t) of the
    cell.
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
        out[key] = {k: np.concatenate([p[2][k] for p in pieces]) for k in ("g18", "g23")}
    return out


def scales_m2(cfg: SweepConfig) -> np.ndarray:
    """c^2 / (M_t M_r eta(rho_s)) on the (M, rho_s) grid, or the (M_t, M_r, rho_s) grid with
    separate antenna counts [m^2 per unit geometric factor]."""
    rho = db_to_lin(np.asarray(cfg.rho_s_db))
    if cfg.separate_M:
        M_t = np.asarray(cfg.M_t, float)[:, None, None]
        M_r = np.asarray(cfg.M_r, float)[None, :, None]
        return cfg.system.error_scale_m2(M_t, M_r, rho[None, None, :])
    M = np.asarray(cfg.M, float)[:, None]
    return cfg.system.error_scale_m2(M, M, rho[None, :])


def _grids(cfg: SweepConfig) -> dict:
    """{M_t, M_r, rho_s_db, lam_t, lam_r}: arrays broadcast over the cube's parameter dims
    without gamma (a tied axis serves both of its pair)."""
    dims = [d for d in cfg.dims[1:-1] if d != "gamma"]

    def along(name):
        shape = [1] * len(dims)
        shape[dims.index(name)] = -1
        return np.asarray(getattr(cfg, name), float).reshape(shape)

    M_t, M_r = (along("M_t"), along("M_r")) if cfg.separate_M else (along("M"),) * 2
    lam_t, lam_r = (along("lam_t"), along("lam_r")) if cfg.separate_lam else (along("lam"),) * 2
    return {"M_t": M_t, "M_r": M_r, "rho_s_db": along("rho_s_db"), "lam_t": lam_t,
            "lam_r": lam_r}


def closed_form_grid(cfg: SweepConfig) -> np.ndarray:
    """Theorem 2 (eq. 26 of [1]) over the cube's parameter dims; NaN where gamma <= 2. (For tied
    axes M_t = M_r = M and lam_t = lam_r = lam broadcast the same arrays as before separate axes
    existed: the stored numbers are bit for bit those of earlier cubes.)"""
    g = _grids(cfg)
    shape = np.broadcast_shapes(*(v.shape for v in g.values()))
    out = np.full((*shape, len(cfg.gamma)), np.nan)
    for j, gamma in enumerate(cfg.gamma):
        if gamma > 2:  # Theorem 2 needs gamma > 2; NaN (no closed form) otherwise
            out[..., j] = theorem2_m2(gamma=gamma, system=cfg.system, **g)  # eq. (26)
    return out


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
    2 Lemma3_t Lemma3_r; NaN where no exact mean is known)."""
    from ..core.closed_form import lemma3_inv_sum
    from ..core.expectations import g23_mean

    dens = cfg.densities
    f = np.full((len(cfg.samplers), len(dens), len(cfg.gamma)), np.nan)
    for k, (spec, beam) in enumerate(zip(cfg.samplers, cfg.beams, strict=True)):
        for i, lam in enumerate(dens):
            for j, g in enumerate(cfg.gamma):
                if not g > 2.0:
                    continue
                # 2 Lemma3_t Lemma3_r; a tied point squares its one value (the form its stored
                # numbers were computed with)
                x = [float(lemma3_inv_sum(v, g)) for v in lam]
                f[k, i, j] = g23_mean(spec, float(lam[0]), float(g), beam,
                                      lam_r=float(lam[-1])) / (
                    2.0 * (x[0] ** 2 if len(x) == 1 else x[0] * x[1]))
    n_m, n_lam = len(cfg.m_dims), len(cfg.lam_dims)
    f = f.reshape(len(cfg.samplers), *(len(getattr(cfg, d)) for d in cfg.lam_dims),
                  len(cfg.gamma))
    # (sampler, [M axes, rho: broadcast], lam axes, gamma)
    f = f.reshape(f.shape[0], *([1] * (n_m + 1)), *f.shape[1:1 + n_lam], f.shape[-1])
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


def _lam_index(cfg: SweepConfig, i) -> tuple[int, ...]:
    """A cell's density index as a tuple: (lam,) tied, (lam_t, lam_r) separate."""
    return tuple(i) if cfg.separate_lam else (i,)


def _m_cells(cfg: SweepConfig, m: int | None) -> list[tuple[int, ...]]:
    """The antenna indices a cell fills: all of them with full beam gain (``m`` None), else the
    (M,) or the (M_t, every M_r) of its sampled M."""
    sizes = [len(getattr(cfg, d)) for d in cfg.m_dims]
    if m is None:
        return [tuple(x) for x in np.ndindex(*sizes)]
    return [(m,)] if not cfg.separate_M else [(m, r) for r in range(sizes[1])]


def write_cell(cfg: SweepConfig, path, chunks, s: int, i, j: int, samples: dict,
               m: int | None = None) -> None:
    """Write the (sampler_s, lam_i, gamma_j) slab from its per-trial geometric factors, in trial
    windows aligned to whole chunks (concurrent writers of distinct cells never share a chunk).
    ``i``: the lam index, or the (lam_t, lam_r) index pair with separate densities. ``m``: write
    only M (M_t) index m (a non-full beam model samples each M separately)."""
    import xarray as xr

    msl = slice(None) if m is None else slice(m, m + 1)
    scale = scales_m2(cfg)[msl]  # (M axes..., rho)
    n_lam = len(cfg.lam_dims)
    scale = scale.reshape(1, *scale.shape, *([1] * (n_lam + 1)), 1)  # + sampler, lam, gamma, trial
    per_trial = int(np.prod(scale.shape))
    window = chunks[-1] * max(1, 2**24 // max(1, per_trial * chunks[-1]))  # ~128 MB per write
    dims = cfg.dims
    m_region = {cfg.m_dims[0]: msl, **({cfg.m_dims[1]: slice(None)} if cfg.separate_M else {})}
    lam_region = {d: slice(x, x + 1) for d, x in zip(cfg.lam_dims, _lam_index(cfg, i),
                                                      strict=True)}
    lead = (None,) * (len(dims) - 1)
    for a in range(0, cfg.trials, window):
        b = min(a + window, cfg.trials)
        region = {"sampler": slice(s, s + 1), **m_region, "rho_s_db": slice(None),
                  **lam_region, "gamma": slice(j, j + 1), "trial": slice(a, b)}
        part = xr.Dataset({
            "crlb_m2": (dims, scale * samples["g18"][(*lead, slice(a, b))]),
            "jensen_m2": (dims, scale * samples["g23"][(*lead, slice(a, b))]),
        })
        # every chunk is written, all-NaN ones too: a missing chunk file is then a fault
        # (netsense.pipeline.integrity), never a cell that happened to be NaN
        part.to_zarr(path, region=region, mode="r+", consolidated=False, write_empty_chunks=True)


# Cube config keys that may differ between a stored cube and a new one whose cells it can still
# serve: the lists of cells (a cell is one (sampler, lam, gamma), per M for a non-full beam;
# lam_t and lam_r with separate densities).
CELL_LIST_KEYS = ("sampler", "sweep.lam", "sweep.lam_t", "sweep.lam_r", "sweep.gamma")
# Array metadata that must match for a stored chunk file to mean the same in the new cube.
CHUNK_META_KEYS = ("data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs",
                   "dimension_names", "storage_transformers")
# The only chunk layout _link_cell knows: c/<i0>/.../<i5>, one file per chunk.
DEFAULT_KEYS = {"name": "default", "configuration": {"separator": "/"}}


def _without_cell_lists(raw: dict) -> dict:
    out = json.loads(json.dumps(raw, sort_keys=True, default=str))
    for dotted in CELL_LIST_KEYS:
        *parents, last = dotted.split(".")
        node = out
        for p in parents:
            node = node.get(p, {})
        node.pop(last, None)
    return out


def _meta(path: Path) -> dict:
    return json.loads((path / "zarr.json").read_text())


# In the snapshot: per cell, the shard files it was read from and the fingerprint its samples
# were stored under ({"shards": {cell: stats}, "fingerprints": {cell: fingerprint}}).
SHARD_STATS = "netsense-shards.json"


def _stats_key(key) -> str:
    return json.dumps(list(key))  # floats as repr: exact round trip


def _stats(files) -> list:
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

    Returns ({new cell key: (old sampler index, old lam index (a tuple (lam_t, lam_r) with
    separate densities), old gamma index)}, reason).
    A stored cell is reused only if the stored cube is complete and was made by the same code
    (``attrs``' code versions, netsense version) from the same config apart from the cell lists
    (``CELL_LIST_KEYS``), the sampler behind its label is the same, the cell's samples were
    stored under the same fingerprint (what the kernel computes for it, :mod:`.plan`), its
    arrays encode chunks the same way and, with ``shard_stats`` ({cell id: :func:`_stats` of its
    shard files now}), those shard files are the ones the stored cell was read from: a shard that
    was written again or changed since is read again. Anything else rebuilds the cell from its shards.
    """
    old_path = Path(old_path)
    if not (old_path / "zarr.json").exists():
        return {}, "no previous cube"
    try:
        root = _meta(old_path)
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
        gammas = list(old_cfg.gamma)
        if len(old_cfg.samplers) != len(labels) or old_cfg.dims != cfg.dims or any(
                list(getattr(old_cfg, d)) != list(getattr(cfg, d)) for d in cfg.m_dims):
            return {}, "previous cube has another layout"
        lams = [list(getattr(old_cfg, d)) for d in cfg.lam_dims]
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
        key = cell.key
        label, gamma = key[0], key[-1]
        lam = (cell.lam, cell.lam_r) if cell.sides else (cell.lam,)
        if label in labels and specs[labels.index(label)] == new_specs[label] \
                and all(x in v for x, v in zip(lam, lams, strict=True)) and gamma in gammas:
            if old_fps.get(_stats_key(key)) != new_fps[key]:
                continue
            if shard_stats is not None and read_from.get(_stats_key(key)) != shard_stats.get(
                    _stats_key(key), []):
                continue
            li = tuple(v.index(x) for x, v in zip(lam, lams, strict=True))
            out[key] = (labels.index(label), li if cell.sides else li[0], gammas.index(gamma))
    return out, "" if out else "no cell in common"


def _cell_files(old: Path, var: str, src: tuple, m_cells):
    """(chunk file in the old store, its key under the cell) of one cell's chunks of ``var``.
    Chunk keys: default encoding, '/' separator, c/<sampler>/<M...>/<rho>/<lam...>/<gamma>/<trial>
    (one index per antenna and density dim). ``m_cells``: the antenna index tuples."""
    s0, i0, j0 = src
    lam = [str(x) for x in (i0 if isinstance(i0, tuple) else (i0,))]
    for m in m_cells:
        base_old = old.joinpath(var, "c", str(s0), *map(str, m))
        if not base_old.is_dir():
            continue
        for r in sorted(os.listdir(base_old)):
            d_old = base_old.joinpath(r, *lam, str(j0))
            if d_old.is_dir():
                for t in sorted(os.listdir(d_old)):
                    yield d_old / t, (m, r, t)


def _cell_sound(cfg: SweepConfig, old: Path, src: tuple, m_cells, chunks) -> bool:
    """Every chunk file of the stored cell is there and passes its checksum."""
    from .integrity import check_file

    n_trial = -(-cfg.trials // chunks[-1])
    want = len(m_cells) * len(cfg.rho_s_db) * n_trial
    for var in DATA_VARS:
        files = list(_cell_files(old, var, src, m_cells))
        if len(files) != want or any(check_file(f, True) for f, _ in files):
            return False
    return True


def _link_cell(old: Path, new: Path, var: str, src: tuple, dst: tuple, m_cells) -> int:
    """Hard-link (else copy) one cell's chunk files of ``var`` from the old store to the new one."""
    _, i1, j1 = dst
    lam = [str(x) for x in (i1 if isinstance(i1, tuple) else (i1,))]
    n = 0
    for f, (m, r, t) in _cell_files(old, var, src, m_cells):
        d_new = new.joinpath(var, "c", str(dst[0]), *map(str, m), r, *lam, str(j1))
        d_new.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, d_new / t)
        except OSError:  # no hard links here (another file system): copy
            shutil.copyfile(f, d_new / t)
        n += 1
    return n


def assemble(cfg: SweepConfig, shard_files, out_path, extra_attrs: dict | None = None,
             shard_cells: dict | None = None, log=None) -> Path:
    """Build the cube at ``out_path`` (see module docstring).

    ``shard_cells``: {shard file: cell key}. With it, the cells that the previous cube (its
    snapshot, :func:`snapshot_path`) can serve unchanged (:func:`reusable_cells`) have their
    chunk files hard-linked into the new store and only the other cells' shards are read:
    adding a gamma or a lam writes only the new cells. Without it, or when nothing can be
    reused, every shard is read.
    """
    import zarr

    out_path = Path(out_path)
    prev = snapshot_path(out_path)
    attrs = cube_attrs(cfg, extra_attrs)
    cell_files: dict = {}
    for f, key in (shard_cells or {}).items():
        cell_files.setdefault(key, []).append(f)
    read_from = {_stats_key(k): _stats(v) for k, v in cell_files.items()}  # before reading
    reuse, why = reusable_cells(cfg, prev, attrs, read_from) if shard_cells else ({}, "")
    tmp = out_path.with_name(out_path.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    chunks = write_template(cfg, tmp, attrs)
    if reuse:
        old_meta = _meta(prev)["consolidated_metadata"]["metadata"]
        new_meta = {v: _meta(tmp / v) for v in DATA_VARS}
        if any({k: old_meta[v].get(k) for k in CHUNK_META_KEYS} !=
               {k: new_meta[v].get(k) for k in CHUNK_META_KEYS} for v in DATA_VARS):
            reuse, why = {}, "previous cube encodes chunks differently"
        elif any(new_meta[v].get("chunk_key_encoding") != DEFAULT_KEYS or any(
                c.get("name") == "sharding_indexed" for c in new_meta[v].get("codecs", []))
                for v in DATA_VARS):
            reuse, why = {}, "chunk layout is not one '/'-keyed file per chunk"
    bad = []
    if reuse:  # a stored cell with a missing or corrupted chunk is read from its shards again
        for cell, _, m, _, _ in cell_slots(cfg):
            if cell.key in reuse and not _cell_sound(
                    cfg, prev, reuse[cell.key], _m_cells(cfg, m), chunks):
                bad.append(cell.describe())
                del reuse[cell.key]
    todo = {c.key for c in cells(cfg) if c.key not in reuse}
    files = shard_files if not shard_cells else [f for f in shard_files
                                                 if shard_cells[f] in todo]
    samples = read_shards(cfg, files, only=todo)
    linked = 0
    for cell, k, m, i, j in cell_slots(cfg):
        key = cell.key
        if key in reuse:
            for v in DATA_VARS:
                linked += _link_cell(prev, tmp, v, reuse[key], (k, i, j), _m_cells(cfg, m))
        else:
            write_cell(cfg, tmp, chunks, k, i, j, samples[key], m)
    if log is not None:
        n = len(reuse) + len(todo)
        print(f"netsense: assemble: {len(todo)} of {n} cell(s) written from shards, "
              f"{len(reuse)} taken from the previous cube ({linked} chunk files linked)"
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
        _snapshot(out_path, prev, {"shards": read_from, "fingerprints": {
            _stats_key(k): fp for k, fp in cell_fingerprints(cfg).items()}}, log)
    return out_path


def snapshot_path(out_path) -> Path:
    """Where the last assembled cube's hard-linked snapshot lives (``.<name>.prev``, beside it).

    Snakemake deletes a job's old output before the job runs, so the next assembly finds its
    reusable cells here. Hard links share the cube's blocks: no extra disk while both exist.
    """
    out_path = Path(out_path)
    return out_path.with_name(f".{out_path.name}.prev")


def _snapshot(out_path: Path, prev: Path, stats: dict, log) -> None:
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
