"""Sweep planning: the cells of a sweep, their streams and ids, and shards of whole blocks.

The terms (the glossary in CONTRIBUTING.md):

* a *cell* (:class:`Cell`) is one (sampler entry, lam, gamma), or (sampler entry, lam_t, lam_r,
  gamma) with separate densities, and also one M (M_t) for a non-full beam model: the unit of
  sampling. Only these change the sampled geometry; one layout serves every (M_t, M_r, rho_s)
  exactly with full beam gain. A cell's blocks are drawn from its streams
  (:func:`netsense.core.blocks.streams`): one for both sides of a tied cell, one per side with
  separate densities, each of those cached on its own (:func:`side_id`), so cells that share a
  side density sample it once.
* a *block* (``block_trials`` trials) is the unit of randomness: its streams are keyed by (seed,
  the stream's key, block index) and it is cached on its own.
* a *shard* (:class:`Shard`, ``shard_blocks`` blocks, one Snakemake job, one file) is the unit of
  scheduling; it never shapes results.

A cell's directory name (:func:`cell_id`) carries a hash of everything that shapes its samples:
the seed, its stream keys and the fingerprint of what the kernel computes for it
(:func:`netsense.core.blocks.fingerprints`). Any change to a sampled number writes new files and
can never be served from stale ones; a change that leaves every sampled number as it was (a
helper moved, a module split, locals renamed) keeps every cached block.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass

from ..core.blocks import Stream, fingerprints, streams
from ..core.samplers import Sampler, sampler_from_mapping
from .axes import AXES, LAM_DIMS, LINK_DIMS
from .config import SweepConfig, linked, model_label


@dataclass(frozen=True)
class Cell:
    """One sampled unit: a sampler entry (sampler and beam model), a value of each shape axis of
    the sweep (``point``: (axis name, value) pairs in the cube's order, e.g. lam and gamma, or
    lam_t, lam_r and gamma, and the link axes where the sweep gives them), and the TX antennas
    of a non-full beam model (``M_t``; ``None`` with full gain: the cell then serves every
    antenna count). ``sampler`` is the entry's; the cell samples :attr:`sampled`, the entry's
    sampler with the cell's link values set."""

    sampler: Sampler
    beam: str
    M_t: int | None
    point: tuple[tuple[str, float], ...]

    def param(self, name: str) -> float:
        """The value of the network parameter ``name`` (``lam_t``, ``lam_r``, ``gamma``)
        (:data:`netsense.pipeline.axes.NETWORK_PARAMS`), from the axis that sets it."""
        for axis, value in self.point:
            if name in AXES[axis].sets:
                return value
        raise KeyError(name)

    @property
    def gamma(self) -> float:
        return self.param("gamma")

    @property
    def sampled(self) -> Sampler:
        """The sampler this cell samples: its entry's with the cell's values of the link axes
        (:func:`netsense.pipeline.config.linked`); the entry's own without link axes. Its
        streams, keys and fingerprints are those of a sampler entry with those values."""
        return linked(self.sampler, {a: v for a, v in self.point if a in LINK_DIMS})

    @property
    def sides(self) -> bool:
        """A density axis sets one side only (separate densities): each side is drawn from a
        stream of its own, shared with the other cells that have its parameters. (Separate
        heights alone keep the tied cell's one stream, as a sampler entry with two heights.)"""
        return any(AXES[axis].tied is not None for axis, _ in self.point if axis in LAM_DIMS)

    @property
    def label(self) -> str:
        """The cube's ``sampler`` coordinate value of this cell."""
        return model_label(self.sampler, self.beam)

    @property
    def key(self) -> tuple:
        """The cube's key of this cell: (sampler label, M_t or None, its shape values)."""
        return (self.label, self.M_t, *(v for _, v in self.point))

    def streams(self, block_trials: int) -> tuple[Stream, ...]:
        """The streams this cell's blocks are drawn from (one per side with separate densities,
        one for both sides of a tied cell)."""
        return streams(self.sampled, self.gamma, block_trials, self.param("lam_t"),
                       self.param("lam_r") if self.sides else None, self.beam, self.M_t)

    def stream_key(self, block_trials: int) -> str:
        """The key of this cell's blocks: its streams' keys, joined by ``|``."""
        return "|".join(s.key for s in self.streams(block_trials))

    def fingerprints(self, block_trials: int) -> tuple[str, dict[str, str]]:
        """(fingerprint of this cell's blocks, {side: fingerprint of its shared stream})."""
        return fingerprints(self.streams(block_trials), float(self.gamma))

    def describe(self) -> str:
        """The cell in messages: ``plane-K64 lam=0.0025 gamma=4``."""
        m = "" if self.M_t is None else f" {self.beam} M={self.M_t}"
        return f"{self.sampler.label()}{m} " + " ".join(f"{a}={_fmt(a, v)}" for a, v in self.point)

    def name(self) -> str:
        """The readable part of the cell's directory name: ``plane-K64_lam0.0025_gamma4``."""
        per_m = "" if self.M_t is None else f"_M{self.M_t}"
        return f"{self.label}{per_m}_" + "_".join(f"{a.replace('_', '')}{_fmt(a, v)}"
                                                  for a, v in self.point)

    def to_params(self) -> dict:
        """The cell as builtin types (Snakemake params, shard file metadata)."""
        return {"sampler": self.sampler.to_mapping(), "beam": self.beam,
                "M_t": None if self.M_t is None else int(self.M_t),
                "point": [[a, float(v)] for a, v in self.point]}  # ordered (JSON sorts keys)

    @classmethod
    def from_params(cls, p: dict) -> Cell:
        """Inverse of :meth:`to_params`."""
        return cls(sampler_from_mapping(p["sampler"]), p["beam"],
                   None if p["M_t"] is None else int(p["M_t"]),
                   tuple((a, float(v)) for a, v in p["point"]))


