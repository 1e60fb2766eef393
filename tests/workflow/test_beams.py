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
from wfhelpers import CONFIGS

import netsense
from netsense.core.blocks import simulate_block
from netsense.core.stats import Z95
from netsense.pipeline.config import resolve

pytestmark = pytest.mark.slow

# Cube value = scale x geometric factor of the same block: float64 rounding of one product.
VALUE_RTOL = 1e-13
# A measured offset and the exact eq. (23) penalty agree within this many standard errors
# (normal approximation of the Monte Carlo means; 6 comparisons).
K_SIGMA = 4.0


@pytest.fixture(scope="module")
def run(paper_runs):
    """The beams smoke run (tests/workflow/conftest.py: once per session, shared with
    test_paper)."""
    cfg = yaml.safe_load((CONFIGS / "beams-smoke.yaml").read_text())
    return {"dir": paper_runs["beams-smoke"], "cfg": resolve(cfg)}


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
        # the codebook gain lies between the fixed and full gains (mean CRLB ordered inversely),
        # each gap more than K_SIGMA combined standard errors
        se = {id(r): (r["crlb_ci_high"] - r["crlb_ci_low"]) / (2 * Z95)
              for r in (full, cb, fx)}
        for lo, hi in ((full, cb), (cb, fx)):
            gap = hi["crlb_mean_m2"] - lo["crlb_mean_m2"]
            assert gap > K_SIGMA * math.hypot(se[id(lo)], se[id(hi)]), (lo, hi)
        for r in (cb, fx):
            exact = r["eq23_penalty_exact_db"]
            se = (r["jensen_offset_ci_high_db"] - r["jensen_offset_db"]) / Z95
            assert abs(r["jensen_offset_db"] - exact) <= K_SIGMA * se, r
    assert by["fixed", 16]["eq23_penalty_exact_db"] == pytest.approx(10 * math.log10(16), rel=1e-12)
    # fitted slopes against log(M_t M_r): -1 with full gain (exact: one layout for every M);
    # for the other models the exact slope of the mean (expected_slope_M) within K_SIGMA of
    # the fit's own standard error
    assert by["full", 4]["slope_M"] == pytest.approx(-1.0, abs=1e-9)
    Ms = sorted({M for _, M in by})
    gamma = by["full", 4]["gamma"]
    for beam in ("fixed", "codebook"):
        r = by[beam, 4]
        se = (r["slope_M_ci_high"] - r["slope_M_ci_low"]) / (2 * Z95)
        want = expected_slope_M(beam, Ms, gamma)
        assert 0 < se < 0.02 and abs(r["slope_M"] - want) <= K_SIGMA * se, (beam, r, want)
    assert expected_slope_M("fixed", Ms, gamma) == pytest.approx(-0.5, abs=1e-12)


def brute_gain_moment(beam: str, M: int, p: float, n_theta: int = 200_001) -> float:
    """E[|a^H w|^p] over theta uniform on (-pi, pi], by brute force: the array response
    a(theta)_n = exp(j pi n sin theta) against every beam of the model (the M columns of the
    unitary DFT matrix for the codebook, the best one taken; e_1 for the fixed element), averaged
    on a fine grid of theta (the trapezoid rule of a periodic function)."""
    theta = np.linspace(-math.pi, math.pi, n_theta)[:-1]
    a = np.exp(1j * math.pi * np.outer(np.sin(theta), np.arange(M)))
    W = np.eye(M)[:, :1] if beam == "fixed" else np.fft.ifft(np.eye(M), axis=0) * math.sqrt(M)
    return float(np.mean(np.max(np.abs(a.conj() @ W) ** 2, axis=1) ** p))


def expected_slope_M(beam: str, Ms, gamma: float) -> float:
    """The least-squares slope of log E[eq. 18] on log(M_t M_r) = 2 log M over ``Ms``, exactly.

    A TX of beam model ``beam`` carries the mark x = g/M (g its gain toward the target, i.i.d.
    over TXs and independent of position and direction: random array orientation). On the whole
    plane, the TXs' (weight x r^-gamma, direction) then form the same Poisson process as unmarked
    TXs at density lam E[x^delta], delta = 2/gamma (the intensity of r^-gamma in the weight is
    lam w^(-delta-1) up to a constant; averaging over x multiplies it by E[x^delta]). eq. (18)
    of a layout scales with the TX density as lam_t^(-gamma/2) (eq. 26), so
    E[eq. 18](M) = c^2 / (M^2 eta) E[x^delta]^(-gamma/2) E[g18 at full gain]: the beam's penalty
    on eq. (18) is the one on eq. (23). The plane sampler's K = 64 nearest nodes by distance
    differ from the plane by ~1e-4 relative (the exact bias of E[eq. 23] at K = 64 and
    gamma = 2.5 is -1.4e-4: netsense.core.expectations.inv_sum_mean_plane_nearest against
    Lemma 3), far below the fit's standard error (~1e-3)."""
    d = 2.0 / gamma
    x = np.array([2 * math.log(M) for M in Ms])
    y = np.array([-2 * math.log(M) - gamma / 2 * math.log(brute_gain_moment(beam, M, d) / M**d)
                  for M in Ms])
    xc = x - x.mean()
    return float(xc @ y / (xc @ xc))


def test_beam_config_errors():
    from netsense.errors import InputError

    doc = yaml.safe_load((CONFIGS / "beams-smoke.yaml").read_text())
    doc["sampler"][1]["beam"] = "steered"
    with pytest.raises(InputError, match=r"^sampler\[1\]\.beam: .*one of"):
        resolve(doc)
