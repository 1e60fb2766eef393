"""Further variance reduction for E[eq. 18], explored and measured (issue 15, item 2).

    python benchmarks/cv_explore.py [--trials N] [--reps R]

The product's estimator is eq. (23) as one control variate (:func:`netsense.core.stats.
cv_estimate`). Tried here, on the ``plane`` sampler (K = 64, lam = 1/900), against it:

* ``g23``: the product's control alone (2 / (A_t A_r), known mean 2 E[1/A]^2).
* ``3 controls``: g23, 1/A_t and 1/A_r together (each side's E[1/A] is known exactly), by
  least squares: the optimal linear combination of the three.
* ``strata``: post-stratification on the nearest node's arrival Gamma_1 of each side
  (Gamma_1 ~ Exp(1) exactly, so the strata's probabilities are known), 4 x 4 strata at the
  quartiles of Exp(1), with the g23 control fitted within each stratum.
* ``strata + 3``: the same with the three controls in each stratum.

Two measurements per estimator and gamma:

* ``asymptotic``: var(g18) / var(residual) from ``--trials`` trials (what n -> infinity gives);
* ``realized``: over ``--reps`` repetitions of 1 000 trials each, var(plain mean) / var(estimate)
  across repetitions, each estimate cross-fitted over 10 folds as the product does (the
  stratified ones fit one coefficient per stratum on the other folds and weight by the exact
  stratum probabilities).

Writes ``benchmarks/results/cv-explore.json`` and prints the table the README quotes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "cv-explore.json"
sys.path.insert(0, str(ROOT.parent / "src"))

from netsense.core.expectations import inv_sum_mean_plane_nearest  # noqa: E402
from netsense.core.fisher import LegStats, crlb_geometric, leg_stats  # noqa: E402
from netsense.core.samplers.plane import plane_nodes  # noqa: E402

SEED = 20261202
LAM = 1.0 / 900.0
K = 64
GAMMAS = (2.5, 4.0, 6.0)
REP_TRIALS = 1000
FOLDS = 10
# Quartiles of Exp(1): P(Gamma_1 <= q_j) = j/4, so every stratum of the 4 x 4 grid has
# probability exactly 1/16 (the two sides are independent).
EDGES = np.array([0.0, math.log(4 / 3), math.log(2.0), math.log(4.0), np.inf])
N_STRATA = (len(EDGES) - 1) ** 2
P_STRATUM = 1.0 / N_STRATA


def side(rng, gamma, n):
    """One side of the plane sampler (as ``plane_stats``) plus its Gamma_1."""
    r2, ux, uy = plane_nodes(rng, LAM, K, n)
    w = r2 ** (-0.5 * gamma)
    s = leg_stats(w, ux, uy)
    tail = 2.0 * math.pi * LAM * r2[:, -1] ** (1.0 - 0.5 * gamma) / (gamma - 2.0)
    s = LegStats(A=s.A + tail, txx=s.txx + 0.5 * tail, txy=s.txy, tyy=s.tyy + 0.5 * tail,
                 vx=s.vx, vy=s.vy)
    return s, r2[:, 0] * math.pi * LAM


def sample(rng, gamma, n):
    """y = g18, controls X (n, 3) = (g23, 1/A_t, 1/A_r), their means, and the stratum index."""
    tx, g1t = side(rng, gamma, n)
    rx, g1r = side(rng, gamma, n)
    y = crlb_geometric(tx, rx)
    e = inv_sum_mean_plane_nearest(LAM, gamma, K)
    X = np.column_stack([2.0 / (tx.A * rx.A), 1.0 / tx.A, 1.0 / rx.A])
    mu = np.array([2.0 * e * e, e, e])
    st = (np.searchsorted(EDGES, g1t, side="right") - 1) * 4 + np.searchsorted(
        EDGES, g1r, side="right") - 1
    return y, X, mu, st


def ols_resid(y, X):
    Xc = X - X.mean(axis=0)
    b, *_ = np.linalg.lstsq(Xc, y - y.mean(), rcond=None)
    return y - Xc @ b


def asymptotic(y, X, st):
    """var(y) / var(residual) of each estimator, from the whole sample."""
    v = y.var()
    out = {"g23": v / ols_resid(y, X[:, :1]).var(), "3 controls": v / ols_resid(y, X).var()}
    for name, cols in (("strata", slice(0, 1)), ("strata + 3", slice(0, 3))):
        within = sum(P_STRATUM * ols_resid(y[st == h], X[st == h, cols]).var()
                     for h in range(N_STRATA))
        out[name] = v / within
    return out


def cv_crossfit(y, X, mu, folds=FOLDS):
    """The product's cross-fitted CV estimate generalized to several controls."""
    k = np.arange(len(y)) * folds // len(y)
    z = np.empty_like(y)
    for f in range(folds):
        out = k != f
        Xo = X[out] - X[out].mean(axis=0)
        b, *_ = np.linalg.lstsq(Xo, y[out] - y[out].mean(), rcond=None)
        z[~out] = y[~out] - (X[~out] - mu) @ b
    return z.mean()


