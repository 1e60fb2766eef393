"""What the figure and study commands read: the cube, the run's config and the slopes."""

from __future__ import annotations

import json

from ..files import read_json
from ..pipeline.config import resolve
from ..pipeline.cube import open_cube


def cube_view(args):
    """(cube, config, slopes): ``--config-json`` is the run's config (else the cube's stored
    one: its reference point and analyses), ``--slopes`` its slopes.json (else none)."""
    ds = open_cube(args.cube)
    cfg = resolve(json.loads(args.config_json or ds.attrs["config_json"]))
    slopes = read_json("--slopes", args.slopes) if args.slopes else []
    return ds, cfg, slopes


def add_view_args(p, slopes_required: bool = False) -> None:
    """The arguments of :func:`cube_view`."""
    p.add_argument("cube", help="a cube (results/<name>/cube.zarr)")
    p.add_argument("--slopes", required=slopes_required, help="the run's slopes.json")
    p.add_argument("--config-json", help="the run's config (reference point, analyses); "
                   "default: the cube's stored config")
