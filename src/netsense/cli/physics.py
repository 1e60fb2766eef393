"""``netsense crlb | theory | mc``: the numerical core from the command line."""

from __future__ import annotations

import argparse
import math
import sys
import textwrap

from ..core.closed_form import compare_mimo_single, lemma3_inv_sum, theorem2_m2
from ..core.fisher import crlb
from ..core.links import LINK_PARAMS
from ..core.memory import MAX_NODES_PER_BLOCK, NODE_BYTES, check_block_memory
from ..core.samplers import COMMON_PARAMS, DEFAULT_KIND, SAMPLERS, parameter_names, sampler_from_mapping
from ..deploy.layout import load_layout
from ..errors import InputError
from .common import add_system_args, density, finite, nonnegative, print_json, system_from_args


def cmd_crlb(args):
    """Print eq. (18) and eq. (23) for one layout JSON, as JSON."""
    kw, _ = load_layout(args.layout)
    out = crlb(**kw)
    c, j = float(out["crlb_m2"]), float(out["jensen_m2"])
    if not (math.isfinite(c) and c > 0):
        raise InputError("layout", args.layout, "all nodes are collinear with the target: the "
                         "FIM is singular and the CRLB is infinite (position not identifiable)")
    print_json({"crlb_m2": c, "jensen_m2": j, "rmse_m": math.sqrt(c),
                "n_tx": len(kw["tx_xy"]), "n_rx": len(kw["rx_xy"]),
                "system": kw["system"].to_dict()})


def number_list(flag: str, rule: str, ok):
    """An argparse type: comma-separated numbers (fractions like 1/2 too), each passing ``ok``;
    the one-line error names ``flag``, the value and ``rule``."""
    from ..inputs import parse_number

    def conv(text):
        try:
            vals = [parse_number(flag, t) for t in str(text).split(",") if t.strip()]
        except InputError as exc:
            raise argparse.ArgumentTypeError(f"got {text!r}; {exc.rule}") from None
        if not vals or not all(ok(v) for v in vals):
            raise argparse.ArgumentTypeError(f"got {text!r}; {rule}")
        return vals
    return conv


RMSE_LIST = ("comma-separated accuracies, each finite and > 0 (metres)",
             lambda v: math.isfinite(v) and v > 0)
QUANTILE_LIST = ("comma-separated quantiles, each strictly between 0 and 1",
                 lambda v: 0.0 < v < 1.0)


def cmd_theory(args):
    """Print the closed forms (Lemma 3, Theorem 2, eq. 28-30) at one point, as JSON; with
    ``--coverage-m``, the exact P(sqrt(eq. 23) <= R) on the whole plane."""
    system = system_from_args(args)
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
    links = _theory_links(args, kw)
    extra = {}
    if args.coverage_m:
        from ..core.jensen_law import jensen_coverage

        if not args.gamma > 2:
            raise InputError("--gamma", args.gamma, "the exact law of eq. (23) needs gamma > 2")
        p = jensen_coverage(args.coverage_m, **{k: v for k, v in kw.items()})
        extra["jensen_m2_coverage"] = [
            {"rmse_m": float(r), "probability": float(v)}
            for r, v in zip(args.coverage_m, p, strict=True)]
        extra["jensen_m2_coverage_note"] = (
            "exact P(sqrt(eq. 23) <= rmse_m) over PPP networks on the whole plane (by "
            "ergodicity, the fraction of target positions), from the stable law of A")
    print_json({
        "closed_form_m2": float(theorem2_m2(**kw)),
        "lemma3_tx": float(lemma3_inv_sum(args.lam_t, args.gamma)),
        "lemma3_rx": float(lemma3_inv_sum(args.lam_r, args.gamma)),
        "single_antenna_equal_antennas_m2": float(cmp["single_m2"]),
        "ratio_mimo_over_single": float(cmp["ratio_mimo_over_single"]),
        "eq30_holds": bool(cmp["eq30_holds"]),
        **extra,
        "inputs": {k: v for k, v in kw.items() if k != "system"},
        "system": system.to_dict(),
        **({"links": links} if links is not None else {}),
    })


def _link_heights(args) -> tuple[float, float]:
    """(h_t, h_r) from --height-m or --height-t-m/--height-r-m (one line if both forms)."""
    if args.height_m and (args.height_t_m or args.height_r_m):
        raise InputError("--height-m", args.height_m, "give --height-m (both sides) or "
                         "--height-t-m/--height-r-m, not both forms")
    if args.height_m:
        return args.height_m, args.height_m
    return args.height_t_m, args.height_r_m


