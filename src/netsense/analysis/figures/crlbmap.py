"""The CRLB map figure: sqrt(CRLB) of a fixed deployment over target positions, log colours."""

from __future__ import annotations

import json
import math

import numpy as np

# The figure draws at most this many cells per axis (a stride over larger grids): more cells than
# screen pixels add memory and time, not detail.
PLOT_MAX_CELLS = 2000


def plot_crlb_map(ds, path_png=None, *, title: str | None = None):
    """Heat map of sqrt(CRLB) [m], log colour scale, with TX/RX sites; returns the figure.

    Non-finite grid values (sites, singular FIM) are drawn in grey, not coloured. The colour
    scale starts at the 1st percentile of the finite RMSE (the few cells next to a site go down
    to ~0 and would otherwise take most of the colours; the colour bar's arrow marks the
    clipping); thin white contours mark whole decades. Grids above PLOT_MAX_CELLS per axis are
    drawn from every k-th point.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.transforms import offset_copy
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    k = max(1, math.ceil(max(ds.sizes["x"], ds.sizes["y"]) / PLOT_MAX_CELLS))
    x = ds["x"].values[::k]
    y = ds["y"].values[::k]
    rmse = ds["rmse_m"].values[::k, ::k]
    layout = json.loads(ds.attrs["layout"])
    # sites as drawn on the ground plane: [x, y] of [x, y] or [x, y, z] points
    tx = np.asarray(layout["tx"], float).reshape(len(layout["tx"]), -1)[:, :2]
    rx = np.asarray(layout["rx"], float).reshape(len(layout["rx"]), -1)[:, :2]

    def edges(c):  # cell edges of the grid points [m]
        h = (c[1] - c[0]) if len(c) > 1 else 1.0
        return np.concatenate([c - h / 2, [c[-1] + h / 2]])

    xe, ye = edges(x), edges(y)
    aspect = (ye[-1] - ye[0]) / (xe[-1] - xe[0])
    ax_w = 7.5
    ax_h = min(10.0, max(0.4, ax_w * aspect))
    fig, ax = plt.subplots(figsize=(ax_w + 2.2, ax_h + 1.5))
    ax.set_facecolor("0.75")  # masked cells (sites, singular FIM) show this grey background
    good = np.isfinite(rmse) & (rmse > 0)
    cax = make_axes_locatable(ax).append_axes("right", size=0.22, pad=0.15)
    if good.any():
        vals = rmse[good]
        lo, hi = float(np.percentile(vals, 1.0)), float(vals.max())
        if not hi > lo:
            lo, hi = lo / 2, hi * 2
        base = plt.get_cmap("viridis")
        cmap = base.with_extremes(bad=(0.0, 0.0, 0.0, 0.0), under=base(0.0))
        norm = LogNorm(vmin=lo, vmax=hi)
        masked = np.ma.masked_where(~good, rmse)
        # a regular grid: imshow; large grids were strided to <= PLOT_MAX_CELLS cells per axis
        mesh = ax.imshow(masked, cmap=cmap, norm=norm, origin="lower", interpolation="nearest",
                         extent=(xe[0], xe[-1], ye[0], ye[-1]))
        levels = 10.0 ** np.arange(np.ceil(np.log10(lo)), np.floor(np.log10(hi)) + 1)
        if len(levels) and len(x) > 1 and len(y) > 1:
            cs = ax.contour(x, y, masked, levels=levels, colors="white", linewidths=0.7, alpha=0.8)
            ax.clabel(cs, fmt=lambda v: f"{v:g} m", fontsize=8)
        cb = fig.colorbar(mesh, cax=cax, extend="min" if vals.min() < lo else "neither")
        cb.set_label("RMSE sqrt(CRLB) [m]")
        decades = math.log10(hi / lo)
        subs = (1, 2, 5) if decades <= 3 else (1, 3) if decades <= 5 else (1,)
        ticks = [m * 10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                 for m in subs if lo <= m * 10.0**k <= hi]
        if len(ticks) >= 2:
            cb.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    else:
        cax.set_axis_off()
        ax.text(0.5, 0.5, "no finite CRLB on this grid", ha="center", va="center",
                transform=ax.transAxes)
    ms = 55 if len(tx) + len(rx) <= 30 else 38
    ax.scatter(tx[:, 0], tx[:, 1], marker="^", s=ms, c="tab:red", edgecolors="black",
               linewidths=0.8, label=f"TX ({len(tx)})", zorder=3)
    ax.scatter(rx[:, 0], rx[:, 1], marker="o", s=ms * 0.8, c="white", edgecolors="black",
               linewidths=0.9, label=f"RX ({len(rx)})", zorder=3)
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    # legend under the axes, right-aligned, on the row of the x label: it hides no map cells
    below = offset_copy(ax.transAxes, fig=fig, y=-0.21, units="inches")
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.0), bbox_transform=below, ncol=2,
              frameon=False, fontsize=9, handletextpad=0.3, columnspacing=1.2)
    if title is None:
        a = ds.attrs
        title = (f"CRLB map: {a.get('name') or 'layout'}   $M_t$ = {a['M_t']}, $M_r$ = {a['M_r']}, "
                 f"$\\rho_s$ = {a['rho_s_db']:g} dB, $\\gamma$ = {a['gamma']:g}")
    ax.set_title(title, fontsize=11)
    if path_png is not None:
        fig.savefig(path_png, dpi=130, format="png", bbox_inches="tight", pad_inches=0.15)
        plt.close(fig)
    return fig
