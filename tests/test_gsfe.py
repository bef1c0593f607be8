"""GSFE of fcc Ni (Ni_u3): slab vs tilted periodic cell, ANNNI cross-checks, curve symmetry, CNA of the fault."""
import json
import math

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from conftest import read_results, run_study
from pylmp import faults, paths

# 24 planes, one 2-atom rectangle per plane: shifts are uniform in-plane, so the small cell is exact
NI_GSFE = """
workflow: gsfe
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52}
potentials: [Ni_u3]
settings: {layers: 24, repeat: [1, 1], points: 11}
"""
NI_EOS = """
workflow: eos
material: {{lattice: {lattice}, composition: {{Ni: 100}}, a: 3.52, atoms: 32}}
potentials: [Ni_u3]
settings: {{points: 7, strain: 0.02}}
"""
EV_A2_TO_MJ_M2 = 16021.766


@pytest.fixture(scope="module")
def gsfe_out(tmp_path_factory):
    return run_study(tmp_path_factory.mktemp("gsfe"), NI_GSFE, "ni")


@pytest.fixture(scope="module")
def ni(gsfe_out):
    return read_results(gsfe_out)["Ni_u3"]


def test_fault_cell_has_exact_periodic_lengths():
    a = 3.52
    cell = faults.fcc111_cell("Ni", a, layers=6, repeat=(2, 1))
    assert len(cell) == 6 * 4
    i, _, d = neighbor_list("ijd", cell, 0.85 * a)  # first shell only (second shell lies at a)
    assert np.bincount(i).tolist() == [12] * len(cell)
    assert d == pytest.approx(a / math.sqrt(2), abs=1e-9)
    assert cell.cell.lengths() == pytest.approx([2 * a / math.sqrt(2), a * math.sqrt(6) / 2, 2 * a * math.sqrt(3)])


@pytest.mark.parametrize("key", ["isf", "usf"])
def test_slab_and_tilted_cell_agree(ni, key):
    assert ni[f"gamma_{key}_slab_mJ_m2"] == pytest.approx(ni[f"gamma_{key}_mJ_m2"], rel=0.02)


def test_isf_matches_axial_next_nearest_neighbour_estimate(ni, tmp_path_factory):
    # ANNNI: gamma_isf ~ 2 (E_hcp - E_fcc) / A_111, A_111 = sqrt(3)/4 a^2 the area per atom of a (111) plane
    tmp = tmp_path_factory.mktemp("eos")
    e = {lat: read_results(run_study(tmp, NI_EOS.format(lattice=lat), lat))["Ni_u3"]["E0_eV_per_atom"] for lat in ("fcc", "hcp")}
    a = ni["a0_A"]
    annni = 2 * (e["hcp"] - e["fcc"]) / (math.sqrt(3) / 4 * a * a) * EV_A2_TO_MJ_M2
    assert annni > 0
    assert ni["gamma_isf_mJ_m2"] == pytest.approx(annni, rel=0.15)
    assert ni["gamma_isf_slab_mJ_m2"] == pytest.approx(annni, rel=0.15)


def test_multilayer_faults_follow_annni(ni):
    # ANNNI: gamma_tb ~ gamma_isf / 2 and gamma_esf ~ gamma_isf; the unstable twinning barrier exceeds usf
    for suffix in ("", "_slab"):
        isf = ni[f"gamma_isf{suffix}_mJ_m2"]
        assert ni[f"gamma_tb{suffix}_mJ_m2"] == pytest.approx(isf / 2, rel=0.20)
        assert ni[f"gamma_esf{suffix}_mJ_m2"] == pytest.approx(isf, rel=0.20)
        assert ni[f"gamma_utf{suffix}_mJ_m2"] > ni[f"gamma_usf{suffix}_mJ_m2"] > isf > 0


def test_curves_vanish_at_lattice_vectors_and_are_symmetric(ni):
    for key, c in ni["curves"].items():
        g = np.array(c["gamma_mJ_m2"])
        assert abs(g[0]) < 1e-3, key
        assert (g[1:-1] > 0).all(), key  # every shifted state costs energy: no spurious lower minimum
        if key.endswith("110"):
            # a/2[1-10] is a lattice vector; the (1-10) mirror makes the curve symmetric about its middle
            assert abs(g[-1]) < 1e-3, key
            assert g == pytest.approx(g[::-1], abs=1e-3), key
    bp = ni["b_p_A"]
    assert bp == pytest.approx(ni["a0_A"] / math.sqrt(6))
    assert ni["curves"]["periodic/112"]["disp_A"][-1] == pytest.approx(3 * bp)


