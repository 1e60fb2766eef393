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
