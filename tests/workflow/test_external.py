"""An existing Dask cluster started by hand (`dask scheduler --scheduler-file` + `dask worker`),
as sites do: the run uses it through dask.scheduler_file and gives the same cube."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
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
DASK = str(Path(sys.executable).parent / "dask")


def test_scheduler_file_cluster(tmp_path):
    sched = tmp_path / "sched.json"
    procs = [subprocess.Popen([DASK, "scheduler", "--scheduler-file", str(sched), "--port", "0",
                               "--dashboard-address", ":0"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not sched.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        procs.append(subprocess.Popen([DASK, "worker", "--scheduler-file", str(sched),
                                       "--nworkers", "2", "--nthreads", "1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wd = make_workdir(tmp_path / "ext")
        p = run_snakemake(wd, write_config(wd, smoke_config(dask={"scheduler_file": str(sched)})),
                         SMOKE_CUBE)
        assert "embedded Dask cluster" not in p.stderr
        assert not (wd / "results" / "smoke" / ".dask" / "host.pid").exists()
        ext = cube_arrays(wd / "results" / "smoke" / "cube.zarr")
        ref = make_workdir(tmp_path / "ref")
        run_snakemake(ref, write_config(ref, smoke_config()), SMOKE_CUBE)
        assert_cubes_identical(cube_arrays(ref / "results" / "smoke" / "cube.zarr"), ext)
    finally:
        for pr in procs:
            pr.terminate()
        for pr in procs:
            pr.wait(timeout=60)
