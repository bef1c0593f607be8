"""Tobermorite 11 A: the published cells reproduce the papers' volumes and X-ray density; the polytypes' cells agree
with each other; a CIF is accepted only with the published cell; the crystals built from the Hamid (1981) and
Merlino (2001) CIFs keep the papers' cells and sites, with the stated compositions and densities; a short CHGNet
relaxation reports truthfully whether it converged."""

import re

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from pylmp import tobermorite
from pylmp.errors import PylmpError


def test_hamid_subcell_volume_composition_density():
    cell = tobermorite.published("hamid1981_subcell")
    # Hamid 1981: a' 5.586, b' 3.696, c 22.779 A, Imm2, V = 470.25 A^3, Z = 2, Dx = 2.39 g/cm^3
    assert cell.volume() == pytest.approx(cell.volume_A3, abs=0.1)  # the paper rounds a, b, c
    assert tobermorite._counts(cell.formula) == pytest.approx({"Ca": 2.25, "Si": 3.0, "O": 10.0, "H": 3.5})
    assert tobermorite.density(cell.formula, cell.z, cell.volume_A3) == pytest.approx(cell.density_g_cm3, abs=0.005)


def test_polytype_cells_agree():
    cells = {n: tobermorite.published(n).volume() for n in tobermorite.CELLS}
    # F2dd (MDO1) holds four B11m (MDO2) layers' worth of volume: the same layers stacked differently
    assert cells["merlino2001_wessels_mdo1"] == pytest.approx(4 * cells["merlino2001_wessels_mdo2"], rel=1e-3)
    # Hamid's ordered monoclinic cell is twice his subcell (a b sin(gamma) = 2 a' b')
    assert cells["hamid1981_monoclinic"] == pytest.approx(2 * cells["hamid1981_subcell"], rel=3e-3)
    # basal spacing ~ 11.2-11.4 A for every cell (c is normal to the layers here; two layers per c, four in F2dd)
    for name, c in tobermorite.CELLS.items():
        layers = 4 if "mdo1" in name else 2
        assert 11.1 < c.abc_A[2] / layers < 11.5


def test_cif_must_match_the_published_cell(tmp_path):
    ref = tobermorite.published("merlino2001_wessels_mdo2")
    # one placeholder atom: only the reader and the cell check are tested here, no structure is claimed
    write(tmp_path / "cell.cif", Atoms("Ca", positions=[[0, 0, 0]], cell=ref.cell(), pbc=True), format="cif")
    atoms = tobermorite.from_cif(tmp_path / "cell.cif", "merlino2001_wessels_mdo2")
    assert tobermorite.describe(atoms)["volume_A3"] == pytest.approx(ref.volume(), rel=1e-6)
    write(tmp_path / "ni.cif", bulk("Ni", "fcc", a=3.52, cubic=True), format="cif")
    with pytest.raises(PylmpError, match="is not the published merlino2001_wessels_mdo2 cell"):
        tobermorite.from_cif(tmp_path / "ni.cif", "merlino2001_wessels_mdo2")
    with pytest.raises(PylmpError, match="not found"):
        tobermorite.from_cif(tmp_path / "missing.cif", "merlino2001_wessels_mdo2")
    with pytest.raises(PylmpError, match="unknown tobermorite cell"):
        tobermorite.published("merlino2001")


# --- the full crystal of Hamid (1981) from COD 8103889 (data/tobermorite/tob11a_hamid.cif) ---

@pytest.fixture(scope="module")
def hamid():
    return tobermorite.build("hamid1981", seed=1)


def _pairs(atoms, cutoff):
    """All periodic pair distances below cutoff by brute force in numpy: (i, j, d) over images -2..2 of each axis."""
    shifts = np.array(np.meshgrid(*[range(-2, 3)] * 3, indexing="ij")).reshape(3, -1).T @ atoms.cell.array
    diff = atoms.positions[None, :, None, :] - atoms.positions[:, None, None, :] + shifts[None, None, :, :]
    d = np.linalg.norm(diff, axis=-1)
    i, j, _ = np.nonzero((d < cutoff) & (d > 1e-8))
    return i, j, d[(d < cutoff) & (d > 1e-8)]


