"""Checksummed array files (shards and cached blocks), written atomically.

A file is written to a temporary name in the same directory, flushed, fsynced and renamed into
place, so a reader sees either the old file, no file, or the whole new one. Each file carries the
sha256 of its arrays and metadata; a file that fails the check (truncated, corrupted) raises
:class:`CorruptFileError` naming it, and is never read as data.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError
from ..files import write_bytes_durably


def _digest(arrays: dict, meta_json: str) -> str:
    h = hashlib.sha256(meta_json.encode())
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_arrays(path, arrays: dict, meta: dict) -> None:
    """Write ``arrays`` and the JSON ``meta`` to ``path`` with their checksum, atomically."""
    meta_json = json.dumps(meta, sort_keys=True)
    digest = _digest(arrays, meta_json)
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(meta_json), __sha256__=np.array(digest), **arrays)
    write_bytes_durably(path, buf.getvalue())


def load_arrays(path) -> tuple[dict, dict]:
    """Read and verify a file written by :func:`save_arrays`; returns (arrays, meta)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CorruptFileError(path, f"{type(exc).__name__}: {exc}") from None
    if "__meta__" not in data or "__sha256__" not in data:
        raise CorruptFileError(path, "no checksum record")
    meta_json = str(data.pop("__meta__"))
    digest = str(data.pop("__sha256__"))
    if _digest(data, meta_json) != digest:
        raise CorruptFileError(path, "checksum mismatch")
    return data, json.loads(meta_json)
