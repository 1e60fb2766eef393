"""The memory cap of a disk block (netsense.core.memory), shared by the pipeline's config check
and `netsense mc`: refused above the cap with one line naming the option and the largest block
that fits, accepted at it. Nothing here samples a big block: the refusals come first."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from netsense.core.mc import mc_point
from netsense.core.memory import MAX_NODES_PER_BLOCK, check_block_memory, largest_block
from netsense.core.samplers import DiskSampler, PlaneSampler, sampler_from_mapping
from netsense.errors import InputError

NETSENSE = str(Path(sys.executable).parent / "netsense")
SUBPROCESS_TIMEOUT_S = 60
LAM = 1 / 56.25  # the densest RX side of config/asymmetric.yaml
DISK = DiskSampler(500.0)
# The largest block at R = 500 m, lam = 1/56.25, by hand: 1.25e8 nodes / (pi 500^2 / 56.25 nodes
# per trial) = 8952.4 trials (as tests/pipeline/test_config.py's DISK_MAX_BLOCK_TRIALS).
MOST = 8952


def test_the_cap_is_the_largest_block_that_fits():
    assert math.floor(MAX_NODES_PER_BLOCK / (LAM * math.pi * 500.0**2)) == MOST
    assert largest_block(DISK, LAM) == MOST
    check_block_memory(DISK, LAM, MOST)  # at the cap: accepted
    with pytest.raises(InputError) as ei:
        check_block_memory(DISK, LAM, MOST + 1)
    assert str(ei.value) == (
        "block_trials: got 8953; a disk-R500 block at lam = 1/56.25 holds 1.25e+08 nodes per side "
        "(8.0 GB on one worker); at most 1.25e+08: use block_trials <= 8952, a smaller radius_m "
        "or the plane sampler")
    # the plane sampler holds K nodes per side whatever lam: its cap is K's, not the density's
    assert largest_block(PlaneSampler(64), LAM) == largest_block(PlaneSampler(64), 1 / 900) \
        == int(MAX_NODES_PER_BLOCK // 64)
    check_block_memory(PlaneSampler(64), LAM, 10**6)
    with pytest.raises(InputError, match=r"use block_trials <= 1953125 or a smaller nearest$"):
        check_block_memory(PlaneSampler(64), LAM, 10**7)


def test_mc_point_refuses_a_block_over_the_cap_before_sampling():
    with pytest.raises(InputError, match=r"^block_trials: got 20000; a disk-R500 block .* use "
                       rf"block_trials <= {MOST}, "):
        mc_point(lam=LAM, gamma=2.5, M=4, rho_s_db=120.0, trials=20_000, sampler=DISK)
    # the higher density of separate sides sets it
    with pytest.raises(InputError, match=rf"block_trials <= {MOST}, "):
        mc_point(lam_t=1 / 900, lam_r=LAM, gamma=2.5, M=4, rho_s_db=120.0, trials=20_000,
                 block_trials=MOST + 1, sampler=DISK)


def _mc(*args):
    return subprocess.run([NETSENSE, "mc", "--sampler", "disk", "--gamma", "2.5", *args],
                          capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)


@pytest.mark.parametrize("args, named", [
    (["--lam", "1/56.25", "--trials", "20000"], "--trials: got 20000"),  # the default block
    (["--lam", "1/56.25", "--trials", "100000", "--block-trials", str(MOST + 1)],
     f"--block-trials: got {MOST + 1}"),
    (["--lam-t", "1/900", "--lam-r", "1/56.25", "--trials", "20000"], "--trials: got 20000"),
])
def test_netsense_mc_refuses_a_block_over_the_cap(args, named):
    p = _mc(*args)
    assert p.returncode == 2 and p.stdout == "", p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"netsense: error: {named}; a disk-R500 block at lam = 1/56.25 "
                               "holds "), lines[0]
    assert lines[0].endswith(f"use --block-trials <= {MOST}, a smaller --radius-m or --sampler "
                             "plane"), lines[0]


def test_netsense_mc_runs_a_block_under_the_cap():
    p = _mc("--lam", "1/900", "--radius-m", "100", "--trials", "200", "--json")
    assert p.returncode == 0, p.stderr
    assert '"trials": 200' in p.stdout


def test_under_blockage_the_remedy_is_fewer_los_nodes():
    """Every LOS node is held (mean 2 pi lam / beta^2): neither K nor another sampler helps."""
    s = sampler_from_mapping({"kind": "plane", "blockage_per_m": 1 / 141})
    lam = 0.1
    assert s.nodes_per_trial(lam) == pytest.approx(2 * math.pi * lam * 141**2)
    with pytest.raises(InputError) as exc:
        check_block_memory(s, lam, 50_000, option=lambda p: "--" + p.replace("_", "-"),
                           plane="--sampler plane")
    msg = str(exc.value)
    assert f"use block_trials <= {largest_block(s, lam)}" in msg
    assert msg.endswith("or a larger --blockage-per-m") and "--nearest" not in msg
    assert "--sampler plane" not in msg and "\n" not in msg
