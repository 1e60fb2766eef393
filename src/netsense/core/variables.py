"""The per-trial variables of a sweep: one table, every other place derives from it.

A block of trials (:mod:`netsense.core.blocks`) returns each variable's geometric factor per
trial (``field``: eq. 18 or eq. 23 in units where c^2 / (M_t M_r eta) = 1); the cube stores the
variable (``name``, in its ``units``) as that factor times its scale at each (M_t, M_r, rho_s);
the blocks, the cube's arrays and attributes, the assembly, the integrity checks and the
queries read the variables from here. A variable may have a control variate: another variable
of the same trials whose exact mean is known (the cube's ``control_mean_m2``), by which its mean
is estimated (:mod:`netsense.core.stats`).

A new per-trial variable is a row here and the line of the kernel that computes its factor
(:func:`netsense.core.blocks.combine`).
"""

from __future__ import annotations

from dataclasses import dataclass

# How a factor becomes the variable: c^2 / (M_t M_r eta(rho_s)) times it (eq. 13: the FIM is
# linear in M_t M_r rho_s with full beam gain), so one layout serves every antenna count and SNR.
ERROR_SCALE = "error_scale"


@dataclass(frozen=True)
class Variable:
    """One per-trial variable.

    name : str
        The cube variable (``crlb_m2``).
    field : str
        The block's per-trial geometric factor it is made from (``g18``).
    units, long_name : str
        Cube attributes.
    scaling : str
        How the factor scales with the antennas and the SNR (:data:`ERROR_SCALE`).
    control : str or None
        The variable that is its control variate (same trials, exact mean known), or None.
    """

    name: str
    field: str
    units: str
    long_name: str
    scaling: str = ERROR_SCALE
    control: str | None = None


VARIABLES = (
    Variable("crlb_m2", "g18", "m^2", "CRLB tr(S^-1) on the target position, eq. (18)",
             control="jensen_m2"),
    Variable("jensen_m2", "g23", "m^2",
             "Jensen/Cauchy-Schwarz bound 2c^2/(M_r M_t eta A_t A_r), eq. (23)"),
)
BY_NAME = {v.name: v for v in VARIABLES}
NAMES = tuple(v.name for v in VARIABLES)  # the cube's per-trial arrays
FIELDS = tuple(v.field for v in VARIABLES)  # what a block returns per trial
CONTROLS = {v.name: v.control for v in VARIABLES if v.control}  # variable -> its control
