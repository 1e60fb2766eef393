"""``netsense assemble`` (workflow rule ``assemble``): every shard into the zarr cube."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from ..errors import CorruptFileError
from ..pipeline.assembly import assemble
from ..pipeline.cluster.jobenv import job_dask_options
from ..pipeline.cluster.supervisor import release_embedded
from ..pipeline.config import resolve
from ..pipeline.plan import plan
from ..pipeline.template import code_versions


def cmd_assemble(args):
    """Release the run's cluster, then assemble the cube (incrementally where it can)."""
    cfg = resolve(json.loads(args.config_json))
    run = Path(args.out).parent
    # Every shard is an input of this job: no job of the run needs the Dask cluster any more.
    # Its host shuts down (and writes the performance report) while the cube is assembled.
    sched = job_dask_options().get("embedded_scheduler_file")
    if sched and release_embedded(Path(sched).parent):
        print("netsense: all shards done; the embedded Dask cluster is shutting down",
              file=sys.stderr)
    shards = plan(cfg)
    files = [run / "shards" / f"{s.name}.npz" for s in shards]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        try:
            assemble(cfg, files, args.out, code_versions(cfg),
                     shard_cells=dict(zip(files, (s.cell.key for s in shards), strict=True)),
                     log=sys.stderr)
        except CorruptFileError as exc:
            print(f"netsense: error: {exc}", file=sys.stderr)
            return 3
    print(f"netsense: cube written to {args.out}", file=sys.stderr)
    return 0


def register(sub) -> None:
    """Add ``assemble`` to the subcommands."""
    a = sub.add_parser("assemble", help="(workflow) assemble shards into the zarr cube",
                       description="Assemble every shard of a run into its zarr cube: a "
                       "template and region writes into a temporary store, renamed into place "
                       "once complete; cells the previous cube can serve are linked.")
    a.add_argument("--config-json", required=True, help="the run's cube-shaping config (JSON)")
    a.add_argument("--out", required=True, help="the cube to write (results/<name>/cube.zarr)")
    a.set_defaults(func=cmd_assemble)
