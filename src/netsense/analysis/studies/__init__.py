"""Studies on a cube beyond the slope fits, and their registry.

Each study is one module with a :class:`~.common.Study` record ``STUDY`` (its name, output
files, rows, figure, whether it draws the tied axes only, preconditions and findings key);
:data:`ANALYSES` lists them beside Fig. 1 (:data:`FIG1`, drawn by the workflow's figure rule),
and the config check, the workflow's outputs and ``findings.json`` are derived from the records.
Adding a study is one module, one entry here and its report caption
``workflow/report/<name>.rst`` (CONTRIBUTING.md, "Add a study").

* ``tightness`` (:mod:`.tightness`): E[eq. 18] / Theorem 2 and E[eq. 23] / Theorem 2 against gamma.
* ``gap`` (:mod:`.gap`): the same ratios against each sampler's parameter (R, K).
* ``sec2c`` (:mod:`.sec2c`): Section II-C, single-antenna against MIMO networks.
* ``beams`` (:mod:`.beams`): TX beam models against full gain.
* ``asymmetric`` (:mod:`.asymmetric`): sweeps with separate lam_t, lam_r (and M_t, M_r):
  E[eq. 18] / Theorem 2 over (lam_t / lam_r, gamma), and Section II-C as a view of the cube.
* ``deployments`` (:mod:`.deployments`): non-Poisson deployments and guard zones against the PPP.
* ``lawwindow`` (:mod:`.lawwindow`): the local slope against density under antenna heights and
  blockage, and where the paper's -gamma/2 holds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ...errors import InputError
from ...pipeline.axes import AXES, M_DIMS, param_dims
from ..fits import MC_FITS
from ..tables import write_rows
from . import asymmetric, beams, deployments, gap, lawwindow, sec2c, tightness
from .common import Analysis, Study, StudyInput

# Fig. 1's four panels, every sampler overlaid: drawn by the workflow's figure rule
# (`netsense figure`), not from a table.
FIG1 = Analysis("fig1", ("fig1.png", "fig1.pdf"), rule="figure", tied_only=True)

# The registry: name in the config's `analyses` -> what draws it. One line per analysis; the
# studies run in this order.
ANALYSES: dict[str, Analysis] = {a.name: a for a in (
    FIG1,
    tightness.STUDY,
    gap.STUDY,
    sec2c.STUDY,
    beams.STUDY,
    deployments.STUDY,
    asymmetric.STUDY,
    lawwindow.STUDY,
)}
STUDIES: dict[str, Study] = {name: a for name, a in ANALYSES.items() if a.rule == "study"}


def analysis_names() -> list[str]:
    """Every valid value of the config's ``analyses``."""
    return list(ANALYSES)


def check_config(cfg) -> None:
    """Check the config's ``analyses``: known names, and each analysis's preconditions.

    Raises :class:`InputError` with one line naming the value and the rule.
    """
    allowed = analysis_names()
    for i, name in enumerate(cfg.analyses):
        if name not in allowed:
            raise InputError(f"analyses[{i}]", name, f"must be one of {allowed}")
    separate = [k for k, on in (("M_t/M_r", cfg.separate_M), ("lam_t/lam_r", cfg.separate_lam))
                if on]
    for i, name in enumerate(cfg.analyses):
        if separate and ANALYSES[name].tied_only:
            raise InputError(f"analyses[{i}]", name, f"draws the tied axes sweep.M and sweep.lam; "
                             f"this sweep gives {' and '.join(separate)} (use analyses: "
                             "[asymmetric])")
    for name in cfg.analyses:
        if ANALYSES[name].check is not None:
            ANALYSES[name].check(cfg)


def selected(analyses, rule: str | None = None) -> list[Analysis]:
    """The registered analyses among ``analyses``, in registry order; with ``rule``, only those
    that workflow rule draws (``"study"``: the studies)."""
    return [a for name, a in ANALYSES.items() if name in analyses and (rule is None or a.rule == rule)]


def findings(inp: StudyInput, analyses, study_rows: dict | None = None) -> dict:
    """Headline numbers of a run (``findings.json``): ratios to Theorem 2 for every
    (sampler, lam, gamma) at the reference (M, rho_s); lam slopes of every sampler at the
    reference (M, rho_s); the rows of the selected studies that have a findings key."""
    study_rows = dict(study_rows or {})
    ds, ref = inp.ds, inp.ref
    m_dims = [d for d in param_dims(ds) if d in M_DIMS]
    lam_slopes = [r for r in inp.slopes if r["axis"] in MC_FITS
                  and all(r[d] == int(ref[d]) for d in m_dims)
                  and math.isclose(r["rho_s_db"], float(ref["rho_s_db"]))]
    out = {"reference": {k: (int(v) if AXES[k].integer else float(v)) for k, v in ref.items()},
           "trials": int(ds.sizes["trial"]), "samplers": [str(s) for s in ds["sampler"].values],
           "ratios": inp.ratios, "lam_slopes": lam_slopes}
    for s in selected(analyses, rule="study"):
        if s.findings_key:
            out[s.findings_key] = study_rows[s.name] if s.name in study_rows else s.rows(inp)
    return out


def run_studies(ds, ref: dict, slopes: list[dict], analyses, outdir, title: str = "") -> dict:
    """Write the table and figure of every selected study, and ``findings.json``."""
    outdir = Path(outdir)
    inp = StudyInput(ds, ref, slopes)
    written, rows_of = [], {}
    for s in selected(analyses, rule="study"):
        rows = rows_of[s.name] = s.rows(inp)
        png, csv = (outdir / n for n in s.files)
        s.figure(rows, ref, png, title=title)
        write_rows(rows, csv)
        written += [png, csv]
    f = findings(inp, analyses, rows_of)
    (outdir / "findings.json").write_text(json.dumps(f, indent=1))
    return {"written": [str(p) for p in [*written, outdir / "findings.json"]]}


__all__ = ["ANALYSES", "FIG1", "STUDIES", "Analysis", "Study", "StudyInput", "analysis_names",
           "check_config", "findings", "run_studies", "selected"]
