"""The analyses registry is the extension point it claims to be: a new study is its module, one
registry line and its report caption, and the config check, the workflow's outputs and the run's
findings.json take it from there. Checked by adding one to a copy of the package."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import netsense
from netsense.analysis.findings import RUNS, figures, run_config
from netsense.analysis.studies import ANALYSES, FIG1, STUDIES, StudyInput, selected

ROOT = Path(__file__).resolve().parents[2]
NETSENSE = str(Path(sys.executable).parent / "netsense")
PKG = ROOT / "src" / "netsense"

# E[eq. 18] / Theorem 2 at the reference lam, one row per (sampler, gamma), written as a user of
# CONTRIBUTING.md's recipe would.
NEW_STUDY = '''"""``toy``: E[eq. 18] / Theorem 2 against gamma, one marker per sampler."""

from __future__ import annotations

from ..figures.common import plt
from .common import Study


def rows(inp):
    return [{"sampler": r["sampler"], "gamma": r["gamma"], "crlb_ratio": r["crlb_ratio"]}
            for r in inp.ratios_at_reference_lam]


def figure(rows, ref, path_png, title=""):
    pyplot = plt()
    fig, ax = pyplot.subplots()
    for s in dict.fromkeys(r["sampler"] for r in rows):
        sub = [r for r in rows if r["sampler"] == s]
        ax.plot([r["gamma"] for r in sub], [r["crlb_ratio"] for r in sub], "o", label=s)
    ax.legend()
    fig.savefig(path_png)
    pyplot.close(fig)


STUDY = Study("toy", ("toy.png", "toy.csv"), rows, figure, tied_only=True, findings_key="toy")
'''
CAPTION = "E[eq. (18)] / Theorem 2 against gamma at the reference lam, one marker per sampler.\n"
REF = {"M": 4, "rho_s_db": 120, "lam": "1/900", "gamma": 2.5}
SWEEP = {"name": "toy-run", "trials": 200, "sweep": {"M": [4], "rho_s_db": [120],
                                                     "lam": ["1/900"], "gamma": [2.5, 4.0]},
         "sampler": {"kind": "plane", "nearest": 8}}


def test_the_registry_states_each_fact_once():
    assert [n for n, a in ANALYSES.items() if a.rule == "figure"] == ["fig1"] and ANALYSES["fig1"] is FIG1
    assert list(STUDIES) == [n for n, a in ANALYSES.items() if a.rule == "study"]
    assert [n for n, a in ANALYSES.items() if not a.tied_only] == ["asymmetric"]
    for name, a in ANALYSES.items():
        assert a.name == name and a.png == f"{name}.png", name
        assert (PKG / "workflow" / "report" / f"{name}.rst").stat().st_size > 200, name
    assert [a.name for a in selected(["asymmetric", "fig1", "gap"], rule="study")] == \
        ["gap", "asymmetric"]


def test_paper_runs_and_their_figures_come_from_their_configs():
    """The docs' figures of each paper run: its config's analyses, less what RUNS leaves out."""
    assert {r: figures(r) for r in RUNS} == {
        "paper-fig1": ("fig1.png", "tightness.png"), "paper-gap": ("gap.png",),
        "paper-sec2c": ("sec2c.png",), "beams": ("beams.png",)}
    for run, left_out in RUNS.items():
        cfg = run_config(run)
        assert cfg.name == run and set(left_out) <= set(cfg.analyses), run
    p = subprocess.run([NETSENSE, "findings", "runs"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and p.stdout.split() == list(RUNS), p.stderr


@pytest.fixture(scope="module")
def with_new_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registry")
    shutil.copytree(ROOT / "src", tmp / "src")
    pkg = tmp / "src" / "netsense"
    (pkg / "analysis" / "studies" / "toy.py").write_text(NEW_STUDY)
    init = pkg / "analysis" / "studies" / "__init__.py"
    text = init.read_text()
    for old, new in (("from . import asymmetric, beams, deployments, gap, lawwindow, sec2c, tightness\n",
                      "from . import asymmetric, beams, deployments, gap, lawwindow, sec2c, tightness, "
                      "toy\n"),
                     ("    lawwindow.STUDY,\n", "    lawwindow.STUDY,\n    toy.STUDY,\n")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    init.write_text(text)
    (pkg / "workflow" / "report" / "toy.rst").write_text(CAPTION)
    return tmp


def _run(tmp, *args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(tmp / "src")}
    return subprocess.run([*map(str, args)], capture_output=True, text=True, env=env,
                          cwd=cwd or tmp, timeout=300)


def _config(tmp_path, analyses, **over) -> Path:
    doc = {**copy.deepcopy(SWEEP), "analyses": analyses, "plot": {"reference": REF}, **over}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_new_study_is_one_module_one_registry_line_and_a_caption(with_new_study, tmp_path):
    tmp = with_new_study
    diff = subprocess.run(["diff", "-rq", str(PKG), str(tmp / "src" / "netsense"),
                           "-x", "__pycache__"], capture_output=True, text=True)
    changed = sorted(diff.stdout.splitlines())
    assert len(changed) == 3, changed  # the new module, the registry, the caption
    ok = _run(tmp, NETSENSE, "validate", _config(tmp_path, ["fig1", "toy"]))
    assert ok.returncode == 0 and "valid" in ok.stdout, ok.stderr
    typo = _run(tmp, NETSENSE, "validate", _config(tmp_path, ["tyo"]))
    assert typo.returncode == 2 and typo.stderr.strip().endswith(
        "must be one of ['fig1', 'tightness', 'gap', 'sec2c', 'beams', 'deployments', "
        "'asymmetric', 'lawwindow', 'toy']"), typo.stderr
    # its tied_only refuses a sweep with separate densities, as the tied studies do
    sep = {k: v for k, v in SWEEP["sweep"].items() if k != "lam"}
    sep = _config(tmp_path, ["toy"], sweep={**sep, "lam_t": ["1/900"], "lam_r": ["1/900"]},
                  plot={})
    refused = _run(tmp, NETSENSE, "validate", sep)
    assert refused.returncode == 2, refused.stderr
    assert "analyses[0]: got 'toy'; draws the tied axes sweep.M and sweep.lam" in refused.stderr


def test_a_new_study_is_in_the_workflow_outputs(with_new_study, tmp_path):
    tmp = with_new_study
    cfg = _config(tmp_path, ["toy"])
    code = ("import json, sys; from netsense.analysis.runconfig import final_outputs, "
            "load_run_config; print(json.dumps(final_outputs(load_run_config(sys.argv[1]))))")
    p = _run(tmp, sys.executable, "-c", code, cfg)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)[-3:] == [
        "results/toy-run/findings.json", "results/toy-run/toy.png", "results/toy-run/toy.csv"]
    # the real Snakefile of the copy plans the study rule for it
    dry = _run(tmp, sys.executable, "-m", "snakemake", "--snakefile",
               tmp / "src" / "netsense" / "workflow" / "Snakefile", "--configfile", cfg,
               "--cores", "1", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-3000:]
    out = dry.stdout + dry.stderr
    assert "results/toy-run/toy.png" in out and "results/toy-run/toy.csv" in out, out[-3000:]


def test_a_new_study_runs_into_findings(with_new_study, tied_cube, tmp_path):
    tmp = with_new_study
    view = {**copy.deepcopy(tied_cube.cfg.raw), "analyses": ["toy"], "plot": {"reference": REF}}
    (tmp_path / "slopes.json").write_text("[]")
    out = tmp_path / "out"
    out.mkdir()
    p = _run(tmp, NETSENSE, "study", tied_cube.path, "--slopes", tmp_path / "slopes.json",
             "--outdir", out, "--config-json", json.dumps(view))
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in out.iterdir()) == ["findings.json", "toy.csv", "toy.png"]
    got = json.loads((out / "findings.json").read_text())["toy"]
    ds = netsense.open_cube(tied_cube.path)
    ref = {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": 2.5}
    want = [{"sampler": r["sampler"], "gamma": r["gamma"], "crlb_ratio": r["crlb_ratio"]}
            for r in StudyInput(ds, ref).ratios_at_reference_lam]
    assert len(want) == 8 and got == want
