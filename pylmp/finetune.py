"""`pylmp finetune CONFIG.yaml`: fine-tune an ML potential on a DFT dataset, deploy it into LAMMPS, score it.

Steps (each its own folder under the run folder, each kept when a later one fails; `--only STEP` runs one):
  prepare  pylmp.datasets split of the dataset (train/valid/test.extxyz + split.json under data/); frames of a
           config_type with a weight w in `training.config_type_weights` appear w times in train.extxyz
  train    the backend's own trainer (nequip-train, mace_run_train, metatrain) in train/; a killed training
           continues from its last checkpoint when the same command is rerun
  deploy   the model compiled for pair_style pylmp/torch into <registry>/deployed/ and a registry entry
           <registry>/<name>.yaml, so `pylmp run STUDY -p <name>` works in every study
  score    the accuracy workflow on the held-out test frames, the starting model (`before`) against the
           fine-tuned one, in LAMMPS: score/results.json, parity plots, and before_after.{csv,md,png};
           with `properties: STUDY.yaml` also that property study for both models (properties.compare)
Relative paths in CONFIG are relative to CONFIG's folder. Backends: pylmp.finetune_nequip (NequIP and Allegro),
pylmp.finetune_mace, pylmp.finetune_pet, pylmp.finetune_sevenn.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import yaml

from pylmp import datasets, paths, potentials, spec
from pylmp.errors import PylmpError

REQUIRED = spec.REQUIRED
TOP = {"name": REQUIRED, "backend": REQUIRED, "start": REQUIRED, "dataset": REQUIRED, "before": "", "config_types": [],
       "exclude": [], "split": {}, "training": {}, "deploy": {}, "properties": "", "functional": ""}
SPLIT = {"fractions": [0.8, 0.1, 0.1], "seed": 0, "train_only": []}
TRAINING = {"epochs": 100, "lr": 0.002, "batch_size": 4, "seed": 1, "loss": {}, "config_type_weights": {},
            "energy_shifts": "refit", "extra": {}}
LOSS = {"energy": 1.0, "forces": 1.0, "stress": 1.0}
DEPLOY = {"target": "", "registry": str(paths.POTENTIALS)}
STEPS = ("prepare", "train", "deploy", "score")
METRICS = ["energy_mae_meV_per_atom", "energy_rmse_meV_per_atom", "force_mae_eV_A", "force_rmse_eV_A",
           "stress_mae_GPa", "stress_rmse_GPa"]


@dataclasses.dataclass
class FineTune:
    name: str
    backend: str
    start: Path
    dataset: Path
    before: str  # registry name or YAML path of the starting model in LAMMPS; "" = deploy `start` for scoring
    config_types: list[str]
    exclude: list[str]  # frame names (info "name") left out, e.g. cells kept back as held-out checks
    fractions: list[float]
    split_seed: int
    train_only: list[str]  # config types never held out: the few frames that carry a property (e.g. stacking cells)
    training: dict  # TRAINING, loss filled with LOSS, numbers typed
    target: str
    registry: Path
    properties: Path | None
    functional: str
    source: Path

    def fingerprint(self) -> str:
        """What the trained model depends on: a training made with another fingerprint is not reused."""
        keys = {"backend": self.backend, "start": str(self.start), "config_types": self.config_types, "exclude": self.exclude,
                "fractions": self.fractions, "split_seed": self.split_seed, "train_only": self.train_only,
                "training": self.training,
                "dataset": hashlib.sha256(self.dataset.read_bytes()).hexdigest()}
        return json.dumps(keys, sort_keys=True)


# config `backend:` -> its module (imported on use: each pulls in its trainer's packages)
BACKENDS = {"nequip": "finetune_nequip", "allegro": "finetune_nequip", "mace": "finetune_mace", "pet": "finetune_pet",
            "sevenn": "finetune_sevenn"}


def backend(name: str):
    import importlib

    return importlib.import_module(f"pylmp.{BACKENDS[name]}")


def _path(value, base: Path, what: str, src: Path, must_exist=True) -> Path:
    p = Path(str(value)).expanduser()
    p = p if p.is_absolute() else (base / p).resolve()
    if must_exist and not p.exists():
        raise PylmpError(f"{src}: {what} {p} not found; give a path relative to {src.name}'s folder or an absolute one")
    return p


def load(path: str | Path) -> FineTune:
    path = Path(path)
    if not path.is_file():
        raise PylmpError(f"fine-tuning config {path} not found; an example is inputs/finetune_nequip_ni.yaml")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise PylmpError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    top = spec._check_keys(raw, TOP, "the fine-tuning config", path)
    if top["backend"] not in BACKENDS:
        raise PylmpError(f"{path}: unknown backend '{top['backend']}'; choose nequip (NequIP and Allegro), mace, pet or sevenn")
    name = str(top["name"])
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise PylmpError(f"{path}: name '{name}' becomes a registry entry and file name: use letters, digits, '-', '_', '.'")
    split = spec._check_keys(top["split"] or {}, SPLIT, "split", path)
    fractions = [spec._number(f, "each of split.fractions", path) for f in split["fractions"]]
    training = spec._check_keys(top["training"] or {}, TRAINING, "training", path)
    training = spec._typed_settings(training, TRAINING, path)
    training["loss"] = spec._typed_settings(spec._check_keys(training["loss"] or {}, LOSS, "training.loss", path), LOSS, path)
    if training["energy_shifts"] not in ("refit", "keep"):
        raise PylmpError(f"{path}: training.energy_shifts must be refit or keep, got {training['energy_shifts']!r}")
    weights = training["config_type_weights"] or {}
    training["config_type_weights"] = {str(k): spec._number(v, f"training.config_type_weights.{k}", path, int, 1)
                                       for k, v in weights.items()}
    for key in ("epochs", "batch_size"):
        if training[key] < 1:
            raise PylmpError(f"{path}: training.{key} must be at least 1, got {training[key]}")
    deploy = spec._check_keys(top["deploy"] or {}, DEPLOY, "deploy", path)
    base = path.parent
    impl = backend(top["backend"])
    # a backend may take a start model by name (sevenn: pretrained models shipped in its wheel)
    start = (impl.resolve_start(top["start"], base, path) if hasattr(impl, "resolve_start")
             else _path(top["start"], base, "start model", path))
    cfg = FineTune(
        name=name, backend=top["backend"], start=start,
        dataset=_path(top["dataset"], base, "dataset", path), before=str(top["before"] or ""),
        config_types=[str(t) for t in ([top["config_types"]] if isinstance(top["config_types"], str) else top["config_types"] or [])],
        exclude=[str(t) for t in ([top["exclude"]] if isinstance(top["exclude"], str) else top["exclude"] or [])],
        fractions=fractions, split_seed=spec._number(split["seed"], "split.seed", path, int),
        train_only=[str(t) for t in split["train_only"] or []], training=training,
        target=str(deploy["target"] or ""), registry=_path(deploy["registry"], base, "deploy.registry", path, must_exist=False),
        properties=_path(top["properties"], base, "properties study", path) if top["properties"] else None,
        functional=str(top["functional"] or ""), source=path.resolve())
    if cfg.before.endswith((".yaml", ".yml")):  # a potential file of the user's own, relative to CONFIG
        cfg.before = str(_path(cfg.before, base, "before", path))
    if cfg.before:
        potentials.get(cfg.before).check_files()
    impl.check(cfg)
    return cfg


# ------------------------------------------------------------------ prepare: the split

def frames(cfg: FineTune):
    """The dataset's frames (those of cfg.config_types when it names some), less those cfg.exclude names."""
    data = datasets.read_frames(cfg.dataset)
    if cfg.config_types:
        present = datasets.config_types(data)
        missing = [t for t in cfg.config_types if t not in present]
        if missing:
            raise PylmpError(f"{cfg.source}: config_types names {', '.join(missing)}, which {cfg.dataset.name} does not hold; "
                             f"it holds {', '.join(dict.fromkeys(present))}")
        data = [f for f, t in zip(data, present) if t in cfg.config_types]
    if cfg.exclude:
        names = [f.info.get("name") for f in data]
        missing = [n for n in cfg.exclude if n not in names]
        if missing:
            raise PylmpError(f"{cfg.source}: exclude names {', '.join(missing)}, which the selected frames of "
                             f"{cfg.dataset.name} do not hold (frame names are info['name'], e.g. fault/isf_11)")
        data = [f for f, n in zip(data, names) if n not in cfg.exclude]
    return data


