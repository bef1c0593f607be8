"""Cells: exact composition from at.%, seeded placement, L1_2 order, data files with a fixed type map."""
import numpy as np
import pytest
from ase.io import read

from pylmp import structures
from pylmp.errors import PylmpError


def test_exact_counts_from_at_percent():
    assert structures.exact_counts({"Ni": 90, "Al": 10}, 500) == {"Ni": 450, "Al": 50}
    # 1/3 each of 256 sites: largest remainder keeps the total exact
    counts = structures.exact_counts({"Ni": 100 / 3, "Co": 100 / 3, "Cr": 100 / 3}, 256)
    assert sum(counts.values()) == 256 and sorted(counts.values()) == [85, 85, 86]


def test_random_alloy_is_reproducible_and_exact():
    a = structures.crystal("fcc", {"Ni": 60, "Co": 20, "Cr": 20}, 3.55, atoms=500, seed=7)
    b = structures.crystal("fcc", {"Ni": 60, "Co": 20, "Cr": 20}, 3.55, atoms=500, seed=7)
    c = structures.crystal("fcc", {"Ni": 60, "Co": 20, "Cr": 20}, 3.55, atoms=500, seed=8)
    assert len(a) == 500 and a.get_chemical_formula() == "Co100Cr100Ni300"
    assert a.get_chemical_symbols() == b.get_chemical_symbols() != c.get_chemical_symbols()


def test_supercell_closest_to_target_and_fcc_geometry():
    cell = structures.crystal("fcc", {"Ni": 100}, 3.52, atoms=1000)
    assert len(cell) == 4 * 6 ** 3  # 864 is closer to 1000 than 4 * 7^3 = 1372
    d = cell.get_all_distances(mic=True)
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(3.52 / np.sqrt(2))
    assert np.all((d < 2.5).sum(axis=1) == 12)  # 12 nearest neighbours, no overlapping images


def test_l12_ni3al_order():
    cell = structures.crystal("L12", {"Ni": 75, "Al": 25}, 3.57, atoms=108)
    assert cell.get_chemical_formula() == "Al27Ni81"
    al = cell[[s == "Al" for s in cell.get_chemical_symbols()]]
    d = al.get_all_distances(mic=True)
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(3.57)  # Al only on the simple-cubic corner sublattice: no Al-Al nearest neighbours
    with pytest.raises(PylmpError, match="A3B composition"):
        structures.crystal("L12", {"Ni": 80, "Al": 20}, 3.57)


def test_composition_must_sum_to_100():
    with pytest.raises(PylmpError, match="sums to 95 at.%"):
        structures.crystal("fcc", {"Ni": 90, "Al": 5}, 3.52)
    with pytest.raises(PylmpError, match="not a chemical element"):
        structures.crystal("fcc", {"Ni": 90, "Xx": 10}, 3.52)


def test_data_file_type_map_and_masses(tmp_path):
    """The study's element list is the type map, even for a cell lacking one of the elements."""
    pure = structures.crystal("fcc", {"Ni": 100, "Al": 0}, 3.52, atoms=32)
    structures.write_data(pure, tmp_path / "data.lmp", ["Ni", "Al"])
    text = (tmp_path / "data.lmp").read_text()
    assert "2 atom types" in text and "# Al" in text
    masses = text.split("Masses")[1].split("Atoms")[0].split()
    assert float(masses[1]) == pytest.approx(58.6934, abs=1e-3) and float(masses[5]) == pytest.approx(26.9815, abs=1e-3)
    back = read(tmp_path / "data.lmp", format="lammps-data", atom_style="atomic")
    assert set(back.get_array("type")) == {1}
    with pytest.raises(PylmpError, match="type map"):
        structures.write_data(pure, tmp_path / "x.lmp", ["Al"])
