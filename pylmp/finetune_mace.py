"""MACE fine-tuning (mace-torch 0.3.16 in its own environment .venv-mace: it pins e3nn 0.4.4, which nequip in
.venv cannot share): mace_run_train --foundation_model START, then mace_create_lammps_model --format libtorch for
pair_style pylmp/torch.

Naive fine-tuning (`--multiheads_finetuning False`): multi-head replay fine-tuning needs the foundation model's
own training data, which is not offline. The per-element energies E0s are refit to the dataset by least squares
(`--E0s average`, MACE's own fit; training.energy_shifts: keep -> `--E0s foundation`). `training.extra` passes any
further mace_run_train option ({swa: true, ema: true, ...}: `--swa --ema`).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ase.io import read, write

from pylmp import datasets, finetune, paths
from pylmp.errors import PylmpError

VENV = paths.ROOT / ".venv-mace"
SETUP = ("run/train_mace_model (creates .venv-mace), or by hand: python3.11 -m venv .venv-mace && "
         ".venv-mace/bin/pip install torch==2.13.0 && .venv-mace/bin/pip install mace-torch==0.3.16")


def exe(name: str) -> Path:
    path = VENV / "bin" / name
    if not path.is_file():
        raise PylmpError(f"{path} not found: MACE runs in its own environment; create it with {SETUP}")
    return path


def model_info(start: Path) -> dict:
    """Elements and r_max of a MACE model file, read inside .venv-mace (loading it needs the mace package)."""
    code = ("import json, sys, torch; from ase.data import chemical_symbols as s; "
            "m = torch.load(sys.argv[1], map_location='cpu', weights_only=False); "
            "print(json.dumps({'elements': [s[int(z)] for z in m.atomic_numbers], 'r_max': float(m.r_max)}))")
    proc = subprocess.run([str(exe("python")), "-c", code, str(start)], check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PylmpError(f"cannot load {start} as a MACE model in .venv-mace ({tail[:200]}); give a .model file "
                         "(torch.save of a MACE model, e.g. a MACE-MP foundation model downloaded beforehand)")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check(cfg) -> None:
    exe("mace_run_train")
    if cfg.start.suffix != ".model":
        raise PylmpError(f"{cfg.source}: start {cfg.start.name} is not a MACE .model file (torch.save of the model)")
    finetune.check_elements(cfg, model_info(cfg.start)["elements"])
    if cfg.target:
        raise PylmpError(f"{cfg.source}: deploy.target is for NequIP/Allegro; MACE deploys as TorchScript (libtorch), drop it")


def _mace_extxyz(src: Path, dest: Path) -> None:
    """MACE reads labels under its REF_* keys (info/arrays), not ASE's calculator results."""
    frames = []
    for atoms in read(src, ":"):
        lab = datasets.labels(atoms)
        atoms.calc = None
        atoms.info["REF_energy"] = lab["energy"]
        atoms.arrays["REF_forces"] = lab["forces"]
        if "stress" in lab:
            atoms.info["REF_stress"] = lab["stress"]
        frames.append(atoms)
    write(dest, frames, format="extxyz")


def command(cfg, run_dir: Path) -> list[str]:
    t, loss = cfg.training, cfg.training["loss"]
    data = run_dir.parent / "data"
    for part in ("train", "valid", "test"):
        _mace_extxyz(data / f"{part}.extxyz", run_dir / f"{part}.extxyz")
    cmd = [str(exe("mace_run_train")), "--name", cfg.name, "--seed", str(t["seed"]), "--work_dir", str(run_dir),
           "--foundation_model", str(cfg.start), "--multiheads_finetuning", "False",
           "--train_file", str(run_dir / "train.extxyz"), "--valid_file", str(run_dir / "valid.extxyz"),
           "--test_file", str(run_dir / "test.extxyz"), "--energy_key", "REF_energy", "--forces_key", "REF_forces",
           "--stress_key", "REF_stress", "--E0s", "average" if t["energy_shifts"] == "refit" else "foundation",
           "--loss", "stress" if loss["stress"] > 0 else "weighted", "--energy_weight", str(loss["energy"]),
           "--forces_weight", str(loss["forces"]), "--stress_weight", str(loss["stress"]), "--lr", str(t["lr"]),
           "--max_num_epochs", str(t["epochs"]), "--batch_size", str(t["batch_size"]), "--valid_batch_size", str(t["batch_size"]),
           "--default_dtype", "float64", "--device", "cpu", "--save_cpu", "--restart_latest"]
    for key, value in t["extra"].items():
        cmd += [f"--{key}"] if value is True else [] if value is False else [f"--{key}", str(value)]
    return cmd


