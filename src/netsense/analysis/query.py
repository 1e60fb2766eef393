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

from ..core.distribution import coverage_estimate, localizable_estimate, quantile_estimate
from ..core.stats import cv_estimate, interval_calibrated, mean_estimate, quantiles
from ..errors import CubeError, InputError
from ..pipeline.axes import AXES, PARAM_DIMS, SAMPLER_DIM, TRIAL_DIM, param_dims
from ..pipeline.cube import (
    COMPLETE_ATTR,
    DATA_VARS,
    FORMAT_ATTR,
    factored,
    local_scheduler,
    open_cube,
)
from ..pipeline.integrity import reading
from .estimates import (
    CONDITIONAL_MEAN_NOTE,
    CONDITIONAL_MEAN_VARS,
    CONTROLS,
    INFINITE_MEAN_NOTE,
    INFINITE_MEAN_VARS,
    control_mean,
    factor_control,
    mean_finite,
)

SELECT_DIMS = (SAMPLER_DIM, *PARAM_DIMS)  # of a cube with tied axes; see select_dims


def select_dims(ds) -> tuple[str, ...]:
    """The dims a query selects on: sampler and the cube's parameter axes (``M`` or ``M_t`` and
    ``M_r``, ``rho_s_db``, ``lam`` or ``lam_t`` and ``lam_r``, ``gamma``)."""
    return (SAMPLER_DIM, *param_dims(ds))
VARS = DATA_VARS
# The statistics a query can ask for, with the columns each adds (per variable <var>, except
# closed_form); `netsense query --help` and summarize's docstring show this table.
STATS = {
    "mean": "the reported mean (E[eq. 18] by the control variate where it is usable, else "
            "plain): <var>_mean",
    "sem": "its standard error: <var>_sem",
    "ci95": "its 95% interval: <var>_mean_ci95_low, <var>_mean_ci95_high",
    "calibrated": "whether that interval's coverage was measured to hold at the point's gamma "
                  "and count: <var>_mean_ci95_calibrated",
    "method": "control_variate or plain: <var>_method",
    "variance_reduction": "var(plain) / var(control variate), 1 for plain: "
                          "<var>_variance_reduction",
    "plain": "the plain mean beside it, with its sem and 95% interval where sem and ci95 are "
             "asked: <var>_plain_mean, <var>_plain_sem, <var>_plain_mean_ci95_low/_high",
    "ratio": "the mean over Theorem 2: <var>_mean_over_closed_form",
    "closed_form": "Theorem 2 (eq. 26) at the point: closed_form_m2",
    "count": "finite trials used: <var>_count",
    "filled": "trials stored, unfilled (not written) and infinite: <var>_stored, "
              "<var>_unfilled, <var>_nonfinite",
    "std": "standard deviation of the trials: <var>_std",
    "median": "median of the trials with its 95% order-statistic interval: <var>_median, "
              "<var>_median_ci95_low/_high",
    "quantile:Q": "quantile Q of the trials with its 95% order-statistic interval, e.g. "
                  "quantile:0.9: <var>_q0.9, <var>_q0.9_ci95_low/_high",
    "coverage:R": "the fraction of trials (of target positions) with sqrt(<var>) <= R metres, "
                  "with its 95% Clopper-Pearson interval, e.g. coverage:1.0: "
                  "<var>_coverage_1m, <var>_coverage_1m_ci95_low/_high",
    "localizable": "the fraction of stored trials with a finite value, with its 95% "
                   "Clopper-Pearson interval: <var>_localizable, <var>_localizable_ci95_low/_high",
}
DEFAULT_STATS = ("mean", "ci95", "count", "ratio", "closed_form")
# Statistics of the reported estimate: a variable with a control variate needs its estimator.
_REPORTED = frozenset({"mean", "sem", "ci95", "calibrated", "method", "variance_reduction",
                       "plain", "ratio"})
# Statistics that describe a mean (or, std, the variance about it): under blockage eq. (18)'s
# are blank (NaN) and eq. (23)'s are conditional (netsense.analysis.estimates).
_MEAN_TYPE = _REPORTED | {"std"}
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
    """The statistics asked, in order."""
    out = []
    for s in [stats] if isinstance(stats, str) else stats:
        s = str(s).strip()
        if s.startswith("quantile:"):
            try:
                q = float(s.split(":", 1)[1])
            except ValueError:
                raise InputError("--stats", s, "quantile needs a number, e.g. quantile:0.9"
                                 ) from None
            if not 0.0 <= q <= 1.0:
                raise InputError("--stats", s, "quantile must be in [0, 1]")
        elif s.startswith("coverage:"):
            try:
                r = float(s.split(":", 1)[1])
            except ValueError:
                raise InputError("--stats", s, "coverage needs an accuracy in metres, e.g. "
                                 "coverage:1.0") from None
            if not (np.isfinite(r) and r > 0):
                raise InputError("--stats", s, "coverage's accuracy must be finite and > 0 "
                                 "(metres)")
        elif s not in STATS:
            raise InputError("--stats", s, f"unknown statistic; allowed: {list(STATS)}")
        out.append(s)
    if not out:
        raise InputError("--stats", stats, f"name at least one of {list(STATS)}")
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


