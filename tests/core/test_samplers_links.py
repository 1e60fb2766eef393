"""Every sampler kind under the link models (heights, blockage, shadowing).

References: the samplers without link models (bit for bit where every link parameter is 0),
Campbell's theorem (E[A] and E[tr T] of every kind, by QUADPACK), Monte Carlo written here
independently of the samplers (Poisson counts, rejection sampling in a square, 3-D layouts
through netsense.crlb's layout_stats, its own radial ordering and thinning), the exact means of
netsense.core.expectations, the localizable probability, and the high-density limit of eq. (18)
with heights. Statistical tolerances in standard errors, fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from netsense import InputError
from netsense.core.blocks import simulate_block, streams
from netsense.core.closed_form import lemma3_inv_sum
from netsense.core.expectations import (
    g23_mean,
    inv_sum_mean_link,
    inv_sum_mean_plane_nearest_guard,
    localizable_probability,
)
from netsense.core.fisher import LegStats, crlb_geometric, jensen_geometric, layout_stats
from netsense.core.links import (
    eq18_high_density_limit,
    los_count_mean,
    shadow_moment,
    shadowing_density_factor,
)
from netsense.core.samplers import SAMPLERS, sampler_from_mapping
from netsense.core.stats import cv_estimate
from netsense.pipeline.config import resolve

# |estimate - reference| <= Z_TOL standard errors: two-sided normal tail ~6e-5 per check.
Z_TOL = 4.0
LAM = 1 / 900
KINDS = list(SAMPLERS)
LINK_KEYS = ("height_m", "height_t_m", "height_r_m", "blockage_per_m", "shadowing_db")


def z_of(x, ref):
    x = np.asarray(x, float)
    return (x.mean() - ref) / (x.std(ddof=1) / math.sqrt(x.size))


def z_two(x, y):
    """z-score of the difference of two independent sample means."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    se = math.hypot(x.std(ddof=1) / math.sqrt(x.size), y.std(ddof=1) / math.sqrt(y.size))
    return (x.mean() - y.mean()) / se


# ------------------------------------------------------------------------------------------
# No link model: everything as before


@pytest.mark.parametrize("kind", KINDS)
def test_zero_link_parameters_leave_every_kind_bit_for_bit(kind):
    plain = SAMPLERS[kind]()
    zero = sampler_from_mapping({"kind": kind, **{k: 0 for k in LINK_KEYS}})
    assert zero == plain and not zero.has_link
    assert zero.key() == plain.key() and zero.label() == plain.label()
    assert zero.to_mapping() == plain.to_mapping() and not set(LINK_KEYS) & set(zero.to_mapping())
    assert zero.side_key("tx") == zero.key() == zero.side_key("rx")
    gamma = 3.0
    a = simulate_block(7, plain, LAM, gamma, 0, 64)
    b = simulate_block(7, zero, LAM, gamma, 0, 64)
    for f in ("g18", "g23"):
        assert np.array_equal(a[f], b[f])
    assert streams(zero, gamma, 64, LAM) == streams(plain, gamma, 64, LAM)


def test_keys_labels_and_mappings_of_link_models():
    s = sampler_from_mapping({"kind": "plane", "height_m": 10, "blockage_per_m": 0.02,
                              "shadowing_db": 6})
    assert s.height_t_m == s.height_r_m == 10.0
    assert s.key() == "plane;K=64;height=10.0;blockage=0.02;shadowing=6.0"
    assert s.label() == "plane-K64-h10-b0.02-sh6"
    assert s.to_mapping() == {"kind": "plane", "nearest": 64, "height_m": 10.0,
                              "blockage_per_m": 0.02, "shadowing_db": 6.0}
    assert sampler_from_mapping(s.to_mapping()) == s
    t = sampler_from_mapping({"kind": "disk", "height_t_m": 10, "guard_m": 5})
    assert t.key() == "disk;R=500.0;guard=5.0;height_t=10.0" and t.label() == "disk-R500-g5-ht10"
    assert t.side_key("tx") == "disk;R=500.0;guard=5.0;height=10.0"
    assert t.side_key("rx") == "disk;R=500.0;guard=5.0"  # the RX side shares the plain streams
    assert sampler_from_mapping(t.to_mapping()) == t
    assert "TX 10 m / RX 0 m high" in t.describe()
    # separate streams carry each side's own link only
    tx, rx = streams(t, 3.0, 100, LAM, 2 * LAM)
    assert ";height=10.0" in tx.key and "height" not in rx.key


