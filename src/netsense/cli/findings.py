"""``netsense findings collect | show | runs``: the paper reproduction's stored findings."""

from __future__ import annotations

import sys

from ..errors import InputError


def cmd_findings(args):
    """Collect runs into the store, the docs and the README (collect), print them (show), or
    name the paper reproduction's runs (runs)."""
    from ..analysis.findings import RUNS, collect, load_store, render

    if args.action == "runs":
        print("\n".join(RUNS))
        return
    if args.action == "show":
        print(render(load_store(args.store)))
        return
    if not args.runs:
        raise InputError("findings collect", "", "give the run directories, e.g. "
                         "results/paper-fig1 results/paper-gap results/paper-sec2c")
    for w in collect(args.runs, args.store, args.docs, args.page, args.readme):
        print(f"netsense: wrote {w}", file=sys.stderr)


def register(sub) -> None:
    """Add ``findings`` to the subcommands."""
    fd = sub.add_parser("findings", help="paper reproduction: collect runs into data/findings, "
                        "the docs and the README (collect), print the findings (show) or the "
                        "runs (runs)",
                        description="collect: copy each run's findings.json and figures into "
                        "the store and docs/, and rewrite the findings block of the docs' "
                        "findings page and the README's brief one; show: print the findings "
                        "from the store; runs: print the names of the paper reproduction's runs "
                        "(config/<name>.yaml, results/<name>/), one a line, in the order "
                        "`make paper` runs them.")
    fd.add_argument("action", choices=["collect", "show", "runs"], help="what to do")
    fd.add_argument("runs", nargs="*", help="run directories (collect)")
    fd.add_argument("--store", default="data/findings", help="where the findings are stored")
    fd.add_argument("--docs", default="docs", help="where the figures are copied")
    fd.add_argument("--page", default=None, help="docs page to rewrite between its FINDINGS "
                    "markers (docs/guide/findings.md)")
    fd.add_argument("--readme", default=None, help="README to rewrite between its BRIEF markers")
    fd.set_defaults(func=cmd_findings)
