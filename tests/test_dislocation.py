"""Dissociated screw dislocation in fcc Ni (NiAlH_jea, gamma_isf ~ 89 mJ/m^2): two Shockley partials whose relaxed
separation (OVITO DXA and adaptive CNA) matches the anisotropic elastic estimate from the potential's own C_ij and
gamma_isf; the elastic energy factor against closed forms; the cell's Burgers circuit closes through the box tilt."""
import math

import numpy as np
import pytest

from conftest import read_results, run_study
from pylmp import dislocations, faults

# 4 x 28 rectangles x 48 planes = 10,752 atoms: 10 A of line, 121 A of glide direction, 97 A thick;
# the partials start 6 A apart and glide apart to about 12 A while relaxing
STUDY = """
workflow: dislocation
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52}
potentials: [NiAlH_jea]
settings: {repeat: [4, 28], layers: 48, start_separation_A: 6.0}
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return run_study(tmp_path_factory.mktemp("dislocation"), STUDY, "ni")


@pytest.fixture(scope="module")
def res(out):
    return read_results(out)["NiAlH_jea"]


def test_splits_into_two_shockley_partials(res):
    assert res["n_partials_dxa"] == 2
    for p in res["partials"]:
        assert sorted(abs(int(c)) for c in p["burgers_crystal"][4:-1].split()) == [1, 1, 2]  # a/6<112>
        assert p["length_A"] == pytest.approx(res["line_length_A"], rel=0.02)  # straight lines through the cell
    # the partials glided apart from where the displacement field put them: the width is the relaxation's result
    assert res["separation_dxa_A"] > res["start_separation_A"] + 3.0


def test_separation_matches_elastic_estimate(res):
    assert 0.7 < res["ratio_dxa_to_elastic"] < 1.3
    assert 0.7 < res["ratio_cna_to_elastic"] < 1.3
    # the estimate's inputs come from the same potential: gamma_isf as in the gsfe workflow, Ni's cubic constants
    assert res["gamma_isf_mJ_m2"] == pytest.approx(88.8, rel=0.02)
    assert res["C11_GPa"] > res["C12_GPa"] > 0 and res["C44_GPa"] > 0


def test_fault_is_confined_to_the_ribbon_and_circuit_closes(out, res):
    import ovito.io as ovito_io
    from ovito.modifiers import CommonNeighborAnalysisModifier as CNA

    per_plane, glide = 2 * 4 * 28, 24
    for name in ("dislocation_initial.dump", "dislocation_relaxed.dump"):
        pipeline = ovito_io.import_file(out / "NiAlH_jea" / "dislocation" / name)
        pipeline.modifiers.append(CNA(mode=CNA.Mode.AdaptiveCutoff))
        data = pipeline.compute()
        kind = np.asarray(data.particles["Structure Type"])
        plane = (np.asarray(data.particles["Particle Identifier"]) - 1) // per_plane
        y = np.asarray(data.particles.positions)[:, 1]
        # HCP only in the two planes bounding the glide plane
        assert set(plane[kind == CNA.Type.HCP]) <= {glide - 1, glide}, name
        # away from the ribbon and the surfaces every atom is fcc, also across the periodic glide boundary
        # (a wrong box tilt would leave a fault there)
        far = (abs(y - res["slice"]["centre_y_A"]) > 25) & (plane > 1) & (plane < 46)
        assert (kind[far] == CNA.Type.FCC).all(), name


def test_energy_factor_closed_forms():
    rot, line = faults.ROTATION, np.array([1.0, 0.0, 0.0])
    # isotropic: K = mu along the line (screw), mu/(1-nu) normal to it (edge)
    mu, nu = 80.0, 0.3
    lam = 2 * mu * nu / (1 - 2 * nu)
    k = dislocations.energy_factor(dislocations.cubic_stiffness(lam + 2 * mu, lam, mu), rot, line)
    assert np.diag(k) == pytest.approx([mu, mu / (1 - nu), mu / (1 - nu)], rel=1e-9)
    assert abs(k - np.diag(np.diag(k))).max() < 1e-9
    # cubic, screw along <110>: K_s = sqrt(C44 (C11 - C12) / 2) (Hirth & Lothe, ch. 13)
    c11, c12, c44 = 246.7, 147.5, 124.9
    k = dislocations.energy_factor(dislocations.cubic_stiffness(c11, c12, c44), rot, line)
    assert k[0, 0] == pytest.approx(math.sqrt(c44 * (c11 - c12) / 2), rel=1e-9)
    # isotropic widths: the screw formula G b_p^2 / (8 pi gamma) (2 - 3 nu)/(1 - nu), images make it narrower
    w = dislocations.ribbon_width(lam + 2 * mu, lam, mu, 100.0, 3.52, period=80.0)
    assert w["d_aniso_A"] == pytest.approx(w["d_iso_A"], rel=1e-9)
    assert w["d_aniso_periodic_A"] < w["d_aniso_A"]


def test_row_angle_has_the_cuts_of_the_image_sum():
    y = np.linspace(-95.0, 95.0, 77)
    for z in (-7.0, 3.0):
        n = np.arange(-3000, 3001)[:, None]
        images = np.arctan2(z, y - n * 40.0).sum(axis=0)  # symmetric image sum: converges up to a constant
        ref = images - images[38] + dislocations.row_angle(y[38], z, 40.0)  # the same up to a constant
        assert dislocations.row_angle(y, z, 40.0) == pytest.approx(ref, abs=2e-3)


def test_outputs_written(out, res):
    rows = (out / "dislocation.csv").read_text().splitlines()
    assert rows[0].startswith("potential,natoms,a0_A,gamma_isf_mJ_m2") and len(rows) == 2
    assert (out / "dislocation.png").stat().st_size > 10_000
    assert res["natoms"] == 2 * 4 * 28 * 48 and res["meta"]["tasks"] == 3


@pytest.mark.parametrize("settings, field", [("{layers: 20}", "settings.layers"), ("{start_separation_A: 500}", "start_separation_A"),
                                             ("{elastic_GPa: [250, 150]}", "settings.elastic_GPa")])
def test_bad_settings_are_one_line_errors(study_file, run_cli, settings, field):
    path = study_file(f"""
        workflow: dislocation
        material: {{lattice: fcc, composition: {{Ni: 100}}, a: 3.52}}
        potentials: [NiAlH_jea]
        settings: {settings}
        """)
    code, _, err = run_cli("run", path, "--out", path.parent / "out")
    assert code == 2 and field in err and len(err.strip().splitlines()) == 1
