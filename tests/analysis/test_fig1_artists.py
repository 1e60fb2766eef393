"""Fig. 1 draws what its docstring claims (netsense.analysis.figures.fig1.fig1, on the small stored
cube tests/fixtures/cube-format2.zarr): Theorem 2 a thin dashed line drawn above the Monte Carlo
curves and their bands, the three curves apart in line style and marker, each 95% band a polygon
from its lower to its upper bound in the log panel and in the ratio panel, one ratio panel per
sampler whose y label says what is divided by what, and the widest band written beside each
ratio curve. Test numbers come from panel_stats (checked against numpy in test_fig1_data.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import netsense
from netsense.analysis.figures.fig1 import BAND_NOTE, fig1, panel_stats

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cube-format2.zarr"
REF = {"M": 4, "rho_s_db": 110.0, "lam": 1 / 900, "gamma": 2.5}
SWEPT = ("M", "lam", "gamma")  # rho_s_db has a single value in the fixture


def band_bounds(poly, x):
    """The lowest and highest y of a fill_between polygon at each x."""
    v = poly.get_paths()[0].vertices
    at = [v[np.isclose(v[:, 0], xi), 1] for xi in x]
    return np.array([a.min() for a in at]), np.array([a.max() for a in at])


def two_samplers(ds):
    """The fixture with its one sampler entry repeated under a second label."""
    b = ds[["crlb_m2", "jensen_m2"]].assign_coords(sampler=np.array(["plane-K8b"], dtype=object))
    return xr.concat([ds, b], dim="sampler", data_vars="minimal", coords="different",
                     compat="equals")


@pytest.mark.parametrize("n_samplers", [1, 2])
def test_fig1_artists_are_as_documented(tmp_path, n_samplers):
    ds = netsense.open_cube(FIXTURE)
    if n_samplers == 2:
        ds = two_samplers(ds)
    samplers = [str(s) for s in ds.sampler.values]
    fig = fig1(ds, REF, path_png=tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
    axes = {a.get_gid(): a for a in fig.axes if a.get_gid()}
    assert set(axes) == {f"main:{d}" for d in (*SWEPT, "rho_s_db")} | {
        f"ratio:{d}:{s}" for d in SWEPT for s in samplers}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for dim in SWEPT:
        ax = axes[f"main:{dim}"]
        lines = {ln.get_gid(): ln for ln in ax.get_lines()}
        theorem = lines["closed_form"]
        mc = [lines[f"{q}:{s}"] for q in ("crlb", "jensen") for s in samplers]
        bands = [c for c in ax.collections if str(c.get_gid()).startswith("band:")]
        assert len(bands) == 2 * n_samplers
        # Theorem 2 above every Monte Carlo line and band, dashed, thinner, its own marker
        assert theorem.get_zorder() > max(a.get_zorder() for a in [*mc, *bands])
        assert theorem.get_linestyle() == "--" and "--" not in {ln.get_linestyle() for ln in mc}
        assert theorem.get_linewidth() < min(ln.get_linewidth() for ln in mc)
        assert theorem.get_marker() not in {ln.get_marker() for ln in mc}
        assert {ln.get_marker() for ln in mc} == {"o", "s"}
        assert ax.get_yscale() == "log" and "[m$^2$]" in ax.get_ylabel()
        for s in samplers:
            st = panel_stats(ds, dim, REF, s)
            closed = st["closed_form"]
            np.testing.assert_allclose(theorem.get_ydata(), closed, rtol=1e-12)
            bx = axes[f"ratio:{dim}:{s}"]
            # the ratio axis names what is divided by what (and the sampler, when there are two)
            ylabel = " ".join(bx.get_ylabel().split())
            assert "MC mean / Theorem 2 (eq. 26) [1]" in ylabel
            assert (s in ylabel) == (n_samplers > 1)
            ratio_lines = {ln.get_gid(): ln for ln in bx.get_lines()}
            one = ratio_lines["closed_form"]
            np.testing.assert_array_equal(one.get_ydata(), [1.0, 1.0])
            assert one.get_linestyle() == "--"
            notes = sorted(t.get_text() for t in bx.texts if t.get_gid() == "band-note")
            want = []
            for q in ("crlb", "jensen"):
                e = st[q]
                assert np.all(e.ci_high > e.ci_low)
                # each band is a polygon from ci_low to ci_high, and again over Theorem 2
                for a, scale in ((ax, 1.0), (bx, closed)):
                    poly, = [c for c in a.collections if c.get_gid() == f"band:{q}:{s}"]
                    lo, hi = band_bounds(poly, st["x"])
                    np.testing.assert_allclose(lo, e.ci_low / scale, rtol=1e-12)
                    np.testing.assert_allclose(hi, e.ci_high / scale, rtol=1e-12)
                    assert poly.get_zorder() < theorem.get_zorder()
                line = ratio_lines[f"{q}:{s}"]
                np.testing.assert_allclose(line.get_ydata(), e.mean / closed, rtol=1e-12)
                assert line.get_zorder() < one.get_zorder()
                rel = np.max((e.ci_high - e.ci_low) / 2 / e.mean) * 100
                want.append(BAND_NOTE.format(rel))
            assert notes == sorted(want)
    # one legend entry per Monte Carlo curve and sampler, Theorem 2's, and the bands'
    assert sum(t.startswith("MC of eq. (18)") for t in legend) == n_samplers
    assert sum(t.startswith("MC of eq. (23)") for t in legend) == n_samplers
    assert "eq. (26) Theorem 2" in legend
    assert any("95% confidence band" in t for t in legend)
