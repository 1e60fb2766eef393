"""Figures: the paper's Fig. 1 layout (error vs M, rho_s, lam, gamma), every sampler overlaid."""

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
# Per sampler (in cube order): line style and marker fill, so that samplers stay apart in print.
SAMPLER_STYLE = ({"ls": "-", "mfc": None}, {"ls": "--", "mfc": "white"},
                 {"ls": ":", "mfc": "white"}, {"ls": "-.", "mfc": None})


def sampler_labels(ds) -> list[str]:
    return [str(v) for v in ds["sampler"].values]


def describe_sampler(label: str) -> str:
    """Legend text for a sampler coordinate value (``plane-K64``, ``disk-R500-codebook``)."""
    from .studies import beam_of, parse_sampler

    kind, param = parse_sampler(label)
    beam = "" if beam_of(label) == "full" else f", {beam_of(label)} beam"
    if kind == "plane":
        return f"plane, K={param:g} (unbiased){beam}"
    return f"disk R={param:g} m (paper's window){beam}"


def panel_stats(ds, dim: str, ref: dict, sampler: str | None = None) -> dict:
    """Mean and 95% CI half-width over trials along ``dim`` with the other axes at ``ref``."""
    sel = {d: v for d, v in ref.items() if d != dim}
    if sampler is not None:
        sel["sampler"] = sampler
    elif "sampler" in ds.dims:
        sel["sampler"] = ds["sampler"].values[0]
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


def _slope_label(rows, q, axis, ref, sampler=""):
    for r in rows:
        if r["quantity"] != q or r["axis"] != axis or r["gamma"] != ref["gamma"]:
            continue
        if r.get("sampler", "") != (sampler if q != "closed_form" else ""):
            continue
        fixed = {k: ref[k] for k in ("M", "rho_s_db", "lam") if r[k] != ""}
        if all(np.isclose(r[k], v) for k, v in fixed.items()):
            ci = "" if r["ci_high"] - r["ci_low"] < 1e-9 else \
                f" [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
            return f"{r['slope']:.3f}{ci}"
    return ""


SHORT = {"crlb": "eq.18", "jensen": "eq.23", "closed_form": "eq.26"}


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

    fig, axes = plt.subplots(2, 2, figsize=(11.5, 10), constrained_layout=True)
    axis_of = {"M": "M", "rho_s_db": "rho_s", "lam": "lam"}
    theory_txt = {"M": "vs log(M_t M_r), theory -1", "rho_s_db": "vs log rho_s, theory -1",
                  "lam": f"vs log(lam_t lam_r), theory -gamma/2 = {-ref['gamma'] / 2:g}"}
    labels = sampler_labels(ds)
    handles = {}
    for ax, (dim, xlabel, logx) in zip(axes.ravel(), PANELS, strict=True):
        if ds.sizes[dim] < 2:
            ax.text(0.5, 0.5, f"{dim}: single value {_tick(dim, ds[dim].values[0])}\n(not swept)",
                    ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel(xlabel)
            continue
        slope_lines = []
        for si, smp in enumerate(labels):
            st = panel_stats(ds, dim, ref, smp)
            sty = SAMPLER_STYLE[si % len(SAMPLER_STYLE)]
            for q in ("crlb", "jensen"):
                m, h = st[q]
                lab = STYLE[q]["label"] + (f", {describe_sampler(smp)}" if len(labels) > 1 else "")
                line, = ax.plot(st["x"], m, marker=STYLE[q]["marker"], ls=sty["ls"],
                                color=STYLE[q]["color"], mfc=sty["mfc"] or STYLE[q]["color"], ms=5,
                                lw=1.2)
                handles[lab] = line
                # 95% confidence band of the Monte Carlo mean
                ax.fill_between(st["x"], m - h, m + h, color=STYLE[q]["color"], alpha=0.18, lw=0)
                if dim in axis_of:
                    sl = _slope_label(slopes, q, axis_of[dim], ref, smp)
                    if sl:
                        slope_lines.append(f"{SHORT[q]} {smp}: {sl}")
        m, _ = st["closed_form"]
        line, = ax.plot(st["x"], m, "-", color=STYLE["closed_form"]["color"], lw=2)
        handles[STYLE["closed_form"]["label"]] = line
        if dim in axis_of:
            sl = _slope_label(slopes, "closed_form", axis_of[dim], ref)
            if sl:
                slope_lines.append(f"{SHORT['closed_form']}: {sl}")
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ax.set_xticks(st["x"], [_tick(dim, v) for v in st["x"]])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"mean squared position error [m$^2$]")
        fixed = ", ".join(f"{k}={_tick(k, ref[k])}" for k in ("M", "rho_s_db", "lam", "gamma")
                          if k != dim)
        ax.set_title(f"vs {dim}  ({fixed})", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
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
    plt.close(fig)
