"""gamma/gamma' misfit against the eos workflow's a0 of both phases, and the coherent interface energy from the
two-thickness difference against a direct sum with separately strained bulk references (real LAMMPS, NiAlH_jea)."""
import numpy as np
import pytest
from ase.io import write

import pylmp
from pylmp import lammps_env, single_point
from pylmp.errors import PylmpError
from pylmp.workflows import misfit

STUDY = {"workflow": "misfit", "material": {"lattice": "fcc", "composition": {"Ni": 100, "Al": 0}, "a": 3.54, "atoms": 108},
         "potentials": ["NiAlH_jea"], "settings": {"interfaces": ["100", "111"], "layers": 3}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("misfit")
    return out, pylmp.run(STUDY, out=out / "misfit")["NiAlH_jea"]


def test_misfit_equals_the_eos_lattice_parameters_of_both_phases(run, tmp_path):
    _, res = run
    eos = {"workflow": "eos", "potentials": ["NiAlH_jea"], "settings": {"points": 9, "strain": 0.01}}  # narrow: the fit is exact to ~1e-5 A
    a_ni = pylmp.run({**eos, "material": {"composition": "Ni", "a": 3.52, "atoms": 32}}, out=tmp_path / "ni")["NiAlH_jea"]["a0_A"]
    a_l12 = pylmp.run({**eos, "material": {"lattice": "L12", "composition": {"Ni": 75, "Al": 25}, "a": 3.57, "atoms": 32}},
                      out=tmp_path / "l12")["NiAlH_jea"]["a0_A"]
    assert res["a_gamma_A"] == pytest.approx(a_ni, abs=5e-5) and res["a_gamma_prime_A"] == pytest.approx(a_l12, abs=5e-5)
    assert res["misfit"] == pytest.approx(2 * (a_l12 - a_ni) / (a_l12 + a_ni), abs=1e-4)
    assert 0.005 < res["misfit"] < 0.03  # Ni3Al's cell is the larger one


def strained_bulk_energy(cell, lx: float, ly: float, folder):
    """A periodic bulk cell of one phase with the bilayer's in-plane lengths, relaxed along z only (LAMMPS)."""
    cell = cell.copy()
    cell.set_cell(np.diag([lx, ly, cell.cell[2, 2]]), scale_atoms=True)
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "data.lmp", cell, format="lammps-data", specorder=["Ni", "Al"], masses=True)
    lines = ["units metal", "atom_style atomic", "boundary p p p", f"read_data {folder / 'data.lmp'}",
             *single_point.registry_lines("NiAlH_jea", ["Ni", "Al"]),
             "fix relax all box/relax z 0.0 vmax 0.001", "minimize 1e-14 1e-10 10000 100000", "minimize 1e-14 1e-10 10000 100000"]
    lmp = lammps_env.new_lammps(["-log", str(folder / "log.lammps"), "-screen", "none"])
    try:
        lmp.commands_list(lines)
        return lmp.get_thermo("pe")
    finally:
        lmp.close()


@pytest.mark.parametrize("plane", ["100", "111"])
def test_interface_energy_equals_a_direct_sum_over_strained_bulk_phases(run, plane):
    """sigma from E(n), E(2n) vs sigma = (E_bilayer - E_gamma_strained - E_gamma'_strained) / 2A, the two halves of
    the thick bilayer rebuilt as bulk crystals at its relaxed in-plane cell."""
    out, res = run
    st = pylmp.load(STUDY)
    thick = out / "misfit" / "NiAlH_jea" / f"interface_{plane}" / "n6"
    import json

    r = json.loads((thick / "result.json").read_text())
    cell = misfit.bilayer(st, plane, 6)
    half = len(cell) // 2
    parts = {name: cell[idx] for name, idx in (("gamma", slice(0, half)), ("gamma_prime", slice(half, None)))}
    energies = {}
    for name, atoms in parts.items():
        atoms.set_cell(cell.cell[:] * [[1], [1], [0.5]])
        atoms.positions[:, 2] -= atoms.positions[:, 2].min()
        energies[name] = strained_bulk_energy(atoms, r["lx_A"], r["ly_A"], out / f"direct_{plane}_{name}")
    direct = (r["E_eV"] - sum(energies.values())) / (2 * r["lx_A"] * r["ly_A"]) * misfit.EV_A2_TO_MJ_M2
    assert res["interfaces"][plane]["E_int_mJ_m2"] == pytest.approx(direct, abs=1.0)
    assert res["interfaces"][plane]["area_mismatch"] < 1e-3
    assert res["interfaces"][plane]["coherency_eV_per_atom"] > 0  # strained phases lie above the unstrained ones


def test_outputs(run):
    out, res = run
    assert {"E_int_100_mJ_m2", "E_int_111_mJ_m2", "misfit", "a_gamma_A"} <= set(res)
    assert (out / "misfit" / "misfit.png").stat().st_size > 10_000
    assert (out / "misfit" / "misfit.csv").read_text().startswith("potential,a_gamma_A,a_gamma_prime_A,misfit")


def test_precipitate_elements_must_be_in_the_type_map():
    bad = {**STUDY, "material": {"lattice": "fcc", "composition": {"Ni": 100}}}
    with pytest.raises(PylmpError, match="add Al: 0"):
        pylmp.load(bad)


def test_misfit_vs_temperature_runs_npt_of_both_phases(tmp_path):
    short = {**STUDY, "settings": {"interfaces": [], "temperatures": [300], "equilibration_steps": 200, "steps": 200}}
    res = pylmp.run(short, out=tmp_path / "t")["NiAlH_jea"]
    vs = res["vs_T"]
    assert vs["T_K"] == [300] and len(vs["misfit"]) == 1 and abs(vs["T_mean_K"][0] - 300) < 100
    for phase in ("gamma", "gamma_prime"):
        assert vs[f"a_{phase}_A"][0] == pytest.approx(res[f"a_{phase}_A"], rel=5e-3)
    assert vs["misfit"][0] == pytest.approx(misfit.misfit(vs["a_gamma_A"][0], vs["a_gamma_prime_A"][0]))
    assert (tmp_path / "t" / "NiAlH_jea" / "gamma_prime" / "T300K" / "in.lmp").read_text().count("fix             md all npt") == 1
