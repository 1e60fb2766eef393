"""``netsense map``: a CRLB map of a fixed deployment, written as zarr (or netCDF) and PNG.

The edge of :mod:`netsense.deploy.crlbmap`: everything is validated before anything is
computed or written, and the data store and the figure are written under temporary names and
renamed into place together.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np

from ..deploy.crlbmap import SITE_SNAP_FRACTION, crlb_grid, crlb_map_dataset, plan_grid
from ..deploy.layout import load_layout
from ..errors import InputError
from ..files import remove, replace, temporary_name
from .common import print_json

FORMATS = {"zarr": ".zarr", "netcdf": ".nc"}


def output_paths(prefix, fmt: str) -> dict:
    """Validate ``--out PREFIX`` and ``--format``; return {'data': path, 'png': path}."""
    if fmt not in FORMATS:
        raise InputError("--format", fmt, f"unknown format; choose one of {sorted(FORMATS)}")
    import importlib.util

    need = ["xarray", "matplotlib"] + (["zarr"] if fmt == "zarr" else [])
    missing = [m for m in need if importlib.util.find_spec(m) is None]
    if fmt == "netcdf" and not any(importlib.util.find_spec(m) for m in ("scipy", "netCDF4")):
        missing.append("scipy or netCDF4")
    if missing:
        raise InputError("--format", fmt, f"needs {', '.join(missing)} (pip install "
                         "'netsense[pipeline]')")
    text = str(prefix)
    if not text or text.endswith(("/", os.sep)):
        raise InputError("--out", text, "must be a file prefix such as results/map (no extension)")
    base = Path(text)
    for suffix in (".zarr", ".nc", ".png"):  # tolerate PREFIX given with an extension
        if base.name.endswith(suffix) and len(base.name) > len(suffix):
            base = base.with_name(base.name[: -len(suffix)])
            break
    parent = base.parent
    if not parent.is_dir():
        raise InputError("--out", text, f"directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError("--out", text, f"directory {str(parent)!r} is not writable")
    return {"data": base.with_name(base.name + FORMATS[fmt]), "png": base.with_name(base.name + ".png")}


def write_map(ds, paths: dict, fmt: str) -> None:
    """Write the data store and the PNG under temporary names, then rename both into place."""
    from ..analysis.figures.crlbmap import plot_crlb_map

    tmps = {k: temporary_name(p) for k, p in paths.items()}
    try:
        for t in tmps.values():
            remove(t)
        if fmt == "zarr":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Consolidated metadata")
                ds.to_zarr(tmps["data"], mode="w", zarr_format=3, consolidated=True)
        else:
            import importlib.util

            engine = "netcdf4" if importlib.util.find_spec("netCDF4") else "scipy"
            ds.to_netcdf(tmps["data"], engine=engine)
        plot_crlb_map(ds, tmps["png"])
        replace(tmps["data"], paths["data"])
        replace(tmps["png"], paths["png"])
    except OSError as exc:
        raise InputError("--out", str(paths["png"]), f"cannot be written ({exc.strerror or exc})"
                         ) from None
    finally:
        for t in tmps.values():
            remove(t)


def _xy(ds, j: int, i: int) -> list[float]:
    return [float(ds["x"].values[i]), float(ds["y"].values[j])]


def run_map(layout_path, extent, step, out, fmt: str = "zarr") -> dict:
    """``netsense map``: validate everything, compute, write atomically; return the summary."""
    t0 = time.perf_counter()
    fmt = str(fmt).lower()
    paths = output_paths(out, fmt)
    xs, ys = plan_grid(extent, step)
    kw, meta = load_layout(layout_path, target=False)
    tol = SITE_SNAP_FRACTION * float(step)
    t1 = time.perf_counter()
    grid = crlb_grid(xs=xs, ys=ys, site_tol_m=tol, **kw)
    t_compute = time.perf_counter() - t1
    ds = crlb_map_dataset(kw, xs, ys, name=meta["name"], description=meta["description"],
                          site_tol_m=tol, grid=grid)
    write_map(ds, paths, fmt)
    rmse = ds["rmse_m"].values
    good = np.isfinite(rmse)
    stats = {"min": None, "median": None, "max": None, "argmin_xy_m": None}
    if good.any():
        j, i = np.unravel_index(np.argmin(np.where(good, rmse, np.inf)), rmse.shape)
        stats = {"min": float(rmse[j, i]), "median": float(np.median(rmse[good])),
                 "max": float(rmse[good].max()), "argmin_xy_m": _xy(ds, j, i)}
    return {
        "layout": meta["name"], "n_tx": len(kw["tx_xy"]), "n_rx": len(kw["rx_xy"]),
        "grid": {"nx": len(xs), "ny": len(ys), "points": len(xs) * len(ys), "step_m": float(step),
                 "x_m": [float(xs[0]), float(xs[-1])], "y_m": [float(ys[0]), float(ys[-1])]},
        "rmse_m": stats,
        "masked_points": {"on_site": int(np.isnan(rmse).sum()), "singular": int(np.isinf(rmse).sum())},
        "outputs": {"data": str(paths["data"]), "png": str(paths["png"])},
        "elapsed_s": {"compute": round(t_compute, 4), "total": round(time.perf_counter() - t0, 4)},
    }


def cmd_map(args):
    """Compute and write the map; print the JSON summary."""
    print_json(run_map(args.layout, args.extent, args.step, args.out, args.format))


def register(sub) -> None:
    """Add ``map`` to the subcommands."""
    g = sub.add_parser("map", help="CRLB (eq. 18) map over a grid of target positions, fixed sites",
                       description="CRLB (eq. 18) and eq. (23) over a grid of target positions "
                       "for the fixed TX/RX sites of a layout JSON: PREFIX.zarr (or .nc) and "
                       "PREFIX.png, and a JSON summary.")
    g.add_argument("layout", help="layout JSON as for `netsense crlb` (its target is ignored, "
                   "but for its z: with [x, y, z] sites, the altitude of every target, 0 if "
                   "not given)")
    g.add_argument("--extent", nargs=4, type=float, required=True,
                   metavar=("XMIN", "XMAX", "YMIN", "YMAX"), help="grid bounds [m]")
    g.add_argument("--step", type=float, required=True, help="grid spacing [m]")
    g.add_argument("--out", required=True, metavar="PREFIX",
                   help="writes PREFIX.zarr (or PREFIX.nc) and PREFIX.png")
    g.add_argument("--format", default="zarr", help="zarr or netcdf")
    g.set_defaults(func=cmd_map)
