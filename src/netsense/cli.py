"""Command line: ``netsense crlb | theory | mc | run``. The I/O edge of the package."""

from __future__ import annotations

import argparse
import json
import math
import sys

from . import __version__
from .closed_form import compare_mimo_single, lemma3_inv_sum, theorem2_m2
from .cube import CubeError
from .fisher import crlb
from .layout import load_layout
from .ppp import SamplerSpec
from .system import InputError, SystemParams


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _finite(name):
    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: got {text!r}; must be a number") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{name}: got {text!r}; must be finite")
        return v
    return conv


def _density(text):
    """A density per m^2, also as a fraction like ``1/900``."""
    from .config import parse_density

    try:
        return parse_density("density", text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(f"got {text!r}; {exc.rule}") from None


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _print_json(obj):
    print(json.dumps(obj, indent=2, default=_json_default, allow_nan=True))


def _system_from_args(args) -> SystemParams:
    over = {k: getattr(args, k) for k in ("carrier_hz", "bandwidth_hz", "effective_bandwidth_hz",
                                          "rcs_m2") if getattr(args, k, None) is not None}
    return SystemParams(**over)


def _add_system_args(p):
    g = p.add_argument_group("system constants (defaults: Section III of the paper)")
    g.add_argument("--carrier-hz", dest="carrier_hz", type=_finite("--carrier-hz"))
    g.add_argument("--bandwidth-hz", dest="bandwidth_hz", type=_finite("--bandwidth-hz"))
    g.add_argument("--effective-bandwidth-hz", dest="effective_bandwidth_hz",
                   type=_finite("--effective-bandwidth-hz"), help="beta; default B/sqrt(12)")
    g.add_argument("--rcs-m2", dest="rcs_m2", type=_finite("--rcs-m2"))


def cmd_crlb(args):
    kw = load_layout(args.layout)
    out = crlb(**kw)
    c, j = float(out["crlb_m2"]), float(out["jensen_m2"])
    if not (math.isfinite(c) and c > 0):
        raise InputError("layout", args.layout, "all nodes are collinear with the target: the "
                         "FIM is singular and the CRLB is infinite (position not identifiable)")
    _print_json({"crlb_m2": c, "jensen_m2": j, "rmse_m": math.sqrt(c),
                 "n_tx": len(kw["tx_xy"]), "n_rx": len(kw["rx_xy"]),
                 "system": kw["system"].to_dict()})


def cmd_theory(args):
    system = _system_from_args(args)
    for name in ("lam_t", "lam_r"):
        v = getattr(args, name)
        if not v > 0:
            raise InputError(f"--{name.replace('_', '-')}", v, "density must be > 0 (per m^2)")
    for name in ("M_t", "M_r"):
        v = getattr(args, name)
        if v < 1:
            raise InputError(f"--{name.replace('_', '-')}", v, "must be an integer >= 1")
    kw = dict(M_t=args.M_t, M_r=args.M_r, rho_s_db=args.rho_s_db, lam_t=args.lam_t,
              lam_r=args.lam_r, gamma=args.gamma, system=system)
    cmp = compare_mimo_single(**kw)
    _print_json({
        "closed_form_m2": float(theorem2_m2(**kw)),
        "lemma3_tx": float(lemma3_inv_sum(args.lam_t, args.gamma)),
        "lemma3_rx": float(lemma3_inv_sum(args.lam_r, args.gamma)),
        "single_antenna_equal_antennas_m2": float(cmp["single_m2"]),
        "ratio_mimo_over_single": float(cmp["ratio_mimo_over_single"]),
        "eq30_holds": bool(cmp["eq30_holds"]),
        "inputs": {k: v for k, v in kw.items() if k != "system"},
        "system": system.to_dict(),
    })


def _progress_printer(stream):
    def show(done, total):
        width = 30
        fill = int(width * done / total)
        stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} trials")
        if done >= total:
            stream.write("\n")
        stream.flush()
    return show


