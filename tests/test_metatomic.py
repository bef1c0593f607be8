"""PET (metatomic) natively in the plugin, on a stand-in for PET-MAD's weights (potentials/test_models/pet-standin.pt,
run/make_pet_standin.py: metatrain's PET, 4.5 A cutoff, 2 message-passing layers, float64, Ni and Al).

The stand-in is deployed with the user's command onto a copy of the pet-mad entry (tmp_path/registry/), then compared,
independently of deploy's own check, with metatomic's ASE calculator (float64: 1e-8
eV/atom); 1 vs 2 MPI ranks (ghost shell: the 9 A interaction range + one cutoff); and one study with SevenNet-0
and the PET in one process, which once failed (SevenNet's torch_geometric breaks metatensor-operations' TorchScript; bridge.import_metatomic_ase);
and an eos study through `pylmp run` against ASE's Birch-Murnaghan fit of the calculator's E(a).
"""
from __future__ import annotations

import importlib.util
import json
import shutil

import numpy as np
import pytest
from ase.build import bulk

from plugin_helpers import eos_study_and_ase_fit, mpirun_single_point
from pylmp import deploy, paths, plugin
from pylmp.cli import main
from pylmp.single_point import single_point

pytestmark = pytest.mark.skipif(importlib.util.find_spec("metatomic_ase") is None,
                                reason="metatomic-torch / metatomic-ase are not installed (run/setup installs them with .[ml])")
STANDIN = plugin.TEST_MODELS / "pet-standin.pt"


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    """pet-mad deployed from the stand-in through the CLI; the entry's YAML path."""
    folder = tmp_path_factory.mktemp("pet") / "registry"
    folder.mkdir()
    yaml = shutil.copy(paths.POTENTIALS / "pet-mad.yaml", folder / "pet-mad.yaml")
    assert main(["potentials", "deploy", str(yaml), str(STANDIN)]) == 0
    assert (folder / "deployed" / "pet-mad-v1.pt").read_bytes() == STANDIN.read_bytes()
    return yaml


def alloy_cell():
    """A sheared, rattled 48-atom Ni-Al cell, already as LAMMPS holds it (PET is invariant only as far as it learnt)."""
    atoms = bulk("Ni", "fcc", a=3.54, cubic=True).repeat((3, 2, 2))
    symbols = np.array(atoms.get_chemical_symbols())
    symbols[np.random.default_rng(5).choice(len(atoms), 10, replace=False)] = "Al"
    atoms.set_chemical_symbols(symbols)
    atoms.set_cell(atoms.cell @ np.array([[1, 0.02, 0], [0, 0.99, 0], [0.015, 0, 1.01]]), scale_atoms=True)
    atoms.rattle(0.06, seed=5)
    cell, q = atoms.cell.standard_form()
    atoms.positions = atoms.positions @ q.T
    atoms.set_cell(cell)
    return atoms


def test_plugin_equals_metatomic_calculator(entry, tmp_path):
    atoms = alloy_cell()
    energy, forces, stress = single_point(str(entry), atoms, ["Ni", "Al"], tmp_path)
    [(e_ref, f_ref, s_ref)], dtype = deploy.metatomic_evaluate(STANDIN, [atoms])
    print(f"PET stand-in in the plugin, {len(atoms)} atoms: |dE|/atom {abs(energy - e_ref) / len(atoms):.1e} eV, "
          f"max|dF| {np.abs(forces - f_ref).max():.1e} eV/A, max|dS| {np.abs(stress - s_ref).max():.1e} eV/A^3")
    assert dtype == "float64"
    assert abs(energy - e_ref) / len(atoms) < 1e-8
    assert np.abs(forces - f_ref).max() < 1e-6 and np.abs(stress - s_ref).max() < 1e-8
    assert np.abs(f_ref).max() > 0.1 and np.abs(s_ref).max() > 1e-3  # off equilibrium: the comparison means something


def test_one_rank_equals_two(entry, tmp_path):
    atoms = alloy_cell().repeat((2, 1, 1))
    results = {}
    for np_ in (1, 2):
        (tmp_path / str(np_)).mkdir()
        results[np_] = mpirun_single_point(str(entry), atoms, ["Ni", "Al"], tmp_path / str(np_), np_)
    (e1, v1, f1, _), (e2, v2, f2, log2) = results[1], results[2]
    assert "ghost cutoff set to" in log2  # the 9 A interaction range widened the ghost shell
    assert abs(e1 - e2) / len(atoms) < 1e-8 and np.abs(f1 - f2).max() < 1e-6
    assert np.abs(v1 - v2).max() < 1e-6 * max(1.0, np.abs(v1).max())  # bar


