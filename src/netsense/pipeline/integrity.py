"""Integrity of a stored cube: every chunk checked, corrupt ones named.

Format 3 (:mod:`.cube`) ends every chunk of every array in a ``crc32c`` checksum (zarr v3's
codec: the chunk file is the compressed bytes followed by their CRC-32C, little-endian), so

* :func:`scan` checks chunk *files* without decoding them: the CRC-32C of each file's payload
  against its last four bytes, at the speed of reading the file. It names each bad or missing
  chunk by its variable, its cell (sampler, M, rho_s, lam, gamma and trial range) and its file.
* :func:`verify` (``netsense verify``) does that, decodes every chunk (one at a time: bounded
  memory), and checks the metadata: format, completeness, consolidated metadata against each
  array's own, dims and shapes against the coordinates and the stored config.
* :func:`reading`: where netsense reads a cube, the checksum error zarr raises for a corrupted
  chunk becomes one :class:`~netsense.errors.CubeError` naming the chunk (found by :func:`scan`),
  never a traceback and never a mean computed from part of the data.

The workflow uses :func:`scan` to repair (:func:`check_for_repair`, behind the repair input of
its ``assemble`` rule): a cube with a bad chunk is assembled again, its sound cells linked from
the previous assembly, the others read from their shards (:mod:`.assembly`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from ..errors import CubeError
from .axes import SAMPLER_DIM, TRIAL_DIM
from .cubeformat import (
    COMPLETE_ATTR,
    DATA_VARS,
    FACTORS,
    FORMAT,
    FORMAT_ATTR,
    FORMATS,
    SCALE_VAR,
    cube_format,
)

CRC_CODEC = "crc32c"
SHARDING = "sharding_indexed"
EMPTY = 2**64 - 1  # an inner chunk absent from a shard
# The message of zarr's crc32c codec on a mismatch, and numcodecs' on a zstd frame it cannot
# decode (what a corrupted chunk of a store without checksums may raise instead).
_CORRUPTION_MARKERS = ("checksum do not match", "zstd decompression error",
                       "error during decompression", "unknown frame descriptor")


@dataclass(frozen=True)
class Problem:
    """One unsound part of a cube."""

    var: str  # the array ("" for the store itself)
    where: str  # its cell: "sampler=plane-K64 M=4 ... trials [0, 131072)"
    file: str  # the chunk file (relative to the cube)
    reason: str  # "checksum mismatch", "missing", ...

    def line(self) -> str:
        at = f" at {self.where}" if self.where else ""
        f = f" ({self.file})" if self.file else ""
        return f"{self.reason}: {self.var}{at}{f}" if self.var else f"{self.reason}{f}"


def _root(path: Path) -> dict:
    try:
        return json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError) as exc:
        raise CubeError(f"{path}: not a netsense cube (zarr.json: {type(exc).__name__})") from None


def _array_metas(path: Path, root: dict) -> dict:
    """{array name: its zarr.json} (the consolidated copy if there is one, else each file)."""
    cons = (root.get("consolidated_metadata") or {}).get("metadata")
    if cons:
        return {k: v for k, v in cons.items() if v.get("node_type") == "array"}
    out = {}
    for d in sorted(p for p in path.iterdir() if (p / "zarr.json").is_file()):
        m = json.loads((d / "zarr.json").read_text())
        if m.get("node_type") == "array":
            out[d.name] = m
    return out


def chunk_grid(meta: dict) -> list[tuple[int, ...]]:
    """Every chunk index of an array, in C order."""
    shape = meta["shape"]
    chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
    return list(product(*(range(-(-s // c)) for s, c in zip(shape, chunks, strict=True))))


def chunk_key(meta: dict, idx: tuple[int, ...]) -> str:
    """The chunk's key in the store (zarr v3 ``default`` or ``v2`` key encoding)."""
    enc = meta.get("chunk_key_encoding", {"name": "default"})
    sep = enc.get("configuration", {}).get("separator", "/" if enc["name"] == "default" else ".")
    if enc["name"] == "v2":
        return sep.join(map(str, idx)) if idx else "0"
    return sep.join(("c", *map(str, idx)))


