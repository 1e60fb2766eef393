"""``netsense fit`` (workflow rule ``fit``): log-log slope fits of a cube."""

from __future__ import annotations

import json
import sys

from ..analysis.fits import fit_slopes, fit_summary, write_slopes
from ..core.samplers import sampler_from_mapping
from ..errors import InputError
from ..pipeline.cube import local_scheduler, open_cube


def cmd_fit(args):
    """Fit every slope of the cube; write slopes.csv and slopes.json."""
    if args.quantile is not None and not 0.0 < args.quantile < 1.0:
        raise InputError("--quantile", args.quantile, "must be strictly between 0 and 1")
    ds = open_cube(args.cube)
    with local_scheduler():  # threads on this machine: no lookup of a distributed cluster
        rows = fit_slopes(ds, quantile=args.quantile)
    write_slopes(rows, args.csv, args.json)
    labels = [str(v) for v in ds["sampler"].values]
    scale_free = {lab: sampler_from_mapping(json.loads(str(spec))).scale_free
                  for lab, spec in zip(labels, ds["sampler_spec"].values, strict=True)}
    beams = dict(zip(labels, map(str, ds["sampler_beam"].values), strict=True))
    for line in fit_summary(rows, scale_free, beams):
        print(line, file=sys.stderr)


def register(sub) -> None:
    """Add ``fit`` to the subcommands."""
    f = sub.add_parser("fit", help="(workflow) log-log slope fits of a cube",
                       description="Log-log slopes of the mean error against log rho_s, "
                       "log(M_t M_r) and log(lam_t lam_r), with delta-method 95% intervals.")
    f.add_argument("cube", help="a cube (results/<name>/cube.zarr)")
    f.add_argument("--csv", required=True, help="slopes.csv to write")
    f.add_argument("--json", required=True, help="slopes.json to write")
    f.add_argument("--quantile", type=float, default=None,
                   help="fit the log of this quantile of eq. (18) and eq. (23) (e.g. 0.9; "
                   "quantities crlb_q0.9, jensen_q0.9) instead of the mean; on the plane its "
                   "exponent is exactly the mean's")
    f.set_defaults(func=cmd_fit)
