"""CRLB maps: eq. (18) and the eq. (23) quantity over a grid of target positions, fixed layout.

Three layers, as elsewhere in the package:

* :func:`crlb_grid`, a pure array function, vectorized over grid points (chunked so that the
  temporaries stay near :data:`CHUNK_BYTES`); it reuses :func:`netsense.fisher.layout_stats` and
  :func:`netsense.fisher.crlb_geometric`, so a grid value is the same arithmetic as
  :func:`netsense.crlb` at that target;
* :func:`crlb_map_dataset`, the xarray wrapper (dims ``y``, ``x``, coordinates in metres);
* the I/O edge of ``netsense map``: :func:`load_map_layout`, :func:`plan_grid` (all validation,
  before anything is written), :func:`plot_crlb_map` and :func:`write_map` (atomic renames).

Grid points on a site (distance 0, or within rounding of the grid arithmetic) are NaN: the
far-field model of eq. (2) has no value there. Where the FIM is singular (every site collinear
with the target) eq. (18) is ``inf``, as in :func:`netsense.crlb`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from .fisher import (
    _as_points,
    _check_counts,
    _tx_factors,
    crlb_geometric,
    jensen_geometric,
    layout_stats,
)
from .layout import parse_layout
from .system import DEFAULT_SYSTEM, InputError, SystemParams, db_to_lin

# Budget for the temporaries of one chunk of grid points. Peak temporaries of crlb_grid measured
# with tracemalloc: ~40 bytes per (grid point, site) pair (5 float64 arrays of shape
# (points, sites) alive at once in layout_stats); 48 leaves a margin.
CHUNK_BYTES = 200 * 2**20
BYTES_PER_POINT_NODE = 48
# The figure draws at most this many cells per axis (a stride over larger grids): more cells than
# screen pixels add memory and time, not detail.
PLOT_MAX_CELLS = 2000
# Largest grid `netsense map` accepts: 25e6 points is ~0.6 GB of float64 output (three variables).
MAX_GRID_POINTS = 25_000_000
# A grid point closer to a site than this fraction of the step counts as ON the site: the grid is
# built as xmin + i * step, which misses a site that the user placed on a grid line by a few ulp.
SITE_SNAP_FRACTION = 1e-9
FORMATS = {"zarr": ".zarr", "netcdf": ".nc"}


# --------------------------------------------------------------------------------------------
# Pure array layer


def crlb_grid(tx_xy, rx_xy, xs, ys, *, M_t, M_r, rho_s_db, gamma,
              system: SystemParams = DEFAULT_SYSTEM, tx_gain=None, tx_beta_hz=None,
              site_tol_m: float = 0.0) -> dict:
    """CRLB (eq. 18) and the eq. (23) quantity at every point of the grid ``xs`` x ``ys``.

    Parameters
    ----------
    tx_xy : array_like, shape (N_t, 2)
        TX sites [m].
    rx_xy : array_like, shape (N_r, 2)
        RX sites [m].
    xs : array_like, shape (n_x,)
        Grid x coordinates [m].
    ys : array_like, shape (n_y,)
        Grid y coordinates [m].
    M_t, M_r : int
        Antennas per TX / RX.
    rho_s_db : float
        Normalized SNR rho_s [dB].
    gamma : float
        Path-loss exponent.
    system : SystemParams
    tx_gain, tx_beta_hz : array_like, shape (N_t,), optional
        Per-TX beamforming gain and effective bandwidth [Hz], as in :func:`netsense.crlb`.
    site_tol_m : float
        A grid point within this distance [m] of a site counts as on the site (default: exact).

    Returns
    -------
    dict of arrays, shape (n_y, n_x)
        ``crlb_m2`` (eq. 18) and ``jensen_m2`` (eq. 23 integrand) [m^2], NaN on sites and
        ``inf`` (CRLB) where the FIM is singular; ``on_site`` (bool).

    Notes
    -----
    Per grid point this is exactly :func:`netsense.crlb`: the double sum of eq. (15) in its
    O(N_t + N_r) factorized form, then tr(S^-1) of eq. (18). Grid points are a batch axis of
    :func:`netsense.fisher.layout_stats` (targets (P, 2) against nodes (N, 2)), taken in chunks
    of at most ~``CHUNK_BYTES`` of temporaries.
    """
    tx = _as_points("tx", tx_xy)  # (N_t, 2), finite, as in layout_stats
    rx = _as_points("rx", rx_xy)
    if tx.ndim != 2 or rx.ndim != 2:
        raise InputError("tx/rx", (tx.shape, rx.shape), "one layout: shapes (N_t, 2) and (N_r, 2)")
    xs = np.asarray(xs, dtype=float).ravel()
    ys = np.asarray(ys, dtype=float).ravel()
    _check_counts(M_t, M_r, gamma)
    fac = _tx_factors(len(tx), M_t, tx_gain, tx_beta_hz, system)
    scale = system.error_scale_m2(M_t, M_r, db_to_lin(rho_s_db))  # c^2 / (M_r M_t eta)

    sites = np.concatenate([tx, rx])
    # A point outside the sites' bounding box is never a site: it stands in for grid points
    # that are on a site (layout_stats rejects distance 0), whose results are then set to NaN.
    stand_in = sites.max(axis=0) + 1.0

    n = len(xs) * len(ys)  # flat index p = j * n_x + i: row j is y = ys[j]
    crlb_m2 = np.empty(n)
    jensen_m2 = np.empty(n)
    on_site = np.empty(n, dtype=bool)
    per_chunk = max(1, CHUNK_BYTES // (BYTES_PER_POINT_NODE * len(sites)))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for a in range(0, n, per_chunk):
            j, i = np.divmod(np.arange(a, min(a + per_chunk, n)), len(xs))
            t = np.stack([xs[i], ys[j]], axis=-1)  # targets (P, 2)
            dmin = np.hypot(t[:, None, 0] - sites[:, 0], t[:, None, 1] - sites[:, 1]).min(axis=1)
            hit = dmin <= site_tol_m
            t = np.where(hit[:, None], stand_in, t)
            st, sr = layout_stats(tx, rx, t, gamma, fac)  # per-leg sums feeding eq. (15)
            crlb_m2[a:a + per_chunk] = np.where(hit, np.nan, scale * crlb_geometric(st, sr))  # eq. (18)
            jensen_m2[a:a + per_chunk] = np.where(hit, np.nan, scale * jensen_geometric(st, sr))  # (23)
            on_site[a:a + per_chunk] = hit
    shape = (len(ys), len(xs))
    return {"crlb_m2": crlb_m2.reshape(shape), "jensen_m2": jensen_m2.reshape(shape),
            "on_site": on_site.reshape(shape)}


def _count(span: float, step: float):
    """Number of grid points lo, lo + step, ... within a span, as :func:`grid_axis` makes them
    (``inf`` when absurdly many: a huge span or a subnormal step)."""
    r = span / step
    return math.floor(r + 1e-9) + 1 if r < 1e15 else math.inf


def grid_axis(lo: float, hi: float, step: float) -> np.ndarray:
    """Grid coordinates lo, lo + step, ... up to hi (included when hi - lo is a whole number of
    steps, to within 1e-9 of a step)."""
    return lo + step * np.arange(_count(hi - lo, step))


# --------------------------------------------------------------------------------------------
# xarray wrapper


def crlb_map_dataset(layout: dict, xs, ys, *, name: str = "", description: str = "",
                     site_tol_m: float = 0.0, grid: dict | None = None):
    """The CRLB map as an ``xarray.Dataset`` with dims (y, x).

    Parameters
    ----------
    layout : dict
        Keyword arguments of :func:`netsense.crlb` without ``target_xy`` (as returned by
        :func:`load_map_layout`): tx_xy, rx_xy, M_t, M_r, rho_s_db, gamma, system[, tx_gain,
        tx_beta_hz].
    xs, ys : array_like
        Grid coordinates [m].
    name, description : str
        Stored in the attributes.
    site_tol_m : float
        See :func:`crlb_grid`.
    grid : dict, optional
        The result of :func:`crlb_grid` for these arguments, if already computed.

    Returns
    -------
    xarray.Dataset
        ``crlb_m2``, ``rmse_m`` = sqrt(crlb_m2), ``jensen_m2``; attrs ``layout`` and ``system``
        (JSON strings) plus the scalar parameters.
    """
    import xarray as xr

    from . import __version__

    kw = {k: v for k, v in layout.items() if k != "target_xy"}
    g = crlb_grid(xs=xs, ys=ys, site_tol_m=site_tol_m, **kw) if grid is None else grid
    system = kw["system"]
    doc = {"name": name, "description": description,
           "tx": np.asarray(kw["tx_xy"], float).tolist(), "rx": np.asarray(kw["rx_xy"], float).tolist(),
           "M_t": int(kw["M_t"]), "M_r": int(kw["M_r"]), "rho_s_db": float(kw["rho_s_db"]),
           "gamma": float(kw["gamma"])}
    for opt in ("tx_gain", "tx_beta_hz"):
        if kw.get(opt) is not None:
            doc[opt] = np.asarray(kw[opt], float).tolist()
    dims = ("y", "x")
    ds = xr.Dataset(
        {
            "crlb_m2": (dims, g["crlb_m2"], {
                "units": "m^2", "long_name": "CRLB on the target position, tr(S^-1), eq. (18)",
                "comment": "NaN on a site; inf where the FIM is singular"}),
            "rmse_m": (dims, np.sqrt(g["crlb_m2"]), {
                "units": "m", "long_name": "RMSE bound sqrt(CRLB)"}),
            "jensen_m2": (dims, g["jensen_m2"], {
                "units": "m^2",
                "long_name": "2 c^2 / (M_r M_t eta A_t A_r), the eq. (23) integrand for this layout"}),
        },
        coords={"x": ("x", np.asarray(xs, float), {"units": "m", "long_name": "target x"}),
                "y": ("y", np.asarray(ys, float), {"units": "m", "long_name": "target y"})},
        attrs={
            "title": f"netsense CRLB map: {name}" if name else "netsense CRLB map",
            "layout": json.dumps(doc),
            "system": json.dumps(system.to_dict()),
            "name": name, "n_tx": len(kw["tx_xy"]), "n_rx": len(kw["rx_xy"]),
            "M_t": doc["M_t"], "M_r": doc["M_r"], "rho_s_db": doc["rho_s_db"], "gamma": doc["gamma"],
            "netsense_version": __version__,
            "reference": "Song et al., Performance Analysis of Network Sensing in the Distributed "
                         "MIMO Radar System, eq. (15), (18), (23)",
        },
    )
    return ds


# --------------------------------------------------------------------------------------------
# I/O edge: layout, validation, figure, files


def load_map_layout(path) -> tuple[dict, dict]:
    """Read a layout JSON (format of ``netsense crlb``); its ``target`` is ignored and optional.

    Returns ``(kw, meta)``: keyword arguments of :func:`crlb_grid` (tx_xy, rx_xy, M_t, ...) and
    ``{"name", "description"}`` (name defaults to the file's stem).
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise InputError("LAYOUT", str(path), f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError("LAYOUT", str(path), "is not a UTF-8 text file") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("LAYOUT", str(path), f"is not valid JSON ({exc.msg} at line {exc.lineno})"
                         ) from None
    if isinstance(doc, dict):
        doc = {**doc, "target": [0.0, 0.0]}  # placeholder: the map sweeps the target
    kw = parse_layout(doc)
    del kw["target_xy"]
    meta = {"name": str(doc.get("name") or p.stem), "description": str(doc.get("description") or "")}
    return kw, meta


def _number(field: str, v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(field, v, "must be a number") from None
    if not math.isfinite(x):
        raise InputError(field, v, "must be finite")
    return x


def plan_grid(extent, step) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``--extent XMIN XMAX YMIN YMAX`` and ``--step`` [m]; return the grid axes."""
    if extent is None or len(extent) != 4:
        raise InputError("--extent", extent, "must be four numbers XMIN XMAX YMIN YMAX (metres)")
    xmin, xmax, ymin, ymax = (_number("--extent", v) for v in extent)
    if not xmin < xmax:
        raise InputError("--extent", list(extent), "XMIN must be < XMAX")
    if not ymin < ymax:
        raise InputError("--extent", list(extent), "YMIN must be < YMAX")
    step = _number("--step", step)
    if not step > 0:
        raise InputError("--step", step, "grid step must be > 0 (metres)")
    nx, ny = _count(xmax - xmin, step), _count(ymax - ymin, step)  # nothing allocated yet
    if not nx * ny <= MAX_GRID_POINTS:
        raise InputError("--step", step, f"grid of {nx:,} x {ny:,} points exceeds {MAX_GRID_POINTS:,}; "
                         "use a larger step or a smaller extent")
    return grid_axis(xmin, xmax, step), grid_axis(ymin, ymax, step)


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


def plot_crlb_map(ds, path_png=None, *, title: str | None = None):
    """Heat map of sqrt(CRLB) [m], log colour scale, with TX/RX sites; returns the figure.

    Non-finite grid values (sites, singular FIM) are drawn in grey, not coloured. The colour
    scale starts at the 1st percentile of the finite RMSE (the few cells next to a site go down
    to ~0 and would otherwise take most of the colours; the colour bar's arrow marks the
    clipping); thin white contours mark whole decades. Grids above PLOT_MAX_CELLS per axis are
    drawn from every k-th point.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.transforms import offset_copy
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    k = max(1, math.ceil(max(ds.sizes["x"], ds.sizes["y"]) / PLOT_MAX_CELLS))
    x = ds["x"].values[::k]
    y = ds["y"].values[::k]
    rmse = ds["rmse_m"].values[::k, ::k]
    layout = json.loads(ds.attrs["layout"])
    tx = np.asarray(layout["tx"], float).reshape(-1, 2)
    rx = np.asarray(layout["rx"], float).reshape(-1, 2)

    def edges(c):  # cell edges of the grid points [m]
        h = (c[1] - c[0]) if len(c) > 1 else 1.0
        return np.concatenate([c - h / 2, [c[-1] + h / 2]])

    xe, ye = edges(x), edges(y)
    aspect = (ye[-1] - ye[0]) / (xe[-1] - xe[0])
    ax_w = 7.5
    ax_h = min(10.0, max(0.4, ax_w * aspect))
    fig, ax = plt.subplots(figsize=(ax_w + 2.2, ax_h + 1.5))
    ax.set_facecolor("0.75")  # masked cells (sites, singular FIM) show this grey background
    good = np.isfinite(rmse) & (rmse > 0)
    cax = make_axes_locatable(ax).append_axes("right", size=0.22, pad=0.15)
    if good.any():
        vals = rmse[good]
        lo, hi = float(np.percentile(vals, 1.0)), float(vals.max())
        if not hi > lo:
            lo, hi = lo / 2, hi * 2
        base = plt.get_cmap("viridis")
        cmap = base.with_extremes(bad=(0.0, 0.0, 0.0, 0.0), under=base(0.0))
        norm = LogNorm(vmin=lo, vmax=hi)
        masked = np.ma.masked_where(~good, rmse)
        # a regular grid: imshow; large grids were strided to <= PLOT_MAX_CELLS cells per axis
        mesh = ax.imshow(masked, cmap=cmap, norm=norm, origin="lower", interpolation="nearest",
                         extent=(xe[0], xe[-1], ye[0], ye[-1]))
        levels = 10.0 ** np.arange(np.ceil(np.log10(lo)), np.floor(np.log10(hi)) + 1)
        if len(levels) and len(x) > 1 and len(y) > 1:
            cs = ax.contour(x, y, masked, levels=levels, colors="white", linewidths=0.7, alpha=0.8)
            ax.clabel(cs, fmt=lambda v: f"{v:g} m", fontsize=8)
        cb = fig.colorbar(mesh, cax=cax, extend="min" if vals.min() < lo else "neither")
        cb.set_label("RMSE sqrt(CRLB) [m]")
        decades = math.log10(hi / lo)
        subs = (1, 2, 5) if decades <= 3 else (1, 3) if decades <= 5 else (1,)
        ticks = [m * 10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                 for m in subs if lo <= m * 10.0**k <= hi]
        if len(ticks) >= 2:
            cb.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    else:
        cax.set_axis_off()
        ax.text(0.5, 0.5, "no finite CRLB on this grid", ha="center", va="center",
                transform=ax.transAxes)
    ms = 55 if len(tx) + len(rx) <= 30 else 38
    ax.scatter(tx[:, 0], tx[:, 1], marker="^", s=ms, c="tab:red", edgecolors="black",
               linewidths=0.8, label=f"TX ({len(tx)})", zorder=3)
    ax.scatter(rx[:, 0], rx[:, 1], marker="o", s=ms * 0.8, c="white", edgecolors="black",
               linewidths=0.9, label=f"RX ({len(rx)})", zorder=3)
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    # legend under the axes, right-aligned, on the row of the x label: it hides no map cells
    below = offset_copy(ax.transAxes, fig=fig, y=-0.21, units="inches")
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.0), bbox_transform=below, ncol=2,
              frameon=False, fontsize=9, handletextpad=0.3, columnspacing=1.2)
    if title is None:
        a = ds.attrs
        title = (f"CRLB map: {a.get('name') or 'layout'}   $M_t$ = {a['M_t']}, $M_r$ = {a['M_r']}, "
                 f"$\\rho_s$ = {a['rho_s_db']:g} dB, $\\gamma$ = {a['gamma']:g}")
    ax.set_title(title, fontsize=11)
    if path_png is not None:
        fig.savefig(path_png, dpi=130, format="png", bbox_inches="tight", pad_inches=0.15)
        plt.close(fig)
    return fig


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _replace(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` onto ``final``; a directory (zarr store) already there is swapped out."""
    if final.is_dir() and not final.is_symlink():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def write_map(ds, paths: dict, fmt: str) -> None:
    """Write the data store and the PNG under temporary names, then rename both into place."""
    tmps = {k: _tmp_name(Path(p)) for k, p in paths.items()}
    try:
        for t in tmps.values():
            _remove(t)
        if fmt == "zarr":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Consolidated metadata")
                ds.to_zarr(tmps["data"], mode="w", zarr_format=3, consolidated=True)
        else:
            import importlib.util

            engine = "netcdf4" if importlib.util.find_spec("netCDF4") else "scipy"
            ds.to_netcdf(tmps["data"], engine=engine)
        plot_crlb_map(ds, tmps["png"])
        _replace(tmps["data"], Path(paths["data"]))
        _replace(tmps["png"], Path(paths["png"]))
    except OSError as exc:
        raise InputError("--out", str(paths["png"]), f"cannot be written ({exc.strerror or exc})"
                         ) from None
    finally:
        for t in tmps.values():
            _remove(t)


def _xy(ds, j: int, i: int) -> list[float]:
    return [float(ds["x"].values[i]), float(ds["y"].values[j])]


def run_map(layout_path, extent, step, out, fmt: str = "zarr") -> dict:
    """``netsense map``: validate everything, compute, write atomically; return the summary."""
    t0 = time.perf_counter()
    fmt = str(fmt).lower()
    paths = output_paths(out, fmt)
    xs, ys = plan_grid(extent, step)
    kw, meta = load_map_layout(layout_path)
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
