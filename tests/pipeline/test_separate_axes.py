"""Separate lam_t/lam_r and M_t/M_r sweep axes (config, plan, side blocks, cube, fits), without
the workflow: tied configs plan the cells they always planned; a separate-axis cube assembled
from real shards holds Theorem 2 (eq. 26 of [1]) and the trials of the direct side kernel; the
slope interval along lam_r, whose points share their TX sides, covers the exact slope."""

from __future__ import annotations

import contextlib
import copy
import io
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest

from netsense.analysis.fits import slope_with_ci
from netsense.core.blocks import sample_side, simulate_block
from netsense.core.samplers import PlaneSampler
from netsense.core.system import DEFAULT_SYSTEM, db_to_lin
from netsense.errors import InputError
from netsense.pipeline.assembly import assemble
from netsense.pipeline.config import load, load_yaml, resolve
from netsense.pipeline.cube import open_cube
from netsense.pipeline.plan import plan
from netsense.pipeline.shard import run_shard

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "tests" / "configs" / "asymmetric-smoke.yaml"
# Theorem 2 in the cube against an independent mpmath evaluation of eq. (26): float64 rounding
# of a few products and powers (the bar).
THEOREM2_RTOL = 1e-12
# Coverage of a 95% interval over independent repetitions: 4 binomial standard errors.
COVERAGE_SIGMAS = 4.0


def _doc(**sweep) -> dict:
    doc = load_yaml(SMOKE)
    doc["sweep"] = {"rho_s_db": [120], "gamma": [2.5], **sweep}
    doc.pop("plot", None)
    return doc


@pytest.mark.parametrize("sweep, field, rule", [
    ({"lam": [0.001], "lam_t": [0.001], "lam_r": [0.002], "M": [1]}, "sweep.lam_t",
     "give either sweep.lam"),
    ({"lam_t": [0.001], "M": [1]}, "sweep.lam_r", "required key is missing"),
    ({"lam_r": [0.001], "M": [1]}, "sweep.lam_t", "required key is missing"),
    ({"M": [1]}, "sweep.lam", "required key is missing"),
    ({"lam": [0.001], "M_t": [1, 4]}, "sweep.M_r", "required key is missing"),
    ({"lam": [0.001], "M": [1], "M_r": [2]}, "sweep.M_r", "give either sweep.M"),
    ({"lam_t": [0.001], "lam_r": ["1/0.x"], "M": [1]}, "sweep.lam_r[0]", "density"),
    ({"lam_t": [0.001, 0.001], "lam_r": [0.002], "M": [1]}, "sweep.lam_t", "not repeat"),
])
def test_bad_separate_axes_get_one_line(sweep, field, rule):
    with pytest.raises(InputError) as err:
        resolve(_doc(**sweep))
    line = str(err.value)
    assert line.startswith(f"{field}:") and rule in line and "\n" not in line, line


def test_reference_must_be_an_axis_of_the_sweep():
    doc = _doc(lam_t=[0.001], lam_r=[0.002], M=[1])
    doc["plot"] = {"reference": {"lam": 0.001}}
    with pytest.raises(InputError, match=r"^plot.reference.lam: .*not an axis of this sweep"):
        resolve(doc)


def test_the_tied_study_analyses_refuse_separate_axes():
    from netsense.analysis.runconfig import resolve_run_config

    doc = _doc(lam_t=[0.001], lam_r=[0.002], M=[1])
    doc["analyses"] = ["fig1"]
    with pytest.raises(InputError, match=r"^analyses\[0\]: got 'fig1'; .*asymmetric"):
        resolve_run_config(doc)