def _theory_links(args, kw) -> dict | None:
    """The exact references of the link models on the whole plane (``links`` of ``netsense
    theory``), or None when no link flag is given."""
    from ..core.expectations import eq18_high_density_m2, inv_sum_mean_link
    from ..core.links import (
        Link,
        localizable_probability,
        los_count_mean,
        shadowing_density_factor,
    )

    h_t, h_r = _link_heights(args)
    beta, sigma = args.blockage_per_m, args.shadowing_db
    sides = {"t": Link(h_t, beta, sigma), "r": Link(h_r, beta, sigma)}
    if all(lk.ideal for lk in sides.values()):
        return None
    gamma, lam = kw["gamma"], {"t": kw["lam_t"], "r": kw["lam_r"]}
    scale = float(kw["system"].error_scale_m2(kw["M_t"], kw["M_r"],
                                              10.0 ** (kw["rho_s_db"] / 10.0)))
    inv = {k: inv_sum_mean_link(lam[k], gamma, height_m=lk.height_m,
                                blockage_per_m=beta, shadowing_db=sigma)
           for k, lk in sides.items()}
    out = {"height_t_m": h_t, "height_r_m": h_r, "blockage_per_m": beta, "shadowing_db": sigma,
           "inv_sum_t": inv["t"], "inv_sum_r": inv["r"],
           "jensen_m2": 2.0 * scale * inv["t"] * inv["r"]}  # eq. (23) with the link model
    for k, lk in sides.items():
        if lk.height_m > 0:
            out[f"lam_pi_h2_{k}"] = lam[k] * math.pi * lk.height_m**2
    if beta > 0:
        mu = {k: los_count_mean(lam[k], beta) for k in sides}
        out.update({"jensen_conditional": "N_t >= 1 and N_r >= 1 (each side has a LOS node): "
                                          "E[eq. 18] and E[eq. 23] are infinite under blockage",
                    "los_count_t": mu["t"], "los_count_r": mu["r"],
                    "localizable_probability": localizable_probability(mu["t"], mu["r"])})
    elif h_t > 0 and h_r > 0:
        out["eq18_high_density_limit_m2"] = eq18_high_density_m2(
            lam_t=lam["t"], lam_r=lam["r"], gamma=gamma, height_t_m=h_t, height_r_m=h_r,
            M_t=kw["M_t"], M_r=kw["M_r"], rho_s_db=kw["rho_s_db"], system=kw["system"])
    if sigma > 0:
        factor = shadowing_density_factor(sigma, gamma)
        out["shadowing_density_factor"] = factor
        if beta == 0 and h_t == 0 and h_r == 0:  # the displacement theorem: Theorem 2 holds
            out["equivalent_lam_t"], out["equivalent_lam_r"] = lam["t"] * factor, lam["r"] * factor
            out["equivalent_closed_form_m2"] = float(theorem2_m2(
                **{**kw, "lam_t": lam["t"] * factor, "lam_r": lam["r"] * factor}))
    return out


def progress_printer(stream):
    def show(done, total):
        width = 30
        fill = int(width * done / total)
        stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} trials")
        if done >= total:
            stream.write("\n")
        stream.flush()
    return show


def tied_or_sides(args, name: str, flag: str, flag_t: str, flag_r: str) -> dict:
    """{name: v} or {name_t: v, name_r: v} from the flags (both forms at once, or one of a
    pair alone, is one line); {} when none is given."""
    tied = getattr(args, name)
    t, r = getattr(args, f"{name}_t"), getattr(args, f"{name}_r")
    if tied is not None and (t is not None or r is not None):
        raise InputError(flag, tied, f"give {flag} or {flag_t} with {flag_r}, not both forms")
    if (t is None) != (r is None):
        missing, given = (flag_r, flag_t) if r is None else (flag_t, flag_r)
        raise InputError(missing, None, f"is needed with {given} (or give {flag} for both)")
    if tied is not None:
        return {name: tied}
    return {} if t is None else {f"{name}_t": t, f"{name}_r": r}


