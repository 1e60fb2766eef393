"""Deployments in the pipeline: tests/configs/deployments-smoke.yaml (a sampler list of every
kind, guarded and not) through the real workflow.

The cube's ``sampler`` coordinates must say each entry's kind and parameters; its values must be
those of an independent recomputation of a block (netsense.core.blocks.simulate_block); the
guarded plane sampler's E[eq. 23] must match its exact value (the control variate's known mean).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from wfhelpers import CONFIGS, make_workdir, run_snakemake, write_config

import netsense
from netsense.core.blocks import simulate_block
from netsense.core.expectations import g23_mean
from netsense.pipeline.config import resolve

pytestmark = pytest.mark.slow

# Cube value = scale x geometric factor of the same block: float64 rounding of one product.
VALUE_RTOL = 1e-13
# Monte Carlo mean against an exact value: 4 standard errors (two-sided normal tail ~6e-5).
Z_TOL = 4.0
# The study's dB against numpy's: the same means summed in another order (float64 rounding).
DB_RTOL, DB_ATOL = 1e-9, 1e-12

LABELS = ["plane-K64", "matern-d12", "thomas-c5-s10", "lattice-s0", "plane-K64-g20",
          "lattice-s5-g20"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("deployments"))
    cfg = yaml.safe_load((CONFIGS / "deployments-smoke.yaml").read_text())
    cfg["dask"] = {"cluster": "embedded", "n_workers": 2}
    run_snakemake(wd, write_config(wd, cfg, "deployments-smoke.yaml"))
    return {"dir": wd / "results" / "deployments-smoke", "cfg": resolve(cfg)}


def test_sampler_coordinates_say_kind_and_parameters(run):
    ds = netsense.open_cube(run["dir"] / "cube.zarr")
    assert ds.sampler.values.tolist() == LABELS
    assert ds.sampler_kind.values.tolist() == ["plane", "matern", "thomas", "lattice", "plane",
                                               "lattice"]
    specs = {lab: json.loads(str(s)) for lab, s in zip(LABELS, ds.sampler_spec.values,
                                                       strict=True)}
    assert specs["matern-d12"]["hardcore_m"] == 12.0 and "guard_m" not in specs["matern-d12"]
    assert specs["thomas-c5-s10"]["daughters"] == 5.0 and specs["thomas-c5-s10"]["scatter_m"] == 10.0
    assert specs["lattice-s5-g20"]["noise_m"] == 5.0 and specs["lattice-s5-g20"]["guard_m"] == 20.0
    assert specs["plane-K64-g20"]["guard_m"] == 20.0 and "guard_m" not in specs["plane-K64"]


def test_cube_values_match_simulate_block(run):
    ds = netsense.open_cube(run["dir"] / "cube.zarr")
    cfg = run["cfg"]
    scale = cfg.system.error_scale_m2(4, 4, 10 ** (120 / 10))
    for i, label in enumerate(LABELS):
        ref = simulate_block(cfg.seed, cfg.samplers[i], 1 / 900, 4.0, 1, cfg.block_trials)
        got = ds.crlb_m2.sel(sampler=label, M=4, rho_s_db=120.0, lam=1 / 900,
                             gamma=4.0).values[cfg.block_trials:2 * cfg.block_trials]
        np.testing.assert_allclose(got, scale * ref["g18"], rtol=VALUE_RTOL)


def test_guarded_plane_eq23_matches_its_exact_mean_and_findings(run):
    ds = netsense.open_cube(run["dir"] / "cube.zarr")
    cfg = run["cfg"]
    scale = cfg.system.error_scale_m2(4, 4, 10 ** (120 / 10))
    for gamma in (2.5, 4.0):
        v = ds.jensen_m2.sel(sampler="plane-K64-g20", M=4, rho_s_db=120.0, lam=1 / 900,
                             gamma=gamma).values
        exact = scale * g23_mean(cfg.samplers[4], 1 / 900, gamma)
        se = v.std(ddof=1) / math.sqrt(v.size)
        assert abs(v.mean() - exact) <= Z_TOL * se
        cm = float(ds.control_mean_m2.sel(sampler="plane-K64-g20", M=4, rho_s_db=120.0,
                                          lam=1 / 900, gamma=gamma))
        assert cm == pytest.approx(exact, rel=1e-12)
    rows = json.loads((run["dir"] / "findings.json").read_text())["deployments"]
    by = {(r["sampler"], r["gamma"]): r for r in rows}
    assert by["plane-K64", 2.5]["crlb_vs_ppp_db"] == 0.0
    # the rigid lattice beats the PPP, a guard zone loses against it (both far beyond the CIs)
    assert by["lattice-s0", 4.0]["crlb_vs_ppp_ci_high_db"] < 0
    assert by["plane-K64-g20", 4.0]["crlb_vs_ppp_ci_low_db"] > 0
    assert (run["dir"] / "deployments.png").stat().st_size > 10_000
    # the study's dB against numpy on the cube: E[eq. 23] is the plain mean for every entry
    for label in ("lattice-s0", "thomas-c5-s10", "plane-K64-g20"):
        for gamma in (2.5, 4.0):
            sel = {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": gamma}
            m = ds.jensen_m2.sel(sampler=label, **sel).values.mean()
            m0 = ds.jensen_m2.sel(sampler="plane-K64", **sel).values.mean()
            assert by[label, gamma]["jensen_vs_ppp_db"] == pytest.approx(
                10 * math.log10(m / m0), rel=DB_RTOL, abs=DB_ATOL)
