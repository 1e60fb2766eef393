"""Where the paper's law holds in a real network: the local slope of the error against density.

Eq. (26) of [1] says the error scales as (lam_t lam_r)^(-gamma/2). That follows from the ideal
plane, where the nearest nodes come arbitrarily close. Antenna heights bound the path loss, so
at high density (lam pi h^2 >> 1) eq. (18) tends to gamma / (E[A_t] E[A_r]) ~ 1/(lam_t lam_r):
the slope turns toward -1. Blockage leaves few usable nodes at low density (mu = 2 pi lam /
beta^2 LOS nodes a side): the slope steepens there. This study measures, per sampler entry
(one link model each) and gamma, the local slope d log(error) / d log(lam_t lam_r) between
adjacent densities of a tied sweep:

* ``crlb_median_slope``: of the median of eq. (18), finite under every link model (a network
  with no usable node counts as an infinite error; the median is finite where more than half
  are localizable), with the interval of :func:`netsense.core.distribution.quantile_slope`;
* ``crlb_mean_slope``: of the mean of eq. (18) where it is finite (no blockage), the
  reported estimates of :mod:`netsense.analysis.estimates` with the delta method for the log
  ratio of two independent means;
* ``exact_slope``: the exact secant of E[eq. (23)] over the same pair (conditional on both sides
  usable under blockage), from :func:`netsense.core.expectations.inv_sum_mean_link`;

and, from the exact E[eq. (23)] alone, the law's window: the densities where its local slope is
within :data:`LAW_TOL` of -gamma/2 (:func:`law_window`).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from ...core.distribution import quantile_estimate, quantile_slope
from ...core.expectations import inv_sum_mean_link
from ...core.stats import Z95, log_ratio_se
from ...errors import InputError
from ...pipeline.axes import LINK_DIMS, param_dims
from ...pipeline.config import linked
from ...pipeline.cube import entries
from ..estimates import estimate
from ..figures.common import plt
from .common import Study, point

# The law "holds" where the local slope is within 10% of the exponent: |s + gamma/2| <= 0.1
# gamma/2 (0.125 at gamma 2.5, 0.2 at gamma 4), a departure a two-point fit over a decade
# resolves with the ~1e4 trials a cell of config/links.yaml holds (its 95% half-width ~0.02).
LAW_TOL = 0.1
# Central difference in log lam of the exact log E[1/A]: inv_sum_mean_link's quadrature is good
# to ~1e-10 relative, so the slope is good to ~1e-7.
LOG_STEP = 1e-3
# The exact curves and the window search span these densities [m^-2] (one node per 1e8 m^2 to one
# per 10 m^2), WINDOW_GRID points per decade before the edges are refined by bisection.
LAM_SPAN = (1e-8, 1e-1)
WINDOW_GRID = 4
BISECTIONS = 12


def check(cfg) -> None:
    """Needs at least 2 values of the tied sweep.lam."""
    if len(cfg.values["lam"]) < 2:
        raise InputError("analyses", "lawwindow", "needs at least 2 values in sweep.lam (the "
                         "local slope is taken between adjacent densities)")


def _link(e, values=None) -> tuple[float, float, float, float]:
    """(h_t, h_r, beta, sigma) of an entry, at ``values`` ({link axis: value}) of the cube's
    link dims where it has them (:func:`netsense.pipeline.config.linked`)."""
    s = linked(e.sampler, values or {})
    return (float(s.height_t_m), float(s.height_r_m), float(s.blockage_per_m),
            float(s.shadowing_db))


def _link_points(ds) -> list[dict]:
    """Every point of the cube's link dims ({axis: value}; [{}] without link axes)."""
    dims = [d for d in param_dims(ds) if d in LINK_DIMS]
    return [dict(zip(dims, map(float, v), strict=True))
            for v in itertools.product(*(ds[d].values for d in dims))]


