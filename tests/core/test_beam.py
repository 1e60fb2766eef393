"""TX beamforming models beyond Remark 1 (netsense.beam) and their hook into the samplers and MC.

References: a brute-force complex evaluation of |a^H w|^2 over the DFT codebook (numpy's FFT
matrix), the scalloping bound of the Fejer kernel, scipy quadrature and Monte Carlo averages of
the gain, the explicit-layout CRLB of netsense.fisher (factorized and the literal double sum), and
Lemma 3 / Theorem 2 of [1] for a PPP with i.i.d. marks.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from netsense import DiskSampler, InputError, PlaneSampler, SystemParams
from netsense.core.beam import (
    BEAM_MODELS,
    beam_key,
    beam_node_factor,
    codebook_grid,
    gain_moment,
    mean_gain,
    tx_gain,
)
from netsense.core.blocks import simulate_block
from netsense.core.closed_form import lemma3_inv_sum
from netsense.core.fisher import (
    crlb,
    crlb_direct,
    crlb_geometric,
    geometric_fim,
    jensen_geometric,
    leg_stats,
)
from netsense.core.mc import mc_point
from netsense.core.samplers import base, disk, plane
from netsense.core.seeding import block_rng, stream_key

LAM = 1 / 900  # paper's density [m^-2]
MS = (1, 2, 3, 4, 8, 16)  # the brief's M values plus one odd M (its DFT grid contains broadside)

# Closed-form Fejer kernel vs the complex sum of <= 16 terms: float64 rounding in sin/sinc and
# in the sum, a few ulp times M (<= ~1e-14 relative for gains >= 0.4 M, the best-beam range).
BRUTE_RTOL = 1e-12
# Inequalities that are equalities at some angles (beam centres, midpoints): allow rounding.
ORDER_RTOL = 1e-12
# Gauss-Legendre per piece (netsense.beam) vs scipy's adaptive quad with the kinks as breakpoints,
# quad asked for epsrel 1e-13: both converged; measured agreement <= 1e-15 (order 64 vs 128 too).
QUAD_RTOL = 1e-12
# Statistical tolerance: |estimate - reference| <= Z_TOL standard errors (two-sided 4 sigma,
# false-failure probability ~6.3e-5 per check; fixed seeds make a pass reproducible).
Z_TOL = 4.0
# Explicit-layout CRLB vs the sampler's sums: same factorized formula, other summation order
# (bincount vs np.sum over ~35 nodes). Error ~eps * KAPPA with KAPPA = 4 A_t A_r / lambda_min(G)
# (see tests/core/test_fisher.py); the PPP disks here have KAPPA <= MAX_KAPPA, so ~1e-13.
LAYOUT_RTOL = 1e-12
MAX_KAPPA = 1e3
# Pre-change snapshot of simulate_block (hex floats recorded before beam models existed). It is
# bit-identical on the recording platform; the tolerance only absorbs last-ulp differences of
# libm's pow/cos/sin on other platforms. Any change of the random stream moves values by O(1).
SNAPSHOT_RTOL = 1e-12
SNAPSHOT = {  # seed 11, lam 1/900, gamma 2.5, block 2 of size 4
    "plane;K=16": (
        ["0x1.613356aa4ba3fp+14", "0x1.d442aa09bae14p+15", "0x1.05d451b4342c7p+15",
         "0x1.1a951d217f55cp+17"],
        ["0x1.7da579fc7e9e9p+14", "0x1.4963659da7dffp+15", "0x1.f307d7bc4aa5bp+14",
         "0x1.176f6862da53ap+17"]),
    "disk;R=150.0": (
        ["0x1.c419d7a41a817p+17", "0x1.c9eebd5f42f98p+17", "0x1.fde4ec2ed27ebp+17",
         "0x1.0cc59a77dbdabp+14"],
        ["0x1.b0c606cdb696bp+17", "0x1.749104966ffaap+17", "0x1.c72819d61ed49p+17",
         "0x1.688785396ff29p+13"]),
}
SPECS = {"plane;K=16": PlaneSampler(nearest=16), "disk;R=150.0": DiskSampler(radius_m=150.0)}


def brute_force_codebook(M, theta):
    """max_m |a(theta)^H w_m|^2 with w_m the columns of the unitary inverse-DFT matrix."""
    n = np.arange(M)
    a = np.exp(1j * math.pi * np.outer(np.sin(theta), n))  # a(theta)_n = exp(j pi n sin theta)
    W = np.fft.ifft(np.eye(M), axis=0) * math.sqrt(M)  # w_m[n] = exp(j 2 pi n m / M) / sqrt(M)
    return np.max(np.abs(a.conj() @ W) ** 2, axis=1)


def scallop_min(M):
    """Smallest best-beam gain: halfway between two DFT beams, |f| = 1/2."""
    return 1.0 / (M * math.sin(math.pi / (2 * M)) ** 2)


def midpoints(M):
    """Spatial frequencies halfway between neighbouring DFT beams (on the circle u mod 2)."""
    u = codebook_grid(M) + 1.0 / M
    return np.where(u >= 1.0, u - 2.0, u)


def special_angles(M):
    """Beam centres and midpoints (as angles), broadside, endfire and the ends of the range."""
    u = codebook_grid(M)
    return np.concatenate([np.arcsin(u), np.arcsin(midpoints(M)), math.pi - np.arcsin(u),
                           [0.0, math.pi / 2, -math.pi / 2, math.pi, -math.pi]])


# ------------------------------------------------------------------------------------------
# (a) the codebook gain against a brute-force array evaluation


@pytest.mark.parametrize("M", MS)
def test_codebook_gain_matches_brute_force(M):
    rng = np.random.default_rng(100 + M)
    theta = np.concatenate([rng.uniform(-math.pi, math.pi, 5000), special_angles(M)])
    np.testing.assert_allclose(tx_gain("codebook", M, theta), brute_force_codebook(M, theta),
                               rtol=BRUTE_RTOL, atol=0)


@pytest.mark.parametrize("M", [2, 4, 8, 16])
def test_even_m_grid_is_two_m_over_m_minus_one(M):
    """For even M the DFT grid (mod 2) is u_m = 2m/M - 1, m = 0..M-1."""
    np.testing.assert_allclose(np.sort(codebook_grid(M)), 2 * np.arange(M) / M - 1, atol=1e-15)


def test_odd_m_grid_contains_broadside():
    np.testing.assert_allclose(np.sort(codebook_grid(3)), [-2 / 3, 0.0, 2 / 3], atol=1e-15)


def test_tx_gain_keeps_shape_and_simple_models():
    theta = np.random.default_rng(0).uniform(-math.pi, math.pi, (3, 4, 5))
    for model in BEAM_MODELS:
        assert tx_gain(model, 8, theta).shape == (3, 4, 5)
        assert tx_gain(model, 8, 0.3).shape == ()
    np.testing.assert_array_equal(tx_gain("full", 8, theta), 8.0)
    np.testing.assert_array_equal(tx_gain("fixed", 8, theta), 1.0)
    np.testing.assert_array_equal(tx_gain("codebook", 1, theta), 1.0)


# ------------------------------------------------------------------------------------------
# (b) ordering, scalloping bound, beam centres


@pytest.mark.parametrize("M", MS)
def test_fixed_le_codebook_le_full_and_scalloping_bound(M):
    rng = np.random.default_rng(200 + M)
    theta = np.concatenate([rng.uniform(-math.pi, math.pi, 20000), special_angles(M)])
    full, cb, fixed = (tx_gain(m, M, theta) for m in ("full", "codebook", "fixed"))
    assert np.all(fixed <= cb * (1 + ORDER_RTOL))
    assert np.all(cb <= full * (1 + ORDER_RTOL))
    # the exact scalloping minimum, reached halfway between beams, and the (2/pi)^2 M bound
    assert np.all(cb >= scallop_min(M) * (1 - ORDER_RTOL))
    assert scallop_min(M) >= (2 / math.pi) ** 2 * M
    if M >= 2:
        mids = np.arcsin(midpoints(M))
        np.testing.assert_allclose(tx_gain("codebook", M, mids), scallop_min(M), rtol=BRUTE_RTOL)


def test_scallop_minimum_tends_to_two_over_pi_squared():
    """-3.01 dB at M = 2, -3.92 dB as M -> inf."""
    assert 10 * math.log10(scallop_min(2) / 2) == pytest.approx(-3.0103, abs=1e-4)
    assert 10 * math.log10(scallop_min(4096) / 4096) == pytest.approx(
        20 * math.log10(2 / math.pi), abs=1e-6)


@pytest.mark.parametrize("M", MS)
def test_codebook_equals_full_at_beam_centres(M):
    u = codebook_grid(M)
    for theta in (np.arcsin(u), math.pi - np.arcsin(u)):  # both half-planes of the ULA
        np.testing.assert_allclose(tx_gain("codebook", M, theta), float(M), rtol=BRUTE_RTOL)


# ------------------------------------------------------------------------------------------
# (c) mean gain and moments over a uniform orientation


def _quad_moment(M, p):
    # E over theta uniform on (-pi, pi], kinks where the best beam switches as breakpoints
    kinks = np.arcsin(midpoints(M))
    pts = np.concatenate([kinks, math.pi - kinks, [-math.pi, math.pi]])
    pts = np.unique(np.where(pts > math.pi, pts - 2 * math.pi, pts))
    total = 0.0
    for a, b in itertools.pairwise(pts):
        total += integrate.quad(lambda t: float(tx_gain("codebook", M, t)) ** p, a, b,
                                epsabs=0.0, epsrel=1e-13, limit=200)[0]
    return total / (2 * math.pi)


@pytest.mark.parametrize("M", MS)
@pytest.mark.parametrize("p", [1.0, 0.8])
def test_codebook_moment_quadrature_matches_scipy(M, p):
    assert gain_moment("codebook", M, p) == pytest.approx(_quad_moment(M, p), rel=QUAD_RTOL)


@pytest.mark.parametrize("M", MS)
def test_mean_gain_matches_monte_carlo(M):
    rng = np.random.default_rng(300 + M)
    n = 400_000
    g = tx_gain("codebook", M, rng.uniform(-math.pi, math.pi, n))
    se = g.std(ddof=1) / math.sqrt(n)
    ref = mean_gain("codebook", M)
    if M == 1:
        assert ref == 1.0 and np.all(g == 1.0)
        return
    assert abs(g.mean() - ref) <= Z_TOL * se, (g.mean(), ref, se)
    assert (2 / math.pi) ** 2 * M < ref < M


def test_mean_gain_full_and_fixed():
    for M in MS:
        assert mean_gain("full", M) == M and mean_gain("fixed", M) == 1.0
        assert gain_moment("full", M, 0.8) == pytest.approx(M**0.8, rel=1e-15)


# ------------------------------------------------------------------------------------------
# (d) stream keys and bit-identity of the full-gain path


def _old_block(seed, spec, lam, gamma, b, n):
    """simulate_block as it was before beam models: no node factor, unsuffixed key."""
    rng = block_rng(seed, stream_key(spec.key(), lam, gamma, n), b)
    tx = spec.side_stats(rng, lam, gamma, n)
    rx = spec.side_stats(rng, lam, gamma, n)
    return crlb_geometric(tx, rx), jensen_geometric(tx, rx)


@pytest.mark.parametrize("name", list(SPECS))
def test_full_beam_block_is_bit_identical(name):
    spec = SPECS[name]
    g18, g23 = _old_block(11, spec, LAM, 2.5, 2, 4)
    for kw in ({}, {"beam": "full"}, {"beam": "full", "M": 4}):
        out = simulate_block(11, spec, LAM, 2.5, 2, 4, **kw)
        np.testing.assert_array_equal(out["g18"], g18)
        np.testing.assert_array_equal(out["g23"], g23)
    want18, want23 = ([float.fromhex(h) for h in hs] for hs in SNAPSHOT[name])
    np.testing.assert_allclose(g18, want18, rtol=SNAPSHOT_RTOL, atol=0)
    np.testing.assert_allclose(g23, want23, rtol=SNAPSHOT_RTOL, atol=0)


@pytest.mark.parametrize("name", list(SPECS))
def test_no_node_factor_draws_nothing_extra(name):
    """node_factor=None: same rng state afterwards as the bare node sampler, same stats."""
    spec = SPECS[name]
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    s = spec.side_stats(r1, LAM, 2.5, 50, node_factor=None)
    if spec.kind == "plane":
        plane.plane_nodes(r2, LAM, spec.nearest, 50)
    else:
        disk.disk_nodes(r2, LAM, spec.radius_m, 50)
    assert r1.bit_generator.state == r2.bit_generator.state
    s0 = spec.side_stats(np.random.default_rng(9), LAM, 2.5, 50)
    for a, b in zip(s, s0, strict=True):
        np.testing.assert_array_equal(a, b)


def test_beam_key():
    assert beam_key("full", None) == "" and beam_key("full", 8) == ""
    assert beam_key("codebook", 4) == ";beam=codebook;M=4"
    assert beam_key("fixed", 16) == ";beam=fixed;M=16"


def test_codebook_and_fixed_streams_differ():
    spec = PlaneSampler(nearest=16)
    outs = {(m, M): simulate_block(3, spec, LAM, 2.5, 0, 200, beam=m, M=M)["g18"]
            for m, M in [("full", 4), ("codebook", 4), ("codebook", 8), ("fixed", 4)]}
    keys = list(outs)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert not np.any(outs[a] == outs[b]), (a, b)


def test_beam_input_errors():
    spec = PlaneSampler(nearest=4)
    for kw, field in [(dict(beam="codebook"), "M"), (dict(beam="fixed", M=None), "M"),
                      (dict(beam="codebook", M=0), "M"), (dict(beam="codebook", M=2.0), "M"),
                      (dict(beam="steered"), "beam")]:
        with pytest.raises(InputError) as exc:
            simulate_block(0, spec, LAM, 2.5, 0, 10, **kw)
        assert exc.value.field == field, kw
    with pytest.raises(InputError) as exc:
        mc_point(lam=LAM, gamma=2.5, M=4, rho_s_db=120.0, trials=10, block_trials=10, beam="x")
    assert exc.value.field == "beam"
    with pytest.raises(InputError) as exc:
        tx_gain("codebook", 0, 0.1)
    assert exc.value.field == "M"


def test_node_factor_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError) as exc:  # the plane tail needs E[factor]
        plane.plane_stats(rng, LAM, 2.5, 4, 10, node_factor=lambda r, shape: np.ones(shape))
    assert exc.value.field == "node_factor"
    bad = base.NodeFactor(draw=lambda r, shape: np.ones(3), mean=1.0)
    with pytest.raises(InputError) as exc:
        disk.disk_stats(rng, LAM, 2.5, 100.0, 10, node_factor=bad)
    assert exc.value.field == "node_factor"


# ------------------------------------------------------------------------------------------
# (e) the MC machinery with per-TX gains equals the explicit-layout CRLB


@pytest.mark.parametrize("model,M", [("codebook", 4), ("codebook", 3), ("fixed", 8),
                                     ("codebook", 1)])
def test_block_equals_explicit_layout_crlb(model, M):
    """Replay the block's stream, rebuild the layouts and the gains, evaluate fisher.crlb."""
    seed, gamma, rho_db, n = 4, 2.5, 120.0, 3
    spec = DiskSampler(radius_m=100.0)  # ~35 nodes per side, no far field
    out = simulate_block(seed, spec, LAM, gamma, 1, n, beam=model, M=M)
    rng = block_rng(seed, stream_key(spec.key(), LAM, gamma, n) + beam_key(model, M), 1)
    ct, r2t, uxt, uyt = disk.disk_nodes(rng, LAM, spec.radius_m, n)
    theta = rng.uniform(-math.pi, math.pi, ct.sum())  # the TX orientations, after the TX nodes
    cr, r2r, uxr, uyr = disk.disk_nodes(rng, LAM, spec.radius_m, n)
    gains = tx_gain(model, M, theta)
    scale = float(SystemParams().error_scale_m2(M, M, 10 ** (rho_db / 10)))
    ot, orr = np.concatenate([[0], np.cumsum(ct)]), np.concatenate([[0], np.cumsum(cr)])
    for t in range(n):
        st, sr = slice(ot[t], ot[t + 1]), slice(orr[t], orr[t + 1])
        # u points from the node to the target at the origin: node = -r u
        tx = -np.sqrt(r2t[st])[:, None] * np.stack([uxt[st], uyt[st]], axis=1)
        rx = -np.sqrt(r2r[sr])[:, None] * np.stack([uxr[sr], uyr[sr]], axis=1)
        kw = dict(M_t=M, M_r=M, rho_s_db=rho_db, gamma=gamma, tx_gain=gains[st])
        ref = crlb(tx, rx, [0.0, 0.0], **kw)
        direct = crlb_direct(tx, rx, [0.0, 0.0], **kw)
        # conditioning of this layout, so that LAYOUT_RTOL is justified (see the constant)
        w_t = gains[st] / M * r2t[st] ** (-gamma / 2)
        ls_t = leg_stats(w_t, uxt[st], uyt[st])
        ls_r = leg_stats(r2r[sr] ** (-gamma / 2), uxr[sr], uyr[sr])
        gxx, gxy, gyy = geometric_fim(ls_t, ls_r)
        lam_min = 0.5 * (gxx + gyy) - math.hypot(0.5 * (gxx - gyy), gxy)
        assert 4 * ls_t.A * ls_r.A / lam_min <= MAX_KAPPA
        assert scale * out["g18"][t] == pytest.approx(float(ref["crlb_m2"]), rel=LAYOUT_RTOL)
        assert scale * out["g18"][t] == pytest.approx(direct, rel=LAYOUT_RTOL)
        assert scale * out["g23"][t] == pytest.approx(float(ref["jensen_m2"]), rel=LAYOUT_RTOL)


