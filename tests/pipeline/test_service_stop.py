"""The cluster host's shard service when a requester or the host goes away (a Ctrl-C, a killed
run): the blocks are cancelled at once, a requester still there is told so in one line, the
host's log gets no traceback, and a job that finds the host stopped is told that, not that it
never started. A real LocalCluster, real requesters (subprocesses), slow real blocks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from netsense.pipeline.cluster import supervisor
from netsense.pipeline.cluster.factory import local_cluster
from netsense.pipeline.cluster.service import ShardService, socket_path

WAIT_S = 120  # generous bound for a step on a loaded 2-core machine
N_BLOCKS = 8  # in the one shard; K = 2048 nodes per side makes a block ~0.5-2 s
REQUESTER = """
import json, sys
from netsense.pipeline.cluster.service import request_shard
a = json.loads(sys.argv[1])
try:
    request_shard(a["sock"], a["params"], a["out"], a["cache"], sys.stderr)
except RuntimeError as exc:
    print(f"netsense: error: {exc}", file=sys.stderr)
"""


def _params():
    from netsense.pipeline.config import resolve
    from netsense.pipeline.plan import plan

    cfg = resolve({"name": "stop", "seed": 3, "trials": N_BLOCKS * 2000, "block_trials": 2000,
                   "shard_blocks": N_BLOCKS, "sweep": {"M": [4], "rho_s_db": [120],
                                                       "lam": [1 / 900], "gamma": [3.0]},
                   "sampler": {"kind": "plane", "nearest": 2048}})
    return plan(cfg)[0].params(cfg)


def _wait_for(pred, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def service(tmp_path):
    from distributed import Client

    with local_cluster(1) as cluster, Client(cluster) as client:
        svc = ShardService(client, socket_path(tmp_path)).start()
        yield svc, client
        svc.stop()


def _request(svc, tmp_path):
    cache = tmp_path / "blocks"
    arg = json.dumps({"sock": svc.path, "params": _params(), "out": str(tmp_path / "s.npz"),
                      "cache": str(cache)})
    proc = subprocess.Popen([sys.executable, "-c", REQUESTER, arg], stderr=subprocess.PIPE,
                            text=True)
    assert "to sample" in proc.stderr.readline()  # the host runs the shard
    blocks = lambda: len(list(cache.glob("block-*.npz")))  # noqa: E731
    _wait_for(lambda: blocks() >= 1, "a first block")
    return proc, blocks


def test_a_requester_gone_has_its_blocks_cancelled_at_once(service, tmp_path):
    svc, client = service
    proc, blocks = _request(svc, tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # its job stopped by a Ctrl-C, or killed
    at_kill = blocks()
    proc.wait()
    _wait_for(lambda: not client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)),
              "the scheduler to drop the shard's tasks")
    # The requester went just after a block was kept, so the next was a block's time away from
    # done: it was cancelled, not kept (waiting for its log line to fail, as before, kept it).
    assert blocks() == at_kill < N_BLOCKS


def test_host_stopping_answers_its_requesters_in_one_line(service, tmp_path, capfd):
    svc, _ = service
    proc, blocks = _request(svc, tmp_path)
    svc.stop()  # what the host does first when it stops (SIGTERM, or Snakemake gone)
    rest = proc.communicate(timeout=WAIT_S)[1]
    assert blocks() < N_BLOCKS  # the shard was cut, not waited for
    said = [ln for ln in rest.splitlines() if ln.startswith("netsense: error:")]
    assert said == ["netsense: error: the run's embedded Dask cluster stopped during the shard "
                    "(the run ended or was interrupted)"], rest
    assert "Traceback" not in capfd.readouterr().err  # the host's log


def test_a_job_finding_the_host_stopped_is_told_so(tmp_path):
    ddir = tmp_path / ".dask"
    ddir.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    sched = ddir / "scheduler.json"
    (ddir / supervisor.STOPPED_NAME).touch()  # what a host that was up leaves when it stops
    with pytest.raises(RuntimeError, match=r"has stopped \(its run ended or was interrupted\)"):
        supervisor.wait_for_host(sched, host_pid=gone.pid)
