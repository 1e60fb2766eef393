"""Coverage of the lam-slope's 95% interval, measured over independent repetitions of a sweep.

    python benchmarks/slope_coverage.py [--reps R] [--trials N] [--nearest K] [--out PATH]

Each repetition is one small sweep computed with the package's own functions, as ``netsense fit``
computes it from a cube (no workflow): per (lam, gamma) cell, ``trials`` networks from
:func:`netsense.core.blocks.simulate_block` (seed ``SEED + r`` for repetition r, the blocks of
``BLOCK`` trials the pipeline would sample), E[eq. 18] through the control variate
(:func:`netsense.core.stats.cv_corrected` with the exact control mean of
:func:`netsense.core.expectations.g23_mean`, as :mod:`netsense.analysis.estimates` gives it),
E[eq. 23] plain, and the slope with its interval from
:func:`netsense.analysis.fits.slope_with_ci`. The grid is the default sweep's
(config/config.yaml): lam 1/400 .. 1/2500, gamma 2.5 .. 4.

On the plane sampler E[eq. 18] and E[eq. 23] scale exactly as (lam_t lam_r)^(-gamma/2) for any K
(estimation notes, section 4), so the truth of every slope is -gamma/2 and the coverage of the
interval is measured against a known value. Also recorded: the mean and sd of the z-scores
(slope - truth) / se, se the interval's half-width over its quantile, whose mean is 0 for an
unbiased slope and whose sd is 1 for a right variance.

Writes a JSON summary (``--out``, default benchmarks/results/slope-coverage.json).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

SEED = 20261202
LAMS = (1 / 400, 1 / 900, 1 / 1600, 1 / 2500)
GAMMAS = (2.5, 3.0, 3.5, 4.0)
BLOCK = 10_000


def one_sweep(seed, sampler, n, lams=LAMS, gammas=GAMMAS, block=BLOCK):
    """{(gamma, quantity): (slope, lo, hi)} of one repetition."""
    from netsense.analysis.fits import slope_with_ci
    from netsense.core.blocks import simulate_block
    from netsense.core.expectations import g23_mean
    from netsense.core.stats import cv_corrected

    xs = [math.log(lam * lam) for lam in lams]  # fit_x of lam: log(lam_t lam_r)
    out = {}
    bt = min(block, n)
    for g in gammas:
        ys, xs23 = [], []
        for lam in lams:
            parts = [simulate_block(seed, sampler, lam, g, b, bt) for b in range(n // bt)]
            y = np.concatenate([p["g18"] for p in parts])
            x = np.concatenate([p["g23"] for p in parts])
            ys.append(cv_corrected(y, x, g23_mean(sampler, lam, g)))
            xs23.append(x)
        out[(g, "crlb")] = slope_with_ci(xs, X=np.stack(ys))[:3]
        out[(g, "jensen")] = slope_with_ci(xs, X=np.stack(xs23))[:3]
    return out


def main(argv=None):
    from scipy.stats import norm

    from netsense.core.samplers import PlaneSampler

    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=400)
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--nearest", type=int, default=64)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "slope-coverage.json"))
    a = p.parse_args(argv)
    sampler = PlaneSampler(a.nearest)
    t0 = time.perf_counter()
    z = {}
    hits = {}
    for r in range(a.reps):
        for (g, q), (s, lo, hi) in one_sweep(SEED + r, sampler, a.trials).items():
            truth = -g / 2
            se = (hi - lo) / (2 * norm.ppf(0.975))
            z.setdefault((g, q), []).append((s - truth) / se)
            hits.setdefault((g, q), []).append(lo <= truth <= hi)
        if (r + 1) % 25 == 0:
            print(f"{r + 1} reps, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    rows = []
    for (g, q), h in hits.items():
        zz = np.array(z[(g, q)])
        rows.append({"gamma": g, "quantity": q, "reps": len(h), "coverage": float(np.mean(h)),
                     "coverage_se": math.sqrt(0.95 * 0.05 / len(h)),
                     "z_mean": float(zz.mean()), "z_mean_se": float(zz.std(ddof=1) / math.sqrt(len(zz))),
                     "z_sd": float(zz.std(ddof=1))})
        print(json.dumps(rows[-1]))
    allh = [x for h in hits.values() for x in h]
    res = {"seed": SEED, "reps": a.reps, "trials_per_cell": a.trials, "block_trials": BLOCK,
           "nearest": a.nearest, "lams": LAMS, "gammas": GAMMAS,
           "pooled_coverage": float(np.mean(allh)),
           "pooled_coverage_se": math.sqrt(0.95 * 0.05 / len(allh)),
           "wall_s": time.perf_counter() - t0, "rows": rows,
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}))


if __name__ == "__main__":
    main()
