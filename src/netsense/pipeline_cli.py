"""Pipeline subcommands used by the Snakemake rules: shard, assemble, fit, figure."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .system import InputError


def _cfg(text):
    from .config import resolve

    return resolve(json.loads(text))


def cmd_shard(args):
    import os

    from .shard import run_shard

    dask_opts = json.loads(args.dask or os.environ.get("NETSENSE_DASK") or
                           '{"cluster": "embedded"}')
    summary = run_shard(json.loads(args.params), args.out, args.cache_dir, dask_opts,
                        threads=args.threads)
    print(json.dumps(summary))


def cmd_assemble(args):
    import warnings

    from .cluster import release_embedded
    from .cube import assemble
    from .store import CorruptFileError
    from .sweep import code_version, plan

    cfg = _cfg(args.config_json)
    run = Path(args.out).parent
    # Every shard is an input of this job: no job of the run needs the Dask cluster any more.
    # Its host shuts down (and writes the performance report) while the cube is assembled.
    sched = json.loads(os.environ.get("NETSENSE_DASK") or "{}").get("embedded_scheduler_file")
    if sched and release_embedded(Path(sched).parent):
        print("netsense: all shards done; the embedded Dask cluster is shutting down",
              file=sys.stderr)
    shards = plan(cfg)
    files = [run / "shards" / f"{s.name}.npz" for s in shards]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata")
        try:
            assemble(cfg, files, args.out,
                     {"code_version_samples": code_version(),
                      "code_version_cube": code_version(("system.py", "closed_form.py",
                                                         "cube.py"))},
                     shard_cells=dict(zip(files, (s.cell_key for s in shards), strict=True)),
                     log=sys.stderr)
        except CorruptFileError as exc:
            print(f"netsense: error: {exc}", file=sys.stderr)
            return 3
    print(f"netsense: cube written to {args.out}", file=sys.stderr)


def cmd_fit(args):
    from .cube import open_cube
    from .fits import fit_slopes, write_slopes

    ds = open_cube(args.cube)
    rows = fit_slopes(ds)
    write_slopes(rows, args.csv, args.json)
    bad = [r for r in rows if not r["consistent"]]
    print(f"netsense: {len(rows)} slopes fitted, {len(rows) - len(bad)} consistent with theory",
          file=sys.stderr)


def _cube_view(args):
    """The cube, the run's config (--config-json, else the cube's stored one) and the slopes."""
    from .config import resolve
    from .cube import open_cube

    ds = open_cube(args.cube)
    cfg = resolve(json.loads(args.config_json or ds.attrs["config_json"]))
    slopes = json.loads(Path(args.slopes).read_text()) if args.slopes else []
    return ds, cfg, slopes


def cmd_figure(args):
    from .plots import fig1

    ds, cfg, slopes = _cube_view(args)
    fig1(ds, cfg.reference, slopes, title=f"netsense: {cfg.name} ({', '.join(cfg.sampler_labels)}; "
         f"{cfg.trials} trials per point; bands: 95% CI)", path_png=args.png, path_pdf=args.pdf)


def cmd_study(args):
    import warnings

    from .studies import run_studies

    ds, cfg, slopes = _cube_view(args)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All-NaN slice")
        out = run_studies(ds, cfg.reference, slopes, cfg.analyses, args.outdir,
                          title=f"netsense: {cfg.name} ({cfg.trials} trials per point)")
    print(json.dumps(out))


def cmd_findings(args):
    from .findings import collect, load_store, render

    if args.action == "show":
        print(render(load_store(args.store)))
        return
    if not args.runs:
        raise InputError("findings collect", "", "give the run directories, e.g. "
                         "results/paper-fig1 results/paper-gap results/paper-sec2c")
    for w in collect(args.runs, args.store, args.docs, args.readme):
        print(f"netsense: wrote {w}", file=sys.stderr)


def cmd_validate(args):
    from .config import load

    cfg = load(args.configfile)
    n = sum(len(cfg.sampled_M(b)) for b in cfg.beams) * len(cfg.lam) * len(cfg.gamma)
    print(f"netsense: {args.configfile}: valid ({n} cells, {cfg.trials} trials each)")


def _other_snakemake_here(cwd: Path) -> bool:
    import os

    import psutil

    me = os.getpid()
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["pid"] != me and "snakemake" in cmd and "netsense" not in cmd.split()[:3] \
                    and Path(p.cwd()).resolve() == cwd:
                return True
        except (psutil.Error, OSError):
            continue
    return False


def cmd_run(args):
    """Validate the config (one-line errors), then run the workflow and build the report."""
    import os
    import subprocess

    from .config import load

    cfg = load(args.configfile)
    cwd = Path.cwd().resolve()
    if not (cwd / "Snakefile").exists():
        raise InputError("working directory", str(cwd), "must be the project root (holds the "
                         "Snakefile)")
    snakemake = str(Path(sys.executable).parent / "snakemake")
    base = [snakemake, "--configfile", args.configfile]
    locks = cwd / ".snakemake" / "locks"
    if locks.exists() and any(locks.iterdir()):
        if _other_snakemake_here(cwd):
            raise InputError("working directory", str(cwd), "another Snakemake is running here; "
                             "wait for it or stop it")
        print("netsense: removing the lock of a Snakemake that was killed", file=sys.stderr)
        subprocess.run([*base, "--unlock"], check=True, capture_output=True)
    rc = subprocess.run([*base, "--cores", str(args.cores), "--rerun-incomplete",
                         *args.snakemake_args]).returncode
    if rc != 0:
        return rc
    run = Path("results") / cfg.name
    if not args.no_report:
        rc = subprocess.run([*base, "--report", str(run / "report.html")],
                            capture_output=True, text=True)
        if rc.returncode != 0:
            print(rc.stderr[-3000:], file=sys.stderr)
            return rc.returncode
        print(f"netsense: report   {run / 'report.html'}", file=sys.stderr)
    os.environ.pop("NETSENSE_DASK", None)
    return 0


def cmd_info(args):
    from .query import info

    d = info(args.cube)
    if args.json:
        print(json.dumps(d, indent=1, default=str))
        return
    print(f"cube       {d['path']}  ({d['size_on_disk_bytes'] / 1e6:.1f} MB on disk)"
          f"{'' if d['complete'] else '  INCOMPLETE (assembly did not finish)'}")
    print(f"made by    netsense {d['netsense_version']} at {d['created_utc']}; seed {d['seed']}; "
          f"sampler {d['sampler']}")
    print("dims       " + ", ".join(f"{k}={v}" for k, v in d["dims"].items()))
    for a, vals in d["coords"].items():
        print(f"  {a:9s}{', '.join(f'{v:g}' if isinstance(v, float | int) else str(v) for v in vals)}")
    print("variables")
    for k, v in d["variables"].items():
        print(f"  {k:15s}[{v['units']}] over ({', '.join(v['dims'])}): {v['long_name']}")
    print(f"trials     {d['trials_per_cell']} per cell; {d['cells']} cells: {d['cells_filled']} "
          f"filled, {d['cells_partly_filled']} partly, {d['cells_unfilled']} unfilled "
          f"({d['trials_filled']} of {d['trials_stored']} trial values present)")
    print(f"config     {json.dumps(d['config'], sort_keys=True)}")


def cmd_query(args):
    from .query import summarize

    where = {}
    for w in args.where:
        if "=" not in w:
            raise InputError("--where", w, "must be KEY=VALUE, e.g. gamma=3 or lam=1/900")
        k, v = w.split("=", 1)
        if k.strip() in where:
            raise InputError("--where", w, f"{k.strip()} is given twice")
        where[k.strip()] = v.strip()
    from .cube import open_cube

    ds = open_cube(args.cube, require_complete=False)
    from .query import VARS

    wanted = [v for v in args.var.split(",") if v] if args.var else \
        [v for v in VARS if v in ds.data_vars]  # default: every per-trial variable present
    df = summarize(ds, var=wanted,
                   stats=[s for s in args.stats.split(",") if s], where=where,
                   nearest=args.nearest)
    if args.format == "csv":
        print(df.to_csv(index=False), end="")
    elif args.format == "json":
        print(df.to_json(orient="records", indent=1))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200, "display.float_format", "{:.6g}".format):
            print(df.to_string(index=False))
    if not ds.attrs.get("netsense_complete", False):
        print("netsense: warning: this cube is INCOMPLETE (assembly did not finish); counts "
              "show the filled trials", file=sys.stderr)


def add_pipeline_commands(sub):
    i = sub.add_parser("info", help="what a stored cube holds and which config made it")
    i.add_argument("cube")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)

    q = sub.add_parser("query", help="statistics over trials from a stored cube")
    q.add_argument("cube")
    q.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="sampler (e.g. disk-R500), M, rho_s_db, lam (also 1/900) or gamma; repeatable")
    q.add_argument("--var", default="", help="comma-separated, e.g. crlb_m2,jensen_m2 "
                   "(default: all per-trial variables)")
    q.add_argument("--stats", default="mean,sem,ci95,count",
                   help="mean,median,std,sem,ci95,count,filled,quantile:Q")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table")
    q.add_argument("--nearest", action="store_true", help="take the nearest stored value")
    q.set_defaults(func=cmd_query)

    r = sub.add_parser("run", help="run the sweep workflow (validates the config first)")
    r.add_argument("--configfile", default="config/config.yaml")
    r.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    r.add_argument("--no-report", action="store_true", help="skip snakemake --report")
    r.add_argument("snakemake_args", nargs="*", help="extra snakemake arguments (after --)")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("shard", help="(workflow) compute one shard")
    s.add_argument("--params", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--cache-dir", required=True)
    s.add_argument("--dask", help="JSON of the dask section (default: $NETSENSE_DASK, else a "
                   "private LocalCluster)")
    s.add_argument("--threads", type=int, default=1)
    s.set_defaults(func=cmd_shard)

    a = sub.add_parser("assemble", help="(workflow) assemble shards into the zarr cube")
    a.add_argument("--config-json", required=True)
    a.add_argument("--out", required=True)
    a.set_defaults(func=cmd_assemble)

    f = sub.add_parser("fit", help="(workflow) log-log slope fits of a cube")
    f.add_argument("cube")
    f.add_argument("--csv", required=True)
    f.add_argument("--json", required=True)
    f.set_defaults(func=cmd_fit)

    g = sub.add_parser("figure", help="(workflow) Fig. 1 panels of a cube")
    g.add_argument("cube")
    g.add_argument("--slopes")
    g.add_argument("--png", required=True)
    g.add_argument("--pdf")
    g.add_argument("--config-json", help="the run's config (reference point); default: the "
                   "cube's stored config")
    g.set_defaults(func=cmd_figure)

    st = sub.add_parser("study", help="(workflow) tightness, gap and Section II-C tables and "
                        "figures of a cube, and its findings.json")
    st.add_argument("cube")
    st.add_argument("--slopes", required=True)
    st.add_argument("--outdir", required=True)
    st.add_argument("--config-json", help="the run's config (reference point, analyses); "
                    "default: the cube's stored config")
    st.set_defaults(func=cmd_study)

    fd = sub.add_parser("findings", help="paper reproduction: collect runs into data/findings, "
                        "docs and the README (collect), or print the findings (show)")
    fd.add_argument("action", choices=["collect", "show"])
    fd.add_argument("runs", nargs="*", help="run directories (collect)")
    fd.add_argument("--store", default="data/findings")
    fd.add_argument("--docs", default="docs")
    fd.add_argument("--readme", default=None, help="README to rewrite between its FINDINGS markers")
    fd.set_defaults(func=cmd_findings)

    v = sub.add_parser("validate", help="validate a sweep config file")
    v.add_argument("configfile")
    v.set_defaults(func=cmd_validate)


__all__ = ["InputError", "add_pipeline_commands"]
