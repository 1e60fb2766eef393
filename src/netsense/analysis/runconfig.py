"""A run's config, fully validated: the sweep (:func:`netsense.pipeline.config.resolve`) and
what is drawn from it (the studies' preconditions, :func:`netsense.analysis.studies.check_config`).
The Snakefile, ``netsense run`` and ``netsense validate`` all load configs through here."""

from __future__ import annotations

from ..pipeline.config import SweepConfig, load_yaml, resolve
from .studies import check_config


def resolve_run_config(doc: dict) -> SweepConfig:
    """Validate a config mapping (filling defaults in place); one-line InputError otherwise."""
    cfg = resolve(doc)
    check_config(cfg)
    return cfg


def load_run_config(path) -> SweepConfig:
    """Load and validate a config file."""
    return resolve_run_config(load_yaml(path))
