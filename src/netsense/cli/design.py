"""``netsense design``: the smallest density meeting an accuracy at a coverage."""

from __future__ import annotations

import math
import sys

from ..errors import InputError
from .common import add_system_args, finite, print_json, system_from_args
from .physics import add_sampler_args, progress_printer, sampler_from_args, tied_or_sides


def _density(lam: float) -> str:
    return f"{lam:.4g} per m^2 (1/{1 / lam:.4g}; {lam * 1e6:.4g} nodes per km^2)"


def cmd_design(args):
    """The smallest density lam = sqrt(lam_t lam_r) with sqrt(eq. 18) <= R at a fraction P of
    target positions, with its 95% interval; a summary, or JSON with ``--json``."""
    from ..core.design import design_density

    if not (math.isfinite(args.rmse_m) and args.rmse_m > 0):
        raise InputError("--rmse-m", args.rmse_m, "must be finite and > 0 (metres)")
    if not 0.0 < args.coverage < 1.0:
        raise InputError("--coverage", args.coverage, "a fraction strictly between 0 and 1")
    if args.lam_ratio is not None and not (math.isfinite(args.lam_ratio) and args.lam_ratio > 0):
        raise InputError("--lam-ratio", args.lam_ratio, "lam_t / lam_r must be finite and > 0")
    if isinstance(args.trials, bool) or args.trials < 100:
        raise InputError("--trials", args.trials, "must be an integer >= 100")
    counts = tied_or_sides(args, "M", "--M", "--M-t", "--M-r") or {"M": 4}
    M_t, M_r = counts.get("M_t", counts.get("M")), counts.get("M_r", counts.get("M"))
    for flag, v in (("--M-t" if "M_t" in counts else "--M", M_t), ("--M-r", M_r)):
        if v < 1:
            raise InputError(flag, v, "must be an integer >= 1")
    sampler = sampler_from_args(args)
    sampler.check_gamma("--gamma", args.gamma)
    progress = progress_printer(sys.stderr) if sys.stderr.isatty() and not args.no_progress \
        else None
    res = design_density(rmse_m=args.rmse_m, coverage=args.coverage, gamma=args.gamma, M_t=M_t,
                         M_r=M_r, rho_s_db=args.rho_s_db, lam_ratio=args.lam_ratio,
                         sampler=sampler, trials=args.trials, seed=args.seed,
                         system=system_from_args(args), check=args.check, progress=progress)
    res["network"] = {"gamma": args.gamma, "M_t": M_t, "M_r": M_r, "rho_s_db": args.rho_s_db,
                      "lam_ratio": args.lam_ratio, "sampler": sampler.to_mapping(),
                      "seed": args.seed, "trials": args.trials}
    if args.json:
        print_json(res)
        return
    lo, hi = res["lam_ci95"]
    print(f"design: sqrt(eq. 18) <= {args.rmse_m:g} m at {args.coverage:g} of target positions; "
          f"gamma={args.gamma:g} M_t={M_t} M_r={M_r} rho_s={args.rho_s_db:g} dB "
          f"sampler={sampler.key()}"
          + (f" lam_t/lam_r={args.lam_ratio:g}" if args.lam_ratio is not None else ""))
    print(f"  smallest density  lam = {_density(res['lam'])}")
    print(f"  95% CI            [{lo:.4g}, {hi:.4g}] per m^2 = [{lo * 1e6:.4g}, {hi * 1e6:.4g}] "
          "nodes per km^2")
    if args.lam_ratio is not None:
        for side in ("lam_t", "lam_r"):
            a, b = res[f"{side}_ci95"]
            print(f"  {side:17s} {_density(res[side])}, 95% CI [{a:.4g}, {b:.4g}]")
    how = ("exact scaling law from one simulated density" if res["method"] == "scaling" else
           f"search over {len(res['steps'])} simulated densities, the last one the probe of the "
           f"local slope ({res['local_slope']:.3f})")
    print(f"  method            {how}, {args.trials} trials each")
    if "jensen_m2_lam" in res:
        print(f"  eq. (23) instead  lam = {_density(res['jensen_m2_lam'])} (exact, whole plane)")
    if "check" in res:
        c = res["check"]
        a, b = (e["coverage"] for e in c["at_lam_ci95_ends"])
        print(f"  {'check, seed ' + str(c['seed']):17s} coverage at lam {c['coverage']:.4f} 95% CI "
              f"[{c['coverage_ci95'][0]:.4f}, {c['coverage_ci95'][1]:.4f}]; at the ends of lam's "
              f"interval {a:.4f} .. {b:.4f}: target {args.coverage:g} "
              + ("met" if c["target_in_ci95"] else "NOT MET") + " within the intervals")


def register(sub) -> None:
    """Add ``design`` to the subcommands."""
    d = sub.add_parser(
        "design", help="the smallest density meeting an accuracy at a coverage",
        description="The smallest node density lam = sqrt(lam_t lam_r) at which sqrt(eq. 18) <= "
        "--rmse-m at a fraction --coverage of target positions (by ergodicity, of random "
        "networks), with a 95% interval, in m^-2 and nodes per km^2. On the plane without a "
        "guard zone it is exact from one simulated density by the scaling law (eq. 18 goes as "
        "(lam_t lam_r)^(-gamma/2)); for other samplers the density is searched. Keeps every "
        "trial of a simulated density: --trials x 16 bytes, and about 30 more per trial while "
        "sorting.")
    d.add_argument("--rmse-m", dest="rmse_m", type=finite("--rmse-m"), required=True,
                   help="accuracy R [m]: sqrt(eq. 18) <= R")
    d.add_argument("--coverage", type=finite("--coverage"), required=True,
                   help="fraction P of target positions where the accuracy holds, e.g. 0.95")
    d.add_argument("--gamma", type=finite("--gamma"), required=True, help="path-loss exponent")
    d.add_argument("--M", type=int, default=None, help="M_t = M_r (4 when no M is given)")
    d.add_argument("--M-t", dest="M_t", type=int, default=None, help="antennas per TX (with --M-r)")
    d.add_argument("--M-r", dest="M_r", type=int, default=None, help="antennas per RX (with --M-t)")
    d.add_argument("--rho-s-db", dest="rho_s_db", type=finite("--rho-s-db"), required=True,
                   help="normalized SNR rho_s [dB]")
    d.add_argument("--lam-ratio", dest="lam_ratio", type=finite("--lam-ratio"), default=None,
                   help="lam_t / lam_r (default: equal densities); the answer then gives lam_t "
                   "and lam_r too")
    add_sampler_args(d)
    d.add_argument("--trials", type=int, default=100_000, help="networks per simulated density")
    d.add_argument("--seed", type=int, default=0, help="user seed")
    d.add_argument("--check", action="store_true",
                   help="re-simulate (seed + 1) at the answer and at both ends of its interval "
                   "and report the coverage there")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.add_argument("--no-progress", action="store_true", help="no progress bar on a terminal")
    add_system_args(d)
    d.set_defaults(func=cmd_design)
