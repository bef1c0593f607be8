"""Grain boundaries: CSL builder geometry, the Sigma3(111) twin against the stacking-fault energy of the gsfe
workflow (a different construction), cell-size convergence of Sigma5(310), and Al segregation with NiAlH_jea."""
import json

import numpy as np
import pytest
from ase.calculators.eam import EAM
from ase.io import read
from ase.neighborlist import neighbor_list

from conftest import read_results, run_study
from pylmp import grain_boundaries as gbs
from pylmp import potentials

GB = """
workflow: gb
material: {{lattice: fcc, composition: {{Ni: 100}}, a: 3.52}}
potentials: [{pot}]
settings: {{boundaries: {bounds}, grid: {grid}, cutoffs: [0.7], grain_thickness_A: {thick}}}
"""
GSFE = """
workflow: gsfe
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52}
potentials: [Ni_u3]
settings: {layers: 12, points: 3, dumps: false}
"""
SEG = """
workflow: gb_segregation
material: {{lattice: fcc, composition: {{Ni: 100}}, a: 3.52, seed: {seed}}}
potentials: [NiAlH_jea]
settings: {{gb_study: gb_al, boundary: S5_310, solutes: [Al], sites: 5, max_distance_A: 5.0, dumps: true}}
"""


@pytest.mark.parametrize("name, sigma, angle", [("S3_111", 3, 109.47), ("S5_310", 5, 36.87), ("S5_210", 5, 53.13),
                                                ("S11_113", 11, 50.48), ("S9_221", 9, 141.06), ("S7_111_twist", 7, 38.21)])
def test_csl_builder(name, sigma, angle):
    # Sigma from counting coincident sites; the angles are the textbook ones (e.g. Sutton & Balluffi, table 2.3)
    b = gbs.parse(name)
    assert b.sigma == sigma and b.angle_deg == pytest.approx(angle, abs=0.01)
    atoms, n_lower = gbs.bicrystal(b, 3.52, gbs.repeats(b, 3.52, 8.0, 12.0))
    # exact periods: fcc density, and no atom closer to another than the nearest-neighbour distance inside a grain
    assert len(atoms) / atoms.get_volume() == pytest.approx(4 / 3.52 ** 3, rel=1e-9)
    i, j, d = neighbor_list("ijd", atoms, 2.6)
    same_grain = (i < n_lower) == (j < n_lower)
    assert d[same_grain].min() == pytest.approx(3.52 / np.sqrt(2), abs=1e-6)
    if name == "S3_111":  # the coherent twin: the mirror plane is an atomic plane, nothing closer than r_nn anywhere
        assert d.min() == pytest.approx(3.52 / np.sqrt(2), abs=1e-6)