def cmd_mc(args):
    """Monte Carlo of eq. (18) and eq. (23) at one point; a table, or JSON with ``--json``."""
    from ..core.mc import block_size, mc_point

    sampler = sampler_from_args(args)
    system = system_from_args(args)
    dens = tied_or_sides(args, "lam", "--lam", "--lam-t", "--lam-r")
    for flag, v in dens.items():
        if not v > 0:
            raise InputError(f"--{flag.replace('_', '-')}", v, "density must be > 0 (per m^2)")
    if not dens:
        raise InputError("--lam", None, "a density is needed: --lam (both sides) or --lam-t "
                         "with --lam-r")
    counts = tied_or_sides(args, "M", "--M", "--M-t", "--M-r") or {"M": 4}
    sampler.check_gamma("--gamma", args.gamma)
    given = args.block_trials is not None  # else the block is min(50000, --trials)
    check_block_memory(sampler, max(dens.values()), block_size(args.trials, args.block_trials),
                       field="--block-trials" if given else "--trials",
                       value=args.block_trials if given else args.trials,
                       block="--block-trials", option=lambda p: "--" + p.replace("_", "-"),
                       plane="--sampler plane",
                       where="at the peak")
    progress = progress_printer(sys.stderr) if sys.stderr.isatty() and not args.no_progress \
        else None
    res = mc_point(**dens, **counts, gamma=args.gamma, rho_s_db=args.rho_s_db,
                   trials=args.trials, seed=args.seed, sampler=sampler,
                   block_trials=args.block_trials, system=system, progress=progress,
                   coverage_m=args.coverage_m or (), quantiles=args.quantiles or ())
    if args.json:
        print_json(res)
        return
    p = res["point"]
    lam = f"lam={p['lam_per_m2']:.6g}/m^2" if "lam_per_m2" in p else \
        f"lam_t={p['lam_t_per_m2']:.6g}/m^2 lam_r={p['lam_r_per_m2']:.6g}/m^2"
    ant = f"M={p['M']}" if "M" in p else f"M_t={p['M_t']} M_r={p['M_r']}"
    print(f"Monte Carlo: {lam} gamma={p['gamma']} {ant} "
          f"rho_s={p['rho_s_db']} dB trials={p['trials']} sampler={sampler.key()} seed={p['seed']}")
    closed = res.get("closed_form_m2")
    for name, label in (("crlb_m2", "eq. (18) CRLB"), ("jensen_m2", "eq. (23) bound")):
        s = res[name]
        if s["mean"] is None:  # under blockage: no mean exists (mc_point says why)
            print(f"  {label:15s} median {s['median']:.6e} m^2  95% CI [{s['median_ci95'][0]:.6e}, "
                  f"{s['median_ci95'][1]:.6e}] over all {s['n'] + s['n_inf']} trials "
                  f"({s['n_inf']} not localizable: infinite); no mean ({s['mean_note']})")
            continue
        cond = f" | {s['conditional']}" if "conditional" in s else ""
        line = (f"  {label:15s} mean{cond} {s['mean']:.6e} m^2  sem {s['sem']:.2e}  "
                f"95% CI [{s['ci95'][0]:.6e}, {s['ci95'][1]:.6e}]")
        if closed is not None:
            line += (f"  / Theorem 2 = {s['ratio_to_closed_form']:.4f} "
                     f"[{s['ratio_ci95'][0]:.4f}, {s['ratio_ci95'][1]:.4f}]")
        print(line)
        if "method" in s:
            if s["method"] == "control_variate":
                q = s["plain"]
                print(f"  {'':15s} control variate (eq. 23 as the control, exact mean "
                      f"{res['jensen_m2']['exact_m2']:.6e} m^2): variance reduction "
                      f"{s['variance_reduction']:.0f}x; plain mean {q['mean']:.6e} "
                      f"95% CI [{q['ci95'][0]:.6e}, {q['ci95'][1]:.6e}]")
            else:
                print(f"  {'':15s} plain mean ({s['reason']})")
        if not s["interval_calibrated"]:
            n_min = s["calibrated_min_trials"]
            print(f"  warning: the 95% interval of {label} is not calibrated: "
                  + (f"its coverage was measured to hold from {n_min} trials at gamma = "
                     f"{p['gamma']:g}" if n_min else f"no coverage measured at gamma = "
                     f"{p['gamma']:g}") + " (docs: guide/samplers.md, \"Estimates and intervals "
                  "that hold\")", file=sys.stderr)
        if s["n_inf"] and "conditional" not in s:
            print(f"  warning: {s['n_inf']} trial(s) of {label} are infinite (singular FIM); "
                  "the mean is over the finite ones", file=sys.stderr)
        for c in s.get("coverage", []):
            exact = (f"  (whole plane, exact: {c['whole_plane_exact']:.4f})"
                     if "whole_plane_exact" in c else "")
            print(f"  {'':15s} coverage at {c['rmse_m']:g} m: {c['fraction']:.4f} "
                  f"95% CI [{c['ci95'][0]:.4f}, {c['ci95'][1]:.4f}]{exact}")
        for q in s.get("quantiles", []):
            print(f"  {'':15s} quantile {q['q']:g}: {q['value_m2']:.6e} m^2 95% CI "
                  f"[{q['ci95'][0]:.6e}, {q['ci95'][1]:.6e}] (rmse {q['rmse_m']:.4g} m "
                  f"[{q['rmse_ci95_m'][0]:.4g}, {q['rmse_ci95_m'][1]:.4g}])")
    loc = res.get("localizable_fraction")
    if loc is not None:
        exact = "" if loc.get("exact") is None else f"  exact {loc['exact']:.6f}"
        print(f"  localizable fraction (finite eq. 18) {loc['value']:.6f}  95% CI [{loc['ci95'][0]:.6f}, "
              f"{loc['ci95'][1]:.6f}]{exact}")
    if closed is not None:
        print(f"  eq. (26) Theorem 2 closed form {closed:.6e} m^2")


