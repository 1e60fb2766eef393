"""``netsense map`` and :mod:`netsense.crlbmap`: CRLB maps over a grid of target positions."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from netsense.analysis.figures import crlbmap as figures_crlbmap
from netsense.cli.main import main
from netsense.core import fisher
from netsense.deploy import crlbmap
from netsense.deploy.crlbmap import crlb_grid, grid_axis
from netsense.deploy.layout import load_layout

REPO = Path(__file__).resolve().parents[2]
LAYOUTS = REPO / "data" / "layouts"
SQUARE = LAYOUTS / "square.json"
CAMPUS = LAYOUTS / "campus.json"
HIGHWAY = LAYOUTS / "highway.json"

# Grid vs fisher.crlb at the same target: the same arithmetic (layout_stats, crlb_geometric) on
# a batch instead of one point; measured difference 0, bound kept at a few hundred ulp.
SAME_CODE_RTOL = 1e-12
# Grid vs crlb_direct (literal double sum of eq. 15): FACTORIZED_RTOL of tests/core/test_fisher.py for
# well-conditioned layouts; measured <= 1.4e-14 on the campus grid.
DIRECT_RTOL = 1e-12
# Grid value read back from zarr/netCDF vs `netsense crlb` printed as JSON: float64 round-trips
# exactly through both; the bound only absorbs the batch-vs-single evaluation (as SAME_CODE_RTOL).
CLI_RTOL = 1e-12
# Mirror symmetry x -> -x of the square layout: the mirrored sums run over the nodes in another
# order, so the error is ~eps * cond(G); cond(G) < ~50 within 500 m (measured max 3.9e-14).
SYMMETRY_RTOL = 1e-12
# Hypothesis targets stay this far [m] from every site, so that d^-gamma cannot overflow.
MIN_SITE_DISTANCE_M = 1e-3


def layout_kw(path):
    kw, _ = load_layout(path, target=False)
    return kw


def run_cli(capsys, *argv):
    """main(argv) -> (exit code, stdout, stderr); argparse errors exit through SystemExit."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def files_under(path: Path) -> set:
    return {p.relative_to(path) for p in path.rglob("*")}


# ------------------------------------------------------------------------------------------
# (1) grid values == fisher.crlb == crlb_direct


def test_grid_matches_crlb_and_direct_double_sum():
    kw = layout_kw(CAMPUS)
    xs = grid_axis(-250.0, 250.0, 25.0)
    ys = grid_axis(-250.0, 250.0, 25.0)
    g = crlb_grid(xs=xs, ys=ys, **kw)
    assert g["crlb_m2"].shape == (len(ys), len(xs))
    for j, i in [(0, 0), (3, 17), (10, 10), (12, 5), (20, 20), (7, 14)]:
        target = [xs[i], ys[j]]
        want = fisher.crlb(target_xy=target, **kw)
        assert g["crlb_m2"][j, i] == pytest.approx(float(want["crlb_m2"]), rel=SAME_CODE_RTOL)
        assert g["jensen_m2"][j, i] == pytest.approx(float(want["jensen_m2"]), rel=SAME_CODE_RTOL)
        direct = fisher.crlb_direct(target_xy=target, **kw)
        assert g["crlb_m2"][j, i] == pytest.approx(direct, rel=DIRECT_RTOL)


def test_grid_per_tx_gain_and_bandwidth_match_crlb():
    kw = layout_kw(CAMPUS)
    n = len(kw["tx_xy"])
    kw["tx_gain"] = np.linspace(0.5, 4.0, n)
    kw["tx_beta_hz"] = np.linspace(2e8, 6e8, n)
    xs, ys = np.array([-37.0, 12.5, 101.0]), np.array([-80.0, 66.0])
    g = crlb_grid(xs=xs, ys=ys, **kw)
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            want = float(fisher.crlb(target_xy=[x, y], **kw)["crlb_m2"])
            assert g["crlb_m2"][j, i] == pytest.approx(want, rel=SAME_CODE_RTOL)
            assert g["crlb_m2"][j, i] == pytest.approx(
                fisher.crlb_direct(target_xy=[x, y], **kw), rel=DIRECT_RTOL)


