"""A maximum-likelihood position estimator from bistatic delays, run against the CRLB of eq. (18).

For one fixed layout (TX sites, RX sites, target) each Monte Carlo trial draws the N_t N_r noisy
bistatic delays tau_kl + n_kl, n_kl ~ N(0, var_kl) independent, with the per-delay variance of
eq. (13), var_kl = 1 / (8 pi^2 M_r |alpha_kl|^2 beta_k^2), and |alpha_kl|^2 from eq. (2) with the
full beamforming gain M_t (Remark 1), exactly as :func:`netsense.fisher.crlb_direct` builds it.
The Fisher information of these Gaussian delay measurements about d_s is eq. (15), so tr(S^-1)
of eq. (18) bounds the MSE of any unbiased estimator, and the ML estimator attains it at high SNR.

Everything here works in RANGE units: r_kl = c tau_kl [m], noise std sigma_kl = c sqrt(var_kl)
[m]. Delays are ~1e-7 s and their variances ~1e-20 s^2 at 120 dB; metres keep the normal
equations and the convergence tests well scaled. The likelihood and its maximizer are unchanged
(the factor c cancels between residuals and weights).

The estimator, vectorized over trials (arrays (trials, 2); no Python loop per trial):

1. :func:`init_closed_form`: a closed-form weighted LS solution of the linearized bistatic-range
   ellipse equations, in two passes (see its Notes): exact without noise.
2. :func:`ml_estimate`: ML = weighted nonlinear LS over all (k, l) pairs with the known weights
   1/sigma_kl^2, solved by Levenberg-Marquardt from the closed-form start, with a step cap
   (trust radius), a bounding box and a convergence mask.

This module is the kernel: pure array functions, then :func:`estimator_point` /
:func:`estimator_mc` (Monte Carlo with explicit, keyed randomness). The figure is
:func:`netsense.analysis.figures.estimator.plot_estimator`; ``netsense estimate`` writes the
files (:mod:`netsense.cli.deploy`).

The weights 1/sigma_kl^2 are taken as known (evaluated at the true target), as in the delay-domain
model behind eq. (15): each path's SNR |alpha_kl|^2 is observable at its receiver.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.fisher import as_points, as_target, check_counts, crlb, with_heights
from ..core.seeding import block_rng
from ..core.stats import mean_estimate
from ..core.system import DEFAULT_SYSTEM, SystemParams, db_to_lin
from ..errors import InputError

# Levenberg-Marquardt. A trial has converged when its Gauss-Newton step is below XTOL_STD local
# standard deviations, i.e. sqrt(dx^T H dx) <= XTOL_STD with H the whitened normal matrix (the
# Newton decrement). Stopping there changes the MSE by ~XTOL_STD^2 = 1e-6 relative. It must not be
# much smaller: the cost decrease of such a step is ~XTOL_STD^2, and with 1e-6 the accept test
# could not resolve it against the rounding of the cost at rho_s >= 150 dB on the square layout
# (measured: 0.2% of trials stalled at 160 dB).
XTOL_STD = 1e-3
MAX_ITER = 100
MU_INIT = 1e-3  # initial Marquardt damping, relative to diag(H)
MU_UP, MU_DOWN = 10.0, 0.3  # damping update on a rejected / accepted step
MU_MIN, MU_MAX = 1e-12, 1e12
# The estimate stays in a box: the sites' bounding box widened on every side by BOX_MARGIN times
# its largest side. Each step is also capped at MAX_STEP_FRACTION of that side (trust radius).
BOX_MARGIN = 1.0
MAX_STEP_FRACTION = 0.5
# Trials per random block: a block's stream is keyed by (seed, rho_s_db, block index), so the
# first n trials are the same whatever the total and memory stays bounded (~10 MB per block for
# 16 pairs).
BLOCK_TRIALS = 20_000
MAX_TRIALS = 10_000_000
# Distances below this fraction of the layout scale count as "on a site" in the model (no
# gradient there): they are floored to keep the iteration finite.
DIST_FLOOR_FRACTION = 1e-12
# Diagnostic only: an estimate within this fraction of the layout scale of a site "sits on the
# site". At low SNR the likelihood's minimum can be a site itself, where r_kl(d) has a cone
# (no gradient); LM then stalls there and the trial counts as not converged.
AT_SITE_FRACTION = 1e-6


# --------------------------------------------------------------------------------------------
# Pure array layer: the delay model in range units


def _distances(d, nodes, target_z_m: float = 0.0):
    """Horizontal vectors from the nodes to the ground positions ``d`` (..., 2), shape
    (..., N, 2), and the distances (..., N) [m]: 2-D for [x, y] nodes, 3-D for [x, y, z] nodes
    with the target at altitude ``target_z_m``."""
    e = np.asarray(d, float)[..., None, :] - nodes[:, :2]  # from node to target
    if nodes.shape[-1] == 2:
        return e, np.hypot(e[..., 0], e[..., 1])
    dz = nodes[:, 2] - target_z_m
    return e, np.sqrt(e[..., 0] ** 2 + e[..., 1] ** 2 + dz * dz)


def bistatic_ranges_m(tx_xy, rx_xy, d_xy, target_z_m: float = 0.0):
    """Bistatic ranges r_kl = ||d - d_k^t|| + ||d - d_l^r|| = c tau_kl [m].

    Parameters
    ----------
    tx_xy : array_like, shape (N_t, 2) or (N_t, 3)
        TX sites [m], [x, y] or [x, y, z].
    rx_xy : array_like, shape (N_r, 2) or (N_r, 3)
        RX sites [m].
    d_xy : array_like, shape (..., 2)
        Target ground positions [m].
    target_z_m : float
        The target's altitude [m] (known), with [x, y, z] sites.

    Returns
    -------
    ndarray, shape (..., N_t, N_r) [m]
    """
    tx = np.asarray(tx_xy, float)
    rx = np.asarray(rx_xy, float)
    dt = _distances(d_xy, tx, target_z_m)[1]  # (..., N_t)
    dr = _distances(d_xy, rx, target_z_m)[1]  # (..., N_r)
    return dt[..., :, None] + dr[..., None, :]  # c tau_kl, below eq. (2)


def bistatic_jacobian(tx_xy, rx_xy, d_xy, dist_floor_m: float = 0.0, target_z_m: float = 0.0):
    """Gradient of r_kl with respect to the ground position d: u_k + u_l (= c v_kl of eq. (16)),
    the horizontal parts of the unit vectors from the nodes to the target ((r/d) u with heights).

    Returns
    -------
    ranges : ndarray, shape (..., N_t, N_r) [m]
    jac : ndarray, shape (..., N_t, N_r, 2) [dimensionless]
    """
    tx = np.asarray(tx_xy, float)
    rx = np.asarray(rx_xy, float)
    et, dt = _distances(d_xy, tx, target_z_m)  # (..., N_t, 2), from node to target
    er, dr = _distances(d_xy, rx, target_z_m)
    dt = np.maximum(dt, dist_floor_m)
    dr = np.maximum(dr, dist_floor_m)
    ut = et / dt[..., None]
    ur = er / dr[..., None]
    ranges = dt[..., :, None] + dr[..., None, :]
    jac = ut[..., :, None, :] + ur[..., None, :, :]  # eq. (16) times c: u_k + u_l
    return ranges, jac


def range_noise_std_m(tx_xy, rx_xy, target_xy, *, M_t, M_r, rho_s_db, gamma,
                      system: SystemParams = DEFAULT_SYSTEM, tx_gain=None, tx_beta_hz=None,
                      target_z_m: float = 0.0):
    """Standard deviation of the bistatic-range noise, sigma_kl = c sqrt(var_kl) [m].

    Parameters
    ----------
    tx_xy, rx_xy : array_like, shapes (N_t, 2 or 3), (N_r, 2 or 3)
        Sites [m], [x, y] or [x, y, z].
    target_xy : array_like, shape (2,)
        True target ground position d_s [m] (at altitude ``target_z_m`` with [x, y, z] sites).
    M_t, M_r : int
        Antennas per TX / RX.
    rho_s_db : float
        Normalized SNR rho_s [dB].
    gamma : float
        Path-loss exponent.
    system : SystemParams
    tx_gain, tx_beta_hz : array_like, shape (N_t,), optional
        Per-TX beamforming gain |a^H w|^2 (default M_t) and effective bandwidth beta_k [Hz]
        (default ``system.beta_hz``), as in :func:`netsense.crlb`.

    Returns
    -------
    ndarray, shape (N_t, N_r) [m]

    Notes
    -----
    |alpha_kl|^2 = sigma^2 rho_s L_l^r L_k^t c^2 |a^H w_k|^2 / ((4 pi)^3 f_c^2)   (eq. (2) of [1])
    var_kl = 1 / (8 pi^2 M_r |alpha_kl|^2 beta_k^2)                             (eq. (13) of [1])
    """
    tx = np.asarray(tx_xy, float)
    rx = np.asarray(rx_xy, float)
    ds = np.asarray(target_xy, float)
    c = system.speed_of_light_m_s
    rho = float(db_to_lin(rho_s_db))
    gains = np.full(len(tx), float(M_t)) if tx_gain is None else np.asarray(tx_gain, float)
    betas = np.full(len(tx), system.beta_hz) if tx_beta_hz is None else np.asarray(tx_beta_hz, float)
    lt = _distances(ds, tx, target_z_m)[1] ** (-float(gamma))  # L_k^t
    lr = _distances(ds, rx, target_z_m)[1] ** (-float(gamma))  # L_l^r
    alpha2 = (system.rcs_m2**2 * rho * lt[:, None] * lr[None, :] * c**2
              / ((4 * math.pi) ** 3 * system.carrier_hz**2) * gains[:, None])  # eq. (2)
    info = 8 * math.pi**2 * M_r * alpha2 * betas[:, None] ** 2  # eq. (13): 1 / var_kl [s^-2]
    with np.errstate(divide="ignore"):
        return c / np.sqrt(info)  # range units: c * sqrt(var_kl)


def fim_range(tx_xy, rx_xy, target_xy, sigma_m, target_z_m: float = 0.0):
    """FIM on d_s in range units, S = sum_kl (u_k + u_l)(u_k + u_l)^T / sigma_kl^2 [m^-2].

    Identical to eq. (15) (v_kl = (u_k + u_l)/c and var_kl = sigma_kl^2 / c^2); shape (2, 2).
    """
    _, jac = bistatic_jacobian(tx_xy, rx_xy, target_xy, target_z_m=target_z_m)
    jw = jac / np.asarray(sigma_m, float)[..., None]
    return np.einsum("kli,klj->ij", jw, jw)  # eq. (15)


# --------------------------------------------------------------------------------------------
# Closed-form initializer


def _frame(tx, rx):
    """Centre and scale of a layout's ground plane: coordinates are normalized before the
    linear algebra."""
    sites = np.concatenate([tx[:, :2], rx[:, :2]])
    lo, hi = sites.min(axis=0), sites.max(axis=0)
    centre = 0.5 * (lo + hi)
    scale = float(np.max(hi - lo))
    if not scale > 0:
        scale = max(1.0, float(np.abs(sites).max()))
    return centre, scale, lo, hi


def init_closed_form(tx_xy, rx_xy, ranges_m, sigma_m=None, target_z_m: float = 0.0):
    """Closed-form position from bistatic ranges: two-pass weighted LS of the linearized ellipses.

    Parameters
    ----------
    tx_xy, rx_xy : array_like, shapes (N_t, 2 or 3), (N_r, 2 or 3)
        Sites [m], [x, y] or [x, y, z] (the target at the known altitude ``target_z_m``).
    ranges_m : array_like, shape (..., N_t, N_r)
        Measured bistatic ranges c tau_kl [m] (any leading batch of trials).
    sigma_m : array_like, shape (N_t, N_r), optional
        Range noise std [m] for the weights (default: equal).

    Returns
    -------
    ndarray, shape (..., 2) [m]

    Notes
    -----
    Let the side with fewer nodes be the "nuisance" side (say the RXs, sites b_l; the other side
    has sites a_k) and keep its ranges R_l = ||d - b_l|| as unknowns. Squaring
    ||d - a_k|| = r_kl - R_l eliminates ||d||^2 and leaves equations LINEAR in (d, R_1..R_N):

        2 (b_l - a_k)^T d + 2 r_kl R_l = r_kl^2 + ||b_l||^2 - ||a_k||^2,

    N_t N_r equations in 2 + min(N_t, N_r) unknowns, exact at the true (d, R) without noise
    (with heights, ||a_k||^2 and ||b_l||^2 also hold each site's squared height above the
    target, dz^2: ||d - a_k||^2 = ||d - a_k||_xy^2 + dz_k^2, and d stays 2-D)
    (the "nuisance range" linearization of the bistatic ellipses; cf. [10] of [1], Dianat et al.).
    With range noise n_kl the equation error is -2 ||d - a_k|| n_kl - n_kl^2, so pass 1 weights
    row (k, l) by 1/sigma_kl and pass 2 re-weights it by 1 / (||d1 - a_k|| sigma_kl) with the
    pass-1 estimate d1 (the two-step WLS idea; the constraint R_l = ||d - b_l|| is not imposed).
    Solved per trial by a batched SVD pseudo-inverse in a centred, scaled frame. Identifiable
    when the stacked matrix has full column rank, generically when N_t N_r >= 2 + min(N_t, N_r).
    """
    tx = np.asarray(tx_xy, float)
    rx = np.asarray(rx_xy, float)
    r = np.asarray(ranges_m, float)
    sig = np.ones(r.shape[-2:]) if sigma_m is None else np.asarray(sigma_m, float)
    centre, scale, _, _ = _frame(tx, rx)
    a, b = (tx[:, :2] - centre) / scale, (rx[:, :2] - centre) / scale  # normalized frame
    # squared heights above the target, normalized (0 on the plane)
    za2, zb2 = ((p[:, 2] - target_z_m) ** 2 / scale**2 if p.shape[-1] == 3
                else np.zeros(len(p)) for p in (tx, rx))
    r = r / scale
    sig = sig / scale
    if len(rx) > len(tx):  # nuisance = the smaller side: swap roles (r_kl is symmetric in k, l)
        a, b = b, a
        za2, zb2 = zb2, za2
        r = np.swapaxes(r, -1, -2)
        sig = sig.T
    na, nb = len(a), len(b)
    batch = r.shape[:-2]
    # rows (k, l) flattened; unknowns (d_x, d_y, R_1..R_nb)
    A = np.zeros((*batch, na, nb, 2 + nb))
    A[..., 0] = 2.0 * (b[None, :, 0] - a[:, None, 0])
    A[..., 1] = 2.0 * (b[None, :, 1] - a[:, None, 1])
    eye = np.eye(nb)
    A[..., 2:] = 2.0 * r[..., None] * eye[None, :, :]
    rhs = r**2 + ((b**2).sum(-1) + zb2)[None, :] - ((a**2).sum(-1) + za2)[:, None]
    A = A.reshape(*batch, na * nb, 2 + nb)
    rhs = rhs.reshape(*batch, na * nb)

    def wls(w):
        w = w.reshape(*batch, na * nb) if w.ndim > 2 else np.broadcast_to(w.reshape(-1), rhs.shape)
        sol = np.linalg.pinv(A * w[..., None], rcond=1e-12) @ (rhs * w)[..., None]
        return sol[..., :2, 0]

    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = wls(1.0 / sig)  # pass 1
        da = np.hypot(d1[..., None, 0] - a[:, 0], d1[..., None, 1] - a[:, 1])  # (..., na)
        if za2.any():
            da = np.sqrt(da * da + za2)  # 3-D distance to the site
        da = np.maximum(da, 1e-3)  # ~1e-3 of the layout size: a site is never exactly on d1
        d2 = wls(1.0 / (da[..., :, None] * sig))  # pass 2
    d2 = np.where(np.isfinite(d2).all(-1, keepdims=True), d2, d1)
    return d2 * scale + centre


# --------------------------------------------------------------------------------------------
# Maximum likelihood: Levenberg-Marquardt over trials


def _whitened(tx, rx, x, y, inv_sig, floor, z):
    ranges, jac = bistatic_jacobian(tx, rx, x, floor, z)
    e = ((y - ranges) * inv_sig).reshape(len(x), -1)  # whitened residuals
    jw = (jac * inv_sig[..., None]).reshape(len(x), -1, 2)
    return e, jw


def _cost(tx, rx, x, y, inv_sig, z):
    e = (y - bistatic_ranges_m(tx, rx, x, z)) * inv_sig
    return (e.reshape(len(x), -1) ** 2).sum(-1)


def ml_estimate(tx_xy, rx_xy, ranges_m, sigma_m, x0, *, max_iter: int = MAX_ITER,
                box=None, max_step_m=None, target_z_m: float = 0.0) -> dict:
    """ML position (weighted nonlinear LS over all (k, l)) by Levenberg-Marquardt, per trial.

    Parameters
    ----------
    tx_xy, rx_xy : array_like, shapes (N_t, 2 or 3), (N_r, 2 or 3)
        Sites [m], [x, y] or [x, y, z] (the target's altitude ``target_z_m`` known: the
        estimate is its ground position).
    ranges_m : array_like, shape (trials, N_t, N_r)
        Measured bistatic ranges [m].
    sigma_m : array_like, shape (N_t, N_r)
        Range noise std [m]; the weights are 1/sigma^2.
    x0 : array_like, shape (trials, 2)
        Starting points [m] (clipped into the box).
    max_iter : int
    box : (lo, hi) pair of arrays of shape (2,), optional
        Bounds on the estimate [m]. Default: the sites' bounding box widened by BOX_MARGIN.
    max_step_m : float, optional
        Trust radius per step [m]. Default: MAX_STEP_FRACTION of the box's largest side.

    Returns
    -------
    dict with ``d_hat`` (trials, 2) [m], ``converged`` (trials,) bool, ``iterations`` (trials,),
    ``on_box`` (trials,) bool (estimate ended on the box boundary), ``at_site`` (trials,) bool
    (estimate on a site, see AT_SITE_FRACTION) and ``cost`` (trials,), the final weighted sum of
    squares.

    Notes
    -----
    Minimizes sum_kl (y_kl - r_kl(d))^2 / sigma_kl^2, the negative log-likelihood of the Gaussian
    delays of eq. (13) up to constants. Each iteration solves (H + mu diag H) dx = J^T W e for all
    active trials at once (2x2, in closed form), caps |dx| at the trust radius, clips into the
    box and keeps the step only where the cost decreased (mu shrinks on success, grows on
    failure; monotone). A trial stops when its Gauss-Newton step is below XTOL_STD local standard
    deviations, or when its damping reaches MU_MAX without a successful step (stalled: not
    converged). Converged = stopped by the step test within ``max_iter``, finite and not on the
    box boundary.
    """
    tx = np.asarray(tx_xy, float)
    rx = np.asarray(rx_xy, float)
    y = np.asarray(ranges_m, float)
    inv_sig = 1.0 / np.asarray(sigma_m, float)
    centre, scale, lo_s, hi_s = _frame(tx, rx)
    if box is None:
        side = float(np.max(hi_s - lo_s)) or scale
        box = (lo_s - BOX_MARGIN * side, hi_s + BOX_MARGIN * side)
    lo, hi = (np.asarray(v, float) for v in box)
    if max_step_m is None:
        max_step_m = MAX_STEP_FRACTION * float(np.max(hi - lo))
    floor = DIST_FLOOR_FRACTION * scale
    n = len(y)
    x = np.clip(np.nan_to_num(np.asarray(x0, float), nan=0.0, posinf=0.0, neginf=0.0), lo, hi)
    x = np.where(np.isfinite(np.asarray(x0, float)).all(-1, keepdims=True), x, np.clip(centre, lo, hi))
    cost = _cost(tx, rx, x, y, inv_sig, target_z_m)
    mu = np.full(n, MU_INIT)
    done = np.zeros(n, bool)
    conv = np.zeros(n, bool)  # stopped by the XTOL_STD test
    iters = np.zeros(n, int)
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        xa, ya = x[act], y[act]
        e, jw = _whitened(tx, rx, xa, ya, inv_sig, floor, target_z_m)
        hxx = (jw[..., 0] ** 2).sum(-1)
        hxy = (jw[..., 0] * jw[..., 1]).sum(-1)
        hyy = (jw[..., 1] ** 2).sum(-1)
        gx = (jw[..., 0] * e).sum(-1)
        gy = (jw[..., 1] * e).sum(-1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            det = hxx * hyy - hxy**2
            # Newton decrement of the undamped Gauss-Newton step: g^T H^-1 g = (step / std)^2
            dec2 = (hyy * gx**2 - 2 * hxy * gx * gy + hxx * gy**2) / det
            stop = np.isfinite(dec2) & (dec2 <= XTOL_STD**2)
            m = mu[act]
            axx, ayy = hxx * (1 + m), hyy * (1 + m)
            detm = axx * ayy - hxy**2
            sx = (ayy * gx - hxy * gy) / detm
            sy = (axx * gy - hxy * gx) / detm
        bad = ~(np.isfinite(sx) & np.isfinite(sy))
        sx, sy = np.where(bad, 0.0, sx), np.where(bad, 0.0, sy)
        norm = np.hypot(sx, sy)
        cap = np.where(norm > max_step_m, max_step_m / np.maximum(norm, 1e-300), 1.0)
        xn = np.clip(xa + np.stack([sx * cap, sy * cap], -1), lo, hi)
        cn = _cost(tx, rx, xn, ya, inv_sig, target_z_m)
        accept = ~stop & ~bad & (cn < cost[act])
        x[act] = np.where(accept[:, None], xn, xa)
        cost[act] = np.where(accept, cn, cost[act])
        mu[act] = np.clip(np.where(accept, m * MU_DOWN, m * MU_UP), MU_MIN, MU_MAX)
        iters[act] += ~stop
        # a trial whose damping hit MU_MAX without progress is stuck: stop it (not converged)
        stuck = ~accept & (mu[act] >= MU_MAX)
        done[act] = stop | stuck
        conv[act] = stop
    side = np.max(hi - lo)
    on_box = (np.abs(x - lo) <= 1e-9 * side).any(-1) | (np.abs(x - hi) <= 1e-9 * side).any(-1)
    finite = np.isfinite(x).all(-1)
    sites = np.concatenate([tx, rx])
    near = _distances(x, sites, target_z_m)[1].min(-1)
    at_site = near <= AT_SITE_FRACTION * scale
    return {"d_hat": x, "converged": conv & ~on_box & finite, "iterations": iters,
            "on_box": on_box, "at_site": at_site, "cost": cost}


# --------------------------------------------------------------------------------------------
# Monte Carlo against the CRLB


def _layout_arrays(layout_kwargs: dict):
    """(tx, rx, target ground position (2,), target altitude [m]) of a layout; with any z the
    sites are all [x, y, z] (a missing z is 0)."""
    kw = dict(layout_kwargs)
    tx = as_points("tx", kw["tx_xy"])
    rx = as_points("rx", kw["rx_xy"])
    if tx.ndim != 2 or rx.ndim != 2:
        raise InputError("tx/rx", (tx.shape, rx.shape), "one layout: shapes (N_t, 2) and (N_r, 2)")
    target = as_target(kw["target_xy"])
    if target.ndim != 1:
        raise InputError("target", kw["target_xy"], "one target: [x, y] or [x, y, z] (metres)")
    tx, rx, target = with_heights(tx, rx, target)
    check_counts(kw["M_t"], kw["M_r"], kw["gamma"])
    z = float(target[2]) if target.shape[-1] == 3 else 0.0
    return tx, rx, target[:2], z


def check_layout(layout_kwargs: dict) -> None:
    """Raise :class:`InputError` unless the estimator can run on this layout.

    Needs a finite CRLB (not every site collinear with the target), no site on the target and
    enough pairs for the closed-form initializer (N_t N_r >= 2 + min(N_t, N_r)).
    """
    tx, rx, _, _ = _layout_arrays(layout_kwargs)
    kw = {k: v for k, v in layout_kwargs.items() if k not in ("name", "description")}
    c = float(crlb(**kw)["crlb_m2"])  # also rejects a site on the target
    if not (math.isfinite(c) and c > 0):
        raise InputError("layout", "tx/rx", "all sites are collinear with the target: the FIM is "
                         "singular and the CRLB infinite (position not identifiable)")
    nt, nr = len(tx), len(rx)
    if nt * nr < 2 + min(nt, nr):
        raise InputError("layout", f"N_t={nt}, N_r={nr}", "the closed-form initializer needs "
                         "N_t N_r >= 2 + min(N_t, N_r) pairs (e.g. 2 TXs and 2 RXs)")


def _stream_key(rho_s_db: float) -> str:
    return f"estimator;rho_s_db={float(rho_s_db)!r}"


def _summary(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean of a 1-D sample (:func:`netsense.core.stats`)."""
    e = mean_estimate(x)
    return float(e.mean), float(e.sem)


