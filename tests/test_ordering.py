"""Chemical order by Monte Carlo swaps (real LAMMPS fix atom/swap, NiAlH_jea; small cells, short runs).

References: perfect L1_2 Ni3Al has first-shell Warren-Cowley alpha_NiAl = -1/3 exactly and eta = 1; a random cell
has alpha ~ 0 within its finite-size spread. The SRO code is checked against a direct ASE neighbour-list count, the
order parameter on ASE's own L1_2 builder, T_c's error against sampling the eta errors."""
import json
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.lattice.compounds import L1_2
from ase.neighborlist import neighbor_list

import pylmp
from pylmp.analysis import ordering
from pylmp.workflows import ordering as workflow

BASE = {"workflow": "ordering", "material": {"lattice": "fcc", "composition": {"Ni": 75, "Al": 25}, "a": 3.57, "atoms": 108},
        "potentials": ["NiAlH_jea"]}
COLD_MD = {**BASE, "settings": {"ni_percent": [75, 80], "temperatures": [300], "equilibration_steps": 200, "steps": 1000,
                                "dump_every": 100, "swaps_per_atom": 0.2}}
# rigid lattice, 256 atoms, from a random solid solution: ordering at 1000 K, disorder at 50000 K
LATTICE = {**BASE, "material": {**BASE["material"], "atoms": 256},
           "settings": {"md": False, "start": "random", "temperatures": [1000, 50000], "equilibration_steps": 40,
                        "steps": 60, "dump_every": 3, "swaps_per_atom": 1}}


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    out = tmp_path_factory.mktemp("ordering") / "cold"
    return out, pylmp.run(COLD_MD, out=out)["NiAlH_jea"]


@pytest.fixture(scope="module")
def lattice(tmp_path_factory):
    out = tmp_path_factory.mktemp("ordering") / "lattice"
    return out, pylmp.run(LATTICE, out=out)["NiAlH_jea"]


def test_perfect_l12_at_low_temperature_keeps_sro_minus_one_third_and_eta_one(cold):
    _, res = cold
    v = res["compositions"]["Ni75"]["per_T"][0]
    assert v["sro_Ni-Al"] == pytest.approx(-1 / 3, abs=max(3 * v["sro_Ni-Al_se"], 1e-3))
    assert v["sro_Al-Ni"] == pytest.approx(-1 / 3, abs=1e-3) and v["sro_Al-Al"] == pytest.approx(1.0, abs=1e-3)
    assert v["eta"] == pytest.approx(1.0, abs=max(3 * v["eta_se"], 1e-3))
    assert v["on_site_fraction"] == 1.0 and v["crystalline"] and abs(v["T_mean_K"] - 300) < 60
    assert v["acceptance_Ni_Al"] < 0.01 and v["sweeps"] > 10  # an antisite pair costs ~1 eV: kT = 26 meV rejects it
    # Ni-rich 80 %: every Al on the cube corners is the most ordered arrangement there, eta = 1 by its definition
    ni80 = res["compositions"]["Ni80"]["per_T"][0]
    assert ni80["eta"] == pytest.approx(1.0, abs=1e-3) and ni80["counts"] == {"Ni": 86, "Al": 22}
    assert res["Tc_above_Ni75_K"] == 300 and res["Tc_Ni75_K"] is None  # ordered at every temperature run: a bound


def test_high_temperature_lattice_mc_is_disordered(lattice):
    _, res = lattice
    hot = res["compositions"]["Ni75"]["per_T"][1]
    assert hot["T_set_K"] == 50000
    assert abs(hot["sro_Ni-Al"]) < 0.05 and hot["eta"] < 0.2  # eta's finite-size floor: the max over 4 sublattices
    assert hot["acceptance_Ni_Al"] > 0.8 and hot["on_site_fraction"] == 1.0


