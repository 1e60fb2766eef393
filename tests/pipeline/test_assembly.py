"""Incremental assembly: a new cube takes the cells the previous one can serve (hard-linked chunk
files) and writes only the others; the result is identical to assembling every shard afresh.

Shards come from the real shard runner (synchronous: the blocks run in this process); the
end-to-end version with Snakemake and Dask is tests/workflow/test_pipeline.py.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest

import netsense
from netsense.pipeline.assembly import assemble
from netsense.pipeline.config import resolve
from netsense.pipeline.plan import plan
from netsense.pipeline.reuse import reusable_cells, snapshot_path
from netsense.pipeline.shard import run_shard
from netsense.pipeline.store import load_arrays
from netsense.pipeline.template import code_versions

BASE = {
    "name": "inc", "seed": 11, "trials": 1500, "block_trials": 500, "shard_blocks": 2,
    "sweep": {"M": [1, 4], "rho_s_db": [110, 120], "lam": ["1/400", "1/900"],
              "gamma": [2.5, 4.0]},
    "sampler": [{"kind": "plane", "nearest": 16},
                {"kind": "plane", "nearest": 16, "beam": "codebook"}],
}
VARS = ("crlb_m2", "jensen_m2", "closed_form_m2")
COORDS = ("sampler", "M", "rho_s_db", "lam", "gamma", "trial")


def config(**sweep) -> dict:
    raw = copy.deepcopy(BASE)
    raw["sweep"].update(sweep)
    return raw


def shards(run: Path, raw: dict) -> tuple:
    """Run (or reuse) every shard of ``raw`` under ``run``; return (cfg, files, cell of file)."""
    cfg = resolve(raw)
    sh = plan(cfg)
    files = [run / "shards" / f"{s.name}.npz" for s in sh]
    for s, f in zip(sh, files, strict=True):
        if not f.exists() or load_arrays(f)[1]["trial_stop"] != s.trial_stop:  # as Snakemake
            f.parent.mkdir(parents=True, exist_ok=True)
            run_shard(s.params(cfg), f, run / "blocks" / s.cell_id,
                      lambda: contextlib.nullcontext(None), log=io.StringIO())
    return cfg, files, {f: s.cell.key for s, f in zip(sh, files, strict=True)}


def build(run: Path, raw: dict, incremental=True) -> tuple[Path, str]:
    cfg, files, cells = shards(run, raw)
    out = run / "cube.zarr"
    log = io.StringIO()
    assemble(cfg, files, out, code_versions(cfg), shard_cells=cells if incremental else None,
             log=log)
    return out, log.getvalue()


def arrays(cube: Path) -> dict:
    with netsense.open_cube(cube) as ds:
        return {k: ds[k].values.copy() for k in (*VARS, *COORDS)} | {
            "attrs": {k: v for k, v in ds.attrs.items() if k != "created_utc"}}


def assert_same(a: dict, b: dict):
    for k in (*VARS, *COORDS):
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        if a[k].dtype.kind == "f":
            assert np.array_equal(a[k], b[k], equal_nan=True), k  # bit for bit, NaN in place
        else:
            assert np.array_equal(a[k], b[k]), k
    assert a["attrs"] == b["attrs"]


def fresh(tmp_path: Path, run: Path, raw: dict) -> dict:
    """The same config assembled from every shard, in another directory (shards copied)."""
    import shutil

    other = tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(run / "shards", other / "shards")
    cube, log = build(other, raw, incremental=False)
    assert ", 0 taken from the previous cube" in log
    return arrays(cube)


@pytest.mark.parametrize("change", [
    {"gamma": [2.5, 3.0, 4.0]},              # a gamma between the old ones: indices shift
    {"gamma": [2.5, 4.0, 5.0]},              # a gamma at the end
    {"lam": ["1/1600", "1/400", "1/900"]},    # a lam in front
    {"lam": ["1/900"]},                       # fewer cells
    {"samplers_reversed": True},              # the sampler index of every cell changes
])
def test_incremental_equals_fresh(tmp_path, change):
    run = tmp_path / "run"
    build(run, config())
    change = dict(change)
    reverse = change.pop("samplers_reversed", False)
    new = config(**change)
    if reverse:
        new["sampler"] = new["sampler"][::-1]
    cube, log = build(run, new)
    cfg = resolve(new)
    n_cells = (1 + len(cfg.M)) * len(cfg.lam) * len(cfg.gamma)  # full beam + codebook per M
    old_lam = {1 / 400, 1 / 900}
    kept = sum(1 for lam in cfg.lam for g in cfg.gamma if lam in old_lam and g in (2.5, 4.0))
    reused = kept * (1 + len(cfg.M))
    assert f"{n_cells - reused} of {n_cells} cell(s) written from shards, {reused} taken" in log
    assert_same(arrays(cube), fresh(tmp_path, run, new))


def test_reused_cells_read_no_shard(tmp_path, monkeypatch):
    """Only the new cells' shard files are opened."""
    import netsense.pipeline.cells as cube_mod

    run = tmp_path / "run"
    build(run, config())
    new = config(gamma=[2.5, 4.0, 5.0])
    cfg, files, cells = shards(run, new)
    expect = arrays(Path(build(tmp_path / "ref", new, incremental=False)[0]))
    opened = []
    real = cube_mod.load_arrays
    monkeypatch.setattr(cube_mod, "load_arrays", lambda f: (opened.append(Path(f)), real(f))[1])
    log = io.StringIO()
    assemble(cfg, files, run / "cube.zarr", code_versions(cfg), shard_cells=cells, log=log)
    assert "6 of 18 cell(s) written from shards, 12 taken" in log.getvalue()
    assert sorted(opened) == sorted(f for f in files if cells[f][3] == 5.0)
    assert_same(arrays(run / "cube.zarr"), expect)


