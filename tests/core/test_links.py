"""Link models (netsense.core.links): heights, blockage and shadowing, one function at a time.

References, none of them the module's own reductions: the 3-D geometry of explicit layouts
(netsense.crlb's layout_stats on [x, y, z] nodes), Campbell integrals by QUADPACK, the CDF of
the LOS distances (KS test), Poisson counts, an enumeration of the Poisson counts for the
localizable probability, the lognormal moments by quadrature over the normal density, and
sample statistics (fixed seeds, tolerances in standard errors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from netsense import InputError
from netsense.core import links
from netsense.core.fisher import layout_stats, leg_stats

# |estimate - reference| <= Z_TOL standard errors: two-sided normal tail ~6e-5 per check.
Z_TOL = 4.0
# KS tests reject only below this p-value (false-failure probability 1e-4 per test).
KS_PVALUE_MIN = 1e-4
# QUADPACK asked for 1e-12 relative on smooth integrands: agreement to 1e-10 is its error.
QUAD_RTOL = 1e-10
# The same float64 numbers by two formulas (3-D norms vs r/d factors): a few ulps per term.
GEOM_RTOL = 1e-12
# phi(x) = x - log1p(x) by its series below 0.05 and directly above: both to a few ulps
# (measured 1.7e-15 against mpmath); 1e-14 leaves a margin.
PHI_RTOL = 1e-14
LAM = 1 / 900


def test_height_geometry_is_the_3d_geometry_of_a_layout():
    """Weights and vectors from (r^2, u, h) equal those of the same nodes as [x, y, h] points
    seen from a target at the origin (fisher.layout_stats, 3-D distances)."""
    rng = np.random.default_rng(1)
    n, h, gamma = 40, 12.5, 3.3
    r = 200 * np.sqrt(rng.uniform(size=n))
    phi = rng.uniform(-np.pi, np.pi, n)
    ux, uy = np.cos(phi), np.sin(phi)  # from the node to the target
    nodes = np.stack([-r * ux, -r * uy, np.full(n, h)], axis=1)
    w, ax, ay = links.height_geometry(r * r, ux, uy, gamma, h)
    mine = leg_stats(w, ax, ay)
    ref, _ = layout_stats(nodes, nodes[:3], [0.0, 0.0, 0.0], gamma)
    for f in mine._fields:
        np.testing.assert_allclose(getattr(mine, f), getattr(ref, f), rtol=GEOM_RTOL,
                                   atol=GEOM_RTOL * float(ref.A))
    # no height: the paper's weights and unit vectors, the same arrays
    w0, ax0, ay0 = links.height_geometry(r * r, ux, uy, gamma, 0.0)
    assert np.array_equal(w0, (r * r) ** (-gamma / 2)) and ax0 is ux and ay0 is uy


@pytest.mark.parametrize("gamma, h, r_edge", [(2.5, 10.0, 30.0), (4.0, 25.0, 5.0), (3.0, 0.0, 40.0)])
def test_far_field_tails_are_campbell_integrals(gamma, h, r_edge):
    a_tail, t_tail = links.far_field_tails(LAM, gamma, r_edge**2, h)

    def w(r):
        return (r * r + h * h) ** (-gamma / 2)

    ref_a = integrate.quad(lambda r: LAM * 2 * np.pi * r * w(r), r_edge, np.inf,
                           epsabs=0, epsrel=1e-12)[0]
    # sum w |a|^2 = sum w r^2/d^2, half on each diagonal entry of T (isotropic angles)
    ref_t = integrate.quad(lambda r: LAM * np.pi * r * w(r) * r * r / (r * r + h * h), r_edge,
                           np.inf, epsabs=0, epsrel=1e-12)[0]
    assert a_tail == pytest.approx(ref_a, rel=QUAD_RTOL)
    assert t_tail == pytest.approx(ref_t, rel=QUAD_RTOL)


def test_mean_sums_and_the_high_density_limit():
    gamma, h = 3.0, 10.0
    ea, eb = links.mean_sums(LAM, gamma, h)
    assert ea == pytest.approx(2 * np.pi * LAM * h ** (2 - gamma) / (gamma - 2), rel=1e-14)
    assert eb == pytest.approx(2 * ea / gamma, rel=1e-14)  # E[T] = E[A]/gamma I (links notes)
    lim = links.eq18_high_density_limit(LAM, 4 * LAM, gamma, h, h)
    assert lim == pytest.approx(gamma / (ea * links.mean_sums(4 * LAM, gamma, h)[0]), rel=1e-14)
    # with a guard zone the ratio E[B]/E[A] is no longer 2/gamma: the general form
    g = 8.0
    a2, b2 = links.mean_sums(LAM, gamma, h, guard_m=g)
    assert links.eq18_high_density_limit(LAM, LAM, gamma, h, h, g) == pytest.approx(
        4 / (2 * a2 * b2), rel=1e-14)
    assert links.mean_sums(LAM, gamma, 0.0) == (math.inf, math.inf)
    with pytest.raises(InputError, match=r"^height_m: got \(0\.0, 10\.0\); .*needs both heights"):
        links.eq18_high_density_limit(LAM, LAM, gamma, 0.0, 10.0)


@pytest.mark.parametrize("beta, r_min, r_max", [(0.01, 0.0, math.inf), (0.02, 15.0, math.inf),
                                                (0.005, 3.0, 200.0), (0.0, 5.0, 300.0)])
def test_los_count_mean_is_the_integral_of_the_los_intensity(beta, r_min, r_max):
    ref = integrate.quad(lambda r: LAM * math.exp(-beta * r) * 2 * math.pi * r, r_min, r_max,
                         epsabs=0, epsrel=1e-12)[0]
    assert links.los_count_mean(LAM, beta, r_min, r_max) == pytest.approx(ref, rel=QUAD_RTOL)
    assert links.los_count_mean(LAM, 0.0) == math.inf


def test_phi_and_its_inverse_at_every_scale():
    """phi(x) = x - log(1 + x) against mpmath (40 digits), and phi(phi^-1(c)) = c."""
    import mpmath as mp

    mp.mp.dps = 40
    x = np.logspace(-8, 2, 120)
    ref = np.array([float(mp.mpf(v) - mp.log1p(mp.mpf(v))) for v in x])
    np.testing.assert_allclose(links._phi(x), ref, rtol=PHI_RTOL)
    c = np.logspace(-14, 4, 200)
    inv = links._phi_inverse(c)
    assert np.all(inv > 0)
    np.testing.assert_allclose(links._phi(inv), c, rtol=PHI_RTOL)


@pytest.mark.parametrize("beta, r_min", [(0.01, 0.0), (0.02, 30.0)])
def test_los_radii_follow_the_los_intensity(beta, r_min):
    """P(r > x | r > r_min) = q(beta x) / q(beta r_min), q(y) = (1 + y) e^-y (KS test)."""
    rng = np.random.default_rng(11)
    r = links.los_radii(rng, beta, r_min, 20_000)
    assert r.min() >= r_min

    def cdf(x):
        x = np.maximum(np.asarray(x, float), r_min)
        return 1 - (1 + beta * x) * np.exp(-beta * (x - r_min)) / (1 + beta * r_min)

    assert stats.kstest(r, cdf).pvalue > KS_PVALUE_MIN


def test_los_nodes_counts_are_poisson_with_isotropic_directions():
    rng = np.random.default_rng(5)
    beta, n = 0.01, 6000
    owner, _r2, ux, uy = links.los_nodes(rng, LAM, beta, 0.0, n)
    counts = np.bincount(owner, minlength=n)
    mu = links.los_count_mean(LAM, beta)
    assert abs(counts.mean() - mu) <= Z_TOL * math.sqrt(mu / n)
    assert abs(counts.var(ddof=1) - mu) <= Z_TOL * math.sqrt((mu + 2 * mu**2) / n)
    np.testing.assert_allclose(ux * ux + uy * uy, 1.0, rtol=1e-14)
    for comp in (ux, uy):  # E[u] = 0 (full azimuths)
        assert abs(comp.mean()) <= Z_TOL * comp.std() / math.sqrt(comp.size)
    assert stats.kstest(np.arctan2(uy, ux), stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue \
        > KS_PVALUE_MIN


@pytest.mark.parametrize("mu_t, mu_r", [(0.3, 0.3), (1.5, 0.7), (4.0, 9.0)])
def test_localizable_probability_enumerates_the_counts(mu_t, mu_r):
    """P(N_t >= 1, N_r >= 1, N_t N_r >= 2) by summing the Poisson probabilities of each pair."""
    ks = np.arange(80)
    pt, pr = stats.poisson.pmf(ks, mu_t), stats.poisson.pmf(ks, mu_r)
    ok = (ks[:, None] >= 1) & (ks[None, :] >= 1) & (ks[:, None] * ks[None, :] >= 2)
    ref = float((pt[:, None] * pr[None, :] * ok).sum())
    assert links.localizable_probability(mu_t, mu_r) == pytest.approx(ref, abs=1e-14)


def test_localizable_probability_with_infinitely_many_nodes():
    # infinitely many TXs: localizable iff there is an RX
    assert links.localizable_probability(math.inf, 0.5) == pytest.approx(1 - math.exp(-0.5),
                                                                          rel=1e-15)
    assert links.localizable_probability(math.inf, math.inf) == 1.0


@pytest.mark.parametrize("sigma, p", [(4.0, 1.0), (8.0, 2 / 3), (12.0, 0.5), (6.0, -1.0)])
def test_shadow_moments_by_quadrature(sigma, p):
    k = math.log(10) / 10
    ref = integrate.quad(lambda z: math.exp(p * k * sigma * z) * stats.norm.pdf(z), -40, 40,
                         epsabs=0, epsrel=1e-12)[0]
    assert links.shadow_moment(sigma, p) == pytest.approx(ref, rel=QUAD_RTOL)
    assert links.shadowing_density_factor(sigma, 2 / p if p > 0 else 3.0) == pytest.approx(
        links.shadow_moment(sigma, p if p > 0 else 2 / 3), rel=1e-15)


def test_drawn_shadowing_is_lognormal_with_median_0_db():
    rng = np.random.default_rng(3)
    sigma, n = 8.0, 50_000
    db = 10 * np.log10(links.draw_shadowing(rng, sigma, n))
    assert abs(db.mean()) <= Z_TOL * sigma / math.sqrt(n)
    assert abs(db.std(ddof=1) - sigma) <= Z_TOL * sigma / math.sqrt(2 * (n - 1))
    assert stats.kstest(db / sigma, "norm").pvalue > KS_PVALUE_MIN


@pytest.mark.parametrize("field, kw, rule", [
    ("height_m", dict(height_m=-1.0), "must be a finite number >= 0 (metres; 0 = none)"),
    ("blockage_per_m", dict(blockage_per_m=float("nan")), "must be a finite number >= 0"),
    ("shadowing_db", dict(shadowing_db=-3), "must be a finite number >= 0 (dB"),
    ("shadowing_db", dict(shadowing_db=25.0), "must be <= 20 dB"),
    ("height_m", dict(height_m="10"), "must be a finite number >= 0"),
])
def test_bad_link_values_are_one_line(field, kw, rule):
    with pytest.raises(InputError) as exc:
        links.Link(**kw)
    assert exc.value.field == field and rule in str(exc.value) and "\n" not in str(exc.value)


def test_link_keys_name_only_what_departs_from_the_ideal_link():
    assert links.Link().ideal and links.Link().key() == ""
    assert links.Link(height_m=10).key() == ";height=10.0"
    assert links.Link(0, 0.02, 6).key() == ";blockage=0.02;shadowing=6.0"
    assert not links.Link(shadowing_db=1).ideal
