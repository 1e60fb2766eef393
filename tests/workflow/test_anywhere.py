"""A sweep in the user's own folder, from a plain (non-editable) `pip install` of netsense into a
fresh virtual environment: the workflow, its schema, profiles and report captions and the example
configs all come from the installed package, and results/ go to that folder.

The fresh environment gets netsense from a wheel built from a copy of this checkout (the
package's own build, with its package data) and nothing else of the checkout: its dependencies
are those of the test environment, reached through a .pth file that adds the test environment's
site-packages after its own (so the installed copy of netsense is the one imported, never the
checkout's editable one)."""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from wfhelpers import ROOT, RUN_TIMEOUT_S

import netsense

pytestmark = pytest.mark.slow

# Cube value = scale x geometric factor of the same block: float64 rounding of one product.
VALUE_RTOL = 1e-13
PIP_TIMEOUT_S = 600  # builds a wheel (its build backend from the package index) and installs it


def _fresh_venv(base: Path) -> Path:
    """A venv with netsense installed from a wheel of this checkout; returns its bin/."""
    src = base / "checkout"
    src.mkdir()
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "src", src / "src",
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], check=True, capture_output=True, text=True
                             ).stdout.strip()
    # the dependencies: the test environment's site-packages, after the fresh one's own
    Path(purelib, "test-env-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install",
                           "--no-deps", "--quiet", str(src)], capture_output=True, text=True,
                          timeout=PIP_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shutil.rmtree(src)  # nothing of the checkout is left to find
    return venv / "bin"


def test_pip_installed_netsense_runs_a_sweep_in_a_folder_of_its_own(tmp_path):
    bindir = _fresh_venv(tmp_path)
    where = subprocess.run([str(bindir / "python"), "-c",
                            "import netsense; print(netsense.__file__)"],
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "venv"), where  # the installed copy, not ROOT

    user = tmp_path / "my-project"
    user.mkdir()
    init = subprocess.run([str(bindir / "netsense"), "init"], cwd=user, capture_output=True,
                          text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    cfg = yaml.safe_load((user / "config" / "smoke.yaml").read_text())
    cfg["name"] = "mine"
    cfg["estimator"] = {"layouts": ["data/layouts/square.json"], "rho_s_db": [120],
                        "trials": 200}
    (user / "sweep.yaml").write_text(yaml.safe_dump(cfg))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no venv on PATH: jobs find it
    proc = subprocess.run([str(bindir / "netsense"), "run", "--configfile", "sweep.yaml",
                           "--cores", "2", "--no-report"], cwd=user, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, env=env)
    assert proc.returncode == 0, proc.stderr[-6000:]
    run = user / "results" / "mine"
    for f in ("cube.zarr", "slopes.csv", "fig1.png", "findings.json", "estimator/square.png"):
        assert (run / f).exists(), f
    assert "netsense: done. Results:" in proc.stderr
    assert (user / ".snakemake").is_dir() and not (ROOT / "results" / "mine").exists()
    # the installed copy computes what the checkout computes: block 1 of a cell, bit for bit
    # up to the one product by the (M, rho_s) scale
    from netsense.core.blocks import simulate_block
    from netsense.pipeline.config import resolve

    sweep = resolve({k: v for k, v in cfg.items() if k != "estimator"})
    lam, gamma = sweep.lam[0], sweep.gamma[-1]
    ref = simulate_block(sweep.seed, sweep.samplers[0], lam, gamma, 1, sweep.block_trials)
    scale = sweep.system.error_scale_m2(sweep.M[0], sweep.M[0], 10 ** (sweep.rho_s_db[0] / 10))
    with netsense.open_cube(run / "cube.zarr") as ds:
        got = ds.crlb_m2.sel(sampler=sweep.sampler_labels[0], M=sweep.M[0],
                             rho_s_db=sweep.rho_s_db[0], lam=lam, gamma=gamma).values
    bt = sweep.block_trials
    np.testing.assert_allclose(got[bt:2 * bt], scale * ref["g18"], rtol=VALUE_RTOL)
