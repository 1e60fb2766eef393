"""The ML position estimator (netsense.estimator) against the delay model and the CRLB of eq. (18)."""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from netsense.cli import estimate as estimate_cli
from netsense.core.fisher import crlb, crlb_direct, geometric_fim, layout_stats
from netsense.core.seeding import block_rng
from netsense.core.stats import Z95
from netsense.deploy import estimator as est
from netsense.deploy.layout import load_layout
from netsense.errors import InputError
from netsense.pipeline.schema import schema_default

REPO = Path(__file__).resolve().parents[2]
SQUARE = REPO / "data" / "layouts" / "square.json"
C = 299792458.0

# Finite differences of the delay (central, step FD_STEP_M): truncation ~ h^2 / distance ~ 1e-10
# relative at 100 m, rounding ~ eps * tau / h ~ 1e-12 relative: FD_RTOL leaves a wide margin.
FD_STEP_M = 1e-4
FD_RTOL = 1e-7
# Zero-noise initializer: the linear system is exact, so the error is rounding amplified by its
# condition number (measured <= 4e-13 m on these layouts); 1e-9 m leaves a wide margin.
INIT_ATOL_M = 1e-9
# FIM in range units vs fisher.crlb / crlb_direct: the same sums in another order.
FIM_RTOL = 1e-10
# Statistical tests: |estimate - reference| <= Z_TOL standard errors. Two-sided normal tail at 4
# sigma is 6e-5 per comparison; with fixed seeds the tests are deterministic anyway.
Z_TOL = 4.0
# Efficiency at high SNR: besides the statistical tolerance, the ratio must be < RATIO_MAX
# (the brief's "within 10%").
RATIO_MAX = 1.10
HIGH_SNR_DB = 140.0  # square layout: range noise ~0.65 m vs 100 m distances (asymptotic regime)
STAT_TRIALS = 20_000
SEED = 20240611

# A non-symmetric layout: 3 TXs, 5 RXs, target off-centre (the initializer's nuisance side is TX).
SKEW = dict(tx_xy=[[120.0, 10.0], [-40.0, 90.0], [-80.0, -60.0]],
            rx_xy=[[60.0, -90.0], [-100.0, 20.0], [30.0, 110.0], [90.0, 60.0], [-20.0, -130.0]],
            target_xy=[5.0, -8.0], M_t=4, M_r=4, rho_s_db=140.0, gamma=2.5)


def square_kwargs():
    return load_layout(SQUARE)[0]


def delays_s(tx, rx, d):
    """The delay model written out: tau_kl = (||d_l^r - d|| + ||d_k^t - d||) / c [s]."""
    out = np.empty((len(tx), len(rx)))
    for k, t in enumerate(tx):
        for ell, r in enumerate(rx):
            out[k, ell] = (math.dist(r, d) + math.dist(t, d)) / C
    return out


# ------------------------------------------------------------------------------------------
# Delay model, Jacobian, noise model


@pytest.mark.parametrize("point", [[0.0, 0.0], [37.0, -12.5], [-150.0, 260.0]])
def test_jacobian_matches_finite_differences_of_the_delay(point):
    tx, rx = np.array(SKEW["tx_xy"]), np.array(SKEW["rx_xy"])
    ranges, jac = est.bistatic_jacobian(tx, rx, point)
    np.testing.assert_allclose(ranges, C * delays_s(tx, rx, point), rtol=1e-14)
    for i in range(2):
        e = np.zeros(2)
        e[i] = FD_STEP_M
        fd = (delays_s(tx, rx, np.add(point, e)) - delays_s(tx, rx, np.subtract(point, e))) / (2 * FD_STEP_M)
        np.testing.assert_allclose(jac[..., i], C * fd, rtol=FD_RTOL, atol=FD_RTOL)