def check_elements(cfg: FineTune, model_elements: list[str], data=None) -> None:
    """Every element of the dataset must be one the starting model knows (fine-tuning cannot add a species)."""
    have = datasets.elements(data if data is not None else frames(cfg))
    missing = [el for el in have if el not in model_elements]
    if missing:
        raise PylmpError(f"{cfg.source}: dataset {cfg.dataset.name} holds {', '.join(missing)}, which the starting model "
                         f"{cfg.start.name} does not cover (it has {' '.join(model_elements)}); choose a model with those "
                         "elements or drop those frames (config_types)")


def prepare(cfg: FineTune, out: Path) -> dict[str, list[int]]:
    """data/{train,valid,test}.extxyz and split.json; config-type weights repeat training frames."""
    from ase.io import write

    data = frames(cfg)
    for k, atoms in enumerate(data):
        if not atoms.pbc.all() or atoms.cell.rank < 3:
            raise PylmpError(f"{cfg.dataset}: frame {k} is not periodic in 3D; give it a cell or drop it")
    unknown = [t for t in cfg.training["config_type_weights"] if t not in datasets.config_types(data)]
    if unknown:
        raise PylmpError(f"{cfg.source}: training.config_type_weights names {', '.join(unknown)}, which the frames do not "
                         f"hold; config_types present: {', '.join(dict.fromkeys(datasets.config_types(data)))}")
    unknown = [t for t in cfg.train_only if t not in datasets.config_types(data)]
    if unknown:
        raise PylmpError(f"{cfg.source}: split.train_only names {', '.join(unknown)}, which the frames do not hold; "
                         f"config_types present: {', '.join(dict.fromkeys(datasets.config_types(data)))}")
    parts = datasets.split(data, cfg.fractions, cfg.split_seed, train_only=cfg.train_only)
    for part in ("valid", "test"):
        if not parts[part]:
            raise PylmpError(f"{cfg.source}: the split leaves no {part} frame ({len(data)} frames, split.fractions "
                             f"{cfg.fractions}); raise the {part} fraction or add frames")
    if cfg.training["loss"]["stress"] > 0 and not all("stress" in datasets.labels(data[i]) for i in parts["train"] + parts["valid"]):
        raise PylmpError(f"{cfg.source}: some frames of {cfg.dataset.name} have no DFT stress; set training.loss.stress: 0")
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    weights = cfg.training["config_type_weights"]
    train = [data[i] for i in parts["train"] for _ in range(weights.get(data[i].info["config_type"], 1))]
    for part, frames_ in (("train", train), ("valid", [data[i] for i in parts["valid"]]), ("test", [data[i] for i in parts["test"]])):
        write(folder / f"{part}.extxyz", frames_, format="extxyz")
    (folder / "split.json").write_text(json.dumps({"source": str(cfg.dataset), "config_types": cfg.config_types,
                                                   "seed": cfg.split_seed, "fractions": cfg.fractions,
                                                   "train_only": cfg.train_only,
                                                   "config_type_weights": weights, **parts}, indent=1) + "\n")
    return parts


