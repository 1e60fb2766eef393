"""Window bias of the windowed samplers (matern, thomas, lattice) against the window size.

    python benchmarks/window_bias.py [--trials N]

The windowed samplers (:mod:`netsense.core.samplers.window`) keep the nodes of a disk of radius R
(mean node count mu = lam pi R^2) and replace the rest by its mean (Campbell's theorem). Replacing
the far field's fluctuations by their mean biases E[1/A] and E[eq. 18] (both convex in the far
field) by ~ mu^(1 - gamma). Measured here, per kind and gamma, as the relative bias of E[1/A] and
of E[g18] (eq. 18 without its constant) at each mu against the largest window MU_REF, from the
SAME nodes (paired: one sample of both sides at MU_REF, cut at each mu), and corrected for the
reference's own bias by the mu^(1 - gamma) law: b(mu) = b_meas(mu) / (1 - (mu/MU_REF)^(gamma-1)).

The check of the method is the PPP: its windowed E[1/A] is known exactly,
E[1/(A_R + m)] = int_0^inf e^(-s m) exp(-mu h(s R^-gamma)) ds (the disk's PGFL, eq. 31-34,
shifted by the far-field mean m), against Lemma 3 (eq. 24); the same measurement on PPP nodes
must reproduce it. Writes benchmarks/results/window-bias.json and prints the table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
from scipy import integrate, special

from netsense.core.closed_form import lemma3_inv_sum
from netsense.core.fisher import crlb_geometric
from netsense.core.samplers.lattice import lattice_points
from netsense.core.samplers.matern import matern_points
from netsense.core.samplers.thomas import thomas_points
from netsense.core.samplers.window import WINDOW_NODES, disk_points, window_radius, window_stats

OUT = Path(__file__).resolve().parent / "results" / "window-bias.json"
LAM = 1.0 / 900.0
GAMMAS = (2.5, 3.0, 4.0)
MUS = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0)
MU_REF = 1600.0
SEED = 20261218
BIAS_TARGET = 0.005  # |relative bias| the default window must stay below, gamma >= 2.5


def ppp_points(rng, lam, radius_m, n):
    counts = rng.poisson(lam * math.pi * radius_m**2, size=n)
    x, y = disk_points(rng, counts, radius_m)
    return np.repeat(np.arange(n), counts), x, y


# The most irregular and the most regular instances the study runs (per kind), and the PPP.
KINDS = {
    "ppp": ppp_points,
    "matern-d16": lambda rng, lam, r, n: matern_points(rng, lam, 16.0, r, n),
    "thomas-c5-s10": lambda rng, lam, r, n: thomas_points(rng, lam, 5.0, 10.0, r, n),
    "lattice-s0": lambda rng, lam, r, n: lattice_points(rng, lam, 0.0, r, n),
}


def ppp_window_exact(lam, gamma, mu):
    """E[1/A] of the windowed PPP (exact, module docstring) and Lemma 3's value."""
    radius = window_radius(lam, mu)
    d = 2.0 / gamma
    m = 2.0 * math.pi * lam * radius ** (2.0 - gamma) / (gamma - 2.0)

    def h(y):  # 1 - phi(y), phi(y) = e^-y - y^d Gamma(1-d, y)
        return -math.expm1(-y) + y**d * special.gamma(1 - d) * special.gammaincc(1 - d, y)

    def f(z):  # s = e^z
        s = math.exp(z)
        return s * math.exp(-s * m - mu * h(s * radius**-gamma))

    z0 = math.log(1.0 / m)
    edges = [z0 - 60, *np.arange(z0 - 20, z0 + 6, 1.0), z0 + math.log(80.0)]
    val = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=400)[0]
              for lo, hi in itertools.pairwise(edges))
    return val, float(lemma3_inv_sum(lam, gamma))


def measure(kind, n_trials, seed):
    rng = np.random.default_rng(seed)
    r_ref = window_radius(LAM, MU_REF)
    tx = KINDS[kind](rng, LAM, r_ref, n_trials)
    rx = KINDS[kind](rng, LAM, r_ref, n_trials)
    rows = []
    for gamma in GAMMAS:
        def stats(mu, gamma=gamma):
            r = window_radius(LAM, mu)
            st = window_stats(rng, *tx, n_trials, LAM, gamma, r), \
                window_stats(rng, *rx, n_trials, LAM, gamma, r)
            return 1.0 / st[0].A, crlb_geometric(*st)
        inv_ref, g18_ref = stats(MU_REF)
        for mu in MUS:
            inv, g18 = stats(mu)
            row = {"kind": kind, "gamma": gamma, "mu": mu,
                   "radius_m": window_radius(LAM, mu), "trials": n_trials}
            corr = 1.0 / (1.0 - (mu / MU_REF) ** (gamma - 1.0))
            for name, v, ref in (("inv_A", inv, inv_ref), ("g18", g18, g18_ref)):
                diff = v - ref
                b = diff.mean() / ref.mean()
                se = diff.std(ddof=1) / math.sqrt(n_trials) / ref.mean()
                row[f"bias_{name}"] = b * corr
                row[f"se_{name}"] = se * corr
            if kind == "ppp":
                exact, lemma3 = ppp_window_exact(LAM, gamma, mu)
                row["exact_bias_inv_A"] = exact / lemma3 - 1.0
            rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=4000)
    args = ap.parse_args()
    rows = []
    for i, kind in enumerate(KINDS):
        t0 = time.time()
        rows += measure(kind, args.trials, SEED + i)
        print(f"# {kind}: {time.time() - t0:.0f} s", flush=True)
    default = [r for r in rows if r["mu"] == WINDOW_NODES]
    worst = max(abs(r[f"bias_{q}"]) + 2 * r[f"se_{q}"] for r in default for q in ("inv_A", "g18"))
    out = {"lam_per_m2": LAM, "mu_ref": MU_REF, "default_mu": WINDOW_NODES,
           "bias_target": BIAS_TARGET, "worst_at_default_plus_2se": worst, "rows": rows}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1))
    print(f"{'kind':15s} {'gamma':>5s} {'mu':>6s} {'R [m]':>6s}  {'bias E[1/A]':>18s}  "
          f"{'bias E[eq.18]':>18s}  {'PPP exact E[1/A]':>16s}")
    for r in rows:
        ex = f"{100 * r['exact_bias_inv_A']:+.3f}%" if "exact_bias_inv_A" in r else ""
        print(f"{r['kind']:15s} {r['gamma']:5.1f} {r['mu']:6.0f} {r['radius_m']:6.0f}  "
              f"{100 * r['bias_inv_A']:+8.3f}% +- {100 * r['se_inv_A']:.3f}  "
              f"{100 * r['bias_g18']:+8.3f}% +- {100 * r['se_g18']:.3f}  {ex:>16s}")
    print(f"default mu = {WINDOW_NODES:g}: worst |bias| + 2 SE = {100 * worst:.3f}% "
          f"(target {100 * BIAS_TARGET:g}%)")


if __name__ == "__main__":
    main()