def test_hamid_crystal_cell_composition_density(hamid):
    # the CIF's cell exactly (Hamid 1981, P 1 1 21: a 6.69, b 7.39, c 22.77 A, gamma 123.49, V 938.837 A^3)
    assert hamid.cell.cellpar() == pytest.approx([6.69, 7.39, 22.76999, 90, 90, 123.49], abs=1e-6)
    assert hamid.get_volume() == pytest.approx(938.837, abs=0.01)
    ref = tobermorite.published("hamid1981_monoclinic")  # the abstract's c (22.779) differs by 0.04 %
    assert hamid.cell.cellpar()[:3] == pytest.approx(ref.abc_A, rel=5e-4)
    # Z = 4 x Ca2.25 Si3 O7.5 (OH)1.5 . H2O, at the paper's X-ray density 2.39 g/cm^3
    info = tobermorite.describe(hamid)
    assert info["composition"] == {"Ca": 9, "Si": 12, "O": 40, "H": 14}
    assert info["density_g_cm3"] == pytest.approx(2.39, abs=0.01)
    # the 8 full Ca, 12 Si and 36 framework O sit on the CIF's symmetry-expanded sites, untouched
    from ase.io import read
    cif = read(tobermorite.DATA / "tob11a_hamid.cif")
    full = [a for a, k in zip(cif, cif.arrays["spacegroup_kinds"]) if max(cif.info["occupancy"][str(k)].values()) == 1]
    assert len(full) == 56
    for atom in full:
        assert np.min(np.linalg.norm(hamid.positions - atom.position, axis=1)) < 1e-6


@pytest.mark.parametrize("source", ["hamid1981", "merlino2001"])
def test_chains_intact_and_no_close_contacts(source):
    hamid = tobermorite.build(source, seed=1)
    s = np.array(hamid.get_chemical_symbols())
    i, j, d = _pairs(hamid, 3.0)
    # every Si keeps its four O within 1.8 A (dreierketten chains intact), and no other Si-O below 2.4 A
    for k in np.flatnonzero(s == "Si"):
        near = d[(i == k) & (s[j] == "O")]
        assert np.sum(near < 1.8) == 4 and not np.any((near >= 1.8) & (near < 2.4))
    assert d.min() > 0.9  # no two atoms closer than 0.9 A
    # each H sits on exactly one O at 0.97 A; water H-H is 1.53 A; every other contact of an H is above 1.5 A
    for k in np.flatnonzero(s == "H"):
        mine = i == k
        assert np.sum(mine & (d < 1.2)) == 1 and s[j[mine & (d < 1.2)]][0] == "O"
        assert d[mine & (d < 1.2)][0] == pytest.approx(0.97, abs=1e-6)
        assert np.all(d[mine & (d >= 1.2)] > 1.5)
    # heavy atoms: the CIF's shortest contact (Si-O: Hamid 1.52 A, Merlino 1.57 A) is the shortest; placed water O
    # stay 2.4 A from all (Merlino's cavities hold 10 water and the zeolitic Ca per cell: Ca-O(water) is 2.44 A)
    heavy = (s[i] != "H") & (s[j] != "H")
    assert d[heavy].min() == pytest.approx({"hamid1981": 1.523, "merlino2001": 1.567}[source], abs=0.002)
    for k in hamid.info["placed_by_pylmp"]["water_O"]:
        assert d[(i == k) & (s[j] != "H")].min() > 2.4


# --- the Urals crystal of Merlino et al. (2001) from COD 9005500 (data/tobermorite/tob11a_merlino.cif) ---

def _cif_header(name: str) -> dict:
    """The CIF's own numbers: cell, Z, volume, X-ray density and formula sum, read as text (not through ASE)."""
    out = {}
    for line in (tobermorite.DATA / name).read_text().splitlines():
        key, _, value = line.partition(" ")
        if key.startswith(("_cell_", "_exptl_crystal_density", "_chemical_formula_sum")):
            out[key] = value.strip().strip("'")
    return out


FORMAL_CHARGE = {"Ca": 2, "Si": 4, "O": -2, "H": 1}


