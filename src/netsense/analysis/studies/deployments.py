"""Real deployments against the Poisson bound: the mean CRLB (eq. 18) and E[eq. 23]
of each deployment (Matérn II hard-core, Thomas cluster, perturbed hexagonal lattice, guard
zones) as a ratio to the PPP's at the same density and gamma, in dB with 95% intervals, against
each kind's regularity parameter (the first of its ``TABLE_COLUMNS``) and against the guard
radius. The PPP is the unguarded ``plane`` entry; the entries have independent realizations, so
a ratio's interval is the delta method on the log ratio."""

from __future__ import annotations

import math

import numpy as np

from ...core.samplers import DEFAULT_KIND, SAMPLERS
from ...core.stats import Z95, log_ratio_se
from ...errors import InputError
from ...pipeline.cube import entries
from ..figures.common import GAMMA_COLORS, lam_text, plt
from .common import QUANTITIES, Study

DB = 10.0 / math.log(10.0)  # dB per neper of a power ratio


def _guard(spec: dict) -> float:
    return float(spec.get("guard_m", 0.0) or 0.0)


def _is_ppp(spec: dict, beam: str) -> bool:
    return spec.get("kind", DEFAULT_KIND) == DEFAULT_KIND and _guard(spec) == 0 and beam == "full"


def check(cfg) -> None:
    """Needs the PPP reference: an unguarded ``plane`` entry with beam full."""
    if not any(s.kind == DEFAULT_KIND and not getattr(s, "guard_m", 0) and b == "full"
               for s, b in zip(cfg.samplers, cfg.beams, strict=True)):
        raise InputError("analyses", "deployments", "needs the PPP reference: a sampler entry "
                         "{kind: plane} without guard_m and with beam full")


def rows(inp) -> list[dict]:
    """Per sampler entry and gamma at the reference lam: the ratio of E[eq. 18] (and E[eq. 23])
    to the PPP's in dB, with 95% intervals; the kind's regularity parameter and the guard."""
    ents = {e.label: e for e in entries(inp.ds)}
    ratio = inp.ratios_at_reference_lam
    ppp = next(e for e in ents.values() if _is_ppp(e.spec, e.beam))
    base = {r["gamma"]: r for r in ratio if r["sampler"] == ppp.label}
    out = []
    for r in ratio:
        e = ents[r["sampler"]]
        cols = SAMPLERS[e.kind].TABLE_COLUMNS
        param = next(iter(cols.values()), None)
        row = {"sampler": e.label, "kind": e.kind, "guard_m": _guard(e.spec),
               "parameter": param or "", "value": float(e.spec[param]) if param else math.nan,
               "lam": r["lam"], "gamma": r["gamma"], "M": r["M"], "rho_s_db": r["rho_s_db"]}
        b = base[r["gamma"]]
        for q in QUANTITIES:
            m, se, m0, se0 = r[f"{q}_ratio"], r[f"{q}_ratio_se"], b[f"{q}_ratio"], \
                b[f"{q}_ratio_se"]
            off = DB * math.log(m / m0)
            h = 0.0 if e.label == ppp.label else Z95 * DB * log_ratio_se(m, se, m0, se0)
            row[f"{q}_vs_ppp_db"] = off
            row[f"{q}_vs_ppp_ci_low_db"] = off - h
            row[f"{q}_vs_ppp_ci_high_db"] = off + h
            row[f"{q}_ratio_to_theorem2"] = m
        out.append(row)
    return out


def _errorbars(ax, sub, x, q, color, label, **kw):
    y = np.array([r[f"{q}_vs_ppp_db"] for r in sub])
    lo = y - np.array([r[f"{q}_vs_ppp_ci_low_db"] for r in sub])
    hi = np.array([r[f"{q}_vs_ppp_ci_high_db"] for r in sub]) - y
    ax.errorbar(x, y, yerr=[lo, hi], color=color, capsize=3, ms=4, label=label, **kw)


def figure(rows: list[dict], ref: dict, path_png, title=""):
    """One panel per regularity parameter (unguarded entries of each kind that has one), and one
    of the guard effect (guarded entries with their unguarded twin at g = 0): E[eq. 18] against
    the PPP's, dB, 95% error bars, one colour per gamma."""
    pyplot = plt()
    gammas = sorted({r["gamma"] for r in rows})
    kinds = [k for k in dict.fromkeys(r["kind"] for r in rows if r["guard_m"] == 0)
             if k != DEFAULT_KIND and SAMPLERS[k].TABLE_COLUMNS]
    guarded = [r for r in rows if r["guard_m"] > 0]
    n = len(kinds) + (1 if guarded else 0)
    fig, axes = pyplot.subplots(1, max(1, n), figsize=(5.0 * max(1, n), 4.6),
                                constrained_layout=True, squeeze=False)
    axes = list(axes[0])
    for ax, kind in zip(axes, kinds, strict=False):
        cls = SAMPLERS[kind]
        for gi, g in enumerate(gammas):
            sub = sorted((r for r in rows if r["kind"] == kind and r["guard_m"] == 0
                          and r["gamma"] == g), key=lambda r: r["value"])
            _errorbars(ax, sub, [r["value"] for r in sub], "crlb",
                       GAMMA_COLORS[gi % len(GAMMA_COLORS)], f"gamma = {g:g}", fmt="o-")
        param = sub[0]["parameter"] if sub else ""
        ax.set_xlabel(cls.AXIS_LABELS.get(param, param))
        ax.set_title(f"{kind}: {cls.SUMMARY}", fontsize=9)
    if guarded:
        ax = axes[len(kinds)]
        twins = {}
        for r in guarded:  # group by the entry without its guard
            twins.setdefault(r["sampler"].rsplit("-g", 1)[0], []).append(r)
        for ti, (stem, _) in enumerate(sorted(twins.items())):
            for gi, g in enumerate(gammas):
                sub = [r for r in rows if r["gamma"] == g and (
                    r["sampler"] == stem or (r["guard_m"] > 0
                                             and r["sampler"].rsplit("-g", 1)[0] == stem))]
                sub.sort(key=lambda r: r["guard_m"])
                _errorbars(ax, sub, [r["guard_m"] for r in sub], "crlb",
                           GAMMA_COLORS[gi % len(GAMMA_COLORS)],
                           f"{stem}, gamma = {g:g}", fmt=("o-", "s--", "^:")[ti % 3])
        ax.set_xlabel("guard radius g [m]  (no node closer to the target)")
        ax.set_title("guard zone", fontsize=9)
    for ax in axes:
        ax.axhline(0.0, color="k", lw=1.0)
        ax.set_ylabel("mean CRLB (eq. 18) against the PPP [dB]")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title or f"Deployments against the Poisson network at lam = "
                 f"{lam_text(float(ref['lam']))} m$^{{-2}}$ (M = {int(ref['M'])}, rho_s = "
                 f"{float(ref['rho_s_db']):g} dB); 95% intervals", fontsize=10)
    fig.savefig(path_png, dpi=130)
    pyplot.close(fig)


STUDY = Study("deployments", ("deployments.png", "deployments.csv"), rows, figure, check=check,
              findings_key="deployments", tied_only=True)
