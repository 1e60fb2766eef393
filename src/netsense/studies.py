"""Studies on a cube beyond the slope fits: how tight Theorem 2 is, the finite-window gap, and
Section II-C (single-antenna against MIMO networks).

Every number is a ratio of a Monte Carlo mean over trials to a closed form at the plot's
reference (M, rho_s): the scale c^2 / (M_t M_r eta) is common to both, so these ratios depend on
(sampler, lam, gamma) only. Intervals are 95% normal intervals from the standard error of the
mean; a ratio of two independent means (Section II-C, whose two networks have their own
realizations) gets the delta-method variance r^2 (se_1^2/m_1^2 + se_2^2/m_2^2).
"""

from __future__ import annotations

import math

import numpy as np

from .closed_form import compare_mimo_single
from .mc import Z95

QUANTITIES = {"crlb": "crlb_m2", "jensen": "jensen_m2"}
LABEL = {"crlb": "E[eq. (18)] / Theorem 2", "jensen": "E[eq. (23)] / Theorem 2"}


def parse_sampler(label: str) -> tuple[str, float]:
    """``plane-K64`` -> ("plane", 64.0); ``disk-R500-codebook`` -> ("disk", 500.0)."""
    parts = label.split("-")
    return parts[0], float(parts[1][1:])


def beam_of(label: str) -> str:
    """Beam model of a sampler label: the suffix after K/R, else ``full``."""
    parts = label.split("-")
    return parts[2] if len(parts) > 2 else "full"


