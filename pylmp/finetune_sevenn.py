"""SevenNet fine-tuning (sevenn 0.13 in .venv): `sevenn train input.yaml` continuing from a pretrained checkpoint,
then `sevenn get_model` (serial TorchScript) for pair_style pylmp/torch.

`start` is a SevenNet checkpoint (.pth) or the name of a pretrained model that ships inside the sevenn wheel
(7net-0, ...; never downloaded). SevenNet keeps its per-element energy shift in the model's rescale module
(state dict `rescale_atomic_energy.shift`, one value per species; E_atom = scale * out + shift) and, when it
continues from a checkpoint, takes shift and scale from that state dict, not from input.yaml. So `energy_shifts:
refit` writes train/start.pth: the starting checkpoint with those shifts moved by the least-squares per-element
constants (pylmp.finetune.fitted_shifts) and without its optimizer state; `train_shift_scale: false` keeps them.

Loss: SevenNet's energy term is per atom with a fixed weight 1, its stress term is in kbar. The config's
{energy, forces, stress} weights become force_loss_weight = forces / energy and stress_loss_weight = stress /
energy / 1602.18**2, so with the default MSE the numbers mean what they mean for nequip (eV/atom, eV/A, eV/A^3).
`training.extra` merges into input.yaml's train section (SevenNet's keys: loss, loss_param, scheduler, ...).
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
from pathlib import Path

import numpy as np
import yaml

from pylmp import finetune, lammps_env, plugin
from pylmp.errors import PylmpError

INSTALL = "pip install sevenn"
KBAR_PER_EV_A3 = 1602.1766208  # SevenNet's stress loss unit
# pretrained names whose checkpoints ship inside the sevenn wheel (sevenn._const); other names download
SHIPPED = {"7net-0": "SEVENNET_0_11Jul2024", "7net-0_22may2024": "SEVENNET_0_22May2024", "7net-l3i5": "SEVENNET_l3i5"}
ALIASES = {"sevennet-0": "7net-0", "7net-0_11jul2024": "7net-0", "sevennet-l3i5": "7net-l3i5"}
CONSTANT_LR = {"scheduler": "exponentiallr", "scheduler_param": {"gamma": 1.0}}  # like the other backends' Adam


def shipped_path(name: str) -> Path | None:
    """The wheel's checkpoint file of a pretrained model name, or None when the name is not one shipped."""
    from sevenn import _const

    attr = SHIPPED.get(ALIASES.get(name.lower(), name.lower()))
    path = Path(getattr(_const, attr)) if attr and hasattr(_const, attr) else None
    return path if path and path.is_file() else None


def resolve_start(value, base: Path, src: Path) -> Path:
    """`start:` as a checkpoint path: a shipped pretrained name (7net-0) or a .pth file relative to the config."""
    shipped = shipped_path(str(value))
    if shipped:
        return shipped
    path = Path(str(value)).expanduser()
    path = path if path.is_absolute() else (base / path).resolve()
    if path.suffix != ".pth" or not path.is_file():
        raise PylmpError(f"{src}: start '{value}' is neither a SevenNet model shipped in the sevenn wheel "
                         f"({', '.join(SHIPPED)}) nor an existing SevenNet checkpoint (.pth)")
    return path


@contextlib.contextmanager
def float32_default():
    """SevenNet's loader needs torch's float32 default; nequip's loader (same process) leaves float64."""
    import torch

    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(dtype)


