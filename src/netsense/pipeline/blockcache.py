"""Where a cell's cached blocks live, without importing numpy: shard jobs look here first."""

from __future__ import annotations

from pathlib import Path


def block_path(cache_dir, b: int) -> Path:
    """The cache file of block ``b`` of a cell."""
    return Path(cache_dir) / f"block-{b:07d}.npz"


def shard_blocks(params: dict) -> range:
    """The blocks a shard's trials [trial_start, trial_stop) fall in."""
    bt = int(params["block_trials"])
    return range(int(params["trial_start"]) // bt, -(-int(params["trial_stop"]) // bt))


def all_cached(params: dict, cache_dir) -> bool:
    """Every block of the shard has a cache file (their checks come when they are read)."""
    return all(block_path(cache_dir, b).exists() for b in shard_blocks(params))