@pytest.mark.parametrize("entry, field, rule", [
    ({"height_m": 10, "height_t_m": 5}, "sampler.height_m", "not both forms"),
    ({"height_m": -3}, "sampler.height_m", ">= 0"),
    ({"height_r_m": float("inf")}, "sampler.height_r_m", ">= 0"),
    ({"blockage_per_m": -0.1}, "sampler.blockage_per_m", ">= 0"),
    ({"shadowing_db": 50}, "sampler.shadowing_db", "<= 20 dB"),
])
def test_bad_link_entries_are_one_line(entry, field, rule):
    with pytest.raises(InputError) as exc:
        sampler_from_mapping({"kind": "plane", **entry})
    assert exc.value.field == field and rule in str(exc.value) and "\n" not in str(exc.value)


def test_a_config_with_link_entries_resolves():
    cfg = resolve({"name": "t", "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/900"],
                                          "gamma": [3.0]},
                   "sampler": [{"kind": "plane"}, {"kind": "plane", "height_m": 10},
                               {"kind": "matern", "blockage_per_m": 0.01, "shadowing_db": 4}],
                   "trials": 100, "block_trials": 100})
    assert cfg.sampler_labels == ["plane-K64", "plane-K64-h10", "matern-d10-b0.01-sh4"]


# ------------------------------------------------------------------------------------------
# Campbell's theorem: E[A] and E[tr T] of every kind under every link model


def campbell(lam, gamma, h, beta, sigma, r_min=0.0, r_max=math.inf):
    """E[A] and E[B], B = sum w |a|^2, by QUADPACK from the intensity of the usable nodes."""
    def w(r):
        return (r * r + h * h) ** (-gamma / 2)

    def dens(r):
        return lam * 2 * math.pi * r * math.exp(-beta * r)

    ea = integrate.quad(lambda r: dens(r) * w(r), r_min, r_max, epsabs=0, epsrel=1e-11,
                        limit=400)[0]
    eb = integrate.quad(lambda r: dens(r) * w(r) * r * r / (r * r + h * h), r_min, r_max,
                        epsabs=0, epsrel=1e-11, limit=400)[0]
    es = shadow_moment(sigma, 1.0) if sigma else 1.0
    return ea * es, eb * es


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("link", [dict(height_m=10.0, shadowing_db=6.0),
                                  dict(height_m=10.0, blockage_per_m=0.01)])
def test_every_kind_has_the_campbell_means_under_its_link(kind, link):
    """E[A] and E[tr T] over networks equal the integrals of the usable nodes' intensity for
    any stationary process (Campbell): the window's nodes, the far field's mean or the LOS
    nodes beyond it, the heights' weights and vectors, the gains' mean, all at once."""
    s = sampler_from_mapping({"kind": kind, **link, "guard_m": 5.0})
    rng = np.random.default_rng([KINDS.index(kind), len(link), int(link.get("shadowing_db", 0))])
    st = s.sample_side(rng, LAM, 3.0, 3000, side="rx")
    r_max = s.radius_m if kind == "disk" else math.inf
    ea, eb = campbell(LAM, 3.0, 10.0, link.get("blockage_per_m", 0.0),
                      link.get("shadowing_db", 0.0), 5.0, r_max)
    assert abs(z_of(st.A, ea)) < Z_TOL
    assert abs(z_of(st.txx + st.tyy, eb)) < Z_TOL