@functools.lru_cache(maxsize=4)
def _checkpoint(path: str, mtime: float):
    from sevenn.checkpoint import SevenNetCheckpoint

    cp = SevenNetCheckpoint(path)
    try:
        cp.config  # noqa: B018 - loads the file
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds for a file that is not a checkpoint
        raise PylmpError(f"cannot load {path} as a SevenNet checkpoint ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    return cp


def checkpoint(path: Path):
    return _checkpoint(str(path), path.stat().st_mtime)


def model_info(path: Path) -> dict:
    """Species (in the model's shift order), cutoff and multi-fidelity flag of a checkpoint."""
    from ase.data import chemical_symbols

    config = checkpoint(path).config
    type_map = config["_type_map"]  # atomic number -> index into the per-species shift
    order = sorted(type_map, key=type_map.get)
    return {"elements": [chemical_symbols[int(z)] for z in order], "cutoff": float(config["cutoff"]),
            "modal": bool(config.get("use_modality", False))}


def check(cfg) -> None:
    info = model_info(cfg.start)
    if info["modal"]:
        raise PylmpError(f"{cfg.source}: start {cfg.start.name} is a multi-fidelity SevenNet model; the sevenn backend "
                         "fine-tunes single-fidelity ones (7net-0, 7net-l3i5 or a checkpoint of your own)")
    finetune.check_elements(cfg, info["elements"])
    if cfg.target:
        raise PylmpError(f"{cfg.source}: deploy.target is for NequIP/Allegro; SevenNet deploys as serial TorchScript "
                         "(sevenn get_model), drop it")
    from sevenn import _const

    unknown = sorted(set(cfg.training["extra"]) - set(_const.DEFAULT_TRAINING_CONFIG))
    if unknown:
        raise PylmpError(f"{cfg.source}: training.extra.{unknown[0]} is not a SevenNet train key; it takes keys of "
                         "input.yaml's train section (loss, loss_param, scheduler, scheduler_param, optim_param, per_epoch)")


def _calculator(path: Path):
    from sevenn.calculator import SevenNetCalculator

    with float32_default():
        return SevenNetCalculator(str(path), device="cpu")


def write_start(cfg, out: Path, log=print) -> Path:
    """train/start.pth: the starting model's weights and config, per-element shifts refit (or kept), no optimizer."""
    import torch
    from ase.io import read

    info = model_info(cfg.start)
    cp = checkpoint(cfg.start)
    state = cp.model_state_dict
    shift = state["rescale_atomic_energy.shift"]
    old = dict(zip(info["elements"], shift.reshape(-1).tolist()))
    if cfg.training["energy_shifts"] == "refit":
        train = read(out / "data" / "train.extxyz", ":")
        new = finetune.fitted_shifts(info["elements"], old, train, _calculator(cfg.start))
        state["rescale_atomic_energy.shift"] = torch.tensor([new[el] for el in info["elements"]], dtype=shift.dtype)
        moved = {el: round(new[el] - old[el], 4) for el in new if new[el] != old[el]}
        log(f"train: per-element energy shifts refit by {moved} eV/atom (SevenNet's rescale_atomic_energy.shift)")
    config = cp.config
    config["shift"] = state["rescale_atomic_energy.shift"].tolist()
    path = out / "train" / "start.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": config, "model_state_dict": state, "epoch": 0, "time": cp.time, "hash": cp.hash}, path)
    return path


def _per_epoch(epochs: int) -> int:
    """Checkpoint interval: at most 5 epochs, and a divisor of `epochs`, so the last epoch is always saved."""
    return max(d for d in range(1, min(5, epochs) + 1) if epochs % d == 0)


def latest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    """The newest checkpoint_<epoch>.pth a (killed) training left, epoch > 0."""
    found = [(int(m.group(1)), p) for p in run_dir.glob("checkpoint_*.pth") if (m := re.fullmatch(r"checkpoint_(\d+)\.pth", p.name))]
    found = [f for f in found if f[0] > 0]
    return max(found) if found else None


def weighted_train_files(train_file: Path, run_dir: Path) -> dict[Path, int]:
    """The prepare step repeats the frames of weighted config types (training.config_type_weights); SevenNet
    weighs frames in its loss instead (data_weight, use_weight), so each distinct frame is trained once per epoch
    with its repeat count as weight: the same loss terms at a fraction of the cost (a 32-fold fault cell is one
    graph, not 32). One file per weight: train_w<weight>.extxyz."""
    from ase.io import read, write

    groups: dict[bytes, list] = {}
    for atoms in read(train_file, ":"):
        key = b"".join(np.ascontiguousarray(a).tobytes() for a in (atoms.numbers, atoms.positions, atoms.cell.array))
        groups.setdefault(key, []).append(atoms)
    by_weight: dict[int, list] = {}
    for frames in groups.values():
        by_weight.setdefault(len(frames), []).append(frames[0])
    run_dir.mkdir(parents=True, exist_ok=True)
    for old in run_dir.glob("train_w*.extxyz"):
        old.unlink()
    files = {}
    for weight, frames in sorted(by_weight.items()):
        files[run_dir / f"train_w{weight}.extxyz"] = weight
        write(run_dir / f"train_w{weight}.extxyz", frames, format="extxyz")
    return files


def write_input(cfg, out: Path, resume: Path | None) -> Path:
    """train/input.yaml for `sevenn train`: the start checkpoint's model section, pylmp's training settings."""
    t, loss = cfg.training, cfg.training["loss"]
    run_dir = out / "train"
    start = run_dir / "start.pth"
    model = checkpoint(start).yaml_dict("continue")["model"]
    model.update({"train_shift_scale": False, "train_denominator": False})  # the refit shifts stay as written
    train = {"random_seed": t["seed"], "epoch": t["epochs"], "loss": "mse", "optimizer": "adam",
             "optim_param": {"lr": t["lr"]}, **CONSTANT_LR, "force_loss_weight": loss["forces"] / loss["energy"],
             "is_train_stress": loss["stress"] > 0, "per_epoch": _per_epoch(t["epochs"]),
             "error_record": [["Energy", "MAE"], ["Force", "MAE"], ["Stress", "MAE"], ["TotalLoss", "None"]],
             # a killed run continues from its newest checkpoint (optimizer, scheduler and epoch included)
             "continue": {"checkpoint": str(resume or start), "reset_optimizer": resume is None,
                          "reset_scheduler": resume is None, "reset_epoch": resume is None}}
    if loss["stress"] > 0:
        train["stress_loss_weight"] = loss["stress"] / loss["energy"] / KBAR_PER_EV_A3**2
    train.update(t["extra"])
    files = weighted_train_files(out / "data" / "train.extxyz", run_dir)
    train["use_weight"] = any(w != 1 for w in files.values())
    data = {"batch_size": t["batch_size"], "dtype": "single",  # sevenn reads every frame (index ":")
            "load_trainset_path": [{"file_list": [{"file": str(f)}], "data_weight": dict.fromkeys(("energy", "force", "stress"), w)}
                                   for f, w in files.items()],
            "load_validset_path": [str(out / "data" / "valid.extxyz")]}
    path = run_dir / "input.yaml"
    path.write_text(f"# Written by `pylmp finetune {cfg.source}` (pylmp/finetune_sevenn.py); run: sevenn train input.yaml\n"
                    + yaml.safe_dump({"model": model, "train": train, "data": data}, sort_keys=False))
    return path


