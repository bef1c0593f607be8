"""A screw dislocation in fcc, dissociated on (111) into two Shockley partials: cell, elastic estimate, OVITO measurement.

Frame (that of faults.fcc111_cell): x = [1-10] the line and the Burgers vector b = a/2[1-10], y = [11-2] the glide
direction, z = [111] the glide-plane normal. The partials are 30-degree mixed dislocations,
    b1 = (b/2, +b_p/2, 0) at y1 (left),  b2 = (b/2, -b_p/2, 0) at y2 (right),   b1 + b2 = (b, 0, 0),
so that the slip inside the ribbon (y1 < y < y2), b2, is an intrinsic-fault vector (faults.py: moving the planes
above a cut by (b/2, -b_p/2) turns B into C, like +b_p along y).

Why the screw orientation: its Burgers vector lies along the periodic line, so the closure failure of a Burgers
circuit around the cell's periodic glide direction is b/2 along x, which a box tilt xy = -b/2 takes up exactly
(b/2 and -b/2 differ by the lattice vector b). The cell keeps the atom count of the perfect crystal: no extra
half-plane, no strained halves, periodic along the line and the glide direction; free (111) surfaces above and
below. Theory note: docs/theory/dislocation.md.
"""
from __future__ import annotations

import math

import numpy as np
from ase import Atoms

from pylmp import faults

GPA_TO_EV_A3 = 1.0 / 160.21766
MJ_M2_TO_EV_A2 = 1.0 / 16021.766


def row_angle(y: np.ndarray, z: np.ndarray, period: float) -> np.ndarray:
    """Angle field of a row of dislocations at y = n*period, z = 0: the sum of atan2(z, y - n*period).

    Closed form, continuous except on the cut z = 0 left of each line, where it jumps by 2 pi per line to the right
    (the same branch as the image sum); far above it is pi/2 - pi y/period, far below -(pi/2 - pi y/period)."""
    w = (y + 1j * z) * (2 * math.pi / period)
    above = math.pi / 2 - math.pi * y / period + np.angle(1 - np.exp(1j * w))  # |exp(i w)| < 1 for z > 0
    below = -math.pi / 2 + math.pi * y / period + np.angle(1 - np.exp(-1j * w))
    return np.where(z > 0, above, below)


def partial_displacement(y: np.ndarray, z: np.ndarray, burgers, y0: float, z0: float, period: float, nu: float) -> np.ndarray:
    """Isotropic displacement field (N x 3) of one straight partial along x at (y0, z0) with Burgers vector (s, e, 0).

    Screw part s: u_x = s theta / 2 pi with the periodic row angle (exact for the periodic cell). Edge part e
    (Hirth & Lothe eq. 3-45, glide along y): theta again for the cut, plus the non-periodic terms of one line;
    the two partials' edge parts are opposite, so those terms decay as a dipole and the cell stays consistent."""
    s, e, _ = burgers
    dy, dz = y - y0, z - z0
    theta = row_angle(dy, dz, period)
    r2 = dy * dy + dz * dz
    u = np.zeros((len(y), 3))
    u[:, 0] = s * theta / (2 * math.pi)
    u[:, 1] = e / (2 * math.pi) * (theta + dy * dz / (2 * (1 - nu) * r2))
    u[:, 2] = -e / (2 * math.pi) * ((1 - 2 * nu) / (4 * (1 - nu)) * np.log(r2) + (dy * dy - dz * dz) / (4 * (1 - nu) * r2))
    return u


def partial_burgers_vectors(a: float) -> tuple[np.ndarray, np.ndarray]:
    b, bp = faults.full_burgers(a), faults.partial_burgers(a)
    return np.array([b / 2, bp / 2, 0.0]), np.array([b / 2, -bp / 2, 0.0])


