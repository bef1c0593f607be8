"""Accuracy against DFT: energy per atom, force and stress MAE / RMSE of a potential on a labelled dataset.

One task per frame (template accuracy.lmp.j2): a LAMMPS single point of the frame's cell, so every prediction
is a plain input a user can rerun, and a long dataset resumes frame by frame. LAMMPS wants a along x and b in the
xy plane; the data file holds the frame rotated that way, and forces and stress are rotated back to the dataset's
frame (ase Prism) before they are compared.

Energies: a classical potential's zero is the isolated atoms, DFT's is the code's own; with
`energy_reference: fit` (default) the predictions are first shifted by per-element constants fitted by least
squares to the DFT energies (E_pred + sum_X n_X s_X ~ E_DFT), the shifts are reported. `none` compares raw energies.
Stress in GPa, ASE's sign (positive = tensile): sigma = -P of LAMMPS; frames without a DFT stress are left out of it.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from ase.calculators.lammps import Prism

from pylmp import datasets, potentials
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

NO_STRUCTURE = ("workflow 'accuracy' evaluates the frames of settings.dataset; put your structures there (any file ASE reads) "
                "and drop material.structure")
DEFAULTS = {"dataset": "", "energy_reference": "fit", "config_types": []}  # [] = every frame
REFERENCES = ("fit", "none")
BAR_TO_GPA = 1e-4
VOIGT = ["xx", "yy", "zz", "yz", "xz", "xy"]


def dataset_path(study) -> Path:
    """The dataset file, relative to the study file's folder unless absolute."""
    path = Path(study.settings["dataset"]).expanduser()
    return path if path.is_absolute() else (Path(study.source).parent / path).resolve()


@functools.lru_cache(maxsize=4)
def _frames(path: Path, mtime: float):
    return datasets.read_frames(path, require=("energy", "forces"))


def frames(study):
    """The dataset's frames, those of settings.config_types only when it names some."""
    path = dataset_path(study)
    if not study.settings["dataset"] or not path.is_file():
        raise PylmpError(f"{study.source}: settings.dataset {str(path) if study.settings['dataset'] else '(not set)'} not found; "
                         "give the path of an extxyz/OUTCAR/vasprun.xml file with energies and forces, relative to the study file")
    data = _frames(path, path.stat().st_mtime)
    wanted = study.settings["config_types"]
    if wanted:
        wanted = [str(t) for t in ([wanted] if isinstance(wanted, str) else wanted)]
        present = datasets.config_types(data)
        missing = [t for t in wanted if t not in present]
        if missing:
            raise PylmpError(f"{study.source}: settings.config_types names {', '.join(missing)}, which {path.name} does not hold; "
                             f"it holds {', '.join(dict.fromkeys(present))}")
        data = [f for f, t in zip(data, present) if t in wanted]
    # material.composition names the elements studied: frames holding others are left out (counted in results)
    mine = [f for f in data if set(f.get_chemical_symbols()) <= set(study.present_elements)]
    if not mine:
        raise PylmpError(f"{study.source}: no frame of {path.name} is made of {'-'.join(study.present_elements)} alone "
                         f"(it holds {' '.join(datasets.elements(data))}); list those elements in material.composition")
    return mine


def left_out(study) -> int:
    return len(_frames(dataset_path(study), dataset_path(study).stat().st_mtime)) - len(frames(study))


def check(study) -> None:
    if study.settings["energy_reference"] not in REFERENCES:
        raise PylmpError(f"{study.source}: settings.energy_reference must be one of {', '.join(REFERENCES)}, "
                         f"got {study.settings['energy_reference']!r}")
    data = frames(study)
    for k, atoms in enumerate(data):
        if not atoms.pbc.all() or atoms.cell.rank < 3:
            raise PylmpError(f"{dataset_path(study)}: frame {k} is not periodic in 3D; LAMMPS needs a cell: "
                             "give it one (a molecule in a box) or drop it")
    symbols = datasets.elements(data)
    for name in study.potentials:
        pot = potentials.get(name)
        try:
            pot.check_elements(symbols)
        except PylmpError as exc:
            raise PylmpError(f"dataset {dataset_path(study).name} holds {' '.join(symbols)}: {exc}") from None