def test_intrinsic_fault_is_two_hcp_planes_under_adaptive_cna(gsfe_out):
    import ovito.io as ovito_io
    from ovito.modifiers import CommonNeighborAnalysisModifier

    for construction in ("periodic", "slab"):
        pipeline = ovito_io.import_file(gsfe_out / "Ni_u3" / construction / "112" / "fault_isf.dump")
        pipeline.modifiers.append(CommonNeighborAnalysisModifier(mode=CommonNeighborAnalysisModifier.Mode.AdaptiveCutoff))
        data = pipeline.compute()
        kind = np.asarray(data.particles["Structure Type"])
        plane = (np.asarray(data.particles["Particle Identifier"]) - 1) // 2  # ids are ordered plane by plane
        hcp_planes = sorted(set(plane[kind == CommonNeighborAnalysisModifier.Type.HCP]))
        assert all((kind[plane == p] == CommonNeighborAnalysisModifier.Type.HCP).all() for p in hcp_planes)
        # periodic: the fault is across the z boundary (between the last plane and plane 0); slab: at the middle
        expected = [0, 23] if construction == "periodic" else [11, 12]
        assert hcp_planes == expected, construction


def test_outputs_written(gsfe_out, ni):
    csv = (gsfe_out / "gsfe.csv").read_text().splitlines()
    assert csv[0] == "potential,construction,path,stage,disp_bp,disp_A,gamma_mJ_m2"
    assert len(csv) == 1 + 2 * (31 + 11)
    assert (gsfe_out / "gsfe.png").stat().st_size > 10_000
    for name in ("isf", "esf", "twin3"):
        assert (gsfe_out / "Ni_u3" / "periodic" / "112" / f"fault_{name}.dump").is_file()
    assert ni["meta"]["tasks"] == 4


@pytest.mark.parametrize("settings, field", [("{layers: 20}", "settings.layers"), ("{repeat: [1]}", "settings.repeat"),
                                             ("{vacuum_A: 2}", "settings.vacuum_A"), ("{points: 2}", "settings.points"),
                                             ("{dft: data/dft/missing.json}", "settings.dft"),
                                             ("{dft: data/dft/ni_pbe.extxyz}", "settings.dft")])
def test_bad_settings_are_one_line_errors(study_file, run_cli, settings, field):
    path = study_file(f"""
        workflow: gsfe
        material: {{lattice: fcc, composition: {{Ni: 100}}, a: 3.52}}
        potentials: [Ni_u3]
        settings: {settings}
        """)
    code, _, err = run_cli("run", path, "--out", path.parent / "out")
    assert code == 2 and field in err and len(err.strip().splitlines()) == 1


def test_dft_fault_energies_are_read_and_compared(tmp_path):
    """settings.dft: the project's PBE fault cells next to the potential's faults, deviations from the two numbers."""
    study = NI_GSFE.replace("points: 11}", "points: 3, dumps: false, dft: data/dft/ni_pbe_faults.json}").replace("24", "12")
    out = run_study(tmp_path, study, "ni_dft")
    res = read_results(out)["Ni_u3"]
    cells = json.loads((paths.ROOT / "data/dft/ni_pbe_faults.json").read_text())["faults"]["faults"]
    assert res["dft"]["gamma_mJ_m2"]["isf"] == cells["isf_11"]["gamma_mJ_m2"]
    assert res["dft"]["gamma_mJ_m2"]["tb"] == cells["twin_10"]["gamma_mJ_m2"]
    for fault, ref in res["dft"]["gamma_mJ_m2"].items():
        assert res["vs_dft_pct"][fault] == pytest.approx(100 * (res[f"gamma_{fault}_mJ_m2"] / ref - 1), rel=1e-12)
    assert "PBE" in res["dft"]["source"] and "unrelaxed" in res["dft"]["source"]
    assert (out / "gsfe.png").stat().st_size > 10_000
