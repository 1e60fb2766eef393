"""Random streams keyed by parameters and block index (SeedSequence), never by position."""

from __future__ import annotations

import numpy as np
import pytest

from netsense import DiskSampler, PlaneSampler
from netsense.core.blocks import simulate_block
from netsense.core.seeding import block_rng, block_seed_sequence, seed_label, stream_key

N_DRAWS = 64  # 64 doubles per stream: two different streams agree on all by chance w.p. ~0

KEY = stream_key(PlaneSampler().key(), 1 / 900, 2.5, 1000)


def draws(seed, key, block):
    return block_rng(seed, key, block).random(N_DRAWS)


def test_same_key_same_numbers():
    np.testing.assert_array_equal(draws(0, KEY, 3), draws(0, KEY, 3))


def test_different_block_seed_or_key_give_different_streams():
    base = draws(0, KEY, 0)
    variants = {
        "block": draws(0, KEY, 1),
        "seed": draws(1, KEY, 0),
        "lam": draws(0, stream_key(PlaneSampler().key(), 1 / 400, 2.5, 1000), 0),
        "gamma": draws(0, stream_key(PlaneSampler().key(), 1 / 900, 3.0, 1000), 0),
        "sampler": draws(0, stream_key(DiskSampler().key(), 1 / 900, 2.5, 1000), 0),
        "nearest": draws(0, stream_key(PlaneSampler(nearest=32).key(), 1 / 900, 2.5, 1000), 0),
        "block_trials": draws(0, stream_key(PlaneSampler().key(), 1 / 900, 2.5, 2000), 0),
    }
    for name, v in variants.items():
        assert not np.any(v == base), name


def test_streams_over_a_grid_are_pairwise_distinct():
    firsts = set()
    n = 0
    for lam in (1e-4, 1 / 900, 1e-2):
        for g in (2.05, 2.5, 4.0):
            for b in range(4):
                for seed in (0, 1):
                    firsts.add(draws(seed, stream_key("plane;K=64", lam, g, 100), b)[0])
                    n += 1
    assert len(firsts) == n


def test_cell_key_is_canonical_in_number_spelling():
    assert stream_key("plane;K=64", 1 / 900, 3, 100) == stream_key(
        "plane;K=64", 0.0011111111111111111, 3.0, 100.0)
    assert stream_key("plane;K=64", 1 / 900, 3, 100) != stream_key("plane;K=64", 1 / 900, 3.0001, 100)


def test_seed_sequence_and_label():
    ss = block_seed_sequence(7, KEY, 2)
    assert ss.entropy == 7
    assert ss.spawn_key[-1] == 2
    label = seed_label(7, KEY, 2)
    assert "seed=7" in label and "block=2" in label and KEY in label
    with pytest.raises(ValueError):
        block_seed_sequence(7, KEY, -1)


def test_global_numpy_rng_does_not_leak_in():
    a = draws(3, KEY, 0)
    np.random.seed(12345)
    np.random.random(10)
    np.testing.assert_array_equal(draws(3, KEY, 0), a)


# ------------------------------------------------------------------------------------------
# mc.simulate_block


SPEC = PlaneSampler(nearest=16)


def test_simulate_block_is_deterministic():
    a = simulate_block(11, SPEC, 1 / 900, 2.5, 2, 500)
    b = simulate_block(11, SPEC, 1 / 900, 2.5, 2, 500)
    for k in ("g18", "g23"):
        assert a[k].dtype == np.float64 and a[k].shape == (500,)
        np.testing.assert_array_equal(a[k], b[k])


def test_simulate_block_independent_of_other_work():
    """Block 3 alone equals block 3 computed after other blocks / cells / global-RNG use."""
    alone = simulate_block(4, SPEC, 1 / 900, 3.0, 3, 400)
    for b in range(3):
        simulate_block(4, SPEC, 1 / 900, 3.0, b, 400)
    simulate_block(4, SPEC, 1 / 400, 3.0, 3, 400)
    simulate_block(4, DiskSampler(radius_m=200.0), 1 / 900, 3.0, 3, 400)
    np.random.seed(0)
    again = simulate_block(4, SPEC, 1 / 900, 3.0, 3, 400)
    np.testing.assert_array_equal(alone["g18"], again["g18"])
    np.testing.assert_array_equal(alone["g23"], again["g23"])


def test_simulate_block_order_of_blocks_irrelevant():
    fwd = [simulate_block(9, SPEC, 1 / 900, 2.5, b, 200)["g23"] for b in range(4)]
    rev = [simulate_block(9, SPEC, 1 / 900, 2.5, b, 200)["g23"] for b in reversed(range(4))]
    for b in range(4):
        np.testing.assert_array_equal(fwd[b], rev[3 - b])


def test_simulate_block_number_spelling_irrelevant():
    a = simulate_block(1, SPEC, 1 / 900, 3, 0, 100)
    b = simulate_block(1, SPEC, 0.0011111111111111111, 3.0, 0, 100)
    np.testing.assert_array_equal(a["g18"], b["g18"])


@pytest.mark.parametrize("change", ["seed", "block", "lam", "gamma", "spec"])
def test_simulate_block_changes_with_its_key(change):
    args = dict(seed=1, sampler=SPEC, lam=1 / 900, gamma=2.5, block_index=0, block_trials=100)
    base = simulate_block(**args)["g23"]
    args[{"seed": "seed", "block": "block_index", "lam": "lam", "gamma": "gamma",
          "spec": "sampler"}[change]] = {"seed": 2, "block": 1, "lam": 1 / 901, "gamma": 2.6,
                                      "spec": PlaneSampler(nearest=17)}[change]
    other = simulate_block(**args)["g23"]
    assert not np.any(other == base)


def test_density_change_draws_a_new_geometry_not_a_rescaled_one():
    """With a shared stream, plane-sampler g23 would scale exactly by (lam1/lam2)^gamma (the
    radial ordering r^2 = Gamma_i / (pi lam)); keyed streams make the ratio vary by trial."""
    a = simulate_block(1, SPEC, 1 / 900, 2.5, 0, 200)["g23"]
    b = simulate_block(1, SPEC, 1 / 400, 2.5, 0, 200)["g23"]
    ratio = a / b
    assert np.std(ratio) > 0.1 * np.mean(ratio)
