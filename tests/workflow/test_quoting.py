"""No config value reaches a shell unquoted: the rules pass them through Snakemake's quoting.

A config that names files is code only if the workflow lets a shell read it: layout paths with
a space, an apostrophe, ``$(...)`` or backticks must work as plain paths, and nothing in them is
executed. What Snakemake itself cannot take in a file name (braces are its wildcards) is
rejected with one line before anything is written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from wfhelpers import make_workdir, run_snakemake, smoke_config, write_config

pytestmark = pytest.mark.slow
NETSENSE = str(Path(sys.executable).parent / "netsense")

# Directory and file names, each a shell hazard if a command line were built from it unquoted.
HOSTILE = {
    "space": "lay dir/sq one.json",
    "apostrophe": "lay's/o'clock.json",
    "command substitution": "lay$(touch PWNED)/sq.json",
    "backticks": "lay`touch PWNED_TOO`/sq2.json",
}


def test_hostile_layout_paths_are_plain_paths(tmp_path):
    wd = make_workdir(tmp_path / "q")
    for rel in HOSTILE.values():
        (wd / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(wd / "data" / "layouts" / "square.json", wd / rel)
    cfg = smoke_config(estimator={"layouts": list(HOSTILE.values()), "rho_s_db": [120],
                                  "trials": 200})
    # the estimator jobs only: the layout paths reach no other rule's command
    run_snakemake(wd, write_config(wd, cfg), *(f"results/smoke/estimator/{Path(rel).stem}.png"
                                               for rel in HOSTILE.values()))
    for rel in HOSTILE.values():
        stem = Path(rel).stem
        doc = json.loads((wd / "results" / "smoke" / "estimator" / f"{stem}.json").read_text())
        assert doc["meta"]["layout"] == rel  # the command got the path, character for character
        assert (wd / "results" / "smoke" / "estimator" / f"{stem}.png").stat().st_size > 10_000
    executed = [p for p in tmp_path.rglob("PWNED*")]
    assert executed == [], f"a shell ran part of a path: {executed}"


@pytest.mark.parametrize("rel", ["lay{cell}/sq.json", "lay/sq}.json"])
def test_braces_in_a_layout_path_are_refused_on_one_line(tmp_path, rel):
    wd = make_workdir(tmp_path / "b")
    (wd / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wd / "data" / "layouts" / "square.json", wd / rel)
    cfgfile = write_config(wd, smoke_config(estimator={"layouts": [rel], "rho_s_db": [120]}))
    proc = subprocess.run([NETSENSE, "run", "--configfile", str(cfgfile)], cwd=wd,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "estimator.layouts[0]" in proc.stderr
    assert "braces" in proc.stderr
    assert not (wd / "results").exists() and not (wd / ".snakemake").exists()