def slim(checkpoint_file: Path, dest: Path) -> Path:
    """Weights and config of a SevenNet training checkpoint, without optimizer/scheduler state (a third the size)."""
    import torch

    data = torch.load(checkpoint_file, map_location="cpu", weights_only=False)
    keep = {k: data[k] for k in ("config", "model_state_dict", "epoch", "time", "hash") if k in data}
    tmp = dest.with_suffix(".part")
    torch.save(keep, tmp)
    tmp.replace(dest)
    return dest


def train(cfg, out: Path, log=print) -> Path:
    """sevenn train in out/train (continued from its newest checkpoint when rerun) -> out/train/<name>.pth."""
    run_dir = out / "train"
    model = run_dir / f"{cfg.name}.pth"
    if finetune.trained(model, log):
        return model
    resume = latest_checkpoint(run_dir)
    if resume:
        log(f"train: continuing from {resume[1]} (epoch {resume[0]})")
    else:
        write_start(cfg, out, log)
    write_input(cfg, out, resume[1] if resume else None)
    log(f"train: sevenn train, {cfg.training['epochs']} epochs (log: {run_dir / 'sevenn.log'})")
    exe = lammps_env.venv_executable("sevenn", install=INSTALL)
    # torch's threads: one unless the user sets OMP_NUM_THREADS. On a loaded CPU (here: 2 cores, load 5-8) two
    # threads made an epoch 10-50x slower than one (measured 30-225 s vs 3.6 s per epoch of the Ni PBE frames)
    threads = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    finetune.run_logged([exe, "train", "input.yaml", "-w", str(run_dir), "-s"], run_dir / "sevenn.log", "sevenn train",
                        run_dir, env=threads)
    last = run_dir / f"checkpoint_{cfg.training['epochs']}.pth"
    if not last.is_file():
        raise PylmpError(f"sevenn train wrote no {last.name}; see {run_dir / 'sevenn.log'}")
    return slim(last, model)


def _entry(cfg, name: str, model: Path, folder: Path, description: str, elements: list[str]) -> Path:
    model_file = f"{name}.pt"
    plugin.deploy_sevennet(str(model), folder / "deployed" / model_file, force=True)
    cluster = {"pair_style": "e3gnn", "pair_coeff": f"* * ${{potdir}}/{model_file} {{elements}}", "files": [model_file],
               "max_gpus": 1, "build": "LAMMPS patched by `sevenn patch_lammps` (pair_style e3gnn, CUDA libtorch)",
               "deploy": f"sevenn get_model {model.name} -o {name} (e3gnn/parallel: add -p)"}
    notes = ("Message passing (5 layers x 5 A): exact on any number of MPI ranks (the plugin widens the ghost shell). "
             f"float32. Fine-tuned on {', '.join(elements)} frames only: other elements keep SevenNet's weights' drift.")
    return finetune.registry_entry(cfg, elements, model_file, cluster, notes, name=name, folder=folder,
                                   description=description, extra={"minimize": [1.0e-8, 1.0e-4]})  # float32 stopping


def deploy(cfg, out: Path, log=print) -> Path:
    """sevenn get_model of the fine-tuned checkpoint -> <registry>/deployed/<name>.pt + <registry>/<name>.yaml."""
    model = finetune._need(out / "train" / f"{cfg.name}.pth", "train", cfg, out)
    log("deploy: sevenn get_model (serial TorchScript for pair_style pylmp/torch)")
    from pylmp import datasets

    elements = datasets.elements(finetune.frames(cfg))
    return _entry(cfg, cfg.name, model, cfg.registry, f"{cfg.start.parent.name} fine-tuned on {cfg.dataset.name} by "
                  "`pylmp finetune`", elements)


def deploy_start(cfg, out: Path, log=print) -> Path:
    """The starting model as a potential for the 'before' score (no `before:` in the config): out/start/."""
    from pylmp import datasets

    log(f"score: deploying the starting model {cfg.start.name} for the 'before' column (set `before:` to skip)")
    return _entry(cfg, f"{cfg.name}-start", cfg.start, out / "start", f"starting model {cfg.start.name} (before fine-tuning)",
                  datasets.elements(finetune.frames(cfg)))
