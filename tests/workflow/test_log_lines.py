"""A run's output is whole lines: concurrent jobs never glue their lines together.

Snakemake and its jobs (each through its own tee) write to one stream. A line is safe only if
its writer hands it over in one write(2): a pipe or terminal never splits one write, but another
process's write can land between two (issue 19: ``... 4 to samplenetsense: shard ...``). The real
workflow's stderr here is a SOCK_SEQPACKET socket, which keeps every write a message of its own,
so a line written in two pieces shows as a message that does not end in a newline, whether or
not another write happened to land between the pieces on this run. The run is unbuffered
(PYTHONUNBUFFERED=1, as in many containers), where Python itself writes every piece apart.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading

import pytest
from wfhelpers import RUN_TIMEOUT_S, SNAKEMAKE, make_workdir, smoke_config, write_config

pytestmark = pytest.mark.slow

# Many short shards (2 blocks of 500 trials each), so that jobs start, log and end together.
MANY = dict(trials=4000, block_trials=500, shard_blocks=2)
N_SHARDS = 16  # 4 cells x 4000 / (2 x 500)
MAX_MESSAGE = 1 << 16  # larger than any write of a job (tee writes at most 8 KiB at once)

# The lines of a shard job (relayed from the host), written by several jobs at once.
SHARD = r"netsense: shard \S+ lam=\S+ gamma=\S+ trials \[\d+, \d+\)"
SHARD_STARTED = re.compile(SHARD + r": \d+ block\(s\), \d+ cached, \d+ to sample")
SHARD_LINES = [SHARD_STARTED, re.compile(SHARD + r": block \d+ done \(\d+/\d+\)"),
               re.compile(SHARD + r": written \S+\.npz \(\d+\.\d s\)")]

def _messages(sock: socket.socket, out: list) -> None:
    while msg := sock.recv(MAX_MESSAGE):
        out.append(msg.decode())


def test_concurrent_jobs_write_whole_lines(tmp_path):
    wd = make_workdir(tmp_path / "wd")
    cfgfile = write_config(wd, smoke_config(**MANY))
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    messages: list[str] = []
    reader = threading.Thread(target=_messages, args=(ours, messages))
    reader.start()
    with theirs:
        proc = subprocess.run([SNAKEMAKE, "--cores", "2", "--configfile", str(cfgfile)],
                              cwd=wd, stdout=subprocess.DEVNULL, stderr=theirs,
                              timeout=RUN_TIMEOUT_S, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    reader.join(timeout=60)
    ours.close()
    text = "".join(messages)
    assert proc.returncode == 0, text[-4000:]

    # Snakemake writes its first lines before it reads the Snakefile; no job runs before the DAG
    # is built, so none can land between their pieces.
    start = next(i for i, m in enumerate(messages) if "Building DAG of jobs" in m)
    split = [m for m in messages[start:] if not m.endswith("\n")]
    assert not split, f"{len(split)} of {len(messages)} writes end mid-line, e.g. {split[:3]}"
    lines = text.splitlines()
    glued = [ln for ln in lines if "netsense: " in ln[1:]]
    assert not glued, glued[:5]
    shard_lines = [ln for ln in lines if ln.startswith("netsense: shard ")]
    unknown = [ln for ln in shard_lines if not any(p.fullmatch(ln) for p in SHARD_LINES)]
    assert not unknown, unknown[:5]
    # the jobs' JSON summaries (stdout), each a line of its own
    summaries = [json.loads(ln) for ln in lines if ln.startswith('{"')]
    assert sum("shard" in s for s in summaries) == N_SHARDS, summaries
    # The jobs ran at the same time: several shards had started before the first was written.
    first_written = next(i for i, ln in enumerate(lines) if SHARD_LINES[2].fullmatch(ln))
    started = [ln for ln in lines[:first_written] if SHARD_STARTED.fullmatch(ln)]
    assert len(started) >= 2, lines[:first_written]
