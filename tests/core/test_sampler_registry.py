"""The sampler registry is the extension point it claims to be: a new sampler is one module and
one registry line, and the config schema, validation, `netsense mc`, the cube's coordinates and
the figures' legends take it from there. Checked by adding one to a copy of the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netsense.core.samplers import (
    COMMON_PARAMS,
    SAMPLERS,
    parameter_names,
    sampler_from_mapping,
    schema_properties,
)
from netsense.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
NETSENSE = str(Path(sys.executable).parent / "netsense")

# A binomial point process: a fixed number of nodes uniform in a disk (a deployment of exactly
# N sites), written as a user of CONTRIBUTING.md's recipe would.
NEW_SAMPLER = '''"""``binomial``: exactly N nodes, uniform in a disk of radius R."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..fisher import LegStats, leg_stats
from .base import Sampler, angles_to_units, check_positive_int, draw_factor


@dataclass(frozen=True)
class BinomialSampler(Sampler):
    """Exactly N nodes uniform in a disk of 300 m."""

    kind = "binomial"
    PARAMS: ClassVar[dict] = {"count": {"type": "integer", "minimum": 1, "default": 50,
                                        "description": "N, nodes per side [count]."}}
    SUMMARY = "N nodes uniform in a disk"
    TABLE_COLUMNS: ClassVar[dict] = {"N": "count"}
    AXIS_LABELS: ClassVar[dict] = {"count": "nodes per side N [count]"}
    count: int = 50

    def __post_init__(self):
        super().__post_init__()  # the guard zone, common to every kind
        object.__setattr__(self, "count", check_positive_int("sampler.count", self.count))

    def _key(self):
        return f"binomial;N={self.count}"

    def _label(self):
        return f"binomial-N{self.count}"

    def _describe(self):
        return f"binomial, N={self.count}"

    def nodes_per_trial(self, lam):
        return float(self.count)

    def side_stats(self, rng, lam, gamma, n_trials, node_factor=None) -> LegStats:
        r2 = 300.0**2 * rng.uniform(size=(n_trials, self.count))
        ux, uy = angles_to_units(rng, (n_trials, self.count))
        w = r2 ** (-0.5 * gamma)
        if node_factor is not None:
            w = w * draw_factor(node_factor, rng, w.shape)
        return leg_stats(w, ux, uy)
'''


def test_registry_is_consistent():
    for kind, cls in SAMPLERS.items():
        assert cls.kind == kind
        default = cls()
        assert sampler_from_mapping(default.to_mapping()) == default  # mapping round trip
        # its own parameters, and the common ones (guard_m) where the kind carries them
        assert set(cls.PARAMS) == set(default.to_mapping()) - {"kind"} - set(COMMON_PARAMS)
        for name, sch in cls.PARAMS.items():
            assert {"type", "default", "description"} <= set(sch), (kind, name)
            assert "[" in sch["description"], (kind, name, "unit in brackets")
    props = schema_properties()
    assert props["kind"]["enum"] == list(SAMPLERS)
    assert set(parameter_names()) <= set(props)
    assert set(COMMON_PARAMS) <= set(props) and set(COMMON_PARAMS) <= set(parameter_names())


def test_unknown_kind_names_the_kinds():
    with pytest.raises(InputError, match=r"^sampler\.kind: got 'ring'; must be one of \['plane', 'disk', "
                                    r"'matern', 'thomas', 'lattice'\]"):
        sampler_from_mapping({"kind": "ring"})


@pytest.fixture(scope="module")
def with_new_sampler(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registry")
    shutil.copytree(ROOT / "src", tmp / "src")
    pkg = tmp / "src" / "netsense" / "core" / "samplers"
    (pkg / "binomial.py").write_text(NEW_SAMPLER)
    init = pkg / "__init__.py"
    text = init.read_text()
    text = text.replace("from .plane import PlaneSampler\n",
                        "from .binomial import BinomialSampler\nfrom .plane import PlaneSampler\n")
    text = text.replace("    DiskSampler.kind: DiskSampler,\n",
                        "    DiskSampler.kind: DiskSampler,\n    BinomialSampler.kind: BinomialSampler,\n")
    init.write_text(text)
    return tmp


def _run(tmp, *args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(tmp / "src")}
    return subprocess.run([NETSENSE, *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=cwd or tmp, timeout=120)


def test_a_new_sampler_is_one_module_and_one_registry_line(with_new_sampler):
    tmp = with_new_sampler
    diff = subprocess.run(["diff", "-rq", str(ROOT / "src" / "netsense"),
                           str(tmp / "src" / "netsense"), "-x", "__pycache__"],
                          capture_output=True, text=True)
    changed = sorted(line for line in diff.stdout.splitlines())
    assert len(changed) == 2, changed  # the new module, the registry
    schema = json.loads(_run(tmp, "schema").stdout)
    entry = schema["$defs"]["sampler"]["properties"]
    assert "binomial" in entry["kind"]["enum"] and entry["count"]["default"] == 50
    mc = _run(tmp, "mc", "--sampler", "binomial", "--count", "40", "--lam", "1/900", "--gamma", 3,
              "--trials", 2000, "--block-trials", 1000, "--json", "--no-progress")
    assert mc.returncode == 0, mc.stderr
    res = json.loads(mc.stdout)
    assert res["point"]["sampler"] == "binomial" and res["point"]["count"] == 40
    assert res["crlb_m2"]["n"] == 2000 and res["crlb_m2"]["mean"] > 0
    bad = _run(tmp, "mc", "--sampler", "binomial", "--count", "0", "--lam", "1/900", "--gamma", 3)
    assert bad.returncode == 2 and bad.stderr.strip().endswith("must be an integer >= 1")


def test_a_new_sampler_in_a_sweep_config(with_new_sampler, tmp_path):
    tmp = with_new_sampler
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps({"name": "b", "trials": 100, "sweep": {
        "M": [4], "rho_s_db": [120], "lam": ["1/900"], "gamma": [2.5]},
        "sampler": [{"kind": "binomial", "count": 30}, {"kind": "plane"}]}))
    ok = _run(tmp, "validate", cfg)
    assert ok.returncode == 0 and "2 cells" in ok.stdout, ok.stderr
    cfg.write_text(json.dumps({"name": "b", "trials": 100, "sweep": {
        "M": [4], "rho_s_db": [120], "lam": ["1/900"], "gamma": [2.5]},
        "sampler": {"kind": "binomial", "cuont": 30}}))
    typo = _run(tmp, "validate", cfg)
    assert typo.returncode == 2 and "sampler.cuont: got 30; unknown key" in typo.stderr
