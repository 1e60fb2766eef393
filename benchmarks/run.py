"""netsense benchmarks: ratios measured in one run on one machine.

    python benchmarks/run.py [--quick] [--only factorization,pipeline]

Writes benchmarks/results/latest.json and prints a table. Times are medians of several repeats
after a warm-up; only ratios are meant to be compared across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_tables
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "latest.json"


def median_time(fn, repeats, clock=time.perf_counter):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = clock()
        fn()
        ts.append(clock() - t)
    return statistics.median(ts)


def machine() -> dict:
    info = {"cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform()}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture")}
                        for d in threadpool_info()]
    except ImportError:
        pass
    return info


# ---------------------------------------------------------------------------------------------
def bench_factorization(quick: bool) -> dict:
    """Eq. (18): factorized O(N_t + N_r) vs the naive O(N_t N_r) double sum, same layouts."""
    from netsense.core.fisher import crlb
    from netsense.core.system import DEFAULT_SYSTEM

    rng = np.random.default_rng(1)
    n = 870  # nodes per side in the paper's 500 m window at lam = 1/900
    layouts = 2 if quick else 8
    r = 500 * np.sqrt(rng.uniform(size=(layouts, 2, n)))
    phi = rng.uniform(-np.pi, np.pi, size=(layouts, 2, n))
    pts = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=-1)
    tx, rx = pts[:, 0], pts[:, 1]
    target = np.zeros((layouts, 2))
    kw = dict(M_t=4, M_r=4, rho_s_db=120.0, gamma=2.5)

    def factorized():
        return crlb(tx, rx, target, **kw)["crlb_m2"]

    def naive():  # vectorized numpy double sum over all (k, l) pairs, one layout at a time
        out = []
        scale = DEFAULT_SYSTEM.error_scale_m2(4, 4, 1e12)
        for i in range(layouts):
            dt = -tx[i]
            dr = -rx[i]
            nt = np.linalg.norm(dt, axis=1)
            nr = np.linalg.norm(dr, axis=1)
            ut, ur = dt / nt[:, None], dr / nr[:, None]
            w = np.outer(nt**-2.5, nr**-2.5)  # L_k L_l
            v = ut[:, None, :] + ur[None, :, :]  # u_k + u_l, (N_t, N_r, 2)
            G = np.einsum("kl,kli,klj->ij", w, v, v)  # eq. (15) double sum
            out.append(scale * np.trace(np.linalg.inv(G)))
        return np.array(out)

    a, b = factorized(), naive()
    rel = float(np.max(np.abs(a - b) / b))
    tf = median_time(factorized, 5 if quick else 15)
    tn = median_time(naive, 2 if quick else 5)
    return {"n_per_side": n, "layouts": layouts, "factorized_s": tf, "naive_s": tn,
            "speedup": tn / tf, "max_rel_diff": rel, "target": ">= 100"}


# ---------------------------------------------------------------------------------------------
def _workdir() -> Path:
    wd = Path(tempfile.mkdtemp(prefix="netsense-bench-"))
    shutil.copytree(ROOT / "workflow", wd / "workflow")
    shutil.copytree(ROOT / "config", wd / "config")
    shutil.copytree(ROOT / "profiles", wd / "profiles")
    shutil.copytree(ROOT / "benchmarks", wd / "benchmarks", ignore=shutil.ignore_patterns(
        "results"))
    return wd


def _sweep_only(wd: Path, configfile: str) -> str:
    """The config without the optional estimator study (config key estimator): that study is
    not the pipeline whose cost these benchmarks measure. (``--config estimator=null`` does not
    do it: Snakemake passes the string 'null'.)"""
    import yaml

    cfg = yaml.safe_load((wd / configfile).read_text())
    if "estimator" not in cfg:
        return configfile
    cfg.pop("estimator")
    name = f"{Path(configfile).stem}-sweep-only.yaml"
    (wd / name).write_text(yaml.safe_dump(cfg))
    return name


# Process classes for the CPU breakdown of a run (first match of the command line wins).
CPU_CLASSES = (("shard jobs (Dask clients)", "netsense shard"),
               ("Dask workers", "multiprocessing.spawn"),
               ("Dask host + scheduler", "netsense.pipeline.cluster.host"),
               ("assemble", "netsense assemble"), ("fit", "netsense fit"),
               ("figure", "netsense figure"), ("study", "netsense study"),
               ("Snakemake", "bin/snakemake"))


def _cpu_class(cmd: str) -> str:
    for name, pattern in CPU_CLASSES:
        if pattern in cmd:
            return name
    return "other (nannies, shells, tee)"


def _snakemake(wd: Path, configfile: str, cores: int, *extra, cpu: dict | None = None) -> float:
    """Wall time of one Snakemake run. ``cpu``: filled with CPU seconds per process class
    (psutil, polled every 0.25 s: a process's last < 0.25 s can be missed)."""
    snake = str(Path(sys.executable).parent / "snakemake")
    configfile = _sweep_only(wd, configfile)
    t = time.perf_counter()
    # stderr to a file, not a pipe: nothing reads a pipe while the run is polled, and a full pipe
    # blocks every job that logs (the rules tee their logs to it).
    with tempfile.TemporaryFile(mode="w+") as errf:
        proc = subprocess.Popen([snake, *extra, "--cores", str(cores), "--configfile", configfile],
                                cwd=wd, stdout=subprocess.DEVNULL, stderr=errf, text=True)
        last: dict = {}
        if cpu is not None:
            import psutil

            root = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    procs = [root, *root.children(recursive=True)]
                except psutil.Error:
                    break
                for q in procs:
                    try:
                        c = q.cpu_times()
                        if q.pid not in last:
                            last[q.pid] = [_cpu_class(" ".join(q.cmdline())), 0.0]
                        last[q.pid][1] = c.user + c.system
                    except psutil.Error:
                        pass
                time.sleep(0.25)
        proc.wait()
        wall = time.perf_counter() - t
        errf.seek(0)
        err = errf.read()
        if proc.returncode:
            sys.exit(f"benchmark run failed (snakemake exit {proc.returncode}):\n{err[-3000:]}")
    if cpu is not None:
        for name, sec in last.values():
            cpu[name] = round(cpu.get(name, 0.0) + sec, 2)
    return wall


def bench_pipeline(quick: bool, configfile: str | None = None) -> dict:
    """End-to-end wall time of a sweep vs the bare kernel's CPU time / cores, same trials."""
    from netsense.core.blocks import simulate_block
    from netsense.pipeline.config import load

    configfile = configfile or ("config/smoke.yaml" if quick else "config/config.yaml")
    cores = os.cpu_count() or 1
    cfg = load(ROOT / configfile)
    repeats = 1 if quick else 3
    walls = []
    for _ in range(repeats + 1):  # first run warms caches (imports, matplotlib fonts)
        wd = _workdir()
        try:
            walls.append(_snakemake(wd, configfile, cores))
        finally:
            shutil.rmtree(wd, ignore_errors=True)
    wall = statistics.median(walls[1:])

    def kernel():
        for spec in cfg.samplers:
            for lam in cfg.lam:
                for g in cfg.gamma:
                    for b in range(cfg.n_blocks):
                        simulate_block(cfg.seed, spec, lam, g, b, cfg.block_trials)

    cpu = median_time(kernel, repeats, clock=time.process_time)
    return {"config": configfile, "cores": cores, "trials_total": cfg.trials * len(cfg.lam)
            * len(cfg.gamma), "wall_s": wall, "kernel_cpu_s": cpu,
            "ratio_wall_to_kernel_per_core": wall / (cpu / cores), "target": "<= 1.5",
            "all_walls_s": walls}


_QUERY_PROBE = r"""
import json, resource, sys, time
import dask.array, pandas, xarray, zarr  # start-up: the libraries a query needs
import netsense
from netsense.analysis.query import summarize

def rchar():
    for line in open("/proc/self/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])

cube, where = sys.argv[1], json.loads(sys.argv[2])
r0, t0 = rchar(), time.perf_counter()
ds = netsense.open_cube(cube)
# the means with Theorem 2 and their ratio to it: what a query computes by default
df = summarize(ds, var=["crlb_m2", "jensen_m2"],
               stats=["mean", "sem", "count", "ratio", "closed_form"], where=where)
t1, r1 = time.perf_counter(), rchar()
print(json.dumps({"seconds": t1 - t0, "bytes_read": r1 - r0, "rows": len(df),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _copy_project(dst: Path) -> None:
    """What a sweep runs from (workflow, configs, profiles, benchmark configs) into ``dst``."""
    for item in ("workflow", "config", "profiles", "benchmarks"):
        if (dst / item).exists():
            shutil.rmtree(dst / item)
        shutil.copytree(ROOT / item, dst / item, ignore=shutil.ignore_patterns("results"))


def bench_query(quick: bool) -> dict:
    """A point query and a whole-cube query on a >= 1 GB cube: time, bytes read, peak memory."""
    configfile = "config/smoke.yaml" if quick else "benchmarks/query.yaml"
    cache = ROOT / "benchmarks" / "results" / "query-cube"
    cache.mkdir(parents=True, exist_ok=True)
    name = "smoke" if quick else "bench-query"
    cube = cache / "results" / name / "cube.zarr"
    if not cube.exists():  # build it with the real workflow (kept for later runs)
        _copy_project(cache)
        _snakemake(cache, configfile, os.cpu_count() or 1)
    import netsense

    ds = netsense.open_cube(cube)
    data_bytes = int(sum(ds[v].nbytes for v in ("crlb_m2", "jensen_m2")))
    disk = sum(f.stat().st_size for f in cube.rglob("*") if f.is_file())
    point = {a: str(ds[a].values[len(ds[a]) // 2]) for a in ("sampler", "M", "rho_s_db", "lam",
                                                              "gamma")}
    slab_bytes = data_bytes // (ds.sizes["lam"] * ds.sizes["gamma"])

    def probe(where):
        out = subprocess.run([sys.executable, "-c", _QUERY_PROBE, str(cube), json.dumps(where)],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    runs = [probe(point) for _ in range(3 if quick else 5)]
    whole = probe({})
    return {"cube_data_bytes": data_bytes, "cube_disk_bytes": disk,
            "point_query_s_median": statistics.median(r["seconds"] for r in runs),
            "point_query_bytes_read_median": statistics.median(r["bytes_read"] for r in runs),
            "one_lam_gamma_slab_disk_bytes_approx": int(disk * slab_bytes / data_bytes),
            "whole_cube_query_s": whole["seconds"], "whole_cube_bytes_read": whole["bytes_read"],
            "whole_cube_query_max_rss_mb": whole["max_rss_mb"],
            "point_query_max_rss_mb": statistics.median(r["max_rss_mb"] for r in runs)}


def _without_checksums(cube: Path, dst: Path) -> None:
    """A copy of a cube with the crc32c codec left out of every array (the same chunk and
    shard layout, the same zstd): the same cube without checksums, written by zarr."""
    import zarr
    from zarr.codecs import ZstdCodec

    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(cube, dst)
    src = zarr.open_group(cube, mode="r")
    for name, arr in src.arrays():
        shutil.rmtree(dst / name)
        out = zarr.create_array(
            store=str(dst), name=name, shape=arr.shape, dtype=arr.dtype, chunks=arr.chunks,
            shards=arr.shards, compressors=(ZstdCodec(level=0, checksum=False),),
            fill_value=arr.fill_value, dimension_names=arr.metadata.dimension_names,
            attributes=dict(arr.attrs), chunk_key_encoding={"name": "default",
                                                            "separator": "/"})
        out[...] = arr[...]
    zarr.consolidate_metadata(str(dst))


def bench_checksum_cost(quick: bool) -> dict:
    """Issue 16: what the chunk checksums cost a query (the query benchmark's cube against the
    same cube without the crc32c codec, runs alternated), and the workflow's pre-run check
    (:func:`netsense.pipeline.integrity.scan`) and a full ``netsense verify`` on that cube."""
    bench_query(quick)  # builds the cube if it is not there
    name = "smoke" if quick else "bench-query"
    cube = ROOT / "benchmarks" / "results" / "query-cube" / "results" / name / "cube.zarr"
    plain = cube.with_name("cube-nocrc.zarr")
    _without_checksums(cube, plain)
    import xarray as xr

    ds = xr.open_zarr(cube)
    point = {a: str(ds[a].values[len(ds[a]) // 2]) for a in ("M", "rho_s_db", "lam", "gamma")}

    def probe(path, where):
        out = subprocess.run([sys.executable, "-c", _QUERY_PROBE, str(path), json.dumps(where)],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]

    reps = 3 if quick else 7
    pt = {"crc": [], "nocrc": []}
    for _ in range(reps):  # alternated, so drifts hit both alike
        pt["crc"].append(probe(cube, point))
        pt["nocrc"].append(probe(plain, point))
    whole = {"crc": [], "nocrc": []}
    for _ in range(1 if quick else 3):
        whole["crc"].append(probe(cube, {}))
        whole["nocrc"].append(probe(plain, {}))
    from netsense.pipeline.integrity import scan, verify

    t = time.perf_counter()
    problems, n = scan(cube)
    scan_s = time.perf_counter() - t
    t = time.perf_counter()
    rep = verify(cube, progress=False)
    verify_s = time.perf_counter() - t
    shutil.rmtree(plain)
    med = statistics.median
    disk = sum(f.stat().st_size for f in cube.rglob("*") if f.is_file())
    return {"cube_disk_bytes": disk, "point_query_s_crc": med(pt["crc"]),
            "point_query_s_nocrc": med(pt["nocrc"]),
            "point_query_ratio": med(pt["crc"]) / med(pt["nocrc"]),
            "whole_query_s_crc": med(whole["crc"]), "whole_query_s_nocrc": med(whole["nocrc"]),
            "whole_query_ratio": med(whole["crc"]) / med(whole["nocrc"]),
            "all_point_s": pt, "all_whole_s": whole, "scan_s": scan_s, "scan_chunks": n,
            "scan_problems": len(problems), "verify_s": verify_s, "verify_sound": rep.sound,
            "target": "point query <= 1.10x"}


# ---- issue 28: format 3 against format 4 in one run ------------------------------------------
# The last commit whose assembly writes format 3: its code assembles the format-3 cube from the
# same shard files and answers the format-3 side of every comparison.
FORMAT3_COMMIT = "0b25391"
FORMAT4_WORK = ROOT / "benchmarks" / "results" / "format4-work"
_CLI = "import sys; from netsense.cli.main import main; sys.exit(main())"


def _format3_src() -> Path:
    """The package source of FORMAT3_COMMIT (git archive), cached beside the work dirs."""
    out = FORMAT4_WORK / f"src-{FORMAT3_COMMIT}"
    if not (out / "src" / "netsense").exists():
        out.mkdir(parents=True, exist_ok=True)
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", FORMAT3_COMMIT, "src"],
                              check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=arch, check=True)
    return out / "src"


def _timed(args, src: Path, cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s of the child) of ``netsense <args>`` run with the package from ``src``."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
    r0, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CLI, *map(str, args)], cwd=cwd, env=env,
                         capture_output=True, text=True)
    wall, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        sys.exit(f"netsense {args[0]} ({src}) failed:\n{out.stderr[-3000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def _store_stats(cube: Path, cells: int) -> dict:
    files = [f for f in cube.rglob("*") if f.is_file()]
    chunk_files = [f for f in files if f.name != "zarr.json"]
    per_var = {}
    for var in ("crlb_m2", "jensen_m2", "g18", "g23"):
        if (cube / var / "c").exists():
            per_var[var] = sum(1 for f in (cube / var / "c").rglob("*") if f.is_file())
    return {"disk_bytes": sum(f.stat().st_size for f in files), "files": len(files),
            "chunk_files": len(chunk_files), "per_trial_variable_files": per_var,
            "files_per_cell_and_variable": max(per_var.values()) / cells}


def _sweep_cubes(configfile: str, name: str, repeats: int) -> dict:
    """Shards of ``configfile`` sampled once (today's code, cached), assembled into a format-3
    cube (FORMAT3_COMMIT's code) and a format-4 one (today's) from the same shard files, runs
    alternated; each full assembly starts with no previous cube (no reuse)."""
    from netsense.pipeline.config import cube_config, load
    from netsense.pipeline.plan import cells

    wd = FORMAT4_WORK / name
    run = wd / "results" / name
    if not (run / "cube.zarr" / "zarr.json").exists():
        wd.mkdir(parents=True, exist_ok=True)
        _copy_project(wd)
        _snakemake(wd, configfile, os.cpu_count() or 1, f"results/{name}/cube.zarr")
    cfg = load(ROOT / configfile)
    cube_json = json.dumps(cube_config(cfg.raw), sort_keys=True)
    srcs = {3: _format3_src(), 4: ROOT / "src"}
    times: dict = {3: [], 4: []}
    for _ in range(repeats):
        for fmt, src in srcs.items():
            out = run / f"cube{fmt}.zarr"
            for p in (out, out.with_name(f".{out.name}.prev")):
                shutil.rmtree(p, ignore_errors=True)
            times[fmt].append(_timed(["assemble", "--config-json", cube_json, "--out", out],
                                     src, wd))
    n_cells = len(cells(cfg))
    import netsense

    ds = netsense.open_cube(run / "cube4.zarr")
    points = int(np.prod([ds.sizes[d] for d in ds.crlb_m2.dims if d != "trial"]))
    return {"config": configfile, "run": run, "srcs": srcs, "cfg": cfg, "cells": n_cells,
            "points": points, "trials": cfg.trials,
            "assemble": {f: {"wall_s": statistics.median(w for w, _ in t),
                             "cpu_s": statistics.median(c for _, c in t)}
                         for f, t in times.items()},
            "store": {f: _store_stats(run / f"cube{f}.zarr", n_cells) for f in srcs}}


def _step_cpu(sweep: dict, repeats: int) -> dict:
    """CPU seconds of ``netsense fit``, ``figure`` and ``study`` on each format's cube with its
    code, runs alternated (medians)."""
    from netsense.pipeline.config import view_config

    run, cfg = sweep["run"], sweep["cfg"]
    # the estimator study's layouts are not these steps' inputs (and not in the work dir)
    view = json.dumps({k: v for k, v in view_config(cfg.raw).items() if k != "estimator"},
                      sort_keys=True)
    cpu: dict = {}
    for _ in range(repeats):
        for fmt, src in sweep["srcs"].items():
            out = run / f"steps{fmt}"
            out.mkdir(exist_ok=True)
            cube, slopes = run / f"cube{fmt}.zarr", out / "slopes.json"
            steps = {
                "fit": ["fit", cube, "--csv", out / "slopes.csv", "--json", slopes],
                "figure": ["figure", cube, "--slopes", slopes, "--config-json", view,
                           "--png", out / "fig1.png", "--pdf", out / "fig1.pdf"],
                "study": ["study", cube, "--slopes", slopes, "--outdir", out,
                          "--config-json", view]}
            for step, args in steps.items():
                cpu.setdefault(step, {}).setdefault(fmt, []).append(
                    _timed(args, src, run.parents[1])[1])
    return {step: {"format3_cpu_s": statistics.median(v[3]), "format4_cpu_s":
                   statistics.median(v[4]), "ratio": statistics.median(
                       a / b for a, b in zip(v[4], v[3], strict=True))}
            for step, v in cpu.items()}


def _query_times(sweep: dict, repeats: int, whole_repeats: int) -> dict:
    """Point and whole-cube queries (the query benchmark's probe) on each format, alternated."""
    run = sweep["run"]
    import xarray as xr

    ds = xr.open_zarr(run / "cube4.zarr")
    point = {a: str(ds[a].values[len(ds[a]) // 2]) for a in ("M", "rho_s_db", "lam", "gamma")}

    def probe(fmt, where):
        env = {**os.environ, "PYTHONPATH": str(sweep["srcs"][fmt])}
        out = subprocess.run([sys.executable, "-c", _QUERY_PROBE, str(run / f"cube{fmt}.zarr"),
                              json.dumps(where)], check=True, capture_output=True, text=True,
                             env=env)
        return json.loads(out.stdout.strip().splitlines()[-1])

    pts: dict = {3: [], 4: []}
    whole: dict = {3: [], 4: []}
    for _ in range(repeats):
        for fmt in (3, 4):
            pts[fmt].append(probe(fmt, point))
    for _ in range(whole_repeats):
        for fmt in (3, 4):
            whole[fmt].append(probe(fmt, {}))
    med = statistics.median
    return {
        "point": {f"format{f}_s": med(r["seconds"] for r in pts[f]) for f in (3, 4)}
        | {"ratio": med(a["seconds"] / b["seconds"] for a, b in zip(pts[4], pts[3], strict=True)),
           "format3_bytes_read": med(r["bytes_read"] for r in pts[3]),
           "format4_bytes_read": med(r["bytes_read"] for r in pts[4])},
        "whole": {f"format{f}_s": med(r["seconds"] for r in whole[f]) for f in (3, 4)}
        | {"speedup": med(b["seconds"] / a["seconds"] for a, b in
                          zip(whole[4], whole[3], strict=True)),
           "format3_bytes_read": med(r["bytes_read"] for r in whole[3]),
           "format4_bytes_read": med(r["bytes_read"] for r in whole[4]),
           "format3_max_rss_mb": max(r["max_rss_mb"] for r in whole[3]),
           "format4_max_rss_mb": max(r["max_rss_mb"] for r in whole[4])}}


# The projection's sweep: a billion trials per cell, 100 geometric cells, 20 (M, rho_s) pairs
PROJECT = {"trials": 10**9, "cells": 100, "scale_points": 20}


def _projection(q: dict, sweep: dict) -> dict:
    """Format 3 and 4 at PROJECT's size from the per-trial costs measured here (linear in the
    trials and the points stored or reduced; file counts from each format's layout rules)."""
    from netsense.pipeline.template import MAX_SHARDS_PER_CELL, SHARD_TRIALS

    n, c, k = PROJECT["trials"], PROJECT["cells"], PROJECT["scale_points"]
    st, trials = sweep["store"], sweep["trials"]
    per3 = st[3]["disk_bytes"] / (sweep["points"] * trials)  # per stored (point, trial)
    per4 = st[4]["disk_bytes"] / (sweep["cells"] * trials)  # per stored (cell, trial)
    chunk3 = sweep["cfg"].trial_chunk
    whole3 = q["whole"]["format3_s"] / (sweep["points"] * trials)
    whole4 = q["whole"]["format4_s"] / (sweep["cells"] * trials)
    asm3 = sweep["assemble"][3]["wall_s"] / (sweep["points"] * trials)
    asm4 = sweep["assemble"][4]["wall_s"] / (sweep["cells"] * trials)
    return {**PROJECT,
            "format3_bytes": per3 * n * c * k, "format4_bytes": per4 * n * c,
            "format3_chunk_files": 2 * c * k * -(-n // chunk3),
            "format4_chunk_files": 2 * c * min(MAX_SHARDS_PER_CELL, -(-n // SHARD_TRIALS)),
            "format3_whole_query_s": whole3 * n * c * k, "format4_whole_query_s": whole4 * n * c,
            "format3_assemble_s": asm3 * n * c * k, "format4_assemble_s": asm4 * n * c}


def bench_format4(quick: bool) -> dict:
    """Issue 28: the query benchmark's sweep and the default sweep, each assembled in format 3
    (FORMAT3_COMMIT) and format 4 (today) from the same shards: bytes, files, assembly time,
    point and whole-cube queries, the fit/figure/study steps' CPU; and the projection to a
    billion trials per cell."""
    big = _sweep_cubes("config/smoke.yaml" if quick else "benchmarks/query.yaml",
                       "smoke" if quick else "bench-query", 1 if quick else 2)
    q = _query_times(big, 3 if quick else 5, 1 if quick else 2)
    small = _sweep_cubes("config/smoke.yaml" if quick else "config/config.yaml",
                         "smoke" if quick else "default", 1 if quick else 3)
    out = {"format3_commit": FORMAT3_COMMIT}
    for key, sw in (("query_sweep", big), ("default_sweep", small)):
        out[key] = {k: sw[k] for k in ("config", "cells", "points", "trials", "assemble",
                                       "store")}
        st = sw["store"]
        out[key]["bytes_ratio"] = st[4]["disk_bytes"] / st[3]["disk_bytes"]
        out[key]["files_ratio"] = st[4]["files"] / st[3]["files"]
    out["query_sweep"]["queries"] = q
    out["default_sweep"]["steps"] = _step_cpu(small, 1 if quick else 3)
    out["query_sweep"]["steps"] = _step_cpu(big, 1)
    out["projection"] = _projection(q, big)
    out["targets"] = {"bytes": "<= 1/15", "whole_query": ">= 10x faster",
                      "point_query": "<= 0.5x", "files_per_cell_and_variable": "<= 4",
                      "steps": "<= 0.5x CPU"}
    return json.loads(json.dumps(out, default=str))


def _variant(wd: Path, base: str, name: str, **changes) -> str:
    import yaml

    cfg = yaml.safe_load((wd / base).read_text())
    for k, v in changes.items():
        node = cfg
        *path, last = k.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = v
    (wd / name).write_text(yaml.safe_dump(cfg))
    return name


# The same sweep with 4x the trials per cell (and 2x the blocks per shard job): the fixed costs of
# a run (Snakemake, cluster start, job start-up, the post-processing) weigh 4x less.
LARGE = {"trials": 4000000, "shard_blocks": 40}


def _kernel_cpu_per_core(wd: Path, configfile: str, cores: int = 2) -> float:
    """The bare kernel's CPU time for a config's trials / cores (one block timed per cell)."""
    from netsense.core.blocks import simulate_block
    from netsense.pipeline.config import load

    cfg = load(wd / configfile)
    per_cell = []
    for spec in cfg.samplers:
        for lam in cfg.lam:
            for g in cfg.gamma:
                def one(spec=spec, lam=lam, g=g):
                    simulate_block(cfg.seed, spec, lam, g, 0, cfg.block_trials)

                per_cell.append(median_time(one, 3, clock=time.process_time) * cfg.n_blocks)
    return sum(per_cell) / cores


def bench_workers(quick: bool, large: bool = False) -> dict:
    """Dask speed-up of the simulate stage from 1 to 2 workers (same shards, same trials), and
    where the CPU of the 2-worker run goes (every process of the run, by class)."""
    base = "config/smoke.yaml" if quick else "benchmarks/scaling.yaml"
    out = {}
    cpu2: dict = {}
    for n in (1, 2):
        times = []
        for r in range(1 if quick or large else 2):
            wd = _workdir()
            try:
                cfg = _variant(wd, base, f"w{n}.yaml", **{"dask.n_workers": n},
                               **(LARGE if large else {}))
                if n == 2 and r == 0:
                    out["kernel_cpu_s_per_core"] = _kernel_cpu_per_core(wd, cfg)
                times.append(_snakemake(wd, cfg, 2, "--omit-from", "assemble",
                                        cpu=cpu2 if n == 2 and r == 0 else None))
            finally:
                shutil.rmtree(wd, ignore_errors=True)
        out[f"simulate_wall_s_{n}_worker"] = statistics.median(times)
    out["speedup_1_to_2"] = out["simulate_wall_s_1_worker"] / out["simulate_wall_s_2_worker"]
    out["cpu_s_by_process_2_workers"] = dict(sorted(cpu2.items(), key=lambda kv: -kv[1]))
    out["target"] = ">= 1.8"
    out["config"] = base + (f" with {LARGE}" if large else "")
    return out


def bench_workers_large(quick: bool) -> dict:
    """bench_workers on the 4x larger sweep (one run per worker count)."""
    if quick:
        return {"skipped_in_quick_mode": True}
    return bench_workers(False, large=True)


def bench_synchronous(quick: bool) -> dict:
    """The simpler design, measured against the embedded cluster: no Dask at all
    (``dask.cluster: synchronous``), one shard job per cell computing its blocks itself, and
    Snakemake running as many jobs as it has cores. Simulate stage on 1 and 2 cores, and the
    incremental re-run after adding a gamma, on the same sweep as bench_workers."""
    import yaml

    base = "config/smoke.yaml" if quick else "benchmarks/scaling.yaml"
    out = {"config": base + " with dask.cluster synchronous, one shard per cell"}
    n_blocks = None
    for cores in (1, 2):
        times = []
        for _ in range(1 if quick else 2):
            wd = _workdir()
            try:
                raw = yaml.safe_load((wd / base).read_text())
                n_blocks = -(-raw["trials"] // raw.get("block_trials", 10000))
                cfg = _variant(wd, base, f"s{cores}.yaml", **{"dask.cluster": "synchronous",
                                                              "shard_blocks": n_blocks})
                times.append(_snakemake(wd, cfg, cores, "--omit-from", "assemble"))
            finally:
                shutil.rmtree(wd, ignore_errors=True)
        out[f"simulate_wall_s_{cores}_core"] = statistics.median(times)
    out["speedup_1_to_2"] = out["simulate_wall_s_1_core"] / out["simulate_wall_s_2_core"]
    wd = _workdir()
    try:
        five = [2.5, 3.0, 3.5, 4.0, 4.5]
        sync = {"dask.cluster": "synchronous", "shard_blocks": n_blocks}
        c5 = _variant(wd, base, "five.yaml", **{"sweep.gamma": five}, **sync)
        c6 = _variant(wd, base, "six.yaml", **{"sweep.gamma": [*five, 5.0]}, **sync)
        out["full_run_s"] = _snakemake(wd, c5, 2)
        out["add_one_gamma_s"] = _snakemake(wd, c6, 2)
        out["incremental_fraction"] = out["add_one_gamma_s"] / out["full_run_s"]
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    return out


def bench_incremental(quick: bool, large: bool = False) -> dict:
    """Full run of a five-gamma sweep vs the re-run after adding a sixth gamma, with where the
    re-run's CPU goes."""
    base = "config/smoke.yaml" if quick else "benchmarks/scaling.yaml"
    wd = _workdir()
    extra = LARGE if large else {}
    cpu: dict = {}
    try:
        five = [2.5, 3.0, 3.5, 4.0, 4.5]
        c5 = _variant(wd, base, "five.yaml", **{"sweep.gamma": five}, **extra)
        c6 = _variant(wd, base, "six.yaml", **{"sweep.gamma": [*five, 5.0]}, **extra)
        full = _snakemake(wd, c5, 2)
        inc = _snakemake(wd, c6, 2, cpu=cpu)
        log = (wd / "results" / "bench-scaling" / "logs" / "assemble.log").read_text() \
            if not quick else ""
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    return {"config": base + (f" with {LARGE}" if large else ""), "full_run_s": full,
            "add_one_gamma_s": inc, "fraction": inc / full, "target": "<= 0.30",
            "cpu_s_by_process_rerun": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
            "assemble_log": [ln for ln in log.splitlines() if "cell(s) written" in ln]}


def bench_incremental_large(quick: bool) -> dict:
    """bench_incremental on the 4x larger sweep."""
    if quick:
        return {"skipped_in_quick_mode": True}
    return bench_incremental(False, large=True)


def bench_pipeline_heavy(quick: bool) -> dict:
    """The same ratio on a compute-heavy sweep (benchmarks/heavy.yaml)."""
    if quick:
        return {"skipped_in_quick_mode": True}
    return bench_pipeline(False, "benchmarks/heavy.yaml")


def bench_map(quick: bool) -> dict:
    """`netsense map` kernel: the 200 x 200 grid with the highway layout's 50 sites, vectorized
    over grid points, vs fisher.crlb called once per grid point (timed on a subset, per point)."""
    from netsense.core.fisher import crlb
    from netsense.deploy.crlbmap import crlb_grid
    from netsense.deploy.layout import load_layout

    kw, _ = load_layout(ROOT / "data" / "layouts" / "highway.json", target=False)
    xs, ys = np.linspace(0.0, 1990.0, 200), np.linspace(-995.0, 995.0, 200)
    grid = median_time(lambda: crlb_grid(xs=xs, ys=ys, **kw), 3 if quick else 7)
    pts = np.stack(np.meshgrid(xs[::10], ys[::10]), axis=-1).reshape(-1, 2)  # 400 points
    pkw = {k: v for k, v in kw.items() if k not in ("tx_xy", "rx_xy")}

    def per_point():
        for p in pts:
            crlb(kw["tx_xy"], kw["rx_xy"], p, **pkw)

    loop = median_time(per_point, 1 if quick else 3) / len(pts) * xs.size * ys.size
    return {"grid": [200, 200], "sites": len(kw["tx_xy"]) + len(kw["rx_xy"]), "grid_s": grid,
            "per_point_loop_s_extrapolated": loop, "speedup": loop / grid,
            "target": "200 x 200 grid with 50 sites in seconds"}


sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_bench import (  # noqa: E402
    bench_accuracy_per_cost,
    bench_cv_cost,
    bench_kernel_floor,
    bench_memory,
)

BENCHES = {"factorization": bench_factorization, "kernel_floor": bench_kernel_floor,
           "accuracy_per_cost": bench_accuracy_per_cost, "cv_cost": bench_cv_cost,
           "memory": bench_memory, "pipeline": bench_pipeline,
           "pipeline_heavy": bench_pipeline_heavy, "query": bench_query,
           "workers": bench_workers, "workers_large": bench_workers_large,
           "incremental": bench_incremental, "incremental_large": bench_incremental_large,
           "synchronous": bench_synchronous, "map": bench_map,
           "checksum_cost": bench_checksum_cost, "format4": bench_format4}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=",".join(BENCHES))
    p.add_argument("--docs-only", action="store_true",
                   help="only re-render the docs' performance page from the stored results")
    a = p.parse_args(argv)
    if a.docs_only:
        bench_tables.write_page(bench_tables.load(OUT))
        print(f"written {bench_tables.PAGE}")
        return
    res = {"machine": machine(), "quick": a.quick,
           "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    prev = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for name in a.only.split(","):
        t = time.perf_counter()
        res[name] = BENCHES[name](a.quick)
        print(f"[{name}] {json.dumps(res[name])}  ({time.perf_counter() - t:.0f} s)", flush=True)
        OUT.write_text(json.dumps({**prev, **res}, indent=1))  # after each: nothing measured is lost
    print("\n" + bench_tables.summary_table(res))
    bench_tables.write_page({**prev, **res})
    print(f"\nwritten {bench_tables.PAGE}")
    print(f"\nwritten {OUT}")


if __name__ == "__main__":
    main()
