"""Separate densities (and antenna counts): how far Theorem 2 is from the average CRLB when
lam_t != lam_r, and the paper's Section II-C read off the same cube.

Two views of a sweep with ``lam_t`` and ``lam_r`` (and, for the second, ``M_t`` and ``M_r``):

* ``ratio``: E[eq. 18] / Theorem 2 (eq. 26) at every (sampler, lam_t, lam_r, gamma), at the
  reference antennas and rho_s: the ratio rows of :mod:`.common`, with the density ratio
  lam_t / lam_r beside them. The figure maps it over (lam_t / lam_r, gamma); its
  lam_t / lam_r = 1 column is the tightness of the tied sweep.
* ``sec2c``: Section II-C of [1] without a special sweep: a MIMO network (M_t, M_r, lam_t,
  lam_r) against the single-antenna one at (M_t lam_t, M_r lam_r), wherever both are cells of
  the cube: E[eq. 18] of one over the other, and Theorem 2's ratio (M_t M_r)^(gamma/2 - 1)
  (eq. 26 over eq. 28; eq. 29). Cells with a common side density share that side's trials
  (:mod:`netsense.core.blocks`), so the interval of their ratio is the delta-method one on the
  trial-paired estimates (:func:`netsense.analysis.fits.slope_with_ci` of the two points),
  which accounts for the correlation.
"""

from __future__ import annotations

import math

import numpy as np

from ...core.closed_form import compare_mimo_single
from ...core.stats import cv_corrected
from ...errors import InputError
from ...pipeline.cube import entries
from ..estimates import CONTROLS
from ..figures.common import GAMMA_COLORS, lam_text, plt
from .common import QUANTITIES, Study, point

VIEW_COLUMNS = ("view", "sampler", "kind", "M_t", "M_r", "rho_s_db", "lam_t", "lam_r",
                "lam_ratio", "gamma", "single_lam_t", "single_lam_r", "crlb_ratio",
                "crlb_ratio_ci_low", "crlb_ratio_ci_high", "jensen_ratio", "jensen_ratio_ci_low",
                "jensen_ratio_ci_high", "theory_ratio", "consistent", "trials")


def check(cfg) -> None:
    """Needs separate densities (sweep.lam_t and sweep.lam_r)."""
    if not cfg.separate_lam:
        raise InputError("analyses", "asymmetric", "needs separate densities: give sweep.lam_t "
                         "and sweep.lam_r instead of sweep.lam")


def _row(**kw) -> dict:
    return {c: kw.get(c, "") for c in VIEW_COLUMNS}


def _paired_ratio(a, b, var: str, control_a, control_b):
    """E[var at a] / E[var at b] with its 95% interval, from trial-paired estimates: the
    control-variate corrected trials where ``var`` has a control (as every reported mean)."""
    from ..fits import slope_with_ci

    ya, yb = a[var].values, b[var].values
    if var in CONTROLS:
        ya = cv_corrected(ya, a[CONTROLS[var]].values, np.asarray(control_a))
        yb = cv_corrected(yb, b[CONTROLS[var]].values, np.asarray(control_b))
    # log(mean_a / mean_b) is the slope of log(mean) on x = (1/2, -1/2)
    s, lo, hi, _ = slope_with_ci(np.array([0.5, -0.5]), X=np.vstack([ya, yb]))
    return math.exp(s), math.exp(lo), math.exp(hi)


