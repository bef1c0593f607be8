"""`pylmp potentials deploy NAME FILE` and `pylmp potentials list`, on the Allegro-FM route.

The real Allegro-FM weights cannot be had offline; potentials/test_models/allegro-fm-standin.nequip.zip has its
layout as the allegro-fm entry states it (89 elements, r_max 6 A, l_max 2, 2 layers, float32; narrow, EMT-trained).
The tests deploy it with the user's command onto a copy of the registry entry (tmp_path/registry/, so
potentials/deployed/ is untouched), then compare, independently of deploy's own check, the entry in LAMMPS with
nequip's ASE calculator evaluated eagerly on the package (float32: 1e-5 eV/atom), at 1 and 2 MPI ranks, and run
a short eos study through `pylmp run` against an ASE equation-of-state fit with the same calculator.
"""
from __future__ import annotations

import importlib.util
import json
import shutil

import numpy as np
import pytest
from ase.build import bulk
from plugin_helpers import eos_study_and_ase_fit, mpirun_single_point, single_point

from pylmp import deploy, finetune_mace, finetune_nequip, paths, plugin, potentials
from pylmp.cli import main

STANDIN = plugin.TEST_MODELS / "allegro-fm-standin.nequip.zip"


def registry_copy(folder, name):
    """A copy of a registry entry in folder/registry/ (its files_from: deployed resolves next to it)."""
    (folder / "registry").mkdir()
    return shutil.copy(paths.POTENTIALS / f"{name}.yaml", folder / "registry" / f"{name}.yaml")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """allegro-fm deployed from the stand-in through the CLI (nequip-compile ~1 min); the entry's YAML path."""
    plugin.plugin_path()
    folder = tmp_path_factory.mktemp("deploy")
    entry = registry_copy(folder, "allegro-fm")
    assert main(["potentials", "deploy", str(entry), str(STANDIN)]) == 0
    return entry


def alloy_cell(reps=(2, 2, 2), n_al=8, seed=3):
    atoms = bulk("Ni", "fcc", a=3.54, cubic=True).repeat(reps)
    symbols = np.array(atoms.get_chemical_symbols())
    symbols[np.random.default_rng(seed).choice(len(atoms), n_al, replace=False)] = "Al"
    atoms.set_chemical_symbols(symbols)
    atoms.set_cell(atoms.cell @ np.array([[1, 0.015, 0], [0, 0.99, 0], [0.01, 0, 1.01]]), scale_atoms=True)
    atoms.rattle(0.06, seed=seed)
    return atoms


def test_deploy_writes_the_plugin_package_and_prints_the_check(deployed, capsys):
    pot = potentials.get(str(deployed))
    assert pot.pair_style == "pylmp/torch" and (pot.files_dir / "allegro-fm.nequip.pt2").is_file()
    assert plugin.package_target(pot.files_dir / "allegro-fm.nequip.pt2") == "pair_allegro"
    assert len(pot.elements) == 89 and set(pot.elements) == set(finetune_nequip.model_info(STANDIN)["type_names"])


def test_deployed_entry_equals_nequip_ase_calculator(deployed, tmp_path):
    atoms = alloy_cell()
    energy, forces, stress = single_point(str(deployed), atoms, ["Ni", "Al"], tmp_path)
    atoms.calc = finetune_nequip.calculator(STANDIN)
    e_ref, f_ref, s_ref = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert abs(energy - e_ref) / len(atoms) < 1e-5, (energy, e_ref)
    assert np.abs(forces - f_ref).max() < 1e-4
    assert np.abs(stress - s_ref).max() < 1e-6
    assert np.abs(f_ref).max() > 0.05 and np.abs(s_ref).max() > 1e-3  # off equilibrium: the comparison means something


def test_deployed_entry_two_mpi_ranks_equal_one(deployed, tmp_path):
    """Strictly local: plain domain decomposition with the ordinary ghost shell (6 A + skin)."""
    atoms = alloy_cell(reps=(5, 3, 3), n_al=40, seed=4)
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    e1, v1, f1, _ = mpirun_single_point(str(deployed), atoms, ["Ni", "Al"], tmp_path / "1", 1)
    e2, v2, f2, _ = mpirun_single_point(str(deployed), atoms, ["Ni", "Al"], tmp_path / "2", 2)
    assert abs(e2 - e1) / len(atoms) < 1e-6
    assert np.abs(f2 - f1).max() < 1e-5
    assert np.abs(v2 - v1).max() < 1e-2  # bar


def test_eos_study_with_deployed_model_equals_ase_eos_fit(deployed, tmp_path):
    """`pylmp run` of an eos study on the deployed entry vs the same lattice scan and Birch-Murnaghan fit in ASE."""
    # the stand-in (under-trained on EMT) has a0 ~3.37 A
    res, a0 = eos_study_and_ase_fit(deployed, finetune_nequip.calculator(STANDIN), tmp_path, 3.38, 7, 0.04)
    assert abs(a0 - res["a0_A"]) < 1e-3, (a0, res["a0_A"])


