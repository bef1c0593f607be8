"""Chemical order on an fcc lattice: Warren-Cowley short-range order (mdapy), the L1_2 long-range order parameter
(atoms mapped to their nearest ideal site), block averages, and the order-disorder temperature from eta(T).
Theory: docs/theory/ordering.md. Everything is vectorised (numpy, mdapy's C++ neighbour list); no loop over atoms.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

FCC_SHELLS = (1 / math.sqrt(2), 1.0)  # first and second neighbour distances of fcc in units of a
# sublattice of an fcc site from the parities of its indices on the a/2 grid: the cube corner (0,0,0) and the three
# face centres; the other four parity patterns are no fcc site (-1)
SUBLATTICE_OF_PARITY = np.array([0, -1, -1, 1, -1, 2, 3, -1])  # index: 4 px + 2 py + pz
CRYSTAL_ON_SITE = 0.9  # on_site_fraction above this: still a crystal (1 when every site holds one atom; ~0.6 liquid)


def warren_cowley(positions, cell, symbols, origin=(0.0, 0.0, 0.0)) -> dict[str, float]:
    """First-shell alpha_ij = 1 - P_ij / c_j (P_ij: fraction of j among the neighbours of i atoms, c_j: concentration
    of j) for every ordered pair present, {"Ni-Al": ...}, through mdapy. The cut-off lies midway between the first and
    second fcc shells, with a from the volume per atom, so it suits a strained or hot cell without a setting."""
    import mdapy
    import polars as pl

    pos = np.asarray(positions, dtype=float)
    cell = np.asarray(cell, dtype=float)
    a = (4 * abs(np.linalg.det(cell)) / len(pos)) ** (1 / 3)
    frame = pl.DataFrame({"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2], "element": np.asarray(symbols, dtype=str)})
    box = mdapy.Box(np.vstack([cell, np.asarray(origin, dtype=float)]), [1, 1, 1])
    with warnings.catch_warnings():  # mdapy 1.0.9 calls a polars method that polars deprecates: noise, not a fault
        warnings.simplefilter("ignore", DeprecationWarning)
        wcp = mdapy.System(data=frame, box=box).cal_warren_cowley_parameter(rc=0.5 * sum(FCC_SHELLS) * a)
    order = sorted(wcp.ele2type, key=wcp.ele2type.get)
    return {f"{i}-{j}": float(wcp.WCP[wcp.ele2type[i], wcp.ele2type[j]]) for i in order for j in order}


def lattice_sites(scaled, repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Nearest ideal site of every atom of a cubic supercell of `repeats`^3 conventional fcc cells: integer indices on
    the a/2 grid (2 repeats per axis), and the sublattice 0-3 of each (-1: a grid point that is no fcc site). A rigid
    drift of the whole crystal (the circular mean of every atom's offset from the grid) is taken out first."""
    u = np.asarray(scaled, dtype=float) * 2 * repeats
    drift = np.angle(np.exp(2j * np.pi * u).mean(axis=0)) / (2 * np.pi)
    index = np.rint(u - drift).astype(int) % (2 * repeats)
    return index, SUBLATTICE_OF_PARITY[(index % 2) @ np.array([4, 2, 1])]


def long_range_order(scaled, symbols, repeats: int, solute: str) -> dict:
    """L1_2 order of the solute (Al of Ni3Al) over the four simple-cubic sublattices of the fcc supercell:
    p_k = solute atoms on sublattice k / sites of k, eta = (max_k p_k - c) / (min(1, 4 c) - c), c the solute fraction.
    eta = 1: the most ordered arrangement at this composition (Ni3Al: every Al on one sublattice); 0: random (plus a
    small positive finite-size bias from taking the maximum). on_site_fraction: atoms alone on an fcc site."""
    index, sub = lattice_sites(scaled, repeats)
    is_solute = np.asarray(symbols) == solute
    c = float(is_solute.mean())
    p = np.bincount(sub[is_solute & (sub >= 0)], minlength=4)[:4] / repeats ** 3
    site = np.ravel_multi_index(index.T, (2 * repeats,) * 3)
    alone = (sub >= 0) & (np.bincount(site, minlength=(2 * repeats) ** 3)[site] == 1)
    full = min(1.0, 4 * c)
    return {"eta": float((p.max() - c) / (full - c)) if full > c else float("nan"), "p_sublattice": p.tolist(),
            "ordered_sublattice": int(p.argmax()), "on_site_fraction": float(alone.mean())}


def block_average(values, blocks: int) -> tuple[float, float | None]:
    """Mean and standard error of a correlated series: the spread of `blocks` consecutive block means / sqrt(blocks)
    (None with fewer than two blocks)."""
    x = np.asarray(values, dtype=float)
    n = min(blocks, len(x))
    means = [chunk.mean() for chunk in np.array_split(x, n)]
    return float(x.mean()), (float(np.std(means, ddof=1) / math.sqrt(n)) if n > 1 else None)


def read_frames(path: Path):
    """(timestep, positions, cell rows, origin, scaled positions, element names) per frame of a LAMMPS text dump."""
    from ovito.io import import_file

    from pylmp.analysis.defects import element_names

    pipeline = import_file(str(path))
    for frame in range(pipeline.num_frames):
        data = pipeline.compute(frame)
        matrix = np.asarray(data.cell[...], dtype=float)  # columns: three cell vectors, then the origin
        pos = np.asarray(data.particles.positions, dtype=float)
        scaled = np.linalg.solve(matrix[:, :3], (pos - matrix[:, 3]).T).T % 1.0
        yield (int(data.attributes.get("Timestep", frame)), pos, matrix[:, :3].T, matrix[:, 3], scaled,
               element_names(data)[0])


def transition_temperature(temps, eta, eta_se, level: float = 0.5) -> dict:
    """Where eta(T) first falls through `level` on heating: linear interpolation between the bracketing temperatures
    T1 < T2, T_c = T1 + (eta1 - level) / (eta1 - eta2) (T2 - T1). Its error adds in quadrature the eta error bars
    propagated through the interpolation and the grid spacing (T2 - T1) / sqrt(12) (a crossing anywhere in the bracket).
    No crossing: a bound, T_c above the highest or below the lowest temperature."""
    t, e = np.asarray(temps, dtype=float), np.asarray(eta, dtype=float)
    s = np.array([0.0 if x is None else x for x in eta_se], dtype=float)
    below = np.flatnonzero(e < level)
    if not len(below):
        return {"Tc_K": None, "Tc_err_K": None, "Tc_above_K": float(t.max()), "bracket_K": None}
    k = int(below[0])
    if k == 0:
        return {"Tc_K": None, "Tc_err_K": None, "Tc_below_K": float(t[0]), "bracket_K": None}
    (t1, t2), (e1, e2), (s1, s2) = t[k - 1:k + 1], e[k - 1:k + 1], s[k - 1:k + 1]
    tc = t1 + (e1 - level) / (e1 - e2) * (t2 - t1)
    stat = (t2 - t1) / (e1 - e2) ** 2 * math.hypot((level - e2) * s1, (e1 - level) * s2)
    grid = (t2 - t1) / math.sqrt(12)
    return {"Tc_K": float(tc), "Tc_err_K": float(math.hypot(stat, grid)), "Tc_err_stat_K": float(stat),
            "Tc_err_grid_K": float(grid), "bracket_K": [float(t1), float(t2)]}