@pytest.mark.parametrize("layout", ["square", "skew"])
def test_range_noise_gives_the_fim_of_eq15(layout):
    kw = square_kwargs() if layout == "square" else dict(SKEW)
    tx, rx, ds = (np.asarray(kw[k], float) for k in ("tx_xy", "rx_xy", "target_xy"))
    args = {k: kw[k] for k in ("M_t", "M_r", "rho_s_db", "gamma")}
    sigma = est.range_noise_std_m(tx, rx, ds, **args)
    S = est.fim_range(tx, rx, ds, sigma)
    got = np.trace(np.linalg.inv(S))
    assert got == pytest.approx(float(crlb(tx, rx, ds, **args)["crlb_m2"]), rel=FIM_RTOL)
    assert got == pytest.approx(crlb_direct(tx, rx, ds, **args), rel=FIM_RTOL)


# ------------------------------------------------------------------------------------------
# Closed-form initializer


def _campus():
    return load_layout(REPO / "data" / "layouts" / "campus.json")[0]


INIT_LAYOUTS = {
    "square-centre": lambda: square_kwargs(),
    "square-offcentre": lambda: {**square_kwargs(), "target_xy": [41.0, -23.0]},
    "skew-3x5": lambda: dict(SKEW),
    "skew-5x2": lambda: dict(SKEW, tx_xy=SKEW["rx_xy"], rx_xy=SKEW["tx_xy"][:2]),
    "campus-6x10-outside": lambda: {**_campus(), "target_xy": [260.0, -40.0]},
}


@pytest.mark.parametrize("name", sorted(INIT_LAYOUTS))
def test_initializer_is_exact_without_noise(name):
    kw = INIT_LAYOUTS[name]()
    tx, rx, ds = (np.asarray(kw[k], float) for k in ("tx_xy", "rx_xy", "target_xy"))
    r = est.bistatic_ranges_m(tx, rx, ds)
    sigma = est.range_noise_std_m(tx, rx, ds, M_t=4, M_r=4, rho_s_db=120.0, gamma=2.5)
    one = est.init_closed_form(tx, rx, r, sigma)  # a single trial
    many = est.init_closed_form(tx, rx, np.broadcast_to(r, (3, *r.shape)))  # a batch, unweighted
    np.testing.assert_allclose(one, ds, rtol=0, atol=INIT_ATOL_M)
    np.testing.assert_allclose(many, np.broadcast_to(ds, (3, 2)), rtol=0, atol=INIT_ATOL_M)


def test_ml_is_exact_without_noise_from_a_distant_start():
    kw = dict(SKEW)
    tx, rx, ds = (np.asarray(kw[k], float) for k in ("tx_xy", "rx_xy", "target_xy"))
    sigma = est.range_noise_std_m(tx, rx, ds, M_t=4, M_r=4, rho_s_db=120.0, gamma=2.5)
    y = np.broadcast_to(est.bistatic_ranges_m(tx, rx, ds), (4, len(tx), len(rx)))
    x0 = ds + np.array([[30.0, 0.0], [0.0, -40.0], [-25.0, 25.0], [1e-3, 0.0]])
    res = est.ml_estimate(tx, rx, y, sigma, x0)
    assert res["converged"].all()
    # the stopping rule: remaining Gauss-Newton step <= XTOL_STD local standard deviations, and
    # without noise the GN step is the distance to the minimum (Newton, zero residual)
    std_max = math.sqrt(np.linalg.eigvalsh(np.linalg.inv(est.fim_range(tx, rx, ds, sigma)))[-1])
    err = np.hypot(*(res["d_hat"] - ds).T)
    assert err.max() <= est.XTOL_STD * std_max, (err, std_max)


def _skew_noiseless(n):
    tx, rx, ds = (np.asarray(SKEW[k], float) for k in ("tx_xy", "rx_xy", "target_xy"))
    sigma = est.range_noise_std_m(tx, rx, ds, M_t=4, M_r=4, rho_s_db=120.0, gamma=2.5)
    return tx, rx, ds, sigma, np.broadcast_to(est.bistatic_ranges_m(tx, rx, ds), (n, len(tx),
                                                                                 len(rx)))


