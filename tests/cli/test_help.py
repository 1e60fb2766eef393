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


def _subparsers():
    from netsense.cli.main import build_parser

    (sub,) = (a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices


def _entries(help_text: str) -> list[str]:
    """The help of each argument, wrapped lines joined: an entry starts at an indented name."""
    out: list[str] = []
    for line in help_text.splitlines():
        if re.match(r"^  \S", line):
            out.append(line.strip())
        elif out and line.strip():
            out[-1] += " " + line.strip()
    return out


def test_each_default_is_stated_once_and_none_is_not(monkeypatch):
    """argparse's "(default: None)" says nothing (required options, options without one), and
    beside a help that states its default ("(default 30e9)") it doubles it."""
    monkeypatch.setenv("COLUMNS", "100")
    commands = _subparsers()
    assert len(commands) >= 19
    for name, p in commands.items():
        entries = _entries(p.format_help())
        assert entries, name
        for e in entries:
            assert "(default: None)" not in e, (name, e)
            assert len(re.findall(r"\(default", e)) <= 1, (name, e)
    mc = " ".join(_entries(commands["mc"].format_help()))
    assert "(default: 100000)" in mc  # --trials: a default that says something is kept
    assert "carrier frequency f_c [Hz] (default 30e9) --" in mc


def test_top_level_help_lists_every_command_by_use():
    p = subprocess.run([str(NETSENSE), "--help"], capture_output=True, text=True,
                       timeout=SUBPROCESS_TIMEOUT_S)
    groups = p.stdout.split("commands by use:", 1)[1].split("\n\n", 1)[0]
    listed = [name for ln in groups.strip("\n").splitlines()
              for name in re.split(r",\s*", re.sub(r" \(.*\)$", "", ln[27:]))]
    assert sorted(listed) == sorted(_subparsers()), groups
    assert "stored cubes             info, query, verify, plot" in groups


def _one_line_error(p, *words):
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and p.stdout == "", p.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_a_negative_density_reaches_its_option():
    """argparse reads "-1/900" as an unknown option ("expected one argument"); it must reach
    the option's parser, whose error names the option, the value and the density rule."""
    rule = "density must be finite and > 0 per m^2"
    for argv, opt, value in (
            (["mc", "--lam", "-1/900", "--gamma", "2.5", "--trials", "10"], "--lam", "-1/900"),
            (["mc", "--lam-t", "-1e-3", "--lam-r", "1/900", "--gamma", "2.5"], "--lam-t", "-1e-3"),
            (["theory", "--lam-t", "1/900", "--lam-r", "-.5", "--gamma", "2.5",
              "--rho-s-db", "-10"], "--lam-r", "-.5")):
        p = subprocess.run([str(NETSENSE), *argv], capture_output=True, text=True,
                           timeout=SUBPROCESS_TIMEOUT_S)
        _one_line_error(p, f"argument {opt}: got '{value}'", rule)
    p = subprocess.run([str(NETSENSE), "mc", "--lam", "1/900", "--gamma", "-inf"],
                       capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)
    _one_line_error(p, "argument --gamma: got '-inf'; must be finite")
