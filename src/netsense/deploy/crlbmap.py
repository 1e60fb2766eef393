"""CRLB maps: eq. (18) and the eq. (23) quantity over a grid of target positions, fixed layout.

The kernel of ``netsense map``, in two layers:

* :func:`crlb_grid`, a pure array function, vectorized over grid points (chunked so that the
  temporaries stay near :data:`CHUNK_BYTES`); it reuses :func:`netsense.core.fisher.layout_stats`
  and :func:`netsense.core.fisher.crlb_geometric`, so a grid value is the same arithmetic as
  :func:`netsense.crlb` at that target; :func:`plan_grid` validates the grid;
* :func:`crlb_map_dataset`, the xarray wrapper (dims ``y``, ``x``, coordinates in metres).

The figure is :func:`netsense.analysis.figures.crlbmap.plot_crlb_map`; files are written by the
command (:mod:`netsense.cli.deploy`).

Grid points on a site (distance 0, or within rounding of the grid arithmetic) are NaN: the
far-field model of eq. (2) has no value there. Where the FIM is singular (every site collinear
with the target) eq. (18) is ``inf``, as in :func:`netsense.crlb`.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ..core.fisher import (
    as_points,
    check_counts,
    crlb_geometric,
    jensen_geometric,
    layout_stats,
    tx_factors,
)
from ..core.system import DEFAULT_SYSTEM, SystemParams, db_to_lin
from ..errors import InputError
from ..inputs import parse_number
from ..version import __version__

# Budget for the temporaries of one chunk of grid points. Peak temporaries of crlb_grid measured
# with tracemalloc: ~40 bytes per (grid point, site) pair (5 float64 arrays of shape
# (points, sites) alive at once in layout_stats); 48 leaves a margin.
CHUNK_BYTES = 200 * 2**20
BYTES_PER_POINT_NODE = 48
# Largest grid `netsense map` accepts: 25e6 points is ~0.6 GB of float64 output (three variables).
MAX_GRID_POINTS = 25_000_000
# A grid point closer to a site than this fraction of the step counts as ON the site: the grid is
# built as xmin + i * step, which misses a site that the user placed on a grid line by a few ulp.
SITE_SNAP_FRACTION = 1e-9


# --------------------------------------------------------------------------------------------
# Pure array layer


def crlb_grid(tx_xy, rx_xy, xs, ys, *, M_t, M_r, rho_s_db, gamma,
              system: SystemParams = DEFAULT_SYSTEM, tx_gain=None, tx_beta_hz=None,
              site_tol_m: float = 0.0, target_z_m: float | None = None) -> dict:
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
    target_z_m : float, optional
        Altitude of every target [m] when the sites are [x, y, z] (default 0: on the ground);
        the CRLB is then on the ground position (x, y), the altitude known.

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
    tx = as_points("tx", tx_xy)  # (N_t, 2) or (N_t, 3), finite, as in layout_stats
    rx = as_points("rx", rx_xy)
    if tx.ndim != 2 or rx.ndim != 2:
        raise InputError("tx/rx", (tx.shape, rx.shape), "one layout: shapes (N_t, 2) and (N_r, 2)")
    three = tx.shape[-1] == 3 or rx.shape[-1] == 3 or target_z_m is not None
    if three:  # heights: 3-D sites, targets at their altitude (a missing z is 0)
        tx, rx = (np.concatenate([p, np.zeros((len(p), 1))], axis=1) if p.shape[1] == 2 else p
                  for p in (tx, rx))
        z_t = 0.0 if target_z_m is None else float(target_z_m)
        if not math.isfinite(z_t):
            raise InputError("target_z_m", target_z_m, "must be a finite altitude (metres)")
    xs = np.asarray(xs, dtype=float).ravel()
    ys = np.asarray(ys, dtype=float).ravel()
    check_counts(M_t, M_r, gamma)
    fac = tx_factors(len(tx), M_t, tx_gain, tx_beta_hz, system)
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
            if three:
                t = np.stack([xs[i], ys[j], np.full(i.size, z_t)], axis=-1)  # targets (P, 3)
                dmin = np.sqrt(((t[:, None, :] - sites[None, :, :]) ** 2).sum(-1)).min(axis=1)
            else:
                t = np.stack([xs[i], ys[j]], axis=-1)  # targets (P, 2)
                dmin = np.hypot(t[:, None, 0] - sites[:, 0],
                                t[:, None, 1] - sites[:, 1]).min(axis=1)
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
    if kw.get("target_z_m") is not None:  # a 3-D layout: the targets' altitude
        doc["target_z_m"] = float(kw["target_z_m"])
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
# Grid validation


def plan_grid(extent, step) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``--extent XMIN XMAX YMIN YMAX`` and ``--step`` [m]; return the grid axes."""
    if extent is None or len(extent) != 4:
        raise InputError("--extent", extent, "must be four numbers XMIN XMAX YMIN YMAX (metres)")
    xmin, xmax, ymin, ymax = (parse_number("--extent", v) for v in extent)
    if not xmin < xmax:
        raise InputError("--extent", list(extent), "XMIN must be < XMAX")
    if not ymin < ymax:
        raise InputError("--extent", list(extent), "YMIN must be < YMAX")
    step = parse_number("--step", step)
    if not step > 0:
        raise InputError("--step", step, "grid step must be > 0 (metres)")
    nx, ny = _count(xmax - xmin, step), _count(ymax - ymin, step)  # nothing allocated yet
    if not nx * ny <= MAX_GRID_POINTS:
        raise InputError("--step", step, f"grid of {nx:,} x {ny:,} points exceeds {MAX_GRID_POINTS:,}; "
                         "use a larger step or a smaller extent")
    return grid_axis(xmin, xmax, step), grid_axis(ymin, ymax, step)
