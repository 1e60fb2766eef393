"""Every study's table against numpy on small stored cubes (tests/analysis/conftest.py): each
ratio, its standard error and its 95% interval, recomputed from the stored trials with the
study's definitions written out here (tests/analysis/analysis_reference.py for the estimates).

Ratios of independent networks (different cells) get the delta method on independent means;
Section II-C read off a separate-axis cube pairs two points that share one side's trials, and
its interval is the delta method on the trial-paired estimates, which this test recomputes with
the per-trial covariance and shows to differ from the independent one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_reference import Z95, control_mean, plain, reported, theorem2

import netsense
from netsense.analysis.studies import STUDIES, StudyInput

# Means of 240 float64 values summed in another order; eq. (26) in float64.
REL_TOL = 1e-12
# The fold coefficients from np.cov against centred power sums: a few 1e-12 relative, through a
# ratio, a log and a division by Theorem 2.
CV_RTOL = 1e-9
# Hall's root by brentq (xtol 1e-15) against the closed-form inverse; the Student quantile of
# scipy.stats.t against scipy.special.stdtrit.
INTERVAL_RTOL = 1e-9
# An offset in dB near 0 is compared absolutely: 1e-9 relative of the means it comes from.
DB_ATOL = 1e-8
DB = 10.0 / math.log(10.0)

TIED_REF = {"M": 4, "rho_s_db": 120.0, "lam": 1 / 900, "gamma": 2.5}
SEP_REF = {"M_t": 1, "M_r": 1, "rho_s_db": 120.0, "lam_t": 1 / 900, "lam_r": 1 / 900,
           "gamma": 3.0}


@pytest.fixture(scope="module")
def tied(tied_cube):
    ds = netsense.open_cube(tied_cube.path)
    return tied_cube.cfg, ds, StudyInput(ds, TIED_REF, [])


@pytest.fixture(scope="module")
def separate(separate_cube):
    ds = netsense.open_cube(separate_cube.path)
    return separate_cube.cfg, ds, StudyInput(ds, SEP_REF, [])


def entry(cfg, label):
    k = cfg.sampler_labels.index(label)
    return cfg.samplers[k], cfg.beams[k]


def trials(ds, **sel):
    pt = ds.sel(**sel)
    return pt["crlb_m2"].values, pt["jensen_m2"].values


def estimates(cfg, ds, label, M_t, M_r, rho, lam_t, lam_r, gamma):
    """(reported E[eq. 18], plain E[eq. 18], plain E[eq. 23], Theorem 2) at one point."""
    sel = ({"M": M_t, "lam": lam_t} if "M" in ds.dims else
           {"M_t": M_t, "M_r": M_r, "lam_t": lam_t, "lam_r": lam_r})
    y, x = trials(ds, sampler=label, rho_s_db=rho, gamma=gamma, **sel)
    spec, beam = entry(cfg, label)
    mu = control_mean(spec, beam, M_t, M_r, rho, lam_t, lam_r, gamma)
    return reported(y, x, mu), plain(y), plain(x), theorem2(M_t, M_r, rho, lam_t, lam_r, gamma)


def approx(want, rel):
    return pytest.approx(want, rel=rel, nan_ok=True)


def check_ratio_row(row, r18, p18, p23, closed):
    """A ratio row (netsense.analysis.studies.common.ratio_rows) against the estimates."""
    rel = CV_RTOL if r18["method"] == "control_variate" else REL_TOL
    assert row["closed_form_m2"] == approx(closed, REL_TOL)
    assert row["crlb_method"] == r18["method"]
    assert row["crlb_mean_m2"] == approx(r18["mean"], rel)
    assert row["crlb_ratio"] == approx(r18["mean"] / closed, rel)
    assert row["crlb_ratio_se"] == approx(r18["sem"] / closed, rel)
    assert row["crlb_ratio_ci_low"] == approx(r18["lo"] / closed, INTERVAL_RTOL)
    assert row["crlb_ratio_ci_high"] == approx(r18["hi"] / closed, INTERVAL_RTOL)
    assert row["crlb_plain_ratio"] == approx(p18["mean"] / closed, REL_TOL)
    assert row["crlb_plain_ratio_ci_low"] == approx(p18["lo"] / closed, INTERVAL_RTOL)
    assert row["crlb_plain_ratio_ci_high"] == approx(p18["hi"] / closed, INTERVAL_RTOL)
    assert row["crlb_variance_reduction"] == approx(r18.get("variance_reduction", 1.0), rel)
    assert row["jensen_ratio"] == approx(p23["mean"] / closed, REL_TOL)
    assert row["jensen_ratio_se"] == approx(p23["sem"] / closed, REL_TOL)
    assert row["jensen_ratio_ci_low"] == approx(p23["lo"] / closed, INTERVAL_RTOL)
    assert row["jensen_ratio_ci_high"] == approx(p23["hi"] / closed, INTERVAL_RTOL)
    assert row["trials"] == p23["n"] and row["crlb_nonfinite"] == row["jensen_nonfinite"] == 0


def test_tightness_and_gap_are_the_ratios_at_the_reference_lam(tied):
    cfg, ds, inp = tied
    rows = STUDIES["tightness"].rows(inp)
    assert rows == STUDIES["gap"].rows(inp)
    assert [(r["sampler"], r["gamma"]) for r in rows] == [
        (s, g) for s in cfg.sampler_labels for g in cfg.gamma]
    methods = set()
    for row in rows:
        assert row["lam"] == TIED_REF["lam"] and row["M"] == 4 and row["rho_s_db"] == 120.0
        got = estimates(cfg, ds, row["sampler"], 4, 4, 120.0, TIED_REF["lam"], TIED_REF["lam"],
                        row["gamma"])
        check_ratio_row(row, *got)
        methods.add(row["crlb_method"])
        spec, _ = entry(cfg, row["sampler"])
        assert (row["K"], row["R_m"]) == ((8, "") if spec.kind == "plane" else ("", 90.0))
    assert methods == {"control_variate", "plain"}  # the codebook entry has no exact mean


def test_sec2c_ratio_se_and_interval_from_independent_networks(tied):
    cfg, ds, inp = tied
    rows = STUDIES["sec2c"].rows(inp)
    lam0, rho = TIED_REF["lam"], TIED_REF["rho_s_db"]
    assert [(r["sampler"], r["gamma"], r["M"]) for r in rows] == [
        (s, g, M) for s in cfg.sampler_labels for g in cfg.gamma for M in (1, 4)]
    for row in rows:
        M, g = row["M"], row["gamma"]
        assert row["lam_single"] == pytest.approx(M * lam0, rel=REL_TOL)
        mimo = estimates(cfg, ds, row["sampler"], M, M, rho, lam0, lam0, g)
        single = estimates(cfg, ds, row["sampler"], 1, 1, rho, M * lam0, M * lam0, g)
        for q, k in (("crlb", 0), ("jensen", 2)):
            a, b = mimo[k], single[k]
            rel = CV_RTOL if a["method"] == "control_variate" else REL_TOL
            r = a["mean"] / b["mean"]
            # two cells, two independent networks: var log r = (se1/m1)^2 + (se2/m2)^2
            se = 0.0 if M == 1 else r * math.hypot(a["sem"] / a["mean"], b["sem"] / b["mean"])
            assert row[f"{q}_mimo_m2"] == approx(a["mean"], rel)
            assert row[f"{q}_mimo_se"] == approx(a["sem"], rel)
            assert row[f"{q}_single_m2"] == approx(b["mean"], rel)
            assert row[f"{q}_single_se"] == approx(b["sem"], rel)
            assert row[f"{q}_ratio"] == approx(r, rel)
            assert row[f"{q}_ratio_ci_low"] == approx(r - Z95 * se, rel)
            assert row[f"{q}_ratio_ci_high"] == approx(r + Z95 * se, rel)
        theory = float(M * M) ** (g / 2 - 1)  # eq. (29): (M_t M_r)^(gamma/2 - 1)
        assert row["closed_ratio"] == pytest.approx(theory, rel=REL_TOL)
        assert row["closed_mimo_m2"] == pytest.approx(mimo[3], rel=REL_TOL)
        assert row["closed_single_m2"] == pytest.approx(single[3], rel=REL_TOL)
        assert row["eq30_holds"] is (M > 1)  # gamma > 2: the single-antenna network is better
        assert row["mc_single_better"] is (row["crlb_ratio_ci_low"] > 1.0)


def test_beams_offsets_from_full_gain_in_db(tied):
    from netsense.core.beam import gain_moment

    cfg, ds, _ = tied
    ref = TIED_REF
    decoy = {"sampler": "plane-K8-codebook", "quantity": "crlb", "axis": "M", "gamma": 2.5,
             "rho_s_db": 120.0, "lam": 1 / 900, "slope": -0.8, "ci_low": -0.9, "ci_high": -0.7}
    slopes = [dict(decoy, lam=4 / 900, slope=9.0), dict(decoy, quantity="jensen", slope=9.0),
              dict(decoy, gamma=4.0, slope=9.0), decoy]
    rows = STUDIES["beams"].rows(StudyInput(ds, ref, slopes))
    assert [(r["sampler"], r["M"]) for r in rows] == [(s, M) for s in cfg.sampler_labels
                                                      for M in (1, 4)]
    for row in rows:
        M, label = row["M"], row["sampler"]
        _, beam = entry(cfg, label)
        here = estimates(cfg, ds, label, M, M, ref["rho_s_db"], ref["lam"], ref["lam"],
                         ref["gamma"])
        base = estimates(cfg, ds, "plane-K8", M, M, ref["rho_s_db"], ref["lam"], ref["lam"],
                         ref["gamma"])
        d = 2 / ref["gamma"]
        penalty = 10 * math.log10((gain_moment(beam, M, d) / M**d) ** (-ref["gamma"] / 2))
        assert row["eq23_penalty_exact_db"] == pytest.approx(penalty, rel=REL_TOL, abs=1e-12)
        if label == "plane-K8-codebook":  # the one slope row of its sampler, axis and point
            assert (row["slope_M"], row["slope_M_ci_low"], row["slope_M_ci_high"]) == (
                -0.8, -0.9, -0.7)
        else:
            assert math.isnan(row["slope_M"])
        for q, k in (("crlb", 0), ("jensen", 2)):
            a = here[k]
            rel = CV_RTOL if a["method"] == "control_variate" else REL_TOL
            assert row[f"{q}_mean_m2"] == approx(a["mean"], rel)
            assert row[f"{q}_ci_low"] == approx(a["lo"], INTERVAL_RTOL)
            assert row[f"{q}_ci_high"] == approx(a["hi"], INTERVAL_RTOL)
            if beam == "full":
                off = h = 0.0
            else:  # against plane-K8 (full gain): independent networks, delta method on log
                b = base[k]
                off = DB * math.log(a["mean"] / b["mean"])
                h = Z95 * DB * math.hypot(a["sem"] / a["mean"], b["sem"] / b["mean"])
            assert row[f"{q}_offset_db"] == pytest.approx(off, rel=CV_RTOL, abs=DB_ATOL)
            assert row[f"{q}_offset_ci_low_db"] == pytest.approx(off - h, rel=CV_RTOL,
                                                                 abs=DB_ATOL)
            assert row[f"{q}_offset_ci_high_db"] == pytest.approx(off + h, rel=CV_RTOL,
                                                                  abs=DB_ATOL)


def test_deployments_against_the_ppp_in_db(tied):
    cfg, ds, inp = tied
    ref = TIED_REF
    rows = STUDIES["deployments"].rows(inp)
    assert [(r["sampler"], r["gamma"]) for r in rows] == [
        (s, g) for s in cfg.sampler_labels for g in cfg.gamma]
    for row in rows:
        g, label = row["gamma"], row["sampler"]
        spec, _ = entry(cfg, label)
        assert row["guard_m"] == float(getattr(spec, "guard_m", 0.0) or 0.0)
        assert (row["parameter"], row["value"]) == (("nearest", 8.0) if spec.kind == "plane"
                                                    else ("radius_m", 90.0))
        here = estimates(cfg, ds, label, 4, 4, ref["rho_s_db"], ref["lam"], ref["lam"], g)
        ppp = estimates(cfg, ds, "plane-K8", 4, 4, ref["rho_s_db"], ref["lam"], ref["lam"], g)
        closed = here[3]
        for q, k in (("crlb", 0), ("jensen", 2)):
            a, b = here[k], ppp[k]
            m, m0 = a["mean"] / closed, b["mean"] / closed
            se, se0 = a["sem"] / closed, b["sem"] / closed
            off = DB * math.log(m / m0)
            h = 0.0 if label == "plane-K8" else Z95 * DB * math.hypot(se / m, se0 / m0)
            assert row[f"{q}_ratio_to_theorem2"] == approx(m, CV_RTOL)
            assert row[f"{q}_vs_ppp_db"] == pytest.approx(off, rel=CV_RTOL, abs=DB_ATOL)
            assert row[f"{q}_vs_ppp_ci_low_db"] == pytest.approx(off - h, rel=CV_RTOL,
                                                                 abs=DB_ATOL)
            assert row[f"{q}_vs_ppp_ci_high_db"] == pytest.approx(off + h, rel=CV_RTOL,
                                                                  abs=DB_ATOL)


def test_asymmetric_ratio_view(separate):
    cfg, ds, inp = separate
    rows = [r for r in STUDIES["asymmetric"].rows(inp) if r["view"] == "ratio"]
    assert [(r["lam_t"], r["lam_r"]) for r in rows] == list(cfg.densities)
    for row in rows:
        lt, lr = row["lam_t"], row["lam_r"]
        r18, _, p23, closed = estimates(cfg, ds, "plane-K8", 1, 1, 120.0, lt, lr, 3.0)
        assert r18["method"] == "control_variate"
        assert row["lam_ratio"] == pytest.approx(lt / lr, rel=REL_TOL)
        for q, a in (("crlb", r18), ("jensen", p23)):
            rel = CV_RTOL if q == "crlb" else REL_TOL
            assert row[f"{q}_ratio"] == approx(a["mean"] / closed, rel)
            assert row[f"{q}_ratio_ci_low"] == approx(a["lo"] / closed, INTERVAL_RTOL)
            assert row[f"{q}_ratio_ci_high"] == approx(a["hi"] / closed, INTERVAL_RTOL)


def paired_log_ratio(za, zb):
    """log(mean a / mean b) with its interval from trial-paired samples: the trials of
    L = za / ma - zb / mb have the log ratio's variance times n (delta method with the
    covariance), and the interval is the kurtosis-adjusted t of a mean of the L."""
    from scipy import stats

    ma, mb, n = za.mean(), zb.mean(), za.size
    L = za / ma - zb / mb
    se = L.std(ddof=1) / math.sqrt(n)
    kappa = stats.kurtosis(L, fisher=False, bias=True)
    h = stats.t.ppf(0.975, 2 * n / (kappa - 1)) * se
    s = math.log(ma / mb)
    return s, h, math.sqrt((za.var(ddof=1) / ma**2 + zb.var(ddof=1) / mb**2) / n)


def test_asymmetric_sec2c_view_pairs_the_shared_side(separate):
    cfg, ds, inp = separate
    rows = [r for r in STUDIES["asymmetric"].rows(inp) if r["view"] == "sec2c"]
    # (M_t, M_r) = (2, 1) at lam_t 1/900 for each lam_r, (1, 2) at lam_r 1/900 for each lam_t,
    # (2, 2) at 1/900 for both
    assert sorted((r["M_t"], r["M_r"], r["lam_t"], r["lam_r"]) for r in rows) == sorted([
        (2, 1, 1 / 900, 1 / 900), (2, 1, 1 / 900, 2 / 900), (1, 2, 1 / 900, 1 / 900),
        (1, 2, 2 / 900, 1 / 900), (2, 2, 1 / 900, 1 / 900)])
    told_apart = 0
    for row in rows:
        Mt, Mr, lt, lr = row["M_t"], row["M_r"], row["lam_t"], row["lam_r"]
        st, sr = row["single_lam_t"], row["single_lam_r"]
        assert (st, sr) == pytest.approx((Mt * lt, Mr * lr), rel=REL_TOL)
        a = estimates(cfg, ds, "plane-K8", Mt, Mr, 120.0, lt, lr, 3.0)
        b = estimates(cfg, ds, "plane-K8", 1, 1, 120.0, st, sr, 3.0)
        shared = (lt == st) or (lr == sr)  # the same TX (RX) density: the same TX (RX) sides
        for q in ("crlb", "jensen"):
            if q == "crlb":
                za, zb = a[0]["z"], b[0]["z"]  # the corrected trials, paired as the raw ones
            else:
                za, zb = (trials(ds, sampler="plane-K8", rho_s_db=120.0, gamma=3.0, M_t=m_t,
                                 M_r=m_r, lam_t=x, lam_r=y)[1]
                          for m_t, m_r, x, y in ((Mt, Mr, lt, lr), (1, 1, st, sr)))
            s, h, se_independent = paired_log_ratio(za, zb)
            assert row[f"{q}_ratio"] == pytest.approx(math.exp(s), rel=CV_RTOL)
            assert row[f"{q}_ratio_ci_low"] == pytest.approx(math.exp(s - h), rel=INTERVAL_RTOL)
            assert row[f"{q}_ratio_ci_high"] == pytest.approx(math.exp(s + h), rel=INTERVAL_RTOL)
            rho = np.corrcoef(za, zb)[0, 1]
            if not shared:
                assert abs(rho) < 0.25, (row, q, rho)  # independent networks
            elif q == "jensen":  # 2 / (A_t A_r): a shared side correlates the trials strongly
                assert rho > 0.3, (row, rho)
                # ... and ignoring it would give another interval
                told_apart += abs(Z95 * se_independent - h) > 0.1 * h
        theory = float(Mt * Mr) ** (3.0 / 2 - 1)  # eq. (29)
        assert row["theory_ratio"] == pytest.approx(theory, rel=REL_TOL)
        assert row["consistent"] is (row["crlb_ratio_ci_low"] <= theory
                                     <= row["crlb_ratio_ci_high"])
        assert row["trials"] == cfg.trials
    assert told_apart == 4