def test_deploy_sevennet_checkpoint_as_torchscript(tmp_path, capsys):
    """model_format sevennet: a SevenNet checkpoint (here the committed fine-tuned sevennet-ni-pbe.pth) deployed as
    sevenn's TorchScript file for an entry of the user's own, checked by deploy against SevenNetCalculator."""
    entry = tmp_path / "registry" / "my-sevennet.yaml"
    entry.parent.mkdir()
    text = (paths.POTENTIALS / "sevennet-ni-pbe.yaml").read_text().replace("name: sevennet-ni-pbe", "name: my-sevennet")
    entry.write_text(text.replace("sevennet-ni-pbe.pt2", "my-sevennet.pt") + "model_format: sevennet\n")
    assert main(["potentials", "deploy", str(entry), str(plugin.TEST_MODELS / "sevennet-ni-pbe.pth")]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "registry" / "deployed" / "my-sevennet.pt").is_file()
    assert out.count(" ok\n") == 2 and "'my-sevennet' is ready" in out, out


def test_failed_check_moves_the_deployed_file_aside(deployed, tmp_path, monkeypatch, capsys):
    """A model that disagrees with its calculator is not left where the entry reads it. The disagreement is made
    on the reference side (1 eV added), with the real deployed package in LAMMPS."""
    shutil.copytree(deployed.parent, tmp_path / "registry")
    entry = tmp_path / "registry" / "allegro-fm.yaml"
    good = deploy.ase_reference(finetune_nequip.calculator(STANDIN))

    def keep_file_shift_reference(pot, source, out):
        return (lambda frames: [(e + 1.0, f, s) for e, f, s in good(frames)]), "float32"

    monkeypatch.setitem(deploy.CONVERTERS, "nequip", keep_file_shift_reference)
    assert main(["potentials", "deploy", str(entry), str(STANDIN)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "disagrees" in err and "failed-check" in err and "\n" not in err, err
    assert not (tmp_path / "registry" / "deployed" / "allegro-fm.nequip.pt2").exists()
    assert (tmp_path / "registry" / "deployed" / "allegro-fm.nequip.pt2.failed-check").is_file()


def test_list_marks_ready_and_missing(capsys):
    assert main(["potentials", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    assert lines["Ni_u3"].split()[1] == "ready"
    status = "ready" if (potentials.get("allegro-fm").files_dir / "allegro-fm.nequip.pt2").is_file() else "missing"
    assert lines["allegro-fm"].split()[1] == status
    if status == "missing":
        assert "pylmp potentials deploy allegro-fm FILE" in out and "Zenodo" in out


def test_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "notamodel.nequip.zip").write_text("not a zip")
    entry = registry_copy(tmp_path, "allegro-fm")
    cases = [(["potentials", "deploy", "Ni_u3", str(STANDIN)], "has no model_format"),
             (["potentials", "deploy", str(entry), str(tmp_path / "nothere.nequip.zip")], "not found; get it from"),
             (["potentials", "deploy", str(entry), str(tmp_path / "notamodel.nequip.zip")], "cannot load"),
             (["potentials", "deploy", str(entry)], "needs the weights FILE")]
    for argv, words in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and words in err and "\n" not in err, err
    assert not (tmp_path / "registry" / "deployed" / "allegro-fm.nequip.pt2").exists()


def mace_registry(folder):
    """The mace-mp entry copied into folder/registry/ with the committed stand-in export as its deployed file."""
    entry = registry_copy(folder, "mace-mp")
    (folder / "registry" / "deployed").mkdir()
    shutil.copyfile(plugin.TEST_MODELS / "mace-mp-standin-lammps.pt", folder / "registry" / "deployed" / "mace-mp-lammps.pt")
    return entry


def test_mace_mp_entry_in_the_plugin_equals_mace_ase_calculator(tmp_path):
    """The mace-mp route without .venv-mace (CI): the stand-in's committed libtorch export in LAMMPS vs MACE's own
    calculator (float64) on the same cells (potentials/test_models/mace-mp-standin-reference.json)."""
    from ase import Atoms

    entry = mace_registry(tmp_path)
    ref = json.loads((plugin.TEST_MODELS / "mace-mp-standin-reference.json").read_text())
    for name, cell in ref["cells"].items():
        atoms = Atoms(cell["symbols"], positions=cell["positions"], cell=cell["cell"], pbc=cell["pbc"])
        (tmp_path / name).mkdir()
        elements = sorted(set(cell["symbols"]), key=["Ni", "Al"].index)
        energy, forces, stress = single_point(str(entry), atoms, elements, tmp_path / name)
        assert abs(energy - cell["energy"]) / len(atoms) < 1e-8, (name, energy, cell["energy"])
        assert np.abs(forces - np.array(cell["forces"])).max() < 1e-6, name
        assert np.abs(stress - np.array(cell["stress"])).max() < 1e-8, name
        assert np.abs(np.array(cell["forces"])).max() > 0.1  # off equilibrium


def test_eos_study_with_mace_mp_entry(tmp_path):
    entry = mace_registry(tmp_path)
    study = tmp_path / "eos.yaml"
    # the stand-in's random weights put its fcc minimum near 3.82 A
    study.write_text("workflow: eos\nmaterial: {lattice: fcc, composition: {Ni: 100}, a: 3.82, atoms: 4}\n"
                     f"potentials: [{entry}]\nsettings: {{points: 7, strain: 0.04}}\n")
    assert main(["run", str(study), "--out", str(tmp_path / "run")]) == 0
    res = json.loads((tmp_path / "run" / "results.json").read_text())["mace-mp"]
    assert res["a0_A"] == pytest.approx(res["a0_relaxed_A"], abs=2e-3)  # E(V) fit and box/relax agree


@pytest.mark.skipif(not (finetune_mace.VENV / "bin" / "mace_create_lammps_model").is_file(),
                    reason="needs .venv-mace (mace-torch pins e3nn 0.4.4): run/train_mace_model --standin creates it")
def test_deploy_mace_mp_standin(tmp_path, capsys):
    """The user's command on the stand-in .model: export in .venv-mace, then deploy's own check in LAMMPS against
    MACE's calculator (also in .venv-mace)."""
    import subprocess

    subprocess.run([str(finetune_mace.exe("python")), str(paths.ROOT / "run" / "make_mace_mp_standin.py"), "--out", str(tmp_path / "made")],
                   check=True, capture_output=True)
    entry = registry_copy(tmp_path, "mace-mp")
    assert main(["potentials", "deploy", str(entry), str(tmp_path / "made" / "mace-mp-standin.model")]) == 0
    out = capsys.readouterr().out
    assert out.count(" ok\n") == 2 and "(float64;" in out, out


def test_one_study_runs_every_seed_model_with_sevennet_and_chgnet(deployed, tmp_path):
    """Item 5 and the README's claim: once the weights are deployed, one `pylmp run` process runs the stand-ins of
    Allegro-FM (plugin, nequip float32), MACE-MP (plugin, float64 TorchScript), PET-MAD (plugin, metatomic float64)
    and UMA (bridge, fairchem) beside SevenNet-0 (plugin, float32 package) and CHGNet (bridge), and each gives the
    a0 it gives alone in a fresh process."""
    import subprocess
    import sys

    for module in ("fairchem.core", "metatomic_ase"):  # found, not imported: the study imports them as a user's run does
        if importlib.util.find_spec(module.split(".")[0]) is None:
            pytest.skip(f"{module} is not installed (run/setup installs it with .[ml])")
    registry = deployed.parent  # allegro-fm is deployed there; uma and pet-mad join it
    for name, standin in (("uma", "uma-standin.pt"), ("pet-mad", "pet-standin.pt")):
        shutil.copy(paths.POTENTIALS / f"{name}.yaml", registry)
        assert main(["potentials", "deploy", str(registry / f"{name}.yaml"), str(plugin.TEST_MODELS / standin)]) == 0
    (tmp_path / "m").mkdir()
    models = {"allegro-fm": str(deployed), "mace-mp": str(mace_registry(tmp_path / "m")), "uma": str(registry / "uma.yaml"),
              "pet-mad": str(registry / "pet-mad.yaml"), "sevennet-0": "sevennet-0", "chgnet": "chgnet"}
    # a 3.24-3.96 A scan holds every minimum: stand-ins 3.37 (Allegro-FM) and 3.82 (MACE-MP), Ni 3.50
    text = "workflow: eos\nmaterial: {lattice: fcc, composition: {Ni: 100}, a: 3.6, atoms: 4}\nsettings: {points: 9, strain: 0.1}\n"
    (tmp_path / "mix.yaml").write_text(text + f"potentials: [{', '.join(models.values())}]\n")
    assert main(["run", str(tmp_path / "mix.yaml"), "--out", str(tmp_path / "mix"), "-j", "1"]) == 0
    mixed = json.loads((tmp_path / "mix" / "results.json").read_text())
    assert set(mixed) == set(models)
    for name, pot in models.items():
        alone = tmp_path / f"alone-{name}"
        proc = subprocess.run([sys.executable, "-m", "pylmp", "run", str(tmp_path / "mix.yaml"), "-p", pot, "--out", str(alone),
                               "-j", "1"], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (name, proc.stderr[-2000:])
        ref = json.loads((alone / "results.json").read_text())[name]
        # the others repeat bit for bit; UMA's float32 sums vary from call to call by ~1e-6 eV/atom even in one
        # process (measured), so it gets the float32 bound of the deploy check
        tol = 1e-5 if name == "uma" else 1e-9
        assert mixed[name]["E0_eV_per_atom"] == pytest.approx(ref["E0_eV_per_atom"], abs=tol), name
        assert mixed[name]["a0_A"] == pytest.approx(ref["a0_A"], abs=100 * tol), name
