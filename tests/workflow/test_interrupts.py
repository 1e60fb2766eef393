"""Interrupted runs resume to the same cube; the embedded cluster never outlives its run.

On the real Snakefile and a real multi-process Dask cluster. Each test compares with an
undisturbed run of the same config.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from wfhelpers import (
    assert_cubes_identical,
    changed,
    cluster_procs,
    cube_arrays,
    make_workdir,
    n_blocks,
    run_snakemake,
    shard_state,
    smoke_config,
    start_snakemake,
    still_alive,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.slow

# Slow blocks (K = 2048 nodes per side, ~0.5 s each) so that a fault lands mid-shard.
SLOW = dict(trials=12000, block_trials=2000, shard_blocks=3,
            sampler={"kind": "plane", "nearest": 2048})


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("undisturbed"))
    run_snakemake(wd, write_config(wd, smoke_config(**SLOW)))
    return cube_arrays(wd / "results" / "smoke" / "cube.zarr")


def test_worker_killed_mid_shard(workdir, undisturbed):
    run = workdir / "results" / "smoke"
    proc = start_snakemake(workdir, write_config(workdir, smoke_config(**SLOW)))
    procs = cluster_procs(run)
    wait_for(lambda: n_blocks(run) >= 1, "a first block")
    workers = [p for p in procs[1:] if "spawn_main" in " ".join(p.cmdline())]
    assert workers, [p.cmdline() for p in procs]
    os.kill(workers[0].pid, signal.SIGKILL)  # a worker process dies mid-shard
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-4000:]
    assert_cubes_identical(undisturbed, cube_arrays(run / "cube.zarr"))
    assert not still_alive(procs, timeout=60)


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_interrupted_run_resumes(workdir, undisturbed, how):
    run = workdir / "results" / "smoke"
    cfgfile = write_config(workdir, smoke_config(**SLOW))
    proc = start_snakemake(workdir, cfgfile)
    procs = cluster_procs(run)
    wait_for(lambda: len(list((run / "shards").glob("*/*.npz"))) >= 1, "a first shard")
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    else:
        os.kill(proc.pid, signal.SIGKILL)  # only Snakemake itself; its jobs are orphaned
    proc.communicate(timeout=300)
    assert proc.returncode != 0
    # the embedded cluster is gone: host, nannies and workers (fault 6)
    assert not still_alive(procs), "Dask processes outlived the interrupted run"
    if how == "sigkill":  # orphaned shard jobs end on their own (their cluster is gone)
        wait_for(lambda: not [p for p in psutil.process_iter(["cmdline"])
                               if str(run) in " ".join(p.info["cmdline"] or [])
                               or ("netsense shard" in " ".join(p.info["cmdline"] or [])
                               and str(workdir) in (p.cwd() if p.is_running() else ""))],
                  "orphaned shard jobs to end")
    before = shard_state(run)
    blocks_before = n_blocks(run)
    assert 1 <= len(before) < 8
    if how == "sigkill":  # a killed Snakemake leaves its lock: `netsense run` (make run) clears it
        p = subprocess.run([str(Path(sys.executable).parent / "netsense"), "run", "--configfile",
                            str(cfgfile), "--cores", "2", "--no-report"], cwd=workdir,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        assert "removing the lock of a Snakemake that was killed" in p.stderr
    else:
        run_snakemake(workdir, cfgfile)
    after = shard_state(run)
    ch = changed(before, after)
    # Finished blocks are never re-sampled. A shard whose file was written but whose job was
    # cut before Snakemake recorded it is re-run (Snakemake marks it incomplete), and then
    # takes all its blocks from the cache: 0 sampled.
    assert all(ch[k] == 0 for k in set(before) & set(ch)), ch
    assert sum(ch.values()) == 24 - blocks_before
    assert_cubes_identical(undisturbed, cube_arrays(run / "cube.zarr"))