@functools.lru_cache(maxsize=4096)
def _log_inv_sum(lam: float, gamma: float, h: float, beta: float, sigma: float) -> float:
    return math.log(inv_sum_mean_link(lam, gamma, height_m=h, blockage_per_m=beta,
                                      shadowing_db=sigma))


def log_eq23(lam: float, gamma: float, link) -> float:
    """log E[eq. (23)] up to its scale, tied densities lam_t = lam_r = lam: log E[1/A_t] +
    log E[1/A_r] (the sides are independent; conditional on both usable under blockage)."""
    h_t, h_r, beta, sigma = link
    return (_log_inv_sum(float(lam), float(gamma), h_t, beta, sigma)
            + _log_inv_sum(float(lam), float(gamma), h_r, beta, sigma))


def exact_slope(lam: float, gamma: float, link) -> float:
    """The exact local slope d log E[eq. 23] / d log(lam_t lam_r) at lam_t = lam_r = lam."""
    up = log_eq23(lam * math.exp(LOG_STEP), gamma, link)
    down = log_eq23(lam * math.exp(-LOG_STEP), gamma, link)
    return (up - down) / (4.0 * LOG_STEP)  # d log(lam_t lam_r) = 2 d log lam


def _holds(lam: float, gamma: float, link, tol: float) -> bool:
    return abs(exact_slope(lam, gamma, link) + gamma / 2.0) <= tol * gamma / 2.0


def law_window(gamma: float, link, tol: float = LAW_TOL, span=LAM_SPAN) -> tuple[float, float]:
    """(lam_low, lam_high) [m^-2]: the longest run of densities in ``span`` where the exact
    local slope of E[eq. 23] is within ``tol`` gamma/2 of -gamma/2 (eq. 26), edges refined by
    bisection; an edge at the span's end means "beyond the span"; (nan, nan): nowhere."""
    lo, hi = (math.log10(v) for v in span)
    grid = np.logspace(lo, hi, round((hi - lo) * WINDOW_GRID) + 1)
    ok = [_holds(v, gamma, link, tol) for v in grid]
    best, run = None, None
    for i, inside in enumerate(ok):
        if inside:
            run = (run[0], i) if run else (i, i)
            if best is None or run[1] - run[0] > best[1] - best[0]:
                best = run
        else:
            run = None
    if best is None:
        return math.nan, math.nan

    def edge(a: float, b: float) -> float:  # a inside, b outside: the crossing between
        for _ in range(BISECTIONS):
            m = math.sqrt(a * b)
            a, b = (m, b) if _holds(m, gamma, link, tol) else (a, m)
        return a

    i, j = best
    low = float(grid[0]) if i == 0 else edge(float(grid[i]), float(grid[i - 1]))
    high = float(grid[-1]) if j == len(grid) - 1 else edge(float(grid[j]), float(grid[j + 1]))
    return low, high


def thresholds(gamma: float, tol: float = LAW_TOL) -> dict:
    """Where each link model alone lets the law hold, in its dimensionless density (exact, by
    scale invariance: with heights E[1/A] depends on lam only through lam h^2, under blockage
    through mu = 2 pi lam / beta^2): ``max_lam_pi_h2``, the largest lam pi h^2 with the local
    slope within ``tol`` of -gamma/2, and ``min_los_nodes``, the smallest mean LOS count mu a side
    with it. Both at once leave a window only where mu* beta^2 / (2 pi) < x* / (pi h^2), i.e.
    beta h < sqrt(2 x* / mu*) (``max_beta_h``): heights end the law before blockage lets it
    begin otherwise (the exact slope then only passes through -gamma/2)."""
    _, high = law_window(gamma, (1.0, 1.0, 0.0, 0.0), tol, span=(1e-6, 1e2))
    low, _ = law_window(gamma, (0.0, 0.0, 1.0, 0.0), tol, span=(1e-2, 1e5))
    x, mu = high * math.pi, 2.0 * math.pi * low
    return {"max_lam_pi_h2": x, "min_los_nodes": mu, "max_beta_h": math.sqrt(2.0 * x / mu)}


