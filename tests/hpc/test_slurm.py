"""The smoke sweep (at one gamma) on a real SLURM, both ways onto a cluster: Snakemake's SLURM
executor (each shard job a SLURM job with its own Dask cluster) and one dask-jobqueue
SLURMCluster shared by the run. Both cubes must be bit-identical to the local run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from wfhelpers import (
    SMOKE_CUBE,
    assert_cubes_identical,
    cube_arrays,
    make_workdir,
    run_snakemake,
    smoke_config,
    write_config,
)

pytestmark = pytest.mark.slow
TIMINGS = {}
# The smoke sweep at one gamma: 2 cells of 3 blocks, 2 shards each. Every job is a SLURM job on
# one 2-CPU node, so the jobs run one after another; four shard jobs still have several jobs'
# blocks joined into cells, and the run stays short.
SWEEP = {"gamma": [4.0]}


@pytest.fixture(scope="module")
def local_cube(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("local"))
    t = time.perf_counter()
    run_snakemake(wd, write_config(wd, smoke_config(sweep=SWEEP)), SMOKE_CUBE)
    TIMINGS["local_s"] = time.perf_counter() - t
    return cube_arrays(wd / "results" / "smoke" / "cube.zarr")


# SLURM releases a finished job's entry asynchronously (slurmctld's job cleanup): wait for the
# queue to drain instead of reading it once.
SQUEUE_DRAIN_S = 60


def _squeue_empty():
    out = subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip()
    return out == ""


def wait_squeue_empty(timeout_s=SQUEUE_DRAIN_S) -> bool:
    """Whether the queue is empty within ``timeout_s`` (polled every second)."""
    deadline = time.monotonic() + timeout_s
    while not _squeue_empty():
        if time.monotonic() > deadline:
            return False
        time.sleep(1)
    return True


def test_snakemake_slurm_executor(slurm, local_cube, tmp_path):
    wd = make_workdir(tmp_path / "executor")
    t = time.perf_counter()
    # fast status polling for a test (the profile's default polls every 40 s)
    p = run_snakemake(wd, write_config(wd, smoke_config(sweep=SWEEP)), "--workflow-profile",
                      "workflow/profiles/slurm", "--seconds-between-status-checks", "2",
                      "--slurm-init-seconds-before-status-checks", "2", SMOKE_CUBE, cores=None)
    TIMINGS["slurm_executor_s"] = time.perf_counter() - t
    assert "each shard job starts a Dask cluster sized to its allocation" in p.stderr
    logs = list((wd / "results" / "smoke" / "logs" / "simulate").glob("*/*.log"))
    assert len(logs) == 4 and all("private Dask cluster with 2 worker(s)" in f.read_text() for f in logs)
    assert_cubes_identical(local_cube, cube_arrays(wd / "results" / "smoke" / "cube.zarr"))
    assert wait_squeue_empty()
    print(f"timings: {TIMINGS}")


def test_dask_jobqueue_cluster(slurm, local_cube, tmp_path):
    wd = make_workdir(tmp_path / "jobqueue")
    cfg = smoke_config(sweep=SWEEP, dask={"cluster": "jobqueue", "jobqueue": {
        "jobs": 2, "cores": 1, "memory": "2GB", "walltime": "00:30:00", "queue": "debug"}})
    t = time.perf_counter()
    run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
    TIMINGS["jobqueue_s"] = time.perf_counter() - t
    host_log = (wd / "results" / "smoke" / ".dask" / "host.log").read_text()
    assert "with 2 worker(s)" in host_log
    assert_cubes_identical(local_cube, cube_arrays(wd / "results" / "smoke" / "cube.zarr"))
    # the workers' SLURM jobs are released when the run ends
    assert wait_squeue_empty()
    print(f"timings: {TIMINGS}")
