"""The memory a block of trials holds at its peak, and the cap a block must fit.

A block samples one side of all its trials at once: ``block_trials`` times the nodes a network
of its sampler holds while sampled (:meth:`~netsense.core.samplers.base.Sampler.nodes_per_trial`:
lam pi R^2 for the disk, K for the plane sampler, the generated window for the windowed kinds).
The pipeline (:mod:`netsense.analysis.runconfig`) and ``netsense mc`` (:mod:`netsense.core.mc`)
refuse a block above the cap with this one rule.
"""

from __future__ import annotations

from ..errors import InputError

# 64 bytes per node of a side at the peak (measured with tracemalloc on a disk block, flat in
# lam, R and trials; the other kinds hold the same per-node arrays). 1.25e8 nodes is 8 GB on one
# worker. The paper's own gap sweep peaks at 7.0e7 (4.5 GB) and runs; a disk at lam = 1/56.25
# with 10 000-trial blocks (1.4e8 nodes, 9 GB a worker) filled 18 of 24 GB on two workers.
NODE_BYTES = 64
MAX_NODES_PER_BLOCK = 1.25e8


def largest_block(sampler, lam: float) -> int | None:
    """The most trials a block of ``sampler`` at density ``lam`` may hold; None: no cap."""
    per_trial = sampler.nodes_per_trial(lam)
    return None if per_trial is None else int(MAX_NODES_PER_BLOCK // per_trial)


def check_block_memory(sampler, lam: float, block_trials: int, *, field: str = "block_trials",
                       value=None, block: str = "block_trials", option=lambda p: p,
                       plane: str = "the plane sampler", where: str = "on one worker") -> None:
    """Refuse a block of ``block_trials`` trials of ``sampler`` at density ``lam`` (the highest
    of either side) that holds more than MAX_NODES_PER_BLOCK nodes of a side.

    The one-line InputError names ``field`` with ``value`` (default ``block_trials``) and the
    remedies under the caller's names: ``block`` (the block-size option, with the largest value
    that fits), ``option(p)`` for each parameter that sets the size of a network
    (:attr:`~netsense.core.samplers.base.Sampler.SIZE_PARAMS`), and ``plane`` (a sampler whose
    networks do not grow with the density) where the sampler's do; under blockage, where every
    LOS node is held (mean 2 pi lam / beta^2), a larger ``option("blockage_per_m")`` instead.
    """
    per_trial = sampler.nodes_per_trial(lam)
    if per_trial is None:
        return
    nodes = block_trials * per_trial
    if nodes > MAX_NODES_PER_BLOCK:
        fixes = [f"use {block} <= {largest_block(sampler, lam)}"]
        if sampler.blockage_per_m > 0:  # every LOS node is held: mu = 2 pi lam / beta^2
            fixes.append(f"a larger {option('blockage_per_m')}")
        else:
            fixes += [f"a smaller {option(p)}" for p in sampler.SIZE_PARAMS]
            if sampler.nodes_per_trial(2.0 * lam) > per_trial:
                fixes.append(plane)
        raise InputError(
            field, block_trials if value is None else value,
            f"a {sampler.label()} block at lam = 1/{1 / lam:.6g} holds {nodes:.3g} nodes "
            f"per side ({nodes * NODE_BYTES / 1e9:.1f} GB {where}); at most "
            f"{MAX_NODES_PER_BLOCK:.3g}: " + ", ".join(fixes[:-1]) + f" or {fixes[-1]}")
