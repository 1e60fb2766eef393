"""What keys the block caches: the fingerprint of what the kernel computes for a cell
(netsense.core.blocks.fingerprints), fixed for a table of cells covering every registered
sampler, its parameters, the guard zone, the beam models and separate sides
(tests/golden/make_fingerprints.py). A change that moves a sampled number of any of them fails
here; tidying the code does not. The fingerprint is a function of the numbers only: the same
cell gives the same one in another process, and any change of a parameter gives another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netsense.core.blocks import PROBE_TRIALS, fingerprints, sample_stream, streams
from netsense.core.samplers import SAMPLERS, PlaneSampler, sampler_from_mapping

GOLDEN = Path(__file__).parents[1] / "golden"


def _table():
    sys.path.insert(0, str(GOLDEN))
    try:
        import make_fingerprints
    finally:
        sys.path.pop(0)
    return make_fingerprints


def test_fingerprints_of_every_sampler_are_fixed():
    mk = _table()
    want = json.loads((GOLDEN / "fingerprints.json").read_text())  # missing file: a failure
    got = json.loads(json.dumps(mk.fingerprint_table(), sort_keys=True))
    assert len(got) == len(want) == len(mk.CELLS)
    assert {c["entry"]["kind"] for c in got} == set(SAMPLERS)  # every registered kind
    moved = [f"{w['label']} lam_t={w['lam_t']:.6g} gamma={w['gamma']:g} {w['beam']}"
             for g, w in zip(got, want, strict=True) if g != w]
    assert moved == [], f"the samples (or key, label, mapping) of {moved} changed"


def test_same_cell_same_fingerprint_in_another_process():
    code = ("from netsense.core.blocks import fingerprints, streams\n"
            "from netsense.core.samplers import PlaneSampler\n"
            "print(fingerprints(streams(PlaneSampler(16), 3.0, 500, 1/900, 1/225), 3.0))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    here = fingerprints(streams(PlaneSampler(16), 3.0, 500, 1 / 900, 1 / 225), 3.0)
    assert out == str(here)


@pytest.mark.parametrize("change", [
    dict(lam_t=1 / 400), dict(gamma=3.5), dict(entry={"kind": "plane", "nearest": 33}),
    dict(entry={"kind": "plane", "nearest": 32, "guard_m": 1.0}), dict(beam="codebook", M=4),
    dict(block_trials=999)])
def test_any_parameter_that_shapes_the_samples_moves_the_fingerprint(change):
    base = dict(entry={"kind": "plane", "nearest": 32}, lam_t=1 / 900, gamma=3.0, beam="full",
                M=None, block_trials=1000)

    def fp(entry, lam_t, gamma, beam, M, block_trials):
        s = sampler_from_mapping(dict(entry))
        return fingerprints(streams(s, gamma, block_trials, lam_t, None, beam, M), gamma)[0]

    assert fp(**{**base, **change}) != fp(**base)


def test_the_probe_runs_the_cells_own_streams():
    """The probe draws the cell's own streams (keys, sides, beam) with the probe's seed: a
    stream of one side is fingerprinted on its own, which is what keys a shared side cache."""
    s = PlaneSampler(16)
    tied = streams(s, 3.0, 500, 1 / 900)
    sep = streams(s, 3.0, 500, 1 / 900, 1 / 900)
    assert [st.shared for st in tied] == [False] and [st.shared for st in sep] == [True, True]
    cell_t, sides_t = fingerprints(tied, 3.0)
    cell_s, sides_s = fingerprints(sep, 3.0)
    assert sides_t == {} and set(sides_s) == {"tx", "rx"} and cell_t != cell_s
    # the same side stream in another cell (another lam_r) has the same fingerprint
    assert fingerprints(streams(s, 3.0, 500, 1 / 900, 1 / 400), 3.0)[1]["tx"] == sides_s["tx"]
    drawn = sample_stream(1, tied[0], 3.0, 0, PROBE_TRIALS)
    assert list(drawn) == ["tx", "rx"] and drawn["tx"].A.shape == (PROBE_TRIALS,)
