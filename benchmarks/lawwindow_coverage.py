"""Coverage of the law-window study's slope intervals, measured where the true slope is exact.

The lawwindow study (netsense.analysis.studies.lawwindow) reports, between two adjacent
densities, the local slope of the median of eq. (18) (interval: netsense.core.distribution.
quantile_slope) and of its control-variate mean (interval: the delta method on the log ratio of
two independent means). On the plane sampler (scale-free: eq. 18 at lam is a scaled copy of eq. 18
at lam') both slopes are exactly -gamma/2 against log(lam_t lam_r), so each repetition's interval
either holds it or not. Two independent cells per repetition (other seeds), as the study's
adjacent densities are; the same estimators the study calls.

    python benchmarks/lawwindow_coverage.py   # ~1 minute on 2 cores

Writes benchmarks/results/lawwindow-coverage.json.
"""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path

import numpy as np

from netsense.core.blocks import simulate_block
from netsense.core.distribution import quantile_slope
from netsense.core.expectations import g23_mean
from netsense.core.samplers import PlaneSampler
from netsense.core.stats import Z95, cv_estimate, log_ratio_se

REPS = 500
TRIALS = 2000  # per cell, a quarter of config/links.yaml's: intervals 2x as wide
LAMS = (1 / 3600, 1 / 900)  # two densities a factor 4 apart, as half a decade is ~3.2
GAMMAS = (2.5, 4.0)
SAMPLER = PlaneSampler(nearest=32)
OUT = Path(__file__).resolve().parent / "results" / "lawwindow-coverage.json"


def one(seed: int, gamma: float) -> tuple[tuple, tuple]:
    """(median slope, lo, hi), (mean slope, lo, hi) of one repetition."""
    dx = 2.0 * math.log(LAMS[1] / LAMS[0])
    g18, means = [], []
    for i, lam in enumerate(LAMS):
        out = simulate_block(2 * seed + i, SAMPLER, lam, gamma, 0, TRIALS)
        g18.append(out["g18"])
        est = cv_estimate(out["g18"], out["g23"], g23_mean(SAMPLER, lam, gamma, "full"))
        means.append((float(est.mean), float(est.sem)))
    s, lo, hi, _ = quantile_slope(np.array([0.0, dx]), np.vstack(g18), 0.5)
    (m0, se0), (m1, se1) = means
    ms = math.log(m1 / m0) / dx
    h = Z95 * log_ratio_se(m1, se1, m0, se0) / dx
    return (s, lo, hi), (ms, ms - h, ms + h)


def main() -> None:
    t0 = time.time()
    rows = []
    for g in GAMMAS:
        truth = -g / 2.0
        med, mean = zip(*(one(r, g) for r in range(REPS)), strict=True)
        for name, res in (("median", med), ("mean", mean)):
            hits = sum(lo <= truth <= hi for _, lo, hi in res)
            p = hits / REPS
            rows.append({"statistic": name, "gamma": g, "truth": truth, "reps": REPS,
                         "trials_per_cell": TRIALS, "coverage": p,
                         "coverage_se": math.sqrt(p * (1 - p) / REPS),
                         "mean_half_width": float(np.mean([(hi - lo) / 2 for _, lo, hi in res])),
                         "mean_slope": float(np.mean([s for s, _, _ in res]))})
            print(f"gamma {g:g} {name:6s} slope interval: coverage {p:.3f} "
                  f"(+-{rows[-1]['coverage_se']:.3f}) over {REPS} reps, mean half-width "
                  f"{rows[-1]['mean_half_width']:.4f}, mean slope {rows[-1]['mean_slope']:+.4f} "
                  f"(truth {truth:+.3f})")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"rows": rows, "seconds": time.time() - t0,
                               "machine": platform.machine(), "python": platform.python_version(),
                               "lams": LAMS, "sampler": SAMPLER.to_mapping()}, indent=1) + "\n")
    print(f"wrote {OUT} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
