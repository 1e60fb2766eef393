"""Repair by the real workflow: a flipped bit in a chunk of a finished cube is named by `netsense
query` and `netsense verify`, and the next run rebuilds the cube bit-identical to the undisturbed
one (a data chunk: its cell from its shards; a coordinate chunk: the rest linked). Every array of
the workflow-built cube reads identically in tensorstore, a second zarr v3 implementation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from wfhelpers import SMOKE_CUBE, make_workdir, run_snakemake, smoke_config, write_config

from netsense.pipeline.cube import open_cube

pytestmark = pytest.mark.slow
NETSENSE = str(Path(sys.executable).parent / "netsense")
FLIP_SEED = 7


def raw_arrays(cube: Path) -> dict:
    """Every array of the store as zarr-python decodes it (bytes, dtype, shape)."""
    import zarr

    g = zarr.open_group(cube, mode="r", use_consolidated=True)
    return {k: (a.dtype, a.shape, a[...].tobytes()) for k, a in g.arrays()}


def flip(file: Path) -> None:
    rng = np.random.default_rng(FLIP_SEED)
    b = bytearray(file.read_bytes())
    b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
    file.write_bytes(bytes(b))


def netsense(*args, cwd):
    return subprocess.run([NETSENSE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("repair") / "wd")
    cfgfile = write_config(wd, smoke_config())
    run_snakemake(wd, cfgfile, SMOKE_CUBE)  # the cube is what is damaged and repaired
    return wd, cfgfile, wd / "results" / "smoke" / "cube.zarr"


def test_tensorstore_reads_every_array_of_a_workflow_cube(run):
    import tensorstore as ts
    import xarray as xr

    _, _, cube = run
    names = [k for k, v in json.loads((cube / "zarr.json").read_text())[
        "consolidated_metadata"]["metadata"].items() if v["node_type"] == "array"]
    # the factors g18, g23 (sharded), scale_m2, closed_form_m2, control_mean_m2, 6 coordinates
    assert len(names) == 11
    ds = xr.open_zarr(cube, decode_cf=False, mask_and_scale=False)
    read = {}
    for name in names:
        spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": str(cube / name)}}
        read[name] = a = ts.open(spec, open=True).result().read().result()
        b = ds[name].values
        assert (a.dtype, a.shape) == (b.dtype, b.shape) and a.tobytes() == b.tobytes(), name
    # what the docs tell a reader that is not netsense to multiply (docs/guide/integrity.md),
    # done on tensorstore's arrays: netsense's crlb_m2 and jensen_m2, bit for bit
    cube_ds = open_cube(cube)
    dims = {n: json.loads((cube / n / "zarr.json").read_text())["dimension_names"]
            for n in ("g18", "g23", "scale_m2")}
    s = xr.DataArray(read["scale_m2"], dims=dims["scale_m2"])
    for var, factor in (("crlb_m2", "g18"), ("jensen_m2", "g23")):
        want = cube_ds[var].values
        got = (xr.DataArray(read[factor], dims=dims[factor]) * s).transpose(
            *cube_ds[var].dims).values
        assert got.tobytes() == want.tobytes(), var


@pytest.mark.parametrize("var, key, where, rebuilt", [
    # format 4: a shard of the factor g18, keyed (sampler, lam, gamma, shard)
    ("g18", "c/0/0/0/0", "g18 at sampler=plane-K32 lam=0.00111111 gamma=2.5 trials [0, 3000)",
     1),
    ("gamma", "c/0", "gamma at gamma [0, 2)", 0),
])
def test_flipped_bit_is_named_then_repaired_bit_identical(run, var, key, where, rebuilt):
    wd, cfgfile, cube = run
    good = raw_arrays(cube)
    flip(cube / var / key)
    q = netsense("query", str(cube.relative_to(wd)), "--where", "gamma=2.5", cwd=wd)
    err = q.stderr.strip().splitlines()
    assert q.returncode == 2 and len(err) == 1, q.stderr
    assert f"checksum mismatch: {where} ({var}/{key})" in err[0]
    v = netsense("verify", str(cube.relative_to(wd)), cwd=wd)
    assert v.returncode == 1 and f"checksum mismatch: {where} ({var}/{key})" in v.stdout
    p = run_snakemake(wd, cfgfile, SMOKE_CUBE)
    assert f"1 problem(s): checksum mismatch: {where}" in p.stderr
    assert "this run assembles the cube again" in p.stderr
    log = (cube.parent / "logs" / "assemble.log").read_text()
    assert f"{rebuilt} of 4 cell(s) written from shards, {4 - rebuilt} taken from the " \
        "previous cube" in log
    if rebuilt:
        assert "1 stored cell(s) had a missing or corrupt chunk and were rebuilt from their " \
            "shards: plane-K32 lam=0.00111111 gamma=2.5" in log
    assert netsense("verify", str(cube.relative_to(wd)), cwd=wd).returncode == 0
    assert raw_arrays(cube) == good
    # and the run after that has nothing to do
    p = run_snakemake(wd, cfgfile, "--dry-run", SMOKE_CUBE)
    assert "Nothing to be done" in p.stdout + p.stderr
