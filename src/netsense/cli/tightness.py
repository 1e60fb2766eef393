"""``netsense tightness``: tabulate c(gamma) = E[eq. 18] / Theorem 2 (netsense.core.tightness)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from ..errors import InputError
from ..inputs import parse_density


def _row(args):
    from ..core.tightness import compute_row

    gamma, seed, nearest, ratio, sampler, max_trials = args
    if ratio is None:
        return compute_row(gamma, seed=seed, nearest=nearest)
    return compute_row(gamma, seed=seed, nearest=nearest, ratio=ratio, max_trials=max_trials,
                       sampler=sampler)


def _cmd_map(args, out: Path):
    """The asymmetric map c(gamma, lam_t / lam_r): CSV, JSON and a heat map."""
    from concurrent.futures import ProcessPoolExecutor

    from ..core.samplers import DiskSampler, PlaneSampler
    from ..core.tightness import (
        COLUMNS,
        MAP_DISK_GAMMAS,
        MAP_DISK_MAX_TRIALS,
        MAP_DISK_RADIUS_M,
        MAP_DISK_RATIOS,
        MAP_GAMMAS,
        MAP_MAX_TRIALS,
        MAP_NEAREST,
        MAP_RATIOS,
        SEED,
        write_table,
    )

    try:
        ratios = MAP_RATIOS if args.ratios == "default" else tuple(
            parse_density("--ratios", r) for r in args.ratios.split(","))
        gammas = MAP_GAMMAS if args.gammas is None else tuple(
            float(g) for g in args.gammas.split(","))
    except ValueError:
        raise InputError("--ratios/--gammas", (args.ratios, args.gammas),
                         "must be comma-separated numbers (ratios also as 1/16)") from None
    for g in gammas:
        if not g > 2.0:
            raise InputError("--gammas", g, "must be > 2 (Theorem 2 needs gamma > 2)")
    todo = [(g, SEED, MAP_NEAREST, r, PlaneSampler(MAP_NEAREST), MAP_MAX_TRIALS)
            for r in ratios for g in gammas]
    if args.ratios == "default" and args.gammas is None:  # the disk's smaller grid
        todo += [(g, SEED, MAP_NEAREST, r, DiskSampler(MAP_DISK_RADIUS_M), MAP_DISK_MAX_TRIALS)
                 for r in MAP_DISK_RATIOS for g in MAP_DISK_GAMMAS]
    rows = []
    with ProcessPoolExecutor(args.workers) as ex:
        for r in ex.map(_row, todo):
            rows.append(r)
            print(f"netsense: tightness {r['sampler']} ratio={r['ratio']:g} gamma={r['gamma']:g} "
                  f"c={r['c']:.6f} [{r['c_ci95_low']:.6f}, {r['c_ci95_high']:.6f}] "
                  f"trials={r['trials']}", file=sys.stderr, flush=True)
    write_table(rows, out / "asymmetric.csv", columns=("sampler", "ratio", *COLUMNS))
    (out / "asymmetric.json").write_text(json.dumps({
        "command": f"netsense tightness --ratios {args.ratios}"
                   + ("" if args.gammas is None else f" --gammas {args.gammas}"),
        "rows": sorted(rows, key=lambda r: (r["sampler"], r["ratio"], r["gamma"]))},
        indent=1))
    from ..analysis.figures.tightness_table import ratio_map

    ratio_map(rows, out / "asymmetric.png")
    print(f"netsense: wrote {out / 'asymmetric.csv'} and {out / 'asymmetric.png'}",
          file=sys.stderr)


def cmd_tightness(args):
    """Compute the table (in parallel over gamma), write CSV, JSON and the figure."""
    from concurrent.futures import ProcessPoolExecutor

    from ..core.tightness import GAMMAS, NEAREST, SEED, TABLE, write_table

    if args.workers < 1:
        raise InputError("--workers", args.workers, "must be an integer >= 1")
    if args.ratios is not None:
        return _cmd_map(args, Path(args.out))
    try:
        gammas = GAMMAS if args.gammas is None else tuple(float(g) for g in args.gammas.split(","))
    except ValueError:
        raise InputError("--gammas", args.gammas, "must be comma-separated numbers") from None
    for g in gammas:
        if not g > 2.0:
            raise InputError("--gammas", g, "must be > 2 (Theorem 2 needs gamma > 2)")
    out = Path(args.out)
    todo = [(g, SEED, NEAREST, None, None, None) for g in gammas]
    rows = []
    with ProcessPoolExecutor(args.workers) as ex:
        for r in ex.map(_row, todo):
            rows.append(r)
            print(f"netsense: tightness gamma={r['gamma']:g} c={r['c']:.6f} "
                  f"[{r['c_ci95_low']:.6f}, {r['c_ci95_high']:.6f}] trials={r['trials']}",
                  file=sys.stderr, flush=True)
    write_table(rows, out / "tightness.csv")
    (out / "tightness.json").write_text(json.dumps({
        "command": "netsense tightness" + ("" if args.gammas is None else
                                           f" --gammas {args.gammas}"),
        "rows": sorted(rows, key=lambda r: r["gamma"])}, indent=1))
    from ..analysis.figures.tightness_table import figure

    figure(rows, out / "tightness.png", title="netsense: tightness of Theorem 2 on the plane "
           f"(plane sampler K={NEAREST}, lam_t = lam_r, M_t = M_r)")
    if args.package and args.gammas is None:
        shutil.copyfile(out / "tightness.csv", TABLE)
    print(f"netsense: wrote {out / 'tightness.csv'}, {out / 'tightness.png'}"
          + (f" and {TABLE}" if args.package and args.gammas is None else ""), file=sys.stderr)


def register(sub) -> None:
    """Add ``tightness`` to the subcommands."""
    t = sub.add_parser("tightness", help="tabulate c(gamma) = E[eq. 18] / Theorem 2 on the plane",
                       description="The tightness function c(gamma) = E[eq. (18)] / Theorem 2 "
                       "for lam_t = lam_r, M_t = M_r on the whole plane, at 80 values of gamma "
                       "(2.05 to 6), each to a 95% half-width below 1e-3 (gamma <= 4) or 3e-3 "
                       "relative, by the control-variate estimator.")
    t.add_argument("--out", default="results/tightness",
                   help="output directory (the shipped tables are in data/tightness)")
    t.add_argument("--gammas", default=None, help="comma-separated gammas instead of the 80")
    t.add_argument("--workers", type=int, default=2, help="processes")
    t.add_argument("--ratios", default=None, metavar="R1,R2,...|default",
                   help="the asymmetric map instead: lam_t / lam_r values (lam_t lam_r fixed; "
                   "each side its own stream), 'default' for 1,4,16,64,256 over gamma "
                   "2.1,2.5,3,3.5,4,5,6 on the plane (K=64), and 1,4,16 over 2.5,3,4 on the "
                   "disk (R=500 m); writes asymmetric.csv/json/png")
    t.add_argument("--package", action="store_true",
                   help="also install the table as the package's (netsense.tightness reads it)")
    t.set_defaults(func=cmd_tightness)
