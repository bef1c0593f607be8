"""GSFE figures and the gamma-surface CSV, drawn from results.json alone (so a figure can be redrawn later)."""
from __future__ import annotations

import csv

import numpy as np

from pylmp.analysis import plotting

# Ni, weak-beam TEM of dissociated dislocations: C. B. Carter and S. M. Holmes, Phil. Mag. 35, 1161 (1977)
NI_ISF_MEASURED_MJ_M2 = 125.0
NI_ISF_BAND_MJ_M2 = 10.0  # half width of the band drawn on the figure: the spread of reported values, not an error bar


def plot_pure(summary, path) -> None:
    """Left: the 112 twinning path; right: the 110 path. Solid: periodic (tilted) cell, dashed: slab."""
    fig, (ax112, ax110) = plotting.figure(ncols=2, width=5.5)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        for construction, style in (("periodic", "o-"), ("slab", "x--")):
            for ax, p in ((ax112, "112"), (ax110, "110")):
                c = res["curves"][f"{construction}/{p}"]
                label = None  # legend on the left panel only: one entry per potential and construction
                if p == "112":
                    label = (f"{name}: isf {res['gamma_isf_mJ_m2']:.0f}, usf {res['gamma_usf_mJ_m2']:.0f} mJ/m^2"
                             if construction == "periodic" else f"{name} (slab)")
                ax.plot(c["disp_bp"], c["gamma_mJ_m2"], style, color=colors[name], ms=3, lw=1, label=label)
    dft = next((res["dft"] for res in summary.values() if "dft" in res), None)
    if dft:  # the faults at the stage ends: isf at 1 b_p, esf at 2, the 3-plane twin (two boundaries) at 3
        at = {"isf": (1.0, 1.0), "esf": (2.0, 1.0), "tb": (3.0, 2.0)}
        pts = [(at[f][0], at[f][1] * g) for f, g in dft["gamma_mJ_m2"].items()]
        ax112.plot(*zip(*pts), "k*", ms=9, zorder=5, label=f"DFT ({dft['source'].split(': ', 1)[1]})")
    for ax in (ax112, ax110):
        lo, hi = NI_ISF_MEASURED_MJ_M2 - NI_ISF_BAND_MJ_M2, NI_ISF_MEASURED_MJ_M2 + NI_ISF_BAND_MJ_M2
        ax.axhspan(lo, hi, color="0.8", alpha=0.6, label="Ni measured isf ~125 (Carter & Holmes 1977)")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("gamma (mJ/m^2)")
        ax.grid(alpha=0.3)
    ax112.set_xlabel("cumulative shift along [11-2] (b_p = a/sqrt(6)); one more plane per b_p")
    ax112.set_title("(111) twinning path: usf, isf | utf, esf | 3-plane twin")
    ax110.set_xlabel("shift along [1-10] (b_p); a/sqrt(2) = sqrt(3) b_p")
    ax110.set_title("(111) full slip along <110>")
    # below the panels: inside, the entries of four or more potentials hide the curves
    ax112.legend(fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.16), ncol=2, frameon=False)
    plotting.save(fig, path)


def write_surface_csv(surfaces: dict, path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["potential", "disp_x_A", "disp_y_A", "gamma_mJ_m2"])
        for name, gs in surfaces.items():
            for y, row in zip(gs["disp_y_A"], gs["gamma_mJ_m2"]):
                for x, g in zip(gs["disp_x_A"], row):
                    writer.writerow([name, x, y, g])