def test_layout_of_a_separate_sweep():
    cfg = load(SMOKE)
    assert cfg.dims == ("sampler", "M_t", "M_r", "rho_s_db", "lam_t", "lam_r", "gamma", "trial")
    assert cfg.M == () and cfg.lam == ()
    assert cfg.densities == [(1 / 900, 1 / 900), (1 / 900, 1 / 225), (1 / 225, 1 / 900),
                             (1 / 225, 1 / 225)]
    shards = plan(cfg)
    # every cell names its two sides; cells sharing a side density name the same directory
    tx = {(s.cell.param("lam_t"), s.cell.gamma): s.params(cfg)["sides"]["tx"]["dir"]
          for s in shards}
    for s in shards:
        assert s.params(cfg)["sides"]["tx"]["dir"] == tx[s.cell.param("lam_t"), s.cell.gamma]
    assert len(set(tx.values())) == 4  # 2 lam_t x 2 gamma


def _theorem2_mpmath(M_t, M_r, rho_s_db, lam_t, lam_r, gamma) -> float:
    """Eq. (26) in mpmath from its printed form, 2 c^2 / (M_t M_r eta) E[1/A_t] E[1/A_r] with
    Lemma 3's E[1/A] = Gamma(1 + gamma/2) (pi lam Gamma(1 - 2/gamma))^(-gamma/2) per side, with
    separate M_t, M_r, lam_t, lam_r. c^2 / eta at M_t = M_r = 1 is the package's error scale
    (eq. 2 and eq. 13; tests/core/test_system.py checks it); what the separate axes add (the
    antenna and density dependence) is recomputed here."""
    mpmath.mp.dps = 40
    g = mpmath.mpf(gamma)
    scale = mpmath.mpf(DEFAULT_SYSTEM.error_scale_m2(1.0, 1.0, db_to_lin(rho_s_db)))

    def lemma3(lam):  # E[1/A] over a PPP of density lam on the plane, Lemma 3 of [1]
        return mpmath.gamma(1 + g / 2) * (mpmath.pi * mpmath.mpf(lam) * mpmath.gamma(1 - 2 / g)
                                          ) ** (-g / 2)

    return float(2 * scale / (M_t * M_r) * lemma3(lam_t) * lemma3(lam_r))  # eq. (26)


@pytest.fixture(scope="module")
def separate_cube(tmp_path_factory):
    """The asymmetric smoke sweep with a codebook entry, assembled from real shard files
    (computed here, no Dask), and its config."""
    doc = load_yaml(SMOKE)
    doc["sampler"] = [{"kind": "plane", "nearest": 32},
                      {"kind": "plane", "nearest": 32, "beam": "codebook"}]
    doc["sweep"]["rho_s_db"] = [110, 120]
    doc["sweep"]["M_r"] = [1, 2, 4]
    doc["trials"] = 2000  # two blocks per cell
    cfg = resolve(copy.deepcopy(doc))
    tmp = tmp_path_factory.mktemp("sep")
    files, cells, logs = [], {}, io.StringIO()
    for sh in plan(cfg):
        out = tmp / "shards" / f"{sh.name}.npz"
        out.parent.mkdir(parents=True, exist_ok=True)
        run_shard(sh.params(cfg), out, tmp / "blocks" / sh.cell_id,
                  lambda: contextlib.nullcontext(None), log=logs)
        files.append(out)
        cells[out] = sh.cell.key
    cube = assemble(cfg, files, tmp / "cube.zarr", shard_cells=cells)
    return cfg, cube, logs.getvalue()


def test_each_side_block_is_sampled_once(separate_cube):
    cfg, _, log = separate_cube
    lines = [x for x in log.splitlines() if "side blocks:" in x]
    n_tx = sum(int(x.split("side blocks: ")[1].split(" TX")[0]) for x in lines)
    n_rx = sum(int(x.split(" TX and ")[1].split(" RX")[0]) for x in lines)
    # TX sides per (lam_t, gamma), per M_t for the codebook entry (it weights the TXs); RX
    # sides per (lam_r, gamma) only: the RX side of both entries has the same parameters
    per = len(cfg.gamma) * cfg.n_blocks
    assert n_tx == per * len(cfg.lam_t) * (1 + len(cfg.M_t))
    assert n_rx == per * len(cfg.lam_r)


