"""Helpers shared by the plugin tests (SevenNet-0, NequIP/Allegro, MACE): a LAMMPS instance with the plugin,
a registry entry's own input lines, the error a command raises, and LAMMPS-to-ASE frame conversion."""
from __future__ import annotations

import numpy as np
import pytest

from pylmp import lammps_env, plugin, potentials

NKTV2P = 1.6021765e6  # bar per eV/A^3 (LAMMPS metal units)


def new_lammps():
    lmp = lammps_env.new_lammps(["-log", "none", "-screen", "none"])
    plugin.ensure_loaded(lmp)  # `plugin load` unless the entry point already loaded it
    return lmp


def registry_lines(name, elements):
    """The registry entry's own lines, with ${potdir} resolved as the rendered inputs do."""
    pot = potentials.get(name)
    return [f"variable potdir index {pot.files_dir}"] + pot.lammps_lines(elements)


def run_expecting_error(lines):
    """The message of the error LAMMPS raises on one of these commands (the test fails if none does)."""
    lmp = new_lammps()
    try:
        with pytest.raises(Exception) as err:
            for line in lines:
                lmp.command(line)
    finally:
        lmp.close()
    return str(err.value)


def box(units="metal"):
    """Commands up to `pair_style pylmp/torch` for a 2-type fcc cell."""
    return [f"units {units}", "lattice fcc 3.52", "region b block 0 1 0 1 0 1", "create_box 2 b",
            "create_atoms 1 box", "mass * 58.69", "pair_style pylmp/torch"]


def to_ase_frame(atoms, forces, virial_bar):
    """LAMMPS holds a general triclinic cell rotated (a along x, b in the xy plane): rotate forces and the
    virial (bar, xx yy zz xy xz yz) back to the ASE cell's frame; stress in ASE sign and Voigt order."""
    from ase.calculators.lammps import Prism

    rot = Prism(atoms.cell.array).rot_mat
    xx, yy, zz, xy, xz, yz = -np.asarray(virial_bar) / NKTV2P
    s = rot @ np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]) @ rot.T
    return forces @ rot.T, s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
