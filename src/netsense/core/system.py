"""System constants of the radar link and the SNR scale eta.

References
----------
[1] Y. Song, K. Zhi, T. Yang, S. Li, P. Ciblat, G. Caire, "Performance Analysis of Network
    Sensing in the Distributed MIMO Radar System".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from ..errors import InputError

SPEED_OF_LIGHT_M_S = 299_792_458.0


def db_to_lin(db):
    """Convert decibels to a linear power ratio, ``10**(db/10)``."""
    return np.power(10.0, np.asarray(db, dtype=float) / 10.0)


def lin_to_db(lin):
    """Convert a linear power ratio to decibels, ``10*log10(lin)``."""
    return 10.0 * np.log10(np.asarray(lin, dtype=float))


def _finite_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InputError(name, value, "must be a number")
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise InputError(name, value, "must be finite and > 0")
    return v


@dataclass(frozen=True)
class SystemParams:
    """Physical constants of the link (Section III of [1] by default).

    Parameters
    ----------
    carrier_hz : float
        Carrier frequency f_c [Hz]. Default 30 GHz.
    bandwidth_hz : float
        Signal bandwidth B [Hz]. Default 2 GHz.
    effective_bandwidth_hz : float or None
        Effective (RMS) bandwidth beta of Definition 1, eq. (7) [Hz]. ``None`` derives it as
        B / sqrt(12), the flat-spectrum value (0.577 GHz for B = 2 GHz, as in [1]).
    rcs_m2 : float
        Radar cross section sigma [m^2]. Default 1.
    speed_of_light_m_s : float
        c [m/s].
    """

    carrier_hz: float = 30e9
    bandwidth_hz: float = 2e9
    effective_bandwidth_hz: float | None = None
    rcs_m2: float = 1.0
    speed_of_light_m_s: float = SPEED_OF_LIGHT_M_S
    _beta: float = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for f in ("carrier_hz", "bandwidth_hz", "rcs_m2", "speed_of_light_m_s"):
            object.__setattr__(self, f, _finite_positive(f"system.{f}", getattr(self, f)))
        if self.effective_bandwidth_hz is None:
            beta = self.bandwidth_hz / math.sqrt(12.0)  # flat spectrum: beta^2 = B^2/12 (eq. 7)
        else:
            beta = _finite_positive("system.effective_bandwidth_hz", self.effective_bandwidth_hz)
        object.__setattr__(self, "_beta", beta)

    @property
    def beta_hz(self) -> float:
        """Effective bandwidth beta [Hz] (given or derived)."""
        return self._beta

    @classmethod
    def from_mapping(cls, mapping: dict | None) -> SystemParams:
        """Build from a dict with the public field names; unknown keys are an error."""
        mapping = dict(mapping or {})
        names = {f.name for f in fields(cls) if f.init}
        for key in mapping:
            if key not in names:
                raise InputError(f"system.{key}", mapping[key], f"unknown key; allowed: {sorted(names)}")
        return cls(**mapping)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        d["beta_hz"] = self.beta_hz
        return d

    def kappa(self) -> float:
        """SNR- and bandwidth-free constant kappa = 8 pi^2 sigma^2 c^2 / ((4 pi)^3 f_c^2).

        ``eta = rho_s * beta^2 * kappa`` (definition of eta above eq. (21) of [1]).
        """
        c = self.speed_of_light_m_s
        # |alpha|^2 of eq. (2) without rho_s, L and the beam gain, times 8 pi^2 of eq. (13)
        return 8.0 * math.pi**2 * self.rcs_m2**2 * c**2 / ((4.0 * math.pi) ** 3 * self.carrier_hz**2)

    def eta(self, rho_s_lin):
        """eta = 8 pi^2 rho_s sigma^2 beta^2 c^2 / ((4 pi)^3 f_c^2), defined above eq. (21)."""
        return np.asarray(rho_s_lin, dtype=float) * self.beta_hz**2 * self.kappa()

    def error_scale_m2(self, M_t, M_r, rho_s_lin):
        """c^2 / (M_r M_t eta): converts the geometric factors into squared error [m^2].

        With full beamforming gain (Remark 1) eq. (15) reads S = (M_r M_t eta / c^2) G, with G the
        purely geometric matrix sum_kl L_k L_l (u_k+u_l)(u_k+u_l)^T, so tr(S^-1) = scale tr(G^-1).
        """
        c = self.speed_of_light_m_s
        return c**2 / (np.asarray(M_t, float) * np.asarray(M_r, float) * self.eta(rho_s_lin))


DEFAULT_SYSTEM = SystemParams()
