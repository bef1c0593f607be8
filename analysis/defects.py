"""Defects in LAMMPS dumps (one frame or many) with OVITO, short-range order with mdapy.

Analyses (names used by `pylmp analyze --what` and the study key `analyze:`):
- cna:    adaptive common neighbour analysis; atom counts per structure (FCC, HCP, BCC, ICO, OTHER).
- ptm:    polyhedral template matching; counts per structure (FCC, HCP, BCC, ICO, SC, OTHER).
- csp:    centrosymmetry parameter (12 neighbours, fcc); mean, and atoms above CSP_DEFECT_A2.
- faults: OVITO's fcc planar-fault classifier (on PTM): atoms in intrinsic stacking faults (two hcp layers),
          coherent twin boundaries (one layer), multilayer faults (three or more), other hcp-like atoms;
          estimated ISF and twin areas.
- dxa:    dislocation extraction (fcc lattice): total line length and length per Burgers-vector family,
          number of dislocation lines, density.
- sro:    Warren-Cowley parameters alpha_ij = 1 - P_ij / c_j of the first fcc shell (P_ij: fraction of j
          atoms among the first-shell neighbours of i atoms, c_j: concentration of j), from mdapy.

Engine by measurement (STACK-NOTES and run/bench_analysis.py, 1,000,000 atoms): OVITO's CNA, PTM, CSP and DXA
are as fast as or faster than mdapy's, and mdapy has no DXA, so every structural analysis is one OVITO pipeline
that reads each frame once; mdapy computes only SRO. Numbers come from OVITO's own count attributes: Python never
loops over atoms.
"""
from __future__ import annotations

import csv
import difflib
import math
from pathlib import Path

import numpy as np

from pylmp.errors import PylmpError

ANALYSES = ("cna", "ptm", "csp", "faults", "dxa", "sro")
# A CSP above this marks a defect atom. Kelchner, Plimpton, Hamilton, PRB 58, 11085 (1998) give for Au
# 2.1 A^2 at a partial-dislocation core and 8.3 A^2 in a stacking fault; scaled to Ni by (3.52/4.08)^2 the core
# value is 1.6 A^2. Thermal noise in fcc Ni at 300 K stays well below 1 A^2.
CSP_DEFECT_A2 = 1.0
# DXA Burgers-vector families of the fcc lattice, by the names they go by
DXA_FAMILIES = {"1/6<112>": "shockley", "1/2<110>": "perfect", "1/6<110>": "stair_rod", "1/3<100>": "hirth",
                "1/3<111>": "frank", "other": "other"}
FCC_SHELLS = (1 / math.sqrt(2), 1.0)  # first and second neighbour distances of fcc in units of a


