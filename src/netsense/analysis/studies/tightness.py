"""How tight Theorem 2 is: E[eq. 18] / Theorem 2 and E[eq. 23] / Theorem 2 against gamma, per
sampler, at the reference lam (the Jensen and Cauchy-Schwarz steps of the paper's bound)."""

from __future__ import annotations

import math

from ..figures.common import band, lam_text, plt, ratio_yticks
from .common import LABEL, Study


def figure(rows: list[dict], ref: dict, path_png, title=""):
    """E[eq. 18] / Theorem 2 and E[eq. 23] / Theorem 2 against gamma, per sampler."""
    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(7.5, 5), constrained_layout=True)
    lam0 = float(ref["lam"])
    samplers = list(dict.fromkeys(r["sampler"] for r in rows))
    styles = ("-", "--", ":", "-.")
    for si, smp in enumerate(samplers):
        sub = sorted((r for r in rows if r["sampler"] == smp and math.isclose(r["lam"], lam0)),
                     key=lambda r: r["gamma"])
        x = [r["gamma"] for r in sub]
        for q, color, mk in (("crlb", "tab:blue", "o"), ("jensen", "tab:green", "s")):
            band(ax, x, sub, q, color=color, ls=styles[si % 4], marker=mk,
                 mfc=color if si == 0 else "white", label=f"{LABEL[q]}, {smp}")
    ax.axhline(1.0, color="tab:red", lw=2, label="Theorem 2 (eq. 26) = 1")
    ax.set_yscale("log")
    ratio_yticks(ax)
    ax.set_xlabel(r"path-loss exponent $\gamma$")
    ax.set_ylabel("Monte Carlo mean / Theorem 2  [ratio, 1 = tight]")
    ax.set_title(f"How tight Theorem 2 is (lam = {lam_text(lam0)} m$^{{-2}}$; bands: 95% CI)",
                 fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


STUDY = Study("tightness", ("tightness.png", "tightness.csv"), lambda inp: inp.ratios_at_reference_lam,
              figure, tied_only=True)
