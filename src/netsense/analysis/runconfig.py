"""A run's config, fully validated: the sweep (:func:`netsense.pipeline.config.resolve`) and
what is drawn from it (the studies' preconditions, :func:`netsense.analysis.studies.check_config`).
The Snakefile, ``netsense run`` and ``netsense validate`` all load configs through here."""

from __future__ import annotations

import math
import os

from ..errors import InputError
from ..pipeline.config import SweepConfig, load_yaml, resolve
from .studies import check_config, selected

# A disk block samples every node of its window at once: 64 bytes per node of a side at the peak
# (measured with tracemalloc on simulate_block, flat in lam, R and trials). 1.25e8 nodes is 8 GB
# on one worker. The paper's own gap sweep peaks at 7.0e7 (4.5 GB) and runs; a disk at
# lam = 1/56.25 with 10 000-trial blocks (1.4e8 nodes, 9 GB a worker) filled 18 of 24 GB on two
# workers. The plane sampler and the windowed kinds hold a bounded number of nodes per network.
DISK_BYTES_PER_NODE = 64
MAX_DISK_NODES_PER_BLOCK = 1.25e8


def check_block_memory(cfg: SweepConfig) -> None:
    """A disk block must fit a worker: ``block_trials`` x lam x pi R^2 nodes of one side at most
    MAX_DISK_NODES_PER_BLOCK, at the sweep's highest density on either side."""
    lam = max(x for d in cfg.lam_dims for x in getattr(cfg, d))
    for s in cfg.samplers:
        if s.kind != "disk":
            continue
        per_network = lam * math.pi * s.radius_m**2
        nodes = cfg.block_trials * per_network
        if nodes > MAX_DISK_NODES_PER_BLOCK:
            most = int(MAX_DISK_NODES_PER_BLOCK // per_network)
            raise InputError(
                "block_trials", cfg.block_trials,
                f"a {s.label()} block at lam = 1/{1 / lam:.6g} holds {nodes:.3g} nodes "
                f"per side ({nodes * DISK_BYTES_PER_NODE / 1e9:.1f} GB on one worker); at most "
                f"{MAX_DISK_NODES_PER_BLOCK:.3g}: use block_trials <= {most}, a smaller "
                "radius_m or the plane sampler")


def resolve_run_config(doc: dict) -> SweepConfig:
    """Validate a config mapping (filling defaults in place); one-line InputError otherwise."""
    cfg = resolve(doc)
    check_config(cfg)
    check_block_memory(cfg)
    return cfg


def load_run_config(path) -> SweepConfig:
    """Load and validate a config file."""
    return resolve_run_config(load_yaml(path))


def estimator_layouts(cfg: SweepConfig) -> dict[str, str]:
    """{output stem: layout path} of the optional estimator study (config key ``estimator``)."""
    est = cfg.raw.get("estimator") or {}
    return {os.path.splitext(os.path.basename(p))[0]: p for p in est.get("layouts", [])}


def final_outputs(cfg: SweepConfig) -> list[str]:
    """The files a run of ``cfg`` ends with: the workflow's default target (rule ``all``)."""
    run = f"results/{cfg.name}"
    return [
        f"{run}/cube.zarr", f"{run}/slopes.csv", f"{run}/slopes.json", f"{run}/findings.json",
        *([f"{run}/fig1.png", f"{run}/fig1.pdf"] if "fig1" in cfg.analyses else []),
        *[f"{run}/{name}" for s in selected(cfg.analyses) for name in s.files],
        *[f"{run}/estimator/{stem}.{ext}" for stem in estimator_layouts(cfg)
          for ext in ("png", "csv")],
    ]
