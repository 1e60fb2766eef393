"""The result cube: a labeled xarray Dataset in a zarr v3 store; its format and its reading.

Dims ``sampler``, ``M``, ``rho_s_db``, ``lam``, ``gamma``, ``trial`` (:mod:`.axes`). Variables
``crlb_m2`` (eq. 18) and ``jensen_m2`` (eq. 23) over all six dims, ``closed_form_m2`` (eq. 26)
over (M, rho_s_db, lam, gamma): it does not depend on the sampler. Chunks are (1 sampler, 1 M,
1 rho_s, 1 lam, 1 gamma, ``trial_chunk`` trials): a query for one point reads only that point's
trials, and the trial axis reduces out of core with dask.

Formats (root attribute ``netsense_format``; :data:`FORMATS` are the ones this code reads):

* 3 (written now): every chunk of every array, coordinates included, ends in a ``crc32c``
  checksum (a core zarr v3 codec), so a corrupted chunk raises instead of being read as data
  (:mod:`.integrity` names it). Only core zarr v3 data types: ``sampler`` is stored as int64
  codes 0..n-1 (CF ``flag_values``/``flag_meanings``), the entries themselves in the root
  attribute ``samplers`` (label, kind, beam, the entry as a mapping, the code version of its
  samples). ``control_mean_m2`` over (sampler, M, rho_s_db, lam, gamma) holds the exact
  E[eq. 23] of each entry's sampler (the control variate's known mean, NaN where none is
  known), so that no reader needs the quadratures of :mod:`netsense.core.expectations`.
* 2 (no attribute, a ``sampler`` dim): the sampler labels and entries as variable-length string
  coordinates (a zarr-python extension type); no checksums.
* 1 (no attribute, no ``sampler`` dim): before sampler lists; the one sampler is in the
  config (``config_json``).

:func:`open_cube` reads each as the same Dataset: ``sampler`` labels (``plane-K64``) with
``sampler_kind``, ``sampler_beam``, ``sampler_spec`` (the entry as JSON) and
``sampler_code_version`` beside them as coordinates along ``sampler``, so no reader parses a
label and ``ds.sel(sampler="plane-K64")`` works.

A store is complete once its root attribute ``netsense_complete`` is true; :mod:`.assembly`
writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.variables import VARIABLES
from ..errors import CubeError
from .axes import AXES, SAMPLER_DIM, TRIAL_DIM
from .cubeformat import (  # noqa: F401 - the cube's format, re-exported with the cube
    COMPLETE_ATTR,
    CONTROL_MEAN,
    DATA_VARS,
    FORMAT,
    FORMAT_ATTR,
    FORMATS,
    SAMPLER_COORDS,
    SAMPLERS_ATTR,
    check_format,
    cube_format,
)

VAR_ATTRS = {
    **{v.name: {"units": v.units, "long_name": v.long_name} for v in VARIABLES},
    "closed_form_m2": {"units": "m^2", "long_name": "Theorem 2 closed form, eq. (26)"},
    CONTROL_MEAN: {"units": "m^2", "long_name": "exact E[eq. (23)] of the sampler (the control "
                   "variate's known mean; NaN where none is known)"},
}
COORD_ATTRS = {
    SAMPLER_DIM: {"units": "1", "long_name": "network model: the label of a sampler entry "
                  "(sampler and TX beam model; the entry itself is sampler_spec)"},
    "sampler_kind": {"units": "1", "long_name": "sampler kind (netsense.core.samplers)"},
    "sampler_beam": {"units": "1", "long_name": "TX beamforming model (netsense.core.beam)"},
    "sampler_spec": {"units": "1", "long_name": "the sampler entry as JSON (kind, its "
                     "parameters, beam)"},
    "sampler_code_version": {"units": "1", "long_name": "digest of the fingerprints its cells' "
                             "samples are stored under (netsense.core.blocks.fingerprints)"},
    **{a.name: {"units": a.units, "long_name": a.long_name} for a in AXES.values()},
    TRIAL_DIM: {"units": "1", "long_name": "Monte Carlo trial (one PPP network)"},
}


def sampler_entries_attr(labels, entries, code_versions) -> list[dict]:
    """The format-3 root attribute ``samplers``: one mapping per entry, in cube order."""
    return [{"label": str(lab), "kind": e["kind"], "beam": e["beam"], "spec": e,
             "code_version": str(v)} for lab, e, v in zip(labels, entries, code_versions,
                                                         strict=True)]


def _entries_from_config(ds, path) -> list[dict]:
    """Sampler entries of a cube written before they were stored (format 1, and format 2 before
    the sampler registry): from the config it stores, the label each would have now."""
    from ..core.samplers import sampler_from_mapping

    try:
        raw = json.loads(ds.attrs["config_json"]).get("sampler", {})
        raw = raw if isinstance(raw, list) else [raw]
        specs = [(sampler_from_mapping(m), m.get("beam", "full")) for m in raw]
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise CubeError(f"{path}: format-{cube_format(ds.attrs, ds.dims)} cube without a readable "
                        f"sampler in its config_json ({type(exc).__name__}: {exc})") from None
    labels = [s.label() if b == "full" else f"{s.label()}-{b}" for s, b in specs]
    entries = [{**s.to_mapping(), "beam": b} for s, b in specs]
    if SAMPLER_DIM in ds.dims and [str(v) for v in ds[SAMPLER_DIM].values] != labels:
        raise CubeError(f"{path}: its sampler labels {list(map(str, ds[SAMPLER_DIM].values))} "
                        f"are not those of its config {labels}")
    return sampler_entries_attr(labels, entries, [ds.attrs.get("code_version_samples",
                                                                "unknown")] * len(labels))


def _decode_samplers(ds, fmt: int, path):
    """The cube with ``sampler`` labels and the entry coordinates, whatever its format."""
    import numpy as np

    if fmt == 2 and "sampler_spec" in ds:
        return ds
    if fmt in (1, 2):
        ents = _entries_from_config(ds, path)
        if fmt == 1:  # one sampler: expand the per-trial variables along it
            for v in DATA_VARS:
                if v in ds:
                    ds[v] = ds[v].expand_dims({SAMPLER_DIM: 1}, axis=0)
    else:
        ents = ds.attrs.get(SAMPLERS_ATTR)
        if not isinstance(ents, list) or len(ents) != ds.sizes.get(SAMPLER_DIM):
            raise CubeError(f"{path}: format-3 cube whose '{SAMPLERS_ATTR}' attribute does not "
                            f"list its {ds.sizes.get(SAMPLER_DIM)} sampler entries")
    col = {k: np.asarray([str(e[k]) for e in ents], dtype=object) for k in
           ("label", "kind", "beam", "code_version")}
    spec = np.asarray([json.dumps(e["spec"], sort_keys=True) for e in ents], dtype=object)
    ds = ds.assign_coords({SAMPLER_DIM: col["label"],
                           "sampler_kind": (SAMPLER_DIM, col["kind"]),
                           "sampler_beam": (SAMPLER_DIM, col["beam"]),
                           "sampler_spec": (SAMPLER_DIM, spec),
                           "sampler_code_version": (SAMPLER_DIM, col["code_version"])})
    for c in (SAMPLER_DIM, *SAMPLER_COORDS):
        ds[c].attrs.update(COORD_ATTRS[c])
    return ds


def local_scheduler():
    """Dask's threaded scheduler for a query, unless the user chose one (``dask.config``) or
    runs ``distributed`` (a Client needs its module imported): dask's default lookup imports
    ``distributed`` to look for a Client, 0.5 s of a point query's 0.8 s."""
    import contextlib
    import sys

    import dask

    if dask.config.get("scheduler", None) is None and "distributed" not in sys.modules:
        import dask.threaded

        return dask.config.set(scheduler=dask.threaded.get)
    return contextlib.nullcontext()


