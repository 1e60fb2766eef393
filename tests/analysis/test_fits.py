"""The lam slope's 95% interval (netsense.analysis.fits.slope_with_ci): its coverage and the
spread of its z-scores over independent repetitions of a small sweep, computed with the
package's own functions as ``netsense fit`` computes them from a cube (control-variate trials of
netsense.core.stats.cv_corrected for eq. (18), with the exact control mean of
netsense.core.expectations.g23_mean; plain trials for eq. (23)).

Along M and rho_s the slope is exact by construction; along lam each point has its own
realizations and the interval is the genuine Monte Carlo one. On the ``plane`` sampler E[eq. 18]
and E[eq. 23] scale exactly as (lam_t lam_r)^(-gamma/2) for any K (a PPP of density lam is one of
density 1 scaled by lam^(-1/2)), so the truth of every lam slope is -gamma/2 exactly and the
interval is checked against a known value. The measured coverage of the default sweep's grid is
in benchmarks/results/slope-coverage.json (benchmarks/slope_coverage.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsense.analysis.fits import slope_with_ci
from netsense.core.blocks import simulate_block
from netsense.core.expectations import g23_mean
from netsense.core.samplers import PlaneSampler
from netsense.core.stats import Z95, cv_corrected

SEED = 20261203
# Small and cheap: K = 8 is exact for the slope's truth (any K scales exactly), 1 000 trials per
# point is the fewest at which the interval is reported as calibrated (stats.CALIBRATED_MIN_TRIALS).
SAMPLER = PlaneSampler(8)
LAMS = (1 / 400, 1 / 900, 1 / 1600)
TRIALS = 1_000
REPS = 500
GAMMAS = (2.5, 4.0)
# Coverage of a 95% interval from REPS independent repetitions: binomial sd sqrt(.95 .05 / REPS)
# = 0.0097; the suite's 4-standard-error tolerance.
COVERAGE_TOL = 4 * math.sqrt(0.95 * 0.05 / REPS)
N_SE = 4.0


@pytest.fixture(scope="module")
def sweeps():
    """{(gamma, quantity): (slopes, ci_low, ci_high)} over REPS repetitions. Repetition r is
    trials r*TRIALS .. (r+1)*TRIALS - 1 of one block per cell: independent networks."""
    xs = [math.log(lam * lam) for lam in LAMS]  # the lam axis' fit_x: log(lam_t lam_r)
    out = {}
    for g in GAMMAS:
        y18, y23 = [], []
        for lam in LAMS:
            b = simulate_block(SEED, SAMPLER, lam, g, 0, REPS * TRIALS)
            y = b["g18"].reshape(REPS, TRIALS)
            x = b["g23"].reshape(REPS, TRIALS)
            y18.append(cv_corrected(y, x, g23_mean(SAMPLER, lam, g)))  # each rep its own folds
            y23.append(x)
        for q, pts in (("crlb", y18), ("jensen", y23)):
            res = np.array([slope_with_ci(xs, X=np.stack([p[r] for p in pts]))[:3]
                            for r in range(REPS)])
            out[g, q] = res.T
    return out


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("quantity", ["crlb", "jensen"])
def test_lam_slope_interval_covers_the_exact_slope(sweeps, gamma, quantity):
    s, lo, hi = sweeps[gamma, quantity]
    truth = -gamma / 2
    assert len(s) == REPS and np.all(np.isfinite(s)) and np.all(hi > lo)
    coverage = float(np.mean((lo <= truth) & (truth <= hi)))
    assert abs(coverage - 0.95) <= COVERAGE_TOL, coverage


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("quantity", ["crlb", "jensen"])
def test_lam_slope_standard_error_is_the_spread_of_the_slopes(sweeps, gamma, quantity):
    """The reported standard error is the spread of the slopes over repetitions (sd of the
    z-scores 1) and the slope is unbiased (mean z 0): a delta-method variance off by a factor 2
    either way moves the sd to 0.71 or 1.41, which coverage alone (0.83 or 0.99) might miss."""
    s, lo, hi = sweeps[gamma, quantity]
    z = (s + gamma / 2) / ((hi - lo) / (2 * Z95))
    n = len(z)
    sd = float(z.std(ddof=1))
    # sd of a sample sd: sd sqrt((kappa - 1) / (4 n)), kappa the kurtosis of z (from the sample)
    kappa = float(np.mean((z - z.mean()) ** 4) / np.mean((z - z.mean()) ** 2) ** 2)
    assert abs(sd - 1.0) <= N_SE * sd * math.sqrt((kappa - 1) / (4 * n)), (sd, kappa)
    assert abs(float(z.mean())) <= N_SE * sd / math.sqrt(n), float(z.mean())
