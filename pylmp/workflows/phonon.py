"""Harmonic phonons by finite displacements: phonopy's displaced supercells, forces from LAMMPS.

Template: templates/phonon.lmp.j2. phonopy picks the symmetry-reduced displacements of the supercell
(material.atoms sets its size: n x n x n conventional cells); each is one task. The displacements need
the relaxed lattice parameter, and tasks do not see one another's results, so every task relaxes the
perfect supercell itself (box/relax iso: a cubic crystal keeps its shape and sites, so all tasks end on
the same a0, checked in analyze) and then displaces its atom from inside LAMMPS, in Cartesian A. phonopy's
displacement set does not depend on a (same symmetry), so it is generated at the starting a and rebuilt
at the relaxed a0 for the force constants. A pure fcc crystal needs one task.

Forces come back as LAMMPS dumps; F_displaced - F_perfect (the residual forces of a float32 model
cancel) goes to phonopy, which builds and symmetrizes the force constants, then the frequencies along a
band path (ASE's special points of the primitive cell; fcc: Gamma-X-W-K-Gamma-L), the DOS on a q mesh,
and for a monatomic fcc crystal the longitudinal/transverse frequencies at X and L, told apart by the
eigenvectors (polarization along q: longitudinal). For pure Ni they stand next to neutron-scattering data.
The harmonic thermodynamics on the same mesh: Helmholtz free energy F (zero-point energy included, static energy
not), entropy S and C_v per atom from 0 to settings.t_max_K (phonopy, quantum oscillators); C_v tends to 3 k_B.
The quasi-harmonic expansion (phonons at several volumes) is the qha workflow.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.cell import Cell
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms

from pylmp import structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

# path "" = the lattice's default: fcc the classic neutron-scattering path, others ASE's standard path
OWN_STRUCTURE = True  # a cubic material.structure (e.g. an ordered compound's CIF) in place of the built lattice
DEFAULTS = {"displacement": 0.01, "mesh": 32, "points": 200, "path": "", "t_max_K": 1500.0, "t_step_K": 10.0}
FCC_PATH = "GXWKGL"
PRIMITIVE = {"fcc": "F", "bcc": "I", "L12": "P"}  # centring of the conventional cell, for phonopy's primitive cell
KJ_MOL_TO_EV = 1.0 / 96.48533212  # kJ/mol -> eV per formula unit
GAS_CONSTANT = 8.314462618  # J/(K mol): J/K/mol -> k_B per formula unit
MEASURED_NI = {  # inelastic neutron scattering, Ni single crystal at 296 K
    "source": "R. J. Birgeneau, J. Cordes, G. Dolling, A. D. B. Woods, Phys. Rev. 136, A1359 (1964); neutron scattering, 296 K",
    "nu_X_L_THz": 8.55, "nu_X_T_THz": 6.27, "nu_L_L_THz": 8.88, "nu_L_T_THz": 4.24,
}


def unit_cell(study, a: float):
    """1 conventional cell, or the user's structure (already repeated to material.atoms, so it is the supercell too)."""
    if study.structure is not None:
        return structures.study_cell(study, a)
    return structures.crystal(study.lattice, study.composition, a, 1, study.seed)


def repeats(study) -> int:
    return 1 if study.structure is not None else structures.repeats_for(study.atoms, len(unit_cell(study, study.a)))


def make_phonopy(study, a: float, n: int | None = None) -> Phonopy:
    """phonopy on the conventional cell at lattice parameter a, supercell n x n x n (default: from material.atoms)."""
    cell = unit_cell(study, a)
    unit = PhonopyAtoms(symbols=cell.get_chemical_symbols(), cell=cell.cell[:], scaled_positions=cell.get_scaled_positions(),
                        masses=cell.get_masses())  # ASE's masses, as in the LAMMPS data file
    return Phonopy(unit, supercell_matrix=np.eye(3, dtype=int) * (n or repeats(study)), primitive_matrix=PRIMITIVE.get(study.lattice, "auto"))


_DISPLACEMENTS: dict = {}


