"""The reported estimates of a cube's means: E[eq. 18] by the control variate, E[eq. 23] plain.

Every reader of a cube (queries, fits, Fig. 1, the studies, the findings) takes its means from
here, so they all report the same estimator (:mod:`netsense.core.stats`):

* ``crlb_m2`` (eq. 18): :func:`~netsense.core.stats.cv_estimate` with ``jensen_m2`` (eq. 23, the
  same layouts) as the control and its exact mean :func:`control_mean` (2 E[1/A]^2 of the
  entry's sampler, :mod:`netsense.core.expectations`, times the cell's constant). Where no exact
  mean is known (a beam model other than ``full``, a sampler without one, gamma <= 2) the plain
  estimate is reported, and the estimate says so (``cv_used``).
* ``jensen_m2`` (eq. 23): the plain mean. Its expectation is known, so a control-variate
  estimate of it would be circular: its Monte Carlo is the check that the sampler is right.
"""

from __future__ import annotations

import numpy as np

from ..core.closed_form import lemma3_inv_sum
from ..core.expectations import g23_mean
from ..core.mc import BOTH_SIDES_USABLE
from ..core.stats import cv_estimate, mean_estimate
from ..core.variables import CONTROLS
from ..pipeline.axes import PARAM_DIMS, SAMPLER_DIM, TRIAL_DIM, param_dims
from ..pipeline.cube import CONTROL_MEAN, entries, factored

# Under blockage (an entry whose mean_finite is False, :attr:`netsense.pipeline.cube.Entry.
# mean_finite`) E[eq. 18] is infinite: no reader reports a mean of it (the median, quantiles,
# coverage and localizable fraction instead), and E[eq. 23] over its finite trials is the mean
# conditional on both sides having a LOS node. The notes say so (netsense.core.mc's, shortened).
INFINITE_MEAN_VARS = ("crlb_m2",)
CONDITIONAL_MEAN_VARS = ("jensen_m2",)
INFINITE_MEAN_NOTE = ("no mean of eq. (18) under blockage: it is infinite (a side may have no "
                      "LOS node; one TX with two RXs leaves the FIM nearly singular); the median, "
                      "quantiles, coverage and localizable fraction are finite")
CONDITIONAL_MEAN_NOTE = f"conditional on {BOTH_SIDES_USABLE}"


def mean_finite(ds) -> dict:
    """{sampler label: whether E[eq. 18] of the entry is finite} of a cube (every entry's
    :attr:`~netsense.pipeline.cube.Entry.mean_finite`; {} for a Dataset without entries).

    With a blockage axis (``sweep.blockage_per_m``) no entry's is, in a cube or selection that
    holds a blockage value > 0 (select ``blockage_per_m=0`` for the means of the ideal link)."""
    if "sampler_spec" not in ds.coords and "sampler_spec" not in ds:
        return {}
    blocked = "blockage_per_m" in ds.coords and bool(
        (np.asarray(ds["blockage_per_m"].values, float) > 0).any())
    return {e.label: e.mean_finite and not blocked for e in entries(ds)}


def control_factor(entry, lam: float, gamma: float) -> float:
    """E[g23] of the entry's sampler over Theorem 2's 2 Lemma3^2: the exact E[eq. 23] of the
    sampler relative to eq. (26) (1 for the whole plane; NaN where unknown)."""
    if not gamma > 2.0:
        return float("nan")  # no Theorem 2 to scale by (and the plane sampler needs gamma > 2)
    return g23_mean(entry.sampler, float(lam), float(gamma), entry.beam) / (
        2.0 * float(lemma3_inv_sum(lam, gamma)) ** 2)


def control_mean(ds):
    """E[jensen_m2] per point, exactly: ``closed_form_m2`` times :func:`control_factor`.

    A DataArray over (sampler, M, rho_s_db, lam, gamma) of the cube, or its separate axes
    (NaN where unknown). A format-3 cube stores it (``control_mean_m2``, computed at assembly
    by the same functions); for an older cube (always tied axes) it is computed here.
    """
    import xarray as xr

    if CONTROL_MEAN in ds:
        return ds[CONTROL_MEAN].transpose(SAMPLER_DIM, *param_dims(ds))
    ents = entries(ds)
    lams, gammas = ds["lam"].values, ds["gamma"].values
    f = np.array([[[control_factor(e, lam, g) for g in gammas] for lam in lams] for e in ents])
    factor = xr.DataArray(f, dims=(SAMPLER_DIM, "lam", "gamma"),
                          coords={SAMPLER_DIM: ds[SAMPLER_DIM].values, "lam": lams,
                                  "gamma": gammas})
    out = (ds["closed_form_m2"] * factor).transpose(SAMPLER_DIM, *PARAM_DIMS)
    return out.rename(CONTROL_MEAN).assign_attrs(
        units="m^2", long_name="exact E[eq. (23)] of the sampler (the control's mean)")


