"""The embedded Dask cluster's life cycle on its own: started without waiting, found by a shard
job's connect(), released by the assemble step, stopped. A real host process, real workers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from netsense.pipeline.cluster import supervisor as cluster
from netsense.pipeline.cluster.client import connect
from netsense.pipeline.cluster.supervisor import HOST_MODULE

HOST_EXIT_TIMEOUT_S = 60  # the host writes the performance report, then closes 1 worker


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster._reap(pid)
        if not cluster.pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_no_host_means_no_wait(tmp_path):
    sched = tmp_path / ".dask" / "scheduler.json"
    sched.parent.mkdir()
    assert cluster.wait_for_host(sched) is False  # no host.pid: a private cluster, at once
    (sched.parent / "host.pid").write_text("not a pid")
    assert cluster.wait_for_host(sched) is False
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (sched.parent / "host.pid").write_text(str(dead.pid))
    assert cluster.wait_for_host(sched) is False  # left over from a finished run
    (sched.parent / "host.pid").write_text(str(subprocess.os.getpid()))
    assert cluster.wait_for_host(sched) is False  # alive, but not a netsense host


def test_this_runs_host_already_gone_is_an_error(tmp_path):
    """The run's host (its pid passed to the jobs) died before any job looked: a zombie not yet
    reaped by Snakemake. The job fails naming host.log; it does not start a private cluster."""
    sched = tmp_path / ".dask" / "scheduler.json"
    sched.parent.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while cluster.pid_alive(gone.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # exits and stays a zombie: we do not wait() for it yet
    assert not cluster.pid_alive(gone.pid)
    with pytest.raises(RuntimeError, match=r"exited while starting; see .*host\.log"):
        cluster.wait_for_host(sched, host_pid=gone.pid)
    opts = {"cluster": "embedded", "embedded_scheduler_file": str(sched), "host_pid": gone.pid}
    with pytest.raises(RuntimeError, match="exited while starting"), connect(opts):
        pass
    gone.wait()


def test_host_dying_during_start_is_an_error(tmp_path):
    ddir = tmp_path / ".dask"
    ddir.mkdir()
    sched = ddir / "scheduler.json"
    # a real host process that fails after its imports (its --jobqueue is not JSON)
    host = subprocess.Popen([sys.executable, "-m", HOST_MODULE, "--scheduler-file",
                             str(sched), "--n-workers", "1", "--jobqueue", "{not json"],
                            stderr=subprocess.DEVNULL)
    (ddir / "host.pid").write_text(str(host.pid))
    with pytest.raises(RuntimeError, match=r"exited while starting; see .*host\.log"):
        cluster.wait_for_host(sched)
    host.wait()


def test_start_without_wait_connect_release_stop(tmp_path):
    t0 = time.monotonic()
    info = cluster.start_embedded(tmp_path, n_workers=1, wait=False)
    assert time.monotonic() - t0 < 1.0  # returns before the cluster is up
    sched = Path(info["scheduler_file"])
    opts = {"cluster": "embedded", "embedded_scheduler_file": str(sched)}
    with connect(opts) as client:  # waits for the scheduler file
        assert sched.exists()
        assert client.submit(sum, [1, 2, 3]).result() == 6
        assert len(client.scheduler_info()["workers"]) == 1
    assert cluster.release_embedded(sched.parent) is True
    assert _wait_gone(info["pid"], HOST_EXIT_TIMEOUT_S), "host still running after release"
    assert (tmp_path / "dask-performance.html").stat().st_size > 10_000
    assert not sched.exists()  # the host removed its scheduler file on the way out
    assert cluster.release_embedded(sched.parent) is False  # nothing left to release
    assert cluster.stop_embedded(tmp_path) is False
    assert not (sched.parent / "host.pid").exists()
