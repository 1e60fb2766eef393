"""``netsense run | init | validate | schema``: run the sweep workflow in any folder, write the
example configs, check a config, show the schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..analysis.runconfig import final_outputs, load_run_config
from ..errors import InputError

# Set for the Snakemake that `netsense run` starts: its closing lines then leave the report to
# `netsense run`, which builds it and prints where (workflow/rules/common.smk, print_outputs).
RUN_BY_NETSENSE = "NETSENSE_RUN"
# What Snakemake says when every target is up to date (it then runs no onsuccess handler).
NOTHING_TO_DO = "Nothing to be done"


def results_lines(cfg, state: str = "done") -> str:
    """Where a run's results are, after a blank line: the closing lines of a run (``state``
    'done') and of `netsense run` when there was nothing to do ('up to date')."""
    run = f"results/{cfg.name}"
    dask_report = f"{run}/dask-performance.html"
    return (
        f"\nnetsense: {state}. Results:\n"
        f"  cube     {run}/cube.zarr   (netsense.open_cube)\n"
        f"  slopes   {run}/slopes.csv  {run}/slopes.json\n"
        f"  findings {run}/findings.json\n"
        + "".join(f"  figure   {f}\n" for f in final_outputs(cfg) if f.endswith(".png"))
        + (f"  dask     {dask_report}\n" if os.path.exists(dask_report) else "")
    )


def cmd_validate(args):
    """Validate a config file; print its number of cells."""
    from ..pipeline.plan import cells

    cfg = load_run_config(args.configfile)
    print(f"netsense: {args.configfile}: valid ({len(cells(cfg))} cells, {cfg.trials} trials "
          "each)")


def cmd_schema(args):
    """Print the config schema, completed from the sampler registry, as JSON."""
    from ..pipeline.config import schema

    print(json.dumps(schema(), indent=1))


def _other_snakemake_here(cwd: Path) -> bool:
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


def _blocks_kept(cfg) -> tuple[int, int]:
    """(blocks in the run's block cache, blocks of the sweep): what an interrupted run keeps."""
    from ..pipeline.blockcache import block_path, shard_blocks
    from ..pipeline.plan import plan

    blocks = Path("results") / cfg.name / "blocks"
    paths = [block_path(blocks / s.cell_id, b)
             for s in plan(cfg) for b in shard_blocks(s.params(cfg))]
    return sum(p.exists() for p in paths), len(paths)


def _snakemake(cmd: list, env: dict) -> tuple[int, bool, bool]:
    """Run Snakemake, relaying its stderr; returns (exit status, interrupted, nothing to do).

    A terminal's Ctrl-C sends SIGINT to the whole foreground process group: Snakemake and its
    jobs stop on their own (the Dask host runs in a session of its own and is stopped by the
    Snakefile's onerror). This process only waits for them, then says in one line what was
    kept; Snakemake's report of the jobs it saw die stays in .snakemake/log, not on the terminal.
    (Through the pipe Snakemake's output has no colours.)
    """
    interrupted, idle = [], False
    old = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    try:
        with subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True,
                              errors="replace") as proc:
            for line in proc.stderr:
                idle = idle or line.startswith(NOTHING_TO_DO)
                if not interrupted:
                    sys.stderr.write(line)
                    sys.stderr.flush()
    finally:
        signal.signal(signal.SIGINT, old)
    return proc.returncode, bool(interrupted), idle


def _workdir(args) -> tuple[Path, Path]:
    """(working directory, absolute config file) of ``netsense run``: ``--directory`` (default
    the current folder; created once the config is valid) and ``--configfile`` as typed, else
    config/config.yaml of the working directory."""
    from ..pipeline.project import DEFAULT_CONFIGFILE

    workdir = Path(args.directory or ".").resolve()
    if args.configfile is None:
        configfile = workdir / DEFAULT_CONFIGFILE
        if not configfile.is_file():
            raise InputError("--configfile", None, f"no {DEFAULT_CONFIGFILE} in {workdir}: give "
                             "--configfile FILE, or run `netsense init` there first to write the "
                             "example configs")
    else:
        configfile = Path(args.configfile).resolve()
    if workdir.exists() and not workdir.is_dir():
        raise InputError("--directory", str(workdir), "is a file, not a folder")
    return workdir, configfile


