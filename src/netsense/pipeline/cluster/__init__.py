"""Dask clusters for the workflow: one embedded LocalCluster per run, or an existing one.

* ``embedded``: the Snakefile's ``onstart`` starts a *host* process (:mod:`.host`, run as
  ``python -m netsense.pipeline.cluster.host``) through the *supervisor* (:mod:`.supervisor`):
  the host runs the cluster (:mod:`.factory`), writes a scheduler file that every shard job of
  the run connects to (:mod:`.client`), records a Dask performance report for the whole run, and
  shuts the cluster down on ``onsuccess``/``onerror`` (SIGTERM), on Ctrl-C (SIGINT) and, through a
  watchdog on the Snakemake process id, when Snakemake itself dies (even by SIGKILL).
  :mod:`.jobenv` tells the jobs where it is.
* ``jobqueue``: the same host, with a dask-jobqueue SLURMCluster.
* ``external``: connect to ``dask.scheduler_address`` or ``dask.scheduler_file``.
* ``synchronous``: no cluster; blocks run in the shard process (debugging, tests).

A shard job that finds no embedded cluster (e.g. a job sent to a SLURM node, or a run with
``--no-hooks``) starts a private LocalCluster sized to its own threads.
"""
