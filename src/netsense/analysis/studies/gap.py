"""The finite-window gap: E[eq. 23] / Theorem 2 and E[eq. 18] / Theorem 2 against each
sampler's parameter (the window radius R of ``disk``, K of ``plane``), one panel per kind,
gamma by gamma, at the reference lam."""

from __future__ import annotations

import math

from ...core.samplers import SAMPLERS
from ..figures.common import GAMMA_COLORS, band, lam_text, plain_ticks, plt, ratio_yticks
from .common import Study


def figure(rows: list[dict], ref: dict, path_png, title=""):
    """One panel per sampler kind (in order of appearance): the ratios against the kind's
    parameter column (``TABLE_COLUMNS`` of its class), log-log, 95% bands."""
    pyplot = plt()
    lam0 = float(ref["lam"])
    rows = [r for r in rows if math.isclose(r["lam"], lam0)]
    kinds = [k for k in dict.fromkeys(r["kind"] for r in rows) if SAMPLERS[k].TABLE_COLUMNS]
    fig, axes = pyplot.subplots(1, max(1, len(kinds)), figsize=(6.2 * max(1, len(kinds)), 5),
                                constrained_layout=True, squeeze=False)
    gammas = sorted({r["gamma"] for r in rows})
    for ax, kind in zip(axes[0], kinds, strict=False):
        cls = SAMPLERS[kind]
        key, param = next(iter(cls.TABLE_COLUMNS.items()))
        for gi, g in enumerate(gammas):
            sub = sorted((r for r in rows if r["kind"] == kind and r["gamma"] == g),
                         key=lambda r: r[key])
            x = [r[key] for r in sub]
            c = GAMMA_COLORS[gi % len(GAMMA_COLORS)]
            band(ax, x, sub, "jensen", color=c, marker="o", label=f"E[eq. (23)], gamma={g:g}")
            band(ax, x, sub, "crlb", color=c, marker="^", ls="--", mfc="white",
                 label=f"E[eq. (18)], gamma={g:g}")
        ax.axhline(1.0, color="k", lw=1.2, label="Theorem 2 (no bias)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_ticks(ax, [r[key] for r in rows if r["kind"] == kind])
        ratio_yticks(ax)
        ax.set_xlabel(cls.AXIS_LABELS.get(param, param))
        ax.set_title(f"{kind} sampler: {cls.SUMMARY} (lam = {lam_text(lam0)} m$^{{-2}}$)",
                     fontsize=10)
        ax.set_ylabel("Monte Carlo mean / Theorem 2  [ratio]")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    if title:
        fig.suptitle(title)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


STUDY = Study("gap", ("gap.png", "gap.csv"), lambda inp: inp.ratios_at_reference_lam,
              figure, tied_only=True)
