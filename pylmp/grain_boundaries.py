"""Coincidence-site-lattice (CSL) bicrystals of fcc crystals: symmetric tilt and twist boundaries, fully periodic.

A grain is the fcc lattice in an orthogonal box whose axes x, y, z are integer crystal directions. Each box edge is
the shortest fcc lattice vector along its axis (a/2 [uvw] when u+v+w is even, a [uvw] otherwise), so the block
repeats exactly; LAMMPS `lattice ... orient` spacings are not these repeats (docs/theory/grain_boundaries.md).

The second grain is the mirror image of the first, which shares the in-plane periods by construction:
  tilt   mirror z -> -z, z the boundary normal (hkl), x the tilt axis: the symmetric tilt boundary;
  twist  mirror y -> -y, z the twist axis: since fcc is centrosymmetric and every <001>, <110>, <111> axis lies in
         a crystal mirror plane, the lab mirror composed with that crystal mirror is a rotation about z, i.e. a
         twist of twice the angle between x and the mirror plane.
Grain 1 fills 0 <= z <= H (both end planes), grain 2 the mirror image, H < z < 2H: the boundaries sit at z = 0 and
z = H on atomic planes shared by both grains (for (111) this is the coherent twin). Grain 1 atoms come first
(ids 1..n_lower), so a LAMMPS input names the upper grain by an id range. Rigid-body translations and the deletion
of close pairs that explore the other boundary structures are done in LAMMPS (workflows/gb.py).
"""
from __future__ import annotations

import dataclasses
import math
import re
from functools import reduce

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from pylmp.errors import PylmpError

# the usual low-Sigma boundaries of fcc metals, in the notation parse() reads: "tilt AXIS PLANE" | "twist AXIS X"
CATALOGUE = {
    "S3_111": "tilt 1-10 111",    # coherent twin
    "S3_112": "tilt 1-10 11-2",   # incoherent twin
    "S5_310": "tilt 001 310",
    "S5_210": "tilt 001 210",
    "S13_510": "tilt 001 510",
    "S17_410": "tilt 001 410",
    "S11_113": "tilt 1-10 113",
    "S9_221": "tilt 1-10 221",
    "S9_114": "tilt 1-10 114",
    "S5_001_twist": "twist 001 310",
    "S13_001_twist": "twist 001 510",
    "S7_111_twist": "twist 111 4-51",
}
MIRROR_NORMALS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -1, 0], [1, 0, 1],
                           [1, 0, -1], [0, 1, 1], [0, 1, -1]], dtype=float)  # the nine mirror planes of m-3m


def primitive(v) -> np.ndarray:
    v = np.asarray(v, dtype=int)
    g = reduce(math.gcd, (abs(int(c)) for c in v))
    if g == 0:
        raise PylmpError(f"grain boundary: direction {list(v)} is zero")
    return v // g


def period(d) -> float:
    """Shortest fcc lattice vector along integer direction d, in units of a."""
    d = primitive(d)
    return float(np.linalg.norm(d)) * (0.5 if d.sum() % 2 == 0 else 1.0)


@dataclasses.dataclass
class Boundary:
    name: str
    kind: str  # tilt | twist
    axis: np.ndarray  # tilt or twist axis (crystal indices of grain 1)
    x: np.ndarray  # box axes of grain 1 in crystal indices
    y: np.ndarray
    z: np.ndarray  # boundary normal

    @property
    def periods(self) -> np.ndarray:
        """CSL repeat lengths along x, y, z in units of a."""
        return np.array([period(self.x), period(self.y), period(self.z)])

    @property
    def rotation(self) -> np.ndarray:
        """Rows: unit vectors of the box axes in cubic coordinates."""
        return np.array([v / np.linalg.norm(v) for v in (self.x, self.y, self.z)])

    @property
    def mirror(self) -> np.ndarray:
        return np.array([1.0, 1.0, -1.0]) if self.kind == "tilt" else np.array([1.0, -1.0, 1.0])

    @property
    def angle_deg(self) -> float:
        """Misorientation angle by the convention of E_gb(theta) plots.

        tilt: twice the angle between the boundary normal and the reference direction of the tilt series ([100] for
        a <001> axis, [001] for <110>, else the first of [1-10], [01-1] normal to the axis); Sigma3(111) is 109.47 deg.
        twist: twice the smallest angle between x and a crystal mirror plane that contains the axis."""
        if self.kind == "tilt":
            n = self.z / np.linalg.norm(self.z)
            for ref in ([1, 0, 0], [0, 0, 1], [1, -1, 0], [0, 1, -1]):
                ref = np.array(ref, float)
                if abs(ref @ self.axis) < 1e-9:
                    return float(2 * np.degrees(np.arccos(min(1.0, abs(n @ ref) / np.linalg.norm(ref)))))
        x = self.x / np.linalg.norm(self.x)
        m = MIRROR_NORMALS / np.linalg.norm(MIRROR_NORMALS, axis=1)[:, None]
        m = m[np.abs(m @ self.z) < 1e-9]  # mirror planes containing the axis
        return float(min(2 * np.degrees(np.arcsin(min(1.0, abs(x @ mi)))) for mi in m))

    @property
    def sigma(self) -> int:
        """Inverse density of coincident sites: grain-1 sites of one CSL cell whose mirror image is a grain-1 site."""
        atoms = grain(self, 1.0, (1, 1, 1))
        lengths = atoms.cell.lengths()
        frac = lambda p: {tuple(v) for v in np.rint((p / lengths % 1.0) * 1e6).astype(np.int64) % 1_000_000}
        sites = frac(atoms.positions)
        coincident = sites & frac(atoms.positions * self.mirror)
        return round(len(sites) / len(coincident))

    @property
    def title(self) -> str:
        what = f"({_indices(self.z)}) symmetric tilt about [{_indices(self.axis)}]" if self.kind == "tilt" \
            else f"twist about [{_indices(self.axis)}], x = [{_indices(self.x)}]"
        return f"Sigma{self.sigma} {what}, {self.angle_deg:.2f} deg"