def displacements(study) -> tuple:
    """(perfect supercell symbols, positions, phonopy's displacement list) at the starting a. Kept per study:
    phonopy's symmetry search on a 256-atom supercell takes seconds, and every potential uses the same set."""
    key = (study.lattice, tuple(study.composition.items()), study.a, study.atoms, study.seed, study.settings["displacement"],
           None if study.structure is None else (study.structure.cell[:].tobytes(), study.structure.positions.tobytes()))
    if key not in _DISPLACEMENTS:
        ph = make_phonopy(study, study.a)
        ph.generate_displacements(distance=study.settings["displacement"])
        _DISPLACEMENTS[key] = (list(ph.supercell.symbols), ph.supercell.positions.copy(), ph.dataset["first_atoms"])
    return _DISPLACEMENTS[key]


def band_path(study, primitive_cell) -> tuple[str, object]:
    cell = Cell(primitive_cell)
    path = study.settings["path"] or (FCC_PATH if study.lattice == "fcc" else cell.bandpath().path)
    return path, cell.bandpath(path, npoints=study.settings["points"])


def check(study) -> None:
    check_crystal(study)
    check_settings(study)


def check_crystal(study) -> None:
    """A cubic, ordered crystal (box/relax iso keeps it; phonopy needs a primitive cell), large enough (shared with qha)."""
    if study.structure is not None:
        if not structures.is_cubic(study.structure):
            raise PylmpError(f"{study.source}: workflow 'phonon' relaxes a cubic cell (box/relax iso), and material.structure is not cubic")
    elif study.lattice not in ("fcc", "bcc", "L12"):
        raise PylmpError(f"{study.source}: workflow 'phonon' relaxes a cubic cell (box/relax iso); use lattice fcc, bcc or L12, not {study.lattice}")
    elif study.lattice != "L12" and len(study.present_elements) > 1:
        raise PylmpError(f"{study.source}: workflow 'phonon' needs an ordered crystal (one element, or L12): a random alloy has no "
                         "primitive cell to draw bands in; set one element in material.composition or use lattice L12")
    if study.atoms < 32:
        raise PylmpError(f"{study.source}: material.atoms = {study.atoms} is too small for force constants (the supercell must "
                         "hold the potential's range); use 108 or more")


def check_settings(study) -> None:
    s = study.settings
    if not 0.001 <= s["displacement"] <= 0.05:
        raise PylmpError(f"{study.source}: settings.displacement must be between 0.001 and 0.05 A (phonopy's default 0.01)")
    if s["t_max_K"] <= 0 or not 0 < s["t_step_K"] <= s["t_max_K"]:
        raise PylmpError(f"{study.source}: settings.t_max_K must be positive and t_step_K between 0 and t_max_K (thermal properties)")
    if s["mesh"] < 4 or s["points"] < 20:
        raise PylmpError(f"{study.source}: settings.mesh must be at least 4 (q points per axis for the DOS) and settings.points at least 20")
    special = Cell(make_phonopy(study, study.a, n=1).primitive.cell).bandpath().special_points
    unknown = sorted(set(s["path"].replace(",", "")) - set(special))
    if unknown:
        raise PylmpError(f"{study.source}: settings.path has '{unknown[0]}', not a special point of the {study.lattice} "
                         f"Brillouin zone; use letters of {''.join(special)} (G = Gamma, ',' for a jump), or \"\" for the default")


def displacement_tasks(study, potential, a: float, prefix: str, relax: bool) -> list[Task]:
    """One task per phonopy displacement of the supercell at lattice parameter a (relax: zero pressure first)."""
    symbols, positions, first_atoms = displacements(study)
    supercell = unit_cell(study, a).repeat(repeats(study))
    # phonopy's supercell order (atom-major) differs from ASE's repeat; the data file follows phonopy
    supercell.set_chemical_symbols(symbols)
    supercell.set_positions(positions * (a / study.a))  # the displacement set is the same at any a (same symmetry)
    return [Task(f"{prefix}disp/{k:03d}", "phonon.lmp.j2", supercell, potential, study.elements,
                 {"atom_id": int(d["number"]) + 1, "displacement": [f"{x:.10g}" for x in d["displacement"]], "relax": relax})
            for k, d in enumerate(first_atoms, 1)]


def tasks(study, potential) -> list[Task]:
    return displacement_tasks(study, potential, study.a, "", relax=True)