def _fmt(axis: str, v: float) -> str:
    return f"{v:.6g}" if AXES[axis].density else f"{v:g}"


def cell_slots(cfg: SweepConfig):
    """Every cell of the sweep with its place in the cube: (cell, sampler index, M_t index or
    None, {shape dim: index}); sampler-major, then M_t (non-full beams), then the shape axes in
    the cube's order (the last fastest)."""
    dims = cfg.shape_dims
    for k, (spec, beam) in enumerate(zip(cfg.samplers, cfg.beams, strict=True)):
        for m, M_t in cfg.sampled_M(beam):
            for idx in itertools.product(*(range(len(cfg.values[d])) for d in dims)):
                point = tuple((d, cfg.values[d][i]) for d, i in zip(dims, idx, strict=True))
                yield Cell(spec, beam, M_t, point), k, m, dict(zip(dims, idx, strict=True))


def cells(cfg: SweepConfig) -> list[Cell]:
    """Every cell of the sweep, in the order of :func:`cell_slots`."""
    return [slot[0] for slot in cell_slots(cfg)]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def cell_id(cfg: SweepConfig, cell: Cell) -> str:
    """Directory name of a cell (see the module docstring)."""
    key = cell.stream_key(cfg.block_trials)
    return f"{cell.name()}_" + _digest(f"{cfg.seed};{key};{cell.fingerprints(cfg.block_trials)[0]}")


def side_prefix(cell: Cell, side: str) -> str:
    """The readable part of a side's directory name (:func:`side_id`)."""
    lam = cell.param(f"lam_{side[0]}")
    per_m = "" if cell.M_t is None or side == "rx" else f"_M{cell.M_t}"
    beam = f"-{cell.beam}" if side == "tx" and cell.beam != "full" else ""
    return f"{side}_{cell.sampled.label()}{beam}{per_m}_lam{lam:.6g}_gamma{cell.gamma:g}_"


def side_id(cfg: SweepConfig, cell: Cell, side: str) -> str:
    """Directory name of one side of a cell with separate densities, below ``sides/``: every
    cell with that side's parameters (sampler, density, gamma, and the beam model with M_t for
    the TXs) shares it, so the side is sampled once for all of them."""
    (st,) = [s for s in cell.streams(cfg.block_trials) if s.sides[0].name == side]
    fp = cell.fingerprints(cfg.block_trials)[1][side]
    return side_prefix(cell, side) + _digest(f"{cfg.seed};{st.key};{fp}")


@dataclass(frozen=True)
class Shard:
    """Trials [trial_start, trial_stop) of one cell: whole blocks, one job, one file."""

    cell: Cell
    cell_id: str
    index: int
    trial_start: int
    trial_stop: int
    block_trials: int

    @property
    def name(self) -> str:
        """Path of the shard file below ``shards/``, without the suffix."""
        return f"{self.cell_id}/shard-{self.index:05d}"

    def params(self, cfg: SweepConfig) -> dict:
        """Everything that shapes this shard's file, as builtin types (Snakemake params): the
        cell, its trials and the fingerprint its blocks are stored under; with shared streams
        (separate densities) also each side's directory below ``sides/`` and fingerprint."""
        cell_fp, side_fps = self.cell.fingerprints(cfg.block_trials)
        out = {"seed": cfg.seed, **self.cell.to_params(), "block_trials": cfg.block_trials,
               "trial_start": self.trial_start, "trial_stop": self.trial_stop,
               "fingerprint": cell_fp}
        if side_fps:
            out["sides"] = {s: {"dir": side_id(cfg, self.cell, s), "fingerprint": fp}
                            for s, fp in side_fps.items()}
        return out


def plan(cfg: SweepConfig) -> list[Shard]:
    """All shards of the sweep; shard i of a cell covers trials [i S, min((i+1) S, trials)).

    Ordered as :func:`cells` (the cube's order).
    """
    per_shard = cfg.shard_blocks * cfg.block_trials
    out = []
    for cell in cells(cfg):
        cid = cell_id(cfg, cell)
        for i, start in enumerate(range(0, cfg.trials, per_shard)):
            out.append(Shard(cell, cid, i, start, min(start + per_shard, cfg.trials),
                             cfg.block_trials))
    return out
