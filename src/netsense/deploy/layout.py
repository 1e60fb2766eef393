"""Layout JSON (``netsense crlb``, ``map``, ``estimate``): parse and validate, one clear error
per mistake.

Nodes are [x, y] or [x, y, z] points [m] (z: the antenna's height above the ground plane of
the target; a node without z is on it), the target [x, y] or [x, y, z] (its altitude, known to
the estimator: the CRLB is on its ground position). A layout with no z anywhere is the paper's
plane, and every number is the same as before heights existed.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..core.system import SystemParams
from ..errors import InputError
from ..files import read_json

REQUIRED = ("tx", "rx", "target", "M_t", "M_r", "rho_s_db", "gamma")
OPTIONAL = ("system", "tx_gain", "tx_beta_hz", "name", "description")


def _number(name, v, *, integer=False, minimum=None, exclusive=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(name, v, "must be a number" if not integer else "must be an integer")
    if integer and (isinstance(v, float) and not v.is_integer()):
        raise InputError(name, v, "must be an integer")
    if not math.isfinite(v):
        raise InputError(name, v, "must be finite")
    if minimum is not None and (v <= minimum if exclusive else v < minimum):
        raise InputError(name, v, f"must be {'>' if exclusive else '>='} {minimum}")
    return int(v) if integer else float(v)


def _point(name, p):
    if not isinstance(p, list) or len(p) not in (2, 3):
        raise InputError(name, p, "must be an [x, y] or [x, y, z] point in metres")
    return [_number(f"{name}[{j}]", c) for j, c in enumerate(p)]


def _points(name, pts):
    if not isinstance(pts, list):
        raise InputError(name, pts, "must be a list of [x, y] or [x, y, z] points in metres")
    if len(pts) == 0:
        raise InputError(name, pts, "must contain at least one node")
    return [_point(f"{name}[{i}]", p) for i, p in enumerate(pts)]


def _with_z(points: list, three: bool) -> list:
    """[x, y, z] for every point when any point of the layout has a z (0 where missing)."""
    return [p + [0.0] * (3 - len(p)) for p in points] if three else points


def parse_layout(doc, *, target: bool = True) -> dict:
    """Validate a layout mapping; return normalized keyword arguments for :func:`netsense.crlb`.

    ``target=False`` (CRLB maps, which sweep the target): the layout's ``target`` is optional
    and ignored, and the result has no ``target_xy``.
    """
    if not isinstance(doc, dict):
        raise InputError("layout", type(doc).__name__, "must be a JSON object")
    if not target:  # a placeholder: the map sweeps the target (at its altitude, if given)
        given = doc.get("target")
        z = given[2:3] if isinstance(given, list) and len(given) == 3 else []
        doc = {**doc, "target": [0.0, 0.0, *z]}
    for key in doc:
        if key not in REQUIRED + OPTIONAL:
            raise InputError(key, doc[key], f"unknown key; allowed: {list(REQUIRED + OPTIONAL)}")
    for key in REQUIRED:
        if key not in doc:
            raise InputError(key, None, "required key is missing")
    tx = _points("tx", doc["tx"])
    rx = _points("rx", doc["rx"])
    pos = _point("target", doc["target"])
    three = any(len(p) == 3 for p in (*tx, *rx, pos))
    tx, rx, pos = _with_z(tx, three), _with_z(rx, three), _with_z([pos], three)[0]
    system = doc.get("system") or {}
    if not isinstance(system, dict):
        raise InputError("system", system, "must be an object of system constants")
    kw = dict(
        tx_xy=tx, rx_xy=rx, target_xy=pos,
        M_t=_number("M_t", doc["M_t"], integer=True, minimum=1),
        M_r=_number("M_r", doc["M_r"], integer=True, minimum=1),
        rho_s_db=_number("rho_s_db", doc["rho_s_db"]),
        gamma=_number("gamma", doc["gamma"], minimum=0, exclusive=True),
        system=SystemParams.from_mapping(system),
    )
    for opt in ("tx_gain", "tx_beta_hz"):
        if doc.get(opt) is not None:
            v = doc[opt]
            if not isinstance(v, list) or len(v) != len(tx):
                raise InputError(opt, v, f"must be a list of {len(tx)} numbers (one per TX)")
            kw[opt] = [_number(f"{opt}[{i}]", x, minimum=0) for i, x in enumerate(v)]
    if not target:
        del kw["target_xy"]
        if three:  # the altitude of every target of the map
            kw["target_z_m"] = pos[2]
    return kw


def load_layout(path, *, target: bool = True) -> tuple[dict, dict]:
    """Read and validate a layout JSON file.

    Returns ``(kw, meta)``: keyword arguments of :func:`netsense.crlb` (see
    :func:`parse_layout`; no ``target_xy`` with ``target=False``) and ``{"name",
    "description"}`` (the name defaults to the file's stem).
    """
    doc = read_json("LAYOUT", path)
    kw = parse_layout(doc, target=target)
    meta = {"name": str(doc.get("name") or Path(path).stem),
            "description": str(doc.get("description") or "")}
    return kw, meta
