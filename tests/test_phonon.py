"""Phonons (phonopy + LAMMPS forces) against an independent finite-difference code on the same potential:
ASE's Phonons with ASE's LAMMPS calculator, on the same 3x3x3 supercell of the conventional cell."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.lammpslib import LAMMPSlib
from ase.phonons import Phonons
from ase.units import _amu, _e, _hplanck

from conftest import read_results, run_study
from pylmp import lammps_env, potentials, structures

EV_TO_THZ = _e / _hplanck / 1e12
NI = """
workflow: phonon
material: {lattice: fcc, composition: {Ni: 100}, a: 3.50, atoms: 108}
potentials: [Ni_u3]
"""
NI3AL = """
workflow: phonon
material: {lattice: L12, composition: {Ni: 75, Al: 25}, a: 3.55, atoms: 108}
potentials: [NiAlH_jea]
settings: {mesh: 8, points: 60}
"""


def ase_phonons(name, cell, folder):
    """ASE finite differences (+/- 0.01 A on every atom of the unit cell, 3x3x3 supercell) with LAMMPS forces."""
    lammps_env.new_lammps(["-screen", "none", "-log", "none"]).close()  # loads the wheel's MPI library once
    pot = potentials.get(name)
    elements = list(dict.fromkeys(cell.get_chemical_symbols()))
    cmds = [line.replace("${potdir}", str(pot.files_dir)) for line in pot.lammps_lines(elements)]
    calc = LAMMPSlib(lmpcmds=cmds, atom_types={el: i for i, el in enumerate(elements, 1)}, keep_alive=True)
    ph = Phonons(cell, calc, supercell=(3, 3, 3), delta=0.01, name=str(folder / "ase-phonons"))
    ph.run()
    ph.read(acoustic=True)
    return ph


@pytest.fixture(scope="module")
def ni(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("phonon")
    out = run_study(tmp, NI, "ni")
    res = read_results(out)["Ni_u3"]
    return out, res, ase_phonons("Ni_u3", bulk("Ni", "fcc", a=res["a0_A"], cubic=True), tmp)


def test_x_and_l_frequencies_match_ase_phonons(ni):
    _, res, ref = ni
    # the conventional cube's reciprocal lattice folds the three X points onto its Gamma (3 zero modes, 6 T, 3 L)
    # and the four L points onto its R = (1/2, 1/2, 1/2) (8 T, 4 L): the same X and L modes, from ASE's code
    gamma, r = (np.sort(ref.band_structure([q])[0]) * EV_TO_THZ for q in ([0, 0, 0], [0.5, 0.5, 0.5]))
    assert np.abs(gamma[:3]).max() < 1e-3
    assert res["nu_X_T_THz"] == pytest.approx(gamma[3:9].mean(), rel=0.01)
    assert res["nu_X_L_THz"] == pytest.approx(gamma[9:].mean(), rel=0.01)
    assert res["nu_L_T_THz"] == pytest.approx(r[:8].mean(), rel=0.01)
    assert res["nu_L_L_THz"] == pytest.approx(r[8:].mean(), rel=0.01)
    # measured: the two codes agree to 1e-5; the degenerate branches stay degenerate
    assert np.ptp(gamma[3:9]) < 1e-4 and np.ptp(gamma[9:]) < 1e-4


def test_long_wavelength_slopes_give_the_elastic_constants(ni):
    # near Gamma along [100]: rho v_L^2 = C11, rho v_T^2 = C44; FBD fitted C11 = 2.33, C44 = 1.28 Mbar
    # (Foiles, Baskes, Daw, PRB 33, 7983 (1986), Table I), the values test_elastic finds by finite strain
    _, res, _ = ni
    band = res["band"]
    assert band["labels"][:2] == ["G", "X"]
    q = band["x"][1]  # |q| in 1/A (2 pi included), first point after Gamma
    nu = sorted(branch[1] for branch in band["frequencies_THz"])
    rho = 4 * 58.6934 * _amu / (res["a0_A"] * 1e-10) ** 3
    v_t, v_l = (2 * np.pi * f * 1e12 / (q * 1e10) for f in (nu[0], nu[2]))
    assert rho * v_l**2 / 1e9 == pytest.approx(233, rel=0.02)
    assert rho * v_t**2 / 1e9 == pytest.approx(128, rel=0.02)


def test_results_measured_values_and_files(ni):
    out, res, _ = ni
    assert res["a0_A"] == pytest.approx(3.52, abs=1e-4)  # the potential's lattice parameter, relaxed from 3.50
    assert res["displacements"] == 1 and res["natoms_supercell"] == 108 and res["supercell"] == "3x3x3"
    assert res["residual_force_eV_A"] < 1e-8  # perfect fcc: zero by symmetry
    m = res["measured"]
    assert "Birgeneau" in m["source"] and "Phys. Rev. 136, A1359 (1964)" in m["source"]
    assert (m["nu_X_L_THz"], m["nu_X_T_THz"]) == (8.55, 6.27)
    for key, dev in res["deviation_pct"].items():
        assert dev == pytest.approx(100 * (res[key] / m[key] - 1))
    # the stiffest mode of fcc Ni is the longitudinal X mode; T below L at X and L
    assert res["nu_max_THz"] == pytest.approx(res["nu_X_L_THz"], rel=1e-3)
    assert res["nu_X_T_THz"] < res["nu_X_L_THz"] and res["nu_L_T_THz"] < res["nu_L_L_THz"]
    # DOS integrates to 3 modes per atom
    dos = res["dos"]
    assert np.trapezoid(dos["states_per_THz"], dos["frequency_THz"]) == pytest.approx(3, rel=0.01)
    rows = (out / "phonon.csv").read_text().splitlines()
    assert rows[0] == "potential,q_path_inv_A,label,nu_1_THz,nu_2_THz,nu_3_THz" and len(rows) == 1 + len(res["band"]["x"])
    assert (out / "phonon.png").stat().st_size > 20_000
    text = (out / "Ni_u3" / "disp" / "001" / "in.lmp").read_text()
    assert "fix             relax all box/relax iso" in text and "displace_atoms  moved move 0.01 0 0 units box" in text


def test_ni3al_several_displacements_match_ase(tmp_path):
    # L1_2: two sublattices, several displaced supercells (tasks); all 12 branches at the simple-cubic
    # Gamma, X, M, R points against ASE on the same 4-atom cell and 3x3x3 supercell
    out = run_study(tmp_path, NI3AL, "ni3al")
    res = read_results(out)["NiAlH_jea"]
    assert res["displacements"] >= 2 and "nu_X_L_THz" not in res and "measured" not in res
    cell = structures.crystal("L12", {"Ni": 75, "Al": 25}, res["a0_A"], 1)
    ref = ase_phonons("NiAlH_jea", cell, tmp_path)
    points = {"G": [0, 0, 0], "X": [0, 0.5, 0], "M": [0.5, 0.5, 0], "R": [0.5, 0.5, 0.5]}
    for label, q in points.items():
        ase = np.sort(ref.band_structure([q])[0]) * EV_TO_THZ
        mine = np.array(res["special_points_THz"][label])
        assert np.abs(mine - ase).max() < 0.01 * ase.max(), label


@pytest.mark.parametrize("material, settings, expected", [
    ("{lattice: hcp, composition: {Ni: 100}}", "{}", "workflow 'phonon' relaxes a cubic cell"),
    ("{lattice: fcc, composition: {Ni: 90, Al: 10}}", "{}", "needs an ordered crystal"),
    ("{lattice: fcc, composition: {Ni: 100}}", "{path: GXQ}", "settings.path has 'Q', not a special point"),
    ("{lattice: fcc, composition: {Ni: 100}}", "{displacment: 0.02}", "did you mean 'displacement'?"),
    ("{lattice: fcc, composition: {Ni: 100}}", "{displacement: 0.5}", "settings.displacement must be between"),
])
def test_bad_input(study_file, run_cli, tmp_path, material, settings, expected):
    study = study_file(f"workflow: phonon\nmaterial: {material}\npotentials: [NiAlH_jea]\nsettings: {settings}\n")
    code, _, err = run_cli("run", study, "--out", tmp_path / "out")
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
