"""``netsense info | query | verify | plot``: what a stored cube holds, statistics over its
trials, whether every chunk of it is sound, and one swept axis of it as a figure."""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from ..errors import InputError
from .common import _json_default


def cmd_info(args):
    """Print the cube's dims, coordinates, variables, filled points and config."""
    from ..analysis.estimates import CONDITIONAL_MEAN_NOTE, INFINITE_MEAN_NOTE
    from ..analysis.query import info

    d = info(args.cube)
    if args.json:
        print(json.dumps(d, indent=1, default=str))
        return
    samplers = "; ".join(json.dumps(s, sort_keys=True) for s in d["samplers"]) \
        if d["samplers"] else "(not recorded)"
    print(f"cube       {d['path']}  ({d['size_on_disk_bytes'] / 1e6:.1f} MB on disk)"
          f"{'' if d['complete'] else '  INCOMPLETE (assembly did not finish)'}")
    print(f"made by    netsense {d['netsense_version']} at {d['created_utc']}; seed {d['seed']}; "
          f"format {d['format']}{' (every chunk checksummed)' if d['format'] == 3 else ''}")
    print(f"samplers   {samplers}")
    blocked = [lab for lab, ok in d.get("mean_finite", {}).items() if not ok]
    if blocked:
        print(f"blockage   {', '.join(blocked)}: {INFINITE_MEAN_NOTE}; the mean of eq. (23) "
              f"is {CONDITIONAL_MEAN_NOTE}")
    print("dims       " + ", ".join(f"{k}={v}" for k, v in d["dims"].items()))
    for a, vals in d["coords"].items():
        print(f"  {a:9s}{', '.join(f'{v:g}' if isinstance(v, float | int) else str(v) for v in vals)}")
    print("variables")
    for k, v in d["variables"].items():
        print(f"  {k:16s}[{v['units']}] over ({', '.join(v['dims'])}): {v['long_name']}")
    print(f"trials     {d['trials_per_point']} per point; {d['points']} points: "
          f"{d['points_filled']} filled, {d['points_partly_filled']} partly, "
          f"{d['points_unfilled']} unfilled ({d['trials_filled']} of {d['trials_stored']} trial "
          "values present)")
    print(f"config     {json.dumps(d['config'], sort_keys=True)}")


def _say_nearest(taken: dict) -> None:
    """One line per value that ``--nearest`` substituted ({axis: (asked, taken)})."""
    for key, (asked, got) in taken.items():
        print(f"netsense: --nearest: {key}={asked} is not stored; took the nearest, "
              f"{key}={got:.6g}", file=sys.stderr)


def _where(items) -> dict:
    where = {}
    for w in items:
        if "=" not in w:
            raise InputError("--where", w, "must be KEY=VALUE, e.g. gamma=3 or lam=1/900")
        k, v = w.split("=", 1)
        if k.strip() in where:
            raise InputError("--where", w, f"{k.strip()} is given twice")
        where[k.strip()] = v.strip()
    return where


# The table's numbers: 5 significant digits (CSV and JSON keep every digit); a mean's 95%
# interval as its half-widths relative to the mean, 2 significant digits, which is the interval's
# own precision, where the mean is beside it.
TABLE_DIGITS = 5
INTERVAL_DIGITS = 2
DENSITY_DIMS = ("lam", "lam_t", "lam_r")
# shorter in a table: the statistic's name (--stats ratio, closed_form)
TABLE_LABELS = {"mean_over_closed_form": "ratio", "closed_form_m2": "closed_form"}
DENSITY_FRACTION_RTOL = 1e-9  # a density shown as 1/N when 1/lam is an integer N to this


def _number(x, digits=TABLE_DIGITS) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{x:.{digits}g}"
    return str(x)


def _density(x) -> str:
    """1/900 for a density whose inverse is an integer (as --where takes it), else 6 digits."""
    inv = 1.0 / x if x > 0 else math.inf
    if math.isfinite(inv) and abs(inv - round(inv)) <= DENSITY_FRACTION_RTOL * inv:
        return f"1/{round(inv)}"
    return f"{x:.6g}"


def _percent(x) -> str:
    return f"{x:.0f}" if abs(x) >= 10 else f"{x:.{INTERVAL_DIGITS}g}"


