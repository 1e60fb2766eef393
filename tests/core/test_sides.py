"""Separate TX and RX parameters (lam_t, lam_r, M_t, M_r): each side from its own stream, exact
E[eq. 23] per side, Theorem 2 with four parameters, and `netsense mc --lam-t/--lam-r/--M-t/--M-r`.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from netsense.cli.main import main
from netsense.core.blocks import combine, sample_side, simulate_block
from netsense.core.closed_form import lemma3_inv_sum
from netsense.core.expectations import g23_mean, inv_sum_mean
from netsense.core.mc import mc_point
from netsense.core.samplers import DiskSampler, PlaneSampler
from netsense.core.system import DEFAULT_SYSTEM, db_to_lin
from netsense.errors import InputError

SEED = 20261201
N_SE = 4.0  # Monte Carlo agreement bound, in combined standard errors
ULP_RTOL = 1e-12  # reordered floating-point sums of a few terms


def test_a_side_depends_only_on_its_own_parameters():
    s = PlaneSampler(nearest=16)
    a = simulate_block(SEED, s, 1 / 900, 3.0, 2, 500, lam_r=1 / 225)
    b = simulate_block(SEED, s, 1 / 900, 3.0, 2, 500, lam_r=1 / 3600)
    tx_a = sample_side(SEED, s, "tx", 1 / 900, 3.0, 2, 500)
    # the TX side of (1/900, 1/225) and (1/900, 1/3600) is the same draw; the cells differ
    assert not np.array_equal(a["g18"], b["g18"])
    for f, v in tx_a.items():
        assert v.tobytes() == sample_side(SEED, s, "tx", 1 / 900, 3.0, 2, 500)[f].tobytes()
    rx = sample_side(SEED, s, "rx", 1 / 225, 3.0, 2, 500)
    got = combine(tx_a, rx)
    assert got["g18"].tobytes() == a["g18"].tobytes() and got["g23"].tobytes() == a["g23"].tobytes()
    # equal densities: the two sides are still independent draws (the side is in the key) ...
    t, r = (sample_side(SEED, s, side, 1 / 900, 3.0, 0, 500) for side in ("tx", "rx"))
    assert np.corrcoef(t["A"], r["A"])[0, 1] < 0.2
    # ... and not the tied stream, which draws both sides from one generator
    assert not np.array_equal(simulate_block(SEED, s, 1 / 900, 3.0, 0, 500, lam_r=1 / 900)["g18"],
                              simulate_block(SEED, s, 1 / 900, 3.0, 0, 500)["g18"])


def test_swapping_the_sides_leaves_each_layout_unchanged():
    """G = A_r T_t + A_t T_r + V_t V_r^T + V_r V_t^T (eq. 15) is symmetric in the two sides."""
    s = PlaneSampler(nearest=16)
    t = sample_side(SEED, s, "tx", 1 / 3600, 4.0, 0, 2000)
    r = sample_side(SEED, s, "rx", 1 / 225, 4.0, 0, 2000)
    a, b = combine(t, r), combine(r, t)
    np.testing.assert_allclose(a["g18"], b["g18"], rtol=ULP_RTOL)
    np.testing.assert_array_equal(a["g23"], b["g23"])


@pytest.mark.parametrize("sampler, lam_t, lam_r, gamma", [
    (PlaneSampler(nearest=32), 1 / 3600, 1 / 225, 2.5),
    (PlaneSampler(nearest=32), 1 / 225, 1 / 56.25, 4.0),
    (DiskSampler(radius_m=150.0), 1 / 3600, 1 / 225, 3.0),
])
def test_exact_eq23_mean_with_separate_densities_against_monte_carlo(sampler, lam_t, lam_r,
                                                                     gamma):
    exact = g23_mean(sampler, lam_t, gamma, lam_r=lam_r)
    assert exact == pytest.approx(2 * inv_sum_mean(sampler, lam_t, gamma)
                                  * inv_sum_mean(sampler, lam_r, gamma), rel=1e-15)
    x = np.concatenate([simulate_block(SEED, sampler, lam_t, gamma, b, 20_000, lam_r=lam_r)["g23"]
                        for b in range(5)])
    x = x[np.isfinite(x)]  # the disk: trials with an empty side have no eq. (23) value
    assert abs(x.mean() - exact) < N_SE * x.std(ddof=1) / math.sqrt(len(x))


def test_mc_with_separate_parameters():
    lam_t, lam_r, gamma = 1 / 3600, 1 / 225, 3.0
    r = mc_point(lam_t=lam_t, lam_r=lam_r, M_t=16, M_r=1, gamma=gamma, rho_s_db=120,
                 trials=30_000, seed=SEED, sampler=PlaneSampler(nearest=32), block_trials=10_000)
    # Theorem 2 (eq. 26) with four parameters, evaluated independently from Lemma 3 per side
    c2 = DEFAULT_SYSTEM.error_scale_m2(16, 1, db_to_lin(120.0))
    want = c2 * 2 * lemma3_inv_sum(lam_t, gamma) * lemma3_inv_sum(lam_r, gamma)
    assert r["closed_form_m2"] == pytest.approx(float(want), rel=1e-12)
    assert r["point"]["lam_t_per_m2"] == lam_t and r["point"]["M_r"] == 1
    assert r["crlb_m2"]["method"] == "control_variate" and r["crlb_m2"]["variance_reduction"] > 30
    # the control variate and the plain mean estimate the same E[eq. 18]
    cv, pl = r["crlb_m2"], r["crlb_m2"]["plain"]
    assert abs(cv["mean"] - pl["mean"]) < N_SE * math.hypot(cv["sem"], pl["sem"])
    # with full gain the antennas only scale the result: M_t M_r = 16 either way, same draws
    q = mc_point(lam_t=lam_t, lam_r=lam_r, M_t=4, M_r=4, gamma=gamma, rho_s_db=120,
                 trials=30_000, seed=SEED, sampler=PlaneSampler(nearest=32), block_trials=10_000)
    assert q["crlb_m2"]["mean"] == r["crlb_m2"]["mean"]


def test_swapped_densities_give_the_same_average():
    """E[eq. 18] is symmetric in (lam_t, M_t) <-> (lam_r, M_r): independent draws agree."""
    kw = dict(gamma=3.0, rho_s_db=120, trials=40_000, sampler=PlaneSampler(nearest=32),
              block_trials=20_000)
    a = mc_point(lam_t=1 / 3600, lam_r=1 / 225, M=4, seed=SEED, **kw)["crlb_m2"]
    b = mc_point(lam_t=1 / 225, lam_r=1 / 3600, M=4, seed=SEED + 1, **kw)["crlb_m2"]
    assert abs(a["mean"] - b["mean"]) < N_SE * math.hypot(a["sem"], b["sem"])


@pytest.mark.parametrize("kw, field", [
    ({"lam": 1 / 900, "lam_t": 1 / 900, "lam_r": 1 / 900}, "lam_t/lam_r"),
    ({"lam_t": 1 / 900}, "lam_t/lam_r"),
    ({"lam_t": 1 / 900, "lam_r": -1.0}, "lam_r"),
    ({"lam": 1 / 900, "M_t": 4}, "M_t/M_r"),
    ({"lam": 1 / 900, "M_t": 4, "M_r": 0}, "M_r"),
])
def test_mc_point_bad_parameters_name_the_field(kw, field):
    with pytest.raises(InputError) as err:
        mc_point(gamma=2.5, rho_s_db=120, trials=100, **({"M": 4} if "M_t" not in kw else {}),
                 **kw)
    assert err.value.field == field


def test_cli_mc_separate_flags(capsys):
    assert main(["mc", "--lam-t", "1/3600", "--lam-r", "1/225", "--M-t", "16", "--M-r", "1",
                 "--gamma", "2.5", "--trials", "2000", "--block-trials", "1000", "--json",
                 "--no-progress"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["point"]["lam_t_per_m2"] == pytest.approx(1 / 3600) and d["point"]["M_t"] == 16
    for argv, msg in ((["--lam-t", "1/3600"], "--lam-r: got None; is needed with --lam-t"),
                      (["--lam", "1/900", "--lam-r", "1/225"], "--lam: got"),
                      ([], "--lam: got None; a density is needed"),
                      (["--lam", "1/900", "--M-r", "2"], "--M-t: got None; is needed with --M-r")):
        assert main(["mc", "--gamma", "2.5", "--trials", "100", *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and msg in err[0], err


def test_on_the_plane_only_lam_t_lam_r_matters_layout_by_layout():
    """Each side's weights scale as its own lam^(gamma/2) for the same draws, so tr(G^-1) is
    (lam_t lam_r)^(-gamma/2) times a function of the draws: the density ratio drops out."""
    s, gamma = PlaneSampler(nearest=16), 3.5
    def sides(lam_t, lam_r):
        t = s.side_stats(np.random.default_rng(1), lam_t, gamma, 2000)
        r = s.side_stats(np.random.default_rng(2), lam_r, gamma, 2000)
        return t, r
    from netsense.core.fisher import crlb_geometric

    a = crlb_geometric(*sides(1 / 900, 1 / 900))
    b = crlb_geometric(*sides(16 / 900, 1 / (16 * 900)))
    np.testing.assert_allclose(b, a, rtol=1e-10)


def test_a_short_mc_run_samples_only_what_it_asks_for():
    """Default block size min(50 000, trials): `--trials 200` samples one 200-trial block (the
    same numbers as --block-trials 200, every time), not a 50 000-trial block cut to 200."""
    kw = dict(lam=1 / 900, gamma=3.0, M=4, rho_s_db=120, trials=200, seed=SEED,
              sampler=DiskSampler(radius_m=300.0))
    a, b = mc_point(**kw), mc_point(**kw, block_trials=200)
    assert a["crlb_m2"]["mean"] == b["crlb_m2"]["mean"] and a == b
    assert mc_point(**kw) == a  # reproducible
    with pytest.raises(InputError, match="block_trials"):
        mc_point(**kw, block_trials=0)
