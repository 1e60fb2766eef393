import pytest
import yaml
from wfhelpers import CONFIGS, make_workdir, run_snakemake, write_config

# The smoke versions of the paper configs and of config/beams.yaml: run once per session in one
# work directory, read by tests/workflow/test_paper.py and tests/workflow/test_beams.py (which
# only read them, apart from test_paper's re-draw test, which restores its config).
PAPER_SMOKES = ("paper-fig1-smoke", "paper-gap-smoke", "paper-sec2c-smoke", "beams-smoke")


@pytest.fixture
def workdir(tmp_path):
    return make_workdir(tmp_path / "wd")


@pytest.fixture(scope="session")
def paper_runs(tmp_path_factory):
    """{smoke config name: its results directory}, all in one work directory."""
    wd = make_workdir(tmp_path_factory.mktemp("paper"))
    out = {}
    for name in PAPER_SMOKES:
        cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
        cfg["dask"] = {"cluster": "embedded", "n_workers": 2}
        run_snakemake(wd, write_config(wd, cfg, f"{name}.yaml"))
        out[name] = wd / "results" / name
    return out
