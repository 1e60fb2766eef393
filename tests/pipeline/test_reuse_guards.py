"""Incremental reuse refuses a stored cell for each of its reasons on its own.

In a real run the guards of `reusable_cells` and `assemble` fire together (new code also
rewrites the shard files, which refuse every cell anyway), so a guard dropped by mistake goes
unnoticed. Here a genuinely reusable previous cube is built once (real shards, real assembly);
each test changes exactly one thing about it, every other condition still holding, and asserts
the cell is refused with that guard's reason. Guards covered elsewhere: incomplete cube, other
code_version_cube, same label with another sampler (tests/pipeline/test_assembly.py), other
settings and a shard file written again since (ibid., through `assemble`).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from netsense.pipeline import template
from netsense.pipeline.assembly import assemble
from netsense.pipeline.config import resolve
from netsense.pipeline.cubeformat import FACTORS
from netsense.pipeline.plan import plan
from netsense.pipeline.reuse import CHUNK_META_KEYS, SHARD_STATS, reusable_cells, snapshot_path
from netsense.pipeline.shard import run_shard
from netsense.pipeline.template import code_versions, cube_attrs

# 2 sampler entries x 2 lam x 1 gamma = 4 cells, one shard each, one trial chunk per (M, rho)
RAW = {
    "name": "guards", "seed": 17, "trials": 200, "block_trials": 100, "shard_blocks": 2,
    "sweep": {"M": [1, 4], "rho_s_db": [120], "lam": ["1/900", "1/400"], "gamma": [2.5]},
    "sampler": [{"kind": "plane", "nearest": 8}, {"kind": "disk", "radius_m": 60}],
}
N_CELLS = 4
DATA_VARS = FACTORS  # the stored per-trial arrays (format 4: geometric factors)


def raw(**sweep) -> dict:
    out = copy.deepcopy(RAW)
    out["sweep"].update(sweep)
    return out


def shards(run: Path, doc: dict, blocks: Path | None = None) -> tuple:
    """Every shard of ``doc`` under ``run`` (blocks from ``blocks`` if given: no sampling)."""
    cfg = resolve(copy.deepcopy(doc))
    if blocks is not None and not (run / "blocks").exists():
        shutil.copytree(blocks, run / "blocks")
    files, cells = [], {}
    for s in plan(cfg):
        f = run / "shards" / f"{s.name}.npz"
        if not f.exists():
            f.parent.mkdir(parents=True, exist_ok=True)
            run_shard(s.params(cfg), f, run / "blocks" / s.cell_id,
                      lambda: contextlib.nullcontext(None), log=io.StringIO())
        files.append(f)
        cells[f] = s.cell.key
    return cfg, files, cells


def build(run: Path, doc: dict, blocks: Path | None = None) -> str:
    """Assemble ``doc`` incrementally in ``run``; returns the assembly's log."""
    cfg, files, cells = shards(run, doc, blocks)
    log = io.StringIO()
    assemble(cfg, files, run / "cube.zarr", code_versions(cfg), shard_cells=cells, log=log)
    return log.getvalue()


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A run whose cube and snapshot can serve every cell of RAW."""
    run = tmp_path_factory.mktemp("reuse")
    log = build(run, RAW)
    assert f"{N_CELLS} of {N_CELLS} cell(s) written from shards" in log
    return run


@pytest.fixture
def prev(stored, tmp_path) -> Path:
    """A private copy of the snapshot (real files, not links: tests edit it)."""
    dst = tmp_path / "prev"
    shutil.copytree(snapshot_path(stored / "cube.zarr"), dst)
    return dst


@pytest.fixture
def run(stored, tmp_path) -> Path:
    """A private run with the stored blocks, assembled once: its snapshot is reusable."""
    r = tmp_path / "run"
    build(r, RAW, blocks=stored / "blocks")
    return r


def edit_json(path: Path, change) -> None:
    """Rewrite a JSON file with ``change(doc)`` applied: a new file, so a hard-linked twin
    (the snapshot shares its files with the cube) is left as it was."""
    doc = json.loads(path.read_text())
    change(doc)
    path.unlink()
    path.write_text(json.dumps(doc))


def attrs_of(cfg, **over) -> dict:
    return {**cube_attrs(cfg, code_versions(cfg)), **over}


def read_from(prev: Path) -> dict:
    """The shard stats the snapshot records per cell (what a new run would find again)."""
    return json.loads((prev / SHARD_STATS).read_text())["shards"]


# ---- reusable_cells: one condition at a time -----------------------------------------------


def test_the_stored_cube_can_serve_every_cell(prev):
    """The baseline every other test departs from: all conditions hold, every cell reused."""
    cfg = resolve(raw())
    reuse, why = reusable_cells(cfg, prev, attrs_of(cfg), read_from(prev))
    assert len(reuse) == N_CELLS and why == ""


def _root(change):
    return lambda prev: edit_json(prev / "zarr.json", change)


def _attr(key, value):
    return _root(lambda d: d["attributes"].__setitem__(key, value))


def _samplers(change):
    return _root(lambda d: change(d["attributes"]["samplers"]))


ROOT_CASES = [
    # (what changed, how, the reason reusable_cells gives)
    ("no consolidated metadata", _root(lambda d: d.pop("consolidated_metadata")),
     "previous cube incomplete"),
    ("other netsense version", _attr("netsense_version", "0.0.0"),
     "previous cube made by other code (netsense_version)"),
    ("other numpy/zarr/xarray", _attr("software", "numpy 1.0; zarr 2.0; xarray 0.1"),
     "previous cube made by other code (software)"),
    ("format 2", _attr("netsense_format", 2), "previous cube has format 2"),
    ("no samplers attribute", _root(lambda d: d["attributes"].pop("samplers")),
     "previous cube has format 4"),
    ("samplers attribute not a list", _attr("samplers", {"label": "plane-K8"}),
     "previous cube has format 4"),
    ("a sampler entry more than the stored config", _samplers(lambda s: s.append(dict(s[0]))),
     "previous cube has another layout"),
    ("stored config unreadable", _attr("config_json", "{not json"),
     "previous cube unreadable (JSONDecodeError)"),
    ("a sampler entry without its spec", _samplers(lambda s: s[0].pop("spec")),
     "previous cube unreadable (KeyError)"),
]


@pytest.mark.parametrize("what, change, reason", ROOT_CASES, ids=[c[0] for c in ROOT_CASES])
def test_each_stored_cube_condition_refuses_alone(prev, what, change, reason):
    cfg = resolve(raw())
    change(prev)
    assert reusable_cells(cfg, prev, attrs_of(cfg), read_from(prev)) == ({}, reason), what


def test_no_previous_cube(tmp_path):
    cfg = resolve(raw())
    assert reusable_cells(cfg, tmp_path / "none", attrs_of(cfg)) == ({}, "no previous cube")


def test_separate_densities_are_another_layout(prev):
    """lam -> lam_t, lam_r with the same values: the config is the same apart from the cell
    lists (CELL_LIST_KEYS), so only the layout check can refuse."""
    doc = raw()
    lam = doc["sweep"].pop("lam")
    doc["sweep"].update(lam_t=lam, lam_r=lam)
    cfg = resolve(doc)
    assert reusable_cells(cfg, prev, attrs_of(cfg)) == ({}, "previous cube has another layout")


def test_one_sampler_entry_changed_refuses_its_cells_only(prev):
    """The stored entry of plane-K8 is another sampler: its cells are refused, the disk's kept."""
    cfg = resolve(raw())
    _samplers(lambda s: s[0].__setitem__("spec", {"kind": "plane", "nearest": 9}))(prev)
    reuse, why = reusable_cells(cfg, prev, attrs_of(cfg), read_from(prev))
    assert {k[0] for k in reuse} == {"disk-R60"} and len(reuse) == N_CELLS // 2 and why == ""