def _relative_interval(mean, lo, hi) -> str:
    """[lo, hi] as -a/+b% of ``mean`` (+-a% when the two agree to the digits shown)."""
    if not all(math.isfinite(v) for v in (mean, lo, hi)) or mean == 0:
        return f"[{_number(lo)}, {_number(hi)}]"
    below, above = (_percent(100 * d / abs(mean)) for d in (mean - lo, hi - mean))
    return f"+-{below}%" if below == above else f"-{below}/+{above}%"


# Statistics that are fractions of trials (coverage:R, localizable): their interval is shown as
# its two bounds.
FRACTION_STATS = ("coverage_", "localizable")


def _absolute_interval(value, lo, hi) -> str:
    """[lo, hi] to TABLE_DIGITS - 1 decimals (fractions: 0.9495 [0.9481, 0.9509])."""
    return f"[{lo:.{TABLE_DIGITS - 1}f}, {hi:.{TABLE_DIGITS - 1}f}]"


def _group(col: str, variables) -> tuple[str, str]:
    """(variable, statistic) of a column: crlb_m2_mean -> (crlb_m2, mean); ("", col) else."""
    for v in sorted(variables, key=len, reverse=True):
        if col.startswith(v + "_"):
            return v, col[len(v) + 1:]
    return "", col


def format_table(df, coords, variables) -> str:
    """The terminal table of ``summarize``'s frame: each variable's statistics under its name,
    compact numbers (TABLE_DIGITS), a mean's interval beside the mean relative to it."""
    shown = []  # (group, label, cells, right-aligned)
    for c in df.columns:
        if c in coords:
            fmt = _density if c in DENSITY_DIMS else _number
            shown.append(("", c, [fmt(x) for x in df[c]], c != "sampler"))
            continue
        group, label = _group(c, variables)
        if label.endswith("_ci95_high") and f"{group}_{label[:-10]}" in df:
            continue  # joined to its _low
        if label.endswith("_ci95_low") and f"{group}_{label[:-9]}" in df:
            m = df[f"{group}_{label[:-9]}"]
            # a fraction's interval as its bounds (a relative one reads badly near 1)
            show = _absolute_interval if label.startswith(FRACTION_STATS) else _relative_interval
            cells = [show(*t) for t in
                     zip(m, df[c], df[f"{group}_{label[:-4]}_high"], strict=True)]
            shown.append((group, label[:-4], cells, True))
            continue
        label = TABLE_LABELS.get(label, label)
        shown.append((group, label, [_number(x) for x in df[c]], True))
    widths = [max([len(label), *map(len, cells)]) for _, label, cells, _ in shown]
    top, i = [], 0
    while i < len(shown):  # a variable's name over its columns
        j = i
        while j + 1 < len(shown) and shown[j + 1][0] == shown[i][0]:
            j += 1
        span = sum(widths[i:j + 1]) + (j - i)
        top.append(shown[i][0].center(span) if shown[i][0] else " " * span)
        i = j + 1
    rows = [" ".join(label.rjust(w) if right else label.ljust(w)
                     for (_, label, _, right), w in zip(shown, widths, strict=True))]
    for k in range(len(df)):
        rows.append(" ".join(cells[k].rjust(w) if right else cells[k].ljust(w)
                             for (_, _, cells, right), w in zip(shown, widths, strict=True)))
    head = " ".join(top).rstrip()
    return "\n".join(([head] if head else []) + [r.rstrip() for r in rows])


