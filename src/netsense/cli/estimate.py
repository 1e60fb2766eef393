"""``netsense estimate``: the ML position estimator against the CRLB on one layout, over rho_s.

The edge of :mod:`netsense.deploy.estimator`: validates every argument and output path first,
runs the Monte Carlo, writes the figure, the CSV table and the JSON (rows and run metadata)
atomically, and prints the table.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..analysis.tables import write_rows
from ..deploy.estimator import check_layout, check_trials, estimator_mc
from ..deploy.layout import load_layout
from ..errors import InputError
from ..files import write_atomic
from ..pipeline.schema import schema_default
from .common import finite

COLUMNS = ("rho_s_db", "trials", "mse_m2", "mse_sem_m2", "mse_ci95_lo_m2", "mse_ci95_hi_m2",
           "crlb_m2", "ratio", "ratio_ci95_lo", "ratio_ci95_hi", "rmse_m", "crlb_rmse_m",
           "bias_x_m", "bias_y_m", "bias_x_sem_m", "bias_y_sem_m", "init_mse_m2",
           "init_mse_sem_m2", "init_ratio", "nonconverged_fraction", "at_site_fraction",
           "mean_iterations")


def _flat(row: dict) -> dict:
    out = {k: row[k] for k in COLUMNS if k in row}
    out["mse_ci95_lo_m2"], out["mse_ci95_hi_m2"] = row["mse_ci95_m2"]
    out["ratio_ci95_lo"], out["ratio_ci95_hi"] = row["ratio_ci95"]
    out["bias_x_m"], out["bias_y_m"] = row["bias_m"]
    out["bias_x_sem_m"], out["bias_y_sem_m"] = row["bias_sem_m"]
    return {k: out[k] for k in COLUMNS}


def format_table(rows) -> str:
    """The printed table: rho_s, MSE, CRLB, ratio with 95% CI, bias, init ratio, not converged."""
    head = (f"{'rho_s[dB]':>9} {'MSE[m^2]':>11} {'CRLB[m^2]':>11} {'MSE/CRLB':>9} "
            f"{'95% CI':>19} {'bias_x[m]':>10} {'bias_y[m]':>10} {'init/CRLB':>10} {'not conv.':>9}")
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['rho_s_db']:9.1f} {r['mse_m2']:11.4e} {r['crlb_m2']:11.4e} {r['ratio']:9.4f} "
            f"[{r['ratio_ci95'][0]:8.4f},{r['ratio_ci95'][1]:9.4f}] {r['bias_m'][0]:10.2e} "
            f"{r['bias_m'][1]:10.2e} {r['init_ratio']:10.4f} {100 * r['nonconverged_fraction']:8.3f}%")
    return "\n".join(lines)


def _check_output(flag: str, path, suffix: str, taken: dict) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise InputError(flag, str(path), f"must end in {suffix}")
    if p.is_dir():
        raise InputError(flag, str(path), "is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(flag, str(path), f"directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(flag, str(path), f"directory {str(parent)!r} is not writable")
    key = os.path.abspath(p)
    if key in taken:
        raise InputError(flag, str(path), f"same file as {taken[key]}")
    taken[key] = flag
    return p


def cmd_estimate(args) -> int:
    """``netsense estimate``: validate everything, run the Monte Carlo, write, print the table."""
    t0 = time.perf_counter()
    kw, layout_meta = load_layout(args.layout)
    rhos = list(args.rho_s_db_list) if args.rho_s_db_list else [kw["rho_s_db"]]
    if len(set(rhos)) != len(rhos):
        raise InputError("--rho-s-db-list", rhos, "values must be distinct")
    check_trials("--trials", args.trials)
    if args.seed < 0:
        raise InputError("--seed", args.seed, "must be an integer >= 0")
    taken: dict = {}
    png = _check_output("--png", args.png, ".png", taken)
    csv_p = _check_output("--csv", args.csv, ".csv", taken)
    json_p = _check_output("--json", args.json, ".json", taken)
    if png is not None:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise InputError("--png", str(png), "needs matplotlib (pip install 'netsense[pipeline]')")
        from ..analysis.figures.estimator import plot_estimator
    check_layout(kw)

    rows = estimator_mc(kw, rhos, args.trials, args.seed)
    elapsed = time.perf_counter() - t0
    name = layout_meta["name"]
    meta = {"layout": str(args.layout), "name": name, "trials": args.trials, "seed": args.seed,
            "M_t": kw["M_t"], "M_r": kw["M_r"], "gamma": kw["gamma"],
            "system": kw["system"].to_dict(), "elapsed_s": elapsed,
            "initializer": "two-pass WLS of the linearized bistatic ellipses (nuisance ranges)",
            "estimator": "ML = weighted nonlinear LS, Levenberg-Marquardt"}
    try:
        if png is not None:
            title = (f"netsense estimate: layout '{name}' (N_t={len(kw['tx_xy'])}, "
                     f"N_r={len(kw['rx_xy'])}, M_t={kw['M_t']}, M_r={kw['M_r']}, "
                     f"gamma={kw['gamma']}); {args.trials} trials per point, seed {args.seed}")
            dist = np.hypot(*(np.concatenate([kw["tx_xy"], kw["rx_xy"]]) - kw["target_xy"]).T)
            write_atomic(png, lambda t: plot_estimator(rows, t, title=title,
                                                       site_distance_m=float(dist.mean())))
        if csv_p is not None:
            write_atomic(csv_p, lambda t: write_rows([_flat(r) for r in rows], t,
                                                     columns=COLUMNS))
        if json_p is not None:
            write_atomic(json_p, lambda t: write_rows(rows, json_path=t, meta=meta))
    except OSError as exc:
        raise InputError("output", str(exc.filename), f"cannot be written ({exc.strerror or exc})"
                         ) from None
    print(f"netsense estimate: {name}, {args.trials} trials per rho_s, seed {args.seed}")
    print(format_table(rows))
    written = [str(p) for p in (png, csv_p, json_p) if p is not None]
    print(f"elapsed {elapsed:.2f} s" + (f"; wrote {', '.join(written)}" if written else ""))
    return 0


def register(sub) -> None:
    """Add ``estimate`` to the subcommands."""
    e = sub.add_parser(
        "estimate", help="ML position estimator vs the CRLB (eq. 18) over rho_s, one layout JSON",
        description="Monte Carlo of the ML (weighted nonlinear LS) position estimator from noisy "
                    "bistatic delays (eq. 13 noise), against the CRLB of eq. (18).")
    e.add_argument("layout", help="layout JSON as for `netsense crlb` (its rho_s_db is the default)")
    e.add_argument("--rho-s-db-list", dest="rho_s_db_list", nargs="+", metavar="RHO_S_DB",
                   type=finite("--rho-s-db-list"), help="normalized SNRs rho_s [dB]")
    e.add_argument("--trials", type=int, default=schema_default("estimator.trials"),
                   help="trials per rho_s")
    e.add_argument("--seed", type=int, default=0, help="random seed (streams keyed by seed, rho_s)")
    e.add_argument("--png", help="figure: MSE/CRLB and RMSE vs rho_s")
    e.add_argument("--csv", help="table, one row per rho_s")
    e.add_argument("--json", help="table and run metadata")
    e.set_defaults(func=cmd_estimate)
