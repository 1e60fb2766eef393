"""Exact references of the link models (netsense.core.expectations): E[1/A] with heights,
blockage and shadowing, the shadowing's equivalent density, the localizable probability.

References: mpmath evaluations of the defining integrals (tests/golden/links.json, written by
tests/golden/make_links_golden.py; a missing file fails), the disk's own exact mean
(inv_sum_mean_disk: phi(t) in closed form, no radial quadrature), the guard zone's form, Lemma 3,
and the package's rules under refinement (halving every segment moves nothing).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from netsense import InputError
from netsense.core import expectations as ex
from netsense.core.closed_form import lemma3_inv_sum
from netsense.core.links import shadowing_density_factor

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "links.json"
# Against mpmath (20 digits): the package's composite Gauss-Legendre/Hermite rules. Measured
# agreement <= 5e-16 on every case of the golden file; a control mean needs 1e-10, and 1e-12
# leaves room for other platforms' libm.
MPMATH_RTOL = 1e-12
# Two independent float64 quadratures of one integral (the disk: phi(t) in closed form against
# the radial rule): measured <= 2e-15.
TWO_RULES_RTOL = 1e-12
# Refinement: halving every segment of the rules moves no value by more than rounding.
REFINE_RTOL = 1e-12


def golden_rows():
    return json.loads(GOLDEN.read_text())


def package_value(case, a):
    if case == "heights":
        return ex.inv_sum_mean_plane_heights(a["lam"], a["gamma"], a["h"])
    if case == "heights_shadowed":
        return ex.inv_sum_mean_link(a["lam"], a["gamma"], height_m=a["h"],
                                    shadowing_db=a["sigma_db"])
    return ex.inv_sum_mean_link(a["lam"], a["gamma"], height_m=a.get("h", 0.0),
                                blockage_per_m=a["beta"], r_min=a.get("r_min", 0.0))


@pytest.mark.parametrize("row", golden_rows(), ids=lambda r: f"{r['case']}-{sorted(r['args'].items())}")
def test_link_means_match_mpmath(row):
    assert package_value(row["case"], row["args"]) == pytest.approx(row["value"],
                                                                     rel=MPMATH_RTOL)


def test_heights_alone_through_the_general_form():
    for r in golden_rows():
        if r["case"] == "heights":
            a = r["args"]
            got = ex.inv_sum_mean_link(a["lam"], a["gamma"], height_m=a["h"])
            assert got == pytest.approx(r["value"], rel=MPMATH_RTOL)


@pytest.mark.parametrize("lam, gamma, radius", [(1 / 900, 2.5, 500.0), (1 / 900, 4.0, 100.0),
                                                (1e-4, 3.3, 50.0)])
def test_a_window_without_link_is_the_disk(lam, gamma, radius):
    got = ex.inv_sum_mean_link(lam, gamma, r_max=radius)
    assert got == pytest.approx(ex.inv_sum_mean_disk(lam, gamma, radius), rel=TWO_RULES_RTOL)


def test_shadowing_alone_is_lemma3_at_the_equivalent_density():
    for gamma, sigma in ((2.5, 4.0), (3.0, 8.0), (4.0, 12.0)):
        lam_eq = ex.shadowing_equivalent_density(1 / 900, gamma, sigma)
        assert lam_eq == pytest.approx(shadowing_density_factor(sigma, gamma) / 900, rel=1e-15)
        assert ex.inv_sum_mean_link(1 / 900, gamma, shadowing_db=sigma) == pytest.approx(
            float(lemma3_inv_sum(lam_eq, gamma)), rel=1e-15)
    # and a tiny height (or guard) with shadowing is the continuous limit of the general form
    near = ex.inv_sum_mean_link(1 / 900, 3.0, height_m=1e-3, shadowing_db=8.0)
    lam_eq = ex.shadowing_equivalent_density(1 / 900, 3.0, 8.0)
    assert near == pytest.approx(float(lemma3_inv_sum(lam_eq, 3.0)), rel=1e-5)


def test_blockage_with_shadowing_under_refinement(monkeypatch):
    """No mpmath reference for three nested integrals: the rules under refinement instead."""
    args = dict(height_m=10.0, blockage_per_m=0.01, shadowing_db=4.0)
    base = ex.inv_sum_mean_link(1 / 900, 3.0, **args)
    ex._link_unit.cache_clear()
    monkeypatch.setattr(ex, "_RADIAL_WIDTH", ex._RADIAL_WIDTH / 2)
    monkeypatch.setattr(ex, "_OUTER_WIDTH", ex._OUTER_WIDTH / 2)
    finer = ex.inv_sum_mean_link(1 / 900, 3.0, **args)
    ex._link_unit.cache_clear()
    assert finer == pytest.approx(base, rel=REFINE_RTOL)
    # and the shadowing rule, at the largest sigma allowed: 1.5 times the Gauss-Hermite nodes
    # (numpy's hermgauss is finite to ~360 nodes; the whole-plane form, cheap)
    one = ex.inv_sum_mean_link(1 / 900, 3.0, height_m=10.0, shadowing_db=20.0)
    ex._plane_shadow_unit.cache_clear()
    monkeypatch.setattr(ex, "_GH_PER_DB", 1.5 * ex._GH_PER_DB)
    more = ex.inv_sum_mean_link(1 / 900, 3.0, height_m=10.0, shadowing_db=20.0)
    ex._plane_shadow_unit.cache_clear()
    assert more == pytest.approx(one, rel=REFINE_RTOL)


def test_conditional_mean_tends_to_the_plane_as_blockage_vanishes():
    """beta -> 0: the LOS nodes fill the plane (mu -> inf) and E[1/A | A > 0] -> Lemma 3 with
    heights: a continuity check between the two branches of inv_sum_mean_link."""
    plane = ex.inv_sum_mean_plane_heights(1 / 900, 4.0, 10.0)
    weak = ex.inv_sum_mean_link(1 / 900, 4.0, height_m=10.0, blockage_per_m=1e-5)
    assert weak == pytest.approx(plane, rel=1e-3)


@pytest.mark.parametrize("kw, field", [(dict(height_m=-1.0), "height_m"),
                                       (dict(blockage_per_m=math.inf), "blockage_per_m"),
                                       (dict(r_min=10.0, r_max=5.0), "r_max"),
                                       (dict(shadowing_db="6"), "shadowing_db")])
def test_bad_arguments_are_one_line(kw, field):
    with pytest.raises(InputError) as exc:
        ex.inv_sum_mean_link(1 / 900, 3.0, **kw)
    assert exc.value.field == field and "\n" not in str(exc.value)