def mean_ci(x: np.ndarray) -> tuple[float, float, int]:
    """Mean, standard error and count of the finite values of a 1-d sample."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return math.nan, math.nan, n
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)), n


def _point(ds, ref: dict, **over):
    sel = {k: ref[k] for k in ("M", "rho_s_db", "lam", "gamma")}
    sel.update(over)
    return ds.sel(sel)


def ratio_rows(ds, ref: dict) -> list[dict]:
    """E[eq. 18] / Theorem 2 and E[eq. 23] / Theorem 2 for every (sampler, lam, gamma) at the
    reference (M, rho_s), with 95% intervals."""
    rows = []
    for smp in [str(s) for s in ds["sampler"].values]:
        kind, param = parse_sampler(smp)
        for lam in ds["lam"].values:
            for g in ds["gamma"].values:
                pt = _point(ds, ref, sampler=smp, lam=lam, gamma=g)
                closed = float(pt["closed_form_m2"])
                row = {"sampler": smp, "kind": kind, "K": param if kind == "plane" else "",
                       "R_m": param if kind == "disk" else "", "lam": float(lam),
                       "gamma": float(g), "M": int(ref["M"]), "rho_s_db": float(ref["rho_s_db"]),
                       "closed_form_m2": closed}
                for q, v in QUANTITIES.items():
                    m, se, n = mean_ci(pt[v].values)
                    row[f"{q}_mean_m2"] = m
                    row[f"{q}_ratio"] = m / closed
                    row[f"{q}_ratio_se"] = se / closed
                    row[f"{q}_ratio_ci_low"] = (m - Z95 * se) / closed
                    row[f"{q}_ratio_ci_high"] = (m + Z95 * se) / closed
                    row["trials"] = n
                rows.append(row)
    return rows


def sec2c_rows(ds, ref: dict) -> list[dict]:
    """Section II-C: the MIMO network (M antennas, density lam) against the single-antenna one
    at density M lam (eq. 29), per sampler and gamma, at the reference lam and rho_s.

    ``ratio`` is E[MIMO] / E[single] from Monte Carlo; ``closed_ratio`` is eq. (26) / eq. (28),
    (M_t M_r)^(gamma/2 - 1) = M^(gamma - 2); eq. (30) says the single-antenna network is better
    (ratio > 1) for gamma > 2.
    """
    lam0 = float(ref["lam"])
    lams = np.asarray(ds["lam"].values, float)
    rows = []
    for smp in [str(s) for s in ds["sampler"].values]:
        for g in ds["gamma"].values:
            for M in ds["M"].values:
                hit = np.flatnonzero(np.isclose(lams, M * lam0, rtol=1e-9, atol=0.0))
                if M < 1 or not hit.size or 1 not in ds["M"].values:
                    continue
                mimo = _point(ds, ref, sampler=smp, M=M, lam=lam0, gamma=g)
                single = _point(ds, ref, sampler=smp, M=1, lam=lams[hit[0]], gamma=g)
                cmp = compare_mimo_single(M_t=int(M), M_r=int(M), rho_s_db=float(ref["rho_s_db"]),
                                          lam_t=lam0, lam_r=lam0, gamma=float(g)) if g > 2 else None
                row = {"sampler": smp, "gamma": float(g), "M": int(M), "lam": lam0,
                       "lam_single": float(lams[hit[0]]), "rho_s_db": float(ref["rho_s_db"]),
                       "closed_mimo_m2": float(cmp["mimo_m2"]) if cmp else math.nan,
                       "closed_single_m2": float(cmp["single_m2"]) if cmp else math.nan,
                       "closed_ratio": float(cmp["ratio_mimo_over_single"]) if cmp else math.nan,
                       "eq30_holds": bool(cmp["eq30_holds"]) if cmp else ""}
                for q, v in QUANTITIES.items():
                    m1, s1, _ = mean_ci(mimo[v].values)
                    m2, s2, _ = mean_ci(single[v].values)
                    r = m1 / m2
                    # independent realizations (different lam): delta method for a ratio
                    se = 0.0 if M == 1 else r * math.sqrt((s1 / m1) ** 2 + (s2 / m2) ** 2)
                    row.update({f"{q}_mimo_m2": m1, f"{q}_mimo_se": s1, f"{q}_single_m2": m2,
                                f"{q}_single_se": s2, f"{q}_ratio": r, f"{q}_ratio_ci_low": r - Z95 * se,
                                f"{q}_ratio_ci_high": r + Z95 * se})
                row["mc_single_better"] = bool(row["crlb_ratio_ci_low"] > 1.0)
                rows.append(row)
    return rows


def write_rows(rows: list[dict], csv_path=None, json_path=None) -> None:
    import csv
    import json

    if csv_path:
        cols = list(rows[0]) if rows else []
        with open(csv_path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    if json_path:
        with open(json_path, "w") as fh:
            json.dump(rows, fh, indent=1)


# ---------------------------------------------------------------------------------------------
# Figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _band(ax, x, rows, q, **kw):
    y = np.array([r[f"{q}_ratio"] for r in rows])
    lo = np.array([r[f"{q}_ratio_ci_low"] for r in rows])
    hi = np.array([r[f"{q}_ratio_ci_high"] for r in rows])
    line, = ax.plot(x, y, **kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    return line


def _plain_ticks(ax, values):
    import matplotlib.ticker

    v = sorted(set(float(x) for x in values))
    ax.set_xticks(v, [f"{x:g}" for x in v])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


RATIO_TICKS = (0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _ratio_yticks(ax):
    """Readable ratio ticks on a log y axis (the default shows only decades)."""
    import matplotlib.ticker

    lo, hi = ax.get_ylim()
    ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
    if len(ticks) >= 2:
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


GAMMA_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
                "tab:pink", "tab:gray")


def tightness_figure(rows: list[dict], ref: dict, path_png, title=""):
    """E[eq. 18] / Theorem 2 and E[eq. 23] / Theorem 2 against gamma, per sampler."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    lam0 = float(ref["lam"])
    samplers = list(dict.fromkeys(r["sampler"] for r in rows))
    styles = ("-", "--", ":", "-.")
    for si, smp in enumerate(samplers):
        sub = sorted((r for r in rows if r["sampler"] == smp and math.isclose(r["lam"], lam0)),
                     key=lambda r: r["gamma"])
        x = [r["gamma"] for r in sub]
        for q, color, mk in (("crlb", "tab:blue", "o"), ("jensen", "tab:green", "s")):
            _band(ax, x, sub, q, color=color, ls=styles[si % 4], marker=mk,
                  mfc=color if si == 0 else "white", label=f"{LABEL[q]}, {smp}")
    ax.axhline(1.0, color="tab:red", lw=2, label="Theorem 2 (eq. 26) = 1")
    ax.set_yscale("log")
    _ratio_yticks(ax)
    ax.set_xlabel(r"path-loss exponent $\gamma$")
    ax.set_ylabel("Monte Carlo mean / Theorem 2  [ratio, 1 = tight]")
    ax.set_title(title or f"How tight Theorem 2 is (lam = 1/{1 / lam0:.0f} m$^{{-2}}$; "
                 "bands: 95% CI)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path_png, dpi=130)
    plt.close(fig)


def gap_figure(rows: list[dict], ref: dict, path_png, title=""):
    """E[eq. 23] / Theorem 2 against the window radius R (disk) and against K (plane)."""
    plt = _plt()
    lam0 = float(ref["lam"])
    rows = [r for r in rows if math.isclose(r["lam"], lam0)]
    kinds = [k for k in ("disk", "plane") if any(r["kind"] == k for r in rows)]
    fig, axes = plt.subplots(1, max(1, len(kinds)), figsize=(6.2 * max(1, len(kinds)), 5),
                             constrained_layout=True, squeeze=False)
    gammas = sorted({r["gamma"] for r in rows})
    for ax, kind in zip(axes[0], kinds, strict=False):
        key = "R_m" if kind == "disk" else "K"
        for gi, g in enumerate(gammas):
            sub = sorted((r for r in rows if r["kind"] == kind and r["gamma"] == g),
                         key=lambda r: r[key])
            x = [r[key] for r in sub]
            c = GAMMA_COLORS[gi % len(GAMMA_COLORS)]
            _band(ax, x, sub, "jensen", color=c, marker="o", label=f"E[eq. (23)], gamma={g:g}")
            _band(ax, x, sub, "crlb", color=c, marker="^", ls="--", mfc="white",
                  label=f"E[eq. (18)], gamma={g:g}")
        ax.axhline(1.0, color="k", lw=1.2, label="Theorem 2 (no bias)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_ticks(ax, [r[key] for r in rows if r["kind"] == kind])
        _ratio_yticks(ax)
        if kind == "disk":
            ax.set_xlabel("window radius R [m]  (paper: R = 500 m, about 870 nodes per side)")
            ax.set_title(f"disk sampler: the paper's finite window (lam = 1/{1 / lam0:.0f} "
                         "m$^{-2}$)", fontsize=10)
        else:
            ax.set_xlabel("explicit nearest nodes per side K  [count]")
            ax.set_title("plane sampler: K nearest + far-field mean", fontsize=10)
        ax.set_ylabel("Monte Carlo mean / Theorem 2  [ratio]")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    if title:
        fig.suptitle(title)
    fig.savefig(path_png, dpi=130)
    plt.close(fig)


def sec2c_figure(rows: list[dict], path_png, title=""):
    """Left: error against M for the MIMO network (lam) and the single-antenna one (M lam).
    Right: their ratio, Monte Carlo against (M_t M_r)^(gamma/2 - 1) of eq. (26)/(28)."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.5, 5), constrained_layout=True)
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
            _band(a2, M, sub, "crlb", color=c, marker="o", ls="-" if si == 0 else "--",
                  label=f"MC E[eq. (18)] MIMO / single, {tag}")
            if si == 0:
                a2.plot(M, [r["closed_ratio"] for r in sub], color=c, lw=2.5, alpha=0.45,
                        label=f"closed form M^(gamma-2), gamma={g:g}")
    a2.axhline(1.0, color="k", lw=1, label="equal error (eq. 30 boundary, gamma = 2)")
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _plain_ticks(ax, [r["M"] for r in rows])
        ax.set_xlabel("antennas per node M = M_t = M_r  (single-antenna density M lam)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6.5)
    _ratio_yticks(a2)
    a1.set_ylabel(r"mean squared position error [m$^2$]")
    a1.set_title("Equal antennas on average (eq. 29): error", fontsize=10)
    a2.set_ylabel("error MIMO / error single-antenna  [ratio; > 1: single is better]")
    a2.set_title("Eq. (30): the single-antenna network wins for gamma > 2", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.savefig(path_png, dpi=130)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# One run's findings: the numbers the README quotes, with their intervals.

STUDY_FILES = {"tightness": ("tightness.png", "tightness.csv"), "gap": ("gap.png", "gap.csv"),
               "sec2c": ("sec2c.png", "sec2c.csv"), "beams": ("beams.png", "beams.csv")}


def findings(ds, ref: dict, slopes: list[dict], analyses) -> dict:
    """Headline numbers of a run (``findings.json``): ratios to Theorem 2 for every
    (sampler, lam, gamma) at the reference (M, rho_s); lam slopes of every sampler at the
    reference (M, rho_s); Section II-C rows when that analysis is on."""
    rows = ratio_rows(ds, ref)
    lam_slopes = [r for r in slopes if r["axis"] == "lam" and r["M"] == int(ref["M"])
                  and math.isclose(r["rho_s_db"], float(ref["rho_s_db"]))]
    out = {"reference": {k: (float(v) if k != "M" else int(v)) for k, v in ref.items()},
           "trials": int(ds.sizes["trial"]), "samplers": [str(s) for s in ds["sampler"].values],
           "ratios": rows, "lam_slopes": lam_slopes}
    if "sec2c" in analyses:
        out["sec2c"] = sec2c_rows(ds, ref)
    if "beams" in analyses:
        out["beams"] = beam_rows(ds, ref, slopes)
    return out


def run_studies(ds, ref: dict, slopes: list[dict], analyses, outdir, title: str = "") -> dict:
    """Write the tables and figures of ``analyses`` (besides fig1) and ``findings.json``."""
    import json
    from pathlib import Path

    outdir = Path(outdir)
    f = findings(ds, ref, slopes, analyses)
    rows = f["ratios"]
    written = []
    if "tightness" in analyses:
        png, csv = (outdir / n for n in STUDY_FILES["tightness"])
        tightness_figure(rows, ref, png)
        write_rows([r for r in rows if math.isclose(r["lam"], float(ref["lam"]))], csv)
        written += [png, csv]
    if "gap" in analyses:
        png, csv = (outdir / n for n in STUDY_FILES["gap"])
        gap_figure(rows, ref, png, title=title)
        write_rows([r for r in rows if math.isclose(r["lam"], float(ref["lam"]))], csv)
        written += [png, csv]
    if "sec2c" in analyses:
        png, csv = (outdir / n for n in STUDY_FILES["sec2c"])
        sec2c_figure(f["sec2c"], png, title=title)
        write_rows(f["sec2c"], csv)
        written += [png, csv]
    if "beams" in analyses:
        png, csv = (outdir / n for n in STUDY_FILES["beams"])
        beams_figure(f["beams"], ref, png, title=title)
        write_rows(f["beams"], csv)
        written += [png, csv]
    (outdir / "findings.json").write_text(json.dumps(f, indent=1))
    return {"written": [str(p) for p in [*written, outdir / "findings.json"]]}


# ---------------------------------------------------------------------------------------------
# Beamforming models (issue 9): mean CRLB against M per model, and the offset from full gain

DB = 10.0 / math.log(10.0)  # dB per neper of a power ratio


def eq23_penalty_db(model: str, M: int, gamma: float) -> float:
    """Exact penalty of a TX beam model on E[eq. 23] against full gain [dB].

    With i.i.d. TX marks x = g/M, A_t = sum x L is Lemma 3's sum at density lam E[x^delta],
    delta = 2/gamma (Laplace transform of eq. 32-35 averaged over the marks), so
    E[1/A_t] scales by E[x^delta]^(-gamma/2) (eq. 24 with lam -> lam E[x^delta]).
    """
    from .beam import gain_moment

    d = 2.0 / gamma
    return 10.0 * math.log10((gain_moment(model, M, d) / M**d) ** (-gamma / 2.0))


def beam_rows(ds, ref: dict, slopes: list[dict]) -> list[dict]:
    """Per beam model and M: mean eq. (18) and eq. (23) with 95% CIs, the offset from the
    full-gain model of the same sampler in dB (independent realizations: delta method on the
    log ratio), the exact eq. (23) penalty, and the fitted slope against log(M_t M_r)."""
    labels = [str(s) for s in ds["sampler"].values]
    rows = []
    for smp in labels:
        beam = beam_of(smp)
        base = smp if beam == "full" else smp[: -len(beam) - 1]
        slope = next((r for r in slopes if r["sampler"] == smp and r["quantity"] == "crlb"
                      and r["axis"] == "M" and math.isclose(r["gamma"], ref["gamma"])
                      and math.isclose(r["rho_s_db"], ref["rho_s_db"])
                      and math.isclose(r["lam"], ref["lam"], rel_tol=1e-9)), None)
        for M in ds["M"].values:
            pt = _point(ds, ref, sampler=smp, M=M)
            row = {"sampler": smp, "beam": beam, "M": int(M), "gamma": float(ref["gamma"]),
                   "lam": float(ref["lam"]), "rho_s_db": float(ref["rho_s_db"]),
                   "slope_M": slope["slope"] if slope else math.nan,
                   "slope_M_ci_low": slope["ci_low"] if slope else math.nan,
                   "slope_M_ci_high": slope["ci_high"] if slope else math.nan,
                   "eq23_penalty_exact_db": eq23_penalty_db(beam, int(M), float(ref["gamma"]))}
            ref_pt = _point(ds, ref, sampler=base, M=M) if base in labels else None
            for q, v in QUANTITIES.items():
                m, se, _ = mean_ci(pt[v].values)
                row[f"{q}_mean_m2"] = m
                row[f"{q}_ci_low"] = m - Z95 * se
                row[f"{q}_ci_high"] = m + Z95 * se
                if ref_pt is not None and beam != "full":
                    m0, se0, _ = mean_ci(ref_pt[v].values)
                    off = DB * math.log(m / m0)
                    h = Z95 * DB * math.sqrt((se / m) ** 2 + (se0 / m0) ** 2)
                    row[f"{q}_offset_db"] = off
                    row[f"{q}_offset_ci_low_db"] = off - h
                    row[f"{q}_offset_ci_high_db"] = off + h
                else:
                    row[f"{q}_offset_db"] = 0.0 if beam == "full" else math.nan
                    row[f"{q}_offset_ci_low_db"] = row[f"{q}_offset_ci_high_db"] = \
                        row[f"{q}_offset_db"]
            rows.append(row)
    return rows


BEAM_COLORS = {"full": "tab:blue", "codebook": "tab:red", "fixed": "tab:green"}
BEAM_NAMES = {"full": "full gain (Remark 1)", "codebook": "best of M DFT beams",
              "fixed": "fixed single element"}


def beams_figure(rows: list[dict], ref: dict, path_png, title=""):
    """Top: mean CRLB against M per beam model (95% bands). Bottom: offset from full gain [dB],
    measured (eq. 18 and eq. 23) and the exact eq. (23) penalty."""
    plt = _plt()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(7.5, 8.5), sharex=True, constrained_layout=True,
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
    _plain_ticks(bx, [r["M"] for r in rows])
    bx.legend(fontsize=7.5, loc="upper left")
    fig.savefig(path_png, dpi=130)
    plt.close(fig)
