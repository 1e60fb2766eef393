"""Interrupted runs resume to the same cube; the embedded cluster never outlives its run.

Issue 3 (behaviour 3) and issue 6 (faults 1, 2 and 6), on the real Snakefile and a real
multi-process Dask cluster. Each test compares with an undisturbed run of the same config.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest
from wfhelpers import (
    SNAKEMAKE,
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

# Slow blocks (K = 2048 nodes per side, ~0.5 s each) so that a fault lands mid-shard.
SLOW = dict(trials=12000, block_trials=2000, shard_blocks=3,
            sampler={"kind": "plane", "nearest": 2048})
WAIT_S = 120  # generous bound for a run step on a loaded 2-core machine


def _start(workdir, cfgfile):
    return subprocess.Popen([SNAKEMAKE, "--cores", "2", "--configfile", str(cfgfile),
                             "--rerun-incomplete"], cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(pred, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _cluster_procs(run):
    pid_file = run / ".dask" / "host.pid"

    def get():
        if not (run / ".dask" / "scheduler.json").exists() or not pid_file.exists():
            return None
        host = psutil.Process(int(pid_file.read_text()))
        kids = host.children(recursive=True)
        return [host, *kids] if len(kids) >= 2 else None
    return _wait_for(get, "the embedded Dask cluster")


def _n_blocks(run):
    return len(list((run / "blocks").glob("*/block-*.npz")))


def _all_gone(procs, timeout=WAIT_S):
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return alive


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("undisturbed"))
    run_snakemake(wd, write_config(wd, smoke_config(**SLOW)))
    return cube_arrays(wd / "results" / "smoke" / "cube.zarr")


def test_worker_killed_mid_shard(workdir, undisturbed):
    run = workdir / "results" / "smoke"
    proc = _start(workdir, write_config(workdir, smoke_config(**SLOW)))
    procs = _cluster_procs(run)
    _wait_for(lambda: _n_blocks(run) >= 1, "a first block")
    workers = [p for p in procs[1:] if "spawn_main" in " ".join(p.cmdline())]
    assert workers, [p.cmdline() for p in procs]
    os.kill(workers[0].pid, signal.SIGKILL)  # a worker process dies mid-shard
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-4000:]
    assert_cubes_identical(undisturbed, cube_arrays(run / "cube.zarr"))
    assert not _all_gone(procs, timeout=60)


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_interrupted_run_resumes(workdir, undisturbed, how):
    run = workdir / "results" / "smoke"
    cfgfile = write_config(workdir, smoke_config(**SLOW))
    proc = _start(workdir, cfgfile)
    procs = _cluster_procs(run)
    _wait_for(lambda: len(list((run / "shards").glob("*/*.npz"))) >= 1, "a first shard")
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    else:
        os.kill(proc.pid, signal.SIGKILL)  # only Snakemake itself; its jobs are orphaned
    proc.communicate(timeout=300)
    assert proc.returncode != 0
    # the embedded cluster is gone: host, nannies and workers (fault 6)
    assert not _all_gone(procs), "Dask processes outlived the interrupted run"
    if how == "sigkill":  # orphaned shard jobs end on their own (their cluster is gone)
        _wait_for(lambda: not [p for p in psutil.process_iter(["cmdline"])
                               if str(run) in " ".join(p.info["cmdline"] or [])
                               or ("netsense shard" in " ".join(p.info["cmdline"] or [])
                               and str(workdir) in (p.cwd() if p.is_running() else ""))],
                  "orphaned shard jobs to end")
    before = shard_state(run)
    blocks_before = _n_blocks(run)
    assert 1 <= len(before) < 8
    if how == "sigkill":  # a killed Snakemake leaves its lock: the README says to unlock first
        run_snakemake(workdir, cfgfile, "--unlock")
    run_snakemake(workdir, cfgfile)
    after = shard_state(run)
    ch = changed(before, after)
    # Finished blocks are never re-sampled. A shard whose file was written but whose job was
    # cut before Snakemake recorded it is re-run (Snakemake marks it incomplete), and then
    # takes all its blocks from the cache: 0 sampled.
    assert all(ch[k] == 0 for k in set(before) & set(ch)), ch
    assert sum(ch.values()) == 24 - blocks_before
    assert_cubes_identical(undisturbed, cube_arrays(run / "cube.zarr"))
