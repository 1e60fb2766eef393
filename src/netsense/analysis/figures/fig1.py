"""The paper's Fig. 1 layout: error against M, rho_s, lam and gamma (one panel per axis of
:data:`netsense.pipeline.axes.PAPER_AXES`), every sampler of the cube overlaid."""

from __future__ import annotations

import numpy as np

from ...core.distribution import quantile_estimate
from ...pipeline.axes import PAPER_AXES, PARAM_DIMS, SAMPLER_DIM, fit_axes
from ...pipeline.cube import entries
from ..estimates import INFINITE_MEAN_VARS, control_mean, estimate, mean_finite
from .common import lam_text, plt

# The three curves differ in colour, marker and line. The two Monte Carlo means are wide lines
# with markers of two shapes (circle, square); Theorem 2 is a thin dashed line with crosses, drawn
# on top (ZORDER), so that where it lies on a Monte Carlo curve (E[eq. 23] equals it on the plane)
# both show: the curve beside and between its dashes, the cross on the square.
STYLE = {"crlb": dict(marker="o", ms=6.0, color="tab:blue",
                      label="MC of eq. (18) (CRLB), control variate"),
         "jensen": dict(marker="s", ms=4.5, color="tab:green", label="MC of eq. (23)"),
         "closed_form": dict(marker="x", ms=6.0, ls="--", lw=1.0, color="tab:red",
                             label="eq. (26) Theorem 2")}
ZORDER = {"band": 2, "mc": 3, "closed_form": 5}
# Per sampler (in cube order): line style and marker fill, so that samplers stay apart in print.
# No "--": that is Theorem 2's.
SAMPLER_STYLE = ({"ls": "-", "mfc": None}, {"ls": "-.", "mfc": "white"},
                 {"ls": ":", "mfc": "white"}, {"ls": (0, (5, 1, 1, 1, 1, 1)), "mfc": None})
# Under blockage (no finite E[eq. 18]; netsense.analysis.estimates.mean_finite) the entry's
# eq. (18) curve is its median with the 95% order-statistic interval, and its eq. (23) curve the
# mean conditional on both sides having a LOS node: their legend labels say so.
BLOCKAGE_LABEL = {"crlb": "median of eq. (18) (blockage: mean infinite)",
                  "jensen": "MC of eq. (23) given LOS on both sides"}
RATIO_LABEL = "MC mean / Theorem 2 (eq. 26)  [1]"
RATIO_LABEL_BLOCKED = "MC (eq. 18: median) / Theorem 2 (eq. 26)  [1]"  # under blockage
LEGEND_TWO_COLUMNS_MAX = 90  # characters of the longest legend label for two columns
RATIO_LOG_ABOVE = 3.0  # a ratio panel whose curves span more than this factor is drawn on log y
BAND_NOTE = "95% CI \u00b1{:.2g}%"  # the widest band of a ratio curve, relative to its mean


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

    Returns {"x": values, "crlb": CVEstimate, "jensen": MeanEstimate, "closed_form": values,
    "median": set()}. Under blockage (the entry has no finite E[eq. 18]) ``"crlb"`` is the
    median instead, a :class:`~netsense.core.distribution.QuantileEstimate` (``value``,
    ``ci_low``, ``ci_high``), and ``"median"`` is {"crlb"}; ``"jensen"`` is then the mean over
    the finite trials (conditional on both sides having a LOS node).
    """
    if control is None:
        control = control_mean(ds)
    sel = {d: v for d, v in ref.items() if d != dim}
    if sampler is not None:
        sel[SAMPLER_DIM] = sampler
    elif SAMPLER_DIM in ds.dims:
        sel[SAMPLER_DIM] = ds[SAMPLER_DIM].values[0]
    sub = ds.sel(sel)
    blocked = SAMPLER_DIM in sel and not mean_finite(ds).get(str(sel[SAMPLER_DIM]), True)
    out = {"x": sub[dim].values, "median": set()}
    for q, v in (("crlb", "crlb_m2"), ("jensen", "jensen_m2")):
        if blocked and v in INFINITE_MEAN_VARS:
            out[q] = quantile_estimate(sub[v].transpose(dim, "trial").values, 0.5, axis=-1)
            out["median"].add(q)
            continue
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


def _band_note(bx, x, m, lo, hi, color, above: bool):
    """The widest 95% band of a ratio curve, relative to its mean, as text beside its last point:
    a band of a fraction of a percent is thinner than the line even on the ratio axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.nanmax((hi - lo) / 2 / np.abs(m)) * 100
    if not np.isfinite(rel):
        return None
    return bx.annotate(BAND_NOTE.format(rel), (x[-1], m[-1]), xytext=(-4, 5 if above else -5),
                       textcoords="offset points", ha="right", va="bottom" if above else "top",
                       fontsize=6.5, color=color, zorder=ZORDER["closed_form"] + 1,
                       gid="band-note")


