"""The console script ``netsense`` (crlb | theory | mc), run as a subprocess."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import netsense
from netsense import PlaneSampler
from netsense.core.mc import mc_point

REPO = Path(__file__).resolve().parents[2]
SQUARE = REPO / "data" / "layouts" / "square.json"
GOLDEN_PATH = Path(__file__).parents[1] / "golden" / "closed_form.json"
NETSENSE = Path(sys.executable).parent / "netsense"
C = 299792458.0

# Golden comparison: see tests/core/test_closed_form.py (float64 gammaln/exp vs 50-digit mpmath).
GOLDEN_RTOL = 1e-13
# Hand-worked square layout: a handful of float operations in another order.
HAND_RTOL = 1e-13
# (M_t M_r)^(gamma/2 - 1) vs the ratio of two float64 Theorem 2 values (each ~1e-14 relative).
RATIO_RTOL = 1e-12
SUBPROCESS_TIMEOUT_S = 60


def run(*args):
    return subprocess.run([str(NETSENSE), *map(str, args)], capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S, cwd=REPO)


def golden_theorem2(**match):
    rows = json.loads(GOLDEN_PATH.read_text())["theorem2"]  # missing file -> test fails
    hits = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(hits) == 1, match
    return float(hits[0]["value_m2"])


def golden_lemma3(lam, gamma):
    rows = json.loads(GOLDEN_PATH.read_text())["lemma3"]
    hits = [r for r in rows if r["lam_per_m2"] == lam and r["gamma"] == gamma]
    assert len(hits) == 1
    return float(hits[0]["value"])


def assert_one_line_error(proc, field):
    assert proc.returncode != 0
    err = proc.stderr
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    # InputError prints "field: got ...", argparse prints "argument field: ..."
    assert f"{field}:" in lines[0], f"field {field!r} not named in: {lines[0]}"
    assert "Traceback" not in err
    assert proc.stdout == ""


# ------------------------------------------------------------------------------------------
# Happy paths


def test_crlb_square_layout():
    proc = run("crlb", SQUARE)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    doc = json.loads(SQUARE.read_text())
    inproc = netsense.crlb(doc["tx"], doc["rx"], doc["target"], M_t=4, M_r=4, rho_s_db=120,
                           gamma=2.5)
    assert out["crlb_m2"] == float(inproc["crlb_m2"])
    assert out["jensen_m2"] == float(inproc["jensen_m2"])
    # and by hand: c^2/(M_t M_r eta) * 2/(A_t A_r), A = 4 * 100^-2.5
    beta = 2e9 / math.sqrt(12.0)
    # eta above eq. (21) of the paper (derived from eq. 2 and 13: tests/core/test_theorem2_derivation.py)
    eta = 8 * math.pi**2 * 1e12 * beta**2 * C**2 / ((4 * math.pi) ** 3 * (30e9) ** 2)
    want = C**2 / (16 * eta) * 2 / (4 * 100.0**-2.5) ** 2
    assert out["crlb_m2"] == pytest.approx(want, rel=HAND_RTOL)
    assert out["rmse_m"] == pytest.approx(math.sqrt(want), rel=HAND_RTOL)
    assert out["n_tx"] == 4 and out["n_rx"] == 4
    assert out["system"]["beta_hz"] == pytest.approx(beta, rel=HAND_RTOL)


def test_theory_matches_golden():
    proc = run("theory", "--rho-s-db", 120, "--lam-t", "1/900", "--lam-r", "1/900",
               "--gamma", 2.5)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    want = golden_theorem2(lam_t=1 / 900, lam_r=1 / 900, gamma=2.5, M_t=4, M_r=4,
                           rho_s_db=120.0, beta_hz=None)
    assert out["closed_form_m2"] == pytest.approx(want, rel=GOLDEN_RTOL)
    assert out["lemma3_tx"] == pytest.approx(golden_lemma3(1 / 900, 2.5), rel=GOLDEN_RTOL)
    assert out["ratio_mimo_over_single"] == pytest.approx(16 ** 0.25, rel=RATIO_RTOL)
    assert out["eq30_holds"] is True


def test_theory_with_paper_beta_matches_golden():
    proc = run("theory", "--rho-s-db", 100, "--lam-t", "0.01", "--lam-r", "0.0001",
               "--gamma", 4, "--M-t", 2, "--M-r", 8, "--effective-bandwidth-hz", 0.577e9)
    assert proc.returncode == 0, proc.stderr
    want = golden_theorem2(lam_t=1e-2, lam_r=1e-4, gamma=4.0, M_t=2, M_r=8, rho_s_db=100.0,
                           beta_hz=0.577e9)
    assert json.loads(proc.stdout)["closed_form_m2"] == pytest.approx(want, rel=GOLDEN_RTOL)


def test_mc_json_small_run():
    args = dict(lam="1/900", gamma=2.5, trials=2000, block_trials=1000, seed=3, nearest=16)
    proc = run("mc", "--lam", args["lam"], "--gamma", args["gamma"], "--trials", args["trials"],
               "--block-trials", args["block_trials"], "--seed", args["seed"], "--nearest",
               args["nearest"], "--json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["point"]["trials"] == 2000 and out["crlb_m2"]["n"] == 2000
    want = golden_theorem2(lam_t=1 / 900, lam_r=1 / 900, gamma=2.5, M_t=4, M_r=4,
                           rho_s_db=120.0, beta_hz=None)
    assert out["closed_form_m2"] == pytest.approx(want, rel=GOLDEN_RTOL)
    inproc = mc_point(lam=1 / 900, gamma=2.5, M=4, rho_s_db=120.0, trials=2000, seed=3,
                      sampler=PlaneSampler(nearest=16), block_trials=1000)
    assert out["crlb_m2"] == inproc["crlb_m2"]
    assert out["jensen_m2"] == inproc["jensen_m2"]


def test_mc_text_output():
    proc = run("mc", "--lam", "1/900", "--gamma", 3, "--trials", 200, "--block-trials", 100,
               "--nearest", 8, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "Theorem 2" in proc.stdout and "eq. (18)" in proc.stdout


# ------------------------------------------------------------------------------------------
# Bad input: non-zero exit, exactly one stderr line naming the field


def _square():
    return json.loads(SQUARE.read_text())


def _bad_layouts():
    cases = {}
    d = _square()
    d["tx"] = []
    cases["empty-tx"] = (d, "tx")
    d = _square()
    del d["gamma"]
    cases["missing-key"] = (d, "gamma")
    d = _square()
    d["tx"][1][0] = "a"
    cases["non-numeric-coordinate"] = (d, "tx[1][0]")
    d = _square()
    d["rx"][2] = list(d["target"])
    cases["node-on-target"] = (d, "rx[2]")
    d = _square()
    d["tx"] = [[100, 0], [-40, 0]]
    d["rx"] = [[250, 0], [-10, 0]]
    cases["collinear-axis"] = (d, "layout")
    d = _square()
    d["tx"] = [[30, 70]]
    d["rx"] = [[-150, -350]]
    cases["collinear-oblique"] = (d, "layout")
    d = _square()
    d["antennas"] = 4
    cases["unknown-key"] = (d, "antennas")
    d = _square()
    d["M_t"] = "four"
    cases["M_t-wrong-type"] = (d, "M_t")
    d = _square()
    d["M_t"] = 2.5
    cases["M_t-not-integer"] = (d, "M_t")
    d = _square()
    d["system"] = {"carrier_hz": -3}
    cases["negative-carrier"] = (d, "system.carrier_hz")
    return cases


BAD_LAYOUTS = _bad_layouts()


@pytest.mark.parametrize("name", sorted(BAD_LAYOUTS))
def test_crlb_bad_layout(name, tmp_path):
    doc, field = copy.deepcopy(BAD_LAYOUTS[name])
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    proc = run("crlb", path)
    assert_one_line_error(proc, field)
    if name.startswith("collinear"):
        assert "collinear" in proc.stderr


def test_crlb_invalid_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"tx": [[1, 2]],')
    assert_one_line_error(run("crlb", path), "LAYOUT")


def test_crlb_missing_file(tmp_path):
    assert_one_line_error(run("crlb", tmp_path / "nope.json"), "LAYOUT")


@pytest.mark.parametrize("args,field", [
    (["--gamma", "2"], "gamma"),
    (["--gamma", "1.5"], "gamma"),
    (["--gamma", "2.5", "--lam-t=-1/900"], "--lam-t"),
    (["--gamma", "2.5", "--lam-r=0"], "--lam-r"),
    (["--gamma", "2.5", "--M-t", "0"], "--M-t"),
    (["--gamma", "abc"], "--gamma"),
], ids=["gamma-2", "gamma-1.5", "negative-lam-t", "zero-lam-r", "M-t-zero", "gamma-text"])
def test_theory_bad_input(args, field):
    base = {"--rho-s-db": "120", "--lam-t": "1/900", "--lam-r": "1/900"}
    given = {a.split("=")[0] for a in args if a.startswith("--")}
    argv = ["theory"]
    for k, v in base.items():
        if k not in given:
            argv += [k, v]
    assert_one_line_error(run(*argv, *args), field)


@pytest.mark.parametrize("args,field", [
    (["--lam=-0.001", "--gamma", "2.5"], "--lam"),
    (["--lam=-1/900", "--gamma", "2.5"], "--lam"),
    (["--lam", "1/900", "--gamma", "2"], "--gamma"),
    (["--lam", "1/900", "--gamma", "2.5", "--trials", "1"], "trials"),
    (["--lam", "1/900", "--gamma", "2.5", "--M", "0"], "M"),
    (["--lam", "1/900", "--gamma", "2.5", "--sampler", "hex"], "--sampler"),
], ids=["negative-lam", "negative-lam-fraction", "gamma-2", "trials-1", "M-0", "bad-sampler"])
def test_mc_bad_input(args, field):
    assert_one_line_error(run("mc", *args, "--trials", "10", "--block-trials", "10")
                          if "--trials" not in args else run("mc", *args), field)
