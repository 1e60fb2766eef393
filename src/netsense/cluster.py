"""Dask clusters for the workflow: one embedded LocalCluster per run, or an existing one.

* ``embedded``: the Snakefile's ``onstart`` starts :func:`serve` in a separate host process
  (``python -m netsense.cluster``); it writes a scheduler file that every shard job of the run
  connects to, records a Dask performance report for the whole run, and shuts the cluster down
  on ``onsuccess``/``onerror`` (SIGTERM), on Ctrl-C (SIGINT) and, through a watchdog on the
  Snakemake process id, when Snakemake itself dies (even by SIGKILL).
* ``external``: connect to ``dask.scheduler_address`` or ``dask.scheduler_file``.
* ``synchronous``: no cluster; blocks run in the shard process (debugging, tests).

A shard job that finds no embedded cluster (e.g. a job sent to a SLURM node, or a run with
``--no-hooks``) starts a private LocalCluster sized to its own threads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HOST_START_TIMEOUT_S = 600  # a jobqueue cluster waits for SLURM to start a worker
# glibc keeps freeing and re-faulting the kernel's multi-MB temporaries; a 256 MB top pad stops it
# (benchmarks/kernel_bench.py experiment_allocator: ~1.19x kernel throughput, same numbers).
# The pad only works in glibc's main (sbrk) arena. A Dask worker runs tasks in a thread, which
# gets its own mmap'd arena (64 MB at most), and there the pad made the kernel ~1.2x SLOWER
# (0.34 vs 0.29 s per 50k-trial block). One arena puts the worker threads on the main one:
# 80 blocks on 2 workers took 12.4 s instead of 15.3 s (2 processes without Dask: 12.0 s).
# (Measured with one thread per worker; with several, one arena would serialize their mallocs.)
WORKER_ENV = {"MALLOC_TOP_PAD_": str(256 << 20)}
ONE_THREAD_ENV = {"MALLOC_ARENA_MAX": "1"}


def _worker_env(threads_per_worker: int = 1):
    env = {**WORKER_ENV, **(ONE_THREAD_ENV if threads_per_worker == 1 else {})}
    for k, v in env.items():
        os.environ.setdefault(k, v)  # spawned worker processes inherit it


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (exited, not yet reaped by its parent) is not running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _make_cluster(n_workers, threads_per_worker, memory_limit, jobqueue: dict | None):
    """A LocalCluster, or with ``jobqueue`` a dask-jobqueue SLURMCluster scaled to its jobs."""
    if not jobqueue:
        from distributed import LocalCluster

        _worker_env(threads_per_worker)
        return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                            processes=True, memory_limit=memory_limit, dashboard_address=":0",
                            death_timeout=30)
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


def serve(scheduler_file: str, n_workers: int, threads_per_worker: int, memory_limit: str,
          watch_pid: int | None, report: str | None, jobqueue: dict | None = None) -> None:
    """Run a cluster until SIGTERM/SIGINT or until ``watch_pid`` exits, then release it."""
    import dask
    from distributed import Client, performance_report

    stop = _STOP
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    dask.config.set({"distributed.worker.daemon": False})
    sched = Path(scheduler_file)
    if stop.is_set():  # released while still importing (a run with nothing to simulate)
        print("netsense: released before the cluster started; not starting it", file=sys.stderr,
              flush=True)
        return
    with _make_cluster(n_workers, threads_per_worker, memory_limit, jobqueue) as cluster, \
            Client(cluster) as client:
        if jobqueue:  # fail early if SLURM never starts a worker
            client.wait_for_workers(1, timeout=jobqueue.get("start_timeout_s", 300))
            n_workers = jobqueue["jobs"] * (jobqueue.get("processes") or jobqueue["cores"])
        rep = performance_report(filename=report) if report else contextlib.nullcontext()
        with rep:
            tmp = sched.with_name(sched.name + ".tmp")
            tmp.write_text(json.dumps({"address": cluster.scheduler_address, "type": "Scheduler",
                                       "host_pid": os.getpid(), "n_workers": n_workers}))
            os.replace(tmp, sched)
            print(f"netsense: Dask cluster up at {cluster.scheduler_address} with {n_workers} "
                  f"worker(s); dashboard {cluster.dashboard_link}", file=sys.stderr, flush=True)
            try:
                while not stop.wait(0.5):
                    if watch_pid and not _pid_alive(watch_pid):
                        print("netsense: Snakemake is gone; shutting the Dask cluster down",
                              file=sys.stderr, flush=True)
                        break
            finally:
                sched.unlink(missing_ok=True)
        client.close()


def start_embedded(run_dir, n_workers: int, threads_per_worker: int = 1,
                   memory_limit: str = "auto", watch_pid: int | None = None,
                   jobqueue: dict | None = None, wait: bool = True) -> dict:
    """Start the host process. Returns {"pid", "scheduler_file"}.

    ``wait``: block until the scheduler file exists. With ``wait=False`` the host starts while
    the first shard jobs import (about 1 s saved per run); :func:`connect` then waits for the
    scheduler file as long as the host recorded in ``host.pid`` is alive.
    """
    run_dir = Path(run_dir)
    ddir = run_dir / ".dask"
    ddir.mkdir(parents=True, exist_ok=True)
    stop_embedded(run_dir)  # a host left over from a killed run
    sched = ddir / "scheduler.json"
    sched.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "netsense.cluster", "--scheduler-file", str(sched),
           "--n-workers", str(n_workers), "--threads-per-worker", str(threads_per_worker),
           "--memory-limit", str(memory_limit), "--report", str(run_dir / "dask-performance.html")]
    if watch_pid:
        cmd += ["--watch-pid", str(watch_pid)]
    if jobqueue:
        cmd += ["--jobqueue", json.dumps({"log_directory": str(ddir / "jobqueue-logs"),
                                          **jobqueue})]
    with open(ddir / "host.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    (ddir / "host.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + HOST_START_TIMEOUT_S
    while wait and not sched.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"Dask host exited with {proc.returncode}; see {ddir / 'host.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"Dask cluster did not start in {HOST_START_TIMEOUT_S} s")
        time.sleep(0.1)
    return {"pid": proc.pid, "scheduler_file": str(sched)}


def wait_for_host(sched: Path, log=sys.stderr, host_pid: int | None = None) -> bool:
    """True once ``sched`` exists; False if no live netsense host is starting beside it.

    A host started with ``start_embedded(wait=False)`` records its pid in ``host.pid`` next to
    the scheduler file before any job runs, and the Snakefile passes it to the run's jobs
    (``host_pid`` in NETSENSE_DASK). Raises if that host exits before it is up, also when it
    is already gone when the job looks.
    """
    if sched.exists():
        return True
    if host_pid is None:  # not told which host is this run's: trust a live one beside the file
        host_pid = _read_pid(sched.parent)
        if host_pid is None or not _host_running(host_pid):
            return False  # none, or left over from another run or another machine
    pid = int(host_pid)
    if _host_running(pid):
        print(f"netsense: waiting for the embedded Dask cluster (host pid {pid}) to start",
              file=log, flush=True)
    deadline = time.monotonic() + HOST_START_TIMEOUT_S
    while not sched.exists():
        if not _host_running(pid):
            if sched.exists():
                break
            raise RuntimeError(f"the embedded Dask cluster's host (pid {pid}) exited while "
                               f"starting; see {sched.with_name('host.log')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded Dask cluster did not start in "
                               f"{HOST_START_TIMEOUT_S} s; see {sched.with_name('host.log')}")
        time.sleep(0.05)
    return True


def release_embedded(dask_dir) -> bool:
    """Ask this run's embedded cluster host (``dask_dir/host.pid``) to shut down, without
    waiting: it writes the performance report and stops while other jobs run; the Snakefile's
    :func:`stop_embedded` then only waits for it. True if a host was signalled."""
    pid = _read_pid(dask_dir)
    if pid is not None and _host_running(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
            return True
    return False


def stop_embedded(run_dir, timeout_s: float = 60.0) -> bool:
    """Stop the host recorded under ``run_dir/.dask`` (SIGTERM, then SIGKILL). True if stopped."""
    ddir = Path(run_dir) / ".dask"
    pid_file = ddir / "host.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        pid_file.unlink(missing_ok=True)
        return False
    stopped = False
    _reap(pid)  # a host that already exited (release_embedded) is our zombie child
    if _host_running(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)
        stopped = True
    pid_file.unlink(missing_ok=True)
    (ddir / "scheduler.json").unlink(missing_ok=True)
    return stopped


def _reap(pid):
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _read_pid(dask_dir) -> int | None:
    try:
        return int((Path(dask_dir) / "host.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _host_running(pid: int) -> bool:
    """``pid`` runs (not a zombie) and is a netsense cluster host."""
    return _pid_alive(pid) and _is_netsense_host(pid)


def _is_netsense_host(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid file
    return b"netsense.cluster" in cmdline


@contextlib.contextmanager
def connect(dask_opts: dict, threads: int = 1, log=sys.stderr):
    """Yield a distributed Client per ``dask_opts``, or ``None`` for synchronous execution."""
    mode = dask_opts.get("cluster", "embedded")
    if mode == "synchronous":
        yield None
        return
    from distributed import Client, LocalCluster

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
    _worker_env(1)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        print(f"netsense: private Dask cluster with {n} worker(s)", file=log)
        yield client


def export_job_environment(dask_opts: dict, run_dir: str) -> None:
    """Set PATH and NETSENSE_DASK for the workflow's jobs (called by the Snakefile).

    Jobs then run the ``netsense`` of the Python that runs Snakemake, and find the cluster
    without a rule parameter (the cluster never changes a result, so it must not trigger
    re-runs).
    """
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, path]) if path else bindir
    os.environ["NETSENSE_DASK"] = json.dumps(
        {**dask_opts, "embedded_scheduler_file": f"{run_dir}/.dask/scheduler.json"})


_STOP = threading.Event()  # set by SIGTERM/SIGINT: the host shuts its cluster down


def export_host_pid(pid: int) -> None:
    """Tell the run's jobs (NETSENSE_DASK) which host process is theirs: a shard job that finds
    it gone before its scheduler file exists fails, naming host.log, instead of starting a
    private cluster. Only for jobs on this machine (the Snakefile checks local execution)."""
    opts = json.loads(os.environ.get("NETSENSE_DASK") or "{}")
    os.environ["NETSENSE_DASK"] = json.dumps({**opts, "host_pid": int(pid)})


def main(argv=None):
    # First thing: a stop request that arrives while the host still imports (a run with
    # nothing to simulate releases the cluster at once) ends it cleanly, report written.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: _STOP.set())
    p = argparse.ArgumentParser(prog="python -m netsense.cluster")
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
