"""`pylmp finetune` with the sevenn backend: SevenNet-0 itself (the checkpoint inside the sevenn wheel) fine-tuned
by SevenNet's own trainer on Ni_u3 EAM labels (test_finetune.eam_frames: rattled, strained 4-atom fcc Ni cells,
ASE's EAM calculator, not LAMMPS), deployed with `sevenn get_model` into LAMMPS (pair_style pylmp/torch), scored
before (the registry's sevennet-0) and after on held-out frames.
One training (module fixture, 8 frames split 4/2/2, 5 epochs at lr 3e-4; lr 2e-3 made the forces worse). Measured:
held-out force MAE 0.239 -> 0.085 eV/A, energy 7.0 -> 1.8 meV/atom, stress 2.94 -> 1.28 GPa; the file runs in ~3 min
on the shared 2-core machine.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from ase.io import read, write
from plugin_helpers import deployed_single_points
from test_finetune import bad, eam_frames

from pylmp import finetune_sevenn, plugin
from pylmp.cli import main

F32_EPS = 2.0**-23
CONFIG = """\
name: sevennet-ft-test
backend: sevenn
start: {start}
before: sevennet-0
dataset: {dataset}
split: {{fractions: [0.5, 0.25, 0.25], seed: 0}}
training: {{epochs: 5, lr: 0.0003, batch_size: 1, seed: 1, loss: {{energy: 1.0, forces: 10.0, stress: 1.0}}}}
deploy: {{registry: registry}}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """prepare + train + deploy + score through the CLI; returns (folder, finetune.json)."""
    plugin.deploy_sevennet()  # the 'before' model (cached in potentials/deployed/)
    folder = tmp_path_factory.mktemp("finetune_sevenn")
    write(folder / "eam.extxyz", eam_frames(8), format="extxyz")
    (folder / "ft.yaml").write_text(CONFIG.format(start="7net-0", dataset="eam.extxyz"))
    assert main(["finetune", str(folder / "ft.yaml"), "--out", str(folder / "run")]) == 0
    return folder, json.loads((folder / "run" / "finetune.json").read_text())


@pytest.fixture(scope="module")
def calculators(run):
    """SevenNet's own ASE calculator on SevenNet-0 and on the fine-tuned checkpoint."""
    from sevenn.calculator import SevenNetCalculator

    with finetune_sevenn.float32_default():
        return SevenNetCalculator("7net-0", device="cpu"), SevenNetCalculator(run[1]["model"], device="cpu")


def test_finetuning_lowers_heldout_force_mae(run, calculators):
    folder, state = run
    rows = {r["metric"]: r for r in state["score"]["table"] if r["config_type"] == "all"}
    before, after = rows["force_mae_eV_A"]["before"], rows["force_mae_eV_A"]["after"]
    assert state["split"] == {"train": 4, "valid": 2, "test": 2} and state["score"]["test_frames"] == 2
    assert after < 0.5 * before, (before, after)  # measured 0.239 -> 0.085 eV/A
    # the LAMMPS 'before' column is SevenNet-0 itself: its own ASE calculator on the same held-out frames
    err = []
    for atoms in read(folder / "run" / "data" / "test.extxyz", ":"):
        ref = atoms.get_forces()
        atoms.calc = calculators[0]
        err.append(np.abs(atoms.get_forces() - ref).ravel())
    assert abs(np.concatenate(err).mean() - before) < 1e-5


def test_refit_shift_sits_in_the_checkpoint(run):
    """energy_shifts: refit moved Ni's entry of SevenNet's per-species shift (rescale_atomic_energy.shift) by
    the EAM-vs-SevenNet energy zero (~ +1.3 eV/atom: Ni_u3 -4.45 eV/atom, SevenNet-0 ~ -5.6), no other species."""
    import torch

    _, state = run
    start = torch.load(finetune_sevenn.shipped_path("7net-0"), map_location="cpu", weights_only=False)["model_state_dict"]
    tuned = torch.load(state["model"], map_location="cpu", weights_only=False)
    elements = finetune_sevenn.model_info(finetune_sevenn.shipped_path("7net-0"))["elements"]
    moved = (tuned["model_state_dict"]["rescale_atomic_energy.shift"] - start["rescale_atomic_energy.shift"]).numpy()
    ni = elements.index("Ni")
    assert 0.8 < moved[ni] < 2.0 and np.abs(np.delete(moved, ni)).max() == 0
    assert "optimizer_state_dict" not in tuned  # the kept model is weights and config only


def test_deployed_model_equals_sevenn_ase_calculator(run, calculators, tmp_path):
    """The deployed TorchScript in LAMMPS (plugin, registry entry) vs SevenNet's calculator on the checkpoint;
    float32 on both sides: energy within 8 ulp of the total (tests/test_plugin.py), forces 1e-5 eV/A."""
    folder, state = run
    entry = folder / "registry" / "sevennet-ft-test.yaml"
    assert state["potential"] == str(entry) and (folder / "registry" / "deployed" / "sevennet-ft-test.pt").is_file()
    for atoms, energy, forces, _ in deployed_single_points(entry, folder / "run", tmp_path):
        atoms.calc = calculators[1]
        ref = atoms.get_potential_energy()
        assert abs(energy - ref) <= 8 * F32_EPS * abs(ref), (energy, ref)
        assert np.abs(forces - atoms.get_forces()).max() < 1e-5
        atoms.calc = calculators[0]
        assert abs(atoms.get_potential_energy() - ref) / len(atoms) > 0.1  # it is not SevenNet-0 (shift moved)


def test_rerun_keeps_the_training(run, run_cli):
    folder, _ = run
    code, out, _ = run_cli("finetune", folder / "ft.yaml", "--out", folder / "run", "--only", "train")
    assert code == 0 and "kept" in out


@pytest.mark.parametrize("start, extra, expect", [
    ("7net-nope", "", "neither a SevenNet model shipped in the sevenn wheel"),
    ("missing.pth", "", "nor an existing SevenNet checkpoint"),
    ("7net-0", "deploy: {target: pair_allegro, registry: registry}\n", "deploy.target is for NequIP/Allegro"),
    ("7net-0", "", "training.extra.lrr is not a SevenNet train key"),
])
def test_bad_config_is_one_line_error(tmp_path, run_cli, start, extra, expect):
    text = CONFIG.format(start=start, dataset="eam.extxyz")
    if extra.startswith("deploy"):
        text = text.replace("deploy: {registry: registry}\n", extra)
    if "lrr" in expect:
        text = text.replace("seed: 1,", "seed: 1, extra: {lrr: 1},")
    path = bad(tmp_path, text)
    code, _, err = run_cli("finetune", path, "--out", tmp_path / "out")
    assert code == 2 and err.startswith("error: ") and expect in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out" / "train").exists()
