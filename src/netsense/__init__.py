"""netsense: network-level sensing limits (CRLB, PPP bounds) for distributed MIMO radar.

Implements and extends Y. Song et al., "Performance Analysis of Network Sensing in the
Distributed MIMO Radar System" ([1] in the docstrings). The package is layered (docs:
guide/architecture.md): ``cli`` on ``analysis`` on ``pipeline`` on ``deploy`` on ``core``, with the shared
base ``files``, ``inputs``, ``errors`` and ``version``.

The names below are loaded when first used, so that importing a submodule (a workflow job
does) does not import the numerical core with it.
"""

from importlib import import_module

from .version import __version__

_PUBLIC = {
    "compare_mimo_single": "core.closed_form", "lemma3_inv_sum": "core.closed_form",
    "single_antenna_m2": "core.closed_form", "theorem2_m2": "core.closed_form",
    "crlb": "core.fisher", "crlb_direct": "core.fisher",
    "SAMPLERS": "core.samplers", "DiskSampler": "core.samplers", "PlaneSampler": "core.samplers",
    "sampler_from_mapping": "core.samplers",
    "SystemParams": "core.system", "db_to_lin": "core.system", "lin_to_db": "core.system",
    "tightness": "core.tightness",
    "InputError": "errors",
}


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_PUBLIC})


def open_cube(path, require_complete: bool = True):
    """Open a stored result cube as a lazy (dask-backed) xarray Dataset."""
    from .pipeline.cube import open_cube as _open

    return _open(path, require_complete=require_complete)


def summarize(ds, **kwargs):
    """Statistics over trials as a tidy DataFrame; see :func:`netsense.analysis.query.summarize`."""
    from .analysis.query import summarize as _summarize

    return _summarize(ds, **kwargs)


__all__ = [*sorted(_PUBLIC), "__version__", "open_cube", "summarize"]
