"""Helpers for end-to-end tests: the real Snakefile, a real multi-process Dask cluster."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import yaml

import netsense
from netsense.pipeline.store import load_arrays

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
RUN_TIMEOUT_S = 600

CONFIGS = ROOT / "tests" / "configs"  # the test configs, apart from the user configs
SMOKE = yaml.safe_load((CONFIGS / "smoke.yaml").read_text())
# Target for a run whose test reads only the cube and its shards: Snakemake stops after the
# assembly, skipping the fit, findings and figure jobs (test_smoke_end_to_end runs them all).
SMOKE_CUBE = "results/smoke/cube.zarr"


def make_workdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "workflow", path / "workflow", dirs_exist_ok=True)
    shutil.copytree(ROOT / "config", path / "config", dirs_exist_ok=True)
    shutil.copytree(ROOT / "profiles", path / "profiles", dirs_exist_ok=True)
    shutil.copytree(ROOT / "data" / "layouts", path / "data" / "layouts", dirs_exist_ok=True)
    return path


def copy_workdir(src: Path, dst: Path) -> Path:
    """A copy of a finished work directory (sources, results and Snakemake's records, with their
    times, so the copy is as up to date as the original), for a test that re-runs jobs."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def write_config(workdir: Path, cfg: dict, name="test.yaml") -> Path:
    p = workdir / "config" / name
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


def smoke_config(**over) -> dict:
    cfg = copy.deepcopy(SMOKE)
    cfg["dask"] = {"cluster": "embedded", "n_workers": 2}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg


def run_snakemake(workdir: Path, configfile: Path, *extra, cores=2, check=True, env=None):
    cmd = [SNAKEMAKE, *(["--cores", str(cores)] if cores else []), "--configfile",
           str(configfile), "--rerun-incomplete", *extra]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    return proc


def shard_state(run_dir: Path) -> dict:
    """{shard path: (mtime_ns, blocks_sampled)} for every shard file of a run."""
    out = {}
    for f in sorted((run_dir / "shards").glob("*/*.npz")):
        _, meta = load_arrays(f)
        out[str(f.relative_to(run_dir))] = (f.stat().st_mtime_ns, meta["blocks_sampled"])
    return out


def changed(before: dict, after: dict) -> dict:
    """Shards written between two snapshots -> blocks they sampled."""
    return {k: v[1] for k, v in after.items() if before.get(k, (None,))[0] != v[0]}


def cube_arrays(cube: Path) -> dict:

    with netsense.open_cube(cube) as ds:
        return {v: ds[v].values.copy() for v in ("crlb_m2", "jensen_m2", "closed_form_m2")} | {
            c: ds[c].values.copy() for c in ("sampler", "M", "rho_s_db", "lam", "gamma", "trial")}


def assert_cubes_identical(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), f"{k} differs"


WAIT_S = 120  # generous bound for a run step on a loaded 2-core machine


def start_snakemake(workdir, cfgfile, *extra, env=None):
    return subprocess.Popen([SNAKEMAKE, "--cores", "2", "--configfile", str(cfgfile),
                             "--rerun-incomplete", *extra], cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=env)


def wait_for(pred, what):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def cluster_procs(run):
    pid_file = run / ".dask" / "host.pid"

    def get():
        if not (run / ".dask" / "scheduler.json").exists() or not pid_file.exists():
            return None
        host = psutil.Process(int(pid_file.read_text()))
        kids = host.children(recursive=True)
        return [host, *kids] if len(kids) >= 2 else None
    return wait_for(get, "the embedded Dask cluster")


def n_blocks(run):
    return len(list((run / "blocks").glob("*/block-*.npz")))


def still_alive(procs, timeout=WAIT_S):
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return alive
