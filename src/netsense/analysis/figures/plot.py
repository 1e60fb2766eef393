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
    ``summarize``.

    Every swept axis other than ``x`` and ``sampler`` must be fixed by ``where`` (or hold one
    value); a sampler not fixed gives one series per sampler.
    """
    from ..query import summarize

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
    df = summarize(ds, var=list(var), stats=["mean", "ci95", "closed_form"], where=where,
                   nearest=nearest)
    out = {}
    for label, g in df.groupby(SAMPLER_DIM, sort=False):
        g = g.sort_values(x)
        out[str(label)] = {"x": g[x].to_numpy(float),
                           **{c: g[c].to_numpy(float) for c in g.columns
                              if c.endswith(("_mean", "_mean_ci95_low", "_mean_ci95_high"))
                              or c == "closed_form_m2"}}
    return out, df.attrs.get("nearest_taken", {})


def plot_cube(ds, x: str, where: dict, out_png, var=("crlb_m2", "jensen_m2"),
              ratio: bool = False, nearest: bool = False) -> dict:
    """Draw :func:`plot_data` to ``out_png`` and return the plotted series.

    Means with their 95% bands and Theorem 2 (eq. 26); log-log where the axis is a density or
    an antenna count, log y otherwise; ``ratio``: each mean over Theorem 2 on a linear axis.
    """
    series, taken = plot_data(ds, x, where, var, nearest)
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
    return {"series": series, "nearest_taken": taken}


def _fmt(v) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return str(v)
