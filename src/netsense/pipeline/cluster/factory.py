"""Making the Dask cluster: a LocalCluster, or a dask-jobqueue SLURMCluster, and the workers'
environment."""

from __future__ import annotations

import os
import sys

# glibc keeps freeing and re-faulting the kernel's multi-MB temporaries; a 256 MB top pad stops
# it (benchmarks/kernel_bench.py, experiment_allocator: same numbers, faster). The pad works only
# in glibc's main (sbrk) arena, and a Dask worker runs tasks in a thread, which gets an mmap'd
# arena of its own where the pad slows the kernel down instead; one arena puts the worker
# threads on the main one. With several threads per worker one arena would serialize their
# mallocs, so it is set with one thread per worker only.
WORKER_ENV = {"MALLOC_TOP_PAD_": str(256 << 20)}
ONE_THREAD_ENV = {"MALLOC_ARENA_MAX": "1"}


def worker_env(threads_per_worker: int = 1) -> None:
    """Set the workers' allocator environment in this process (spawned workers inherit it)."""
    env = {**WORKER_ENV, **(ONE_THREAD_ENV if threads_per_worker == 1 else {})}
    for k, v in env.items():
        os.environ.setdefault(k, v)


def local_cluster(n_workers: int, threads_per_worker: int = 1, memory_limit="auto"):
    """A multi-process LocalCluster with the workers' environment."""
    from distributed import LocalCluster

    worker_env(threads_per_worker)
    return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                        processes=True, memory_limit=memory_limit, dashboard_address=":0",
                        death_timeout=30)


def make_cluster(n_workers, threads_per_worker, memory_limit, jobqueue: dict | None):
    """A LocalCluster, or with ``jobqueue`` a dask-jobqueue SLURMCluster scaled to its jobs."""
    if not jobqueue:
        return local_cluster(n_workers, threads_per_worker, memory_limit)
    from dask_jobqueue import SLURMCluster

    jq = dict(jobqueue)
    log_dir = jq.pop("log_directory", None)
    cluster = SLURMCluster(
        cores=jq["cores"], processes=jq.get("processes") or jq["cores"], memory=jq["memory"],
        walltime=jq["walltime"], queue=jq.get("queue"), account=jq.get("account"),
        python=sys.executable, log_directory=log_dir, scheduler_options={"dashboard_address": ":0"},
        job_extra_directives=list(jq.get("job_extra_directives") or []),
        worker_extra_args=["--death-timeout", "60"],
    )
    cluster.scale(jobs=jq["jobs"])
    return cluster
