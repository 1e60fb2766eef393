"""A run's config, fully validated: the sweep (:func:`netsense.pipeline.config.resolve`) and
what is drawn from it (the studies' preconditions, :func:`netsense.analysis.studies.check_config`).
The Snakefile, ``netsense run`` and ``netsense validate`` all load configs through here."""

from __future__ import annotations

import os

from ..core.memory import check_block_memory as check_sampler_block
from ..pipeline.config import SweepConfig, load_yaml, resolve
from .studies import check_config, selected


def check_block_memory(cfg: SweepConfig) -> None:
    """Every sampler's block must fit a worker (:func:`netsense.core.memory.check_block_memory`)
    at the sweep's highest density on either side."""
    lam = max(x for d in cfg.lam_dims for x in getattr(cfg, d))
    for s in cfg.samplers:
        check_sampler_block(s, lam, cfg.block_trials)


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
        *[f"{run}/{name}" for a in selected(cfg.analyses) for name in a.files],
        *[f"{run}/estimator/{stem}.{ext}" for stem in estimator_layouts(cfg)
          for ext in ("png", "csv")],
    ]