def test_cube_holds_theorem2_and_the_side_kernel_trials(separate_cube):
    cfg, path, _ = separate_cube
    ds = open_cube(path)
    assert ds["crlb_m2"].dims == cfg.dims
    for a in ("M_t", "M_r", "lam_t", "lam_r"):
        assert ds[a].attrs["units"] and ds[a].attrs["long_name"]
    n = 0
    for Mt in cfg.M_t:
        for Mr in cfg.M_r:
            for rho in cfg.rho_s_db:
                for lt, lr in cfg.densities:
                    for g in cfg.gamma:
                        v = float(ds["closed_form_m2"].sel(M_t=Mt, M_r=Mr, rho_s_db=rho,
                                                           lam_t=lt, lam_r=lr, gamma=g))
                        ref = _theorem2_mpmath(Mt, Mr, rho, lt, lr, g)
                        assert math.isclose(v, ref, rel_tol=THEOREM2_RTOL), (Mt, Mr, lt, lr, g)
                        n += 1
    assert n == 3 * 2 * 2 * 4 * 2
    # a cell's trials are the direct kernel's, scaled by c^2 / (M_t M_r eta), bit for bit
    spec = PlaneSampler(nearest=32)
    lt, lr, g = 1 / 225, 1 / 900, 4.0
    blk = simulate_block(cfg.seed, spec, lt, g, 1, cfg.block_trials, lam_r=lr)
    got = ds["crlb_m2"].sel(sampler="plane-K32", M_t=4, M_r=2, rho_s_db=110, lam_t=lt,
                            lam_r=lr, gamma=g).values[cfg.block_trials:2 * cfg.block_trials]
    scale = DEFAULT_SYSTEM.error_scale_m2(4.0, 2.0, db_to_lin(110.0))
    assert np.array_equal(got, scale * blk["g18"])
    # the codebook entry weights the TX side of its M_t; the RX side is the full entry's
    cb = simulate_block(cfg.seed, spec, lt, g, 0, cfg.block_trials, lam_r=lr, beam="codebook",
                        M=4)
    got = ds["jensen_m2"].sel(sampler="plane-K32-codebook", M_t=4, M_r=1, rho_s_db=120,
                              lam_t=lt, lam_r=lr, gamma=g).values[:cfg.block_trials]
    assert np.array_equal(got, DEFAULT_SYSTEM.error_scale_m2(4.0, 1.0, db_to_lin(120.0))
                          * cb["g23"])


def test_query_selects_on_separate_axes(separate_cube):
    from netsense.analysis.query import summarize

    _, path, _ = separate_cube
    ds = open_cube(path)
    df = summarize(ds, "jensen_m2", ["mean"], where={"lam_t": "1/900", "M_r": "2",
                                                     "sampler": "plane-K32"})
    assert list(df.columns[:7]) == ["sampler", "M_t", "M_r", "rho_s_db", "lam_t", "lam_r",
                                    "gamma"]
    assert len(df) == 2 * 2 * 2 * 2  # M_t x rho x lam_r x gamma
    row = df[(df.M_t == 4) & (df.rho_s_db == 120) & (df.gamma == 2.5)
             & np.isclose(df.lam_r, 1 / 225)].iloc[0]
    x = ds["jensen_m2"].sel(sampler="plane-K32", M_t=4, M_r=2, rho_s_db=120, lam_t=1 / 900,
                            lam_r=1 / 225, gamma=2.5).values
    assert row["jensen_m2_mean"] == pytest.approx(x.mean(), rel=1e-12)
    with pytest.raises(InputError, match=r"^--where lam: .*axes are \['sampler', 'M_t'"):
        summarize(ds, "jensen_m2", ["mean"], where={"lam": "1/900"})