# A selection whose trials take at most this much memory is read at once and reduced in numpy
# (a point query: the task graph cost more than its few MB of data); larger ones stay lazy and
# are reduced chunk by chunk in dask.
IN_MEMORY_BYTES = 256 * 2**20

# Fields of trial_estimates/trial_cv_estimates in the variable's units (scaled with it)
_LOCATION = frozenset({"mean", "std", "sem", "ci_low", "ci_high", "plain_mean", "plain_std",
                       "plain_sem", "plain_ci_low", "plain_ci_high"})


class _Back:
    """Takes a statistic of the trials :func:`_stored` returned back to the variable's points:
    times the scale for a location statistic, repeated along the scaling axes for the others,
    in the variable's dim order (identity when the trials are the variable's own)."""

    def __init__(self, scale=None, order=()):
        self.scale, self.order = scale, list(order)

    def __call__(self, a, location: bool):
        if self.scale is None:
            return a
        import xarray as xr

        # on the variables (broadcast by dim name, no index alignment: both come from one cube)
        s = self.scale.variable
        v = a.variable * s if location else a.variable.set_dims({**s.sizes, **a.sizes})
        v = v.transpose(*(d for d in self.order if d in v.dims), ...)
        return xr.DataArray(v, coords={**dict(a.coords), **dict(self.scale.coords)})

    def control(self, control, like):
        """The control's mean at the stored trials' points, in their units."""
        if self.scale is None:
            return control
        return factor_control(control, self.scale, like.isel({TRIAL_DIM: 0}, drop=True))


def _stored(sub, v: str, control: str | None):
    """(trials of ``v`` to reduce, those of its control, :class:`_Back`): on a format-4 cube the
    stored factors, so each statistic is computed once per sampled point and then scaled
    (:func:`netsense.pipeline.cube.factored`); else the variables themselves."""
    # without the coordinates that are not dims (sampler_kind, ...): the output has none of
    # them, and every merge of the estimates' coordinates compared them (a dask compute each)
    fy = factored(sub, v)
    fx = factored(sub, control) if control is not None else None
    if fy is None or (control is not None and fx is None):
        y, x = sub[v], (sub[control] if control is not None else None)
        back = _Back()
    else:
        y, x = fy[0], (fx[0] if fx is not None else None)
        back = _Back(fy[1].reset_coords(drop=True), [d for d in sub[v].dims if d != TRIAL_DIM])
    return y.reset_coords(drop=True), (x.reset_coords(drop=True) if x is not None else None), back


def trial_quantile_estimates(x, qs) -> dict:
    """:func:`netsense.core.distribution.quantile_estimate` over ``trial`` per point (lazily):
    {"value", "ci_low", "ci_high": DataArray with dim ``quantile``}."""
    import xarray as xr

    def kernel(a):
        e = quantile_estimate(a, qs, axis=-1)
        return tuple(np.moveaxis(f, 0, -1) for f in (e.value, e.ci_low, e.ci_high))

    out = xr.apply_ufunc(kernel, _one_trial_chunk(x), input_core_dims=[[TRIAL_DIM]],
                         output_core_dims=[["quantile"]] * 3, dask="parallelized",
                         output_dtypes=[float] * 3,
                         dask_gufunc_kwargs={"output_sizes": {"quantile": len(qs)}})
    return {k: o.assign_coords(quantile=list(qs))
            for k, o in zip(("value", "ci_low", "ci_high"), out, strict=True)}


