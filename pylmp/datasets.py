"""DFT datasets through ASE: read labelled frames, split them reproducibly, per-element reference energies, a summary.

Any format ASE reads with energies and forces works (extended XYZ, VASP OUTCAR / vasprun.xml, ...). A frame's
`config_type` (extxyz info; "default" where absent) groups it for the splits and the accuracy breakdown.
Stresses follow ASE's convention (eV/A^3, positive = tensile); summaries give them in GPa.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read

from pylmp.errors import PylmpError

EV_A3_TO_GPA = 160.21766208
DEFAULT_TYPE = "default"


def read_frames(path: str | Path, require: tuple[str, ...] = ("energy", "forces")) -> list[Atoms]:
    """Every frame of a file, each with the DFT labels in `require` (energy, forces, stress) present."""
    path = Path(path)
    if not path.is_file():
        raise PylmpError(f"dataset {path} not found; give an extxyz, OUTCAR or vasprun.xml file with energies and forces")
    try:
        frames = read(path, index=":")
    except Exception as exc:  # ASE raises many kinds for an unreadable file
        raise PylmpError(f"dataset {path}: ASE cannot read it ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                         "use extended XYZ, OUTCAR or vasprun.xml") from None
    if not frames:
        raise PylmpError(f"dataset {path} holds no frames")
    for k, atoms in enumerate(frames):
        results = atoms.calc.results if atoms.calc is not None else {}
        for prop in require:
            if prop not in results:
                raise PylmpError(f"dataset {path}: frame {k} has no DFT {prop} (a labelled frame needs "
                                 f"{' and '.join(require)}); add it or drop the frame")
        atoms.info.setdefault("config_type", DEFAULT_TYPE)
        atoms.info["config_type"] = str(atoms.info["config_type"])
    return frames


def labels(atoms: Atoms) -> dict:
    """The frame's DFT energy (eV), forces (eV/A) and, where present, stress (Voigt xx yy zz yz xz xy, eV/A^3)."""
    res = atoms.calc.results
    out = {"energy": float(res["energy"]), "forces": np.asarray(res["forces"], float)}
    if "stress" in res:
        s = np.asarray(res["stress"], float)
        out["stress"] = s if s.shape == (6,) else s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    return out


def config_types(frames: list[Atoms]) -> list[str]:
    return [f.info.get("config_type", DEFAULT_TYPE) for f in frames]


def elements(frames: list[Atoms]) -> list[str]:
    """The dataset's elements, by atomic number."""
    numbers = sorted({int(z) for f in frames for z in f.numbers})
    return [Atoms(numbers=[z]).get_chemical_symbols()[0] for z in numbers]


def split(frames: list[Atoms], fractions=(0.8, 0.1, 0.1), seed: int = 0, train_only=()) -> dict[str, list[int]]:
    """Frame indices of train/valid/test, drawn per config_type (each type in every part where it has enough
    frames; a lone frame goes to train; every frame of a type in `train_only` goes to train). The same seed and
    file give the same split."""
    fractions = np.asarray(fractions, float)
    if len(fractions) != 3 or (fractions < 0).any() or not np.isclose(fractions.sum(), 1.0):
        raise PylmpError(f"split fractions {list(fractions)} must be three non-negative numbers summing to 1 (train, valid, test)")
    rng = np.random.default_rng(seed)
    parts = {"train": [], "valid": [], "test": []}
    types = config_types(frames)
    for ctype in dict.fromkeys(types):
        idx = [i for i, t in enumerate(types) if t == ctype]
        idx = [idx[i] for i in rng.permutation(len(idx))]
        n_valid, n_test = (0, 0) if ctype in train_only else (int(round(f * len(idx))) for f in fractions[1:])
        while n_valid + n_test >= len(idx) and n_valid + n_test > 0:  # keep at least one frame of the type for training
            n_valid, n_test = (n_valid - 1, n_test) if n_valid > n_test else (n_valid, n_test - 1)
        parts["valid"] += idx[:n_valid]
        parts["test"] += idx[n_valid:n_valid + n_test]
        parts["train"] += idx[n_valid + n_test:]
    return {k: sorted(v) for k, v in parts.items()}


def composition_matrix(frames: list[Atoms], symbols: list[str]) -> np.ndarray:
    return np.array([[int((f.numbers == Atoms(el).numbers[0]).sum()) for el in symbols] for f in frames], float)