def fitted_shifts(model_elements: list[str], old: dict[str, float], data, calc) -> dict[str, float]:
    """New per-type energy shifts: the old ones plus the per-element constants that best close the gap between
    the dataset's energies and the starting model's (`calc`, its ASE calculator; least squares over frames), so the
    fine-tuning starts from the dataset's energy zero instead of spending its first epochs on it. Elements absent
    from the data keep theirs."""
    predicted = []
    for atoms in data:
        copy = atoms.copy()
        copy.calc = calc
        predicted.append(copy.get_potential_energy())
    predicted = np.array(predicted)
    symbols = datasets.elements(data)
    reference = np.array([datasets.labels(f)["energy"] for f in data])
    delta, *_ = np.linalg.lstsq(datasets.composition_matrix(data, symbols), reference - predicted, rcond=None)
    new = dict(old)
    for el, d in zip(symbols, delta):
        new[el] = float(old[el] + d)
    return {el: new[el] for el in model_elements}


# ------------------------------------------------------------------ run

def _check_settings(cfg: FineTune, out: Path) -> None:
    """A finished or started training under `out` made with other settings is neither reused nor overwritten."""
    stored = out / "settings.json"
    now = cfg.fingerprint()
    if stored.is_file() and stored.read_text() != now and (out / "train").is_dir():
        old, new = json.loads(stored.read_text()), json.loads(now)
        changed = [k for k in new if old.get(k) != new[k]]
        raise PylmpError(f"{out} holds a training made with other settings (changed: {', '.join(changed)}); "
                         f"give another --out, or delete {out / 'train'} to train again")
    out.mkdir(parents=True, exist_ok=True)
    stored.write_text(now)


