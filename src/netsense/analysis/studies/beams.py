"""Beyond Remark 1 of [1]: TX beamforming that is not ideal. Per beam model and M, the mean
CRLB (eq. 18) with its interval, its offset in dB from the full-gain model of the same sampler
(independent realizations: delta method on the log ratio), the exact penalty on E[eq. 23], and
the fitted slope against log(M_t M_r)."""

from __future__ import annotations

import math

import numpy as np

from ...core.beam import gain_moment
from ...core.stats import Z95, log_ratio_se
from ...errors import InputError
from ...pipeline.cube import entries
from ..estimates import estimate
from ..figures.common import plain_ticks, plt
from .common import QUANTITIES, Study, point

DB = 10.0 / math.log(10.0)  # dB per neper of a power ratio


def check(cfg) -> None:
    """Needs a non-full beam entry, the same sampler with beam full, and >= 2 values of M."""
    pairs = list(zip(cfg.samplers, cfg.beams, strict=True))
    has_ref = any(b != "full" and (s, "full") in pairs for s, b in pairs)
    if not has_ref or len(cfg.M) < 2:
        raise InputError("analyses", "beams", "needs a sampler entry with beam codebook or "
                         "fixed, the same sampler with beam full, and at least 2 values in "
                         "sweep.M")


def eq23_penalty_db(model: str, M: int, gamma: float) -> float:
    """Exact penalty of a TX beam model on E[eq. 23] against full gain [dB].

    With i.i.d. TX marks x = g/M, A_t = sum x L is Lemma 3's sum at density lam E[x^delta],
    delta = 2/gamma (Laplace transform of eq. 32-35 averaged over the marks), so
    E[1/A_t] scales by E[x^delta]^(-gamma/2) (eq. 24 with lam -> lam E[x^delta]).
    """
    d = 2.0 / gamma
    return 10.0 * math.log10((gain_moment(model, M, d) / M**d) ** (-gamma / 2.0))


def rows(inp) -> list[dict]:
    """Per beam model and M: mean eq. (18) and eq. (23) with 95% CIs, the offset from the
    full-gain model of the same sampler in dB, the exact eq. (23) penalty, and the fitted slope
    against log(M_t M_r)."""
    ds, ref, slopes = inp.ds, inp.ref, inp.slopes
    ents = entries(ds)
    out = []
    for e in ents:
        beam = e.beam
        base = next((o for o in ents if o.beam == "full" and o.same_sampler(e)), None)
        slope = next((r for r in slopes if r["sampler"] == e.label and r["quantity"] == "crlb"
                      and r["axis"] == "M" and math.isclose(r["gamma"], ref["gamma"])
                      and math.isclose(r["rho_s_db"], ref["rho_s_db"])
                      and math.isclose(r["lam"], ref["lam"], rel_tol=1e-9)), None)
        for M in ds["M"].values:
            pt = point(ds, ref, sampler=e.label, M=M)
            row = {"sampler": e.label, "beam": beam, "M": int(M), "gamma": float(ref["gamma"]),
                   "lam": float(ref["lam"]), "rho_s_db": float(ref["rho_s_db"]),
                   "slope_M": slope["slope"] if slope else math.nan,
                   "slope_M_ci_low": slope["ci_low"] if slope else math.nan,
                   "slope_M_ci_high": slope["ci_high"] if slope else math.nan,
                   "eq23_penalty_exact_db": eq23_penalty_db(beam, int(M), float(ref["gamma"]))}
            ref_pt = point(ds, ref, sampler=base.label, M=M) if base is not None else None
            for q, v in QUANTITIES.items():
                est = estimate(pt, v, inp.control)
                m, se = float(est.mean), float(est.sem)
                row[f"{q}_mean_m2"] = m
                row[f"{q}_ci_low"] = float(est.ci_low)
                row[f"{q}_ci_high"] = float(est.ci_high)
                if ref_pt is not None and beam != "full":
                    r0 = estimate(ref_pt, v, inp.control)
                    m0, se0 = float(r0.mean), float(r0.sem)
                    off = DB * math.log(m / m0)
                    h = Z95 * DB * log_ratio_se(m, se, m0, se0)
                    row[f"{q}_offset_db"] = off
                    row[f"{q}_offset_ci_low_db"] = off - h
                    row[f"{q}_offset_ci_high_db"] = off + h
                else:
                    row[f"{q}_offset_db"] = 0.0 if beam == "full" else math.nan
                    row[f"{q}_offset_ci_low_db"] = row[f"{q}_offset_ci_high_db"] = \
                        row[f"{q}_offset_db"]
            out.append(row)
    return out


