"""Log-log slope fits of the mean over trials, with delta-method 95% intervals.

For one swept axis with points x_i (log rho_s, log(M_t M_r) = 2 log M, or log(lam_t lam_r) =
2 log lam) and per-trial samples X_{i,t}, the slope is the least-squares slope of log(mean_i)
on x_i, a linear combination sum c_i log(mean_i) with c_i = (x_i - xbar)/sum (x - xbar)^2.
Its variance by the delta method uses the covariance of the means across points *paired by
trial*: var = c^T D C D c / n with D = diag(1/mean_i), C the sample covariance of X_{., t}.

This single formula covers both cases of the sweep design: along M and rho_s every point uses the
same layouts (X_i = k_i X), so C is rank one, sum c_i = 0 and the interval has zero width (the
slope is exact, -1 up to rounding); along lam each point has its own independent realizations,
so C is diagonal and the interval is the genuine Monte Carlo one.
"""

from __future__ import annotations

import math

import numpy as np

from .mc import Z95

# Along M and rho_s the slope is exact up to float rounding of a few logs.
EXACT_SLOPE_ATOL = 1e-9
THEORY = {"rho_s": lambda g: -1.0, "M": lambda g: -1.0, "lam": lambda g: -g / 2.0}
AXIS_DIM = {"rho_s": "rho_s_db", "M": "M", "lam": "lam"}
QUANTITIES = {"crlb": "crlb_m2", "jensen": "jensen_m2", "closed_form": "closed_form_m2"}


def axis_x(axis: str, values) -> np.ndarray:
    v = np.asarray(values, float)
    if axis == "rho_s":
        return np.log(10.0) * v / 10.0  # log rho_s (linear) from dB
    return 2.0 * np.log(v)  # log(M_t M_r) = 2 log M, log(lam_t lam_r) = 2 log lam


def slope_with_ci(x, X=None, means=None):
    """Slope of log(mean) on x with a delta-method 95% CI. X: (n_points, n_trials) samples."""
    x = np.asarray(x, float)
    c = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    if X is None:
        m = np.asarray(means, float)
        s = float(c @ np.log(m))
        return s, s, s
    X = np.asarray(X, float)
    if not np.all(np.isfinite(X)):
        return math.nan, math.nan, math.nan
    m = X.mean(axis=1)
    s = float(c @ np.log(m))
    C = np.atleast_2d(np.cov(X))
    w = c / m
    var = max(0.0, float(w @ C @ w) / X.shape[1])
    h = Z95 * math.sqrt(var)
    return s, s - h, s + h


def _samplers(ds) -> list:
    return [str(v) for v in ds["sampler"].values] if "sampler" in ds.dims else [None]


def fit_slopes(ds) -> list[dict]:
    """All slope rows for a cube (see the module docstring); loads one gamma slice at a time.

    Monte Carlo rows are per sampler; closed-form rows (no sampler) carry ``sampler = ""``.
    """
    rows = []
    dims = {"M": ds["M"].values, "rho_s_db": ds["rho_s_db"].values, "lam": ds["lam"].values,
            "gamma": ds["gamma"].values}
    order = ["M", "rho_s_db", "lam"]
    for gi, g in enumerate(dims["gamma"]):
        subs = [("", "closed_form", ds["closed_form_m2"].isel(gamma=gi).values)]  # M, rho, lam
        for label in _samplers(ds):
            for q in ("crlb", "jensen"):
                x = ds[QUANTITIES[q]].isel(gamma=gi)
                if label is not None:
                    x = x.sel(sampler=label)
                subs.append((label or "", q, x.values))  # M, rho, lam, trial
        for axis, dim in AXIS_DIM.items():
            if len(dims[dim]) < 2:
                continue
            ax = order.index(dim)
            others = [d for d in order if d != dim]
            x = axis_x(axis, dims[dim])
            for i0, v0 in enumerate(dims[others[0]]):
                for i1, v1 in enumerate(dims[others[1]]):
                    fixed = {others[0]: v0, others[1]: v1, "gamma": float(g)}
                    for label, q, arr in subs:
                        a = np.moveaxis(arr, ax, 0)[:, i0, i1]
                        if q == "closed_form":
                            if not np.all(np.isfinite(a)):
                                continue
                            s, lo, hi = slope_with_ci(x, means=a)
                        else:
                            s, lo, hi = slope_with_ci(x, X=a)
                        theory = THEORY[axis](float(g))
                        tol = EXACT_SLOPE_ATOL
                        rows.append({
                            "sampler": label, "quantity": q, "axis": axis,
                            "M": "" if dim == "M" else int(fixed["M"]),
                            "rho_s_db": "" if dim == "rho_s_db" else float(fixed["rho_s_db"]),
                            "lam": "" if dim == "lam" else float(fixed["lam"]),
                            "gamma": float(g), "slope": s, "ci_low": lo, "ci_high": hi,
                            "theory": theory,
                            "consistent": bool(lo - tol <= theory <= hi + tol),
                        })
    return rows


COLUMNS = ["sampler", "quantity", "axis", "M", "rho_s_db", "lam", "gamma", "slope", "ci_low", "ci_high",
           "theory", "consistent"]


def write_slopes(rows, csv_path, json_path):
    import csv
    import json

    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    with open(json_path, "w") as fh:
        json.dump(rows, fh, indent=1)