def test_shard_copied_back_with_its_times_is_read_again(tmp_path):
    """cp -p / rsync -a keep size and mtime; the inode and ctime still change: read again."""
    import shutil

    run = tmp_path / "run"
    build(run, config())
    _, files, _ = shards(run, config())
    victim = files[0]
    shutil.copy2(victim, tmp_path / "copy.npz")
    victim.unlink()
    shutil.copy2(tmp_path / "copy.npz", victim)  # same bytes, same mtime, other inode
    _, log = build(run, config())
    assert "1 of 12 cell(s) written from shards, 11 taken" in log


def test_interrupted_snapshot_replacement_is_never_read(tmp_path):
    """A kill while the old snapshot is deleted leaves it renamed aside (.trash), never a
    half-deleted store under the snapshot's name: the next assembly reuses nothing, and is
    right."""
    run = tmp_path / "run"
    build(run, config())
    prev = snapshot_path(run / "cube.zarr")
    trash = prev.with_name(prev.name + ".trash")
    prev.rename(trash)  # the state after os.replace(prev, trash) and a kill
    for chunk in list((trash / "crlb_m2").rglob("*"))[::2]:
        if chunk.is_file():
            chunk.unlink()  # ... part way through deleting it
    new = config(gamma=[2.5, 4.0, 5.0])
    cube, log = build(run, new)
    assert "nothing reused: no previous cube" in log
    assert not trash.exists() and prev.exists()
    assert_same(arrays(cube), fresh(tmp_path, run, new))


def test_rewritten_shard_is_read_again(tmp_path):
    """A shard written since the last assembly (Snakemake re-ran its job) is read again: a
    corrupt one is reported, not hidden behind the previous cube's copy of its cell."""
    from netsense.errors import CorruptFileError

    run = tmp_path / "run"
    build(run, config())
    cfg, files, cells = shards(run, config())
    victim = files[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError):
        assemble(cfg, files, run / "cube.zarr", code_versions(cfg), shard_cells=cells, log=io.StringIO())
    victim.with_name(victim.name + ".corrupt").rename(victim)
    victim.write_bytes(data)  # written again (same bytes, new mtime): read again, not linked
    _, log = build(run, config())
    assert "1 of 12 cell(s) written from shards, 11 taken" in log  # the victim's cell only