BEAM_COLORS = {"full": "tab:blue", "codebook": "tab:red", "fixed": "tab:green"}
BEAM_NAMES = {"full": "full gain (Remark 1)", "codebook": "best of M DFT beams",
              "fixed": "fixed single element"}


def figure(rows: list[dict], ref: dict, path_png, title=""):
    """Top: mean CRLB against M per beam model (95% bands). Bottom: offset from full gain [dB],
    measured (eq. 18 and eq. 23) and the exact eq. (23) penalty."""
    pyplot = plt()
    fig, (ax, bx) = pyplot.subplots(2, 1, figsize=(7.5, 8.5), sharex=True, constrained_layout=True,
                                 gridspec_kw={"height_ratios": [2.0, 1.3]})
    samplers = list(dict.fromkeys(r["sampler"] for r in rows))
    for smp in samplers:
        sub = sorted((r for r in rows if r["sampler"] == smp), key=lambda r: r["M"])
        beam = sub[0]["beam"]
        c = BEAM_COLORS.get(beam, "k")
        M = np.array([r["M"] for r in sub], float)
        m = np.array([r["crlb_mean_m2"] for r in sub])
        ax.fill_between(M, [r["crlb_ci_low"] for r in sub], [r["crlb_ci_high"] for r in sub],
                        color=c, alpha=0.25, lw=0)
        sl = sub[0]
        lab = f"{BEAM_NAMES.get(beam, beam)} ({smp}), slope {sl['slope_M']:+.3f}"
        if sl["slope_M_ci_high"] - sl["slope_M_ci_low"] > 1e-9:
            lab += f" [{sl['slope_M_ci_low']:+.3f}, {sl['slope_M_ci_high']:+.3f}]"
        ax.plot(M, m, "o-", color=c, ms=4, lw=1.5, label=lab)
        if beam == "fixed" and np.isfinite(sub[-1]["crlb_offset_db"]):
            # +10 log10 M dB: drawn on the bottom axis it would flatten the codebook curve
            bx.text(0.98, 0.42, f"fixed element (off this scale): +{sub[-1]['crlb_offset_db']:.2f} "
                    f"dB at M = {sub[-1]['M']} (exact: +{sub[-1]['eq23_penalty_exact_db']:.2f} dB "
                    "= 10 log10 M)", transform=bx.transAxes, ha="right", fontsize=7.5, color=c)
        elif beam != "full" and np.isfinite(sub[0]["crlb_offset_db"]):
            off = np.array([r["crlb_offset_db"] for r in sub])
            lo = off - np.array([r["crlb_offset_ci_low_db"] for r in sub])
            bx.errorbar(M, off, yerr=lo, fmt="o-", color=c, ms=4, capsize=3,
                        label=f"{beam}: measured, E[eq. (18)], 95% CI")
            bx.plot(M, [r["eq23_penalty_exact_db"] for r in sub], "x--", color=c, ms=7, lw=0.8,
                    label=f"{beam}: exact E[eq. (23)] penalty")
    bx.axhline(0.0, color=BEAM_COLORS["full"], lw=1.5, label="full gain (reference)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylabel(r"mean CRLB, eq. (18) [m$^2$]")
    ax.set_title(title or f"TX beamforming models (gamma = {ref['gamma']:g}, lam = "
                 f"1/{1 / ref['lam']:.0f} m$^{{-2}}$, rho_s = {ref['rho_s_db']:g} dB)",
                 fontsize=10)
    ax.text(0.02, 0.02, "slopes against log(M_t M_r); theory -1 with full gain", fontsize=8,
            transform=ax.transAxes, color="0.3")
    ax.legend(fontsize=8, loc="upper right")
    bx.set_ylabel("mean CRLB above full gain [dB]")
    bx.set_xlabel("antennas per node M = M_t = M_r")
    for a in (ax, bx):
        a.grid(True, which="both", alpha=0.3)
    plain_ticks(bx, [r["M"] for r in rows])
    bx.legend(fontsize=7.5, loc="upper left")
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


STUDY = Study("beams", ("beams.png", "beams.csv"), rows, figure, check=check,
              findings_key="beams", tied_only=True)