def trial_fractions(x, thresholds) -> dict:
    """Per point, the coverage fractions ``x <= t`` for each of ``thresholds`` (dim
    ``threshold``) and the localizable fraction (finite trials), each with its 95%
    Clopper-Pearson interval (:mod:`netsense.core.distribution`), lazily."""
    import xarray as xr

    k = len(thresholds)

    def kernel(a):
        c = [coverage_estimate(a, thresholds, axis=-1)] if k else []
        loc = localizable_estimate(a, axis=-1)
        cov = tuple(np.moveaxis(getattr(c[0], f), 0, -1) if k else
                    np.zeros((*a.shape[:-1], 0)) for f in ("value", "ci_low", "ci_high"))
        return (*cov, loc.value, loc.ci_low, loc.ci_high)

    out = xr.apply_ufunc(kernel, _one_trial_chunk(x), input_core_dims=[[TRIAL_DIM]],
                         output_core_dims=[["threshold"]] * 3 + [[]] * 3, dask="parallelized",
                         output_dtypes=[float] * 6,
                         dask_gufunc_kwargs={"output_sizes": {"threshold": k}})
    names = ("coverage", "coverage_ci_low", "coverage_ci_high", "localizable",
             "localizable_ci_low", "localizable_ci_high")
    return dict(zip(names, out, strict=True))


def summarize(ds, var=VARS, stats=DEFAULT_STATS, where=None, nearest: bool = False):
    """Statistics over ``trial`` as a tidy pandas DataFrame, one row per remaining point: the
    point's coordinates and exactly the statistics asked (what ``netsense query`` prints).

    Parameters
    ----------
    ds : xarray.Dataset
        A cube (see :func:`netsense.open_cube`).
    var : sequence of str
        Variables with a ``trial`` dim (``crlb_m2``, ``jensen_m2``).
    stats : sequence of str
        Names of :data:`STATS`, in the order of the columns (per variable, then
        ``closed_form_m2``): ``mean, sem, ci95, calibrated, method, variance_reduction, plain,
        ratio, closed_form, count, filled, std, median, quantile:Q``. ``mean``, ``sem`` and
        ``ci95`` are of the reported estimate (:mod:`netsense.analysis.estimates`: E[eq. 18] by
        the control variate where it is usable, E[eq. 23] plain), and so is ``ratio`` (the mean
        over Theorem 2); every interval column is named for what it bounds
        (``crlb_m2_mean_ci95_low``, ``crlb_m2_q0.9_ci95_low``). ``std``, the quantiles,
        ``coverage:R`` (the fraction of trials with sqrt(value) <= R m) and ``localizable`` (the
        fraction with a finite value) describe the trials themselves, the last three with
        distribution-free 95% intervals (:mod:`netsense.core.distribution`).
        Default :data:`DEFAULT_STATS`.
    where : dict, optional
        {axis: value} selections (values as text or numbers; ``lam`` also ``1/900``).
    nearest : bool
        Take the nearest stored value of an axis instead of refusing one that is not stored.

    Returns
    -------
    pandas.DataFrame
        ``df.attrs["nonfinite_trials"]``: infinite trial values in the selection, left out of
        the means (the CLI warns when it is not zero). ``df.attrs["nearest_taken"]``:
        {axis: (asked, stored value taken)} where ``nearest`` substituted a value.
        ``df.attrs["uncalibrated_intervals"]``: {variable: points} whose 95% interval (asked
        with ``ci95``) was not measured to hold (``calibrated`` shows which).
        ``df.attrs["notes"]``: lines saying what the rows of a blockage entry report (its
        sampler's ``blockage_per_m`` > 0, :func:`netsense.analysis.estimates.mean_finite`):
        E[eq. 18] is infinite there, so every mean-type column of ``crlb_m2`` (``mean``,
        ``sem``, ``ci95``, ``calibrated``, ``method``, ``variance_reduction``, ``plain``,
        ``ratio``, ``std``) is NaN on those rows, and ``jensen_m2``'s mean is over its finite
        trials, conditional on both sides having a LOS node; counts, quantiles, coverage and
        the localizable fraction are unchanged.
    """

    with local_scheduler():
        return _summarize(ds, var, stats, where, nearest)