def test_node_factor_stats_equal_weighted_leg_stats():
    """plane_stats with a per-node factor: the K nearest nodes carry w = f L exactly."""
    M, gamma, n, K = 8, 3.0, 20, 6
    nf = beam_node_factor("codebook", M)
    s = plane.plane_stats(np.random.default_rng(5), LAM, gamma, K, n, node_factor=nf)
    rng = np.random.default_rng(5)
    r2, ux, uy = plane.plane_nodes(rng, LAM, K, n)
    f = nf(rng, (n, K))  # drawn after the nodes, as inside plane_stats
    assert f.shape == (n, K) and np.all((f > 0) & (f <= 1))
    w = f * r2 ** (-gamma / 2)
    tail = 2 * math.pi * LAM * r2[:, -1] ** (1 - gamma / 2) / (gamma - 2) * nf.mean
    np.testing.assert_allclose(s.A, w.sum(1) + tail, rtol=LAYOUT_RTOL)
    np.testing.assert_allclose(s.txx, (w * ux * ux).sum(1) + tail / 2, rtol=LAYOUT_RTOL)
    np.testing.assert_allclose(s.vy, (w * uy).sum(1), rtol=LAYOUT_RTOL)


# ------------------------------------------------------------------------------------------
# (f) far-field tail scaling of the plane sampler, in expectation


