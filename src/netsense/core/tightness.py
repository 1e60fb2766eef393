"""The tightness function c(gamma) = E[eq. 18] / Theorem 2 on the whole plane, tabulated.

For lam_t = lam_r and M_t = M_r, E[eq. 18] over PPP networks on the plane is Theorem 2 of [1]
(eq. 26) times a function of gamma alone: a PPP of density lam is a PPP of density 1 scaled by
lam^(-1/2), which scales eq. (18) and eq. (26) alike, and both are proportional to
1 / (M_t M_r rho_s) with full beamforming gain. So Theorem 2 x c(gamma) is the average CRLB
itself, not a bound on it (c >= 1 by the Jensen step, eq. 20).

The table (``tightness.csv`` beside this module, written by ``netsense tightness``; a copy is
kept under ``data/tightness/``) holds c at 80 values of gamma from 2.05 to 6 with its
control-variate 95% interval (:mod:`.stats`); :func:`tightness` interpolates it.
"""

from __future__ import annotations

import csv
import functools
import math
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from .stats import Z95

TABLE = Path(__file__).with_name("tightness.csv")
GAMMAS = tuple(round(2.0 + 0.05 * i, 2) for i in range(1, 81))  # 2.05, 2.10, ..., 6.00
LAM = 1.0 / 900.0  # any density gives the same ratio; the paper's
NEAREST = 128  # K of the plane sampler: its exact eq. (23) bias is below 5e-5 for 2.05 <= gamma <= 6
# (core.expectations), 20x under the 1e-3 target
SEED = 20261201
PILOT_TRIALS = 20_000
BLOCK_TRIALS = 20_000
COLUMNS = ("gamma", "c", "c_se", "c_ci95_low", "c_ci95_high", "trials", "variance_reduction",
           "plain_c", "plain_c_ci95_low", "plain_c_ci95_high", "eq23_ratio", "eq23_ratio_se",
           "K", "seed", "cpu_s")


def target_halfwidth(gamma: float) -> float:
    """The relative 95% half-width the table is built to: 1e-3 up to gamma = 4, 3e-3 to 6."""
    return 1e-3 if gamma <= 4.0 + 1e-12 else 3e-3


def compute_row(gamma: float, seed: int = SEED, nearest: int = NEAREST, margin: float = 0.8,
                max_trials: int = 20_000_000, ratio: float | None = None,
                sampler=None) -> dict:
    """c(gamma) from a pilot run and a run sized to ``margin`` x the target half-width (the
    pilot's blocks are the first blocks of the sized run: the same stream).

    ``ratio``: lam_t / lam_r for the asymmetric map (lam_t lam_r = LAM^2 kept: on the plane only
    the ratio matters), each side from its own stream (:mod:`netsense.core.blocks`); None: the
    tied table (lam_t = lam_r = LAM, one stream). ``sampler``: default the plane sampler with
    ``nearest``."""
    from .mc import mc_point
    from .samplers import PlaneSampler

    sampler = PlaneSampler(nearest) if sampler is None else sampler
    t = time.process_time()
    dens = {"lam": LAM} if ratio is None else {"lam_t": LAM * math.sqrt(ratio),
                                                "lam_r": LAM / math.sqrt(ratio)}
    kw = dict(**dens, gamma=gamma, M=1, rho_s_db=0.0, seed=seed, sampler=sampler,
              block_trials=BLOCK_TRIALS)
    pilot_res = mc_point(trials=PILOT_TRIALS, **kw)  # the first blocks of the sized run
    pilot = pilot_res["crlb_m2"]
    rel = pilot["sem"] / pilot["mean"] * math.sqrt(PILOT_TRIALS)  # per-trial relative sd
    need = (Z95 * rel / (margin * target_halfwidth(gamma))) ** 2
    trials = int(min(max_trials, max(PILOT_TRIALS, math.ceil(need / BLOCK_TRIALS) * BLOCK_TRIALS)))
    res = pilot_res if trials == PILOT_TRIALS else mc_point(trials=trials, **kw)
    c, j = res["crlb_m2"], res["jensen_m2"]
    closed = res["closed_form_m2"]
    return {"gamma": gamma, "c": c["ratio_to_closed_form"], "c_se": c["sem"] / closed,
            "c_ci95_low": c["ratio_ci95"][0], "c_ci95_high": c["ratio_ci95"][1],
            "trials": trials, "variance_reduction": c["variance_reduction"],
            "plain_c": c["plain"]["ratio_to_closed_form"],
            "plain_c_ci95_low": c["plain"]["ratio_ci95"][0],
            "plain_c_ci95_high": c["plain"]["ratio_ci95"][1],
            "eq23_ratio": j["ratio_to_closed_form"], "eq23_ratio_se": j["sem"] / closed,
            "K": getattr(sampler, "nearest", ""), "sampler": sampler.label(), "seed": seed,
            "cpu_s": time.process_time() - t,
            **({} if ratio is None else {"ratio": ratio})}


