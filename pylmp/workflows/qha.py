"""Quasi-harmonic thermodynamics: phonons at several volumes -> F(V, T) -> V(T), thermal expansion, B(T), Cp.
Theory: docs/theory/qha.md. Template: templates/phonon.lmp.j2 (the phonon workflow's, at fixed volume).

For each lattice parameter a_k = material.a (1 + strain_k) the phonon workflow's displaced supercells run without
relaxation (one task per displacement; a pure fcc crystal needs one per volume). phonopy builds the force constants
and the harmonic free energy F_ph(V_k, T) on a q mesh; phonopy's QHA fits E_static(V) + F_ph(V, T) with a Vinet
equation of state at each T and minimizes it: V(T), a(T), the volumetric and linear expansion coefficients, B_T(T)
and Cp(T). material.a should be the potential's zero-pressure a0 (e.g. from the eos workflow); the static minimum
and the QHA volumes must lie inside the strain grid, which analyze checks. The harmonic F is quantum (zero-point
energy included), so a(0 K) lies above the static a0; classical MD at the same T sees no zero-point motion.
"""
from __future__ import annotations

import numpy as np
from ase.eos import EquationOfState

from pylmp import structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.workflows import phonon

OWN_STRUCTURE = True  # a cubic material.structure, as for the phonon workflow
DEFAULTS = {"strains": [-0.01, -0.005, 0.0, 0.005, 0.01, 0.015, 0.02, 0.025], "displacement": 0.01, "mesh": 24,
            "t_max_K": 1200.0, "t_step_K": 10.0}
REPORT_T = (300.0, 600.0, 900.0)


def lattice_parameters(study) -> list[float]:
    return [study.a * (1 + s) for s in sorted(study.settings["strains"])]


def check(study) -> None:
    phonon.check_crystal(study)
    s = study.settings
    if len(set(s["strains"])) < 5 or max(abs(x) for x in s["strains"]) > 0.1:
        raise PylmpError(f"{study.source}: settings.strains needs at least 5 different lattice strains within +-0.1 "
                         "(the equation of state is fitted at every temperature)")
    if not 0.001 <= s["displacement"] <= 0.05 or s["mesh"] < 4:
        raise PylmpError(f"{study.source}: settings.displacement must be 0.001-0.05 A and settings.mesh at least 4")
    if s["t_max_K"] <= 0 or not 0 < s["t_step_K"] <= s["t_max_K"] / 3:
        raise PylmpError(f"{study.source}: settings.t_max_K must be positive and t_step_K at most a third of it")


def point(a: float) -> str:
    return f"a{a:.5f}/"


def tasks(study, potential):
    return [t for a in lattice_parameters(study) for t in phonon.displacement_tasks(study, potential, a, point(a), relax=False)]