def test_constant_factor_scales_plane_stats_exactly():
    """A constant factor 1/2 (a power of two) scales every statistic exactly, tail included."""
    half = base.NodeFactor(draw=lambda rng, shape: np.full(shape, 0.5), mean=0.5)
    a = plane.plane_stats(np.random.default_rng(8), LAM, 2.5, 8, 1000, node_factor=half)
    b = plane.plane_stats(np.random.default_rng(8), LAM, 2.5, 8, 1000)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, 0.5 * y)


def test_constant_factor_inverse_sum_is_lemma3_over_c():
    """E[1/A] with factor c = 1/2 is Lemma 3 / c; leaving the tail unscaled would miss by far."""
    c, gamma, K, n = 0.5, 2.5, 8, 200_000
    nf = base.NodeFactor(draw=lambda rng, shape: np.full(shape, c), mean=c)
    s = plane.plane_stats(np.random.default_rng(2024), LAM, gamma, K, n, node_factor=nf)
    x = 1.0 / s.A
    se = x.std(ddof=1) / math.sqrt(n)
    ref = float(lemma3_inv_sum(LAM, gamma)) / c
    assert abs(x.mean() - ref) <= Z_TOL * se, (x.mean(), ref, se)
    # sensitivity: the same layouts with the tail NOT multiplied by E[factor]
    r2, _, _ = plane.plane_nodes(np.random.default_rng(2024), LAM, K, n)
    tail = 2 * math.pi * LAM * r2[:, -1] ** (1 - gamma / 2) / (gamma - 2)
    wrong = 1.0 / (s.A + (1 - c) * tail)
    assert abs(wrong.mean() - ref) > 10 * Z_TOL * se