def test_chunking_does_not_change_values(monkeypatch):
    kw = layout_kw(HIGHWAY)
    xs, ys = grid_axis(0.0, 2000.0, 50.0), grid_axis(-300.0, 300.0, 50.0)
    whole = crlb_grid(xs=xs, ys=ys, **kw)
    monkeypatch.setattr(crlbmap, "CHUNK_BYTES", 7 * crlbmap.BYTES_PER_POINT_NODE * 50)  # 7 points
    chunked = crlb_grid(xs=xs, ys=ys, **kw)
    for k in ("crlb_m2", "jensen_m2", "on_site"):
        np.testing.assert_array_equal(chunked[k], whole[k])


# ------------------------------------------------------------------------------------------
# (2) the CLI end to end


@pytest.mark.parametrize("fmt", ["zarr", "netcdf"])
def test_cli_map_end_to_end_matches_netsense_crlb(tmp_path, capsys, fmt):
    import xarray as xr

    rc, out, err = run_cli(capsys, "map", CAMPUS, "--extent", -100, 100, -60, 60, "--step", 20,
                           "--out", tmp_path / "m", "--format", fmt)
    assert rc == 0, err
    summary = json.loads(out)
    data = tmp_path / ("m.zarr" if fmt == "zarr" else "m.nc")
    png = tmp_path / "m.png"
    assert summary["outputs"] == {"data": str(data), "png": str(png)}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["grid"]["nx"] == 11 and summary["grid"]["ny"] == 7
    ds = xr.open_zarr(data) if fmt == "zarr" else xr.open_dataset(data)
    with ds:
        assert ds["crlb_m2"].dims == ("y", "x")
        assert ds["x"].attrs["units"] == "m" and ds["y"].attrs["units"] == "m"
        assert ds["crlb_m2"].attrs["units"] == "m^2" and ds["rmse_m"].attrs["units"] == "m"
        assert json.loads(ds.attrs["layout"])["name"] == "campus"
        assert json.loads(ds.attrs["system"])["carrier_hz"] == 30e9
        rmse = ds["rmse_m"].values
        assert summary["rmse_m"]["min"] == float(np.nanmin(rmse))
        assert summary["rmse_m"]["max"] == float(np.nanmax(rmse))
        x0, y0 = 20.0, -40.0
        point = {v: float(ds[v].sel(x=x0, y=y0).values) for v in ("crlb_m2", "jensen_m2", "rmse_m")}

    doc = json.loads(CAMPUS.read_text())
    doc["target"] = [x0, y0]
    one = tmp_path / "one.json"
    one.write_text(json.dumps(doc))
    rc, out, err = run_cli(capsys, "crlb", one)
    assert rc == 0, err
    want = json.loads(out)
    for v in ("crlb_m2", "jensen_m2", "rmse_m"):
        assert point[v] == pytest.approx(want[v], rel=CLI_RTOL), v


def test_cli_map_overwrites_previous_outputs(tmp_path, capsys):
    args = ("map", SQUARE, "--extent", -50, 50, -50, 50, "--step", 25, "--out", tmp_path / "m")
    assert run_cli(capsys, *args)[0] == 0
    assert run_cli(capsys, *args)[0] == 0
    assert files_under(tmp_path) >= {Path("m.zarr"), Path("m.png")}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp names left


def test_layout_target_is_ignored_and_optional(tmp_path):
    doc = json.loads(SQUARE.read_text())
    del doc["target"]
    p = tmp_path / "no_target.json"
    p.write_text(json.dumps(doc))
    kw, meta = load_layout(p, target=False)
    assert meta["name"] == "square"
    assert kw["tx_xy"] == doc["tx"] and "target_xy" not in kw


# ------------------------------------------------------------------------------------------
# (3) bad input: exit 2, one stderr line naming the field, nothing written

GOOD = ["--extent", "-50", "50", "-50", "50", "--step", "10"]
BAD = [
    ("--extent", ["--extent", "50", "-50", "-50", "50", "--step", "10"]),  # XMIN > XMAX
    ("--extent", ["--extent", "0", "0", "-50", "50", "--step", "10"]),  # XMIN == XMAX
    ("--extent", ["--extent", "-50", "50", "5", "5", "--step", "10"]),  # YMIN == YMAX
    ("--extent", ["--extent", "-50", "nan", "-50", "50", "--step", "10"]),
    ("--extent", ["--extent", "-50", "50", "-50", "--step", "10"]),  # three numbers
    ("--step", ["--extent", "-50", "50", "-50", "50", "--step", "0"]),
    ("--step", ["--extent", "-50", "50", "-50", "50", "--step", "-1"]),
    ("--step", ["--extent", "-50", "50", "-50", "50", "--step", "nan"]),
    ("--step", ["--extent", "-50", "50", "-50", "50", "--step", "inf"]),
    ("--step", ["--extent", "-50", "50", "-50", "50", "--step", "ten"]),
    ("--step", ["--extent", "0", "1e5", "0", "1e5", "--step", "1"]),  # 1e10 points
    ("--format", [*GOOD, "--format", "hdf5"]),
]


