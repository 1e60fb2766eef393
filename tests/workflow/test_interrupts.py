"""Interrupted runs resume to the same cube; the embedded cluster never outlives its run; a
Ctrl-C of `netsense run` says one line, no traceback anywhere.

On the real Snakefile and a real multi-process Dask cluster. Each test compares with an
undisturbed run of the same config. Faults are injected on conditions seen on disk (a block
file), never after a delay, and each test checks that work was still pending when it struck.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
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
N_BLOCKS = 24  # of SLOW: 4 cells x 12000 / 2000 trials
N_SHARDS = 8  # of SLOW: 4 cells x 12000 / (3 x 2000) trials
NETSENSE = str(Path(sys.executable).parent / "netsense")
INTERRUPTED = re.compile(r"netsense: interrupted; (\d+) of (\d+) blocks kept; run the same "
                         r"command to resume")


def blocks_pending(run):
    """The number of blocks done, once one is and the sweep provably has more to do."""
    n = n_blocks(run)
    return n if 1 <= n < N_BLOCKS else None


def procs_of(workdir: Path, run: Path) -> list:
    """Processes of a run: any naming its results, and `netsense shard` jobs working in it.
    psutil may lose a process between any two calls."""
    found = []
    for p in psutil.process_iter():
        try:
            cmd = " ".join(p.cmdline())
            if str(run) in cmd or ("netsense shard" in cmd and Path(p.cwd()) == workdir):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("undisturbed"))
    run_snakemake(wd, write_config(wd, smoke_config(**SLOW)), SMOKE_CUBE)
    return cube_arrays(wd / "results" / "smoke" / "cube.zarr")


def test_worker_killed_mid_shard(workdir, undisturbed):
    run = workdir / "results" / "smoke"
    proc = start_snakemake(workdir, write_config(workdir, smoke_config(**SLOW)), SMOKE_CUBE)
    procs = cluster_procs(run)
    workers = [p for p in procs[1:] if "spawn_main" in " ".join(p.cmdline())]
    assert workers, [p.cmdline() for p in procs]
    wait_for(lambda: blocks_pending(run), "a first block")
    os.kill(workers[0].pid, signal.SIGKILL)  # a worker process dies mid-shard
    assert n_blocks(run) < N_BLOCKS  # blocks were still to run when it died
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-4000:]
    assert_cubes_identical(undisturbed, cube_arrays(run / "cube.zarr"))
    assert not still_alive(procs, timeout=60)


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_interrupted_run_resumes(workdir, undisturbed, how):
    run = workdir / "results" / "smoke"
    cfgfile = write_config(workdir, smoke_config(**SLOW))
    log = workdir / "run.out"
    with open(log, "w") as out:
        if how == "ctrl-c":  # `netsense run` (make run), its own process group as in a terminal
            proc = subprocess.Popen([NETSENSE, "run", "--configfile", str(cfgfile), "--cores",
                                     "2", "--no-report"], cwd=workdir, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        else:
            proc = start_snakemake(workdir, cfgfile)
        procs = cluster_procs(run)
        wait_for(lambda: blocks_pending(run), "a first block")
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        else:
            os.kill(proc.pid, signal.SIGKILL)  # only Snakemake itself; its jobs are orphaned
        proc.communicate(timeout=300)
    assert proc.returncode == (130 if how == "ctrl-c" else -signal.SIGKILL)
    # the embedded cluster is gone: host, nannies and workers (fault 6)
    assert not still_alive(procs), "Dask processes outlived the interrupted run"
    if how == "sigkill":  # orphaned shard jobs end on their own (their cluster is gone)
        wait_for(lambda: not procs_of(workdir, run), "orphaned shard jobs to end")
    _check_quiet_logs(run)
    before = shard_state(run)
    blocks_before = n_blocks(run)
    # the interruption cut the sweep short: blocks (and so shards) were left to sample
    assert 1 <= blocks_before < N_BLOCKS and len(before) < N_SHARDS, (blocks_before, before)
    if how == "ctrl-c":
        _check_one_quiet_line(log.read_text(), run, blocks_before)
    # "run the same command to resume"
    p = subprocess.run([NETSENSE, "run", "--configfile", str(cfgfile), "--cores", "2",
                        "--no-report"], cwd=workdir, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    if how == "sigkill":  # a killed Snakemake leaves its lock: `netsense run` (make run) clears it
        assert "removing the lock of a Snakemake that was killed" in p.stderr
    after = shard_state(run)
    ch = changed(before, after)
    # Finished blocks are never re-sampled. A shard whose file was written but whose job was
    # cut before Snakemake recorded it is re-run (Snakemake marks it incomplete), and then
    # takes all its blocks from the cache: 0 sampled.
    assert all(ch[k] == 0 for k in set(before) & set(ch)), ch
    assert sum(ch.values()) == N_BLOCKS - blocks_before
    assert_cubes_identical(undisturbed, cube_arrays(run / "cube.zarr"))


def _check_one_quiet_line(out: str, run: Path, blocks_kept: int) -> None:
    """A Ctrl-C'd `netsense run` ends with the one line, counting the blocks on disk, and
    nothing it printed holds a traceback or an error."""
    lines = out.splitlines()
    said = [m.groups() for m in map(INTERRUPTED.fullmatch, lines) if m]
    assert said == [(str(blocks_kept), str(N_BLOCKS))], lines[-20:]
    assert INTERRUPTED.fullmatch(lines[-1]), lines[-20:]
    noisy = [ln for ln in lines if "Traceback" in ln or "rror" in ln or "Exception" in ln]
    assert not noisy, noisy


def _check_quiet_logs(run: Path) -> None:
    """The host stopped cleanly (no task failed under it, no worker killed mid-task) and no
    shard job left a traceback, nor was told its host "exited while starting"."""
    host_log = (run / ".dask" / "host.log").read_text()
    for bad in ("Traceback", " - ERROR - ", "exited while starting"):  # distributed's ERROR
        assert bad not in host_log, host_log[-3000:]
    for job_log in (run / "logs" / "simulate").glob("*/*.log"):
        text = job_log.read_text()
        assert "Traceback" not in text and "exited while starting" not in text, text[-3000:]