def test_beyond_the_window_every_los_node_is_sampled():
    """An empty window under blockage leaves the LOS nodes beyond R: a Poisson number with mean
    lam int_R^inf e^(-beta r) 2 pi r dr (P(A = 0) = e^-mu) and E[A] the Campbell integral from R
    (the mean alone would hide them: they weigh little in E[A] of a full window)."""
    from netsense.core.links import Link
    from netsense.core.samplers.window import window_link_stats

    lam, beta, h, radius, n = LAM, 0.02, 10.0, 300.0, 20_000  # mu = 0.30 beyond R
    empty = np.array([], dtype=int), np.array([]), np.array([])
    st = window_link_stats(np.random.default_rng(6), *empty, n, lam, 3.0, radius,
                           Link(h, beta, 0.0))
    mu = los_count_mean(lam, beta, radius)
    assert abs(z_of(st.A == 0, math.exp(-mu))) < Z_TOL
    ea, eb = campbell(lam, 3.0, h, beta, 0.0, radius)
    assert abs(z_of(st.A, ea)) < Z_TOL and abs(z_of(st.txx + st.tyy, eb)) < Z_TOL


# ------------------------------------------------------------------------------------------
# Heights


def independent_disk(rng, lam, radius, h_t, h_r, gamma, n, beta=0.0):
    """g18, g23 and the usable counts of n networks: Poisson counts, points by rejection in the
    square, LOS thinning, [x, y, h] nodes through netsense.crlb's 3-D layout_stats."""
    def side(h):
        k = rng.poisson(lam * 4 * radius * radius)  # in the square, then kept in the disk
        p = rng.uniform(-radius, radius, size=(k, 2))
        p = p[(p**2).sum(1) < radius**2]
        if beta > 0:
            p = p[rng.uniform(size=len(p)) < np.exp(-beta * np.hypot(p[:, 0], p[:, 1]))]
        return np.column_stack([p, np.full(len(p), h)])

    g18, g23, counts = np.empty(n), np.empty(n), np.empty((n, 2), int)
    for i in range(n):
        tx, rx = side(h_t), side(h_r)
        counts[i] = len(tx), len(rx)
        if len(tx) == 0 or len(rx) == 0:
            g18[i] = g23[i] = np.inf
            continue
        st, sr = layout_stats(tx, rx, [0.0, 0.0, 0.0], gamma)
        g18[i], g23[i] = crlb_geometric(st, sr), jensen_geometric(st, sr)
    return g18, g23, counts


def test_disk_with_heights_matches_an_independent_monte_carlo_and_its_exact_mean():
    lam, radius, h_t, h_r, gamma, n = 1 / 400, 120.0, 10.0, 25.0, 3.0, 3000
    s = sampler_from_mapping({"kind": "disk", "radius_m": radius, "height_t_m": h_t,
                              "height_r_m": h_r})
    out = simulate_block(3, s, lam, gamma, 0, n)
    g18, g23, _ = independent_disk(np.random.default_rng(4), lam, radius, h_t, h_r, gamma, n)
    assert np.isfinite(out["g18"]).all() and np.isfinite(g18).all()
    assert abs(z_two(out["g18"], g18)) < Z_TOL
    exact = 2 * inv_sum_mean_link(lam, gamma, height_m=h_t, r_max=radius) * inv_sum_mean_link(
        lam, gamma, height_m=h_r, r_max=radius)
    assert g23_mean(s, lam, gamma) == pytest.approx(exact, rel=1e-12)
    assert abs(z_of(out["g23"], exact)) < Z_TOL
    assert abs(z_of(g23, exact)) < Z_TOL


