"""netsense plot --cdf and --coverage-m: the plotted fractions and bands are the query's
(numpy's counts of the stored trials and scipy's exact binomial intervals), and the exact eq.
(23) law is the one of netsense.core.jensen_law at the point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import netsense
from netsense.analysis.figures.plot import cdf_data, plot_cdf, plot_coverage
from netsense.cli.main import main
from netsense.core.jensen_law import jensen_cdf
from netsense.core.system import DEFAULT_SYSTEM, db_to_lin
from netsense.errors import InputError

CUBE = Path(__file__).resolve().parents[1] / "fixtures" / "cube-format1.zarr"
WHERE = {"M": "4", "gamma": "2.5"}
# scipy's beta quantiles against scipy.special.betaincinv (1.3e-10 apart at k = 1 of 48); the
# error scale by another route (Theorem 2 over Lemma 3) than DEFAULT_SYSTEM's
CP_RTOL = 1e-9
SCALE_RTOL = 1e-12


def test_cdf_points_against_numpy_and_the_exact_law():
    ds = netsense.open_cube(CUBE)
    series, _ = cdf_data(ds, "lam", WHERE)
    assert len(series) == ds.sizes["lam"]
    scale = float(DEFAULT_SYSTEM.error_scale_m2(4, 4, db_to_lin(110.0)))
    for (label, lam), s in series.items():
        y = ds["crlb_m2"].sel(sampler=label, M=4, rho_s_db=110.0, lam=lam, gamma=2.5).values
        k = np.array([(np.sqrt(y) <= r).sum() for r in s["r_m"]])
        np.testing.assert_array_equal(s["fraction"], k / y.size)
        assert np.all(np.diff(s["fraction"]) >= 0) and s["r_m"].size > 50
        for i in (0, len(k) // 2, len(k) - 1):
            ci = stats.binomtest(int(k[i]), y.size).proportion_ci(method="exact")
            assert s["ci_low"][i] == pytest.approx(ci.low, rel=CP_RTOL, abs=1e-300)
            assert s["ci_high"][i] == pytest.approx(ci.high, rel=CP_RTOL)
        want = jensen_cdf(s["r_m"] ** 2, gamma=2.5, lam_t=lam, lam_r=lam, scale=scale)
        np.testing.assert_allclose(s["exact_eq23"], want, rtol=SCALE_RTOL, atol=1e-15)


def test_figures_are_written(tmp_path):
    ds = netsense.open_cube(CUBE)
    res = plot_cdf(ds, "lam", WHERE, tmp_path / "cdf.png")
    assert (tmp_path / "cdf.png").stat().st_size > 10_000 and len(res["series"]) == 2
    res = plot_coverage(ds, "lam", WHERE, 0.05, tmp_path / "cov.png",
                        var=("crlb_m2", "jensen_m2"))
    s = res["series"][("plane-K8", "crlb_m2")]
    y = ds["crlb_m2"].sel(sampler="plane-K8", M=4, rho_s_db=110.0, gamma=2.5).values
    np.testing.assert_array_equal(s["fraction"], (y <= 0.05 ** 2).mean(axis=1))
    assert np.all(s["ci_low"] <= s["fraction"]) and np.all(s["fraction"] <= s["ci_high"])


def test_bad_selections_are_one_line(tmp_path, capsys):
    ds = netsense.open_cube(CUBE)
    with pytest.raises(InputError, match="gamma has 2 values"):
        cdf_data(ds, "lam", {"M": "4"})
    out = str(tmp_path / "x.png")
    for args in (["--cdf", "--coverage-m", "1"], ["--coverage-m", "-1"]):
        assert main(["plot", str(CUBE), "--x", "lam", "--where", "M=4", "--where", "gamma=2.5",
                     *args, "--out", out]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert not Path(out).exists()
