"""The README's Reliability table stays true: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reliability_table_names_existing_tests():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    refs = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", section)
    assert len(refs) >= 14
    for path, name in refs:
        src = (ROOT / path).read_text()
        if name:
            assert re.search(rf"^def {name}\(", src, re.M), f"{path}::{name} is not a test"


def test_findings_block_is_what_the_stored_runs_render_to():
    """The README's findings numbers are exactly the stored full-run results (data/findings/);
    tests/workflow/test_paper.py checks those against what the current code produces."""
    from netsense.analysis.findings import BEGIN, END, load_store, readme_block

    text = (ROOT / "README.md").read_text()
    assert BEGIN in text and END in text
    got = BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert got == readme_block(load_store(ROOT / "data" / "findings"))


def test_readme_examples_write_under_results():
    """A README example that writes files writes them under results/ (ignored by git), never
    into a tracked directory such as docs/."""
    import re

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    outs = [m for b in blocks for m in re.findall(r"--(?:out|outdir|png|csv|json)\s+(\S+)", b)]
    assert outs, "the README's examples name no output at all"
    assert all(o.startswith("results/") for o in outs), outs