def run(cfg: FineTune, out: Path, only: str | None = None, log=print) -> dict:
    """All steps (or `only` one); returns finetune.json's content."""
    impl = backend(cfg.backend)
    out = Path(out).resolve()  # the trainers run in their own folders
    steps = [only] if only else list(STEPS)
    state_file = out / "finetune.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    if "prepare" in steps or "train" in steps:
        _check_settings(cfg, out)
    if "prepare" in steps:
        parts = prepare(cfg, out)
        state["split"] = {k: len(v) for k, v in parts.items()}
        log(f"prepare: {', '.join(f'{k} {len(v)}' for k, v in parts.items())} frames -> {out / 'data'}")
    if "train" in steps:
        _need(out / "data" / "train.extxyz", "prepare", cfg, out)
        state["model"] = str(impl.train(cfg, out, log))
        log(f"train: {state['model']}")
    if "deploy" in steps:
        state["potential"] = str(impl.deploy(cfg, out, log))
        log(f"deploy: registry entry {state['potential']} (pylmp run STUDY -p {_cli_name(cfg, state['potential'])})")
    if "score" in steps:
        _need(out / "data" / "test.extxyz", "prepare", cfg, out)
        after = state.get("potential") or _need(cfg.registry / f"{cfg.name}.yaml", "deploy", cfg, out)
        before = cfg.before or str(impl.deploy_start(cfg, out, log))
        state["score"] = score(cfg, out, before, str(after), log)
    out.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=1) + "\n")
    return state


def _need(path: Path, step: str, cfg: FineTune, out: Path) -> Path:
    if not path.exists():
        raise PylmpError(f"{path} missing: run the {step} step first (`pylmp finetune {cfg.source} --out {out} --only {step}`)")
    return path


def run_logged(cmd: list[str], log_file: Path, what: str, cwd: Path, env: dict | None = None) -> None:
    """A trainer or exporter with its output appended to log_file; a failure is one line naming its last error.
    `env`: variables set for the command on top of this process's environment."""
    import os
    import subprocess

    with open(log_file, "a") as fh:
        proc = subprocess.run(cmd, check=False, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, **env} if env else None)
    if proc.returncode != 0:
        lines = [ln for ln in log_file.read_text().splitlines() if ln.strip()] or ["no output"]
        cause = next((ln for ln in reversed(lines) if "Error:" in ln or "Exception:" in ln), lines[-1])
        raise PylmpError(f"{what} failed: {cause.strip()[:300]}; full log {log_file}")


def _cli_name(cfg: FineTune, entry: str) -> str:
    return cfg.name if Path(entry).parent.resolve() == paths.POTENTIALS.resolve() else entry


def trained(model: Path, log=print) -> bool:
    """A finished training is never redone: True (and says so) when its model file is already there."""
    if model.is_file():
        log(f"train: kept {model} (delete it to train again)")
    return model.is_file()


