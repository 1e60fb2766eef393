"""Sweep config validation: a table of mistakes, each one line naming field, value and rule."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from netsense.analysis.runconfig import load_run_config as load
from netsense.analysis.runconfig import resolve_run_config as resolve
from netsense.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
NETSENSE = str(Path(sys.executable).parent / "netsense")
GOOD = yaml.safe_load((ROOT / "tests" / "configs" / "smoke.yaml").read_text())


def _with(path, value, drop=False):
    cfg = copy.deepcopy(GOOD)
    node = cfg
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    if drop:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return cfg


def _disk(lam, block_trials):
    cfg = _with("sampler", {"kind": "disk", "radius_m": 500.0})
    cfg["sweep"]["lam"], cfg["block_trials"], cfg["trials"] = [lam], block_trials, block_trials
    return cfg


# The largest disk block at R = 500 m, lam = 1/56.25: 1.25e8 nodes / (pi 500^2 / 56.25 nodes per
# network) = 8952.4 trials.
DISK_MAX_BLOCK_TRIALS = 8952

BAD = [
    # (case id, config, field named in the message, words of the rule)
    ("missing key", _with("trials", None, drop=True), "trials", "required"),
    ("missing sweep axis", _with("sweep.gamma", None, drop=True), "sweep.gamma", "required"),
    ("unknown key (typo)", _with("trails", 10), "trails",
     "unknown key (typo?); did you mean 'trials'? allowed: ["),
    ("unknown nested key", _with("sampler.neareast", 8), "sampler.neareast",
     "did you mean 'nearest'?"),
    ("unknown key like none", _with("colour", 1), "colour", "unknown key (typo?); allowed: ["),
    ("wrong type", _with("trials", "many"), "trials", "type"),
    ("wrong type in axis", _with("sweep.M", [1, "four"]), "sweep.M[1]", "type"),
    ("zero density", _with("sweep.lam", [0.0]), "sweep.lam[0]", "> 0"),
    ("negative density", _with("sweep.lam", [-0.001]), "sweep.lam[0]", "> 0"),
    ("negative density fraction", _with("sweep.lam", ["-1/900"]), "sweep.lam[0]", "> 0"),
    ("gamma <= 2 with plane", _with("sweep.gamma", [2.0, 3.0]), "sweep.gamma", "> 2"),
    ("non-positive trials", _with("trials", 0), "trials", ">= 2"),
    ("negative trials", _with("trials", -5), "trials", ">= 2"),
    ("empty axis", _with("sweep.rho_s_db", []), "sweep.rho_s_db", "at least 1"),
    ("duplicated axis values", _with("sweep.M", [4, 4]), "sweep.M", "repeat"),
    ("duplicated after parsing", _with("sweep.lam", ["1/900", 1 / 900]), "sweep.lam", "repeat"),
    ("nearest < 1", _with("sampler.nearest", 0), "sampler.nearest", ">= 1"),
    ("radius <= 0", _with("sampler.radius_m", 0), "sampler.radius_m", "> 0"),
    ("NaN", _with("sweep.rho_s_db", [float("nan")]), "sweep.rho_s_db[0]", "NaN"),
    ("inf", _with("system.carrier_hz", float("inf")), "system.carrier_hz", "NaN and inf"),
    ("bad sampler kind", _with("sampler.kind", "square"), "sampler.kind", "one of"),
    ("bad name", _with("name", "../etc"), "name", "match"),
    ("sampler not a mapping", _with("sampler", "plane"), "sampler", "mapping"),
    ("empty sampler list", _with("sampler", []), "sampler", "non-empty list"),
    ("bad entry in a sampler list", _with("sampler", [{"kind": "plane"}, {"kind": "disk",
                                                                          "radius_m": -1}]),
     "sampler[1].radius_m", "> 0"),
    ("typo in a sampler list", _with("sampler", [{"kind": "disk", "raduis_m": 9}]),
     "sampler[0].raduis_m", "unknown key"),
    ("sampler listed twice", _with("sampler", [{"kind": "disk"}, {"kind": "disk", "radius_m": 500}]),
     "sampler[1]", "repeats sampler disk-R500"),
    ("unknown analysis", _with("analyses", ["fig2"]), "analyses[0]", "one of"),
    ("sec2c without M lam on the lam axis", _with("analyses", ["sec2c"]), "analyses",
     "needs 1 in sweep.M"),
    ("beams without a non-full beam", _with("analyses", ["beams"]), "analyses",
     "needs a sampler entry with beam codebook"),
    ("disk block too big for a worker", _disk("1/56.25", 10000), "block_trials",
     f"holds 1.4e+08 nodes per side (8.9 GB on one worker); at most 1.25e+08: use block_trials <= "
     f"{DISK_MAX_BLOCK_TRIALS}"),
]


def test_disk_block_at_the_memory_cap_is_accepted():
    resolve(_disk("1/56.25", DISK_MAX_BLOCK_TRIALS))
    with pytest.raises(InputError, match="block_trials: got 8953"):
        resolve(_disk("1/56.25", DISK_MAX_BLOCK_TRIALS + 1))
    resolve(_with("sweep.lam", ["1/56.25"]))  # the plane sampler holds K nodes whatever lam


@pytest.mark.parametrize("case, cfg, field, rule", BAD, ids=[b[0] for b in BAD])
def test_bad_config_in_process(case, cfg, field, rule):
    with pytest.raises(InputError) as ei:
        resolve(cfg)
    msg = str(ei.value)
    assert msg.startswith(field + ":"), msg
    assert rule in msg, msg
    assert "\n" not in msg


@pytest.mark.parametrize("case, cfg, field, rule", BAD[:6] + BAD[9:10],
                         ids=[b[0] for b in BAD[:6] + BAD[9:10]])
def test_bad_config_netsense_run_writes_nothing(tmp_path, case, cfg, field, rule):
    for item in ("workflow",):
        src = ROOT / item
        (__import__("shutil").copytree if src.is_dir() else __import__("shutil").copy)(
            src, tmp_path / item)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    before = sorted(p.name for p in tmp_path.iterdir())
    p = subprocess.run([NETSENSE, "run", "--configfile", "bad.yaml", "--cores", "1"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and rule in lines[0], p.stderr
    assert sorted(q.name for q in tmp_path.iterdir()) == before  # no results/, no .snakemake/


def test_yaml_that_does_not_parse(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("name: x\nsweep: {M: [1, 2}\n")
    p = subprocess.run([NETSENSE, "validate", str(f)], capture_output=True, text=True)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "configfile" in lines[0] and "not valid YAML" in lines[0]


def test_yaml_is_loaded_safely(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("name: !!python/object/apply:os.system ['echo pwned']\ntrials: 10\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load(f)


def test_defaults_and_normalization():
    cfg = resolve(copy.deepcopy(GOOD))
    assert cfg.lam == (1 / 900, 1 / 400)  # sorted ascending, fractions parsed
    assert [(s.kind, s.nearest) for s in cfg.samplers] == [("plane", 32)]
    assert cfg.analyses == ("fig1",)


ASYMMETRIC = yaml.safe_load((ROOT / "config" / "asymmetric.yaml").read_text())


def _without_analyses(doc: dict, **sweep) -> dict:
    doc = copy.deepcopy(doc)
    doc.pop("analyses", None)
    doc["sweep"].update(sweep)
    return doc


def test_analyses_default_fits_the_sweep():
    """No `analyses` key: what draws the sweep's axes, and each passes the studies' checks
    (resolve here is resolve_run_config, which runs them)."""
    assert "analyses" in ASYMMETRIC and "analyses" not in GOOD
    assert resolve(_without_analyses(ASYMMETRIC)).analyses == ("asymmetric",)
    assert resolve(_without_analyses(GOOD)).analyses == ("fig1",)
    # separate densities with a tied M
    lam = {"lam_t": ["1/900", "1/400"], "lam_r": ["1/900"]}
    tied_m = _without_analyses(GOOD, **lam)
    del tied_m["sweep"]["lam"]
    assert resolve(tied_m).analyses == ("asymmetric",)
    # separate antennas with a tied lam: no study draws it (fig1 is refused for it)
    sep_m = _without_analyses(GOOD, M_t=[1, 4], M_r=[4])
    del sep_m["sweep"]["M"]
    assert resolve(sep_m).analyses == ()
    with pytest.raises(InputError, match=r"analyses\[0\]: got 'fig1'"):
        resolve({**copy.deepcopy(sep_m), "analyses": ["fig1"]})
    # an explicit value is kept, also an empty one
    assert resolve(_with("analyses", ["tightness"])).analyses == ("tightness",)
    assert resolve({**_without_analyses(ASYMMETRIC), "analyses": []}).analyses == ()


def test_sampler_list_and_sec2c_config():
    cfg = resolve(_with("sampler", [{"kind": "plane", "nearest": 16}, {"kind": "disk",
                                                                       "radius_m": "250"}]))
    assert cfg.sampler_labels == ["plane-K16", "disk-R250"]
    assert cfg.samplers[1].radius_m == 250.0  # number-like text read as a number
    doc = _with("analyses", ["sec2c"])
    doc["sweep"].update(M=[1, 4], lam=["1/900", "4/900"])
    doc["plot"] = {"reference": {"lam": "1/900"}}
    assert resolve(doc).analyses == ("sec2c",)
    assert cfg.system.beta_hz == pytest.approx(2e9 / 12**0.5, rel=1e-15)
    assert cfg.dask["cluster"] == "embedded"
    assert cfg.reference == {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": 2.5}


@pytest.mark.parametrize("text, value", [("1/900", 1 / 900), ("0.0025", 0.0025),
                                         ("2.5e-3", 0.0025), (" 1 / 400 ", 1 / 400), (0.01, 0.01)])
def test_parse_density_forms(text, value):
    from netsense.inputs import parse_density

    assert parse_density("lam", text) == value


def test_numbers_written_as_1e9_are_numbers():
    cfg = resolve(_with("system.carrier_hz", "60e9"))  # as YAML 1.1 loaders hand it over
    assert cfg.system.carrier_hz == 60e9


def test_shipped_configs_are_valid():
    files = sorted((ROOT / "config").glob("*.yaml")) + sorted((ROOT / "tests" / "configs").glob(
        "*.yaml")) + sorted((ROOT / "benchmarks").glob("*.yaml"))
    assert len(files) >= 14
    for f in files:
        load(f)


# ---- validation that depends on other keys: each guard on its own -------------------------------
# A pair per guard: a config that passes, and the same config with one thing changed that only
# this guard refuses. Every other precondition still holds in the refused one.

PLANE = {"kind": "plane", "nearest": 8}


def _doc(sweep=None, sampler=None, analyses=None, reference=None, dask=None, **top) -> dict:
    cfg = copy.deepcopy(GOOD)
    cfg["sweep"].update(sweep or {})
    for k, v in (("sampler", sampler), ("analyses", analyses), ("dask", dask)):
        if v is not None:
            cfg[k] = v
    if reference is not None:
        cfg["plot"] = {"reference": reference}
    cfg.update(top)
    return cfg


def _sec2c(**over):
    return _doc(**{"sweep": {"M": [1, 4], "lam": ["1/900", "4/900"]}, "analyses": ["sec2c"],
                   "reference": {"lam": "1/900"}, **over})


def _beams(sampler, M=(1, 4)):
    return _doc(sweep={"M": list(M)}, sampler=sampler, analyses=["beams"])


def _deploy(sampler):
    return _doc(sampler=sampler, analyses=["deployments"], sweep={"M": [4]})


def _separate(analyses, **sweep):
    s = {"M": [1, 4], "lam_t": ["1/900"], "lam_r": ["1/400"], **sweep}
    if "lam" in sweep:
        s.pop("lam_t"), s.pop("lam_r")
    if "M_t" in sweep:
        s.pop("M")
    doc = _doc(analyses=analyses)
    doc["sweep"] = {"rho_s_db": [120], "gamma": [2.5], **s}
    doc.pop("plot", None)
    return doc


GUARDS = [
    # (guard, accepted config, the same with one change, field, words of the rule)
    ("dask address or file, not both", _doc(dask={"scheduler_address": "tcp://h:8786"}),
     _doc(dask={"scheduler_address": "tcp://h:8786", "scheduler_file": "s.json"}),
     "dask.scheduler_file", "not both"),
    ("an external cluster needs an address", _doc(dask={"cluster": "external",
                                                         "scheduler_file": "s.json"}),
     _doc(dask={"cluster": "external"}), "dask.cluster", "needs dask.scheduler_address"),
    ("sec2c needs 1 in sweep.M", _sec2c(), _sec2c(sweep={"M": [2, 4], "lam": ["1/900",
                                                                              "4/900"]}),
     "analyses", "needs 1 in sweep.M"),
    ("sec2c needs M lam on the lam axis", _sec2c(),
     _sec2c(sweep={"M": [1, 4], "lam": ["1/900", "3/900"]}), "analyses", "needs 1 in sweep.M"),
    ("sec2c takes lam from plot.reference", _sec2c(), _sec2c(reference={"lam": "4/900"}),
     "analyses", "reference lam is 0.00444444"),
    ("beams needs 2 values of M", _beams([PLANE, {**PLANE, "beam": "codebook"}]),
     _beams([PLANE, {**PLANE, "beam": "codebook"}], M=(4,)), "analyses", "at least 2 values"),
    ("beams needs a non-full entry", _beams([PLANE, {**PLANE, "beam": "codebook"}]),
     _beams([PLANE, {**PLANE, "nearest": 16}]), "analyses", "beam codebook or fixed"),
    ("beams needs the same sampler with beam full", _beams([PLANE, {**PLANE, "beam": "fixed"}]),
     _beams([{**PLANE, "nearest": 16}, {**PLANE, "beam": "fixed"}]), "analyses",
     "the same sampler with beam full"),
    ("deployments needs a plane entry", _deploy([PLANE, {"kind": "disk", "radius_m": 90}]),
     _deploy([{"kind": "disk", "radius_m": 90}]), "analyses", "needs the PPP reference"),
    ("deployments needs it unguarded", _deploy([PLANE, {**PLANE, "guard_m": 5}]),
     _deploy([{**PLANE, "guard_m": 5}, {**PLANE, "guard_m": 9}]), "analyses",
     "without guard_m"),
    ("deployments needs it with beam full", _deploy([PLANE, {**PLANE, "beam": "codebook"}]),
     _deploy([{**PLANE, "beam": "codebook"}, {"kind": "disk", "radius_m": 90}]), "analyses",
     "with beam full"),
    ("asymmetric needs separate densities", _separate(["asymmetric"]),
     _separate(["asymmetric"], lam=["1/900"]), "analyses", "needs separate densities"),
    ("tied studies refuse separate antennas", _separate([], lam=["1/900"], M_t=[1], M_r=[4]),
     _separate(["tightness"], lam=["1/900"], M_t=[1], M_r=[4]), "analyses[0]",
     "this sweep gives M_t/M_r"),
    ("every sampler's gamma range, not the first one's", _doc(
        sampler=[{"kind": "disk", "radius_m": 90}], sweep={"gamma": [2.0, 3.0]}),
     _doc(sampler=[{"kind": "disk", "radius_m": 90}, PLANE], sweep={"gamma": [2.0, 3.0]}),
     "sweep.gamma", "> 2"),
    ("a disk block's memory at the denser side", _separate(
        [], lam_t=["1/900"], lam_r=["1/900"]) | {"sampler": {"kind": "disk", "radius_m": 500},
                                                 "trials": 10000, "block_trials": 10000},
     _separate([], lam_t=["1/900"], lam_r=["1/56.25"]) | {
         "sampler": {"kind": "disk", "radius_m": 500}, "trials": 10000, "block_trials": 10000},
     "block_trials", "at lam = 1/56.25"),
    ("plot.reference on the axis", _doc(reference={"lam": "1/400"}),
     _doc(reference={"lam": "1/500"}), "plot.reference.lam", "must be one of sweep.lam"),
]


@pytest.mark.parametrize("guard, good, bad, field, rule", GUARDS, ids=[g[0] for g in GUARDS])
def test_each_dependent_guard_refuses_alone(guard, good, bad, field, rule):
    resolve(copy.deepcopy(good))
    with pytest.raises(InputError) as ei:
        resolve(copy.deepcopy(bad))
    msg = str(ei.value)
    assert msg.startswith(field + ":") and rule in msg and "\n" not in msg, (guard, msg)


def test_a_scheduler_file_alone_makes_the_cluster_external():
    cfg = resolve(_doc(dask={"scheduler_file": "s.json"}))
    assert cfg.dask["cluster"] == "external" and cfg.dask["scheduler_file"] == "s.json"


def test_plot_reference_takes_a_link_axis_value():
    """plot.reference's keys are every axis of the table, the link axes too: a swept height is
    held where the config says, and a value off the axis is one line naming the field."""
    raw = {"name": "r", "trials": 100, "sampler": {"kind": "plane"},
           "sweep": {"M": [4], "rho_s_db": [120], "lam": ["1/900"], "gamma": [3],
                     "height_m": [0, 10]}}
    assert resolve(copy.deepcopy(raw)).reference["height_m"] == 0.0  # the paper's plane
    raw["plot"] = {"reference": {"height_m": 10}}
    assert resolve(copy.deepcopy(raw)).reference["height_m"] == 10.0
    raw["plot"] = {"reference": {"height_m": 5}}
    with pytest.raises(InputError, match=r"plot\.reference\.height_m: got 5; must be one of"):
        resolve(copy.deepcopy(raw))