def test_merlino_crystal_cell_composition_density():
    atoms = tobermorite.build("merlino2001", seed=1)
    head = _cif_header("tob11a_merlino.cif")
    number = lambda key: float(re.sub(r"\(\d+\)", "", head[key]))  # 6.732(2) -> 6.732
    cif_cell = [number(f"_cell_length_{x}") for x in "abc"] + [number(f"_cell_angle_{x}") for x in ("alpha", "beta", "gamma")]
    assert atoms.cell.cellpar() == pytest.approx(cif_cell, abs=1e-6)
    assert atoms.get_volume() == pytest.approx(number("_cell_volume"), abs=0.001)
    # the paper's abstract (Urals MDO2, B11m): 6.732(2), 7.368(1), 22.680(4) A, 123.18(1) deg; the CIF's b is 7.369
    ref = tobermorite.published("merlino2001_urals_mdo2")
    assert atoms.cell.cellpar()[:3] == pytest.approx(ref.abc_A, abs=0.0011)
    assert atoms.cell.cellpar()[5] == pytest.approx(ref.angles_deg[2], abs=1e-6)
    # Z = 4 x Ca2.25 Si3 O8 (OH)0.5 . 2.5 H2O: double chains [Si6O16(OH)] (abstract), 5 H2O per Si6, neutral
    info = tobermorite.describe(atoms)
    assert info["composition"] == {"Ca": 9, "Si": 12, "O": 44, "H": 22}
    assert sum(FORMAL_CHARGE[el] * n for el, n in info["composition"].items()) == 0
    assert number("_cell_formula_units_Z") == 4
    # the CIF's oxygen count (O11 per Ca2.25 Si3) is the crystal's; its H7 is not: that formula is charged
    cif_formula = tobermorite._counts(head["_chemical_formula_sum"].replace(" ", ""))
    assert cif_formula["O"] * 4 == 44 and cif_formula["Ca"] * 4 == 9 and cif_formula["Si"] * 4 == 12
    assert sum(FORMAL_CHARGE[el] * n for el, n in cif_formula.items()) == pytest.approx(1.5)
    # the CIF's X-ray density 2.522 is its H7 formula's; the crystal's differs by exactly 6 H per cell
    cif_density = tobermorite.density(head["_chemical_formula_sum"].replace(" ", ""), 4, number("_cell_volume"))
    assert cif_density == pytest.approx(number("_exptl_crystal_density_diffrn"), abs=0.001)  # 2.5215 with ASE masses
    h_mass = 6 * 1.008 / tobermorite.AVOGADRO / (atoms.get_volume() * 1e-24)
    assert info["density_g_cm3"] == pytest.approx(cif_density - h_mass, abs=1e-3)
    assert info["density_g_cm3"] == pytest.approx(2.511, abs=0.001)
    # the 8 full Ca, 12 Si and 34 O sites of the CIF are untouched, and one of the 4 Ca2 (occupancy 1/4) is filled
    from ase.io import read
    cif = read(tobermorite.DATA / "tob11a_merlino.cif")
    occupied = np.array([max(cif.info["occupancy"][str(k)].values()) for k in cif.arrays["spacegroup_kinds"]])
    assert np.sum(occupied == 1) == 54 and np.sum(occupied == 0.25) == 4
    for p in cif.positions[occupied == 1]:
        assert np.min(np.linalg.norm(atoms.positions - p, axis=1)) < 1e-6
    ca = atoms.positions[np.array(atoms.get_chemical_symbols()) == "Ca"]
    assert sum(np.min(np.linalg.norm(ca - p, axis=1)) < 1e-6 for p in cif.positions[occupied == 0.25]) == 1


def test_merlino_double_chains(tmp_path):
    """Hamid's single chains bridge 12 O per cell between two Si; Merlino's double chains add the O5 bridge across
    the interlayer (2 per cell): 14. Counted by OVITO's bond angles and by numpy."""
    for source, bridges in (("hamid1981", 12), ("merlino2001", 14)):
        atoms = tobermorite.build(source, seed=1)
        write(tmp_path / f"{source}.extxyz", atoms, format="extxyz")
        assert sum(tobermorite.bonding(tmp_path / f"{source}.extxyz")["angles_Si-O-Si"]) == bridges
        s = np.array(atoms.get_chemical_symbols())
        i, j, _ = _pairs(atoms, tobermorite.SI_O_BOND_A)
        si_per_o = np.bincount(i[(s[i] == "O") & (s[j] == "Si")], minlength=len(atoms))
        assert np.sum(si_per_o == 2) == bridges


