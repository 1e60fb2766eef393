"""A shard job's connection to Dask: the run's embedded cluster, an external one, a private
one, or none (synchronous)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from .factory import local_cluster
from .supervisor import wait_for_host


@contextlib.contextmanager
def connect(dask_opts: dict, threads: int = 1, log=sys.stderr):
    """Yield a distributed Client per ``dask_opts``, or ``None`` for synchronous execution."""
    mode = dask_opts.get("cluster", "embedded")
    if mode == "synchronous":
        yield None
        return
    from distributed import Client

    if mode == "external":
        if dask_opts.get("scheduler_file"):
            client = Client(scheduler_file=dask_opts["scheduler_file"], timeout="60s")
        else:
            client = Client(dask_opts["scheduler_address"], timeout="60s")
        with client:
            yield client
        return
    sched = dask_opts.get("embedded_scheduler_file")
    if sched and wait_for_host(Path(sched), log, dask_opts.get("host_pid")):
        try:
            client = Client(scheduler_file=sched, timeout="20s")
        except OSError as exc:
            print(f"netsense: embedded cluster at {sched} unreachable ({exc}); "
                  "starting a private one", file=log)
        else:
            with client:
                yield client
            return
    n = max(1, int(threads))
    with local_cluster(n, 1) as cluster, Client(cluster) as client:
        print(f"netsense: private Dask cluster with {n} worker(s)", file=log)
        yield client