@pytest.mark.parametrize("gamma, h, g", [(2.5, 10.0, 0.0), (4.0, 25.0, 0.0), (3.0, 10.0, 8.0)])
def test_plane_with_heights_matches_its_quadrature(gamma, h, g):
    """E[eq. 23] of the plane sampler with heights against its exact mean: the guarded sampler's
    quadrature at g' = sqrt(g^2 + h^2) (A's law is the same), in standard errors."""
    s = sampler_from_mapping({"kind": "plane", "height_m": h, "guard_m": g, "nearest": 32})
    exact = 2 * inv_sum_mean_plane_nearest_guard(LAM, gamma, 32, math.hypot(g, h)) ** 2
    assert g23_mean(s, LAM, gamma) == pytest.approx(exact, rel=1e-14)
    out = simulate_block(11, s, LAM, gamma, 0, 20_000)
    assert abs(z_of(out["g23"], exact)) < Z_TOL
    # the control variate keeps its exact mean: eq. (18) by the control variate is unbiased
    est = cv_estimate(out["g18"], out["g23"], exact)
    assert est.method == "control_variate" and est.variance_reduction > 5


def test_high_density_eq18_approaches_its_limit():
    """With heights eq. (18) tends to 4/(E[A_r] E[B_t] + E[A_t] E[B_r]) ~ 1/(lam_t lam_r): at
    lam pi h^2 = L the relative gap shrinks like 1/L (measured ~0.17/L at gamma = 3 with
    K = 1024; the K nearest nodes carry the fluctuations, the far field its mean)."""
    h, gamma = 10.0, 3.0
    s = sampler_from_mapping({"kind": "plane", "nearest": 1024, "height_m": h})
    gaps = {}
    for L in (10.0, 100.0):
        lam = L / (math.pi * h * h)
        out = simulate_block(5, s, lam, gamma, 0, 2500)
        est = cv_estimate(out["g18"], out["g23"], g23_mean(s, lam, gamma))
        lim = eq18_high_density_limit(lam, lam, gamma, h, h)
        gaps[L] = (float(est.mean) / lim - 1, float(est.sem) / lim)
    (g10, se10), (g100, se100) = gaps[10.0], gaps[100.0]
    assert g10 > Z_TOL * se10 and g100 > Z_TOL * se100  # above the limit (convexity of tr G^-1)
    assert g100 < 0.005 and g10 / g100 == pytest.approx(10, rel=0.5)


# ------------------------------------------------------------------------------------------
# Blockage


def test_blockage_localizable_fraction_and_conditional_mean():
    """The plane sampler's LOS nodes (exact and complete) against an independent Monte Carlo
    (a PPP in a 1.5 km disk thinned by exp(-beta r): the LOS mass beyond it is 3e-12 of mu)
    and against the localizable probability and E[1/A | A > 0] by quadrature."""
    lam, beta, h, gamma, n = 1e-4, 0.02, 10.0, 3.0, 4000
    s = sampler_from_mapping({"kind": "plane", "blockage_per_m": beta, "height_m": h})
    out = simulate_block(2, s, lam, gamma, 0, 20_000)
    p_exact = localizable_probability(s, lam)
    mu = los_count_mean(lam, beta)
    assert p_exact == pytest.approx((1 - math.exp(-mu)) ** 2 - (mu * math.exp(-mu)) ** 2)
    frac = np.isfinite(out["g18"])
    assert abs(z_of(frac, p_exact)) < Z_TOL
    inv = inv_sum_mean_link(lam, gamma, height_m=h, blockage_per_m=beta)
    finite23 = out["g23"][np.isfinite(out["g23"])]
    assert abs(z_of(finite23, 2 * inv * inv)) < Z_TOL
    assert g23_mean(s, lam, gamma) == pytest.approx(2 * inv * inv, rel=1e-14)
    g18, g23, counts = independent_disk(np.random.default_rng(8), lam, 1500.0, h, h, gamma, n,
                                        beta)
    rule = (counts[:, 0] >= 1) & (counts[:, 1] >= 1) & (counts[:, 0] * counts[:, 1] >= 2)
    assert np.array_equal(np.isfinite(g18), rule)  # rank 2 exactly when the counts allow it
    assert abs(z_of(rule, p_exact)) < Z_TOL
    assert abs(z_of(g23[np.isfinite(g23)], 2 * inv * inv)) < Z_TOL


