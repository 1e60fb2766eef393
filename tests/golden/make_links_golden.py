"""Writes tests/golden/links.json: E[1/A] (or E[1/A | A > 0]) under the link models of
netsense.core.links, evaluated with mpmath from the defining integrals, independently of the
package's reductions (tests/core/test_links_expectations.py compares the package against them):

* heights on the whole plane: int_0^inf exp(-pi lam [s^d gamma_lower(1 - d, s h^-gamma)
  - h^2 (1 - exp(-s h^-gamma))]) ds, the links notes' transform, with mpmath's incomplete gamma;
* blockage (with or without heights, with a guard): the conditional form
  int_0^inf e^-mu expm1(J(s)) ds / (1 - e^-mu), J(s) = lam int e^(-s w(r)) e^(-beta r) 2 pi r dr,
  both integrals by mpmath quadrature over the radius (no closed form);
* heights with shadowing: the whole-plane transform with E_S taken by mpmath quadrature over the
  normal variable of ln S, inside the exponent.

Inputs are JSON floats (exact doubles); mp.dps = 20 keeps every reference's own error below
1e-15. Run from the repository root (a few minutes):

    PYTHONPATH=src python tests/golden/make_links_golden.py tests/golden/links.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mpmath as mp

DPS = 20
K_DB = mp.log(10) / 10


def heights_plane(lam, gamma, h):
    lam, g, h = mp.mpf(lam), mp.mpf(gamma), mp.mpf(h)
    d = 2 / g

    def laplace(s):
        y = s * h ** -g
        return mp.exp(-mp.pi * lam * (s**d * mp.gammainc(1 - d, 0, y) - h**2 * (1 - mp.exp(-y))))

    # mass around s ~ E[A]^-1 and the stretched-exponential tail: split on a log grid
    return mp.quad(laplace, [0, *[mp.mpf(10) ** k for k in range(-4, 25)], mp.inf])


def heights_plane_shadowed(lam, gamma, h, sigma_db):
    lam, g, h, sig = mp.mpf(lam), mp.mpf(gamma), mp.mpf(h), mp.mpf(sigma_db)
    d = 2 / g
    # E_S by the trapezoidal rule in the normal variable z of ln S = K_DB sigma z: for a smooth
    # integrand against the normal density it converges like exp(-2 pi^2 / step^2) (1e-1700
    # at step 0.1), and |z| <= 14 leaves out 1e-44 of the mass.
    step = mp.mpf("0.1")
    zs = [step * k for k in range(-140, 141)]
    weights = [step * mp.npdf(z) for z in zs]

    def exponent(s):  # pi lam E_S[(sS)^d gamma_lower(1-d, sS h^-g) - h^2 (1 - exp(-sS h^-g))]
        total = 0
        for z, wz in zip(zs, weights, strict=True):
            ss = s * mp.exp(K_DB * sig * z)
            y = ss * h ** -g
            total += wz * (ss**d * mp.gammainc(1 - d, 0, y) - h**2 * (1 - mp.exp(-y)))
        return mp.pi * lam * total

    return mp.quad(lambda s: mp.exp(-exponent(s)),
                   [0, *[mp.mpf(10) ** k for k in range(-2, 22, 2)], mp.inf])


def blockage(lam, gamma, beta, h=0.0, r_min=0.0):
    lam, g, beta, h, r_min = (mp.mpf(x) for x in (lam, gamma, beta, h, r_min))
    a = g / 2

    def w(r):
        return (r * r + h * h) ** -a

    def radial(f):
        pts = [r_min, *[r_min + k / beta for k in (0.01, 0.1, 0.5, 1, 2, 4, 8, 16, 32)], mp.inf]
        return mp.quad(lambda r: f(r) * mp.exp(-beta * r) * 2 * mp.pi * r * lam, pts)

    mu = radial(lambda r: 1)

    def integrand(s):
        j = radial(lambda r: mp.exp(-s * w(r)))
        return mp.exp(-mu) * mp.expm1(j)

    top = int(mp.log10(w(r_min + 80 / beta) ** -1)) + 3
    return mp.quad(integrand, [0, *[mp.mpf(10) ** k for k in range(-6, top, 2)], mp.inf]) / (
        -mp.expm1(-mu))


CASES = [
    ("heights", dict(lam=1 / 900, gamma=2.5, h=10.0)),
    ("heights", dict(lam=1 / 900, gamma=4.0, h=25.0)),
    ("heights", dict(lam=1 / 100, gamma=3.0, h=10.0)),
    ("heights_shadowed", dict(lam=1 / 900, gamma=3.0, h=10.0, sigma_db=6.0)),
    ("blockage", dict(lam=1 / 900, gamma=3.0, beta=0.01)),
    ("blockage", dict(lam=1 / 10000, gamma=2.5, beta=0.02, r_min=5.0)),
    ("blockage", dict(lam=1 / 900, gamma=4.0, beta=0.02, h=10.0)),
    ("blockage", dict(lam=1 / 400, gamma=3.5, beta=0.005, h=25.0)),
]
FUNCS = {"heights": heights_plane, "heights_shadowed": heights_plane_shadowed,
         "blockage": blockage}


def table() -> list[dict]:
    import time

    mp.mp.dps = DPS
    out = []
    for name, args in CASES:
        t0 = time.perf_counter()
        out.append({"case": name, "args": args, "value": float(FUNCS[name](**args)),
                    "mpmath_dps": DPS})
        print(f"{name} {args}: {out[-1]['value']!r} ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(table(), indent=1) + "\n")
