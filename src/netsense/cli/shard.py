"""``netsense shard`` (workflow rule ``simulate``): compute one shard of a cell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import CorruptFileError
from ..pipeline.blockcache import all_cached
from ..pipeline.cluster.jobenv import HOSTED, job_dask_options
from ..pipeline.cluster.service import NoService, request_shard
from ..pipeline.cluster.supervisor import wait_for_host


def _host_socket(dask_opts: dict) -> str | None:
    """The shard service of this run's cluster host, once it is up; None without one."""
    sched = dask_opts.get("embedded_scheduler_file")
    if dask_opts.get("cluster", "embedded") not in HOSTED or not sched:
        return None
    if not wait_for_host(Path(sched), sys.stderr, dask_opts.get("host_pid")):
        return None
    try:
        return json.loads(Path(sched).read_text()).get("shard_socket")
    except (OSError, ValueError):
        return None


def cmd_shard(args):
    """Compute (or take from the block cache) the shard's blocks and write its file.

    A shard whose blocks are all cached is written here, without any cluster. Otherwise, with a
    run's cluster host (embedded or jobqueue), the host runs the shard and this process only
    relays its log (no numpy, no distributed here); without one, the blocks run on a Dask client
    of this process (external, a private cluster) or in it (synchronous).
    """
    params = json.loads(args.params)
    dask_opts = json.loads(args.dask) if args.dask else job_dask_options({"cluster": "embedded"})
    summary = None
    try:
        sock = None if all_cached(params, args.cache_dir) else _host_socket(dask_opts)
        if sock:
            try:
                summary = request_shard(sock, params, args.out, args.cache_dir, sys.stderr,
                                        host_log=str(Path(dask_opts["embedded_scheduler_file"])
                                                     .with_name("host.log")))
            except NoService as exc:
                print(f"netsense: {exc}; running the shard here", file=sys.stderr)
        if summary is None:
            from ..pipeline.cluster.client import connect
            from ..pipeline.shard import run_shard

            summary = run_shard(params, args.out, args.cache_dir,
                                lambda: connect(dask_opts, threads=args.threads), log=sys.stderr)
    except (RuntimeError, CorruptFileError) as exc:  # a failed block (named), or the host gone
        print(f"netsense: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


def register(sub) -> None:
    """Add ``shard`` to the subcommands."""
    s = sub.add_parser("shard", help="(workflow) compute one shard",
                       description="Compute one shard: the blocks of trials [start, stop) of "
                       "one cell, on the run's Dask cluster; cached blocks are reused.")
    s.add_argument("--params", required=True, help="JSON of the shard's parameters "
                   "(netsense.pipeline.plan.Shard.params)")
    s.add_argument("--out", required=True, help="the shard file to write")
    s.add_argument("--cache-dir", required=True, help="the cell's block cache")
    s.add_argument("--dask", help="JSON of the dask section (default: $NETSENSE_DASK, else an "
                   "embedded cluster)")
    s.add_argument("--threads", type=int, default=1, help="workers of a private cluster")
    s.set_defaults(func=cmd_shard)
