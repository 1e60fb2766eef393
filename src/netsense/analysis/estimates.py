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
from ..core.stats import cv_estimate, mean_estimate
from ..core.variables import CONTROLS
from ..pipeline.axes import PARAM_DIMS, SAMPLER_DIM, TRIAL_DIM, param_dims
from ..pipeline.cube import CONTROL_MEAN, entries


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


def estimate(sub, var: str, control=None, dims=None):
    """The reported estimate of E[``var``] at every point of the selection ``sub`` (a Dataset
    with a ``trial`` dim): a :class:`~netsense.core.stats.CVEstimate` for a variable with a
    control (``crlb_m2``) when ``control`` (:func:`control_mean` of the cube) is given, else a
    :class:`~netsense.core.stats.MeanEstimate`. ``dims``: order of the remaining dims
    (default: ``sub``'s)."""
    y = sub[var]
    lead = list(dims) if dims is not None else [d for d in y.dims if d != TRIAL_DIM]
    y = y.transpose(*lead, TRIAL_DIM)
    if var not in CONTROLS or control is None:
        return mean_estimate(y.values)
    x = sub[CONTROLS[var]].transpose(*lead, TRIAL_DIM)
    mu = _aligned(control, y.isel({TRIAL_DIM: 0}, drop=True))
    return cv_estimate(y.values, x.values, mu.values)


__all__ = ["CONTROLS", "CONTROL_MEAN", "control_factor", "control_mean", "estimate"]
