"""E[eq. 18] over PPP networks on the plane, against quantitative references (not only "above
Theorem 2"):

* the ``plane`` sampler's far-field shortcut (the nodes beyond the K-th nearest replaced by
  their conditional mean in A, T and V) against the same sampler with 8x more explicit nodes:
  at K = 64 the shortcut's effect on E[eq. 23] is exactly -1.4e-4 relative at gamma = 2.5
  (netsense.core.expectations), and on E[eq. 18] it must be as small, far below the standard
  error here, while a wrong far-field term in T (the direction sums the eq. 23 check never
  sees) shifts E[eq. 18] by several standard errors;
* the stored long reference run of c(gamma) = E[eq. 18] / Theorem 2 (src/netsense/core/
  tightness.csv, written by ``netsense tightness`` with its generator: K = 128, seed 20261201,
  the trial count per row in the table) at two values of gamma, from a run of another seed and K.

Each estimate is the control-variate one (netsense.core.stats.cv_estimate with the sampler's
exact E[eq. 23], as every reader of a cube reports it).
"""

from __future__ import annotations

import math

import pytest

from netsense.core.blocks import simulate_block
from netsense.core.closed_form import lemma3_inv_sum
from netsense.core.expectations import g23_mean
from netsense.core.samplers import PlaneSampler
from netsense.core.stats import cv_estimate
from netsense.core.tightness import table

LAM = 1 / 900
N_SE = 4.0  # the suite's tolerance, in combined standard errors of two independent estimates


def cv_ratio(nearest: int, gamma: float, trials: int, seed: int):
    """E[g18] / Theorem 2's 2 Lemma3^2 (eq. 26 without its constant) with its standard error,
    from ``trials`` networks of the plane sampler with K = ``nearest``."""
    s = PlaneSampler(nearest)
    b = simulate_block(seed, s, LAM, gamma, 0, trials)
    e = cv_estimate(b["g18"], b["g23"], g23_mean(s, LAM, gamma))
    assert bool(e.cv_used)
    ref = 2.0 * float(lemma3_inv_sum(LAM, gamma)) ** 2
    return float(e.mean) / ref, float(e.sem) / ref


def test_far_field_shortcut_leaves_eq18_unchanged_at_k64():
    gamma = 2.5  # the far field is ~25% of A at K = 64: where its terms matter most
    r64, se64 = cv_ratio(64, gamma, 40_000, seed=31)
    r512, se512 = cv_ratio(512, gamma, 20_000, seed=32)
    assert se64 < 5e-4 and se512 < 6e-4  # resolution: a 0.2% shift is > 4 standard errors
    assert abs(r64 - r512) <= N_SE * math.hypot(se64, se512), (r64, se64, r512, se512)


@pytest.mark.parametrize("gamma", [2.5, 4.0])
def test_eq18_matches_the_stored_reference_c_gamma(gamma):
    t = table()
    i = [round(float(g), 2) for g in t["gamma"]].index(gamma)  # a tabulated row, not interpolated
    c, c_se = float(t["c"][i]), float(t["c_se"][i])
    r, se = cv_ratio(64, gamma, 40_000, seed=33)
    assert abs(r - c) <= N_SE * math.hypot(se, c_se), (r, se, c, c_se)
    assert r > 1.0 + N_SE * se  # and strictly above Theorem 2 (the Jensen step, eq. 20)
