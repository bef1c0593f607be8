"""gamma/gamma' lattice misfit and coherent gamma/gamma' interface energies.   Theory: docs/theory/misfit.md

The matrix gamma is the study's material (fcc Ni or a random fcc Ni alloy); the precipitate gamma' is the ordered
L1_2 compound of settings.precipitate (default Ni3Al). Both phases' elements must be in material.composition (at
0 % where the matrix has none, e.g. {Ni: 100, Al: 0}), so every task shares one type map and every potential is
checked to cover them.

- Misfit at 0 K: each phase relaxed to zero pressure (templates/relax.lmp.j2), a from the volume per atom,
      delta = 2 (a_g' - a_g) / (a_g' + a_g).
- Misfit vs temperature (settings.temperatures, K): NPT molecular dynamics of each phase (templates/md.lmp.j2),
  a(T) from the mean volume, delta(T) from the two.
- Coherent interface energies for the (100), (110), (111) planes: periodic bilayers, gamma and gamma' stacked along
  the plane normal z with a shared in-plane cell (coherent), relaxed to zero stress with all box lengths free, so
  the in-plane lattice settles between the two phases and each phase carries its coherency strain. Two bilayers,
  with n and 2n cells of each phase along z, have the same in-plane strain state, so the strained-bulk energy per
  layer cancels in their difference:
      E(n) = n e + 2 A sigma,   E(2n) = 2 n e + 2 A sigma   =>   sigma = (2 E(n) - E(2n)) / (2 A)
  (two interfaces per periodic bilayer). sigma is the chemical interface energy with the coherency strain energy
  taken out; `coherency_eV_per_atom` reports that strain energy: E(2n) per atom minus the unstrained phases' mean.
"""
from __future__ import annotations

import math

import numpy as np
from ase import Atoms
from ase.lattice.compounds import L1_2

from pylmp import structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import md

DEFAULTS = {
    "precipitate": {"Ni": 75, "Al": 25},  # the L1_2 A3B gamma' phase, at.%
    "temperatures": [],                   # K: NPT a(T) of both phases; [] = 0 K only
    "timestep": 0.002, "equilibration_steps": 2000, "steps": 4000,
    "interfaces": ["100", "110", "111"],  # [] = misfit only
    "layers": 3,                          # periodic repeats of each phase along the normal in the thinner bilayer
    "min_inplane_A": 7.0,                 # in-plane cell at least this long each way (repeats of the smallest cell)
}
DIRECTIONS = {  # x, y, z (z = plane normal); integer directions are lattice vectors of both fcc and L1_2
    "100": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    "110": [[0, 0, 1], [1, -1, 0], [1, 1, 0]],
    "111": [[1, -1, 0], [1, 1, -2], [1, 1, 1]],
}
EV_A2_TO_MJ_M2 = 16021.766
PHASES = ("gamma", "gamma_prime")


def precipitate(study) -> tuple[str, str]:
    """(majority A, minority B) of the A3B precipitate."""
    p = {str(k): float(v) for k, v in study.settings["precipitate"].items()}
    return max(p, key=p.get), min(p, key=p.get)


def check(study) -> None:
    s, src = study.settings, study.source
    p = s["precipitate"]
    if not isinstance(p, dict) or len(p) != 2 or sorted(float(v) for v in p.values()) != [25.0, 75.0]:
        raise PylmpError(f"{src}: settings.precipitate must be an L1_2 A3B composition of two elements at 75/25 at.%, e.g. {{Ni: 75, Al: 25}}")
    missing = [el for el in p if el not in study.elements]
    if missing:
        raise PylmpError(f"{src}: the precipitate's {', '.join(missing)} must be in material.composition so all tasks share one "
                         f"type map: add {', '.join(f'{el}: 0' for el in missing)}")
    if study.lattice != "fcc":
        raise PylmpError(f"{src}: workflow 'misfit' needs an fcc matrix (gamma); set material.lattice: fcc")
    s["interfaces"] = [str(f) for f in (s["interfaces"] if isinstance(s["interfaces"], list) else [s["interfaces"]])]
    unknown = [f for f in s["interfaces"] if f not in DIRECTIONS]
    if unknown:
        raise PylmpError(f"{src}: settings.interfaces has '{unknown[0]}'; choose from {', '.join(DIRECTIONS)}")
    if s["layers"] < 1 or s["min_inplane_A"] <= 0:
        raise PylmpError(f"{src}: settings.layers must be at least 1 and min_inplane_A positive")
    if s["temperatures"] and (min(s["temperatures"]) <= 0 or s["steps"] < 10 or s["equilibration_steps"] < 0):
        raise PylmpError(f"{src}: settings.temperatures must be above 0 K, with steps >= 10 and equilibration_steps >= 0")