# The asymmetric map: E[eq. 18] / Theorem 2 against lam_t / lam_r. E[eq. 18] is
# symmetric in the two sides (eq. 15), so ratios >= 1 cover every case. On the plane the ratio
# drops out exactly (each side's weights scale as its own lam^(gamma/2), so tr(G^-1) scales as
# (lam_t lam_r)^(-gamma/2)): the plane rows are a check; the disk (the paper's window, R = 500 m)
# is where an imbalance matters. K = 64 (exact eq. 23 bias below 1.4e-4).
MAP_GAMMAS = (2.1, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)
MAP_RATIOS = (1.0, 4.0, 16.0, 64.0, 256.0)
MAP_NEAREST = 64
MAP_MAX_TRIALS = 4_000_000  # caps the gamma = 6 cells near a 3e-3 half-width
# The disk samples every node in it (pi R^2 lam: 870 per side at 1/900, 3 500 at 4/900), so its
# grid is smaller and its runs capped lower; its intervals are then wider than the plane's.
MAP_DISK_RADIUS_M = 500.0
MAP_DISK_GAMMAS = (2.5, 3.0, 4.0)
MAP_DISK_RATIOS = (1.0, 4.0, 16.0)
MAP_DISK_MAX_TRIALS = 200_000


def write_table(rows: list[dict], path: Path, columns=COLUMNS) -> None:
    """The table as CSV (full float precision)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in sorted(rows, key=lambda r: (r.get("sampler", ""), r.get("ratio", 1.0),
                                             r["gamma"])):
            w.writerow({k: repr(float(r[k])) if isinstance(r[k], (float, np.floating)) else r[k]
                        for k in columns})
    tmp.replace(path)


@functools.lru_cache(maxsize=1)
def table() -> dict:
    """The packaged table as arrays by column."""
    if not TABLE.exists():
        raise InputError("tightness table", str(TABLE), "not found; `netsense tightness` "
                         "computes it")
    with TABLE.open() as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("gamma", "c", "c_se")}


def tightness(gamma):
    """c(gamma) = E[eq. 18] / Theorem 2 on the plane (lam_t = lam_r, M_t = M_r) and its
    standard error, interpolated from the table (cubic in log c between tabulated values;
    the interpolation error is far below the tabulated standard errors at a 0.05 step).

    Returns (c, se), floats or arrays like ``gamma``. Theorem 2 x c is the average CRLB.
    """
    from scipy.interpolate import CubicSpline

    t = table()
    g = np.asarray(gamma, dtype=float)
    lo, hi = t["gamma"][0], t["gamma"][-1]
    if not np.all(np.isfinite(g)) or np.any(g < lo - 1e-12) or np.any(g > hi + 1e-12):
        raise InputError("gamma", gamma, f"the tightness table covers {lo:g} <= gamma <= {hi:g}")
    c = np.exp(CubicSpline(t["gamma"], np.log(t["c"]))(g))
    se = np.interp(g, t["gamma"], t["c_se"])
    if g.ndim == 0:
        return float(c), float(se)
    return c, se
