"""Parsing typed user input (command-line values, config values) with one-line errors."""

from __future__ import annotations

import math

from .errors import InputError


def parse_number(name: str, v) -> float:
    """A finite number from a number or its text; one-line errors on ``name``."""
    try:
        out = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, "must be a number") from None
    if not math.isfinite(out):
        raise InputError(name, v, "must be finite")
    return out


def parse_density(name: str, v) -> float:
    """A density per m^2 from a number or a text such as ``1/900``; one-line errors on ``name``."""
    if isinstance(v, str):
        try:
            if "/" in v:
                num, den = v.split("/", 1)
                out = float(num) / float(den)
            else:
                out = float(v)
        except (ValueError, ZeroDivisionError):
            raise InputError(name, v, "must be a density > 0 per m^2, or a fraction like 1/900"
                             ) from None
    else:
        out = float(v)
    if not (math.isfinite(out) and out > 0):
        raise InputError(name, v, "density must be finite and > 0 per m^2")
    return out
