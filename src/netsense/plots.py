"""Figures: the paper's Fig. 1 layout (error vs M, rho_s, lam, gamma)."""

from __future__ import annotations

import numpy as np

from .mc import Z95

PANELS = (("M", "antennas per node $M = M_t = M_r$", True),
          ("rho_s_db", r"normalized SNR $\rho_s$ [dB]", False),
          ("lam", r"density $\lambda = \lambda_t = \lambda_r$ [m$^{-2}$]", True),
          ("gamma", r"path-loss exponent $\gamma$", False))
STYLE = {"crlb": dict(marker="o", color="tab:blue", label="MC of eq. (18) (CRLB)"),
         "jensen": dict(marker="s", color="tab:green", label="MC of eq. (23)"),
         "closed_form": dict(marker="", color="tab:red", label="eq. (26) Theorem 2")}


def panel_stats(ds, dim: str, ref: dict) -> dict:
    """Mean and 95% CI half-width over trials along ``dim`` with the other axes at ``ref``."""
    sel = {d: v for d, v in ref.items() if d != dim}
    sub = ds.sel(sel)
    out = {"x": sub[dim].values}
    n = sub.sizes["trial"]
    for q, v in (("crlb", "crlb_m2"), ("jensen", "jensen_m2")):
        a = sub[v].values  # (dim, trial)
        m = a.mean(axis=1)
        se = a.std(axis=1, ddof=1) / np.sqrt(n)
        out[q] = (m, Z95 * se)
    out["closed_form"] = (sub["closed_form_m2"].values, None)
    return out


def _slope_label(rows, q, axis, ref):
    for r in rows:
        if r["quantity"] != q or r["axis"] != axis or r["gamma"] != ref["gamma"]:
            continue
        fixed = {k: ref[k] for k in ("M", "rho_s_db", "lam") if r[k] != ""}
        if all(np.isclose(r[k], v) for k, v in fixed.items()):
            return f", slope {r['slope']:.3f} (theory {r['theory']:.3g})"
    return ""


def _tick(dim, v):
    if dim == "lam":
        inv = 1.0 / v
        return f"1/{inv:.0f}" if abs(inv - round(inv)) < 1e-6 * inv else f"{v:.3g}"
    return f"{v:g}"


def fig1(ds, ref: dict, slopes=(), title: str = "", path_png=None, path_pdf=None):
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), constrained_layout=True)
    axis_of = {"M": "M", "rho_s_db": "rho_s", "lam": "lam"}
    for ax, (dim, xlabel, logx) in zip(axes.ravel(), PANELS, strict=True):
        if ds.sizes[dim] < 2:
            ax.text(0.5, 0.5, f"{dim}: single value {ds[dim].values[0]:g}\n(not swept)",
                    ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel(xlabel)
            continue
        st = panel_stats(ds, dim, ref)
        for q in ("crlb", "jensen", "closed_form"):
            m, h = st[q]
            lab = STYLE[q]["label"]
            if dim in axis_of:
                lab += _slope_label(slopes, q, axis_of[dim], ref)
            if h is None:
                ax.plot(st["x"], m, "-", color=STYLE[q]["color"], label=lab, lw=2)
            else:
                ax.errorbar(st["x"], m, yerr=h, fmt=STYLE[q]["marker"] + "--",
                            color=STYLE[q]["color"], label=lab, capsize=3, ms=5, lw=1)
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ax.set_xticks(st["x"], [_tick(dim, v) for v in st["x"]])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"mean squared position error [m$^2$]")
        fixed = ", ".join(f"{k}={ref[k]:.4g}" for k in ("M", "rho_s_db", "lam", "gamma")
                          if k != dim)
        ax.set_title(f"vs {dim}  ({fixed})", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7.5)
    if title:
        fig.suptitle(title)
    for p in (path_png, path_pdf):
        if p:
            fig.savefig(p, dpi=130)
    plt.close(fig)