def train(cfg, out: Path, log=print) -> Path:
    run_dir = out / "train"
    model = run_dir / f"{cfg.name}.model"
    if finetune.trained(model, log):
        return model
    run_dir.mkdir(parents=True, exist_ok=True)
    log(f"train: mace_run_train, {cfg.training['epochs']} epochs (log: {run_dir / 'mace_run_train.log'}; a killed run continues)")
    finetune.run_logged(command(cfg, run_dir), run_dir / "mace_run_train.log", "mace_run_train", run_dir)
    if not model.is_file():
        raise PylmpError(f"mace_run_train wrote no {model.name}; see {run_dir / 'mace_run_train.log'}")
    return model


def export(model: Path, dest: Path) -> Path:
    """`mace_create_lammps_model MODEL --format libtorch --dtype float64` (in .venv-mace) -> dest. The tool writes
    beside its input, so it runs on a copy in a scratch folder (the user's weights folder may be read-only)."""
    with tempfile.TemporaryDirectory(prefix="pylmp-mace-") as tmp:
        local = Path(tmp) / model.name
        shutil.copyfile(model, local)
        proc = subprocess.run([str(exe("mace_create_lammps_model")), str(local), "--format", "libtorch", "--dtype", "float64"],
                              check=False, cwd=tmp, capture_output=True, text=True)
        made = local.parent / f"{local.name}-lammps.pt"
        if proc.returncode != 0 or not made.is_file():
            tail = ((proc.stderr or proc.stdout).strip().splitlines() or ["no output"])[-1]
            raise PylmpError(f"mace_create_lammps_model {model.name} failed: {tail[:300]}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made, dest)
    return dest


# MACE's ASE calculator on frames read from argv[2], results as JSON to stdout (runs in .venv-mace)
_REFERENCE = """
import json, sys
from ase.io import read
from mace.calculators import MACECalculator
calc = MACECalculator(model_paths=sys.argv[1], device="cpu", default_dtype="float64")
out = []
for atoms in read(sys.argv[2], ":"):
    atoms.calc = calc
    out.append([atoms.get_potential_energy(), atoms.get_forces().tolist(), atoms.get_stress().tolist()])
print(json.dumps(out))
"""


def reference_values(model: Path, frames) -> list:
    """[(energy, forces, stress)] of each frame from MACE's own ASE calculator (float64), in .venv-mace."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="pylmp-mace-") as tmp:
        write(Path(tmp) / "frames.extxyz", list(frames), format="extxyz")
        proc = subprocess.run([str(exe("python")), "-c", _REFERENCE, str(model), str(Path(tmp) / "frames.extxyz")],
                              check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PylmpError(f"MACE's calculator failed on {model.name} in .venv-mace: {tail[:300]}")
    return [(e, np.array(f), np.array(st)) for e, f, st in json.loads(proc.stdout.strip().splitlines()[-1])]


def _entry(cfg, name: str, model: Path, folder: Path, description: str) -> Path:
    model_file = f"{name}-lammps.pt"
    export(model, folder / "deployed" / model_file)
    cluster = {"pair_style": f"mliap unified ${{potdir}}/{name}.model-mliap_lammps.pt 0", "pair_coeff": "* * {elements}",
               "files": [f"{name}.model-mliap_lammps.pt"], "kokkos": "newton on neigh half",
               "build": "LAMMPS with KOKKOS (CUDA), ML-IAP and PYTHON (MLIAP_ENABLE_PYTHON=ON), mace-torch in that Python",
               "deploy": f"mace_create_lammps_model {model.name} --format mliap"}
    return finetune.registry_entry(cfg, model_info(model)["elements"], model_file, cluster,
                                   "Message passing (num_interactions x r_max ghost shell on more than one MPI rank).",
                                   name=name, folder=folder, description=description)


def deploy(cfg, out: Path, log=print) -> Path:
    model = finetune._need(out / "train" / f"{cfg.name}.model", "train", cfg, out)
    log("deploy: mace_create_lammps_model --format libtorch")
    return _entry(cfg, cfg.name, model, cfg.registry, f"{cfg.start.name} fine-tuned on {cfg.dataset.name} by `pylmp finetune`")


def deploy_start(cfg, out: Path, log=print) -> Path:
    log(f"score: exporting the starting model {cfg.start.name} for the 'before' column (set `before:` to skip)")
    return _entry(cfg, f"{cfg.name}-start", cfg.start, out / "start", f"starting model {cfg.start.name} (before fine-tuning)")
