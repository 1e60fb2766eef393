"""Querying stored cubes: selection by value, statistics over trials, cube metadata.

Statistics come from :mod:`netsense.core.stats` (applied per point with ``xarray.apply_ufunc``
over dask chunks, so a whole cube reduces in bounded memory), with its rule for values that are
not finite: unfilled trials (regions of the store never written, as after an interrupted
assembly, read as NaN) are counted and never averaged in; infinite values (a layout whose CRLB
is infinite) are counted and reported, and the means are over the finite trials.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.stats import cv_estimate, interval_calibrated, mean_estimate, quantiles
from ..errors import CubeError, InputError
from ..pipeline.axes import AXES, PARAM_DIMS, SAMPLER_DIM, TRIAL_DIM, param_dims
from ..pipeline.cube import COMPLETE_ATTR, DATA_VARS, FORMAT_ATTR, local_scheduler, open_cube
from ..pipeline.integrity import reading
from .estimates import CONTROLS, control_mean

SELECT_DIMS = (SAMPLER_DIM, *PARAM_DIMS)  # of a cube with tied axes; see select_dims


def select_dims(ds) -> tuple[str, ...]:
    """The dims a query selects on: sampler and the cube's parameter axes (``M`` or ``M_t`` and
    ``M_r``, ``rho_s_db``, ``lam`` or ``lam_t`` and ``lam_r``, ``gamma``)."""
    return (SAMPLER_DIM, *param_dims(ds))
VARS = DATA_VARS
STATS = ("mean", "median", "std", "sem", "ci95", "count", "filled")
# Stored float coordinates match a typed value within this relative tolerance (1/900 vs
# 0.0011111 typed to 7 digits does not match; 0.0011111111111111111 does).
MATCH_RTOL = 1e-9


def _fmt(v):
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def select(ds, where: dict, nearest: bool = False, taken: dict | None = None) -> dict:
    """Map {axis: typed value} to stored coordinate values; clear errors for anything off-axis.
    ``taken``: filled with {axis: (asked, stored value taken)} where ``nearest`` substituted."""
    out = {}
    dims = select_dims(ds)
    for key, text in where.items():
        if key not in dims:
            raise InputError(f"--where {key}", text, f"unknown key; axes are {list(dims)}")
        if key == SAMPLER_DIM:
            labels = [str(x) for x in ds[SAMPLER_DIM].values]
            if str(text).strip() not in labels:
                raise InputError("--where sampler", text, f"not in the cube; stored: {labels}")
            out[key] = str(text).strip()
            continue
        v = AXES[key].parse(f"--where {key}", text)
        axis = np.asarray(ds[key].values, float)
        hit = np.flatnonzero(np.isclose(axis, v, rtol=MATCH_RTOL, atol=0.0))
        if hit.size:
            out[key] = ds[key].values[hit[0]]
            continue
        order = np.argsort(np.abs(axis - v))
        if nearest:
            out[key] = ds[key].values[order[0]]
            if taken is not None:
                taken[key] = (text, out[key].item() if hasattr(out[key], "item") else out[key])
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


_FIELDS = ("mean", "std", "sem", "ci_low", "ci_high", "n", "n_nonfinite", "n_missing")


def _estimate_kernel(x):
    e = mean_estimate(x, axis=-1)
    return tuple(getattr(e, f) for f in _FIELDS)


def _one_trial_chunk(x):
    """``x`` with each point's trials in one dask chunk (a query runs locally: dask's own
    rechunking by tasks, not a lookup of a distributed cluster, which imports distributed)."""
    if not x.chunks:
        return x
    import dask

    with dask.config.set({"array.rechunk.method": "tasks"}):
        return x.chunk({TRIAL_DIM: -1})


def trial_estimates(x) -> dict:
    """:func:`netsense.core.stats.mean_estimate` over ``trial`` of a DataArray, per point, lazily
    (dask) when ``x`` is: {field: DataArray} with the fields of ``MeanEstimate``."""
    import xarray as xr

    x = _one_trial_chunk(x)
    out = xr.apply_ufunc(_estimate_kernel, x, input_core_dims=[[TRIAL_DIM]],
                         output_core_dims=[[]] * len(_FIELDS), dask="parallelized",
                         output_dtypes=[float] * 5 + [np.int64] * 3)
    return dict(zip(_FIELDS, out, strict=True))


_CV_FIELDS = (*_FIELDS, "plain_mean", "plain_std", "plain_sem", "plain_ci_low", "plain_ci_high",
              "variance_reduction", "cv_used")


def _cv_kernel(y, x, mu):
    e = cv_estimate(y, x, mu, axis=-1)
    p = e.plain
    return (*(getattr(e, f) for f in _FIELDS), p.mean, p.std, p.sem, p.ci_low, p.ci_high,
            e.variance_reduction, e.cv_used)


def trial_cv_estimates(y, x, mu) -> dict:
    """:func:`netsense.core.stats.cv_estimate` over ``trial`` per point (lazily with dask):
    ``y`` the variable, ``x`` its control, ``mu`` the control's exact mean (no ``trial``)."""
    import xarray as xr

    out = xr.apply_ufunc(_cv_kernel, _one_trial_chunk(y), _one_trial_chunk(x), mu,
                         input_core_dims=[[TRIAL_DIM], [TRIAL_DIM], []],
                         output_core_dims=[[]] * len(_CV_FIELDS), dask="parallelized",
                         output_dtypes=[float] * 5 + [np.int64] * 3 + [float] * 6 + [bool])
    return dict(zip(_CV_FIELDS, out, strict=True))