def test_max_iterations_reached_is_not_converged():
    tx, rx, ds, sigma, y = _skew_noiseless(3)
    x0 = ds + np.array([[30.0, 0.0], [0.0, -40.0], [-25.0, 25.0]])
    res = est.ml_estimate(tx, rx, y, sigma, x0, max_iter=1)
    assert not res["converged"].any() and (res["iterations"] == 1).all()
    assert not res["on_box"].any() and np.all(np.hypot(*(res["d_hat"] - ds).T) > 1.0)
    assert est.ml_estimate(tx, rx, y, sigma, x0)["converged"].all()  # the same, uncapped


def test_minimum_outside_the_box_ends_on_the_box_stalled():
    """The likelihood's minimum (the target, no noise) outside the box: the iteration reaches
    the box's corner nearest to it, every further step is clipped back (no decrease), the
    damping climbs to MU_MAX and the trial stops early as stuck: on the box, not converged."""
    tx, rx, ds, sigma, y = _skew_noiseless(1)
    lo, hi = ds + 20.0, ds + 200.0
    res = est.ml_estimate(tx, rx, y, sigma, np.array([[100.0, 100.0]]), box=(lo, hi))
    np.testing.assert_allclose(res["d_hat"][0], lo, rtol=0, atol=1e-9)
    assert res["on_box"][0] and not res["converged"][0]
    # stopped by the damping test, not by the cap: from MU_INIT up by MU_UP per rejected step
    assert 0 < res["iterations"][0] < est.MAX_ITER


def test_estimate_on_a_site_is_flagged():
    """Target on an RX site (no noise): the estimate converges onto the site, where r_kl(d) has
    its cone; ``at_site`` flags it (a diagnostic beside ``converged``)."""
    tx, rx, _, sigma, _ = _skew_noiseless(1)
    site = rx[2]
    y = est.bistatic_ranges_m(tx, rx, site)[None]
    res = est.ml_estimate(tx, rx, np.concatenate([y, y]), sigma,
                          site + np.array([[3.0, -2.0], [60.0, -90.0]]))
    assert res["at_site"][0] and np.hypot(*(res["d_hat"][0] - site)) < 1e-3
    far = est.ml_estimate(tx, rx, _skew_noiseless(1)[4], sigma, np.array([[0.0, 0.0]]))
    assert not far["at_site"][0] and far["converged"][0]


def test_low_snr_nonconverged_fraction_is_the_count_of_its_trials():
    """At 80 dB (range noise ~ the layout's size) some trials do not converge; the reported
    fraction is the count over the same trials simulated directly (block 0 of the stream)."""
    kw = square_kwargs()
    row = est.estimator_mc(kw, [80.0], 2000, SEED)[0]
    out = est.simulate_estimates(kw, 80.0, 2000, block_rng(SEED, est._stream_key(80.0), 0))
    want = 1.0 - float(out["converged"].mean())
    assert row["nonconverged_fraction"] == pytest.approx(want, abs=1e-12)
    assert 0.05 < want < 0.5 and row["at_site_fraction"] == pytest.approx(out["at_site"].mean())


def _readme_estimator_table():
    text = (REPO / "docs" / "guide" / "fixed-layouts.md").read_text()
    section = text.split("## Does an estimator reach the bound?")[1].splitlines()
    first = next(i for i, ln in enumerate(section) if ln.startswith("|"))
    lines = [ln for ln in itertools.takewhile(lambda ln: ln.startswith("|"), section[first:])]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head[0] == "\u03c1_s [dB]"  # rho_s
    return {c.strip("|").split("|")[0].strip(): dict(zip(head[1:], (
        x.strip() for x in c.strip("|").split("|")[1:]), strict=True)) for c in lines[2:]}


@pytest.mark.parametrize(("layout", "label", "rho"), [
    ("square.json", "MSE / CRLB, centred", "80"),
    ("square-offcentre.json", "MSE / CRLB, off-centre", "95")])