def test_energy_falls_from_random_toward_order_at_low_temperature(lattice):
    """Detailed-balance sanity: at 1000 K swaps from a random solid solution lower the energy and build Ni-Al order;
    the mean energy rises with temperature, and at 50000 K (kT = 4.3 eV) it is still no higher than the random start's."""
    _, res = lattice
    cold, hot = res["compositions"]["Ni75"]["per_T"]
    assert cold["pe_eV_per_atom"] < cold["pe_start_eV_per_atom"] - 0.02
    assert cold["sro_Ni-Al"] < -0.2 and cold["eta"] > hot["eta"]
    assert cold["pe_eV_per_atom"] < hot["pe_eV_per_atom"] - 0.02 < hot["pe_start_eV_per_atom"]
    assert cold["acceptance_Ni_Al"] < hot["acceptance_Ni_Al"]


def test_swaps_conserve_the_composition(lattice):
    out, _ = lattice
    start = workflow.start_cell(pylmp.load(LATTICE), 75)
    expected = sorted(zip(*np.unique(start.get_chemical_symbols(), return_counts=True)))
    for t in ("T1000K", "T50000K"):
        frames = list(ordering.read_frames(out / "NiAlH_jea" / "Ni75" / t / "dump.ordering.lammpstrj"))
        assert len(frames) == 21
        for *_, symbols in frames:
            assert sorted(zip(*np.unique(symbols, return_counts=True))) == expected


def direct_warren_cowley(atoms) -> dict:
    """alpha_ij = 1 - P_ij / c_j counted with ASE's neighbour list (first shell: cut-off between the shells)."""
    a = (4 * atoms.get_volume() / len(atoms)) ** (1 / 3)
    i, j = neighbor_list("ij", atoms, 0.5 * (1 / np.sqrt(2) + 1) * a)
    sym = np.array(atoms.get_chemical_symbols())
    out = {}
    for x in np.unique(sym):
        for y in np.unique(sym):
            around_x = sym[i] == x
            out[f"{x}-{y}"] = 1 - np.mean(sym[j[around_x]] == y) / np.mean(sym == y)
    return out


def test_sro_and_eta_of_ase_built_perfect_l12():
    atoms = L1_2(symbol=("Al", "Ni"), latticeconstant=3.57, size=(4, 4, 4))  # ASE's builder: Al on the corners
    sro = ordering.warren_cowley(atoms.positions, atoms.cell[:], atoms.get_chemical_symbols())
    assert sro["Ni-Al"] == pytest.approx(-1 / 3, abs=1e-12) and sro["Al-Ni"] == pytest.approx(-1 / 3, abs=1e-12)
    assert sro["Ni-Ni"] == pytest.approx(1 / 9, abs=1e-12) and sro["Al-Al"] == pytest.approx(1.0, abs=1e-12)
    assert ordering.long_range_order(atoms.get_scaled_positions(), atoms.get_chemical_symbols(), 4, "Al")["eta"] == 1.0
    # another of the four variants (shifted by a face diagonal), thermal noise and a rigid drift: still eta = 1
    moved = atoms.copy()
    moved.translate([0.0, 3.57 / 2, 3.57 / 2])
    moved.positions += np.random.default_rng(3).normal(0, 0.12, moved.positions.shape) + [0.4, -0.3, 0.2]
    lro = ordering.long_range_order(moved.get_scaled_positions(wrap=True), moved.get_chemical_symbols(), 4, "Al")
    assert lro["eta"] == 1.0 and lro["ordered_sublattice"] == 1 and lro["on_site_fraction"] == 1.0


def test_sro_of_a_random_fcc_cell_matches_a_direct_count_and_is_near_zero():
    atoms = bulk("Ni", "fcc", a=3.57, cubic=True).repeat(8)  # 2048 sites
    rng = np.random.default_rng(7)
    atoms.set_chemical_symbols(list(rng.permutation(["Al"] * 512 + ["Ni"] * 1536)))
    sro = ordering.warren_cowley(atoms.positions, atoms.cell[:], atoms.get_chemical_symbols())
    direct = direct_warren_cowley(atoms)
    assert sro == pytest.approx(direct, abs=1e-12)
    # finite-size spread of alpha_NiAl: ~ sqrt((1-c)/(c N z/2)) / ... ~ 0.01 for 2048 atoms; 0.05 is 5 sigma
    assert abs(sro["Ni-Al"]) < 0.05 and abs(sro["Al-Al"]) < 0.1
    lro = ordering.long_range_order(atoms.get_scaled_positions(), atoms.get_chemical_symbols(), 8, "Al")
    assert lro["eta"] < 0.1  # max over 4 sublattices of 512 sites: ~ 1 sigma of p, 0.02 / 0.75


