"""Al segregation to Sigma5(310) in Ni at temperature by hybrid MC/MD (real LAMMPS, NiAlH_jea), against the sign of
the 0 K segregation energy of the gb_segregation workflow on the same relaxed boundary."""
import numpy as np
import pytest

from conftest import read_results, run_study
from pylmp.analysis import ordering

GB = """
workflow: gb
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52}
potentials: [NiAlH_jea]
settings: {boundaries: [S5_310], grid: [1, 1], cutoffs: [0.7], grain_thickness_A: 20}
"""
SEG = """
workflow: gb_segregation
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52, seed: 3}
potentials: [NiAlH_jea]
settings: {gb_study: gb_al, boundary: S5_310, solutes: [Al], max_distance_A: 1.5, sites: 3}
"""
MC = """
workflow: gb_segregation_mc
material: {lattice: fcc, composition: {Ni: 95, Al: 5}, a: 3.52, seed: 1}
potentials: [NiAlH_jea]
settings: {gb_study: gb_al, seg_study: seg, boundary: S5_310, temperatures: [400], equilibration_steps: 500,
           steps: 2000, dump_every: 100, swaps_per_atom: 0.2}
"""


@pytest.fixture(scope="module")
def mc(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gbmc")
    run_study(tmp, GB, "gb_al")
    run_study(tmp, SEG, "seg")
    out = run_study(tmp, MC, "mc")
    return out, read_results(out)["NiAlH_jea"]


def test_al_excess_at_the_boundary_has_the_sign_of_the_zero_kelvin_segregation_energy(mc):
    _, res = mc
    p = res["per_T"][0]
    assert res["zero_kelvin"]["E_seg_min_eV"] < 0  # Al prefers a site at the plane at 0 K (-0.13 eV)
    assert p["excess_per_nm2"] > 0 and p["sign_agrees_with_E_seg"]
    assert p["c_profile"][0] > p["c_bulk"]  # the bin at the plane is enriched
    assert p["acceptance"] > 0 and abs(p["T_mean_K"] - 400) < 60


def test_profile_counts_every_atom_and_the_bulk_keeps_the_nominal_fraction(mc):
    out, res = mc
    p = res["per_T"][0]
    assert sum(p["atoms_per_bin"]) == pytest.approx(res["natoms"])  # every atom lies within the binned distances
    # the Al the boundary takes comes out of the grains: the far-field fraction sits at or below the nominal 5 %
    assert 0.02 < p["c_bulk"] <= 0.05 + 3 * p["c_bulk_se"]
    frames = list(ordering.read_frames(out / "NiAlH_jea" / "S5_310" / "T400K" / "dump.ordering.lammpstrj"))
    assert {np.count_nonzero(np.asarray(f[-1]) == "Al") for f in frames} == {round(0.05 * res["natoms"])}
    assert (out / "gb_segregation_mc.png").stat().st_size > 10_000
