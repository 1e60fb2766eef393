"""Log-log slope fits of the mean over trials, with delta-method 95% intervals.

For one swept axis (:func:`netsense.pipeline.axes.fit_axes`) with points x_i (log rho_s,
log(M_t M_r) = 2 log M, or log(lam_t lam_r) = 2 log lam: each axis' ``fit_x``; log M_t, log M_r,
log lam_t, log lam_r for separate axes, and log(lam_t lam_r) along the diagonal of a square
(lam_t, lam_r) grid) and per-trial
samples X_{i,t}, the slope is the least-squares slope of log(mean_i) on x_i, a linear
combination sum c_i log(mean_i) with c_i = (x_i - xbar)/sum (x - xbar)^2. Its variance by the
delta method uses the covariance of the means across points *paired by trial*
(:func:`netsense.core.stats.paired_sample`): var = c^T D C D c / n with D = diag(1/mean_i), C the
sample covariance of X_{., t}.

This single formula covers both cases of the sweep design: along M and rho_s every point uses the
same layouts (X_i = k_i X), so C is rank one, sum c_i = 0 and the interval has zero width (the
slope is exact, -1 up to rounding); along lam each point has its own independent realizations,
so C is diagonal and the interval is the genuine Monte Carlo one. Along lam_r at a fixed lam_t
the points share their TX sides trial by trial (:mod:`netsense.core.blocks`), so C has
off-diagonal terms, and the same formula accounts for them.

E[eq. 18] is fitted through its control-variate estimate (:mod:`.estimates`): X is then the
corrected trials of :func:`netsense.core.stats.cv_corrected` at each point, whose means are the
reported estimates and whose pairing across points is that of the raw trials (along M and
rho_s the corrected trials are scaled copies of each other too, so those slopes stay exact).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.distribution import QUANTILE_SLOPE_GAMMAS, QUANTILE_SLOPE_MIN_TRIALS, quantile_slope
from ..core.stats import (
    CV_INTERVAL,
    cv_corrected,
    interval_bounds,
    interval_calibrated,
    paired_sample,
    sample_kurtosis,
)
from ..pipeline.axes import AXES, LAM_PRODUCT_FIT, LINK_DIMS, SAMPLER_DIM, fit_axes, param_dims
from ..pipeline.cube import factored
from .estimates import CONDITIONAL_MEAN_NOTE, CONTROLS, control_mean, factor_control, mean_finite

# Along M and rho_s the slope is exact up to float rounding of a few logs.
EXACT_SLOPE_ATOL = 1e-9
QUANTITIES = {"crlb": "crlb_m2", "jensen": "jensen_m2", "closed_form": "closed_form_m2"}
COLUMNS = ["sampler", "quantity", "axis", "M", "rho_s_db", "lam", "gamma", "slope", "ci_low",
           "ci_high", "theory", "consistent", "nonfinite", "interval_calibrated"]
# Every column a slopes table can have; a table holds those of its cube's axes (COLUMNS: tied).
ALL_COLUMNS = ["sampler", "quantity", "axis", "M", "M_t", "M_r", "rho_s_db", "lam", "lam_t",
               "lam_r", "gamma", *LINK_DIMS, "slope", "ci_low", "ci_high", "theory", "consistent",
               "nonfinite", "interval_calibrated"]
# The quantity of E[eq. 23]'s slope rows of a blockage entry: its mean over the finite trials,
# conditional on both sides having a LOS node (estimates.CONDITIONAL_MEAN_NOTE); such an entry
# has no E[eq. 18] row, that mean being infinite (``fit --quantile 0.5`` fits the median).
JENSEN_CONDITIONAL = "jensen_conditional"
# The Monte Carlo slopes: along the density axes (each value sampled); the others are exact.
MC_FITS = ("lam", "lam_t", "lam_r", LAM_PRODUCT_FIT)
# The cube dims a fit runs along (the product fit: the diagonal of the (lam_t, lam_r) grid).
FIT_SPANS = {"rho_s": ("rho_s_db",), LAM_PRODUCT_FIT: ("lam_t", "lam_r"),
             **{d: (d,) for d in ("M", "M_t", "M_r", "lam", "lam_t", "lam_r")}}


def slope_with_ci(x, X=None, means=None):
    """Slope of log(mean) on x with a delta-method 95% CI.

    ``X`` (n_points, n_trials): paired samples; or ``means`` (n_points,) for exact values.
    Returns (slope, ci_low, ci_high, trials left out as not finite).

    To first order the slope is the mean over trials of L_t = sum_i w_i X_(i,t), w = c / mean
    (the module docstring), so var = var(L) / n = w^T C w / n, and the interval is that of a
    mean of the L_t: the kurtosis-adjusted t interval (:data:`netsense.core.stats.CV_INTERVAL`,
    whose coverage for slopes was measured with the means', benchmarks/coverage.py).
    """
    x = np.asarray(x, float)
    c = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    if X is None:
        m = np.asarray(means, float)
        s = float(c @ np.log(m))
        return s, s, s, 0
    ps = paired_sample(X)
    if ps.n < 2:
        return math.nan, math.nan, math.nan, ps.n_nonfinite
    s = float(c @ np.log(ps.means))
    w = c / ps.means
    var = max(0.0, float(w @ ps.trial_cov @ w) / ps.n)
    if var == 0.0:
        return s, s, s, ps.n_nonfinite
    X = np.asarray(X, float)
    trials = w @ X[:, np.isfinite(X).all(axis=0)]  # L_t, one per kept trial
    kappa = float(sample_kurtosis(trials, trials.mean(), ps.n))
    lo, hi = interval_bounds(s, math.sqrt(var * ps.n), ps.n, kind=CV_INTERVAL, kurtosis=kappa)
    return s, float(lo), float(hi), ps.n_nonfinite


def _samplers(ds) -> list:
    return [str(v) for v in ds[SAMPLER_DIM].values] if SAMPLER_DIM in ds.dims else [None]


def _quantile_calibrated(gamma: float, n: int) -> bool:
    """Whether a quantile slope's interval was measured to hold at ``gamma`` with ``n`` trials
    per point (:data:`netsense.core.distribution.QUANTILE_SLOPE_MIN_TRIALS`)."""
    lo, hi = QUANTILE_SLOPE_GAMMAS
    return n >= QUANTILE_SLOPE_MIN_TRIALS and lo - 1e-12 <= gamma <= hi + 1e-12


def fit_slopes(ds, quantile: float | None = None) -> list[dict]:
    """All slope rows for a cube (see the module docstring); loads one gamma slice at a time.

    Monte Carlo rows are per sampler; closed-form rows (no sampler) carry ``sampler = ""``.
    ``nonfinite`` counts the trials left out of a fit because a value was not finite.
    ``quantile``: fit the log of that quantile of eq. (18) and eq. (23) instead of the mean
    (quantities ``crlb_q0.9``, ``jensen_q0.9``; :func:`netsense.core.distribution.quantile_slope`).
    On the plane its exponent is exactly the mean's (the law scales as a whole), so the
    theory column is the same.

    Under blockage (an entry whose sampler has ``blockage_per_m`` > 0,
    :func:`netsense.analysis.estimates.mean_finite`) E[eq. 18] is infinite: a mean fit has no
    ``crlb`` row for that entry, and its eq. (23) rows are the mean over the finite trials,
    conditional on both sides having a LOS node (quantity :data:`JENSEN_CONDITIONAL`). A
    quantile fit is the same for every entry (the quantiles are finite).
    """
    rows = []
    order = [d for d in param_dims(ds) if d != "gamma"]  # the array axes of one gamma slice
    gammas = ds["gamma"].values
    control = control_mean(ds) if SAMPLER_DIM in ds.dims else None
    trials = ds.sizes["trial"]
    cv_ok: dict = {}  # sampler label -> its E[eq. 18] slopes use the control variate
    # format 4's factors give the mean fits once per sampled point; a quantile fit reads the
    # variables (its order statistics are taken point by point)
    factors = quantile is None and factored(ds, "crlb_m2") is not None \
        and factored(ds, "jensen_m2") is not None
    # entries without a finite E[eq. 18] (blockage); a quantile fit concerns none
    blocked = {lab for lab, ok in mean_finite(ds).items() if not ok} if quantile is None \
        else set()
    for gi, g in enumerate(gammas):
        subs = [("", "closed_form", ds["closed_form_m2"].isel(gamma=gi).transpose(*order).values)]
        for label in _samplers(ds):
            if factors:  # format 4: the stored factors, corrected once per sampled point
                trials_of = _factor_trials(ds, gi, label, order, control)
                for q, (vals, used) in trials_of.items():
                    if used is not None:
                        cv_ok[label or ""] = used
                    subs.append((label or "", q, vals))
                continue
            sl = ds[["crlb_m2", "jensen_m2"]].isel(gamma=gi)
            if label is not None:
                sl = sl.sel({SAMPLER_DIM: label})
            sl = sl.transpose(*order, "trial").load()  # each variable read once per slice
            for q in ("crlb", "jensen"):
                vals = sl[QUANTITIES[q]].values  # (*order, trial)
                if quantile is not None:
                    subs.append((label or "", f"{q}_q{quantile:g}", vals))
                    continue
                if QUANTITIES[q] in CONTROLS and label is not None:
                    mu = control.isel(gamma=gi).sel({SAMPLER_DIM: label}).transpose(*order)
                    vals, used = cv_corrected(vals, sl[CONTROLS[QUANTITIES[q]]].values,
                                              mu.values, return_usable=True)
                    cv_ok[label or ""] = bool(np.all(used))
                subs.append((label or "", q, vals))
        if blocked:  # no E[eq. 18] mean of a blockage entry; its E[eq. 23] is conditional
            subs = [(lab, JENSEN_CONDITIONAL if lab in blocked and q == "jensen" else q, a)
                    for lab, q, a in subs if not (lab in blocked and q == "crlb")]
        for name, span, x, theory in _fits(ds, order, float(g)):
            ax = [order.index(d) for d in span]
            others = [d for d in order if d not in span]
            done: dict = {}  # format 4: the fits whose data is the same at several rows
            for idx in np.ndindex(*(ds.sizes[d] for d in others)):
                fixed = {d: ds[d].values[i] for d, i in zip(others, idx, strict=True)}
                for label, q, arr in subs:
                    if isinstance(arr, _Scaled):
                        s, lo, hi, bad = arr.slope(x, span, dict(zip(others, idx, strict=True)),
                                                   done, (label, q))
                    else:
                        a = np.moveaxis(arr, ax, list(range(len(ax))))
                        if len(ax) == 2:  # the diagonal of the (lam_t, lam_r) grid
                            a = a[np.arange(a.shape[0]), np.arange(a.shape[0])]
                        a = a[(slice(None), *idx)]
                        if q == "closed_form":
                            if not np.all(np.isfinite(a)):
                                continue
                            s, lo, hi, bad = slope_with_ci(x, means=a)
                        elif quantile is not None:
                            s, lo, hi, bad = quantile_slope(x, a, quantile)
                        else:
                            s, lo, hi, bad = slope_with_ci(x, X=a)
                    tol = EXACT_SLOPE_ATOL
                    rows.append({
                        "sampler": label, "quantity": q, "axis": name,
                        **{d: "" if d in span else (int(fixed[d]) if AXES[d].integer
                                                    else float(fixed[d])) for d in order},
                        "gamma": float(g), "slope": s, "ci_low": lo, "ci_high": hi,
                        "theory": theory,
                        "consistent": bool(lo - tol <= theory <= hi + tol),
                        "nonfinite": bad,
                        # an exact slope (M, rho_s, closed form) has no Monte Carlo interval;
                        # a lam slope's holds where its estimator's was measured to
                        "interval_calibrated": bool(
                            hi - lo < EXACT_SLOPE_ATOL or (math.isfinite(hi - lo) and (
                                _quantile_calibrated(float(g), int(trials) - int(bad))
                                if quantile is not None else
                                interval_calibrated(
                                "control_variate" if q == "crlb" and cv_ok.get(label, False)
                                else "plain", float(g), int(trials) - int(bad))))),
                    })
    return rows


def _span(a, dims, span):
    """``a`` (over ``dims``, then maybe ``trial``) with the fit's points first: the span dim, or
    the diagonal of a two-dim span."""
    a = np.moveaxis(a, [dims.index(d) for d in span], list(range(len(span))))
    return a[np.arange(a.shape[0]), np.arange(a.shape[0])] if len(span) == 2 else a


class _Scaled:
    """A quantity's trials on a format-4 cube: ``z`` (the stored factors, or their
    control-variate corrected trials) over the dims that shape samples (``zdims``) and
    ``trial``, and the scale over the fit's dims (``scale``, ``sdims``). A point's trials are
    z times its scale, and a fit is computed from what its data depend on:

    * along a scaling axis only (M, rho_s with full beam gain): every point holds the same
      trials times its scale, so the slope is that of the scales times one mean, exactly
      (the interval has no width, as the paired formula gives up to rounding);
    * along axes the scale does not vary on (lam): log-log slopes and their intervals do not
      change under a common positive factor, so the fit is computed once per sampled point
      and repeated along the scaling axes;
    * otherwise (M with a non-full beam) from z times the scale, point by point.
    """

    def __init__(self, z, zdims, scale, sdims):
        self.z, self.zdims, self.scale, self.sdims = z, list(zdims), scale, list(sdims)

    def _at(self, a, dims, fixed):
        return a[tuple(fixed[d] if d in fixed else slice(None) for d in dims)], \
            [d for d in dims if d not in fixed]

    def slope(self, x, span, fixed, done: dict, key):
        zf = {d: i for d, i in fixed.items() if d in self.zdims}
        sf = {d: i for d, i in fixed.items() if d in self.sdims}
        z, zd = self._at(self.z, self.zdims, zf)
        sc, sd = self._at(self.scale, self.sdims, sf)
        if not set(span) & set(self.zdims):  # one set of trials times each point's scale
            fin = np.isfinite(z)
            bad = int((~fin).sum())
            if fin.sum() < 2:
                return math.nan, math.nan, math.nan, bad
            s, lo, hi, _ = slope_with_ci(x, means=_span(sc, sd, span) * z[fin].mean())
            return s, lo, hi, bad
        varies = set(span) & set(self.sdims)
        k = (*key, tuple(span), tuple(sorted(zf.items())),
             _span(sc, sd, span).tobytes() if varies else None)
        if k not in done:
            X = _span(z, zd, span)
            if varies:
                X = X * _span(sc, sd, span)[:, None]
            done[k] = slope_with_ci(x, X=X)
        return done[k]


def _factor_trials(ds, gi: int, label, order, control) -> dict:
    """{quantity: (:class:`_Scaled`, whether the control variate was used or None)} of one
    gamma and sampler of a format-4 cube: the stored factors read once, E[eq. 18]'s corrected
    trials (:func:`netsense.core.stats.cv_corrected`) computed once per sampled point."""
    import xarray as xr

    fy, fx = factored(ds, "crlb_m2"), factored(ds, "jensen_m2")
    scale = fy[1]
    zdims = [d for d in order if d in fy[0].dims]
    sl = xr.Dataset({"crlb_m2": fy[0], "jensen_m2": fx[0]}).isel(gamma=gi)
    if label is not None:
        sl = sl.sel({SAMPLER_DIM: label})
    sl = sl.transpose(*zdims, "trial").load()
    sdims = [d for d in order if d in scale.dims]
    sc = scale.transpose(*sdims).values
    out = {}
    for q in ("crlb", "jensen"):
        v = QUANTITIES[q]
        vals, used = sl[v].values, None
        if v in CONTROLS and label is not None:
            mu = factor_control(control.isel(gamma=gi).sel({SAMPLER_DIM: label}), scale,
                                sl[v].isel(trial=0, drop=True))
            vals, ok = cv_corrected(vals, sl[CONTROLS[v]].values, mu.values, return_usable=True)
            used = bool(np.all(ok))
        out[q] = (_Scaled(vals, zdims, sc, sdims), used)
    return out


def _fits(ds, order, gamma: float):
    """(fit name, the dims it spans, its regressor, the theory's slope) of each fit a cube
    allows, in slopes.csv order: every swept axis with two values or more, then the diagonal
    of a square (lam_t, lam_r) grid against log(lam_t lam_r) (theory -gamma/2, eq. 26)."""
    for axis in fit_axes(order):
        if ds.sizes[axis.name] >= 2:
            yield axis.fit, (axis.name,), axis.fit_x(ds[axis.name].values), axis.theory(gamma)
    if "lam_t" in order and "lam_r" in order and ds.sizes["lam_t"] == ds.sizes["lam_r"] >= 2:
        x = np.log(np.asarray(ds["lam_t"].values, float) * np.asarray(ds["lam_r"].values, float))
        yield LAM_PRODUCT_FIT, ("lam_t", "lam_r"), x, AXES["lam"].theory(gamma)


def _fit_key(r, beams: dict) -> tuple:
    """What data a slope row is fitted to: the closed form's slope depends only on the axis and
    gamma; a Monte Carlo slope on the cells it reads (one layout serves every (M, rho_s) with
    full beam gain; a non-full beam samples each M, or M_t)."""
    if r["quantity"] == "closed_form":
        return ("", "closed_form", r["axis"], r["gamma"])
    cell_dims = [d for d in ("lam", "lam_t", "lam_r") if d in r]
    if beams.get(r["sampler"], "full") != "full":
        cell_dims.append("M" if "M" in r else "M_t")
    fixed = [d for d in cell_dims if d not in FIT_SPANS[r["axis"]]]
    return (r["sampler"], r["quantity"], r["axis"], r["gamma"], *(r[k] for k in fixed))


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed exactly term by term (scipy.stats would cost
    ``netsense fit`` 0.8 s of imports for one number)."""
    return math.fsum(math.comb(n, j) * p**j * (1.0 - p) ** (n - j) for j in range(max(k, 0), n + 1))


def fit_summary(rows, scale_free: dict, beams: dict | None = None) -> list[str]:
    """What ``netsense fit`` logs: the distinct fits (slopes.csv repeats a fit over the values of
    the axes that do not change its data: the lam slope of one sampler and gamma is the same for
    every (M, rho_s)), and what their misses mean. ``scale_free``/``beams``: {sampler label:
    whether its sampler is scale-free (:attr:`netsense.core.samplers.base.Sampler.scale_free`:
    E[eq. 18] then scales exactly as (lam_t lam_r)^(-gamma/2), and a lam slope tests the Monte
    Carlo alone) / its beam model}."""
    beams = beams or {}
    distinct = list({_fit_key(r, beams): r for r in rows}.values())
    # a non-full beam model samples each M (M_t): its antenna slope is Monte Carlo and
    # measures the beam's gain against Theorem 2's full gain (the beams study), not a check
    beam_m = [r for r in distinct if r["quantity"] != "closed_form" and r["axis"] in ("M", "M_t")
              and beams.get(r["sampler"], "full") != "full"]
    exact = [r for r in distinct if (r["quantity"] == "closed_form" or r["axis"] not in MC_FITS)
             and r not in beam_m]
    out = [f"netsense: {len(rows)} slope rows, {len(distinct)} distinct fits (slopes.csv repeats "
           "a fit at every value of the axes that do not change its data)"]
    bad = sum(not r["consistent"] for r in exact)
    out.append(f"  exact fits (along M and rho_s one layout serves every point; the closed form): "
               f"{len(exact) - bad} of {len(exact)} equal theory to {EXACT_SLOPE_ATOL:g}"
               + ("" if not bad else " -- A MISS HERE IS A BUG"))
    for label in dict.fromkeys(r["sampler"] for r in beam_m):
        mine = [r for r in beam_m if r["sampler"] == label]
        k = sum(not r["consistent"] for r in mine)
        out.append(f"  antenna fits of the {beams[label]} beam model {label}: {len(mine)}, {k} "
                   "away from -1 (full beam gain) beyond their 95% interval: the beam's gain "
                   "grows more slowly than M_t (the beams study), not a failure")
    for label in dict.fromkeys(r["sampler"] for r in distinct
                               if r not in exact and r not in beam_m):
        mc = [r for r in distinct if r["sampler"] == label and r not in exact
              and r not in beam_m]
        k = sum(not r["consistent"] for r in mc)
        along = "/".join(dict.fromkeys(r["axis"] for r in mc))
        head = (f"  Monte Carlo fits ({along}) of {label}: {len(mc)}, {k} with theory outside "
                "their 95% interval")
        if scale_free.get(label):
            # eq. (18) and eq. (23) of one cell use the same trials, but the control variate
            # takes eq. (23)'s fluctuation out of eq. (18)'s estimate: the z-scores of their
            # slopes correlated by about 0.05 over 500 repetitions of the default grid (measured
            # with the fits of tests/analysis/test_fits.py), so the fits are close to
            # independent and the binomial tail is a fair summary. Fits
            # that share a side (separate densities) are correlated more; it is then a guide.
            chance = (f"; the chance of {k} or more is {binomial_tail(k, len(mc), 0.05):.2f}"
                      " if the fits were independent") if k else ""
            out.append(f"{head}; {0.05 * len(mc):.1f} expected by chance when the theory holds"
                       + chance)
        else:
            out.append(f"{head}; this sampler is not scale-free (a window, a guard zone or a "
                       "length in the process) and the theory is for the whole plane: the "
                       "misses measure that difference")
    for label in dict.fromkeys(r["sampler"] for r in rows if r["quantity"] == JENSEN_CONDITIONAL):
        out.append(f"  {label} (blockage): no slope of E[eq. 18], which is infinite there "
                   "(`netsense fit --quantile 0.5` fits its median); its E[eq. 23] rows "
                   f"({JENSEN_CONDITIONAL}) are of the mean {CONDITIONAL_MEAN_NOTE}")
    return out


def write_slopes(rows, csv_path, json_path):
    """slopes.csv and slopes.json (:func:`netsense.analysis.tables.write_rows`)."""
    from .tables import write_rows

    cols = [c for c in ALL_COLUMNS if any(c in r for r in rows)] if rows else COLUMNS
    write_rows(rows, csv_path, json_path, columns=cols)
