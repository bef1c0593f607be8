"""The project's PBE elastic constants (data/dft/ni_pbe_faults.json, `elastic`, written by run/make_dft_dataset
--collect) recomputed from the raw strain_ni frames by another route: strains read back from the cells (not from the
script's table), central differences instead of fits, and the energies instead of the stresses. No DFT runs."""

import json
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read

from pylmp.workflows import properties

DFT = Path(__file__).resolve().parent.parent / "data" / "dft"
EV_A3_GPA = 160.21766


@pytest.fixture(scope="module")
def data():
    info = json.loads((DFT / "ni_pbe_faults.json").read_text())
    ref = bulk("Ni", "fcc", a=info["eos"]["a0_A"]).cell
    frames = {}
    for path in sorted((DFT / "configs" / "strain_ni").glob("*.extxyz")):
        atoms = read(path)
        f = np.linalg.solve(ref, atoms.cell).T  # cell rows: a' = a F^T
        frames[path.stem] = ((f + f.T) / 2 - np.eye(3), atoms.get_stress(voigt=False) * EV_A3_GPA, atoms)
    return info, frames


def test_strains_are_the_stated_voigt_strains(data):
    _, frames = data
    eps = {name: e for name, (e, _, _) in frames.items()}
    assert eps["tet-1"][0, 0] == pytest.approx(-0.01, abs=1e-9) and eps["orth1"][1, 1] == pytest.approx(-0.01, abs=1e-9)
    assert eps["shear2"][0, 1] == pytest.approx(0.01, abs=1e-9)  # engineering shear 2 %: eps_xy = 0.01


def test_stress_route_central_differences(data):
    """C11 - C12 from sigma_xx - sigma_yy: tet+1 minus tet-1 (cancels the Pulay offset and the second-order term),
    and orth1 on its own (odd in the strain by symmetry); C44 from the 1 and 2 % shears with the e^3 term removed."""
    info, f = data
    el = info["elastic"]
    dev = lambda name: f[name][1][0, 0] - f[name][1][1, 1]
    tet = (dev("tet+1") - dev("tet-1")) / (f["tet+1"][0][0, 0] - f["tet-1"][0][0, 0])
    orth = dev("orth1") / (f["orth1"][0][0, 0] - f["orth1"][0][1, 1])
    assert tet == pytest.approx(orth, rel=0.005)
    assert el["C11_minus_C12_GPa"] == pytest.approx((tet + orth) / 2, rel=0.005)
    g1, g2 = 2 * f["shear1"][0][0, 1], 2 * f["shear2"][0][0, 1]  # engineering shears
    s1, s2 = f["shear1"][1][0, 1], f["shear2"][1][0, 1]
    c44 = (s1 * g2 ** 3 - s2 * g1 ** 3) / (g1 * g2 ** 3 - g2 * g1 ** 3)  # s = C44 g + D g^3 through both points
    assert el["C44_GPa"] == pytest.approx(c44, rel=0.002)
    # with B from the EOS: C11 and C12, and cubic Ni is stable (C44 > 0, C11 > |C12|)
    b = info["eos"]["B_GPa"]
    assert el["C11_GPa"] == pytest.approx(b + 2 * el["C11_minus_C12_GPa"] / 3, rel=1e-9)
    assert el["C12_GPa"] == pytest.approx(b - el["C11_minus_C12_GPa"] / 3, rel=1e-9)
    assert 0 < el["C12_GPa"] < el["C11_GPa"] and el["C44_GPa"] > 0
    # the isotropic offset at zero strain (Pulay stress) from the +-1 % pair, and B from the stresses near the EOS's
    mean = lambda name: np.trace(f[name][1]) / 3
    assert el["stress_offset_GPa"] == pytest.approx((mean("tet+1") + mean("tet-1")) / 2, abs=0.1)
    assert 0.3 < el["stress_offset_GPa"] < 0.8
    assert (mean("tet+1") - mean("tet-1")) / 0.02 == pytest.approx(b, rel=0.02)


