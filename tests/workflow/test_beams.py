"""TX beam models in the pipeline: config/beams-smoke.yaml through the real workflow.

A non-full beam model samples every M separately (its TX gains depend on M); the full model keeps
one layout for every M. Checked against an independent recomputation of a block with
netsense.core.blocks.simulate_block and against the exact eq. (23) penalty of each model.
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
from netsense.pipeline.config import resolve

pytestmark = pytest.mark.slow

# Cube value = scale x geometric factor of the same block: float64 rounding of one product.
VALUE_RTOL = 1e-13
# A measured offset and the exact eq. (23) penalty agree within this many standard errors
# (normal approximation of the Monte Carlo means; 6 comparisons).
K_SIGMA = 4.0


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("beams"))
    cfg = yaml.safe_load((CONFIGS / "beams-smoke.yaml").read_text())
    cfg["dask"] = {"cluster": "embedded", "n_workers": 2}
    run_snakemake(wd, write_config(wd, cfg, "beams-smoke.yaml"))
    return {"dir": wd / "results" / "beams-smoke", "cfg": resolve(cfg)}


def test_cube_holds_every_model_and_matches_simulate_block(run):

    ds = netsense.open_cube(run["dir"] / "cube.zarr")
    cfg = run["cfg"]
    assert ds.sampler.values.tolist() == ["plane-K64", "plane-K64-codebook", "plane-K64-fixed"]
    scale = cfg.system.error_scale_m2(4, 4, 10 ** (120 / 10))
    for label, beam in zip(cfg.sampler_labels, cfg.beams, strict=True):
        ref = simulate_block(cfg.seed, cfg.samplers[0], 1 / 900, 2.5, 1, cfg.block_trials,
                             beam=beam, M=None if beam == "full" else 4)
        got = ds.crlb_m2.sel(sampler=label, M=4, rho_s_db=120.0, lam=1 / 900,
                             gamma=2.5).values[cfg.block_trials:2 * cfg.block_trials]
        np.testing.assert_allclose(got, scale * ref["g18"], rtol=VALUE_RTOL)
    # full gain: one layout for every M (crlb x M^2 is the same); other models: not
    for label, same in (("plane-K64", True), ("plane-K64-fixed", False)):
        c = ds.crlb_m2.sel(sampler=label, rho_s_db=120.0).isel(lam=0, gamma=0).values
        norm = c * (ds.M.values[:, None].astype(float) ** 2)
        assert np.allclose(norm, norm[:1]) is same


def test_codebook_between_fixed_and_full_and_exact_penalties(run):
    rows = json.loads((run["dir"] / "findings.json").read_text())["beams"]
    by = {(r["beam"], r["M"]): r for r in rows}
    for M in (4, 16):
        full, cb, fx = by["full", M], by["codebook", M], by["fixed", M]
        # the codebook gain lies between the fixed and full gains (mean CRLB ordered inversely)
        assert full["crlb_ci_high"] < cb["crlb_ci_low"] and cb["crlb_ci_high"] < fx["crlb_ci_low"]
        for r in (cb, fx):
            exact = r["eq23_penalty_exact_db"]
            se = (r["jensen_offset_ci_high_db"] - r["jensen_offset_db"]) / 1.959963984540054
            assert abs(r["jensen_offset_db"] - exact) <= K_SIGMA * se, r
    assert by["fixed", 16]["eq23_penalty_exact_db"] == pytest.approx(10 * math.log10(16), rel=1e-12)
    # fitted slopes against log(M_t M_r): -1 with full gain (exact), -1/2 with a fixed element
    assert by["full", 4]["slope_M"] == pytest.approx(-1.0, abs=1e-9)
    fx = by["fixed", 4]
    assert fx["slope_M_ci_low"] - 0.01 <= -0.5 <= fx["slope_M_ci_high"] + 0.01
    assert -1.0 < by["codebook", 4]["slope_M"] < -0.9  # scalloping loss grows slowly with M


def test_beam_config_errors():
    from netsense.errors import InputError

    doc = yaml.safe_load((CONFIGS / "beams-smoke.yaml").read_text())
    doc["sampler"][1]["beam"] = "steered"
    with pytest.raises(InputError, match=r"^sampler\[1\]\.beam: .*one of"):
        resolve(doc)
