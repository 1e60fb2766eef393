"""One shard job: the blocks of one (lam, gamma) cell, computed on Dask, cached, written once.

Every finished block is written to the cell's block cache at once (atomically, checksummed), so
an interrupted shard loses at most the blocks in flight; the next run takes cached blocks and
samples only the missing ones. The shard file is written last, atomically, with a checksum.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .beam import beam_key
from .cluster import connect
from .mc import simulate_block
from .ppp import SamplerSpec
from .seeding import cell_key, seed_label
from .store import CorruptFileError, load_arrays, save_arrays

FIELDS = ("g18", "g23")


def _block_path(cache_dir: Path, b: int) -> Path:
    return cache_dir / f"block-{b:07d}.npz"


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


def run_shard(params: dict, out, cache_dir, dask_opts: dict, threads: int = 1,
              log=sys.stderr) -> dict:
    """Compute (or take from cache) the shard's blocks and write the shard file ``out``.

    Returns a summary with the numbers of blocks sampled and taken from the cache.
    """
    t0 = time.monotonic()
    spec = SamplerSpec(kind=params["sampler"], nearest=int(params["nearest"]),
                       radius_m=float(params["radius_m"]))
    seed, lam, gamma = int(params["seed"]), float(params["lam"]), float(params["gamma"])
    bt = int(params["block_trials"])
    t_start, t_stop = int(params["trial_start"]), int(params["trial_stop"])
    blocks = range(t_start // bt, -(-t_stop // bt))
    beam = params.get("beam", "full")
    M = int(params["M"]) if "M" in params else None
    key = cell_key(spec.key(), lam, gamma, bt) + beam_key(beam, M)
    cache_dir = Path(cache_dir)
    expect = {"key": key, "seed": seed, "code_version": params["code_version"]}

    got: dict[int, dict] = {}
    for b in blocks:
        arrays = _load_cached(_block_path(cache_dir, b), {**expect, "block": b}, log)
        if arrays is not None:
            got[b] = arrays
    missing = [b for b in blocks if b not in got]
    label = (f"{spec.label()}{'' if M is None else f' {beam} M={M}'} lam={lam:.6g} "
             f"gamma={gamma:g} trials [{t_start}, {t_stop})")
    print(f"netsense: shard {label}: {len(blocks)} block(s), {len(got)} cached, "
          f"{len(missing)} to sample", file=log, flush=True)

    def keep(b, res):
        save_arrays(_block_path(cache_dir, b), {k: res[k] for k in FIELDS},
                    {**expect, "block": b, "block_trials": bt})
        got[b] = res
        print(f"netsense: shard {label}: block {b} done ({len(got)}/{len(blocks)})",
              file=log, flush=True)

    if missing:
        with connect(dask_opts, threads=threads, log=log) as client:
            if client is None:
                for b in missing:
                    keep(b, simulate_block(seed, spec, lam, gamma, b, bt, beam=beam, M=M))
            else:
                from distributed import as_completed

                futs = {client.submit(simulate_block, seed, spec, lam, gamma, b, bt, beam=beam, M=M,
                                      key=f"block-{key}-s{seed}-{params['code_version']}-{b}"): b
                        for b in missing}
                for fut in as_completed(futs):
                    b = futs[fut]
                    try:
                        res = fut.result()
                    except Exception as exc:
                        for f in futs:
                            f.cancel()
                        raise RuntimeError(f"shard {label}: block {b} failed "
                                           f"({seed_label(seed, key, b)}): "
                                           f"{type(exc).__name__}: {exc}") from exc
                    keep(b, res)

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
