"""Helpers shared by the plugin tests (SevenNet-0, NequIP/Allegro, MACE): a LAMMPS instance with the plugin,
the error a command raises, single points in and out of process (pylmp.single_point for the in-process one)."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
from ase.io import write

from pylmp import lammps_env, plugin
from pylmp.single_point import NKTV2P, registry_lines, run_lines, single_point, to_ase_frame  # noqa: F401 (used by the tests)


def new_lammps():
    lmp = lammps_env.new_lammps(["-log", "none", "-screen", "none"])
    plugin.ensure_loaded(lmp)  # `plugin load` unless the entry point already loaded it
    return lmp


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


def deployed_single_points(entry, run_folder, tmp_path, lammps_orientation=False):
    """A fine-tuning run's held-out frames plus a rattled 32-atom Ni cube, each with the deployed registry entry's
    LAMMPS single point: yields (atoms without a calculator, energy, forces, stress). `lammps_orientation`: turn
    each cell first as LAMMPS holds it (a along x, b in the xy plane), for models that are not exactly invariant."""
    from ase.build import bulk
    from ase.geometry.cell import cellpar_to_cell
    from ase.io import read

    big = bulk("Ni", "fcc", a=3.53, cubic=True).repeat(2)
    big.rattle(0.06, seed=3)
    for k, atoms in enumerate(read(run_folder / "data" / "test.extxyz", ":") + [big]):
        atoms.calc = None
        if lammps_orientation:
            atoms.set_cell(cellpar_to_cell(atoms.cell.cellpar()), scale_atoms=True)
        sub = tmp_path / f"f{k}"
        sub.mkdir()
        yield (atoms, *single_point(str(entry), atoms, ["Ni"], sub))


def mpirun_single_point(potential, atoms, elements, folder, np_, pair_style_args=""):
    """Energy, virial (bar, xx yy zz xy xz yz, LAMMPS frame), forces by atom ID and the log text of
    `mpirun -np N lmp -in in.lmp` doing `run 0` with a registry potential (`pair_style_args`: keywords added
    to its pair_style line)."""
    write(folder / "data.lmp", atoms, format="lammps-data", specorder=elements, masses=True)
    lines = [f"{line} {pair_style_args}" if line.startswith("pair_style") else line
             for line in registry_lines(potential, elements)]
    (folder / "in.lmp").write_text("\n".join([
        f"plugin load {plugin.plugin_path()}", "units metal", "atom_style atomic", "read_data data.lmp",
        *lines, "compute vir all pressure NULL virial",
        "thermo_style custom step pe c_vir[*]", "thermo_modify format float %22.15g",
        "dump d all custom 1 forces.${np} id fx fy fz", "dump_modify d sort id format float %22.15g", "run 0", ""]))
    cmd = [lammps_env.mpirun_executable(), "-np", str(np_), lammps_env.lmp_executable(), "-in", "in.lmp",
           "-var", "np", str(np_), "-log", f"log.{np_}"]
    proc = subprocess.run(cmd, cwd=folder, env=lammps_env.subprocess_env(), capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    log = (folder / f"log.{np_}").read_text()
    row = log.split("c_vir[6]")[1].split("\n")[1].split()
    return float(row[1]), np.array(row[2:8], float), np.loadtxt(folder / f"forces.{np_}", skiprows=9)[:, 1:], log


def eos_study_and_ase_fit(entry, calc, tmp_path, a: float, points: int, strain: float) -> tuple[dict, float]:
    """An eos study of 4-atom fcc Ni through `pylmp run` on the entry, and the independent reference: the same
    lattice scan evaluated by the model's own ASE calculator and fitted by ase.eos (Birch-Murnaghan).
    Returns (the entry's results.json block, the ASE a0 in A)."""
    import json

    from ase.build import bulk
    from ase.eos import EquationOfState

    from pylmp import potentials
    from pylmp.cli import main

    study = tmp_path / "eos.yaml"
    study.write_text(f"workflow: eos\nmaterial: {{lattice: fcc, composition: {{Ni: 100}}, a: {a}, atoms: 4}}\n"
                     f"potentials: [{entry}]\nsettings: {{points: {points}, strain: {strain}}}\n")
    assert main(["run", str(study), "--out", str(tmp_path / "run"), "-j", "1"]) == 0
    res = json.loads((tmp_path / "run" / "results.json").read_text())[potentials.get(str(entry)).name]
    volumes, energies = [], []
    for ai in a * np.linspace(1 - strain, 1 + strain, points):  # the eos workflow's scan
        atoms = bulk("Ni", "fcc", a=ai, cubic=True)
        atoms.calc = calc
        volumes.append(atoms.get_volume() / 4)
        energies.append(atoms.get_potential_energy() / 4)
    v0, _, _ = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
    return res, (4 * v0) ** (1 / 3)
