"""``netsense plot``: one swept axis of a stored cube as a figure, the others held fixed.

The plotted numbers are :func:`netsense.analysis.query.summarize`'s (the reported estimates:
E[eq. 18] by the control variate, E[eq. 23] plain, each with its 95% interval), so a figure shows
exactly what ``netsense query`` prints for the same selection.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from ...pipeline.axes import AXES, SAMPLER_DIM, param_dims
from .common import plt

LABELS = {"crlb_m2": "E[eq. (18)] (CRLB)", "jensen_m2": "E[eq. (23)]"}
MARKERS = {"crlb_m2": "o-", "jensen_m2": "s--"}
# one pair of colours (eq. 18, eq. 23) per sampler
PALETTE = (("tab:blue", "tab:green"), ("tab:purple", "tab:orange"), ("tab:brown", "tab:olive"),
           ("tab:pink", "tab:cyan"))


def plot_data(ds, x: str, where: dict, var=("crlb_m2", "jensen_m2"), nearest: bool = False):
    """The series a plot draws: {sampler label: {"x": ..., "<var>_mean": ...,
    "<var>_mean_ci95_low": ..., "<var>_mean_ci95_high": ..., "closed_form_m2": ...}}, from
    ``summarize``, the nearest values taken and summarize's notes (under blockage: no mean of
    eq. 18, so no curve of it; eq. 23's mean conditional).

    Every swept axis other than ``x`` and ``sampler`` must be fixed by ``where`` (or hold one
    value); a sampler not fixed gives one series per sampler.
    """
    from ..query import summarize

    _fixed_except(ds, x, where)
    df = summarize(ds, var=list(var), stats=["mean", "ci95", "closed_form"], where=where,
                   nearest=nearest)
    out = {}
    for label, g in df.groupby(SAMPLER_DIM, sort=False):
        g = g.sort_values(x)
        out[str(label)] = {"x": g[x].to_numpy(float),
                           **{c: g[c].to_numpy(float) for c in g.columns
                              if c.endswith(("_mean", "_mean_ci95_low", "_mean_ci95_high"))
                              or c == "closed_form_m2"}}
    return out, df.attrs.get("nearest_taken", {}), list(df.attrs.get("notes", []))


def plot_cube(ds, x: str, where: dict, out_png, var=("crlb_m2", "jensen_m2"),
              ratio: bool = False, nearest: bool = False) -> dict:
    """Draw :func:`plot_data` to ``out_png`` and return the plotted series.

    Means with their 95% bands and Theorem 2 (eq. 26); log-log where the axis is a density or
    an antenna count, log y otherwise; ``ratio``: each mean over Theorem 2 on a linear axis.
    """
    series, taken, notes = plot_data(ds, x, where, var, nearest)
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.0, 4.8), constrained_layout=True)
    many = len(series) > 1
    for k, (label, s) in enumerate(series.items()):
        closed = s.get("closed_form_m2")
        for j, v in enumerate(var):
            color, fmt = PALETTE[k % len(PALETTE)][j % 2], MARKERS.get(v, "o-")
            y, lo, hi = (s[f"{v}_{c}"] for c in ("mean", "mean_ci95_low", "mean_ci95_high"))
            if ratio:
                y, lo, hi = y / closed, lo / closed, hi / closed
            name = LABELS.get(v, v) + (f", {label}" if many else "")
            ax.plot(s["x"], y, fmt, color=color, ms=4, lw=1.3, label=name)
            ax.fill_between(s["x"], lo, hi, color=color, alpha=0.25, lw=0)
        if k == 0:
            ref = np.ones_like(s["x"]) if ratio else closed
            ax.plot(s["x"], ref, "-", color="tab:red", lw=1.0, zorder=0,
                    label="Theorem 2 (eq. 26)" + ("" if not ratio else " = 1"))
    a = AXES[x]
    if a.log_x:
        ax.set_xscale("log")
    if not ratio:
        ax.set_yscale("log")
    ax.set_xlabel(a.plot_label)
    ax.set_ylabel("mean / Theorem 2  [1]" if ratio else "mean squared position error  [m$^2$]")
    fixed = ", ".join(f"{k}={_fmt(v)}" for k, v in where.items())
    ax.set_title(f"netsense: against {x}" + (f" at {fixed}" if fixed else "")
                 + "\n(bands: 95% intervals; E[eq. 18] by the control variate)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8.5)
    fig.savefig(out_png, dpi=130)
    pyplot.close(fig)
    return {"series": series, "nearest_taken": taken, "notes": notes}


def _fmt(v) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return str(v)


# ---- distribution metrics: the CDF of the RMSE, and coverage against an axis ---------------
CDF_POINTS = 80  # accuracies R at which a CDF is drawn (log-spaced over its 0.5% .. 99.5% span)
CDF_SPAN = (0.005, 0.995)
EQUATIONS = {"crlb_m2": "eq. 18", "jensen_m2": "eq. 23"}


def _fixed_except(ds, x, where):
    """Refuse a selection that leaves an axis other than ``x`` and ``sampler`` free."""
    axes = param_dims(ds)
    if x not in axes:
        raise InputError("--x", x, f"must be one of the swept axes {list(axes)}")
    if x in where:
        raise InputError("--where", x, f"{x} is the x axis; leave it free")
    for a in axes:
        if a != x and a not in where and ds.sizes[a] > 1:
            vals = ", ".join(f"{v:g}" for v in ds[a].values)
            raise InputError("--where", a, f"{a} has {ds.sizes[a]} values ({vals}); fix it, "
                             f"e.g. --where {a}={ds[a].values[len(ds[a]) // 2]:g}")


def _whole_plane_scale(row) -> dict | None:
    """The point's densities and error scale [m^2] for the exact law of eq. (23), from its
    coordinates and Theorem 2 (closed_form_m2 = scale 2 E[1/A_t] E[1/A_r], Lemma 3)."""
    from ...core.closed_form import lemma3_inv_sum

    lam_t = float(row["lam"] if "lam" in row else row["lam_t"])
    lam_r = float(row["lam"] if "lam" in row else row["lam_r"])
    g = float(row["gamma"])
    if not g > 2:
        return None
    scale = float(row["closed_form_m2"]) / (2.0 * float(lemma3_inv_sum(lam_t, g))
                                             * float(lemma3_inv_sum(lam_r, g)))
    return {"gamma": g, "lam_t": lam_t, "lam_r": lam_r, "scale": scale}


def cdf_data(ds, x: str, where: dict, var: str = "crlb_m2", nearest: bool = False):
    """The CDF of sqrt(``var``) (the RMSE bound, m) at each value of axis ``x`` (one curve per
    (sampler, x value)), with 95% Clopper-Pearson bands: ``summarize``'s ``coverage:R`` at
    CDF_POINTS accuracies. Returns ({(sampler, x value): {"r_m", "fraction", "ci_low",
    "ci_high", "exact_eq23"}}, nearest values taken); ``exact_eq23`` is the exact CDF of
    sqrt(eq. 23) on the whole plane where the sampler is scale-free with full beam gain (else
    None)."""
    from ...core.jensen_law import jensen_cdf
    from ...pipeline.cube import entries
    from ..query import summarize

    _fixed_except(ds, x, where)
    span = summarize(ds, var=[var], stats=[f"quantile:{CDF_SPAN[0]}", f"quantile:{CDF_SPAN[1]}"],
                     where=where, nearest=nearest)
    lo = float(span[f"{var}_q{CDF_SPAN[0]:g}"].min())
    hi = float(span[f"{var}_q{CDF_SPAN[1]:g}"].replace(np.inf, np.nan).max())
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise InputError("--where", where, "selects no finite spread of trials to draw")
    radii = np.unique([float(f"{r:.6g}") for r in np.geomspace(np.sqrt(lo), np.sqrt(hi),
                                                                CDF_POINTS)])
    df = summarize(ds, var=[var], stats=[f"coverage:{r:.6g}" for r in radii] + ["closed_form"],
                   where=where, nearest=nearest)
    ents = {e.label: e for e in entries(ds)}
    out = {}
    for row in df.to_dict(orient="records"):
        cols = [f"{var}_coverage_{r:g}m" for r in radii]
        e = ents[str(row[SAMPLER_DIM])]
        law = _whole_plane_scale(row) if (e.sampler.scale_free and e.beam == "full") else None
        exact = None if law is None else jensen_cdf(radii ** 2, **law)
        out[(str(row[SAMPLER_DIM]), row[x])] = {
            "r_m": radii, "fraction": np.array([row[c] for c in cols]),
            "ci_low": np.array([row[f"{c}_ci95_low"] for c in cols]),
            "ci_high": np.array([row[f"{c}_ci95_high"] for c in cols]), "exact_eq23": exact}
    return out, span.attrs.get("nearest_taken", {})


def plot_cdf(ds, x: str, where: dict, out_png, var: str = "crlb_m2",
             nearest: bool = False) -> dict:
    """Draw :func:`cdf_data`: the fraction of target positions located within R against R, one
    curve per value of ``x`` (and sampler), with 95% bands, and the exact eq. (23) law on the
    whole plane dashed where it applies."""
    series, taken = cdf_data(ds, x, where, var, nearest)
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.0, 4.8), constrained_layout=True)
    many = len({k[0] for k in series}) > 1
    for k, ((label, xv), s) in enumerate(series.items()):
        color = f"C{k % 10}"
        name = f"{x} = {_axis_value(x, xv)}" + (f", {label}" if many else "")
        ax.plot(s["r_m"], s["fraction"], "-", color=color, lw=1.4, label=name)
        ax.fill_between(s["r_m"], s["ci_low"], s["ci_high"], color=color, alpha=0.25, lw=0)
        if s["exact_eq23"] is not None:
            ax.plot(s["r_m"], s["exact_eq23"], "--", color=color, lw=0.9,
                    label="eq. (23), exact (whole plane)" if k == 0 else None)
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"accuracy R: sqrt({EQUATIONS.get(var, var)}) <= R  [m]")
    ax.set_ylabel("fraction of target positions within R")
    fixed = ", ".join(f"{k}={_fmt(v)}" for k, v in where.items())
    ax.set_title(f"netsense: coverage (CDF of the RMSE bound) by {x}"
                 + (f" at {fixed}" if fixed else "") + "\n(bands: 95% Clopper-Pearson "
                 "intervals; by ergodicity, trials are target positions)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8.5)
    fig.savefig(out_png, dpi=130)
    pyplot.close(fig)
    return {"series": series, "nearest_taken": taken}


def plot_coverage(ds, x: str, where: dict, rmse_m: float, out_png, var=("crlb_m2",),
                  nearest: bool = False) -> dict:
    """The fraction of target positions with sqrt(var) <= ``rmse_m`` against one swept axis,
    with 95% Clopper-Pearson bands (``summarize``'s ``coverage:R``)."""
    from ..query import summarize

    _fixed_except(ds, x, where)
    df = summarize(ds, var=list(var), stats=[f"coverage:{rmse_m!r}"], where=where,
                   nearest=nearest)
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.0, 4.8), constrained_layout=True)
    series = {}
    many = df[SAMPLER_DIM].nunique() > 1
    for k, (label, g) in enumerate(df.groupby(SAMPLER_DIM, sort=False)):
        g = g.sort_values(x)
        for j, v in enumerate(var):
            c = f"{v}_coverage_{rmse_m:g}m"
            color, fmt = PALETTE[k % len(PALETTE)][j % 2], MARKERS.get(v, "o-")
            xs = g[x].to_numpy(float)
            ax.plot(xs, g[c], fmt, color=color, ms=4, lw=1.3,
                    label=f"sqrt({EQUATIONS.get(v, v)}) <= {rmse_m:g} m"
                    + (f", {label}" if many else ""))
            ax.fill_between(xs, g[f"{c}_ci95_low"], g[f"{c}_ci95_high"], color=color,
                            alpha=0.25, lw=0)
            series[(str(label), v)] = {"x": xs, "fraction": g[c].to_numpy(float),
                                       "ci_low": g[f"{c}_ci95_low"].to_numpy(float),
                                       "ci_high": g[f"{c}_ci95_high"].to_numpy(float)}
    a = AXES[x]
    if a.log_x:
        ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(a.plot_label)
    ax.set_ylabel(f"fraction of target positions within {rmse_m:g} m")
    fixed = ", ".join(f"{k}={_fmt(v)}" for k, v in where.items())
    ax.set_title(f"netsense: coverage at {rmse_m:g} m against {x}"
                 + (f" at {fixed}" if fixed else "") + "\n(bands: 95% Clopper-Pearson "
                 "intervals)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8.5)
    fig.savefig(out_png, dpi=130)
    pyplot.close(fig)
    return {"series": series, "nearest_taken": df.attrs.get("nearest_taken", {})}


def _axis_value(x: str, v) -> str:
    if x in ("lam", "lam_t", "lam_r"):
        from .common import lam_text

        return lam_text(float(v))
    return _fmt(v)