def strat_crossfit(y, X, mu_strata, st, folds=FOLDS):
    """Post-stratified estimate: sum_h P_h (mean_h(y) - b_h (mean_h(X) - E[X | h])), b_h
    cross-fitted within stratum h. E[X | h] is estimated from a long run (see ``main``)."""
    est = 0.0
    for h in range(N_STRATA):
        m = st == h
        if m.sum() < 2 * folds:
            return np.nan
        est += P_STRATUM * cv_crossfit(y[m], X[m], mu_strata[h], folds)
    return est


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=400_000)
    ap.add_argument("--reps", type=int, default=1000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(SEED)
    results = {"seed": SEED, "lam": LAM, "K": K, "trials": args.trials, "reps": args.reps,
               "rep_trials": REP_TRIALS, "gammas": {}}
    t0 = time.process_time()
    for gamma in GAMMAS:
        y, X, mu, st = sample(rng, gamma, args.trials)
        ok = np.isfinite(y)
        y, X, st = y[ok], X[ok], st[ok]
        asym = asymptotic(y, X, st)
        # E[X | stratum] is not known in closed form: a stratified estimator needs it, so it is
        # taken from this long run (an optimistic stand-in for an exact value).
        mu_strata = [X[st == h].mean(axis=0) for h in range(N_STRATA)]
        plain, cv1, cv3, s1, s3 = ([] for _ in range(5))
        for _ in range(args.reps):
            yr, Xr, _, sr = sample(rng, gamma, REP_TRIALS)
            okr = np.isfinite(yr)
            yr, Xr, sr = yr[okr], Xr[okr], sr[okr]
            plain.append(yr.mean())
            cv1.append(cv_crossfit(yr, Xr[:, :1], mu[:1]))
            cv3.append(cv_crossfit(yr, Xr, mu))
            s1.append(strat_crossfit(yr, Xr[:, :1], [m[:1] for m in mu_strata], sr))
            s3.append(strat_crossfit(yr, Xr, mu_strata, sr))
        vp = np.var(plain)
        realized = {name: float(vp / np.nanvar(v)) for name, v in
                    (("g23", cv1), ("3 controls", cv3), ("strata", s1), ("strata + 3", s3))}
        results["gammas"][str(gamma)] = {"asymptotic": {k: float(v) for k, v in asym.items()},
                                         "realized_1000": realized,
                                         "strata_failed": int(np.isnan(s3).sum())}
        print(f"gamma={gamma}: asymptotic " + ", ".join(f"{k} {v:.1f}" for k, v in asym.items()),
              flush=True)
        print(f"          realized (n={REP_TRIALS}) " +
              ", ".join(f"{k} {v:.1f}" for k, v in realized.items()), flush=True)
    results["cpu_s"] = round(time.process_time() - t0, 1)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print("| gamma | estimator | variance reduction, n -> inf | realized, n = 1 000 |")
    print("| --- | --- | --- | --- |")
    for g, r in results["gammas"].items():
        for name in r["asymptotic"]:
            print(f"| {g} | {name} | {r['asymptotic'][name]:.1f} | {r['realized_1000'][name]:.1f} |")
    print(f"written {OUT} ({results['cpu_s']} CPU-s)")


if __name__ == "__main__":
    main()
