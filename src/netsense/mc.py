"""Monte Carlo of eq. (18) and eq. (23) of [1] over PPP networks, in blocks of trials.

A block samples ``block_trials`` independent networks (TX and RX sides) for one (lam, gamma)
and returns the geometric factors per trial:

* ``g18 = tr(G^-1)`` with G = sum_kl L_k L_l (u_k+u_l)(u_k+u_l)^T   (eq. 18 without c^2/(M M eta))
* ``g23 = 2 / (A_t A_r)``                                            (eq. 23 integrand, same units)

Given a layout, S is linear in M_t M_r rho_s (full beamforming gain), so one block serves every
(M, rho_s) cell exactly: crlb_m2 = c^2 / (M_t M_r eta(rho_s)) * g18.

Beam models other than ``full`` (:mod:`netsense.beam`): the TX weights carry the factor
g_k / M_t with g_k = |a^H(theta_k) w_k|^2 and theta_k uniform (random array orientation), drawn
after the TX geometry. The block then depends on M and has its own stream (key suffix
:func:`~netsense.beam.beam_key`); crlb_m2 = c^2 / (M_t M_r eta) * g18 still holds with the
nominal M_t = M, and serves every rho_s of that M.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from .beam import beam_key, beam_node_factor, check_beam
from .closed_form import lemma3_inv_sum, theorem2_m2
from .fisher import crlb_geometric, jensen_geometric
from .ppp import SamplerSpec, check_density, side_stats
from .seeding import block_rng, cell_key
from .system import DEFAULT_SYSTEM, InputError, SystemParams, db_to_lin

Z95 = 1.959963984540054  # two-sided 95% normal quantile
# Fault-injection hook for the reliability tests: "LAM,GAMMA,BLOCK" makes that block raise.
FAULT_ENV = "NETSENSE_INJECT_BLOCK_FAULT"


class BlockError(RuntimeError):
    """A block failed; the message names its parameters and seed key."""


def simulate_block(seed: int, spec: SamplerSpec, lam: float, gamma: float, block_index: int,
                   block_trials: int, *, beam: str = "full", M: int | None = None
                   ) -> dict[str, np.ndarray]:
    """Sample one block of networks and return ``{"g18": ..., "g23": ...}`` (float64, per trial).

    ``beam``: TX beamforming model (:data:`netsense.beam.BEAM_MODELS`). ``full`` (Remark 1 of [1])
    ignores ``M`` and is the unweighted sampler, stream and results unchanged. Any other model
    needs ``M`` (TX antennas) and weights each TX by tx_gain(beam, M, theta)/M.
    """
    factor = beam_node_factor(beam, M)  # None for "full"; validates beam and M
    key = cell_key(spec.key(), lam, gamma, block_trials) + beam_key(beam, M)
    try:
        fault = os.environ.get(FAULT_ENV)
        if fault and [float(x) for x in fault.split(",")] == [lam, gamma, block_index]:
            raise RuntimeError("injected fault")
        rng = block_rng(seed, key, block_index)
        tx = side_stats(rng, spec, lam, gamma, block_trials, node_factor=factor)
        rx = side_stats(rng, spec, lam, gamma, block_trials)
        g18 = crlb_geometric(tx, rx)
        g23 = jensen_geometric(tx, rx)
    except InputError:
        raise
    except Exception as exc:  # exercised by the fault-injection tests
        raise BlockError(f"block failed: lam={lam!r} gamma={gamma!r} sampler={spec.key()} "
                         f"block={block_index} seed={seed} key='{key}': "
                         f"{type(exc).__name__}: {exc}") from exc
    return {"g18": g18, "g23": g23}


@dataclass
class RunningMoments:
    """Streaming count, mean and M2 (Chan et al. pairwise combination)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    n_inf: int = 0

    def add(self, x: np.ndarray):
        x = np.asarray(x, float)
        finite = np.isfinite(x)
        self.n_inf += int((~finite).sum())
        x = x[finite]
        nb = x.size
        if nb == 0:
            return
        mb = float(x.mean())
        m2b = float(((x - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta**2 * self.n * nb / n
        self.n = n

    def summary(self, scale: float = 1.0) -> dict:
        sd = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else math.nan
        se = sd / math.sqrt(self.n) if self.n > 0 else math.nan
        mean = self.mean * scale
        return {"mean": mean, "sem": se * scale, "ci95": [mean - Z95 * se * scale,
                                                          mean + Z95 * se * scale],
                "n": self.n, "n_inf": self.n_inf}


def mc_point(*, lam: float, gamma: float, M: int, rho_s_db: float, trials: int, seed: int = 0,
             spec: SamplerSpec = SamplerSpec(), block_trials: int = 50_000,
             system: SystemParams = DEFAULT_SYSTEM, progress=None, beam: str = "full") -> dict:
    """Monte Carlo at one point (lam_t = lam_r = lam, M_t = M_r = M); blocks are streamed.

    ``beam`` is the TX beamforming model (see :func:`simulate_block`). ``closed_form_m2`` and the
    ratios to it are Theorem 2 of [1], i.e. always at full beamforming gain.
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
    m18, m23 = RunningMoments(), RunningMoments()
    n_blocks = -(-int(trials) // block_trials)
    done = 0
    for b in range(n_blocks):
        out = simulate_block(seed, spec, lam, gamma, b, block_trials, beam=beam, M=int(M))
        take = min(block_trials, int(trials) - done)
        m18.add(out["g18"][:take])
        m23.add(out["g23"][:take])
        done += take
        if progress is not None:
            progress(done, int(trials))
    result = {
        "point": {"lam_per_m2": lam, "gamma": gamma, "M": M, "rho_s_db": rho_s_db,
                  "trials": int(trials), "seed": seed, "sampler": spec.kind, "beam": beam,
                  "nearest": spec.nearest if spec.kind == "plane" else None,
                  "radius_m": spec.radius_m if spec.kind == "disk" else None},
        "crlb_m2": m18.summary(scale),
        "jensen_m2": m23.summary(scale),
    }
    if gamma > 2:
        closed = float(theorem2_m2(M_t=M, M_r=M, rho_s_db=rho_s_db, lam_t=lam, lam_r=lam,
                                   gamma=gamma, system=system))
        result["closed_form_m2"] = closed
        result["lemma3_inv_sum"] = float(lemma3_inv_sum(lam, gamma))
        for name in ("crlb_m2", "jensen_m2"):
            s = result[name]
            s["ratio_to_closed_form"] = s["mean"] / closed
            s["ratio_ci95"] = [s["ci95"][0] / closed, s["ci95"][1] / closed]
    return result