def simulate_estimates(layout_kwargs: dict, rho_s_db: float, trials: int, rng: np.random.Generator
                       ) -> dict:
    """Draw ``trials`` noisy range vectors and run the initializer and the ML estimator.

    Returns
    -------
    dict with ``d_hat``, ``d_init`` (trials, 2) [m], ``converged`` (trials,) bool,
    ``iterations`` (trials,), ``sigma_m`` (N_t, N_r) and ``target`` (2,) [m] (its ground
    position; with [x, y, z] sites its altitude is known to the estimator).
    """
    tx, rx, target, z = _layout_arrays(layout_kwargs)
    kw = {k: layout_kwargs[k] for k in ("M_t", "M_r", "gamma")}
    kw.update({k: layout_kwargs[k] for k in ("system", "tx_gain", "tx_beta_hz") if k in layout_kwargs})
    sigma = range_noise_std_m(tx, rx, target, rho_s_db=rho_s_db, target_z_m=z, **kw)
    r0 = bistatic_ranges_m(tx, rx, target, z)
    y = r0 + sigma * rng.standard_normal((int(trials), len(tx), len(rx)))  # c (tau_kl + n_kl)
    x0 = init_closed_form(tx, rx, y, sigma, target_z_m=z)
    res = ml_estimate(tx, rx, y, sigma, x0, target_z_m=z)
    return {"d_hat": res["d_hat"], "d_init": x0, "converged": res["converged"],
            "at_site": res["at_site"], "iterations": res["iterations"], "sigma_m": sigma,
            "target": target}