def plot_surface(surfaces: dict, path) -> None:
    """Heat map per potential over the in-plane cell; lines: the <112> and <110> paths, and the partials' route."""
    fig, axes = plotting.figure(ncols=len(surfaces), width=4.2, height=5.5)
    for ax, (name, gs) in zip(axes, surfaces.items()):
        x, y, g = np.array(gs["disp_x_A"]), np.array(gs["disp_y_A"]), np.array(gs["gamma_mJ_m2"])
        b110, bp = gs["b110_A"], gs["b_p_A"]
        mesh = ax.contourf(x, y, g, levels=30, cmap="viridis")
        ax.plot(*np.meshgrid(x, y), "k.", ms=1.5, alpha=0.4)
        fig.colorbar(mesh, ax=ax, label="gamma (mJ/m^2)")
        ax.plot([0, 0], [0, 3 * bp], "w-", lw=3, clip_on=False, label="<112> path (x = 0)")
        ax.plot([0, b110], [0, 0], "r-", lw=3, clip_on=False, label="<110> path (y = 0)")
        ax.margins(0.03)
        ax.plot([0, 0, b110 / 2], [0, bp, 1.5 * bp], "w--", lw=1, label="two Shockley partials via the isf")
        ax.plot([0], [bp], "w*", ms=10, mec="k", label="isf")
        ax.set_aspect("equal")
        ax.set_xlabel("shift along [1-10] (A)")
        ax.set_ylabel("shift along [11-2] (A)")
        ax.set_title(f"{name}: (111) gamma surface\nmax {g.max():.0f}, isf {np.interp(bp, y, g[:, 0]):.0f} mJ/m^2", fontsize=9)
        ax.legend(fontsize=6, loc="upper right")
    plotting.save(fig, path)


def plot_alloy(summary, path) -> None:
    """gamma_isf and gamma_usf vs Ni at.%: mean +/- standard error, every sample faint."""
    fig, axes = plotting.figure(ncols=2, width=5.0)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        pts = res["alloy_points"]
        ni = [p["Ni_at_pct_actual"] for p in pts]
        for ax, q in zip(axes, ("isf", "usf")):
            ax.errorbar(ni, [p[q]["mean"] for p in pts], yerr=[p[q]["se"] for p in pts], fmt="o-", capsize=3,
                        color=colors[name], label=f"{name} (n = {', '.join(str(p[q]['n']) for p in pts)})")
            each = [(p["Ni_at_pct_actual"], s[q]) for p in pts for s in p["samples"]]
            ax.plot(*zip(*each), ".", color=colors[name], alpha=0.3)
    for ax, q in zip(axes, ("isf", "usf")):
        ax.set_xlabel("Ni (at.%, as placed)")
        ax.set_ylabel(f"gamma_{q} (mJ/m^2)")
        ax.grid(alpha=0.3)
        ax.invert_xaxis()
    lo, hi = NI_ISF_MEASURED_MJ_M2 - NI_ISF_BAND_MJ_M2, NI_ISF_MEASURED_MJ_M2 + NI_ISF_BAND_MJ_M2
    axes[0].axhspan(lo, hi, color="0.8", alpha=0.6, label="pure Ni measured ~125")
    axes[0].legend(fontsize=7)
    first = next(iter(summary.values()))
    fig.suptitle(f"(111) fault energies of random fcc alloys: mean +/- standard error over {first['realizations']} "
                 f"arrangements x {first['positions']} fault planes", fontsize=9)
    plotting.save(fig, path)


def plot_l12(summary, path) -> None:
    """L1_2 (111): the partials path 0 -> CISF -> APB -> SISF and the [11-2] line; solid periodic, dashed slab."""
    fig, axes = plotting.figure(ncols=2, width=5.5)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        for ax, p in zip(axes, ("partials", "112")):
            for construction, style in (("periodic", "o-"), ("slab", "x--")):
                c = res["curves"][f"{construction}/{p}"]
                label = (f"{name}: APB {res['gamma_apb_111_mJ_m2']:.0f}, SISF {res['gamma_sisf_mJ_m2']:.0f}, "
                         f"CISF {res['gamma_cisf_mJ_m2']:.0f}" if construction == "periodic" else f"{name} (slab)")
                ax.plot(c["disp_bp"], c["gamma_mJ_m2"], style, color=colors[name], ms=3, lw=1, label=label)
                if construction == "periodic":
                    for x, g, lab in zip(c["disp_bp"], c["gamma_mJ_m2"], c["label"]):
                        if lab:
                            ax.annotate(lab.upper(), (x, g), textcoords="offset points", xytext=(0, 6), fontsize=7, ha="center")
    for ax in axes:
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("gamma (mJ/m^2)")
        ax.set_xlabel("path length (b_p = a/sqrt(6))")
        ax.grid(alpha=0.3)
    axes[0].set_title("L1_2 (111): Shockley partials 0 -> CISF -> APB -> SISF")
    axes[1].set_title("L1_2 (111) along [11-2]: period 6 b_p (twice fcc)")
    axes[0].legend(fontsize=6)
    plotting.save(fig, path)
