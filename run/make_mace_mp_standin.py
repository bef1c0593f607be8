"""MACE-MP stand-in: a randomly initialised MACE of MACE-MP's layout, small, for testing the mace-mp route offline.

MACE-MP-0 / MACE-MPA-0 medium is a ScaleShiftMACE over 89 elements with r_max 6 A, 2 interactions, correlation
order 3, max_ell 3, residual interaction blocks, radial MLP [64, 64, 64], readout MLP 16x0e, hidden irreps
128x0e + 128x1o. The stand-in keeps all of that but 8x0e + 8x1o channels, with random weights (seed 0) and
per-element reference energies E0 = -1 eV (a test model, not a potential). The real weights cannot be had offline;
`pylmp potentials deploy mace-mp FILE` and the plugin route are tested with this file instead.

Runs in .venv-mace (mace-torch 0.3.16): run/train_mace_model --standin (creates .venv-mace if missing) writes
  potentials/test_models/mace-mp-standin.model            torch.save of the model (what MACE-MP ships as)
  potentials/test_models/mace-mp-standin-lammps.pt        mace_create_lammps_model --format libtorch --dtype float64
  potentials/test_models/mace-mp-standin-reference.json   MACE's ASE calculator (float64) on two cells
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
import torch
from ase.build import bulk
from ase.data import atomic_numbers

# the 89 elements of MACE-MP (those of the mace-mp registry entry)
ELEMENTS = ("Ac Ag Al Ar As Au B Ba Be Bi Br C Ca Cd Ce Cl Co Cr Cs Cu Dy Er Eu F Fe Ga Gd Ge H He Hf Hg Ho I In Ir K "
            "Kr La Li Lu Mg Mn Mo N Na Nb Nd Ne Ni Np O Os P Pa Pb Pd Pm Pr Pt Pu Rb Re Rh Ru S Sb Sc Se Si Sm Sn Sr Ta "
            "Tb Tc Te Th Ti Tl Tm U V W Xe Y Yb Zn Zr").split()


def build_model():
    from e3nn import o3
    from mace import modules

    torch.manual_seed(0)
    z = sorted(atomic_numbers[e] for e in ELEMENTS)
    model = modules.ScaleShiftMACE(
        r_max=6.0, num_bessel=8, num_polynomial_cutoff=5, max_ell=3,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=2, num_elements=len(z), hidden_irreps=o3.Irreps("8x0e + 8x1o"), MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=np.full(len(z), -1.0), avg_num_neighbors=40.0, atomic_numbers=z, correlation=3,
        gate=torch.nn.functional.silu, radial_MLP=[64, 64, 64], radial_type="bessel",
        atomic_inter_scale=30.0, atomic_inter_shift=0.0)  # random weights give ~0.01 eV/A forces; scaled to ~0.3
    return model.double()


def reference_cells():
    """A sheared, rattled 32-atom Ni-Al alloy and a rattled 27-atom primitive (triclinic) Ni cell."""
    rng = np.random.default_rng(1)
    alloy = bulk("Ni", "fcc", a=3.55, cubic=True).repeat(2)
    symbols = np.array(alloy.get_chemical_symbols())
    symbols[rng.choice(len(alloy), 8, replace=False)] = "Al"
    alloy.set_chemical_symbols(symbols)
    alloy.set_cell(alloy.cell @ np.array([[1, 0.02, 0], [0, 1, 0], [0.01, 0, 0.99]]), scale_atoms=True)
    alloy.rattle(0.05, seed=1)
    prim = bulk("Ni", "fcc", a=3.50).repeat(3)
    prim.rattle(0.05, seed=2)
    return {"alloy_nial_32": alloy, "primitive_ni_27": prim}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="potentials/test_models")
    args = p.parse_args()
    from mace.calculators import MACECalculator

    args.out.mkdir(parents=True, exist_ok=True)
    model_file = args.out / "mace-mp-standin.model"
    torch.save(build_model(), model_file)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / model_file.name
        shutil.copyfile(model_file, local)
        exe = Path(sys.executable).parent / "mace_create_lammps_model"
        subprocess.run([str(exe), str(local), "--format", "libtorch", "--dtype", "float64"], cwd=tmp, check=True)
        shutil.copyfile(Path(tmp) / f"{local.name}-lammps.pt", args.out / "mace-mp-standin-lammps.pt")
    calc = MACECalculator(model_paths=str(model_file), device="cpu", default_dtype="float64")
    ref = {"model": "mace-mp-standin-lammps.pt", "units": {"energy": "eV", "forces": "eV/A", "stress": "eV/A^3, ASE sign and Voigt order"},
           "calculator": "mace.calculators.MACECalculator(default_dtype='float64'), mace-torch 0.3.16", "cells": {}}
    for name, atoms in reference_cells().items():
        atoms.calc = calc
        ref["cells"][name] = {"symbols": atoms.get_chemical_symbols(), "positions": atoms.positions.tolist(),
                              "cell": atoms.cell.array.tolist(), "pbc": atoms.pbc.tolist(),
                              "energy": float(atoms.get_potential_energy()), "forces": atoms.get_forces().tolist(),
                              "stress": atoms.get_stress().tolist()}
        print(f"{name}: {len(atoms)} atoms, E = {ref['cells'][name]['energy']:.6f} eV, "
              f"max |F| = {np.abs(atoms.get_forces()).max():.3f} eV/A")
    (args.out / "mace-mp-standin-reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    print(f"wrote {model_file}, mace-mp-standin-lammps.pt, mace-mp-standin-reference.json")


if __name__ == "__main__":
    main()
