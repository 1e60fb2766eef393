"""One Theorem 2 value derived end to end from the signal model, independently of the package
and of any retyped closed form: eq. (2) (the path gain alpha_kl with its array factor a^H w) and
eq. (13)/(15) (the Fisher information 8 pi^2 M_r |alpha_kl|^2 beta^2 per delay, and the delay's
gradient v_kl) in mpmath, at the paper's Section III point (M_t = M_r = 4, f_c = 30 GHz,
beta = 0.577 GHz, sigma = 1 m^2, gamma = 2.5, lam_t = lam_r = 1/900 m^-2) and rho_s = 120 dB.

* eta is never typed in: the constant in front of L_k L_l (u_k + u_l)(u_k + u_l)^T is read off
  eq. (2) and (13) evaluated with a numerical beamformer (w = a(theta)/||a||, Remark 1) and a
  numerically differentiated delay tau_kl(d) = (||d_k - d|| + ||d_l - d||) / c.
* Per layout, tr(S^-1) of that construction is the package's eq. (18) (netsense.crlb).
* E[1/A] is eq. (31) over the PPP's Laplace functional (eq. 32-34), the integrals numerical
  (no use of eq. (35)'s closed form), and Theorem 2 is 2 / (weight) x E[1/A_t] E[1/A_r]
  (eq. 20-23: the angle average of (u_k + u_l)(u_k + u_l)^T is the identity, computed here).

The other references of the closed forms: tests/golden/make_golden.py (the formulas of eq. 24
and 26 retyped at 50 digits) and tests/core/test_closed_form.py (a scipy quadrature of eq. 33-34).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

import netsense
from netsense import SystemParams
from netsense.core.closed_form import theorem2_m2

mp.mp.dps = 30
# The paper's Section III point
F_C, BETA, SIGMA, C = mp.mpf(30e9), mp.mpf(0.577e9), mp.mpf(1), mp.mpf(299792458)
M_T = M_R = 4
RHO_S = mp.mpf(10) ** 12  # 120 dB
GAMMA = mp.mpf(2.5)
LAM = mp.mpf(1) / 900
SYSTEM = SystemParams(effective_bandwidth_hz=0.577e9)
# mpmath quadrature at 30 digits is good to ~1e-20 here; the package's float64 Theorem 2 to
# ~1e-14 (tests/core/test_closed_form.py GOLDEN_RTOL): 1e-12 is the float64 side's margin.
DERIVED_RTOL = 1e-12
# Per layout: the package's factorized float64 FIM against the mpmath double sum; the layout is
# well conditioned (cond(G) < 100), so rounding stays below 1e-13.
LAYOUT_RTOL = 1e-12


def steering(theta, M):
    """a(theta) of eq. (5): [1, e^(-j pi sin theta), ..., e^(-j pi (M-1) sin theta)]."""
    return mp.matrix([mp.exp(-1j * mp.pi * n * mp.sin(theta)) for n in range(M)])


def alpha_sq_over_losses(theta_t):
    """|alpha_kl|^2 / (L_l^r L_k^t) from eq. (2), with w = a(theta)/||a|| (full gain)."""
    a = steering(theta_t, M_T)
    w = a / mp.norm(a)
    gain = abs((a.H * w)[0]) ** 2  # |a^H(theta) w|^2
    return SIGMA**2 * RHO_S * C**2 / ((4 * mp.pi) ** 3 * F_C**2) * gain


def fisher_weight():
    """The constant kappa with S = kappa sum_kl L_k L_l (u_k + u_l)(u_k + u_l)^T: eq. (15)'s
    8 pi^2 M_r |alpha|^2 beta^2 times the 1/c^2 of v_kl (eq. 15's v = (u_k + u_l)/c); it must
    not depend on the angle (full gain)."""
    ks = [8 * mp.pi**2 * M_R * alpha_sq_over_losses(t) * BETA**2 / C**2 for t in (0.3, -1.1)]
    assert abs(ks[0] / ks[1] - 1) < mp.mpf(10) ** -25
    return ks[0]


def delay_gradient(tx, rx, d):
    """v_kl = d tau_kl / d d_s, tau_kl = (||d_k - d|| + ||d_l - d||) / c, numerically."""
    def tau(x, y):
        return (mp.hypot(tx[0] - x, tx[1] - y) + mp.hypot(rx[0] - x, rx[1] - y)) / C
    return mp.matrix([mp.diff(lambda x: tau(x, d[1]), d[0]), mp.diff(lambda y: tau(d[0], y), d[1])])


def test_eq2_and_eq13_give_the_package_crlb_of_a_layout():
    tx = [(40.0, 10.0), (-25.0, 30.0), (5.0, -60.0)]
    rx = [(-35.0, -20.0), (20.0, 45.0)]
    d = (3.0, -2.0)
    kappa_c2 = fisher_weight() * C**2  # per link: 8 pi^2 M_r |alpha|^2 beta^2 / (L_k L_l)
    S = mp.zeros(2, 2)
    for k in tx:
        for ell in rx:
            L = (mp.hypot(k[0] - d[0], k[1] - d[1]) * mp.hypot(ell[0] - d[0], ell[1] - d[1])
                 ) ** -GAMMA  # L_k^t L_l^r
            v = delay_gradient(k, ell, d)
            S += kappa_c2 * L * (v * v.T)  # eq. (15)
    want = float(mp.fsum([(S**-1)[i, i] for i in range(2)]))  # eq. (18): tr(S^-1)
    got = netsense.crlb(np.array(tx), np.array(rx), np.array(d), M_t=M_T, M_r=M_R,
                        rho_s_db=120.0, gamma=2.5, system=SYSTEM)["crlb_m2"]
    assert float(got) == pytest.approx(want, rel=LAYOUT_RTOL)


def inv_sum_mean():
    """E[1/A], A = sum_k r_k^-gamma over a PPP of density LAM: eq. (31) E[1/A] = int_0^inf
    E[exp(-s A)] ds with the Laplace functional (eq. 32-34)
    E[exp(-s A)] = exp(-2 pi lam int_0^inf r (1 - exp(-s r^-gamma)) dr). With r = s^(1/gamma) x
    the radial integral is s^(2/gamma) I0, I0 = int_0^inf x (1 - exp(-x^-gamma)) dx; both I0 and
    the outer integral are numerical (eq. (35)'s closed form is not used)."""
    i0 = mp.quad(lambda x: x * -mp.expm1(-(x**-GAMMA)), [0, 1, mp.inf])
    s0 = (mp.pi * LAM) ** (-GAMMA / 2)  # the scale of s where E[exp(-sA)] falls off
    return mp.quad(lambda s: mp.exp(-2 * mp.pi * LAM * i0 * s ** (2 / GAMMA)),
                   [0, s0, 10 * s0, mp.inf])


def test_theorem2_at_the_paper_point_from_eq2_eq13_and_the_pgfl():
    # eq. (20)-(22): E over the angles of (u_k + u_l)(u_k + u_l)^T, theta uniform (rotation
    # invariance of the PPP): the identity (cross terms average out, cos^2 and sin^2 to 1/2 each)
    e_cos2 = mp.quad(lambda t: mp.cos(t) ** 2, [-mp.pi, mp.pi]) / (2 * mp.pi)
    e_cos = mp.quad(mp.cos, [-mp.pi, mp.pi]) / (2 * mp.pi)
    diag = 2 * e_cos2 + 2 * e_cos**2  # E[(cos t_k + cos t_l)^2]
    # tr((kappa A_t A_r diag I)^-1) = 2 / (kappa diag A_t A_r), averaged over independent sides
    value = 2 / (fisher_weight() * diag) * inv_sum_mean() ** 2
    got = float(theorem2_m2(M_t=M_T, M_r=M_R, rho_s_db=120.0, lam_t=1 / 900, lam_r=1 / 900,
                            gamma=2.5, system=SYSTEM))
    assert got == pytest.approx(float(value), rel=DERIVED_RTOL)
    assert float(value) == pytest.approx(3.35351e-4, rel=2e-5)  # the value quoted by the tests
