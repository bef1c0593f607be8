"""Crystal structures as ASE Atoms, and LAMMPS data files with a fixed type map.

Every builder returns an orthogonal (or ASE-triclinic) periodic cell; composition is given in at.%
and realised exactly (largest-remainder rounding) with a seeded random placement.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_masses, atomic_numbers
from ase.io import write

from pylmp.errors import PylmpError

LATTICES = ("fcc", "bcc", "hcp", "L12")


def check_composition(composition: dict[str, float]) -> None:
    for el, pct in composition.items():
        if el not in atomic_numbers:
            raise PylmpError(f"composition: '{el}' is not a chemical element symbol")
        if pct < 0:
            raise PylmpError(f"composition: {el} = {pct} at.% is negative")
    total = sum(composition.values())
    if abs(total - 100.0) > 1e-6:
        raise PylmpError(f"composition {format_composition(composition)} sums to {total:g} at.%, not 100: fix the percentages")


def format_composition(composition: dict[str, float]) -> str:
    return "-".join(f"{el}{pct:g}" for el, pct in composition.items() if pct > 0)


def exact_counts(composition: dict[str, float], n: int) -> dict[str, int]:
    """Integer atom counts summing to n, closest to the at.% (largest remainder)."""
    check_composition(composition)
    share = {el: pct / 100.0 * n for el, pct in composition.items()}
    counts = {el: math.floor(v) for el, v in share.items()}
    left = n - sum(counts.values())
    for el in sorted(share, key=lambda e: share[e] - counts[e], reverse=True)[:left]:
        counts[el] += 1
    return counts


def unit_cell(lattice: str, element: str, a: float, c_over_a: float = math.sqrt(8 / 3)) -> Atoms:
    """Conventional cubic cell (fcc 4, bcc 2 atoms) or orthogonal hcp cell (4 atoms)."""
    if lattice == "fcc":
        return bulk(element, "fcc", a=a, cubic=True)
    if lattice == "bcc":
        return bulk(element, "bcc", a=a, cubic=True)
    if lattice == "hcp":
        # `a` is the fcc-equivalent cubic lattice parameter; same nearest-neighbour distance in hcp
        d = a / math.sqrt(2)
        return bulk(element, "hcp", a=d, c=d * c_over_a, orthorhombic=True)
    raise PylmpError(f"unknown lattice '{lattice}'; choose one of {', '.join(LATTICES)}")


def l12_cell(majority: str, minority: str, a: float) -> Atoms:
    """L1_2 A3B: B on cube corners, A on face centres."""
    frac = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    return Atoms([minority, majority, majority, majority], scaled_positions=frac, cell=[a, a, a], pbc=True)


def repeats_for(n_target: int, atoms_per_cell: int) -> int:
    """Cubic repeat n with n^3 * atoms_per_cell closest to n_target (at least 1)."""
    return max(1, round((n_target / atoms_per_cell) ** (1 / 3)))


def crystal(lattice: str, composition: dict[str, float], a: float, atoms: int = 256, seed: int = 0) -> Atoms:
    """Supercell of about `atoms` atoms; random substitutional alloy unless lattice is the ordered L12."""
    check_composition(composition)
    present = {el: pct for el, pct in composition.items() if pct > 0}
    if lattice == "L12":
        if len(present) != 2 or sorted(present.values()) != [25.0, 75.0]:
            raise PylmpError(f"lattice L12 needs an A3B composition of two elements at 75/25 at.%, got {format_composition(composition)}")
        majority = max(present, key=present.get)
        minority = min(present, key=present.get)
        cell = l12_cell(majority, minority, a)
        return cell.repeat(repeats_for(atoms, len(cell)))
    base = max(present, key=present.get)
    cell = unit_cell(lattice, base, a)
    n = repeats_for(atoms, len(cell))
    reps = (n, n, n) if lattice != "hcp" else near_cubic_repeats(cell, atoms)
    supercell = cell.repeat(reps)
    return randomize(supercell, composition, seed)


def randomize(atoms: Atoms, composition: dict[str, float], seed: int) -> Atoms:
    """Place elements on all sites with exact counts, reproducibly for a given seed."""
    counts = exact_counts(composition, len(atoms))
    symbols = np.concatenate([[el] * c for el, c in counts.items()])
    rng = np.random.default_rng(seed)
    out = atoms.copy()
    out.set_chemical_symbols(list(rng.permutation(symbols)))
    return out


def relax_mode(lattice: str, composition: dict[str, float]) -> str:
    """box/relax mode: ordered cubic crystals keep their shape (iso); random alloys and hcp relax each axis."""
    present = [el for el, pct in composition.items() if pct > 0]
    ordered_cubic = lattice == "L12" or (lattice in ("fcc", "bcc") and len(present) == 1)
    return "iso" if ordered_cubic else "aniso"


def lattice_parameter(lattice: str, volume_per_atom: float) -> float:
    """Conventional lattice parameter for a volume per atom (hcp: ideal c/a, basal a)."""
    if lattice == "hcp":
        return (math.sqrt(2) * volume_per_atom) ** (1 / 3)
    return ({"fcc": 4, "L12": 4, "bcc": 2}[lattice] * volume_per_atom) ** (1 / 3)


def write_data(atoms: Atoms, path: Path, type_elements: list[str]) -> None:
    """LAMMPS data file (atom_style atomic): type i holds type_elements[i-1], with its mass.

    The type map is the study's element list, so every task of a study shares it even when an
    element is absent from one cell (e.g. the pure-Ni end of a Ni-Al scan).
    """
    extra = set(atoms.get_chemical_symbols()) - set(type_elements)
    if extra:
        raise PylmpError(f"structure holds {', '.join(sorted(extra))} that the type map {type_elements} lacks")
    # parallel=False: under an mpirun task farm ASE would otherwise let only world rank 0 write
    write(path, atoms, format="lammps-data", specorder=list(type_elements), masses=True, units="metal",
          atom_style="atomic", parallel=False)


def masses(type_elements: list[str]) -> list[float]:
    return [float(atomic_masses[atomic_numbers[el]]) for el in type_elements]


# --- a user's own structure (material.structure): read, measured, and scaled like a built lattice -------------------

def read_structure(path: Path, types: list[str] | None = None, fmt: str | None = None) -> Atoms:
    """Any file ASE reads (CIF, POSCAR, extxyz, LAMMPS data, ...), as one periodic Atoms. A LAMMPS data file names
    no elements: `types` maps its types 1, 2, ... to symbols, else ASE guesses them from the Masses section."""
    from ase.io import read

    path = Path(path).expanduser()
    if not path.is_file():
        raise PylmpError(f"material.structure {path} not found; give a CIF, POSCAR, extxyz or LAMMPS data file (relative to the study file)")
    is_data = fmt == "lammps-data" or (fmt is None and path.suffix in (".data", ".lmp", ".lammps"))
    try:
        if is_data:
            text = path.read_text(errors="replace")
            if not types and "Masses" not in text:
                raise PylmpError(f"material.structure {path.name} is a LAMMPS data file without a Masses section: "
                                 "name its types with material.types, e.g. [Ni, Al]")
            z_of_type = {i: atomic_numbers[el] for i, el in enumerate(types, 1)} if types else None
            atoms = read(path, format="lammps-data", Z_of_type=z_of_type, units="metal")
        else:
            atoms = read(path, format=fmt)  # the last frame of a trajectory
    except PylmpError:
        raise
    except Exception as exc:  # ASE raises many kinds (ValueError, KeyError, StopIteration, its own ParseError)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PylmpError(f"material.structure {path.name} could not be read by ASE ({first[:150]}); "
                         "check the file or name its format with material.format (e.g. cif, vasp, extxyz, lammps-data)") from None
    if types and not is_data:
        raise PylmpError(f"material.types maps LAMMPS data types to elements; {path.name} names its elements itself, drop material.types")
    return checked_structure(atoms, path.name)


def checked_structure(atoms: Atoms, what: str) -> Atoms:
    """A copy that LAMMPS can run: three periodic directions with a real volume, no two atoms on one spot, turned into
    LAMMPS's frame (a along x, b in the xy plane) once, so that every Cartesian vector pylmp hands LAMMPS or reads back
    (phonopy's displacements and forces, strains, C_ij) is in the frame LAMMPS runs in."""
    if len(atoms) == 0:
        raise PylmpError(f"material.structure {what} holds no atoms")
    if not atoms.pbc.all() or atoms.cell.rank < 3:
        raise PylmpError(f"material.structure {what} is not periodic in x, y and z (pbc {atoms.pbc.tolist()}); "
                         "give a bulk crystal cell (add vacuum yourself for a slab)")
    out = Atoms(atoms.get_chemical_symbols(), positions=atoms.get_positions(), cell=atoms.cell, pbc=True)
    out.set_cell(out.cell.standard_form()[0], scale_atoms=True)  # a rotation (and a mirror for a left-handed cell)
    out.wrap()
    from ase.neighborlist import neighbor_list

    close = neighbor_list("d", out, 0.5)  # linear in the atom count, periodic images included
    if len(close):
        raise PylmpError(f"material.structure {what} has two atoms {close.min():.2f} A apart: duplicated sites (check the CIF's occupancies)")
    return out


def _spglib_cell(atoms: Atoms, same_species: bool):
    numbers = [1] * len(atoms) if same_species else atoms.get_atomic_numbers()
    return (atoms.cell[:], atoms.get_scaled_positions(), numbers)


def _symmetry(atoms: Atoms, same_species: bool = False):
    import spglib

    return spglib.get_symmetry_dataset(_spglib_cell(atoms, same_species), symprec=1e-3)


def conventional_rotation(atoms: Atoms) -> np.ndarray:
    """The rotation from the structure's Cartesian frame to its standardized conventional cell's (cubic axes along
    x, y, z), by spglib; identity for a cell already so aligned."""
    data = _symmetry(atoms)
    return np.eye(3) if data is None else np.asarray(data.std_rotation_matrix)


def reference_length(atoms: Atoms) -> float:
    """The structure's lattice parameter a: the conventional a of its site lattice (all atoms one species, so a random
    alloy cell or a supercell gives its parent lattice's a), from spglib; the first cell vector's length if spglib finds none."""
    data = _symmetry(atoms, same_species=True)
    if data is None:
        return float(np.linalg.norm(atoms.cell[0]))
    return float(np.linalg.norm(data.std_lattice[0]))


def is_cubic(atoms: Atoms) -> bool:
    """Cubic with its species in place (space groups 195-230): box/relax iso keeps such a crystal's shape and sites."""
    data = _symmetry(atoms)
    return data is not None and data.number >= 195


def site_classes(atoms: Atoms) -> np.ndarray:
    """Per atom, its class of symmetry-equivalent sites (spglib's equivalent_atoms); each atom its own class if
    spglib finds no symmetry."""
    data = _symmetry(atoms)
    return data.equivalent_atoms if data is not None else np.arange(len(atoms))


def site_classes_per_species(atoms: Atoms) -> dict[str, int]:
    """How many symmetry-inequivalent sites each species occupies (1 for every species of an ordered L1_2 cell)."""
    symbols, classes = np.array(atoms.get_chemical_symbols()), site_classes(atoms)
    return {el: len(set(classes[symbols == el])) for el in dict.fromkeys(symbols)}


def near_cubic_repeats(cell: Atoms, atoms: int) -> tuple[int, int, int]:
    """Repeats giving about `atoms` atoms in a supercell close to cubic in shape (at least 1 each)."""
    lengths = cell.cell.lengths()
    scale = (atoms / len(cell) * cell.get_volume()) ** (1 / 3)
    return tuple(max(1, round(scale / length)) for length in lengths)


def composition_of(atoms: Atoms, order: list[str] | None = None) -> dict[str, float]:
    """at.% of each element, in `order` (the type map) or in order of first appearance."""
    symbols = atoms.get_chemical_symbols()
    order = list(order) if order else list(dict.fromkeys(symbols))
    return {el: 100.0 * symbols.count(el) / len(symbols) for el in order}


def study_cell(study, a: float | None = None, seed: int | None = None) -> Atoms:
    """The study's crystal at lattice parameter a (default material.a): the user's own structure scaled isotropically,
    or the built lattice (a random alloy placed with `seed`, default material.seed)."""
    a = study.a if a is None else a
    if study.structure is not None:
        cell = study.structure.copy()
        cell.set_cell(cell.cell[:] * (a / study.a), scale_atoms=True)
        return cell
    return crystal(study.lattice, study.composition, a, study.atoms, study.seed if seed is None else seed)


def study_lattice_parameter(study, volume_per_atom: float) -> float:
    """Lattice parameter at a volume per atom: the built lattice's formula, or the user's structure scaled isotropically."""
    if study.structure is not None:
        v_file = study.structure.get_volume() / len(study.structure)
        return study.a * (volume_per_atom / v_file) ** (1 / 3)
    return lattice_parameter(study.lattice, volume_per_atom)


def study_relax_mode(study) -> str:
    """box/relax mode of the study's crystal: iso for a cubic structure of the user's, else aniso (tri for a tilted cell)."""
    if study.structure is None:
        return relax_mode(study.lattice, study.composition)
    if is_cubic(study.structure):
        return "iso"
    return "aniso" if np.allclose(study.structure.cell.angles(), 90.0, atol=1e-6) else "tri"
