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


def _log(v):
    return np.log(np.asarray(v, float))


def _log_db(v):
    return np.log(10.0) * np.asarray(v, float) / 10.0  # log rho_s (linear) from dB


def _half_gamma(g):
    return -g / 2.0  # eq. (26): the bound scales as (lam_t lam_r)^(-gamma/2)


M = Axis("M", "1", "antennas per TX and per RX (M_t = M_r = M)", integer=True, fit="M",
         fit_label="log(M_t M_r)", fit_x=_log_product, theory=lambda g: -1.0,
         plot_label="antennas per node $M = M_t = M_r$", log_x=True)
RHO_S = Axis("rho_s_db", "dB", "normalized SNR rho_s", fit="rho_s", fit_label="log rho_s",
             fit_x=_log_db, theory=lambda g: -1.0, plot_label=r"normalized SNR $\rho_s$ [dB]")
LAM = Axis("lam", "m^-2", "TX and RX density (lam_t = lam_r = lam)", parse=parse_density,
           fit="lam", fit_label="log(lam_t lam_r)", fit_x=_log_product, theory=_half_gamma,
           plot_label=r"density $\lambda = \lambda_t = \lambda_r$ [m$^{-2}$]", log_x=True)
GAMMA = Axis("gamma", "1", "path-loss exponent", plot_label=r"path-loss exponent $\gamma$")
# The paper's four network parameters as separate axes (a sweep gives M or both M_t and M_r,
# lam or both lam_t and lam_r): eq. (26) is -1 in log M_t and in log M_r, -gamma/2 in log lam_t
# and in log lam_r.
M_T = Axis("M_t", "1", "antennas per TX", integer=True, fit="M_t", fit_label="log M_t",
           fit_x=_log, theory=lambda g: -1.0, plot_label="TX antennas $M_t$", log_x=True)
M_R = Axis("M_r", "1", "antennas per RX", integer=True, fit="M_r", fit_label="log M_r",
           fit_x=_log, theory=lambda g: -1.0, plot_label="RX antennas $M_r$", log_x=True)
LAM_T = Axis("lam_t", "m^-2", "TX density", parse=parse_density, fit="lam_t",
             fit_label="log lam_t", fit_x=_log, theory=_half_gamma,
             plot_label=r"TX density $\lambda_t$ [m$^{-2}$]", log_x=True)
LAM_R = Axis("lam_r", "m^-2", "RX density", parse=parse_density, fit="lam_r",
             fit_label="log lam_r", fit_x=_log, theory=_half_gamma,
             plot_label=r"RX density $\lambda_r$ [m$^{-2}$]", log_x=True)
# The slope along the diagonal of a (lam_t, lam_r) grid, against log(lam_t lam_r): a fit of its
# own (fits.py), named here so that tables and the summary know it.
LAM_PRODUCT_FIT = "lam_t*lam_r"

PARAM_AXES = (M, RHO_S, LAM, GAMMA)  # the tied cube's order, after the sampler dimension
SEPARATE = {"M": (M_T, M_R), "lam": (LAM_T, LAM_R)}  # a tied axis and its separate pair
AXES = {a.name: a for a in (*PARAM_AXES, M_T, M_R, LAM_T, LAM_R)}
FIT_AXES = (RHO_S, M, LAM)  # the order of the rows of slopes.csv (tied cubes)
SAMPLER_DIM = "sampler"
TRIAL_DIM = "trial"
DIMS = (SAMPLER_DIM, *(a.name for a in PARAM_AXES), TRIAL_DIM)
PARAM_DIMS = tuple(a.name for a in PARAM_AXES)
M_DIMS = ("M", "M_t", "M_r")  # antenna axes: one layout serves them all with full beam gain
LAM_DIMS = ("lam", "lam_t", "lam_r")  # density axes: each value is sampled


def layout_axes(separate_M: bool = False, separate_lam: bool = False) -> tuple[Axis, ...]:
    """The cube's parameter axes, in order: the antenna axes (M, or M_t and M_r), rho_s, the
    density axes (lam, or lam_t and lam_r), gamma. Tied axes give :data:`PARAM_AXES`."""
    m = SEPARATE["M"] if separate_M else (M,)
    lam = SEPARATE["lam"] if separate_lam else (LAM,)
    return (*m, RHO_S, *lam, GAMMA)


CANONICAL = ("M", "M_t", "M_r", "rho_s_db", "lam", "lam_t", "lam_r", "gamma")


def param_dims(ds) -> tuple[str, ...]:
    """The parameter dims of a cube (or any selection of it, anything with ``dims``), in the
    cube's order (:func:`layout_axes`): :data:`PARAM_DIMS` for tied axes."""
    return tuple(d for d in CANONICAL if d in ds.dims)


def fit_axes(dims) -> tuple[Axis, ...]:
    """The slope axes of a cube with parameter ``dims``, in slopes.csv order."""
    order = ("rho_s_db", "M", "M_t", "M_r", "lam", "lam_t", "lam_r")
    return tuple(AXES[d] for d in order if d in dims)


# Section III of [1]: the point figures and studies hold fixed by default, where on the axes.
PAPER_POINT = {"M": 4, "rho_s_db": 120.0, "lam": 1.0 / 900.0, "gamma": 2.5,
               "M_t": 4, "M_r": 4, "lam_t": 1.0 / 900.0, "lam_r": 1.0 / 900.0}