def phase_cell(study, phase: str) -> Atoms:
    if phase == "gamma":
        return structures.crystal("fcc", study.composition, study.a, study.atoms, study.seed)
    major, minor = precipitate(study)
    return structures.crystal("L12", {major: 75.0, minor: 25.0}, study.a, study.atoms)


def bilayer(study, plane: str, layers: int) -> Atoms:
    """gamma below gamma' along z, `layers` periodic repeats of each, one in-plane cell (built at material.a)."""
    major, minor = precipitate(study)
    unit = L1_2(directions=DIRECTIONS[plane], size=(1, 1, 1), symbol=(minor, major), latticeconstant=study.a)
    reps = tuple(max(1, math.ceil(study.settings["min_inplane_A"] / length)) for length in unit.cell.lengths()[:2])
    prime = unit.repeat((*reps, layers))
    matrix = structures.randomize(prime, study.composition, study.seed)  # the same sites, fcc occupation
    prime.translate(matrix.cell[2])
    out = matrix + prime
    out.set_cell(matrix.cell[:] * [[1], [1], [2]])
    return Atoms(out.get_chemical_symbols(), positions=out.positions, cell=out.cell, pbc=True)


def md_settings(s: dict) -> dict:
    """The md workflow's settings for an NPT run that only averages the volume (one trajectory frame)."""
    return {"ensemble": "npt", "timestep": s["timestep"], "steps": s["steps"], "equilibration_steps": s["equilibration_steps"],
            "dump_every": s["steps"], "rdf_cutoff": 6.0, "rdf_bins": 200, "melt_K": 0.0, "melt_steps": 0}


def tasks(study, potential) -> list[Task]:
    s = study.settings
    out = []
    for phase in PHASES:
        cell = phase_cell(study, phase)
        mode = structures.relax_mode("L12" if phase == "gamma_prime" else "fcc", study.composition)
        out.append(Task(f"{phase}/relax", "relax.lmp.j2", cell, potential, study.elements, {"box_mode": mode}))
        common = md.variables(md_settings(s), study.seed, mode)
        out += [Task(f"{phase}/{md.task_name(t)}", md.TEMPLATE, cell, potential, study.elements, {**common, "temperature": t})
                for t in s["temperatures"]]
    for plane in s["interfaces"]:
        for n in (s["layers"], 2 * s["layers"]):
            # aniso: every box length relaxes to zero stress (the cells are orthogonal, the in-plane ones shared)
            out.append(Task(f"interface_{plane}/n{n}", "relax.lmp.j2", bilayer(study, plane, n), potential, study.elements,
                            {"box_mode": "aniso"}))
    return out


def misfit(a_matrix: float, a_precipitate: float) -> float:
    return 2 * (a_precipitate - a_matrix) / (a_precipitate + a_matrix)