def test_readme_low_snr_ratios_are_what_the_default_sweep_computes(layout, label, rho):
    """The docs' threshold-region numbers (guide/fixed-layouts.md; the default sweep's estimator
    rule: 10 000 trials, the config's seed) are reproduced, value and printed interval."""
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cell = _readme_estimator_table()[label][rho]
    kw = load_layout(REPO / "data" / "layouts" / layout)[0]
    row = est.estimator_mc(kw, [float(rho)], cfg["estimator"]["trials"], cfg["seed"])[0]
    got = f"{row['ratio']:.2f}"
    if "[" in cell:
        got += " [{:.2f}, {:.2f}]".format(*row["ratio_ci95"])
    assert got == cell


# ------------------------------------------------------------------------------------------
# Statistics at high SNR: unbiased, efficient, covariance = S^-1


@pytest.fixture(scope="module")
def square_high_snr():
    return est.estimator_mc(square_kwargs(), [HIGH_SNR_DB], STAT_TRIALS, SEED)[0]


def test_high_snr_unbiased_and_efficient(square_high_snr):
    row = square_high_snr
    assert row["trials"] == STAT_TRIALS
    assert row["nonconverged_fraction"] == 0.0
    for b, se in zip(row["bias_m"], row["bias_sem_m"], strict=True):
        assert abs(b) <= Z_TOL * se, (b, se)
    ratio_se = row["mse_sem_m2"] / row["crlb_m2"]
    assert abs(row["ratio"] - 1.0) <= Z_TOL * ratio_se, (row["ratio"], ratio_se)
    assert row["ratio"] < RATIO_MAX
    # the interval is a real interval of the mean's size: each side between the normal
    # half-width Z95 se and 1.5x it (Hall's skewness correction moves it, never by half)
    lo, hi = row["ratio_ci95"]
    for side in (row["ratio"] - lo, hi - row["ratio"]):
        assert Z95 * ratio_se / 1.5 < side < 1.5 * Z95 * ratio_se, (lo, hi, ratio_se)
    # the closed-form start alone is consistent but not efficient (about 2x the CRLB here)
    assert row["init_ratio"] > row["ratio"]


def test_high_snr_covariance_matches_inverse_fim():
    kw = dict(SKEW, rho_s_db=HIGH_SNR_DB)
    out = est.simulate_estimates(kw, HIGH_SNR_DB, STAT_TRIALS, np.random.default_rng(SEED))
    assert out["converged"].all()
    e = out["d_hat"] - out["target"]
    # S^-1 independently of the estimator module: S = (M_r M_t eta / c^2) G, eq. (15)
    st, sr = layout_stats(kw["tx_xy"], kw["rx_xy"], kw["target_xy"], kw["gamma"])
    gxx, gxy, gyy = geometric_fim(st, sr)
    scale = kw.get("system", est.DEFAULT_SYSTEM).error_scale_m2(4, 4, 10 ** (HIGH_SNR_DB / 10))
    s_inv = scale * np.linalg.inv(np.array([[gxx, gxy], [gxy, gyy]]))
    assert abs(s_inv[0, 1]) > 0.05 * math.sqrt(s_inv[0, 0] * s_inv[1, 1])  # a real off-diagonal
    for i, j in ((0, 0), (0, 1), (1, 1)):
        prod = e[:, i] * e[:, j]
        se = prod.std(ddof=1) / math.sqrt(len(prod))
        assert abs(prod.mean() - s_inv[i, j]) <= Z_TOL * se, (i, j, prod.mean(), s_inv[i, j], se)


def test_streams_are_keyed_by_seed_and_rho():
    kw = square_kwargs()
    a = est.estimator_mc(kw, [100.0, 130.0], 300, 7)
    b = est.estimator_mc(kw, [130.0], 300, 7)
    assert a[1] == b[0]  # the 130 dB point does not depend on the rest of the list
    assert est.estimator_mc(kw, [130.0], 300, 8)[0]["mse_m2"] != b[0]["mse_m2"]
    g1 = est.estimator_mc(kw, [130.0], 300, np.random.default_rng(3))
    g2 = est.estimator_mc(kw, [130.0], 300, np.random.default_rng(3))
    assert g1 == g2


