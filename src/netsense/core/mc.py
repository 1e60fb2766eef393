"""Monte Carlo of eq. (18) and eq. (23) of [1] at one point, streamed over blocks of trials
(``netsense mc``): the blocks of :mod:`.blocks`, the estimates of :mod:`.stats`."""

from __future__ import annotations

import math

from ..errors import InputError
from .beam import check_beam
from .blocks import simulate_block
from .closed_form import lemma3_inv_sum, theorem2_m2
from .expectations import g23_mean
from .samplers import PlaneSampler, Sampler, check_density, parameter_names
from .stats import RunningCV, RunningMoments, calibrated_min_trials, interval_calibrated
from .system import DEFAULT_SYSTEM, SystemParams, db_to_lin


def mc_point(*, lam: float, gamma: float, M: int, rho_s_db: float, trials: int, seed: int = 0,
             sampler: Sampler = PlaneSampler(), block_trials: int = 50_000,
             system: SystemParams = DEFAULT_SYSTEM, progress=None, beam: str = "full") -> dict:
    """Monte Carlo at one point (lam_t = lam_r = lam, M_t = M_r = M); blocks are streamed.

    Parameters
    ----------
    lam : float
        Node density of each side [m^-2].
    gamma : float
        Path-loss exponent.
    M : int
        Antennas per TX and per RX.
    rho_s_db : float
        Normalized SNR rho_s [dB].
    trials : int
        Networks to sample (>= 2); the last block is truncated to it.
    seed : int
        User seed; block b is keyed by (seed, stream key, b).
    sampler : Sampler
        A registered sampler (:data:`netsense.core.samplers.SAMPLERS`).
    block_trials : int
        Trials per block (result-shaping: it is part of the stream key).
    beam : str
        TX beamforming model (see :func:`~.blocks.simulate_block`). ``closed_form_m2`` and the
        ratios to it are Theorem 2 of [1], i.e. always at full beamforming gain.
    progress : callable(done, total), optional

    Returns
    -------
    dict with ``point`` (the inputs), ``crlb_m2`` (E[eq. 18]: the control-variate estimate of
    :class:`~.stats.RunningCV` with eq. (23) as the control, its ``method``, the ``plain``
    estimate beside it and the ``variance_reduction``), ``jensen_m2`` (E[eq. 23]: the plain
    mean, the sampler check, with ``exact_m2``, its exact value for this sampler, where known),
    in m^2, and, for gamma > 2, ``closed_form_m2`` with the ratios to it.
    """
    check_density(lam)
    if isinstance(trials, bool) or int(trials) != trials or trials < 2:
        raise InputError("trials", trials, "must be an integer >= 2")
    if isinstance(M, bool) or int(M) != M or M < 1:
        raise InputError("M", M, "must be an integer >= 1")
    check_beam(beam)
    if not (math.isfinite(gamma) and gamma > 0):
        raise InputError("gamma", gamma, "must be finite and > 0")
    if not math.isfinite(rho_s_db):
        raise InputError("rho_s_db", rho_s_db, "must be finite (dB)")
    scale = float(system.error_scale_m2(M, M, db_to_lin(rho_s_db)))
    control = g23_mean(sampler, lam, gamma, beam)  # NaN: not known, plain estimates
    m18, m23 = RunningCV(int(trials), control), RunningMoments()
    n_blocks = -(-int(trials) // block_trials)
    done = 0
    for b in range(n_blocks):
        out = simulate_block(seed, sampler, lam, gamma, b, block_trials, beam=beam, M=int(M))
        take = min(block_trials, int(trials) - done)
        m18.add(out["g18"][:take], out["g23"][:take])
        m23.add(out["g23"][:take])
        done += take
        if progress is not None:
            progress(done, int(trials))
    mapping = sampler.to_mapping()
    result = {
        "point": {"lam_per_m2": lam, "gamma": gamma, "M": M, "rho_s_db": rho_s_db,
                  "trials": int(trials), "seed": seed, "sampler": sampler.kind, "beam": beam,
                  **{p: mapping.get(p) for p in parameter_names()}},
        "crlb_m2": m18.summary(scale),
        "jensen_m2": m23.summary(scale),
    }
    if math.isfinite(control):
        result["jensen_m2"]["exact_m2"] = control * scale
    for s, method in ((result["crlb_m2"], result["crlb_m2"]["method"]),
                      (result["crlb_m2"]["plain"], "plain"), (result["jensen_m2"], "plain")):
        s["calibrated_min_trials"] = calibrated_min_trials(method, gamma)
        s["interval_calibrated"] = interval_calibrated(method, gamma, s["n"])
    if gamma > 2:
        closed = float(theorem2_m2(M_t=M, M_r=M, rho_s_db=rho_s_db, lam_t=lam, lam_r=lam,
                                   gamma=gamma, system=system))
        result["closed_form_m2"] = closed
        result["lemma3_inv_sum"] = float(lemma3_inv_sum(lam, gamma))
        for s in (result["crlb_m2"], result["crlb_m2"]["plain"], result["jensen_m2"]):
            s["ratio_to_closed_form"] = s["mean"] / closed
            s["ratio_ci95"] = [s["ci95"][0] / closed, s["ci95"][1] / closed]
    return result
