"""Monte Carlo of eq. (18) and eq. (23) of [1] at one point, streamed over blocks of trials
(``netsense mc``): the blocks of :mod:`.blocks`, the estimates of :mod:`.stats`."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .beam import check_beam
from .blocks import simulate_block
from .closed_form import lemma3_inv_sum, theorem2_m2
from .distribution import (
    coverage_estimate,
    localizable_estimate,
    proportion_interval,
    quantile_estimate,
)
from .expectations import g23_mean, localizable_probability
from .jensen_law import jensen_cdf
from .memory import check_block_memory
from .samplers import PlaneSampler, Sampler, check_density, parameter_names
from .stats import RunningCV, RunningMoments, calibrated_min_trials, interval_calibrated
from .system import DEFAULT_SYSTEM, SystemParams, db_to_lin

DEFAULT_BLOCK_TRIALS = 50_000  # trials per block of a long run: ~100-250 MB of temporaries
# Coverage, quantiles and, under blockage, the median of eq. (18) need every trial: eq. (18) and
# eq. (23) of each, 8 bytes each, are kept (2.5e8 trials is 4 GB); sorting for the quantiles
# holds ~28 bytes a trial more at its peak (tracemalloc, 1e6 trials, two accuracies and three
# quantiles).
KEPT_TRIAL_BYTES = 16
MAX_KEPT_TRIALS = 250_000_000
# What a mean of eq. (18) would be under blockage, said where the mean is not reported.
BLOCKAGE_MEAN_NOTE = (
    "E[eq. 18] is infinite under blockage: a side has no LOS node with probability "
    "exp(-mu) > 0, and even given a rank-2 FIM one TX with two RXs leaves it nearly singular "
    "on a set of codimension one (tr G^-1 ~ 1/x^2 there); the median and the localizable "
    "fraction are reported instead")
# The event eq. (23)'s finite trials are conditioned on under blockage.
BOTH_SIDES_USABLE = "N_t >= 1 and N_r >= 1 (each side has a LOS node)"


def block_size(trials: int, block_trials: int | None) -> int:
    """The trials of a block: ``block_trials``, default ``min(DEFAULT_BLOCK_TRIALS, trials)``."""
    return min(DEFAULT_BLOCK_TRIALS, int(trials)) if block_trials is None else block_trials


def _density(field: str, v) -> float:
    try:
        return check_density(v)
    except (InputError, TypeError, ValueError):
        raise InputError(field, v, "density must be finite and > 0 (per m^2)") from None


def _count(field: str, v) -> int:
    if isinstance(v, bool) or int(v) != v or v < 1:
        raise InputError(field, v, "must be an integer >= 1")
    return int(v)


def _pair(name: str, tied, t, r, check):
    """(tied value or None, TX value, RX value) from either ``name`` or both ``name_t`` and
    ``name_r``; one line naming the fields otherwise."""
    if tied is not None and (t is not None or r is not None):
        raise InputError(f"{name}_t/{name}_r", (t, r), f"give either {name} or both {name}_t "
                         f"and {name}_r, not both forms")
    if tied is not None:
        v = check(name, tied)
        return v, v, v
    if t is None or r is None:
        raise InputError(f"{name}_t/{name}_r", (t, r), f"give {name}, or both {name}_t and "
                         f"{name}_r")
    return None, check(f"{name}_t", t), check(f"{name}_r", r)


def _check_levels(coverage_m, quantiles) -> tuple[tuple, tuple]:
    cov = tuple(float(r) for r in coverage_m)
    qs = tuple(float(q) for q in quantiles)
    for r in cov:
        if not (math.isfinite(r) and r > 0):
            raise InputError("coverage_m", r, "an accuracy must be finite and > 0 (metres)")
    for q in qs:
        if not 0.0 < q < 1.0:
            raise InputError("quantiles", q, "a quantile must be strictly between 0 and 1")
    return cov, qs


def distribution_summary(g18, g23, scale: float, coverage_m=(), quantiles=(),
                         whole_plane=None) -> dict:
    """Coverage, quantiles and the localizable fraction of one point's trials, as
    :func:`mc_point` reports them: ``g18``/``g23`` the geometric factors of eq. (18)/(23) of
    every trial, ``scale`` their error scale [m^2] (the statistics are computed on the factors
    and scaled, :mod:`.distribution`). ``whole_plane``: callable(thresholds in m^2) -> the exact
    P(eq. 23 <= t) on the whole plane, reported beside eq. (23)'s coverage where given."""
    out: dict = {}
    r = np.asarray(coverage_m, float)
    for name, g in (("crlb_m2", g18), ("jensen_m2", g23)):
        d: dict = {}
        if r.size:
            c = coverage_estimate(g, r * r / scale)
            d["coverage"] = [{"rmse_m": float(ri), "fraction": float(v), "ci95": [float(lo),
                                                                                   float(hi)]}
                             for ri, v, lo, hi in zip(r, c.value, c.ci_low, c.ci_high,
                                                      strict=True)]
            if name == "jensen_m2" and whole_plane is not None:
                for row, p in zip(d["coverage"], whole_plane(r * r), strict=True):
                    row["whole_plane_exact"] = float(p)
        if len(quantiles):
            e = quantile_estimate(g, list(quantiles)).times(scale)
            d["quantiles"] = [{"q": float(q), "value_m2": float(v), "ci95": [float(lo), float(hi)],
                               "rmse_m": math.sqrt(v), "rmse_ci95_m": [math.sqrt(lo),
                                                                       math.sqrt(hi)]}
                              for q, v, lo, hi in zip(quantiles, e.value, e.ci_low, e.ci_high,
                                                      strict=True)]
        out[name] = d
    loc = localizable_estimate(g18)
    out["localizable_fraction"] = {"value": float(loc.value),
                                   "ci95": [float(loc.ci_low), float(loc.ci_high)],
                                   "n": int(loc.n)}
    return out


