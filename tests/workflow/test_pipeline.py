"""End to end through the real Snakefile on a real multi-process Dask cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from wfhelpers import (
    ROOT,
    SMOKE_CUBE,
    assert_cubes_identical,
    changed,
    cube_arrays,
    make_workdir,
    run_snakemake,
    shard_state,
    smoke_config,
    write_config,
)

import netsense
from netsense.core.closed_form import theorem2_m2
from netsense.core.stats import Z95
from netsense.core.system import SystemParams

pytestmark = pytest.mark.slow

# Closed form in the cube vs an independent evaluation: same formula, float64 rounding.
CLOSED_FORM_RTOL = 1e-13


def test_smoke_end_to_end(workdir):
    cfg = smoke_config()
    proc = run_snakemake(workdir, write_config(workdir, cfg))
    run = workdir / "results" / "smoke"
    for f in ("cube.zarr", "slopes.csv", "slopes.json", "fig1.png", "fig1.pdf",
              "dask-performance.html"):
        assert (run / f).exists(), f
    assert "results/smoke/cube.zarr" in proc.stderr  # where the results are


    ds = netsense.open_cube(run / "cube.zarr")
    assert dict(ds.sizes) == {"sampler": 1, "M": 2, "rho_s_db": 2, "lam": 2, "gamma": 2,
                              "trial": 3000}
    assert ds.sampler.values.tolist() == ["plane-K32"]
    assert ds.attrs["netsense_complete"] is True
    assert ds.crlb_m2.attrs["units"] == "m^2"
    assert json.loads(ds.attrs["config_json"])["seed"] == 7
    # eq. (26) in the cube against an independent evaluation at each cell
    sysp = SystemParams()
    for M in ds.M.values:
        for lam in ds.lam.values:
            for g in ds.gamma.values:
                want = theorem2_m2(M_t=M, M_r=M, rho_s_db=120.0, lam_t=lam, lam_r=lam, gamma=g,
                                   system=sysp)
                got = float(ds.closed_form_m2.sel(M=M, rho_s_db=120.0, lam=lam, gamma=g))
                assert got == pytest.approx(want, rel=CLOSED_FORM_RTOL)
    # one layout serves every (M, rho_s): crlb * M^2 * rho_lin is the same across M and rho
    c = ds.crlb_m2.isel(sampler=0, lam=0, gamma=0).values
    M = ds.M.values[:, None, None].astype(float)
    rho = 10 ** (ds.rho_s_db.values[None, :, None] / 10)
    norm = c * M**2 * rho
    np.testing.assert_allclose(norm, np.broadcast_to(norm[:1, :1], norm.shape), rtol=1e-14)
    # slopes table: all columns, exact slopes along M and rho_s
    header = (run / "slopes.csv").read_text().splitlines()[0].split(",")
    for col in ("sampler", "quantity", "axis", "M", "rho_s_db", "lam", "gamma", "slope", "ci_low",
                "ci_high", "theory", "consistent"):
        assert col in header
    rows = json.loads((run / "slopes.json").read_text())
    for r in rows:
        if r["axis"] in ("M", "rho_s") or r["quantity"] == "closed_form":
            assert r["consistent"], r
    assert_lam_slopes_within_k_sigma(rows, n_gamma=2)
    assert {r["quantity"] for r in rows} == {"crlb", "jensen", "closed_form"}
    assert {r["axis"] for r in rows} == {"rho_s", "M", "lam"}
    # the report builds
    rep = run_snakemake(workdir, write_config(workdir, cfg), "--report",
                        str(run / "report.html"))
    assert rep.returncode == 0 and (run / "report.html").stat().st_size > 10_000


# A Monte Carlo lam slope on the plane sampler against its exact -gamma/2, in its own standard
# errors (the suite's 4-sigma policy; the interval's coverage is tests/analysis/test_fits.py).
K_SIGMA = 4.0


def assert_lam_slopes_within_k_sigma(rows, n_gamma):
    """Every Monte Carlo lam-slope row (eq. 18 and eq. 23, each gamma) within K_SIGMA standard
    errors of theory; the rows exist."""
    lam = [r for r in rows if r["axis"] == "lam" and r["quantity"] in ("crlb", "jensen")]
    assert {(r["quantity"], r["gamma"]) for r in lam} == {
        (q, g) for q in ("crlb", "jensen") for g in {r["gamma"] for r in lam}}
    assert len({r["gamma"] for r in lam}) == n_gamma
    for r in lam:
        se = (r["ci_high"] - r["ci_low"]) / (2 * Z95)
        assert r["theory"] == -r["gamma"] / 2 and se > 0, r
        assert abs(r["slope"] - r["theory"]) <= K_SIGMA * se, r


def test_determinism_workers_shards_scheduler(tmp_path):
    """1 or 2 workers, other shard sizes, the synchronous scheduler: bit-identical cubes."""
    # one gamma (2 cells of 3 blocks: 3, 2 or 1 shard(s) per cell) keeps the runs short; the
    # claim is about scheduling, not about the size of the sweep
    sweep = {"gamma": [4.0]}
    variants = {
        "two_workers": smoke_config(sweep=sweep),
        "one_worker": smoke_config(sweep=sweep, dask={"cluster": "embedded", "n_workers": 1}),
        "shard_1_block": smoke_config(sweep=sweep, shard_blocks=1),
        "shard_5_blocks": smoke_config(sweep=sweep, shard_blocks=5),
        "synchronous": smoke_config(sweep=sweep, dask={"cluster": "synchronous"}),
    }
    cubes = {}
    for name, cfg in variants.items():
        wd = make_workdir(tmp_path / name)
        run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
        cubes[name] = cube_arrays(wd / "results" / "smoke" / "cube.zarr")
    base = cubes.pop("two_workers")
    assert base["gamma"].tolist() == [4.0] and base["lam"].size == 2
    for cube in cubes.values():
        assert_cubes_identical(base, cube)


def test_incremental_reruns(tmp_path):
    wd = make_workdir(tmp_path / "inc")
    run = wd / "results" / "smoke"
    cfg = smoke_config()
    run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
    base = cube_arrays(run / "cube.zarr")
    n_shards = len(shard_state(run))
    assert n_shards == 2 * 2 * 2  # 2 lam x 2 gamma x 2 shards (3 blocks, 2 per shard)

    # 1. one more lam value: only its 2 cells x 2 shards run, 2 x 3 blocks sampled
    s0 = shard_state(run)
    cfg["sweep"]["lam"] = ["1/400", "1/900", "1/1600"]
    run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
    ch = changed(s0, shard_state(run))
    assert len(ch) == 4 and sum(ch.values()) == 6
    # ... and only those 2 cells are written into the cube; the 4 others are linked from the
    # previous cube's snapshot (the final state is compared with a fresh run below)
    assert "2 of 6 cell(s) written from shards, 4 taken from the previous cube" in (
        run / "logs" / "assemble.log").read_text()
    more_lam = cube_arrays(run / "cube.zarr")
    old_idx = [list(more_lam["lam"]).index(v) for v in base["lam"]]
    assert np.array_equal(more_lam["crlb_m2"][:, :, :, old_idx], base["crlb_m2"])  # lam: axis 3

    # 2. raise trials 3000 -> 4500: per cell, block 3 and block 4 are new (2 x 6 cells)
    s0 = shard_state(run)
    cfg["trials"] = 4500
    run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
    ch = changed(s0, shard_state(run))
    assert sum(ch.values()) == 2 * 6
    more_trials = cube_arrays(run / "cube.zarr")
    assert np.array_equal(more_trials["crlb_m2"][..., :3000], more_lam["crlb_m2"])
    assert np.array_equal(more_trials["jensen_m2"][..., :3000], more_lam["jensen_m2"])

    # 3. other rho_s and M lists, and a physical constant: no layout is re-sampled, values
    # follow (crlb ~ f_c^2)
    s0 = shard_state(run)
    cfg["sweep"]["rho_s_db"] = [100, 110, 120]
    cfg["sweep"]["M"] = [1, 2, 4]
    cfg["system"] = {"carrier_hz": 60.0e9}
    run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
    assert changed(s0, shard_state(run)) == {}
    f60 = cube_arrays(run / "cube.zarr")
    # (M, rho_s) = (1 | 4, 110 | 120) are in both: 4 x the 30 GHz values
    at_new, at_old = np.ix_([0], [0, 2], [1, 2]), np.ix_([0], [0, 1], [0, 1])
    np.testing.assert_allclose(f60["crlb_m2"][at_new], 4.0 * more_trials["crlb_m2"][at_old], rtol=1e-14)

    # the final state equals a fresh run of the final config
    fresh = make_workdir(tmp_path / "fresh")
    run_snakemake(fresh, write_config(fresh, cfg), SMOKE_CUBE)
    assert_cubes_identical(f60, cube_arrays(fresh / "results" / "smoke" / "cube.zarr"))

    # 5. seed and sampler re-sample everything; nothing stale is served
    for change in ({"seed": 8}, {"sampler": {"kind": "plane", "nearest": 16}}):
        s0 = shard_state(run)
        cfg.update(change)
        run_snakemake(wd, write_config(wd, cfg), SMOKE_CUBE)
        ch = changed(s0, shard_state(run))
        assert len(ch) == 3 * 2 * 3 and sum(ch.values()) == 3 * 2 * 5
        now = cube_arrays(run / "cube.zarr")
        assert not np.any(now["crlb_m2"] == f60["crlb_m2"])
        f60 = now


def test_readme_run_command_default_config(workdir):
    """`make run` = `netsense run --configfile config/config.yaml`: the default sweep end to end,
    printing where the cube, slopes, figure and report are; run again with nothing to do, it
    prints where they are all the same."""
    def make_run():
        return subprocess.run([str(Path(sys.executable).parent / "netsense"), "run",
                               "--configfile", "config/config.yaml", "--cores", "2"],
                              cwd=workdir, capture_output=True, text=True, timeout=900)

    proc = make_run()
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = workdir / "results" / "default"
    for f in ("cube.zarr", "slopes.csv", "fig1.png", "fig1.pdf", "report.html",
              "estimator/square.png", "estimator/square-offcentre.png"):
        assert (run / f).exists(), f
        assert f"results/default/{f}" in proc.stderr, f
    # its closing lines are the README's, line for line (no placeholder, no second report line)
    readme = (ROOT / "README.md").read_text()
    block = readme.split("`make run` ends by saying where everything is (real output):\n\n```\n",
                         1)[1]
    want = block.split("```", 1)[0].splitlines()
    err = proc.stderr.splitlines()
    tail = err[max(i for i, x in enumerate(err) if x.startswith("netsense: done. Results:")):]
    got = [x for x in tail if x.startswith(("netsense: done", "  ", "netsense: report"))]
    assert got == want
    again = make_run()
    assert again.returncode == 0, again.stderr[-4000:]
    assert "Nothing to be done" in again.stderr
    err = again.stderr.splitlines()
    tail = err[err.index("netsense: up to date. Results:"):]
    assert tail == [want[0].replace("done.", "up to date."), *want[1:]]

    ds = netsense.open_cube(run / "cube.zarr")
    assert dict(ds.sizes) == {"sampler": 1, "M": 4, "rho_s_db": 3, "lam": 4, "gamma": 4,
                              "trial": 40000}
    assert_lam_slopes_within_k_sigma(json.loads((run / "slopes.json").read_text()), n_gamma=4)
