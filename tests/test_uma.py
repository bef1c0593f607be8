"""The `uma` registry entry (fairchem bridge) end to end, on a stand-in for the gated UMA weights.

potentials/test_models/uma-standin.pt (run/make_uma_standin.py) is a fairchem inference checkpoint of UMA's
architecture (eSCN-MD backbone with mixture-of-linear-experts layers, MLP_EFS_Head per dataset, task omat), tiny and
random apart from an energy readout fitted to EAM (fcc Ni a0 ~3.55 A). The tests deploy it with the user's command
onto a copy of the uma entry (tmp_path/registry/, so potentials/deployed/ is untouched), then compare, independently
of deploy's own check, the entry in LAMMPS (fix external bridge) with FAIRChemCalculator built here from fairchem's
loader (float32: 1e-5 eV/atom), and run a short eos study through `pylmp run` against an ASE equation-of-state fit
with the same calculator.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase.build import bulk

from plugin_helpers import eos_study_and_ase_fit

from pylmp import paths, plugin
from pylmp.cli import main
from pylmp.single_point import single_point

pytest.importorskip("fairchem.core", reason="fairchem-core is not installed (run/setup installs it with .[ml])")

STANDIN = plugin.TEST_MODELS / "uma-standin.pt"


def fairchem_calculator(path=STANDIN):
    """FAIRChemCalculator straight from fairchem: eager float32 on the CPU, as the bridge runs it."""
    from fairchem.core import FAIRChemCalculator, pretrained_mlip
    from fairchem.core.units.mlip_unit.api.inference import InferenceSettings

    settings = InferenceSettings(merge_mole=False, compile=False, activation_checkpointing=False, tf32=False)
    return FAIRChemCalculator(pretrained_mlip.load_predict_unit(str(path), inference_settings=settings, device="cpu"),
                              task_name="omat")


def registry_copy(folder):
    (folder / "registry").mkdir()
    return shutil.copy(paths.POTENTIALS / "uma.yaml", folder / "registry" / "uma.yaml")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """uma deployed from the stand-in through the CLI; the entry's YAML path."""
    entry = registry_copy(tmp_path_factory.mktemp("uma"))
    assert main(["potentials", "deploy", str(entry), str(STANDIN)]) == 0
    return entry


def test_deploy_places_the_checkpoint_and_checks_it(deployed):
    target = deployed.parent / "deployed" / "uma-s-1p1.pt"
    assert target.read_bytes() == STANDIN.read_bytes()
    assert main(["potentials", "show", str(deployed)]) == 0


def test_lammps_single_point_equals_fairchem_calculator(deployed, tmp_path):
    """A sheared, rattled Ni-Al-Co-Cr cell (4 LAMMPS types, triclinic) in LAMMPS through the bridge vs
    FAIRChemCalculator on the ASE cell."""
    atoms = bulk("Ni", "fcc", a=3.54, cubic=True).repeat((3, 2, 2))
    symbols = np.array(atoms.get_chemical_symbols())
    symbols[np.random.default_rng(5).choice(len(atoms), 15, replace=False)] = ["Al"] * 5 + ["Co"] * 5 + ["Cr"] * 5
    atoms.set_chemical_symbols(symbols)
    atoms.set_cell(atoms.cell @ np.array([[1, 0.02, 0], [0, 0.99, 0], [0.015, 0, 1.01]]), scale_atoms=True)
    atoms.rattle(0.06, seed=5)
    elements = ["Ni", "Al", "Co", "Cr"]
    energy, forces, stress = single_point(str(deployed), atoms, elements, tmp_path)
    atoms.calc = fairchem_calculator()
    e_ref, f_ref, s_ref = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    print(f"uma stand-in, {len(atoms)} atoms: |dE|/atom {abs(energy - e_ref) / len(atoms):.1e} eV, "
          f"max|dF| {np.abs(forces - f_ref).max():.1e} eV/A, max|dS| {np.abs(stress - s_ref).max():.1e} eV/A^3")
    assert abs(energy - e_ref) / len(atoms) < 1e-5, (energy, e_ref)
    assert np.abs(forces - f_ref).max() < 1e-4
    assert np.abs(stress - s_ref).max() < 1e-6
    assert np.abs(f_ref).max() > 0.1 and np.abs(s_ref).max() > 1e-3  # off equilibrium: the comparison means something