def analyze(study, results) -> dict:
    from phonopy import PhonopyQHA

    s = study.settings
    volumes, energies, free, entropy, cv, temps = [], [], [], [], [], None
    n_prim = None
    for a in lattice_parameters(study):
        names = sorted(k for k in results if k.startswith(point(a) + "disp/"))
        ph, _ = phonon.force_constants(study, a, results, names)
        ph.run_mesh([s["mesh"]] * 3, is_gamma_center=True)
        ph.run_thermal_properties(t_min=0.0, t_max=s["t_max_K"], t_step=s["t_step_K"])
        tp = ph.get_thermal_properties_dict()
        if np.any(ph.mesh.frequencies < -0.05):  # imaginary modes (THz)
            raise ValueError(f"imaginary phonon frequencies at a = {a:.4f} A: that volume is mechanically unstable; narrow settings.strains")
        n_prim = len(ph.primitive)
        first = results[names[0]]
        volumes.append(ph.primitive.volume)
        energies.append(first["E_perfect_eV"] * n_prim / first["natoms"])  # per primitive cell, as phonopy's F
        temps = tp["temperatures"]
        free.append(tp["free_energy"])
        entropy.append(tp["entropy"])
        cv.append(tp["heat_capacity"])
    i_min = int(np.argmin(energies))
    if i_min in (0, len(energies) - 1):
        raise ValueError(f"the static energy minimum lies at the edge of the strain grid (a = {lattice_parameters(study)[i_min]:.4f} A): "
                         "set material.a to the potential's a0 (eos workflow) or widen settings.strains")
    qha = PhonopyQHA(volumes=volumes, electronic_energies=energies, temperatures=temps, free_energy=np.array(free).T,
                     cv=np.array(cv).T, entropy=np.array(entropy).T, eos="vinet")
    # phonopy's QHA arrays stop short of t_max (the last points feed its numerical derivatives): the common length
    n = min(len(qha.volume_temperature), len(qha.thermal_expansion), len(qha.bulk_modulus_temperature),
            len(qha.heat_capacity_P_numerical))
    t = np.asarray(temps[:n])
    v_t = np.asarray(qha.volume_temperature)[:n]  # per primitive cell
    if v_t.max() > max(volumes) or v_t.min() < min(volumes):
        raise ValueError("the quasi-harmonic volume leaves the strain grid: widen settings.strains toward larger a")
    a_t = np.array([structures.study_lattice_parameter(study, v / n_prim) for v in v_t])
    beta = np.asarray(qha.thermal_expansion)[:n]
    b_t = np.asarray(qha.bulk_modulus_temperature)[:n]
    cp = np.asarray(qha.heat_capacity_P_numerical)[:n] / phonon.GAS_CONSTANT / n_prim
    static_v = EquationOfState(volumes, energies, eos="birchmurnaghan").fit(warn=False)[0]
    out = {
        "a0_static_A": float(structures.study_lattice_parameter(study, static_v / n_prim)),
        "a_0K_A": float(a_t[0]),  # zero-point motion included
        "curve": {"T_K": t.tolist(), "a_A": a_t.tolist(), "alpha_linear_per_K": (beta / 3).tolist(), "B_GPa": b_t.tolist(),
                  "Cp_kB_per_atom": cp.tolist()},
        "E_static_eV_per_atom": [e / n_prim for e in energies], "a_points_A": lattice_parameters(study),
    }
    for temp in REPORT_T:
        if temp <= t[-1]:
            tag = f"{temp:g}K"
            out[f"a_{tag}_A"] = float(np.interp(temp, t, a_t))
            out[f"alpha_linear_{tag}_per_K"] = float(np.interp(temp, t, beta / 3))
            out[f"B_{tag}_GPa"] = float(np.interp(temp, t, b_t))
            out[f"Cp_{tag}_kB_per_atom"] = float(np.interp(temp, t, cp))
    return out


def rows(summary) -> list[dict]:
    out = []
    for name, res in summary.items():
        c = res["curve"]
        out += [{"potential": name, "T_K": t, "a_A": a, "alpha_linear_per_K": al, "B_GPa": b, "Cp_kB_per_atom": cp}
                for t, a, al, b, cp in zip(c["T_K"], c["a_A"], c["alpha_linear_per_K"], c["B_GPa"], c["Cp_kB_per_atom"])]
    return out


def plot(summary, path) -> None:
    """a(T), linear expansion coefficient and Cp(T) per potential (quasi-harmonic)."""
    fig, axes = plotting.figure(ncols=3)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        c = res["curve"]
        axes[0].plot(c["T_K"], c["a_A"], color=colors[name], label=name)
        axes[1].plot(c["T_K"], np.array(c["alpha_linear_per_K"]) * 1e6, color=colors[name], label=name)
        axes[2].plot(c["T_K"], c["Cp_kB_per_atom"], color=colors[name], label=name)
    axes[2].axhline(3.0, color="k", lw=0.8, ls="--", label="3 k_B (Dulong-Petit, C_v)")
    axes[0].set(xlabel="T (K)", ylabel="a (A)", title="Quasi-harmonic lattice parameter")
    axes[1].set(xlabel="T (K)", ylabel="alpha (1e-6 / K)", title="Linear thermal expansion")
    axes[2].set(xlabel="T (K)", ylabel="C_p (k_B / atom)", title="Heat capacity")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plotting.save(fig, path)