def rows(inp) -> list[dict]:
    """The ``ratio`` rows, then the ``sec2c`` rows (module docstring)."""
    ds, ref = inp.ds, inp.ref
    out = []
    for r in inp.ratios:
        out.append(_row(view="ratio", sampler=r["sampler"], kind=r["kind"],
                        M_t=r.get("M_t", r.get("M")), M_r=r.get("M_r", r.get("M")),
                        rho_s_db=r["rho_s_db"], lam_t=r["lam_t"], lam_r=r["lam_r"],
                        lam_ratio=r["lam_t"] / r["lam_r"], gamma=r["gamma"],
                        **{f"{q}_ratio{s}": r[f"{q}_ratio{s}"] for q in QUANTITIES
                           for s in ("", "_ci_low", "_ci_high")}, trials=r["trials"]))
    if "M_t" not in ds.dims or 1 not in ds["M_t"].values or 1 not in ds["M_r"].values:
        return out
    lt, lr = (np.asarray(ds[d].values, float) for d in ("lam_t", "lam_r"))
    for e in entries(ds):
        for g in ds["gamma"].values:
            if not g > 2:
                continue
            for Mt in ds["M_t"].values:
                for Mr in ds["M_r"].values:
                    if Mt * Mr == 1:
                        continue
                    for lam_t in lt:
                        for lam_r in lr:
                            it = np.flatnonzero(np.isclose(lt, Mt * lam_t, rtol=1e-9, atol=0))
                            ir = np.flatnonzero(np.isclose(lr, Mr * lam_r, rtol=1e-9, atol=0))
                            if not (it.size and ir.size):
                                continue
                            sel = dict(sampler=e.label, gamma=g)
                            mimo = point(ds, ref, M_t=Mt, M_r=Mr, lam_t=lam_t, lam_r=lam_r, **sel)
                            single = point(ds, ref, M_t=1, M_r=1, lam_t=lt[it[0]],
                                           lam_r=lr[ir[0]], **sel)
                            mimo, single = mimo.load(), single.load()
                            cmp = compare_mimo_single(M_t=int(Mt), M_r=int(Mr),
                                                      rho_s_db=float(ref["rho_s_db"]),
                                                      lam_t=lam_t, lam_r=lam_r, gamma=float(g))
                            theory = float(cmp["ratio_mimo_over_single"])  # eq. (29)
                            ca = inp.control.sel(sampler=e.label, M_t=Mt, M_r=Mr,
                                                 rho_s_db=ref["rho_s_db"], lam_t=lam_t,
                                                 lam_r=lam_r, gamma=g).values
                            cb = inp.control.sel(sampler=e.label, M_t=1, M_r=1,
                                                 rho_s_db=ref["rho_s_db"], lam_t=lt[it[0]],
                                                 lam_r=lr[ir[0]], gamma=g).values
                            vals = {}
                            for q, v in QUANTITIES.items():
                                m, lo, hi = _paired_ratio(mimo, single, v, ca, cb)
                                vals.update({f"{q}_ratio": m, f"{q}_ratio_ci_low": lo,
                                             f"{q}_ratio_ci_high": hi})
                            out.append(_row(
                                view="sec2c", sampler=e.label, kind=e.kind, M_t=int(Mt),
                                M_r=int(Mr), rho_s_db=float(ref["rho_s_db"]),
                                lam_t=float(lam_t), lam_r=float(lam_r),
                                lam_ratio=float(lam_t / lam_r), gamma=float(g),
                                single_lam_t=float(lt[it[0]]), single_lam_r=float(lr[ir[0]]),
                                **vals, theory_ratio=theory,
                                consistent=bool(vals["crlb_ratio_ci_low"] <= theory
                                                <= vals["crlb_ratio_ci_high"]),
                                trials=int(ds.sizes["trial"])))
    return out


def _ratio_text(x: float) -> str:
    return f"{x:g}" if x >= 1 else f"1/{1 / x:.3g}"