def test_seed_picks_one_interlayer_ca_site():
    from ase.io import read
    cif = read(tobermorite.DATA / "tob11a_hamid.cif")
    partial = cif.positions[[max(cif.info["occupancy"][str(k)].values()) < 1 for k in cif.arrays["spacegroup_kinds"]]]
    assert len(partial) == 4
    filled = set()
    for seed in range(5):
        atoms = tobermorite.build("hamid1981", seed=seed)
        ca = atoms.positions[np.array(atoms.get_chemical_symbols()) == "Ca"]
        hits = [k for k, p in enumerate(partial) if np.min(np.linalg.norm(ca - p, axis=1)) < 1e-6]
        assert len(hits) == 1
        filled.add(hits[0])
        assert tobermorite.describe(atoms)["composition"]["Ca"] == 9
    assert len(filled) > 1  # the seed matters
    assert np.allclose(tobermorite.build(seed=3).positions, tobermorite.build(seed=3).positions)


def test_rdf_and_angles_equal_numpy(hamid, tmp_path):
    write(tmp_path / "hamid.extxyz", hamid, format="extxyz")
    cutoff, bins = 5.0, 250
    out = tobermorite.bonding(tmp_path / "hamid.extxyz", cutoff, bins)
    s = np.array(hamid.get_chemical_symbols())
    i, j, d = _pairs(hamid, cutoff)
    edges = np.linspace(0, cutoff, bins + 1)
    shell = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    for a, b, r1 in (("Si", "O", 1.6), ("Ca", "O", 2.4)):
        counts, _ = np.histogram(d[(s[i] == a) & (s[j] == b)], edges)
        g = counts / (np.sum(s == a) * np.sum(s == b) / hamid.get_volume() * shell)
        assert np.asarray(out[f"g_{a}-{b}"]) == pytest.approx(g, rel=1e-3, abs=1e-6)
        nearest = d[(s[i] == a) & (s[j] == b) & (d < 3.0)]
        assert out[f"r1_{a}-{b}_A"] == pytest.approx(r1, abs=0.1)
        # the highest first-shell bin holds the most common bond lengths
        assert abs(out[f"r1_{a}-{b}_A"] - np.median(nearest)) < 0.1
    # O-Si-O at each Si over its four bonds: numpy mean equals the library's histogram mean (2-degree bins)
    angles = []
    for k in np.flatnonzero(s == "Si"):
        vec = [hamid.get_distance(k, o, mic=True, vector=True) for o in np.flatnonzero(s == "O")]
        bonds = [v / np.linalg.norm(v) for v in vec if np.linalg.norm(v) < tobermorite.SI_O_BOND_A]
        angles += [np.degrees(np.arccos(np.dot(u, v))) for n, u in enumerate(bonds) for v in bonds[n + 1:]]
    assert len(angles) == 12 * 6 and sum(out["angles_O-Si-O"]) == 72
    assert out["mean_O-Si-O_deg"] == pytest.approx(np.mean(angles), abs=1.0)
    assert sum(out["angles_Si-O-Si"]) == 12  # one angle per bridging O: single chains, 12 bridges per cell


def test_bad_source_and_composition(tmp_path, study_file):
    with pytest.raises(PylmpError, match="unknown tobermorite source 'hamid'"):
        tobermorite.build("hamid")
    from pylmp import spec
    good = "workflow: tobermorite\nmaterial: {composition: {Ca: 12, Si: 16, O: 53.333333, H: 18.666667}}\n"
    assert spec.load(study_file(good + "potentials: [sevennet-0]\n")).settings["max_steps"] == 150
    with pytest.raises(PylmpError, match="does not cover Ca, Si, O, H"):
        spec.load(study_file(good + "potentials: [Ni_u3]\n"))
    with pytest.raises(PylmpError, match="material.composition must be the crystal's"):
        spec.load(study_file("workflow: tobermorite\nmaterial: {composition: {Ca: 25, Si: 25, O: 25, H: 25}}\npotentials: [sevennet-0]\n"))


