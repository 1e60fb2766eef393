"""Writes tests/golden/fingerprints.json: the fingerprint of what the sampling kernel computes
(:func:`netsense.core.blocks.fingerprints`) for a table of cells covering every registered
sampler kind with each of its parameters, the guard zone, the link models, the beam models and
separate sides.

The cached blocks of a cell are stored under its fingerprint, so tests/core/test_fingerprints.py
fails exactly when a change moves a sampled number of one of these cells: either the change is a
mistake, or it is meant to re-sample (regenerate this file and say so in CHANGELOG.md):

    PYTHONPATH=src python tests/golden/make_fingerprints.py tests/golden/fingerprints.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# (sampler entry, lam_t, lam_r (None: tied), gamma, beam, M): every kind with its parameters,
# a guard on each kind, the beam models, and separate sides.
CELLS = [
    ({"kind": "plane", "nearest": 64}, 1 / 900, None, 2.5, "full", None),
    ({"kind": "plane", "nearest": 8}, 1 / 400, None, 4.0, "full", None),
    ({"kind": "plane", "nearest": 32, "guard_m": 10.0}, 1 / 900, None, 3.0, "full", None),
    ({"kind": "plane", "nearest": 32}, 1 / 900, None, 2.5, "codebook", 4),
    ({"kind": "plane", "nearest": 32}, 1 / 900, None, 2.5, "fixed", 8),
    ({"kind": "plane", "nearest": 32}, 1 / 3600, 1 / 225, 3.0, "full", None),
    ({"kind": "plane", "nearest": 32}, 1 / 900, 1 / 900, 2.5, "codebook", 2),
    ({"kind": "disk", "radius_m": 500.0}, 1 / 900, None, 2.5, "full", None),
    ({"kind": "disk", "radius_m": 150.0, "guard_m": 5.0}, 1 / 400, None, 4.0, "full", None),
    ({"kind": "disk", "radius_m": 200.0}, 1 / 900, 1 / 400, 2.1, "codebook", 4),
    ({"kind": "matern", "hardcore_m": 16.0}, 1 / 900, None, 2.5, "full", None),
    ({"kind": "matern", "hardcore_m": 8.0, "guard_m": 20.0}, 1 / 900, None, 3.0, "full", None),
    ({"kind": "thomas", "daughters": 5.0, "scatter_m": 5.0}, 1 / 900, None, 2.5, "full", None),
    ({"kind": "thomas", "daughters": 2.0, "scatter_m": 40.0, "guard_m": 10.0}, 1 / 900, 1 / 400,
     4.0, "full", None),
    ({"kind": "lattice", "noise_m": 0.0}, 1 / 900, None, 2.5, "full", None),
    ({"kind": "lattice", "noise_m": 10.0, "guard_m": 20.0}, 1 / 900, None, 4.0, "fixed", 4),
    # link models (issue 29): each model on the plane, every kind under one, separate sides
    ({"kind": "plane", "nearest": 32, "height_m": 10.0}, 1 / 900, None, 3.0, "full", None),
    ({"kind": "plane", "nearest": 32, "shadowing_db": 8.0}, 1 / 900, None, 3.0, "full", None),
    ({"kind": "plane", "height_m": 10.0, "blockage_per_m": 0.01, "shadowing_db": 6.0}, 1 / 900,
     None, 3.0, "full", None),
    ({"kind": "plane", "nearest": 16, "height_t_m": 25.0, "guard_m": 5.0}, 1 / 900, 1 / 400,
     2.5, "codebook", 4),
    ({"kind": "disk", "radius_m": 150.0, "height_m": 10.0, "blockage_per_m": 0.02}, 1 / 400,
     None, 4.0, "full", None),
    ({"kind": "matern", "hardcore_m": 8.0, "height_r_m": 6.0, "shadowing_db": 4.0}, 1 / 900,
     None, 3.0, "full", None),
    ({"kind": "thomas", "blockage_per_m": 0.01}, 1 / 900, None, 3.0, "full", None),
    ({"kind": "lattice", "noise_m": 5.0, "height_m": 15.0, "blockage_per_m": 0.005,
      "shadowing_db": 8.0}, 1 / 900, None, 3.0, "fixed", 4),
]
BLOCK_TRIALS = 1000  # part of the stream keys


def fingerprint_table() -> list[dict]:
    from netsense.core.blocks import fingerprints, streams
    from netsense.core.samplers import sampler_from_mapping

    out = []
    for entry, lam_t, lam_r, gamma, beam, M in CELLS:
        s = sampler_from_mapping(dict(entry))
        cell, sides = fingerprints(streams(s, gamma, BLOCK_TRIALS, lam_t, lam_r, beam, M), gamma)
        out.append({"entry": entry, "lam_t": lam_t, "lam_r": lam_r, "gamma": gamma,
                    "beam": beam, "M": M, "key": s.key(), "label": s.label(),
                    "mapping": s.to_mapping(), "cell": cell, "sides": sides})
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(fingerprint_table(), indent=1, sort_keys=True) + "\n")
