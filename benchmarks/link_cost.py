"""What each link model costs per trial against the plain plane sampler.

    python benchmarks/link_cost.py [--trials N] [--repeats R]

One block of eq. (18) and eq. (23) trials (netsense.core.blocks.simulate_block, both sides,
tied densities) per (sampler kind, link model, density), timed in CPU seconds of this process
(the median of R repeats of the same block, after one warm-up), reported in microseconds per
trial and as a multiple of the plain plane sampler's (K = 64, no link model) at the same density.
Link models: none; heights (h = 10 m); shadowing (8 dB); blockage moderate (1/beta = 141 m) and
dense urban (1/beta = 50 m); all three at once. Also the mean usable nodes of a side while it is
sampled (nodes_per_trial, the memory driver). Writes benchmarks/results/link-cost.json and prints
the table (docs: guide/links.md, "What the models cost").
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from netsense.core.blocks import simulate_block
from netsense.core.samplers import sampler_from_mapping

OUT = Path(__file__).resolve().parent / "results" / "link-cost.json"
GAMMA = 3.0
DENSITIES = {"1/900": 1 / 900, "1/100": 1 / 100}
# matern at delta = 4 m: lam pi delta^2 < 1 up to lam = 1/50 (the default 10 m stops at 1/314)
KINDS = {"plane": {"kind": "plane"}, "disk": {"kind": "disk"},
         "matern": {"kind": "matern", "hardcore_m": 4.0},
         "thomas": {"kind": "thomas"}, "lattice": {"kind": "lattice"}}
LINKS = {
    "none": {},
    "heights 10 m": {"height_m": 10.0},
    "shadowing 8 dB": {"shadowing_db": 8.0},
    "blockage 1/141 m": {"blockage_per_m": 1 / 141},
    "blockage 1/50 m": {"blockage_per_m": 1 / 50},
    "all (10 m, 1/141 m, 8 dB)": {"height_m": 10.0, "blockage_per_m": 1 / 141,
                                  "shadowing_db": 8.0},
}


def cpu_per_trial(sampler, lam, trials, repeats):
    simulate_block(0, sampler, lam, GAMMA, 0, min(trials, 200))  # warm-up (imports, caches)
    times = []
    for r in range(repeats):
        t0 = time.process_time()
        simulate_block(r, sampler, lam, GAMMA, 0, trials)
        times.append(time.process_time() - t0)
    return statistics.median(times) / trials


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=4000, help="trials per timed block")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats (median)")
    args = ap.parse_args()
    rows = []
    for dens, lam in DENSITIES.items():
        base = cpu_per_trial(sampler_from_mapping({"kind": "plane"}), lam, args.trials,
                             args.repeats)
        for kind, entry in KINDS.items():
            for name, link in LINKS.items():
                s = sampler_from_mapping({**entry, **link})
                # a disk at lam = 1/100 holds 7 854 nodes a side: fewer trials keep it short
                n = args.trials if s.nodes_per_trial(lam) is None or s.nodes_per_trial(lam) < 2000 \
                    else max(200, args.trials // 10)
                per = cpu_per_trial(s, lam, n, args.repeats)
                rows.append({"lam": dens, "kind": kind, "link": name, "label": s.label(),
                             "trials": n, "us_per_trial": per * 1e6,
                             "vs_plain_plane": per / base,
                             "nodes_per_side": s.nodes_per_trial(lam)})
                print(f"lam={dens:6s} {kind:8s} {name:27s} {per * 1e6:9.1f} us/trial "
                      f"{per / base:7.2f}x plain plane  nodes/side "
                      f"{rows[-1]['nodes_per_side'] or 0:8.0f}", flush=True)
    OUT.write_text(json.dumps({"gamma": GAMMA, "trials": args.trials, "repeats": args.repeats,
                               "machine": platform.machine(), "python": platform.python_version(),
                               "rows": rows}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
