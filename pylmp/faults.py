"""fcc cells oriented for (111) faults, as ASE Atoms with exact periodic lengths.

Orientation: x = [1-10], y = [11-2], z = [111]. The smallest orthogonal repeat is
    x: a/sqrt(2) (= a/2[1-10]),  y: a*sqrt(6)/2 (= a/2[11-2]),  z: 3 (111) planes = a*sqrt(3),
with 2 atoms per (111) plane in it. These lengths are built here directly rather than with LAMMPS
`lattice ... orient`, whose spacings are not the periodic repeats of a rotated cell (STACK-NOTES).

Plane j sits at height (j + 1/2) d, d = a/sqrt(3), shifted in-plane by j * b_p along +y, with
b_p = a/sqrt(6) the partial Burgers vector: the stacking A B C A ... Moving every plane above a
cut by +b_p along y turns ...A B C|A B C... into ...A B C|B C A...: the intrinsic stacking fault.
Atoms are ordered plane by plane (plane j holds ids j*n+1 .. (j+1)*n), so a LAMMPS input can name
the planes above a cut by an id range; the faults themselves are made inside LAMMPS (workflows/gsfe.py).
"""
from __future__ import annotations

import math

import numpy as np
from ase import Atoms

from pylmp.errors import PylmpError


def partial_burgers(a: float) -> float:
    """|a/6 <112>|: the Shockley partial, and the in-plane offset between successive (111) planes."""
    return a / math.sqrt(6)


def full_burgers(a: float) -> float:
    """|a/2 <110>|: the full dislocation Burgers vector, the x repeat of the cell."""
    return a / math.sqrt(2)


def plane_spacing(a: float) -> float:
    return a / math.sqrt(3)


def atoms_per_plane(repeat: tuple[int, int]) -> int:
    return 2 * repeat[0] * repeat[1]


def fcc111_cell(element: str, a: float, layers: int, repeat: tuple[int, int] = (1, 1)) -> Atoms:
    """Periodic fcc block of `layers` (111) planes, repeat[0] x repeat[1] rectangles per plane."""
    nx, ny = repeat
    if layers < 3 or layers % 3:
        raise PylmpError(f"fcc111_cell: layers = {layers}; use a multiple of 3 (the ABC stacking repeats every 3 planes)")
    if nx < 1 or ny < 1:
        raise PylmpError(f"fcc111_cell: repeat = {repeat}; both lateral repeats must be at least 1")
    lx, ly, d = full_burgers(a), a * math.sqrt(6) / 2, plane_spacing(a)
    # one plane of the triangular lattice: a rectangle holds a corner atom and a centred one
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    corner = np.stack([ii.ravel() * lx, jj.ravel() * ly], axis=1)
    plane = np.concatenate([corner, corner + [lx / 2, ly / 2]])
    b_p = partial_burgers(a)
    positions = []
    for j in range(layers):
        xy = plane + [0.0, j * b_p]
        xy[:, 1] %= ny * ly  # fold the stacking offset back into the cell
        positions.append(np.column_stack([xy, np.full(len(xy), (j + 0.5) * d)]))
    cell = [nx * lx, ny * ly, layers * d]
    return Atoms(element * (len(plane) * layers), positions=np.concatenate(positions), cell=cell, pbc=True)


def plane_ids(atoms_per_plane_: int, first_plane: int, layers: int) -> str:
    """LAMMPS id range (1-based) of planes first_plane .. layers-1, for `group NAME id A:B`."""
    return f"{first_plane * atoms_per_plane_ + 1}:{layers * atoms_per_plane_}"



# x, y, z of the fault cell as unit vectors in cubic axes (rows): [1-10], [11-2], [111]
ROTATION = np.array([[1, -1, 0] / np.sqrt(2), [1, 1, -2] / np.sqrt(6), [1, 1, 1] / np.sqrt(3)])


def cubic_sites(atoms: Atoms, a: float) -> np.ndarray:
    """Integer fcc site labels (units of a/2 along the cube axes) of an fcc111_cell's atoms.

    Plane 0's corner atom is the origin (it sits at z = d/2 in the cell)."""
    r = atoms.positions - [0.0, 0.0, plane_spacing(a) / 2]
    ijk = r @ ROTATION / (a / 2)
    out = np.rint(ijk).astype(int)
    if abs(ijk - out).max() > 1e-6:
        raise PylmpError("cubic_sites: the cell is not an unrelaxed fcc111_cell")
    return out


def l12_111_cell(majority: str, minority: str, a: float, layers: int, repeat: tuple[int, int] = (1, 1)) -> Atoms:
    """L1_2 A3B in the (111) fault orientation: B on the cube corners (all of i, j, k even in a/2 units).

    One L1_2 period in-plane is 2 x 2 fcc rectangles (a sqrt(2) along [1-10], a sqrt(6) along [11-2]: the
    in-plane order doubles the fcc repeat), so `repeat` counts L1_2 periods and the cell has 2*repeat
    rectangles; every (111) plane holds A3B (8 atoms per period)."""
    cell = fcc111_cell(majority, a, layers, (2 * repeat[0], 2 * repeat[1]))
    corner = (cubic_sites(cell, a) % 2 == 0).all(axis=1)
    symbols = np.where(corner, minority, majority)
    cell.set_chemical_symbols(list(symbols))
    return cell


def random_111_cell(composition: dict[str, float], a: float, layers: int, repeat: tuple[int, int], seed: int) -> Atoms:
    """Random substitutional fcc alloy in the (111) fault orientation, exact counts, reproducible for a seed."""
    from pylmp import structures

    base = max(composition, key=composition.get)
    return structures.randomize(fcc111_cell(base, a, layers, repeat), composition, seed)


def plane_of(atoms_per_plane_: int, n_atoms: int) -> np.ndarray:
    """(111) plane index of each atom of a cell built here (ids ordered plane by plane)."""
    return np.arange(n_atoms) // atoms_per_plane_
