"""A shard or block file corrupted on disk is detected, named, and never read as data (issue 6)."""

from __future__ import annotations

import pytest
from wfhelpers import (
    assert_cubes_identical,
    changed,
    cube_arrays,
    make_workdir,
    run_snakemake,
    shard_state,
    smoke_config,
    write_config,
)

pytestmark = pytest.mark.slow


def test_truncated_shard_is_named_and_recomputed(tmp_path):
    wd = make_workdir(tmp_path / "c")
    cfgfile = write_config(wd, smoke_config())
    run = wd / "results" / "smoke"
    run_snakemake(wd, cfgfile)
    good = cube_arrays(run / "cube.zarr")
    victim = sorted((run / "shards").glob("*/shard-00000.npz"))[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # truncated after it was written
    # the next run re-assembles (the shard is newer than the cube), detects it and stops
    p = run_snakemake(wd, cfgfile, check=False)
    assert p.returncode != 0
    assert str(victim.relative_to(wd)) in p.stderr and "corrupt" in p.stderr
    assert not victim.exists() and victim.with_name(victim.name + ".corrupt").exists()
    # the run after that recomputes that shard only, from its cached blocks, same cube
    s0 = shard_state(run)
    run_snakemake(wd, cfgfile)
    ch = changed(s0, shard_state(run))
    assert list(ch) == [str(victim.relative_to(run))] and ch[str(victim.relative_to(run))] == 0
    assert_cubes_identical(good, cube_arrays(run / "cube.zarr"))


def test_corrupt_block_is_resampled_not_read(tmp_path):
    wd = make_workdir(tmp_path / "b")
    cfg = smoke_config()
    run = wd / "results" / "smoke"
    run_snakemake(wd, write_config(wd, cfg))
    good = cube_arrays(run / "cube.zarr")
    block = sorted((run / "blocks").glob("*/block-0000002.npz"))[0]
    raw = bytearray(block.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in the middle of the data
    block.write_bytes(bytes(raw))
    # more trials: the last shard of every cell re-runs and takes block 2 from the cache
    cfg["trials"] = 3500
    p = run_snakemake(wd, write_config(wd, cfg))
    assert f"{block.relative_to(wd)}: corrupt" in p.stderr  # named, then sampled again
    now = cube_arrays(run / "cube.zarr")
    for v in ("crlb_m2", "jensen_m2"):
        assert (now[v][..., :3000] == good[v]).all()