@pytest.mark.parametrize(("field", "argv"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_bad_arguments_exit_2_one_line_nothing_written(tmp_path, capsys, field, argv):
    before = files_under(tmp_path)
    rc, out, err = run_cli(capsys, "map", SQUARE, "--out", tmp_path / "m", *argv)
    assert rc == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert f"{field}:" in lines[0] and "Traceback" not in err
    assert out == ""
    assert files_under(tmp_path) == before


@pytest.mark.parametrize(("field", "content"), [
    ("LAYOUT", None),  # file missing
    ("LAYOUT", "{ not json"),
    ("layout", "[1, 2]"),
    ("rx", '{"tx": [[0, 0]], "M_t": 4, "M_r": 4, "rho_s_db": 120, "gamma": 2.5}'),
    ("gamma", '{"tx": [[0, 0]], "rx": [[1, 0]], "M_t": 4, "M_r": 4, "rho_s_db": 120, "gamma": -1}'),
])
def test_bad_layout_exit_2_nothing_written(tmp_path, capsys, field, content):
    layout = tmp_path / "layout.json"
    if content is not None:
        layout.write_text(content)
    before = files_under(tmp_path)
    rc, out, err = run_cli(capsys, "map", layout, "--out", tmp_path / "m", *GOOD)
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"netsense: error: {field}:"), err
    assert out == "" and files_under(tmp_path) == before


def test_bad_out_directory_exit_2(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "map", SQUARE, "--out", tmp_path / "missing" / "m", *GOOD)
    assert rc == 2 and err.startswith("netsense: error: --out:") and len(err.splitlines()) == 1
    assert files_under(tmp_path) == set()


def test_failed_write_leaves_no_files(tmp_path, capsys, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    # the zarr store is already written when the figure fails
    monkeypatch.setattr(figures_crlbmap, "plot_crlb_map", disk_full)
    rc, out, err = run_cli(capsys, "map", SQUARE, "--out", tmp_path / "m", *GOOD)
    assert rc == 2 and err.startswith("netsense: error: --out:") and "No space" in err
    assert out == "" and files_under(tmp_path) == set()


# ------------------------------------------------------------------------------------------
# (4) sites on grid points and singular FIMs are masked, not crashing


def test_sites_on_grid_points_are_nan(tmp_path, capsys):
    import xarray as xr

    kw = layout_kw(SQUARE)
    xs = ys = grid_axis(-200.0, 200.0, 10.0)
    g = crlb_grid(xs=xs, ys=ys, **kw)
    on = [(100.0, 0.0), (0.0, 100.0), (-100.0, 0.0), (0.0, -100.0)]  # the TXs; RXs are off-grid
    for x, y in on:
        j, i = int(np.flatnonzero(ys == y)[0]), int(np.flatnonzero(xs == x)[0])
        assert math.isnan(g["crlb_m2"][j, i]) and math.isnan(g["jensen_m2"][j, i])
        assert g["on_site"][j, i]
    assert g["on_site"].sum() == len(on)
    assert np.isfinite(g["crlb_m2"][~g["on_site"]]).all()

    rc, out, err = run_cli(capsys, "map", SQUARE, "--extent", -200, 200, -200, 200, "--step", 10,
                           "--out", tmp_path / "sq")
    assert rc == 0, err
    assert json.loads(out)["masked_points"] == {"on_site": 4, "singular": 0}
    with xr.open_zarr(tmp_path / "sq.zarr") as ds:
        assert math.isnan(float(ds["rmse_m"].sel(x=100.0, y=0.0)))


def test_site_missed_by_grid_rounding_is_masked(tmp_path, capsys):
    """0 + 3 * 0.1 != 0.3 in floats: the CLI still treats the grid point as the site."""
    doc = {"tx": [[0.3, 0.7], [-5.0, 3.0]], "rx": [[0.1, 0.2], [4.0, -2.0]],
           "M_t": 4, "M_r": 4, "rho_s_db": 120, "gamma": 2.5}
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(doc))
    rc, out, err = run_cli(capsys, "map", p, "--extent", 0, 1, 0, 1, "--step", 0.1,
                           "--out", tmp_path / "tiny")
    assert rc == 0, err
    assert json.loads(out)["masked_points"]["on_site"] == 2


def test_collinear_sites_singular_row_is_inf_and_plots(tmp_path, capsys):
    doc = {"name": "line", "tx": [[-50, 0], [50, 0]], "rx": [[0, 0], [100, 0]],
           "M_t": 4, "M_r": 4, "rho_s_db": 120, "gamma": 2.5}
    p = tmp_path / "line.json"
    p.write_text(json.dumps(doc))
    kw = layout_kw(p)
    xs, ys = grid_axis(-100.0, 100.0, 25.0), grid_axis(-50.0, 50.0, 25.0)
    g = crlb_grid(xs=xs, ys=ys, **kw)
    row = g["crlb_m2"][ys == 0.0][0]
    assert np.all(np.isinf(row) | np.isnan(row)) and np.isnan(row).sum() == 4
    assert np.isfinite(g["crlb_m2"][ys != 0.0]).all()
    rc, out, err = run_cli(capsys, "map", p, "--extent", -100, 100, -50, 50, "--step", 25,
                           "--out", tmp_path / "line")
    assert rc == 0, err
    assert json.loads(out)["masked_points"] == {"on_site": 4, "singular": len(xs) - 4}
    assert (tmp_path / "line.png").stat().st_size > 0


def test_all_points_singular_still_writes(tmp_path, capsys):
    """One TX and one RX: G is rank 1 everywhere; a 1 x 1 grid on top of it."""
    doc = {"tx": [[0, 0]], "rx": [[30, 40]], "M_t": 4, "M_r": 4, "rho_s_db": 120, "gamma": 2.5}
    p = tmp_path / "pair.json"
    p.write_text(json.dumps(doc))
    rc, out, err = run_cli(capsys, "map", p, "--extent", 5, 6, 5, 6, "--step", 10,
                           "--out", tmp_path / "pair")
    assert rc == 0, err
    s = json.loads(out)
    assert s["grid"]["points"] == 1 and s["rmse_m"]["min"] is None
    assert (tmp_path / "pair.png").exists() and (tmp_path / "pair.zarr").exists()


# ------------------------------------------------------------------------------------------
# (5) invariance: the square layout is mirror-symmetric in x


def test_square_map_mirror_symmetric_on_grid():
    kw = layout_kw(SQUARE)
    xs = grid_axis(-300.0, 300.0, 7.5)  # symmetric about 0
    ys = grid_axis(-260.0, 190.0, 9.0)
    g = crlb_grid(xs=xs, ys=ys, **kw)["crlb_m2"]
    np.testing.assert_array_equal(np.isnan(g), np.isnan(g[:, ::-1]))
    np.testing.assert_allclose(g[:, ::-1], g, rtol=SYMMETRY_RTOL)


@settings(max_examples=200, deadline=None, derandomize=True)  # the same examples every run
@given(x=st.floats(-500, 500), y=st.floats(-500, 500))
def test_square_map_mirror_symmetric_property(x, y):
    kw = layout_kw(SQUARE)
    sites = np.concatenate([kw["tx_xy"], kw["rx_xy"]])
    assume(np.hypot(sites[:, 0] - x, sites[:, 1] - y).min() > MIN_SITE_DISTANCE_M)
    g = crlb_grid(xs=[x, -x], ys=[y], **kw)
    a, b = g["crlb_m2"][0]
    assert b == pytest.approx(a, rel=SYMMETRY_RTOL)
    a, b = g["jensen_m2"][0]
    assert b == pytest.approx(a, rel=SYMMETRY_RTOL)


# ------------------------------------------------------------------------------------------
# (6) size: 200 x 200 grid, 50 sites (not timed; ~0.1 s of compute)


def test_highway_200x200_grid_runs():
    kw = layout_kw(HIGHWAY)
    assert len(kw["tx_xy"]) + len(kw["rx_xy"]) == 50
    xs = grid_axis(0.0, 1990.0, 10.0)
    ys = grid_axis(-995.0, 995.0, 10.0)
    g = crlb_grid(xs=xs, ys=ys, **kw)
    assert g["crlb_m2"].shape == (200, 200)
    assert np.isfinite(g["crlb_m2"][~g["on_site"]]).all()
    assert (g["crlb_m2"][~g["on_site"]] > 0).all()
    j, i = 100, 100
    want = fisher.crlb(target_xy=[xs[i], ys[j]], **kw)["crlb_m2"]
    assert g["crlb_m2"][j, i] == pytest.approx(float(want), rel=SAME_CODE_RTOL)
