"""gsfe beyond pure-metal paths: gamma surface, random-alloy averages, L1_2 Ni3Al planar faults (small, fast cells)."""
import csv

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from conftest import read_results, run_study
from pylmp import faults

SURFACE = """
workflow: gsfe
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52}
potentials: [Ni_u3]
settings: {layers: 12, points: 3, surface: [5, 7]}
"""
# Ni-Al random alloy with NiAlH_jea: 12 planes of 16 atoms, 2 fault planes per cell
ALLOY = """
workflow: gsfe
material: {{lattice: fcc, composition: {composition}, a: 3.52, seed: 7}}
potentials: [NiAlH_jea]
settings: {{layers: 12, repeat: [4, 2], points: 3, realizations: {realizations}, positions: 2}}
"""
NI_PURE = """
workflow: gsfe
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52}
potentials: [NiAlH_jea]
settings: {layers: 12, points: 3}
"""
NI3AL = """
workflow: gsfe
material: {lattice: L12, composition: {Ni: 75, Al: 25}, a: 3.57}
potentials: [NiAlH_jea]
settings: {layers: 12, points: 3}
"""


@pytest.fixture(scope="module")
def surface_out(tmp_path_factory):
    return run_study(tmp_path_factory.mktemp("surface"), SURFACE, "ni")


def test_gamma_surface_is_periodic_symmetric_and_matches_the_path(surface_out):
    ni = read_results(surface_out)["Ni_u3"]
    gs = ni["gamma_surface"]
    g = np.array(gs["gamma_mJ_m2"])  # rows: y = 0, 0.5, ... 3 b_p; columns: x = 0, 1/4, ... 1 a/sqrt(2)
    assert g.shape == (7, 5)
    assert abs(g[0, 0]) < 1e-3 and abs(g[3, 2]) < 1e-3  # (a/2sqrt(2), 1.5 b_p) is a lattice vector too
    assert g[:, 0] == pytest.approx(g[:, -1], abs=1e-3)  # period a/sqrt(2) along x
    assert g == pytest.approx(g[:, ::-1], abs=1e-3)  # (1-10) mirror: gamma(x, y) = gamma(-x, y)
    assert g[2, 0] == pytest.approx(ni["gamma_isf_mJ_m2"], rel=1e-6)  # (0, b_p) is the intrinsic fault
    assert g[4, 0] == pytest.approx(ni["gamma_surface_max_mJ_m2"])  # on top (0, 2 b_p): the highest point
    rows = list(csv.DictReader(open(surface_out / "gamma_surface.csv")))
    assert list(rows[0]) == ["potential", "disp_x_A", "disp_y_A", "gamma_mJ_m2"] and len(rows) == 35
    assert float(rows[-1]["disp_y_A"]) == pytest.approx(3 * ni["b_p_A"])
    assert (surface_out / "gamma_surface.png").stat().st_size > 10_000
    assert ni["meta"]["tasks"] == 4 + 7  # the four path tasks + one per grid row