def _indices(v) -> str:
    return "".join(str(int(c)) if abs(c) < 10 else f" {int(c)} " for c in v).strip()


def _direction(text: str) -> np.ndarray:
    """'1-10' -> [1, -1, 0]; '1,-1,0' or '[1,-1,0]' for indices above 9."""
    text = text.strip("[]()")
    parts = text.split(",") if "," in text else re.findall(r"-?\d", text)
    if len(parts) != 3 or "".join(parts).replace("-", "") != re.sub(r"[\s,\-]", "", text):
        raise ValueError(text)
    return primitive([int(p) for p in parts])


def parse(spec: str) -> Boundary:
    """A catalogue name (S5_310, ...) or 'tilt AXIS PLANE' / 'twist AXIS X', e.g. 'tilt 001 510', 'twist 111 4-1-3'."""
    text = CATALOGUE.get(spec, spec)
    words = text.split()
    try:
        if len(words) != 3 or words[0] not in ("tilt", "twist"):
            raise ValueError(text)
        axis, second = _direction(words[1]), _direction(words[2])
    except ValueError:
        raise PylmpError(f"grain boundary '{spec}': write a catalogue name ({', '.join(CATALOGUE)}) or 'tilt AXIS PLANE' "
                         "/ 'twist AXIS X' with Miller indices, e.g. 'tilt 001 310', 'twist 001 310'") from None
    if axis @ second != 0:
        raise PylmpError(f"grain boundary '{spec}': [{words[1]}] is not normal to [{words[2]}]; the tilt axis must lie "
                         "in the boundary plane (twist: x must lie in the plane normal to the axis)")
    if words[0] == "tilt":
        x, z = axis, second
    else:
        x, z = second, axis
    y = primitive(np.cross(z, x))
    b = Boundary(spec, words[0], axis, x, y, z)
    if b.angle_deg < 1e-6 or b.sigma == 1:
        raise PylmpError(f"grain boundary '{spec}': the mirror image of this grain is the same crystal (no boundary); "
                         "pick another plane or in-plane direction")
    return b


def grain(boundary: Boundary, a: float, repeat: tuple[int, int, int], element: str = "Ni") -> Atoms:
    """Grain 1: fcc lattice in the box of repeat x CSL periods, atoms at 0 <= x, y, z < L."""
    lengths = boundary.periods * a
    rot = boundary.rotation
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) * lengths
    cubic = corners @ rot / a  # box corners in cubic coordinates (units of a)
    lo, hi = np.floor(cubic.min(axis=0)) - 1, np.ceil(cubic.max(axis=0)) + 1
    grid = np.stack(np.meshgrid(*[np.arange(l, h) for l, h in zip(lo, hi)], indexing="ij"), axis=-1).reshape(-1, 3)
    basis = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    points = (grid[:, None, :] + basis[None]).reshape(-1, 3) * a @ rot.T
    frac = points / lengths
    keep = np.all((frac > -1e-8) & (frac < 1 - 1e-8), axis=1)
    frac = np.clip(frac[keep], 0.0, None)
    expected = round(np.prod(lengths) / (a ** 3 / 4))
    if len(frac) != expected:
        raise RuntimeError(f"grain {boundary.name}: {len(frac)} atoms in the CSL box, expected {expected}")
    order = np.lexsort((frac[:, 0], frac[:, 1], frac[:, 2]))
    cell = Atoms(element * len(frac), scaled_positions=frac[order], cell=lengths, pbc=True)
    return cell.repeat(repeat)


def repeats(boundary: Boundary, a: float, min_inplane_A: float, grain_thickness_A: float) -> tuple[int, int, int]:
    """CSL periods per box axis: in-plane lengths of at least min_inplane_A, each grain at least grain_thickness_A thick."""
    lengths = boundary.periods * a
    return (max(1, math.ceil(min_inplane_A / lengths[0] - 1e-9)), max(1, math.ceil(min_inplane_A / lengths[1] - 1e-9)),
            max(1, math.ceil(grain_thickness_A / lengths[2] - 1e-9)))


def bicrystal(boundary: Boundary, a: float, repeat: tuple[int, int, int], element: str = "Ni") -> tuple[Atoms, int]:
    """Fully periodic bicrystal, boundaries at z = 0 and z = H (H = repeat[2] z periods); returns (atoms, n_lower)."""
    g1 = grain(boundary, a, repeat, element)
    lx, ly, h = g1.cell.lengths()
    tol = 1e-6 * a
    z = g1.positions[:, 2]
    lower = np.concatenate([g1.positions, g1.positions[z < tol] + [0.0, 0.0, h]])  # both shared planes in grain 1
    inner = g1.positions[z > tol]
    upper = inner * boundary.mirror + ([0.0, 0.0, 2 * h] if boundary.kind == "tilt" else [0.0, ly, h])
    upper[:, :2] %= [lx, ly]
    positions = np.concatenate([lower, upper])
    atoms = Atoms(numbers=np.full(len(positions), atomic_numbers[element]), positions=positions, cell=[lx, ly, 2 * h], pbc=True)
    atoms.wrap()
    return atoms, len(lower)
