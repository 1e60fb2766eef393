"""One shard job: the blocks of one cell, computed on Dask, cached, written once.

Every finished block is written to the cell's block cache at once (atomically, checksummed), so
an interrupted shard loses at most the blocks in flight; the next run takes cached blocks and
samples only the missing ones. The shard file is written last, atomically, with a checksum.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from ..core.blocks import FIELDS, simulate_block
from ..core.seeding import seed_label
from ..errors import CorruptFileError
from .blockcache import block_path, shard_blocks
from .plan import Cell
from .store import load_arrays, save_arrays

# Test hook for the reliability tests: "LAM,GAMMA,BLOCK" in this variable makes that block
# raise where it runs (a Dask worker), as a failing block would. Checked here, in the shard
# layer's task, so that the kernel (netsense.core.blocks) carries no test code.
FAULT_ENV = "NETSENSE_INJECT_BLOCK_FAULT"


def run_block(seed: int, cell: Cell, block_index: int, block_trials: int) -> dict:
    """The Dask task of one block: :func:`~netsense.core.blocks.simulate_block` of the cell."""
    fault = os.environ.get(FAULT_ENV)
    if fault and [float(x) for x in fault.split(",")] == [cell.lam, cell.gamma, block_index]:
        raise RuntimeError("injected fault")
    return simulate_block(seed, cell.sampler, cell.lam, cell.gamma, block_index, block_trials,
                          beam=cell.beam, M=cell.M)


def _load_cached(path: Path, expect: dict, log):
    if not path.exists():
        return None
    try:
        arrays, meta = load_arrays(path)
    except CorruptFileError as exc:
        print(f"netsense: {exc}; it will be sampled again", file=log)
        path.unlink(missing_ok=True)
        return None
    if any(meta.get(k) != v for k, v in expect.items()):
        print(f"netsense: {path}: cached block has other parameters; sampling again", file=log)
        return None
    return arrays


def run_shard(params: dict, out, cache_dir, connect, log=sys.stderr) -> dict:
    """Compute (or take from cache) the shard's blocks and write the shard file ``out``.

    ``params``: :meth:`netsense.pipeline.plan.Shard.params`. ``connect``: a callable returning a
    context manager that yields a distributed Client, or None to run the blocks here; it is
    called only if a block is missing from the cache. Returns a summary with the numbers of
    blocks sampled and taken from the cache.
    """
    t0 = time.monotonic()
    cell = Cell.from_params(params)
    seed, bt = int(params["seed"]), int(params["block_trials"])
    t_start, t_stop = int(params["trial_start"]), int(params["trial_stop"])
    blocks = shard_blocks(params)
    key = cell.stream_key(bt)
    cache_dir = Path(cache_dir)
    expect = {"key": key, "seed": seed, "code_version": params["code_version"]}

    got: dict[int, dict] = {}
    for b in blocks:
        arrays = _load_cached(block_path(cache_dir, b), {**expect, "block": b}, log)
        if arrays is not None:
            got[b] = arrays
    missing = [b for b in blocks if b not in got]
    label = f"{cell.describe()} trials [{t_start}, {t_stop})"
    print(f"netsense: shard {label}: {len(blocks)} block(s), {len(got)} cached, "
          f"{len(missing)} to sample", file=log, flush=True)

    def keep(b, res):
        save_arrays(block_path(cache_dir, b), {k: res[k] for k in FIELDS},
                    {**expect, "block": b, "block_trials": bt})
        got[b] = res
        print(f"netsense: shard {label}: block {b} done ({len(got)}/{len(blocks)})",
              file=log, flush=True)

    if missing:
        with connect() as client:
            if client is None:
                for b in missing:
                    keep(b, run_block(seed, cell, b, bt))
            else:
                from distributed import as_completed

                # a key of this request's own: two requests for one shard never share (or
                # cancel) each other's tasks
                token = uuid.uuid4().hex[:12]
                futs = {client.submit(run_block, seed, cell, b, bt,
                                      key=f"block-{key}-s{seed}-{params['code_version']}-{b}-{token}"): b
                        for b in missing}
                try:
                    for fut in as_completed(futs):
                        b = futs[fut]
                        try:
                            res = fut.result()
                        except Exception as exc:
                            raise RuntimeError(f"shard {label}: block {b} failed "
                                               f"({seed_label(seed, key, b)}): "
                                               f"{type(exc).__name__}: {exc}") from exc
                        keep(b, res)
                except BaseException:  # a failed block, or the requester gone: stop the rest
                    for f in futs:
                        f.cancel()
                    raise

    first = blocks.start
    cat = {k: np.concatenate([got[b][k] for b in blocks]) for k in FIELDS}
    lo, hi = t_start - first * bt, t_stop - first * bt
    shard = {k: np.ascontiguousarray(v[lo:hi]) for k, v in cat.items()}
    meta = dict(params, n_trials=t_stop - t_start, key=key,
                blocks_sampled=len(missing), blocks_cached=len(blocks) - len(missing))
    save_arrays(out, shard, meta)
    summary = {"shard": str(out), "blocks_sampled": len(missing),
               "blocks_cached": len(blocks) - len(missing), "seconds": time.monotonic() - t0}
    print(f"netsense: shard {label}: written {out} ({summary['seconds']:.1f} s)", file=log,
          flush=True)
    return summary
