"""One LAMMPS `run 0` of an ASE structure with a registry potential (plugin or ASE bridge), in-process:
energy, forces and stress in the ASE cell's frame. `pylmp potentials deploy` checks a deployed model with it
against the model's own ASE calculator; the plugin tests use it the same way."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ase.io import write

from pylmp import bridge, lammps_env, plugin, potentials

NKTV2P = 1.6021765e6  # bar per eV/A^3 (LAMMPS metal units)


def registry_lines(name, elements) -> list[str]:
    """The registry entry's own lines, with ${potdir} resolved as the rendered inputs do."""
    pot = potentials.get(name)
    return [f"variable potdir index {pot.files_dir}"] + pot.lammps_lines(elements)


def to_ase_frame(atoms, forces, virial_bar):
    """LAMMPS holds a general triclinic cell rotated (a along x, b in the xy plane): rotate forces and the
    virial (bar, xx yy zz xy xz yz) back to the ASE cell's frame; stress in ASE sign and Voigt order."""
    from ase.calculators.lammps import Prism

    rot = Prism(atoms.cell.array).rot_mat
    xx, yy, zz, xy, xz, yz = -np.asarray(virial_bar) / NKTV2P
    s = rot @ np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]) @ rot.T
    return forces @ rot.T, s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]


def run_lines(potential, lines, elements, folder: Path, log="none"):
    """A LAMMPS instance (the caller closes it) that ran `lines`, written as folder/in.lmp, with a registry potential:
    the plugin loaded where the entry uses it, or for a bridge entry (an ASE calculator, fix external) the input run by pylmp's bridge."""
    pot = potentials.get(potential)
    (folder / "in.lmp").write_text("\n".join(lines) + "\n")
    lmp = lammps_env.new_lammps(["-log", log, "-screen", "none"])
    try:
        if pot.bridge:
            bridge.run_file(lmp, folder / "in.lmp", bridge.calculator(pot), elements)
        else:
            if pot.pair_style.startswith(plugin.PAIR_STYLE):  # a classical style needs no libtorch in the process
                plugin.ensure_loaded(lmp)
            lmp.file(str(folder / "in.lmp"))
    except Exception:
        lmp.close()
        raise
    return lmp


def single_point(potential, atoms, elements, folder: Path):
    """Energy (eV), forces (eV/A, by atom ID) and stress (eV/A^3) in the ASE cell's frame."""
    data = folder / "data.lmp"
    write(data, atoms, format="lammps-data", specorder=elements, masses=True)
    lmp = run_lines(potential, ["units metal", "atom_style atomic", "boundary p p p", f"read_data {data}",
                                *registry_lines(potential, elements), "compute vir all pressure NULL virial",
                                "thermo_style custom step pe c_vir[*]", "run 0"], elements, folder)
    try:
        energy = lmp.get_thermo("pe")
        p = np.array([lmp.extract_compute("vir", 0, 1)[k] for k in range(6)])  # xx yy zz xy xz yz, bar
        forces = np.array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)
    finally:
        lmp.close()
    return (energy, *to_ase_frame(atoms, forces, p))