def force_constants(study, a: float, results: dict, names: list[str]) -> tuple[Phonopy, float]:
    """phonopy at lattice parameter a with the force constants from the displacement tasks `names` (in order), and
    the largest residual force of the perfect supercell."""
    ph = make_phonopy(study, a)
    first_atoms, residual = [], 0.0
    for k, disp in zip(names, displacements(study)[2]):
        folder = Path(results[k]["_folder"])
        if int(results[k]["atom_id"]) != int(disp["number"]) + 1:
            raise ValueError(f"task {k} displaced atom {results[k]['atom_id']}, phonopy expects {int(disp['number']) + 1}: rerun the study")
        perfect = read_forces(folder / "forces_perfect.dump")
        residual = max(residual, float(np.abs(perfect).max()))
        first_atoms.append({**disp, "forces": read_forces(folder / "forces_displaced.dump") - perfect})
    ph.dataset = {"natom": len(ph.supercell), "first_atoms": first_atoms}
    ph.produce_force_constants()
    ph.symmetrize_force_constants()
    return ph, residual


def read_forces(path: Path) -> np.ndarray:
    """fx fy fz of a `write_dump ... id type x y z fx fy fz modify sort id` file."""
    return np.loadtxt(path, skiprows=9, ndmin=2)[:, 5:8]


def longitudinal_transverse(ph: Phonopy, q) -> dict:
    """Monatomic crystal: the mode polarized along q is longitudinal, the mean of the other two transverse."""
    ph.run_qpoints([q], with_eigenvectors=True)
    out = ph.get_qpoints_dict()
    freqs, vecs = out["frequencies"][0], out["eigenvectors"][0]
    direction = np.asarray(q) @ np.linalg.inv(ph.primitive.cell).T
    direction /= np.linalg.norm(direction)
    weight = np.abs(direction @ vecs) ** 2  # per mode (columns)
    j = int(np.argmax(weight))
    return {"L": float(freqs[j]), "T": float(np.mean(np.delete(freqs, j))), "L_weight": float(weight[j])}


def analyze(study, results) -> dict:
    names = sorted(k for k in results if k.startswith("disp/"))
    # iso relaxation scales the whole cell: a from the volume per atom (built cube: = lx / n)
    a_values = [structures.study_lattice_parameter(study, results[k]["vol_A3"] / results[k]["natoms"]) for k in names]
    if max(a_values) - min(a_values) > 1e-5:
        raise ValueError(f"the displacement tasks relaxed to different lattice parameters ({min(a_values):.6f}-{max(a_values):.6f} A)")
    a0 = float(np.mean(a_values))
    ph, residual = force_constants(study, a0, results, names)

    path, bp = band_path(study, ph.primitive.cell)
    ph.run_qpoints(bp.kpts)
    bands = ph.get_qpoints_dict()["frequencies"]
    x, ticks, labels = bp.get_linear_kpoint_axis()
    ph.run_mesh([study.settings["mesh"]] * 3, is_gamma_center=True)  # keeps the point-group symmetry
    ph.run_total_dos()
    thermal = thermal_properties(ph, study.settings["t_max_K"], study.settings["t_step_K"])
    dos = ph.get_total_dos_dict()
    special = {p: sorted(float(f) for f in freqs) for p, freqs in zip(
        bp.special_points, _frequencies(ph, list(bp.special_points.values())))}
    out = {
        "a0_A": a0,
        "supercell": f"{repeats(study)}x{repeats(study)}x{repeats(study)}",
        "natoms_supercell": len(ph.supercell),
        "displacements": len(names),
        "displacement_A": study.settings["displacement"],
        "nu_max_THz": float(bands.max()),
        "nu_min_THz": float(bands.min()),  # negative = imaginary (unstable or noisy)
        "residual_force_eV_A": residual,
    }
    if study.lattice == "fcc":
        pts = Cell(ph.primitive.cell).bandpath().special_points  # X and L even when settings.path skips them
        for p in ("X", "L"):
            lt = longitudinal_transverse(ph, pts[p])
            out[f"nu_{p}_L_THz"], out[f"nu_{p}_T_THz"] = lt["L"], lt["T"]
        if study.present_elements == ["Ni"]:
            keys = [k for k in MEASURED_NI if k.startswith("nu_")]
            out["measured"] = dict(MEASURED_NI)
            out["deviation_pct"] = {k: 100 * (out[k] - MEASURED_NI[k]) / MEASURED_NI[k] for k in keys}
    out.update({
        "special_points_THz": special,
        "band": {"path": path, "x": x.tolist(), "ticks": ticks.tolist(), "labels": list(labels),
                 "frequencies_THz": bands.T.tolist()},  # one list per branch
        "thermal": thermal,
        **{f"{q}_{t:g}K": value_at(thermal, q, t) for q in ("F_eV_per_atom", "S_kB_per_atom", "Cv_kB_per_atom")
           for t in (300.0, 1000.0) if t <= thermal["T_K"][-1]},
        "dos": {"frequency_THz": dos["frequency_points"].tolist(), "states_per_THz": dos["total_dos"].tolist(),
                "mesh": study.settings["mesh"]},
    })
    return out


