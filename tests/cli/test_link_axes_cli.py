"""Bad link axes (issue 29) are one line naming the field, exit 2, nothing written
(``netsense validate``); a sampler kind without link models is refused naming ``sweep.<axis>``."""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from netsense.core.samplers import SAMPLERS, Sampler
from netsense.core.samplers.plane import PlaneSampler
from netsense.errors import InputError
from netsense.pipeline.config import resolve

NETSENSE = Path(sys.executable).parent / "netsense"
SUBPROCESS_TIMEOUT_S = 120
BASE = {"name": "lk", "seed": 1, "trials": 20, "block_trials": 10, "shard_blocks": 1,
        "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/900"], "gamma": [3.0]},
        "sampler": {"kind": "plane", "nearest": 8}}


def _raw(sweep: dict, entry: dict | None = None) -> dict:
    raw = copy.deepcopy(BASE)
    raw["sweep"].update(sweep)
    raw["sampler"].update(entry or {})
    return raw


@pytest.mark.parametrize("sweep, entry, fields", [
    ({"height_m": [0, 10]}, {"height_m": 10}, ("sampler.height_m", "sweep.height_m")),
    ({"height_t_m": [5], "height_r_m": [6]}, {"height_m": 10},
     ("sampler.height_m", "sweep.height_t_m")),
    ({"blockage_per_m": [0.01]}, {"blockage_per_m": 0.02},
     ("sampler.blockage_per_m", "sweep.blockage_per_m")),
    ({"shadowing_db": [4]}, {"shadowing_db": 2}, ("sampler.shadowing_db", "sweep.shadowing_db")),
    ({"height_m": [0, -10]}, None, ("sweep.height_m[1]",)),
    ({"blockage_per_m": [-0.1]}, None, ("sweep.blockage_per_m[0]",)),
    ({"shadowing_db": [0, 50]}, None, ("sweep.shadowing_db",)),
    ({"height_t_m": [5]}, None, ("sweep.height_r_m",)),
    ({"height_m": [5], "height_r_m": [5]}, None, ("sweep.height_r_m", "sweep.height_m")),
])
def test_bad_link_axis_is_one_line_exit_2_nothing_written(sweep, entry, fields, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_raw(sweep, entry)))
    proc = subprocess.run([str(NETSENSE), "validate", str(cfg)], capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT_S, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"netsense: error: {fields[0]}: "), lines[0]
    assert all(f in lines[0] for f in fields), lines[0]


def test_good_link_axes_validate(tmp_path):
    # an entry's key at its default 0 agrees with any axis (the workflow passes the filled config)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_raw({"height_t_m": [0, 25], "height_r_m": [6],
                                        "blockage_per_m": [0, 0.01], "shadowing_db": [0, 8]},
                                       {"height_m": 0, "blockage_per_m": 0.0})))
    proc = subprocess.run([str(NETSENSE), "validate", str(cfg)], capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT_S, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


@dataclass(frozen=True)
class NoLinks(PlaneSampler):
    """A plane sampler whose class implements no link models."""

    kind = "nolinks"
    PARAMS: ClassVar[dict] = {}  # the plane's (a parameter belongs to one kind in the schema)
    linked_stats = Sampler.linked_stats


def test_a_kind_without_link_models_is_refused_naming_the_axis(monkeypatch):
    monkeypatch.setitem(SAMPLERS, "nolinks", NoLinks)
    ok = resolve(_raw({}, {"kind": "nolinks"}))  # without a link axis it is a sampler as any
    assert ok.samplers[0].kind == "nolinks"
    with pytest.raises(InputError) as exc:
        resolve(_raw({"shadowing_db": [0, 4]}, {"kind": "nolinks"}))
    assert exc.value.field == "sweep.shadowing_db" and "has no link models" in str(exc.value)
    assert "\n" not in str(exc.value)