def figure(rows: list[dict], ref: dict, path_png, title=""):
    """A heat map of E[eq. 18] / Theorem 2 over (lam_t / lam_r, gamma) per sampler (each cell:
    the ratio and the half-width of its 95% interval; where several density pairs have one
    ratio, the pair nearest the reference densities), and Section II-C's Monte Carlo ratios
    against eq. (29) with their 95% intervals."""
    import matplotlib.ticker

    pyplot = plt()
    ratio = [r for r in rows if r["view"] == "ratio"]
    sec2c = [r for r in rows if r["view"] == "sec2c"]
    labels = list(dict.fromkeys(r["sampler"] for r in ratio))
    n = len(labels) + (1 if sec2c else 0)
    fig, axes = pyplot.subplots(1, n, figsize=(5.4 * n, 4.6), constrained_layout=True,
                                squeeze=False)
    ref_mid = math.log(float(ref["lam_t"]) * float(ref["lam_r"]))
    for ax, label in zip(axes[0], labels, strict=False):
        sub = [r for r in ratio if r["sampler"] == label]
        xs = sorted({round(math.log(r["lam_ratio"]), 9) for r in sub})
        gs = sorted({r["gamma"] for r in sub})
        grid = np.full((len(gs), len(xs)), np.nan)
        half = np.full_like(grid, np.nan)
        for gi, g in enumerate(gs):
            for xi, x in enumerate(xs):
                cand = [r for r in sub if r["gamma"] == g
                        and round(math.log(r["lam_ratio"]), 9) == x]
                best = min(cand, key=lambda r: abs(math.log(r["lam_t"] * r["lam_r"]) - ref_mid))
                grid[gi, xi] = best["crlb_ratio"]
                half[gi, xi] = (best["crlb_ratio_ci_high"] - best["crlb_ratio_ci_low"]) / 2
        im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        for gi in range(len(gs)):
            for xi in range(len(xs)):
                ax.text(xi, gi, f"{grid[gi, xi]:.3f}\n±{half[gi, xi]:.3f}", ha="center",
                        va="center", fontsize=8,
                        color="white" if grid[gi, xi] < np.nanmean(grid) else "black")
        ax.set_xticks(range(len(xs)), [_ratio_text(math.exp(x)) for x in xs])
        ax.set_yticks(range(len(gs)), [f"{g:g}" for g in gs])
        ax.set_xlabel(r"density ratio $\lambda_t / \lambda_r$")
        ax.set_ylabel(r"path-loss exponent $\gamma$")
        ax.set_title(f"{label}: E[eq. (18)] / Theorem 2", fontsize=10)
        fig.colorbar(im, ax=ax, label="E[eq. (18)] / Theorem 2  [ratio]")
    if sec2c:
        ax = axes[0][-1]
        gs = sorted({r["gamma"] for r in sec2c})
        for gi, g in enumerate(gs):
            sub = [r for r in sec2c if r["gamma"] == g]
            x = np.array([r["theory_ratio"] for r in sub])
            y = np.array([r["crlb_ratio"] for r in sub])
            err = np.array([[r["crlb_ratio"] - r["crlb_ratio_ci_low"] for r in sub],
                            [r["crlb_ratio_ci_high"] - r["crlb_ratio"] for r in sub]])
            ax.errorbar(x, y, yerr=err, fmt="o", ms=4, capsize=2,
                        color=GAMMA_COLORS[gi % len(GAMMA_COLORS)], label=f"gamma = {g:g}")
        lim = [min(r["theory_ratio"] for r in sec2c) / 1.2, max(r["theory_ratio"]
                                                                for r in sec2c) * 1.2]
        ax.plot(lim, lim, color="k", lw=1, label="eq. (29): (M_t M_r)^(gamma/2 - 1)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({round(r["theory_ratio"], 6) for r in sec2c})
        for set_ticks, axis in ((ax.set_xticks, ax.xaxis), (ax.set_yticks, ax.yaxis)):
            set_ticks(ticks, [f"{t:.3g}" for t in ticks])
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("Theorem 2 MIMO / single antenna, eq. (29)  [ratio]")
        ax.set_ylabel("Monte Carlo E[eq. (18)] MIMO / single  [ratio]")
        ax.set_title("Section II-C: (M_t, M_r, lam_t, lam_r) against\n(1, 1, M_t lam_t, "
                     "M_r lam_r), 95% intervals", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title + chr(10) if title else ''}reference M_t = "
                 f"{ref.get('M_t', ref.get('M'))}, M_r = {ref.get('M_r', ref.get('M'))}, rho_s "
                 f"= {float(ref['rho_s_db']):g} dB; where several (lam_t, lam_r) share a ratio, "
                 f"the pair nearest ({lam_text(float(ref['lam_t']))}, "
                 f"{lam_text(float(ref['lam_r']))}) m^-2", fontsize=9)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


STUDY = Study("asymmetric", ("asymmetric.png", "asymmetric.csv"), rows, figure, check=check,
              findings_key="asymmetric", tied_only=False)
