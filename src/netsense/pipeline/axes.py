"""The swept axes of a sweep and of its cube: one table, every other place derives from it.

Each :class:`Axis` is one row: how the config names it (``sweep.<name>``), its units and long
name in the cube, how a value is parsed (``lam`` also takes ``1/900``), which of the network's
parameters it sets (:attr:`Axis.sets`: Theorem 2's M_t, M_r, rho_s_db, lam_t, lam_r, gamma),
and its *role*:

* ``shape``: its values are sampled: every value gets its own networks (a cell per value, the
  sampled blocks keyed by it). lam and gamma, and the link models (``height_m`` or
  ``height_t_m`` and ``height_r_m``, ``blockage_per_m``, ``shadowing_db``): optional axes
  (:attr:`Axis.default` 0) that set the sampler's own link parameters (:data:`LINK_PARAMS`), so
  that a cell samples exactly what a sampler entry with those values samples.
* ``scale``: it scales every sample exactly (S is linear in M_t M_r rho_s with full beam gain),
  so one sampled layout serves every value; the cube broadcasts the samples along it. M and
  rho_s. (A non-full beam model makes M_t shape its TX samples: the plan then samples each value,
  :meth:`netsense.pipeline.config.SweepConfig.sampled_M`.)

A *tied* axis (``M``, ``lam``) sets a parameter of both sides; its *separate* pair (``M_t`` and
``M_r``, ``lam_t`` and ``lam_r``) sets each side's own (:attr:`Axis.tied` names the tied axis a
separate one replaces). A sweep gives a tied axis or both of its pair. The rows' order is the
cube's dimension order. The config (keys, parsing, the tied/separate rule, the reference point),
the plan (cells over the shape axes), the cube (dims, coordinates, units), Theorem 2 and the
control means (over the network parameters), queries (``--where``), the slope fits and the
figures all read the axes from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..inputs import parse_density, parse_number

SHAPE, SCALE = "shape", "scale"
# Theorem 2's network parameters (eq. 26), which the axes set: per side (TX, RX) and shared.
NETWORK_PARAMS = ("M_t", "M_r", "rho_s_db", "lam_t", "lam_r", "gamma")
# The link models' parameters (netsense.core.links), fields of every sampler kind: a link axis
# sets them on the cell's sampler (its entry's sampler with the cell's values,
# netsense.pipeline.plan.Cell.sampled). Theorem 2 knows none of them.
LINK_PARAMS = ("height_t_m", "height_r_m", "blockage_per_m", "shadowing_db")


@dataclass(frozen=True)
class Axis:
    """One swept parameter: a row of the table.

    name : str
        Config key under ``sweep`` and cube dimension.
    units, long_name : str
        Cube attributes.
    role : str
        ``shape`` (sampled per value) or ``scale`` (an exact scaling of every sample).
    sets : tuple of str
        The network parameters (:data:`NETWORK_PARAMS`) it sets: both sides' for a tied axis;
        or the sampler's link parameters (:data:`LINK_PARAMS`) of a link axis.
    tied : str or None
        For one of a separate pair, the tied axis it replaces (with its partner).
    paper : float
        The value of Section III of [1] (the reference point of figures and studies, where the
        sweep has it).
    integer : bool
        Integer values (stored as int64).
    parse : callable(field, value) -> float
        Parses a typed value (config, ``--where``, ``plot.reference``).
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
    items : dict
        JSON schema of one value (the config schema's ``sweep.<name>`` is derived from it).
    description : str
        What ``sweep.<name>`` means, with its unit (the config reference shows it).
    default : float or None
        The value of a sweep that does not give the axis (it is then no cube dim); None: every
        sweep gives it (or, for a tied axis, its pair).
    factor : callable(values) -> ndarray, optional
        For a scale axis that sets no parameter of Theorem 2: the exact factor by which it
        multiplies every sample (and the closed form) at each value.
    """

    name: str
    units: str
    long_name: str
    role: str
    sets: tuple[str, ...]
    paper: float
    tied: str | None = None
    integer: bool = False
    parse: Callable[[str, object], float] = parse_number
    fit: str | None = None
    fit_label: str = ""
    fit_x: Callable[[np.ndarray], np.ndarray] | None = None
    theory: Callable[[float], float] | None = None
    plot_label: str = ""
    log_x: bool = False
    items: dict = field(default_factory=lambda: {"type": "number"})
    description: str = ""
    default: float | None = None
    factor: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def density(self) -> bool:
        """A density axis (shown as ``1/900`` in tables)."""
        return self.parse is parse_density


def _nonnegative(field: str, value) -> float:
    """A finite number >= 0 (a link axis: 0 is the paper's ideal link), else one line naming
    ``field``."""
    v = parse_number(field, value)
    if not v >= 0:
        raise InputError(field, value, "must be a finite number >= 0 (0 = the paper's ideal link)")
    return v


def _log_product(v):
    return 2.0 * np.log(np.asarray(v, float))  # log(x_t x_r) = 2 log x with x_t = x_r = x


def _log(v):
    return np.log(np.asarray(v, float))


def _log_db(v):
    return np.log(10.0) * np.asarray(v, float) / 10.0  # log rho_s (linear) from dB


def _half_gamma(g):
    return -g / 2.0  # eq. (26): the bound scales as (lam_t lam_r)^(-gamma/2)


def _minus_one(g):
    return -1.0  # eq. (26): the bound scales as 1/(M_t M_r rho_s)


COUNTS = {"type": "integer", "minimum": 1}
NONNEGATIVE = {"type": "number"}  # >= 0: the axis's parse says so in one line naming it
DENSITIES = {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                       {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*/\s*[0-9.eE+-]+\s*$"}]}


# The table, in the cube's dimension order. eq. (26) is -1 in log M_t, log M_r and log rho_s,
# -gamma/2 in log lam_t and in log lam_r (a tied axis: -1 and -gamma/2 against the product).
AXES_TABLE = (
    Axis("M", "1", "antennas per TX and per RX (M_t = M_r = M)", SCALE, ("M_t", "M_r"), 4,
         integer=True, fit="M", fit_label="log(M_t M_r)", fit_x=_log_product, theory=_minus_one,
         plot_label="antennas per node $M = M_t = M_r$", log_x=True,
         items=COUNTS,
         description='Antennas per node, M_t = M_r = M [count]. Tied; or give both M_t and M_r instead.'),
    Axis("M_t", "1", "antennas per TX", SCALE, ("M_t",), 4, tied="M", integer=True, fit="M_t",
         fit_label="log M_t", fit_x=_log, theory=_minus_one, plot_label="TX antennas $M_t$",
         log_x=True,
         items=COUNTS,
         description='Antennas per TX M_t [count]; with M_r, instead of M.'),
    Axis("M_r", "1", "antennas per RX", SCALE, ("M_r",), 4, tied="M", integer=True, fit="M_r",
         fit_label="log M_r", fit_x=_log, theory=_minus_one, plot_label="RX antennas $M_r$",
         log_x=True,
         items=COUNTS,
         description='Antennas per RX M_r [count]; with M_t, instead of M.'),
    Axis("rho_s_db", "dB", "normalized SNR rho_s", SCALE, ("rho_s_db",), 120.0, fit="rho_s",
         fit_label="log rho_s", fit_x=_log_db, theory=_minus_one,
         plot_label=r"normalized SNR $\rho_s$ [dB]",
         description='Normalized SNR rho_s [dB].'),
    Axis("lam", "m^-2", "TX and RX density (lam_t = lam_r = lam)", SHAPE, ("lam_t", "lam_r"),
         1.0 / 900.0, parse=parse_density, fit="lam", fit_label="log(lam_t lam_r)",
         fit_x=_log_product, theory=_half_gamma,
         plot_label=r"density $\lambda = \lambda_t = \lambda_r$ [m$^{-2}$]", log_x=True,
         items=DENSITIES,
         description='Node density lam_t = lam_r [per m^2]; a fraction like "1/900" is '
                     'accepted. Tied; or give both lam_t and lam_r instead.'),
    Axis("lam_t", "m^-2", "TX density", SHAPE, ("lam_t",), 1.0 / 900.0, tied="lam",
         parse=parse_density, fit="lam_t", fit_label="log lam_t", fit_x=_log,
         theory=_half_gamma, plot_label=r"TX density $\lambda_t$ [m$^{-2}$]", log_x=True,
         items=DENSITIES,
         description='TX density lam_t [per m^2]; with lam_r, instead of lam. A fraction like '
                     '"1/900" is accepted.'),
    Axis("lam_r", "m^-2", "RX density", SHAPE, ("lam_r",), 1.0 / 900.0, tied="lam",
         parse=parse_density, fit="lam_r", fit_label="log lam_r", fit_x=_log,
         theory=_half_gamma, plot_label=r"RX density $\lambda_r$ [m$^{-2}$]", log_x=True,
         items=DENSITIES,
         description='RX density lam_r [per m^2]; with lam_t, instead of lam. A fraction like '
                     '"1/900" is accepted.'),
    Axis("gamma", "1", "path-loss exponent", SHAPE, ("gamma",), 2.5,
         plot_label=r"path-loss exponent $\gamma$",
         items={"type": "number", "exclusiveMinimum": 0},
         description='Path-loss exponent gamma [-]; > 2 for the plane sampler and the closed forms.'),
    # The link models (netsense.core.links): optional shape axes (default 0, the paper's ideal
    # link: a sweep without them has no such dim). A cell samples its entry's sampler with the
    # cell's values set, bit for bit the sampler entry with those values; no slope is fitted
    # along them.
    Axis("height_m", "m", "antenna height of every TX and RX (h_t = h_r = h)", SHAPE,
         ("height_t_m", "height_r_m"), 0.0, parse=_nonnegative, default=0.0,
         plot_label="antenna height $h = h_t = h_r$ [m]", items=NONNEGATIVE,
         description='Antenna height h of every TX and RX above the target\'s ground plane, '
                     'h_t = h_r = h [m]; 0 is the paper\'s plane. Optional (default 0, no dim); '
                     'or give both height_t_m and height_r_m instead. Not with the same key in a '
                     'sampler entry.'),
    Axis("height_t_m", "m", "TX antenna height", SHAPE, ("height_t_m",), 0.0, tied="height_m",
         parse=_nonnegative, default=0.0, plot_label="TX antenna height $h_t$ [m]",
         items=NONNEGATIVE,
         description='TX antenna height h_t [m]; with height_r_m, instead of height_m. '
                     'Optional (default 0).'),
    Axis("height_r_m", "m", "RX antenna height", SHAPE, ("height_r_m",), 0.0, tied="height_m",
         parse=_nonnegative, default=0.0, plot_label="RX antenna height $h_r$ [m]",
         items=NONNEGATIVE,
         description='RX antenna height h_r [m]; with height_t_m, instead of height_m. '
                     'Optional (default 0).'),
    Axis("blockage_per_m", "m^-1", "blockage beta (LOS probability exp(-beta r))", SHAPE,
         ("blockage_per_m",), 0.0, parse=_nonnegative, default=0.0,
         plot_label=r"blockage $\beta$ [m$^{-1}$]", items=NONNEGATIVE,
         description='Blockage beta [per m]: a leg of horizontal length r is line of sight with '
                     'probability exp(-beta r), NLOS legs unusable; 0 is none. Optional '
                     '(default 0, no dim). Not with the same key in a sampler entry.'),
    Axis("shadowing_db", "dB", "shadowing sigma (per-leg lognormal gain)", SHAPE,
         ("shadowing_db",), 0.0, parse=_nonnegative, default=0.0,
         plot_label=r"shadowing $\sigma$ [dB]", items=NONNEGATIVE,
         description='Shadowing sigma [dB] of a per-leg lognormal gain with median 0 dB; 0 is '
                     'none. Optional (default 0, no dim). Not with the same key in a sampler '
                     'entry.'),
)
AXES = {a.name: a for a in AXES_TABLE}
ORDER = tuple(AXES)  # the cube's order of its parameter dims
# A tied axis and its separate pair, from the table.
SEPARATE = {t.name: tuple(a for a in AXES_TABLE if a.tied == t.name)
            for t in AXES_TABLE if any(a.tied == t.name for a in AXES_TABLE)}
# The axes every sweep gives (a tied one or its pair): the paper's four, M, rho_s, lam, gamma.
PAPER_AXES = tuple(a for a in AXES_TABLE if a.tied is None and a.default is None)
# The slope along the diagonal of a (lam_t, lam_r) grid, against log(lam_t lam_r): a fit of its
# own (fits.py), named here so that tables and the summary know it.
LAM_PRODUCT_FIT = "lam_t*lam_r"
SAMPLER_DIM = "sampler"
TRIAL_DIM = "trial"
PARAM_DIMS = tuple(a.name for a in PAPER_AXES)  # the parameter dims of a tied paper cube
DIMS = (SAMPLER_DIM, *PARAM_DIMS, TRIAL_DIM)
# The axes that set a parameter of the network's antennas, of its densities, of its links.
M_DIMS = tuple(a.name for a in AXES_TABLE if set(a.sets) & {"M_t", "M_r"})
LAM_DIMS = tuple(a.name for a in AXES_TABLE if set(a.sets) & {"lam_t", "lam_r"})
LINK_DIMS = tuple(a.name for a in AXES_TABLE if set(a.sets) & set(LINK_PARAMS))
# Section III of [1]: the point figures and studies hold fixed by default, where on the axes.
PAPER_POINT = {a.name: a.paper for a in AXES_TABLE}


def sweep_axes(names) -> tuple[Axis, ...]:
    """The rows of the axes a sweep gives, in the cube's order."""
    return tuple(a for a in AXES_TABLE if a.name in names)


def param_dims(ds) -> tuple[str, ...]:
    """The parameter dims of a cube (or any selection of it, anything with ``dims``), in the
    cube's order."""
    return tuple(d for d in ORDER if d in ds.dims)


def fit_axes(dims) -> tuple[Axis, ...]:
    """The slope axes of a cube with parameter ``dims``, in slopes.csv order (the scaling axes
    first, rho_s before the antennas, then the densities)."""
    rank = {"rho_s_db": 0}
    fitted = [a for a in AXES_TABLE if a.fit is not None and a.name in dims]
    return tuple(sorted(fitted, key=lambda a: (a.role != SCALE, rank.get(a.name, 1))))


def sweep_schema() -> dict:
    """The config schema's ``sweep`` properties and required keys, from the table."""
    props = {a.name: {"type": "array", "minItems": 1, "uniqueItems": True, "items": a.items,
                      "description": a.description} for a in AXES_TABLE}
    required = [a.name for a in AXES_TABLE if a.tied is None and a.default is None
                and a.name not in SEPARATE]
    return {"properties": props, "required": required}


def scale_factor(cfg_values: dict, dims) -> np.ndarray | float:
    """The product of the extra exact factors (:attr:`Axis.factor`) of the scale axes a sweep
    gives, broadcast over ``dims``; 1.0 where none has one."""
    out = 1.0
    dims = list(dims)
    for d in dims:
        a = AXES[d]
        if a.role == SCALE and a.factor is not None:
            shape = [1] * len(dims)
            shape[dims.index(d)] = -1
            out = out * np.asarray(a.factor(np.asarray(cfg_values[d], float))).reshape(shape)
    return out
