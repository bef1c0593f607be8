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
    reps = (n, n, n) if lattice != "hcp" else _hcp_repeats(cell, atoms)
    supercell = cell.repeat(reps)
    return randomize(supercell, composition, seed)


def _hcp_repeats(cell: Atoms, atoms: int) -> tuple[int, int, int]:
    """Repeats making the orthorhombic hcp supercell close to cubic in shape."""
    lengths = cell.cell.lengths()
    scale = (atoms / len(cell) * np.prod(lengths)) ** (1 / 3)
    return tuple(max(1, round(scale / length)) for length in lengths)


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
