"""Blocks of Monte Carlo trials of eq. (18) and eq. (23) of [1] over PPP networks.

A block samples ``block_trials`` independent networks (TX and RX sides) of one cell and returns
the geometric factors per trial:

* ``g18 = tr(G^-1)`` with G = sum_kl L_k L_l (u_k+u_l)(u_k+u_l)^T   (eq. 18 without c^2/(M M eta))
* ``g23 = 2 / (A_t A_r)``                                            (eq. 23 integrand, same units)

Given a layout, S is linear in M_t M_r rho_s (full beamforming gain), so one block serves every
(M, rho_s) exactly: crlb_m2 = c^2 / (M_t M_r eta(rho_s)) * g18.

Beam models other than ``full`` (:mod:`netsense.core.beam`): the TX weights carry the factor
g_k / M_t with g_k = |a^H(theta_k) w_k|^2 and theta_k uniform (random array orientation), drawn
after the TX geometry. The block then depends on M and has its own stream (key suffix
:func:`~netsense.core.beam.beam_key`); crlb_m2 = c^2 / (M_t M_r eta) * g18 still holds with the
nominal M_t = M, and serves every rho_s of that M.
"""

from __future__ import annotations

import numpy as np

from ..errors import BlockError, InputError
from .beam import beam_key, beam_node_factor
from .fisher import crlb_geometric, jensen_geometric
from .samplers.base import Sampler
from .seeding import block_rng, stream_key

FIELDS = ("g18", "g23")  # what a block returns per trial


def block_stream_key(sampler: Sampler, lam: float, gamma: float, block_trials: int,
                     beam: str = "full", M: int | None = None) -> str:
    """The stream key of a cell's blocks: sampler, lam, gamma, block size, and the beam model
    with its M for a non-full beam (nothing for ``full``: those keys predate beam models)."""
    return stream_key(sampler.key(), lam, gamma, block_trials) + beam_key(beam, M)


def simulate_block(seed: int, sampler: Sampler, lam: float, gamma: float, block_index: int,
                   block_trials: int, *, beam: str = "full", M: int | None = None
                   ) -> dict[str, np.ndarray]:
    """Sample one block of networks and return ``{"g18": ..., "g23": ...}`` (float64, per trial).

    ``beam``: TX beamforming model (:data:`netsense.core.beam.BEAM_MODELS`). ``full`` (Remark 1
    of [1]) ignores ``M`` and is the unweighted sampler, stream and results unchanged. Any other
    model needs ``M`` (TX antennas) and weights each TX by tx_gain(beam, M, theta)/M.
    """
    factor = beam_node_factor(beam, M)  # None for "full"; validates beam and M
    key = block_stream_key(sampler, lam, gamma, block_trials, beam, M)
    try:
        rng = block_rng(seed, key, block_index)
        tx = sampler.side_stats(rng, lam, gamma, block_trials, node_factor=factor)
        rx = sampler.side_stats(rng, lam, gamma, block_trials)
        g18 = crlb_geometric(tx, rx)
        g23 = jensen_geometric(tx, rx)
    except InputError:
        raise
    except Exception as exc:
        raise BlockError(f"block failed: lam={lam!r} gamma={gamma!r} sampler={sampler.key()} "
                         f"block={block_index} seed={seed} key='{key}': "
                         f"{type(exc).__name__}: {exc}") from exc
    return {"g18": g18, "g23": g23}
