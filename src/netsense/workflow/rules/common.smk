# Helpers for the rules. No physics here: everything computed lives in the netsense package.
# Config values reach the shell only through Snakemake's quoting ({params.x:q}, {input:q}).
import json
import os
import sys

from netsense.analysis.runconfig import (
    estimator_layouts,
    final_outputs,
    resolve_run_config,
)
from netsense.analysis.studies import FIG1, selected
from netsense.cli.run import RUN_BY_NETSENSE, results_lines
from netsense.errors import InputError
from netsense.pipeline import integrity as ns_integrity
from netsense.pipeline import plan as ns_plan
from netsense.pipeline.cluster import jobenv as ns_jobenv
from netsense.pipeline.cluster import supervisor as ns_supervisor
from netsense.pipeline.codeversion import command_version
from netsense.pipeline.config import cube_config, load_yaml, view_config

# One write(2) per log record: Snakemake writes a record and then its newline, which Python
# sends apart when unbuffered (each write) or line-buffered (the record's last line apart from
# its newline), and a job's line landing between the two would be glued to the record
# (netsense.cli.main._whole_lines). Snakemake flushes after each record; the prints here
# show with the next one. (A stderr replaced by a harness may have no reconfigure.)
if hasattr(sys.stderr, "reconfigure"):
    sys.stderr.reconfigure(write_through=False, line_buffering=False)

if not config:
    config.update(load_yaml(DEFAULT_CONFIGFILE))
try:
    CFG = resolve_run_config(config)
except InputError as exc:
    raise WorkflowError(f"netsense: config error: {exc}") from None

RUN = f"results/{CFG.name}"
SHARDS = {s.name: s for s in ns_plan.plan(CFG)}
# Jobs run the `netsense` of the Python that runs Snakemake, and reach Dask as the environment
# says: not params, since neither ever changes a result (no re-runs when the cluster changes).
ns_jobenv.export_job_environment(CFG.dask, RUN)
# A shard job on a shared cluster is only a Dask client: it claims no core (the workers hold
# them) and one `dask_clients` slot (workflow/profiles/default caps them). Run synchronously,
# it computes its blocks itself and claims a core.
SHARD_THREADS = 1 if CFG.dask["cluster"] == "synchronous" else 0
# Clusters this run starts itself in onstart (and stops in onsuccess/onerror).
HOSTED = ns_jobenv.HOSTED
# The cube-shaping config (assemble) and what figures and studies read (not dask).
CUBE_CONFIG_JSON = json.dumps(cube_config(CFG.raw), sort_keys=True)
VIEW_CONFIG_JSON = json.dumps(view_config(CFG.raw), sort_keys=True)
# The optional ML-estimator study (config key estimator): one output set per layout file.
ESTIMATOR = CFG.raw.get("estimator") or {}
EST_LAYOUTS = estimator_layouts(CFG)
# The analyses the study rule draws (config key analyses), in registry order; the figure rule
# draws FIG1.
STUDIES = selected(CFG.analyses, rule="study")
FINAL_OUTPUTS = final_outputs(CFG)


# The stored cubes this process has checked for repair: once per DAG build, however often
# Snakemake evaluates the input function.
REPAIR_CHECKED = set()


def cube_repair(wildcards):
    # An input of assemble that is older than a sound cube, and is rewritten (so newer) when
    # the stored cube has a corrupt or missing chunk: the run then assembles it again, its sound
    # cells linked from the last assembly and the others read from their shards. Cluster jobs
    # parse this file too: only the main process checks.
    cube, marker = f"{RUN}/cube.zarr", f"{RUN}/logs/cube-repair.txt"
    if workflow.is_main_process and cube not in REPAIR_CHECKED:
        if ns_integrity.check_for_repair(cube, marker, log=sys.stderr):
            REPAIR_CHECKED.add(cube)
    return ns_integrity.repair_marker(marker)


def shard_params(wildcards):
    return json.dumps(
        SHARDS[f"{wildcards.cell}/shard-{wildcards.index}"].params(CFG), sort_keys=True
    )


def _workflow_cores():
    try:
        return int(workflow.cores)
    except Exception:
        return os.cpu_count() or 1


def start_cluster():
    mode = CFG.dask["cluster"]
    if mode not in HOSTED:
        return
    if mode == "embedded" and not workflow.local_exec:
        print(
            "netsense: cluster executor: each shard job starts a Dask cluster sized to "
            "its allocation",
            file=sys.stderr,
        )
        return
    n = CFG.dask.get("n_workers") or _workflow_cores()
    info = ns_supervisor.start_embedded(
        RUN,
        n_workers=n,
        threads_per_worker=CFG.dask["threads_per_worker"],
        memory_limit=CFG.dask["memory_limit"],
        watch_pid=os.getpid(),
        jobqueue=CFG.dask["jobqueue"] if mode == "jobqueue" else None,
        # A local cluster starts while the first shard jobs import (they wait for it); a
        # jobqueue cluster is awaited here, so that a SLURM that starts no worker fails early.
        wait=mode == "jobqueue",
    )
    # Jobs that run here can tell whether this host still lives.
    if workflow.local_exec:
        ns_jobenv.export_host_pid(info["pid"])
    print(
        f"netsense: {mode} Dask cluster {'up' if mode == 'jobqueue' else 'starting'} "
        f"(scheduler file {info['scheduler_file']}); "
        f"performance report -> {RUN}/dask-performance.html",
        file=sys.stderr,
    )


def stop_cluster():
    if CFG.dask["cluster"] in HOSTED:
        ns_supervisor.stop_embedded(RUN)


def print_outputs():
    print(results_lines(CFG, "done"), end="", file=sys.stderr)
    if not os.environ.get(RUN_BY_NETSENSE):  # `netsense run` builds the report itself
        given = (
            " ".join(str(f) for f in workflow.overwrite_configfiles)
            or DEFAULT_CONFIGFILE
        )
        print(
            f"  report   snakemake --report {RUN}/report.html --configfile {given}",
            file=sys.stderr,
        )