@pytest.fixture(scope="module")
def alloys(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alloy")
    nial = lambda r, out: read_results(run_study(tmp, ALLOY.format(composition="{Ni: 90, Al: 10}", realizations=r), "nial", out))
    return {"r1": nial(1, "r1"), "r3": nial(3, "r3"), "r3_again": nial(3, "r3_again"),
            "pure_alloy": read_results(run_study(tmp, ALLOY.format(composition="{Ni: 100, Al: 0}", realizations=3), "nial0")),
            "pure": read_results(run_study(tmp, NI_PURE, "ni"))}


def test_alloy_average_is_reproducible_with_a_fixed_seed(alloys):
    assert alloys["r3"]["NiAlH_jea"]["alloy_points"] == alloys["r3_again"]["NiAlH_jea"]["alloy_points"]


def test_alloy_standard_error_shrinks_with_more_samples(alloys):
    few, many = alloys["r1"]["NiAlH_jea"], alloys["r3"]["NiAlH_jea"]
    assert (few["n_samples"], many["n_samples"]) == (2, 6)  # realizations x fault positions
    for res in (few, many):
        isf = res["alloy_points"][0]["isf"]
        values = [s["isf"] for s in res["alloy_points"][0]["samples"]]
        assert isf["std"] == pytest.approx(np.std(values, ddof=1))
        assert isf["se"] == pytest.approx(isf["std"] / np.sqrt(isf["n"]))
        assert res["gamma_isf_mJ_m2"] == pytest.approx(np.mean(values))
    assert many["gamma_isf_se_mJ_m2"] < few["gamma_isf_se_mJ_m2"]
    # the first realization (same seed) is shared by both studies
    assert many["alloy_points"][0]["samples"][:2] == few["alloy_points"][0]["samples"]
    # Al lowers Ni's fault energy with this potential; the fault positions see different chemistry
    assert 0 < many["gamma_isf_mJ_m2"] < alloys["pure"]["NiAlH_jea"]["gamma_isf_mJ_m2"]
    assert len({round(s["isf"], 6) for s in many["alloy_points"][0]["samples"]}) == 6


def test_pure_nickel_alloy_reproduces_pure_nickel(alloys):
    res = alloys["pure_alloy"]["NiAlH_jea"]
    assert res["n_samples"] == 2  # one arrangement (a pure element) x 2 positions
    assert res["gamma_isf_se_mJ_m2"] == pytest.approx(0.0, abs=1e-6)
    assert res["gamma_isf_mJ_m2"] == pytest.approx(alloys["pure"]["NiAlH_jea"]["gamma_isf_mJ_m2"], rel=1e-6)
    # the unstable fault is a saddle: the z-only minimisation stops within ~1e-6 of it, cell size aside
    assert res["gamma_usf_mJ_m2"] == pytest.approx(alloys["pure"]["NiAlH_jea"]["gamma_usf_mJ_m2"], rel=1e-5)


def test_l12_cell_holds_whole_periods():
    cell = faults.l12_111_cell("Ni", "Al", 3.57, 6, (1, 1))
    symbols = np.array(cell.get_chemical_symbols())
    i, j = neighbor_list("ij", cell, 0.8 * 3.57)
    assert np.bincount(i).tolist() == [12] * len(cell)
    assert not ((symbols[i] == "Al") & (symbols[j] == "Al")).any()  # L1_2: no Al-Al nearest neighbours, also across the box
    plane = faults.plane_of(8, len(cell))
    assert [(symbols[plane == p] == "Al").sum() for p in range(6)] == [2] * 6  # every (111) plane is Ni3Al


@pytest.fixture(scope="module")
def ni3al(tmp_path_factory):
    return read_results(run_study(tmp_path_factory.mktemp("ni3al"), NI3AL, "ni3al"))["NiAlH_jea"]


def test_ni3al_planar_faults(ni3al):
    for name in ("apb_111", "sisf", "cisf"):
        # slab with free surfaces vs tilted periodic cell; and the straight [11-2] line vs the partials path
        assert ni3al[f"gamma_{name}_slab_mJ_m2"] == pytest.approx(ni3al[f"gamma_{name}_mJ_m2"], rel=0.02), name
        assert ni3al[f"gamma_{name}_line_mJ_m2"] == pytest.approx(ni3al[f"gamma_{name}_mJ_m2"], rel=1e-3), name
    # SISF: fcc isf stacking with the right neighbours; CISF: isf stacking + wrong neighbours; APB: wrong neighbours
    assert 0 < ni3al["gamma_sisf_mJ_m2"] < ni3al["gamma_cisf_mJ_m2"]
    assert ni3al["gamma_sisf_mJ_m2"] < ni3al["gamma_apb_111_mJ_m2"]
    line = np.array(ni3al["curves"]["periodic/112"]["gamma_mJ_m2"])
    assert abs(line[0]) < 1e-3 and abs(line[-1]) < 1e-3  # 6 b_p along [11-2] is an L1_2 lattice vector


@pytest.mark.parametrize("material, settings, field", [
    ("{lattice: fcc, composition: {Ni: 100}}", "{surface: [1, 5]}", "settings.surface"),
    ("{lattice: fcc, composition: {Ni: 90, Al: 10}}", "{}", "settings.repeat"),
    ("{lattice: fcc, composition: {Ni: 90, Al: 10}}", "{repeat: [4, 2], surface: [3, 3]}", "settings.surface"),
    ("{lattice: fcc, composition: {Ni: 90, Al: 10}}", "{repeat: [4, 2], positions: 5}", "settings.positions"),
    ("{lattice: L12, composition: {Ni: 80, Al: 20}}", "{}", "L12"),
])
def test_bad_inputs_are_one_line_errors(study_file, run_cli, material, settings, field):
    path = study_file(f"""
        workflow: gsfe
        material: {material}
        potentials: [NiAlH_jea]
        settings: {settings}
        """)
    code, _, err = run_cli("run", path, "--out", path.parent / "out")
    assert code == 2 and field in err and len(err.strip().splitlines()) == 1
