"""Separate lam_t/lam_r and M_t/M_r axes through the real Snakefile and a multi-process Dask
cluster: the asymmetric smoke sweep end to end, its slopes against theory, a new lam_r value
that samples only its RX sides, and the CLI on the cube's own axes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from wfhelpers import CONFIGS, make_workdir, run_snakemake, write_config

from netsense.pipeline.store import load_arrays

pytestmark = pytest.mark.slow

ASYM = yaml.safe_load((CONFIGS / "asymmetric-smoke.yaml").read_text())
# A Monte Carlo slope against its theory, in standard errors (the suite's 4-sigma policy); the
# standard error is the 95% interval's half-width over the normal quantile.
SLOPE_SIGMAS = 4.0
Z95 = 1.959963984540054


def _config(**over) -> dict:
    cfg = json.loads(json.dumps(ASYM))
    cfg["dask"] = {"cluster": "embedded", "n_workers": 2}
    cfg.update(over)
    return cfg


def _sides_sampled(run) -> dict:
    """{shard file: (mtime_ns, its side_blocks_sampled)}."""
    out = {}
    for f in sorted((run / "shards").glob("*/*.npz")):
        _, meta = load_arrays(f)
        out[str(f.relative_to(run))] = (f.stat().st_mtime_ns, meta["side_blocks_sampled"])
    return out


@pytest.fixture(scope="module")
def asym_run(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("asym") / "wd")
    cfgfile = write_config(wd, _config(), "asym.yaml")
    run_snakemake(wd, cfgfile)
    return wd, cfgfile, wd / "results" / ASYM["name"]


def test_end_to_end_outputs_and_slopes(asym_run):
    _, _, run = asym_run
    for f in ("cube.zarr", "slopes.csv", "asymmetric.png", "asymmetric.csv", "findings.json"):
        assert (run / f).exists(), f
    findings = json.loads((run / "findings.json").read_text())
    assert findings["reference"] == {"M_t": 4, "M_r": 4, "rho_s_db": 120.0,
                                     "lam_t": 1 / 900, "lam_r": 1 / 900, "gamma": 2.5}
    views = {r["view"] for r in findings["asymmetric"]}
    assert views == {"ratio", "sec2c"}
    slopes = json.loads((run / "slopes.json").read_text())
    mc = [r for r in slopes if r["quantity"] != "closed_form"
          and r["axis"] in ("lam_t", "lam_r", "lam_t*lam_r")]
    assert {r["axis"] for r in mc} == {"lam_t", "lam_r", "lam_t*lam_r"}
    for r in mc:  # plane sampler: E[eq. 18] and E[eq. 23] scale exactly as lam^(-gamma/2)
        se = (r["ci_high"] - r["ci_low"]) / (2 * Z95)
        assert abs(r["slope"] - r["theory"]) <= SLOPE_SIGMAS * se, r
    # Section II-C from the cube: MIMO / single antenna of E[eq. 18] against eq. (29); on the
    # plane E[eq. 18] / Theorem 2 depends on gamma only, so the ratio is eq. (29)'s
    sec = [r for r in findings["asymmetric"] if r["view"] == "sec2c"]
    assert sec
    for r in sec:
        se = (r["crlb_ratio_ci_high"] - r["crlb_ratio_ci_low"]) / (2 * Z95)
        assert abs(r["crlb_ratio"] - r["theory_ratio"]) <= SLOPE_SIGMAS * se, r


def test_cli_queries_separate_axes(asym_run):
    wd, _, run = asym_run
    exe = [sys.executable, "-m", "netsense"]
    q = subprocess.run([*exe, "query", str(run / "cube.zarr"), "--where", "lam_t=1/900",
                        "--where", "M_t=4", "--where", "M_r=1", "--where", "gamma=2.5",
                        "--var", "crlb_m2", "--format", "json"], cwd=wd, capture_output=True,
                       text=True, timeout=300)
    assert q.returncode == 0, q.stderr
    rows = json.loads(q.stdout)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert len(rows) == 2 and {r["lam_r"] for r in rows} == {1 / 900, 1 / 225}
    bad = subprocess.run([*exe, "query", str(run / "cube.zarr"), "--where", "lam=1/900"],
                         cwd=wd, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "netsense: error: --where lam: got '1/900'; unknown key; axes are ['sampler', 'M_t', "
        "'M_r', 'rho_s_db', 'lam_t', 'lam_r', 'gamma']"]
    info = subprocess.run([*exe, "info", str(run / "cube.zarr"), "--json"], cwd=wd,
                          capture_output=True, text=True, timeout=300)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["dims"] == {"sampler": 1, "M_t": 2, "M_r": 2, "rho_s_db": 1,
                                               "lam_t": 2, "lam_r": 2, "gamma": 2,
                                               "trial": ASYM["trials"]}


def test_new_lam_r_samples_only_its_rx_sides(asym_run):
    wd, _, run = asym_run
    before = _sides_sampled(run)
    cfg = _config()
    cfg["sweep"]["lam_r"] = [*ASYM["sweep"]["lam_r"], "1/56.25"]
    cfgfile = write_config(wd, cfg, "asym-more.yaml")
    proc = run_snakemake(wd, cfgfile)
    after = _sides_sampled(run)
    new = {k: v[1] for k, v in after.items() if before.get(k, (None,))[0] != v[0]}
    n_blocks = -(-ASYM["trials"] // ASYM["block_trials"])
    n_gamma, n_lam_t = len(ASYM["sweep"]["gamma"]), len(ASYM["sweep"]["lam_t"])
    # the new cells only: (each lam_t) x (each gamma) at the new lam_r, one shard per cell
    assert len(new) == n_lam_t * n_gamma * -(-n_blocks // ASYM["shard_blocks"])
    assert all("lamr0.0177778" in k for k in new)
    assert sum(v["tx"] for v in new.values()) == 0  # every TX side came from the side cache
    assert sum(v["rx"] for v in new.values()) == n_gamma * n_blocks  # once per (gamma, block)
    assert "0 TX and" in proc.stderr and "being sampled by another shard" in proc.stderr
