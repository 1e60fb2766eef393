"""``netsense run | validate | schema``: run the sweep workflow, check a config, show the schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
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


def cmd_run(args):
    """Validate the config (one-line errors), then run the workflow and build the report."""
    cfg = load_run_config(args.configfile)
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
    rc, interrupted, idle = _snakemake([*base, "--cores", str(args.cores), "--rerun-incomplete",
                                  *args.snakemake_args], {**os.environ, RUN_BY_NETSENSE: "1"})
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


def register(sub) -> None:
    """Add ``run``, ``validate`` and ``schema`` to the subcommands."""
    r = sub.add_parser("run", help="run the sweep workflow (validates the config first)",
                       description="Validate the config, run the Snakemake workflow, then build "
                       "the Snakemake report (results/<name>/report.html).")
    r.add_argument("--configfile", default="config/config.yaml", help="the sweep config")
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

    s = sub.add_parser("schema", help="print the config schema (JSON)",
                       description="The config schema with every key's type, unit and default, "
                       "the sampler entry completed from the sampler registry.")
    s.set_defaults(func=cmd_schema)
