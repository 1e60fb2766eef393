"""Fisher information and CRLB, eq. (13)-(18), and the per-layout eq. (23) quantity.

Tiers: hand-worked layouts; degenerate layouts; the factorized form vs the literal double sum
(crlb_direct) and vs a FIM built from a finite-difference gradient of the delay; batch vs loop;
hypothesis property tests (rotation, translation, scaling, linearity, TX/RX swap).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from netsense import InputError, SystemParams, crlb, crlb_direct
from netsense.core import fisher

REPO = Path(__file__).resolve().parents[2]
SQUARE = REPO / "data" / "layouts" / "square.json"
C = 299792458.0
SYS = SystemParams()

# Hand-worked closed cases vs the code: the same handful of float operations in another order
# (powers, a 2x2 inverse); float64 rounding, ~10 operations of <= 1 ulp each.
HAND_RTOL = 1e-13

# Conditioning. The factorized form G = A_r T_t + A_t T_r + V_t V_r^T + V_r V_t^T adds terms of
# size ~A_t A_r that cancel when TX and RX lie on opposite sides of the target, so its rounding
# error is ~eps * A_t A_r in absolute terms, i.e. eps * KAPPA relative to G's smallest eigenvalue,
# with KAPPA = 4 A_t A_r / lambda_min(G) (>= cond(G), since lambda_max <= tr G <= 4 A_t A_r).
# Measured on 300 random layouts: |factorized - direct| / direct <= 1.4 * eps * KAPPA.

# Factorized O(N_t + N_r) vs direct O(N_t N_r) double sum (brief: 1e-12). On layouts with
# KAPPA <= MAX_KAPPA the bound above gives <= 2 * 2.2e-16 * 1e3 ~ 4e-13 < 1e-12.
FACTORIZED_RTOL = 1e-12
MAX_KAPPA = 1e3
MIN_KEPT_FRACTION = 0.75  # ~82% of random layouts pass; a filter dropping most would be vacuous
# Unfiltered layouts: per-layout tolerance from the same bound with a 16x margin.
KAPPA_EPS_FACTOR = 16 * np.finfo(float).eps

# Central difference of the delay with step FD_STEP_M metres: truncation (h/d)^2 <= (1e-3/20)^2
# = 2.5e-9 relative per gradient entry (FD layouts keep every node >= 20 m away), rounding
# eps*d/h <= 2.2e-16*3e3/1e-3 = 7e-10. The 2x2 inverse amplifies by <= KAPPA <= 1e3: ~3e-6.
FD_STEP_M = 1e-3
FD_MIN_DIST_M = 20.0
FD_RTOL = 1e-5

# Property tests: coordinates up to ~3e3 m rotated/translated/scaled in float64 perturb each unit
# vector by ~eps * |coord| / dist <= 2.2e-16 * 6e3 / 5 ~ 3e-13; the CRLB moves by that times
# KAPPA <= PROP_MAX_KAPPA ~ 3e-10 relative. The brief's 1e-9 covers it.
PROP_RTOL = 1e-9
PROP_MAX_KAPPA = 1e3

# Exact linear rescalings (M_t -> 2 M_t, rho_s + 10 dB, gains, betas): a few ulp per factor.
LINEAR_RTOL = 1e-12


# ------------------------------------------------------------------------------------------
# Independent helpers (numpy, written from eq. (2) and (15) of the paper, not from the package;
# eta itself is derived from eq. (2) and (13) in tests/core/test_theorem2_derivation.py)


def alpha2(dk, dl, gamma, M_t, rho_lin, system=SYS, gain=None):
    """|alpha_kl|^2 of eq. (2) with |a^H w|^2 = gain (default M_t, Remark 1)."""
    g = M_t if gain is None else gain
    return (system.rcs_m2**2 * rho_lin * dl**-gamma * dk**-gamma * C**2
            / ((4 * math.pi) ** 3 * system.carrier_hz**2) * g)


def geometric_G(tx, rx, target, gamma):
    """G = sum_kl L_k L_l (u_k+u_l)(u_k+u_l)^T with explicit outer products."""
    tx, rx, target = (np.asarray(a, float) for a in (tx, rx, target))
    dt = target - tx
    dr = target - rx
    nt = np.linalg.norm(dt, axis=1)
    nr = np.linalg.norm(dr, axis=1)
    ut = dt / nt[:, None]
    ur = dr / nr[:, None]
    v = ut[:, None, :] + ur[None, :, :]  # (N_t, N_r, 2)
    w = nt[:, None] ** -gamma * nr[None, :] ** -gamma
    return np.einsum("kl,kli,klj->ij", w, v, v)


def kappa(tx, rx, target, gamma):
    """4 A_t A_r / lambda_min(G): conditioning of tr(G^-1) computed from O(A_t A_r) terms."""
    tx, rx, target = (np.asarray(a, float) for a in (tx, rx, target))
    A_t = np.sum(np.linalg.norm(tx - target, axis=1) ** -gamma)
    A_r = np.sum(np.linalg.norm(rx - target, axis=1) ** -gamma)
    lmin = np.linalg.eigvalsh(geometric_G(tx, rx, target, gamma))[0]
    return math.inf if lmin <= 0 else 4 * A_t * A_r / lmin


def random_layout(rng, n_t, n_r, *, rmin=5.0, rmax=2000.0, span=1000.0):
    """Nodes at log-uniform distances and uniform azimuths around a random target."""
    target = rng.uniform(-span, span, 2)

    def nodes(n):
        r = np.exp(rng.uniform(math.log(rmin), math.log(rmax), n))
        phi = rng.uniform(-math.pi, math.pi, n)
        return target + np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)

    return nodes(n_t), nodes(n_r), target


def rel(a, b):
    return abs(a - b) / abs(b)


# ------------------------------------------------------------------------------------------
# Tier 1: hand-worked layouts


def test_square_layout_by_hand():
    """4 TX on the axes, 4 RX on the diagonals at 100 m: T = A/2 I, V = 0, so G = A_t A_r I."""
    doc = json.loads(SQUARE.read_text())
    gamma, M_t, M_r, rho_db = doc["gamma"], doc["M_t"], doc["M_r"], doc["rho_s_db"]
    assert (gamma, M_t, M_r, rho_db) == (2.5, 4, 4, 120)
    A = 4 * 100.0**-2.5  # A_t = A_r = 4 * 1e-5
    beta = 2e9 / math.sqrt(12.0)
    eta = 8 * math.pi**2 * 1e12 * 1.0 * beta**2 * C**2 / ((4 * math.pi) ** 3 * (30e9) ** 2)
    want = C**2 / (M_t * M_r * eta) * 2.0 / (A * A)  # tr(G^-1) = 2 / (A_t A_r)
    out = crlb(doc["tx"], doc["rx"], doc["target"], M_t=M_t, M_r=M_r, rho_s_db=rho_db,
               gamma=gamma)
    assert float(out["crlb_m2"]) == pytest.approx(want, rel=HAND_RTOL)
    assert float(out["jensen_m2"]) == pytest.approx(want, rel=HAND_RTOL)  # eq. (18) == eq. (23)
    assert crlb_direct(doc["tx"], doc["rx"], doc["target"], M_t=M_t, M_r=M_r, rho_s_db=rho_db,
                       gamma=gamma) == pytest.approx(want, rel=HAND_RTOL)


def _scale(M_t, M_r, rho_db, system=SYS):
    beta = system.beta_hz
    eta = (8 * math.pi**2 * 10 ** (rho_db / 10) * system.rcs_m2**2 * beta**2 * C**2
           / ((4 * math.pi) ** 3 * system.carrier_hz**2))
    return C**2 / (M_t * M_r * eta)


def test_one_tx_two_opposite_rx_by_hand():
    """TX at (a,0); RX at (0,+-b). v = (-1,-1), (-1,1): G = 2 L_t L_r I, tr G^-1 = a^g b^g."""
    a, b, g = 80.0, 50.0, 3.0
    out = crlb([[a, 0.0]], [[0.0, b], [0.0, -b]], [0.0, 0.0], M_t=2, M_r=8, rho_s_db=110.0,
               gamma=g)
    want = _scale(2, 8, 110.0) * a**g * b**g
    assert float(out["crlb_m2"]) == pytest.approx(want, rel=HAND_RTOL)
    # eq. (23): 2 / (A_t A_r) = 2 / (a^-g * 2 b^-g) = a^g b^g, the same here
    assert float(out["jensen_m2"]) == pytest.approx(want, rel=HAND_RTOL)


def test_colocated_pair_plus_side_rx_by_hand():
    """TX and RX1 at (a,0), RX2 at (0,a): G = L^2 [[5,1],[1,1]], tr G^-1 = 6/(4 L^2).

    V != 0 here; eq. (18) exceeds eq. (23) (= 1/L^2) by the factor 1.5.
    """
    a, g = 50.0, 3.0
    L = a**-g
    out = crlb([[a, 0.0]], [[a, 0.0], [0.0, a]], [0.0, 0.0], M_t=4, M_r=4, rho_s_db=120.0, gamma=g)
    s = _scale(4, 4, 120.0)
    assert float(out["crlb_m2"]) == pytest.approx(s * 1.5 / L**2, rel=HAND_RTOL)
    assert float(out["jensen_m2"]) == pytest.approx(s * 1.0 / L**2, rel=HAND_RTOL)


def test_eq23_is_not_a_per_layout_lower_bound():
    """Erratum 5: TXs and RXs at (a,0), (0,a): G = L^2 [[6,2],[2,6]], tr G^-1 = 0.375/L^2 while
    eq. (23) gives 2/(2L * 2L) = 0.5/L^2 > eq. (18)."""
    a, g = 40.0, 2.5
    L = a**-g
    pts = [[a, 0.0], [0.0, a]]
    out = crlb(pts, pts, [0.0, 0.0], M_t=1, M_r=1, rho_s_db=100.0, gamma=g)
    s = _scale(1, 1, 100.0)
    assert float(out["crlb_m2"]) == pytest.approx(s * 0.375 / L**2, rel=HAND_RTOL)
    assert float(out["jensen_m2"]) == pytest.approx(s * 0.5 / L**2, rel=HAND_RTOL)
    assert float(out["crlb_m2"]) < float(out["jensen_m2"])


def test_target_off_origin_by_hand():
    """Square layout translated to (1234.5, -678.25): same value as at the origin."""
    doc = json.loads(SQUARE.read_text())
    shift = np.array([1234.5, -678.25])
    want = _scale(4, 4, 120.0) * 2.0 / (4 * 100.0**-2.5) ** 2
    out = crlb(np.array(doc["tx"]) + shift, np.array(doc["rx"]) + shift, shift, M_t=4, M_r=4,
               rho_s_db=120.0, gamma=2.5)
    assert float(out["crlb_m2"]) == pytest.approx(want, rel=HAND_RTOL)


# ------------------------------------------------------------------------------------------
# Degenerate layouts: all nodes collinear with the target -> CRLB = +inf (rank-1 FIM)

KW = dict(M_t=4, M_r=4, rho_s_db=120.0, gamma=2.5)


def _assert_inf(value):
    v = float(value)
    assert not math.isnan(v), "CRLB is NaN"
    assert v == math.inf, f"expected +inf for a rank-1 FIM, got {v!r}"


@pytest.mark.parametrize("tx,rx,target", [
    ([[100.0, 0.0], [-50.0, 0.0]], [[200.0, 0.0], [30.0, 0.0]], [0.0, 0.0]),  # x axis, both sides
    ([[0.0, 10.0], [0.0, 400.0]], [[0.0, -70.0]], [0.0, 0.0]),  # y axis
    ([[5.0, 17.0]], [[5.0, 107.0], [5.0, -3.0]], [5.0, 7.0]),  # vertical line through target
    ([[100.0, 0.0]], [[300.0, 0.0]], [0.0, 0.0]),  # single TX and RX in the same direction
    ([[100.0, 0.0]], [[0.0, 200.0]], [0.0, 0.0]),  # single bistatic pair: one delay only
], ids=["x-axis", "y-axis", "vertical-offset", "same-direction", "single-pair"])
def test_axis_aligned_degenerate_layouts_are_inf(tx, rx, target):
    _assert_inf(crlb(tx, rx, target, **KW)["crlb_m2"])
    _assert_inf(crlb_direct(tx, rx, target, **KW))


# Oblique lines: the unit vectors are no longer exact in float64, so the FIM is rank-1 only up
# to rounding. With the target between TXs and RXs, u_k + u_l = 0 and G is pure rounding noise.
OBLIQUE_COLLINEAR = {
    "opposite-pair-30-70": ([[30.0, 70.0]], [[-150.0, -350.0]]),
    "opposite-pair-symmetric": ([[140.0, 210.0]], [[-140.0, -210.0]]),
    "one-tx-two-rx-opposite": ([[10.0, 30.0]], [[-30.0, -90.0], [-50.0, -150.0]]),
    "colocated-and-opposite": ([[150.0, 200.0]], [[150.0, 200.0], [-30.0, -40.0]]),
    "both-sides-3x2": ([[60.0, 80.0], [-30.0, -40.0], [300.0, 400.0]],
                       [[-90.0, -120.0], [15.0, 20.0]]),
}


@pytest.mark.parametrize("name", sorted(OBLIQUE_COLLINEAR))
def test_oblique_collinear_factorized_is_inf(name):
    tx, rx = OBLIQUE_COLLINEAR[name]
    _assert_inf(crlb(tx, rx, [0.0, 0.0], **KW)["crlb_m2"])


@pytest.mark.parametrize("name", sorted(OBLIQUE_COLLINEAR))
def test_oblique_collinear_direct_is_inf(name):
    tx, rx = OBLIQUE_COLLINEAR[name]
    _assert_inf(crlb_direct(tx, rx, [0.0, 0.0], **KW))


def _random_collinear_batch(seed, B=400, n_t=3, n_r=2, two_sided=True):
    rng = np.random.default_rng(seed)
    th = rng.uniform(-math.pi, math.pi, B)
    e = np.stack([np.cos(th), np.sin(th)], axis=-1)[:, None, :]
    target = rng.uniform(-500, 500, (B, 2))

    def side(n):
        sign = rng.choice([-1.0, 1.0], (B, n, 1)) if two_sided else 1.0
        return target[:, None, :] + sign * rng.uniform(1, 500, (B, n, 1)) * e

    return side(n_t), side(n_r), target


def test_random_collinear_one_sided_is_inf():
    """All nodes on one ray from the target, random orientation (no cancellation in G)."""
    tx, rx, target = _random_collinear_batch(101, two_sided=False)
    out = crlb(tx, rx, target, **KW)["crlb_m2"]
    assert np.all(out == np.inf)
    assert all(crlb_direct(tx[i], rx[i], target[i], **KW) == math.inf for i in range(len(tx)))


def test_random_collinear_two_sided_factorized_is_inf():
    """Nodes on both sides of the target along a random line: every layout must give +inf."""
    tx, rx, target = _random_collinear_batch(102)
    out = crlb(tx, rx, target, **KW)["crlb_m2"]
    bad = np.flatnonzero(out != np.inf)
    assert bad.size == 0, (f"{bad.size}/{out.size} collinear layouts give a finite CRLB, e.g. "
                           f"tx={tx[bad[0]].tolist()} rx={rx[bad[0]].tolist()} "
                           f"target={target[bad[0]].tolist()} -> {out[bad[0]]!r}")


def test_random_collinear_two_sided_direct_is_inf():
    tx, rx, target = _random_collinear_batch(102)
    vals = np.array([crlb_direct(tx[i], rx[i], target[i], **KW) for i in range(len(tx))])
    bad = np.flatnonzero(vals != np.inf)
    assert bad.size == 0, (f"{bad.size}/{vals.size} collinear layouts give a finite CRLB, e.g. "
                           f"tx={tx[bad[0]].tolist()} rx={rx[bad[0]].tolist()} "
                           f"target={target[bad[0]].tolist()} -> {vals[bad[0]]!r}")


def test_random_single_pair_is_inf():
    """One TX and one RX anywhere: a single delay cannot localize in 2-D (rank-1 FIM)."""
    rng = np.random.default_rng(103)
    B = 400
    target = rng.uniform(-500, 500, (B, 2))
    tx = target[:, None, :] + rng.uniform(-500, 500, (B, 1, 2))
    rx = target[:, None, :] + rng.uniform(-500, 500, (B, 1, 2))
    out = crlb(tx, rx, target, **KW)["crlb_m2"]
    bad = np.flatnonzero(out != np.inf)
    assert bad.size == 0, (f"{bad.size}/{B} single-pair layouts give a finite CRLB, e.g. "
                           f"tx={tx[bad[0]].tolist()} rx={rx[bad[0]].tolist()} "
                           f"target={target[bad[0]].tolist()} -> {out[bad[0]]!r}")


# ------------------------------------------------------------------------------------------
# Node on the target and other input errors


@pytest.mark.parametrize("side,index", [("tx", 0), ("tx", 2), ("rx", 1)])
def test_node_on_target_raises(side, index):
    target = [12.5, -3.0]
    tx = [[100.0, 0.0], [0.0, 100.0], [-100.0, 0.0]]
    rx = [[50.0, 50.0], [-50.0, 50.0]]
    (tx if side == "tx" else rx)[index] = list(target)
    with pytest.raises(InputError) as exc:
        crlb(tx, rx, target, **KW)
    assert exc.value.field == f"{side}[{index}]"


def test_node_on_target_in_batch_raises():
    tx, rx, target = random_layout(np.random.default_rng(1), 3, 3)
    txb = np.stack([tx, tx])
    rxb = np.stack([rx, rx])
    rxb[1, 2] = target
    with pytest.raises(InputError) as exc:
        crlb(txb, rxb, np.stack([target, target]), **KW)
    assert exc.value.field == "rx[2]"


@pytest.mark.parametrize("kwargs,field", [
    (dict(tx_xy=[]), "tx"),
    (dict(tx_xy=[[1.0, float("nan")]]), "tx"),
    (dict(tx_xy=[[1.0, 2.0, 3.0, 4.0]]), "tx"),  # [x, y, z] is a node with a height
    (dict(rx_xy=[[1.0, float("inf")]]), "rx"),
    (dict(target_xy=[1.0, 2.0, 3.0, 4.0]), "target"),
    (dict(M_t=0), "M_t"),
    (dict(M_r=0.5), "M_r"),
    (dict(gamma=0.0), "gamma"),
    (dict(gamma=float("nan")), "gamma"),
    (dict(tx_gain=[4.0]), "tx_gain"),
    (dict(tx_gain=[4.0, -1.0]), "tx_gain"),
    (dict(tx_beta_hz=[1e9, 0.0]), "tx_beta_hz"),
    (dict(tx_beta_hz=[1e9, 1e9, 1e9]), "tx_beta_hz"),
])
def test_bad_inputs_raise_input_error(kwargs, field):
    base = dict(tx_xy=[[100.0, 0.0], [0.0, 100.0]], rx_xy=[[-80.0, 10.0], [5.0, -60.0]],
                target_xy=[0.0, 0.0], M_t=4, M_r=4, rho_s_db=120.0, gamma=2.5)
    base.update(kwargs)
    with pytest.raises(InputError) as exc:
        crlb(**base)
    assert exc.value.field == field
    assert "\n" not in str(exc.value)


# ------------------------------------------------------------------------------------------
# Tier 2: independent references


def _random_cases(seed, n_cases, rmin=5.0):
    rng = np.random.default_rng(seed)
    for _ in range(n_cases):
        n_t, n_r = (int(x) for x in rng.integers(1, 8, 2))
        if n_t == n_r == 1:
            continue
        tx, rx, target = random_layout(rng, n_t, n_r, rmin=rmin)
        gamma = float(rng.uniform(2.0, 5.0))
        yield rng, tx, rx, target, gamma


def test_factorized_matches_direct_double_sum():
    kept = total = 0
    for rng, tx, rx, target, gamma in _random_cases(2024, 300):
        total += 1
        if kappa(tx, rx, target, gamma) > MAX_KAPPA:
            continue
        kept += 1
        M_t, M_r = (int(x) for x in rng.integers(1, 17, 2))
        rho = float(rng.uniform(60, 160))
        gain = beta = None
        if kept % 3 == 1:
            gain = rng.uniform(0.1, M_t, len(tx))
        if kept % 3 == 2:
            gain = rng.uniform(0.1, M_t, len(tx))
            beta = rng.uniform(1e8, 2e9, len(tx))
        a = float(crlb(tx, rx, target, M_t=M_t, M_r=M_r, rho_s_db=rho, gamma=gamma,
                       tx_gain=gain, tx_beta_hz=beta)["crlb_m2"])
        b = crlb_direct(tx, rx, target, M_t=M_t, M_r=M_r, rho_s_db=rho, gamma=gamma,
                        tx_gain=gain, tx_beta_hz=beta)
        assert rel(a, b) <= FACTORIZED_RTOL, (tx, rx, target, gamma, gain, beta, a, b)
    assert kept >= MIN_KEPT_FRACTION * total


def test_factorized_matches_direct_within_conditioning_bound_unfiltered():
    """Every random layout (no filter): error <= 16 eps KAPPA, floored at FACTORIZED_RTOL."""
    for _, tx, rx, target, gamma in _random_cases(31, 300):
        a = float(crlb(tx, rx, target, M_t=4, M_r=4, rho_s_db=120.0, gamma=gamma)["crlb_m2"])
        b = crlb_direct(tx, rx, target, M_t=4, M_r=4, rho_s_db=120.0, gamma=gamma)
        tol = max(FACTORIZED_RTOL, KAPPA_EPS_FACTOR * kappa(tx, rx, target, gamma))
        assert rel(a, b) <= tol, (tx, rx, target, gamma, a, b)


def test_factorized_matches_direct_non_default_system():
    sysp = SystemParams(carrier_hz=3.5e9, bandwidth_hz=4e8, rcs_m2=3.0)
    for _, tx, rx, target, gamma in _random_cases(7, 20):
        if kappa(tx, rx, target, gamma) > MAX_KAPPA:
            continue
        a = float(crlb(tx, rx, target, M_t=2, M_r=3, rho_s_db=90.0, gamma=gamma,
                       system=sysp)["crlb_m2"])
        b = crlb_direct(tx, rx, target, M_t=2, M_r=3, rho_s_db=90.0, gamma=gamma, system=sysp)
        assert rel(a, b) <= FACTORIZED_RTOL


def _tau(ds, dk, dl):
    """Bistatic delay tau(d_s) = (||d_s - d_k|| + ||d_s - d_l||) / c."""
    return (math.hypot(*(ds - dk)) + math.hypot(*(ds - dl))) / C


def _fim_from_finite_differences(tx, rx, target, gamma, M_t, M_r, rho_db, gain=None, beta=None):
    """S = sum_kl 8 pi^2 M_r |alpha_kl|^2 beta_k^2 v v^T with v from central differences."""
    rho = 10 ** (rho_db / 10)
    S = np.zeros((2, 2))
    for k, dk in enumerate(tx):
        for dl in rx:
            v = np.empty(2)
            for i in range(2):
                e = np.zeros(2)
                e[i] = FD_STEP_M
                v[i] = (_tau(target + e, dk, dl) - _tau(target - e, dk, dl)) / (2 * FD_STEP_M)
            a2 = alpha2(np.linalg.norm(target - dk), np.linalg.norm(target - dl), gamma, M_t,
                        rho, gain=None if gain is None else gain[k])
            bk = SYS.beta_hz if beta is None else beta[k]
            S += 8 * math.pi**2 * M_r * a2 * bk**2 * np.outer(v, v)  # eq. (13), (15)
    return S


def test_finite_difference_fim_matches_crlb():
    kept = total = 0
    for rng, tx, rx, target, gamma in _random_cases(99, 60, rmin=FD_MIN_DIST_M):
        total += 1
        if kappa(tx, rx, target, gamma) > MAX_KAPPA:
            continue
        kept += 1
        gain = rng.uniform(0.5, 4.0, len(tx)) if kept % 2 else None
        beta = rng.uniform(2e8, 1e9, len(tx)) if kept % 2 else None
        S = _fim_from_finite_differences(tx, rx, target, gamma, 4, 2, 115.0, gain, beta)
        want = float(np.trace(np.linalg.inv(S)))  # eq. (18)
        got = float(crlb(tx, rx, target, M_t=4, M_r=2, rho_s_db=115.0, gamma=gamma,
                         tx_gain=gain, tx_beta_hz=beta)["crlb_m2"])
        assert rel(got, want) <= FD_RTOL, (tx, rx, target, gamma, got, want)
    assert kept >= MIN_KEPT_FRACTION * total


def test_jensen_quantity_by_hand_random_layouts():
    for _, tx, rx, target, gamma in _random_cases(5, 30):
        A_t = np.sum(np.linalg.norm(tx - target, axis=1) ** -gamma)
        A_r = np.sum(np.linalg.norm(rx - target, axis=1) ** -gamma)
        want = 2 * _scale(3, 5, 101.0) / (A_t * A_r)  # eq. (23) integrand
        got = float(crlb(tx, rx, target, M_t=3, M_r=5, rho_s_db=101.0, gamma=gamma)["jensen_m2"])
        assert got == pytest.approx(want, rel=HAND_RTOL)


def test_batch_equals_loop_exactly():
    rng = np.random.default_rng(3)
    B, n_t, n_r = 64, 5, 3
    tx = rng.uniform(-1000, 1000, (B, n_t, 2))
    rx = rng.uniform(-1000, 1000, (B, n_r, 2))
    target = rng.uniform(-200, 200, (B, 2))
    out = crlb(tx, rx, target, **KW)
    assert out["crlb_m2"].shape == (B,)
    loop18 = np.array([float(crlb(tx[i], rx[i], target[i], **KW)["crlb_m2"]) for i in range(B)])
    loop23 = np.array([float(crlb(tx[i], rx[i], target[i], **KW)["jensen_m2"]) for i in range(B)])
    np.testing.assert_array_equal(out["crlb_m2"], loop18)
    np.testing.assert_array_equal(out["jensen_m2"], loop23)


def test_batch_with_two_leading_axes():
    rng = np.random.default_rng(4)
    tx = rng.uniform(-1000, 1000, (3, 4, 6, 2))
    rx = rng.uniform(-1000, 1000, (3, 4, 2, 2))
    target = rng.uniform(-100, 100, (3, 4, 2))
    out = crlb(tx, rx, target, **KW)["crlb_m2"]
    assert out.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert out[i, j] == float(crlb(tx[i, j], rx[i, j], target[i, j], **KW)["crlb_m2"])


def test_default_gains_equal_explicit_full_gain():
    tx, rx, target = random_layout(np.random.default_rng(8), 4, 3)
    a = crlb(tx, rx, target, **KW)
    b = crlb(tx, rx, target, **KW, tx_gain=[4.0] * 4, tx_beta_hz=[SYS.beta_hz] * 4)
    assert float(a["crlb_m2"]) == pytest.approx(float(b["crlb_m2"]), rel=LINEAR_RTOL)
    assert float(a["jensen_m2"]) == pytest.approx(float(b["jensen_m2"]), rel=LINEAR_RTOL)


def test_uniform_gain_and_beta_rescale_linearly():
    tx, rx, target = random_layout(np.random.default_rng(9), 4, 3)
    base = float(crlb(tx, rx, target, **KW)["crlb_m2"])
    half_gain = float(crlb(tx, rx, target, **KW, tx_gain=[2.0] * 4)["crlb_m2"])
    double_beta = float(crlb(tx, rx, target, **KW, tx_beta_hz=[2 * SYS.beta_hz] * 4)["crlb_m2"])
    assert half_gain == pytest.approx(2 * base, rel=LINEAR_RTOL)  # |a^H w|^2 = M_t/2
    assert double_beta == pytest.approx(base / 4, rel=LINEAR_RTOL)  # beta^2 in eq. (13)


def test_zero_gain_tx_is_ignored():
    """A TX with |a^H w|^2 = 0 contributes no information: same as removing it."""
    tx, rx, target = random_layout(np.random.default_rng(10), 4, 3)
    with_zero = float(crlb(tx, rx, target, **KW, tx_gain=[4.0, 0.0, 4.0, 4.0])["crlb_m2"])
    removed = float(crlb(np.delete(tx, 1, axis=0), rx, target, **KW)["crlb_m2"])
    assert with_zero == pytest.approx(removed, rel=LINEAR_RTOL)


# ------------------------------------------------------------------------------------------
# Tier 5: hypothesis property tests

PROP_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])

coord = st.floats(-1000.0, 1000.0, allow_nan=False, allow_infinity=False)
radius = st.floats(5.0, 2000.0, allow_nan=False, allow_infinity=False)
angle = st.floats(-math.pi, math.pi, allow_nan=False, allow_infinity=False)
gammas = st.floats(2.0, 5.0, allow_nan=False)


@st.composite
def layouts(draw):
    n_t = draw(st.integers(1, 6))
    n_r = draw(st.integers(2 if n_t == 1 else 1, 6))
    target = np.array([draw(coord), draw(coord)])

    def nodes(n):
        pts = []
        for _ in range(n):
            r, phi = draw(radius), draw(angle)
            pts.append(target + r * np.array([math.cos(phi), math.sin(phi)]))
        return np.array(pts)

    tx, rx = nodes(n_t), nodes(n_r)
    gamma = draw(gammas)
    assume(kappa(tx, rx, target, gamma) < PROP_MAX_KAPPA)
    return tx, rx, target, gamma


def _c18(tx, rx, target, gamma, **kw):
    args = dict(M_t=4, M_r=4, rho_s_db=120.0)
    args.update(kw)
    return float(crlb(tx, rx, target, gamma=gamma, **args)["crlb_m2"])


@PROP_SETTINGS
@given(layouts(), angle, coord, coord)
def test_rotation_and_translation_invariance(layout, phi, dx, dy):
    tx, rx, target, gamma = layout
    R = np.array([[math.cos(phi), -math.sin(phi)], [math.sin(phi), math.cos(phi)]])
    shift = np.array([dx, dy])

    def move(p):
        return p @ R.T + shift

    base = _c18(tx, rx, target, gamma)
    assert _c18(move(tx), move(rx), move(target), gamma) == pytest.approx(base, rel=PROP_RTOL)
    assert _c18(tx + shift, rx + shift, target + shift, gamma) == pytest.approx(base,
                                                                                rel=PROP_RTOL)


@PROP_SETTINGS
@given(layouts(), st.floats(0.05, 20.0))
def test_scaling_distances_scales_crlb_by_s_to_two_gamma(layout, s):
    """Every weight L_k L_l in eq. (15) carries two path losses, so G scales by s^(-2 gamma) and
    the CRLB by s^(2 gamma). (The conventions' "s^gamma" is the per-leg factor: it holds for
    eq. (23)'s A_t alone, and for the CRLB when only one side's distances are scaled.)"""
    tx, rx, target, gamma = layout
    base = _c18(tx, rx, target, gamma)
    assert _c18(s * tx, s * rx, s * target, gamma) == pytest.approx(base * s ** (2 * gamma),
                                                                    rel=PROP_RTOL)
    # radial dilation of the TX side only (about the target): unit vectors unchanged, L_k * s^-g
    tx_dilated = target + s * (tx - target)
    assert _c18(tx_dilated, rx, target, gamma) == pytest.approx(base * s**gamma, rel=PROP_RTOL)


@PROP_SETTINGS
@given(layouts(), st.integers(1, 32), st.integers(1, 32), st.floats(0.0, 200.0))
def test_crlb_linear_in_inverse_mt_mr_rho(layout, M_t, M_r, rho_db):
    tx, rx, target, gamma = layout
    base = _c18(tx, rx, target, gamma, M_t=M_t, M_r=M_r, rho_s_db=rho_db)
    assert _c18(tx, rx, target, gamma, M_t=2 * M_t, M_r=M_r, rho_s_db=rho_db) == pytest.approx(
        base / 2, rel=LINEAR_RTOL)
    assert _c18(tx, rx, target, gamma, M_t=M_t, M_r=3 * M_r, rho_s_db=rho_db) == pytest.approx(
        base / 3, rel=LINEAR_RTOL)
    assert _c18(tx, rx, target, gamma, M_t=M_t, M_r=M_r, rho_s_db=rho_db + 10) == pytest.approx(
        base / 10, rel=LINEAR_RTOL)


@PROP_SETTINGS
@given(layouts())
def test_swapping_tx_and_rx_is_symmetric(layout):
    tx, rx, target, gamma = layout
    a = crlb(tx, rx, target, gamma=gamma, **{k: v for k, v in KW.items() if k != "gamma"})
    b = crlb(rx, tx, target, gamma=gamma, **{k: v for k, v in KW.items() if k != "gamma"})
    assert float(b["crlb_m2"]) == pytest.approx(float(a["crlb_m2"]), rel=LINEAR_RTOL)
    assert float(b["jensen_m2"]) == pytest.approx(float(a["jensen_m2"]), rel=LINEAR_RTOL)


# ------------------------------------------------------------------------------------------
# Low-level pieces


def test_trace_inverse_2x2_against_numpy():
    rng = np.random.default_rng(11)
    M = rng.normal(size=(50, 2, 2))
    G = M @ np.swapaxes(M, 1, 2) + 0.1 * np.eye(2)
    got = fisher.trace_inverse_2x2(G[:, 0, 0], G[:, 0, 1], G[:, 1, 1])
    want = np.trace(np.linalg.inv(G), axis1=1, axis2=2)
    np.testing.assert_allclose(got, want, rtol=FACTORIZED_RTOL)


def test_trace_inverse_2x2_exactly_singular_is_inf():
    assert fisher.trace_inverse_2x2(1.0, 1.0, 1.0) == np.inf
    assert fisher.trace_inverse_2x2(0.0, 0.0, 0.0) == np.inf
    assert fisher.trace_inverse_2x2(4.0, 0.0, 0.0) == np.inf


def test_geometric_fim_matches_outer_product_sum():
    rng = np.random.default_rng(12)
    tx, rx, target = random_layout(rng, 5, 4)
    st_, sr_ = fisher.layout_stats(tx, rx, target, 3.0)
    gxx, gxy, gyy = fisher.geometric_fim(st_, sr_)
    G = geometric_G(tx, rx, target, 3.0)
    scale = np.abs(G).max()
    np.testing.assert_allclose([gxx, gxy, gyy], [G[0, 0], G[0, 1], G[1, 1]], rtol=0,
                               atol=FACTORIZED_RTOL * scale)