def dissociated_screw_cell(element: str, a: float, layers: int, repeat: tuple[int, int], vacuum: float,
                           separation: float, nu: float = 0.3) -> tuple[Atoms, dict]:
    """Slab of `layers` (111) planes holding one screw dislocation split into two partials `separation` apart.

    The glide plane lies between planes layers//2 - 1 and layers//2, the ribbon centred in y. Returns the cell
    (box tilt xy = -b/2, `vacuum` A of empty space above and below) and where everything was put."""
    cell = faults.fcc111_cell(element, a, layers, repeat)
    lx, ly, lz = cell.cell.lengths()
    d = faults.plane_spacing(a)
    z0 = layers // 2 * d  # planes sit at (j + 1/2) d
    y1, y2 = ly / 2 - separation / 2, ly / 2 + separation / 2
    b1, b2 = partial_burgers_vectors(a)
    pos = cell.positions
    u = sum(partial_displacement(pos[:, 1], pos[:, 2], bv, y0, z0, ly, nu) for bv, y0 in ((b1, y1), (b2, y2)))
    cell.positions = pos + u + [0.0, 0.0, vacuum]
    cell.set_cell([[lx, 0.0, 0.0], [-faults.full_burgers(a) / 2, ly, 0.0], [0.0, 0.0, lz + 2 * vacuum]])
    cell.wrap()
    where = {"glide_plane_z_A": z0 + vacuum, "y1_A": y1, "y2_A": y2, "lx_A": lx, "ly_A": ly, "a_A": a,
             "first_plane_above": layers // 2}
    return cell, where


# ---------------------------------------------------------------- elastic estimate of the ribbon width

def cubic_stiffness(c11: float, c12: float, c44: float) -> np.ndarray:
    """C_ijkl (3x3x3x3) of a cubic crystal in its cube axes."""
    c = np.zeros((3, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            c[i, i, j, j] = c12
            c[i, j, i, j] = c[i, j, j, i] = c44
        c[i, i, i, i] = c11
    return c


def energy_factor(c_cubic: np.ndarray, rotation: np.ndarray, line: np.ndarray, samples: int = 720) -> np.ndarray:
    """Stroh/Barnett-Lothe energy-factor matrix K (3x3, units of C) of a straight line along `line` (frame units).

    K = (1/2pi) int_0^2pi [(mm) - (mn)(nn)^-1(nm)] dw, (ab)_jk = a_i C_ijkl b_l, (m, n) rotating about the line;
    E = b.K.b/(4 pi) ln(R/r0). Isotropic limit: K = mu/(1-nu) for edge directions, mu along the line."""
    c = np.einsum("ia,jb,kc,ld,abcd->ijkl", rotation, rotation, rotation, rotation, c_cubic)
    t = line / np.linalg.norm(line)
    m0 = np.cross(t, [0.0, 0.0, 1.0] if abs(t[2]) < 0.9 else [1.0, 0.0, 0.0])
    m0 /= np.linalg.norm(m0)
    n0 = np.cross(t, m0)
    k = np.zeros((3, 3))
    for w in np.linspace(0.0, 2 * math.pi, samples, endpoint=False):  # periodic integrand: the trapezoid rule is spectral
        m, n = m0 * math.cos(w) + n0 * math.sin(w), -m0 * math.sin(w) + n0 * math.cos(w)
        mm, mn, nn = (np.einsum("i,ijkl,l->jk", p, c, q) for p, q in ((m, m), (m, n), (n, n)))
        k += mm - mn @ np.linalg.solve(nn, mn.T)
    return k / samples


def ribbon_width(c11_gpa: float, c12_gpa: float, c44_gpa: float, gamma_mj_m2: float, a: float,
                 period: float | None = None) -> dict:
    """Equilibrium partial separation of the screw dislocation: the repulsion of the two partials balances gamma.

    Isotropic (Voigt shear modulus G and Poisson ratio nu of the cubic C_ij), Hirth & Lothe eq. 10-20 at the screw
    orientation: d = G b_p^2 / (8 pi gamma) (2 - 3 nu)/(1 - nu). Anisotropic: F(d) = b1.K.b2 / (2 pi d) between two
    coplanar parallel lines, d = b1.K.b2 / (2 pi gamma). With period L along the glide direction the images sum to
    F = b1.K.b2/(2L) cot(pi d/L), so d_L = (L/pi) atan(pi d / L) for either estimate."""
    c = cubic_stiffness(c11_gpa, c12_gpa, c44_gpa) * GPA_TO_EV_A3
    k = energy_factor(c, faults.ROTATION, np.array([1.0, 0.0, 0.0]))
    b1, b2 = partial_burgers_vectors(a)
    gamma = gamma_mj_m2 * MJ_M2_TO_EV_A2
    strength = float(b1 @ k @ b2)  # eV/A
    g_v = (c11_gpa - c12_gpa + 3 * c44_gpa) / 5
    bulk = (c11_gpa + 2 * c12_gpa) / 3
    nu = (3 * bulk - 2 * g_v) / (2 * (3 * bulk + g_v))
    bp = faults.partial_burgers(a)
    out = {"d_aniso_A": strength / (2 * math.pi * gamma),
           "d_iso_A": g_v * GPA_TO_EV_A3 * bp ** 2 / (8 * math.pi * gamma) * (2 - 3 * nu) / (1 - nu),
           "b1_K_b2_eV_A": strength, "K_screw_GPa": float(k[0, 0] / GPA_TO_EV_A3), "K_edge_GPa": float(k[1, 1] / GPA_TO_EV_A3),
           "G_voigt_GPa": g_v, "nu_voigt": nu}
    if period:  # the same balance in the cell: images of the partials every `period` along the glide direction
        for key in ("d_aniso", "d_iso"):
            out[f"{key}_periodic_A"] = period / math.pi * math.atan(math.pi * out[f"{key}_A"] / period)
    return out


# ---------------------------------------------------------------- measurement with OVITO (adaptive CNA and DXA)

def measure(dump: str, per_plane: int, glide_plane: int, repeat: tuple[int, int]) -> dict:
    """Ribbon width of a relaxed cell (dump with ids ordered plane by plane): DXA partial lines and CNA HCP atoms.

    DXA: the Shockley segments are grouped by their Burgers vector (up to the sign, which follows the line sense);
    each partial's position is the length-weighted mean y of its line points. CNA: HCP atoms of the two planes
    bounding the glide plane; width = N_hcp / 2 * (area per atom) / (line length) = N_hcp * ly / (2 per_plane)."""
    from ovito.io import import_file
    from ovito.modifiers import CommonNeighborAnalysisModifier as CNA
    from ovito.modifiers import DislocationAnalysisModifier as DXA

    pipeline = import_file(dump)
    pipeline.modifiers.append(CNA(mode=CNA.Mode.AdaptiveCutoff))
    pipeline.modifiers.append(DXA(input_crystal_structure=DXA.Lattice.FCC))
    data = pipeline.compute()
    kind = np.asarray(data.particles["Structure Type"])
    plane = (np.asarray(data.particles["Particle Identifier"]) - 1) // per_plane
    pos = np.asarray(data.particles.positions)
    cell = np.asarray(data.cell[:, :3])
    ly = float(cell[1, 1])

    groups: dict[tuple, dict] = {}
    for seg in data.dislocations.segments:
        b = np.asarray(seg.true_burgers_vector, dtype=float)
        if abs(b @ b - 1 / 6) > 1e-3:  # not a/6<112> (a perfect or a stair-rod segment): not a partial of the ribbon
            continue
        bs = np.asarray(seg.spatial_burgers_vector, dtype=float)
        key = tuple(np.round(bs if bs[np.argmax(abs(bs))] > 0 else -bs, 2))
        g = groups.setdefault(key, {"length": 0.0, "y_sum": 0.0, "burgers": (b if b[np.argmax(abs(b))] > 0 else -b)})
        pts = np.asarray(seg.points)
        g["length"] += seg.length
        g["y_sum"] += seg.length * float(np.mean(pts[:, 1]))
    lines = sorted(groups.values(), key=lambda g: -g["length"])[:2]
    partials = sorted(({"y_A": g["y_sum"] / g["length"], "length_A": g["length"],
                        "burgers_crystal": "1/6[" + " ".join(f"{6 * c:.0f}" for c in g["burgers"]) + "]"} for g in lines),
                      key=lambda p: p["y_A"])
    separation = abs(partials[1]["y_A"] - partials[0]["y_A"]) if len(partials) == 2 else float("nan")

    ribbon = np.isin(plane, (glide_plane - 1, glide_plane))
    hcp = ribbon & (kind == CNA.Type.HCP)
    n_line, n_glide = repeat
    edges = np.linspace(0.0, ly, 2 * n_glide + 1)  # one bin per atomic row along y (two rows per rectangle)
    counts, _ = np.histogram(pos[hcp, 1] % ly, bins=edges)
    centre = float(np.mean([p["y_A"] for p in partials])) if partials else ly / 2
    z0 = float(pos[ribbon, 2].mean())
    frac_x = np.linalg.solve(cell.T, (pos - np.asarray(data.cell[:, 3])).T)[0] % 1.0
    window = (frac_x < 1.0 / n_line) & (abs(pos[:, 2] - z0) < 15) & (abs(pos[:, 1] - centre) < max(25.0, 1.5 * separation))
    names = {int(CNA.Type.FCC): "FCC", int(CNA.Type.HCP): "HCP"}
    return {"n_partials": len(groups), "partials": partials, "separation_dxa_A": separation,
            "n_hcp_ribbon": int(hcp.sum()), "separation_cna_A": float(hcp.sum() * ly / (2 * per_plane)),
            "profile": {"y_A": ((edges[:-1] + edges[1:]) / 2).tolist(), "hcp_per_bin": counts.tolist()},
            "slice": {"y_A": pos[window, 1].tolist(), "z_A": pos[window, 2].tolist(),
                      "cna": [names.get(int(k), "Other") for k in kind[window]], "glide_plane_z_A": z0, "centre_y_A": centre}}
