"""System constants, eta and the error scale c^2 / (M_t M_r eta) (definition above eq. (21))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netsense import InputError, SystemParams, db_to_lin, lin_to_db
from netsense.core.system import SPEED_OF_LIGHT_M_S

# Same formula typed in again and evaluated in a different order: float64 rounding over ~10
# multiplications and divisions, each <= 1 ulp (1.1e-16).
FORMULA_RTOL = 1e-14

# dB round trip: log10 then a power of ten, each to a few ulp, amplified by ln(10)*|dB|/10 ~ 30.
DB_RTOL = 1e-13


def eta_by_hand(rho_s_lin, beta_hz, carrier_hz=30e9, rcs_m2=1.0, c=299792458.0):
    """eta = 8 pi^2 rho_s sigma^2 beta^2 c^2 / ((4 pi)^3 f_c^2), defined above eq. (21) of the
    paper (and derived from eq. (2) and (13) in tests/core/test_theorem2_derivation.py)."""
    return (8 * math.pi**2 * rho_s_lin * rcs_m2**2 * beta_hz**2 * c**2
            / ((4 * math.pi) ** 3 * carrier_hz**2))


def test_defaults_are_section_iii():
    sp = SystemParams()
    assert sp.carrier_hz == 30e9
    assert sp.bandwidth_hz == 2e9
    assert sp.rcs_m2 == 1.0
    assert sp.speed_of_light_m_s == 299792458.0 == SPEED_OF_LIGHT_M_S


def test_default_beta_is_flat_spectrum_value():
    # beta^2 = B^2 / 12 for a flat spectrum over [-B/2, B/2] (erratum 4: 0.577 GHz for 2 GHz).
    sp = SystemParams()
    assert sp.beta_hz == pytest.approx(2e9 / math.sqrt(12.0), rel=FORMULA_RTOL)
    assert round(sp.beta_hz / 1e9, 3) == 0.577
    sp2 = SystemParams(bandwidth_hz=1e9)
    assert sp2.beta_hz == pytest.approx(1e9 / math.sqrt(12.0), rel=FORMULA_RTOL)


def test_explicit_beta_wins():
    sp = SystemParams(effective_bandwidth_hz=0.577e9)
    assert sp.beta_hz == 0.577e9


@pytest.mark.parametrize("rho_db", [0.0, 120.0, 97.3])
@pytest.mark.parametrize("beta", [None, 0.577e9, 1.3e8])
def test_eta_by_hand(rho_db, beta):
    sp = SystemParams(effective_bandwidth_hz=beta)
    b = 2e9 / math.sqrt(12.0) if beta is None else beta
    rho = 10.0 ** (rho_db / 10.0)
    assert float(sp.eta(rho)) == pytest.approx(eta_by_hand(rho, b), rel=FORMULA_RTOL)
    # kappa = eta / (rho beta^2)
    assert sp.kappa() == pytest.approx(eta_by_hand(1.0, 1.0), rel=FORMULA_RTOL)


def test_eta_with_non_default_constants():
    sp = SystemParams(carrier_hz=3.5e9, rcs_m2=2.0, effective_bandwidth_hz=1e8)
    want = eta_by_hand(1e10, 1e8, carrier_hz=3.5e9, rcs_m2=2.0)
    assert float(sp.eta(1e10)) == pytest.approx(want, rel=FORMULA_RTOL)


def test_error_scale_by_hand():
    sp = SystemParams()
    rho = 1e12
    want = 299792458.0**2 / (4 * 3 * eta_by_hand(rho, 2e9 / math.sqrt(12.0)))
    assert float(sp.error_scale_m2(4, 3, rho)) == pytest.approx(want, rel=FORMULA_RTOL)


def test_error_scale_broadcasts():
    sp = SystemParams()
    M = np.array([1, 2, 4])
    out = sp.error_scale_m2(M[:, None], M[None, :], 1e12)
    assert out.shape == (3, 3)
    assert out[0, 0] == pytest.approx(16 * out[2, 2], rel=FORMULA_RTOL)


@pytest.mark.parametrize("db,lin", [(0.0, 1.0), (10.0, 10.0), (120.0, 1e12), (-30.0, 1e-3),
                                    (3.0, 1.9952623149688795)])
def test_db_conversions(db, lin):
    # 10^0.3 = 1.99526231496887960135... (known constant, 17 digits)
    assert float(db_to_lin(db)) == pytest.approx(lin, rel=DB_RTOL)
    assert float(lin_to_db(lin)) == pytest.approx(db, rel=DB_RTOL, abs=DB_RTOL)


def test_db_round_trip_array():
    x = np.linspace(-50, 150, 41)
    np.testing.assert_allclose(lin_to_db(db_to_lin(x)), x, rtol=DB_RTOL, atol=DB_RTOL)


@pytest.mark.parametrize("field,value", [
    ("carrier_hz", -1.0), ("carrier_hz", 0.0), ("bandwidth_hz", float("nan")),
    ("rcs_m2", float("inf")), ("speed_of_light_m_s", "fast"), ("carrier_hz", True),
    ("effective_bandwidth_hz", -5.0),
])
def test_bad_constants_raise_input_error(field, value):
    with pytest.raises(InputError) as exc:
        SystemParams(**{field: value})
    assert exc.value.field == f"system.{field}"
    msg = str(exc.value)
    assert "\n" not in msg and f"system.{field}" in msg


def test_from_mapping_unknown_key():
    with pytest.raises(InputError) as exc:
        SystemParams.from_mapping({"carrier_hz": 28e9, "noise_w": 1.0})
    assert exc.value.field == "system.noise_w"
    assert "\n" not in str(exc.value)


def test_from_mapping_and_to_dict_round_trip():
    sp = SystemParams.from_mapping({"carrier_hz": 28e9, "effective_bandwidth_hz": 4e8})
    assert sp.carrier_hz == 28e9 and sp.beta_hz == 4e8
    d = sp.to_dict()
    assert d["beta_hz"] == 4e8
    assert SystemParams.from_mapping({k: v for k, v in d.items() if k != "beta_hz"}) == sp
    assert SystemParams.from_mapping(None) == SystemParams()


def test_input_error_message_names_field_value_rule():
    err = InputError("M_t", "four", "must be an integer")
    assert str(err) == "M_t: got 'four'; must be an integer"
    assert isinstance(err, ValueError)
