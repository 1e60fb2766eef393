"""Closed-form bounds: Lemma 3 (eq. 24/25), Theorem 2 (eq. 26), eq. (28)-(30) of [1]."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .system import DEFAULT_SYSTEM, SystemParams, db_to_lin


def _check_gamma(gamma):
    g = np.asarray(gamma, dtype=float)
    if not np.all(np.isfinite(g)) or np.any(g <= 2.0):
        raise InputError("gamma", gamma, "closed forms need a path-loss exponent gamma > 2 "
                         "(Assumption 6: the PPP sum of path losses diverges otherwise)")
    return g


def _check_density(name, lam):
    a = np.asarray(lam, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise InputError(name, lam, "density must be finite and > 0 (per m^2)")
    return a


def lemma3_inv_sum(lam_per_m2, gamma):
    """E[1 / sum_x L(x)] over a PPP of intensity lambda on the plane, eq. (24)/(25).

    Gamma(1 + gamma/2) (pi lambda Gamma(1 - 2/gamma))^(-gamma/2)   [m^gamma]

    Differs from [1]: eq. (37) prints the exponent -1/2; eq. (36) and eq. (24) give -gamma/2.
    Evaluated in log space for accuracy at large gamma.
    """
    from scipy.special import gammaln  # lazy: keeps the shard jobs' start-up short

    g = _check_gamma(gamma)
    lam = _check_density("lam", lam_per_m2)
    log_val = gammaln(1.0 + g / 2.0) - (g / 2.0) * (  # eq. (24)
        np.log(np.pi * lam) + gammaln(1.0 - 2.0 / g))
    return np.exp(log_val)


def theorem2_m2(*, M_t, M_r, rho_s_db, lam_t, lam_r, gamma, system: SystemParams = DEFAULT_SYSTEM):
    """Theorem 2, eq. (26): lower bound on the PPP-average CRLB [m^2].

    2 c^2 / (M_r M_t eta) Gamma^2(1 + gamma/2) (pi sqrt(lam_t lam_r) Gamma(1 - 2/gamma))^(-gamma),
    which is eq. (23) with the two Lemma 3 factors.
    """
    scale = system.error_scale_m2(M_t, M_r, db_to_lin(rho_s_db))
    return 2.0 * scale * lemma3_inv_sum(lam_t, gamma) * lemma3_inv_sum(lam_r, gamma)  # eq. (26)


def single_antenna_m2(*, rho_s_db, lam_t, lam_r, gamma, system: SystemParams = DEFAULT_SYSTEM):
    """Eq. (28): the same bound for a single-antenna network of densities lam~_t, lam~_r."""
    return theorem2_m2(M_t=1, M_r=1, rho_s_db=rho_s_db, lam_t=lam_t, lam_r=lam_r, gamma=gamma,
                       system=system)  # eq. (28) is eq. (26) with M_t = M_r = 1


def compare_mimo_single(*, M_t, M_r, rho_s_db, lam_t, lam_r, gamma,
                        system: SystemParams = DEFAULT_SYSTEM) -> dict:
    """Eq. (29)-(30): MIMO at (lam_t, lam_r) vs single-antenna at (M_t lam_t, M_r lam_r).

    Returns both bounds [m^2], their ratio MIMO / single = (M_t M_r)^(gamma/2 - 1), and whether
    eq. (30) holds (the single-antenna network is strictly better), which is the case for
    gamma > 2 whenever M_t M_r > 1.
    """
    mimo = theorem2_m2(M_t=M_t, M_r=M_r, rho_s_db=rho_s_db, lam_t=lam_t, lam_r=lam_r, gamma=gamma,
                       system=system)
    lt = np.asarray(M_t, float) * np.asarray(lam_t, float)  # eq. (29)
    lr = np.asarray(M_r, float) * np.asarray(lam_r, float)
    single = single_antenna_m2(rho_s_db=rho_s_db, lam_t=lt, lam_r=lr, gamma=gamma, system=system)
    lhs = (np.sqrt(np.asarray(lam_t, float) * lam_r)) ** (-np.asarray(gamma)) / (  # eq. (30) left
        np.asarray(M_t, float) * M_r)
    rhs = np.sqrt(lt * lr) ** (-np.asarray(gamma))  # eq. (30) right
    return {
        "mimo_m2": mimo,
        "single_m2": single,
        "ratio_mimo_over_single": mimo / single,
        "eq30_holds": lhs > rhs,
    }
