"""Monte Carlo of eq. (18) and eq. (23) over PPP networks (netsense.mc)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsense import DiskSampler, InputError, PlaneSampler, SystemParams
from netsense.core.blocks import simulate_block
from netsense.core.closed_form import lemma3_inv_sum, theorem2_m2
from netsense.core.expectations import g23_mean
from netsense.core.mc import mc_point
from netsense.core.stats import RunningMoments, cv_estimate, mean_estimate

# |MC mean - reference| <= Z_TOL standard errors: two-sided 4 sigma, false failure ~6.3e-5.
Z_TOL = 4.0

# Streaming (Chan et al.) moments vs numpy's two-pass mean/std on the same numbers: float64
# rounding over <= 1e5 terms with a few combination steps.
MOMENTS_RTOL = 1e-12

# Same per-trial geometry, only the constant c^2/(M_t M_r eta) differs: a few ulp.
SCALE_RTOL = 1e-12

LAM = 1 / 900


@pytest.fixture(scope="module")
def paper_point():
    # 100k trials, K = 64 nearest per side: ~0.7 s. CV of 1/(A_t A_r) at gamma 2.5 is ~0.8, so
    # the relative standard error is ~0.25%.
    return mc_point(lam=LAM, gamma=2.5, M=4, rho_s_db=120.0, trials=100_000, seed=5,
                    block_trials=25_000)


def test_mc_jensen_matches_theorem2(paper_point):
    """E[eq. (23)] over the PPP is exactly Theorem 2 (Lemma 3 twice): ratio 1 within 4 se."""
    closed = float(theorem2_m2(M_t=4, M_r=4, rho_s_db=120.0, lam_t=LAM, lam_r=LAM, gamma=2.5))
    assert paper_point["closed_form_m2"] == pytest.approx(closed, rel=SCALE_RTOL)
    j = paper_point["jensen_m2"]
    assert j["n"] == 100_000 and j["n_inf"] == 0
    assert abs(j["ratio_to_closed_form"] - 1.0) <= Z_TOL * j["sem"] / closed
    assert abs(j["mean"] - closed) <= Z_TOL * j["sem"]


def test_mc_crlb_above_theorem2(paper_point):
    """Jensen step (20): the MC mean of eq. (18) lies above Theorem 2 (notes: ~1.07 at 2.5)."""
    closed = paper_point["closed_form_m2"]
    c = paper_point["crlb_m2"]
    assert c["ratio_to_closed_form"] - Z_TOL * c["sem"] / closed > 1.0


def test_mc_reports_lemma3_and_ci(paper_point):
    assert paper_point["lemma3_inv_sum"] == pytest.approx(float(lemma3_inv_sum(LAM, 2.5)),
                                                          rel=SCALE_RTOL)
    s = paper_point["crlb_m2"]  # control variate: a symmetric t interval (stats.CV_INTERVAL)
    half = (s["ci95"][1] - s["ci95"][0]) / 2
    assert s["ci95"][0] + half == pytest.approx(s["mean"], rel=SCALE_RTOL)
    assert 1.959963984540054 * s["sem"] < half < 1.01 * 1.959963984540054 * s["sem"]
    for s in (paper_point["jensen_m2"], paper_point["crlb_m2"]["plain"]):
        # plain means: Hall's interval, shifted up by the right skew (stats.PLAIN_INTERVAL)
        half = 1.959963984540054 * s["sem"]
        assert s["ci95"][0] < s["mean"] < s["ci95"][1]
        assert s["ci95"][0] > s["mean"] - half and s["ci95"][1] > s["mean"] + half


def test_mc_point_equals_manual_combination_of_blocks():
    """trials = 2500 with blocks of 1000: blocks 0, 1 and the first 500 of block 2."""
    seed, spec = 3, PlaneSampler(nearest=16)
    res = mc_point(lam=LAM, gamma=3.0, M=2, rho_s_db=100.0, trials=2500, seed=seed, sampler=spec,
                   block_trials=1000)
    blocks = [simulate_block(seed, spec, LAM, 3.0, b, 1000) for b in range(3)]
    scale = float(SystemParams().error_scale_m2(2, 2, 1e10))
    xs = {}
    for name, key in (("crlb_m2", "g18"), ("jensen_m2", "g23")):
        x = xs[key] = np.concatenate([blocks[0][key], blocks[1][key], blocks[2][key][:500]]) * scale
        s = res[name]["plain"] if name == "crlb_m2" else res[name]
        assert s["n"] == 2500
        assert s["mean"] == pytest.approx(x.mean(), rel=MOMENTS_RTOL)
        assert s["sem"] == pytest.approx(x.std(ddof=1) / math.sqrt(x.size), rel=MOMENTS_RTOL)
        e = mean_estimate(x)  # the same interval as over all trials at once
        assert s["ci95"] == pytest.approx([float(e.ci_low), float(e.ci_high)], rel=1e-10)
    # the reported E[eq. 18]: the control variate over the same 2500 trials, eq. (23) the control
    cv = cv_estimate(xs["g18"], xs["g23"], scale * g23_mean(spec, LAM, 3.0))
    c = res["crlb_m2"]
    assert c["method"] == "control_variate" and c["n"] == 2500
    assert c["mean"] == pytest.approx(float(cv.mean), rel=MOMENTS_RTOL)
    assert c["sem"] == pytest.approx(float(cv.sem), rel=1e-8)  # power sums vs residuals
    assert c["ci95"] == pytest.approx([float(cv.ci_low), float(cv.ci_high)], rel=1e-8)
    assert res["jensen_m2"]["exact_m2"] == pytest.approx(scale * g23_mean(spec, LAM, 3.0),
                                                         rel=SCALE_RTOL)


@pytest.mark.parametrize("gamma", [2.05, 2.5, 3.0, 4.0, 5.0, 6.0])
def test_cv_estimate_agrees_with_a_plain_one_from_100x_more_trials(gamma):
    """The reported E[eq. 18] from 2 000 trials against the plain mean of 200 000 other trials
    (another seed): within 4 combined standard errors."""
    short = mc_point(lam=LAM, gamma=gamma, M=4, rho_s_db=120.0, trials=2000, seed=21,
                     block_trials=2000)["crlb_m2"]
    long = mc_point(lam=LAM, gamma=gamma, M=4, rho_s_db=120.0, trials=200_000, seed=22,
                    block_trials=50_000)["crlb_m2"]["plain"]
    assert short["method"] == "control_variate"
    assert abs(short["mean"] - long["mean"]) <= Z_TOL * math.hypot(short["sem"], long["sem"])


def test_variance_reduction_at_the_paper_point(paper_point):
    """The issue's bar: an interval at least 8x narrower than the plain one from the same trials
    (variance reduction >= 64; the estimation notes measured 134 at gamma = 2.5)."""
    c = paper_point["crlb_m2"]
    assert c["variance_reduction"] >= 64
    assert c["sem"] * 8 <= c["plain"]["sem"]
    assert c["plain"]["ci95"][1] - c["plain"]["ci95"][0] >= 8 * (c["ci95"][1] - c["ci95"][0])


def test_beam_models_without_an_exact_control_mean_report_the_plain_estimate():
    res = mc_point(lam=LAM, gamma=3.0, M=4, rho_s_db=120.0, trials=400, seed=1,
                   block_trials=400, beam="codebook")
    c = res["crlb_m2"]
    assert c["method"] == "plain" and "no exact mean" in c["reason"]
    assert c["mean"] == c["plain"]["mean"] and "exact_m2" not in res["jensen_m2"]


def test_one_geometry_serves_every_m_and_rho_cell():
    """Given the layouts, S is linear in M_t M_r rho_s: same seed, exact rescaling."""
    kw = dict(lam=LAM, gamma=2.5, trials=2000, seed=8, sampler=PlaneSampler(nearest=16),
              block_trials=1000)
    a = mc_point(M=4, rho_s_db=120.0, **kw)
    b = mc_point(M=8, rho_s_db=130.0, **kw)
    for name in ("crlb_m2", "jensen_m2"):
        assert b[name]["mean"] == pytest.approx(a[name]["mean"] / 40.0, rel=SCALE_RTOL)
        assert b[name]["sem"] == pytest.approx(a[name]["sem"] / 40.0, rel=SCALE_RTOL)
        assert b[name]["ratio_to_closed_form"] == pytest.approx(a[name]["ratio_to_closed_form"],
                                                                rel=SCALE_RTOL)


def test_same_seed_same_result_different_seed_different():
    kw = dict(lam=LAM, gamma=2.5, M=4, rho_s_db=120.0, trials=500, sampler=PlaneSampler(nearest=8),
              block_trials=250)
    a, b, c = mc_point(seed=1, **kw), mc_point(seed=1, **kw), mc_point(seed=2, **kw)
    assert a == b
    assert a["crlb_m2"]["mean"] != c["crlb_m2"]["mean"]


def test_progress_callback_reaches_total():
    seen = []
    mc_point(lam=LAM, gamma=2.5, M=1, rho_s_db=100.0, trials=250, seed=0,
             sampler=PlaneSampler(nearest=4), block_trials=100, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(100, 250), (200, 250), (250, 250)]


def test_disk_sampler_without_closed_form_below_gamma_two():
    res = mc_point(lam=LAM, gamma=2.0, M=1, rho_s_db=100.0, trials=50, seed=0,
                   sampler=DiskSampler(radius_m=100.0), block_trials=50)
    assert "closed_form_m2" not in res
    assert res["point"]["sampler"] == "disk" and res["point"]["radius_m"] == 100.0


def test_plane_sampler_rejects_gamma_two():
    with pytest.raises(InputError):
        mc_point(lam=LAM, gamma=2.0, M=1, rho_s_db=100.0, trials=10, block_trials=10)


@pytest.mark.parametrize("kwargs,field", [
    (dict(lam=-1e-3), "lam"),
    (dict(lam=0.0), "lam"),
    (dict(trials=1), "trials"),
    (dict(trials=2.5), "trials"),
    (dict(trials=True), "trials"),
    (dict(M=0), "M"),
    (dict(M=1.5), "M"),
    (dict(gamma=float("nan")), "gamma"),
    (dict(rho_s_db=float("inf")), "rho_s_db"),
])
def test_mc_point_input_errors(kwargs, field):
    base = dict(lam=LAM, gamma=2.5, M=4, rho_s_db=120.0, trials=10, block_trials=10)
    base.update(kwargs)
    with pytest.raises(InputError) as exc:
        mc_point(**base)
    assert exc.value.field == field


# ------------------------------------------------------------------------------------------
# RunningMoments


def test_running_moments_match_numpy_in_chunks():
    rng = np.random.default_rng(0)
    x = rng.lognormal(3.0, 1.5, 10_007)
    rm = RunningMoments()
    for chunk in np.array_split(x, [1, 2, 500, 501, 7000]):
        rm.add(chunk)
    rm.add(np.array([]))
    s = rm.summary(scale=2.0)
    assert s["n"] == x.size and s["n_inf"] == 0
    assert s["mean"] == pytest.approx(2 * x.mean(), rel=MOMENTS_RTOL)
    assert s["sem"] == pytest.approx(2 * x.std(ddof=1) / math.sqrt(x.size), rel=MOMENTS_RTOL)


def test_running_moments_count_infinities_separately():
    rm = RunningMoments()
    rm.add(np.array([1.0, np.inf, 3.0]))
    rm.add(np.array([np.inf, 5.0]))
    s = rm.summary()
    assert s["n"] == 3 and s["n_inf"] == 2
    assert s["mean"] == pytest.approx(3.0, rel=MOMENTS_RTOL)
    assert s["sem"] == pytest.approx(2.0 / math.sqrt(3.0), rel=MOMENTS_RTOL)
