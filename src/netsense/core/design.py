"""Network design: the smallest density at which sqrt(eq. 18) <= R at a fraction P of target
positions (``netsense design``).

Coverage grows with the density (adding nodes adds a positive semidefinite term to the FIM of
eq. 15, so eq. 18 can only fall), so "the smallest density meeting (R, P)" is the density lam*
where the P-quantile of eq. (18) equals R^2. The densities are lam_t = lam sqrt(rho) and
lam_r = lam / sqrt(rho) for a ratio rho = lam_t / lam_r (default 1); lam = sqrt(lam_t lam_r).

* Where the sampler is scale-free (:attr:`~.samplers.base.Sampler.scale_free`: the whole plane,
  no guard zone), a PPP of density lam is one of density 1 scaled by lam^(-1/2), so eq. (18) at
  lam has the law of eq. (18) at lam_0 times (lam / lam_0)^(-gamma) exactly, for any ratio (each
  side scales alone). Its P-quantile Q_0 at one simulated lam_0 then gives
  lam* = lam_0 (Q_0 / R^2)^(1/gamma), and the order-statistic interval of Q_0
  (:func:`~.distribution.quantile_estimate`) maps to an interval of lam* with the same coverage
  (a monotone map).
* Otherwise (a window, a guard zone, a length in the process) the scaling breaks and the density
  is searched: each step simulates a density and moves along the local power law of the
  quantile, Q ~ lam^s (s from the last two steps; -gamma, the plane's, at first), until R^2 lies
  in the quantile's interval at the simulated density. A probe at exp(PROBE_LOG_STEP) times that
  density gives the local slope s, and that density's quantile and interval, mapped along
  Q ~ lam^s, are the answer and its interval (coverage measured,
  benchmarks/distribution_coverage.py).

The first density simulated is the exact answer for eq. (23) on the whole plane
(:func:`~.jensen_law.jensen_quantile`), which is near the answer for eq. (18).
"""

from __future__ import annotations

import math
from functools import lru_cache

from ..errors import InputError
from .jensen_law import jensen_quantile
from .mc import mc_point
from .samplers import PlaneSampler, Sampler
from .system import DEFAULT_SYSTEM, SystemParams, db_to_lin

DEFAULT_DESIGN_TRIALS = 100_000
MAX_SEARCH_STEPS = 12
# The search's densities stay in this range [m^-2] (a node per 10^6 km^2 to 100 per m^2).
LAM_RANGE = (1e-12, 1e2)
# A local slope of log Q on log lam from two steps closer than this in log lam is noise: the
# previous slope is kept.
MIN_LOG_STEP = 0.05
# The search's last density is paired with one this much higher in log lam (x 1.22) for the
# local slope that maps its quantile interval to the density's: far enough that the slope's
# noise is ~1% of it at 100 000 trials, near enough that the power law holds locally.
PROBE_LOG_STEP = 0.2


def _sides(lam: float, ratio: float | None) -> dict:
    if ratio is None:
        return {"lam": lam}
    return {"lam_t": lam * math.sqrt(ratio), "lam_r": lam / math.sqrt(ratio)}


def _step(lam, ratio, *, rmse_m, coverage, gamma, M_t, M_r, rho_s_db, sampler, trials, seed,
          system, beam, progress) -> dict:
    """Simulate one density: eq. (18)'s P-quantile with its interval, and the coverage at R."""
    res = mc_point(**_sides(lam, ratio), gamma=gamma, M_t=M_t, M_r=M_r, rho_s_db=rho_s_db,
                   trials=trials, seed=seed, sampler=sampler, system=system, beam=beam,
                   progress=progress, coverage_m=(rmse_m,), quantiles=(coverage,))
    q = res["crlb_m2"]["quantiles"][0]
    c = res["crlb_m2"]["coverage"][0]
    return {**_sides(lam, ratio), "lam": lam, "trials": trials, "quantile_m2": q["value_m2"],
            "quantile_ci95_m2": q["ci95"], "coverage": c["fraction"], "coverage_ci95": c["ci95"]}


@lru_cache(maxsize=256)
def _jensen_unit_quantile(coverage: float, gamma: float, scale: float) -> float:
    """eq. (23)'s exact P-quantile at unit densities (m^2), cached: a root of a 2-D integral."""
    return float(jensen_quantile(coverage, gamma=gamma, lam_t=1.0, lam_r=1.0, scale=scale))


def _check(name, v, rule, ok):
    if isinstance(v, bool) or not ok(v):
        raise InputError(name, v, rule)
    return v


