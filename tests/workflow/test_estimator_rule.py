"""The estimator rule (config key estimator): the real workflow runs `netsense estimate` per
layout, and its table equals the estimator API run independently with the same seed."""

from __future__ import annotations

import json

import pytest
from wfhelpers import ROOT, make_workdir, run_snakemake, smoke_config, write_config

from netsense.deploy.estimator import estimator_mc
from netsense.deploy.layout import load_layout

pytestmark = pytest.mark.slow

# Same seed, same streams: the rule's table is the API's to float64 rounding of a mean.
SAME_RTOL = 1e-12


def test_estimator_rule(tmp_path):
    wd = make_workdir(tmp_path / "wd")  # copies data/layouts
    src = ROOT / "data" / "layouts" / "square-offcentre.json"
    cfg = smoke_config(estimator={"layouts": ["data/layouts/square-offcentre.json"],
                                  "rho_s_db": [100, 140], "trials": 1000})
    out = wd / "results" / "smoke" / "estimator"
    run_snakemake(wd, write_config(wd, cfg), str(out.relative_to(wd) / "square-offcentre.png"))
    assert (out / "square-offcentre.png").stat().st_size > 20_000
    rows = json.loads((out / "square-offcentre.json").read_text())["rows"]
    ref = estimator_mc(load_layout(src)[0], [100.0, 140.0], 1000, cfg["seed"])
    assert [r["rho_s_db"] for r in rows] == [100.0, 140.0]
    for got, want in zip(rows, ref, strict=True):
        assert got["mse_m2"] == pytest.approx(want["mse_m2"], rel=SAME_RTOL)
        assert got["crlb_m2"] == pytest.approx(want["crlb_m2"], rel=SAME_RTOL)


def test_estimator_layout_missing_is_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    wd = make_workdir(tmp_path / "wd")
    cfg = smoke_config(estimator={"layouts": ["data/layouts/nowhere.json"], "rho_s_db": [100]})
    p = write_config(wd, cfg)
    exe = Path(sys.executable).parent / "netsense"
    proc = subprocess.run([str(exe), "validate", str(p)], cwd=wd, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("netsense: error: estimator.layouts[0]: got "
                                   "'data/layouts/nowhere.json'; file not found (paths are "
                                   "relative to the working directory, where results/ go)")
    assert not (wd / "results").exists()
