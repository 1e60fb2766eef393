"""The numbers Fig. 1 plots (netsense.analysis.figures.fig1.panel_stats: each panel's means and
95% bands, and the ratio panel's mean / Theorem 2) against numpy on a small stored cube
(tests/fixtures/cube-format2.zarr: plane K = 8, 48 trials per cell): E[eq. 23] the plain mean
and its standard error, E[eq. 18] the control-variate estimate written out here as a loop over
cross-fitting folds with np.cov and the sampler's exact E[eq. 23], Theorem 2 from eq. (26)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import netsense
from netsense.analysis.figures.fig1 import panel_stats
from netsense.core.closed_form import lemma3_inv_sum, theorem2_m2
from netsense.core.expectations import g23_mean
from netsense.core.samplers import PlaneSampler
from netsense.core.stats import CV_FOLDS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cube-format2.zarr"
REF = {"M": 4, "rho_s_db": 110.0, "lam": 1 / 900, "gamma": 2.5}
RTOL = 1e-12  # means of 48 float64 values summed in another order; eq. (26) in float64
CV_RTOL = 1e-9  # the fold coefficients from np.cov against centred sums: a few 1e-12 relative


def naive_cv(y, x, mu):
    """Cross-fitted control-variate trials: fold f corrected with cov/var from the other folds."""
    k = (np.arange(y.size) * CV_FOLDS) // y.size
    z = np.empty(y.size)
    for f in range(CV_FOLDS):
        c = np.cov(y[k != f], x[k != f])
        z[k == f] = y[k == f] - c[0, 1] / c[1, 1] * (x[k == f] - mu)
    return z


@pytest.mark.parametrize("dim", ["M", "lam", "gamma"])
def test_panel_stats_are_numpy_means_of_the_cube(dim):
    ds = netsense.open_cube(FIXTURE)
    st = panel_stats(ds, dim, REF, "plane-K8")
    assert list(st["x"]) == sorted(ds[dim].values.tolist()) and len(st["x"]) == 2
    for i, v in enumerate(st["x"]):
        p = {**REF, dim: v}
        pt = ds.sel(sampler="plane-K8", M=p["M"], rho_s_db=p["rho_s_db"], lam=p["lam"],
                    gamma=p["gamma"])
        y, x = pt.crlb_m2.values, pt.jensen_m2.values
        n = x.size
        closed = theorem2_m2(M_t=p["M"], M_r=p["M"], rho_s_db=p["rho_s_db"], lam_t=p["lam"],
                             lam_r=p["lam"], gamma=p["gamma"])  # eq. (26)
        assert st["closed_form"][i] == pytest.approx(float(closed), rel=RTOL)
        je = st["jensen"]
        assert je.mean[i] == pytest.approx(x.mean(), rel=RTOL)
        assert je.sem[i] == pytest.approx(x.std(ddof=1) / math.sqrt(n), rel=RTOL)
        assert je.ci_low[i] < je.mean[i] < je.ci_high[i]
        mu = closed * g23_mean(PlaneSampler(8), p["lam"], p["gamma"]) / (
            2 * lemma3_inv_sum(p["lam"], p["gamma"]) ** 2)  # exact E[eq. 23] of the sampler
        z = naive_cv(y, x, mu)
        cr = st["crlb"]
        assert cr.mean[i] == pytest.approx(z.mean(), rel=CV_RTOL)
        assert cr.sem[i] == pytest.approx(z.std(ddof=1) / math.sqrt(n), rel=CV_RTOL)
        assert cr.ci_low[i] < cr.mean[i] < cr.ci_high[i]
        # the ratio panel beneath plots mean / Theorem 2 and the band over it
        assert (cr.mean[i] / st["closed_form"][i]) == pytest.approx(z.mean() / closed,
                                                                   rel=CV_RTOL)