def analyze(study, results) -> dict:
    s = study.settings
    per_atom = {ph: results[f"{ph}/relax"]["E_eV"] / results[f"{ph}/relax"]["natoms"] for ph in PHASES}
    a0 = {ph: structures.lattice_parameter("fcc", results[f"{ph}/relax"]["vol_A3"] / results[f"{ph}/relax"]["natoms"]) for ph in PHASES}
    out = {"a_gamma_A": a0["gamma"], "a_gamma_prime_A": a0["gamma_prime"], "misfit": misfit(a0["gamma"], a0["gamma_prime"]),
           "E_gamma_eV_per_atom": per_atom["gamma"], "E_gamma_prime_eV_per_atom": per_atom["gamma_prime"],
           "precipitate": "".join(f"{el}{n}" for el, n in zip(precipitate(study), (3, 1)))}
    if s["temperatures"]:
        temps = sorted(s["temperatures"])
        a_t = {ph: [structures.lattice_parameter("fcc", results[f"{ph}/{md.task_name(t)}"]["vol_mean_A3"]
                                                 / results[f"{ph}/{md.task_name(t)}"]["natoms"]) for t in temps] for ph in PHASES}
        out["vs_T"] = {"T_K": temps, "a_gamma_A": a_t["gamma"], "a_gamma_prime_A": a_t["gamma_prime"],
                       "misfit": [misfit(g, p) for g, p in zip(a_t["gamma"], a_t["gamma_prime"])],
                       "T_mean_K": [results[f"gamma/{md.task_name(t)}"]["T_mean_K"] for t in temps]}
    interfaces = {}
    for plane in s["interfaces"]:
        thin, thick = (results[f"interface_{plane}/n{n}"] for n in (s["layers"], 2 * s["layers"]))
        areas = [r["lx_A"] * r["ly_A"] for r in (thin, thick)]
        area = float(np.mean(areas))
        sigma = (2 * thin["E_eV"] - thick["E_eV"]) / (2 * area)
        unstrained = 0.5 * (per_atom["gamma"] + per_atom["gamma_prime"])  # equal atoms of each phase
        interfaces[plane] = {
            "E_int_mJ_m2": sigma * EV_A2_TO_MJ_M2,
            "area_A2": area, "area_mismatch": float(abs(areas[1] - areas[0]) / area),  # the two must share their in-plane cell
            "inplane_a_A": [thick["lx_A"], thick["ly_A"]],
            "coherency_eV_per_atom": thick["E_eV"] / thick["natoms"] - unstrained - 2 * area * sigma / thick["natoms"],
            "natoms": [int(thin["natoms"]), int(thick["natoms"])],
        }
        out[f"E_int_{plane}_mJ_m2"] = interfaces[plane]["E_int_mJ_m2"]
    if interfaces:
        out["interfaces"] = interfaces
    return out


def rows(summary) -> list[dict]:
    keys = ["a_gamma_A", "a_gamma_prime_A", "misfit"] + [k for k in next(iter(summary.values())) if k.startswith("E_int_")]
    return [{"potential": name, **{k: res.get(k) for k in keys}} for name, res in summary.items()]


def plot(summary, path) -> None:
    """Left: misfit at 0 K (and vs T where run) per potential. Right: interface energies per plane."""
    fig, (ax_m, ax_e) = plotting.figure(ncols=2)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        if "vs_T" in res:
            t = [0.0] + res["vs_T"]["T_K"]
            ax_m.plot(t, [100 * m for m in [res["misfit"]] + res["vs_T"]["misfit"]], "o-", color=colors[name], label=name)
        else:
            ax_m.plot([0.0], [100 * res["misfit"]], "o", color=colors[name], label=name)
    ax_m.set(xlabel="T (K)", ylabel="misfit delta (%)", title="gamma/gamma' lattice misfit")
    ax_m.axhline(0, color="k", lw=0.8)
    planes = sorted({p for res in summary.values() for p in res.get("interfaces", {})})
    width = 0.8 / max(1, len(summary))
    for k, (name, res) in enumerate(summary.items()):
        x = np.arange(len(planes)) + (k - (len(summary) - 1) / 2) * width
        ax_e.bar(x, [res.get("interfaces", {}).get(p, {}).get("E_int_mJ_m2", np.nan) for p in planes], width,
                 color=colors[name], label=name)
    ax_e.set_xticks(np.arange(len(planes)), [f"({p})" for p in planes])
    ax_e.set(ylabel="interface energy (mJ/m$^2$)", title="coherent gamma/gamma' interfaces")
    for ax in (ax_m, ax_e):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plotting.save(fig, path)
