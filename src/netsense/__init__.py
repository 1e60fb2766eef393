"""netsense: network-level sensing limits (CRLB, PPP bounds) for distributed MIMO radar.

Implements and extends Y. Song et al., "Performance Analysis of Network Sensing in the
Distributed MIMO Radar System" ([1] in the docstrings). The package is layered (README,
"Architecture"): ``core`` (the numerical core), ``deploy`` (fixed deployments) and ``pipeline``
(the sweep: config, plan, shards, cube, clusters), ``analysis`` (fits, queries, figures,
studies) and ``cli``; the shared base is ``errors``, ``files`` and ``version``.
"""

from .core.closed_form import compare_mimo_single, lemma3_inv_sum, single_antenna_m2, theorem2_m2
from .core.fisher import crlb, crlb_direct
from .core.samplers import SAMPLERS, DiskSampler, PlaneSampler, sampler_from_mapping
from .core.system import SystemParams, db_to_lin, lin_to_db
from .errors import InputError
from .version import __version__


def open_cube(path, require_complete: bool = True):
    """Open a stored result cube as a lazy (dask-backed) xarray Dataset."""
    from .pipeline.cube import open_cube as _open

    return _open(path, require_complete=require_complete)


def summarize(ds, **kwargs):
    """Statistics over trials as a tidy DataFrame; see :func:`netsense.analysis.query.summarize`."""
    from .analysis.query import summarize as _summarize

    return _summarize(ds, **kwargs)


__all__ = [
    "SAMPLERS", "DiskSampler", "InputError", "PlaneSampler", "SystemParams", "__version__",
    "compare_mimo_single", "crlb", "crlb_direct", "db_to_lin", "lemma3_inv_sum", "lin_to_db",
    "open_cube", "sampler_from_mapping", "single_antenna_m2", "summarize", "theorem2_m2",
]