def reference_energies(frames: list[Atoms], isolated: dict[str, float] | None = None) -> dict[str, float]:
    """Per-element energies mu_X (eV): the isolated-atom values when given, else the least-squares fit
    E_frame ~ sum_X n_X mu_X over the dataset (so E - sum n_X mu_X is the energy the composition does not explain).
    With one element the fit is the mean energy per atom; compositions that do not span every element give the
    minimum-norm fit, whose residuals are still unique."""
    symbols = elements(frames)
    if isolated is not None:
        missing = [el for el in symbols if el not in isolated]
        if missing:
            raise PylmpError(f"isolated-atom energies lack {', '.join(missing)}; give one energy (eV) per element of the dataset")
        return {el: float(isolated[el]) for el in symbols}
    energies = np.array([labels(f)["energy"] for f in frames])
    mu, *_ = np.linalg.lstsq(composition_matrix(frames, symbols), energies, rcond=None)
    return dict(zip(symbols, map(float, mu)))


def _range(values) -> dict:
    v = np.asarray(values, float)
    return {"min": float(v.min()), "max": float(v.max()), "mean": float(v.mean())} if v.size else {}


def summary(frames: list[Atoms], source: str = "") -> dict:
    """Counts per config_type, elements, energy/atom, force and stress ranges (JSON-ready)."""
    lab = [labels(f) for f in frames]
    types = config_types(frames)
    mu = reference_energies(frames)
    symbols = elements(frames)
    comp = composition_matrix(frames, symbols)
    per_type = {}
    for ctype in dict.fromkeys(types):
        idx = [i for i, t in enumerate(types) if t == ctype]
        per_type[ctype] = {"frames": len(idx), "atoms": int(sum(len(frames[i]) for i in idx)),
                           "energy_per_atom_eV": _range([lab[i]["energy"] / len(frames[i]) for i in idx])}
    forces = np.concatenate([x["forces"] for x in lab])
    stresses = [x["stress"] for x in lab if "stress" in x]
    return {
        "source": source, "frames": len(frames), "atoms": int(sum(len(f) for f in frames)), "elements": symbols,
        "atoms_per_frame": _range([len(f) for f in frames]),
        "config_types": per_type,
        "energy_per_atom_eV": _range([x["energy"] / len(f) for x, f in zip(lab, frames)]),
        "reference_energies_eV": mu,
        "energy_above_reference_per_atom_eV": _range((np.array([x["energy"] for x in lab]) - comp @ np.array(list(mu.values())))
                                                     / comp.sum(axis=1)),
        "force_component_eV_A": _range(forces.ravel()),
        "force_norm_eV_A": _range(np.linalg.norm(forces, axis=1)),
        "frames_with_stress": len(stresses),
        "stress_GPa": _range(np.ravel(stresses) * EV_A3_TO_GPA),
    }


def format_summary(s: dict) -> str:
    def rng(r, fmt=".4g"):
        return f"{r['min']:{fmt}} .. {r['max']:{fmt}} (mean {r['mean']:{fmt}})" if r else "-"

    lines = [f"dataset {s['source']}: {s['frames']} frames, {s['atoms']} atoms, elements {' '.join(s['elements'])}",
             f"  atoms per frame         {rng(s['atoms_per_frame'], '.0f')}",
             f"  energy per atom (eV)    {rng(s['energy_per_atom_eV'], '.5f')}",
             f"  above reference (eV/at) {rng(s['energy_above_reference_per_atom_eV'], '.5f')}   "
             f"reference: {', '.join(f'{k} {v:.5f}' for k, v in s['reference_energies_eV'].items())} (least-squares fit)",
             f"  |force| (eV/A)          {rng(s['force_norm_eV_A'])}",
             f"  stress (GPa)            {rng(s['stress_GPa'])} in {s['frames_with_stress']} frames",
             "  config_type             frames  atoms  energy per atom (eV)"]
    width = max([len(t) for t in s["config_types"]] + [22])
    for ctype, c in s["config_types"].items():
        lines.append(f"  {ctype:<{width}}  {c['frames']:>6}  {c['atoms']:>5}  {rng(c['energy_per_atom_eV'], '.5f')}")
    return "\n".join(lines)


def summarize_file(path: str | Path, as_json: bool = False) -> str:
    frames = read_frames(path, require=("energy", "forces"))
    s = summary(frames, str(path))
    return json.dumps(s, indent=2) if as_json else format_summary(s)


def write_split(path: str | Path, out: str | Path, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> dict[str, list[int]]:
    """train/valid/test.extxyz under `out` plus split.json (the frame indices, the seed), for training codes."""
    from ase.io import write

    frames = read_frames(path)
    parts = split(frames, fractions, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, idx in parts.items():
        write(out / f"{name}.extxyz", [frames[i] for i in idx], format="extxyz")
    (out / "split.json").write_text(json.dumps({"source": str(path), "seed": seed, "fractions": list(fractions), **parts}, indent=1) + "\n")
    return parts
