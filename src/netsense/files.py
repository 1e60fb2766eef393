"""Reading user files with one-line errors, and writing files atomically.

Every loader of a user file (config YAML, layout JSON, stored findings) reads through
:func:`read_text` / :func:`read_json`, so a missing, unreadable or malformed file is always one
:class:`~netsense.errors.InputError` naming the argument and the file. Every file netsense
writes outside a zarr store goes through :func:`write_atomic`: a reader sees the old file, no
file, or the whole new one, never a part.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from .errors import InputError


def read_text(field: str, path) -> str:
    """The text of ``path``; an :class:`InputError` on ``field`` if it cannot be read."""
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise InputError(field, str(path), f"cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(field, str(path), "is not a UTF-8 text file") from None


def read_json(field: str, path):
    """The JSON document in ``path``; one-line :class:`InputError` on ``field`` otherwise."""
    text = read_text(field, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(field, str(path), f"is not valid JSON ({exc.msg} at line {exc.lineno})"
                         ) from None


def temporary_name(path) -> Path:
    """A hidden name beside ``path`` for writing it (same directory: the rename is atomic),
    its own per process and thread."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")


def remove(path) -> None:
    """Remove a file or a directory tree if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def replace(tmp, final) -> None:
    """Rename ``tmp`` onto ``final``; a directory (a zarr store) already there is swapped out."""
    tmp, final = Path(tmp), Path(final)
    if final.is_dir() and not final.is_symlink():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


def write_atomic(path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary name beside ``path``, then rename it into place.

    ``write`` may create a file or a directory. On any error the temporary is removed and
    ``path`` is left as it was.
    """
    tmp = temporary_name(path)
    remove(tmp)
    try:
        write(tmp)
        replace(tmp, path)
    finally:
        remove(tmp)


def write_bytes_durably(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and fsync it before the rename (cached results)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path):
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    write_atomic(path, write)
