"""One shard job: the blocks of one cell, computed on Dask, cached, written once.

A cell's block is drawn from its streams (:func:`netsense.core.blocks.streams`): one stream for
both sides of a tied cell, one per side with separate densities. Every finished block is written
to the cell's block cache at once (atomically, checksummed), so an interrupted shard loses at
most the blocks in flight; the next run takes cached blocks and samples only the missing ones.
The shard file is written last, atomically, with a checksum.

A stream of one side (:attr:`~netsense.core.blocks.Stream.shared`) may serve several cells, so
its side blocks are cached on their own below ``sides/`` (the shard's ``sides`` param names the
directories, :func:`netsense.pipeline.plan.side_id`), where every cell with that side's
parameters finds them. A side block missing from the cache is sampled by the one shard that holds
its lock file; a shard that finds it locked waits for the holder and reads it, so concurrent
cells that share a side sample it once.

Blocks are stored under the fingerprint of what the kernel computes for the cell (or side). A
block cached under an earlier fingerprint scheme (its directory named by the source of the code
that sampled it) is adopted rather than sampled again: one block of the cell is computed with the
present code and compared bit for bit with the stored one; if they are equal, the others are
taken (:func:`_adopt`).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from ..core.blocks import FIELDS, LEG_FIELDS, combine, sample_stream, side_arrays
from ..core.seeding import seed_label
from ..errors import CorruptFileError
from .blockcache import block_path, shard_blocks
from .plan import Cell
from .store import load_arrays, save_arrays

ADOPTED = "adopted.json"  # in a cache directory: the earlier one whose blocks were verified equal


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


class _Cache:
    """One cache directory of blocks (a cell's, or a shared side's) with what its blocks must
    say: their stream key, seed and fingerprint."""

    def __init__(self, root: Path, expect: dict, fields: tuple, log):
        self.root, self.expect, self.fields, self.log = Path(root), expect, fields, log

    def path(self, b: int) -> Path:
        return block_path(self.root, b)

    def load(self, b: int):
        return _load_cached(self.path(b), {**self.expect, "block": b}, self.log)

    def save(self, b: int, arrays: dict, block_trials: int) -> None:
        save_arrays(self.path(b), {k: arrays[k] for k in self.fields},
                    {**self.expect, "block": b, "block_trials": block_trials})

    def legacy(self):
        """A sibling directory of an earlier scheme holding this stream's blocks (same name up
        to the digest, same key and seed in its blocks), or None."""
        prefix = self.root.name.rsplit("_", 1)[0] + "_"
        if not self.root.parent.is_dir():
            return None
        for d in sorted(self.root.parent.iterdir()):
            if d == self.root or not d.name.startswith(prefix) or not d.is_dir():
                continue
            for f in sorted(d.glob("block-*.npz"))[:1]:
                try:
                    _, meta = load_arrays(f)
                except CorruptFileError:
                    continue
                if meta.get("key") == self.expect["key"] and meta.get("seed") == self.expect["seed"] \
                        and meta.get("fingerprint") is None:
                    return d
        return None


def _adopt(cache: _Cache, todo: list[int], compute, block_trials: int) -> set[int]:
    """Take blocks from an earlier scheme's directory once one of them is recomputed bit for bit
    by the present code; returns the blocks taken (``compute(b)`` -> arrays of block b)."""
    marker = cache.root / ADOPTED
    old = cache.legacy()
    if old is None or not todo:
        return set()
    verified = False
    if marker.exists():
        try:
            verified = json.loads(marker.read_text()) == {"from": old.name, **cache.expect}
        except (OSError, ValueError):
            verified = False
    taken = set()
    if not verified:
        b0 = next((b for b in todo if block_path(old, b).exists()), None)
        if b0 is None:
            return set()
        try:
            stored, _ = load_arrays(block_path(old, b0))
        except CorruptFileError:
            return set()
        fresh = compute(b0)
        cache.save(b0, fresh, block_trials)
        taken.add(b0)
        if not all(np.array_equal(fresh[k], stored[k], equal_nan=True) for k in cache.fields):
            print(f"netsense: {old}: cached blocks differ from what this code samples; "
                  "sampling them again", file=cache.log)
            return taken
        cache.root.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"from": old.name, **cache.expect}))
    for b in todo:
        if b in taken or not block_path(old, b).exists():
            continue
        try:
            stored, _ = load_arrays(block_path(old, b))
        except CorruptFileError:
            continue
        cache.save(b, stored, block_trials)
        taken.add(b)
    print(f"netsense: {cache.root.name}: {len(taken)} block(s) taken from {old.name} (verified "
          "bit for bit against this code)", file=cache.log)
    return taken


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
    cell_streams = cell.streams(bt)
    key = "|".join(s.key for s in cell_streams)
    cache = _Cache(Path(cache_dir), {"key": key, "seed": seed,
                                     "fingerprint": params["fingerprint"]}, FIELDS, log)
    label = f"{cell.describe()} trials [{t_start}, {t_stop})"

    got: dict[int, dict] = {}
    for b in blocks:
        arrays = cache.load(b)
        if arrays is not None:
            got[b] = arrays
    missing = [b for b in blocks if b not in got]
    for b in _adopt(cache, missing, lambda b: _local_block(seed, cell_streams, cell.gamma, b, bt),
                    bt):
        got[b] = cache.load(b)
    missing = [b for b in blocks if b not in got]
    print(f"netsense: shard {label}: {len(blocks)} block(s), {len(got)} cached, "
          f"{len(missing)} to sample", file=log, flush=True)

    def keep(b, res):
        cache.save(b, res, bt)
        got[b] = res
        print(f"netsense: shard {label}: block {b} done ({len(got)}/{len(blocks)})",
              file=log, flush=True)

    sides_sampled = {}
    if missing:
        sides_sampled = _sample(params, cell, cell_streams, missing, cache, connect, keep, label,
                                log)

    first = blocks.start
    cat = {k: np.concatenate([got[b][k] for b in blocks]) for k in FIELDS}
    lo, hi = t_start - first * bt, t_stop - first * bt
    shard = {k: np.ascontiguousarray(v[lo:hi]) for k, v in cat.items()}
    meta = dict(params, n_trials=t_stop - t_start, key=key,
                blocks_sampled=len(missing), blocks_cached=len(blocks) - len(missing))
    summary = {"shard": str(out), "blocks_sampled": len(missing),
               "blocks_cached": len(blocks) - len(missing), "seconds": time.monotonic() - t0}
    if "sides" in params:
        sides_sampled = {s: sides_sampled.get(s, 0) for s in params["sides"]}
        meta["side_blocks_sampled"] = summary["side_blocks_sampled"] = sides_sampled
    save_arrays(out, shard, meta)
    print(f"netsense: shard {label}: written {out} ({summary['seconds']:.1f} s)", file=log,
          flush=True)
    return summary


def _local_block(seed, cell_streams, gamma, b, bt) -> dict:
    """Block ``b`` computed in this process (to verify an earlier scheme's cache)."""
    sides = {}
    for st in cell_streams:
        sides.update(sample_stream(seed, st, gamma, b, bt))
    return combine(sides["tx"], sides["rx"])


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


def _sample(params: dict, cell: Cell, cell_streams, missing: list, cache: _Cache, connect, keep,
            label, log) -> dict:
    """The missing blocks of a cell: each stream's block is sampled (a Dask task) or, for a
    shared stream, taken from its side cache, and a block is joined once it has both sides.
    Returns the number of side blocks this shard sampled, per side of a shared stream."""
    seed, bt, gamma = int(params["seed"]), int(params["block_trials"]), cell.gamma
    root = cache.root.parent.parent / "sides"
    side_cache = {
        i: _Cache(root / params["sides"][st.sides[0].name]["dir"],
                  {"key": st.key, "seed": seed,
                   "fingerprint": params["sides"][st.sides[0].name]["fingerprint"]},
                  LEG_FIELDS, log)
        for i, st in enumerate(cell_streams) if st.shared}
    have: dict = {}  # (stream index, block) -> {side name: arrays}
    locks: dict = {}
    mine, theirs, unshared = [], [], []
    sampled = {cell_streams[i].sides[0].name: 0 for i in side_cache}

    def name(i):
        return cell_streams[i].sides[0].name

    def done(i, b, res):
        res = {s: side_arrays(v) if not isinstance(v, dict) else v for s, v in res.items()}
        if i in side_cache:
            side_cache[i].save(b, res[name(i)], bt)
            if (i, b) in locks:
                locks.pop((i, b)).close()
            if (i, b) in sampled_now:
                sampled[name(i)] += 1
        have[i, b] = res
        join(b)

    def join(b):
        if all((i, b) in have for i in range(len(cell_streams))):
            sides = {s: v for i in range(len(cell_streams)) for s, v in have[i, b].items()}
            keep(b, combine(sides["tx"], sides["rx"]))

    def load(i, b):
        arr = side_cache[i].load(b)
        if arr is not None:
            have[i, b] = {name(i): arr}
        return arr is not None

    for i, c in side_cache.items():  # sides cached under an earlier scheme
        for b in _adopt(c, [b for b in missing if not c.path(b).exists()],
                        lambda b, i=i: side_arrays(next(iter(sample_stream(
                            seed, cell_streams[i], gamma, b, bt).values()))), bt):
            load(i, b)
    try:
        for b in missing:
            for i in range(len(cell_streams)):
                if i not in side_cache:
                    unshared.append((i, b))
                elif (i, b) in have or load(i, b):
                    continue
                elif (f := _try_lock(side_cache[i].path(b))) is None:
                    theirs.append((i, b))  # another shard samples it: read it when it is done
                elif load(i, b):  # finished between the first look and the lock
                    f.close()
                else:
                    locks[i, b] = f
                    mine.append((i, b))
        if side_cache:
            n_cached = len(side_cache) * len(missing) - len(mine) - len(theirs)
            print(f"netsense: shard {label}: side blocks: "
                  f"{sum(name(i) == 'tx' for i, _ in mine)} TX and "
                  f"{sum(name(i) == 'rx' for i, _ in mine)} RX to sample, {n_cached} cached, "
                  f"{len(theirs)} being sampled by another shard", file=log, flush=True)
        sampled_now = set(mine)
        with connect() as client:
            def run(todo):
                _compute(client, todo,
                         lambda i, b: (sample_stream, seed, cell_streams[i], gamma, b, bt),
                         lambda i, b: f"stream-{cell_streams[i].key}-s{seed}-{b}", done,
                         lambda i, b: (f"block {b} failed" if i not in side_cache else
                                       f"{name(i).upper()} side of block {b} failed")
                         + f" ({seed_label(seed, cell_streams[i].key, b)})", label)

            for b in {b for _, b in have}:
                join(b)
            run([*unshared, *mine])
            late = []
            for i, b in theirs:  # wait for the holder; its side is then cached
                locks[i, b] = _try_lock(side_cache[i].path(b), block=True)
                if load(i, b):
                    locks.pop((i, b)).close()
                    join(b)
                else:  # the holder failed or was stopped: sample it here
                    late.append((i, b))
            sampled_now |= set(late)
            run(late)
    finally:
        for f in locks.values():
            f.close()
    return sampled