def _summarize(ds, var, stats, where, nearest):
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
    hidden = {}  # computed with the columns, turned into flags and counts after
    n_total = sub.sizes[TRIAL_DIM]
    nonfinite = {}
    control = None
    qs = [(s, f"q{float(s.split(':')[1]):g}", float(s.split(":")[1])) for s in stats
          if s.startswith("quantile:")]
    if "median" in stats:
        qs.insert(0, ("median", "median", 0.5))
    covs = [(s, f"coverage_{float(s.split(':')[1]):g}m", float(s.split(":")[1])) for s in stats
            if s.startswith("coverage:")]
    staged = {}
    mean_cols = {v: [] for v in var}  # each variable's columns of a mean-type statistic
    for v in var:
        with_cv = v in CONTROLS and CONTROLS[v] in sub and bool(_REPORTED & set(stats))
        x, c, back = _stored(sub, v, CONTROLS[v] if with_cv else None)
        if x.nbytes + (c.nbytes if c is not None else 0) <= IN_MEMORY_BYTES:
            with reading(ds.encoding.get("source")):  # one read, then numpy: no task graph
                got = xr.Dataset({"x": x, **({"c": c} if c is not None else {})}).load()
            x, c = got["x"], (got["c"] if c is not None else None)
        if with_cv:
            control = control_mean(sub).reset_coords(drop=True) if control is None else control
            e = trial_cv_estimates(x, c, back.control(control, x))
        else:  # the plain estimate is the reported one
            e = trial_estimates(x)
            e |= {f"plain_{f}": e[f] for f in ("mean", "std", "sem", "ci_low", "ci_high")}
            e |= {"variance_reduction": xr.ones_like(e["mean"]),
                  "cv_used": xr.zeros_like(e["n"], bool)}
        # quantiles and their intervals scale with the trials (a positive constant per point);
        # coverage thresholds do not (R^2 against each point's own values): those fractions
        # are taken on the variable itself, at every point
        qv = trial_quantile_estimates(x, [q for _, _, q in qs]) if qs else None
        y = sub[v].reset_coords(drop=True) if back.scale is not None else x
        fr = trial_fractions(y, [r * r for _, _, r in covs]) \
            if covs or "localizable" in stats else None
        staged[v] = (e, qv, fr, back)
    if any(b.scale is not None for *_, b in staged.values()):
        # format 4: the statistics of the stored factors, one per sampled point, are small:
        # computed here in one pass over the factors (a factor shared by two variables is read
        # once), then scaled in memory
        flat = {f"{v}\0{k}": a for v, (e, qv, _, _) in staged.items()
                for k, a in [*e.items(), *((f"q\0{n}", q) for n, q in (qv or {}).items())]}
        with reading(ds.encoding.get("source")):
            done = xr.Dataset(flat).compute()
        staged = {v: ({k: done[f"{v}\0{k}"] for k in e},
                      {n: done[f"{v}\0q\0{n}"] for n in qv} if qv is not None else None, fr, back)
                  for v, (e, qv, fr, back) in staged.items()}
    for v, (e, qv, fr, back) in staged.items():
        e = {k: back(a, k in _LOCATION) for k, a in e.items()}
        nonfinite[v] = e["n_nonfinite"]
        qv = {n: back(q, True) for n, q in qv.items()} if qv is not None else None
        for s in stats:
            before = set(cols)
            if s == "mean":
                cols[f"{v}_mean"] = e["mean"]
            elif s == "sem":
                cols[f"{v}_sem"] = e["sem"]
            elif s == "ci95":
                cols[f"{v}_mean_ci95_low"] = e["ci_low"]
                cols[f"{v}_mean_ci95_high"] = e["ci_high"]
            elif s == "calibrated":
                cols[f"{v}_mean_ci95_calibrated"] = e["n"]  # trial counts; flags after compute
            elif s == "method":
                cols[f"{v}_method"] = e["cv_used"]  # text after compute
            elif s == "variance_reduction":
                cols[f"{v}_variance_reduction"] = e["variance_reduction"]
            elif s == "plain":
                cols[f"{v}_plain_mean"] = e["plain_mean"]
                if "sem" in stats:
                    cols[f"{v}_plain_sem"] = e["plain_sem"]
                if "ci95" in stats:
                    cols[f"{v}_plain_mean_ci95_low"] = e["plain_ci_low"]
                    cols[f"{v}_plain_mean_ci95_high"] = e["plain_ci_high"]
            elif s == "ratio":
                cols[f"{v}_mean_over_closed_form"] = e["mean"] / sub["closed_form_m2"]
            elif s == "count":
                cols[f"{v}_count"] = e["n"]
            elif s == "filled":
                cols[f"{v}_stored"] = xr.full_like(e["n"], n_total)
                cols[f"{v}_unfilled"] = e["n_missing"]
                cols[f"{v}_nonfinite"] = e["n_nonfinite"]
            elif s == "std":  # of the trials themselves, whatever the estimator
                cols[f"{v}_std"] = e["plain_std"]
            elif s == "median" or s.startswith("quantile:"):
                i, name = next((i, name) for i, (k, name, _) in enumerate(qs) if k == s)
                cols[f"{v}_{name}"] = qv["value"].isel(quantile=i, drop=True)
                cols[f"{v}_{name}_ci95_low"] = qv["ci_low"].isel(quantile=i, drop=True)
                cols[f"{v}_{name}_ci95_high"] = qv["ci_high"].isel(quantile=i, drop=True)
            elif s.startswith("coverage:"):
                i, name = next((i, name) for i, (k, name, _) in enumerate(covs) if k == s)
                for suffix, f in (("", "coverage"), ("_ci95_low", "coverage_ci_low"),
                                  ("_ci95_high", "coverage_ci_high")):
                    cols[f"{v}_{name}{suffix}"] = fr[f].isel(threshold=i, drop=True)
            elif s == "localizable":
                for suffix, f in (("", "localizable"), ("_ci95_low", "localizable_ci_low"),
                                  ("_ci95_high", "localizable_ci_high")):
                    cols[f"{v}_localizable{suffix}"] = fr[f]
            if s in _MEAN_TYPE:
                mean_cols[v] += [c for c in cols if c not in before]
        if {"ci95", "calibrated"} & set(stats):
            hidden[f"__n_{v}"] = e["n"]
            hidden[f"__cvused_{v}"] = e["cv_used"]
    if "closed_form" in stats:
        cf = sub["closed_form_m2"]
        cols["closed_form_m2"] = cf if SAMPLER_DIM in cf.dims else \
            cf.expand_dims({SAMPLER_DIM: sub[SAMPLER_DIM].values})
    out = xr.Dataset({**cols, **hidden})
    out["__nonfinite__"] = xr.Dataset(nonfinite).to_array().sum()
    with reading(ds.encoding.get("source")):  # a corrupted chunk: one line, no partial mean
        out = out.compute()
    n_bad = int(out["__nonfinite__"])
    out = out.drop_vars("__nonfinite__")
    # rows in the order of the cube's coordinates (a format-4 estimate is built from the
    # factor's and the scale's, whose coordinates come in another order)
    order = [c for c in sub.coords if c in out.dims]
    df = out.to_dataframe(dim_order=[*order, *(d for d in out.dims if d not in order)])
    df = df.reset_index()
    uncalibrated = {}
    # under blockage (an entry without a finite E[eq. 18]) those rows have no eq. (18) mean
    blocked = [lab for lab, ok in mean_finite(sub).items() if not ok]
    rows_blocked = df[SAMPLER_DIM].isin(blocked).to_numpy() if blocked else \
        np.zeros(len(df), bool)
    for v in var:  # an interval whose coverage was not measured to hold says so
        if f"__n_{v}" not in df:
            continue
        methods = np.where(df[f"__cvused_{v}"].astype(bool), "control_variate", "plain")
        ok = [interval_calibrated(m, g, n) for m, g, n in
              zip(methods, df["gamma"], df[f"__n_{v}"], strict=True)]
        if f"{v}_mean_ci95_calibrated" in df:
            df[f"{v}_mean_ci95_calibrated"] = ok
        if v in INFINITE_MEAN_VARS:  # no interval shown on those rows: none to flag
            ok = [o or b for o, b in zip(ok, rows_blocked, strict=True)]
        if "ci95" in stats and not all(ok):
            uncalibrated[v] = len(ok) - sum(ok)
    for c in [c for c in cols if c.endswith("_method")]:
        df[c] = np.where(df[c].astype(bool), "control_variate", "plain")
    notes = []
    if rows_blocked.any():
        for v in var:
            if not mean_cols[v]:
                continue
            if v in INFINITE_MEAN_VARS:
                for c in mean_cols[v]:
                    df[c] = df[c].where(~rows_blocked, np.nan)
                notes.append(f"{v} of {', '.join(blocked)}: {INFINITE_MEAN_NOTE}")
            elif v in CONDITIONAL_MEAN_VARS:
                notes.append(f"{v} mean of {', '.join(blocked)} (blockage): over its finite "
                             f"trials, {CONDITIONAL_MEAN_NOTE}")
    df = df[[a for a in dims if a in df.columns] + list(cols)]
    df.attrs["nonfinite_trials"] = n_bad
    df.attrs["nearest_taken"] = taken
    df.attrs["uncalibrated_intervals"] = uncalibrated
    df.attrs["notes"] = notes
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
        x, _, back = _stored(ds, "crlb_m2", None)  # format 4: counted once per sampled point
        filled = back(x.notnull().sum(TRIAL_DIM), False).compute()
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
        # {label: whether E[eq. 18] is finite}: not under blockage (query and fit then report
        # no mean of eq. 18, and eq. 23's conditional on both sides having a LOS node)
        "mean_finite": mean_finite(ds),
        "netsense_version": ds.attrs.get("netsense_version"),
        "created_utc": ds.attrs.get("created_utc"),
        "size_on_disk_bytes": size,
        "config": cfg,
    }


__all__ = ["CubeError", "info", "open_cube", "select", "summarize"]