def test_eos_study_equals_ase_eos_fit(deployed, tmp_path):
    """`pylmp run` of an eos study on the deployed entry vs the same lattice scan and Birch-Murnaghan fit in ASE."""
    # the stand-in's fcc Ni minimum is near 3.55 A
    res, a0 = eos_study_and_ase_fit(deployed, fairchem_calculator(), tmp_path, 3.55, 7, 0.04)
    print(f"uma stand-in fcc Ni: a0 {res['a0_A']:.5f} A (pylmp run), {a0:.5f} A (ASE), relaxed {res['a0_relaxed_A']:.5f} A")
    assert abs(a0 - res["a0_A"]) < 1e-3, (a0, res["a0_A"])
    assert 3.45 < a0 < 3.65  # inside the scan, not at its edge
    assert res["a0_relaxed_A"] == pytest.approx(res["a0_A"], abs=5e-3)  # E(V) fit and box/relax agree


def test_missing_or_wrong_checkpoint_is_a_one_line_error(tmp_path, capsys):
    entry = registry_copy(tmp_path)
    study = tmp_path / "eos.yaml"
    study.write_text("workflow: eos\nmaterial: {lattice: fcc, composition: {Ni: 100}, a: 3.55, atoms: 4}\n"
                     f"potentials: [{entry}]\nsettings: {{points: 5, strain: 0.02}}\n")
    (tmp_path / "page.pt").write_text("<html>Access to this model is restricted</html>")
    cases = [(["run", str(study), "--out", str(tmp_path / "run")], ["uma-s-1p1.pt not found", "huggingface.co/facebook/UMA",
                                                                    "pylmp potentials deploy uma FILE", "never downloads"]),
             (["potentials", "deploy", str(entry), str(tmp_path / "page.pt")], ["cannot load", "not a fairchem inference checkpoint"])]
    for argv, words in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and all(w in err for w in words), err
    assert not (tmp_path / "registry" / "deployed" / "uma-s-1p1.pt").exists()
    # a wrong file put where the entry reads it by hand: the bridge's own load fails with one line too
    (tmp_path / "registry" / "deployed").mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / "page.pt", tmp_path / "registry" / "deployed" / "uma-s-1p1.pt")
    assert main(["run", str(study), "--out", str(tmp_path / "run2")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "not a fairchem inference checkpoint" in errors[0], errors


def test_mpirun_task_farm_equals_the_serial_run(deployed, tmp_path):
    """UMA's cluster route, `srun -n N python -m pylmp run STUDY` (here mpirun -np 2: a farm of two one-rank groups,
    each with its own FAIRChemCalculator), gives every task of the serial in-process run."""
    import json
    import subprocess
    import sys

    from pylmp import lammps_env

    study = tmp_path / "eos.yaml"
    study.write_text("workflow: eos\nmaterial: {lattice: fcc, composition: {Ni: 100}, a: 3.55, atoms: 4}\n"
                     f"potentials: [{deployed}]\nsettings: {{points: 5, strain: 0.04}}\n")
    assert main(["run", str(study), "--out", str(tmp_path / "serial"), "-j", "1"]) == 0
    cmd = [lammps_env.mpirun_executable(), "-np", "2", sys.executable, "-m", "pylmp", "run", str(study), "--out", "farm"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=lammps_env.subprocess_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[group 1]" in proc.stderr  # two groups took tasks
    serial = sorted((tmp_path / "serial").glob("uma/scan/*/result.json"))
    assert len(serial) == 5
    for path in serial:
        farm = tmp_path / "farm" / path.relative_to(tmp_path / "serial")
        e_serial, e_farm = (json.loads(p.read_text())["E_eV"] for p in (path, farm))
        assert abs(e_serial - e_farm) / 4 < 1e-5, (path.parent.name, e_serial, e_farm)
