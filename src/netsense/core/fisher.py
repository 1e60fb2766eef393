"""Fisher information on the target position and the CRLB, eq. (13)-(18) of [1].

Two implementations:

* the factorized O(N_t + N_r) form, vectorized over any leading batch axes. It works on per-leg
  sufficient statistics (:class:`LegStats`), which is also what the PPP samplers produce;
* :func:`crlb_direct`, the literal double sum of eq. (15) with |alpha_kl|^2 from eq. (2), kept as
  the independent reference for tests.

Delay gradients use unit vectors from the geometry, u = (d_s - d) / ||d_s - d||.
Differs from [1]: eq. (3)-(4) write the angles with arctan(dx/dy) (range -pi/2..pi/2); the gradient
of the delay is the sum of the two unit vectors, i.e. full azimuths (docs: guide/computes.md, erratum
2).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..errors import InputError
from .system import DEFAULT_SYSTEM, SystemParams, db_to_lin

# G is singular to working precision when its small eigenvalue is below this multiple of eps
# times the size of the summed terms (4 A_t A_r >= tr G): rounding in the sums is then as large
# as the eigenvalue itself. Above it, tr(G^-1) has a relative error below ~1e-3.
SINGULAR_RTOL = 1024 * np.finfo(float).eps


class LegStats(NamedTuple):
    """Weighted sufficient statistics of one side (TX or RX) of a layout.

    With weights w_i (path loss L_i = d_i^-gamma, times any per-node factor) and unit vectors u_i:
    ``A = sum w``, ``T = sum w u u^T`` (entries txx, txy, tyy), ``V = sum w u`` (vx, vy).
    Every field has the same batch shape.
    """

    A: np.ndarray
    txx: np.ndarray
    txy: np.ndarray
    tyy: np.ndarray
    vx: np.ndarray
    vy: np.ndarray


def leg_stats(w, ux, uy, axis=-1) -> LegStats:
    """Reduce per-node weights and unit vectors along ``axis`` into :class:`LegStats`."""
    w = np.asarray(w, dtype=float)
    wx = w * ux
    wy = w * uy
    return LegStats(
        A=w.sum(axis=axis),
        txx=(wx * ux).sum(axis=axis),
        txy=(wx * uy).sum(axis=axis),
        tyy=(wy * uy).sum(axis=axis),
        vx=wx.sum(axis=axis),
        vy=wy.sum(axis=axis),
    )


def geometric_fim(tx: LegStats, rx: LegStats):
    """Geometric FIM G = sum_kl w_k w_l (u_k + u_l)(u_k + u_l)^T in O(N_t + N_r).

    Factorization of the double sum of eq. (15):
    G = A_r T_t + A_t T_r + V_t V_r^T + V_r V_t^T.

    Returns
    -------
    gxx, gxy, gyy : arrays with the batch shape
    """
    gxx = rx.A * tx.txx + tx.A * rx.txx + 2.0 * tx.vx * rx.vx  # eq. (15), factorized
    gyy = rx.A * tx.tyy + tx.A * rx.tyy + 2.0 * tx.vy * rx.vy
    gxy = rx.A * tx.txy + tx.A * rx.txy + tx.vx * rx.vy + rx.vx * tx.vy
    return gxx, gxy, gyy


def trace_inverse_2x2(gxx, gxy, gyy, scale=None):
    """tr(G^-1) for symmetric PSD 2x2 G, eq. (18); ``inf`` where G is singular to rounding.

    ``scale`` is the size of the terms that were summed into G (default tr G); G counts as
    singular when its smaller eigenvalue is below ``SINGULAR_RTOL * scale``. A layout whose
    nodes are all collinear with the target has rank-1 G (all gradients parallel): the position
    is not identifiable across that line and the CRLB is infinite.
    """
    gxx, gxy, gyy = np.broadcast_arrays(*(np.asarray(g, float) for g in (gxx, gxy, gyy)))
    tr = gxx + gyy
    if scale is None:
        scale = np.abs(tr)
    half_gap = np.hypot(0.5 * (gxx - gyy), gxy)
    lam_min = 0.5 * tr - half_gap
    singular = ~(lam_min > SINGULAR_RTOL * np.asarray(scale, float))
    det = gxx * gyy - gxy * gxy
    with np.errstate(divide="ignore", invalid="ignore"):
        out = tr / det  # eq. (18): tr(S^-1) of a 2x2 matrix
    return np.where(singular, np.inf, out)


def crlb_geometric(tx: LegStats, rx: LegStats):
    """tr(G^-1): eq. (18) in units where c^2 / (M_r M_t eta) = 1."""
    # every term w_k w_l (u_k+u_l)(u_k+u_l)^T has norm <= 4 w_k w_l: the sums' scale is 4 A_t A_r
    return trace_inverse_2x2(*geometric_fim(tx, rx), scale=4.0 * tx.A * rx.A)


def jensen_geometric(tx: LegStats, rx: LegStats):
    """2 / (A_t A_r): the eq. (23) integrand in units where c^2 / (M_r M_t eta) = 1; ``inf``
    where a side has no usable node (A = 0, e.g. no line of sight under blockage)."""
    with np.errstate(divide="ignore"):
        return 2.0 / (tx.A * rx.A)  # eq. (23), per layout


# --------------------------------------------------------------------------------------------
# Explicit layouts (coordinates in metres)


def as_points(name: str, pts) -> np.ndarray:
    """Node positions as an array (..., N, 2) of [x, y] or (..., N, 3) of [x, y, z] [m]."""
    rule = "must be a list of [x, y] or [x, y, z] points of numbers (metres)"
    try:
        arr = np.asarray(pts, dtype=float)
    except (TypeError, ValueError):
        raise InputError(name, pts, rule) from None
    if arr.ndim < 2 or arr.shape[-1] not in (2, 3):
        raise InputError(name, pts, rule)
    if arr.shape[-2] == 0:
        raise InputError(name, [], "must contain at least one node")
    if not np.all(np.isfinite(arr)):
        raise InputError(name, pts, "coordinates must be finite numbers")
    return arr


def as_target(target_xy) -> np.ndarray:
    """The target as an array (..., 2) of [x, y] or (..., 3) of [x, y, z] [m]."""
    target = np.asarray(target_xy, dtype=float)
    if target.shape[-1:] not in ((2,), (3,)) or not np.all(np.isfinite(target)):
        raise InputError("target", target_xy, "must be [x, y] or [x, y, z] with finite numbers "
                         "(metres)")
    return target


def with_heights(*arrays):
    """The arrays unchanged when all are 2-D points ([x, y]: the paper's plane, bit for bit),
    else each as [x, y, z] with z = 0 where a point had none."""
    if all(a.shape[-1] == 2 for a in arrays):
        return arrays
    return tuple(a if a.shape[-1] == 3 else np.concatenate([a, np.zeros((*a.shape[:-1], 1))],
                                                           axis=-1) for a in arrays)


def _unit_and_distance(name: str, nodes: np.ndarray, target: np.ndarray):
    """Horizontal components of the unit vectors from the nodes to the target, and the
    distances. With [x, y, z] points the distance is 3-D and the vector (r/d) u: the gradient
    of the distance with respect to the target's ground position, its altitude known
    (differs from [1], whose nodes and target share one plane)."""
    diff = target[..., None, :] - nodes  # from node to target
    if diff.shape[-1] == 2:
        dist = np.hypot(diff[..., 0], diff[..., 1])
    else:
        dist = np.sqrt(diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)
    if np.any(dist == 0.0):
        idx = np.argwhere(dist == 0.0)[0]
        raise InputError(f"{name}[{int(idx[-1])}]", nodes[tuple(idx)].tolist(),
                         "node coincides with the target; every distance must be > 0")
    return diff[..., 0] / dist, diff[..., 1] / dist, dist


def check_counts(M_t, M_r, gamma):
    for name, v in (("M_t", M_t), ("M_r", M_r)):
        a = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(a)) or np.any(a < 1):
            raise InputError(name, v, "must be a number of antennas >= 1")
    g = np.asarray(gamma, dtype=float)
    if not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise InputError("gamma", gamma, "path-loss exponent must be finite and > 0")


def tx_factors(n_tx: int, M_t, tx_gain, tx_beta_hz, system: SystemParams):
    """Per-TX weight factors relative to the paper's defaults (gain M_t, beta_k = beta)."""
    f = np.ones(n_tx)
    if tx_gain is not None:
        g = np.asarray(tx_gain, float)
        if g.shape[-1:] != (n_tx,) or not np.all(np.isfinite(g)) or np.any(g < 0):
            raise InputError("tx_gain", tx_gain, f"must be {n_tx} finite numbers >= 0 (|a^H w|^2)")
        f = f * g / np.asarray(M_t, float)
    if tx_beta_hz is not None:
        b = np.asarray(tx_beta_hz, float)
        if b.shape[-1:] != (n_tx,) or not np.all(np.isfinite(b)) or np.any(b <= 0):
            raise InputError("tx_beta_hz", tx_beta_hz, f"must be {n_tx} finite numbers > 0 (Hz)")
        f = f * (b / system.beta_hz) ** 2
    return f


def layout_stats(tx_xy, rx_xy, target_xy, gamma, tx_factor=None):
    """LegStats of both sides of explicit layouts; shapes (..., N, 2 or 3) and (..., 2 or 3).

    Points are [x, y] or [x, y, z]; a missing z is 0. With any z the path loss is that of the
    3-D distance and the vectors are the horizontal gradients (r/d) u of each leg's distance:
    the FIM is the one on the target's ground position, its altitude known.
    """
    tx, rx, target = with_heights(as_points("tx", tx_xy), as_points("rx", rx_xy),
                                  as_target(target_xy))
    g = np.asarray(gamma, float)[..., None]
    ux, uy, d = _unit_and_distance("tx", tx, target)
    wt = d ** (-g)  # path loss L_k^t, below eq. (2)
    if tx_factor is not None:
        wt = wt * tx_factor
    st = leg_stats(wt, ux, uy)
    ux, uy, d = _unit_and_distance("rx", rx, target)
    sr = leg_stats(d ** (-g), ux, uy)
    return st, sr


def crlb(tx_xy, rx_xy, target_xy, *, M_t, M_r, rho_s_db, gamma, system: SystemParams = DEFAULT_SYSTEM,
         tx_gain=None, tx_beta_hz=None) -> dict:
    """CRLB on the target position, eq. (18), and the per-layout eq. (23) quantity.

    Parameters
    ----------
    tx_xy : array_like, shape (..., N_t, 2) or (..., N_t, 3)
        TX positions [m], [x, y] or [x, y, z]. Leading axes are a batch of layouts.
    rx_xy : array_like, shape (..., N_r, 2) or (..., N_r, 3)
        RX positions [m].
    target_xy : array_like, shape (..., 2) or (..., 3)
        Target position d_s [m]; with heights (any z) the CRLB is on its ground position
        (x, y), its altitude known (a missing z is 0).
    M_t, M_r : int
        Antennas per TX / RX.
    rho_s_db : float
        Normalized SNR rho_s [dB].
    gamma : float
        Path-loss exponent.
    system : SystemParams
    tx_gain : array_like, shape (N_t,), optional
        Beamforming gain |a^H(theta_k) w_k|^2 per TX. Default M_t (full gain, Remark 1).
    tx_beta_hz : array_like, shape (N_t,), optional
        Per-TX effective bandwidth beta_k [Hz]. Default ``system.beta_hz`` (Assumption 5).

    Returns
    -------
    dict with ``crlb_m2`` (eq. 18) and ``jensen_m2`` (eq. 23 integrand for this layout) [m^2].

    Notes
    -----
    With weights w_k = (g_k / M_t)(beta_k / beta)^2 L_k and w_l = L_l, eq. (15) is
    S = (M_r M_t eta / c^2) sum_kl w_k w_l (u_k + u_l)(u_k + u_l)^T, evaluated in factorized form.
    The eq. (23) quantity is 2 c^2 / (M_r M_t eta sum_k w_k sum_l w_l); with per-TX gains it uses
    the actual gains instead of the Cauchy-Schwarz bound M_t of eq. (21).
    """
    check_counts(M_t, M_r, gamma)
    n_tx = np.shape(tx_xy)[-2] if np.ndim(tx_xy) >= 2 else 0
    fac = tx_factors(n_tx, M_t, tx_gain, tx_beta_hz, system) if n_tx else None
    st, sr = layout_stats(tx_xy, rx_xy, target_xy, gamma, fac)
    scale = system.error_scale_m2(M_t, M_r, db_to_lin(rho_s_db))
    return {
        "crlb_m2": scale * crlb_geometric(st, sr),
        "jensen_m2": scale * jensen_geometric(st, sr),
    }


def crlb_direct(tx_xy, rx_xy, target_xy, *, M_t, M_r, rho_s_db, gamma,
                system: SystemParams = DEFAULT_SYSTEM, tx_gain=None, tx_beta_hz=None) -> float:
    """Reference: the literal double sum of eq. (15) for ONE layout, then eq. (18).

    Points [x, y] or [x, y, z] (3-D distances, the gradient on the ground position).

    Builds |alpha_kl|^2 from eq. (2) in absolute units, the per-delay information
    8 pi^2 M_r |alpha_kl|^2 beta_k^2 of eq. (13), and v_kl = (u_k + u_l)/c of eq. (16).
    O(N_t N_r); for tests only.
    """
    tx, rx, ds = with_heights(np.asarray(tx_xy, float), np.asarray(rx_xy, float),
                              np.asarray(target_xy, float))
    c = system.speed_of_light_m_s
    rho = float(db_to_lin(rho_s_db))
    gains = np.full(len(tx), float(M_t)) if tx_gain is None else np.asarray(tx_gain, float)
    betas = np.full(len(tx), system.beta_hz) if tx_beta_hz is None else np.asarray(tx_beta_hz, float)
    S = np.zeros((2, 2))
    scale = 0.0  # sum of the terms' norms: the size of the rounding in S
    for k in range(len(tx)):
        dk = np.linalg.norm(ds - tx[k])
        uk = (ds - tx[k]) / dk
        for ell in range(len(rx)):
            dl = np.linalg.norm(ds - rx[ell])
            ul = (ds - rx[ell]) / dl
            alpha2 = (system.rcs_m2**2 * rho * dl**-gamma * dk**-gamma * c**2
                      / ((4 * math.pi) ** 3 * system.carrier_hz**2) * gains[k])  # eq. (2)
            info = 8 * math.pi**2 * M_r * alpha2 * betas[k] ** 2  # eq. (13)
            # eq. (16), with unit vectors; with heights, the gradient with respect to the
            # target's ground position (x, y) only (its altitude known)
            v = (uk + ul)[:2] / c
            S += info * np.outer(v, v)  # eq. (15)
            scale += info * 4.0 / c**2
    if np.linalg.eigvalsh(S)[0] <= SINGULAR_RTOL * scale:
        return math.inf
    return float(np.trace(np.linalg.inv(S)))  # eq. (18)
