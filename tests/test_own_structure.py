"""material.structure: a user's own crystal (a file ASE reads, or ASE Atoms from the Python API) in place of the built
lattice, checked against the same physics built by pylmp; and the Python API (pylmp.run / pylmp.load)."""
import numpy as np
import pytest
from ase.build import bulk
from ase.io import write

import pylmp
from conftest import read_results, run_study
from pylmp import spec, structures
from pylmp.errors import PylmpError

L12_BUILT = """
workflow: elastic
material: {lattice: L12, composition: {Ni: 75, Al: 25}, a: 3.57, atoms: 108}
potentials: [NiAlH_jea]
"""
L12_CIF = """
workflow: elastic
material: {structure: ni3al.cif, atoms: 108}
potentials: [NiAlH_jea]
"""


def ni3al(a: float = 3.57):
    """L1_2 Ni3Al built with ASE alone (not pylmp's builder): Al at the cube corner, Ni on the face centres."""
    from ase.spacegroup import crystal

    return crystal(["Al", "Ni"], basis=[(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[a, a, a, 90, 90, 90])


@pytest.fixture(scope="module")
def elastic_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("own")
    write(tmp / "ni3al.cif", ni3al(), format="cif")
    return {name: read_results(run_study(tmp, text, name))["NiAlH_jea"] for name, text in (("built", L12_BUILT), ("cif", L12_CIF))}


def test_elastic_of_an_l12_cif_equals_the_built_l12_study(elastic_runs):
    built, cif = elastic_runs["built"], elastic_runs["cif"]
    assert cif["a0_A"] == pytest.approx(built["a0_A"], abs=1e-5)
    for key in ("C11_GPa", "C12_GPa", "C44_GPa", "B_GPa"):
        assert cif[key] == pytest.approx(built[key], abs=0.05), key
    assert cif["E0_eV_per_atom"] == pytest.approx(built["E0_eV_per_atom"], abs=1e-6)


def test_cif_study_reads_its_composition_and_lattice_parameter(tmp_path, study_file):
    write(tmp_path / "ni3al.cif", ni3al(3.6), format="cif")
    st = spec.load(study_file("workflow: eos\nmaterial: {structure: ni3al.cif, atoms: 32}\npotentials: [NiAlH_jea]\n"))
    assert st.composition == {"Al": 25.0, "Ni": 75.0} and st.atoms == 32 and st.a == pytest.approx(3.6)
    assert structures.study_relax_mode(st) == "iso"
    scaled = spec.load(study_file("workflow: eos\nmaterial: {structure: ni3al.cif, a: 3.5}\npotentials: [NiAlH_jea]\n"))
    assert scaled.atoms == 4 and scaled.structure.cell.lengths() == pytest.approx([3.5] * 3)


def test_api_eos_of_a_triclinic_primitive_supercell_equals_the_built_cube(tmp_path):
    """A rhombohedral supercell of the fcc primitive cell (a tilted LAMMPS box) as Atoms through pylmp.run, and the
    built 32-atom cube as a dict: the same crystal, so the same a0, B and E0."""
    study = {"workflow": "eos", "potentials": ["Ni_u3"], "settings": {"points": 9, "strain": 0.03}}
    prim = bulk("Ni", "fcc", a=3.52).repeat((3, 3, 3))  # 27 atoms, 60-degree cell
    own = pylmp.run({**study, "material": {"structure": prim}}, out=tmp_path / "own")["Ni_u3"]
    built = pylmp.run({**study, "material": {"composition": {"Ni": 100}, "a": 3.52, "atoms": 32}}, out=tmp_path / "built")["Ni_u3"]
    assert own["a0_A"] == pytest.approx(built["a0_A"], abs=2e-5)
    assert own["B_GPa"] == pytest.approx(built["B_GPa"], rel=2e-3)
    assert own["E0_eV_per_atom"] == pytest.approx(built["E0_eV_per_atom"], abs=1e-6)
    assert (tmp_path / "own" / "Ni_u3" / "relax" / "result.json").is_file()


def test_api_accepts_path_dict_and_study_alike(tmp_path, study_file):
    text = "workflow: eos\nmaterial: {composition: Ni, a: 3.52, atoms: 4}\npotentials: [Ni_u3]\nsettings: {points: 7}\n"
    path = study_file(text)
    from_path = pylmp.run(path, out=tmp_path / "a")["Ni_u3"]
    import yaml

    from_dict = pylmp.run(yaml.safe_load(text), out=tmp_path / "b")["Ni_u3"]
    from_study = pylmp.run(pylmp.load(path), out=tmp_path / "c")["Ni_u3"]
    assert from_path["a0_A"] == from_dict["a0_A"] == from_study["a0_A"]
    assert isinstance(pylmp.load(path), pylmp.Study)


def test_lammps_data_file_with_a_type_map(tmp_path):
    """A LAMMPS data file names no elements: material.types maps its types. Vacancy energies equal the built L1_2 study's."""
    vac = {"workflow": "vacancy", "potentials": ["NiAlH_jea"], "settings": {"sites_per_species": 1}}
    built = pylmp.load({**vac, "material": {"lattice": "L12", "composition": {"Ni": 75, "Al": 25}, "a": 3.57, "atoms": 108}})
    write(tmp_path / "ni3al.data", structures.study_cell(built), format="lammps-data", specorder=["Al", "Ni"], masses=False)
    mine = {**vac, "material": {"structure": str(tmp_path / "ni3al.data"), "types": ["Al", "Ni"]}}
    own = pylmp.load(mine)
    assert own.composition == {"Al": 25.0, "Ni": 75.0}
    assert own.structure.get_chemical_symbols() == structures.study_cell(built).get_chemical_symbols()
    r_built = pylmp.run(built, out=tmp_path / "built")["NiAlH_jea"]
    r_own = pylmp.run(own, out=tmp_path / "own")["NiAlH_jea"]
    for el in ("Ni", "Al"):
        assert r_own[f"E_vac_f_{el}_eV"] == pytest.approx(r_built[f"E_vac_f_{el}_eV"], abs=1e-5)


@pytest.mark.parametrize("material, files, message", [
    ("{structure: missing.cif}", {}, "material.structure"),
    ("{structure: junk.cif}", {"junk.cif": "this is not a crystal\n"}, "could not be read by ASE"),
    ("{structure: cell.data}", {"cell.data": "x\n\n2 atoms\n1 atom types\n0 3 xlo xhi\n0 3 ylo yhi\n0 3 zlo zhi\n\nAtoms # atomic\n\n1 1 0 0 0\n2 1 1.5 1.5 1.5\n"},
     "material.types"),
    ("{structure: ni3al.cif, composition: {Ni: 100}}", {}, "material.composition comes from material.structure"),
    ("{structure: ni3al.cif, types: [Ni]}", {}, "drop material.types"),
    ("{composition: Ni, types: [Ni]}", {}, "material.types describes"),
])
def test_bad_structures_give_one_line_errors(tmp_path, run_cli, material, files, message):
    write(tmp_path / "ni3al.cif", ni3al(), format="cif")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "study.yaml"
    path.write_text(f"workflow: eos\nmaterial: {material}\npotentials: [NiAlH_jea]\n")
    code, _, err = run_cli("run", path, "--out", tmp_path / "out")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_structure_refused_where_the_workflow_builds_its_own_cells_or_the_potential_lacks_an_element(tmp_path, run_cli):
    write(tmp_path / "ni3al.cif", ni3al(), format="cif")
    for text, message in (("workflow: gsfe\nmaterial: {structure: ni3al.cif}\npotentials: [NiAlH_jea]\n", "works with eos"),
                          ("workflow: eos\nmaterial: {structure: ni3al.cif}\npotentials: [Ni_u3]\n", "Al")):
        path = tmp_path / "study.yaml"
        path.write_text(text)
        code, _, err = run_cli("run", path, "--out", tmp_path / "out")
        assert code == 2 and err.count("\n") == 1 and message in err, err


def test_elastic_refuses_a_non_cubic_structure(tmp_path, study_file):
    hcp = bulk("Co", "hcp", a=2.5, c=4.07)
    write(tmp_path / "co.vasp", hcp, format="vasp")
    with pytest.raises(PylmpError, match="not cubic"):
        spec.load(study_file("workflow: elastic\nmaterial: {structure: co.vasp}\npotentials: [MoCoNiVFeAlCr_meam]\n"))
    st = spec.load(study_file("workflow: eos\nmaterial: {structure: co.vasp, atoms: 64}\npotentials: [MoCoNiVFeAlCr_meam]\n"))
    assert structures.study_relax_mode(st) == "tri" and st.atoms == 64
    assert np.isclose(st.a, 2.5)


def test_phonons_of_a_primitive_cell_supercell_equal_the_built_cube_at_x_and_l(tmp_path):
    """64 atoms of the fcc primitive cell (4x4x4, tilted box, phonopy finds the primitive itself) vs the built 2x2x2
    conventional cube: X and L are commensurate with both supercells, where a supercell's frequencies are exact."""
    study = {"workflow": "phonon", "potentials": ["Ni_u3"], "settings": {"mesh": 8, "points": 40}}
    prim = bulk("Ni", "fcc", a=3.52).repeat((4, 4, 4))
    own = pylmp.run({**study, "material": {"structure": prim}}, out=tmp_path / "own")["Ni_u3"]
    built = pylmp.run({**study, "material": {"composition": "Ni", "a": 3.52, "atoms": 32}}, out=tmp_path / "built")["Ni_u3"]
    assert own["a0_A"] == pytest.approx(built["a0_A"], abs=1e-5)
    for point in ("X", "L"):
        assert own["special_points_THz"][point] == pytest.approx(built["special_points_THz"][point], abs=0.01), point
    assert max(built["special_points_THz"]["X"]) > 5.0  # real frequencies, not a trivially empty comparison


def test_elastic_of_a_tilted_primitive_cell_supercell_equals_the_built_cube(tmp_path):
    """The fcc primitive cell repeated 4x4x4 runs in a tilted LAMMPS box whose axes are not the cubic ones: C_ij come
    back rotated onto the crystal's cubic axes and equal the conventional cube's."""
    study = {"workflow": "elastic", "potentials": ["Ni_u3"]}
    own = pylmp.run({**study, "material": {"structure": bulk("Ni", "fcc", a=3.52).repeat((4, 4, 4))}}, out=tmp_path / "own")["Ni_u3"]
    built = pylmp.run({**study, "material": {"composition": "Ni", "a": 3.52, "atoms": 108}}, out=tmp_path / "built")["Ni_u3"]
    assert own["a0_A"] == pytest.approx(built["a0_A"], abs=1e-5)
    for key in ("C11_GPa", "C12_GPa", "C44_GPa"):
        assert own[key] == pytest.approx(built[key], abs=0.3), key
    assert own["C11_GPa"] - own["C12_GPa"] > 50  # cubic axes: unrotated, C11 and C12 would mix with C44


def test_tobermorite_workflow_relaxes_a_users_crystal_like_the_built_one(tmp_path):
    """The built Hamid crystal written to extxyz and read back as material.structure: the same short CHGNet relaxation
    gives the same cell and energy; the input cell becomes the reference the deviations are measured from."""
    from pylmp import tobermorite

    write(tmp_path / "hamid.extxyz", tobermorite.build("hamid1981", 1), format="extxyz")
    settings = {"max_steps": 2, "cycle_steps": 1, "box_steps": 1}
    comp = {"Ca": 12, "Si": 16, "O": 53.333333, "H": 18.666667}
    built = pylmp.run({"workflow": "tobermorite", "material": {"composition": comp, "seed": 1}, "potentials": ["chgnet"],
                       "settings": settings}, out=tmp_path / "built")["chgnet"]
    own = pylmp.run({"workflow": "tobermorite", "material": {"structure": str(tmp_path / "hamid.extxyz")}, "potentials": ["chgnet"],
                     "settings": settings}, out=tmp_path / "own")["chgnet"]
    for key in ("a_A", "b_A", "c_A", "alpha_deg", "beta_deg", "gamma_deg", "V_A3"):
        assert own[key] == pytest.approx(built[key], abs=1e-4), key
    assert own["E_eV_per_atom"] == pytest.approx(built["E_eV_per_atom"], abs=1e-5)
    assert own["reference_cell"] == "input structure" and built["reference_cell"] == "hamid1981_monoclinic"
    # the built crystal's own cell vs Hamid's paper is ~0 by construction; the input cell here is that crystal
    assert own["deviation_pct"]["a_A"] == pytest.approx(100 * (own["a_A"] / own["published"]["a_A"] - 1))
    assert set(own["deviation_vs_pct"]) == {"hamid1981_monoclinic", "merlino2001_urals_mdo2"}
    assert (tmp_path / "own" / "tobermorite.png").stat().st_size > 10_000


def test_point_defects_of_an_l12_cif_equal_the_built_l12_study(tmp_path):
    """Vacancies and antisites on the inequivalent sites of a CIF (spglib classes) vs the built L1_2 sublattices:
    the same 108-atom cell, so the same energies under every chemical-potential convention."""
    write(tmp_path / "ni3al.cif", ni3al(), format="cif")
    study = {"workflow": "point_defects", "potentials": ["NiAlH_jea"], "settings": {"dumps": False}}
    own = pylmp.run({**study, "material": {"structure": str(tmp_path / "ni3al.cif"), "atoms": 108}}, out=tmp_path / "own")["NiAlH_jea"]
    built = pylmp.run({**study, "material": {"lattice": "L12", "composition": {"Ni": 75, "Al": 25}, "a": 3.57, "atoms": 108}},
                      out=tmp_path / "built")["NiAlH_jea"]
    names = ["vacancy_Ni", "vacancy_Al", "antisite_Al_Ni", "antisite_Ni_Al"]
    assert [d["defect"] for d in own["defects"]] == [d["defect"] for d in built["defects"]] == names
    for key in [f"E_f_{n}{lim}_eV" for n in names for lim in ("", "_Ni_rich", "_Al_rich")] + ["E_antisite_pair_eV"]:
        assert own[key] == pytest.approx(built[key], abs=1e-6), key
    assert own["a0_A"] == pytest.approx(built["a0_A"], abs=1e-6) and own["natoms"] == 108
    assert 1.0 < own["E_f_vacancy_Ni_eV"] < own["E_f_vacancy_Al_eV"]  # measured about 1.6 and 3.4 eV


@pytest.mark.parametrize("text, message", [
    ("workflow: point_defects\nmaterial: {structure: ni3al.cif, atoms: 108}\npotentials: [NiAlH_jea]\n"
     "settings: {defects: [vacancy, dumbbell_100]}\n", "interstitials (dumbbell_100) are built on the fcc lattice only"),
    ("workflow: accuracy\nmaterial: {structure: ni3al.cif}\npotentials: [NiAlH_jea]\n",
     "workflow 'accuracy' evaluates the frames of settings.dataset; put your structures there (any file ASE reads)"),
])
def test_structure_where_a_workflow_cannot_use_it_says_why_in_one_line(tmp_path, run_cli, text, message):
    write(tmp_path / "ni3al.cif", ni3al(), format="cif")
    path = tmp_path / "study.yaml"
    path.write_text(text)
    code, _, err = run_cli("run", path, "--out", tmp_path / "out")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err