def test_transition_temperature_interpolates_and_propagates_errors():
    t, eta, se = [1000, 1500, 2000], [0.9, 0.7, 0.1], [0.02, 0.03, 0.04]
    tc = ordering.transition_temperature(t, eta, se)
    assert tc["Tc_K"] == pytest.approx(1500 + 0.2 / 0.6 * 500) and tc["bracket_K"] == [1500, 2000]
    rng = np.random.default_rng(0)  # the statistical part against sampling the two bracketing etas
    e1, e2 = rng.normal(0.7, 0.03, 200_000), rng.normal(0.1, 0.04, 200_000)
    assert tc["Tc_err_stat_K"] == pytest.approx(np.std(1500 + (e1 - 0.5) / (e1 - e2) * 500), rel=0.03)
    assert tc["Tc_err_K"] == pytest.approx(np.hypot(tc["Tc_err_stat_K"], 500 / np.sqrt(12)))
    assert ordering.transition_temperature(t, [0.9, 0.8, 0.6], se)["Tc_above_K"] == 2000
    assert ordering.transition_temperature(t, [0.3, 0.2, 0.1], se)["Tc_below_K"] == 1000


def test_block_average_standard_error():
    x = np.repeat([1.0, 2.0, 3.0, 4.0], 5)  # four blocks of five equal values
    mean, se = ordering.block_average(x, 4)
    assert mean == 2.5 and se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)


def test_outputs_and_the_rendered_input(cold):
    out, res = cold
    assert (out / "ordering.png").stat().st_size > 10_000
    assert (out / "ordering.csv").read_text().startswith("potential,mode,start,ni_percent,T_set_K,T_mean_K,eta,eta_se")
    text = (out / "NiAlH_jea" / "Ni75" / "T300K" / "in.lmp").read_text()
    assert text.count("fix             swap1 all atom/swap 10 22 ") == 2 and "fix             md all npt" in text
    assert "f_swap1[1] f_swap1[2]" in text.split("# ---- equilibration")[1].split("run")[0]  # acceptance in thermo
    summary = json.loads((out / "results.json").read_text())
    workflow.plot({k: v for k, v in summary.items()}, out / "redrawn.png")  # from results.json alone
    assert (out / "redrawn.png").stat().st_size > 10_000
    assert Path(out / "NiAlH_jea" / "Ni80" / "T300K" / "series.dat").is_file()


BAD = """
workflow: ordering
material: {lattice: fcc, composition: {Ni: 75, Al: 25}, a: 3.57, atoms: 32}
potentials: [NiAlH_jea]
settings: {temperatures: [600], steps: 100, dump_every: 20, equilibration_steps: 0}
"""


@pytest.mark.parametrize("change, expected", [
    (("temperatures: [600]", "temperatures: []"), "settings.temperatures must list distinct temperatures above 0 K"),
    (("temperatures: [600]", "temperatures: [-50, 600]"), "settings.temperatures must list distinct temperatures above 0 K"),
    (("{Ni: 75, Al: 25}", "{Ni: 75, Cr: 25}"), "potential 'NiAlH_jea' does not cover Cr"),
    (("{Ni: 75, Al: 25}", "{Ni: 75, Al: 20}"), "sums to 95 at.%, not 100"),
    (("temperatures: [600]", "temperatures: [600], ni_percent: [100]"), "settings.ni_percent must list distinct Ni at.%"),
    (("temperatures: [600]", "temperatures: [600], start: sqs"), "settings.start must be ordered"),
    (("steps: 100", "steps: 90"), "settings.steps must be a multiple of dump_every"),
])
def test_bad_input_is_a_one_line_error(study_file, run_cli, tmp_path, change, expected):
    from test_errors import one_line_error

    line = one_line_error(*run_cli("run", study_file(BAD.replace(*change)), "--out", tmp_path / "out"))
    assert expected in line
    assert not (tmp_path / "out").exists()
