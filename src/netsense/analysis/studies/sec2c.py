"""Section II-C of [1]: a MIMO network (M antennas per node, density lam) against a
single-antenna network at density M lam (equal antennas on average, eq. 29): Monte Carlo of
eq. (18) and the closed-form ratio (M_t M_r)^(gamma/2 - 1) of eq. (26)/(28); eq. (30) says the
single-antenna network is better for gamma > 2."""

from __future__ import annotations

import math

import numpy as np

from ...core.closed_form import compare_mimo_single
from ...core.stats import Z95, ratio_se
from ...errors import InputError
from ...pipeline.cube import entries
from ..estimates import estimate
from ..figures.common import GAMMA_COLORS, band, plain_ticks, plt, ratio_yticks
from .common import QUANTITIES, Study, point


def check(cfg) -> None:
    """Needs 1 in sweep.M and, for some M > 1 in sweep.M, M x plot.reference.lam in sweep.lam."""
    lam0 = cfg.reference["lam"]
    pairs = [m for m in cfg.M if m > 1 and any(
        math.isclose(m * lam0, x, rel_tol=1e-9) for x in cfg.lam)]
    if 1 not in cfg.M or not pairs:
        raise InputError("analyses", "sec2c", "needs 1 in sweep.M and, for some M > 1 in "
                         "sweep.M, M x plot.reference.lam in sweep.lam (the single-antenna "
                         f"network at M lam; reference lam is {lam0:.6g})")


def rows(inp) -> list[dict]:
    """Per sampler, gamma and M with M lam on the lam axis: E[MIMO] / E[single] from Monte
    Carlo (``<q>_ratio``, delta-method interval: the two networks have independent
    realizations) and eq. (26) / eq. (28) (``closed_ratio``), at the reference lam and rho_s."""
    ds, ref = inp.ds, inp.ref
    lam0 = float(ref["lam"])
    lams = np.asarray(ds["lam"].values, float)
    out = []
    for e in entries(ds):
        for g in ds["gamma"].values:
            for M in ds["M"].values:
                hit = np.flatnonzero(np.isclose(lams, M * lam0, rtol=1e-9, atol=0.0))
                if M < 1 or not hit.size or 1 not in ds["M"].values:
                    continue
                mimo = point(ds, ref, sampler=e.label, M=M, lam=lam0, gamma=g)
                single = point(ds, ref, sampler=e.label, M=1, lam=lams[hit[0]], gamma=g)
                cmp = compare_mimo_single(M_t=int(M), M_r=int(M), rho_s_db=float(ref["rho_s_db"]),
                                          lam_t=lam0, lam_r=lam0, gamma=float(g)) if g > 2 else None
                row = {"sampler": e.label, "gamma": float(g), "M": int(M), "lam": lam0,
                       "lam_single": float(lams[hit[0]]), "rho_s_db": float(ref["rho_s_db"]),
                       "closed_mimo_m2": float(cmp["mimo_m2"]) if cmp else math.nan,
                       "closed_single_m2": float(cmp["single_m2"]) if cmp else math.nan,
                       "closed_ratio": float(cmp["ratio_mimo_over_single"]) if cmp else math.nan,
                       "eq30_holds": bool(cmp["eq30_holds"]) if cmp else ""}
                for q, v in QUANTITIES.items():
                    a, b = estimate(mimo, v, inp.control), estimate(single, v, inp.control)
                    m1, s1, m2, s2 = float(a.mean), float(a.sem), float(b.mean), float(b.sem)
                    r = m1 / m2
                    se = 0.0 if M == 1 else ratio_se(m1, s1, m2, s2)  # M = 1: the same point
                    row.update({f"{q}_mimo_m2": m1, f"{q}_mimo_se": s1, f"{q}_single_m2": m2,
                                f"{q}_single_se": s2, f"{q}_ratio": r, f"{q}_ratio_ci_low": r - Z95 * se,
                                f"{q}_ratio_ci_high": r + Z95 * se})
                row["mc_single_better"] = bool(row["crlb_ratio_ci_low"] > 1.0)
                out.append(row)
    return out


def figure(rows: list[dict], ref: dict, path_png, title=""):
    """Left: error against M for the MIMO network (lam) and the single-antenna one (M lam).
    Right: their ratio, Monte Carlo against (M_t M_r)^(gamma/2 - 1) of eq. (26)/(28)."""
    pyplot = plt()
    fig, (a1, a2) = pyplot.subplots(1, 2, figsize=(12.5, 5), constrained_layout=True)
    samplers = list(dict.fromkeys(r["sampler"] for r in rows))
    gammas = sorted({r["gamma"] for r in rows})
    for si, smp in enumerate(samplers):
        for gi, g in enumerate(gammas):
            sub = sorted((r for r in rows if r["sampler"] == smp and r["gamma"] == g),
                         key=lambda r: r["M"])
            if not sub:
                continue
            c = GAMMA_COLORS[gi % len(GAMMA_COLORS)]
            M = np.array([r["M"] for r in sub], float)
            tag = f"gamma={g:g}" + (f", {smp}" if len(samplers) > 1 else "")
            for key, mk, ls, name in (("mimo", "o", "-", "MIMO at lam"),
                                      ("single", "s", "--", "single-antenna at M lam")):
                y = np.array([r[f"crlb_{key}_m2"] for r in sub])
                h = Z95 * np.array([r[f"crlb_{key}_se"] for r in sub])
                a1.errorbar(M, y, yerr=h, color=c, marker=mk, ls=ls, capsize=3, ms=5,
                            mfc=c if key == "mimo" else "white",
                            label=f"MC eq. (18), {name}, {tag}")
            if si == 0:
                a1.plot(M, [r["closed_mimo_m2"] for r in sub], color=c, lw=0.8, ls=":",
                        label=f"eq. (26) MIMO / eq. (28) single (dotted), gamma={g:g}")
                a1.plot(M, [r["closed_single_m2"] for r in sub], color=c, lw=0.8, ls=":")
            band(a2, M, sub, "crlb", color=c, marker="o", ls="-" if si == 0 else "--",
                  label=f"MC E[eq. (18)] MIMO / single, {tag}")
            if si == 0:
                a2.plot(M, [r["closed_ratio"] for r in sub], color=c, lw=2.5, alpha=0.45,
                        label=f"closed form M^(gamma-2), gamma={g:g}")
    a2.axhline(1.0, color="k", lw=1, label="equal error (eq. 30 boundary, gamma = 2)")
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        plain_ticks(ax, [r["M"] for r in rows])
        ax.set_xlabel("antennas per node M = M_t = M_r  (single-antenna density M lam)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6.5)
    ratio_yticks(a2)
    a1.set_ylabel(r"mean squared position error [m$^2$]")
    a1.set_title("Equal antennas on average (eq. 29): error", fontsize=10)
    a2.set_ylabel("error MIMO / error single-antenna  [ratio; > 1: single is better]")
    a2.set_title("Eq. (30): the single-antenna network wins for gamma > 2", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


STUDY = Study("sec2c", ("sec2c.png", "sec2c.csv"), rows, figure, check=check,
              findings_key="sec2c", tied_only=True)
