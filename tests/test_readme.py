"""The front page and the generated parts of the docs stay true.

The README is a front page: short, with install, run, test, results and the docs map in its
first screenful; its findings lines, the docs' findings page and performance page are exactly
what the stored results render to; the reliability page names tests that exist; examples write
under results/ only; every relative link leads to a file."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "guide"
# A front page read in five minutes: about 200 lines (issue 31's bound), and what a new user
# looks for first within one screenful of a terminal or a rendered page.
MAX_README_LINES = 200
SCREENFUL_LINES = 50


def test_readme_is_a_front_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, len(lines)
    first = "\n".join(lines[:SCREENFUL_LINES])
    for must in ("make run", "make test", "results/", "pip install", "docs"):
        assert must in first, must


def test_readme_relative_links_lead_to_files():
    text = README.read_text()
    links = re.findall(r"\]\(((?!https?:|#)[^)#\s]+)(?:#[^)]*)?\)", text)
    assert len(links) >= 10
    for link in links:
        assert (ROOT / link).exists(), link


def test_reliability_table_names_existing_tests():
    text = (GUIDE / "reliability.md").read_text()
    refs = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", text)
    assert len(refs) >= 14
    for path, name in refs:
        src = (ROOT / path).read_text()
        if name:
            assert re.search(rf"^def {name}\(", src, re.M), f"{path}::{name} is not a test"


def test_findings_blocks_are_what_the_stored_runs_render_to():
    """The README's five lines and the findings page's tables are exactly the stored full-run
    results (data/findings/); tests/workflow/test_paper.py checks those against what the
    current code produces."""
    from netsense.analysis.findings import (
        BEGIN,
        BRIEF_BEGIN,
        BRIEF_END,
        END,
        brief_block,
        load_store,
        page_block,
    )

    stored = load_store(ROOT / "data" / "findings")
    readme = README.read_text()
    assert BRIEF_BEGIN + readme.split(BRIEF_BEGIN, 1)[1].split(BRIEF_END, 1)[0] + BRIEF_END \
        == brief_block(stored)
    page = (GUIDE / "findings.md").read_text()
    assert BEGIN + page.split(BEGIN, 1)[1].split(END, 1)[0] + END == page_block(stored)


def test_performance_page_is_what_the_stored_benchmarks_render_to():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_tables
    finally:
        sys.path.pop(0)
    page = bench_tables.PAGE.read_text()
    got = bench_tables.BEGIN + page.split(bench_tables.BEGIN, 1)[1].split(bench_tables.END, 1)[0] \
        + bench_tables.END
    assert got == bench_tables.block(bench_tables.load())


def test_examples_write_under_results():
    """An example that writes files writes them under results/ (ignored by git), never into a
    tracked directory such as docs/."""
    texts = [README.read_text(), *(p.read_text() for p in sorted(GUIDE.glob("*.md")))]
    blocks = [b for t in texts for b in re.findall(r"```bash\n(.*?)```", t, flags=re.S)]
    outs = [m for b in blocks for m in re.findall(r"--(?:out|outdir|png|csv|json)\s+(\S+)", b)]
    assert outs, "the examples name no output at all"
    assert all(o.startswith("results/") for o in outs), outs