def mc_point(*, lam: float | None = None, gamma: float, M: int | None = None, rho_s_db: float,
             trials: int, seed: int = 0, sampler: Sampler = PlaneSampler(),
             block_trials: int | None = None, system: SystemParams = DEFAULT_SYSTEM, progress=None,
             beam: str = "full", lam_t: float | None = None, lam_r: float | None = None,
             M_t: int | None = None, M_r: int | None = None, coverage_m=(), quantiles=()
             ) -> dict:
    """Monte Carlo at one point; blocks are streamed.

    The densities are tied (``lam``: lam_t = lam_r, one stream for both sides,
    :func:`~.blocks.simulate_block`) or separate (``lam_t`` and ``lam_r``: each side from a
    stream of its own, :func:`~.blocks.streams`; the numbers then differ from the tied ones even where
    lam_t = lam_r, as two independent draws do). The antenna counts are ``M`` (M_t = M_r) or
    ``M_t`` and ``M_r``; with full beamforming gain they only scale the result (eq. 13: the FIM
    is linear in M_t M_r rho_s), with another beam model M_t weights the TXs.

    Parameters
    ----------
    lam, lam_t, lam_r : float
        Node densities [m^-2]: ``lam`` for both sides, or ``lam_t`` (TXs) and ``lam_r`` (RXs).
    gamma : float
        Path-loss exponent.
    M, M_t, M_r : int
        Antennas per node: ``M`` for both, or ``M_t`` per TX and ``M_r`` per RX.
    rho_s_db : float
        Normalized SNR rho_s [dB].
    trials : int
        Networks to sample (>= 2); the last block is truncated to it.
    seed : int
        User seed; block b is keyed by (seed, stream key, b).
    sampler : Sampler
        A registered sampler (:data:`netsense.core.samplers.SAMPLERS`).
    block_trials : int, optional
        Trials per block (result-shaping: it is part of the stream key). Default
        ``min(DEFAULT_BLOCK_TRIALS, trials)``: a short run samples only what it asks for, and
        the same call gives the same numbers. A disk block holds every node of its trials at
        once; one above :data:`~.memory.MAX_NODES_PER_BLOCK` nodes of a side is refused
        (:func:`~.memory.check_block_memory`).
    beam : str
        TX beamforming model (see :func:`~.blocks.simulate_block`). ``closed_form_m2`` and the
        ratios to it are Theorem 2 of [1], i.e. always at full beamforming gain.
    progress : callable(done, total), optional
    coverage_m : sequence of float, optional
        Accuracies R [m]: report the fraction of trials with sqrt(eq. 18) <= R (and of eq. 23),
        with 95% Clopper-Pearson intervals (:mod:`.distribution`; by ergodicity, the fraction
        of target positions in one network).
    quantiles : sequence of float, optional
        Quantiles q in (0, 1) of eq. (18) and eq. (23), with 95% order-statistic intervals.
        Either keeps every trial's eq. (18) and eq. (23): ``trials`` x 16 bytes.

    Returns
    -------
    dict with ``point`` (the inputs), ``crlb_m2`` (E[eq. 18]: the control-variate estimate of
    :class:`~.stats.RunningCV` with eq. (23) as the control, its ``method``, the ``plain``
    estimate beside it and the ``variance_reduction``), ``jensen_m2`` (E[eq. 23]: the plain
    mean, the sampler check, with ``exact_m2``, its exact value for this sampler, where known),
    in m^2, and, for gamma > 2, ``closed_form_m2`` with the ratios to it. With ``coverage_m``
    or ``quantiles``: ``coverage`` (list of {rmse_m, fraction, ci95}) and ``quantiles`` (list
    of {q, value_m2, ci95, rmse_m, rmse_ci95_m}) in each of ``crlb_m2`` and ``jensen_m2``
    (eq. 23's coverage with ``whole_plane_exact``, its exact value on the whole plane, where the
    sampler is scale-free), and ``localizable_fraction`` ({value, ci95, n}: trials with a
    finite eq. 18).

    Under a link model of the sampler (:mod:`netsense.core.links`) ``localizable_fraction`` is
    always reported, with ``exact`` (:func:`~.expectations.localizable_probability`, None where
    not known), and ``jensen_m2.exact_m2`` is the sampler's exact mean under that link model.
    Under blockage E[eq. 18] and E[eq. 23] are infinite (a side may have no LOS node):
    ``crlb_m2`` then has no mean (``mean`` None, ``mean_note`` says why) but the ``median`` of
    eq. (18) with its order-statistic ``median_ci95`` (over every trial, an unusable network
    counting as an infinite error); ``jensen_m2``'s mean is over its finite trials, i.e.
    conditional on each side having a LOS node (``conditional`` names the event), as is its
    ``exact_m2``.
    """
    lam, lam_t, lam_r = _pair("lam", lam, lam_t, lam_r, _density)
    M, M_t, M_r = _pair("M", M, M_t, M_r, _count)
    if isinstance(trials, bool) or int(trials) != trials or trials < 2:
        raise InputError("trials", trials, "must be an integer >= 2")
    coverage_m, quantiles = _check_levels(coverage_m, quantiles)
    blocked = sampler.blockage_per_m > 0
    keep = bool(coverage_m or quantiles) or blocked
    if keep and trials > MAX_KEPT_TRIALS:
        raise InputError("trials", trials, f"coverage, quantiles and blockage keep every "
                         f"trial ({KEPT_TRIAL_BYTES} bytes each): at most {MAX_KEPT_TRIALS:.3g} trials")
    check_beam(beam)
    if not (math.isfinite(gamma) and gamma > 0):
        raise InputError("gamma", gamma, "must be finite and > 0")
    if not math.isfinite(rho_s_db):
        raise InputError("rho_s_db", rho_s_db, "must be finite (dB)")
    scale = float(system.error_scale_m2(M_t, M_r, db_to_lin(rho_s_db)))  # eq. (13): M_t M_r
    # NaN: not known, plain estimates
    control = g23_mean(sampler, lam_t, gamma, beam, lam_r=None if lam is not None else lam_r)
    m18, m23 = RunningCV(int(trials), control), RunningMoments()
    block_trials = block_size(trials, block_trials)
    if isinstance(block_trials, bool) or int(block_trials) != block_trials or block_trials < 1:
        raise InputError("block_trials", block_trials, "must be an integer >= 1")
    block_trials = int(block_trials)
    check_block_memory(sampler, lam if lam is not None else max(lam_t, lam_r), block_trials,
                       where="at the peak")
    n_blocks = -(-int(trials) // block_trials)
    done = localizable = 0
    kept = np.empty((2, int(trials))) if keep else None
    for b in range(n_blocks):
        out = simulate_block(seed, sampler, lam_t, gamma, b, block_trials, beam=beam, M=M_t,
                             lam_r=None if lam is not None else lam_r)
        take = min(block_trials, int(trials) - done)
        m18.add(out["g18"][:take], out["g23"][:take])
        m23.add(out["g23"][:take])
        localizable += int(np.isfinite(out["g18"][:take]).sum())
        if kept is not None:
            kept[0, done:done + take] = out["g18"][:take]
            kept[1, done:done + take] = out["g23"][:take]
        done += take
        if progress is not None:
            progress(done, int(trials))
    mapping = sampler.to_mapping()
    result = {
        "point": {**({"lam_per_m2": lam} if lam is not None else
                     {"lam_t_per_m2": lam_t, "lam_r_per_m2": lam_r}),
                  "gamma": gamma, **({"M": M} if M is not None else {"M_t": M_t, "M_r": M_r}),
                  "rho_s_db": rho_s_db, "trials": int(trials), "seed": seed,
                  "sampler": sampler.kind, "beam": beam,
                  **{p: mapping.get(p) for p in parameter_names()}},
        "crlb_m2": m18.summary(scale),
        "jensen_m2": m23.summary(scale),
    }
    if math.isfinite(control):
        result["jensen_m2"]["exact_m2"] = control * scale
    estimates = [(result["crlb_m2"], result["crlb_m2"]["method"]),
                 (result["crlb_m2"]["plain"], "plain"), (result["jensen_m2"], "plain")]
    if kept is not None:
        exact = None
        if sampler.scale_free and beam == "full" and gamma > 2 and not sampler.has_link:
            def exact(t_m2):
                return jensen_cdf(t_m2, gamma=gamma, lam_t=lam_t, lam_r=lam_r, scale=scale)
        dist = distribution_summary(kept[0], kept[1], scale, coverage_m, quantiles, exact)
        for name in ("crlb_m2", "jensen_m2"):
            result[name].update(dist[name])
        result["localizable_fraction"] = dist["localizable_fraction"]
        if blocked:
            med = quantile_estimate(kept[0], 0.5).times(scale)
            crlb = result["crlb_m2"]
            result["crlb_m2"] = {"mean": None, "mean_note": BLOCKAGE_MEAN_NOTE,
                                 "median": float(med.value),
                                 "median_ci95": [float(med.ci_low), float(med.ci_high)],
                                 "n": crlb["n"], "n_inf": crlb["n_inf"],
                                 **{k: crlb[k] for k in ("coverage", "quantiles") if k in crlb}}
            result["jensen_m2"]["conditional"] = BOTH_SIDES_USABLE
            estimates = estimates[2:]
    if sampler.has_link:
        lo, hi = proportion_interval(localizable, int(trials))
        result["localizable_fraction"] = {
            "value": localizable / int(trials), "ci95": [float(lo), float(hi)],
            "exact": localizable_probability(sampler, lam_t, lam_r), "n": int(trials)}
    for s, method in estimates:
        s["calibrated_min_trials"] = calibrated_min_trials(method, gamma)
        s["interval_calibrated"] = interval_calibrated(method, gamma, s["n"])
    if gamma > 2:
        closed = float(theorem2_m2(M_t=M_t, M_r=M_r, rho_s_db=rho_s_db, lam_t=lam_t,
                                   lam_r=lam_r, gamma=gamma, system=system))  # eq. (26)
        result["closed_form_m2"] = closed
        if lam is not None:
            result["lemma3_inv_sum"] = float(lemma3_inv_sum(lam, gamma))
        else:
            result["lemma3_inv_sum_t"] = float(lemma3_inv_sum(lam_t, gamma))
            result["lemma3_inv_sum_r"] = float(lemma3_inv_sum(lam_r, gamma))
        for s, _ in estimates:
            s["ratio_to_closed_form"] = s["mean"] / closed
            s["ratio_ci95"] = [s["ci95"][0] / closed, s["ci95"][1] / closed]
    return result
