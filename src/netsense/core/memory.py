"""The memory a block of trials holds at its peak, and the cap a block must fit.

A disk block samples every node of its window for all its trials at once (lam pi R^2 nodes per
side per trial); the plane sampler and the windowed kinds hold a bounded number of nodes per
network, so only the disk is capped. The pipeline (:mod:`netsense.analysis.runconfig`) and
``netsense mc`` (:mod:`netsense.core.mc`) refuse a block above the cap with the same rule.
"""

from __future__ import annotations

import math

from ..errors import InputError

# 64 bytes per node of a side at the peak (measured with tracemalloc on simulate_block, flat in
# lam, R and trials). 1.25e8 nodes is 8 GB on one worker. The paper's own gap sweep peaks at
# 7.0e7 (4.5 GB) and runs; a disk at lam = 1/56.25 with 10 000-trial blocks (1.4e8 nodes, 9 GB a
# worker) filled 18 of 24 GB on two workers.
DISK_BYTES_PER_NODE = 64
MAX_DISK_NODES_PER_BLOCK = 1.25e8


def nodes_per_trial(sampler, lam: float) -> float | None:
    """Nodes of one side a trial of ``sampler`` holds at density ``lam`` [per m^2] during a
    block: lam pi R^2 for the disk; None for the kinds that hold a bounded number."""
    if sampler.kind != "disk":
        return None
    return lam * math.pi * sampler.radius_m**2


def largest_block(sampler, lam: float) -> int | None:
    """The most trials a block of ``sampler`` at density ``lam`` may hold; None: no cap."""
    per_trial = nodes_per_trial(sampler, lam)
    return None if per_trial is None else int(MAX_DISK_NODES_PER_BLOCK // per_trial)


def check_block_memory(sampler, lam: float, block_trials: int, *, field: str = "block_trials",
                       value=None, block: str = "block_trials", radius: str = "radius_m",
                       plane: str = "the plane sampler", where: str = "on one worker") -> None:
    """Refuse a block of ``block_trials`` trials of ``sampler`` at density ``lam`` (the highest
    of either side) that holds more than MAX_DISK_NODES_PER_BLOCK nodes of a side.

    The one-line InputError names ``field`` with ``value`` (default ``block_trials``) and the
    remedies under the caller's names: ``block`` (the block-size option, with the largest value
    that fits), ``radius`` (the disk radius option) and ``plane`` (the other sampler).
    """
    per_trial = nodes_per_trial(sampler, lam)
    if per_trial is None:
        return
    nodes = block_trials * per_trial
    if nodes > MAX_DISK_NODES_PER_BLOCK:
        raise InputError(
            field, block_trials if value is None else value,
            f"a {sampler.label()} block at lam = 1/{1 / lam:.6g} holds {nodes:.3g} nodes "
            f"per side ({nodes * DISK_BYTES_PER_NODE / 1e9:.1f} GB {where}); at most "
            f"{MAX_DISK_NODES_PER_BLOCK:.3g}: use {block} <= {largest_block(sampler, lam)}, a "
            f"smaller {radius} or {plane}")
