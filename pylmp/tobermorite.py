"""Tobermorite 11 A: the published cells, and crystals read from a CIF of the published structure, checked against them.

The cells and densities below are the papers' own numbers (abstracts of Hamid 1981 and Merlino et al. 2001).
The atomic coordinate tables of those papers are not shipped with pylmp: they could not be obtained here, and
coordinates are never made up. `from_cif` builds the crystal from a CIF of the published structure the user
supplies (e.g. from the American Mineralogist Crystal Structure Database) and checks its cell against the
paper's, so a wrong file or a wrong setting is caught before any LAMMPS run.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from pylmp.errors import PylmpError

AVOGADRO = 6.02214076e23


@dataclasses.dataclass(frozen=True)
class PublishedCell:
    name: str
    space_group: str
    abc_A: tuple[float, float, float]
    angles_deg: tuple[float, float, float]
    source: str
    formula: str = ""  # per formula unit, where the paper gives it with Z
    z: int = 0
    density_g_cm3: float | None = None  # the paper's calculated (X-ray) density
    volume_A3: float | None = None  # the paper's cell volume, where given

    def cell(self) -> np.ndarray:
        """Cell vectors (rows, A): a along x, b in the xy plane (ASE's convention)."""
        from ase.geometry import cellpar_to_cell
        return cellpar_to_cell([*self.abc_A, *self.angles_deg])

    def volume(self) -> float:
        return float(abs(np.linalg.det(self.cell())))


HAMID_1981 = "S. A. Hamid, Z. Kristallogr. 154, 189-198 (1981)"
MERLINO_2001 = "S. Merlino, E. Bonaccorsi, T. Armbruster, Eur. J. Mineral. 13, 577-590 (2001)"
CELLS = {c.name: c for c in [
    # the average (subcell) structure Hamid refined, and the ordered monoclinic cell he derived from it
    PublishedCell("hamid1981_subcell", "Imm2", (5.586, 3.696, 22.779), (90.0, 90.0, 90.0), HAMID_1981,
                  formula="Ca2.25Si3O7.5(OH)1.5(H2O)", z=2, density_g_cm3=2.39, volume_A3=470.25),
    PublishedCell("hamid1981_monoclinic", "P2_1", (6.69, 7.39, 22.779), (90.0, 90.0, 123.49), HAMID_1981),
    # the two MDO polytypes of the Wessels mine crystal (anomalous tobermorite), and the Urals one (normal)
    PublishedCell("merlino2001_wessels_mdo1", "F2dd", (11.265, 7.386, 44.970), (90.0, 90.0, 90.0), MERLINO_2001),
    PublishedCell("merlino2001_wessels_mdo2", "B11m", (6.735, 7.385, 22.487), (90.0, 90.0, 123.25), MERLINO_2001),
    PublishedCell("merlino2001_urals_mdo2", "B11m", (6.732, 7.368, 22.680), (90.0, 90.0, 123.18), MERLINO_2001),
]}


def published(name: str) -> PublishedCell:
    if name not in CELLS:
        raise PylmpError(f"unknown tobermorite cell '{name}'; choose one of {', '.join(CELLS)}")
    return CELLS[name]


def formula_mass(formula: str) -> float:
    """g/mol of a formula with fractional counts and groups, e.g. Ca2.25Si3O7.5(OH)1.5(H2O)."""
    counts = _counts(formula)
    return sum(n * atomic_masses[atomic_numbers[el]] for el, n in counts.items())


def _counts(formula: str) -> dict[str, float]:
    """Element counts of a formula with fractional counts and one level of groups."""
    counts: dict[str, float] = {}
    for group, times, element, n in re.findall(r"\(([^)]*)\)([\d.]*)|([A-Z][a-z]?)([\d.]*)", formula):
        for el, k in (re.findall(r"([A-Z][a-z]?)([\d.]*)", group) if group else [(element, n)]):
            counts[el] = counts.get(el, 0.0) + float(k or 1) * float(times or 1)
    return counts


def density(formula: str, z: int, volume_A3: float) -> float:
    """X-ray density (g/cm^3) of Z formula units in a cell."""
    return z * formula_mass(formula) / AVOGADRO / (volume_A3 * 1e-24)


def from_cif(path: str | Path, reference: str, tolerance: float = 0.01) -> Atoms:
    """The crystal of a CIF (every site of the space group expanded by ASE), checked against a published cell:
    a, b, c within `tolerance` (fraction) and angles within 0.5 degrees. A CIF in another axis setting of the
    same lattice is refused too: it would swap the chain direction b with a."""
    from ase.io import read

    ref = published(reference)
    path = Path(path)
    if not path.is_file():
        raise PylmpError(f"tobermorite CIF {path} not found; download the published structure ({ref.source}) as a CIF")
    try:
        atoms = read(path, format="cif")
    except Exception as exc:
        raise PylmpError(f"{path}: ASE cannot read it as a CIF ({type(exc).__name__}: {exc})") from None
    par = atoms.cell.cellpar()
    off = [abs(x / r - 1) for x, r in zip(par[:3], ref.abc_A)]
    if max(off) > tolerance or max(abs(x - r) for x, r in zip(par[3:], ref.angles_deg)) > 0.5:
        raise PylmpError(f"{path}: cell {np.round(par, 3).tolist()} is not the published {ref.name} cell "
                         f"{[*ref.abc_A, *ref.angles_deg]} ({ref.source}); check the file or the setting")
    return atoms


def describe(atoms: Atoms) -> dict:
    """Cell, composition and density of a built crystal, for comparison with a paper."""
    symbols = atoms.get_chemical_symbols()
    mass = float(atoms.get_masses().sum())
    return {"cellpar": atoms.cell.cellpar().tolist(), "volume_A3": float(atoms.get_volume()),
            "composition": {el: symbols.count(el) for el in sorted(set(symbols))},
            "density_g_cm3": mass / AVOGADRO / (atoms.get_volume() * 1e-24), "ca_si": symbols.count("Ca") / max(1, symbols.count("Si"))}
