"""Code versions are derived from imports (netsense.pipeline.codeversion): a change to one module
re-runs exactly the workflow rules whose command imports it, on the real Snakefile.

Each case changes one module of a copy of the package (the workflow runs on that copy through
PYTHONPATH) and asks Snakemake which jobs a re-run would execute. The expected rules are written
out by hand from what each command does, not computed with the code under test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from wfhelpers import (
    ROOT,
    RUN_TIMEOUT_S,
    SMOKE_CUBE,
    SNAKEMAKE,
    copy_workdir,
    make_workdir,
    run_snakemake,
    shard_state,
    smoke_config,
    write_config,
)

pytestmark = pytest.mark.slow

EVERYTHING_BUT_ESTIMATE = {"simulate", "assemble", "fit", "figure", "study"}
ANALYSIS = {"fit", "figure", "study"}
ASSEMBLY = {"assemble"} | ANALYSIS
CASES = [
    # (module changed, rules that must re-run; downstream rules re-run with their inputs)
    ("analysis/figures/fig1.py", {"figure"}),
    ("analysis/studies/gap.py", {"study"}),
    ("analysis/fits.py", ANALYSIS),                     # slopes.json feeds figure and study
    ("core/stats.py", ANALYSIS | {"estimate"}),
    ("deploy/estimator.py", {"estimate"}),
    ("pipeline/cluster/host.py", set()),                 # started by the Snakefile, no command
    # the sampling kernel: its code keys no shard job (the cells' fingerprints do), but the
    # cube's exact control means come from the samplers, so the assembly runs again
    ("core/samplers/disk.py", ASSEMBLY),
    ("core/samplers/plane.py", ASSEMBLY),
    ("core/seeding.py", ASSEMBLY | {"estimate"}),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    wd = make_workdir(tmp_path_factory.mktemp("codever"))
    shutil.copytree(ROOT / "src", wd / "src")
    cfg = smoke_config(estimator={"layouts": ["data/layouts/square.json"], "rho_s_db": [120],
                                  "trials": 200})
    cfgfile = write_config(wd, cfg)
    env = {**os.environ, "PYTHONPATH": str(wd / "src")}
    run_snakemake(wd, cfgfile, env=env)
    return wd, cfgfile, env


@pytest.fixture
def project_copy(project, tmp_path):
    """A copy of the finished project for a test that re-runs jobs: the shared project stays as
    it was, with no run back."""
    wd = copy_workdir(project[0], tmp_path / "copy")
    return wd, wd / "config" / project[1].name, {**os.environ, "PYTHONPATH": str(wd / "src")}


def _would_run(wd, cfgfile, env) -> set[str]:
    proc = subprocess.run([SNAKEMAKE, "--cores", "2", "--configfile", str(cfgfile), "-n"],
                          cwd=wd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return set()
    table = out.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.M)} - {"all"}


def _touch(path):
    """A change to the module's code (not a comment: those leave its version alone)."""
    path.write_text(path.read_text() + "\n_CODE_VERSION_PROBE = 1\n")


def test_nothing_to_do_after_a_run(project):
    assert _would_run(*project) == set()


@pytest.mark.parametrize("module, expected", CASES, ids=[c[0] for c in CASES])
def test_a_module_change_reruns_the_rules_that_import_it(project, module, expected):
    wd, cfgfile, env = project
    path = wd / "src" / "netsense" / module
    original = path.read_text()
    try:
        _touch(path)
        assert _would_run(wd, cfgfile, env) == expected
    finally:
        path.write_text(original)


def test_restored_sources_leave_nothing_to_do(project):
    """After every change above is undone, the versions are those of the run again."""
    assert _would_run(*project) == set()


def test_comments_and_docstrings_change_no_version(project):
    wd, cfgfile, env = project
    path = wd / "src" / "netsense" / "core" / "fisher.py"
    original = path.read_text()
    try:
        path.write_text('"""Another docstring."""\n# a comment\n' + original.split('"""', 2)[2])
        assert _would_run(wd, cfgfile, env) == set()
    finally:
        path.write_text(original)


@pytest.mark.parametrize("module", ["pipeline/shard.py"])
def test_code_that_does_not_shape_samples_reruns_shards_from_cached_blocks(project_copy, module):
    """The shard layer shapes the shard files but not the samples: the simulate jobs re-run,
    take every block from the cache (the cells' ids do not change), sample nothing."""
    wd, cfgfile, env = project_copy
    run = wd / "results" / "smoke"
    before = shard_state(run)
    _touch(wd / "src" / "netsense" / module)
    assert _would_run(wd, cfgfile, env) == EVERYTHING_BUT_ESTIMATE
    run_snakemake(wd, cfgfile, SMOKE_CUBE, env=env)  # the shards are what is checked
    after = shard_state(run)
    assert after.keys() == before.keys()  # the same cells, the same shard files
    assert all(after[k][0] != before[k][0] for k in after)  # every shard written again
    assert all(sampled == 0 for _, sampled in after.values())  # from cached blocks only


def test_a_refactor_of_the_sampler_runs_no_shard_job(project):
    """Moving a helper of the plane sampler into a module of its own and renaming a local
    leaves every sampled number, hence every cell id, as it was: after a finished run, a dry
    run has no simulate job (the assembly runs again: the cube's exact control means come from
    the sampler classes)."""
    wd, cfgfile, env = project
    plane = wd / "src" / "netsense" / "core" / "samplers" / "plane.py"
    original = plane.read_text()
    start, end = original.index("def plane_nodes("), original.index("def plane_stats(")
    helper = original[start:end].replace("arrivals", "arrival_times")
    try:
        plane.write_text(original[:start].replace(
            "from .base import (", "from .radial import plane_nodes\nfrom .base import (", 1)
            + original[end:])
        (plane.parent / "radial.py").write_text(
            "import math\n\nimport numpy as np\n\nfrom .base import angles_to_units, "
            "check_density\n\n\n" + helper)
        assert _would_run(wd, cfgfile, env) == ASSEMBLY
    finally:
        plane.write_text(original)
        (plane.parent / "radial.py").unlink(missing_ok=True)


# A one-character change to the arithmetic of the plane sampler (radial ordering's pi lam r^2 =
# Gamma becomes pi lam r^2 = Gamma / 2): it moves every sampled number of this plane sweep.
ARITHMETIC = ("core/samplers/plane.py", "arrivals / (math.pi * lam)", "arrivals / (math.pi / lam)")


def test_code_that_shapes_samples_resamples_every_block(project_copy):
    """Stale-sample protection: a change to what the sampler of this sweep's cells computes
    gives every cell a new fingerprint, hence a new id, so no cached block is served: every
    shard is written again with every block sampled anew."""
    wd, cfgfile, env = project_copy
    run = wd / "results" / "smoke"
    before = shard_state(run)
    cfg = smoke_config()
    blocks_per_cell = -(-cfg["trials"] // cfg["block_trials"])
    module, old, changed_to = ARITHMETIC
    path = wd / "src" / "netsense" / module
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, changed_to))
    assert _would_run(wd, cfgfile, env) == EVERYTHING_BUT_ESTIMATE
    run_snakemake(wd, cfgfile, SMOKE_CUBE, env=env)
    after = shard_state(run)
    new = {k: v for k, v in after.items() if k not in before}  # new cell ids: new shard files
    assert len(new) == len(before) > 0
    n_cells = len(cfg["sweep"]["lam"]) * len(cfg["sweep"]["gamma"])
    assert sum(sampled for _, sampled in new.values()) == n_cells * blocks_per_cell
