"""The result cube: a labeled xarray Dataset in a zarr v3 store; its format and its reading.

As :func:`open_cube` returns it, whatever the format: dims ``sampler``, the parameter axes
(``M``, ``rho_s_db``, ``lam``, ``gamma``, or the separate ``M_t``, ``M_r``, ``lam_t``,
``lam_r``; :mod:`.axes`) and ``trial``. Variables ``crlb_m2`` (eq. 18) and ``jensen_m2`` (eq. 23)
over all of them, ``closed_form_m2`` (eq. 26) over the parameter dims (it does not depend on the
sampler), ``control_mean_m2`` over (sampler, parameter dims). Lazy and dask-backed: a query for
one point reads only that point's trials, and the trial axis reduces out of core.

Formats (root attribute ``netsense_format``; :data:`FORMATS` are the ones this code reads):

* 4 (written now): the store holds what was sampled. One layout serves every (M_t, M_r, rho_s)
  exactly (eq. 13: the FIM is linear in M_t M_r rho_s with full beam gain), so the per-trial
  arrays are the variables' geometric factors ``g18`` and ``g23`` over the axes that shape the
  samples only (sampler, the TX antenna dim where a non-full beam model makes it shape them, the
  shape axes, trial), and ``scale_m2`` = c^2 / (M_t M_r eta(rho_s)) over the scale axes: for any
  reader, ``crlb_m2 = g18 * scale_m2`` and ``jensen_m2 = g23 * scale_m2`` broadcast over both
  (the root attribute ``variables`` says so for each variable, with its units and dims). The
  factors are sharded (zarr v3's sharding codec): a few files per cell and factor, whatever the
  trial count, each inner chunk of ``trial_chunk`` trials ending in its own ``crc32c``, as every
  other chunk of the store does. :func:`open_cube` returns the variables, bit for bit those
  format 3 stored, with the factors and the scale beside them.
* 3: every (sampler, M, rho_s, lam, gamma) of ``crlb_m2`` and ``jensen_m2`` stored, one file per
  chunk of ``trial_chunk`` trials, every chunk of every array ending in a ``crc32c`` checksum.
* 3 and 4: only core zarr v3 data types: ``sampler`` is stored as int64 codes 0..n-1 (CF
  ``flag_values``/``flag_meanings``), the entries themselves in the root attribute ``samplers``
  (label, kind, beam, the entry as a mapping, a digest of what shaped its samples).
  ``control_mean_m2`` holds the exact E[eq. 23] of each entry's sampler (the control variate's
  known mean, NaN where none is known), so that no reader needs the quadratures of
  :mod:`netsense.core.expectations`. A corrupted chunk raises instead of being read as data
  (:mod:`.integrity` names it).
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
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..core.variables import VARIABLES
from ..errors import CubeError
from .axes import AXES, ORDER, SAMPLER_DIM, TRIAL_DIM
from .cubeformat import (  # noqa: F401 - the cube's format, re-exported with the cube
    COMPLETE_ATTR,
    CONTROL_MEAN,
    DATA_VARS,
    FACTORS,
    FORMAT,
    FORMAT_ATTR,
    FORMATS,
    SAMPLER_COORDS,
    SAMPLERS_ATTR,
    SCALE_VAR,
    VARIABLES_ATTR,
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
            raise CubeError(f"{path}: format-{fmt} cube whose '{SAMPLERS_ATTR}' attribute does not "
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


def _with_variables(ds, path):
    """A format-4 store with its per-trial variables: each its stored factor times the scale,
    broadcast over the scale dims, in the cube's dim order, lazily (the factors stay beside
    them: statistics can be taken once per sampled point, then scaled)."""
    for v in VARIABLES:
        if v.field not in ds or SCALE_VAR not in ds:
            raise CubeError(f"{path}: format-4 cube without its {v.field} or {SCALE_VAR}")
        # one dask chunk per (M_t, M_r, rho_s), as format 3 stored them: a selection of one
        # point computes only its own product
        scale = ds[SCALE_VAR].chunk(dict.fromkeys(ds[SCALE_VAR].dims, 1))
        with warnings.catch_warnings():  # more chunks than the factor's: that is the point
            warnings.filterwarnings("ignore", message="Increasing number of chunks")
            x = ds[v.field] * scale  # eq. (13): the variable at every (M_t, M_r, rho_s)
        order = [SAMPLER_DIM, *(d for d in ORDER if d in x.dims), TRIAL_DIM]
        ds[v.name] = x.transpose(*order).assign_attrs(VAR_ATTRS[v.name])
        ds[v.name].encoding.update({FACTOR_KEY: v.field, SCALE_KEY: SCALE_VAR})
    return ds


# The encoding keys of a variable that open_cube made as factor x scale (format 4): where it
# carries them, statistics over trials are taken on the factor and scaled (:func:`factored`).
# Encoding, not attrs: xarray keeps a variable's encoding through selection, transposition and
# copies, and drops it in arithmetic and every other change of values (attrs it keeps), so a
# changed variable is reduced as it is.
FACTOR_KEY, SCALE_KEY = "netsense_factor", "netsense_scale"


def factored(ds, var: str):
    """(factor, scale) of a per-trial variable of a format-4 cube, else None.

    ``ds[var]`` is ``factor * scale``: the factor over the axes that shape samples and
    ``trial``, the scale (a positive constant per point) over the scaling axes. Any statistic
    over trials that is location-scale equivariant (means, the control variate, its
    coefficient-free corrected trials, standard deviations, intervals, quantiles) is that of the
    factor times the scale; computing it on the factor does the work once per sampled point
    instead of once per (M_t, M_r, rho_s), with the same value up to rounding (the product is
    rounded in another order).
    """
    x = ds.get(var)
    if x is None or x.encoding.get(SCALE_KEY) not in ds or x.encoding.get(FACTOR_KEY) not in ds:
        return None
    return ds[x.encoding[FACTOR_KEY]], ds[x.encoding[SCALE_KEY]]


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


def _read_chunks(p: Path, root: dict, fmt) -> dict:
    """Dask chunks to open a store with: the stored ones ({}), except that format 4 reads its
    factors one shard at a time (zarr reads a shard's inner chunks together, from one index;
    one dask task per inner chunk re-read the index and cost a point query more than its
    data)."""
    if fmt != 4:
        return {}
    try:
        meta = (root.get("consolidated_metadata") or {}).get("metadata", {}).get(FACTORS[0]) \
            or json.loads((p / FACTORS[0] / "zarr.json").read_text())
        shard = meta["chunk_grid"]["configuration"]["chunk_shape"]
        return {meta["dimension_names"][-1]: int(shard[-1])}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}  # xarray then reads what it can and the checks name what it cannot


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
        ds = xr.open_zarr(p, chunks=_read_chunks(p, root, fmt), consolidated=consolidated)
    fmt = check_format(path, cube_format(ds.attrs, ds.dims))
    with reading(p), local_scheduler():  # the small per-point variables in memory: no dask
        # task per comparison later (the scale before the variables are made from it)
        small = [v for v in ("closed_form_m2", CONTROL_MEAN, SCALE_VAR) if v in ds]
        loaded = ds[small].load()  # one compute for all of them
        for v in small:
            ds[v] = loaded[v]
    if fmt == 4:
        ds = _with_variables(ds, path)
    if "crlb_m2" not in ds or "trial" not in ds.dims:
        raise CubeError(f"{path}: not a netsense cube (no crlb_m2 over trial)")
    if require_complete and not ds.attrs.get(COMPLETE_ATTR, False):
        raise CubeError(f"{path}: cube is incomplete (interrupted assembly); re-run the workflow")
    ds = _decode_samplers(ds, fmt, path)
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

    @property
    def mean_finite(self) -> bool:
        """Whether E[eq. 18] of the entry is finite: not under blockage (a side has no LOS
        node with probability > 0, and one TX with two RXs leaves the FIM nearly singular on a
        set of codimension one; :data:`netsense.core.mc.BLOCKAGE_MEAN_NOTE`). Its readers then
        report the median, quantiles, coverage and localizable fraction, and E[eq. 23] only
        conditional on both sides having a LOS node."""
        return self.sampler.blockage_per_m == 0


def entries(ds) -> list[Entry]:
    """The cube's sampler entries in cube order (a Dataset from :func:`open_cube`)."""
    if "sampler_spec" not in ds:
        raise CubeError("the cube has no sampler_spec coordinate (open it with "
                        "netsense.open_cube)")
    return [Entry(str(label), str(kind), str(beam), json.loads(str(spec)))
            for label, kind, beam, spec in zip(ds[SAMPLER_DIM].values, ds["sampler_kind"].values,
                                               ds["sampler_beam"].values,
                                               ds["sampler_spec"].values, strict=True)]
