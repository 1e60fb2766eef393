"""The estimator figure: the ML estimator's MSE against the CRLB (eq. 18) over rho_s."""

from __future__ import annotations

import math

import numpy as np

from ...core.stats import Z95


def plot_estimator(rows, path_png=None, *, title: str | None = None, site_distance_m=None):
    """Figure vs rho_s [dB], three panels; returns the figure.

    (a) MSE/CRLB on a log axis with 95% CI bars, the line MSE = CRLB, the closed-form initializer
    alone, and the fraction of trials not converged (grey bars, right axis); (b) the same ratio
    zoomed on a linear axis around 1 with a +-10% band; (c) RMSE [m] with sqrt(CRLB) and, if
    given, the mean target-site distance ``site_distance_m`` [m] for scale.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rho = np.array([r["rho_s_db"] for r in rows])
    ratio = np.array([r["ratio"] for r in rows])
    lo = np.array([r["ratio_ci95"][0] for r in rows])
    hi = np.array([r["ratio_ci95"][1] for r in rows])
    yerr = [ratio - np.maximum(lo, ratio * 1e-3), hi - ratio]
    init_ratio = np.array([r["init_ratio"] for r in rows])
    nonconv = 100.0 * np.array([r["nonconverged_fraction"] for r in rows])
    step = float(np.min(np.diff(np.sort(rho)))) if len(rho) > 1 else 5.0
    ml_style = dict(marker="o", ms=4, color="tab:blue", capsize=3)
    init_style = dict(marker="s", ms=4, ls=":", color="tab:orange", mfc="white")
    xlabel = r"normalized SNR $\rho_s$ [dB]"

    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(16.5, 5.0), constrained_layout=True)

    bars = a1.twinx()
    bars.bar(rho, nonconv, width=0.6 * step, color="0.6", alpha=0.35, zorder=0)
    bars.set_ylim(0, 100)
    bars.set_ylabel("trials not converged [%] (grey bars)", color="0.4")
    bars.tick_params(axis="y", colors="0.4")
    a1.set_zorder(bars.get_zorder() + 1)
    a1.patch.set_visible(False)
    a1.axhline(1.0, color="k", lw=1.0, ls="--", label="MSE = CRLB, eq. (18)")
    a1.errorbar(rho, ratio, yerr=yerr, label="ML (Levenberg-Marquardt), 95% CI", **ml_style)
    a1.plot(rho, init_ratio, label="closed-form initializer alone", **init_style)
    a1.set_yscale("log")
    a1.set_xlabel(xlabel)
    a1.set_ylabel(r"MSE / CRLB $=\ E\|\hat{d}-d_s\|^2 \,/\, \mathrm{tr}(S^{-1})$")
    a1.grid(True, which="both", alpha=0.3)
    handles, labels = a1.get_legend_handles_labels()
    handles.append(Patch(color="0.6", alpha=0.35))
    labels.append("trials not converged [%] (right axis)")
    a1.legend(handles, labels, fontsize=8, loc="upper right")
    a1.set_title("(a) efficiency: MSE / CRLB", fontsize=10)

    a2.axhspan(0.9, 1.1, color="tab:green", alpha=0.10, label=r"$\pm 10\%$ of the CRLB")
    a2.axhline(1.0, color="k", lw=1.0, ls="--", label="MSE = CRLB, eq. (18)")
    a2.errorbar(rho, ratio, yerr=yerr, label="ML, 95% CI", **ml_style)
    a2.set_ylim(0.8, 1.2)
    if (ratio < 0.8).any() or (ratio > 1.2).any():
        a2.text(0.02, 0.02, "points outside 0.8-1.2: see (a)", transform=a2.transAxes, fontsize=8,
                color="0.3")
    a2.set_xlabel(xlabel)
    a2.set_ylabel("MSE / CRLB (linear scale)")
    a2.grid(True, alpha=0.3)
    a2.legend(fontsize=8, loc="lower right")
    a2.set_title("(b) zoom on MSE / CRLB = 1", fontsize=10)

    rmse = np.array([r["rmse_m"] for r in rows])
    rlo = np.sqrt(np.maximum(np.array([r["mse_ci95_m2"][0] for r in rows]), 0.0))
    rhi = np.sqrt(np.array([r["mse_ci95_m2"][1] for r in rows]))
    a3.plot(rho, [r["crlb_rmse_m"] for r in rows], color="k", ls="--",
            label=r"$\sqrt{\mathrm{CRLB}}$, eq. (18)")
    a3.errorbar(rho, rmse, yerr=[rmse - np.maximum(rlo, rmse * 1e-3), rhi - rmse],
                label="ML, 95% CI", **ml_style)
    a3.plot(rho, [math.sqrt(r["init_mse_m2"]) for r in rows], label="closed-form initializer",
            **init_style)
    if site_distance_m is not None:
        a3.axhline(site_distance_m, color="tab:gray", lw=1.0, ls="-.",
                   label=f"mean target-site distance ({site_distance_m:.3g} m)")
    a3.set_yscale("log")
    sem_ratio = (hi - lo) / (2 * Z95)
    below = ratio < 1.0 - 3 * sem_ratio  # clearly below the bound (3 standard errors)
    if below.any():
        a3.annotate("ML below the bound: biased\n(error saturates at the network scale)",
                    (rho[below][0], rmse[below][0]), xytext=(0.03, 0.1), textcoords="axes fraction",
                    fontsize=8, color="0.3", arrowprops=dict(arrowstyle="->", color="0.5"))
    a3.set_xlabel(xlabel)
    a3.set_ylabel(r"RMSE $\sqrt{E\|\hat{d}-d_s\|^2}$ [m]")
    a3.grid(True, which="both", alpha=0.3)
    a3.legend(fontsize=8, loc="upper right")
    a3.set_title("(c) position error", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    if path_png is not None:
        fig.savefig(path_png, dpi=120, format="png")
        plt.close(fig)
    return fig
