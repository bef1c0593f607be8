"""Tobermorite 11 A: the published cells, the full crystals of Hamid (1981) and Merlino et al. (2001) from their
CIFs, and CIFs checked against the published cells.

Where each atom comes from, in `build("hamid1981")` (data/tobermorite/tob11a_hamid.cif, COD 8103889, public domain):
- from the paper: the cell (6.69, 7.39, 22.77 A, gamma 123.49, P 1 1 21) and every Ca, Si and framework O site,
  symmetry-expanded by ASE's CIF reader: 8 Ca, 12 Si, 36 O per cell, plus 4 interlayer Ca sites of occupancy 1/4;
- chosen by pylmp (seeded): which one of the 4 quarter-occupied interlayer Ca sites is filled (numpy's default_rng(seed)
  draws round(sum of occupancies) = 1 of them, uniformly), giving Ca9 per cell (Ca2.25 per formula unit);
- placed by pylmp (deterministic crystal chemistry; the X-ray refinement located neither water O nor H):
  the 4 water O, one at a time, at the grid point (0.2 A spacing) farthest from all atoms placed so far: the open
  interlayer cavities; the 6 OH: the Si-O oxygens bonded to one Si (not bridging two) with the lowest bond-valence sum
  from Si and Ca (Brown & Altermatt 1985: R0 Si-O 1.624, Ca-O 1.967 A, b 0.37), i.e. the most under-bonded ones; each H
  0.97 A from its O, pointing away from the cations (Si, Ca) within 3 A: OH along minus the sum of the unit vectors
  to them, each water's H-O-H (104.5 deg) bisector likewise, turned about the bisector (5 deg steps) to the orientation
  whose H lie farthest from all other atoms. Composition Ca9 Si12 O40 H14 = Z 4 x Ca2.25 Si3 O7.5 (OH)1.5 . H2O.

`build("merlino2001")` (data/tobermorite/tob11a_merlino.cif, COD 9005500 = AMCSD 0006887: the Urals "normal"
tobermorite, MDO2 polytype, B 1 1 m, synchrotron refinement), by the same rules:
- from the paper: the cell (6.732, 7.369, 22.680 A, gamma 123.18; the abstract gives b 7.368) and Ca1, Ca3, Si1-Si3,
  O1-O9, expanded: 8 Ca, 12 Si, 34 O per cell. O5 on the mirror plane bridges Si2 to its mirror image across the
  interlayer: double chains [Si6O17], the paper's distinguishing feature, where Hamid has single chains;
- seeded: 1 of the 4 quarter-occupied Ca2 sites (the "zeolitic" interlayer Ca of the abstract): Ca9 per cell;
- placed: 10 water O (farthest points) and 2 OH (lowest bond-valence sums), H as above. Ca9 Si12 O44 H22 =
  Z 4 x Ca2.25 Si3 O8 (OH)0.5 . 2.5 H2O = Ca4.5 [Si6O16(OH)] . 5 H2O per Si6: the double-chain composition
  [Si6O16(OH)] the abstract gives for this crystal, with the Ca that the CIF's sites hold (neutral), and the 5 H2O of
  the tobermorite group (Biagioni, Merlino & Bonaccorsi, Mineral. Mag. 79, 485 (2015): end members tobermorite
  Ca5Si6O17 . 5H2O and kenotobermorite Ca4Si6O15(OH)2 . 5H2O; this crystal lies halfway), which is also the oxygen
  count of the CIF's formula sum (O11 per Ca2.25 Si3). The CIF's H7 is not
  used: with O11 it leaves the formula charged (+1.5); its X-ray density 2.522 g/cm^3 is that H7 formula's, 0.011
  above this crystal's 2.511 (1.5 H per formula unit). The COD file holds no water site: the paper's water
  positions are not shipped, so those are pylmp's, like Hamid's.
The water and H positions are a reasonable start for a relaxation, not measured data.

The published cells and densities are the papers' own numbers. `from_cif` reads a user's CIF and checks its cell
against a published one, so a wrong file or setting is caught before any LAMMPS run.
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
    PublishedCell("merlino2001_urals_mdo2", "B11m", (6.732, 7.368, 22.680), (90.0, 90.0, 123.18), MERLINO_2001,
                  formula="Ca2.25Si3O8(OH)0.5(H2O)2.5", z=4),  # [Si6O16(OH)] double chains, module note
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
    except (ValueError, KeyError, IndexError, RuntimeError, StopIteration) as exc:  # ASE's CIF parser's failures
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



DATA = Path(__file__).resolve().parent.parent / "data" / "tobermorite"
# source -> (CIF in data/tobermorite, published cell it must match, formula unit, Z)
SOURCES = {"hamid1981": ("tob11a_hamid.cif", "hamid1981_monoclinic", "Ca2.25Si3O7.5(OH)1.5(H2O)", 4),
           "merlino2001": ("tob11a_merlino.cif", "merlino2001_urals_mdo2", "Ca2.25Si3O8(OH)0.5(H2O)2.5", 4)}
BOND_VALENCE_R0 = {"Si": 1.624, "Ca": 1.967}  # A, Brown & Altermatt, Acta Cryst. B41, 244 (1985); b = 0.37 A
SI_O_BOND_A = 1.9  # longest Si-O bond in the CIF: 1.78 A; shortest non-bonded Si-O: above 2.5 A
CATION_SHELL_A = 3.0  # cations counted around an O: Ca-O bonds of the CIF reach 2.75 A (3.16 A is second shell)
OH_A, HOH_DEG, GRID_A = 0.97, 104.5, 0.2


def build(source: str = "hamid1981", seed: int = 1) -> Atoms:
    """The full crystal of a published tobermorite structure (the module note says which atoms pylmp places)."""
    if source not in SOURCES:
        raise PylmpError(f"unknown tobermorite source '{source}'; choose one of {', '.join(SOURCES)}")
    cif, reference, formula, z = SOURCES[source]
    atoms = _order_partial(from_cif(DATA / cif, reference), seed)
    counts = {el: round(n * z) for el, n in _counts(formula).items()}
    n_water = counts["O"] - atoms.get_chemical_symbols().count("O")
    water = list(range(len(atoms), len(atoms) + n_water))
    atoms += Atoms(f"O{n_water}", positions=_farthest_points(atoms, n_water))
    heavy = _Neighbours(atoms)  # H added below are not cations: this list stays valid for the O they sit on
    hydroxyl = _hydroxyl_oxygens(heavy, counts["H"] - 2 * n_water, exclude=water)
    for i in hydroxyl:
        atoms += Atoms("H", positions=[atoms.positions[i] + OH_A * heavy.away_from_cations(i)])
    for i in water:
        atoms += _water_hydrogens(atoms, i, heavy.away_from_cations(i))
    atoms.wrap()
    atoms.info["placed_by_pylmp"] = {"water_O": water, "hydroxyl_O": hydroxyl}
    return atoms


def _order_partial(atoms: Atoms, seed: int) -> Atoms:
    """Fill round(sum of occupancies) of the partially occupied sites, drawn uniformly with the seed; drop the rest."""
    occupancy = atoms.info.pop("occupancy", {})
    site = atoms.arrays.pop("spacegroup_kinds", np.zeros(len(atoms), int))
    atoms.info.pop("spacegroup", None)
    occ = np.array([sum(occupancy.get(str(k), {"": 1.0}).values()) for k in site])
    partial = np.flatnonzero(occ < 1 - 1e-6)
    keep = occ >= 1 - 1e-6
    if len(partial):
        keep[np.random.default_rng(seed).choice(partial, size=round(occ[partial].sum()), replace=False)] = True
    return atoms[keep]


def _images(atoms: Atoms) -> np.ndarray:
    """Positions of the atoms in the 27 cells around the home cell (cells here are wider than any distance sought)."""
    shifts = np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T @ atoms.cell.array
    return (atoms.positions[None, :, :] + shifts[:, None, :]).reshape(-1, 3)


def _farthest_points(atoms: Atoms, n: int) -> np.ndarray:
    """n points, one at a time, each the point of a GRID_A grid over the cell farthest from every atom and every
    point chosen before (periodic)."""
    from scipy.spatial import cKDTree

    k = np.maximum(1, np.ceil(atoms.cell.lengths() / GRID_A)).astype(int)
    frac = np.stack(np.meshgrid(*[np.arange(m) / m for m in k], indexing="ij"), -1).reshape(-1, 3)
    grid = frac @ atoms.cell.array
    distance, _ = cKDTree(_images(atoms)).query(grid)
    chosen = []
    for _ in range(n):
        chosen.append(grid[int(np.argmax(distance))])
        new = _images(Atoms("X", positions=[chosen[-1]], cell=atoms.cell))
        distance = np.minimum(distance, cKDTree(new).query(grid)[0])
    return np.array(chosen)


class _Neighbours:
    """Every pair within CATION_SHELL_A of a crystal, computed once."""

    def __init__(self, atoms: Atoms):
        from ase.neighborlist import neighbor_list

        self.first, second, self.vec = neighbor_list("ijD", atoms, CATION_SHELL_A)
        self.symbols = np.array(atoms.get_chemical_symbols())
        self.of = self.symbols[second]

    def around(self, i: int, elements=("Si", "Ca")) -> tuple[np.ndarray, np.ndarray]:
        """Symbols and vectors (A) from atom i to its neighbours of the given elements."""
        mine = (self.first == i) & np.isin(self.of, elements)
        return self.of[mine], self.vec[mine]

    def away_from_cations(self, i: int) -> np.ndarray:
        """Unit vector opposite to the sum of unit vectors from atom i to its cations (to any neighbours if none)."""
        _, vec = self.around(i)
        if len(vec) == 0:
            _, vec = self.around(i, elements=tuple(set(self.symbols)))
        u = -(vec / np.linalg.norm(vec, axis=1)[:, None]).sum(axis=0)
        return u / np.linalg.norm(u)


def _hydroxyl_oxygens(nb: _Neighbours, n: int, exclude: list[int]) -> list[int]:
    """The n oxygens bonded to exactly one Si with the lowest bond-valence sum from Si and Ca (ties: lower index)."""
    sums = []
    for i in np.flatnonzero(nb.symbols == "O"):
        symbols, vec = nb.around(i)
        d = np.linalg.norm(vec, axis=1)
        if i in exclude or np.sum((symbols == "Si") & (d < SI_O_BOND_A)) != 1:
            continue
        r0 = np.array([BOND_VALENCE_R0[el] for el in symbols])
        sums.append((float(np.exp((r0 - d) / 0.37).sum()), int(i)))
    return [i for _, i in sorted(sums)[:n]]


def _water_hydrogens(atoms: Atoms, i: int, u: np.ndarray) -> Atoms:
    """Two H on water oxygen i, bisector u (away from its cations), turned about u in 5-degree steps to the
    orientation whose H lie farthest from all other atoms (periodic)."""
    e1 = np.cross(u, [1.0, 0, 0] if abs(u[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    phi = np.radians(np.arange(0, 180, 5))[:, None]
    side = np.cos(phi) * e1 + np.sin(phi) * np.cross(u, e1)
    half = np.radians(HOH_DEG / 2)
    h = atoms.positions[i] + OH_A * (np.cos(half) * u + np.stack([1, -1])[:, None, None] * np.sin(half) * side)  # (2, phi, 3)
    frac = np.linalg.solve(atoms.cell.array.T, (h[:, :, None, :] - np.delete(atoms.positions, i, axis=0)).reshape(-1, 3).T).T
    frac -= np.round(frac)  # then the nearest image among the 27 around it
    shifts = np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T
    d = np.linalg.norm((frac[:, None, :] + shifts) @ atoms.cell.array, axis=-1).min(axis=1).reshape(2, len(phi), -1)
    best = int(np.argmax(d.min(axis=(0, 2))))
    return Atoms("H2", positions=h[:, best])

def bonding(path: str | Path, cutoff: float = 5.0, bins: int = 250, angle_bins: int = 90) -> dict:
    """Si-O and Ca-O partial g(r) (OVITO, through pylmp.analysis.structure) and the O-Si-O (at Si) and Si-O-Si (at O)
    bond-angle distributions, bonds = Si-O pairs within SI_O_BOND_A, of a structure file OVITO reads (extxyz, dump)."""
    from ovito.io import import_file
    from ovito.modifiers import BondAngleDistributionModifier, CreateBondsModifier

    from pylmp.analysis import structure

    g = structure.rdf(Path(path), cutoff, bins)
    r = g["r_A"]
    out = {"r_A": r.tolist()}
    for a, b in (("Si", "O"), ("Ca", "O")):
        partial = g["g_partial"].get(f"{a}-{b}", g["g_partial"].get(f"{b}-{a}"))
        first_shell = r < CATION_SHELL_A
        out[f"g_{a}-{b}"] = partial.tolist()
        out[f"r1_{a}-{b}_A"] = structure.first_peak(r[first_shell], partial[first_shell])
    pipeline = import_file(str(path))
    bonds = CreateBondsModifier(mode=CreateBondsModifier.Mode.Pairwise)
    bonds.set_pairwise_cutoff("Si", "O", SI_O_BOND_A)
    pipeline.modifiers.append(bonds)
    pipeline.modifiers.append(BondAngleDistributionModifier(bins=angle_bins, partition=BondAngleDistributionModifier.Partition.ByParticleType))
    table = pipeline.compute().tables["bond-angle-distr"]
    xy = np.asarray(table.xy())
    out["angle_deg"] = xy[:, 0].tolist()
    for k, name in enumerate(table.y.component_names):
        if name in ("O-Si-O", "Si-O-Si"):
            counts = xy[:, k + 1]
            out[f"angles_{name}"] = counts.tolist()
            out[f"mean_{name}_deg"] = float(np.dot(xy[:, 0], counts) / counts.sum())
    return out
