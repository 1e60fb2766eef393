"""netsense: network-level sensing limits (CRLB, PPP bounds) for distributed MIMO radar.

Implements and extends Y. Song et al., "Performance Analysis of Network Sensing in the
Distributed MIMO Radar System" ([1] in the docstrings).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("netsense")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+src"

from .closed_form import compare_mimo_single, lemma3_inv_sum, single_antenna_m2, theorem2_m2
from .fisher import crlb, crlb_direct
from .ppp import SamplerSpec
from .system import InputError, SystemParams, db_to_lin, lin_to_db


def open_cube(path, require_complete: bool = True):
    """Open a stored result cube as a lazy (dask-backed) xarray Dataset."""
    from .cube import open_cube as _open

    return _open(path, require_complete=require_complete)


def summarize(ds, **kwargs):
    """Statistics over trials as a tidy DataFrame; see :func:`netsense.query.summarize`."""
    from .query import summarize as _summarize

    return _summarize(ds, **kwargs)


__all__ = [
    "InputError", "SamplerSpec", "SystemParams", "__version__", "compare_mimo_single", "crlb",
    "crlb_direct", "db_to_lin", "lemma3_inv_sum", "lin_to_db", "open_cube", "single_antenna_m2", "summarize",
    "theorem2_m2",
]