@pytest.mark.parametrize(("patch", "field"), [
    ({"tx_xy": [[100.0, 0.0]], "rx_xy": [[0.0, 100.0], [0.0, -100.0]]}, "layout"),
    ({"tx_xy": [[100.0, 0.0], [-50.0, 0.0]], "rx_xy": [[30.0, 0.0], [-80.0, 0.0]]}, "layout"),
])
def test_layouts_the_estimator_cannot_run_on(patch, field):
    with pytest.raises(InputError) as exc:
        est.estimator_mc({**square_kwargs(), **patch}, [120.0], 10, 0)
    assert exc.value.field == field


# ------------------------------------------------------------------------------------------
# CLI


def run_cli(argv):
    """``netsense ...`` through netsense.cli.main.main() (the installed entry point): (rc, out, err)."""
    from netsense.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def test_cli_writes_figure_and_tables(tmp_path):
    png, csv_p, js = tmp_path / "e.png", tmp_path / "e.csv", tmp_path / "e.json"
    rc, out, err = run_cli(["estimate", SQUARE, "--rho-s-db-list", "100", "140", "--trials", "400",
                            "--seed", "3", "--png", png, "--csv", csv_p, "--json", js])
    assert rc == 0, err
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    lines = csv_p.read_text().splitlines()
    assert lines[0].split(",") == list(estimate_cli.COLUMNS) and len(lines) == 3
    doc = json.loads(js.read_text())
    assert [r["rho_s_db"] for r in doc["rows"]] == [100.0, 140.0]
    assert doc["meta"]["seed"] == 3 and doc["meta"]["trials"] == 400
    assert doc["rows"] == est.estimator_mc(square_kwargs(), [100.0, 140.0], 400, 3)
    assert "MSE/CRLB" in out and "140.0" in out and err == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv", "e.json", "e.png"]


@pytest.mark.parametrize(("extra", "field"), [
    (["--trials", "1"], "--trials"),
    (["--seed", "-1"], "--seed"),
    (["--rho-s-db-list", "120", "nan"], "--rho-s-db-list"),
    (["--rho-s-db-list", "120", "abc"], "--rho-s-db-list"),
    (["--rho-s-db-list", "120", "120"], "--rho-s-db-list"),
    (["--png", "OUT/missing-dir/e.png"], "--png"),
    (["--csv", "OUT/e.txt"], "--csv"),
    (["--json", "OUT/e.csv.json", "--csv", "OUT/e.csv.json"], "--csv"),
])
def test_cli_bad_input_exits_2_on_one_line_and_writes_nothing(tmp_path, extra, field):
    base = ["estimate", SQUARE, "--trials", "50", "--png", tmp_path / "e.png", "--json",
            tmp_path / "e.json"]
    extra = [str(a).replace("OUT", str(tmp_path)) for a in extra]
    if "--json" in extra:  # replace the default --json
        base = base[:-2]
    rc, out, err = run_cli(base + extra)
    assert rc == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert f"{field}:" in lines[0] and "Traceback" not in err
    assert out == ""
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_layout_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(SQUARE.read_text()), "gamma": -1}))
    rc, out, err = run_cli(["estimate", bad, "--png", tmp_path / "e.png"])
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and "gamma:" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_estimate_command_defaults_come_from_the_config_schema():
    sub = argparse.ArgumentParser().add_subparsers()
    estimate_cli.register(sub)
    args = sub.choices["estimate"].parse_args([str(SQUARE)])
    assert args.trials == schema_default("estimator.trials") == 10_000
    assert args.rho_s_db_list is None and args.func is estimate_cli.cmd_estimate
