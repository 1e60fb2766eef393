"""``netsense --help`` is plain text: what a terminal shows, no reStructuredText or Markdown."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

NETSENSE = Path(sys.executable).parent / "netsense"
SUBPROCESS_TIMEOUT_S = 60

# Inline literals and roles (``x``, `x`, :func:`x`), directives (.. note::), literal-block
# markers (::) and bold (**x**): what a docstring or a README may hold and a --help must not.
MARKUP = re.compile(r"`|:[a-z]+:|^\s*\.\. |::\s*$|\*\*")


def test_top_level_help_is_plain_text():
    p = subprocess.run([str(NETSENSE), "--help"], capture_output=True, text=True,
                       timeout=SUBPROCESS_TIMEOUT_S)
    assert p.returncode == 0, p.stderr
    assert "netsense COMMAND --help" in p.stdout  # the epilog is there, and shown as is
    marked = [ln for ln in p.stdout.splitlines() if MARKUP.search(ln)]
    assert not marked, marked
