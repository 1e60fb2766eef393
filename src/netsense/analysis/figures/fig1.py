"""The paper's Fig. 1 layout: error against M, rho_s, lam and gamma (one panel per axis of
:data:`netsense.pipeline.axes.PARAM_AXES`), every sampler of the cube overlaid."""

from __future__ import annotations

import numpy as np

from ...pipeline.axes import FIT_AXES, PARAM_AXES, PARAM_DIMS, SAMPLER_DIM
from ...pipeline.cube import entries
from ..estimates import control_mean, estimate
from .common import lam_text, plt

STYLE = {"crlb": dict(marker="o", color="tab:blue", label="MC of eq. (18) (CRLB), control variate"),
         "jensen": dict(marker="s", color="tab:green", label="MC of eq. (23)"),
         "closed_form": dict(marker="", color="tab:red", label="eq. (26) Theorem 2")}
# Per sampler (in cube order): line style and marker fill, so that samplers stay apart in print.
SAMPLER_STYLE = ({"ls": "-", "mfc": None}, {"ls": "--", "mfc": "white"},
                 {"ls": ":", "mfc": "white"}, {"ls": "-.", "mfc": None})


def sampler_labels(ds) -> list[str]:
    """The cube's ``sampler`` coordinate values."""
    return [str(v) for v in ds[SAMPLER_DIM].values]


def describe_sampler(ds, label: str) -> str:
    """Legend text of one sampler entry, from its coordinates (``sampler_spec``)."""
    e = next(e for e in entries(ds) if e.label == label)
    return e.sampler.describe() + ("" if e.beam == "full" else
                                                      f", {e.beam} beam")


def panel_stats(ds, dim: str, ref: dict, sampler: str | None = None, control=None) -> dict:
    """Mean and 95% interval over trials along ``dim`` with the other axes at ``ref``: the
    reported estimates of :mod:`netsense.analysis.estimates` (``control``: its
    :func:`~netsense.analysis.estimates.control_mean` of ``ds``, computed when not given).

    Returns {"x": values, "crlb": CVEstimate, "jensen": MeanEstimate, "closed_form": values}.
    """
    if control is None:
        control = control_mean(ds)
    sel = {d: v for d, v in ref.items() if d != dim}
    if sampler is not None:
        sel[SAMPLER_DIM] = sampler
    elif SAMPLER_DIM in ds.dims:
        sel[SAMPLER_DIM] = ds[SAMPLER_DIM].values[0]
    sub = ds.sel(sel)
    out = {"x": sub[dim].values}
    for q, v in (("crlb", "crlb_m2"), ("jensen", "jensen_m2")):
        out[q] = estimate(sub, v, control, dims=[dim])
    out["closed_form"] = sub["closed_form_m2"].values
    return out


def _slope_label(rows, q, axis, ref, sampler=""):
    for r in rows:
        if r["quantity"] != q or r["axis"] != axis or r["gamma"] != ref["gamma"]:
            continue
        if r.get("sampler", "") != (sampler if q != "closed_form" else ""):
            continue
        fixed = {k: ref[k] for k in PARAM_DIMS if k != "gamma" and r[k] != ""}
        if all(np.isclose(r[k], v) for k, v in fixed.items()):
            ci = "" if r["ci_high"] - r["ci_low"] < 1e-9 else \
                f" [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
            return f"{r['slope']:.3f}{ci}"
    return ""


SHORT = {"crlb": "eq.18", "jensen": "eq.23", "closed_form": "eq.26"}


def _tick(dim, v):
    return lam_text(v) if dim == "lam" else f"{v:g}"


# The axes' symbols and units, as on the x labels, for the panel titles.
SYMBOL = {"M": "$M$", "rho_s_db": r"$\rho_s$", "lam": r"$\lambda$", "gamma": r"$\gamma$"}
UNIT = {"rho_s_db": " dB", "lam": r" m$^{-2}$"}


def _fixed_text(dim, ref) -> str:
    return ", ".join(f"{SYMBOL[k]} = {_tick(k, ref[k])}{UNIT.get(k, '')}"
                     for k in PARAM_DIMS if k != dim)


