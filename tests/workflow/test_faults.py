"""Faults on the real workflow: corrupted files on disk are detected, named and never
read as data; a block that raises names its parameters and seed key and loses nothing else; the
embedded cluster never outlives a run, whichever way it ends."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psutil
import pytest
from wfhelpers import (
    SMOKE_CUBE,
    assert_cubes_identical,
    changed,
    cluster_procs,
    cube_arrays,
    make_workdir,
    run_snakemake,
    shard_state,
    smoke_config,
    start_snakemake,
    still_alive,
    write_config,
)

pytestmark = pytest.mark.slow


def test_truncated_shard_is_named_and_recomputed(tmp_path):
    wd = make_workdir(tmp_path / "c")
    cfgfile = write_config(wd, smoke_config())
    run = wd / "results" / "smoke"
    run_snakemake(wd, cfgfile, SMOKE_CUBE)
    good = cube_arrays(run / "cube.zarr")
    victim = sorted((run / "shards").glob("*/shard-00000.npz"))[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # truncated after it was written
    # the next run re-assembles (the shard is newer than the cube), detects it and stops
    p = run_snakemake(wd, cfgfile, SMOKE_CUBE, check=False)
    assert p.returncode != 0
    assert str(victim.relative_to(wd)) in p.stderr and "corrupt" in p.stderr
    assert not victim.exists() and victim.with_name(victim.name + ".corrupt").exists()
    # the run after that recomputes that shard only, from its cached blocks, same cube
    s0 = shard_state(run)
    run_snakemake(wd, cfgfile, SMOKE_CUBE)
    ch = changed(s0, shard_state(run))
    assert list(ch) == [str(victim.relative_to(run))] and ch[str(victim.relative_to(run))] == 0
    assert_cubes_identical(good, cube_arrays(run / "cube.zarr"))


def test_corrupt_block_is_resampled_not_read(tmp_path):
    wd = make_workdir(tmp_path / "b")
    cfg = smoke_config()
    run = wd / "results" / "smoke"
    run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
    good = cube_arrays(run / "cube.zarr")
    block = sorted((run / "blocks").glob("*/block-0000002.npz"))[0]
    raw = bytearray(block.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in the middle of the data
    block.write_bytes(bytes(raw))
    # more trials: the last shard of every cell re-runs and takes block 2 from the cache
    cfg["trials"] = 3500
    p = run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
    assert f"{block.relative_to(wd)}: corrupt" in p.stderr  # named, then sampled again
    now = cube_arrays(run / "cube.zarr")
    for v in ("crlb_m2", "jensen_m2"):
        assert (now[v][..., :3000] == good[v]).all()


def test_block_exception_names_block_and_keeps_finished_work(tmp_path):
    cfg = smoke_config(shard_blocks=1)
    wd = make_workdir(tmp_path / "f")
    cfgfile = write_config(wd, cfg)
    run = wd / "results" / "smoke"
    # the fault is injected from here (faultinject/sitecustomize.py): the package has no hook
    inject = str(Path(__file__).parent / "faultinject")
    env = {**os.environ, "NETSENSE_TEST_BLOCK_FAULT": f"{1 / 400!r},4.0,2",
           "PYTHONPATH": os.pathsep.join(filter(None, [inject, os.environ.get("PYTHONPATH")]))}
    proc = start_snakemake(wd, cfgfile, SMOKE_CUBE, env=env)
    procs = cluster_procs(run)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode != 0
    assert "block 2 failed" in err and "lam=0.0025 gamma=4" in err
    assert "seed=7 key='plane;K=32;lam=0.0025;gamma=4.0;block=1000' block=2" in err
    assert not still_alive(procs), "the embedded cluster outlived a failed run"
    kept = shard_state(run)
    assert len(kept) >= 1  # finished shards stay
    # without the fault the run completes, re-using every finished shard and block
    s0 = shard_state(run)
    run_snakemake(wd, cfgfile, SMOKE_CUBE)
    ch = changed(s0, shard_state(run))
    assert not set(ch) & set(kept)
    fresh = make_workdir(tmp_path / "fresh")
    run_snakemake(fresh, write_config(fresh, cfg), SMOKE_CUBE)
    assert_cubes_identical(cube_arrays(fresh / "results" / "smoke" / "cube.zarr"),
                           cube_arrays(run / "cube.zarr"))


def test_cluster_gone_after_success(tmp_path):
    wd = make_workdir(tmp_path / "s")
    proc = start_snakemake(wd, write_config(wd, smoke_config()))
    procs = cluster_procs(wd / "results" / "smoke")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert not still_alive(procs, timeout=30)
    assert (wd / "results" / "smoke" / "dask-performance.html").stat().st_size > 10_000


def _assembly_processes(snakemake_pid):
    """The running ``netsense assemble`` job(s) under Snakemake (found by command line)."""
    out = []
    for p in psutil.Process(snakemake_pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if "assemble" in " ".join(p.cmdline()):
                out.append(p)
    return out


def test_interrupted_assembly_never_presents_a_partial_cube(tmp_path):
    import signal
    import subprocess
    import sys

    from wfhelpers import wait_for

    import netsense
    from netsense.errors import CubeError

    # the assembly pauses 3 s after each of its 4 cells (faultinject/sitecustomize.py; the
    # package has no hook): it is caught mid-write whatever the machine's speed
    inject = str(Path(__file__).parent / "faultinject")
    env = {**os.environ, "NETSENSE_TEST_ASSEMBLY_PAUSE": "3",
           "PYTHONPATH": os.pathsep.join(filter(None, [inject, os.environ.get("PYTHONPATH")]))}
    cfg = smoke_config()
    wd = make_workdir(tmp_path / "a")
    cfgfile = write_config(wd, cfg)
    run = wd / "results" / "smoke"
    partial = run / "cube.zarr.partial"
    proc = start_snakemake(wd, cfgfile, env=env)
    # the template (all variables' metadata) is written; region writes have begun
    wait_for(lambda: (partial / "g23" / "c").exists(), "the assembly to start writing data")
    # freeze the assembly job where it is, then check (not assume) that it was still writing:
    # a stopped process cannot finish the cube between this check and the kill
    assembly = _assembly_processes(proc.pid)
    for p in assembly:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.suspend()
    assert assembly and partial.exists() and not (run / "cube.zarr").exists(), (
        "the assembly finished before it could be stopped; make the cube bigger")
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and the assembly job die mid-write
    proc.communicate(timeout=120)
    assert not (run / "cube.zarr").exists()  # no cube under the final name...
    with pytest.raises(CubeError, match="incomplete"):  # ...and the partial one says so
        netsense.open_cube(partial)
    q = subprocess.run([str(__import__("pathlib").Path(sys.executable).parent / "netsense"),
                        "query", str(partial), "--where", "M=4", "--where", "rho_s_db=120"],
                       capture_output=True, text=True, timeout=120)
    assert "INCOMPLETE" in q.stderr
    run_snakemake(wd, cfgfile, "--unlock")
    run_snakemake(wd, cfgfile, SMOKE_CUBE)
    assert netsense.open_cube(run / "cube.zarr").attrs["netsense_complete"] is True
    assert not partial.exists()
