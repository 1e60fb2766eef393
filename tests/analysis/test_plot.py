"""`netsense plot`: the plotted numbers are the cube's (checked against numpy and eq. 26), the
unfixed-axis and bad-argument cases are one line each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import netsense
from netsense.analysis.figures.plot import plot_cube
from netsense.cli.main import main
from netsense.core.closed_form import theorem2_m2

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cube-format2.zarr"
RTOL = 1e-12  # a mean of 48 float64 values, summed in another order


def test_plotted_numbers_are_the_cubes(tmp_path):
    ds = netsense.open_cube(FIXTURE)
    res = plot_cube(ds, "lam", {"M": "4", "gamma": "2.5"}, tmp_path / "p.png")
    s = res["series"]["plane-K8"]
    assert list(s["x"]) == sorted(ds.lam.values)
    for i, lam in enumerate(s["x"]):
        pt = ds.sel(sampler="plane-K8", M=4, rho_s_db=110.0, lam=lam, gamma=2.5)
        assert s["jensen_m2_mean"][i] == pytest.approx(float(pt.jensen_m2.values.mean()), rel=RTOL)
        assert s["closed_form_m2"][i] == pytest.approx(float(theorem2_m2(
            M_t=4, M_r=4, rho_s_db=110.0, lam_t=lam, lam_r=lam, gamma=2.5)), rel=RTOL)
        assert s["crlb_m2_mean_ci95_low"][i] < s["crlb_m2_mean"][i] < s["crlb_m2_mean_ci95_high"][i]
    df = netsense.summarize(ds, where={"M": 4, "gamma": 2.5})
    np.testing.assert_array_equal(s["crlb_m2_mean"], df.sort_values("lam")["crlb_m2_mean"])
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_cli_plot_and_its_errors(tmp_path, capsys):
    out = tmp_path / "g.png"
    assert main(["plot", str(FIXTURE), "--x", "gamma", "--where", "M=1", "--where",
                 "lam=1/900", "--ratio", "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000 and "2 points" in capsys.readouterr().err
    for argv, msg in ((["--x", "gamma", "--where", "lam=1/900"], "--where: got 'M'; M has 2 "
                       "values (1, 4); fix it, e.g. --where M=4"),
                      (["--x", "beta"], "--x: got 'beta'; must be one of the swept axes"),
                      (["--x", "lam", "--where", "lam=1/900"], "lam is the x axis"),
                      (["--x", "lam", "--where", "M=4", "--where", "gamma=4", "--out",
                        str(tmp_path / "g.txt")], "must end in .png, .pdf or .svg")):
        args = ["plot", str(FIXTURE), *argv]
        if "--out" not in argv:
            args += ["--out", str(out)]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and msg in err[0], err