def check_names(names: list[str], where: str = "--what") -> list[str]:
    """The analysis names, checked (unknown -> PylmpError with the closest known name), without repeats."""
    out = []
    for name in names:
        name = str(name).strip().lower()
        if name not in ANALYSES:
            close = difflib.get_close_matches(name, ANALYSES, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"choose from {', '.join(ANALYSES)}"
            raise PylmpError(f"{where}: unknown analysis '{name}'; {hint}")
        if name not in out:
            out.append(name)
    if not out:
        raise PylmpError(f"{where}: no analysis named; choose from {', '.join(ANALYSES)}")
    return out


def open_dump(path: Path):
    """An OVITO pipeline on a LAMMPS dump, with its first frame checked for positions."""
    from ovito.io import import_file

    path = Path(path)
    if not path.is_file():
        raise PylmpError(f"dump file {path} not found")
    try:
        pipeline = import_file(str(path), input_format="lammps/dump")
        first = pipeline.source.data if pipeline.source.data is not None else pipeline.compute(0)
    except RuntimeError as exc:
        raise PylmpError(f"{path}: not a readable LAMMPS text dump ({str(exc).splitlines()[0]}); "
                         "write one with `dump ID all custom N FILE id type element x y z`") from None
    if first.particles is None or "Position" not in first.particles:
        raise PylmpError(f"{path}: the dump has no atom positions (columns x y z, xs ys zs or xu yu zu); "
                         "write one with `dump ID all custom N FILE id type element x y z`")
    return pipeline


def _modifiers(names: list[str]) -> list:
    """One pipeline for all requested analyses: CNA, then PTM (for ptm and faults), CSP, faults, DXA."""
    from ovito.modifiers import (CentroSymmetryModifier, CommonNeighborAnalysisModifier,
                                 DislocationAnalysisModifier, IdentifyFCCPlanarFaultsModifier,
                                 PolyhedralTemplateMatchingModifier)

    mods = []
    if "cna" in names:
        mods.append(CommonNeighborAnalysisModifier())  # adaptive mode is the default
    if "ptm" in names or "faults" in names:
        # the fault classifier reads PTM's lattice orientations and interatomic distances
        mods.append(PolyhedralTemplateMatchingModifier(output_orientation="faults" in names,
                                                       output_interatomic_distance="faults" in names))
    if "faults" in names:
        mods.append(IdentifyFCCPlanarFaultsModifier())
    if "csp" in names:
        mods.append(CentroSymmetryModifier(num_neighbors=12))
    if "dxa" in names:
        mods.append(DislocationAnalysisModifier(input_crystal_structure=DislocationAnalysisModifier.Lattice.FCC))
    return mods


def _counts(attrs: dict, prefix: str, key: str) -> dict:
    """OVITO's '<Modifier>.counts.<TYPE>' attributes as {'<key>_<TYPE>': n}."""
    return {f"{key}_{name.split('.')[-1]}": int(v) for name, v in attrs.items() if name.startswith(prefix + ".counts.")}


def _frame_numbers(data, names: list[str]) -> dict:
    attrs = dict(data.attributes)
    row = {"natoms": data.particles.count}
    if "cna" in names:
        row.update(_counts(attrs, "CommonNeighborAnalysis", "cna"))
    if "ptm" in names:
        row.update(_counts(attrs, "PolyhedralTemplateMatching", "ptm"))
    if "csp" in names:
        csp = np.asarray(data.particles["Centrosymmetry"])
        row.update({"csp_mean_A2": float(csp.mean()), "csp_defect_atoms": int(np.count_nonzero(csp > CSP_DEFECT_A2))})
    if "faults" in names:
        table = data.tables["planar_faults"]
        count = np.asarray(table.y)
        area = np.asarray(table["Estimated Area"]) if "Estimated Area" in table else np.zeros(len(count))
        row.update({"faults_other_hcp_atoms": int(count[1]), "faults_isf_atoms": int(count[2]),
                    "faults_twin_atoms": int(count[3]), "faults_multilayer_atoms": int(count[4]),
                    "faults_isf_area_A2": float(area[2]), "faults_twin_area_A2": float(area[3])})
    if "dxa" in names:
        total = float(attrs.get("DislocationAnalysis.total_line_length", 0.0))
        volume = float(attrs.get("DislocationAnalysis.cell_volume", data.cell.volume))
        row.update({"dxa_length_A": total, "dxa_lines": len(data.dislocations.lines) if data.dislocations else 0,
                    "dxa_density_per_m2": total / volume * 1e20})
        for family, label in DXA_FAMILIES.items():
            row[f"dxa_{label}_A"] = float(attrs.get(f"DislocationAnalysis.length.{family}", 0.0))
    return row


def element_names(data) -> tuple[np.ndarray, list[str]]:
    """Per-atom element name (the dump's `element` column, else 'type<N>') and the names present."""
    ptypes = data.particles.particle_types
    ids = np.asarray(ptypes)
    names = {t.id: (t.name or f"type{t.id}") for t in ptypes.types}
    lookup = np.array([names.get(i, f"type{i}") for i in range(int(ids.max()) + 1)])
    per_atom = lookup[ids]
    return per_atom, sorted(set(per_atom.tolist()))


def warren_cowley(data) -> dict:
    """First-shell alpha_ij (j around i) for every ordered pair of elements present, through mdapy.

    The shell cut-off is midway between the first and second fcc shells, with a from the volume per atom
    (a = (4 V / N)^(1/3)), so it suits any fcc-based cell, strained or hot, without a setting."""
    import mdapy
    import polars as pl

    if "Particle Type" not in data.particles:
        raise PylmpError("sro needs atom types: write the dump with the `type` (or `element`) column")
    per_atom, present = element_names(data)
    if len(present) < 2:
        raise PylmpError(f"sro needs at least two elements; this dump holds only {present[0]}: drop sro from the analyses")
    pos = np.asarray(data.particles.positions, dtype=float)
    a = (4 * data.cell.volume / len(pos)) ** (1 / 3)
    cell = np.asarray(data.cell[...], dtype=float).T  # rows: three cell vectors, then the origin
    frame = pl.DataFrame({"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2], "element": per_atom})
    system = mdapy.System(data=frame, box=mdapy.Box(cell, [int(p) for p in data.cell.pbc]))
    wcp = system.cal_warren_cowley_parameter(rc=0.5 * sum(FCC_SHELLS) * a)
    order = sorted(wcp.ele2type, key=wcp.ele2type.get)
    return {f"sro_{i}-{j}": float(wcp.WCP[wcp.ele2type[i], wcp.ele2type[j]]) for i in order for j in order}


def analyze(path: Path, names: list[str]) -> list[dict]:
    """One row of numbers per frame of the dump: frame, timestep, natoms and the requested analyses."""
    names = check_names(names)
    pipeline = open_dump(path)
    pipeline.modifiers.extend(_modifiers(names))
    rows = []
    for frame in range(pipeline.num_frames):
        try:
            data = pipeline.compute(frame)
        except RuntimeError as exc:
            raise PylmpError(f"{path}, frame {frame}: OVITO failed ({str(exc).splitlines()[0]})") from None
        row = {"frame": frame, "timestep": int(data.attributes.get("Timestep", frame))}
        row.update(_frame_numbers(data, names))
        if "sro" in names:
            row.update(warren_cowley(data))
        rows.append(row)
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict], path: Path, title: str = "") -> None:
    """Counts over time, one panel per analysis present in the rows (x: timestep)."""
    from pylmp.analysis import plotting

    panels = [(prefix, label) for prefix, label in (
        ("cna_", "atoms (adaptive CNA)"), ("ptm_", "atoms (PTM)"), ("faults_", "atoms in planar faults"),
        ("csp_defect", "atoms with CSP > %.1f A^2" % CSP_DEFECT_A2), ("dxa_", "dislocation length (A)"),
        ("sro_", "Warren-Cowley alpha (1st shell)")) if any(k.startswith(prefix) for k in rows[0])]
    fig, axes = plotting.figure(ncols=max(1, len(panels)), width=4.2, height=3.6)
    x = [r["timestep"] for r in rows]
    for ax, (prefix, label) in zip(axes, panels):
        keys = [k for k in rows[0] if k.startswith(prefix) and not k.endswith(("area_A2", "_lines", "per_m2"))]
        for key in keys:
            y = [r[key] for r in rows]
            if prefix in ("sro_",) or any(y):  # zero-count structures would only crowd the legend
                ax.plot(x, y, "o-", ms=3, lw=1, label=key[len(prefix):] if prefix != "csp_defect" else "defect atoms")
        ax.set(xlabel="timestep", ylabel=label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    plotting.save(fig, path)


# ---- reference configurations (tests and benchmarks check the analyses on them)

def solid_angle(points: np.ndarray, center: np.ndarray, radius: float, vertices: int = 360) -> np.ndarray:
    """Signed solid angle of a horizontal disk (normal +z) seen from each point: -2 pi just above it, +2 pi just
    below, 0 far away. The disk is a polygon of `vertices` corners, a fan of triangles from its centre, each
    triangle's solid angle by Van Oosterom and Strackee, IEEE Trans. Biomed. Eng. 30, 125 (1983)."""
    phi = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    corners = center + radius * np.stack([np.cos(phi), np.sin(phi), np.zeros(vertices)], axis=1)
    a = center - points
    na = np.linalg.norm(a, axis=1)
    omega = np.zeros(len(points))
    b = corners[0] - points
    nb = np.linalg.norm(b, axis=1)
    for k in range(vertices):
        c = corners[(k + 1) % vertices] - points
        nc = np.linalg.norm(c, axis=1)
        det = np.einsum("ij,ij->i", a, np.cross(b, c))
        den = na * nb * nc + np.einsum("ij,ij->i", a, b) * nc + np.einsum("ij,ij->i", a, c) * nb \
            + np.einsum("ij,ij->i", b, c) * na
        omega += 2 * np.arctan2(det, den)
        b, nb = c, nc
    return omega


def add_shear_loop(atoms, center, radius: float, burgers, vertices: int = 360) -> None:
    """Displace `atoms` (in place) by the solid-angle term of a glide loop in the plane z = center[2]:
    u = -b Omega / (4 pi), so the atoms above the disk move by +b/2 and those below by -b/2 (slip b inside the
    loop, a Shockley partial loop around a stacking fault when b = a/6<112>) and the field decays far away.
    Distances are minimum images about the centre, for a loop well inside a periodic cell."""
    lengths = atoms.cell.lengths()
    r = atoms.positions - center
    r -= np.rint(r / lengths) * lengths  # orthogonal cells (fcc111_cell)
    omega = solid_angle(center + r, np.asarray(center, float), radius, vertices)
    atoms.positions += np.outer(-omega / (4 * np.pi), burgers)


def stacked_111_cell(element: str, a: float, letters: list[int], repeat: tuple[int, int] = (1, 1), tilt: int = 0):
    """fcc111_cell whose (111) plane j sits at stacking position letters[j] (0, 1, 2 = A, B, C), e.g.
    [0,1,2,0,1,2,1,2,0,1,2,0] holds one intrinsic stacking fault (C between B's). `tilt` shifts the periodic image
    along z by tilt partial Burgers vectors (along y), so the stacking stays unbroken across the boundary."""
    from pylmp import faults

    cell = faults.fcc111_cell(element, a, len(letters), repeat)
    b_p = faults.partial_burgers(a)
    plane = faults.plane_of(faults.atoms_per_plane(repeat), len(cell))
    cell.positions[:, 1] += (np.asarray(letters)[plane] - plane) * b_p
    vectors = cell.cell.array.copy()
    vectors[2, 1] += tilt * b_p
    cell.set_cell(vectors)
    cell.wrap()
    return cell