def thermal_properties(ph: Phonopy, t_max: float, t_step: float) -> dict:
    """Harmonic F, S, Cv per atom on the DOS mesh (quantum oscillators; F holds the zero-point energy, not the static
    lattice energy). phonopy gives them per mole of primitive cells in kJ/mol and J/K/mol."""
    ph.run_thermal_properties(t_min=0.0, t_max=t_max, t_step=t_step)
    tp = ph.get_thermal_properties_dict()
    per_atom = 1.0 / len(ph.primitive)
    return {"T_K": tp["temperatures"].tolist(),
            "F_eV_per_atom": (tp["free_energy"] * KJ_MOL_TO_EV * per_atom).tolist(),
            "S_kB_per_atom": (tp["entropy"] / GAS_CONSTANT * per_atom).tolist(),
            "Cv_kB_per_atom": (tp["heat_capacity"] / GAS_CONSTANT * per_atom).tolist()}


def value_at(thermal: dict, quantity: str, t: float) -> float:
    return float(np.interp(t, thermal["T_K"], thermal[quantity]))


def _frequencies(ph: Phonopy, qpoints) -> np.ndarray:
    ph.run_qpoints(qpoints)
    return ph.get_qpoints_dict()["frequencies"]


def rows(summary) -> list[dict]:
    """Band data: one row per potential and q point along the path (|q| path length incl. 2 pi, 1/A)."""
    out = []
    for name, res in summary.items():
        b = res["band"]
        labels = dict(zip(np.round(b["ticks"], 8), b["labels"]))
        for i, x in enumerate(b["x"]):
            out.append({"potential": name, "q_path_inv_A": x, "label": labels.get(round(x, 8), ""),
                        **{f"nu_{j + 1}_THz": branch[i] for j, branch in enumerate(b["frequencies_THz"])}})
    return out


def _greek(label: str) -> str:
    return label.replace("G", "\u0393")


def plot(summary, path) -> None:
    """Bands (left) and DOS (right), potentials overlaid. Each potential's path is mapped onto the first
    one's special-point positions (a0 differs between potentials, so do the path lengths)."""
    import matplotlib.pyplot as plt

    fig, (ax, ax_dos) = plt.subplots(1, 2, figsize=(9, 4.5), sharey=True, gridspec_kw={"width_ratios": [3, 1]})
    colors = plotting.colors(summary)
    first = next(iter(summary.values()))["band"]
    ticks = np.array(first["ticks"])
    measured = None
    for name, res in summary.items():
        b = res["band"]
        x = np.interp(b["x"], b["ticks"], ticks) if len(b["ticks"]) == len(ticks) else np.array(b["x"])
        for j, branch in enumerate(b["frequencies_THz"]):
            ax.plot(x, branch, color=colors[name], lw=1.2, label=name if j == 0 else None)
        d = res["dos"]
        ax_dos.plot(d["states_per_THz"], d["frequency_THz"], color=colors[name], lw=1.2)
        measured = measured or res.get("measured")
    if measured:
        for p in ("X", "L"):
            if p in first["labels"]:
                xp = ticks[first["labels"].index(p)]
                ax.plot([xp, xp], [measured[f"nu_{p}_L_THz"], measured[f"nu_{p}_T_THz"]], "ks", ms=5, mfc="none", clip_on=False,
                        label="measured (Birgeneau 1964)" if p == "X" else None)
    for t in ticks:
        ax.axvline(t, color="0.7", lw=0.6)
    ax.set_xticks(ticks, [_greek(lbl) for lbl in first["labels"]])
    ax.set_xlim(ticks[0], ticks[-1])
    ax.set_ylim(bottom=0)
    ax.set_ylabel("frequency (THz)")
    ax.set_title("Phonon dispersion (phonopy, LAMMPS forces)")
    ax_dos.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="lower right")  # the DOS is empty there
    ax.grid(alpha=0.3, axis="y")
    ax_dos.set_xlabel("DOS (states/THz)")
    ax_dos.set_xlim(left=0)
    ax_dos.grid(alpha=0.3, axis="y")
    plotting.save(fig, path)