def cmd_query(args):
    """Print statistics over trials, one row per selected point (table, CSV or JSON)."""
    from ..analysis.query import VARS, select_dims, summarize
    from ..pipeline.cube import COMPLETE_ATTR, open_cube

    where = _where(args.where)
    ds = open_cube(args.cube, require_complete=False)
    wanted = [v for v in args.var.split(",") if v] if args.var else \
        [v for v in VARS if v in ds.data_vars]  # default: every per-trial variable present
    stats = [s for s in args.stats.split(",") if s.strip()]
    if not stats:
        raise InputError("--stats", args.stats, "name at least one statistic (see --help)")
    df = summarize(ds, var=wanted, stats=stats, where=where, nearest=args.nearest)
    if args.format == "csv":
        print(df.to_csv(index=False), end="")
    elif args.format == "json":
        # full precision, as the CSV (pandas' to_json rounds to 10 decimals: lam=0.0011111111);
        # NaN as null
        rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
        print(json.dumps(rows, indent=1, default=_json_default))
    else:
        print(format_table(df, select_dims(ds), wanted))
    _say_nearest(df.attrs.get("nearest_taken", {}))
    for note in df.attrs.get("notes", []):  # blockage: no eq. (18) mean, eq. (23)'s conditional
        print(f"netsense: note: {note}", file=sys.stderr)
    for v, n in df.attrs.get("uncalibrated_intervals", {}).items():
        if "calibrated" not in stats:
            print(f"netsense: note: the 95% interval of {v} is not calibrated at {n} point(s): "
                  "its coverage was not measured to hold at that gamma and trial count "
                  "(--stats ci95,calibrated shows which)", file=sys.stderr)
    if df.attrs.get("nonfinite_trials"):
        print(f"netsense: warning: {df.attrs['nonfinite_trials']} trial value(s) are infinite "
              "(singular FIM); the statistics are over the finite ones (--stats filled counts "
              "them per point)", file=sys.stderr)
    if not ds.attrs.get(COMPLETE_ATTR, False):
        print("netsense: warning: this cube is INCOMPLETE (assembly did not finish); counts "
              "show the filled trials", file=sys.stderr)


def cmd_verify(args):
    """Check every chunk and the metadata of a cube; exit 0 only when all is sound."""
    from ..pipeline.integrity import verify

    rep = verify(args.cube, progress=not args.quiet)
    if args.json:
        print(json.dumps({"cube": rep.path, "format": rep.format, "sound": rep.sound,
                          "chunks": rep.n_chunks, "arrays": rep.n_arrays,
                          "problems": [p.__dict__ for p in rep.problems], "notes": rep.notes},
                         indent=1))
    else:
        for p in rep.problems:
            print(f"netsense: verify: {p.line()}")
        for n in rep.notes:
            print(f"netsense: verify: note: {n}", file=sys.stderr)
        state = "sound" if rep.sound else f"{len(rep.problems)} problem(s)"
        print(f"netsense: verify: {rep.path}: {state} ({rep.n_chunks} chunks of {rep.n_arrays} "
              f"arrays checked, format {rep.format})"
              + ("" if rep.sound else "; the next `netsense run` of its config rebuilds it "
                 "from its shards"))
    return 0 if rep.sound else 1


def cmd_plot(args):
    """One swept axis of a cube as a figure (``netsense.analysis.figures.plot``)."""
    from pathlib import Path

    from ..analysis.figures.plot import plot_cube
    from ..pipeline.cube import open_cube

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError("--out", args.out, "must end in .png, .pdf or .svg")
    if not out.parent.is_dir():
        raise InputError("--out", args.out, f"directory '{out.parent}' does not exist")
    ds = open_cube(args.cube)
    var = [v for v in args.var.split(",") if v]
    if args.cdf and args.coverage_m is not None:
        raise InputError("--cdf", "--coverage-m", "draw one of them: the CDF by --x, or the "
                         "coverage at one accuracy against --x")
    if args.coverage_m is not None and not (math.isfinite(args.coverage_m)
                                            and args.coverage_m > 0):
        raise InputError("--coverage-m", args.coverage_m, "must be finite and > 0 (metres)")
    if args.cdf:
        from ..analysis.figures.plot import plot_cdf

        res = plot_cdf(ds, args.x, _where(args.where), out, var=var[0], nearest=args.nearest)
        _say_nearest(res["nearest_taken"])
        print(f"netsense: wrote {out} ({len(res['series'])} curve(s))", file=sys.stderr)
        return
    if args.coverage_m is not None:
        from ..analysis.figures.plot import plot_coverage

        res = plot_coverage(ds, args.x, _where(args.where), args.coverage_m, out, var=var,
                            nearest=args.nearest)
        _say_nearest(res["nearest_taken"])
        print(f"netsense: wrote {out} ({len(res['series'])} series)", file=sys.stderr)
        return
    res = plot_cube(ds, args.x, _where(args.where), out, var=var, ratio=args.ratio,
                    nearest=args.nearest)
    _say_nearest(res["nearest_taken"])
    for note in res["notes"]:  # blockage: no eq. (18) mean to draw, eq. (23)'s conditional
        print(f"netsense: note: {note}", file=sys.stderr)
    print(f"netsense: wrote {out} ({len(res['series'])} sampler(s), "
          f"{len(next(iter(res['series'].values()))['x'])} points)", file=sys.stderr)


