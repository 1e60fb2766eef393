"""``netsense study`` (workflow rule ``study``): the studies of a cube and its findings.json."""

from __future__ import annotations

import json
import warnings

from ..analysis.studies import check_config, run_studies
from ..pipeline.cube import local_scheduler
from .view import add_view_args, cube_view


def cmd_study(args):
    """Write the tables and figures of the config's studies and findings.json."""
    ds, cfg, slopes = cube_view(args)
    check_config(cfg)  # the analyses and their preconditions, also for a hand-written config
    with warnings.catch_warnings(), local_scheduler():  # threads here: no cluster lookup
        warnings.filterwarnings("ignore", message="All-NaN slice")
        out = run_studies(ds, cfg.reference, slopes, cfg.analyses, args.outdir,
                          title=f"netsense: {cfg.name} ({cfg.trials} trials per point)")
    print(json.dumps(out))


def register(sub) -> None:
    """Add ``study`` to the subcommands."""
    st = sub.add_parser("study", help="(workflow) the studies of a cube and its findings.json",
                        description="The studies the config's analyses name (tightness, gap, "
                        "sec2c, beams): a table and a figure each, and findings.json.")
    add_view_args(st, slopes_required=True)
    st.add_argument("--outdir", required=True, help="directory for the outputs")
    st.set_defaults(func=cmd_study)