def cmd_run(args):
    """Validate the config (one-line errors), then run the packaged workflow in the working
    directory (its results/ go there) and build the report."""
    from ..pipeline.project import snakefile

    workdir, configfile = _workdir(args)
    invoked = Path.cwd()
    if workdir.is_dir():
        os.chdir(workdir)  # relative paths of a config (estimator layouts) are the workflow's
        cfg = load_run_config(configfile)
    else:  # validated from an empty folder, as the new one will be, before anything is made
        with tempfile.TemporaryDirectory() as empty:
            os.chdir(empty)
            try:
                cfg = load_run_config(configfile)
            finally:
                os.chdir(invoked)
        workdir.mkdir(parents=True)
        os.chdir(workdir)
    if args.directory is not None:
        print(f"netsense: working directory {workdir} (results/ go there)", file=sys.stderr)
    base = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile()), "--configfile",
            str(configfile)]
    locks = workdir / ".snakemake" / "locks"
    if locks.exists() and any(locks.iterdir()):
        if _other_snakemake_here(workdir):
            raise InputError("working directory", str(workdir), "another Snakemake is running "
                             "here; wait for it or stop it")
        print("netsense: removing the lock of a Snakemake that was killed", file=sys.stderr)
        subprocess.run([*base, "--unlock"], check=True, capture_output=True)
    rc, interrupted, idle = _snakemake([*base, "--cores", str(args.cores), "--rerun-incomplete",
                                        *args.snakemake_args],
                                       {**os.environ, RUN_BY_NETSENSE: "1"})
    if interrupted:
        kept, total = _blocks_kept(cfg)
        print(f"netsense: interrupted; {kept} of {total} blocks kept; run the same command to "
              "resume", file=sys.stderr)
        return 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
    if rc != 0:
        return rc
    if idle:  # no onsuccess ran to say where the results are: say it here
        print(results_lines(cfg, "up to date"), end="", file=sys.stderr)
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


def cmd_init(args):
    """Write the example configs and layouts into a folder (refusing to overwrite any)."""
    from ..pipeline.project import init_project

    dest = Path(args.directory)
    written = init_project(dest)
    print(f"netsense: wrote {len(written)} example files into {dest.resolve()}:", file=sys.stderr)
    for f in written:
        print(f"  {f.relative_to(dest)}", file=sys.stderr)
    where = "" if dest.resolve() == Path.cwd().resolve() else f" --directory {args.directory}"
    print(f"netsense: next: netsense run{where} --configfile "
          f"{(dest / 'config' / 'smoke.yaml') if where else 'config/smoke.yaml'}  (seconds), "
          f"or netsense run{where} (the default sweep, config/config.yaml)", file=sys.stderr)


def register(sub) -> None:
    """Add ``run``, ``validate`` and ``schema`` to the subcommands."""
    r = sub.add_parser("run", help="run the sweep workflow (validates the config first)",
                       description="Validate the config, run the Snakemake workflow that ships "
                       "with netsense in the working directory (results/<name>/ go there), then "
                       "build the Snakemake report (results/<name>/report.html).")
    r.add_argument("--configfile", default=None,
                   help="the sweep config (default: config/config.yaml of the working directory)")
    r.add_argument("--directory", default=None, metavar="DIR",
                   help="working directory: results/ and Snakemake's records go there, relative "
                   "paths in the config are read from there (default: the current folder)")
    r.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                   help="cores for Snakemake (and the embedded Dask workers)")
    r.add_argument("--no-report", action="store_true", help="skip snakemake --report")
    r.add_argument("snakemake_args", nargs="*", help="extra snakemake arguments (after --)")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="validate a sweep config file",
                       description="Validate a sweep config: one line naming the key, the "
                       "value and the rule on any mistake.")
    v.add_argument("configfile", help="the sweep config")
    v.set_defaults(func=cmd_validate)

    i = sub.add_parser("init", help="write the example configs and layouts into a folder",
                       description="Copy the example sweep configs (config/*.yaml) and fixed "
                       "layouts (data/layouts/*.json) that ship with netsense into a folder, to "
                       "run and edit there. Nothing is overwritten: if any of the files exists, "
                       "nothing is written.")
    i.add_argument("directory", nargs="?", default=".", help="the folder (created if needed)")
    i.set_defaults(func=cmd_init)

    s = sub.add_parser("schema", help="print the config schema (JSON)",
                       description="The config schema with every key's type, unit and default, "
                       "the sampler entry completed from the sampler registry.")
    s.set_defaults(func=cmd_schema)