def has_checksum(meta: dict) -> bool:
    return bool(meta.get("codecs")) and meta["codecs"][-1].get("name") == CRC_CODEC


def sharding(meta: dict) -> dict | None:
    """The configuration of an array's sharding codec (format 4's factors), else None."""
    codecs = meta.get("codecs") or []
    return codecs[0]["configuration"] if codecs and codecs[0].get("name") == SHARDING else None


def _crc_ok(data: bytes) -> bool:
    import google_crc32c  # zarr's own dependency for its crc32c codec

    return len(data) >= 4 and google_crc32c.value(data[:-4]) == int.from_bytes(data[-4:], "little")


def check_file(file: Path, checksummed: bool) -> str | None:
    """Why a chunk file is not sound (None if it is): missing, unreadable, checksum."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if checksummed and not _crc_ok(data):
        return "checksum mismatch"
    return None


def inner_grid(meta: dict, shard_idx: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The inner chunks of a shard that lie in the array, as global inner chunk indices."""
    conf = sharding(meta)
    inner, outer, shape = (conf["chunk_shape"], meta["chunk_grid"]["configuration"]["chunk_shape"],
                           meta["shape"])
    per = [o // i for o, i in zip(outer, inner, strict=True)]
    return [tuple(s * p + k for s, p, k in zip(shard_idx, per, local, strict=True))
            for local in product(*(range(p) for p in per))
            if all((s * p + k) * i < n for s, p, k, i, n in zip(shard_idx, per, local, inner,
                                                                shape, strict=True))]


def check_shard(file: Path, meta: dict, shard_idx: tuple[int, ...]) -> list[tuple]:
    """[(global inner chunk index or None for the whole shard, why)] of a shard file that is not
    sound: missing or unreadable, an index that fails its CRC-32C, and each inner chunk that is
    missing from the index (every chunk of a netsense cube is written) or fails its own CRC-32C
    (zarr v3's sharding codec: the inner chunks, then an index of (offset, nbytes) uint64 pairs
    and its CRC-32C, at the end)."""
    import numpy as np

    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return [(None, "missing")]
    except OSError as exc:
        return [(None, f"unreadable ({exc.strerror or exc})")]
    conf = sharding(meta)
    outer = meta["chunk_grid"]["configuration"]["chunk_shape"]
    per = [o // i for o, i in zip(outer, conf["chunk_shape"], strict=True)]
    n = int(np.prod(per))
    size = 16 * n + 4
    if conf.get("index_location", "end") != "end" or len(data) < size \
            or not _crc_ok(data[-size:]):
        return [(None, "shard index checksum mismatch")]
    index = np.frombuffer(data[-size:-4], dtype="<u8").reshape(n, 2)
    crc = bool(conf.get("codecs")) and conf["codecs"][-1].get("name") == CRC_CODEC
    out = []
    wanted = set(inner_grid(meta, shard_idx))
    for j, local in enumerate(product(*(range(p) for p in per))):
        g = tuple(s * p + k for s, p, k in zip(shard_idx, per, local, strict=True))
        if g not in wanted:
            continue
        off, nb = (int(x) for x in index[j])
        if off == EMPTY and nb == EMPTY:
            out.append((g, "missing"))
        elif off + nb > len(data) - size or (crc and not _crc_ok(data[off:off + nb])):
            out.append((g, "checksum mismatch"))
    return out


def check_chunk_file(file: Path, meta: dict, idx: tuple[int, ...]) -> str | None:
    """Why a chunk or shard file of an array is not sound (None if it is)."""
    if sharding(meta) is None:
        return check_file(file, has_checksum(meta))
    bad = check_shard(file, meta, idx)
    return bad[0][1] if bad else None


class _Labels:
    """Coordinate values for naming a chunk's cell; indices where a coordinate is unreadable."""

    def __init__(self, path: Path, root: dict, metas: dict):
        self.values: dict = {}
        attrs = root.get("attributes", {})
        ents = attrs.get("samplers")
        if isinstance(ents, list):
            self.values[SAMPLER_DIM] = [str(e.get("label")) for e in ents]
        import zarr

        for name in metas:
            if name in self.values or len(metas[name]["shape"]) != 1 or \
                    metas[name].get("dimension_names") != [name] or name == TRIAL_DIM:
                continue
            with suppress(Exception):  # a corrupt coordinate is reported on its own
                self.values[name] = list(zarr.open_array(path / name, mode="r")[:])

    def where(self, meta: dict, idx: tuple[int, ...], inner: bool = False) -> str:
        """The cell (and trial range) of chunk ``idx``: an inner chunk of a shard for
        ``inner``."""
        dims = meta.get("dimension_names") or [f"dim{k}" for k in range(len(idx))]
        chunks = sharding(meta)["chunk_shape"] if inner else \
            meta["chunk_grid"]["configuration"]["chunk_shape"]
        parts = []
        for d, i, c, n in zip(dims, idx, chunks, meta["shape"], strict=True):
            if d == TRIAL_DIM or c != 1:
                what = "trials" if d == TRIAL_DIM else d
                parts.append(f"{what} [{i * c}, {min((i + 1) * c, n)})")
            else:
                vals = self.values.get(d)
                v = vals[i] if vals is not None and i < len(vals) else f"#{i}"
                parts.append(f"{d}={v:.6g}" if isinstance(v, float) else f"{d}={v}")
        return " ".join(parts)


class _Progress:
    """A progress line on a terminal (stderr), nothing otherwise."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.t = total, 0, 0.0
        self.on = enabled and sys.stderr.isatty()

    def step(self):
        self.done += 1
        now = time.monotonic()
        if self.on and (now - self.t > 0.2 or self.done == self.total):
            self.t = now
            print(f"\rnetsense: verify: {self.done}/{self.total} chunks "
                  f"({100 * self.done / max(1, self.total):.0f}%)", end="", file=sys.stderr,
                  flush=True)

    def close(self):
        if self.on:
            print(file=sys.stderr)


def scan(path, *, first_only: bool = False, arrays=None, decode: bool = False,
         progress: bool = False) -> tuple[list[Problem], int]:
    """Check every chunk file of the cube at ``path`` (``arrays``: only these).

    A chunk is unsound when its file is missing (every chunk of a netsense cube is written,
    NaN included), unreadable, fails its CRC-32C (checksummed arrays) or, with ``decode``,
    cannot be decoded by zarr. Returns (problems, number of chunks checked); with
    ``first_only`` it stops at the first problem.
    """
    path = Path(path)
    root = _root(path)
    metas = _array_metas(path, root)
    if arrays is not None:
        metas = {k: v for k, v in metas.items() if k in arrays}
    labels = _Labels(path, root, metas)
    grids = {name: chunk_grid(m) for name, m in metas.items()}
    bar = _Progress(sum(map(len, grids.values())), progress)
    problems: list[Problem] = []
    n = 0
    for name, meta in metas.items():
        crc = has_checksum(meta)
        arr = None
        if decode:
            import zarr

            arr = zarr.open_array(path / name, mode="r")
        sharded = sharding(meta) is not None
        chunks = sharding(meta)["chunk_shape"] if sharded else \
            meta["chunk_grid"]["configuration"]["chunk_shape"]
        for idx in grids[name]:
            key = chunk_key(meta, idx)
            # (chunk index, why) of each unsound chunk; a shard holds many, each checked
            if sharded:
                bad = check_shard(path / name / key, meta, idx)
                inner = inner_grid(meta, idx)
            else:
                why = check_file(path / name / key, crc)
                bad, inner = ([] if why is None else [(idx, why)]), [idx]
            if arr is not None and not any(b[0] is None for b in bad):
                seen = {b[0] for b in bad}
                for i in (i for i in inner if i not in seen):
                    sel = tuple(slice(k * c, (k + 1) * c) for k, c in zip(i, chunks, strict=True))
                    try:
                        arr[sel]
                    except Exception as exc:
                        bad.append((i, f"undecodable ({type(exc).__name__}: {str(exc)[:80]})"))
            n += len(inner)
            bar.step()
            for i, why in bad:
                where = labels.where(meta, idx) if i is None else labels.where(meta, i, sharded)
                problems.append(Problem(name, where, f"{name}/{key}", why))
                if first_only:
                    bar.close()
                    return problems, n
    bar.close()
    return problems, n


@dataclass
class Report:
    """What :func:`verify` found."""

    path: str
    format: object
    n_chunks: int
    n_arrays: int
    problems: list
    notes: list

    @property
    def sound(self) -> bool:
        return not self.problems


def _metadata_problems(path: Path, root: dict, metas: dict) -> tuple[list[Problem], list[str]]:
    problems, notes = [], []
    attrs = root.get("attributes", {})
    dims_of = {k: m.get("dimension_names") or [] for k, m in metas.items()}
    all_dims = {d for ds in dims_of.values() for d in ds}
    fmt = cube_format(attrs, all_dims)
    if isinstance(fmt, bool) or fmt not in FORMATS:
        problems.append(Problem("", "", "zarr.json", f"unknown cube format {fmt!r} (this "
                                f"netsense reads {', '.join(map(str, FORMATS))})"))
    if FORMAT_ATTR not in attrs:
        notes.append(f"format {fmt}: no chunk checksums, so a corrupted chunk that still decodes "
                     f"cannot be found; re-run the workflow to rewrite it as format {FORMAT}")
    if not attrs.get(COMPLETE_ATTR):
        problems.append(Problem("", "", "zarr.json", "incomplete (no completeness marker: an "
                                "interrupted assembly)"))
    if not root.get("consolidated_metadata"):
        problems.append(Problem("", "", "zarr.json", "no consolidated metadata (not a finished "
                                "cube)"))
    for name, m in metas.items():
        own = path / name / "zarr.json"
        try:
            mine = json.loads(own.read_text())
        except (OSError, ValueError) as exc:
            problems.append(Problem(name, "", f"{name}/zarr.json",
                                    f"array metadata unreadable ({type(exc).__name__})"))
            continue
        if root.get("consolidated_metadata") and mine != m:
            problems.append(Problem(name, "", f"{name}/zarr.json", "array metadata differs from "
                                    "the consolidated copy in zarr.json"))
    stored = (*FACTORS, SCALE_VAR) if fmt == 4 else DATA_VARS if fmt in (1, 2, 3) else ()
    for v in stored:
        if v not in metas:
            problems.append(Problem(v, "", "", "array missing"))
    size = {}
    for name, m in metas.items():
        for d, n in zip(dims_of[name], m["shape"], strict=False):
            if size.setdefault(d, n) != n:
                problems.append(Problem(name, "", f"{name}/zarr.json", f"dimension {d} has "
                                        f"length {n} here and {size[d]} elsewhere"))
    if "trials" in attrs and size.get(TRIAL_DIM) not in (None, attrs["trials"]):
        problems.append(Problem("", "", "zarr.json", f"{size[TRIAL_DIM]} trials stored, "
                                f"{attrs['trials']} in the attributes"))
    try:
        sweep = json.loads(attrs.get("config_json", "{}")).get("sweep", {})
    except ValueError:
        sweep = {}
    for d, vals in sweep.items():
        if isinstance(vals, list) and d in size and size[d] != len(vals):
            problems.append(Problem("", "", "zarr.json", f"dimension {d} has {size[d]} values, "
                                    f"the stored config {len(vals)}"))
    ents = attrs.get("samplers")
    if fmt in (3, 4) and (not isinstance(ents, list) or len(ents) != size.get(SAMPLER_DIM)):
        problems.append(Problem("", "", "zarr.json", "the 'samplers' attribute does not list "
                                "one entry per sampler"))
    return problems, notes


def metadata_problems(path) -> list[Problem]:
    """The metadata checks of :func:`verify` alone (no chunk is read)."""
    path = Path(path)
    root = _root(path)
    return _metadata_problems(path, root, _array_metas(path, root))[0]


def verify(path, progress: bool = True) -> Report:
    """Check a cube completely (module docstring); ``progress``: a progress line on a terminal."""
    path = Path(path)
    if not path.exists():
        raise CubeError(f"{path}: not found")
    if not (path / "zarr.json").exists():
        raise CubeError(f"{path}: not a netsense cube (no zarr.json)")
    root = _root(path)
    metas = _array_metas(path, root)
    meta_problems, notes = _metadata_problems(path, root, metas)
    chunk_problems, n = scan(path, decode=True, progress=progress)
    attrs = root.get("attributes", {})
    fmt = attrs.get(FORMAT_ATTR, cube_format(attrs, {d for m in metas.values()
                                                     for d in m.get("dimension_names") or []}))
    return Report(str(path), fmt, n, len(metas), meta_problems + chunk_problems, notes)


def repair_marker(marker) -> str:
    """The workflow's repair input of ``assemble`` (``workflow/rules/common.smk``): the path of
    ``marker``, a file made older than any cube (mtime 0) if it does not exist, which
    :func:`check_for_repair` rewrites when the stored cube is unsound."""
    marker = Path(marker)
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("no repair yet\n")
        os.utime(marker, (0, 0))
    return str(marker)


def check_for_repair(out_path, marker, log=None) -> bool:
    """Check the stored cube at ``out_path`` and, if it is unsound, rewrite ``marker`` (made by
    :func:`repair_marker` if missing) with what was found and say so on ``log``: Snakemake then
    sees an input of ``assemble`` newer than the cube and assembles it again, the sound cells
    linked from the last assembly, the others read from their shards
    (:func:`netsense.pipeline.assembly.assemble` checks every cell it links).

    Unsound: a chunk file missing or failing its CRC-32C (:func:`scan`, no decoding: about the
    cost of reading the cube's files once), or metadata that does not agree with itself. Cubes
    without checksums (formats 1 and 2) are left to the code version, which has changed since
    they were written. Returns whether there was a cube to check (False: none yet).
    """
    out_path, marker = Path(out_path), Path(repair_marker(marker))
    if not (out_path / "zarr.json").exists():
        return False
    try:
        root = json.loads((out_path / "zarr.json").read_text())
        if root.get("attributes", {}).get(FORMAT_ATTR) != FORMAT:
            return True
        found = [p.line() for p in metadata_problems(out_path) + scan(out_path)[0]]
    except (CubeError, OSError, ValueError, KeyError) as exc:
        found = [f"unreadable metadata ({type(exc).__name__}: {exc})"]
    if found:
        stamp = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        marker.write_text(f"{stamp} {out_path}: {len(found)} problem(s); assembled again\n"
                          + "".join(f"{line}\n" for line in found))
        if log is not None:
            more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
            print(f"netsense: {out_path}: {len(found)} problem(s): {'; '.join(found[:3])}{more}; "
                  "this run assembles the cube again: its sound cells from the last assembly, "
                  f"the others from their shards (list in {marker})", file=log)
    return True


def is_corruption(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a chunk failing its checksum or its decoding."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc).lower()
        if isinstance(exc, (ValueError, RuntimeError)) and any(m in text for m in
                                                               _CORRUPTION_MARKERS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def corruption_error(paths) -> CubeError:
    """The one-line error for a corrupted chunk in one of ``paths`` (found by :func:`scan`)."""
    for p in dict.fromkeys(Path(x) for x in reversed(list(paths))):
        try:
            problems, _ = scan(p, first_only=True, decode=True)
        except (CubeError, OSError, ValueError):
            continue
        if problems:
            return CubeError(f"{p}: corrupt chunk, {problems[0].line()}; nothing was computed "
                             f"from it. `netsense verify {p}` lists every bad chunk; the next "
                             "`netsense run` of its config rebuilds the cube from its shards")
    return CubeError("a chunk of a cube failed its checksum or could not be decoded; run "
                     "`netsense verify` on the cube")


@contextmanager
def reading(path=None):
    """Turn a corrupted chunk read inside the block into :func:`corruption_error` of ``path``
    (the cube read; without it, the error names no chunk)."""
    try:
        yield
    except CubeError:
        raise
    except Exception as exc:
        if not is_corruption(exc):
            raise
        raise corruption_error([path] if path is not None else []) from None


__all__ = ["Problem", "Report", "check_for_repair", "corruption_error", "is_corruption",
           "metadata_problems", "reading", "repair_marker", "scan", "verify"]
