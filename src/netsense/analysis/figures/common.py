"""What every figure shares: a headless pyplot, confidence bands, readable ticks, colours."""

from __future__ import annotations

import numpy as np

GAMMA_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
                "tab:pink", "tab:gray")
RATIO_TICKS = (0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def plt():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def lam_text(lam: float) -> str:
    """A density as ``1/900`` when it is one over a whole number, else 3 significant digits."""
    inv = 1.0 / lam
    return f"1/{inv:.0f}" if abs(inv - round(inv)) < 1e-6 * inv else f"{lam:.3g}"


def band(ax, x, rows, q, **kw):
    """A line of ``rows[q_ratio]`` with its 95% band (``q_ratio_ci_low`` .. ``_high``)."""
    y = np.array([r[f"{q}_ratio"] for r in rows])
    lo = np.array([r[f"{q}_ratio_ci_low"] for r in rows])
    hi = np.array([r[f"{q}_ratio_ci_high"] for r in rows])
    line, = ax.plot(x, y, **kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    return line


def plain_ticks(ax, values):
    """x ticks at ``values``, written plainly (a log axis otherwise shows decades only)."""
    import matplotlib.ticker

    v = sorted(set(float(x) for x in values))
    ax.set_xticks(v, [f"{x:g}" for x in v])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def ratio_yticks(ax):
    """Readable ratio ticks on a log y axis (the default shows only decades)."""
    import matplotlib.ticker

    lo, hi = ax.get_ylim()
    ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
    if len(ticks) >= 2:
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
