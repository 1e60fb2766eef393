"""One shard job: the blocks of one cell, computed on Dask, cached, written once.

Every finished block is written to the cell's block cache at once (atomically, checksummed), so
an interrupted shard loses at most the blocks in flight; the next run takes cached blocks and
samples only the missing ones. The shard file is written last, atomically, with a checksum.

With separate densities (lam_t, lam_r) a block is joined from its TX side and its RX side
(:mod:`netsense.core.sides`), and each side block is cached on its own below ``sides/`` (the
shard's ``sides`` param names the directories, :func:`netsense.pipeline.plan.side_id`), where
every cell with that side's parameters finds it. A side block missing from the cache is sampled
by the one shard that holds its lock file; a shard that finds it locked waits for the holder and
reads it, so concurrent cells that share a side sample it once.
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
from ..core.sides import LEG_FIELDS, SIDES, combine, simulate_side
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


def run_side(seed: int, cell: Cell, side: str, block_index: int, block_trials: int) -> dict:
    """The Dask task of one side of one block (separate densities):
    :func:`~netsense.core.sides.simulate_side` at that side's density."""
    lam = cell.lam if side == "tx" else cell.lam_r
    fault = os.environ.get(FAULT_ENV)
    if fault and [float(x) for x in fault.split(",")] == [lam, cell.gamma, block_index]:
        raise RuntimeError("injected fault")
    return simulate_side(seed, cell.sampler, side, lam, cell.gamma, block_index, block_trials,
                         beam=cell.beam, M=cell.M if side == "tx" else None)


def _try_lock(path: Path, block: bool = False):
    """An exclusive lock on ``path``'s lock file (an open file; None if another holds it and
    ``block`` is false). flock: released when the file closes, also when the process dies."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path.with_suffix(".lock"), "a")  # noqa: SIM115 - held until the side is saved
    try:
        fcntl.flock(f, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        f.close()
        return None
    return f


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

    sides_sampled = {s: 0 for s in SIDES}
    if missing and cell.sides:
        sides_sampled = _run_sides(params, cell, missing, cache_dir, connect, keep, label, log)
    elif missing:
        with connect() as client:
            _compute(client, [(b,) for b in missing], lambda b: (run_block, seed, cell, b, bt),
                     lambda b: f"block-{key}-s{seed}-{params['code_version']}-{b}",
                     lambda b, res: keep(b, res),
                     lambda b: f"block {b} failed ({seed_label(seed, key, b)})", label)

    first = blocks.start
    cat = {k: np.concatenate([got[b][k] for b in blocks]) for k in FIELDS}
    lo, hi = t_start - first * bt, t_stop - first * bt
    shard = {k: np.ascontiguousarray(v[lo:hi]) for k, v in cat.items()}
    meta = dict(params, n_trials=t_stop - t_start, key=key,
                blocks_sampled=len(missing), blocks_cached=len(blocks) - len(missing))
    summary = {"shard": str(out), "blocks_sampled": len(missing),
               "blocks_cached": len(blocks) - len(missing), "seconds": time.monotonic() - t0}
    if cell.sides:
        meta["side_blocks_sampled"] = summary["side_blocks_sampled"] = sides_sampled
    save_arrays(out, shard, meta)
    print(f"netsense: shard {label}: written {out} ({summary['seconds']:.1f} s)", file=log,
          flush=True)
    return summary


def _compute(client, todo, task, task_key, done, what, label) -> None:
    """Run ``task(*item)`` for every item of ``todo`` (here, or on the Dask ``client``) and hand
    each result to ``done(*item, result)`` as it comes; a failure names ``what(*item)``."""
    if client is None:
        for item in todo:
            fn, *args = task(*item)
            done(*item, fn(*args))
        return
    from distributed import as_completed

    # a key of this request's own: two requests for one shard never share (or cancel) each
    # other's tasks
    token = uuid.uuid4().hex[:12]
    futs = {}
    for item in todo:
        fn, *args = task(*item)
        futs[client.submit(fn, *args, key=f"{task_key(*item)}-{token}")] = item
    try:
        for fut in as_completed(futs):
            item = futs[fut]
            try:
                res = fut.result()
            except Exception as exc:
                raise RuntimeError(f"shard {label}: {what(*item)}: "
                                   f"{type(exc).__name__}: {exc}") from exc
            done(*item, res)
    except BaseException:  # a failed block, or the requester gone: stop the rest
        for f in futs:
            f.cancel()
        raise


def _run_sides(params: dict, cell: Cell, missing: list, cache_dir: Path, connect, keep, label,
               log) -> dict:
    """The missing blocks of a cell with separate densities, from its side caches (module
    docstring): returns the number of side blocks this shard sampled, per side."""
    seed, bt = int(params["seed"]), int(params["block_trials"])
    root = cache_dir.parent.parent / "sides"
    path = {(s, b): block_path(root / params["sides"][s], b) for s in SIDES for b in missing}
    expect = {(s, b): {"key": cell.side_key(s, bt), "seed": seed,
                       "code_version": params["code_version"], "block": b}
              for s in SIDES for b in missing}
    have: dict = {}
    locks: dict = {}
    mine, theirs = [], []
    sampled = {s: 0 for s in SIDES}

    def done(s, b, res):
        save_arrays(path[s, b], {f: res[f] for f in LEG_FIELDS},
                    {**expect[s, b], "block_trials": bt})
        if (s, b) in locks:
            locks.pop((s, b)).close()
        have[s, b] = res
        if (s, b) in sampled_now:
            sampled[s] += 1
        join(b)

    def join(b):
        if all((s, b) in have for s in SIDES):
            keep(b, combine(have["tx", b], have["rx", b]))

    def load(s, b):
        arr = _load_cached(path[s, b], expect[s, b], log)
        if arr is not None:
            have[s, b] = arr
        return arr is not None

    try:
        for b in missing:
            for s in SIDES:
                if load(s, b):
                    continue
                f = _try_lock(path[s, b])
                if f is None:
                    theirs.append((s, b))  # another shard samples it: read it when it is done
                elif load(s, b):  # finished between the first look and the lock
                    f.close()
                else:
                    locks[s, b] = f
                    mine.append((s, b))
        n_cached = 2 * len(missing) - len(mine) - len(theirs)
        print(f"netsense: shard {label}: side blocks: {sum(s == 'tx' for s, _ in mine)} TX and "
              f"{sum(s == 'rx' for s, _ in mine)} RX to sample, {n_cached} cached, "
              f"{len(theirs)} being sampled by another shard", file=log, flush=True)
        sampled_now = set(mine)
        with connect() as client:
            def run(todo):
                _compute(client, todo, lambda s, b: (run_side, seed, cell, s, b, bt),
                         lambda s, b: f"side-{expect[s, b]['key']}-s{seed}-{b}", done,
                         lambda s, b: f"{s.upper()} side of block {b} failed "
                         f"({seed_label(seed, expect[s, b]['key'], b)})", label)

            for b in {b for _, b in have}:
                join(b)
            run(mine)
            late = []
            for s, b in theirs:  # wait for the holder; its side is then cached
                locks[s, b] = _try_lock(path[s, b], block=True)
                if load(s, b):
                    locks.pop((s, b)).close()
                    join(b)
                else:  # the holder failed or was stopped: sample it here
                    late.append((s, b))
            sampled_now |= set(late)
            run(late)
    finally:
        for f in locks.values():
            f.close()
    return sampled
