"""Structure of MD trajectories with OVITO: g(r) (total and partials), first-shell coordination, bond angles.

Engine by measurement (docs: STACK-NOTES, 1,000,000 atoms, 2 threads): OVITO's RDF is 5x faster than mdapy's and
reads a dump 2.7x faster, so everything here runs in OVITO's C++ modifiers; Python only loops over frames and
adds up histograms (numpy), never over atoms. OVITO is imported lazily: the CLI starts without it.

Definitions (the usual ones, and OVITO's):
- g_ab(r) = n_ab(r) / (N_a rho_b 4 pi r^2 dr): n_ab the number of (a, b) pairs in the shell, rho_b = N_b / V.
  The total g(r) = sum_ab x_a x_b g_ab(r) over ordered pairs equals the one-component g of all atoms.
- r1_A: the first peak of the frame-averaged total g(r), refined by a parabola through the highest bin and its
  two neighbours. r_shell_A: the first minimum after it (the middle of the stretch of bins within 2 % of the peak
  height of the lowest value between r1 and 1.5 r1; a crystal's g is flat zero there, so its middle is the gap).
- coordination: neighbours within r_shell_A, averaged over atoms and frames; partial N_ab: the mean number of
  b neighbours of an a atom. Bond angles: angles between every two bonds at an atom, bonds = first-shell pairs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _pipeline(path: Path):
    from ovito.io import import_file

    return import_file(str(path))  # a LAMMPS text dump with many frames: one frame per timestep


def _type_names(data) -> list[str]:
    return [t.name or str(t.id) for t in data.particles.particle_types.types]


def _frames(pipeline, skip_first: bool) -> range:
    return range(1 if skip_first and pipeline.num_frames > 1 else 0, pipeline.num_frames)


def rdf(path: Path, cutoff: float, bins: int, skip_first: bool = False) -> dict:
    """Frame-averaged g(r): r_A (bin centres), g_total, g_partial {"Ni-Al": [...]}, type names and fractions."""
    from ovito.modifiers import CoordinationAnalysisModifier

    pipeline = _pipeline(path)
    # partials only for several types: OVITO's partial mode costs ~1.4x on a million atoms even with one type
    several = len(pipeline.source.data.particles.particle_types.types) > 1
    pipeline.modifiers.append(CoordinationAnalysisModifier(cutoff=cutoff, number_of_bins=bins, partial=several))
    frames = _frames(pipeline, skip_first)
    acc = None
    for frame in frames:
        data = pipeline.compute(frame)
        table = data.tables["coordination-rdf"]
        xy = np.asarray(table.xy())
        acc = xy[:, 1:].copy() if acc is None else acc + xy[:, 1:]
        pairs = list(table.y.component_names) or [f"{n}-{n}" for n in _type_names(data)]
        types = np.asarray(data.particles.particle_types)
        names = _type_names(data)
        ids = [t.id for t in data.particles.particle_types.types]
    partial = {pair: acc[:, k] / len(frames) for k, pair in enumerate(pairs)}
    fraction = {name: float(np.mean(types == i)) for name, i in zip(names, ids)}
    total = np.zeros(len(xy))
    for pair, g in partial.items():
        a, b = pair.split("-")
        total += (1 if a == b else 2) * fraction[a] * fraction[b] * g  # unordered pair a-b stands for a-b and b-a
    present = {p: g for p, g in partial.items() if all(fraction[x] > 0 for x in p.split("-"))}
    return {"r_A": xy[:, 0], "g_total": total, "g_partial": present, "fraction": fraction, "frames": len(frames)}


def first_peak(r: np.ndarray, g: np.ndarray) -> float:
    """Position of the highest bin, refined by a parabola through it and its neighbours."""
    i = int(np.argmax(g))
    if 0 < i < len(g) - 1:
        denom = g[i - 1] - 2 * g[i] + g[i + 1]
        if denom < 0:
            return float(r[i] + 0.5 * (g[i - 1] - g[i + 1]) / denom * (r[1] - r[0]))
    return float(r[i])


def first_minimum(r: np.ndarray, g: np.ndarray, r1: float) -> float:
    """The first minimum of g after the first peak (see the module note)."""
    window = np.flatnonzero((r > r1) & (r < 1.5 * r1))
    if len(window) == 0:
        raise ValueError(f"g(r) has no bins between the first peak {r1:.3f} A and 1.5 x that: raise settings.rdf_cutoff")
    gw = g[window]
    low = gw <= gw.min() + 0.02 * g.max()
    first = int(np.argmax(low))
    last = first + (int(np.argmin(low[first:])) if not low[first:].all() else len(low) - first)
    return float(0.5 * (r[window[first]] + r[window[last - 1]]))


def shell(path: Path, r_shell: float, angle_bins: int, skip_first: bool = False) -> dict:
    """First-shell coordination (mean, partials, fraction at the modal value) and the bond-angle distribution."""
    from ovito.modifiers import CoordinationAnalysisModifier, CreateBondsModifier
    try:  # OVITO >= 3.15
        from ovito.modifiers import BondAngleDistributionModifier as angle_modifier
    except ImportError:
        from ovito.modifiers import BondAnalysisModifier as angle_modifier

    pipeline = _pipeline(path)
    pipeline.modifiers.append(CoordinationAnalysisModifier(cutoff=r_shell, number_of_bins=10, partial=True))
    pipeline.modifiers.append(CreateBondsModifier(cutoff=r_shell))
    pipeline.modifiers.append(angle_modifier(bins=angle_bins))
    frames = _frames(pipeline, skip_first)
    counts, hist, per_type = None, None, None
    for frame in frames:
        data = pipeline.compute(frame)
        cn = np.asarray(data.particles["Coordination"], dtype=int)
        counts = np.bincount(cn, minlength=64)[:64] + (0 if counts is None else counts)
        angles = np.asarray(data.tables["bond-angle-distr"].xy())
        hist = angles[:, 1].copy() if hist is None else hist + angles[:, 1]
        types = np.asarray(data.particles.particle_types)
        ids = [t.id for t in data.particles.particle_types.types]
        names = _type_names(data)
        ptc = np.asarray(data.particles["Per Type Coordination"], dtype=float).reshape(len(types), -1)
        # sum over atoms of type a of their b neighbours, and the number of a atoms
        sums = np.array([[ptc[types == ia].sum(axis=0)] for ia in ids]).reshape(len(ids), -1)
        n_a = np.array([np.sum(types == ia) for ia in ids])
        per_type = (sums, n_a) if per_type is None else (per_type[0] + sums, per_type[1] + n_a)
    width = angles[1, 0] - angles[0, 0]
    sums, n_a = per_type
    partial = {f"{names[i]}-{names[j]}": float(sums[i, j] / n_a[i])
               for i in range(len(ids)) for j in range(min(sums.shape[1], len(ids))) if n_a[i] > 0}
    density = hist / (hist.sum() * width)
    return {
        "coordination": float(np.dot(np.arange(len(counts)), counts) / counts.sum()),
        "coordination_fraction_modal": float(counts.max() / counts.sum()),
        "coordination_partial": partial,
        "angle_deg": angles[:, 0], "angle_density_per_deg": density,
        "angle_peaks_deg": peaks(angles[:, 0], density),
    }


def peaks(x: np.ndarray, y: np.ndarray, min_height: float = 0.1) -> list[float]:
    """Local maxima above min_height x the highest value (the bond-angle peaks, e.g. 60/90/120/180 for fcc)."""
    ypad = np.concatenate([[-np.inf], y, [-np.inf]])
    is_max = (ypad[1:-1] > ypad[:-2]) & (ypad[1:-1] >= ypad[2:]) & (y >= min_height * y.max())
    return [float(v) for v in x[is_max]]


def analyze_trajectory(path: Path, rdf_cutoff: float = 6.0, rdf_bins: int = 200, angle_bins: int = 180,
                       skip_first: bool = False) -> dict:
    """Everything the md workflow reports for one trajectory, as plain lists and floats (JSON-ready)."""
    g = rdf(path, rdf_cutoff, rdf_bins, skip_first)
    r1 = first_peak(g["r_A"], g["g_total"])
    r_shell = first_minimum(g["r_A"], g["g_total"], r1)
    sh = shell(path, r_shell, angle_bins, skip_first)
    return {
        "frames": g["frames"], "r1_A": r1, "r_shell_A": r_shell, "rdf_bin_A": float(g["r_A"][1] - g["r_A"][0]),
        "r_A": g["r_A"].tolist(), "g_total": g["g_total"].tolist(),
        "g_partial": {p: v.tolist() for p, v in g["g_partial"].items()},
        "coordination": sh["coordination"], "coordination_fraction_modal": sh["coordination_fraction_modal"],
        "coordination_partial": sh["coordination_partial"],
        "angle_deg": sh["angle_deg"].tolist(), "angle_density_per_deg": sh["angle_density_per_deg"].tolist(),
        "angle_peaks_deg": sh["angle_peaks_deg"],
    }
