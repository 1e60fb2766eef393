"""Fixed layouts with antenna heights: [x, y, z] nodes in netsense.crlb, ``crlb``, ``map`` and
``estimate`` (the target's altitude known, the CRLB on its ground position).

References: the delay model written out in 3-D and differentiated by finite differences (the
FIM of eq. 15 from those gradients), the literal double sum of eq. (15) (crlb_direct), the 2-D
layout (a 3-D layout at z = 0 and one lifted by a common z), and the CRLB for the estimator's
efficiency at high SNR.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from netsense.cli.main import main as cli_main
from netsense.core.fisher import crlb, crlb_direct
from netsense.core.system import DEFAULT_SYSTEM, db_to_lin
from netsense.deploy import estimator as est
from netsense.deploy.crlbmap import crlb_grid
from netsense.deploy.layout import load_layout, parse_layout
from netsense.errors import InputError

C = 299792458.0
KW = dict(M_t=4, M_r=4, rho_s_db=120.0, gamma=2.5)
# Masts: 3 TXs at 25-30 m, 4 RXs at 6-12 m, target at 1.5 m.
TX = [[120.0, 10.0, 30.0], [-40.0, 90.0, 25.0], [-80.0, -60.0, 28.0]]
RX = [[60.0, -90.0, 10.0], [-100.0, 20.0, 6.0], [30.0, 110.0, 12.0], [90.0, 60.0, 8.0]]
TARGET = [5.0, -8.0, 1.5]
# Finite differences of the 3-D delay, central with step 1e-4 m: truncation ~1e-10 relative,
# rounding ~1e-12 (as tests/deploy/test_estimator.py): 1e-7 leaves a wide margin.
FD_STEP_M, FD_RTOL = 1e-4, 1e-7
# The same FIM summed in another order, or 3-D norms with z = 0 against hypot: a few ulps.
SUM_RTOL = 1e-12
# Zero-noise initializer: rounding amplified by the condition number (tests/deploy/test_estimator.py).
INIT_ATOL_M = 1e-9
Z_TOL = 4.0


def delay_s(node, d_xy, z):
    return math.dist(node, [d_xy[0], d_xy[1], z]) / C


def test_3d_crlb_is_the_fim_of_the_3d_delays_on_the_ground_position():
    """FIM from finite-difference gradients of the 3-D delays with respect to (x, y), the
    per-delay information of eq. (13) with 3-D path losses: eq. (18) = tr(S^-1)."""
    scale_info = 1.0 / float(DEFAULT_SYSTEM.error_scale_m2(4, 4, db_to_lin(120.0)))
    S = np.zeros((2, 2))
    z = TARGET[2]
    for t in TX:
        for r in RX:
            grad = np.empty(2)
            for i in range(2):
                e = np.zeros(2)
                e[i] = FD_STEP_M
                up = delay_s(t, TARGET[:2] + e, z) + delay_s(r, TARGET[:2] + e, z)
                down = delay_s(t, TARGET[:2] - e, z) + delay_s(r, TARGET[:2] - e, z)
                grad[i] = (up - down) / (2 * FD_STEP_M)
            w = math.dist(t, TARGET) ** -2.5 * math.dist(r, TARGET) ** -2.5  # 3-D path losses
            S += scale_info * w * C**2 * np.outer(grad, grad)  # eq. (15), v = grad tau
    got = crlb(TX, RX, TARGET, **KW)["crlb_m2"]
    assert got == pytest.approx(np.trace(np.linalg.inv(S)), rel=FD_RTOL)
    assert got == pytest.approx(crlb_direct(TX, RX, TARGET, **KW), rel=SUM_RTOL)


def test_flat_3d_layouts_are_the_2d_layout():
    flat = crlb([p[:2] for p in TX], [p[:2] for p in RX], TARGET[:2], **KW)
    at_zero = crlb([[*p[:2], 0.0] for p in TX], [p[:2] for p in RX], TARGET[:2], **KW)
    lifted = crlb([[*p[:2], 50.0] for p in TX], [[*p[:2], 50.0] for p in RX],
                  [*TARGET[:2], 50.0], **KW)
    for v in ("crlb_m2", "jensen_m2"):
        assert float(at_zero[v]) == pytest.approx(float(flat[v]), rel=SUM_RTOL)
        assert float(lifted[v]) == pytest.approx(float(flat[v]), rel=SUM_RTOL)
    # heights lower the horizontal information: the CRLB grows
    assert float(crlb(TX, RX, TARGET, **KW)["crlb_m2"]) > float(flat["crlb_m2"])


def test_layout_json_takes_xyz_points_and_pads_missing_z():
    doc = {"tx": [[0, 100, 20], [100, 0]], "rx": [[-100, 0], [0, -100, 5]], "target": [1, 2],
           **KW}
    kw = parse_layout(doc)
    assert kw["tx_xy"] == [[0.0, 100.0, 20.0], [100.0, 0.0, 0.0]]
    assert kw["target_xy"] == [1.0, 2.0, 0.0]
    flat = parse_layout({**doc, "tx": [[0, 100], [100, 0]], "rx": [[-100, 0], [0, -100]]})
    assert flat["tx_xy"] == [[0.0, 100.0], [100.0, 0.0]] and flat["target_xy"] == [1.0, 2.0]
    m = parse_layout({**doc, "target": [0, 0, 1.5]}, target=False)
    assert "target_xy" not in m and m["target_z_m"] == 1.5
    for bad, field in (({"tx": [[0, 1, 2, 3]]}, "tx[0]"), ({"target": [0]}, "target"),
                       ({"rx": [[0, 1], [0, "z", 1]]}, "rx[1][1]")):
        with pytest.raises(InputError) as exc:
            parse_layout({**doc, **bad})
        assert exc.value.field == field and "\n" not in str(exc.value)


def test_map_with_heights_equals_crlb_at_each_target():
    xs, ys = np.array([-30.0, 0.0, 45.0]), np.array([-20.0, 10.0])
    g = crlb_grid(TX, RX, xs, ys, target_z_m=TARGET[2], **KW)
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            want = crlb(TX, RX, [x, y, TARGET[2]], **KW)
            assert g["crlb_m2"][j, i] == pytest.approx(float(want["crlb_m2"]), rel=SUM_RTOL)
            assert g["jensen_m2"][j, i] == pytest.approx(float(want["jensen_m2"]), rel=SUM_RTOL)
    # a target right below a mast is no site (3-D distance > 0): finite, not masked
    below = crlb_grid(TX, RX, [TX[0][0]], [TX[0][1]], **KW)
    assert np.isfinite(below["crlb_m2"]).all() and not below["on_site"].any()


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli_main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def test_cli_crlb_and_map_with_a_3d_layout(tmp_path):
    path = tmp_path / "masts.json"
    path.write_text(json.dumps({"tx": TX, "rx": RX, "target": TARGET, **KW}))
    rc, out, err = run_cli("crlb", path)
    assert rc == 0, err
    assert json.loads(out)["crlb_m2"] == pytest.approx(float(crlb(TX, RX, TARGET, **KW)["crlb_m2"]),
                                                       rel=SUM_RTOL)
    rc, out, err = run_cli("map", path, "--extent", -20, 20, -20, 20, "--step", 20, "--out",
                           tmp_path / "m")
    assert rc == 0, err
    import xarray as xr

    with xr.open_zarr(tmp_path / "m.zarr") as ds:
        assert json.loads(ds.attrs["layout"])["target_z_m"] == TARGET[2]
        v = float(ds["crlb_m2"].sel(x=20.0, y=-20.0))
    assert v == pytest.approx(float(crlb(TX, RX, [20.0, -20.0, TARGET[2]], **KW)["crlb_m2"]),
                              rel=SUM_RTOL)


def test_estimator_with_heights_is_exact_without_noise_and_efficient_at_high_snr(tmp_path):
    kw = load_layout_from(tmp_path, {"tx": TX, "rx": RX, "target": TARGET, **KW,
                                     "rho_s_db": 140.0})
    tx, rx, target, z = est._layout_arrays(kw)
    assert z == TARGET[2] and tx.shape == (3, 3)
    r = est.bistatic_ranges_m(tx, rx, target, z)
    want = np.array([[math.dist(t, TARGET) + math.dist(q, TARGET) for q in RX] for t in TX])
    np.testing.assert_allclose(r, want, rtol=1e-14)
    sigma = est.range_noise_std_m(tx, rx, target, M_t=4, M_r=4, rho_s_db=140.0, gamma=2.5,
                                  target_z_m=z)
    np.testing.assert_allclose(est.init_closed_form(tx, rx, r, sigma, target_z_m=z), target,
                               rtol=0, atol=INIT_ATOL_M)
    S = est.fim_range(tx, rx, target, sigma, target_z_m=z)
    assert np.trace(np.linalg.inv(S)) == pytest.approx(
        float(crlb(TX, RX, TARGET, **{**KW, "rho_s_db": 140.0})["crlb_m2"]), rel=1e-10)
    row = est.estimator_mc(kw, [140.0], 4000, 7)[0]
    assert row["nonconverged_fraction"] == 0.0
    lo, hi = row["ratio_ci95"]
    assert lo - 0.02 <= 1.0 <= hi + 0.02  # efficient: MSE = CRLB within the interval (+-2%)


def load_layout_from(tmp_path: Path, doc: dict) -> dict:
    p = tmp_path / "layout.json"
    p.write_text(json.dumps(doc))
    return load_layout(p)[0]


def test_bad_3d_layout_through_the_cli_is_one_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"tx": [[0, 1, 2, 3]], "rx": RX, "target": TARGET, **KW}))
    rc, out, err = run_cli("crlb", path)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and "tx[0]" in err
