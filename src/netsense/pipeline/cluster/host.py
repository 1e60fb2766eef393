"""The cluster host process: runs the run's Dask cluster until told to stop.

Started by :func:`netsense.pipeline.cluster.supervisor.start_embedded` as
``python -m netsense.pipeline.cluster.host``. It writes the scheduler file once the cluster is
up (with the socket of its shard service, :mod:`.service`), records the run's Dask performance
report, and stops on SIGTERM/SIGINT or when the watched Snakemake process is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .factory import make_cluster
from .service import start_service
from .supervisor import STOPPED_NAME, pid_alive

_STOP = threading.Event()  # set by SIGTERM/SIGINT: the host shuts its cluster down


def _stop_on_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: _STOP.set())


def serve(scheduler_file: str, n_workers: int, threads_per_worker: int, memory_limit: str,
          watch_pid: int | None, report: str | None, jobqueue: dict | None = None) -> None:
    """Run a cluster until SIGTERM/SIGINT or until ``watch_pid`` exits, then release it."""
    import dask
    from distributed import Client, performance_report

    _stop_on_signals()
    dask.config.set({"distributed.worker.daemon": False})
    sched = Path(scheduler_file)
    if _STOP.is_set():  # released while still importing (a run with nothing to simulate)
        print("netsense: released before the cluster started; not starting it", file=sys.stderr,
              flush=True)
        return
    with make_cluster(n_workers, threads_per_worker, memory_limit, jobqueue) as cluster, \
            Client(cluster) as client:
        if jobqueue:  # fail early if SLURM never starts a worker
            client.wait_for_workers(1, timeout=jobqueue.get("start_timeout_s", 300))
            n_workers = jobqueue["jobs"] * (jobqueue.get("processes") or jobqueue["cores"])
        rep = performance_report(filename=report) if report else contextlib.nullcontext()
        service = start_service(client, sched.parent)
        with rep:
            tmp = sched.with_name(sched.name + ".tmp")
            tmp.write_text(json.dumps({"address": cluster.scheduler_address, "type": "Scheduler",
                                       "host_pid": os.getpid(), "n_workers": n_workers,
                                       "shard_socket": service.path if service else None}))
            os.replace(tmp, sched)
            print(f"netsense: Dask cluster up at {cluster.scheduler_address} with {n_workers} "
                  f"worker(s); dashboard {cluster.dashboard_link}", file=sys.stderr, flush=True)
            try:
                while not _STOP.wait(0.5):
                    if watch_pid and not pid_alive(watch_pid):
                        print("netsense: Snakemake is gone; shutting the Dask cluster down",
                              file=sys.stderr, flush=True)
                        break
            finally:
                # a job that comes later learns the host has stopped, not that it never started
                sched.with_name(STOPPED_NAME).touch()
                sched.unlink(missing_ok=True)
                if service:
                    service.stop()
        client.close()


def main(argv=None):
    """``python -m netsense.pipeline.cluster.host``: parse the arguments and :func:`serve`."""
    # First thing: a stop request that arrives while the host still imports (a run with
    # nothing to simulate releases the cluster at once) ends it cleanly, report written.
    _stop_on_signals()
    p = argparse.ArgumentParser(prog="python -m netsense.pipeline.cluster.host")
    p.add_argument("--scheduler-file", required=True)
    p.add_argument("--n-workers", type=int, required=True)
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--memory-limit", default="auto")
    p.add_argument("--watch-pid", type=int)
    p.add_argument("--report")
    p.add_argument("--jobqueue", help="JSON of dask.jobqueue: a SLURMCluster instead of local")
    a = p.parse_args(argv)
    serve(a.scheduler_file, a.n_workers, a.threads_per_worker, a.memory_limit, a.watch_pid,
          a.report, json.loads(a.jobqueue) if a.jobqueue else None)


if __name__ == "__main__":
    main()
