"""Elastic constants by finite strain: the full 6x6 C_ij, its cubic averages, B, C', Voigt/Reuss/Hill G, Zener A.

Template: templates/elastic.lmp.j2. One task per potential: the cell is relaxed to zero pressure (iso for pure
cubic crystals and L12, aniso for random alloys: structures.relax_mode), then each Voigt strain e_j (1 xx, 2 yy, 3 zz,
4 yz, 5 xz, 6 xy; shears as engineering strains) is applied as +delta and -delta to that cell with the atoms
relaxed inside the fixed box. Central differences of the stress (sigma = -p) give
    C_ij = (sigma_i(+delta_j) - sigma_i(-delta_j)) / (2 delta),
exact to O(delta^2) (the residual stress of the reference cell cancels). A random alloy is only cubic on
average, so the cubic constants are averages over the equivalent entries: C11 = <C11, C22, C33>,
C12 = <C12, C13, C23 and their transposes>, C44 = <C44, C55, C66>. B = (C11 + 2 C12)/3, C' = (C11 - C12)/2,
A = 2 C44/(C11 - C12); G_V and G_R come from the full matrix (Hill's general formulas), which reduce to
(C11 - C12 + 3 C44)/5 and 5 (C11 - C12) C44 / (4 C44 + 3 (C11 - C12)) for a cubic crystal; G_H = (G_V + G_R)/2.
"""
from __future__ import annotations

import functools

import numpy as np

from pylmp import structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

OWN_STRUCTURE = True  # material.structure (a user's crystal file or ASE Atoms) replaces the built lattice
DEFAULTS = {"strain": 0.005}
TEMPLATE = "elastic.lmp.j2"
BARS = ("C11_GPa", "C12_GPa", "C44_GPa", "B_GPa", "C_prime_GPa")  # the plot's groups
SCALARS = ("a0_A", "E0_eV_per_atom", "C11_GPa", "C12_GPa", "C44_GPa", "B_GPa", "C_prime_GPa",
           "G_V_GPa", "G_R_GPa", "G_H_GPa", "A_zener")

def check_strain(study) -> None:
    # below ~1e-4 the stress differences drown in minimizer noise; above a few % the response is nonlinear
    if not 0 < study.settings["strain"] < 0.05:
        raise PylmpError(f"{study.source}: settings.strain must be between 0 and 0.05 (strain amplitude, e.g. 0.005)")

def check(study) -> None:
    check_strain(study)
    if study.lattice == "hcp":
        raise PylmpError(f"{study.source}: workflow 'elastic' reports cubic averages; use lattice fcc, bcc or L12")
    if study.structure is not None and not structures.is_cubic(study.structure):
        raise PylmpError(f"{study.source}: workflow 'elastic' reports cubic averages, and material.structure is not cubic "
                         "(spglib, symprec 1e-3); give a cubic crystal")

def elastic_task(name: str, cell, potential, type_elements, box_mode: str, strain: float) -> Task:
    """The relax + 12 strained states run, shared with alloy_scan."""
    return Task(name, TEMPLATE, cell, potential, type_elements, {"box_mode": box_mode, "strain": strain})

def tasks(study, potential) -> list[Task]:
    return [elastic_task("elastic", structures.study_cell(study), potential, study.elements, structures.study_relax_mode(study),
                         study.settings["strain"])]

def stiffness(result: dict) -> np.ndarray:
    """6x6 C_ij in GPa from one task's result.json (central differences of the stresses)."""
    delta = result["delta"]
    c = np.empty((6, 6))
    for i in range(1, 7):
        for j in range(1, 7):
            c[i - 1, j - 1] = (result[f"s{i}_e{j}p_GPa"] - result[f"s{i}_e{j}m_GPa"]) / (2 * delta)
    return c

