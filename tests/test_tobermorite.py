"""Tobermorite 11 A: the published cells reproduce the papers' volumes and X-ray density; the polytypes' cells agree
with each other; a CIF is accepted only with the published cell. (The papers' coordinate tables are not shipped.)"""

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