def test_sevennet_and_pet_in_one_study(entry, tmp_path):
    """One `pylmp run` process with SevenNet-0 (plugin) and the PET (plugin): both give their own a0."""
    study = tmp_path / "eos.yaml"
    study.write_text("workflow: eos\nmaterial: {lattice: fcc, composition: {Ni: 100}, a: 3.52, atoms: 4}\n"
                     f"potentials: [sevennet-0, {entry}]\nsettings: {{points: 5, strain: 0.03}}\n")
    assert main(["run", str(study), "--out", str(tmp_path / "run"), "-j", "1"]) == 0
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    assert set(res) >= {"sevennet-0", "pet-mad"}
    assert 3.3 < res["sevennet-0"]["a0_A"] < 3.7 and res["pet-mad"]["E0_eV_per_atom"] < 0, res


def test_metatomic_calculator_imports_after_sevennet():
    """SevenNet (and fairchem) import torch_geometric, which swaps torch.index_select for a Python wrapper that
    TorchScript cannot compile; metatensor-torch scripts its operations on import, so importing metatomic_ase after
    SevenNet raised. bridge.import_metatomic_ase must give the same calculator in that order (a fresh interpreter, so
    the order is the one under test) and leave torch_geometric's wrapper in place."""
    import subprocess
    import sys

    script = (
        "import json, sys, torch\n"
        "import sevenn.calculator\n"
        "wrapper = torch.index_select\n"
        "from ase.build import bulk\n"
        "from pylmp import bridge\n"
        "atoms = bulk('Ni', 'fcc', a=3.5, cubic=True); atoms.rattle(0.05, seed=1)\n"
        "atoms.calc = bridge.import_metatomic_ase().MetatomicCalculator(sys.argv[1], device='cpu')\n"
        "print(json.dumps([atoms.get_potential_energy(), torch.index_select is wrapper, wrapper.__module__]))\n")
    proc = subprocess.run([sys.executable, "-c", script, str(STANDIN)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    energy, wrapper_kept, wrapper_module = json.loads(proc.stdout.strip().splitlines()[-1])
    atoms = bulk("Ni", "fcc", a=3.5, cubic=True)
    atoms.rattle(0.05, seed=1)
    [(e_ref, _, _)], _ = deploy.metatomic_evaluate(STANDIN, [atoms])
    assert wrapper_module.startswith("torch_geometric") and wrapper_kept
    assert abs(energy - e_ref) < 1e-10, (energy, e_ref)


def test_eos_study_equals_ase_eos_fit(entry, tmp_path):
    """`pylmp run` eos on the deployed PET vs the same lattice scan in metatomic's ASE calculator + ASE's fit."""
    from pylmp import bridge

    # the stand-in learnt EAM's E(a): minimum near 3.52 A, smooth over 3.3-3.8 A
    calc = bridge.import_metatomic_ase().MetatomicCalculator(str(STANDIN), device="cpu")
    res, a0 = eos_study_and_ase_fit(entry, calc, tmp_path, 3.52, 7, 0.03)
    print(f"PET stand-in fcc Ni: a0 {res['a0_A']:.5f} A (pylmp run), {a0:.5f} A (ASE), relaxed {res['a0_relaxed_A']:.5f} A, "
          f"B {res['B_GPa']:.0f} GPa")
    assert abs(a0 - res["a0_A"]) < 1e-3, (a0, res["a0_A"])
    assert 3.45 < a0 < 3.6  # a real minimum inside the scan, not at its edge
    assert res["a0_relaxed_A"] == pytest.approx(res["a0_A"], abs=5e-3)  # E(V) fit and box/relax agree: E(a) is smooth


def test_a_file_that_is_no_metatomic_model_is_refused(tmp_path, capsys):
    (tmp_path / "registry").mkdir()
    yaml = shutil.copy(paths.POTENTIALS / "pet-mad.yaml", tmp_path / "registry" / "pet-mad.yaml")
    (tmp_path / "page.pt").write_text("<html>not a model</html>")
    assert main(["potentials", "deploy", str(yaml), str(tmp_path / "page.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "metatomic" in err, err
    assert not (tmp_path / "registry" / "deployed" / "pet-mad-v1.pt").exists()