def tasks(study, potential) -> list[Task]:
    data = frames(study)
    symbols = datasets.elements(data)
    out = []
    for k, atoms in enumerate(data):
        cell = atoms.copy()
        cell.calc = None
        out.append(Task(f"frame{k:04d}", "accuracy.lmp.j2", cell, potential, symbols,
                        {"frame": k, "config_type": atoms.info["config_type"], "dataset": dataset_path(study).name}))
    return out


def errors(reference, predicted) -> dict:
    """Mean absolute and root-mean-square error over all numbers given."""
    diff = np.ravel(predicted) - np.ravel(reference)
    if diff.size == 0:
        return {"mae": None, "rmse": None}
    return {"mae": float(np.abs(diff).mean()), "rmse": float(np.sqrt((diff ** 2).mean()))}


def read_forces(path: Path) -> np.ndarray:
    """fx fy fz of a `write_dump ... id type x y z fx fy fz modify sort id` file."""
    return np.loadtxt(path, skiprows=9, ndmin=2)[:, 5:8]


def predictions(data, results) -> list[dict]:
    """Per frame: LAMMPS energy, forces and stress (GPa, ASE sign) in the dataset's axes."""
    out = []
    for k, atoms in enumerate(data):
        res = results[f"frame{k:04d}"]
        prism = Prism(atoms.cell.array)
        p = np.array([[res["pxx_bar"], res["pxy_bar"], res["pxz_bar"]],
                      [res["pxy_bar"], res["pyy_bar"], res["pyz_bar"]],
                      [res["pxz_bar"], res["pyz_bar"], res["pzz_bar"]]])
        sigma = -prism.tensor2_to_ase(p) * BAR_TO_GPA
        forces = prism.vector_to_ase(read_forces(Path(res["_folder"]) / "forces.dump"))
        out.append({"energy": res["E_eV"], "forces": forces,
                    "stress": sigma[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]})
    return out


def energy_shift(data, e_pred: np.ndarray, e_ref: np.ndarray, how: str) -> dict[str, float]:
    symbols = datasets.elements(data)
    if how == "none":
        return {el: 0.0 for el in symbols}
    shift, *_ = np.linalg.lstsq(datasets.composition_matrix(data, symbols), e_ref - e_pred, rcond=None)
    return dict(zip(symbols, map(float, shift)))


def metrics(parity: dict, mask) -> dict:
    """MAE/RMSE of the frames selected by mask (energy in meV/atom, forces eV/A, stress GPa)."""
    mask = np.asarray(mask, bool)
    atom_mask = np.repeat(mask, parity["natoms"])
    f_ref, f_pred = np.array(parity["force_ref_eV_A"]).reshape(-1, 3), np.array(parity["force_pred_eV_A"]).reshape(-1, 3)
    has_stress = np.array(parity["has_stress"], bool)
    s_mask = mask[has_stress]
    s_ref, s_pred = np.array(parity["stress_ref_GPa"]).reshape(-1, 6), np.array(parity["stress_pred_GPa"]).reshape(-1, 6)
    e = errors(np.array(parity["energy_ref_eV_per_atom"])[mask], np.array(parity["energy_pred_eV_per_atom"])[mask])
    f = errors(f_ref[atom_mask], f_pred[atom_mask])
    s = errors(s_ref[s_mask], s_pred[s_mask])
    return {"frames": int(mask.sum()), "atoms": int(atom_mask.sum()),
            "energy_mae_meV_per_atom": 1000 * e["mae"], "energy_rmse_meV_per_atom": 1000 * e["rmse"],
            "force_mae_eV_A": f["mae"], "force_rmse_eV_A": f["rmse"],
            "stress_mae_GPa": s["mae"], "stress_rmse_GPa": s["rmse"], "frames_with_stress": int(s_mask.sum())}


