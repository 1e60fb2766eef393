"""A user's own folder: `netsense init` writes the examples that ship in the package, and
`netsense run` finds its config there or says in one line what is missing, writing nothing.
(The run itself, from a folder outside the clone and from a non-editable install, is
tests/workflow/test_anywhere.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from netsense.pipeline.project import example_files, examples_dir, snakefile

REPO = Path(__file__).resolve().parents[2]
NETSENSE = Path(sys.executable).parent / "netsense"
TIMEOUT_S = 120


def run(*args, cwd):
    return subprocess.run([str(NETSENSE), *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT_S, cwd=cwd)


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_the_package_carries_the_workflow_and_the_examples_of_the_clone():
    """The clone's workflow/, config/ and data/layouts are the packaged folders themselves (links),
    so the examples and workflow a pip user gets are the ones the clone runs and tests."""
    assert snakefile().is_file()
    assert (REPO / "workflow").resolve() == snakefile().parent.resolve()
    assert (REPO / "config").resolve() == (examples_dir() / "config").resolve()
    assert (REPO / "data" / "layouts").resolve() == (examples_dir() / "data" / "layouts").resolve()
    names = {str(f) for f in example_files()}
    assert {"config/config.yaml", "config/smoke.yaml", "data/layouts/square.json"} <= names


def test_init_writes_the_examples_then_refuses_to_overwrite(tmp_path):
    p = run("init", "proj", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    proj = tmp_path / "proj"
    for f in example_files():
        assert (proj / f).read_bytes() == (examples_dir() / f).read_bytes(), f
    # the default sweep validates there: its layout paths are relative to the folder
    v = run("validate", "config/config.yaml", cwd=proj)
    assert v.returncode == 0, v.stderr
    # a user's edit is never overwritten; a second init writes nothing and says why in one line
    (proj / "config" / "smoke.yaml").write_text("name: mine\n")
    before = {f: (proj / f).read_bytes() for f in tree(proj) if (proj / f).is_file()}
    again = run("init", "proj", cwd=tmp_path)
    assert again.returncode == 2
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and "exists already" in lines[0] and "nothing was written" in lines[0]
    assert {f: (proj / f).read_bytes() for f in tree(proj) if (proj / f).is_file()} == before


def test_run_without_a_config_says_what_to_do_and_writes_nothing(tmp_path):
    p = run("run", "--cores", "1", cwd=tmp_path)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert "--configfile" in lines[0] and "config/config.yaml" in lines[0] \
        and "netsense init" in lines[0]
    assert tree(tmp_path) == []


def test_run_with_a_bad_config_into_a_new_directory_creates_nothing(tmp_path):
    """A --directory that does not exist is made only once the config is valid; the config's
    relative paths are read from there (a new folder holds no layouts)."""
    cfg = yaml.safe_load((examples_dir() / "config" / "smoke.yaml").read_text())
    cfg["estimator"] = {"layouts": ["data/layouts/square.json"], "rho_s_db": [120], "trials": 10}
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(cfg))
    p = run("run", "--configfile", "my.yaml", "--directory", "new/run", "--cores", "1",
            cwd=tmp_path)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "estimator.layouts[0]" in lines[0] and "not found" in lines[0]
    assert tree(tmp_path) == ["my.yaml"]
