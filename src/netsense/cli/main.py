"""The ``netsense`` command: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import sys

from ..errors import CubeError, InputError
from ..version import __version__
from .common import Parser

DESCRIPTION = """\
netsense: network-level sensing limits for distributed MIMO radar. The CRLB on a target's
position (eq. 18), Monte Carlo over Poisson networks, and the closed-form bounds of Song et al.,
"Performance Analysis of Network Sensing in the Distributed MIMO Radar System"."""
# Every command, by use: the closing section of `netsense --help` (tests/cli/test_help.py checks
# that it names each registered command).
COMMAND_GROUPS = (
    ("the numerical core", ("crlb", "theory", "mc", "design", "tightness")),
    ("fixed deployments", ("map", "estimate")),
    ("sweeps", ("init", "run", "validate", "schema")),
    ("stored cubes", ("info", "query", "verify", "plot")),
    ("paper reproduction", ("findings",)),
    ("workflow steps", ("shard", "assemble", "fit", "figure", "study")),
)
EPILOG = "commands by use:\n" + "".join(
    f"  {group:24s} {', '.join(names)}"
    + (" (run by the Snakefile)" if group == "workflow steps" else "") + "\n"
    for group, names in COMMAND_GROUPS) + """
netsense COMMAND --help shows each command's arguments and defaults."""

# The command modules of this package (each has register(subparsers)), in --help order.
CORE_COMMANDS = ("physics", "design", "map", "estimate", "tightness")
PIPELINE_COMMANDS = ("cube", "run", "findings", "shard", "assemble", "fit", "figure", "study")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows the defaults that say something, keeps the description's line breaks."""

    def _get_help_string(self, action):
        # No default for a flag (off unless given), a required option or an option without
        # one (None, empty): a help that states its own default ("(default 30e9)") has None.
        d = action.default
        if (d is None or d is argparse.SUPPRESS or isinstance(d, bool) or d in ("", [])
                or action.required):
            return action.help
        return super()._get_help_string(action)


def build_parser(modules=None) -> argparse.ArgumentParser:
    """The ``netsense`` argument parser: every subcommand, or those of ``modules`` only."""
    p = Parser(prog="netsense", description=DESCRIPTION, epilog=EPILOG,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"netsense {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser,
                           metavar="COMMAND")
    add = sub.add_parser

    def add_parser(name, **kw):
        kw.setdefault("formatter_class", _HelpFormatter)
        return add(name, **kw)

    sub.add_parser = add_parser
    if modules is None:
        modules = CORE_COMMANDS
        if importlib.util.find_spec("xarray") is not None:  # pipeline extras installed
            modules = (*modules, *PIPELINE_COMMANDS)
    for name in modules:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return p


def _modules_for(argv) -> tuple | None:
    """A command whose module is named after it (``shard``, ``fit`` ...) imports that module
    alone: a workflow job starts without the other commands' imports."""
    first = argv[0] if argv else None
    return (first,) if first in (*CORE_COMMANDS, *PIPELINE_COMMANDS) else None


def main(argv=None) -> int:
    """Run ``netsense``; a user error is one line on stderr and exit status 2, a Ctrl-C ends
    it with status 130 and no traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C


def _whole_lines(stream) -> None:
    """Make ``stream`` write each printed line with one write(2).

    Unbuffered (``PYTHONUNBUFFERED``, ``python -u``), Python writes a print's text and its
    newline with two writes. The jobs of a run write to one terminal at once (through tee), and
    another job's line landing between the two glues lines together (``... 4 to
    samplenetsense: shard ...``). Buffered up to the newline, a line goes in one write, which no
    other write to a pipe or terminal splits. (Buffered, Python already does so.)
    """
    if isinstance(getattr(stream, "buffer", None), io.FileIO) and stream.write_through:
        stream.reconfigure(write_through=False, line_buffering=True)


def _main(argv) -> int:
    _whole_lines(sys.stdout)
    _whole_lines(sys.stderr)
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_modules_for(argv))
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except (InputError, CubeError) as exc:
        print(f"netsense: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        err = _corrupt_cube(exc, getattr(args, "cube", None))
        if err is None:
            raise
        print(f"netsense: error: {err}", file=sys.stderr)
        return 2
    return int(rc or 0)


def _corrupt_cube(exc: Exception, cube):
    """The one-line error for a corrupted chunk of ``cube``, the cube the command reads (its
    ``cube`` argument; None: it reads none), else None. A command computes on a cube it opened
    lazily, so a corrupt chunk can surface anywhere in its code, as zarr's own error."""
    if cube is None or importlib.util.find_spec("zarr") is None:
        return None
    from ..pipeline import integrity

    if not integrity.is_corruption(exc):
        return None
    return integrity.corruption_error([cube])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