def rows(inp) -> list[dict]:
    """Per sampler entry, gamma and pair of adjacent densities (at the reference M, rho_s): the
    local slopes of the median and (where finite) the mean of eq. (18) with 95% intervals, the
    exact secant of E[eq. 23], the dimensionless lam pi h^2 and mu at the pair's geometric
    midpoint, and the exact law window of the entry at that gamma."""
    ds, ref = inp.ds, inp.ref
    lams = np.sort(ds["lam"].values.astype(float))
    out = []
    for e, at in ((e, at) for e in entries(ds) for at in _link_points(ds)):
        link = _link(e, at)  # the entry's link, at a point of the link dims (sweep.height_m...)
        h_t, h_r, beta, sigma = link
        for g in map(float, ds["gamma"].values):
            window = law_window(g, link)
            limits = thresholds(g)
            trials, means = [], []
            for lam in lams:
                pt = point(ds, ref, sampler=e.label, lam=lam, gamma=g, **at)[
                    ["crlb_m2", "jensen_m2"]].load()
                trials.append(np.asarray(pt["crlb_m2"].values, float))
                if beta == 0:
                    est = estimate(pt, "crlb_m2", inp.control)
                    means.append((float(est.mean), float(est.sem)))
            for i in range(len(lams) - 1):
                l0, l1 = float(lams[i]), float(lams[i + 1])
                mid = math.sqrt(l0 * l1)
                dx = 2.0 * math.log(l1 / l0)  # log(lam_t lam_r) with lam_t = lam_r
                med = quantile_estimate(np.vstack([trials[i], trials[i + 1]]), 0.5, axis=-1)
                s, s_lo, s_hi, _ = quantile_slope(np.array([0.0, dx]),
                                                  np.vstack([trials[i], trials[i + 1]]), 0.5)
                row = {"sampler": e.label, "height_t_m": h_t, "height_r_m": h_r,
                       "blockage_per_m": beta, "shadowing_db": sigma, "gamma": g,
                       "M": int(ref["M"]), "rho_s_db": float(ref["rho_s_db"]),
                       "lam_low": l0, "lam_high": l1, "lam_mid": mid,
                       "lam_pi_h2_mid": mid * math.pi * max(h_t, h_r) ** 2,
                       "los_nodes_mid": (2.0 * math.pi * mid / beta**2) if beta > 0 else math.inf,
                       "theory": -g / 2.0,
                       "crlb_median_low_m2": float(med.value[0]),
                       "crlb_median_high_m2": float(med.value[1]),
                       "crlb_median_slope": s, "crlb_median_slope_ci_low": s_lo,
                       "crlb_median_slope_ci_high": s_hi}
                if beta == 0:
                    (m0, se0), (m1, se1) = means[i], means[i + 1]
                    ms = math.log(m1 / m0) / dx
                    h = Z95 * log_ratio_se(m1, se1, m0, se0) / dx
                    row.update(crlb_mean_slope=ms, crlb_mean_slope_ci_low=ms - h,
                               crlb_mean_slope_ci_high=ms + h)
                else:  # E[eq. 18] is infinite under blockage: no mean, no slope of it
                    row.update(crlb_mean_slope=math.nan, crlb_mean_slope_ci_low=math.nan,
                               crlb_mean_slope_ci_high=math.nan)
                row["exact_slope"] = (log_eq23(l1, g, link) - log_eq23(l0, g, link)) / dx
                row["exact_conditional"] = beta > 0
                row["window_lam_low"], row["window_lam_high"] = window
                row["window_decades"] = math.log10(window[1] / window[0])
                row.update({f"law_{k}": v for k, v in limits.items()})
                out.append(row)
    return out


def _curve(row: dict) -> tuple:
    return (row["sampler"], row["height_t_m"], row["height_r_m"], row["blockage_per_m"],
            row["shadowing_db"])


HEIGHT_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")
BLOCKAGE_STYLES = ("-", "--", ":", "-.")
CURVE_POINTS_PER_DECADE = 8