@pytest.mark.parametrize("with_shard_stats", [True, False])
def test_a_cell_stored_under_another_fingerprint_is_refused_alone(prev, with_shard_stats):
    """The snapshot says one cell's samples were made by a kernel that computed other numbers
    (another fingerprint): that cell is read from its shards, every other one reused; with or
    without the shard stats."""
    cfg = resolve(raw())
    stats = read_from(prev)
    edit_json(prev / SHARD_STATS, lambda d: d["fingerprints"].__setitem__(
        sorted(d["fingerprints"])[0], "0" * 16))
    gone = sorted(json.loads((prev / SHARD_STATS).read_text())["fingerprints"])[0]
    reuse, why = reusable_cells(cfg, prev, attrs_of(cfg), stats if with_shard_stats else None)
    assert len(reuse) == N_CELLS - 1 and why == ""
    assert gone not in {json.dumps(list(k)) for k in reuse}


def test_without_the_shard_record_nothing_is_reused(prev):
    """The record holds the fingerprints the cells were stored under: without it no cell can be
    checked, with or without shard stats."""
    cfg = resolve(raw())
    (prev / SHARD_STATS).unlink()
    why = f"previous cube has no {SHARD_STATS} with fingerprints"
    assert reusable_cells(cfg, prev, attrs_of(cfg), {}) == ({}, why)
    assert reusable_cells(cfg, prev, attrs_of(cfg)) == ({}, why)


def test_a_cell_whose_shard_files_are_unknown_now_is_refused(prev):
    """A cell with no stats now (its shard files not found) is read from its shards."""
    cfg = resolve(raw())
    now = read_from(prev)
    gone = sorted(now)[0]
    now[gone] = []
    reuse, _ = reusable_cells(cfg, prev, attrs_of(cfg), now)
    assert len(reuse) == N_CELLS - 1
    assert gone not in {json.dumps(list(k)) for k in reuse}


# ---- assemble: the chunk checks after reusable_cells ----------------------------------------


