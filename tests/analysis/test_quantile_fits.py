"""Slopes of a quantile (netsense fit --quantile): the log-log least-squares slope of numpy's
quantiles over the swept points, exact along M and rho_s (one layout serves every point), and
flagged where the interval's coverage was not measured (benchmarks/distribution_coverage.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import netsense
from netsense.analysis.fits import EXACT_SLOPE_ATOL, fit_slopes
from netsense.cli.main import main

CUBE = Path(__file__).resolve().parents[1] / "fixtures" / "cube-format1.zarr"
Q = 0.9
# numpy's polyfit of a few logs against the closed-form least-squares weights.
SLOPE_RTOL = 1e-10


def test_quantile_slopes_against_numpy():
    ds = netsense.open_cube(CUBE)
    rows = fit_slopes(ds, quantile=Q)
    mc = [r for r in rows if r["quantity"] in (f"crlb_q{Q:g}", f"jensen_q{Q:g}")]
    assert {r["quantity"] for r in mc} == {"crlb_q0.9", "jensen_q0.9"}
    for r in mc:
        var = "crlb_m2" if r["quantity"].startswith("crlb") else "jensen_m2"
        pt = ds[var].sel(sampler=r["sampler"], rho_s_db=r["rho_s_db"], gamma=r["gamma"])
        if r["axis"] == "lam":
            pts = pt.sel(M=r["M"]).transpose("lam", "trial").values
            x = 2 * np.log(ds["lam"].values)  # log(lam_t lam_r): the lam axis' regressor
            want = np.polyfit(x, np.log(np.quantile(pts, Q, axis=1)), 1)[0]
            assert r["slope"] == pytest.approx(want, rel=SLOPE_RTOL)
            assert r["ci_low"] < r["slope"] < r["ci_high"]
            assert r["theory"] == -r["gamma"] / 2
            assert r["interval_calibrated"] is False  # 48 trials a point: not measured
        else:  # along M: the same networks scaled, an exact slope
            assert r["slope"] == pytest.approx(r["theory"], abs=EXACT_SLOPE_ATOL)
            assert r["ci_high"] - r["ci_low"] < EXACT_SLOPE_ATOL and r["consistent"]


def test_fit_command_writes_quantile_slopes(tmp_path, capsys):
    csv, js = tmp_path / "s.csv", tmp_path / "s.json"
    assert main(["fit", str(CUBE), "--csv", str(csv), "--json", str(js), "--quantile", "0.9"]) == 0
    assert "crlb_q0.9" in csv.read_text()
    capsys.readouterr()
    csv.unlink()
    assert main(["fit", str(CUBE), "--csv", str(csv), "--json", str(js), "--quantile", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not csv.exists()  # nothing written
