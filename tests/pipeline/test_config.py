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
    for item in ("Snakefile", "workflow"):
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
