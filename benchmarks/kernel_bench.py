"""Kernel-level benchmarks of netsense's Monte Carlo: cost floor, accuracy per cost, memory.

Three registered benchmarks, each ``f(quick: bool) -> dict`` (JSON-serializable):

* :func:`bench_kernel_floor` -- production block kernel (``netsense.mc.simulate_block``, plane
  sampler, K = 64, eq. 18 + eq. 23) vs a "floor" that only draws the same random variates and
  evaluates one power and one cos/sin pair per node; plus a per-stage breakdown of the kernel.
* :func:`bench_accuracy_per_cost` -- CPU time per trial, projected CPU time to a 1 % 95 % interval
  on the mean of eq. (23), and the bias against Theorem 2, for plane K in {8, 32, 128} and the
  paper's 500 m disk, at gamma = 2.1, 2.5, 4.
* :func:`bench_memory` -- peak RSS of a fresh process running ``mc_point`` for 1e5 ... 1e7 trials
  (set by the block size, not the trial count).

CPU times use ``time.process_time`` (medians of repeats after a warm-up, kernel and floor
interleaved so that load from other processes hits both alike); only ratios are meant to be
compared across machines.

Not registered: :func:`experiment_kernel_variants` prototypes cheaper variants of the kernel
(same numbers, fewer passes over the (n, K) arrays) and a block-size sweep;
:func:`experiment_allocator` runs kernel and floor in child processes under two glibc malloc
settings. They are experiments, not the production kernel.

    python benchmarks/kernel_bench.py [--quick] [--only kernel_floor,accuracy,memory]
                                      [--experiments]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

LAM = 1.0 / 900.0  # per m^2 (30 m spacing, Section III)
GAMMA = 2.5
NEAREST = 64
BLOCK = 10_000
SEED = 0
Z95 = 1.959963984540054


def _cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def _interleaved_medians(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Warm each function up once, then time them in rotating order; medians and all times."""
    for fn in fns.values():
        fn()
    names = list(fns)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats):
        for k in names[r % len(names):] + names[:r % len(names)]:
            times[k].append(_cpu(fns[k]))
    return {k: statistics.median(v) for k, v in times.items()}, times


def _minor_faults(fn) -> int:
    """Minor page faults of one call (fresh (n, K) temporaries cost sys time, counted by
    process_time)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


# ---------------------------------------------------------------------------------------------
# 1. kernel vs floor


def _floor_block(rng: np.random.Generator, n: int, k: int, gamma: float) -> None:
    """The floor for one block: the variates the plane sampler draws, one power and one cos/sin
    pair per node, for each of the two sides; nothing else (same stream order as plane_nodes).
    Each side's arrays are dropped before the next side (no more live memory than needed)."""
    for _side in range(2):
        arrivals = np.cumsum(rng.standard_exponential(size=(n, k)), axis=1)
        phi = rng.uniform(-math.pi, math.pi, size=(n, k))
        w = np.power(arrivals, -0.5 * gamma)
        del arrivals
        ux = np.cos(phi)
        uy = np.sin(phi)
        del phi, w, ux, uy


