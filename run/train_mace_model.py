"""Tiny MACE test model: EAM-labelled Ni / Ni-Al cells -> mace_run_train -> LAMMPS TorchScript + reference values.

Run through run/train_mace_model (it makes .venv-mace, where mace-torch lives). Steps:
  1. labels: energies, forces and stresses of small rattled/strained fcc Ni, random Ni-Al, L1_2 Ni3Al and Ni slab
     cells from ASE's EAM calculator on NiAlH_jea.eam.alloy (Angelo-Moody-Baskes) -> train.xyz (fixed seeds)
  2. training: a float64 MACE with 2 interactions, 8 channels, r_max 4.5 A (a test model: smooth and small,
     not accurate)
  3. export: mace_create_lammps_model --format libtorch -> mace-tiny-lammps.pt
  4. reference: MACE's own ASE calculator (float64) on three cells (bulk, slab, alloy) -> mace-tiny-reference.json,
     and the TorchScript code of the exported forward() -> mace-tiny-lammps.code.txt (the plugin's interface)
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.build import bulk, fcc111
from ase.calculators.eam import EAM
from ase.io import write

SEED = 7
R_MAX = 4.5


def rattled(atoms, rng, amplitude, strain=0.0):
    atoms = atoms.copy()
    if strain:
        atoms.set_cell(atoms.cell @ (np.eye(3) + rng.uniform(-strain, strain, (3, 3))), scale_atoms=True)
    atoms.positions += rng.normal(0.0, amplitude, atoms.positions.shape)
    return atoms


def random_alloy(atoms, rng, al_fraction):
    atoms = atoms.copy()
    n_al = int(round(al_fraction * len(atoms)))
    symbols = np.array(["Ni"] * len(atoms))
    symbols[rng.choice(len(atoms), n_al, replace=False)] = "Al"
    atoms.set_chemical_symbols(symbols.tolist())
    return atoms


def l12(a):
    atoms = bulk("Ni", "fcc", a=a, cubic=True)
    atoms.symbols[0] = "Al"  # corner site of the cube: Ni3Al
    return atoms


def slab(a):
    atoms = fcc111("Ni", size=(2, 2, 4), a=a, vacuum=5.0, periodic=True)
    return atoms


def training_cells(rng):
    cells = []
    for a in np.linspace(3.40, 3.70, 12):  # fcc Ni, 32 atoms: volume, strain and thermal-like disorder
        cells.append(rattled(bulk("Ni", "fcc", a=a, cubic=True).repeat(2), rng, 0.08, 0.02))
    for k in range(16):  # random Ni-Al, 32 atoms, 5-30 at.% Al
        a = rng.uniform(3.48, 3.66)
        cells.append(rattled(random_alloy(bulk("Ni", "fcc", a=a, cubic=True).repeat(2), rng, rng.uniform(0.05, 0.3)), rng, 0.08, 0.02))
    for a in np.linspace(3.50, 3.64, 4):  # ordered L1_2 Ni3Al, 32 atoms
        cells.append(rattled(l12(a).repeat(2), rng, 0.06, 0.01))
    for a in np.linspace(3.46, 3.58, 6):  # Ni(111) slab with vacuum: surfaces
        cells.append(rattled(slab(a), rng, 0.06))
    return cells


def reference_cells(rng):
    """Cells for the plugin-vs-ASE comparison: large enough that every atom has a full cutoff sphere."""
    return {
        "bulk_ni_256": rattled(bulk("Ni", "fcc", a=3.52, cubic=True).repeat(4), rng, 0.05),
        "slab_ni_111": rattled(fcc111("Ni", size=(3, 3, 5), a=3.52, vacuum=6.0, periodic=True), rng, 0.05),
        "alloy_nial_108": rattled(random_alloy(bulk("Ni", "fcc", a=3.56, cubic=True).repeat(3), rng, 0.2), rng, 0.05, 0.01),
    }


def label(cells, eam_file):
    calc = EAM(potential=eam_file)
    for atoms in cells:
        atoms.calc = calc
        atoms.info["REF_energy"] = atoms.get_potential_energy()
        atoms.arrays["REF_forces"] = atoms.get_forces()
        atoms.info["REF_stress"] = atoms.get_stress(voigt=False)
        atoms.calc = None
    return cells


def train(work: Path, xyz: Path) -> Path:
    cmd = [str(Path(sys.executable).parent / "mace_run_train"), "--name", "mace-tiny", "--seed", str(SEED),
           "--train_file", str(xyz), "--valid_fraction", "0.1", "--energy_key", "REF_energy", "--forces_key", "REF_forces",
           "--stress_key", "REF_stress", "--model", "MACE", "--E0s", "average", "--r_max", str(R_MAX),
           "--num_interactions", "2", "--num_channels", "8", "--max_L", "1", "--max_ell", "2", "--correlation", "2",
           "--num_radial_basis", "6", "--radial_MLP", "[16, 16]", "--default_dtype", "float64", "--device", "cpu",
           "--batch_size", "4", "--valid_batch_size", "8", "--max_num_epochs", "40", "--lr", "0.01",
           "--loss", "weighted", "--energy_weight", "1.0", "--forces_weight", "10.0", "--eval_interval", "10",
           "--save_cpu", "--restart_latest"]
    subprocess.run(cmd, cwd=work, check=True)
    return work / "mace-tiny.model"


def export(model: Path) -> Path:
    exe = Path(sys.executable).parent / "mace_create_lammps_model"
    subprocess.run([str(exe), str(model), "--format", "libtorch", "--dtype", "float64"], cwd=model.parent, check=True)
    return model.parent / "mace-tiny.model-lammps.pt"


def reference(model: Path, cells: dict) -> dict:
    from mace.calculators import MACECalculator

    calc = MACECalculator(model_paths=str(model), device="cpu", default_dtype="float64")
    out = {"model": "mace-tiny-lammps.pt", "units": {"energy": "eV", "forces": "eV/A", "stress": "eV/A^3, ASE sign and Voigt order xx yy zz yz xz xy"},
           "calculator": "mace.calculators.MACECalculator(default_dtype='float64'), mace-torch 0.3.16", "cells": {}}
    for name, atoms in cells.items():
        atoms.calc = calc
        out["cells"][name] = {
            "symbols": atoms.get_chemical_symbols(), "positions": atoms.positions.tolist(), "cell": atoms.cell.array.tolist(),
            "pbc": atoms.pbc.tolist(), "energy": float(atoms.get_potential_energy()), "forces": atoms.get_forces().tolist(),
            "stress": atoms.get_stress().tolist(),
        }
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--eam", required=True, help="NiAlH_jea.eam.alloy (the labels)")
    p.add_argument("--out", type=Path, required=True, help="potentials/test_models")
    p.add_argument("--keep", type=Path, help="keep the training folder here (default: a temporary folder)")
    args = p.parse_args()
    rng = np.random.default_rng(SEED)
    work = args.keep or Path(tempfile.mkdtemp(prefix="mace-tiny-"))
    work.mkdir(parents=True, exist_ok=True)
    cells = label(training_cells(rng), args.eam)
    write(work / "train.xyz", cells, format="extxyz")
    print(f"{len(cells)} EAM-labelled cells ({sum(len(c) for c in cells)} atoms) -> {work / 'train.xyz'}", flush=True)
    model = train(work, work / "train.xyz")
    lammps_model = export(model)
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(lammps_model, args.out / "mace-tiny-lammps.pt")
    shutil.copy(model, args.out / "mace-tiny.model")
    ref = reference(model, reference_cells(rng))
    (args.out / "mace-tiny-reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    import torch

    (args.out / "mace-tiny-lammps.code.txt").write_text(torch.jit.load(str(lammps_model)).code)
    for name, c in ref["cells"].items():
        print(f"{name}: {len(c['symbols'])} atoms, E = {c['energy']:.6f} eV")
    print(f"wrote {args.out}/mace-tiny-lammps.pt, mace-tiny.model, mace-tiny-reference.json, mace-tiny-lammps.code.txt")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