@pytest.mark.slow
@pytest.mark.parametrize("model,M", [("codebook", 4), ("fixed", 4)])
def test_jensen_mean_matches_marked_theorem2(model, M):
    """E[eq. (23)] with i.i.d. TX factors f = g/M: Theorem 2 times E[f^(2/gamma)]^(-gamma/2).

    A = sum f L over a PPP with i.i.d. marks has E[exp(-s A)] = exp(-pi lam Gamma(1-2/gamma)
    E[f^(2/gamma)] s^(2/gamma)) (eq. 32-35 with the marks averaged), i.e. Lemma 3 at the density
    lam E[f^(2/gamma)]. For "fixed" (f = 1/M) the factor is exactly M.
    """
    gamma = 2.5
    res = mc_point(lam=LAM, gamma=gamma, M=M, rho_s_db=120.0, trials=100_000, seed=17,
                   block_trials=25_000, beam=model)
    factor = (gain_moment(model, M, 2 / gamma) / M ** (2 / gamma)) ** (-gamma / 2)
    if model == "fixed":
        assert factor == pytest.approx(M, rel=1e-14)
    want = res["closed_form_m2"] * factor
    j = res["jensen_m2"]
    assert j["n"] == 100_000 and j["n_inf"] == 0
    assert abs(j["mean"] - want) <= Z_TOL * j["sem"], (j["mean"], want, j["sem"])
    assert res["point"]["beam"] == model