def test_lammps_box_back_to_the_cell(hamid, tmp_path):
    """The workflow reads a, b, c, angles back from LAMMPS's lx ly lz xy xz yz: ASE's data file of the crystal
    (the task's data.lmp) must give back the CIF's cell."""
    from pylmp import structures
    from pylmp.workflows import tobermorite as workflow
    structures.write_data(hamid, tmp_path / "data.lmp", ["Ca", "Si", "O", "H"])
    box = {}
    for line in (tmp_path / "data.lmp").read_text().splitlines():
        parts = line.split()
        if line.endswith(("xlo xhi", "ylo yhi", "zlo zhi")):
            box[parts[2][0]] = float(parts[1]) - float(parts[0])
        elif line.endswith("xy xz yz"):
            box.update(xy=float(parts[0]), xz=float(parts[1]), yz=float(parts[2]))
    cell = np.array([[box["x"], 0, 0], [box["xy"], box["y"], 0], [box["xz"], box["yz"], box["z"]]])
    got = workflow.cell_numbers(cell, float(hamid.get_masses().sum()))
    assert [got[q] for q in ("a", "b", "c", "alpha", "beta", "gamma")] == pytest.approx(hamid.cell.cellpar(), abs=1e-6)
    assert got["density"] == pytest.approx(tobermorite.describe(hamid)["density_g_cm3"], rel=1e-9)


# --- the relaxation says whether it converged: a short real run with CHGNet (bridge; weights in the chgnet wheel) ---

SHORT = """
workflow: tobermorite
material: {{composition: {{Ca: 12, Si: 16, O: 53.333333, H: 18.666667}}, seed: 1}}
potentials: [chgnet]
settings: {{max_steps: 4, cycle_steps: 1, box_steps: 1, fmax_eV_A: {fmax}, stress_bar: {stress}}}
"""


def test_short_relaxation_reports_its_convergence(tmp_path):
    """Two cycles of one FIRE and one box/relax iteration cannot reach 0.03 eV/A: the result must say NOT converged,
    with the fmax and stress that CHGNet's own ASE calculator gives for the written structure. Loose targets stop
    after the first cycle."""
    from ase.io import read
    from conftest import read_results, run_study

    from pylmp import bridge, potentials

    out = run_study(tmp_path, SHORT.format(fmax=0.03, stress=500.0), "capped")
    res = read_results(out)["chgnet"]
    assert res["steps"] == 4 and res["converged"] is False
    assert res["relaxation"].startswith("NOT converged") and f"fmax {res['fmax_eV_A']:.3f} eV/A" in res["relaxation"]
    assert (out / "chgnet" / "relax" / "log.lammps").read_text().count("cycle 2: step 4 fmax") == 1
    atoms = read(out / "chgnet" / "relax" / "relaxed.dump", format="lammps-dump-text")
    atoms.calc = bridge.calculator(potentials.get("chgnet"))
    assert res["fmax_eV_A"] == pytest.approx(np.abs(atoms.get_forces()).max(), rel=0.01)
    bar = -atoms.get_stress(voigt=True) * 1.602176634e6  # eV/A^3 -> bar, pressure sign (LAMMPS pxx = -sigma_xx)
    for k, c in enumerate(("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")):
        assert res["stress_bar"][c] == pytest.approx(bar[k], rel=0.01, abs=20)
    assert res["stress_max_bar"] == pytest.approx(max(abs(v) for v in res["stress_bar"].values()))
    assert res["stress_max_bar"] > 500 and res["fmax_eV_A"] > 0.03  # far from the minimum after 4 iterations
    loose = read_results(run_study(tmp_path, SHORT.format(fmax=50.0, stress=1e6), "loose"))["chgnet"]
    assert loose["converged"] is True and loose["steps"] <= 2 and loose["relaxation"].startswith(f"converged after {loose['steps']} ")
