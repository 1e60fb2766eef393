"""The documentation builds with no warning, and its generated references are complete.

The build is the one ``make docs`` runs (``sphinx -W --keep-going``) with one difference: the
tutorial notebook is not executed here, because ``make test`` executes it already with nbmake
(``docs/tutorial.ipynb``); executing it twice would double its minute. Everything else (the
user guide, the API from the docstrings, the CLI from the argparse parser, the config keys
from the schema) is built and checked against the code it is generated from.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netsense.cli.main import build_parser
from netsense.pipeline.config import schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-D", "nb_execution_mode=off", "-d", str(out.parent / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert warnings == [], "\n".join(warnings)
    return out


def _text(path: Path) -> str:
    return html.unescape(path.read_text(encoding="utf-8"))


def _subcommands() -> list[str]:
    parser = build_parser()
    (sub,) = (a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return list(sub.choices)


def _config_keys(node: dict, prefix: str = "") -> list[str]:
    """Every dotted key of the schema, walked here independently of the docs' generator."""
    keys = []
    for name, child in node.get("properties", {}).items():
        keys.append(prefix + name)
        keys += _config_keys(child, f"{prefix}{name}.")
    return keys


def test_every_subcommand_is_in_the_cli_reference(site):
    page = _text(site / "reference" / "cli.html")
    commands = _subcommands()
    assert len(commands) >= 19  # crlb ... study: the parser with the pipeline extras
    missing = [c for c in commands if f'id="netsense-{c}"' not in page]
    assert missing == []
    # and each command's own options, e.g. query's --where and mc's --trials
    assert "--where" in page and "--trials" in page and "--block-trials" in page


def test_every_config_key_is_in_the_config_reference(site):
    page = _text(site / "reference" / "config.html")
    s = schema()
    keys = _config_keys(s) + [f"sampler.{k}" for k in s["$defs"]["sampler"]["properties"]]
    assert {"name", "sweep.lam", "dask.jobqueue.walltime", "sampler.nearest",
            "sampler.radius_m", "sampler.beam"} <= set(keys)
    missing = [k for k in keys if f'<span class="pre">{k}</span>' not in page]
    assert missing == []
    # a default and a description, as the schema states them
    assert "20250101" in page and "Trials per zarr chunk of the cube [count]." in page


def test_api_reference_documents_the_numerical_core(site):
    gen = site / "reference" / "generated"
    mc = _text(gen / "netsense.core.mc.html")
    assert 'id="netsense.core.mc.mc_point"' in mc
    assert "Networks to sample" in mc  # its numpydoc parameter text
    closed = _text(gen / "netsense.core.closed_form.html")
    assert 'id="netsense.core.closed_form.theorem2_m2"' in closed
    # the top-level names link to their definitions
    api = _text(site / "reference" / "api.html")
    for target in ("netsense.core.fisher.crlb", "netsense.core.closed_form.theorem2_m2",
                   "netsense.core.tightness.tightness"):
        assert re.search(rf'href="[^"]*#{re.escape(target)}"', api), target
    assert 'id="netsense.open_cube"' in api and 'id="netsense.summarize"' in api


def test_cross_references_of_the_guide_resolve(site):
    """A reference to the API from the guide (``{func}`netsense...` ``) or from the top-level
    list that names no documented object is a dead link: Sphinx renders it without a link and,
    outside nitpicky mode, without a warning. Renamed functions are caught here."""
    dead = {}
    for page in [*sorted((site / "guide").glob("*.html")), site / "reference" / "api.html"]:
        refs = re.findall(r'(<a [^>]*>)?<code class="xref py[^"]*">(.*?)</code>', _text(page))
        assert page.name != "computes.html" or len(refs) >= 10
        bad = [re.sub("<[^>]+>", "", code) for link, code in refs if not link]
        if bad:
            dead[page.name] = bad
    assert dead == {}


def test_guide_and_tutorial_pages_are_built(site):
    """Every guide page is in the toctree and built; the findings and performance pages hold
    their generated blocks (tests/test_readme.py checks them against the stored results)."""
    pages = sorted(p.stem for p in (DOCS / "guide").glob("*.md"))
    assert {"computes", "fixed-layouts", "samplers", "pipeline", "findings", "performance",
            "reliability", "architecture", "related"} <= set(pages)
    for page in ("index", "tutorial", *(f"guide/{p}" for p in pages)):
        assert (site / f"{page}.html").exists(), page
    tutorial = _text(site / "tutorial.html")
    assert "netsense.open_cube" in tutorial and "mc_point" in tutorial
    assert "The scaling laws reproduce" in _text(site / "guide" / "findings.html")
    assert "Accuracy per cost" in _text(site / "guide" / "performance.html")