def fig1(ds, ref: dict, slopes=(), title: str = "", path_png=None, path_pdf=None):
    """Four panels (error against M, rho_s, lam, gamma around ``ref``), each with one panel per
    sampler of the ratio to Theorem 2 beneath it (linear axis, one sampler's curves each, so the
    gap the paper is about and the 95% bands show at the scale of that sampler's ratios; the
    widest band of each curve is written beside it). Theorem 2 is a thin dashed line on top of
    the Monte Carlo curves, so that it stays visible where a curve lies on it.

    Artists carry gids for tests: axes ``main:<dim>`` and ``ratio:<dim>:<sampler>``, lines
    ``<quantity>:<sampler>`` and ``closed_form``, bands ``band:<quantity>:<sampler>``.
    Returns the (closed) Figure."""
    import matplotlib.ticker
    from matplotlib.patches import Patch

    pyplot = plt()
    labels = sampler_labels(ds)
    n = len(labels)
    fig = pyplot.figure(figsize=(11.5, 5.2 + 2 * (3.0 + 1.3 * n)), constrained_layout=True)
    grid = fig.add_gridspec(2 * (1 + n), 2, height_ratios=([3.0] + [1.3] * n) * 2)
    axis_of = {a.name: a.fit for a in fit_axes(PARAM_DIMS)}
    theory_txt = {a.name: f"vs {a.fit_label}, theory {a.theory(ref['gamma']):g}"
                  for a in fit_axes(PARAM_DIMS)}
    control = control_mean(ds)
    handles = {}
    cf = STYLE["closed_form"]
    cf_kw = dict(color=cf["color"], ls=cf["ls"], lw=cf["lw"], zorder=ZORDER["closed_form"])
    for k, axis in enumerate(PAPER_AXES):
        row, col = divmod(k, 2)
        ax = fig.add_subplot(grid[(1 + n) * row, col])
        bxs = [fig.add_subplot(grid[(1 + n) * row + 1 + i, col], sharex=ax) for i in range(n)]
        dim, xlabel, logx = axis.name, axis.plot_label, axis.log_x
        ax.set_gid(f"main:{dim}")
        if ds.sizes[dim] < 2:
            ax.text(0.5, 0.5, f"{dim}: single value {_tick(dim, ds[dim].values[0])}\n(not swept)",
                    ha="center", va="center", transform=ax.transAxes)
            bxs[-1].set_xlabel(xlabel)
            for bx in bxs:
                bx.set_yticks([])
            continue
        slope_lines = []
        for si, (smp, bx) in enumerate(zip(labels, bxs, strict=True)):
            bx.set_gid(f"ratio:{dim}:{smp}")
            st = panel_stats(ds, dim, ref, smp, control)
            sty = SAMPLER_STYLE[si % len(SAMPLER_STYLE)]
            closed = st["closed_form"]
            blocked = not mean_finite(ds).get(smp, True)
            for q in ("crlb", "jensen"):
                m = st[q].value if q in st["median"] else st[q].mean
                lo, hi = st[q].ci_low, st[q].ci_high
                # the sampler's label names its ratio panel; with it, entries stay apart in the legend
                lab = (BLOCKAGE_LABEL[q] if blocked else STYLE[q]["label"]) + \
                    (f", {smp}: {describe_sampler(ds, smp)}" if n > 1 else "")
                kw = dict(marker=STYLE[q]["marker"], ms=STYLE[q]["ms"], ls=sty["ls"],
                          color=STYLE[q]["color"], mfc=sty["mfc"] or STYLE[q]["color"], lw=1.8,
                          zorder=ZORDER["mc"], gid=f"{q}:{smp}")
                line, = ax.plot(st["x"], m, **kw)
                handles[lab] = line
                # 95% confidence band of the Monte Carlo mean (at log scale often thinner than
                # the line: the ratio panel beneath shows it)
                ax.fill_between(st["x"], lo, hi, color=STYLE[q]["color"], alpha=0.25, lw=0,
                                zorder=ZORDER["band"], gid=f"band:{q}:{smp}")
                bx.plot(st["x"], m / closed, **{**kw, "lw": 0.9, "ms": kw["ms"] - 1})
                bx.fill_between(st["x"], lo / closed, hi / closed, color=STYLE[q]["color"],
                                alpha=0.3, ec=STYLE[q]["color"], lw=0.5,
                                zorder=ZORDER["band"], gid=f"band:{q}:{smp}")
                _band_note(bx, st["x"], m / closed, lo / closed, hi / closed,
                           STYLE[q]["color"], above=q == "crlb")
                if dim in axis_of:
                    sl = _slope_label(slopes, q, axis_of[dim], ref, smp)
                    if sl:
                        slope_lines.append(f"{SHORT[q]} {smp}: {sl}")
            bx.axhline(1.0, gid="closed_form", **cf_kw)
            # "MC mean / Theorem 2 (eq. 26)" on two lines (three with the sampler's label)
            ratio_label = RATIO_LABEL_BLOCKED if blocked else RATIO_LABEL
            bx.set_ylabel((f"{smp}:\n" if n > 1 else "") + ratio_label.replace(" (eq. 26", "\n(eq. 26"),
                          fontsize=8)
        line, = ax.plot(st["x"], closed, marker=cf["marker"], ms=cf["ms"], mew=1.3, gid="closed_form",
                        **cf_kw)
        handles[cf["label"]] = line
        if dim in axis_of:
            sl = _slope_label(slopes, "closed_form", axis_of[dim], ref)
            if sl:
                slope_lines.append(f"{SHORT['closed_form']}: {sl}")
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        for bx in bxs:
            bx.set_xticks(st["x"], [_tick(dim, v) for v in st["x"]])
            bx.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            bx.margins(y=0.2)
            y = np.concatenate([ln.get_ydata() for ln in bx.get_lines()])
            if np.nanmax(y) > RATIO_LOG_ABOVE * np.nanmin(y[y > 0]):
                # a ratio spanning a factor 3 or more (the paper's window at gamma near 2)
                bx.set_yscale("log")
                bx.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
                bx.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
                bx.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        for a in [ax, *bxs[:-1]]:
            a.tick_params(labelbottom=False)
        bxs[-1].set_xlabel(xlabel)
        ax.set_ylabel(r"mean squared position error [m$^2$]")
        ax.set_title(f"against {SYMBOL[dim]}  ({_fixed_text(dim, ref)})", fontsize=9.5)
        for a in (ax, *bxs):
            a.grid(True, which="both", alpha=0.3)
        if slope_lines:
            # log-log slopes (95% CI) in the empty corner: curves fall left to right here
            ax.text(0.98, 0.98, f"slope {theory_txt[dim]} [95% CI]:\n" + "\n".join(slope_lines),
                    transform=ax.transAxes, ha="right", va="top", fontsize=7, family="monospace",
                    bbox=dict(boxstyle="round", fc="white", ec="0.7", alpha=0.9))
    band = "shaded: 95% confidence band of the MC mean (ratio panels: its widest, \u00b1%)"
    if not all(mean_finite(ds).get(smp, True) for smp in labels):
        band = band.replace("MC mean", "MC mean (of eq. 18 under blockage: its median)")
    handles[band] = Patch(fc="0.5", alpha=0.3, ec="0.5", lw=0.5)
    # two columns fit the figure's width up to ~90 characters a label (the paper's samplers);
    # longer ones (link models, blockage) get one column rather than run off both edges
    ncol = 2 if max(map(len, handles)) <= LEGEND_TWO_COLUMNS_MAX else 1
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=ncol, fontsize=8.5)
    if title:
        fig.suptitle(title)
    for p in (path_png, path_pdf):
        if p:
            fig.savefig(p, dpi=130)
    pyplot.close(fig)
    return fig
