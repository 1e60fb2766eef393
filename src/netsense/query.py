"""Querying stored cubes: selection by value, statistics over trials, cube metadata.

Unfilled cells (regions of the store never written, as after an interrupted assembly) read as NaN
(the zarr fill value): they are counted and reported, never averaged in. Infinite values are real
results (a layout whose CRLB is infinite) and are kept.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .config import parse_density
from .cube import COMPLETE_ATTR, CubeError, open_cube
from .mc import Z95
from .system import InputError

AXES = ("sampler", "M", "rho_s_db", "lam", "gamma")
VARS = ("crlb_m2", "jensen_m2")
STATS = ("mean", "median", "std", "sem", "ci95", "count", "filled")
# Stored float coordinates match a typed value within this relative tolerance (1/900 vs
# 0.0011111 typed to 7 digits does not match; 0.0011111111111111111 does).
MATCH_RTOL = 1e-9


def _parse_value(key: str, text):
    if key == "lam":
        return parse_density(f"--where {key}", text)
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise InputError(f"--where {key}", text, "must be a number") from None
    if not math.isfinite(v):
        raise InputError(f"--where {key}", text, "must be finite")
    return v


def _fmt(v):
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def select(ds, where: dict, nearest: bool = False) -> dict:
    """Map {axis: typed value} to stored coordinate values; clear errors for anything off-axis."""
    out = {}
    for key, text in where.items():
        if key not in AXES:
            raise InputError(f"--where {key}", text, f"unknown key; axes are {list(AXES)}")
        if key == "sampler":
            labels = [str(x) for x in ds["sampler"].values]
            if str(text).strip() not in labels:
                raise InputError("--where sampler", text, f"not in the cube; stored: {labels}")
            out[key] = str(text).strip()
            continue
        v = _parse_value(key, text)
        axis = np.asarray(ds[key].values, float)
        hit = np.flatnonzero(np.isclose(axis, v, rtol=MATCH_RTOL, atol=0.0))
        if hit.size:
            out[key] = ds[key].values[hit[0]]
            continue
        order = np.argsort(np.abs(axis - v))
        if nearest:
            out[key] = ds[key].values[order[0]]
            continue
        near = ", ".join(_fmt(ds[key].values[i]) for i in sorted(order[:2]))
        raise InputError(f"--where {key}", text, f"not on the axis; nearest stored: {near} "
                         "(use --nearest to take the nearest)")
    return out


def _parse_stats(stats) -> list[str]:
    out = []
    for s in stats:
        if s in STATS:
            out.append(s)
        elif s.startswith("quantile:"):
            try:
                q = float(s.split(":", 1)[1])
            except ValueError:
                raise InputError("--stats", s, "quantile needs a number, e.g. quantile:0.9"
                                 ) from None
            if not 0.0 <= q <= 1.0:
                raise InputError("--stats", s, "quantile must be in [0, 1]")
            out.append(s)
        else:
            raise InputError("--stats", s, f"unknown statistic; allowed: {list(STATS)} or "
                             "quantile:Q")
    return out


def summarize(ds, var=VARS, stats=("mean", "sem", "ci95", "count"), where=None,
              nearest: bool = False, closed_form: bool = True):
    """Statistics over ``trial`` as a tidy pandas DataFrame, one row per remaining cell.

    Parameters
    ----------
    ds : xarray.Dataset
        A cube (see :func:`netsense.open_cube`).
    var : sequence of str
        Variables with a ``trial`` dim (``crlb_m2``, ``jensen_m2``).
    stats : sequence of str
        ``mean, median, std, sem, ci95, count, filled, quantile:Q``. ``count`` is the number of
        filled trials used; ``filled`` adds the total stored and the unfilled count.
    where : dict, optional
        {axis: value} selections (values as text or numbers; ``lam`` also ``1/900``).
    closed_form : bool
        Add Theorem 2 (``closed_form_m2``) and ``<var>_mean / closed_form`` where it exists.
    """

    var = [var] if isinstance(var, str) else list(var)
    for v in var:
        if v not in ds.data_vars or "trial" not in ds[v].dims:
            allowed = [k for k in ds.data_vars if "trial" in ds[k].dims]
            raise InputError("--var", v, f"unknown variable; allowed: {allowed}")
    stats = _parse_stats(stats)
    sel = select(ds, dict(where or {}), nearest=nearest)
    sub = ds.sel({k: [val] for k, val in sel.items()})
    if any(sub.sizes[a] == 0 for a in AXES):
        raise InputError("--where", where, "selects no cell")
    import xarray as xr

    cols = {}
    n_total = sub.sizes["trial"]
    for v in var:
        x = sub[v]
        filled = x.notnull().sum("trial")
        cols[f"{v}_count"] = filled
        if "filled" in stats:
            cols[f"{v}_stored"] = xr.full_like(filled, n_total)
            cols[f"{v}_unfilled"] = n_total - filled
        need_mean = any(s in stats for s in ("mean", "sem", "ci95")) or closed_form
        mean = x.mean("trial", skipna=True) if need_mean else None
        if "mean" in stats or closed_form:
            cols[f"{v}_mean"] = mean
        sd = x.std("trial", ddof=1, skipna=True) if any(
            s in stats for s in ("std", "sem", "ci95")) else None
        if "std" in stats:
            cols[f"{v}_std"] = sd
        if "sem" in stats or "ci95" in stats:
            sem = sd / np.sqrt(filled)
            if "sem" in stats:
                cols[f"{v}_sem"] = sem
            if "ci95" in stats:
                cols[f"{v}_ci95_low"] = mean - Z95 * sem
                cols[f"{v}_ci95_high"] = mean + Z95 * sem
        qs = [(f"q{float(s.split(':')[1]):g}", float(s.split(":")[1]))
              for s in stats if s.startswith("quantile:")]
        if "median" in stats:
            qs.insert(0, ("median", 0.5))
        if qs:
            xq = x.chunk({"trial": -1}) if x.chunks else x
            qv = xq.quantile([q for _, q in qs], dim="trial", skipna=True)
            for i, (name, _) in enumerate(qs):
                cols[f"{v}_{name}"] = qv.isel(quantile=i, drop=True)
        if "count" not in stats and "filled" not in stats:
            cols.pop(f"{v}_count")
    out = xr.Dataset(cols)
    if closed_form and "closed_form_m2" in sub:
        out["closed_form_m2"] = sub["closed_form_m2"]
        for v in var:
            out[f"{v}_mean_over_closed_form"] = out[f"{v}_mean"] / sub["closed_form_m2"]
        if "mean" not in stats:
            for v in var:
                out = out.drop_vars(f"{v}_mean")
    out = out.compute()
    df = out.to_dataframe().reset_index()
    keep = [a for a in AXES if a in df.columns] + [c for c in df.columns if c not in AXES]
    return df[keep]


def info(path) -> dict:
    """What a user needs to know about a stored cube (see ``netsense info``)."""
    ds = open_cube(path, require_complete=False)
    p = Path(path)
    size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    x = ds["crlb_m2"]
    filled = x.notnull().sum("trial").compute()
    n_cells = int(np.prod([ds.sizes[a] for a in AXES]))
    cells_full = int((filled == ds.sizes["trial"]).sum())
    cells_empty = int((filled == 0).sum())
    cfg = json.loads(ds.attrs.get("config_json", "{}"))
    return {
        "path": str(p),
        "complete": bool(ds.attrs.get(COMPLETE_ATTR, False)),
        "dims": {k: int(ds.sizes[k]) for k in (*AXES, "trial") if k in ds.sizes},
        "coords": {a: [v.item() if hasattr(v, "item") else str(v) for v in ds[a].values]
                   for a in AXES},
        "variables": {k: {"dims": list(ds[k].dims), "units": ds[k].attrs.get("units"),
                          "long_name": ds[k].attrs.get("long_name")} for k in ds.data_vars},
        "trials_per_cell": int(ds.sizes["trial"]),
        "cells": n_cells,
        "cells_filled": cells_full,
        "cells_partly_filled": n_cells - cells_full - cells_empty,
        "cells_unfilled": cells_empty,
        "trials_filled": int(filled.sum()),
        "trials_stored": n_cells * int(ds.sizes["trial"]),
        "seed": ds.attrs.get("seed"),
        "sampler": ds.attrs.get("sampler"),
        "netsense_version": ds.attrs.get("netsense_version"),
        "created_utc": ds.attrs.get("created_utc"),
        "size_on_disk_bytes": size,
        "config": cfg,
    }


__all__ = ["CubeError", "info", "open_cube", "select", "summarize"]