def fig1(ds, ref: dict, slopes=(), title: str = "", path_png=None, path_pdf=None):
    """Four panels (error against M, rho_s, lam, gamma around ``ref``), each with a panel of the
    ratio to Theorem 2 beneath it (linear axis: the gap the paper is about, with visible
    bands). Theorem 2 is a thin line under the Monte Carlo curves, so curves on it stay
    visible."""
    import matplotlib.ticker

    pyplot = plt()
    fig = pyplot.figure(figsize=(11.5, 14), constrained_layout=True)
    grid = fig.add_gridspec(4, 2, height_ratios=[3.0, 1.35, 3.0, 1.35])
    axis_of = {a.name: a.fit for a in FIT_AXES}
    theory_txt = {a.name: f"vs {a.fit_label}, theory {a.theory(ref['gamma']):g}"
                  for a in FIT_AXES}
    labels = sampler_labels(ds)
    control = control_mean(ds)
    handles = {}
    for k, axis in enumerate(PARAM_AXES):
        row, col = divmod(k, 2)
        ax = fig.add_subplot(grid[2 * row, col])
        bx = fig.add_subplot(grid[2 * row + 1, col], sharex=ax)
        dim, xlabel, logx = axis.name, axis.plot_label, axis.log_x
        if ds.sizes[dim] < 2:
            ax.text(0.5, 0.5, f"{dim}: single value {_tick(dim, ds[dim].values[0])}\n(not swept)",
                    ha="center", va="center", transform=ax.transAxes)
            bx.set_xlabel(xlabel)
            bx.set_yticks([])
            continue
        slope_lines = []
        for si, smp in enumerate(labels):
            st = panel_stats(ds, dim, ref, smp, control)
            sty = SAMPLER_STYLE[si % len(SAMPLER_STYLE)]
            closed = st["closed_form"]
            for q in ("crlb", "jensen"):
                m, lo, hi = st[q].mean, st[q].ci_low, st[q].ci_high
                lab = STYLE[q]["label"] + (f", {describe_sampler(ds, smp)}" if len(labels) > 1
                                           else "")
                kw = dict(marker=STYLE[q]["marker"], ls=sty["ls"], color=STYLE[q]["color"],
                          mfc=sty["mfc"] or STYLE[q]["color"], ms=5, lw=1.2, zorder=3)
                line, = ax.plot(st["x"], m, **kw)
                handles[lab] = line
                # 95% confidence band of the Monte Carlo mean
                ax.fill_between(st["x"], lo, hi, color=STYLE[q]["color"], alpha=0.18, lw=0)
                bx.plot(st["x"], m / closed, **kw)
                bx.fill_between(st["x"], lo / closed, hi / closed, color=STYLE[q]["color"],
                                alpha=0.25, lw=0, zorder=2)
                if dim in axis_of:
                    sl = _slope_label(slopes, q, axis_of[dim], ref, smp)
                    if sl:
                        slope_lines.append(f"{SHORT[q]} {smp}: {sl}")
        line, = ax.plot(st["x"], st["closed_form"], "-", color=STYLE["closed_form"]["color"],
                        lw=1.0, zorder=1)
        handles[STYLE["closed_form"]["label"]] = line
        bx.axhline(1.0, color=STYLE["closed_form"]["color"], lw=1.0, zorder=1)
        if dim in axis_of:
            sl = _slope_label(slopes, "closed_form", axis_of[dim], ref)
            if sl:
                slope_lines.append(f"{SHORT['closed_form']}: {sl}")
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        bx.set_xticks(st["x"], [_tick(dim, v) for v in st["x"]])
        bx.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.tick_params(labelbottom=False)
        bx.set_xlabel(xlabel)
        ax.set_ylabel(r"mean squared position error [m$^2$]")
        bx.set_ylabel("/ Theorem 2  [1]")
        ax.set_title(f"against {SYMBOL[dim]}  ({_fixed_text(dim, ref)})", fontsize=9.5)
        for a in (ax, bx):
            a.grid(True, which="both", alpha=0.3)
        if slope_lines:
            # log-log slopes (95% CI) in the empty corner: curves fall left to right here
            ax.text(0.98, 0.98, f"slope {theory_txt[dim]} [95% CI]:\n" + "\n".join(slope_lines),
                    transform=ax.transAxes, ha="right", va="top", fontsize=7, family="monospace",
                    bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=2 if len(handles) > 3 else len(handles), fontsize=8.5)
    if title:
        fig.suptitle(title)
    for p in (path_png, path_pdf):
        if p:
            fig.savefig(p, dpi=130)
    pyplot.close(fig)