def estimator_point(layout_kwargs: dict, rho_s_db: float, trials: int, seed: int) -> dict:
    """Monte Carlo of the ML estimator at one rho_s; streams keyed by (seed, rho_s_db, block).

    Returns one table row (see :func:`estimator_mc`).
    """
    target = _layout_arrays(layout_kwargs)[2]
    trials = int(trials)
    err, err0, conv, its, site = [], [], [], [], []
    for b, start in enumerate(range(0, trials, BLOCK_TRIALS)):
        rng = block_rng(seed, _stream_key(rho_s_db), b)
        out = simulate_estimates(layout_kwargs, rho_s_db, min(BLOCK_TRIALS, trials - start), rng)
        err.append(out["d_hat"] - target)
        err0.append(out["d_init"] - target)
        conv.append(out["converged"])
        its.append(out["iterations"])
        site.append(out["at_site"])
    e, e0 = np.concatenate(err), np.concatenate(err0)
    conv, its, site = np.concatenate(conv), np.concatenate(its), np.concatenate(site)
    kw = {k: v for k, v in layout_kwargs.items() if k not in ("name", "description")}
    kw["rho_s_db"] = float(rho_s_db)
    crlb_m2 = float(crlb(**kw)["crlb_m2"])  # eq. (18)
    sq = mean_estimate((e**2).sum(-1))  # E||d_hat - d_s||^2, over ALL trials
    mse, mse_se = float(sq.mean), float(sq.sem)
    mse_lo, mse_hi = float(sq.ci_low), float(sq.ci_high)
    mse0, mse0_se = _summary((e0**2).sum(-1))
    bx, bx_se = _summary(e[:, 0])
    by, by_se = _summary(e[:, 1])
    return {
        "rho_s_db": float(rho_s_db), "trials": trials,
        "mse_m2": mse, "mse_sem_m2": mse_se,
        "mse_ci95_m2": [mse_lo, mse_hi],
        "crlb_m2": crlb_m2,
        "ratio": mse / crlb_m2, "ratio_ci95": [mse_lo / crlb_m2, mse_hi / crlb_m2],
        "rmse_m": math.sqrt(mse), "crlb_rmse_m": math.sqrt(crlb_m2),
        "bias_m": [bx, by], "bias_sem_m": [bx_se, by_se],
        "init_mse_m2": mse0, "init_mse_sem_m2": mse0_se, "init_ratio": mse0 / crlb_m2,
        "nonconverged_fraction": float(1.0 - conv.mean()),
        "at_site_fraction": float(site.mean()),
        "mean_iterations": float(its.mean()),
    }


