"""Coverage, quantiles and design from the command line (issue 30): ``netsense mc --coverage-m
--quantiles``, ``netsense theory --coverage-m`` and ``netsense design``, their JSON keys, their
numbers against numpy/scipy on the same trials and the exact law, their bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from netsense.core.blocks import simulate_block
from netsense.core.jensen_law import jensen_cdf
from netsense.core.samplers import PlaneSampler
from netsense.core.system import DEFAULT_SYSTEM, db_to_lin

REPO = Path(__file__).resolve().parents[2]
NETSENSE = Path(sys.executable).parent / "netsense"
TIMEOUT_S = 120
LAM = 1.0 / 900.0
SCALE_100DB = float(DEFAULT_SYSTEM.error_scale_m2(4, 4, db_to_lin(100.0)))
# A quantile of a few thousand trials times a constant, against numpy's of the scaled trials.
SCALE_RTOL = 1e-13
# Monte Carlo agreement in standard errors.
MC_SIGMAS = 4.0
# The plane sampler's K = 64 law against the whole plane's (tests/core/test_jensen_law.py).
PLANE_K64_BIAS = 5e-4


def run(*args):
    return subprocess.run([str(NETSENSE), *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT_S, cwd=REPO)


def one_line_error(proc, field):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_mc_json_coverage_and_quantiles_against_numpy_and_scipy():
    """The JSON keys the issue names, and every number from the block's own trials
    (simulate_block: the same stream) by numpy and scipy.stats."""
    n, R, Q = 4000, (0.3, 0.5), (0.5, 0.95)
    proc = run("mc", "--lam", "1/900", "--gamma", 3, "--rho-s-db", 100, "--trials", n,
               "--seed", 9, "--coverage-m", "0.3,0.5", "--quantiles", "0.5,0.95", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    raw = simulate_block(9, PlaneSampler(64), LAM, 3.0, 0, n)
    for var, g in (("crlb_m2", raw["g18"]), ("jensen_m2", raw["g23"])):
        x = g * SCALE_100DB
        cov = out[var]["coverage"]
        assert [c["rmse_m"] for c in cov] == list(R)
        for c, r in zip(cov, R, strict=True):
            k = int((x <= r * r).sum())
            assert c["fraction"] == k / n
            ci = stats.binomtest(k, n).proportion_ci(method="exact")
            assert c["ci95"] == pytest.approx([ci.low, ci.high], rel=1e-10)
        qs = out[var]["quantiles"]
        assert [q["q"] for q in qs] == list(Q)
        s = np.sort(x)
        for q, p in zip(qs, Q, strict=True):
            assert q["value_m2"] == pytest.approx(np.quantile(x, p), rel=SCALE_RTOL)
            lo, hi = int(stats.binom.ppf(0.025, n, p)), int(stats.binom.ppf(0.975, n, p)) + 1
            assert q["ci95"] == pytest.approx([s[lo - 1], s[hi - 1]], rel=SCALE_RTOL)
            assert q["rmse_m"] == pytest.approx(math.sqrt(q["value_m2"]), rel=1e-15)
    loc = out["localizable_fraction"]
    assert loc["value"] == 1.0 and loc["ci95"][1] == 1.0
    assert loc["ci95"][0] == pytest.approx(0.025 ** (1 / n), rel=1e-10)  # k = n: alpha/2^(1/n)
    for c in out["jensen_m2"]["coverage"]:  # the exact whole-plane law beside eq. (23)'s
        want = float(jensen_cdf(c["rmse_m"] ** 2, gamma=3.0, lam_t=LAM, lam_r=LAM,
                                scale=SCALE_100DB))
        assert c["whole_plane_exact"] == want
        se = math.sqrt(want * (1 - want) / n)
        assert abs(c["fraction"] - want) < MC_SIGMAS * se + PLANE_K64_BIAS


def test_mc_without_the_flags_is_unchanged():
    proc = run("mc", "--lam", "1/900", "--gamma", 2.5, "--trials", 300, "--json")
    out = json.loads(proc.stdout)
    assert "localizable_fraction" not in out and "coverage" not in out["crlb_m2"]


def test_mc_text_prints_coverage_quantiles_and_localizable():
    proc = run("mc", "--lam", "1/900", "--gamma", 2.5, "--rho-s-db", 100, "--trials", 1000,
               "--coverage-m", 0.3, "--quantiles", 0.9)
    assert proc.returncode == 0, proc.stderr
    assert "coverage at 0.3 m" in proc.stdout and "quantile 0.9" in proc.stdout
    assert "localizable fraction (finite eq. 18)" in proc.stdout


def test_theory_coverage_is_the_exact_law():
    proc = run("theory", "--M-t", 4, "--M-r", 2, "--rho-s-db", 90, "--lam-t", "1/900",
               "--lam-r", "1/3600", "--gamma", 4, "--coverage-m", "1,3")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["jensen_m2_coverage"]
    scale = float(DEFAULT_SYSTEM.error_scale_m2(4, 2, db_to_lin(90.0)))
    # gamma = 4 in closed form: P(|Z1 Z2| <= w), w = sqrt(c_t c_r y / 2), c = pi^3 lam^2 / 2;
    # the product of two normals by scipy's own quadrature of its density K_0(|t|)/pi
    from scipy.integrate import quad
    from scipy.special import k0
    c_t, c_r = math.pi ** 3 * LAM ** 2 / 2, math.pi ** 3 * (1 / 3600) ** 2 / 2
    for row, r in zip(out, (1.0, 3.0), strict=True):
        w = math.sqrt(c_t * c_r * r * r / scale / 2)
        want = 2 / math.pi * quad(k0, 0, w, epsabs=1e-14, limit=200)[0]
        assert row["rmse_m"] == r and row["probability"] == pytest.approx(want, abs=1e-10)


@pytest.mark.parametrize("args, field", [
    (["mc", "--lam", "1/900", "--gamma", 2.5, "--coverage-m", "1,-2"], "--coverage-m"),
    (["mc", "--lam", "1/900", "--gamma", 2.5, "--quantiles", "0.5,1"], "--quantiles"),
    (["mc", "--lam", "1/900", "--gamma", 2.5, "--quantiles", "x"], "--quantiles"),
    (["theory", "--rho-s-db", 100, "--lam-t", 1e-3, "--lam-r", 1e-3, "--gamma", 2,
      "--coverage-m", 1], "gamma"),
    (["design", "--rmse-m", 0, "--coverage", 0.9, "--gamma", 2.5, "--rho-s-db", 100],
     "--rmse-m"),
    (["design", "--rmse-m", 1, "--coverage", 1, "--gamma", 2.5, "--rho-s-db", 100],
     "--coverage"),
    (["design", "--rmse-m", 1, "--coverage", 0.9, "--gamma", 2.5, "--rho-s-db", 100,
      "--lam-ratio", -4], "--lam-ratio"),
    (["design", "--rmse-m", 1, "--coverage", 0.9, "--gamma", 2.5, "--rho-s-db", 100,
      "--M-t", 4], "--M-r"),
    (["design", "--rmse-m", 1, "--coverage", 0.9, "--gamma", 1.9, "--rho-s-db", 100],
     "--gamma"),
])
def test_bad_input_is_one_line(args, field):
    one_line_error(run(*args), field)


def test_design_json_keys_and_its_answer_re_simulated():
    """The planner's question at the paper's point: 1 m at 95% of positions, gamma 2.5, M 4,
    100 dB, TXs 4x denser than RXs. The answer, re-simulated (--check, another seed, at the
    answer and the ends of its interval), covers 0.95 within those intervals."""
    proc = run("design", "--rmse-m", 1, "--coverage", 0.95, "--gamma", 2.5, "--M", 4,
               "--rho-s-db", 100, "--lam-ratio", 4, "--trials", 40_000, "--check", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("lam", "lam_ci95", "lam_t", "lam_r", "nodes_per_km2", "nodes_per_km2_ci95"):
        assert key in out, key
    assert out["lam_ci95"][0] < out["lam"] < out["lam_ci95"][1]
    assert out["lam_t"] / out["lam_r"] == pytest.approx(4.0, rel=1e-12)
    assert math.sqrt(out["lam_t"] * out["lam_r"]) == pytest.approx(out["lam"], rel=1e-12)
    assert out["method"] == "scaling"
    assert out["check"]["target_in_ci95"], out["check"]
    # the same question with another seed, 200 000 trials: the coverage at the answer
    lam_t, lam_r = out["lam_t"], out["lam_r"]
    n = 200_000
    g = simulate_block(77, PlaneSampler(64), lam_t, 2.5, 0, n, lam_r=lam_r)["g18"] * SCALE_100DB
    frac = float(np.mean(g <= 1.0))
    # the answer's own uncertainty (its interval) moves the coverage at it: d coverage / d log
    # lam is 0.58 here (measured: tests/core/test_design.py), times half the log width
    slack = 0.6 * 0.5 * math.log(out["lam_ci95"][1] / out["lam_ci95"][0])
    assert abs(frac - 0.95) < MC_SIGMAS * math.sqrt(0.95 * 0.05 / n) + slack, frac


def test_design_text():
    proc = run("design", "--rmse-m", 1, "--coverage", 0.9, "--gamma", 3, "--rho-s-db", 110,
               "--trials", 5000)
    assert proc.returncode == 0, proc.stderr
    assert "smallest density" in proc.stdout and "nodes per km^2" in proc.stdout