def _staged_block(spec, block_index: int, n: int, acc: dict):
    """Replica of ``simulate_block`` (plane sampler) with CPU-time stamps between its stages.

    Calls the production functions stage by stage. ``sampling`` is ``plane_nodes`` (exponential
    draws + cumsum + scaling to r^2, uniform angles + cos + sin); its sub-stages are timed by
    the same ops in the same order (so the same numbers) under ``sampling/...``.
    """
    from netsense.core.fisher import LegStats, crlb_geometric, jensen_geometric, leg_stats
    from netsense.core.seeding import block_rng, stream_key

    pt = time.process_time
    t0 = pt()
    rng = block_rng(SEED, stream_key(spec.key(), LAM, GAMMA, n), block_index)
    t1 = pt()
    acc["seeding"] += t1 - t0
    sides = []
    k = spec.nearest
    for _side in range(2):
        # --- sampling: the ops of samplers.plane.plane_nodes, stamped one by one
        t0 = pt()
        e = rng.standard_exponential(size=(n, k))
        t1 = pt()
        arrivals = np.cumsum(e, axis=1)
        del e  # a temporary in plane_nodes: same memory lifetimes as production
        t2 = pt()
        r2 = arrivals / (math.pi * LAM)
        t3 = pt()
        phi = rng.uniform(-math.pi, math.pi, size=(n, k))
        t4 = pt()
        ux = np.cos(phi)
        t5 = pt()
        uy = np.sin(phi)
        t6 = pt()
        del arrivals, phi  # plane_nodes returns
        acc["sampling/draw_exponential"] += t1 - t0
        acc["sampling/cumsum"] += t2 - t1
        acc["sampling/scale_to_r2"] += t3 - t2
        acc["sampling/draw_uniform"] += t4 - t3
        acc["sampling/cos"] += t5 - t4
        acc["sampling/sin"] += t6 - t5
        acc["sampling"] += t6 - t0
        # --- path loss and leg statistics (samplers.plane.plane_stats)
        w = r2 ** (-0.5 * GAMMA)
        t7 = pt()
        s = leg_stats(w, ux, uy)
        t8 = pt()
        rk2 = r2[:, -1]
        tail = 2.0 * math.pi * LAM * rk2 ** (1.0 - 0.5 * GAMMA) / (GAMMA - 2.0)
        sides.append(LegStats(A=s.A + tail, txx=s.txx + 0.5 * tail, txy=s.txy,
                              tyy=s.tyy + 0.5 * tail, vx=s.vx, vy=s.vy))
        t9 = pt()
        acc["path_loss_power"] += t7 - t6
        acc["leg_stats_sums"] += t8 - t7
        acc["far_field_tail"] += t9 - t8
        del r2, ux, uy, w  # plane_stats returns
    t0 = pt()
    g18 = crlb_geometric(*sides)
    g23 = jensen_geometric(*sides)
    t1 = pt()
    acc["fim_trace_eq18_eq23"] += t1 - t0
    return g18, g23


_STAGES = ("seeding", "sampling", "sampling/draw_exponential", "sampling/cumsum",
           "sampling/scale_to_r2", "sampling/draw_uniform", "sampling/cos", "sampling/sin",
           "path_loss_power", "leg_stats_sums", "far_field_tail", "fim_trace_eq18_eq23")


def bench_kernel_floor(quick: bool) -> dict:
    """Production block kernel vs the draw + power + cos/sin floor, trials/s per core (CPU)."""
    from netsense.core.blocks import simulate_block
    from netsense.core.samplers import PlaneSampler
    from netsense.core.seeding import block_rng, stream_key

    spec = PlaneSampler(nearest=NEAREST)
    n_blocks = 2 if quick else 8
    repeats = 3 if quick else 7
    key = stream_key(spec.key(), LAM, GAMMA, BLOCK)

    # the staged replica must be the production kernel, number for number
    ref = simulate_block(SEED, spec, LAM, GAMMA, 0, BLOCK)
    g18, g23 = _staged_block(spec, 0, BLOCK, dict.fromkeys(_STAGES, 0.0))
    if not (np.array_equal(ref["g18"], g18) and np.array_equal(ref["g23"], g23)):
        raise AssertionError("staged replica differs from netsense.mc.simulate_block")

    def kernel():
        for b in range(n_blocks):
            simulate_block(SEED, spec, LAM, GAMMA, b, BLOCK)

    def floor():
        for b in range(n_blocks):
            _floor_block(block_rng(SEED, key, b), BLOCK, NEAREST, GAMMA)

    stage_runs: list[dict] = []

    def staged():
        acc = dict.fromkeys(_STAGES, 0.0)
        for b in range(n_blocks):
            _staged_block(spec, b, BLOCK, acc)
        stage_runs.append(acc)

    med, all_times = _interleaved_medians({"kernel": kernel, "floor": floor, "staged": staged},
                                          repeats)
    faults = {k: _minor_faults(f) / n_blocks for k, f in (("kernel", kernel), ("floor", floor))}
    stage_runs = stage_runs[1:]  # drop the warm-up
    trials = n_blocks * BLOCK
    stages = {k: statistics.median(r[k] for r in stage_runs) for k in _STAGES}
    top = ("seeding", "sampling", "path_loss_power", "leg_stats_sums", "far_field_tail",
           "fim_trace_eq18_eq23")
    staged_total = sum(stages[k] for k in top)
    # the floor's own ops inside the kernel: draws, cumsum, cos, sin and the power
    floor_ops = ("sampling/draw_exponential", "sampling/cumsum", "sampling/draw_uniform",
                 "sampling/cos", "sampling/sin", "path_loss_power")
    return {
        "sampler": spec.key(), "lam_per_m2": LAM, "gamma": GAMMA, "block_trials": BLOCK,
        "blocks": n_blocks, "repeats": repeats, "clock": "process_time",
        "kernel_trials_per_s_per_core": trials / med["kernel"],
        "floor_trials_per_s_per_core": trials / med["floor"],
        "kernel_s_per_block": med["kernel"] / n_blocks,
        "floor_s_per_block": med["floor"] / n_blocks,
        "ratio": med["kernel"] / med["floor"],
        "target": "<= 2",
        "stages_s_per_block": {k: v / n_blocks for k, v in stages.items()},
        "stages_fraction_of_staged_total": {k: stages[k] / staged_total for k in top},
        "staged_total_over_kernel": staged_total / med["kernel"],
        "floor_ops_inside_kernel_over_floor": sum(stages[k] for k in floor_ops) / med["floor"],
        "non_floor_s_per_block": {
            "scale_to_r2": stages["sampling/scale_to_r2"] / n_blocks,
            "leg_stats_sums": stages["leg_stats_sums"] / n_blocks,
            "far_field_tail": stages["far_field_tail"] / n_blocks,
            "fim_trace_eq18_eq23": stages["fim_trace_eq18_eq23"] / n_blocks,
            "seeding": stages["seeding"] / n_blocks},
        "minor_page_faults_per_block": faults,
        "all_times_s": all_times,
    }


