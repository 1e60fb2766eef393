"""The tightness function c(gamma) = E[eq. 18] / Theorem 2 (:mod:`netsense.core.tightness`)."""

from __future__ import annotations

import numpy as np

from ...core.stats import Z95
from .common import plt


def figure(rows: list[dict], path_png, title: str = "") -> None:
    """Top: c(gamma) with its 95% band, and E[eq. 23] / Theorem 2 (1 exactly: the sampler
    check). Bottom: each value's relative 95% half-width against the target."""
    from ...core.tightness import target_halfwidth

    rows = sorted(rows, key=lambda r: r["gamma"])
    g = np.array([r["gamma"] for r in rows])
    c = np.array([r["c"] for r in rows])
    lo = np.array([r["c_ci95_low"] for r in rows])
    hi = np.array([r["c_ci95_high"] for r in rows])
    pyplot = plt()
    fig, (ax, bx) = pyplot.subplots(2, 1, figsize=(7.5, 7.5), sharex=True,
                                    constrained_layout=True,
                                    gridspec_kw={"height_ratios": [2.0, 1.0]})
    ax.plot(g, c, "o-", ms=3, color="tab:blue",
            label=r"$c(\gamma)$ = E[eq. (18)] / Theorem 2 (control variate;" "\n"
                  "its 95% band is narrower than the line: bottom panel)")
    ax.fill_between(g, lo, hi, color="tab:blue", alpha=0.3, lw=0)
    j = np.array([r["eq23_ratio"] for r in rows])
    js = np.array([r["eq23_ratio_se"] for r in rows])
    ax.errorbar(g, j, yerr=Z95 * js, fmt="s", ms=2.5, color="tab:green", lw=0.8,
                label="E[eq. (23)] / Theorem 2 (plain Monte Carlo, 95%): 1 exactly")
    ax.axhline(1.0, color="tab:red", lw=1.2, label="Theorem 2 (eq. 26)")
    ax.set_ylabel("ratio to Theorem 2  [1]")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8.5, loc="lower right", bbox_to_anchor=(1.0, 0.2))
    rel = (hi - lo) / 2 / c
    bx.semilogy(g, rel, "o", ms=3, color="tab:blue", label="relative 95% half-width of c")
    bx.semilogy(g, [target_halfwidth(x) for x in g], "k--", lw=1, label="target")
    bx.set_xlabel(r"path-loss exponent $\gamma$  [1]")
    bx.set_ylabel("half-width / c  [1]")
    bx.grid(True, which="both", alpha=0.3)
    bx.legend(fontsize=8.5)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


def ratio_map(rows: list[dict], path_png) -> None:
    """The asymmetric map, one row of panels per sampler: left, E[eq. 18] / Theorem 2 over
    (lam_t / lam_r, gamma) as a heat map with each cell's value; right, its relative change
    from lam_t = lam_r against the ratio, with 95% bars."""
    samplers = list(dict.fromkeys(r["sampler"] for r in rows))
    pyplot = plt()
    fig, axes = pyplot.subplots(len(samplers), 2, figsize=(12.5, 4.6 * len(samplers)),
                                constrained_layout=True, squeeze=False,
                                gridspec_kw={"width_ratios": [1.0, 1.15]})
    for (ax, bx), lab in zip(axes, samplers, strict=True):
        sub = [r for r in rows if r["sampler"] == lab]
        ratios = sorted({r["ratio"] for r in sub})
        gammas = sorted({r["gamma"] for r in sub})
        at = {(r["ratio"], r["gamma"]): r for r in sub}
        c = np.array([[at[(q, g)]["c"] for q in ratios] for g in gammas])
        im = ax.imshow(c, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(ratios)), [f"{q:g}" for q in ratios])
        ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas])
        for i in range(len(gammas)):
            for k in range(len(ratios)):
                ax.text(k, i, f"{c[i, k]:.4f}", ha="center", va="center", fontsize=8,
                        color="white" if c[i, k] < c.mean() else "black")
        ax.set_xlabel(r"density ratio $\lambda_t / \lambda_r$  [1]  (the same for its inverse)")
        ax.set_ylabel(r"path-loss exponent $\gamma$  [1]")
        ax.set_title(f"E[eq. (18)] / Theorem 2, sampler {lab}", fontsize=10)
        fig.colorbar(im, ax=ax, label="ratio to Theorem 2  [1]")
        for g in gammas:
            base = at[(ratios[0], g)]
            rel = np.array([at[(q, g)]["c"] / base["c"] - 1.0 for q in ratios])
            # independent runs per cell: the standard error of the change from both
            err = np.array([Z95 * np.hypot(at[(q, g)]["c_se"], base["c_se"] * at[(q, g)]["c"]
                                           / base["c"]) / base["c"] for q in ratios])
            err[0] = 0.0
            bx.errorbar(ratios, 100 * rel, yerr=100 * err, fmt="o-", ms=3, lw=1, capsize=2,
                        label=rf"$\gamma$ = {g:g}")
        bx.set_xscale("log", base=4)
        bx.set_xticks(ratios, [f"{q:g}" for q in ratios])
        bx.axhline(0.0, color="k", lw=0.8)
        bx.set_xlabel(r"density ratio $\lambda_t / \lambda_r$  [1]")
        bx.set_ylabel("change from $\\lambda_t = \\lambda_r$  [%]  (95% bars)")
        bx.set_title(f"sampler {lab}", fontsize=10)
        bx.grid(True, which="both", alpha=0.3)
        bx.legend(fontsize=8, ncol=2)
    fig.suptitle(r"netsense: the average CRLB against Theorem 2 when $\lambda_t \neq "
                 r"\lambda_r$ ($M_t = M_r$; $\lambda_t \lambda_r = (1/900)^2$ fixed)",
                 fontsize=11)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)
