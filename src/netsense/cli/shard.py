"""``netsense shard`` (workflow rule ``simulate``): compute one shard of a cell."""

from __future__ import annotations

import json

from ..pipeline.cluster.jobenv import job_dask_options
from ..pipeline.shard import run_shard


def cmd_shard(args):
    """Compute (or take from the block cache) the shard's blocks and write its file."""
    params = json.loads(args.params)
    dask_opts = json.loads(args.dask) if args.dask else job_dask_options({"cluster": "embedded"})
    summary = run_shard(params, args.out, args.cache_dir, dask_opts, threads=args.threads)
    print(json.dumps(summary))


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
