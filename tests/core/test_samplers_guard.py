"""Guard zone (``guard_m``): no node closer than g to the target, for every sampler kind.

References: the unguarded samplers (bit for bit where g is absent or 0), the law of the nearest
distance beyond the guard, P(r_1 > r) = exp(-lam pi (r^2 - g^2)), Campbell's theorem on the
annulus, naive sums over hand-placed nodes, mpmath evaluations of the defining integrals of
E[1/A] (the PGFL of eq. 31-35 with the radial integral from g; the radial-ordering double
integral of the guarded plane sampler), and Monte Carlo with the guarded sampler (4 SE).
"""

from __future__ import annotations

import itertools
import json
import math

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate, stats

from netsense import InputError
from netsense.core.blocks import simulate_block
from netsense.core.expectations import (
    g23_mean,
    inv_sum_mean,
    inv_sum_mean_plane,
    inv_sum_mean_plane_guard,
    inv_sum_mean_plane_nearest,
    inv_sum_mean_plane_nearest_guard,
)
from netsense.core.samplers import DiskSampler, PlaneSampler, sampler_from_mapping, schema_properties
from netsense.core.samplers.window import window_stats
from netsense.pipeline.config import resolve

LAM = 1 / 900
# Statistical tolerance: 4 standard errors (two-sided normal tail ~6e-5 per check).
Z_TOL = 4.0
# KS tests: reject only below this p-value (false-failure probability 1e-4 per test).
KS_PVALUE_MIN = 1e-4
# Against mpmath: the package's composite Gauss-Legendre / QUADPACK forms are exact to ~1e-14;
# a control mean needs 1e-10; 1e-12 sits between the two.
MPMATH_RTOL = 1e-12
MP_DPS = 25
# The nested QUADPACK reference (float64, three levels): asked for 1e-11 at each level, it
# agrees with itself under refinement to ~1e-10; the package's value must be within 1e-9.
NESTED_EPSREL = 1e-11
NESTED_RTOL = 1e-9
# Same numbers summed in another order (a few terms): float64 rounding.
SUM_RTOL = 1e-12


def z_score(samples, reference):
    x = np.asarray(samples, float)
    return (x.mean() - reference) / (x.std(ddof=1) / math.sqrt(x.size))


# ------------------------------------------------------------------------------------------
# No guard: everything as before


@pytest.mark.parametrize("entry, cls, guard", [({"kind": "plane"}, PlaneSampler, 0.0),
                                               ({"kind": "plane", "guard_m": 0}, PlaneSampler, 0.0),
                                               ({"kind": "disk", "guard_m": 0.0}, DiskSampler, 0.0),
                                               ({"kind": "plane", "guard_m": 5}, PlaneSampler, 5.0),
                                               ({"kind": "disk", "guard_m": 5}, DiskSampler, 5.0)])
def test_the_guard_is_a_field_of_every_kind_and_zero_is_no_guard(entry, cls, guard):
    s = sampler_from_mapping(entry)
    assert type(s) is cls and s.guard_m == guard
    assert sampler_from_mapping(s.to_mapping()) == s  # mapping round trip
    if guard == 0:
        assert s == cls() and "guard" not in s.key() and "guard_m" not in s.to_mapping()
        assert s.key() == cls().key() and s.label() == cls().label()
    else:
        assert s.key().endswith(";guard=5.0") and s.label().endswith("-g5")
        assert s.to_mapping()["guard_m"] == 5.0 and "guard 5 m" in s.describe()


def test_guard_zero_leaves_the_numbers_bit_for_bit():
    a = simulate_block(3, PlaneSampler(), LAM, 3.0, 0, 200)
    b = simulate_block(3, sampler_from_mapping({"kind": "plane", "guard_m": 0}), LAM, 3.0, 0, 200)
    assert np.array_equal(a["g18"], b["g18"]) and np.array_equal(a["g23"], b["g23"])


def test_bad_guard_is_one_line():
    with pytest.raises(InputError, match=r"^sampler\.guard_m: got -1; must be a finite number >= 0"):
        sampler_from_mapping({"kind": "plane", "guard_m": -1})
    with pytest.raises(InputError, match=r"^sampler\.guard_m: got -2\.0; must be a finite number >= 0"):
        sampler_from_mapping({"kind": "matern", "guard_m": -2.0})
    with pytest.raises(InputError, match=r"^sampler\.guard_m: got 600\.0; must be below radius_m"):
        sampler_from_mapping({"kind": "disk", "radius_m": 500, "guard_m": 600.0})
    assert schema_properties()["guard_m"]["default"] == 0.0


def test_a_config_with_guards_resolves():
    doc = {"name": "g", "trials": 100, "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/900"],
                                                  "gamma": [3]},
           "sampler": [{"kind": "plane"}, {"kind": "plane", "guard_m": 20},
                       {"kind": "lattice", "noise_m": 5, "guard_m": 20}]}
    cfg = resolve(json.loads(json.dumps(doc)))
    assert cfg.sampler_labels == ["plane-K64", "plane-K64-g20", "lattice-s5-g20"]