def _stats_help() -> str:
    """The statistics of --stats, one line each (netsense.analysis.query.STATS)."""
    import textwrap

    from ..analysis.query import STATS

    lines = ["statistics (--stats), per variable <var>:", ""]
    for name, text in STATS.items():  # a list that reads as text and as reStructuredText
        lines += textwrap.wrap(f"{name}: {text}", 92, initial_indent="- ",
                               subsequent_indent="  ")
    return "\n".join(lines)


def register(sub) -> None:
    """Add ``info``, ``query``, ``verify`` and ``plot`` to the subcommands."""
    from ..analysis.query import DEFAULT_STATS
    i = sub.add_parser("info", help="what a stored cube holds and which config made it",
                       description="Dims, coordinates, units, filled points, config, seed and "
                       "size of a stored cube.")
    i.add_argument("cube", help="a cube (results/<name>/cube.zarr)")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=cmd_info)

    q = sub.add_parser("query", help="statistics over trials from a stored cube",
                       description="Statistics over trials, one row per remaining (sampler, M, "
                       "rho_s_db, lam, gamma) point: its coordinates and the statistics asked.",
                       epilog=_stats_help())
    q.add_argument("cube", help="a cube (results/<name>/cube.zarr)")
    q.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="sampler (e.g. disk-R500), M, rho_s_db, lam (also 1/900) or gamma; "
                   "repeatable")
    q.add_argument("--var", default="", help="comma-separated, e.g. crlb_m2,jensen_m2 "
                   "(default: all per-trial variables)")
    q.add_argument("--stats", default=",".join(DEFAULT_STATS),
                   help="comma-separated statistics, the columns in that order (below)")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="table: 5 significant digits, a mean's 95%% interval relative to it; "
                   "csv and json: every digit")
    q.add_argument("--nearest", action="store_true", help="take the nearest stored value")
    q.set_defaults(func=cmd_query)

    v = sub.add_parser("verify", help="check every chunk of a stored cube",
                       description="Read every chunk of every array of a cube (one at a time) "
                       "and check its checksum and its decoding, the completeness marker, the "
                       "metadata and the shapes. Lists each corrupt or missing chunk with its "
                       "variable, cell and file; exit status 0 only when all is sound, 1 when "
                       "something is not, 2 when it is not a cube.")
    v.add_argument("cube", help="a cube (results/<name>/cube.zarr)")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument("--quiet", action="store_true", help="no progress line on a terminal")
    v.set_defaults(func=cmd_verify)

    p = sub.add_parser("plot", help="one swept axis of a stored cube as a figure",
                       description="The mean of eq. (18) and eq. (23) against one swept axis "
                       "(--x), the other axes fixed with --where as in `netsense query`, with "
                       "95% bands and Theorem 2; one series per sampler unless --where fixes "
                       "it. Log axes where the axis is a density or an antenna count.")
    p.add_argument("cube", help="a cube (results/<name>/cube.zarr)")
    p.add_argument("--x", required=True, help="the swept axis on x: M, rho_s_db, lam or gamma")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="fix every other swept axis, e.g. --where M=4 (repeatable)")
    p.add_argument("--var", default="crlb_m2,jensen_m2", help="comma-separated variables")
    p.add_argument("--ratio", action="store_true", help="plot each mean over Theorem 2 "
                   "(linear y axis)")
    p.add_argument("--cdf", action="store_true",
                   help="draw the CDF of the RMSE bound sqrt(var) instead, one curve per value "
                   "of --x (the fraction of target positions located within R, against R; first "
                   "variable of --var), with 95%% bands and the exact eq. (23) law dashed")
    p.add_argument("--coverage-m", dest="coverage_m", type=float, default=None, metavar="R",
                   help="draw the fraction of target positions within R metres against --x "
                   "instead of the means, with 95%% bands")
    p.add_argument("--nearest", action="store_true", help="take the nearest stored value")
    p.add_argument("--out", required=True, help="the figure to write (.png, .pdf or .svg)")
    p.set_defaults(func=cmd_plot)