def chunks_of(cube: Path) -> dict:
    import zarr

    return {v: zarr.open_array(cube / v, mode="r")[:] for v in DATA_VARS}


def assert_same_chunks(a: dict, b: dict):
    for v in DATA_VARS:
        assert a[v].tobytes() == b[v].tobytes(), v  # bit for bit


def _meta_change(key):
    def change(m):
        if key == "data_type":
            m[key] = "float32"
        elif key == "chunk_grid":
            m[key]["configuration"]["chunk_shape"][-1] += 1
        elif key == "chunk_key_encoding":
            m[key] = {"name": "default", "configuration": {"separator": "."}}
        elif key == "fill_value":
            m[key] = 0.0
        elif key == "codecs":
            inner = m[key][0]["configuration"]["codecs"]  # format 4: inside the sharding codec
            next(c for c in inner if c["name"] == "zstd")["configuration"]["level"] = 3
        elif key == "dimension_names":
            m[key] = [*m[key][:-1], "sample"]
        elif key == "storage_transformers":
            m[key] = [{"name": "some-transformer"}]
        else:
            raise AssertionError(f"no change written for {key}: add one")
    return change


# What a chunk file's bytes mean besides its position (zarr v3 array metadata), written out here:
# the production list (CHUNK_META_KEYS) must hold each of them.
CHUNK_META = ("data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs",
              "dimension_names", "storage_transformers")


def test_each_chunk_metadata_key_refuses_alone(stored, run):
    """A stored array whose chunks mean something else in one key of its metadata: nothing is
    linked. After each assembly the snapshot is the new cube again, reusable as before."""
    want = chunks_of(stored / "cube.zarr")
    for key in CHUNK_META:
        change = _meta_change(key)
        prev = snapshot_path(run / "cube.zarr")
        edit_json(prev / "zarr.json", lambda d, c=change: c(
            d["consolidated_metadata"]["metadata"]["g23"]))
        log = build(run, RAW)
        assert f"{N_CELLS} of {N_CELLS} cell(s) written from shards, 0 taken" in log, key
        assert "nothing reused: previous cube encodes chunks differently" in log, key
        assert_same_chunks(chunks_of(run / "cube.zarr"), want)
    log = build(run, RAW)  # the snapshot the last assembly left serves every cell
    assert f"0 of {N_CELLS} cell(s) written from shards, {N_CELLS} taken" in log
    assert set(CHUNK_META) <= set(CHUNK_META_KEYS)


def test_a_chunk_layout_other_than_one_file_per_chunk_refuses(stored, tmp_path, monkeypatch):
    """Cubes written with another chunk key encoding (both the stored one and the new one, so
    their metadata agree): no cell is linked, and the log says why (not that the stored
    cells' chunks were missing)."""
    real = template.codecs
    monkeypatch.setattr(template, "codecs", lambda: {
        **real(), "chunk_key_encoding": {"name": "v2", "separator": "."}})
    r = tmp_path / "v2"
    build(r, RAW, blocks=stored / "blocks")
    log = build(r, RAW)
    assert f"{N_CELLS} of {N_CELLS} cell(s) written from shards, 0 taken" in log
    assert "nothing reused: chunk layout is not one '/'-keyed file per shard" in log
    assert "missing or corrupt" not in log


def _one_cell_chunk(prev: Path, var: str) -> Path:
    """A shard file of the first stored cell (sampler 0, lam 0, gamma 0) of ``var``: format 4
    keys its files c/<sampler>/<lam>/<gamma>/<shard> (no scale dims)."""
    return next(f for f in sorted((prev / var / "c" / "0").rglob("*"))
                if f.is_file() and f.relative_to(prev / var / "c" / "0").parts[0:2] == ("0", "0"))


# "corrupt" flips the shard's last byte (its index's CRC-32C), "inner" its first byte (the first
# inner chunk's data: the index is at the end, zarr's default)
@pytest.mark.parametrize("var, fault", [("g23", "missing"), ("g18", "corrupt"), ("g18", "inner")])
def test_a_stored_cell_with_a_bad_chunk_is_read_from_its_shards(stored, run, var, fault):
    """Every other condition holds; one chunk file of one stored cell is missing or fails its
    CRC-32C: that cell alone is rebuilt from its shards, and the cube is as before."""
    f = _one_cell_chunk(snapshot_path(run / "cube.zarr"), var)
    data = f.read_bytes()
    f.unlink()  # the snapshot's file is a hard link to the cube's: replace it, never edit
    if fault == "corrupt":
        f.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif fault == "inner":
        f.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    log = build(run, RAW)
    assert f"1 of {N_CELLS} cell(s) written from shards, {N_CELLS - 1} taken" in log
    assert "1 stored cell(s) had a missing or corrupt chunk and were rebuilt from their " \
           "shards: plane-K8" in log
    assert_same_chunks(chunks_of(run / "cube.zarr"), chunks_of(stored / "cube.zarr"))
    assert np.isfinite(chunks_of(run / "cube.zarr")[var]).all()