def trial_quantiles(x, qs):
    """:func:`netsense.core.stats.quantiles` over ``trial``, per point; dim ``quantile``."""
    import xarray as xr

    x = _one_trial_chunk(x)
    out = xr.apply_ufunc(lambda a: np.moveaxis(quantiles(a, qs, axis=-1), 0, -1), x,
                         input_core_dims=[[TRIAL_DIM]], output_core_dims=[["quantile"]],
                         dask="parallelized", output_dtypes=[float],
                         dask_gufunc_kwargs={"output_sizes": {"quantile": len(qs)}})
    return out.assign_coords(quantile=list(qs))


def summarize(ds, var=VARS, stats=("mean", "sem", "ci95", "count"), where=None,
              nearest: bool = False, closed_form: bool = True):
    """Statistics over ``trial`` as a tidy pandas DataFrame, one row per remaining point.

    Parameters
    ----------
    ds : xarray.Dataset
        A cube (see :func:`netsense.open_cube`).
    var : sequence of str
        Variables with a ``trial`` dim (``crlb_m2``, ``jensen_m2``).
    stats : sequence of str
        ``mean, median, std, sem, ci95, count, filled, quantile:Q``. ``count`` is the number of
        finite trials used; ``filled`` adds the total stored, the unfilled and the infinite
        counts. ``mean``, ``sem`` and ``ci95`` of ``crlb_m2`` are the reported estimates of
        :mod:`netsense.analysis.estimates` (the control variate); with any of them the columns
        ``crlb_m2_method``, ``crlb_m2_variance_reduction`` and the plain estimate's
        ``crlb_m2_plain_mean`` / ``_plain_sem`` / ``_plain_ci95_low`` / ``_plain_ci95_high``
        come beside. ``std`` and the quantiles describe the trials themselves.
    where : dict, optional
        {axis: value} selections (values as text or numbers; ``lam`` also ``1/900``).
    closed_form : bool
        Add Theorem 2 (``closed_form_m2``) and ``<var>_mean / closed_form`` where it exists.

    Returns
    -------
    pandas.DataFrame
        ``df.attrs["nonfinite_trials"]``: infinite trial values in the selection, left out of
        the means (the CLI warns when it is not zero). ``df.attrs["nearest_taken"]``:
        {axis: (asked, stored value taken)} where ``nearest`` substituted a value.
    """

    with local_scheduler():
        return _summarize(ds, var, stats, where, nearest, closed_form)


