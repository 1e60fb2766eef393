"""Generate tests/golden/closed_form.json: Lemma 3 and Theorem 2 in 50-digit arithmetic.

Independent of the package: the formulas are typed in again from the paper (eq. 24, eq. 26 and
the definition of eta above eq. 21; eta is derived from eq. 2 and 13 in
tests/core/test_theorem2_derivation.py) and evaluated with mpmath at mp.dps = 50; values are
written as strings of 30 significant digits.

    Lemma 3, eq. (24):   E[1/A] = Gamma(1 + g/2) * (pi * lam * Gamma(1 - 2/g))^(-g/2)
    eta (above eq. 21):  eta = 8 pi^2 rho_s sigma^2 beta^2 c^2 / ((4 pi)^3 f_c^2),
                         rho_s = 10^(rho_s_db / 10)
    Theorem 2, eq. (26): 2 c^2 / (M_r M_t eta) * Gamma(1 + g/2)^2
                         * (pi * sqrt(lam_t lam_r) * Gamma(1 - 2/g))^(-g)

System constants: Section III of the paper (f_c = 30 GHz, B = 2 GHz, sigma = 1 m^2,
c = 299792458 m/s); beta is either the paper's 0.577 GHz or the flat-spectrum B / sqrt(12)
(``beta_hz: null`` in the JSON, which is the package default).

Inputs are stored as JSON floats (exact binary doubles; mpmath converts them exactly), so the test
feeds the package the very same numbers.

Run:  .venv/bin/python tests/golden/make_golden.py [OUT_DIR]   (rewrites closed_form.json beside
this file, or writes it into OUT_DIR; tests/core/test_closed_form.py checks the stored file is
what this writes)
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import mpmath as mp

mp.mp.dps = 50
DIGITS = 30

CARRIER_HZ = 30e9
BANDWIDTH_HZ = 2e9
RCS_M2 = 1.0
C_M_S = 299792458.0
PAPER_BETA_HZ = 0.577e9

GAMMAS = [2.05, 2.5, 3.0, 4.0, 6.0]
LAMBDAS = [1 / 900, 1e-2, 1e-4, 1 / 400]
LAMBDA_PAIRS = [(1 / 900, 1 / 900), (1e-2, 1e-4), (1 / 400, 1 / 1600)]
M_PAIRS = [(1, 1), (4, 4), (2, 8), (16, 16)]
RHO_S_DB = [100.0, 120.0, 137.5]
BETAS = [PAPER_BETA_HZ, None]


def lemma3(lam, g):
    lam, g = mp.mpf(lam), mp.mpf(g)
    return mp.gamma(1 + g / 2) * (mp.pi * lam * mp.gamma(1 - 2 / g)) ** (-g / 2)


def eta(rho_s_db, beta_hz):
    beta = mp.mpf(BANDWIDTH_HZ) / mp.sqrt(12) if beta_hz is None else mp.mpf(beta_hz)
    rho = mp.power(10, mp.mpf(rho_s_db) / 10)
    c, fc, sigma = mp.mpf(C_M_S), mp.mpf(CARRIER_HZ), mp.mpf(RCS_M2)
    return 8 * mp.pi**2 * rho * sigma**2 * beta**2 * c**2 / ((4 * mp.pi) ** 3 * fc**2)


def theorem2(M_t, M_r, rho_s_db, lam_t, lam_r, g, beta_hz):
    g = mp.mpf(g)
    c = mp.mpf(C_M_S)
    pre = 2 * c**2 / (mp.mpf(M_r) * mp.mpf(M_t) * eta(rho_s_db, beta_hz))
    geo = mp.gamma(1 + g / 2) ** 2 * (
        mp.pi * mp.sqrt(mp.mpf(lam_t) * mp.mpf(lam_r)) * mp.gamma(1 - 2 / g)) ** (-g)
    return pre * geo


def s(x) -> str:
    return mp.nstr(x, DIGITS, min_fixed=1, max_fixed=0)


def main(out_dir=None):
    out = {
        "meta": {
            "generator": "tests/golden/make_golden.py",
            "mpmath_dps": mp.mp.dps,
            "digits": DIGITS,
            "system": {"carrier_hz": CARRIER_HZ, "bandwidth_hz": BANDWIDTH_HZ, "rcs_m2": RCS_M2,
                       "speed_of_light_m_s": C_M_S},
            "beta_hz_null_means": "bandwidth_hz / sqrt(12)",
        },
        "lemma3": [
            {"lam_per_m2": lam, "gamma": g, "value": s(lemma3(lam, g))}
            for lam, g in itertools.product(LAMBDAS, GAMMAS)
        ],
        "theorem2": [
            {"lam_t": lt, "lam_r": lr, "gamma": g, "M_t": mt, "M_r": mr, "rho_s_db": rho,
             "beta_hz": beta, "value_m2": s(theorem2(mt, mr, rho, lt, lr, g, beta))}
            for (lt, lr), g, (mt, mr), rho, beta in itertools.product(
                LAMBDA_PAIRS, GAMMAS, M_PAIRS, RHO_S_DB, BETAS)
        ],
    }
    path = Path(out_dir or Path(__file__).parent) / "closed_form.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}: {len(out['lemma3'])} Lemma 3 and {len(out['theorem2'])} Theorem 2 values")


if __name__ == "__main__":
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else None)
