"""Stable random streams: a block of trials is keyed by what shapes its geometry, never by position.

A *stream key* is the canonical text naming one cell's family of streams (sampler kind and
parameters, lam, gamma, block size; :func:`stream_key`); a block's generator is keyed by
(user seed, stream key, block index). The same key gives the same numbers whatever else is in
the sweep, however the work is sharded and however many workers run it.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(sampler_key: str, lam: float, gamma: float, block_trials: int) -> str:
    """Canonical text naming one (sampler, lam, gamma, block size) stream family."""
    return f"{sampler_key};lam={float(lam)!r};gamma={float(gamma)!r};block={int(block_trials)}"


def _words(text: str) -> tuple[int, ...]:
    digest = hashlib.sha256(text.encode()).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def block_seed_sequence(seed: int, key: str, block_index: int) -> np.random.SeedSequence:
    """SeedSequence for block ``block_index`` of the stream family ``key`` under ``seed``."""
    if int(block_index) < 0:
        raise ValueError("block_index must be >= 0")
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(*_words(key), int(block_index)))


def block_rng(seed: int, key: str, block_index: int) -> np.random.Generator:
    """PCG64 generator of block ``block_index`` of the stream family ``key`` under ``seed``."""
    return np.random.Generator(np.random.PCG64(block_seed_sequence(seed, key, block_index)))


def seed_label(seed: int, key: str, block_index: int) -> str:
    """Human-readable seed key for error messages and logs."""
    return f"seed={int(seed)} key='{key}' block={int(block_index)}"