def analyze(study, results) -> dict:
    data = frames(study)
    pred = predictions(data, results)
    lab = [datasets.labels(a) for a in data]
    natoms = np.array([len(a) for a in data])
    e_ref = np.array([x["energy"] for x in lab])
    e_raw = np.array([p["energy"] for p in pred])
    shift = energy_shift(data, e_raw, e_ref, study.settings["energy_reference"])
    e_pred = e_raw + datasets.composition_matrix(data, list(shift)) @ np.array(list(shift.values()))
    has_stress = ["stress" in x for x in lab]
    types = datasets.config_types(data)
    parity = {
        "config_type": types, "natoms": natoms.tolist(), "has_stress": has_stress,
        "energy_ref_eV_per_atom": (e_ref / natoms).tolist(), "energy_pred_eV_per_atom": (e_pred / natoms).tolist(),
        "force_ref_eV_A": np.concatenate([x["forces"] for x in lab]).ravel().tolist(),
        "force_pred_eV_A": np.concatenate([p["forces"] for p in pred]).ravel().tolist(),
        "stress_ref_GPa": [v * datasets.EV_A3_TO_GPA for x in lab if "stress" in x for v in x["stress"]],
        "stress_pred_GPa": [v for p, h in zip(pred, has_stress) if h for v in p["stress"]],
    }
    return {
        **metrics(parity, np.ones(len(data))),
        "by_config_type": {t: metrics(parity, np.array(types) == t) for t in dict.fromkeys(types)},
        "energy_reference": study.settings["energy_reference"], "energy_shift_eV": shift,
        "dataset": str(dataset_path(study)), "frames_left_out": left_out(study), "parity": parity,
    }


def ranked(summary) -> list[str]:
    """Potentials by force MAE (the error that decides MD and relaxations) to 1 meV/A, then by energy MAE: on
    frames whose forces vanish by symmetry every potential ties on forces, and the energies decide."""
    return sorted(summary, key=lambda n: (round(summary[n]["force_mae_eV_A"], 3), summary[n]["energy_mae_meV_per_atom"]))


def rows(summary) -> list[dict]:
    keys = ["frames", "atoms", "energy_mae_meV_per_atom", "energy_rmse_meV_per_atom", "force_mae_eV_A", "force_rmse_eV_A",
            "stress_mae_GPa", "stress_rmse_GPa"]
    out = []
    for rank, name in enumerate(ranked(summary), 1):
        res = summary[name]
        for ctype, m in [("all", res)] + list(res["by_config_type"].items()):
            out.append({"rank": rank, "potential": name, "config_type": ctype, **{k: m[k] for k in keys}})
    return out


def plot(summary, path) -> None:
    """Parity plots: energy per atom (after the reference shift), force and stress components, all potentials."""
    fig, axes = plotting.figure(ncols=3, width=4.2, height=4.2)
    colors = plotting.colors(summary)
    panels = [("energy_ref_eV_per_atom", "energy_pred_eV_per_atom", "energy per atom (eV)", "energy_mae_meV_per_atom", "meV/atom"),
              ("force_ref_eV_A", "force_pred_eV_A", "force component (eV/A)", "force_mae_eV_A", "eV/A"),
              ("stress_ref_GPa", "stress_pred_GPa", "stress component (GPa)", "stress_mae_GPa", "GPa")]
    for ax, (ref_key, pred_key, label, mae_key, unit) in zip(axes, panels):
        lo, hi = np.inf, -np.inf
        for name in ranked(summary):
            par = summary[name]["parity"]
            ref, pred = np.array(par[ref_key]), np.array(par[pred_key])
            if ref.size == 0:
                continue
            mae = summary[name][mae_key]
            ax.plot(ref, pred, "o", ms=3, alpha=0.6, color=colors[name], label=f"{name} (MAE {mae:.3g} {unit})")
            lo, hi = min(lo, ref.min(), pred.min()), max(hi, ref.max(), pred.max())
        if np.isfinite(lo):
            pad = 0.05 * (hi - lo or 1.0)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k-", lw=0.8)
        ax.set_xlabel(f"DFT {label}")
        ax.set_ylabel(f"potential {label}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    axes[0].set_title("energy (per-element shift fitted)" if next(iter(summary.values()))["energy_reference"] == "fit" else "energy")
    axes[1].set_title("forces")
    axes[2].set_title("stress")
    plotting.save(fig, path)
