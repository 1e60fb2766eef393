"""What identifies a cube's format (:mod:`.cube` describes each): the root attributes, the names
of its per-trial variables, and which formats this code reads. Shared by :mod:`.cube` (reading)
and :mod:`.integrity` (checking), which import nothing of each other's."""

from __future__ import annotations

from ..core.variables import FIELDS, NAMES
from ..errors import CubeError
from .axes import SAMPLER_DIM

COMPLETE_ATTR = "netsense_complete"
FORMAT_ATTR = "netsense_format"
FORMAT = 4  # what assembly writes
FORMATS = (1, 2, 3, 4)  # what open_cube reads (module docstring)
SAMPLERS_ATTR = "samplers"  # formats 3 and 4: the sampler entries, in cube order
DATA_VARS = NAMES  # the per-trial variables (netsense.core.variables), over axes.DIMS
FACTORS = FIELDS  # format 4: what is stored per trial, each variable's geometric factor
SCALE_VAR = "scale_m2"  # format 4: c^2 / (M_t M_r eta(rho_s)) over the scale dims
VARIABLES_ATTR = "variables"  # format 4: each variable's factor and scale, for any reader
CONTROL_MEAN = "control_mean_m2"  # formats 3 and 4: exact E[jensen_m2] per point
SAMPLER_COORDS = ("sampler_kind", "sampler_beam", "sampler_spec", "sampler_code_version")


def cube_format(attrs: dict, dims) -> int:
    """The format of a store from its root attributes and its dims (module docstring)."""
    if FORMAT_ATTR in attrs:
        return attrs[FORMAT_ATTR]
    return 2 if SAMPLER_DIM in dims else 1


def check_format(path, fmt) -> int:
    """``fmt`` if this code reads it, else a :class:`CubeError` naming it and the known ones."""
    if isinstance(fmt, bool) or fmt not in FORMATS:
        raise CubeError(f"{path}: cube format {fmt!r} is not one this netsense reads (formats "
                        f"{', '.join(map(str, FORMATS))}); use a newer netsense, or re-run the "
                        "workflow to write it again")
    return fmt
