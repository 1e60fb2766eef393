"""What the studies share: the study record, the sampler entries of a cube, points, ratios.

Every number is a ratio of a Monte Carlo mean over trials to a closed form at the plot's
reference (M, rho_s): the scale c^2 / (M_t M_r eta) is common to both, so these ratios depend on
(sampler, lam, gamma) only. Means and intervals are the reported estimates of
:mod:`netsense.analysis.estimates` (E[eq. 18] by the control variate, E[eq. 23] plain); a
ratio of two independent means (networks with their own realizations) gets the delta-method
standard error of :func:`netsense.core.stats.ratio_se`.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ...core.samplers import SAMPLERS
from ...pipeline.axes import LAM_DIMS, M_DIMS, param_dims
from ...pipeline.cube import Entry, entries
from ..estimates import control_mean, estimate

QUANTITIES = {"crlb": "crlb_m2", "jensen": "jensen_m2"}
LABEL = {"crlb": "E[eq. (18)] / Theorem 2", "jensen": "E[eq. (23)] / Theorem 2"}


@dataclass(frozen=True)
class Analysis:
    """One value of the config's ``analyses``: what it writes, which workflow rule draws it and
    which sweeps it draws.

    Attributes
    ----------
    name : str
        Its name in ``analyses``; its report caption is ``workflow/report/<name>.rst``.
    files : tuple of str
        Its outputs in ``results/<run>/``, its figure (png) first.
    tied_only : bool
        Whether it draws the tied axes M and lam only: a sweep with M_t/M_r or lam_t/lam_r is
        refused (the asymmetric study draws those).
    rule : str
        The workflow rule that draws it: ``study`` (every study, in one job) or ``figure`` (Fig.
        1, ``netsense figure``).
    check : callable(cfg) -> None, optional
        Preconditions on the sweep; raises :class:`netsense.errors.InputError`.
    """

    name: str
    files: tuple[str, ...]
    tied_only: bool = field(kw_only=True)
    rule: str = field(default="study", kw_only=True)
    check: Callable | None = field(default=None, kw_only=True)

    @property
    def png(self) -> str:
        """Its figure file."""
        return self.files[0]


@dataclass(frozen=True)
class Study(Analysis):
    """One registered study: an :class:`Analysis` drawn by the ``study`` rule from a table.

    Attributes
    ----------
    files : (png, csv)
        Its figure and its table in ``results/<run>/``.
    rows : callable(StudyInput) -> list of dict
        Its table.
    figure : callable(rows, ref, path_png, title) -> None
        Draws its figure.
    findings_key : str or None
        Key of its rows in ``findings.json`` (None: the table is a view of the ratio rows).
    """

    rows: Callable
    figure: Callable
    findings_key: str | None = None


class StudyInput:
    """What a study reads: the cube, the reference point, the slopes, and the ratio rows
    (computed once however many studies use them)."""

    def __init__(self, ds, ref: dict, slopes=()):
        self.ds, self.ref, self.slopes = ds, ref, list(slopes)

    @functools.cached_property
    def control(self):
        """:func:`netsense.analysis.estimates.control_mean` of the cube."""
        return control_mean(self.ds)

    @functools.cached_property
    def ratios(self) -> list[dict]:
        """:func:`ratio_rows` of the cube at the reference (M, rho_s)."""
        return ratio_rows(self.ds, self.ref, self.control)

    @property
    def ratios_at_reference_lam(self) -> list[dict]:
        """The ratio rows at the reference lam."""
        return [r for r in self.ratios if math.isclose(r["lam"], float(self.ref["lam"]))]


def table_columns(entry: Entry) -> dict:
    """The sampler-parameter columns of a table row ({column: value or ""}), the union of every
    registered kind's ``TABLE_COLUMNS`` (``K`` for plane, ``R_m`` for disk)."""
    return {col: (entry.spec[param] if entry.kind == kind else "")
            for kind, cls in SAMPLERS.items() for col, param in cls.TABLE_COLUMNS.items()}


def point(ds, ref: dict, **over):
    """The cube at the reference point, with some coordinates overridden."""
    sel = {k: ref[k] for k in param_dims(ds)}
    sel.update(over)
    return ds.sel(sel)


def ratio_rows(ds, ref: dict, control=None) -> list[dict]:
    """E[eq. 18] / Theorem 2 and E[eq. 23] / Theorem 2 for every (sampler, lam, gamma) at the
    reference (M, rho_s), every (sampler, lam_t, lam_r, gamma) at the reference (M_t, M_r,
    rho_s) with separate axes, with 95% intervals: the reported estimates of
    :mod:`netsense.analysis.estimates` (``crlb_method`` says which; the plain E[eq. 18] ratio is
    beside it as ``crlb_plain_ratio``). Under blockage E[eq. 18] is infinite: its columns are NaN
    and E[eq. 23]'s mean is over the trials with both sides usable (``jensen_conditional`` True)."""
    control = control_mean(ds) if control is None else control
    rows = []
    dims = param_dims(ds)
    lam_dims = [d for d in dims if d in LAM_DIMS]
    m_dims = [d for d in dims if d in M_DIMS]
    for e in entries(ds):
        for lam in itertools.product(*(ds[d].values for d in lam_dims)):
            dens = dict(zip(lam_dims, lam, strict=True))
            for g in ds["gamma"].values:
                pt = point(ds, ref, sampler=e.label, **dens, gamma=g)
                pt = pt[[*QUANTITIES.values(), "closed_form_m2"]].load()  # read once
                closed = float(pt["closed_form_m2"])
                row = {"sampler": e.label, "kind": e.kind, **table_columns(e),
                       **{d: float(v) for d, v in dens.items()}, "gamma": float(g),
                       **{d: int(ref[d]) for d in m_dims}, "rho_s_db": float(ref["rho_s_db"]),
                       "closed_form_m2": closed}
                for q, v in QUANTITIES.items():
                    if q == "crlb" and not e.mean_finite:  # blockage: E[eq. 18] is infinite
                        row.update({f"crlb_{k}": math.nan for k in (
                            "mean_m2", "ratio", "ratio_se", "ratio_ci_low", "ratio_ci_high")})
                        row["crlb_method"] = "none: E[eq. 18] is infinite under blockage"
                        continue
                    est = estimate(pt, v, control)
                    r = est.over(closed)
                    if hasattr(est, "plain"):  # the control-variate estimate
                        p = est.plain.over(closed)
                        row[f"{q}_method"] = str(est.method)
                        row[f"{q}_variance_reduction"] = float(est.variance_reduction)
                        row[f"{q}_plain_ratio"] = float(p.mean)
                        row[f"{q}_plain_ratio_ci_low"] = float(p.ci_low)
                        row[f"{q}_plain_ratio_ci_high"] = float(p.ci_high)
                    row[f"{q}_mean_m2"] = float(est.mean)
                    row[f"{q}_ratio"] = float(r.mean)
                    row[f"{q}_ratio_se"] = float(r.sem)
                    row[f"{q}_ratio_ci_low"] = float(r.ci_low)
                    row[f"{q}_ratio_ci_high"] = float(r.ci_high)
                    row[f"{q}_nonfinite"] = int(est.n_nonfinite)
                    row["trials"] = int(est.n)
                if not e.mean_finite:
                    row["jensen_conditional"] = True  # over N_t, N_r >= 1 only
                rows.append(row)
    return rows
