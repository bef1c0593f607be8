"""Equation of state: energy over a lattice-parameter scan, Birch-Murnaghan fit -> a0, E_coh, B.

Theory: docs in README ("Workflows"). Each scan point is a fixed cell with relaxed atoms (relaxation
matters only for alloys); a separate zero-pressure relaxation gives a0 a second way; isolated atoms in a
20 A box give the reference for the cohesive energy, E_coh = sum_i x_i E_atom,i - E_bulk/atom.
"""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.eos import EquationOfState, birchmurnaghan
from ase.units import GPa

from pylmp.analysis import plotting
from pylmp import structures
from pylmp.errors import PylmpError
from pylmp.launch import Task

OWN_STRUCTURE = True  # material.structure (a user's crystal file or ASE Atoms) replaces the built lattice
DEFAULTS = {"points": 11, "strain": 0.04}
ISOLATED_BOX_A = 20.0  # larger than twice any cutoff + skin in the registry: the atom sees no image


def check(study) -> None:
    if study.settings["points"] < 5:
        raise PylmpError(f"{study.source}: settings.points must be at least 5 for a Birch-Murnaghan fit")
    if not 0 < study.settings["strain"] < 0.2:
        raise PylmpError(f"{study.source}: settings.strain must be between 0 and 0.2 (fractional change of a)")


def scan(study) -> np.ndarray:
    s = study.settings["strain"]
    return study.a * np.linspace(1 - s, 1 + s, study.settings["points"])


def isolated_atom_tasks(study, potential) -> list[Task]:
    return [Task(f"atom_{el}", "single_point.lmp.j2", Atoms(el, positions=[[0, 0, 0]], cell=[ISOLATED_BOX_A] * 3, pbc=True),
                 potential, study.elements, {"relax_ions": False}) for el in study.present_elements]


def tasks(study, potential) -> list[Task]:
    # atoms sit on symmetry-fixed sites only in a built pure or ordered crystal; an alloy's or a user's structure relaxes them
    relax_ions = len(study.present_elements) > 1 or study.structure is not None
    out = []
    for a in scan(study):
        out.append(Task(f"scan/a{a:.5f}", "single_point.lmp.j2", structures.study_cell(study, a), potential, study.elements,
                        {"relax_ions": relax_ions}))
    out.append(Task("relax", "relax.lmp.j2", structures.study_cell(study), potential, study.elements, {"box_mode": structures.study_relax_mode(study)}))
    return out + isolated_atom_tasks(study, potential)


def atom_reference(study, results) -> float:
    """sum_i x_i E_atom,i in eV/atom, from the atom_<el> tasks."""
    return sum(study.composition[el] / 100.0 * results[f"atom_{el}"]["E_eV"] for el in study.present_elements)


def analyze(study, results) -> dict:
    points = sorted((k for k in results if k.startswith("scan/")), key=lambda k: results[k]["vol_A3"])
    vols = np.array([results[k]["vol_A3"] / results[k]["natoms"] for k in points])
    energies = np.array([results[k]["E_eV"] / results[k]["natoms"] for k in points])
    imin = int(np.argmin(energies))
    if imin in (0, len(energies) - 1):
        raise ValueError(f"the energy minimum lies at the edge of the scan (a = {structures.study_lattice_parameter(study, vols[imin]):.4f} A): "
                         "set material.a closer to the potential's lattice parameter or widen settings.strain")
    eos = EquationOfState(vols, energies, eos="birchmurnaghan")
    v0, e0, b = eos.fit(warn=False)
    relaxed = results["relax"]
    e_atoms = atom_reference(study, results)
    return {
        "a0_A": structures.study_lattice_parameter(study, v0),
        "a0_relaxed_A": structures.study_lattice_parameter(study, relaxed["vol_A3"] / relaxed["natoms"]),
        "V0_A3_per_atom": v0,
        "E0_eV_per_atom": e0,
        "E_coh_eV": e_atoms - e0,
        "B_GPa": b / GPa,
        "B_prime": float(eos.eos_parameters[2]),
        "curve": {
            "a_A": [structures.study_lattice_parameter(study, v) for v in vols],
            "V_A3_per_atom": vols.tolist(),
            "E_eV_per_atom": energies.tolist(),
            "E_atoms_eV_per_atom": e_atoms,
        },
    }


def rows(summary) -> list[dict]:
    out = []
    for name, res in summary.items():
        c = res["curve"]
        for a, v, e in zip(c["a_A"], c["V_A3_per_atom"], c["E_eV_per_atom"]):
            out.append({"potential": name, "a_A": a, "V_A3_per_atom": v, "E_eV_per_atom": e,
                        "E_minus_atoms_eV_per_atom": e - c["E_atoms_eV_per_atom"]})
    return out


def plot(summary, path) -> None:
    """Left: E(V) referenced to isolated atoms (minus the cohesive energy at the minimum). Right: E(a)
    relative to each potential's own minimum, so curvatures compare even where energy zeros differ
    (DFT-trained models put isolated atoms far from zero)."""
    fig, (ax_v, ax_a) = plotting.figure(ncols=2)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        c = res["curve"]
        ref = c["E_atoms_eV_per_atom"]
        vols = np.array(c["V_A3_per_atom"])
        e = np.array(c["E_eV_per_atom"])
        fine = np.linspace(vols.min(), vols.max(), 200)
        fit = birchmurnaghan(fine, res["E0_eV_per_atom"], res["B_GPa"] * GPa, res["B_prime"], res["V0_A3_per_atom"])
        a_fine = (np.array(c["a_A"])[0] / vols[0] ** (1 / 3)) * fine ** (1 / 3)
        ax_v.plot(vols, e - ref, "o", color=colors[name])
        ax_v.plot(fine, fit - ref, "-", color=colors[name], label=f"{name}: E_coh={res['E_coh_eV']:.3f} eV")
        e0 = res["E0_eV_per_atom"]
        ax_a.plot(c["a_A"], 1000 * (e - e0), "o", color=colors[name])
        ax_a.plot(a_fine, 1000 * (fit - e0), "-", color=colors[name],
                  label=f"{name}: a0={res['a0_A']:.3f} A, B={res['B_GPa']:.0f} GPa")
    ax_v.set_xlabel("volume per atom (A^3)")
    ax_v.set_ylabel("E - E(isolated atoms) (eV/atom)")
    ax_v.set_title("Energy vs volume (Birch-Murnaghan fit)")
    ax_a.set_xlabel("lattice parameter a (A)")
    ax_a.set_ylabel("E - E0 (meV/atom)")
    ax_a.set_title("Energy vs lattice parameter")
    for ax in (ax_v, ax_a):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plotting.save(fig, path)