def design_density(*, rmse_m: float, coverage: float, gamma: float, M_t: int, M_r: int,
                   rho_s_db: float, lam_ratio: float | None = None,
                   sampler: Sampler = PlaneSampler(), trials: int = DEFAULT_DESIGN_TRIALS,
                   seed: int = 0, system: SystemParams = DEFAULT_SYSTEM, beam: str = "full",
                   check: bool = False, lam_start: float | None = None, progress=None) -> dict:
    """The smallest density lam = sqrt(lam_t lam_r) with P(sqrt(eq. 18) <= ``rmse_m``) >=
    ``coverage`` (the module docstring), with a 95% interval.

    Returns
    -------
    dict with ``lam`` and ``lam_ci95`` [m^-2], ``nodes_per_km2`` and its ``_ci95``, ``lam_t``,
    ``lam_r`` with their intervals when ``lam_ratio`` is given, ``method`` (``scaling`` or
    ``search``), ``steps`` (each simulated density: its quantile and coverage with intervals),
    ``jensen_m2_lam`` (the same answer for eq. 23 on the whole plane, exact, where gamma > 2;
    the first density simulated unless ``lam_start`` is given)
    and, with ``check``, ``check``: the coverage at R re-simulated with another seed at ``lam``
    (``coverage``, ``coverage_ci95``) and at both ends of ``lam_ci95`` (``at_lam_ci95_ends``:
    each end's ``lam``, ``coverage``, ``coverage_ci95``), and ``target_in_ci95``: whether
    ``coverage`` lies between the lower 95% bound of the coverage at the low end and the upper
    bound at the high end.
    """
    _check("rmse_m", rmse_m, "must be finite and > 0 (metres)",
           lambda v: math.isfinite(v) and v > 0)
    _check("coverage", coverage, "must be strictly between 0 and 1", lambda v: 0 < v < 1)
    if lam_ratio is not None:
        _check("lam_ratio", lam_ratio, "lam_t / lam_r must be finite and > 0",
               lambda v: math.isfinite(v) and v > 0)
    sampler.check_gamma("gamma", gamma)
    r2 = rmse_m * rmse_m
    kw = dict(rmse_m=rmse_m, coverage=coverage, gamma=gamma, M_t=M_t, M_r=M_r,
              rho_s_db=rho_s_db, sampler=sampler, trials=trials, seed=seed, system=system,
              beam=beam, progress=progress)
    scale = float(system.error_scale_m2(M_t, M_r, db_to_lin(rho_s_db)))
    jensen_lam = None
    if gamma > 2:  # eq. (23)'s P-quantile scales as lam^-gamma: its exact answer in closed form
        q23 = _jensen_unit_quantile(float(coverage), float(gamma), scale)
        jensen_lam = (q23 / r2) ** (1.0 / gamma)
    if lam_start is not None:
        _check("lam_start", lam_start, "density must be finite and > 0 (per m^2)",
               lambda v: math.isfinite(v) and v > 0)
    lam = lam_start or (jensen_lam if jensen_lam is not None else 1.0 / 900.0)
    steps = []
    if sampler.scale_free:
        st = _step(lam, lam_ratio, **kw)
        steps.append(st)
        s = -gamma  # exact: Q(lam) = Q(lam_0) (lam / lam_0)^-gamma
        method = "scaling"
    else:
        method = "search"
        s = -gamma
        for _ in range(MAX_SEARCH_STEPS):
            st = _step(lam, lam_ratio, **kw)
            steps.append(st)
            if len(steps) >= 2:
                a, b = steps[-2], steps[-1]
                dx = math.log(b["lam"] / a["lam"])
                if abs(dx) >= MIN_LOG_STEP:
                    s_new = math.log(b["quantile_m2"] / a["quantile_m2"]) / dx
                    if s_new < 0:
                        s = s_new
            lo, hi = st["quantile_ci95_m2"]
            if lo <= r2 <= hi:
                break
            lam = lam * (r2 / st["quantile_m2"]) ** (1.0 / s)
            if not LAM_RANGE[0] <= lam <= LAM_RANGE[1]:
                raise InputError("rmse_m", rmse_m, f"coverage {coverage:g} at {rmse_m:g} m needs "
                                 f"a density outside {LAM_RANGE[0]:g}..{LAM_RANGE[1]:g} per m^2 "
                                 f"with the {sampler.label()} sampler")
        else:
            raise InputError("rmse_m", rmse_m, f"the density search did not bracket the answer "
                             f"in {MAX_SEARCH_STEPS} steps of {trials} trials; give more --trials")
        probe = _step(lam * math.exp(PROBE_LOG_STEP), lam_ratio, **kw)
        s = math.log(probe["quantile_m2"] / st["quantile_m2"]) / PROBE_LOG_STEP
        if not s < 0:
            raise InputError("rmse_m", rmse_m, "the quantile of eq. (18) did not fall with the "
                             f"density near lam = {lam:.4g} per m^2 (local slope {s:.3g}); give "
                             "more --trials")
        steps.append({**probe, "probe": True})
    st = next(x for x in reversed(steps) if not x.get("probe"))

    def at(q):  # lam with Q(lam) = R^2 along the (local) power law through the last step
        return st["lam"] * (r2 / q) ** (1.0 / s)

    lam_star = at(st["quantile_m2"])
    ci = sorted(at(q) for q in st["quantile_ci95_m2"])
    out = {"target": {"rmse_m": rmse_m, "coverage": coverage},
           "lam": lam_star, "lam_ci95": ci,
           "nodes_per_km2": lam_star * 1e6, "nodes_per_km2_ci95": [c * 1e6 for c in ci],
           "method": method, "local_slope": s, "steps": steps}
    if lam_ratio is not None:
        for side, f in (("lam_t", math.sqrt(lam_ratio)), ("lam_r", 1.0 / math.sqrt(lam_ratio))):
            out[side] = lam_star * f
            out[f"{side}_ci95"] = [c * f for c in ci]
    if jensen_lam is not None:
        out["jensen_m2_lam"] = jensen_lam
    if check:
        # with another seed, at the answer and at both ends of its interval: the coverage at the
        # answer, and whether P lies between the coverage's lower bound at the interval's low
        # end and its upper bound at the high end (the answer's uncertainty and the check's)
        at_lam, at_lo, at_hi = (_step(v, lam_ratio, **{**kw, "seed": seed + 1})
                                for v in (lam_star, *ci))
        out["check"] = {"lam": lam_star, "seed": seed + 1, "trials": trials,
                        "coverage": at_lam["coverage"], "coverage_ci95": at_lam["coverage_ci95"],
                        "at_lam_ci95_ends": [{k: x[k] for k in ("lam", "coverage", "coverage_ci95")}
                                             for x in (at_lo, at_hi)],
                        "target_in_ci95": bool(at_lo["coverage_ci95"][0] <= coverage
                                               <= at_hi["coverage_ci95"][1])}
    return out