@pytest.mark.parametrize("what, raw_change, reason", [
    ("rho_s list", {"sweep.rho_s_db": [100, 110, 120]}, "other settings"),
    ("trials", {"trials": 2000}, "other settings"),
    ("seed", {"seed": 12}, "other settings"),
    ("physical constant", {"system": {"carrier_hz": 60.0e9}}, "other settings"),
])
def test_other_settings_rebuild_everything(tmp_path, what, raw_change, reason):
    run = tmp_path / "run"
    build(run, config())
    new = config()
    for k, v in raw_change.items():
        if k.startswith("sweep."):
            new["sweep"][k.split(".")[1]] = v
        else:
            new[k] = v
    cube, log = build(run, new)
    assert "12 of 12 cell(s) written from shards, 0 taken" in log, what
    assert f"nothing reused: previous cube made with {reason}" in log, what
    assert_same(arrays(cube), fresh(tmp_path, run, new))


def test_same_label_other_sampler_is_not_reused(tmp_path):
    """disk R=500 and R=500.0000001 share the label disk-R500; their cells must not mix."""
    run = tmp_path / "run"
    a = config()
    a["sampler"] = [{"kind": "disk", "radius_m": 500.0}]
    a["trials"] = 1000
    build(run, a)
    b = copy.deepcopy(a)
    b["sampler"] = [{"kind": "disk", "radius_m": 500.0000001}]
    cfg = resolve(b)
    from netsense.pipeline.template import cube_attrs

    reuse, why = reusable_cells(cfg, snapshot_path(run / "cube.zarr"), cube_attrs(cfg, code_versions(cfg)))
    assert reuse == {} and why == "no cell in common"


def test_no_reuse_from_incomplete_or_other_code(tmp_path):
    run = tmp_path / "run"
    build(run, config())
    prev = snapshot_path(run / "cube.zarr")
    cfg = resolve(config(gamma=[2.5, 4.0, 5.0]))
    from netsense.pipeline.template import cube_attrs

    reuse, _ = reusable_cells(cfg, prev, cube_attrs(cfg, code_versions(cfg)))
    assert len(reuse) == 2 * 2 * 3
    other = cube_attrs(cfg, {**code_versions(cfg), "code_version_cube": "0" * 12})
    assert reusable_cells(cfg, prev, other) == ({}, "previous cube made by other code "
                                                    "(code_version_cube)")
    meta = json.loads((prev / "zarr.json").read_text())
    meta["attributes"]["netsense_complete"] = False
    (prev / "zarr.json").unlink()  # a hard link to the cube's own metadata: replace, not edit
    (prev / "zarr.json").write_text(json.dumps(meta))
    assert reusable_cells(cfg, prev, cube_attrs(cfg, code_versions(cfg))) == ({}, "previous cube incomplete")
    # the cube itself was not touched through the snapshot's hard link
    assert json.loads((run / "cube.zarr" / "zarr.json").read_text())["attributes"][
        "netsense_complete"] is True


def test_adding_a_sampler_kind_keeps_the_other_cells(tmp_path):
    """A disk entry added to a plane-only sweep: the plane cells are linked from the previous
    cube (each entry's samples carry their own code version), only the disk cells are new."""
    run = tmp_path / "run"
    a = config()
    a["sampler"] = [{"kind": "plane", "nearest": 16}]
    build(run, a)
    b = copy.deepcopy(a)
    b["sampler"].append({"kind": "disk", "radius_m": 60})
    cube, log = build(run, b)
    assert "4 of 8 cell(s) written from shards, 4 taken" in log
    assert_same(arrays(cube), fresh(tmp_path, run, b))


def test_a_new_link_axis_value_writes_only_its_cells(tmp_path):
    """A link axis (sweep.height_m) is a shape axis like lam and gamma: adding a height writes
    only its cells and takes the others from the previous cube, identical to a fresh assembly."""
    run = tmp_path / "run"
    build(run, config(height_m=[0, 10]))
    new = config(height_m=[0, 10, 25])
    cube, log = build(run, new)
    cfg = resolve(copy.deepcopy(new))
    per_height = (1 + len(cfg.M)) * len(cfg.lam) * len(cfg.gamma)  # full beam + codebook per M
    n_cells, reused = 3 * per_height, 2 * per_height
    assert f"{n_cells - reused} of {n_cells} cell(s) written from shards, {reused} taken" in log
    got = arrays(cube)
    assert_same(got, fresh(tmp_path, run, new))
    with netsense.open_cube(cube) as ds:
        assert ds["height_m"].values.tolist() == [0.0, 10.0, 25.0]
        assert ds["height_m"].attrs["units"] == "m"