# ---------------------------------------------------------------------------------------------
# 2. accuracy per cost


def bench_accuracy_per_cost(quick: bool) -> dict:
    """CPU per trial, projected CPU to a 1 % 95 % interval on E[eq. 23], bias vs Theorem 2."""
    from netsense.core.closed_form import theorem2_m2
    from netsense.core.mc import mc_point
    from netsense.core.samplers import DiskSampler, PlaneSampler

    M, rho_db, rel = 4, 120.0, 0.01
    gammas = (2.1, 2.5, 4.0)
    samplers = [(f"plane_K{k}", PlaneSampler(nearest=k), 10_000) for k in (8, 32, 128)]
    samplers.append(("disk_R500", DiskSampler(radius_m=500.0), 1_000))
    pilot = {"plane": 20_000 if quick else 200_000, "disk": 2_000 if quick else 20_000}
    rows = []
    for gamma in gammas:
        closed = float(theorem2_m2(M_t=M, M_r=M, rho_s_db=rho_db, lam_t=LAM, lam_r=LAM,
                                   gamma=gamma))
        for name, spec, block in samplers:
            n = pilot[spec.kind]
            kw = dict(lam=LAM, gamma=gamma, M=M, rho_s_db=rho_db, sampler=spec, block_trials=block)
            mc_point(trials=block, seed=99, **kw)  # warm-up (imports, allocator)
            res: dict = {}

            def run(n=n, kw=kw, res=res):
                res.update(mc_point(trials=n, seed=1, **kw))

            cpu = _cpu(run)
            j = res["jensen_m2"]
            assert math.isclose(res["closed_form_m2"], closed, rel_tol=1e-12)
            cv = j["sem"] * math.sqrt(j["n"]) / j["mean"]
            need = math.ceil((Z95 * cv / rel) ** 2)
            per_trial = cpu / n
            bias_ci = j["ratio_ci95"]
            rows.append({
                "gamma": gamma, "sampler": name, "block_trials": block, "pilot_trials": n,
                "pilot_cpu_s": cpu, "cpu_s_per_trial": per_trial, "cv": cv,
                "trials_for_1pct": need, "projected_cpu_s_for_1pct": need * per_trial,
                "bias": j["ratio_to_closed_form"], "bias_ci95": bias_ci,
                "bias_per_side": math.sqrt(j["ratio_to_closed_form"]),
                "bias_significant": not (bias_ci[0] <= 1.0 <= bias_ci[1]),
                "n_inf": j["n_inf"],
            })
    return {"lam_per_m2": LAM, "M": M, "rho_s_db": rho_db, "target_rel_halfwidth": rel,
            "bias_is": "MC mean of eq. (23) / Theorem 2 (eq. 26); per side = sqrt (independent "
                       "sides)", "rows": rows}