def registry_entry(cfg: FineTune, elements: list[str], model_file: str, cluster: dict, notes: str, name: str = "",
                   folder: Path | None = None, description: str = "", extra: dict | None = None) -> Path:
    """<folder>/<name>.yaml (default: the registry, cfg.name) for a deployed model lying in <folder>/deployed/."""
    name, folder = name or cfg.name, folder or cfg.registry
    entry = {
        "name": name, "description": description or f"{cfg.backend} model fine-tuned on {cfg.dataset.name} by `pylmp finetune`",
        "kind": "ml", "elements": list(elements), "pair_style": "pylmp/torch",
        "pair_coeff": f"* * ${{potdir}}/{model_file} {{elements}}", "files": [model_file], "files_from": "deployed",
        "packages": ["PLUGIN"], "functional": cfg.functional or f"that of {cfg.dataset.name}",
        "reference": f"fine-tuned by pylmp: `pylmp finetune {cfg.source}` (start: {cfg.start})",
        "plugin": "pylmp/torch", "deploy": f"pylmp finetune {cfg.source} --only deploy", "cluster": cluster, "notes": notes,
        **(extra or {}),  # backend-specific registry keys (e.g. minimize tolerances of a float32 model)
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(f"# Written by `pylmp finetune {cfg.source}`; its deploy step rewrites it.\n"
                    + yaml.safe_dump(entry, sort_keys=False, width=1000))
    potentials.registry.cache_clear()
    potentials._load_file.cache_clear()
    return path


# ------------------------------------------------------------------ score: before / after

def _composition(elements: list[str]) -> dict[str, float]:
    shares = [round(100 / len(elements), 6)] * len(elements)
    shares[-1] = 100 - sum(shares[:-1])
    return dict(zip(elements, shares))


def score(cfg: FineTune, out: Path, before: str, after: str, log=print) -> dict:
    """Accuracy workflow (LAMMPS single points) on the held-out frames for both models; the before/after table."""
    from pylmp import study

    test = out / "data" / "test.extxyz"
    folder = out / "score"
    folder.mkdir(parents=True, exist_ok=True)
    study_file = folder / "accuracy.yaml"
    study_file.write_text(yaml.safe_dump({
        "name": f"{cfg.name}-score", "workflow": "accuracy",
        "material": {"composition": _composition(datasets.elements(datasets.read_frames(test)))},
        "potentials": [before, after], "settings": {"dataset": str(test), "energy_reference": "fit"}}, sort_keys=False))
    st = spec.load(study_file)
    names = [potentials.get(p).name for p in st.potentials]
    summary = study.run(st, folder)
    table = before_after(summary[names[0]], summary[names[1]])
    write_table(table, folder / "before_after", names)
    log(format_table(table, names))
    result = {"before": names[0], "after": names[1], "test_frames": summary[names[1]]["frames"], "table": table}
    if cfg.properties:
        result["properties"] = score_properties(cfg, out, before, after, log)
    return result


def before_after(b: dict, a: dict) -> list[dict]:
    """One row per error metric and config_type: before, after, and the change in percent."""
    rows = []
    for ctype, mb, ma in [("all", b, a)] + [(t, b["by_config_type"][t], a["by_config_type"][t]) for t in a["by_config_type"]]:
        for key in METRICS:
            vb, va = mb.get(key), ma.get(key)
            change = None if vb in (None, 0) or va is None else 100 * (va - vb) / vb
            rows.append({"config_type": ctype, "metric": key, "before": vb, "after": va, "change_pct": change})
    return rows


def format_table(rows: list[dict], names: list[str]) -> str:
    fmt = lambda x, f=".4g": "-" if x is None else f"{x:{f}}"
    lines = [f"| config_type | metric | {names[0]} (before) | {names[1]} (after) | change |", "|---|---|---|---|---|"]
    lines += [f"| {r['config_type']} | {r['metric']} | {fmt(r['before'])} | {fmt(r['after'])} | {fmt(r['change_pct'], '+.1f')} % |"
              for r in rows]
    return "\n".join(lines)


def write_table(rows: list[dict], stem: Path, names: list[str]) -> None:
    import csv

    from pylmp.analysis import plotting

    with open(stem.with_suffix(".csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    stem.with_suffix(".md").write_text(format_table(rows, names) + "\n")
    overall = [r for r in rows if r["config_type"] == "all" and r["after"] is not None]
    fig, axes = plotting.figure(ncols=len(overall), width=2.2, height=3.4)
    for ax, r in zip(np.atleast_1d(axes), overall):
        ax.bar([0, 1], [r["before"] or 0, r["after"]], color=["0.6", "tab:blue"])
        ax.set_xticks([0, 1], ["before", "after"])
        ax.set_title(r["metric"].replace("_", " "), fontsize=8)
    fig.suptitle(f"held-out errors: {names[0]} -> {names[1]}", fontsize=9)
    plotting.save(fig, stem.with_suffix(".png"))


def score_properties(cfg: FineTune, out: Path, before: str, after: str, log=print) -> list[dict]:
    """The property study (cfg.properties) for both models; properties.compare's before/after rows."""
    from pylmp import study
    from pylmp.workflows import properties

    st = spec.load(cfg.properties, potential_override=[before, after])
    folder = out / "properties"
    summary = study.run(st, folder)
    names = [potentials.get(p).name for p in st.potentials]
    rows = properties.compare(summary, summary, pairs=[(names[0], names[1])])
    (folder / "before_after.json").write_text(json.dumps(rows, indent=1) + "\n")
    properties.plot_compare(rows, folder / "before_after.png")
    log(f"properties: {folder / 'before_after.json'}, {folder / 'before_after.png'}")
    return rows
