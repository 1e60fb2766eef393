"""TX beamforming gain |a^H(theta) w|^2 beyond Remark 1 of [1] (full gain toward the target).

Each TX has an M-element half-wavelength uniform linear array, a(theta)_n = exp(j pi n sin theta),
n = 0..M-1, and transmits with a unit-norm beamformer w. theta is the angle of the direction to
the target measured from the array broadside. Models (:data:`BEAM_MODELS`):

* ``full``: w = a(theta)/sqrt(M), steered exactly at the target: gain M (Remark 1, the paper).
* ``codebook``: the TX picks the best of the M beams of the M-point DFT codebook,
  w_m = a(phi_m)/sqrt(M) with spatial frequencies sin(phi_m) = u_m = 2m/M (mod 2, i.e. wrapped into
  [-1, 1)), m = 0..M-1: the columns of the DFT matrix. For even M this is the grid
  u_m = 2m/M - 1; for odd M the grid contains broadside u = 0 (and not endfire). The gain of beam m
  is the Fejer kernel |sum_n exp(j pi n (sin theta - u_m))|^2 / M = sin^2(M x/2) / (M sin^2(x/2)),
  x = pi (sin theta - u_m). The best beam is the nearest one on the circle u mod 2: the beams are
  2/M apart, the main lobe decreases out to its null at |x| = 2 pi / M, and the sidelobes are
  lower than the main lobe at half the spacing (tests check against the max over all M beams).
  So with f = M sin(theta)/2 - round(.) in [-1/2, 1/2] the gain is M (sinc f / sinc(f/M))^2.
  Halfway between two beams (|f| = 1/2) it drops to 1 / (M sin^2(pi/(2M))) >= (2/pi)^2 M
  (scalloping loss: -3.01 dB at M = 2, -3.92 dB as M -> inf).
* ``fixed``: no beam steering: the TX transmits from a single element (w = e_1), so
  |a^H w|^2 = 1 at every angle: no array gain toward the target.

Array orientation: every TX's array axis has a uniformly random orientation, independent of its
position, so theta is uniform on (-pi, pi] and independent of the node's position; sin(theta) then
has the arcsine law. This is what :func:`beam_node_factor` draws, and what :func:`gain_moment`
averages over.

Differs from [1]: the paper only treats ``full`` (Remark 1); the other models lower the
per-TX factor |a^H w|^2 / M_t <= 1 in eq. (2).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import numpy as np

from ..errors import InputError
from .samplers.base import NodeFactor

BEAM_MODELS = ("full", "codebook", "fixed")

# Gauss-Legendre order per smooth piece of the codebook gain (between two kinks the integrand is
# analytic in the angle; order 64 is converged to rounding, checked against order 128 in tests).
QUAD_ORDER = 64


def check_beam(model: str) -> str:
    if model not in BEAM_MODELS:
        raise InputError("beam", model, f"must be one of {list(BEAM_MODELS)}")
    return model


def check_elements(M) -> int:
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise InputError("M", M, "must be an integer number of antennas >= 1")
    return int(M)


def codebook_grid(M: int) -> np.ndarray:
    """Spatial frequencies u_m = sin(phi_m) of the M-point DFT codebook, wrapped into [-1, 1)."""
    M = check_elements(M)
    u = 2.0 * np.arange(M) / M
    return np.where(u >= 1.0, u - 2.0, u)


def _codebook_gain(M: int, sin_theta: np.ndarray) -> np.ndarray:
    # position in units of the beam spacing 2/M; nearest DFT beam (mod M) and the offset from it
    t = 0.5 * M * sin_theta
    f = t - np.rint(t)  # in [-1/2, 1/2]
    # Fejer kernel sin^2(pi f) / (M sin^2(pi f / M)) = M (sinc f / sinc(f/M))^2; np.sinc(0) = 1
    return M * (np.sinc(f) / np.sinc(f / M)) ** 2


def tx_gain(model: str, M: int, theta) -> np.ndarray:
    """Beamforming gain |a^H(theta) w|^2 of an M-element half-wavelength ULA toward the target.

    Parameters
    ----------
    model : str
        One of :data:`BEAM_MODELS`.
    M : int
        Number of TX antennas M_t.
    theta : array_like, any shape
        Angle of the target direction from the array broadside [rad].

    Returns
    -------
    ndarray, shape of ``theta``
        Gain (linear, between 0 and M): M for ``full``, the best DFT beam for ``codebook``,
        1 for ``fixed``.
    """
    check_beam(model)
    M = check_elements(M)
    theta = np.asarray(theta, dtype=float)
    if model == "full":
        return np.full(theta.shape, float(M))  # Remark 1 of [1]: w = a(theta)/sqrt(M)
    if model == "fixed":
        return np.ones(theta.shape)
    return _codebook_gain(M, np.sin(theta))


@functools.lru_cache(maxsize=256)
def _codebook_moment(M: int, p: float) -> float:
    # theta uniform on (-pi, pi] gives sin(theta) the same law as sin(phi), phi uniform on
    # [0, pi/2] (sin is symmetric about pi/2 and the DFT grid about u = 0, mod 2). The gain has
    # kinks where the best beam changes, at sin(phi) = (2j+1)/M: integrate piece by piece.
    mids = np.arange(1, M, 2) / M
    edges = np.concatenate([[0.0], np.arcsin(mids), [0.5 * math.pi]])
    x, wq = np.polynomial.legendre.leggauss(QUAD_ORDER)
    total = 0.0
    for a, b in itertools.pairwise(edges):
        phi = 0.5 * (b - a) * x + 0.5 * (b + a)
        total += 0.5 * (b - a) * float(np.dot(wq, _codebook_gain(M, np.sin(phi)) ** p))
    return total / (0.5 * math.pi)


def gain_moment(model: str, M: int, p: float = 1.0) -> float:
    """E[gain^p] over a uniformly random array orientation (theta uniform on (-pi, pi]).

    ``full``: M^p; ``fixed``: 1; ``codebook``: Gauss-Legendre quadrature in theta over the pieces
    between beam switches (accurate to rounding), cached.
    """
    check_beam(model)
    M = check_elements(M)
    p = float(p)
    if model == "full":
        return float(M) ** p
    if model == "fixed":
        return 1.0
    return _codebook_moment(M, p)


def mean_gain(model: str, M: int) -> float:
    """E[|a^H(theta) w|^2] over theta uniform on (-pi, pi] (see :func:`gain_moment`)."""
    return gain_moment(model, M, 1.0)


def _draw_tx_factor(model: str, M: int, rng: np.random.Generator, shape) -> np.ndarray:
    theta = rng.uniform(-math.pi, math.pi, size=shape)  # uniform array orientation
    return tx_gain(model, M, theta) / M  # g_k / M_t, as fisher.tx_factors


def beam_node_factor(model: str, M: int | None) -> NodeFactor | None:
    """Per-TX weight factor g_k / M_t for the PPP samplers; ``None`` for ``full`` (factor 1).

    The factor multiplies the TX path-loss weights, exactly like ``tx_gain`` in
    :func:`netsense.core.fisher.crlb`; its mean E[g]/M scales the plane sampler's far-field tail.
    """
    check_beam(model)
    if model == "full":
        return None
    if M is None:
        raise InputError("M", M, f"beam model {model!r} needs the number of TX antennas M")
    M = check_elements(M)
    draw: Callable = functools.partial(_draw_tx_factor, model, M)
    return NodeFactor(draw=draw, mean=mean_gain(model, M) / M)


def beam_key(beam: str, M: int | None) -> str:
    """Suffix of the stream key for a beam model: "" for ``full`` (keys unchanged), else
    ``";beam=<model>;M=<M>"``."""
    check_beam(beam)
    if beam == "full":
        return ""
    if M is None:
        raise InputError("M", M, f"beam model {beam!r} needs the number of TX antennas M")
    return f";beam={beam};M={check_elements(M)}"