def test_energy_route_agrees_with_stress_route(data):
    """The energies alone: orth1 (volume kept to first order) against E0 of a parabola through the three tetragonal
    cells, E - E0 = V0 (C11 - C12) e^2; C44 from the two shears, where E0 cancels. The energies carry ~1e-5 eV of
    SCF noise on differences of ~1e-3 eV, hence a few % agreement."""
    info, f = data
    el = info["elastic"]
    e = {name: atoms.get_potential_energy() for name, (_, _, atoms) in f.items()}
    v0 = f["orth1"][2].get_volume() / np.linalg.det(np.eye(3) + f["orth1"][0])
    tet = ["tet-1", "tet+1", "tet+2"]
    e0 = np.polyfit([f[n][0][0, 0] for n in tet], [e[n] for n in tet], 2)[2]
    cp = (e["orth1"] - e0) / (v0 * 0.01 ** 2) * EV_A3_GPA  # E - E0 = V0 (C11 - C12) e^2 for e1 = -e2 = e
    c44 = 2 * (e["shear2"] - e["shear1"]) / (v0 * (0.02 ** 2 - 0.01 ** 2)) * EV_A3_GPA  # E0 cancels
    assert cp == pytest.approx(el["C11_minus_C12_GPa"], rel=0.03)
    assert c44 == pytest.approx(el["C44_GPa"], rel=0.03)
    assert el["energy_route"]["C11_minus_C12_GPa"] == pytest.approx(el["C11_minus_C12_GPa"], rel=0.03)
    assert el["energy_route"]["C44_GPa"] == pytest.approx(el["C44_GPa"], rel=0.03)


def test_properties_reference_reads_the_pbe_elastic_constants(data):
    info, _ = data
    refs = properties.chosen_references(properties.load_references("data/reference/ni_properties.yaml",
                                                                   "data/dft/ni_pbe_faults.json"), "PBE")
    for prop in ("C11", "C12", "C44"):
        assert refs[prop]["dft"]["value"] == info["elastic"][f"{prop}_GPa"]
        assert "elastic." in refs[prop]["dft"]["source"]
    assert refs["B"]["dft"]["value"] == info["eos"]["B_GPa"]


def test_fault_energies_recomputed_from_the_frames():
    """Every planar-fault energy in the JSON from the stacking-cell frames themselves: the (111) area from the cell
    vectors (the script uses sqrt(3)/4 a0^2), e_fcc from the 3-layer polytype; the twin boundary costs less than the
    intrinsic fault (one wrong second-neighbour layer pair instead of two), as the ANNNI estimate from the polytypes says."""
    info = json.loads((DFT / "ni_pbe_faults.json").read_text())
    fcc = read(DFT / "configs" / "polytype" / "fcc_3.extxyz")
    e_fcc = fcc.get_potential_energy() / len(fcc)
    faults = info["faults"]["faults"]
    assert "isf_11" in faults
    for name, fault in faults.items():
        atoms = read(DFT / "configs" / "fault" / f"{name}.extxyz")
        area = np.linalg.norm(np.cross(atoms.cell[0], atoms.cell[1]))
        gamma = (atoms.get_potential_energy() - len(atoms) * e_fcc) / (fault["faults_per_cell"] * area) * 16021.766
        assert len(atoms) == fault["layers"] and gamma == pytest.approx(fault["gamma_mJ_m2"], rel=1e-9)
    if "twin_10" in faults:
        assert faults["twin_10"]["gamma_mJ_m2"] < faults["isf_11"]["gamma_mJ_m2"]
        assert faults["twin_10"]["gamma_mJ_m2"] == pytest.approx(info["annni"]["gamma_tb_mJ_m2"], rel=0.2)


def test_rattled_bulk_frames_carry_forces():
    """The bulk_* cells are the dataset's only frames with forces: rattled (forces well above zero), the DFT forces
    sum to zero (translation invariance, an independent check of the labels), Ni3Al cells hold one Al per four atoms."""
    frames = [read(p) for p in sorted(DFT.glob("configs/bulk_*/*.extxyz"))]
    assert {f.info["config_type"] for f in frames} >= {"bulk_ni", "bulk_ni3al"}
    for atoms in frames:
        forces = atoms.get_forces()
        assert np.abs(forces).max() > 0.05
        assert np.abs(forces.sum(axis=0)).max() < 5e-3
        if atoms.info["config_type"] == "bulk_ni3al":
            assert atoms.get_chemical_symbols().count("Al") * 4 == len(atoms)