def test_blockage_memory_counts_the_los_nodes():
    s = sampler_from_mapping({"kind": "plane", "blockage_per_m": 0.01})
    assert s.nodes_per_trial(LAM) == pytest.approx(2 * math.pi * LAM / 0.01**2)
    m = sampler_from_mapping({"kind": "matern", "blockage_per_m": 0.01})
    assert m.nodes_per_trial(LAM) > SAMPLERS["matern"]().nodes_per_trial(LAM)
    assert localizable_probability(m, LAM) is None  # the window's counts are not Poisson
    assert localizable_probability(SAMPLERS["thomas"](), LAM) == 1.0


# ------------------------------------------------------------------------------------------
# Shadowing


def test_a_shadowed_ppp_is_the_unshadowed_one_at_density_lam_e_s_delta():
    """Physical shadowing simulated here (its own radial ordering of the 256 nearest nodes with
    i.i.d. lognormal gains, the far field's mean times E[S]) against the unshadowed plane
    sampler at lam E[S^(2/gamma)] (eq. 18) and Lemma 3 at that density (eq. 23)."""
    gamma, sigma, n, k = 3.0, 8.0, 12_000, 256
    rng = np.random.default_rng(21)
    lam_eq = LAM * shadowing_density_factor(sigma, gamma)

    def side():
        r2 = np.cumsum(rng.standard_exponential((n, k)), axis=1) / (math.pi * LAM)
        phi = rng.uniform(-math.pi, math.pi, (n, k))
        w = r2 ** (-gamma / 2) * 10 ** (sigma * rng.standard_normal((n, k)) / 10)
        ux, uy = np.cos(phi), np.sin(phi)
        tail = shadow_moment(sigma, 1) * 2 * math.pi * LAM * r2[:, -1] ** (1 - gamma / 2) / (
            gamma - 2)
        return LegStats(A=w.sum(1) + tail, txx=(w * ux * ux).sum(1) + tail / 2,
                        txy=(w * ux * uy).sum(1), tyy=(w * uy * uy).sum(1) + tail / 2,
                        vx=(w * ux).sum(1), vy=(w * uy).sum(1))

    st, sr = side(), side()
    g18, g23 = crlb_geometric(st, sr), jensen_geometric(st, sr)
    exact23 = 2 * float(lemma3_inv_sum(lam_eq, gamma)) ** 2
    assert abs(z_of(g23, exact23)) < Z_TOL
    plain = sampler_from_mapping({"kind": "plane"})
    ref = simulate_block(1, plain, lam_eq, gamma, 0, 50_000)
    ref18 = cv_estimate(ref["g18"], ref["g23"], g23_mean(plain, lam_eq, gamma))
    mine = cv_estimate(g18, g23, exact23)
    se = math.hypot(float(ref18.sem), float(mine.sem))
    assert abs(float(mine.mean) - float(ref18.mean)) < Z_TOL * se
    # the sampler itself: the displacement theorem, the plane sampler at lam E[S^delta]
    s = sampler_from_mapping({"kind": "plane", "shadowing_db": sigma})
    assert s.scale_free and g23_mean(s, LAM, gamma) == pytest.approx(
        g23_mean(plain, lam_eq, gamma), rel=1e-14)
    out = simulate_block(9, s, LAM, gamma, 0, 20_000)
    assert abs(z_of(out["g23"], g23_mean(s, LAM, gamma))) < Z_TOL


def test_shadowing_with_heights_has_no_exact_mean_and_runs_plain():
    s = sampler_from_mapping({"kind": "plane", "shadowing_db": 6.0, "height_m": 10.0})
    assert math.isnan(g23_mean(s, LAM, 3.0))
    out = simulate_block(1, s, LAM, 3.0, 0, 200)
    assert np.isfinite(out["g18"]).all()