def moduli(c: np.ndarray) -> dict:
    """Cubic averages and the derived moduli of a 6x6 stiffness matrix (GPa)."""
    c11 = np.mean([c[0, 0], c[1, 1], c[2, 2]])
    c12 = np.mean([c[0, 1], c[0, 2], c[1, 2], c[1, 0], c[2, 0], c[2, 1]])
    c44 = np.mean([c[3, 3], c[4, 4], c[5, 5]])
    s = np.linalg.inv(c)
    g_v = (np.trace(c[:3, :3]) - (c[0, 1] + c[0, 2] + c[1, 2]) + 3 * np.trace(c[3:, 3:])) / 15
    g_r = 15 / (4 * np.trace(s[:3, :3]) - 4 * (s[0, 1] + s[0, 2] + s[1, 2]) + 3 * np.trace(s[3:, 3:]))
    return {
        "C11_GPa": float(c11), "C12_GPa": float(c12), "C44_GPa": float(c44),
        "B_GPa": float((c11 + 2 * c12) / 3), "C_prime_GPa": float((c11 - c12) / 2),
        "G_V_GPa": float(g_v), "G_R_GPa": float(g_r), "G_H_GPa": float((g_v + g_r) / 2),
        "A_zener": float(2 * c44 / (c11 - c12)),
    }

def rotated(c: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """A 6x6 Voigt stiffness in the frame x' = rotation @ x (the full tensor C_ijkl rotated, then back to Voigt)."""
    pairs = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    full = np.zeros((3, 3, 3, 3))
    for a, (i, j) in enumerate(pairs):
        for b, (k, m) in enumerate(pairs):
            for p, q in {(i, j), (j, i)}:
                for r, s in {(k, m), (m, k)}:
                    full[p, q, r, s] = c[a, b]
    turned = np.einsum("ai,bj,ck,dl,ijkl->abcd", rotation, rotation, rotation, rotation, full)
    return np.array([[turned[i, j, k, m] for k, m in pairs] for i, j in pairs])


def constants(result: dict, lattice_parameter, rotation: np.ndarray | None = None) -> dict:
    """Everything one elastic task yields: a0 (lattice_parameter: volume per atom -> a), E0, C_GPa and the moduli.
    rotation turns C from LAMMPS's frame into the crystal's cubic axes (a user's tilted or rotated cell)."""
    c = stiffness(result) if rotation is None else rotated(stiffness(result), rotation)
    n = result["natoms"]
    return {
        "a0_A": lattice_parameter(result["vol_A3"] / n),
        "E0_eV_per_atom": result["E_eV"] / n,
        **moduli(c),
        "C_GPa": c.tolist(),
        "C_asymmetry_GPa": float(np.abs(c - c.T).max()),  # numerical quality: exact C is symmetric
        "residual_press_bar": result["press_bar"],
    }

def analyze(study, results) -> dict:
    rotation = None if study.structure is None else structures.conventional_rotation(study.structure)
    return {**constants(results["elastic"], functools.partial(structures.study_lattice_parameter, study), rotation), "strain": study.settings["strain"]}

def rows(summary) -> list[dict]:
    return [{"potential": name, **{k: res[k] for k in SCALARS}} for name, res in summary.items()]

def plot(summary, path) -> None:
    """Grouped bars: for each modulus, one bar per potential."""
    names = list(summary)
    fig, (ax,) = plotting.figure(width=max(6.0, 2.0 + 1.2 * len(names)), height=4.5)
    colors = plotting.colors(names)
    width = 0.8 / len(names)
    x = np.arange(len(BARS))
    for k, name in enumerate(names):
        values = [summary[name][key] for key in BARS]
        bars = ax.bar(x + (k - (len(names) - 1) / 2) * width, values, width, color=colors[name], label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=6)
    ax.set_xticks(x, ["C11", "C12", "C44", "B", "C'"])
    ax.set_ylabel("GPa")
    ax.set_title("Elastic constants (finite strain, relaxed ions)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    plotting.save(fig, path)
