"""Blocks of trials with the two sides at their own densities (lam_t != lam_r, M_t != M_r).

Theorem 2 of [1] (eq. 26) has four network parameters. With ``lam_t = lam_r`` and
``M_t = M_r`` (tied) a block is :func:`netsense.core.blocks.simulate_block`: both sides are drawn
from one stream, TXs first, and every number stays as it was. With separate parameters each side
is drawn from a stream of its own:

* the TX side of block b from the stream keyed by (seed, sampler, lam_t, gamma, block size,
  ``side=tx`` and the beam model with its M_t),
* the RX side of block b from the stream keyed by (seed, sampler, lam_r, gamma, block size,
  ``side=rx``).

So a side's samples depend only on that side's parameters: a (lam_t, lam_r) grid samples each
side-density once per block, and adding a value of lam_r samples only the new RX side. Two
cells that share a side share its trials, so their estimates are correlated (trial i of both
uses the same TX side); a slope or any interval that spans such cells must use the trial-wise
differences (the per-trial linear combinations of :mod:`netsense.analysis.fits` do).

The side label is part of the key, so the TX and RX sides of one cell are independent even when
lam_t = lam_r. Kept apart from :mod:`.blocks` so that the code version of the tied blocks, and
every cached tied cell, is unchanged.
"""

from __future__ import annotations

import numpy as np

from ..errors import BlockError, InputError
from .beam import beam_key, beam_node_factor
from .fisher import LegStats, crlb_geometric, jensen_geometric
from .samplers.base import Sampler
from .seeding import block_rng, stream_key

SIDES = ("tx", "rx")
LEG_FIELDS = ("A", "txx", "txy", "tyy", "vx", "vy")  # what one side contributes per trial


def side_stream_key(sampler: Sampler, side: str, lam: float, gamma: float, block_trials: int,
                    beam: str = "full", M: int | None = None) -> str:
    """The stream key of one side's blocks. The beam model (and its M) weights the TXs only."""
    if side not in SIDES:
        raise InputError("side", side, f"must be one of {SIDES}")
    key = stream_key(sampler.key(), lam, gamma, block_trials) + f";side={side}"
    return key + (beam_key(beam, M) if side == "tx" else "")


def simulate_side(seed: int, sampler: Sampler, side: str, lam: float, gamma: float,
                  block_index: int, block_trials: int, *, beam: str = "full",
                  M: int | None = None) -> dict[str, np.ndarray]:
    """One side of one block: its :class:`~.fisher.LegStats` fields per trial (float64).

    ``beam``/``M`` apply to the TX side (M = M_t), as in :func:`~.blocks.simulate_block`.
    """
    factor = beam_node_factor(beam, M) if side == "tx" else None
    key = side_stream_key(sampler, side, lam, gamma, block_trials, beam, M)
    try:
        rng = block_rng(seed, key, block_index)
        s = sampler.side_stats(rng, lam, gamma, block_trials, node_factor=factor)
    except InputError:
        raise
    except Exception as exc:
        raise BlockError(f"block failed: side={side} lam={lam!r} gamma={gamma!r} "
                         f"sampler={sampler.key()} block={block_index} seed={seed} "
                         f"key='{key}': {type(exc).__name__}: {exc}") from exc
    return {f: np.asarray(getattr(s, f), dtype=float) for f in LEG_FIELDS}


def combine(tx: dict, rx: dict) -> dict[str, np.ndarray]:
    """g18 (eq. 18) and g23 (eq. 23) per trial from the two sides' fields."""
    t, r = LegStats(**{f: tx[f] for f in LEG_FIELDS}), LegStats(**{f: rx[f] for f in LEG_FIELDS})
    return {"g18": crlb_geometric(t, r), "g23": jensen_geometric(t, r)}


def simulate_block_sides(seed: int, sampler: Sampler, lam_t: float, lam_r: float, gamma: float,
                         block_index: int, block_trials: int, *, beam: str = "full",
                         M_t: int | None = None) -> dict[str, np.ndarray]:
    """Block ``block_index`` with each side from its own stream (module docstring)."""
    tx = simulate_side(seed, sampler, "tx", lam_t, gamma, block_index, block_trials, beam=beam,
                       M=M_t)
    rx = simulate_side(seed, sampler, "rx", lam_r, gamma, block_index, block_trials)
    return combine(tx, rx)
