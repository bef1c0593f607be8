"""NequIP / Allegro fine-tuning with nequip 0.19: nequip-train -> nequip-package -> nequip-compile (AOTInductor).

The starting model is a package (.nequip.zip, the distributed form, e.g. Allegro-FM or pylmp's tiny models) or a
training checkpoint (.ckpt), loaded by nequip's own fine-tuning builders (ModelFromPackage / ModelFromCheckpoint)
under the persistent modifier modify_PerTypeScaleShift, which sets the per-type energy shifts to the dataset's
energy zero (pylmp.finetune.fitted_shifts). The config is templates/finetune_nequip.yaml.j2.
"""
from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import numpy as np

from pylmp import finetune, lammps_env, plugin, render
from pylmp.errors import PylmpError

INSTALL = "pip install nequip nequip-allegro"


def _exe(name: str) -> str:
    return lammps_env.venv_executable(name, install=INSTALL)


@contextlib.contextmanager
def torch_default_dtype_kept():
    """Run under float64 as torch's default dtype, as nequip assumes, and give the process its default back after.
    nequip's own loaders set float64 for the whole process (nequip.utils.global_state), which breaks float32 models
    used later in it (CHGNet, SevenNet: "Float did not match Double")."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def kept_dtype_calculator(load):
    """nequip's ASE calculator built by `load()`, loaded and evaluated under torch_default_dtype_kept: its
    inputs follow torch's default dtype, so under float32 a float64 model would see rounded positions."""
    from ase.calculators.calculator import Calculator, all_changes

    class NequIPKeptDtype(Calculator):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.model = inner, inner.model
            self.implemented_properties = list(inner.implemented_properties)

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            with torch_default_dtype_kept():
                self.inner.calculate(self.atoms, properties, system_changes)
            self.results = dict(self.inner.results)

    with torch_default_dtype_kept():
        return NequIPKeptDtype(load())


@functools.lru_cache(maxsize=4)
def _calculator(path: str, mtime: float):
    from nequip.integrations.ase import NequIPCalculator

    try:
        return kept_dtype_calculator(lambda: NequIPCalculator._from_saved_model(path, device="cpu", chemical_species_to_atom_type_map=True))
    except Exception as exc:  # noqa: BLE001 - torch/nequip raise many kinds for a file that is not a model
        raise PylmpError(f"cannot load {path} as a nequip model ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}); "
                         "give a .nequip.zip package (nequip-package build) or a nequip-train .ckpt") from None


def calculator(path: Path):
    """nequip's ASE calculator of a package or checkpoint, evaluated eagerly (no compile)."""
    return _calculator(str(path), path.stat().st_mtime)


def model_info(path: Path) -> dict:
    """type_names, r_max, per-type energy shifts and whether it is an Allegro model (strictly local)."""
    model = calculator(path).model
    type_names = model.metadata["type_names"].split()
    shifts = {}
    for mod in model.modules():
        if type(mod).__name__ == "PerTypeScaleShift" and getattr(mod, "has_shifts", False):
            values = mod.shifts.detach().reshape(-1).tolist()
            shifts = dict(zip(type_names, values * len(type_names) if len(values) == 1 else values))
    return {"type_names": type_names, "r_max": float(model.metadata["r_max"]), "shifts": shifts or dict.fromkeys(type_names, 0.0),
            "allegro": any("Allegro" in type(m).__name__ for m in model.modules())}


def check(cfg) -> None:
    if not (cfg.start.name.endswith(".nequip.zip") or cfg.start.suffix == ".ckpt"):
        raise PylmpError(f"{cfg.source}: start {cfg.start.name} is neither a nequip package (.nequip.zip) nor a checkpoint (.ckpt)")
    if cfg.target not in ("", *plugin.NEQUIP_TARGETS):
        raise PylmpError(f"{cfg.source}: deploy.target must be one of {', '.join(plugin.NEQUIP_TARGETS)} (default: from the model), "
                         f"got {cfg.target!r}")
    info = model_info(cfg.start)
    finetune.check_elements(cfg, info["type_names"])
    if cfg.target == "pair_allegro" and not info["allegro"]:
        raise PylmpError(f"{cfg.source}: deploy.target pair_allegro needs a strictly local Allegro model; {cfg.start.name} "
                         "passes messages: use pylmp_nequip")
    unknown = set(cfg.training["extra"]) - {"trainer", "optimizer"}
    if unknown:
        raise PylmpError(f"{cfg.source}: training.extra.{min(unknown)} is not used by the nequip backend; "
                         "it takes trainer: {...} (lightning.Trainer arguments) and optimizer: {...} (torch.optim.Adam arguments)")