def estimator_mc(layout_kwargs: dict, rho_s_db_values, trials: int, rng_or_seed) -> list[dict]:
    """The ML estimator against the CRLB at each rho_s: MSE, ratio to eq. (18), bias, init MSE.

    Parameters
    ----------
    layout_kwargs : dict
        Keyword arguments of :func:`netsense.crlb` (as :func:`netsense.layout.load_layout`
        returns them): tx_xy, rx_xy, target_xy, M_t, M_r, gamma, system[, tx_gain, tx_beta_hz];
        its ``rho_s_db`` is ignored.
    rho_s_db_values : sequence of float
        Normalized SNRs rho_s [dB].
    trials : int
        Monte Carlo trials per rho_s (>= 2).
    rng_or_seed : int or numpy.random.Generator
        An int seeds streams keyed by (seed, rho_s_db, block of BLOCK_TRIALS trials) through
        SeedSequence (:func:`netsense.seeding.block_rng`): a point's numbers do not depend on the
        other values in the list or their order. A Generator contributes one 63-bit base seed
        (one draw), which is then keyed the same way.

    Returns
    -------
    list of dict, one per rho_s, with ``rho_s_db``; ``mse_m2`` = mean ||d_hat - d_s||^2 over all
    trials [m^2], ``mse_sem_m2`` (standard error of the mean of the squared errors) and
    ``mse_ci95_m2`` (the 95% interval of :func:`netsense.core.stats.mean_estimate`: Hall's
    skewness-corrected interval, as the squared errors are right-skewed); ``crlb_m2`` =
    tr(S^-1) of eq. (18); ``ratio`` = MSE/CRLB and ``ratio_ci95``; ``bias_m`` (mean error
    vector [m]) with ``bias_sem_m``; ``init_mse_m2`` (closed-form initializer alone) with its
    sem and ``init_ratio``; ``nonconverged_fraction``;
    ``at_site_fraction`` (estimates stalled on a site, see AT_SITE_FRACTION); ``mean_iterations``;
    ``rmse_m`` and ``crlb_rmse_m``.
    """
    check_layout(layout_kwargs)
    if isinstance(rng_or_seed, np.random.Generator):
        seed = int(rng_or_seed.integers(2**63))
    elif isinstance(rng_or_seed, (int, np.integer)) and not isinstance(rng_or_seed, bool) \
            and rng_or_seed >= 0:
        seed = int(rng_or_seed)
    else:
        raise InputError("rng_or_seed", rng_or_seed, "must be an int seed >= 0 or a numpy Generator")
    check_trials("trials", trials)
    return [estimator_point(layout_kwargs, float(r), trials, seed) for r in rho_s_db_values]


def check_trials(name, trials):
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or not 2 <= trials <= MAX_TRIALS:
        raise InputError(name, trials, f"must be an integer in [2, {MAX_TRIALS}]")