def test_bad_boundary(study_file, run_cli, tmp_path):
    code, _, err = run_cli("run", study_file(GB.format(pot="Ni_u3", bounds="['tilt 001 111']", grid="[2, 2]", thick=20)), "--out", tmp_path / "o")
    assert code == 2 and "is not normal to" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def ni(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gb")
    small = read_results(run_study(tmp, GB.format(pot="Ni_u3", bounds="[S3_111, S5_310]", grid="[2, 2]", thick=20), "small"))["Ni_u3"]
    large = read_results(run_study(tmp, GB.format(pot="Ni_u3", bounds="[S5_310]", grid="[2, 2]", thick=35), "large"))["Ni_u3"]
    gsfe = read_results(run_study(tmp, GSFE, "gsfe"))["Ni_u3"]
    return small, large, gsfe, tmp


def test_twin_is_half_the_intrinsic_stacking_fault(ni):
    small, _, gsfe, _ = ni
    # a coherent twin has one hcp-like triplet of planes, an intrinsic SF two: E_twin ~ gamma_isf / 2 (ANNNI);
    # gamma_isf comes from the gsfe workflow (rigid shifts of (111) planes, 14.4 mJ/m^2 for Ni_u3)
    assert small["E_gb_S3_111_mJ_m2"] == pytest.approx(gsfe["gamma_isf_mJ_m2"] / 2, rel=0.15)
    # the twin boundary of the gsfe path (3-plane lamella, a third construction) gives the same number
    assert small["E_gb_S3_111_mJ_m2"] == pytest.approx(gsfe["gamma_tb_mJ_m2"], rel=0.01)
    twin = small["boundaries"][0]
    assert twin["sigma"] == 3 and abs(twin["excess_volume_A"]) < 0.01  # coherent: no free volume
    # the search found it: translation (0, 0) is the twin, the other grid points are higher
    assert twin["best"]["tx"] in (0.0, 0.5) and max(c["E_gb_mJ_m2"] for c in twin["candidates"]) > 5 * twin["E_gb_mJ_m2"]


def test_sigma5_converged_in_cell_size(ni):
    small, large, _, _ = ni
    s, lg = small["boundaries"][1], large["boundaries"][0]
    assert lg["lz_A"] > 1.6 * s["lz_A"]
    assert lg["E_gb_mJ_m2"] == pytest.approx(s["E_gb_mJ_m2"], rel=0.02)
    # a general boundary: ~1.1-1.4 J/m^2 for EAM Ni (Olmsted, Foiles, Holm, Acta Mater. 57, 3694 (2009): Sigma5 ~1.2),
    # open (positive excess volume), a few tenths of an A
    assert 1000 < s["E_gb_mJ_m2"] < 1500 and 0.1 < s["excess_volume_A"] < 0.6


def test_cna_and_outputs(ni):
    small, _, _, tmp = ni
    twin, s5 = small["boundaries"]
    # adaptive CNA (OVITO): the coherent twin has one hcp plane per boundary: 2 planes of the cell are not fcc
    per_plane = twin["natoms"] / (twin["lz_A"] / (3.52 / np.sqrt(3)))
    assert twin["cna"]["HCP"] == pytest.approx(2 * per_plane, rel=0.05) and twin["cna"]["OTHER"] == 0
    assert 0.05 < s5["non_fcc_fraction"] < 0.5
    rows = (tmp / "small" / "gb.csv").read_text().splitlines()
    assert len(rows) == 1 + 8 and rows[0].startswith("potential,boundary,sigma")
    assert (tmp / "small" / "gb.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def seg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seg")
    # translation 0 with close pairs < 0.7 r_nn removed is the lowest Sigma5(310) candidate of the 2 x 2 search above
    run_study(tmp, GB.format(pot="NiAlH_jea", bounds="[S5_310]", grid="[1, 1]", thick=20), "gb_al_study", out="gb_al")
    return [read_results(run_study(tmp, SEG.format(seed=s), f"seg{k}"))["NiAlH_jea"] for k, s in enumerate((3, 3, 4))], tmp


def test_segregation_reproducible_with_reference(seg):
    (first, again, other), _ = seg
    assert first["solutes"] == again["solutes"]  # same seed: same sites, same energies
    ids = lambda r: [s["id"] for s in r["solutes"]["Al"]["sites"]]
    assert ids(first) != ids(other) and len(ids(first)) == 5
    assert "middle of grain 1" in first["reference"]
    al = first["solutes"]["Al"]
    assert abs(al["reference_distance_A"]) > 9.0
    # a second bulk-like site, one plane further: ~0, so the reference is converged
    assert abs(al["E_seg_far_check_eV"]) < 0.003
    # every sampled site lies within max_distance_A of the boundary plane; segregation energies are small for Al in Ni
    assert all(abs(s["distance_A"]) <= 5.0 and abs(s["E_seg_eV"]) < 0.5 for s in al["sites"])


def test_segregation_energy_from_ase(seg):
    # an independent code on LAMMPS's files: ASE's EAM (setfl NiAlH_jea) on the relaxed structures of two sites
    (first, _, _), tmp = seg
    folder = tmp / "seg0" / "NiAlH_jea" / "S5_310" / "Al"
    calc = EAM(potential=str(potentials.get("NiAlH_jea").files_dir / "NiAlH_jea.eam.alloy"))
    res = json.loads((folder / "result.json").read_text())
    energy = {}
    for k in (0, 2):
        atoms = read(folder / f"site_{k}_id{int(res[f'id_{k}'])}.dump", format="lammps-dump-text")
        assert atoms.get_chemical_symbols().count("Al") == 1
        atoms.calc = calc
        energy[k] = atoms.get_potential_energy()
    assert energy[2] - energy[0] == pytest.approx(first["solutes"]["Al"]["sites"][0]["E_seg_eV"], abs=2e-3)
