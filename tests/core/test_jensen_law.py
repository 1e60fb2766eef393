"""netsense.core.jensen_law: the exact CDF of eq. (23) on the plane (Zolotarev's integral)
against its gamma = 4 closed form, an mpmath quadrature, and Monte Carlo of the exact stable law
(Kanter's sampler) and of the plane sampler at several gammas and density ratios."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy.special import erfc

from netsense.core.blocks import simulate_block
from netsense.core.jensen_law import (
    jensen_cdf,
    jensen_cdf_gamma4,
    jensen_coverage,
    jensen_quantile,
    stable_cdf,
    stable_product_cdf,
)
from netsense.core.samplers import PlaneSampler
from netsense.core.samplers.stable import sample_stable_sum
from netsense.core.system import DEFAULT_SYSTEM, db_to_lin
from netsense.errors import InputError

LAM = 1.0 / 900.0
# The bound for the general integral against the gamma = 4 closed form.
CLOSED_FORM_ATOL = 1e-10
# mpmath's K_0 quadrature at 30 digits against scipy's iti0k0 (Zhang and Jin's series: 5e-13
# off at w = 26, where the CDF is 1 - 3e-7).
ITI0K0_ATOL = 1e-12
# Monte Carlo agreement: within this many standard errors of a binomial fraction.
MC_SIGMAS = 4.0
# The plane sampler at K = 64 has not quite the whole plane's law of A: its CDF of eq. (23)
# departs from the exact one by 0.7e-4 to 4.1e-4 at the points measured (4 million trials, gamma
# 2.5 and 4, p 0.5 to 0.99; benchmarks/distribution_coverage.py, docs: guide/coverage.md),
# added to the Monte Carlo tolerance of its comparison.
PLANE_K64_BIAS = 5e-4
# Probabilities at which the CDF is compared: both tails and the middle.
PROBS = (0.01, 0.1, 0.5, 0.9, 0.99)


def _g4_quantiles(lam_t, lam_r):
    return jensen_quantile(np.array(PROBS), gamma=4.0, lam_t=lam_t, lam_r=lam_r)


@pytest.mark.parametrize("lam_t, lam_r", [(LAM, LAM), (LAM / 16, LAM), (4 * LAM, LAM / 3)])
def test_general_integral_matches_the_gamma4_closed_form(lam_t, lam_r):
    # y from w = sqrt(c_t c_r y / 2) (the closed form's variable), 1e-7 to 1 - 1e-12 of the law
    c_t, c_r = math.pi ** 3 * lam_t ** 2 / 2, math.pi ** 3 * lam_r ** 2 / 2
    y = 2 * np.logspace(-8, 1.5, 48) ** 2 / (c_t * c_r)
    ref = jensen_cdf_gamma4(y, lam_t=lam_t, lam_r=lam_r)
    got = jensen_cdf(y, gamma=4.0, lam_t=lam_t, lam_r=lam_r)
    assert ref.min() < 1e-4 and ref.max() > 1 - 1e-6
    assert np.max(np.abs(got - ref)) < CLOSED_FORM_ATOL


def test_gamma4_closed_form_against_mpmath():
    """(2/pi) int_0^w K_0(t) dt by mpmath at 30 digits, independent of scipy's iti0k0."""
    mpmath.mp.dps = 30
    c = math.pi ** 3 * LAM ** 2 / 2
    for y in (1e6, 1e8, 1e9, 1e10, 1e12):
        w = math.sqrt(c * c * y / 2)
        ref = float(2 / mpmath.pi * mpmath.quad(mpmath.besselk0 if hasattr(mpmath, "besselk0")
                                                else (lambda t: mpmath.besselk(0, t)), [0, w]))
        assert float(jensen_cdf_gamma4(y, lam_t=LAM, lam_r=LAM)) == pytest.approx(
            ref, abs=ITI0K0_ATOL)


def test_stable_cdf_is_levys_at_one_half():
    """delta = 1/2: S = 1 / (2 Z^2), P(S <= x) = erfc(1 / (2 sqrt x))."""
    x = np.logspace(-3, 3, 25)
    np.testing.assert_allclose(stable_cdf(x, 0.5), erfc(1 / (2 * np.sqrt(x))), atol=1e-13)


