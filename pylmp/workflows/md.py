"""Finite-temperature structure: NVT or NPT molecular dynamics, then RDF, bond angles, coordination, a(T), alpha.

Template: templates/md.lmp.j2. One task per temperature: Maxwell-Boltzmann velocities (seed from material.seed),
optionally a disordered start (melt_K > 0: the crystal is molten at melt_K for melt_steps, then the equilibration
ramps the thermostat from melt_K down to the temperature: a liquid above the melting point, a quenched glass or
polycrystal below it),
Nose-Hoover NVT (fixed cell) or NPT (zero pressure; iso cell for pure cubic crystals and L12, aniso for random
alloys: structures.relax_mode), `equilibration_steps` that are thrown away, then `steps` of production during which
LAMMPS averages T, p, V, pe and the box lengths (fix ave/time every `sample_every` steps) and writes the trajectory
every `dump_every` steps (id type element x y z: it opens in OVITO as it is).

The analysis (analysis/structure.py, OVITO) reads the production frames after step 0:
- g(r), total and partials g_ab for alloys, averaged over frames; r1_A is the first peak (parabola through the
  highest bin and its neighbours), r_shell_A the first minimum after it (middle of the lowest stretch).
- coordination: neighbours within r_shell_A per atom, the mean and the partial means N_ab (b around a).
- bond-angle distribution: angles between pairs of bonds at an atom, bonds being the first-shell neighbours.
- NPT: a_mean(T) = the conventional lattice parameter of the mean volume per atom; a straight-line fit
  a(T) = a_fit(0) + (da/dT) T over all temperatures gives alpha_linear_per_K = (da/dT) / a_fit(T_mid), T_mid the
  middle of the temperature range (with two temperatures this is the secant expansion coefficient).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pylmp import structures
from pylmp.analysis import plotting, structure
from pylmp.errors import PylmpError
from pylmp.launch import Task

OWN_STRUCTURE = True  # material.structure (a user's crystal file or ASE Atoms) replaces the built lattice
DEFAULTS = {
    "ensemble": "npt",
    "temperatures": [300.0],
    "timestep": 0.002,            # ps (metal units)
    "equilibration_steps": 2000,
    "steps": 5000,                # production
    "dump_every": 100,
    "rdf_cutoff": 6.0,            # A
    "rdf_bins": 200,
    "angle_bins": 180,
    "melt_K": 0.0,                # > 0: a disordered start, the crystal molten at melt_K for melt_steps first
    "melt_steps": 2000,
}
TEMPLATE = "md.lmp.j2"
VELOCITY_SEED_BASE = 4928459  # LAMMPS wants a positive seed; material.seed shifts it


def check(study) -> None:
    s, src = study.settings, study.source
    if s["ensemble"] not in ("npt", "nvt"):
        raise PylmpError(f"{src}: settings.ensemble must be npt or nvt, got {s['ensemble']!r}")
    if not s["temperatures"] or min(s["temperatures"]) <= 0:
        raise PylmpError(f"{src}: settings.temperatures must list temperatures above 0 K, e.g. [300, 600]")
    if len(set(s["temperatures"])) != len(s["temperatures"]):
        raise PylmpError(f"{src}: settings.temperatures lists a temperature twice")
    if not 0 < s["timestep"] <= 0.01:
        raise PylmpError(f"{src}: settings.timestep must be between 0 and 0.01 ps (metal units; 0.001-0.002 for metals)")
    if s["equilibration_steps"] < 0 or s["dump_every"] < 1 or s["steps"] < s["dump_every"] or s["steps"] % s["dump_every"]:
        raise PylmpError(f"{src}: settings.steps must be a positive multiple of settings.dump_every (frames analysed: steps / dump_every)")
    if s["melt_K"] < 0 or (s["melt_K"] > 0 and (s["melt_K"] <= max(s["temperatures"]) or s["melt_steps"] < 1)):
        raise PylmpError(f"{src}: settings.melt_K must be 0 (start from the crystal) or above every temperature, "
                         "with melt_steps > 0 (e.g. melt_K: 3000 for a disordered Ni start)")
    if not 1.0 < s["rdf_cutoff"] <= 20.0 or s["rdf_bins"] < 10 or s["angle_bins"] < 18:
        raise PylmpError(f"{src}: settings.rdf_cutoff must be 1-20 A, rdf_bins at least 10, angle_bins at least 18")


def task_name(t: float) -> str:
    return f"T{t:g}K"


def variables(s: dict, seed: int, box_mode: str) -> dict:
    """The template's variables but the temperature, from md settings s (also used by the misfit workflow's a(T))."""
    return {
        "ensemble": s["ensemble"], "timestep": s["timestep"], "steps": s["steps"],
        "equilibration_steps": s["equilibration_steps"], "dump_every": s["dump_every"],
        "sample_every": math.gcd(s["steps"], 10), "thermo_every": max(1, (s["equilibration_steps"] + s["steps"]) // 20),
        "rdf_cutoff": s["rdf_cutoff"], "rdf_bins": s["rdf_bins"], "seed": VELOCITY_SEED_BASE + seed,
        "box_mode": box_mode, "melt_K": s["melt_K"], "melt_steps": s["melt_steps"],
    }


def tasks(study, potential) -> list[Task]:
    cell = structures.study_cell(study)
    common = variables(study.settings, study.seed, structures.study_relax_mode(study))
    return [Task(task_name(t), TEMPLATE, cell, potential, study.elements, {**common, "temperature": t})
            for t in study.settings["temperatures"]]


def task_folder(result: dict) -> Path:
    folder = Path(result["_folder"])
    if not (folder / "dump.md.lammpstrj").is_file():
        raise RuntimeError(f"no trajectory dump.md.lammpstrj in {folder} ; rerun the study to remake it")
    return folder


def expansion(temps: list[float], a: list[float]) -> dict:
    """Straight-line fit of a(T): slope and alpha = slope / a_fit(T_mid)."""
    slope, a_at_0 = np.polyfit(temps, a, 1)
    t_mid = 0.5 * (min(temps) + max(temps))
    return {"da_dT_A_per_K": float(slope), "alpha_linear_per_K": float(slope / (a_at_0 + slope * t_mid)),
            "alpha_T_mid_K": t_mid}


def analyze(study, results) -> dict:
    s = study.settings
    temps = sorted(s["temperatures"])
    out = {"ensemble": s["ensemble"], "temperatures_K": temps, "natoms": int(results[task_name(temps[0])]["natoms"])}
    per_t, curves = {}, {}
    for t in temps:
        r = results[task_name(t)]
        n = r["natoms"]
        traj = structure.analyze_trajectory(task_folder(r) / "dump.md.lammpstrj", rdf_cutoff=s["rdf_cutoff"],
                                            rdf_bins=s["rdf_bins"], angle_bins=s["angle_bins"], skip_first=True)
        per_t[task_name(t)] = {
            "T_set_K": t, "T_mean_K": r["T_mean_K"], "press_mean_bar": r["press_mean_bar"],
            "vol_mean_A3_per_atom": r["vol_mean_A3"] / n, "pe_mean_eV_per_atom": r["pe_mean_eV"] / n,
            "a_mean_A": structures.study_lattice_parameter(study, r["vol_mean_A3"] / n),
            "box_mean_A": [r["lx_mean_A"], r["ly_mean_A"], r["lz_mean_A"]],
            "frames": traj["frames"], "r1_A": traj["r1_A"], "r_shell_A": traj["r_shell_A"],
            "coordination": traj["coordination"], "coordination_fraction_modal": traj["coordination_fraction_modal"],
            "coordination_partial": traj["coordination_partial"], "angle_peaks_deg": traj["angle_peaks_deg"],
        }
        curves[task_name(t)] = {k: traj[k] for k in ("r_A", "g_total", "g_partial", "angle_deg", "angle_density_per_deg")}
    out["per_T"] = per_t
    for name, v in per_t.items():  # flat scalars for the table and the CSV
        suffix = name[1:]  # "300K"
        out[f"a_mean_A_{suffix}"] = v["a_mean_A"]
        out[f"r1_A_{suffix}"] = v["r1_A"]
        out[f"coordination_{suffix}"] = v["coordination"]
    if s["ensemble"] == "npt" and len(temps) > 1:
        out.update(expansion(temps, [per_t[task_name(t)]["a_mean_A"] for t in temps]))
    out["curves"] = curves
    return out


def rows(summary) -> list[dict]:
    out = []
    for name, res in summary.items():
        for v in res["per_T"].values():
            row = {"potential": name, "ensemble": res["ensemble"], "T_set_K": v["T_set_K"], "T_mean_K": v["T_mean_K"],
                   "press_mean_bar": v["press_mean_bar"], "a_mean_A": v["a_mean_A"],
                   "vol_mean_A3_per_atom": v["vol_mean_A3_per_atom"], "pe_mean_eV_per_atom": v["pe_mean_eV_per_atom"],
                   "r1_A": v["r1_A"], "r_shell_A": v["r_shell_A"], "coordination": v["coordination"]}
            row.update({f"coordination_{pair}": x for pair, x in v["coordination_partial"].items()})
            row["alpha_linear_per_K"] = res.get("alpha_linear_per_K", "")
            out.append(row)
    return out


LINESTYLES = ("-", "--", ":", "-.")


def plot(summary, path) -> None:
    """Panels: total g(r); partial g_ab at the lowest temperature (alloys); bond angles; a(T) for NPT.
    Colour = potential, line style = temperature."""
    names = list(summary)
    colors = plotting.colors(names)
    alloy = any(len(next(iter(res["curves"].values()))["g_partial"]) > 1 for res in summary.values())
    npt = any(res["ensemble"] == "npt" for res in summary.values())
    fig, axes = plotting.figure(ncols=2 + alloy + npt, width=4.6, height=3.8)
    ax_g, ax_b = axes[0], axes[1 + alloy]
    for name, res in summary.items():
        for k, (tname, c) in enumerate(res["curves"].items()):
            ls = LINESTYLES[k % len(LINESTYLES)]
            ax_g.plot(c["r_A"], c["g_total"], ls, color=colors[name], lw=1, label=f"{name} {tname[1:]}")
            ax_b.plot(c["angle_deg"], c["angle_density_per_deg"], ls, color=colors[name], lw=1, label=f"{name} {tname[1:]}")
        if alloy:
            tname, c = next(iter(res["curves"].items()))
            for k, (pair, g) in enumerate(c["g_partial"].items()):
                axes[1].plot(c["r_A"], g, LINESTYLES[k % len(LINESTYLES)], color=colors[name], lw=1, label=f"{name} {pair} {tname[1:]}")
        if res["ensemble"] == "npt":
            temps = res["temperatures_K"]
            a = [res["per_T"][f"T{t:g}K"]["a_mean_A"] for t in temps]
            label = name + (f": alpha={res['alpha_linear_per_K'] * 1e6:.1f}e-6/K" if "alpha_linear_per_K" in res else "")
            axes[-1].plot(temps, a, "o-", color=colors[name], label=label)
    ax_g.set(xlabel="r (A)", ylabel="g(r)", title="Radial distribution function")
    ax_b.set(xlabel="bond angle (deg)", ylabel="probability density (1/deg)", title="Bond angles (first shell)")
    ax_b.set_xlim(0, 180)
    if alloy:
        axes[1].set(xlabel="r (A)", ylabel="g_ab(r)", title="Partial RDFs (lowest T)")
    if npt:
        axes[-1].set(xlabel="T (K)", ylabel="mean lattice parameter a (A)", title="Thermal expansion (NPT)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    plotting.save(fig, path)
