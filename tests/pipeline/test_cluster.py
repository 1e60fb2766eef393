"""The embedded Dask cluster's life cycle on its own: started without waiting, found by a shard
job's connect(), released by the assemble step, stopped. A real host process, real workers."""

from __future__ import annotations

import json
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
    info = cluster.start_embedded(tmp_path, n_workers=1, wait=False)
    sched = Path(info["scheduler_file"])
    # returns before the cluster is up: a condition, not a wall time (the host has yet to import
    # distributed and start a scheduler, seconds on a loaded machine, when the call returns)
    assert not sched.exists() and cluster.pid_alive(info["pid"])
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


def _shard_params(trials=2000, block_trials=500, **over):
    from netsense.pipeline.config import resolve
    from netsense.pipeline.plan import plan

    cfg = resolve({"name": "svc", "seed": 5, "trials": trials, "block_trials": block_trials,
                   "shard_blocks": 4, "sweep": {"M": [4], "rho_s_db": [120], "lam": [1 / 900],
                                                "gamma": [3.0]},
                   "sampler": {"kind": "plane", "nearest": 8}, **over})
    shard = plan(cfg)[0]
    return shard.params(cfg)


def test_host_runs_shards_for_jobs_bit_for_bit(tmp_path):
    """A job hands its shard to the host's service (no Dask client of its own): the shard file
    and the block cache are those the job would have written itself."""
    import contextlib
    import io
    import json

    import numpy as np

    from netsense.pipeline.cluster.service import request_shard
    from netsense.pipeline.shard import run_shard
    from netsense.pipeline.store import load_arrays

    params = _shard_params()
    here = tmp_path / "here.npz"
    run_shard(params, here, tmp_path / "cache-here", lambda: contextlib.nullcontext(None),
              log=io.StringIO())
    info = cluster.start_embedded(tmp_path / "run", n_workers=1, wait=True)
    try:
        sock = json.loads(Path(info["scheduler_file"]).read_text())["shard_socket"]
        log = io.StringIO()
        summary = request_shard(sock, params, tmp_path / "host.npz", tmp_path / "cache-host", log)
        assert summary["blocks_sampled"] == 4 and "block 3 done (4/4)" in log.getvalue()
        a, ma = load_arrays(here)
        b, mb = load_arrays(tmp_path / "host.npz")
        assert all(np.array_equal(a[k], b[k]) for k in ("g18", "g23"))
        assert {k: v for k, v in ma.items() if k != "blocks_sampled"} == \
            {k: v for k, v in mb.items() if k != "blocks_sampled"}
        # again: every block from the cache
        again = request_shard(sock, params, tmp_path / "host.npz", tmp_path / "cache-host", log)
        assert again["blocks_sampled"] == 0 and again["blocks_cached"] == 4
        # a failing shard is an error for the requester, and the host serves the next one
        bad = {**params, "sampler": {"kind": "plane", "nearest": 0}}
        from netsense.errors import InputError

        with pytest.raises(InputError, match=r"^sampler\.nearest: got 0; must be an integer"):
            request_shard(sock, bad, tmp_path / "bad.npz", tmp_path / "cache-bad", log)
        assert request_shard(sock, params, tmp_path / "h2.npz", tmp_path / "cache-host",
                             log)["blocks_cached"] == 4
    finally:
        cluster.stop_embedded(tmp_path / "run")
    from netsense.pipeline.cluster.service import request_shard as rs

    with pytest.raises(ConnectionError):  # the host is gone: the job runs the shard itself
        rs(sock, params, tmp_path / "x.npz", tmp_path / "cache-x", io.StringIO())


# ---- a shard job's way to its blocks: each fallback on its own ---------------------------------
# cmd_shard asks the run's host only when a block is missing and the run hosts a cluster whose
# scheduler file names a shard socket; otherwise the job computes on its own Client.


def _sched(tmp_path, socket_path="/nonexistent/netsense-test.sock", text=None) -> Path:
    sched = tmp_path / ".dask" / "scheduler.json"
    sched.parent.mkdir(parents=True, exist_ok=True)
    sched.write_text(text if text is not None else json.dumps(
        {"address": "tcp://127.0.0.1:1", "shard_socket": socket_path}))
    return sched


@pytest.mark.parametrize("what, opts, want", [
    ("hosted, up", lambda s: {"cluster": "embedded", "embedded_scheduler_file": str(s)},
     "/nonexistent/netsense-test.sock"),
    ("jobqueue is hosted too", lambda s: {"cluster": "jobqueue",
                                          "embedded_scheduler_file": str(s)},
     "/nonexistent/netsense-test.sock"),
    ("an external cluster has no host", lambda s: {"cluster": "external",
                                                   "embedded_scheduler_file": str(s)}, None),
    ("synchronous has no host", lambda s: {"cluster": "synchronous",
                                           "embedded_scheduler_file": str(s)}, None),
    ("no scheduler file given", lambda s: {"cluster": "embedded"}, None),
    ("no host started", lambda s: {"cluster": "embedded",
                                   "embedded_scheduler_file": str(s.with_name("none.json"))},
     None),
])
def test_host_socket_of_each_dask_mode(tmp_path, what, opts, want):
    from netsense.cli.shard import _host_socket

    assert _host_socket(opts(_sched(tmp_path))) == want, what


def test_host_socket_of_an_unreadable_scheduler_file_is_none(tmp_path):
    from netsense.cli.shard import _host_socket

    sched = _sched(tmp_path, text="{half a scheduler file")
    assert _host_socket({"cluster": "embedded", "embedded_scheduler_file": str(sched)}) is None


def test_nobody_listening_is_no_service_not_a_host_gone(tmp_path):
    """NoService makes the job run its shard itself; a RuntimeError would fail the job."""
    import io

    from netsense.pipeline.cluster.service import NoService, request_shard

    with pytest.raises(NoService, match="no shard service at"):
        request_shard(str(tmp_path / "nobody.sock"), _shard_params(), tmp_path / "x.npz",
                      tmp_path / "cache", io.StringIO())


def test_a_shard_with_every_block_cached_asks_no_host(tmp_path, capsys):
    """Every block cached: the shard file is written here; the host's socket (nobody listens
    there) is never tried."""
    import contextlib
    import io

    from netsense.cli.main import main
    from netsense.pipeline.shard import run_shard

    params = _shard_params(trials=1000, block_trials=500)
    run_shard(params, tmp_path / "first.npz", tmp_path / "cache",
              lambda: contextlib.nullcontext(None), log=io.StringIO())
    opts = {"cluster": "embedded", "embedded_scheduler_file": str(_sched(tmp_path))}
    assert main(["shard", "--params", json.dumps(params), "--out", str(tmp_path / "s.npz"),
                 "--cache-dir", str(tmp_path / "cache"), "--dask", json.dumps(opts)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["blocks_cached"] == 2 and "no shard service" not in err
    assert (tmp_path / "s.npz").exists()