def cmd_mc(args):
    from .mc import mc_point

    spec = SamplerSpec(kind=args.sampler, nearest=args.nearest, radius_m=args.radius_m)
    system = _system_from_args(args)
    if not args.lam > 0:
        raise InputError("--lam", args.lam, "density must be > 0 (per m^2)")
    if args.sampler == "plane" and not args.gamma > 2:
        raise InputError("--gamma", args.gamma, "the plane sampler needs gamma > 2")
    progress = _progress_printer(sys.stderr) if sys.stderr.isatty() and not args.no_progress \
        else None
    res = mc_point(lam=args.lam, gamma=args.gamma, M=args.M, rho_s_db=args.rho_s_db,
                   trials=args.trials, seed=args.seed, spec=spec, block_trials=args.block_trials,
                   system=system, progress=progress)
    if args.json:
        _print_json(res)
        return
    p = res["point"]
    print(f"Monte Carlo: lam={p['lam_per_m2']:.6g}/m^2 gamma={p['gamma']} M={p['M']} "
          f"rho_s={p['rho_s_db']} dB trials={p['trials']} sampler={spec.key()} seed={p['seed']}")
    closed = res.get("closed_form_m2")
    for name, label in (("crlb_m2", "eq. (18) CRLB"), ("jensen_m2", "eq. (23) bound")):
        s = res[name]
        line = (f"  {label:15s} mean {s['mean']:.6e} m^2  sem {s['sem']:.2e}  "
                f"95% CI [{s['ci95'][0]:.6e}, {s['ci95'][1]:.6e}]")
        if closed is not None:
            line += (f"  / Theorem 2 = {s['ratio_to_closed_form']:.4f} "
                     f"[{s['ratio_ci95'][0]:.4f}, {s['ratio_ci95'][1]:.4f}]")
        print(line)
    if closed is not None:
        print(f"  eq. (26) Theorem 2 closed form {closed:.6e} m^2")


def cmd_map(args):
    from .crlbmap import run_map

    _print_json(run_map(args.layout, args.extent, args.step, args.out, args.format))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="netsense", description=__doc__)
    p.add_argument("--version", action="version", version=f"netsense {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("crlb", help="CRLB (eq. 18) and eq. (23) for one layout JSON")
    c.add_argument("layout", help="layout JSON: tx, rx, target, M_t, M_r, rho_s_db, gamma[, system]")
    c.set_defaults(func=cmd_crlb)

    t = sub.add_parser("theory", help="closed forms: Lemma 3, Theorem 2, eq. (28)-(30)")
    t.add_argument("--M-t", dest="M_t", type=int, default=4)
    t.add_argument("--M-r", dest="M_r", type=int, default=4)
    t.add_argument("--rho-s-db", dest="rho_s_db", type=_finite("--rho-s-db"), required=True)
    t.add_argument("--lam-t", dest="lam_t", type=_density, required=True, help="per m^2 (or 1/900)")
    t.add_argument("--lam-r", dest="lam_r", type=_density, required=True, help="per m^2")
    t.add_argument("--gamma", type=_finite("--gamma"), required=True)
    _add_system_args(t)
    t.set_defaults(func=cmd_theory)

    m = sub.add_parser("mc", help="Monte Carlo of eq. (18) and eq. (23) at one point")
    m.add_argument("--lam", type=_density, required=True, help="lam_t = lam_r, per m^2 (or 1/900)")
    m.add_argument("--gamma", type=_finite("--gamma"), required=True)
    m.add_argument("--M", type=int, default=4, help="M_t = M_r")
    m.add_argument("--rho-s-db", dest="rho_s_db", type=_finite("--rho-s-db"), default=120.0)
    m.add_argument("--trials", type=int, default=100_000)
    m.add_argument("--sampler", choices=["plane", "disk"], default="plane")
    m.add_argument("--nearest", type=int, default=64, help="K for the plane sampler")
    m.add_argument("--radius-m", dest="radius_m", type=_finite("--radius-m"), default=500.0,
                   help="window radius for the disk sampler [m]")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--block-trials", dest="block_trials", type=int, default=50_000)
    m.add_argument("--json", action="store_true", help="print JSON")
    m.add_argument("--no-progress", action="store_true")
    _add_system_args(m)
    m.set_defaults(func=cmd_mc)

    g = sub.add_parser("map", help="CRLB (eq. 18) map over a grid of target positions, fixed sites")
    g.add_argument("layout", help="layout JSON as for `netsense crlb` (its target is ignored)")
    g.add_argument("--extent", nargs=4, type=float, required=True,
                   metavar=("XMIN", "XMAX", "YMIN", "YMAX"), help="grid bounds [m]")
    g.add_argument("--step", type=float, required=True, help="grid spacing [m]")
    g.add_argument("--out", required=True, metavar="PREFIX",
                   help="writes PREFIX.zarr (or PREFIX.nc) and PREFIX.png")
    g.add_argument("--format", default="zarr", help="zarr (default) or netcdf")
    g.set_defaults(func=cmd_map)

    from .estimator import add_estimator_command

    add_estimator_command(sub)

    import importlib.util

    if importlib.util.find_spec("xarray") is not None:  # pipeline extras installed
        from .pipeline_cli import add_pipeline_commands

        add_pipeline_commands(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except (InputError, CubeError) as exc:
        print(f"netsense: error: {exc}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
