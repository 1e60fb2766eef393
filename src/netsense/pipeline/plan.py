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
from dataclasses import dataclass

from ..core.blocks import Stream, fingerprints, streams
from ..core.samplers import Sampler, sampler_from_mapping
from .config import SweepConfig, model_label


@dataclass(frozen=True)
class Cell:
    """One sampled unit: a sampler entry (sampler and beam model), lam and gamma, and the M of
    a non-full beam model (``None`` with full gain: the cell then serves every M).

    With separate densities ``lam`` is lam_t and ``lam_r`` is set (``None``: tied, lam_t =
    lam_r = lam); ``M`` is then M_t (the beam model weights the TXs only)."""

    sampler: Sampler
    beam: str
    M: int | None
    lam: float
    gamma: float
    lam_r: float | None = None

    @property
    def sides(self) -> bool:
        """Separate densities: the blocks are joined from a TX and an RX side."""
        return self.lam_r is not None

    @property
    def label(self) -> str:
        """The cube's ``sampler`` coordinate value of this cell."""
        return model_label(self.sampler, self.beam)

    @property
    def key(self) -> tuple:
        """The cube's key of this cell: (sampler label, M or None, lam, gamma), with lam_r
        after lam for separate densities."""
        if self.sides:
            return (self.label, self.M, self.lam, self.lam_r, self.gamma)
        return (self.label, self.M, self.lam, self.gamma)

    def streams(self, block_trials: int) -> tuple[Stream, ...]:
        """The streams this cell's blocks are drawn from (one per side with separate densities,
        one for both sides of a tied cell)."""
        return streams(self.sampler, self.gamma, block_trials, self.lam, self.lam_r, self.beam,
                       self.M)

    def stream_key(self, block_trials: int) -> str:
        """The key of this cell's blocks: its streams' keys, joined by ``|``."""
        return "|".join(s.key for s in self.streams(block_trials))

    def fingerprints(self, block_trials: int) -> tuple[str, dict[str, str]]:
        """(fingerprint of this cell's blocks, {side: fingerprint of its shared stream})."""
        return fingerprints(self.streams(block_trials), float(self.gamma))

    def describe(self) -> str:
        """The cell in messages: ``plane-K64 lam=0.0025 gamma=4``."""
        m = "" if self.M is None else f" {self.beam} M={self.M}"
        lam = f"lam_t={self.lam:.6g} lam_r={self.lam_r:.6g}" if self.sides \
            else f"lam={self.lam:.6g}"
        return f"{self.sampler.label()}{m} {lam} gamma={self.gamma:g}"

    def to_params(self) -> dict:
        """The cell as builtin types (Snakemake params, shard file metadata)."""
        out = {"sampler": self.sampler.to_mapping(), "beam": self.beam,
               "M": None if self.M is None else int(self.M), "lam": float(self.lam),
               "gamma": float(self.gamma)}
        return {**out, "lam_r": float(self.lam_r)} if self.sides else out

    @classmethod
    def from_params(cls, p: dict) -> Cell:
        """Inverse of :meth:`to_params`."""
        return cls(sampler_from_mapping(p["sampler"]), p["beam"],
                   None if p["M"] is None else int(p["M"]), float(p["lam"]), float(p["gamma"]),
                   None if p.get("lam_r") is None else float(p["lam_r"]))


def cell_slots(cfg: SweepConfig):
    """Every cell of the sweep with its place in the cube: (cell, sampler index, M index or
    None, lam index, gamma index); sampler-major, then M (non-full beams), lam, gamma. With
    separate densities the lam index is the pair (lam_t index, lam_r index), lam_r fastest."""
    for k, (spec, beam) in enumerate(zip(cfg.samplers, cfg.beams, strict=True)):
        for m, M in cfg.sampled_M(beam):
            if cfg.separate_lam:
                for i, lam_t in enumerate(cfg.lam_t):
                    for ir, lam_r in enumerate(cfg.lam_r):
                        for j, gamma in enumerate(cfg.gamma):
                            yield Cell(spec, beam, M, lam_t, gamma, lam_r), k, m, (i, ir), j
                continue
            for i, lam in enumerate(cfg.lam):
                for j, gamma in enumerate(cfg.gamma):
                    yield Cell(spec, beam, M, lam, gamma), k, m, i, j


def cells(cfg: SweepConfig) -> list[Cell]:
    """Every cell of the sweep, in the order of :func:`cell_slots`."""
    return [slot[0] for slot in cell_slots(cfg)]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def cell_id(cfg: SweepConfig, cell: Cell) -> str:
    """Directory name of a cell (see the module docstring)."""
    key = cell.stream_key(cfg.block_trials)
    digest = _digest(f"{cfg.seed};{key};{cell.fingerprints(cfg.block_trials)[0]}")
    per_m = "" if cell.M is None else f"_M{cell.M}"
    if cell.sides:
        return (f"{cell.label}{per_m}_lamt{cell.lam:.6g}_lamr{cell.lam_r:.6g}"
                f"_gamma{cell.gamma:g}_{digest}")
    return f"{cell.label}{per_m}_lam{cell.lam:.6g}_gamma{cell.gamma:g}_{digest}"


def side_prefix(cell: Cell, side: str) -> str:
    """The readable part of a side's directory name (:func:`side_id`)."""
    lam = cell.lam if side == "tx" else cell.lam_r
    per_m = "" if cell.M is None or side == "rx" else f"_M{cell.M}"
    beam = f"-{cell.beam}" if side == "tx" and cell.beam != "full" else ""
    return f"{side}_{cell.sampler.label()}{beam}{per_m}_lam{lam:.6g}_gamma{cell.gamma:g}_"


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
