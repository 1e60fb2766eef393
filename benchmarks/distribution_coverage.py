"""Coverage of the distribution metrics' 95% intervals (issue 30), measured over repetitions.

    python benchmarks/distribution_coverage.py [--quick] [--workers 2]

Every interval netsense prints for a distribution metric, against a reference truth:

* quantiles of eq. (18) and eq. (23) (order statistics, ``netsense.core.distribution``) and
  coverage fractions (Clopper-Pearson), plane K = 64, lam = 1/900, gamma 2.5 and 4, 1 000 and
  10 000 trials. Repetition r is block r of seed SEED with ``block_trials`` = n (what
  ``netsense mc --trials n --block-trials n`` samples); the truth is the same sampler's law
  from REF_TRIALS trials of another seed (its error is 1/20 of the 10 000-trial intervals').
  The coverage thresholds are the reference's quantiles (true coverage p).
* the design density (``netsense design``): the paper's question (1 m at 95% of positions,
  gamma 2.5, M 4, 100 dB) by the scaling law, ``design_density(seed=r)`` per repetition,
  against the reference quantile carried by the same law; and a 20 m guard zone (gamma 3,
  1 m at 90%, 110 dB) by the search, against a search with DESIGN_REF_TRIALS trials a step.
* lam-slopes of the 0.9-quantile of eq. (18) over lam = 1/1800, 1/900, 1/450 (truth -gamma/2
  against log(lam_t lam_r), exactly on the plane).

And two measurements behind choices: the plane sampler's law of eq. (23) at K = 64 against the
exact whole-plane law (``netsense.core.jensen_law``), and the indicator of eq. (23) as a control
variate for the coverage of eq. (18) (its variance reduction, its shift on the K = 64 sampler,
and its interval's coverage), which decides whether netsense uses it.

Writes ``benchmarks/results/distribution-coverage.json`` and prints the tables of
docs/guide/coverage.md. Sample pools are cached in ``benchmarks/results/coverage-cache/``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "distribution-coverage.json"
CACHE = ROOT / "results" / "coverage-cache"
SEED = 20261230
REF_SEED = SEED + 1
LAM = 1.0 / 900.0
K = 64
GAMMAS = (2.5, 4.0)
NS = (1000, 10_000)
REPS = {1000: 1000, 10_000: 400}
REF_TRIALS = 4_000_000
REF_BLOCK = 100_000
QS = (0.5, 0.9, 0.95)
PS = (0.5, 0.9, 0.95, 0.99)
SLOPE_LAMS = (LAM / 2, LAM, 2 * LAM)
SLOPE_NS = (1000, 3000)
SLOPE_REPS = 300
SLOPE_Q = 0.9
DESIGN = dict(rmse_m=1.0, coverage=0.95, gamma=2.5, M_t=4, M_r=4, rho_s_db=100.0)
DESIGN_REPS = {1000: 1000, 10_000: 300}
GUARD = dict(rmse_m=1.0, coverage=0.9, gamma=3.0, M_t=4, M_r=4, rho_s_db=110.0)
GUARD_M = 20.0
GUARD_N = 10_000
GUARD_REPS = 150
DESIGN_REF_TRIALS = 2_000_000


def binom_sd(reps, p=0.95):
    return math.sqrt(p * (1 - p) / reps)


def _pool(task):
    """Blocks [0, blocks) of (lam, gamma, n, seed): g18 and g23, shape (blocks, n)."""
    lam, gamma, n, blocks, seed = task
    path = CACHE / f"dist-plane{K}-lam{lam:.12g}-g{gamma:g}-n{n}-b{blocks}-s{seed}.npz"
    if path.exists():
        return str(path), 0.0
    from netsense.core.blocks import simulate_block
    from netsense.core.samplers import PlaneSampler

    t = time.process_time()
    g18, g23 = np.empty((blocks, n)), np.empty((blocks, n))
    for b in range(blocks):
        out = simulate_block(seed, PlaneSampler(K), lam, gamma, b, n)
        g18[b], g23[b] = out["g18"], out["g23"]
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, g18=g18, g23=g23)
    os.replace(tmp, path)
    return str(path), time.process_time() - t


def load(task):
    d = np.load(_pool(task)[0])
    return d["g18"], d["g23"]


def pool_tasks(quick):
    f = 10 if quick else 1
    out = []
    for g in GAMMAS:
        out += [(LAM, g, n, REPS[n] // f, SEED) for n in NS]
        out.append((LAM, g, REF_BLOCK, REF_TRIALS // REF_BLOCK // f, REF_SEED))
        out += [(lam, g, n, SLOPE_REPS // f, SEED) for lam in SLOPE_LAMS for n in SLOPE_NS]
    return out


def _design_reps(task):
    """design_density over seeds [start, stop) (the product's own code path)."""
    kind, n, start, stop = task
    from netsense.core.design import design_density
    from netsense.core.samplers import PlaneSampler

    t = time.process_time()
    if kind == "plane":
        kw, sampler = DESIGN, PlaneSampler(K)
    else:
        kw, sampler = GUARD, PlaneSampler(K, guard_m=GUARD_M)
    rows = []
    for seed in range(start, stop):
        o = design_density(**kw, sampler=sampler, trials=n, seed=seed)
        rows.append((o["lam"], *o["lam_ci95"], len(o["steps"])))
    return rows, time.process_time() - t


def _chunks(kind, n, reps, parts):
    edges = np.linspace(0, reps, parts + 1).astype(int)
    return [(kind, n, int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _target(kw):
    return {"rmse_m": kw["rmse_m"], "target_coverage": kw["coverage"], "gamma": kw["gamma"],
            "M": kw["M_t"], "rho_s_db": kw["rho_s_db"]}


def covered(lo, hi, truth):
    return (np.asarray(lo) <= truth) & (truth <= np.asarray(hi))


def main(argv=None):
    from netsense.core import distribution as dist
    from netsense.core.design import design_density
    from netsense.core.jensen_law import jensen_cdf
    from netsense.core.samplers import PlaneSampler
    from netsense.core.stats import cv_estimate
    from netsense.core.system import DEFAULT_SYSTEM, db_to_lin

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="a tenth of the repetitions (smoke)")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    f = 10 if a.quick else 1
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    todo = pool_tasks(a.quick)
    design_tasks = [c for n in NS for c in _chunks("plane", n, DESIGN_REPS[n] // f, 2 * a.workers)]
    design_tasks += _chunks("guard", GUARD_N, GUARD_REPS // f, 2 * a.workers)
    with ProcessPoolExecutor(a.workers) as ex:
        cpu = sum(c for _, c in ex.map(_pool, todo))
        design_out = list(ex.map(_design_reps, design_tasks))
        guard_ref = ex.submit(design_density, **GUARD, sampler=PlaneSampler(K, guard_m=GUARD_M),
                              trials=DESIGN_REF_TRIALS // f, seed=10**6).result()
    cpu += sum(c for _, c in design_out)
    res = {"plane_K": K, "lam": LAM, "seed": SEED, "ref_trials": REF_TRIALS // f,
           "quick": a.quick, "cells": [], "fractions": [], "slopes": [], "design": [],
           "k_bias": [], "cv": []}

    # ---- quantiles and coverage fractions ------------------------------------------------
    for g in GAMMAS:
        r18, r23 = load((LAM, g, REF_BLOCK, REF_TRIALS // REF_BLOCK // f, REF_SEED))
        ref = {"g18": r18.ravel(), "g23": r23.ravel()}
        for n in NS:
            y, x = load((LAM, g, n, REPS[n] // f, SEED))
            reps = y.shape[0]
            for var, pool in (("g18", y), ("g23", x)):
                e = dist.quantile_estimate(pool, QS, axis=-1)
                truth = np.quantile(ref[var], QS)
                for i, q in enumerate(QS):
                    res["cells"].append({
                        "gamma": g, "n": n, "reps": reps, "var": var, "q": q,
                        "coverage": float(covered(e.ci_low[i], e.ci_high[i], truth[i]).mean()),
                        "exact": float(dist.quantile_interval_coverage(n, q)),
                        "median_rel_halfwidth": float(np.median((e.ci_high[i] - e.ci_low[i])
                                                                / (2 * e.value[i])))})
                thresholds = np.quantile(ref[var], PS)
                c = dist.coverage_estimate(pool, thresholds, axis=-1)
                for i in range(len(PS)):
                    true_p = float(np.mean(ref[var] <= thresholds[i]))
                    res["fractions"].append({
                        "gamma": g, "n": n, "reps": reps, "var": var, "p": true_p,
                        "coverage": float(covered(c.ci_low[i], c.ci_high[i], true_p).mean()),
                        "exact": dist.proportion_interval_coverage(n, true_p)})

        # ---- the K = 64 law of eq. (23) against the whole plane's ----------------------
        t = np.quantile(ref["g23"], PS)
        exact = jensen_cdf(t, gamma=g, lam_t=LAM, lam_r=LAM)
        N = ref["g23"].size
        for pp, ti, ex_ in zip(PS, t, exact, strict=True):
            frac = float(np.mean(ref["g23"] <= ti))
            res["k_bias"].append({"gamma": g, "p": pp, "sampler_minus_exact": frac - float(ex_),
                                  "se": math.sqrt(frac * (1 - frac) / N), "trials": N})

        # ---- the indicator of eq. (23) as a control variate for eq. (18)'s coverage -------
        for pp in PS:
            t18 = float(np.quantile(ref["g18"], pp))
            t23 = float(np.quantile(ref["g23"], pp))  # the control at the same level: the
            mu = float(jensen_cdf(t23, gamma=g, lam_t=LAM, lam_r=LAM))  # ratio that pairs them
            ry, rx = (ref["g18"] <= t18).astype(float), (ref["g23"] <= t23).astype(float)
            big = cv_estimate(ry, rx, mu)
            truth = float(ry.mean())
            row = {"gamma": g, "p": pp, "vr_reference": float(big.variance_reduction),
                   "shift": float(big.mean - big.plain.mean),
                   "shift_se": math.sqrt(max(float(big.plain.sem) ** 2 - float(big.sem) ** 2,
                                             0.0)),
                   "control_mean_exact": mu, "control_mean_sampler": float(rx.mean())}
            for n in NS:
                y, x = load((LAM, g, n, REPS[n] // f, SEED))
                e = cv_estimate((y <= t18).astype(float), (x <= t23).astype(float), mu, axis=-1)
                row[f"vr_n{n}"] = float(np.var(e.plain.mean) / np.var(e.mean))
                row[f"cv_coverage_n{n}"] = float(covered(e.ci_low, e.ci_high, truth).mean())
                row[f"plain_coverage_n{n}"] = float(covered(*dist.proportion_interval(
                    (y <= t18).sum(axis=1), n), truth).mean())
            res["cv"].append(row)

        # ---- quantile lam-slopes -------------------------------------------------------
        x_fit = 2 * np.log(np.asarray(SLOPE_LAMS))  # log(lam_t lam_r), as the lam axis fits
        for n in SLOPE_NS:
            pools = [load((lam, g, n, SLOPE_REPS // f, SEED))[0] for lam in SLOPE_LAMS]
            hits, widths = 0, []
            for r in range(pools[0].shape[0]):
                _, lo, hi, _ = dist.quantile_slope(x_fit, np.stack([pl[r] for pl in pools]),
                                                   SLOPE_Q)
                hits += lo <= -g / 2 <= hi
                widths.append(hi - lo)
            res["slopes"].append({"gamma": g, "n_per_point": n, "q": SLOPE_Q,
                                  "reps": pools[0].shape[0], "coverage": hits / pools[0].shape[0],
                                  "median_width": float(np.median(widths))})

    # ---- design densities ----------------------------------------------------------------
    scale = float(DEFAULT_SYSTEM.error_scale_m2(4, 4, db_to_lin(DESIGN["rho_s_db"])))
    r18 = load((LAM, DESIGN["gamma"], REF_BLOCK, REF_TRIALS // REF_BLOCK // f, REF_SEED))[0]
    q_ref = float(np.quantile(r18, DESIGN["coverage"])) * scale
    lam_true = LAM * (q_ref / DESIGN["rmse_m"] ** 2) ** (1 / DESIGN["gamma"])
    i = 0
    for n in NS:
        k = len(_chunks("plane", n, DESIGN_REPS[n] // f, 2 * a.workers))
        rows = [r for out, _ in design_out[i:i + k] for r in out]
        i += k
        arr = np.asarray(rows)
        res["design"].append({"case": "plane, scaling law", **_target(DESIGN), "n": n,
                              "reps": len(rows),
                              "lam_true": lam_true,
                              "coverage": float(covered(arr[:, 1], arr[:, 2], lam_true).mean()),
                              "median_rel_halfwidth": float(np.median((arr[:, 2] - arr[:, 1])
                                                                      / (2 * arr[:, 0])))})
    rows = [r for out, _ in design_out[i:] for r in out]
    arr = np.asarray(rows)
    res["design"].append({"case": f"plane, guard {GUARD_M:g} m, search", **_target(GUARD),
                          "n": GUARD_N,
                          "reps": len(rows), "lam_true": guard_ref["lam"],
                          "lam_true_ci95": guard_ref["lam_ci95"],
                          "lam_true_trials": DESIGN_REF_TRIALS // f,
                          "coverage": float(covered(arr[:, 1], arr[:, 2],
                                                    guard_ref["lam"]).mean()),
                          "median_steps": float(np.median(arr[:, 3])),
                          "median_rel_halfwidth": float(np.median((arr[:, 2] - arr[:, 1])
                                                                  / (2 * arr[:, 0])))})
    res["wall_s"] = time.perf_counter() - t0
    res["cpu_s"] = cpu
    if not a.quick:
        OUT.write_text(json.dumps(res, indent=1) + "\n")
    print(tables(res))
    print(f"\n{res['wall_s']:.0f} s wall, {cpu:.0f} CPU-s in the workers", file=sys.stderr)


def tables(res) -> str:
    """The markdown tables of docs/guide/coverage.md from a distribution-coverage.json."""
    out = ["Quantile intervals (order statistics): coverage of the true quantile, and the exact "
           "binomial coverage the interval has for any continuous law.", "",
           "| gamma | trials | reps | variable | q | measured | exact | median half-width |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    name = {"g18": "eq. 18", "g23": "eq. 23"}
    for c in res["cells"]:
        out.append(f"| {c['gamma']:g} | {c['n']} | {c['reps']} | {name[c['var']]} | {c['q']:g} | "
                   f"{c['coverage']:.3f} | {c['exact']:.3f} | "
                   f"{100 * c['median_rel_halfwidth']:.2g}% |")
    out += ["", "Coverage fractions (Clopper-Pearson): coverage of the true fraction p.", "",
            "| gamma | trials | reps | variable | p | measured | exact |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for c in res["fractions"]:
        out.append(f"| {c['gamma']:g} | {c['n']} | {c['reps']} | {name[c['var']]} | "
                   f"{c['p']:.3f} | {c['coverage']:.3f} | {c['exact']:.3f} |")
    out += ["", f"lam-slopes of the {SLOPE_Q:g}-quantile of eq. 18 over lam = 1/1800, 1/900, 1/450 "
            "(truth -gamma/2 against log(lam_t lam_r)):", "",
            "| gamma | trials per point | reps | coverage | median width |",
            "| --- | --- | --- | --- | --- |"]
    for s in res["slopes"]:
        out.append(f"| {s['gamma']:g} | {s['n_per_point']} | {s['reps']} | {s['coverage']:.3f} | "
                   f"{s['median_width']:.3f} |")
    out += ["", "Design densities (`netsense design`): coverage of the true density.", "",
            "| case | R, P | trials | reps | true lam [1/m^2] | measured | median half-width |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for d in res["design"]:
        out.append(f"| {d['case']} (gamma {d['gamma']:g}, {d['rho_s_db']:g} dB) | "
                   f"{d['rmse_m']:g} m, {d['target_coverage']:g} | {d['n']} | {d['reps']} | "
                   f"1/{1 / d['lam_true']:.5g} | {d['coverage']:.3f} | "
                   f"{100 * d['median_rel_halfwidth']:.2g}% |")
    out += ["", f"The plane sampler (K = {res['plane_K']}) against the exact whole-plane law of "
            f"eq. 23 ({res['ref_trials']} trials): P_sampler - P_exact at the sampler's "
            "p-quantile.", "", "| gamma | p | difference | its standard error |",
            "| --- | --- | --- | --- |"]
    for b in res["k_bias"]:
        out.append(f"| {b['gamma']:g} | {b['p']:g} | {b['sampler_minus_exact']:+.1e} | "
                   f"{b['se']:.1e} |")
    out += ["", "The indicator of eq. 23 as a control variate for eq. 18's coverage: variance "
            "reduction (n -> infinity on the reference / realized), the shift it makes on the "
            "K = 64 sampler (control mean exact for the whole plane), and its interval's "
            "coverage of the sampler's truth beside the plain Clopper-Pearson one.", "",
            "| gamma | p | VR ref | VR 1 000 | VR 10 000 | shift (se) | CV cov. 1 000 | "
            "CV cov. 10 000 | plain cov. 10 000 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in res["cv"]:
        out.append(f"| {c['gamma']:g} | {c['p']:g} | {c['vr_reference']:.1f} | "
                   f"{c['vr_n1000']:.1f} | {c['vr_n10000']:.1f} | {c['shift']:+.1e} "
                   f"({c['shift_se']:.0e}) | {c['cv_coverage_n1000']:.3f} | "
                   f"{c['cv_coverage_n10000']:.3f} | {c['plain_coverage_n10000']:.3f} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