# ------------------------------------------------------------------------------------------
# Guarded plane sampler


def test_guarded_plane_nearest_distance_law():
    g, n = 25.0, 20000
    s = PlaneSampler(nearest=1, guard_m=g)
    # K = 1: A = r_1^-gamma + far-field mean 2 pi lam r_1^(2-gamma)/(gamma-2), monotone in r_1.
    gamma = 4.0
    st = s.side_stats(np.random.default_rng(1), LAM, gamma, n)
    # invert A(r) = r^-4 (1 + pi lam r^2) for r^2 (a quadratic in u = r^-2): u^2 + pi lam u = A
    u = 0.5 * (-math.pi * LAM + np.sqrt((math.pi * LAM) ** 2 + 4 * st.A))
    r2 = 1.0 / u
    assert r2.min() >= g * g * (1 - 1e-12)
    p = stats.kstest(LAM * math.pi * (r2 - g * g), "expon").pvalue  # pi lam (r^2 - g^2) ~ Exp(1)
    assert p > KS_PVALUE_MIN


@pytest.mark.parametrize("gamma, nearest, g, seed", [(2.5, 64, 20.0, 1), (4.0, 8, 40.0, 2)])
def test_guarded_plane_matches_its_exact_mean(gamma, nearest, g, seed):
    s = PlaneSampler(nearest=nearest, guard_m=g)
    st = s.side_stats(np.random.default_rng(seed), LAM, gamma, 40000)
    exact = inv_sum_mean_plane_nearest_guard(LAM, gamma, nearest, g)
    assert abs(z_score(1.0 / st.A, exact)) <= Z_TOL
    assert inv_sum_mean(s, LAM, gamma) == exact
    assert g23_mean(s, LAM, gamma) == 2 * exact * exact


def _mp_guard_pgfl(gamma, g0):
    """E[1/B] = int_0^inf exp(-int_g0^inf (1 - exp(-s v^-a)) dv) ds (eq. 31-35 from the guard),
    the radial integral in mpmath's closed form: Gamma(1-d) s^d - g0 + d s^d Gamma(-d, s g0^-a)
    (mpmath's incomplete gamma of negative order; d = 1/a)."""
    with mp.workdps(MP_DPS):
        a = mp.mpf(gamma) / 2
        d, g0 = 1 / a, mp.mpf(g0)

        def laplace(s):
            return mp.exp(-(mp.gamma(1 - d) * s**d - g0 + d * s**d * mp.gammainc(-d, s * g0**-a)))

        sc = mp.gamma(1 - d) ** -a
        return float(mp.quad(laplace, [0, sc / 100, sc / 10, sc, 10 * sc, 100 * sc, 1000 * sc,
                                       mp.inf]))


@pytest.mark.parametrize("gamma, g", [(2.05, 20.0), (2.5, 10.0), (3.0, 30.0), (4.0, 60.0),
                                      (6.0, 100.0)])
def test_guarded_plane_infinite_matches_mpmath(gamma, g):
    g0 = math.pi * LAM * g * g
    ref = _mp_guard_pgfl(gamma, g0)
    got = inv_sum_mean_plane_guard(1 / math.pi, gamma, math.sqrt(g0))  # pi lam = 1: E[1/B]
    assert got == pytest.approx(ref, rel=MPMATH_RTOL, abs=0)
    # scaling with density: E[1/A] = (pi lam)^(-gamma/2) E[1/B] at the same g0
    assert inv_sum_mean_plane_guard(LAM, gamma, g) == pytest.approx(
        (math.pi * LAM) ** (-gamma / 2) * ref, rel=MPMATH_RTOL)


def _nested_nearest_guard(gamma, nearest, g0):
    """The guarded plane sampler's E[1/B] as its defining triple integral, each by QUADPACK:
    over E_K = e and s, E[exp(-s B) | e] = exp(-s (G^-a + c G^(1-a))) psi^(K-1), psi the mean of
    exp(-s v^-a) over v uniform on [g0, G] (a third quadrature), G = g0 + e."""
    a, c, k = gamma / 2, 2 / (gamma - 2), nearest

    def given_e(e):
        big_g = g0 + e

        def lap(s):
            psi = integrate.quad(lambda v: math.exp(-s * v**-a), g0, big_g, epsabs=0,
                                 epsrel=NESTED_EPSREL)[0] / e
            return math.exp(-s * (big_g**-a + c * big_g ** (1 - a))) * psi ** (k - 1)

        sc = big_g**a / (1 + c * big_g)
        pts = [0, sc / 10, sc, 10 * sc, 100 * sc]
        return sum(integrate.quad(lap, lo, hi, epsabs=0, epsrel=NESTED_EPSREL, limit=200)[0]
                   for lo, hi in itertools.pairwise(pts)) + integrate.quad(
            lap, pts[-1], np.inf, epsabs=0, epsrel=NESTED_EPSREL)[0]

    def outer(e):
        return e ** (k - 1) * math.exp(-e) / math.factorial(k - 1) * given_e(e)

    return sum(integrate.quad(outer, lo, hi, epsabs=0, epsrel=NESTED_EPSREL, limit=200)[0]
               for lo, hi in ((0, 1), (1, 2 * k + 4), (2 * k + 4, 60)))