def open_cube(path, require_complete: bool = True):
    """Open a cube of any format this code reads (:data:`FORMATS`) lazily (dask-backed), as
    the same Dataset (module docstring). Refuses an incomplete store unless told otherwise, and
    an unknown format always. A corrupted chunk read here or later raises
    :class:`~netsense.errors.CubeError` naming it where netsense computes
    (:func:`netsense.pipeline.integrity.reading`)."""
    import xarray as xr

    from .integrity import reading

    p = Path(path)
    if not p.exists():
        raise CubeError(f"{path}: not found")
    if not (p / "zarr.json").exists():
        raise CubeError(f"{path}: not a netsense cube (no zarr.json)")
    try:
        root = json.loads((p / "zarr.json").read_text())
    except (OSError, ValueError):
        raise CubeError(f"{path}: not a netsense cube (unreadable zarr.json)") from None
    consolidated = bool(root.get("consolidated_metadata"))  # only finished cubes have it
    fmt = root.get("attributes", {}).get(FORMAT_ATTR)
    if fmt is not None:
        check_format(path, fmt)  # before xarray reads arrays it may not understand
    with reading(p):
        ds = xr.open_zarr(p, chunks={}, consolidated=consolidated)
    if "crlb_m2" not in ds or "trial" not in ds.dims:
        raise CubeError(f"{path}: not a netsense cube (no crlb_m2 over trial)")
    fmt = check_format(path, cube_format(ds.attrs, ds.dims))
    if require_complete and not ds.attrs.get(COMPLETE_ATTR, False):
        raise CubeError(f"{path}: cube is incomplete (interrupted assembly); re-run the workflow")
    ds = _decode_samplers(ds, fmt, path)
    with reading(p), local_scheduler():  # the small per-point variables in memory: no dask
        # task per comparison later
        for v in ("closed_form_m2", CONTROL_MEAN):
            if v in ds:
                ds[v] = ds[v].load()
    ds.attrs[FORMAT_ATTR] = fmt
    ds.encoding["source"] = str(p)
    return ds


@dataclass(frozen=True)
class Entry:
    """A sampler entry of a cube, from its coordinates along ``sampler``."""

    label: str
    kind: str
    beam: str
    spec: dict  # the entry: kind, its parameters, beam

    def same_sampler(self, other: Entry) -> bool:
        """The same sampler and parameters, whatever the beam model."""
        strip = {k: v for k, v in self.spec.items() if k != "beam"}
        return strip == {k: v for k, v in other.spec.items() if k != "beam"}

    @property
    def sampler(self):
        """The entry's sampler (:func:`netsense.core.samplers.sampler_from_mapping`)."""
        from ..core.samplers import sampler_from_mapping

        return sampler_from_mapping(self.spec)  # the spec's "beam" is not a sampler parameter


def entries(ds) -> list[Entry]:
    """The cube's sampler entries in cube order (a Dataset from :func:`open_cube`)."""
    if "sampler_spec" not in ds:
        raise CubeError("the cube has no sampler_spec coordinate (open it with "
                        "netsense.open_cube)")
    return [Entry(str(label), str(kind), str(beam), json.loads(str(spec)))
            for label, kind, beam, spec in zip(ds[SAMPLER_DIM].values, ds["sampler_kind"].values,
                                               ds["sampler_beam"].values,
                                               ds["sampler_spec"].values, strict=True)]