def test_fits_along_separate_axes(separate_cube):
    from netsense.analysis.fits import fit_slopes

    _, path, _ = separate_cube
    rows = fit_slopes(open_cube(path))
    axes = {r["axis"] for r in rows}
    assert axes == {"rho_s", "M_t", "M_r", "lam_t", "lam_r", "lam_t*lam_r"}
    for r in rows:
        if r["quantity"] == "closed_form" or r["axis"] in ("M_r", "rho_s") or (
                r["axis"] == "M_t" and r["sampler"] == "plane-K32"):
            assert r["slope"] == pytest.approx(r["theory"], abs=1e-9), r  # exact
    # the diagonal fit is against log(lam_t lam_r): -gamma/2 for the closed form
    diag = [r for r in rows if r["axis"] == "lam_t*lam_r" and r["quantity"] == "closed_form"]
    assert diag and all(r["slope"] == pytest.approx(-r["gamma"] / 2, abs=1e-9) for r in diag)


def test_lam_r_slope_interval_covers_with_shared_tx_sides():
    """The slope of log E[eq. 23] along lam_r at a fixed lam_t: its three points share their TX
    side trial by trial. On the plane sampler E[eq. 23] = 2 E[1/A_t] E[1/A_r] scales exactly as
    lam_r^(-gamma/2) (the sampler is scale-free), so the 95% interval must cover -gamma/2 in
    95% of independent repetitions. The same trials with the shared side's correlation
    ignored (a diagonal covariance) over-cover: the test can tell the two apart."""
    spec, gamma, lam_t, lam_r = PlaneSampler(nearest=8), 2.5, 1 / 900, (1 / 900, 1 / 225,
                                                                         1 / 56.25)
    reps, n = 600, 1000
    x = np.log(lam_r)
    c = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    # one block of reps x n independent networks per side density, cut into repetitions
    a_t = sample_side(1, spec, "tx", lam_t, gamma, 0, reps * n)["A"].reshape(reps, n)
    a_r = [sample_side(1, spec, "rx", lr, gamma, 0, reps * n)["A"].reshape(reps, n)
           for lr in lam_r]
    hit = hit_diag = 0
    for rep in range(reps):
        X = np.vstack([2.0 / (a_t[rep] * a[rep]) for a in a_r])  # eq. (23) without c^2/eta
        s, lo, hi, _ = slope_with_ci(x, X=X)
        hit += lo <= -gamma / 2 <= hi
        w = c / X.mean(axis=1)
        se_diag = math.sqrt(float((w ** 2 * X.var(axis=1, ddof=1)).sum()) / n)
        hit_diag += abs(s + gamma / 2) <= 1.959963984540054 * se_diag
    band = COVERAGE_SIGMAS * math.sqrt(0.95 * 0.05 / reps)
    print(f"coverage {hit / reps:.3f}, ignoring the shared side {hit_diag / reps:.3f}, "
          f"band 0.95 +- {band:.3f}")
    assert abs(hit / reps - 0.95) <= band, (hit / reps, band)
    assert hit_diag / reps > 0.95 + band, hit_diag / reps  # ignoring the sharing is detectable


def test_plot_draws_a_separate_axis(separate_cube, tmp_path):
    from netsense.analysis.figures.plot import plot_cube

    _, path, _ = separate_cube
    ds = open_cube(path)
    where = {"sampler": "plane-K32", "M_t": "1", "M_r": "4", "rho_s_db": "120", "lam_t": "1/225",
             "gamma": "2.5"}
    got = plot_cube(ds, "lam_r", where, tmp_path / "p.png", var=("jensen_m2",))["series"]
    s = got["plane-K32"]
    assert np.allclose(s["x"], [1 / 900, 1 / 225], rtol=1e-12)
    want = [ds["jensen_m2"].sel(sampler="plane-K32", M_t=1, M_r=4, rho_s_db=120, lam_t=1 / 225,
                                lam_r=lr, gamma=2.5).values.mean() for lr in (1 / 900, 1 / 225)]
    assert np.allclose(s["jensen_m2_mean"], want, rtol=1e-12)
    assert (tmp_path / "p.png").stat().st_size > 10_000
    with pytest.raises(InputError,
                       match=r"^--x: got 'lam'; must be one of the swept axes \['M_t'"):
        plot_cube(ds, "lam", where, tmp_path / "q.png")