def _aligned(control, like):
    """``control`` at the coordinates of ``like`` (a selection of the cube without ``trial``),
    with ``like``'s dims in order."""
    sel = {d: like[d].values for d in control.dims if d in like.coords}
    c = control.sel(sel)
    return c.transpose(*[d for d in like.dims if d in c.dims])


def factor_control(control, scale, like):
    """The control's exact mean in the units of the stored factors (format 4): ``control`` (of
    the variable) over the scale, at the points of ``like`` (a factor without ``trial``), taken
    at the first value of a scaling axis the factor does not span (it is the same along it up
    to rounding: the mean is the factor's mean times the scale)."""
    c = control / scale
    c = c.sel({d: like[d].values for d in c.dims if d in like.coords})
    return c.isel({d: 0 for d in c.dims if d not in like.dims}, drop=True).transpose(*like.dims)


# The fields of an estimate in the variable's units (scaled with it); the others (counts, the
# variance reduction, the coefficient, which method) are the same at every scale
_LOCATION = frozenset({"mean", "sem", "ci_low", "ci_high", "std"})


def _rescaled(est, glead, lead, scale):
    """An estimate over the factor's dims ``glead`` as the variable's over ``lead``: location
    fields times the scale, the others repeated along the scaling axes."""
    import dataclasses

    import xarray as xr

    def back(a, location):
        a = xr.DataArray(np.asarray(a), dims=glead)
        a = a * scale if location else a.broadcast_like(scale)
        return a.transpose(*lead).values

    out = {}
    for f in dataclasses.fields(est):
        v = getattr(est, f.name)
        if f.name == "plain":
            out[f.name] = _rescaled(v, glead, lead, scale)
        elif f.name == "reason":
            out[f.name] = v
        else:
            out[f.name] = back(v, f.name in _LOCATION)
    return type(est)(**out)


def estimate(sub, var: str, control=None, dims=None):
    """The reported estimate of E[``var``] at every point of the selection ``sub`` (a Dataset
    with a ``trial`` dim): a :class:`~netsense.core.stats.CVEstimate` for a variable with a
    control (``crlb_m2``) when ``control`` (:func:`control_mean` of the cube) is given, else a
    :class:`~netsense.core.stats.MeanEstimate`. ``dims``: order of the remaining dims
    (default: ``sub``'s).

    On a format-4 cube the estimate is taken once per sampled point, on the stored factors,
    and scaled to every (M_t, M_r, rho_s) of ``sub`` (:func:`netsense.pipeline.cube.factored`):
    the same estimate up to rounding."""
    y = sub[var]
    lead = list(dims) if dims is not None else [d for d in y.dims if d != TRIAL_DIM]
    fy = factored(sub, var)
    with_cv = var in CONTROLS and control is not None
    fx = factored(sub, CONTROLS[var]) if with_cv else None
    if fy is not None and (not with_cv or fx is not None):
        (f, scale), glead = fy, [d for d in lead if d in fy[0].dims]
        f = f.transpose(*glead, TRIAL_DIM)
        if not with_cv:
            return _rescaled(mean_estimate(f.values), glead, lead, scale)
        mu = factor_control(control, scale, f.isel({TRIAL_DIM: 0}, drop=True))
        est = cv_estimate(f.values, fx[0].transpose(*glead, TRIAL_DIM).values, mu.values)
        return _rescaled(est, glead, lead, scale)
    y = y.transpose(*lead, TRIAL_DIM)
    if not with_cv:
        return mean_estimate(y.values)
    x = sub[CONTROLS[var]].transpose(*lead, TRIAL_DIM)
    mu = _aligned(control, y.isel({TRIAL_DIM: 0}, drop=True))
    return cv_estimate(y.values, x.values, mu.values)


__all__ = ["CONDITIONAL_MEAN_NOTE", "CONDITIONAL_MEAN_VARS", "CONTROLS", "CONTROL_MEAN",
           "INFINITE_MEAN_NOTE", "INFINITE_MEAN_VARS", "control_factor", "control_mean",
           "estimate", "factor_control", "mean_finite"]