@pytest.mark.parametrize("gamma, nearest, g0", [(2.5, 3, 2.0)])
def test_guarded_plane_nearest_matches_a_nested_quadrature(gamma, nearest, g0):
    ref = _nested_nearest_guard(gamma, nearest, g0)
    got = inv_sum_mean_plane_nearest_guard(1 / math.pi, gamma, nearest, math.sqrt(g0))
    assert got == pytest.approx(ref, rel=NESTED_RTOL, abs=0)


@pytest.mark.parametrize("gamma", [2.5, 4.0])
def test_guarded_plane_nearest_k1_single_integral(gamma):
    # K = 1: E[1/B] = int e^-e G^a / (1 + c G) de, G = g0 + e (the s integral in closed form).
    g0 = 1.3
    with mp.workdps(MP_DPS):
        a, c = mp.mpf(gamma) / 2, 2 / (mp.mpf(gamma) - 2)
        ref = float(mp.quad(lambda e: mp.exp(-e) * (g0 + e) ** a / (1 + c * (g0 + e)),
                            [0, 1, 10, mp.inf]))
    got = inv_sum_mean_plane_nearest_guard(1 / math.pi, gamma, 1, math.sqrt(g0))
    assert got == pytest.approx(ref, rel=MPMATH_RTOL, abs=0)


@pytest.mark.parametrize("gamma", [2.5, 3.0, 4.0])
def test_guarded_limits(gamma):
    # g -> 0: the unguarded forms, to first order in g0 = pi lam g^2 (~3.5e-11 here)
    g = 1e-4
    assert inv_sum_mean_plane_guard(LAM, gamma, g) == pytest.approx(
        inv_sum_mean_plane(LAM, gamma), rel=1e-9)
    assert inv_sum_mean_plane_nearest_guard(LAM, gamma, 16, g) == pytest.approx(
        inv_sum_mean_plane_nearest(LAM, gamma, 16), rel=1e-9)
    # K -> inf: the whole plane outside the guard, from below (1/A convex, as unguarded)
    inf = inv_sum_mean_plane_guard(LAM, gamma, 20.0)
    k64, k512 = (inv_sum_mean_plane_nearest_guard(LAM, gamma, k, 20.0) for k in (64, 512))
    assert k64 < k512 < inf and (inf - k512) < 0.1 * (inf - k64)
    assert inf > inv_sum_mean_plane(LAM, gamma)  # a guard removes the strongest nodes


# ------------------------------------------------------------------------------------------
# Guarded disk and the windowed kinds


def test_guarded_disk_campbell():
    g, r, gamma, n = 30.0, 300.0, 3.0, 20000
    st = DiskSampler(radius_m=r, guard_m=g).side_stats(np.random.default_rng(4), LAM,
                                                              gamma, n)
    ref = 2 * math.pi * LAM * (g ** (2 - gamma) - r ** (2 - gamma)) / (gamma - 2)
    assert abs(z_score(st.A, ref)) <= Z_TOL
    assert st.A.max() < 1.5 * math.pi * LAM * r * r * g**-gamma  # no node inside the guard


def test_window_stats_drops_the_guard_and_the_outside():
    # hand-placed nodes of 2 trials: kept are 10 <= r < 100 [m]
    owner = np.array([0, 0, 0, 1, 1, 1])
    x = np.array([5.0, 30.0, 0.0, 150.0, -20.0, 0.0])
    y = np.array([0.0, 40.0, -10.0, 0.0, 0.0, 99.0])
    gamma, lam = 3.0, LAM
    st = window_stats(np.random.default_rng(0), owner, x, y, 2, lam, gamma, 100.0, 10.0)
    tail = 2 * math.pi * lam * 100.0 ** (2 - gamma) / (gamma - 2)
    naive_a = [50.0**-3 + 10.0**-3, 20.0**-3 + 99.0**-3]
    assert np.allclose(st.A, np.array(naive_a) + tail, rtol=SUM_RTOL, atol=0)
    # unit vectors from the node to the target: node (30, 40) -> (-0.6, -0.8)
    assert st.vx[0] == pytest.approx(-0.6 * 50.0**-3, rel=SUM_RTOL)
    assert st.vy[0] == pytest.approx(-0.8 * 50.0**-3 + 10.0**-3, rel=SUM_RTOL)
    assert st.txx[1] == pytest.approx(20.0**-3 + 0.5 * tail, rel=SUM_RTOL)