# ---- the tied and the separate paths: one table of cases both must pass ----------------------
# While both exist, a separate sweep with lam_t = lam_r and M_t = M_r must give the tied one's
# closed form, control mean and scale (the random streams differ by design: not compared).
# Every registered kind with its defaults, a guarded plane, a beam model, gamma <= 2 (no mean).
TIE_CASES = [
    pytest.param({"kind": k}, "full", 3.0, id=k)
    for k in ("plane", "disk", "matern", "thomas", "lattice")
] + [
    pytest.param({"kind": "plane", "nearest": 8, "guard_m": 5}, "full", 2.5, id="guarded"),
    pytest.param({"kind": "plane", "nearest": 8}, "codebook", 4.0, id="codebook"),
    pytest.param({"kind": "disk", "radius_m": 90}, "full", 2.0, id="gamma 2"),
]
TIE_RTOL = 1e-12  # the same products in float64; most are equal bit for bit


@pytest.mark.parametrize("entry, beam, gamma", TIE_CASES)
def test_separate_axes_at_equal_values_are_the_tied_sweep(entry, beam, gamma):
    from netsense.core.expectations import g23_mean
    from netsense.core.mc import mc_point
    from netsense.core.samplers import sampler_from_mapping
    from netsense.pipeline.template import closed_form_grid, control_mean_grid, scales_m2

    spec = sampler_from_mapping(dict(entry), "sampler")
    lams, Ms = ["1/900", "4/900"], [1, 4]
    base = {"name": "tie", "seed": 1, "trials": 100, "block_trials": 100, "shard_blocks": 1,
            "sampler": [{**entry, "beam": beam}]}
    tied = resolve({**copy.deepcopy(base), "sweep": {"M": Ms, "rho_s_db": [110, 120],
                                                     "lam": lams, "gamma": [gamma]}})
    sep = resolve({**copy.deepcopy(base), "sweep": {"M_t": Ms, "M_r": Ms, "rho_s_db": [110, 120],
                                                    "lam_t": lams, "lam_r": lams,
                                                    "gamma": [gamma]}})
    m, ll = np.arange(2), np.arange(2)
    pairs = [
        (scales_m2(tied), scales_m2(sep)[m, m]),  # (M, rho)
        (closed_form_grid(tied), closed_form_grid(sep)[m, m][:, :, ll, ll]),  # (M, rho, lam, g)
    ]
    cm_t = control_mean_grid(tied, closed_form_grid(tied))  # (sampler, M, rho, lam, gamma)
    cm_s = control_mean_grid(sep, closed_form_grid(sep))[:, m, m][:, :, :, ll, ll]
    pairs.append((cm_t, cm_s))
    for a, b in pairs:
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=TIE_RTOL, equal_nan=True)
    known = np.isfinite(cm_t).all()
    assert known == (beam == "full" and gamma > 2 and spec.kind in ("plane", "disk"))
    for lam in (1 / 900, 4 / 900):
        a = g23_mean(spec, lam, gamma, beam)
        b = g23_mean(spec, lam, gamma, beam, lam_r=lam)
        assert (math.isnan(a) and math.isnan(b)) or b == pytest.approx(a, rel=TIE_RTOL)
    # netsense mc's point: the same Theorem 2 and exact E[eq. 23] either way
    kw = dict(gamma=gamma, rho_s_db=120.0, trials=4, block_trials=4, sampler=spec, beam=beam)
    one = mc_point(lam=1 / 900, M=4, **kw)
    two = mc_point(lam_t=1 / 900, lam_r=1 / 900, M_t=4, M_r=4, **kw)
    for key in ("closed_form_m2",):
        assert (key in one) == (key in two) == (gamma > 2)
        if key in one:
            assert two[key] == pytest.approx(one[key], rel=TIE_RTOL)
    assert ("exact_m2" in one["jensen_m2"]) == ("exact_m2" in two["jensen_m2"]) == known
    if known:
        assert two["jensen_m2"]["exact_m2"] == pytest.approx(one["jensen_m2"]["exact_m2"],
                                                             rel=TIE_RTOL)
