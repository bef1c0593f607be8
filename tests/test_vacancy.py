"""Vacancy formation energy: Ni (Foiles-Baskes-Daw u3) against the literature, two formulas, cell-size
convergence, an independent energy from ASE's EAM calculator, Ni3Al sublattices, random-alloy realizations."""

import numpy as np
import pytest
from ase.calculators.eam import EAM
from ase.io import read

from conftest import read_results, run_study
from pylmp import potentials

NI = """
workflow: vacancy
material: {{lattice: fcc, composition: {{Ni: 100}}, a: 3.52, atoms: {atoms}}}
potentials: [Ni_u3]
"""
NI3AL = """
workflow: vacancy
material: {{lattice: L12, composition: {{Ni: 75, Al: 25}}, a: 3.57, atoms: 108, seed: {seed}}}
potentials: [NiAlH_jea]
settings: {{sites_per_species: 2}}
"""


@pytest.fixture(scope="module")
def ni(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vac")
    return {n: run_study(tmp, NI.format(atoms=n), f"ni{n}") for n in (108, 500)}


def test_ni_u3_vacancy_formation_energy(ni):
    # acceptance: 1.6 +/- 0.1 eV; Foiles, Baskes, Daw, PRB 33, 7983 (1986) quote ~1.63 eV relaxed (we get 1.632)
    res = read_results(ni[108])["Ni_u3"]
    assert res["E_vac_f_eV"] == pytest.approx(1.6, abs=0.1)
    # relaxation lowers the energy, by little in a close-packed EAM metal (~0.02 eV)
    assert 0 < res["E_vac_relax_eV"] < 0.1
    assert res["E_vac_f_unrelaxed_eV"] == pytest.approx(res["E_vac_f_eV"] + res["E_vac_relax_eV"])
    assert "fcc" in res["chemical_potential"]["convention"] and res["E_vac_f_Ni_n"] == 1


def test_pure_formula_equals_chemical_potential_formula(ni):
    # E_vac - (N-1)/N E_perfect needs no mu; equal because mu_Ni (32-atom fcc, own task) = E_perfect/N
    for out in ni.values():
        res = read_results(out)["Ni_u3"]
        assert res["E_vac_f_pure_formula_eV"] == pytest.approx(res["E_vac_f_eV"], abs=1e-6)


def test_cell_size_convergence(ni):
    # the constant-volume vacancy interacts with its images through a 1/N elastic term: measured 108 -> 500
    # changes E_f by ~1 meV, so 5 meV (a quarter of the relaxation energy) is a bound with room to spare
    e108, e500 = (read_results(ni[n])["Ni_u3"]["E_vac_f_eV"] for n in (108, 500))
    assert e108 == pytest.approx(e500, abs=0.005)


def test_outputs_and_dump_energy_from_ase(ni):
    out = ni[108]
    rows = (out / "vacancy.csv").read_text().splitlines()
    assert rows[0].startswith("potential,realization,seed,id,species") and len(rows) == 2
    assert (out / "vacancy.png").stat().st_size > 10_000
    # an independent code on the files LAMMPS wrote: ASE's EAM on the relaxed perfect cell and the vacancy dump
    task = out / "Ni_u3" / "vacancy" / "r0"
    site = read_results(out)["Ni_u3"]["sites"][0]["id"]
    vac = read(task / f"vacancy_1_id{site}.dump", format="lammps-dump-text")
    perfect = read(task / "perfect_relaxed.data", format="lammps-data", atom_style="atomic")
    assert len(vac) == len(perfect) - 1 == 107
    calc = EAM(potential=str(potentials.get("Ni_u3").files_dir / "Ni_u3.eam"))
    e_vac, e_perfect = (calc.get_potential_energy(a) for a in (vac, perfect))
    # funcfl unit constants differ by 0.05 % between LAMMPS and ASE (see test_potentials); it cancels to < 1 meV here
    assert e_vac - 107 / 108 * e_perfect == pytest.approx(read_results(out)["Ni_u3"]["E_vac_f_eV"], abs=0.003)


@pytest.fixture(scope="module")
def ni3al(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ni3al")
    return [read_results(run_study(tmp, NI3AL.format(seed=s), name))["NiAlH_jea"]
            for s, name in ((7, "a"), (7, "b"), (8, "c"))]


def test_ni3al_sublattices_distinct_and_reproducible(ni3al):
    first, again, other_seed = ni3al
    # removing Al costs far more than removing Ni in this potential (measured 3.4 vs 1.6 eV)
    assert first["E_vac_f_Al_eV"] - first["E_vac_f_Ni_eV"] > 1.0
    assert first["E_vac_f_Ni_n"] == first["E_vac_f_Al_n"] == 2
    # all sites of one L12 sublattice are equivalent: any two picks give the same energy
    assert first["E_vac_f_Ni_std_eV"] < 1e-6 and first["E_vac_f_Al_std_eV"] < 1e-6
    assert first["sites"] == again["sites"]  # same seed: same ids, same numbers
    assert [s["id"] for s in other_seed["sites"]] != [s["id"] for s in first["sites"]]
    assert other_seed["E_vac_f_Al_eV"] == pytest.approx(first["E_vac_f_Al_eV"], abs=1e-6)


def test_random_alloy_realizations(study_file, run_cli, tmp_path):
    study = study_file("""
        workflow: vacancy
        material: {lattice: fcc, composition: {Ni: 80, Al: 20}, a: 3.55, atoms: 108, seed: 3}
        potentials: [NiAlH_jea]
        settings: {sites_per_species: 2, realizations: 2, dumps: false}
    """)
    code, _, err = run_cli("run", study, "--out", tmp_path / "out")
    assert code == 0, err
    res = read_results(tmp_path / "out")["NiAlH_jea"]
    assert {s["seed"] for s in res["sites"]} == {3, 4} and res["E_vac_f_Ni_n"] == res["E_vac_f_Al_n"] == 4
    assert res["E_vac_f_Ni_std_eV"] > 1e-3  # local environments differ in a random alloy
    assert "box/relax aniso" in (tmp_path / "out" / "NiAlH_jea" / "vacancy" / "r0" / "in.lmp").read_text()
    assert np.mean([s["E_f_eV"] for s in res["sites"]]) == pytest.approx(res["E_vac_f_eV"])


@pytest.mark.parametrize("settings, expected", [
    ("{sites_per_species: -1}", "settings.sites_per_species must be 0 (auto) or a positive"),
    ("{realizations: 2}", "settings.realizations > 1 only makes sense for a random alloy; set it to 1"),
    ("{site_per_species: 1}", "did you mean 'sites_per_species'?"),
])
def test_bad_settings(study_file, run_cli, tmp_path, settings, expected):
    code, _, err = run_cli("run", study_file(NI.format(atoms=108) + f"settings: {settings}\n"), "--out", tmp_path / "out")
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
