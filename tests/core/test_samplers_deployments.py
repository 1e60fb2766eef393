"""The non-Poisson samplers (matern, thomas, lattice): statistical tests with fixed seeds and
tolerances in standard errors.

References: Campbell's theorem (E[sum f] = lam int f for a stationary process of intensity lam),
the Matérn II retained intensity (1 - exp(-lam_p pi delta^2)) / (pi delta^2), the Thomas
process's count variance lam |B| + lam c int_B P(x + Z in B) dx (Z ~ N(0, 2 sigma^2 I), by
quadrature of the noncentral chi-square law), the hexagonal lattice's geometry, and isotropy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, spatial, stats

from netsense import InputError
from netsense.core.samplers import LatticeSampler, MaternSampler, NodeFactor, ThomasSampler
from netsense.core.samplers.lattice import lattice_constant, lattice_points
from netsense.core.samplers.matern import matern_points, parent_density
from netsense.core.samplers.thomas import thomas_points
from netsense.core.samplers.window import WINDOW_NODES, window_radius

# Statistical tolerance: |estimate - reference| <= Z_TOL standard errors. Two-sided normal tail
# at 4 sigma: false-failure probability ~6.3e-5 per check (a few dozen checks: < 0.3% overall;
# with fixed seeds a pass is reproducible).
Z_TOL = 4.0
# Geometry of the rigid lattice, computed from float64 coordinates of size ~1e3 m.
GEOM_RTOL = 1e-9

LAM = 1 / 900  # the study's density [m^-2]
RHO = 150.0    # radius of the test disk [m] (~80 nodes)

# One instance per kind and regime (points function of each: kind -> callable(rng, n, radius)).
POINTS = {
    "matern-d12": lambda rng, n, r: matern_points(rng, LAM, 12.0, r, n),
    "matern-d16": lambda rng, n, r: matern_points(rng, LAM, 16.0, r, n),
    "thomas-c5-s10": lambda rng, n, r: thomas_points(rng, LAM, 5.0, 10.0, r, n),
    "thomas-c2-s40": lambda rng, n, r: thomas_points(rng, LAM, 2.0, 40.0, r, n),
    "lattice-s0": lambda rng, n, r: lattice_points(rng, LAM, 0.0, r, n),
    "lattice-s15": lambda rng, n, r: lattice_points(rng, LAM, 15.0, r, n),
}
SAMPLER_OBJECTS = {
    "matern": MaternSampler(hardcore_m=12.0), "thomas": ThomasSampler(daughters=5.0,
                                                                       scatter_m=10.0),
    "lattice": LatticeSampler(noise_m=5.0),
}


def z_score(samples, reference):
    x = np.asarray(samples, float)
    se = x.std(ddof=1) / math.sqrt(x.size)
    return (x.mean() - reference) / se


def per_trial(owner, values, n):
    return np.bincount(owner, weights=values, minlength=n)


# ------------------------------------------------------------------------------------------
# Campbell's theorem: E[sum_x f(x)] = lam int f(x) dx, for several f


CAMPBELL_F = {
    # name: (f(x, y) restricted to |x| < RHO, lam * int f over the disk of radius RHO)
    "count": (lambda x, y: np.ones_like(x), LAM * math.pi * RHO**2),
    "r^2": (lambda x, y: x * x + y * y, LAM * math.pi * RHO**4 / 2),
    "gauss": (lambda x, y: np.exp(-(x * x + y * y) / (2 * 40.0**2)),
              LAM * 2 * math.pi * 40.0**2 * -math.expm1(-RHO**2 / (2 * 40.0**2))),
    "x+2 (shifted)": (lambda x, y: x + 2.0, LAM * 2.0 * math.pi * RHO**2),
}


@pytest.mark.parametrize("name", POINTS)
def test_campbell_mean_of_sums(name):
    n = 1500
    owner, x, y = POINTS[name](np.random.default_rng(7), n, RHO)
    inside = x * x + y * y < RHO**2
    for fname, (f, ref) in CAMPBELL_F.items():
        sums = per_trial(owner[inside], f(x[inside], y[inside]), n)
        assert abs(z_score(sums, ref)) <= Z_TOL, (name, fname)


@pytest.mark.parametrize("kind", SAMPLER_OBJECTS)
def test_campbell_through_side_stats_with_a_guard(kind):
    # Window plus far-field mean: E[A] = lam int_{r > g} r^-gamma dx = 2 pi lam g^(2-gamma)/(gamma-2)
    # exactly (the window's nodes by Campbell, the rest is the added mean); T's diagonal half each.
    g, gamma, n = 20.0, 3.0, 400
    sampler = dataclasses.replace(SAMPLER_OBJECTS[kind], guard_m=g)
    s = sampler.side_stats(np.random.default_rng(11), LAM, gamma, n)
    ref = 2 * math.pi * LAM * g ** (2 - gamma) / (gamma - 2)
    assert abs(z_score(s.A, ref)) <= Z_TOL
    assert abs(z_score(s.txx, ref / 2)) <= Z_TOL and abs(z_score(s.tyy, ref / 2)) <= Z_TOL
    assert abs(z_score(s.txy, 0.0)) <= Z_TOL and abs(z_score(s.vx, 0.0)) <= Z_TOL


# ------------------------------------------------------------------------------------------
# Matérn II


@pytest.mark.parametrize("delta", [8.0, 16.0])
def test_matern_hard_core_and_retained_intensity(delta):
    lam_p = 0.004  # parent intensity [m^-2], chosen here; the sweep's lam follows from it
    area = math.pi * delta**2
    lam = (1 - math.exp(-lam_p * area)) / area  # retained intensity
    assert parent_density(lam, delta) == pytest.approx(lam_p, rel=1e-12)
    n = 1500
    owner, x, y = matern_points(np.random.default_rng(3), lam, delta, RHO, n)
    inside = x * x + y * y < RHO**2
    counts = np.bincount(owner[inside], minlength=n)
    assert abs(z_score(counts, lam * math.pi * RHO**2)) <= Z_TOL
    # No two retained points of one trial closer than delta (a naive all-pairs check).
    for t in range(50):
        pts = np.column_stack([x[owner == t], y[owner == t]])
        assert spatial.distance.pdist(pts).min() >= delta


def test_bad_parameters_are_one_line():
    with pytest.raises(InputError, match=r"^sampler\.daughters: got 0; must be a finite number > 0 "
                                         r"\(mean daughters per cluster\)$"):
        ThomasSampler(daughters=0)
    with pytest.raises(InputError, match=r"^sampler\.noise_m: got -1\.0; must be a finite number >= 0"):
        LatticeSampler(noise_m=-1.0)
    with pytest.raises(InputError, match=r"^sampler\.hardcore_m: got 0; must be a finite number > 0"):
        MaternSampler(hardcore_m=0)


def test_matern_too_dense_is_one_line():
    with pytest.raises(InputError, match=r"^sampler\.hardcore_m: got 20\.0; too large .*"
                                         r"lam pi delta\^2 < 1"):
        MaternSampler(hardcore_m=20.0).side_stats(np.random.default_rng(0), LAM, 3.0, 10)


# ------------------------------------------------------------------------------------------
# Thomas


def thomas_count_variance(lam, c, sigma, rho):
    """lam pi rho^2 + lam c int_B P(|x + Z| < rho) dx, Z ~ N(0, 2 sigma^2 I): the pair term of a
    Poisson(c) cluster, by quadrature of the noncentral chi-square (2 dof) law."""
    s2 = 2 * sigma**2

    def inner(r):
        return 2 * math.pi * r * stats.ncx2.cdf(rho**2 / s2, 2, r**2 / s2)

    pair, _ = integrate.quad(inner, 0, rho, epsabs=0, epsrel=1e-10)
    return lam * math.pi * rho**2 + lam * c * pair


@pytest.mark.parametrize("c, sigma", [(5.0, 10.0), (2.0, 40.0)])
def test_thomas_count_variance(c, sigma):
    n = 6000
    owner, x, y = thomas_points(np.random.default_rng(5), LAM, c, sigma, RHO, n)
    inside = x * x + y * y < RHO**2
    counts = np.bincount(owner[inside], minlength=n).astype(float)
    ref = thomas_count_variance(LAM, c, sigma, RHO)
    assert ref > 1.5 * LAM * math.pi * RHO**2  # clustered: the test can tell it from a PPP
    dev2 = (counts - counts.mean()) ** 2  # sample variance = mean of dev2 (times n/(n-1))
    assert abs(z_score(dev2 * n / (n - 1), ref)) <= Z_TOL


# ------------------------------------------------------------------------------------------
# Lattice


def test_lattice_density_is_exact():
    a = lattice_constant(LAM)
    assert math.sqrt(3) / 2 * a * a * LAM == pytest.approx(1.0, rel=1e-14)
    n = 1500
    owner, x, y = lattice_points(np.random.default_rng(9), LAM, 0.0, RHO, n)
    inside = x * x + y * y < RHO**2
    counts = np.bincount(owner[inside], minlength=n)
    # A rigid lattice's count in a disk fluctuates only at the rim (~1.8 here against a PPP's
    # sqrt(mu) ~ 8.9): the SE is small and the test tight.
    assert counts.std() < 0.3 * math.sqrt(LAM * math.pi * RHO**2)
    assert abs(z_score(counts, LAM * math.pi * RHO**2)) <= Z_TOL


def test_unperturbed_lattice_nearest_neighbour_is_the_lattice_constant():
    a = lattice_constant(LAM)
    n = 5
    owner, x, y = lattice_points(np.random.default_rng(1), LAM, 0.0, RHO, n)
    for t in range(n):
        pts = np.column_stack([x[owner == t], y[owner == t]])
        d, _ = spatial.cKDTree(pts).query(pts, k=7)
        assert np.allclose(d[:, 1], a, rtol=GEOM_RTOL)
        interior = np.hypot(pts[:, 0], pts[:, 1]) < RHO - a  # all six neighbours placed
        # six neighbours at a, the seventh at sqrt(3) a (hexagonal cells)
        assert np.allclose(d[interior, 1:7], a, rtol=GEOM_RTOL)


# ------------------------------------------------------------------------------------------
# Every kind


@pytest.mark.parametrize("name", POINTS)
def test_isotropy(name):
    # E[u u^T] = I/2 per node: per trial, sum over the nodes of u_x^2 - 1/2 and u_x u_y has mean 0
    # (trials are independent, nodes within a trial are not: SEs over trials).
    n = 1500
    owner, x, y = POINTS[name](np.random.default_rng(13), n, RHO)
    r2 = x * x + y * y
    inside = r2 < RHO**2
    o, x, y, r2 = owner[inside], x[inside], y[inside], r2[inside]
    assert abs(z_score(per_trial(o, x * x / r2 - 0.5, n), 0.0)) <= Z_TOL
    assert abs(z_score(per_trial(o, x * y / r2, n), 0.0)) <= Z_TOL


@pytest.mark.parametrize("kind", SAMPLER_OBJECTS)
def test_side_stats_contract(kind):
    sampler = SAMPLER_OBJECTS[kind]
    s0 = sampler.side_stats(np.random.default_rng(2), LAM, 3.0, 50)
    ones = NodeFactor(lambda rng, shape: np.ones(shape), 1.0)
    s1 = sampler.side_stats(np.random.default_rng(2), LAM, 3.0, 50, node_factor=ones)
    # factors are drawn after the positions: unit factors leave every number as it is
    for a, b in zip(s0, s1, strict=True):
        assert a.shape == (50,) and np.array_equal(a, b)
    half = NodeFactor(lambda rng, shape: np.full(shape, 0.5), 0.5)
    s2 = sampler.side_stats(np.random.default_rng(2), LAM, 3.0, 50, node_factor=half)
    assert np.allclose(s2.A, 0.5 * s0.A, rtol=1e-12)  # also the far field's mean
    with pytest.raises(InputError, match=rf"^--gamma: got 2\.0; must be > 2 with sampler\.kind {kind}"):
        sampler.check_gamma("--gamma", 2.0)
    assert window_radius(LAM) == pytest.approx(math.sqrt(WINDOW_NODES * 900 / math.pi))