@pytest.mark.parametrize("gamma", [2.05, 3.3, 6.0])
def test_product_cdf_against_adaptive_quadrature(gamma):
    """The two-angle integral by QUADPACK's adaptive rule (scipy dblquad, written out from
    Kanter's K and K_1 here), not the graded Gauss-Legendre rule of the module."""
    from scipy.integrate import dblquad
    from scipy.special import k1

    d = 2 / gamma
    u = d / (1 - d)

    def kanter(phi):
        return math.sin(d * phi) ** u * math.sin((1 - d) * phi) / math.sin(phi) ** (1 / (1 - d))

    def h(p1, p2, x):
        z = 2 * math.sqrt(kanter(p1) * kanter(p2) * x ** (-u))
        return z * k1(z) if z < 700 else 0.0

    for x in (0.5, 3.0, 10.0):  # 10: the upper tail, where K(phi) near pi matters at 2.05
        ref, err = dblquad(h, 0, math.pi, 0, math.pi, args=(x,), epsabs=1e-12, epsrel=1e-11)
        assert err < 1e-10
        assert float(stable_product_cdf(x, d)) == pytest.approx(ref / math.pi ** 2, abs=1e-10)


def test_quantile_inverts_the_cdf():
    for gamma in (2.5, 4.0):
        q = jensen_quantile(np.array(PROBS), gamma=gamma, lam_t=LAM, lam_r=LAM / 4)
        np.testing.assert_allclose(jensen_cdf(q, gamma=gamma, lam_t=LAM, lam_r=LAM / 4),
                                   PROBS, atol=1e-12)


@pytest.mark.parametrize("gamma, lam_t, lam_r", [
    (2.2, LAM, LAM), (2.5, LAM / 16, LAM), (3.3, LAM, LAM), (4.0, 3 * LAM, LAM / 2),
    (5.0, LAM, 4 * LAM)])
def test_cdf_against_the_exact_stable_sampler(gamma, lam_t, lam_r):
    """Kanter's exact law of A per side (netsense.core.samplers.stable), 400 000 networks."""
    rng = np.random.default_rng(int(gamma * 100) + int(lam_t / lam_r))
    n = 400_000
    g23 = 2.0 / (sample_stable_sum(rng, lam_t, gamma, n) * sample_stable_sum(rng, lam_r, gamma, n))
    y = jensen_quantile(np.array(PROBS), gamma=gamma, lam_t=lam_t, lam_r=lam_r)
    for p, t in zip(PROBS, y, strict=True):
        frac = np.mean(g23 <= t)
        assert abs(frac - p) < MC_SIGMAS * math.sqrt(p * (1 - p) / n), (p, frac)


@pytest.mark.parametrize("gamma, lam_t, lam_r", [(2.5, LAM, LAM), (4.0, LAM / 8, LAM)])
def test_cdf_against_the_plane_sampler(gamma, lam_t, lam_r):
    """netsense's own sampler (K = 64, tied or separate streams), 200 000 networks; its K-nearest
    law sits within PLANE_K64_BIAS of the whole plane's."""
    n = 200_000
    out = simulate_block(5, PlaneSampler(64), lam_t, gamma, 0, n,
                         lam_r=None if lam_t == lam_r else lam_r)
    y = jensen_quantile(np.array(PROBS), gamma=gamma, lam_t=lam_t, lam_r=lam_r)
    for p, t in zip(PROBS, y, strict=True):
        frac = np.mean(out["g23"] <= t)
        tol = MC_SIGMAS * math.sqrt(p * (1 - p) / n) + PLANE_K64_BIAS
        assert abs(frac - p) < tol, (p, frac)


def test_coverage_in_metres_is_the_cdf_at_r_squared():
    scale = float(DEFAULT_SYSTEM.error_scale_m2(4, 2, db_to_lin(100.0)))
    r = np.array([0.5, 1.0, 2.0])
    got = jensen_coverage(r, gamma=2.5, lam_t=LAM, lam_r=LAM / 2, M_t=4, M_r=2, rho_s_db=100.0)
    np.testing.assert_array_equal(got, jensen_cdf(r ** 2 / scale, gamma=2.5, lam_t=LAM,
                                                  lam_r=LAM / 2))
    assert np.all(np.diff(got) > 0)
    with pytest.raises(InputError, match="rmse_m"):
        jensen_coverage([1.0, -1.0], gamma=2.5, lam_t=LAM, lam_r=LAM, M_t=4, M_r=4,
                        rho_s_db=100.0)
    with pytest.raises(InputError, match="gamma"):
        jensen_cdf(1.0, gamma=2.0, lam_t=LAM, lam_r=LAM)