def figure(rows: list[dict], ref: dict, path_png, title=""):
    """One panel per gamma: the local slope against lam, measured (median of eq. 18, 95% CI,
    markers at each pair's geometric midpoint) and exact (E[eq. 23], lines); colour: height,
    line style: blockage. Dashed black: the paper's -gamma/2; grey: -1 (heights' limit)."""
    pyplot = plt()
    gammas = sorted({r["gamma"] for r in rows})
    heights = sorted({max(r["height_t_m"], r["height_r_m"]) for r in rows})
    blockages = sorted({r["blockage_per_m"] for r in rows})
    fig, axes = pyplot.subplots(1, len(gammas), figsize=(5.2 * len(gammas), 6.4), sharey=True,
                                squeeze=False, constrained_layout=True)
    lam_min = min(r["lam_low"] for r in rows)
    lam_max = max(r["lam_high"] for r in rows)
    n = round(math.log10(lam_max / lam_min) * CURVE_POINTS_PER_DECADE) + 1
    grid = np.logspace(math.log10(lam_min), math.log10(lam_max), n)
    for ax, g in zip(axes[0], gammas, strict=True):
        # one curve per entry and link (an entry swept along link axes has several)
        for smp in dict.fromkeys(_curve(r) for r in rows if r["gamma"] == g):
            sub = [r for r in rows if r["gamma"] == g and _curve(r) == smp]
            r0 = sub[0]
            h = max(r0["height_t_m"], r0["height_r_m"])
            c = HEIGHT_COLORS[heights.index(h) % len(HEIGHT_COLORS)]
            ls = BLOCKAGE_STYLES[blockages.index(r0["blockage_per_m"]) % len(BLOCKAGE_STYLES)]
            link = (r0["height_t_m"], r0["height_r_m"], r0["blockage_per_m"], r0["shadowing_db"])
            ax.plot(grid, [exact_slope(v, g, link) for v in grid], ls, color=c, lw=1.3,
                    label=f"h = {h:g} m, " + (f"1/beta = {1 / r0['blockage_per_m']:.0f} m"
                                              if r0["blockage_per_m"] > 0 else "no blockage"))
            x = np.array([r["lam_mid"] for r in sub])
            y = np.array([r["crlb_median_slope"] for r in sub])
            lo = np.array([r["crlb_median_slope_ci_low"] for r in sub])
            hi = np.array([r["crlb_median_slope_ci_high"] for r in sub])
            ok = np.isfinite(y)
            ax.errorbar(x[ok], y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]], fmt="o", ms=3.5,
                        color=c, mfc="white" if r0["blockage_per_m"] > 0 else c, capsize=2,
                        lw=0.9)
        ax.axhline(-g / 2.0, color="k", ls="--", lw=1.0, label=r"paper: $-\gamma/2$")
        ax.axhspan(-g / 2.0 * (1 + LAW_TOL), -g / 2.0 * (1 - LAW_TOL), color="0.85", zorder=0,
                   label=rf"within {LAW_TOL:.0%} of $-\gamma/2$")
        ax.axhline(-1.0, color="0.5", lw=1.0, label="-1 (heights, high density)")
        ax.set_xscale("log")
        ax.set_ylim(-2.6 * g / 2.0 - 0.2, 0.1)
        ax.set_title(rf"$\gamma$ = {g:g}", fontsize=10)
        ax.set_xlabel(r"density $\lambda = \lambda_t = \lambda_r$ [m$^{-2}$]")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel(r"local slope d log(error) / d log($\lambda_t\lambda_r$)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=8)
    fig.suptitle(title or "Where the paper's law holds: lines exact E[eq. (23)] (conditional "
                 "under blockage); markers median of eq. (18), 95% CI (open: blockage)",
                 fontsize=10)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


STUDY = Study("lawwindow", ("lawwindow.png", "lawwindow.csv"), rows, figure, check=check,
              findings_key="lawwindow", tied_only=True)
