"""The result cube: a labeled xarray Dataset in a zarr v3 store; its format and its reading.

Dims ``sampler``, ``M``, ``rho_s_db``, ``lam``, ``gamma``, ``trial`` (:mod:`.axes`). ``sampler``
is a string coordinate (``plane-K64``, ``disk-R500``: one value per entry of the config's
``sampler``; a single-sampler sweep has one), with the entry itself beside it as coordinates
along ``sampler``: ``sampler_kind``, ``sampler_beam`` and ``sampler_spec`` (the entry as JSON,
:meth:`netsense.core.samplers.Sampler.to_mapping` plus ``beam``), so that no reader parses a
label. Variables ``crlb_m2`` (eq. 18) and ``jensen_m2`` (eq. 23) over all six dims,
``closed_form_m2`` (eq. 26) over (M, rho_s_db, lam, gamma): it does not depend on the sampler.
Chunks are (1 sampler, 1 M, 1 rho_s, 1 lam, 1 gamma, ``trial_chunk`` trials): a query for one
point reads only that point's trials, and the trial axis reduces out of core with dask.

A store is complete once its root attribute ``netsense_complete`` is true; :mod:`.assembly`
writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import CubeError
from .axes import PARAM_AXES, SAMPLER_DIM, TRIAL_DIM

COMPLETE_ATTR = "netsense_complete"
DATA_VARS = ("crlb_m2", "jensen_m2")  # per-trial variables, over axes.DIMS
VAR_ATTRS = {
    "crlb_m2": {"units": "m^2", "long_name": "CRLB tr(S^-1) on the target position, eq. (18)"},
    "jensen_m2": {"units": "m^2",
                  "long_name": "Jensen/Cauchy-Schwarz bound 2c^2/(M_r M_t eta A_t A_r), eq. (23)"},
    "closed_form_m2": {"units": "m^2", "long_name": "Theorem 2 closed form, eq. (26)"},
}
COORD_ATTRS = {
    SAMPLER_DIM: {"units": "1", "long_name": "network model: the label of a sampler entry "
                  "(sampler and TX beam model; the entry itself is sampler_spec)"},
    "sampler_kind": {"units": "1", "long_name": "sampler kind (netsense.core.samplers)"},
    "sampler_beam": {"units": "1", "long_name": "TX beamforming model (netsense.core.beam)"},
    "sampler_spec": {"units": "1", "long_name": "the sampler entry as JSON (kind, its "
                     "parameters, beam)"},
    "sampler_code_version": {"units": "1", "long_name": "code version of what shaped the "
                             "entry's samples (netsense.pipeline.plan.sample_code_version)"},
    **{a.name: {"units": a.units, "long_name": a.long_name} for a in PARAM_AXES},
    TRIAL_DIM: {"units": "1", "long_name": "Monte Carlo trial (one PPP network)"},
}


def open_cube(path, require_complete: bool = True):
    """Open a cube lazily (dask-backed). Refuses an incomplete store unless told otherwise."""
    import xarray as xr

    p = Path(path)
    if not (p / "zarr.json").exists():
        raise CubeError(f"{path}: not a netsense cube (no zarr.json)")
    try:
        root = json.loads((p / "zarr.json").read_text())
    except (OSError, ValueError):
        raise CubeError(f"{path}: not a netsense cube (unreadable zarr.json)") from None
    consolidated = bool(root.get("consolidated_metadata"))  # only finished cubes have it
    ds = xr.open_zarr(p, chunks={}, consolidated=consolidated)
    if "crlb_m2" not in ds or "trial" not in ds.dims:
        raise CubeError(f"{path}: not a netsense cube (no crlb_m2 over trial)")
    if require_complete and not ds.attrs.get(COMPLETE_ATTR, False):
        raise CubeError(f"{path}: cube is incomplete (interrupted assembly); re-run the workflow")
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
    """The cube's sampler entries in cube order."""
    if "sampler_spec" not in ds:
        raise CubeError("the cube has no sampler_spec coordinate (made by a netsense before the "
                        "sampler registry); re-run the workflow to assemble it again")
    return [Entry(str(label), str(kind), str(beam), json.loads(str(spec)))
            for label, kind, beam, spec in zip(ds[SAMPLER_DIM].values, ds["sampler_kind"].values,
                                               ds["sampler_beam"].values,
                                               ds["sampler_spec"].values, strict=True)]
