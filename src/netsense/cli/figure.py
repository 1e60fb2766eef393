"""``netsense figure`` (workflow rule ``figure``): the Fig. 1 panels of a cube."""

from __future__ import annotations

from ..analysis.figures.fig1 import fig1
from ..pipeline.cube import local_scheduler
from .view import add_view_args, cube_view


def cmd_figure(args):
    """Draw Fig. 1 (error against M, rho_s, lam, gamma; every sampler; 95% bands; slopes)."""
    ds, cfg, slopes = cube_view(args)
    with local_scheduler():  # threads on this machine: no lookup of a distributed cluster
        _draw(ds, cfg, slopes, args)


def _draw(ds, cfg, slopes, args):
    fig1(ds, cfg.reference, slopes, title=f"netsense: {cfg.name} ({', '.join(cfg.sampler_labels)}; "
         f"{cfg.trials} trials per point; bands: 95% CI)", path_png=args.png, path_pdf=args.pdf)


def register(sub) -> None:
    """Add ``figure`` to the subcommands."""
    g = sub.add_parser("figure", help="(workflow) Fig. 1 panels of a cube",
                       description="The paper's Fig. 1 from a cube: mean error against M, "
                       "rho_s, lam and gamma around the reference point.")
    add_view_args(g)
    g.add_argument("--png", required=True, help="figure to write (PNG)")
    g.add_argument("--pdf", help="the same as PDF")
    g.set_defaults(func=cmd_figure)
