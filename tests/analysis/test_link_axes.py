"""Link models as declared sweep axes (issue 29): ``sweep.height_m`` (or ``height_t_m`` and
``height_r_m``), ``sweep.blockage_per_m``, ``sweep.shadowing_db``.

A cell at a link value samples its entry's sampler with that value set: on small real cubes
(tests/analysis/conftest.py's ``build``: real shard runner, real assembly) every trial of
crlb_m2 and jensen_m2 at each (M, rho_s, lam, gamma) is bit for bit that of a cube whose sampler
entry gives the same value, with the same seed; the value 0 gives the plain entry's trials. The
cube's ``sampler`` coordinate keeps the entry's label, the link axis is a dim after gamma with
its units. A separate pair of heights with tied densities keeps the tied cell's one stream (as
the entry with two heights does).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import build

import netsense
from netsense.pipeline.axes import AXES
from netsense.pipeline.plan import cells

BASE = {
    "name": "lk", "seed": 37, "trials": 240, "block_trials": 120, "shard_blocks": 2,
    "sweep": {"M": [1, 4], "rho_s_db": [110, 120], "lam": ["1/900", "4/900"], "gamma": [3.0]},
    "sampler": {"kind": "plane", "nearest": 8},
}
VARS = ("crlb_m2", "jensen_m2")


def _raw(sweep=None, entry=None) -> dict:
    raw = copy.deepcopy(BASE)
    raw["sweep"].update(sweep or {})
    raw["sampler"].update(entry or {})
    return raw


def _same_trials(axis_cube, entry_cube, at: dict) -> None:
    a = netsense.open_cube(axis_cube.path)
    e = netsense.open_cube(entry_cube.path)
    (label,) = a["sampler"].values
    assert label == "plane-K8"  # the entry's label, whatever the link value
    for v in VARS:
        x = a[v].sel(sampler=label, **at).transpose("M", "rho_s_db", "lam", "gamma", "trial")
        y = e[v].isel(sampler=0).transpose("M", "rho_s_db", "lam", "gamma", "trial")
        assert x.shape == y.shape == (2, 2, 2, 1, 240)
        assert np.array_equal(x.values, y.values, equal_nan=True), (v, at)
        assert np.isfinite(y.values).mean() > 0.5  # the comparison compares numbers


@pytest.fixture(scope="module")
def plain_cube(tmp_path_factory):
    return build(_raw(), tmp_path_factory.mktemp("plain"))


@pytest.fixture(scope="module")
def height_cube(tmp_path_factory):
    return build(_raw({"height_m": [0, 10]}), tmp_path_factory.mktemp("h-axis"))


def test_height_axis_is_the_entry_bit_for_bit(height_cube, plain_cube, tmp_path):
    entry = build(_raw(entry={"height_m": 10}), tmp_path / "entry")
    _same_trials(height_cube, entry, {"height_m": 10.0})
    _same_trials(height_cube, plain_cube, {"height_m": 0.0})


def test_height_axis_is_a_dim_after_gamma_with_units(height_cube):
    ds = netsense.open_cube(height_cube.path)
    assert ds["crlb_m2"].dims == ("sampler", "M", "rho_s_db", "lam", "gamma", "height_m", "trial")
    assert list(ds["height_m"].values) == [0.0, 10.0]
    assert ds["height_m"].attrs["units"] == "m" == AXES["height_m"].units
    assert list(ds["sampler"].values) == ["plane-K8"]
    # the closed form (Theorem 2: the ideal link's) at every height
    cf = ds["closed_form_m2"]
    assert np.array_equal(cf.sel(height_m=0.0).values, cf.sel(height_m=10.0).values)


@pytest.mark.parametrize("axis, value", [("blockage_per_m", 0.02), ("shadowing_db", 6.0)])
def test_blockage_and_shadowing_axes_are_the_entry_bit_for_bit(axis, value, tmp_path):
    raw = _raw({axis: [0, value]})
    raw["sweep"]["lam"] = ["4/900"] if axis == "blockage_per_m" else raw["sweep"]["lam"]
    ax = build(raw, tmp_path / "axis")
    ent = copy.deepcopy(raw)
    del ent["sweep"][axis]
    ent["sampler"][axis] = value
    a = netsense.open_cube(ax.path)
    e = netsense.open_cube(build(ent, tmp_path / "entry").path)
    assert a["sampler"].values.tolist() == ["plane-K8"]
    for v in VARS:
        x = a[v].sel(sampler="plane-K8", **{axis: value}).transpose(*e[v].isel(sampler=0).dims)
        y = e[v].isel(sampler=0)
        assert np.array_equal(x.values, y.values, equal_nan=True), v
        assert np.isfinite(y.values).mean() > 0.5


def test_separate_heights_keep_the_tied_stream(tmp_path):
    raw = _raw({"height_t_m": [25], "height_r_m": [6]})
    ax = build(raw, tmp_path / "axis")
    assert not any(c.sides for c in cells(ax.cfg))  # one stream per cell: densities are tied
    ent = build(_raw(entry={"height_t_m": 25, "height_r_m": 6}), tmp_path / "entry")
    _same_trials(ax, ent, {"height_t_m": 25.0, "height_r_m": 6.0})


def test_fits_lam_slopes_per_height_none_along_it(height_cube, tmp_path):
    from netsense.analysis.fits import fit_slopes

    ds = netsense.open_cube(height_cube.path)
    rows = fit_slopes(ds)
    assert "height_m" not in {r["axis"] for r in rows}
    lam = [r for r in rows if r["axis"] == "lam" and r["quantity"] == "crlb"]
    assert sorted({r["height_m"] for r in lam}) == [0.0, 10.0]
    # each height's lam slopes are those of the entry with that height
    entry = netsense.open_cube(build(_raw(entry={"height_m": 10}), tmp_path / "e").path)
    want = {(r["M"], r["rho_s_db"]): r["slope"] for r in fit_slopes(entry)
            if r["axis"] == "lam" and r["quantity"] == "crlb"}
    got = {(r["M"], r["rho_s_db"]): r["slope"] for r in lam if r["height_m"] == 10.0}
    assert got == want


def test_a_blockage_axis_has_no_mean_of_eq18_unless_selected_at_zero(tmp_path):
    from netsense.analysis.estimates import mean_finite

    ds = netsense.open_cube(build(_raw({"blockage_per_m": [0, 0.02]}), tmp_path / "b").path)
    assert mean_finite(ds) == {"plane-K8": False}
    assert mean_finite(ds.sel(blockage_per_m=0.0)) == {"plane-K8": True}
    assert mean_finite(ds.sel(blockage_per_m=0.02)) == {"plane-K8": False}


LAW = {"name": "lw", "seed": 31, "trials": 240, "block_trials": 120, "shard_blocks": 2,
       "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/3600", "1/900", "1/225"],
                 "gamma": [2.5, 4.0]}}


def test_lawwindow_draws_a_height_axis_as_the_entries(tmp_path):
    from netsense.analysis.studies import STUDIES, StudyInput

    ax = copy.deepcopy(LAW)
    ax["sweep"]["height_m"] = [0, 10]
    ax["sampler"] = {"kind": "plane", "nearest": 8}
    ent = copy.deepcopy(LAW)
    ent["sampler"] = [{"kind": "plane", "nearest": 8}, {"kind": "plane", "nearest": 8,
                                                        "height_m": 10}]
    ref = {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": 2.5}
    a = STUDIES["lawwindow"].rows(StudyInput(netsense.open_cube(build(ax, tmp_path / "a").path),
                                             {**ref, "height_m": 0.0}))
    e = STUDIES["lawwindow"].rows(StudyInput(netsense.open_cube(build(ent, tmp_path / "e").path),
                                             ref))
    assert len(a) == len(e) == 2 * 2 * 2  # (height, gamma, lam pair)
    key = lambda r: (r["height_t_m"], r["gamma"], r["lam_low"])  # noqa: E731
    for x, y in zip(sorted(a, key=key), sorted(e, key=key), strict=True):
        assert x["sampler"] == "plane-K8"
        assert {k: v for k, v in x.items() if k != "sampler"} == pytest.approx(
            {k: v for k, v in y.items() if k != "sampler"}, rel=0, abs=0, nan_ok=True)