def _summarize(ds, var, stats, where, nearest, closed_form):
    var = [var] if isinstance(var, str) else list(var)
    for v in var:
        if v not in ds.data_vars or TRIAL_DIM not in ds[v].dims:
            allowed = [k for k in ds.data_vars if TRIAL_DIM in ds[k].dims]
            raise InputError("--var", v, f"unknown variable; allowed: {allowed}")
    stats = _parse_stats(stats)
    taken: dict = {}
    sel = select(ds, dict(where or {}), nearest=nearest, taken=taken)
    sub = ds.sel({k: [val] for k, val in sel.items()})
    dims = select_dims(ds)
    if any(sub.sizes[a] == 0 for a in dims):
        raise InputError("--where", where, "selects no point")
    import xarray as xr

    cols = {}
    n_total = sub.sizes[TRIAL_DIM]
    nonfinite = {}
    control = None
    for v in var:
        x = sub[v]
        with_cv = v in CONTROLS and CONTROLS[v] in sub and bool(
            {"mean", "sem", "ci95"} & set(stats) or closed_form)  # the ratio is of the reported mean
        if with_cv:
            control = control_mean(sub) if control is None else control
            e = trial_cv_estimates(x, sub[CONTROLS[v]], control)
        else:
            e = trial_estimates(x)
        nonfinite[v] = e["n_nonfinite"]
        cols[f"{v}_count"] = e["n"]
        if "filled" in stats:
            cols[f"{v}_stored"] = xr.full_like(e["n"], n_total)
            cols[f"{v}_unfilled"] = e["n_missing"]
            cols[f"{v}_nonfinite"] = e["n_nonfinite"]
        if "mean" in stats or closed_form:
            cols[f"{v}_mean"] = e["mean"]
        if "std" in stats:  # of the trials themselves, whatever the estimator
            cols[f"{v}_std"] = e["plain_std"] if with_cv else e["std"]
        if "sem" in stats:
            cols[f"{v}_sem"] = e["sem"]
        if "ci95" in stats:
            cols[f"{v}_ci95_low"] = e["ci_low"]
            cols[f"{v}_ci95_high"] = e["ci_high"]
            cols[f"{v}_ci95_calibrated"] = e["n"]  # trial counts; flags after compute
            cols[f"__cvused_{v}"] = e["cv_used"] if with_cv else xr.zeros_like(e["n"], bool)
        if with_cv:
            cols[f"{v}_method"] = e["cv_used"]  # text after compute
            cols[f"{v}_variance_reduction"] = e["variance_reduction"]
            for name in ("mean", "sem"):
                if name in stats or (name == "mean" and "ci95" in stats):
                    cols[f"{v}_plain_{name}"] = e[f"plain_{name}"]
            if "ci95" in stats:
                cols[f"{v}_plain_ci95_low"] = e["plain_ci_low"]
                cols[f"{v}_plain_ci95_high"] = e["plain_ci_high"]
        qs = [(f"q{float(s.split(':')[1]):g}", float(s.split(":")[1]))
              for s in stats if s.startswith("quantile:")]
        if "median" in stats:
            qs.insert(0, ("median", 0.5))
        if qs:
            qv = trial_quantiles(x, [q for _, q in qs])
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
    out["__nonfinite__"] = xr.Dataset(nonfinite).to_array().sum()
    with reading(ds.encoding.get("source")):  # a corrupted chunk: one line, no partial mean
        out = out.compute()
    n_bad = int(out["__nonfinite__"])
    out = out.drop_vars("__nonfinite__")
    df = out.to_dataframe().reset_index()
    keep = [a for a in dims if a in df.columns] + [c for c in df.columns
                                                         if c in out.data_vars]
    df = df[keep]
    for v in var:  # an interval whose coverage was not measured to hold says so
        if f"{v}_ci95_calibrated" in df:
            methods = np.where(df[f"__cvused_{v}"].astype(bool), "control_variate", "plain")
            df[f"{v}_ci95_calibrated"] = [
                interval_calibrated(m, g, n) for m, g, n in
                zip(methods, df["gamma"], df[f"{v}_ci95_calibrated"], strict=True)]
    df = df.drop(columns=[c for c in df.columns if c.startswith("__cvused_")])
    for c in [c for c in df.columns if c.endswith("_method")]:
        df[c] = np.where(df[c].astype(bool), "control_variate", "plain")
    df.attrs["nonfinite_trials"] = n_bad
    df.attrs["nearest_taken"] = taken
    return df


def info(path) -> dict:
    """What a user needs to know about a stored cube (see ``netsense info``).

    A *point* is one (sampler, M, rho_s, lam, gamma) of the cube (M_t, M_r, lam_t, lam_r where
    the sweep gives them separately); it is filled when all its trials are stored.
    """
    ds = open_cube(path, require_complete=False)
    p = Path(path)
    size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    with reading(p), local_scheduler():
        filled = ds["crlb_m2"].notnull().sum(TRIAL_DIM).compute()
    dims = select_dims(ds)
    n_points = int(np.prod([ds.sizes[a] for a in dims]))
    n_trials = int(ds.sizes[TRIAL_DIM])
    points_full = int((filled == n_trials).sum())
    points_empty = int((filled == 0).sum())
    cfg = json.loads(ds.attrs.get("config_json", "{}"))
    specs = [json.loads(str(v)) for v in ds["sampler_spec"].values] if "sampler_spec" in ds \
        else None
    return {
        "path": str(p),
        "complete": bool(ds.attrs.get(COMPLETE_ATTR, False)),
        "format": ds.attrs.get(FORMAT_ATTR),
        "dims": {k: int(ds.sizes[k]) for k in (*dims, TRIAL_DIM) if k in ds.sizes},
        "coords": {a: [v.item() if hasattr(v, "item") else str(v) for v in ds[a].values]
                   for a in dims},
        "variables": {k: {"dims": list(ds[k].dims), "units": ds[k].attrs.get("units"),
                          "long_name": ds[k].attrs.get("long_name")} for k in ds.data_vars},
        "trials_per_point": n_trials,
        "points": n_points,
        "points_filled": points_full,
        "points_partly_filled": n_points - points_full - points_empty,
        "points_unfilled": points_empty,
        "trials_filled": int(filled.sum()),
        "trials_stored": n_points * n_trials,
        "seed": ds.attrs.get("seed"),
        "samplers": specs,
        "netsense_version": ds.attrs.get("netsense_version"),
        "created_utc": ds.attrs.get("created_utc"),
        "size_on_disk_bytes": size,
        "config": cfg,
    }


__all__ = ["CubeError", "info", "open_cube", "select", "summarize"]