def write_config(cfg, out: Path) -> Path:
    """train/config.yaml for nequip-train, with the refit energy shifts."""
    from ase.io import read

    info = model_info(cfg.start)
    shifts, note = info["shifts"], "kept from the starting model"
    if cfg.training["energy_shifts"] == "refit":
        train = read(out / "data" / "train.extxyz", ":")
        shifts = finetune.fitted_shifts(info["type_names"], shifts, train, calculator(cfg.start))
        note = "starting model's shifts + least-squares fit of E_DFT - E_model over the training frames"
    loss = cfg.training["loss"]
    kind = "EnergyForceStress" if loss["stress"] > 0 else "EnergyForce"
    coeffs = {"total_energy": loss["energy"], "forces": loss["forces"], **({"stress": loss["stress"]} if loss["stress"] > 0 else {})}
    run_dir = out / "train"
    text = render.render(
        "finetune_nequip.yaml.j2", source=cfg.source, start=str(cfg.start), data_dir=str(out / "data"), run_dir=str(run_dir),
        seed=cfg.training["seed"], r_max=info["r_max"], type_names=info["type_names"],
        files={"train": "train.extxyz", "val": "valid.extxyz", "test": "test.extxyz"}, batch_size=cfg.training["batch_size"],
        epochs=cfg.training["epochs"], lr=cfg.training["lr"], loss_class=kind, loss_coeffs=coeffs,
        metric_coeffs={f"{k}_mae": v for k, v in coeffs.items()}, shifts=shifts, shift_note=note,
        loader="nequip.model.ModelFromPackage" if cfg.start.name.endswith(".zip") else "nequip.model.ModelFromCheckpoint",
        loader_key="package_path" if cfg.start.name.endswith(".zip") else "checkpoint_path")
    extra = cfg.training["extra"]
    if extra:  # user's additions to the Trainer / optimizer, merged over the template's
        import yaml

        doc = yaml.safe_load(text)
        doc["trainer"].update(extra.get("trainer", {}))
        doc["training_module"]["optimizer"].update(extra.get("optimizer", {}))
        text = text.split("\nrun:")[0] + "\n" + yaml.safe_dump(doc, sort_keys=False)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(text)
    return run_dir / "config.yaml"


def train(cfg, out: Path, log=print) -> Path:
    """nequip-train in out/train (continued from last.ckpt when one is there), then the package out/train/<name>.nequip.zip."""
    run_dir = out / "train"
    package = run_dir / f"{cfg.name}.nequip.zip"
    if finetune.trained(package, log):
        return package
    write_config(cfg, out)
    cmd = [_exe("nequip-train"), "-cp", str(run_dir), "-cn", "config.yaml", f"hydra.run.dir={run_dir}"]
    if (run_dir / "last.ckpt").is_file():
        log(f"train: continuing from {run_dir / 'last.ckpt'}")
        cmd.append(f"++ckpt_path={run_dir / 'last.ckpt'}")
    log(f"train: nequip-train, {cfg.training['epochs']} epochs (log: {run_dir / 'nequip-train.log'})")
    finetune.run_logged(cmd, run_dir / "nequip-train.log", "nequip-train", run_dir)
    return package_checkpoint(run_dir / "last.ckpt", package)


