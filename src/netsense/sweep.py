"""Sweep planning: (sampler, lam, gamma) cells, their stream keys, and shards of whole blocks.

A *cell* is one (sampler, lam, gamma): only these change the sampled geometry (one layout
serves every (M, rho_s) exactly). A *block* (``block_trials`` trials, one Dask task) is the unit
of randomness: its stream is keyed by (seed, sampler, lam, gamma, block size, block index).
A *shard* (``shard_blocks`` blocks, one Snakemake job) is the unit of scheduling and of files
on disk; it never shapes results.

A cell's directory name carries a hash of everything that shapes its samples (seed, sampler,
lam, gamma, block size and the source of the modules that produce them), so a change of any of
these writes new files and can never be served from stale ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from .beam import beam_key
from .config import SweepConfig, model_label
from .ppp import SamplerSpec
from .seeding import cell_key

# Modules whose source shapes the per-trial samples; their hash is part of every cell id.
SAMPLE_MODULES = ("fisher.py", "ppp.py", "seeding.py", "mc.py", "beam.py")
# Modules that shape the cube from the samples (scales, closed forms, layout of the store).
CUBE_MODULES = ("system.py", "closed_form.py", "cube.py")


def code_version(modules=SAMPLE_MODULES) -> str:
    """Short hash of the source of ``modules`` (package files)."""
    h = hashlib.sha256()
    pkg = resources.files("netsense")
    for m in modules:
        h.update(m.encode())
        h.update(pkg.joinpath(m).read_bytes())
    return h.hexdigest()[:12]


def cell_id(cfg: SweepConfig, spec: SamplerSpec, lam: float, gamma: float, beam: str = "full",
            M: int | None = None) -> str:
    """Directory name of a cell; a non-full beam model's cell is also per M (its TX gains
    depend on M, so one layout no longer serves every M)."""
    key = cell_key(spec.key(), lam, gamma, cfg.block_trials) + beam_key(beam, M)
    digest = hashlib.sha256(f"{cfg.seed};{key};{code_version()}".encode()).hexdigest()[:10]
    per_m = "" if beam == "full" else f"_M{M}"
    return f"{model_label(spec, beam)}{per_m}_lam{lam:.6g}_gamma{gamma:g}_{digest}"


@dataclass(frozen=True)
class Shard:
    cell: str
    index: int
    sampler: SamplerSpec
    beam: str
    M: int | None  # None: full beam, the shard serves every M
    lam: float
    gamma: float
    trial_start: int
    trial_stop: int
    block_trials: int

    @property
    def block_start(self) -> int:
        return self.trial_start // self.block_trials

    @property
    def block_stop(self) -> int:
        return -(-self.trial_stop // self.block_trials)

    @property
    def cell_key(self) -> tuple:
        """The cube's key of this shard's cell: (sampler label, M or None, lam, gamma)."""
        return (model_label(self.sampler, self.beam), self.M, self.lam, self.gamma)

    @property
    def name(self) -> str:
        return f"{self.cell}/shard-{self.index:05d}"

    def params(self, cfg: SweepConfig) -> dict:
        """Everything that shapes this shard's file, as builtin types (Snakemake params)."""
        return {"seed": cfg.seed, "lam": float(self.lam), "gamma": float(self.gamma),
                "sampler": self.sampler.kind, "nearest": int(self.sampler.nearest),
                "radius_m": float(self.sampler.radius_m), "block_trials": cfg.block_trials,
                "trial_start": self.trial_start, "trial_stop": self.trial_stop,
                "code_version": code_version(),
                **({} if self.beam == "full" else {"beam": self.beam, "M": int(self.M)})}


def plan(cfg: SweepConfig) -> list[Shard]:
    """All shards of the sweep; shard i of a cell covers trials [i S, min((i+1) S, trials)).

    Ordered sampler-major, then lam, then gamma (the cube's order).
    """
    per_shard = cfg.shard_blocks * cfg.block_trials
    out = []
    for spec, beam in zip(cfg.samplers, cfg.beams, strict=True):
        for _, M in cfg.sampled_M(beam):
            for lam in cfg.lam:
                for gamma in cfg.gamma:
                    cid = cell_id(cfg, spec, lam, gamma, beam, M)
                    for i, start in enumerate(range(0, cfg.trials, per_shard)):
                        out.append(Shard(cid, i, spec, beam, M, lam, gamma, start,
                                         min(start + per_shard, cfg.trials), cfg.block_trials))
    return out