def _paragraphs(*texts: str) -> str:
    """A description of several paragraphs, each wrapped (the commands keep the line breaks of
    their descriptions)."""
    return "\n\n".join(textwrap.fill(t, 92) for t in texts)


def add_sampler_args(p) -> None:
    """``--sampler`` and every registered kind's parameters as flags (``--nearest`` ...)."""
    p.add_argument("--sampler", choices=list(SAMPLERS), default=DEFAULT_KIND, help="sampler kind")
    for cls in SAMPLERS.values():
        for name, sch in cls.PARAMS.items():
            kind = int if sch["type"] == "integer" else finite(f"--{name.replace('_', '-')}")
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind,
                           default=sch["default"], help=f"{cls.kind}: {sch['description']}")
    for name, sch in COMMON_PARAMS.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=finite(f"--{name.replace('_', '-')}"),
                       default=sch["default"], help=sch["description"])


def sampler_from_args(args):
    """The sampler :func:`add_sampler_args`' flags describe."""
    return sampler_from_mapping({"kind": args.sampler,
                                 **{p: getattr(args, p) for p in parameter_names()}})


def register(sub) -> None:
    """Add ``crlb``, ``theory`` and ``mc`` to the subcommands."""
    c = sub.add_parser("crlb", help="CRLB (eq. 18) and eq. (23) for one layout JSON",
                       description="CRLB (eq. 18) and the eq. (23) quantity for one layout JSON "
                       "(tx, rx, target, M_t, M_r, rho_s_db, gamma[, system, tx_gain, "
                       "tx_beta_hz]); prints JSON.")
    c.add_argument("layout", help="layout JSON: tx, rx, target, M_t, M_r, rho_s_db, gamma[, system]")
    c.set_defaults(func=cmd_crlb)

    t = sub.add_parser("theory", help="closed forms: Lemma 3, Theorem 2, eq. (28)-(30)",
                       description="The closed forms at one point: Lemma 3 per side, Theorem 2 "
                       "(eq. 26) and the single-antenna comparison (eq. 28-30); with a link "
                       "model (heights, blockage, shadowing) also its exact references on the "
                       "whole plane under 'links': E[1/A] per side (over A > 0 under blockage), "
                       "E[eq. 23], the localizable probability, the high-density limit of eq. "
                       "(18) with heights, the shadowing's equivalent density; prints JSON.")
    t.add_argument("--M-t", dest="M_t", type=int, default=4, help="antennas per TX")
    t.add_argument("--M-r", dest="M_r", type=int, default=4, help="antennas per RX")
    t.add_argument("--rho-s-db", dest="rho_s_db", type=finite("--rho-s-db"), required=True,
                   help="normalized SNR rho_s [dB]")
    t.add_argument("--lam-t", dest="lam_t", type=density, required=True,
                   help="TX density per m^2 (or 1/900)")
    t.add_argument("--lam-r", dest="lam_r", type=density, required=True,
                   help="RX density per m^2 (or 1/900)")
    for name, sch in LINK_PARAMS.items():  # the link models: a "links" section when given
        flag = f"--{name.replace('_', '-')}"
        t.add_argument(flag, dest=name, type=nonnegative(flag), default=sch["default"],
                       help=sch["description"])
    t.add_argument("--gamma", type=finite("--gamma"), required=True, help="path-loss exponent")
    t.add_argument("--coverage-m", dest="coverage_m", type=number_list("--coverage-m", *RMSE_LIST),
                   default=None, metavar="R[,R...]",
                   help="also print the exact P(sqrt(eq. 23) <= R) on the whole plane (the "
                   "stable law of A; gamma > 2), e.g. 0.5,1,2")
    add_system_args(t)
    t.set_defaults(func=cmd_theory)

    m = sub.add_parser("mc", help="Monte Carlo of eq. (18) and eq. (23) at one point",
                       description=_paragraphs(
                           "Monte Carlo of eq. (18) and eq. (23) over PPP networks at one point, "
                           "with Theorem 2 beside it. Densities: --lam (lam_t = lam_r, one stream "
                           "for both sides) or --lam-t with --lam-r (each side from its own "
                           "stream); antennas: --M (M_t = M_r, default 4) or --M-t with --M-r.",
                           "Memory: the plane sampler holds --nearest nodes per side per trial. "
                           "A disk trial holds all lam pi R^2 nodes of a side (873 at R = 500 m "
                           f"and lam = 1/900), {NODE_BYTES} bytes each at the peak, for "
                           "a whole block of trials at once: --block-trials bounds it. A block "
                           f"above {MAX_NODES_PER_BLOCK:.3g} nodes of a side "
                           f"({MAX_NODES_PER_BLOCK * NODE_BYTES / 1e9:.0f} GB) is "
                           "refused."))
    m.add_argument("--lam", type=density, default=None,
                   help="lam_t = lam_r, per m^2 (or 1/900); or give --lam-t and --lam-r")
    m.add_argument("--lam-t", dest="lam_t", type=density, default=None,
                   help="TX density per m^2 (with --lam-r)")
    m.add_argument("--lam-r", dest="lam_r", type=density, default=None,
                   help="RX density per m^2 (with --lam-t)")
    m.add_argument("--gamma", type=finite("--gamma"), required=True, help="path-loss exponent")
    m.add_argument("--M", type=int, default=None, help="M_t = M_r (4 when no M is given)")
    m.add_argument("--M-t", dest="M_t", type=int, default=None, help="antennas per TX (with --M-r)")
    m.add_argument("--M-r", dest="M_r", type=int, default=None, help="antennas per RX (with --M-t)")
    m.add_argument("--rho-s-db", dest="rho_s_db", type=finite("--rho-s-db"), default=120.0,
                   help="normalized SNR rho_s [dB]")
    m.add_argument("--trials", type=int, default=100_000, help="networks to sample")
    add_sampler_args(m)
    m.add_argument("--seed", type=int, default=0, help="user seed")
    m.add_argument("--block-trials", dest="block_trials", type=int, default=None,
                   help="trials per random-stream block (result-shaping; default min(50000, "
                   f"--trials)); a disk block holds block x lam pi R^2 nodes per side, "
                   f"{NODE_BYTES} bytes each")
    m.add_argument("--coverage-m", dest="coverage_m", type=number_list("--coverage-m", *RMSE_LIST),
                   default=None, metavar="R[,R...]",
                   help="also the fraction of networks (by ergodicity, of target positions) with "
                   "sqrt(eq. 18) <= R, and of eq. (23), each with a 95%% Clopper-Pearson "
                   "interval, e.g. 0.5,1,2; keeps every trial: --trials x 16 bytes, and about "
                   "30 more per trial while sorting")
    m.add_argument("--quantiles", type=number_list("--quantiles", *QUANTILE_LIST), default=None,
                   metavar="Q[,Q...]",
                   help="also quantiles of eq. (18) and eq. (23) with 95%% order-statistic "
                   "intervals, e.g. 0.5,0.9,0.95; keeps every trial: --trials x 16 bytes, and "
                   "about 30 more per trial while sorting")
    m.add_argument("--json", action="store_true", help="print JSON")
    m.add_argument("--no-progress", action="store_true", help="no progress bar on a terminal")
    add_system_args(m)
    m.set_defaults(func=cmd_mc)