def package_checkpoint(ckpt: Path, package: Path) -> Path:
    """nequip-package of the checkpoint. nequip stores one training frame with more than 3 atoms as the example
    that nequip-compile traces later; DFT frames are often smaller (1-atom fcc, 2-atom hcp), and tracing a
    1- or 2-atom example fails (shape specialization), so the package is built from a copy of the checkpoint whose
    training set is one supercell (>= 16 atoms) of the largest training frame. The weights are untouched."""
    import torch
    from ase.io import read, write

    data = torch.load(ckpt, map_location="cpu", weights_only=False)
    train_path = data["hyper_parameters"]["info_dict"]["data"]["train_dataset"]["file_path"]
    big = max(read(train_path, ":"), key=len)
    reps = [1, 1, 1]
    while len(big) * int(np.prod(reps)) < 16:
        reps[int(np.argmin([np.linalg.norm(v) * r for v, r in zip(big.cell, reps)]))] += 1
    example = big.repeat(reps)
    example.calc = None
    write(ckpt.parent / "package_example.extxyz", example, format="extxyz")
    data["hyper_parameters"]["info_dict"]["data"]["train_dataset"]["file_path"] = str(ckpt.parent / "package_example.extxyz")
    copy = ckpt.parent / "package_source.ckpt"
    torch.save(data, copy)
    tmp = package.with_name(package.name.replace(".nequip.zip", ".part.nequip.zip"))
    finetune.run_logged([_exe("nequip-package"), "build", str(copy), str(tmp)], ckpt.parent / "nequip-package.log", "nequip-package", ckpt.parent)
    tmp.replace(package)
    return package


def _entry(cfg, name: str, model: Path, folder: Path, target: str, description: str) -> Path:
    """Compile `model` into folder/deployed/<name>.nequip.pt2 and write folder/<name>.yaml."""
    info = model_info(model)
    model_file = f"{name}.nequip.pt2"
    plugin.compile_nequip(str(model), target, folder / "deployed" / model_file)
    style = "allegro" if target == "pair_allegro" else "nequip"
    cluster = {"pair_style": style, "pair_coeff": f"* * ${{potdir}}/{model_file} {{elements}}", "files": [model_file],
               **({"kokkos": "newton on neigh full"} if style == "allegro" else {}),
               "build": "LAMMPS with pair_nequip_allegro linked against libtorch",
               "deploy": f"nequip-compile {model.name} {model_file} --mode aotinductor --device cuda --target pair_{style} (on the cluster's GPU)"}
    notes = ("Strictly local (Allegro): exact on any number of MPI ranks." if style == "allegro" else
             "Message passing (NequIP): exact on any number of MPI ranks (ghost shell num_layers x r_max)."
             if target == "pylmp_nequip" else "Message passing (NequIP), nequip's pair_nequip target: one MPI rank only.")
    return finetune.registry_entry(cfg, info["type_names"], model_file, cluster, notes, name=name, folder=folder,
                                   description=description)


def default_target(cfg) -> str:
    """pair_allegro for Allegro (strictly local), pylmp_nequip for NequIP (message passing on any number of ranks)."""
    return cfg.target or ("pair_allegro" if model_info(cfg.start)["allegro"] else "pylmp_nequip")


def deploy(cfg, out: Path, log=print) -> Path:
    """The fine-tuned package compiled into <registry>/deployed/ (AOTInductor, this CPU) + <registry>/<name>.yaml."""
    package = finetune._need(out / "train" / f"{cfg.name}.nequip.zip", "train", cfg, out)
    target = default_target(cfg)
    log(f"deploy: nequip-compile --target {target} (a few minutes on a busy machine)")
    return _entry(cfg, cfg.name, package, cfg.registry, target,
                  f"{cfg.start.name.split('.')[0]} fine-tuned on {cfg.dataset.name} by `pylmp finetune`")


def deploy_start(cfg, out: Path, log=print) -> Path:
    """The starting model as a potential for the 'before' score (no `before:` in the config): out/start/."""
    target = default_target(cfg)
    log(f"score: compiling the starting model {cfg.start.name} for the 'before' column (set `before:` to skip)")
    return _entry(cfg, f"{cfg.name}-start", cfg.start, out / "start", target, f"starting model {cfg.start.name} (before fine-tuning)")
