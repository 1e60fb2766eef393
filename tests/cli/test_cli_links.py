"""``netsense mc`` and ``netsense theory`` with the link models (heights, blockage, shadowing).

References: the same stream sampled in-process (netsense.core.blocks) and reduced with numpy
(fractions, medians, order statistics, Clopper-Pearson by scipy.stats' beta quantiles), the
exact means of netsense.core.expectations, and the mpmath golden values of tests/golden/links.json.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from netsense.core.blocks import simulate_block
from netsense.core.closed_form import theorem2_m2
from netsense.core.expectations import g23_mean, inv_sum_mean_link
from netsense.core.links import localizable_probability, los_count_mean
from netsense.core.samplers import sampler_from_mapping
from netsense.core.system import DEFAULT_SYSTEM, db_to_lin

REPO = Path(__file__).resolve().parents[2]
NETSENSE = Path(sys.executable).parent / "netsense"
GOLDEN = REPO / "tests" / "golden" / "links.json"
SUBPROCESS_TIMEOUT_S = 120
# Two float64 evaluations of the same formula in another order.
SAME_RTOL = 1e-12
# The package's quadratures against mpmath (tests/core/test_expectations_links.py).
MPMATH_RTOL = 1e-9
SCALE = float(DEFAULT_SYSTEM.error_scale_m2(4, 4, db_to_lin(120.0)))


def run(*args):
    return subprocess.run([str(NETSENSE), *map(str, args)], capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S, cwd=REPO)


def mc_json(*args):
    proc = run("mc", *args, "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_mc_with_heights_reports_the_exact_mean_and_a_localizable_fraction():
    out = mc_json("--lam", "1/900", "--gamma", 3, "--trials", 3000, "--seed", 4,
                  "--height-t-m", 10, "--height-r-m", 25)
    s = sampler_from_mapping({"kind": "plane", "height_t_m": 10, "height_r_m": 25})
    exact = g23_mean(s, 1 / 900, 3.0) * SCALE
    assert out["jensen_m2"]["exact_m2"] == pytest.approx(exact, rel=SAME_RTOL)
    assert out["crlb_m2"]["method"] == "control_variate"
    loc = out["localizable_fraction"]
    assert loc == {"value": 1.0, "ci95": [pytest.approx(stats.beta.ppf(0.025, 3000, 1)), 1.0],
                   "exact": 1.0, "n": 3000}
    assert out["point"]["height_t_m"] == 10.0 and out["point"]["height_r_m"] == 25.0
    # the same stream, reduced here
    blk = simulate_block(4, s, 1 / 900, 3.0, 0, 3000)
    assert out["jensen_m2"]["mean"] == pytest.approx(blk["g23"].mean() * SCALE, rel=SAME_RTOL)


def test_mc_under_blockage_reports_no_mean_of_eq18_but_its_median():
    lam, beta, n = 1 / 3000, 0.02, 4000
    out = mc_json("--lam", "1/3000", "--gamma", 3, "--trials", n, "--seed", 2,
                  "--blockage-per-m", beta)
    s = sampler_from_mapping({"kind": "plane", "blockage_per_m": beta})
    blk = simulate_block(2, s, lam, 3.0, 0, n)
    finite = np.isfinite(blk["g18"])
    c = out["crlb_m2"]
    assert c["mean"] is None and "infinite under blockage" in c["mean_note"]
    assert c["median"] == pytest.approx(np.median(blk["g18"]) * SCALE, rel=SAME_RTOL)
    srt = np.sort(blk["g18"])
    lo, hi = stats.binom.ppf([0.025, 0.975], n, 0.5)  # order-statistic ranks (l, u): see stats
    assert srt[int(lo) - 1] * SCALE <= c["median_ci95"][0] <= c["median"] <= c["median_ci95"][1]
    assert c["median_ci95"][1] <= srt[int(hi)] * SCALE
    assert c["n"] + c["n_inf"] == n and c["n_inf"] == int((~finite).sum())
    mu = los_count_mean(lam, beta)
    loc = out["localizable_fraction"]
    k = int(finite.sum())
    assert loc["value"] == k / n and loc["exact"] == pytest.approx(
        localizable_probability(mu, mu), rel=SAME_RTOL)
    assert loc["ci95"] == pytest.approx([stats.beta.ppf(0.025, k, n - k + 1),
                                         stats.beta.ppf(0.975, k + 1, n - k)], rel=1e-9)
    j = out["jensen_m2"]
    assert j["conditional"].startswith("N_t >= 1 and N_r >= 1")
    fin23 = blk["g23"][np.isfinite(blk["g23"])]
    assert j["mean"] == pytest.approx(fin23.mean() * SCALE, rel=SAME_RTOL)
    inv = inv_sum_mean_link(lam, 3.0, blockage_per_m=beta)
    assert j["exact_m2"] == pytest.approx(2 * inv * inv * SCALE, rel=SAME_RTOL)
    assert "Infinity" not in json.dumps(out["crlb_m2"]) + json.dumps(j)


def test_mc_text_under_blockage_prints_no_average_of_eq18():
    proc = run("mc", "--lam", "1/3000", "--gamma", 3, "--trials", 500, "--blockage-per-m",
               0.02, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    line18 = next(x for x in proc.stdout.splitlines() if "eq. (18)" in x)
    assert re.match(r"\s*eq\. \(18\) CRLB\s+median [0-9]", line18) and "no mean (" in line18
    assert not re.search(r"mean [0-9]|inf", line18.replace("infinite", ""))
    assert "localizable fraction" in proc.stdout and "exact" in proc.stdout
    assert "mean | N_t >= 1 and N_r >= 1" in proc.stdout  # eq. (23): explicitly conditional


def golden(case, **args):
    rows = [r for r in json.loads(GOLDEN.read_text()) if r["case"] == case
            and all(r["args"].get(k) == v for k, v in args.items())]
    assert len(rows) == 1, (case, args)
    return rows[0]["value"]


def test_theory_links_heights_against_mpmath():
    proc = run("theory", "--lam-t", "1/900", "--lam-r", "1/900", "--gamma", 2.5, "--rho-s-db",
               120, "--height-m", 10)
    assert proc.returncode == 0, proc.stderr
    lk = json.loads(proc.stdout)["links"]
    ref = golden("heights", lam=1 / 900, gamma=2.5, h=10.0)
    assert lk["inv_sum_t"] == pytest.approx(ref, rel=MPMATH_RTOL) and lk["inv_sum_r"] == lk["inv_sum_t"]
    assert lk["jensen_m2"] == pytest.approx(2 * SCALE * ref * ref, rel=MPMATH_RTOL)
    assert lk["lam_pi_h2_t"] == pytest.approx(math.pi * 100 / 900, rel=SAME_RTOL)
    ea = 2 * math.pi / 900 * 10 ** (2 - 2.5) / 0.5  # E[A] = 2 pi lam h^(2-gamma)/(gamma-2)
    assert lk["eq18_high_density_limit_m2"] == pytest.approx(SCALE * 2.5 / ea**2, rel=SAME_RTOL)


def test_theory_links_blockage_and_shadowing():
    proc = run("theory", "--lam-t", "1/900", "--lam-r", "1/900", "--gamma", 3, "--rho-s-db",
               120, "--blockage-per-m", 0.01)
    lk = json.loads(proc.stdout)["links"]
    assert lk["inv_sum_t"] == pytest.approx(golden("blockage", lam=1 / 900, gamma=3.0,
                                                   beta=0.01), rel=MPMATH_RTOL)
    mu = 2 * math.pi / 900 / 0.01**2
    assert lk["los_count_t"] == pytest.approx(mu, rel=SAME_RTOL)
    assert lk["localizable_probability"] == pytest.approx(
        (1 - math.exp(-mu)) ** 2 - (mu * math.exp(-mu)) ** 2, rel=SAME_RTOL)
    assert "infinite under blockage" in lk["jensen_conditional"]
    proc = run("theory", "--lam-t", "1/900", "--lam-r", "1/400", "--gamma", 3, "--rho-s-db",
               120, "--shadowing-db", 8)
    lk = json.loads(proc.stdout)["links"]
    f = math.exp((2 / 3 * 8 * math.log(10) / 10) ** 2 / 2)  # E[S^(2/gamma)]
    assert lk["shadowing_density_factor"] == pytest.approx(f, rel=SAME_RTOL)
    want = theorem2_m2(M_t=4, M_r=4, rho_s_db=120.0, lam_t=f / 900, lam_r=f / 400, gamma=3.0)
    assert lk["equivalent_closed_form_m2"] == pytest.approx(float(want), rel=SAME_RTOL)
    assert lk["jensen_m2"] == pytest.approx(float(want), rel=SAME_RTOL)


def test_theory_without_link_flags_has_no_links_section():
    proc = run("theory", "--lam-t", "1/900", "--lam-r", "1/900", "--gamma", 3, "--rho-s-db", 120)
    assert "links" not in json.loads(proc.stdout)


@pytest.mark.parametrize("cmd, args, field", [
    ("mc", ["--height-m", "10", "--height-t-m", "5"], "sampler.height_m"),
    ("mc", ["--shadowing-db", "50"], "sampler.shadowing_db"),
    ("mc", ["--blockage-per-m", "abc"], "--blockage-per-m"),
    ("theory", ["--height-m=-1"], "--height-m"),
    ("theory", ["--height-m", "10", "--height-r-m", "3"], "--height-m"),
])
def test_bad_link_input_is_one_line(cmd, args, field, tmp_path):
    base = (["--lam", "1/900", "--gamma", "3", "--trials", "10"] if cmd == "mc" else
            ["--lam-t", "1/900", "--lam-r", "1/900", "--gamma", "3", "--rho-s-db", "120"])
    proc = subprocess.run([str(NETSENSE), cmd, *base, *args], capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == "" and not list(tmp_path.iterdir())
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and f"{field}:" in lines[0] and "Traceback" not in proc.stderr
