"""What the workflow's jobs inherit from the Snakemake process: the ``netsense`` to run and
where the run's Dask cluster is (``NETSENSE_DASK``). Set by the Snakefile; never a rule
parameter, since the cluster never changes a result and must not trigger re-runs."""

from __future__ import annotations

import json
import os
import sys

ENV_VAR = "NETSENSE_DASK"
# The clusters a run starts itself (in the Snakefile's onstart) and whose host serves its jobs.
HOSTED = ("embedded", "jobqueue")


def export_job_environment(dask_opts: dict, run_dir: str) -> None:
    """Set PATH and NETSENSE_DASK for the workflow's jobs (called by the Snakefile).

    Jobs then run the ``netsense`` of the Python that runs Snakemake, and find the cluster.
    """
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, path]) if path else bindir
    os.environ[ENV_VAR] = json.dumps(
        {**dask_opts, "embedded_scheduler_file": f"{run_dir}/.dask/scheduler.json"})


def export_host_pid(pid: int) -> None:
    """Tell the run's jobs (NETSENSE_DASK) which host process is theirs: a shard job that finds
    it gone before its scheduler file exists fails, naming host.log, instead of starting a
    private cluster. Only for jobs on this machine (the Snakefile checks local execution)."""
    opts = job_dask_options()
    os.environ[ENV_VAR] = json.dumps({**opts, "host_pid": int(pid)})


def job_dask_options(default: dict | None = None) -> dict:
    """The dask options a job inherited (``default`` when run outside the workflow)."""
    text = os.environ.get(ENV_VAR)
    return json.loads(text) if text else dict(default or {})