def bench_cv_cost(quick: bool) -> dict:
    """CPU seconds to a 0.5 % (95 %) interval on E[eq. 18], plain mean vs control variate.

    Per gamma: one pilot run of ``mc_point`` (plane, K = 64) timed with process_time gives the
    CPU per trial and, from the same trials, both estimators' per-trial relative sd; the trials
    each needs for a 0.5 % half-width follow, and their CPU; also with each estimator's
    calibrated minimum trial count as a floor (an interval that holds needs at least that many:
    netsense.core.stats.CALIBRATED_MIN_TRIALS). The control-variate estimate is then run to its
    own trial count and its achieved half-width recorded (a check of the projection)."""
    from netsense.core.mc import mc_point
    from netsense.core.samplers import PlaneSampler
    from netsense.core.stats import calibrated_min_trials

    M, rho_db, rel, block = 4, 120.0, 0.005, 10_000
    pilot = 20_000 if quick else 200_000
    rows = []
    for gamma in (2.1, 2.5, 3.0, 4.0, 6.0):
        kw = dict(lam=LAM, gamma=gamma, M=M, rho_s_db=rho_db, sampler=PlaneSampler(NEAREST),
                  block_trials=block)
        mc_point(trials=block, seed=99, **kw)  # warm-up
        res: dict = {}

        def run(kw=kw, res=res):
            res.update(mc_point(trials=pilot, seed=1, **kw))

        cpu = _cpu(run)
        c = res["crlb_m2"]
        per_trial = cpu / pilot
        row = {"gamma": gamma, "pilot_trials": pilot, "cpu_s_per_trial": per_trial,
               "variance_reduction": c["variance_reduction"]}
        for name, est in (("plain", c["plain"]), ("control_variate", c)):
            sd = est["sem"] * math.sqrt(est["n"]) / est["mean"]
            need = math.ceil((Z95 * sd / rel) ** 2)  # what the statistics alone ask
            floor = calibrated_min_trials(name, gamma) or 0  # an interval that holds needs it
            row[f"{name}_rel_sd_per_trial"] = sd
            row[f"{name}_trials_for_0.5pct"] = need
            row[f"{name}_cpu_s_for_0.5pct"] = need * per_trial
            row[f"{name}_calibrated_min_trials"] = floor
            row[f"{name}_cpu_s_for_calibrated_0.5pct"] = max(need, floor) * per_trial
        n_cv = max(block, -(-max(row["control_variate_trials_for_0.5pct"],
                                 row["control_variate_calibrated_min_trials"]) // block) * block)
        t = time.process_time()
        got = mc_point(trials=n_cv, seed=2, **kw)["crlb_m2"]
        row["control_variate_run_trials"] = n_cv
        row["control_variate_run_cpu_s"] = time.process_time() - t
        row["control_variate_run_rel_halfwidth"] = (got["ci95"][1] - got["ci95"][0]) / 2 / got["mean"]
        row["cpu_ratio_plain_over_cv"] = (row["plain_cpu_s_for_0.5pct"]
                                          / row["control_variate_cpu_s_for_0.5pct"])
        row["cpu_ratio_plain_over_cv_calibrated"] = (
            row["plain_cpu_s_for_calibrated_0.5pct"]
            / row["control_variate_cpu_s_for_calibrated_0.5pct"])
        rows.append(row)
    return {"lam_per_m2": LAM, "sampler": f"plane;K={NEAREST}", "M": M, "rho_s_db": rho_db,
            "target_rel_halfwidth": rel, "rows": rows}


# ---------------------------------------------------------------------------------------------
# 3. memory

_MEMORY_PROBE = r"""
import json, resource, sys, time
from netsense.core.mc import mc_point
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, c = time.perf_counter(), time.process_time()
r = mc_point(lam=1/900, gamma=2.5, M=4, rho_s_db=120.0, trials=int(sys.argv[1]),
             block_trials=int(sys.argv[2]))
print(json.dumps({"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "max_rss_after_import_mb": rss0 / 1024,
                  "jensen_ratio": r["jensen_m2"]["ratio_to_closed_form"]}))
"""


def bench_memory(quick: bool) -> dict:
    """Peak RSS and wall time of a fresh process running mc_point, vs the trial count."""
    block = 50_000
    runs = []
    for trials in ((10**5, 10**6) if quick else (10**5, 10**6, 10**7)):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(trials), str(block)],
                             check=True, capture_output=True, text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row.update(trials=trials, process_wall_s=time.perf_counter() - t)
        runs.append(row)
    rss = [r["max_rss_mb"] for r in runs]
    return {"block_trials": block, "sampler": "plane;K=64", "runs": runs,
            "max_over_min_rss": max(rss) / min(rss), "target": "~1 (flat in trials)"}


# ---------------------------------------------------------------------------------------------
# Experiments (NOT registered; prototypes of cheaper kernels, same numbers)


def experimental_leg_stats_fused(w, ux, uy):
    """leg_stats with row dot products (einsum) instead of (n, K) product temporaries."""
    wx = w * ux
    return (w.sum(axis=-1), np.einsum("ij,ij->i", wx, ux), np.einsum("ij,ij->i", wx, uy),
            np.einsum("ij,ij,ij->i", w, uy, uy), wx.sum(axis=-1), np.einsum("ij,ij->i", w, uy))


def experimental_block(spec, block_index: int, n: int, fused_stats: bool = True,
                       fold_scale: bool = True):
    """Plane-sampler block with the same random stream as simulate_block, cheaper arithmetic.

    fold_scale: w = Gamma_i^(-gamma/2) * (pi lam)^(gamma/2); the scalar factor is applied to the
    six (n,) sums instead of dividing the (n, K) arrivals by pi lam (one full pass saved).
    fused_stats: :func:`experimental_leg_stats_fused`.
    """
    from netsense.core.fisher import LegStats, crlb_geometric, jensen_geometric, leg_stats
    from netsense.core.seeding import block_rng, stream_key

    rng = block_rng(SEED, stream_key(spec.key(), LAM, GAMMA, n), block_index)
    k = spec.nearest
    sides = []
    for _side in range(2):
        arrivals = np.cumsum(rng.standard_exponential(size=(n, k)), axis=1)
        phi = rng.uniform(-math.pi, math.pi, size=(n, k))
        ux, uy = np.cos(phi), np.sin(phi)
        if fold_scale:
            c = (math.pi * LAM) ** (0.5 * GAMMA)
            w = np.power(arrivals, -0.5 * GAMMA)
            rk2 = arrivals[:, -1] / (math.pi * LAM)
        else:
            r2 = arrivals / (math.pi * LAM)
            c = 1.0
            w = r2 ** (-0.5 * GAMMA)
            rk2 = r2[:, -1]
        s = experimental_leg_stats_fused(w, ux, uy) if fused_stats else tuple(leg_stats(w, ux, uy))
        A, txx, txy, tyy, vx, vy = (c * x for x in s)
        tail = 2.0 * math.pi * LAM * rk2 ** (1.0 - 0.5 * GAMMA) / (GAMMA - 2.0)
        sides.append(LegStats(A=A + tail, txx=txx + 0.5 * tail, txy=txy, tyy=tyy + 0.5 * tail,
                              vx=vx, vy=vy))
    return {"g18": crlb_geometric(*sides), "g23": jensen_geometric(*sides)}


def experiment_kernel_variants(quick: bool) -> dict:
    """Kernel/floor for the production kernel and the experimental variants; block-size sweep."""
    from netsense.core.blocks import simulate_block
    from netsense.core.samplers import PlaneSampler
    from netsense.core.seeding import block_rng, stream_key

    spec = PlaneSampler(nearest=NEAREST)
    repeats = 3 if quick else 7
    ref = simulate_block(SEED, spec, LAM, GAMMA, 0, BLOCK)
    agree = {}
    for name, kw in (("fused_stats", dict(fold_scale=False)), ("fold_scale", dict(fused_stats=False)),
                     ("fused_and_fold", {})):
        got = experimental_block(spec, 0, BLOCK, **kw)
        agree[name] = max(float(np.max(np.abs(got[v] / ref[v] - 1.0))) for v in ("g18", "g23"))
    out: dict = {"max_rel_diff_vs_production": agree, "by_block_trials": {}}
    total = 20_000 if quick else 80_000
    for block in ((2_000, 10_000) if quick else (1_000, 2_500, 10_000, 40_000)):
        nb = total // block
        key = stream_key(spec.key(), LAM, GAMMA, block)

        def loop(f, nb=nb, block=block):
            def run():
                for b in range(nb):
                    f(b, block)  # results dropped at once, as in mc_point
            return run

        fns = {
            "production": loop(lambda b, n: simulate_block(SEED, spec, LAM, GAMMA, b, n)),
            "fused_stats": loop(lambda b, n: experimental_block(spec, b, n, fold_scale=False)),
            "fused_and_fold": loop(lambda b, n: experimental_block(spec, b, n)),
            "floor": loop(lambda b, n, key=key: _floor_block(block_rng(SEED, key, b), n, NEAREST,
                                                             GAMMA)),
        }
        med, _ = _interleaved_medians(fns, repeats)
        out["by_block_trials"][block] = {
            "floor_trials_per_s_per_core": total / med["floor"],
            **{f"{k}_over_floor": med[k] / med["floor"] for k in fns if k != "floor"}}
    return out


def _kernel_floor_medians(n_blocks: int, repeats: int) -> dict:
    """Interleaved process_time medians of the production kernel and the floor (helper for the
    allocator experiment, run in a child process)."""
    from netsense.core.blocks import simulate_block
    from netsense.core.samplers import PlaneSampler
    from netsense.core.seeding import block_rng, stream_key

    spec = PlaneSampler(nearest=NEAREST)
    key = stream_key(spec.key(), LAM, GAMMA, BLOCK)

    def kernel():
        for b in range(n_blocks):
            simulate_block(SEED, spec, LAM, GAMMA, b, BLOCK)

    def floor():
        for b in range(n_blocks):
            _floor_block(block_rng(SEED, key, b), BLOCK, NEAREST, GAMMA)

    med, _ = _interleaved_medians({"kernel": kernel, "floor": floor}, repeats)
    return {"kernel_trials_per_s_per_core": n_blocks * BLOCK / med["kernel"],
            "floor_trials_per_s_per_core": n_blocks * BLOCK / med["floor"],
            "ratio": med["kernel"] / med["floor"],
            "kernel_minor_faults_per_block": _minor_faults(kernel) / n_blocks,
            "floor_minor_faults_per_block": _minor_faults(floor) / n_blocks}


_ALLOC_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import kernel_bench
print(json.dumps(kernel_bench._kernel_floor_medians(int(sys.argv[2]), int(sys.argv[3]))))
"""


def experiment_allocator(quick: bool) -> dict:
    """Kernel and floor in fresh processes: defaults, numpy's huge-page madvise off, and a
    256 MB glibc top pad.

    Every (n, K) temporary of a 10k-trial block is 5.1 MB (above numpy's 4 MB huge-page madvise
    threshold); with the defaults glibc hands much of that memory back and re-faults it (minor
    page faults, sys time, which process_time counts). MALLOC_TOP_PAD_ keeps it mapped. This
    changes the kernel's absolute speed, not its numbers.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    n_blocks, repeats = (2, 3) if quick else (8, 7)
    out = {}
    for name, extra in (("default", {}),
                        ("NUMPY_MADVISE_HUGEPAGE=0", {"NUMPY_MADVISE_HUGEPAGE": "0"}),
                        ("MALLOC_TOP_PAD_=256MB", {"MALLOC_TOP_PAD_": str(256 << 20)})):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MALLOC_") and k != "NUMPY_MADVISE_HUGEPAGE"}
        env.update(extra)
        res = subprocess.run([sys.executable, "-c", _ALLOC_PROBE, here, str(n_blocks),
                              str(repeats)], check=True, capture_output=True, text=True, env=env)
        out[name] = json.loads(res.stdout.strip().splitlines()[-1])
    out["kernel_speedup_from_top_pad"] = (out["MALLOC_TOP_PAD_=256MB"]["kernel_trials_per_s_per_core"]
                                          / out["default"]["kernel_trials_per_s_per_core"])
    return out


BENCHES = {"kernel_floor": bench_kernel_floor, "accuracy": bench_accuracy_per_cost,
           "memory": bench_memory}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=",".join(BENCHES))
    p.add_argument("--experiments", action="store_true",
                   help="also run the experiment_* functions (not registered benchmarks)")
    a = p.parse_args(argv)
    names = [n for n in a.only.split(",") if n]
    for name in names:
        t = time.perf_counter()
        res = BENCHES[name](a.quick)
        print(f"[{name}] {json.dumps(res)}  ({time.perf_counter() - t:.0f} s)", flush=True)
    if a.experiments:
        t = time.perf_counter()
        res = {"kernel_variants": experiment_kernel_variants(a.quick),
               "allocator": experiment_allocator(a.quick)}
        print(f"[experiments] {json.dumps(res)}  ({time.perf_counter() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
