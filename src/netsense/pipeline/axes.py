"""The swept axes of a sweep and of its cube: one definition each.

Each :class:`Axis` says how the config names it (``sweep.<name>``), its units and long name in
the cube, how a value is parsed (``lam`` also takes ``1/900``), what a log-log slope is fitted
against and what the theory predicts for it, and how a figure labels it. The config, the cube,
the queries, the fits and the figures read the axes from here; adding a swept axis starts here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..inputs import parse_density, parse_number


@dataclass(frozen=True)
class Axis:
    """One swept parameter.

    name : str
        Config key under ``sweep`` and cube dimension.
    units, long_name : str
        Cube attributes.
    integer : bool
        Integer values (stored as int64).
    parse : callable(field, value) -> float
        Parses a typed value (``--where``, ``plot.reference``).
    fit : str or None
        Name of the slope axis in slopes tables, or None if no slope is fitted along it.
    fit_label : str
        What the slope is against, e.g. ``log(M_t M_r)``.
    fit_x : callable(values) -> ndarray
        The regressor of the slope fit.
    theory : callable(gamma) -> float
        The slope the paper predicts.
    plot_label : str
        Matplotlib axis label with units.
    log_x : bool
        Log scale on a figure's x axis.
    """

    name: str
    units: str
    long_name: str
    integer: bool = False
    parse: Callable[[str, object], float] = parse_number
    fit: str | None = None
    fit_label: str = ""
    fit_x: Callable[[np.ndarray], np.ndarray] | None = None
    theory: Callable[[float], float] | None = None
    plot_label: str = ""
    log_x: bool = False


def _log_product(v):
    return 2.0 * np.log(np.asarray(v, float))  # log(x_t x_r) = 2 log x with x_t = x_r = x


def _log_db(v):
    return np.log(10.0) * np.asarray(v, float) / 10.0  # log rho_s (linear) from dB


M = Axis("M", "1", "antennas per TX and per RX (M_t = M_r = M)", integer=True, fit="M",
         fit_label="log(M_t M_r)", fit_x=_log_product, theory=lambda g: -1.0,
         plot_label="antennas per node $M = M_t = M_r$", log_x=True)
RHO_S = Axis("rho_s_db", "dB", "normalized SNR rho_s", fit="rho_s", fit_label="log rho_s",
             fit_x=_log_db, theory=lambda g: -1.0, plot_label=r"normalized SNR $\rho_s$ [dB]")
LAM = Axis("lam", "m^-2", "TX and RX density (lam_t = lam_r = lam)", parse=parse_density,
           fit="lam", fit_label="log(lam_t lam_r)", fit_x=_log_product, theory=lambda g: -g / 2.0,
           plot_label=r"density $\lambda = \lambda_t = \lambda_r$ [m$^{-2}$]", log_x=True)
GAMMA = Axis("gamma", "1", "path-loss exponent", plot_label=r"path-loss exponent $\gamma$")

PARAM_AXES = (M, RHO_S, LAM, GAMMA)  # the cube's order, after the sampler dimension
AXES = {a.name: a for a in PARAM_AXES}
FIT_AXES = (RHO_S, M, LAM)  # the order of the rows of slopes.csv
SAMPLER_DIM = "sampler"
TRIAL_DIM = "trial"
DIMS = (SAMPLER_DIM, *(a.name for a in PARAM_AXES), TRIAL_DIM)
PARAM_DIMS = tuple(a.name for a in PARAM_AXES)

# Section III of [1]: the point figures and studies hold fixed by default, where on the axes.
PAPER_POINT = {"M": 4, "rho_s_db": 120.0, "lam": 1.0 / 900.0, "gamma": 2.5}
