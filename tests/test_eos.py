"""EOS of fcc Ni against the published Foiles-Baskes-Daw values, and a0 two ways."""
import pytest

from conftest import read_results, run_study

NI_EOS = """
workflow: eos
material: {lattice: fcc, composition: {Ni: 100}, a: 3.50, atoms: 32}
potentials: [Ni_u3, Ni_snap]
settings: {points: 9, strain: 0.03}
"""


@pytest.fixture(scope="module")
def ni_eos(tmp_path_factory):
    return run_study(tmp_path_factory.mktemp("eos"), NI_EOS, "ni")


def test_ni_u3_reproduces_foiles_baskes_daw(ni_eos):
    # Foiles, Baskes, Daw, PRB 33, 7983 (1986): a0 = 3.52 A, E_coh = 4.45 eV, B = 1.804 Mbar (fitted to experiment)
    res = read_results(ni_eos)["Ni_u3"]
    assert res["a0_A"] == pytest.approx(3.52, abs=0.002)
    assert res["E_coh_eV"] == pytest.approx(4.45, abs=0.01)
    assert res["B_GPa"] == pytest.approx(180.4, rel=0.02)


def test_fit_and_zero_pressure_relaxation_agree(ni_eos):
    # two independent routes to a0: Birch-Murnaghan minimum of E(V) vs box/relax to zero pressure
    for name, res in read_results(ni_eos).items():
        assert res["a0_A"] == pytest.approx(res["a0_relaxed_A"], abs=1e-3), name


def test_outputs_written(ni_eos):
    csv = (ni_eos / "eos.csv").read_text().splitlines()
    assert csv[0].startswith("potential,a_A")
    assert len(csv) == 1 + 2 * 9
    assert (ni_eos / "eos.png").stat().st_size > 10_000
    meta = read_results(ni_eos)["Ni_snap"]["meta"]
    assert meta["lammps_version"].startswith("2025") and meta["tasks"] == 9 + 2


def test_lattice_parameter_guess_is_optional(study_file, run_cli, tmp_path):
    """Without material.a the scan centres on ASE's reference lattice parameter (Ni: 3.52 A)."""
    path = study_file("""
        workflow: eos
        material: {composition: Ni, atoms: 4}
        potentials: [Ni_u3]
        settings: {points: 5, strain: 0.02}
    """)
    code, _, err = run_cli("run", path, "--out", tmp_path / "out")
    assert code == 0, err
    assert read_results(tmp_path / "out")["Ni_u3"]["a0_A"] == pytest.approx(3.52, abs=0.002)
