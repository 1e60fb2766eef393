"""The supervisor of the cluster host process: start it, wait for it, release it, stop it.

The host (:mod:`.host`) records its pid in ``<run>/.dask/host.pid`` before any job runs, and its
scheduler file ``scheduler.json`` once the cluster is up; the Snakefile's ``onstart`` starts it
without waiting, the first shard jobs wait for the scheduler file as long as the host lives,
``assemble`` releases it, and ``onsuccess``/``onerror`` stop it. A pid is taken as the host only
while it runs (not a zombie) and its command line is the host module's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HOST_MODULE = "netsense.pipeline.cluster.host"
HOST_START_TIMEOUT_S = 600  # a jobqueue cluster waits for SLURM to start a worker
STOPPED_NAME = "host.stopped"  # beside the scheduler file: the host was up and has stopped


def pid_alive(pid: int) -> bool:
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
    (ddir / STOPPED_NAME).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", HOST_MODULE, "--scheduler-file", str(sched),
           "--n-workers", str(n_workers), "--threads-per-worker", str(threads_per_worker),
           "--memory-limit", str(memory_limit), "--report", str(run_dir / "dask-performance.html")]
    if watch_pid:
        cmd += ["--watch-pid", str(watch_pid)]
    if jobqueue:
        cmd += ["--jobqueue", json.dumps({"log_directory": str(ddir / "jobqueue-logs"),
                                          **jobqueue})]
    with open(ddir / "host.log", "ab") as log:
        # A session of its own: a terminal's Ctrl-C (SIGINT to the foreground process group)
        # would stop the host, its nannies and workers at once, each with a traceback, while
        # shards still ran; the host stops on the Snakefile's onerror instead, or its watchdog.
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
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
            how = ("has stopped (its run ended or was interrupted)"
                   if sched.with_name(STOPPED_NAME).exists() else "exited while starting")
            raise RuntimeError(f"the embedded Dask cluster's host (pid {pid}) {how}; see "
                               f"{sched.with_name('host.log')}")
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
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if pid_alive(pid):
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
    return pid_alive(pid) and _is_netsense_host(pid)


def _is_netsense_host(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid file
    return HOST_MODULE.encode() in cmdline
