"""Grain-boundary energy and excess volume of CSL boundaries, minimised over the standard gamma-surface search.
Template: templates/gb.lmp.j2      Builder: pylmp/grain_boundaries.py      Theory note: docs/theory/grain_boundaries.md

One task per candidate of each boundary: grain 2 of the periodic bicrystal translated rigidly by a point of a
`grid` over the in-plane CSL cell (ends excluded: the cell is periodic), each boundary opened by `expansions_A`,
then of every pair across a boundary closer than `cutoffs` x r_nn (r_nn = a0/sqrt 2) the grain-2 atom deleted,
and atoms plus the box length normal to the boundaries relaxed (pzz = 0; in-plane box at bulk a0). Each task
first relaxes bulk fcc with the same potential (a0, e_bulk, v_bulk), so the bicrystal is in that potential's lattice.
    E_gb = (E - N e_bulk) / (2 A),   dV/A = (V - N v_bulk) / (2 A)      (two boundaries per cell)
The boundary's energy is the minimum over its candidates; the relaxed best structure (gb.dump, columns
id type element x y z c_pe c_cna) is analysed with OVITO's adaptive CNA: atoms not fcc = boundary atoms.
With `anneal_steps` > 0 (one candidate per boundary) the relaxed bicrystal is then annealed with NPT
(the million-atom benchmark study, inputs/ni_gb_1M.yaml); `repeat` sets the cell size explicitly there. Its E_gb
is that of the pre-anneal minimization (`max_iter` steps): a converged value only with the default max_iter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pylmp import grain_boundaries as gbs
from pylmp import structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {
    "boundaries": ["S3_111", "S5_310", "S5_210", "S11_113", "S9_221"],
    "grid": [3, 3],               # in-plane translations per CSL period (x, y), ends excluded
    "cutoffs": [0.3, 0.6, 0.8],   # close-pair deletion cutoffs, units of r_nn = a0/sqrt(2)
    "expansions_A": [0.0],        # initial opening of each boundary; the box length normal to it relaxes anyway
    "min_inplane_A": 8.0,         # in-plane box at least this long (CSL periods repeated)
    "grain_thickness_A": 20.0,    # each grain at least this thick
    "repeat": [0, 0, 0],          # explicit CSL periods per axis (x, y, grain thickness); 0 = from the lengths above
    "max_iter": 10000,            # minimizer iterations per stage
    "dumps": True,
    "anneal_steps": 0,            # > 0: NPT anneal of the relaxed bicrystal (one candidate per boundary)
    "temperature_K": 800.0,
    "timestep": 0.002,            # ps
    "dump_every": 0,              # anneal trajectory frames (0: only the final annealed.dump)
}
EV_A2_TO_MJ_M2 = 16021.766
VELOCITY_SEED_BASE = 4928459
MIN_TOLERANCES = (1e-12, 1e-6)  # etol (relative), ftol (eV/A): measured E_gb change < 0.01 mJ/m^2 against (0, 1e-10)


def boundaries(study) -> list[gbs.Boundary]:
    return [gbs.parse(str(b)) for b in study.settings["boundaries"]]


def check(study) -> None:
    s, src = study.settings, study.source
    if study.lattice != "fcc" or len(study.present_elements) != 1:
        raise PylmpError(f"{src}: workflow gb builds bicrystals of a pure fcc metal; set material.lattice: fcc and one "
                         "element (segregation of solutes: workflow gb_segregation)")
    if not isinstance(s["boundaries"], list) or not s["boundaries"]:
        raise PylmpError(f"{src}: settings.boundaries must list boundaries, e.g. [S3_111, S5_310, 'tilt 001 510']")
    try:
        boundaries(study)
    except PylmpError as exc:
        raise PylmpError(f"{src}: settings.boundaries: {exc}") from None
    if len(s["grid"]) != 2 or min(s["grid"]) < 1:
        raise PylmpError(f"{src}: settings.grid must be two positive integers [nx, ny] (translations per CSL period)")
    if not s["cutoffs"] or not all(0.05 <= c <= 1.0 for c in s["cutoffs"]):
        raise PylmpError(f"{src}: settings.cutoffs must list deletion cutoffs between 0.05 and 1.0 (units of a0/sqrt 2)")
    if not s["expansions_A"] or min(s["expansions_A"]) < 0:
        raise PylmpError(f"{src}: settings.expansions_A must list openings >= 0 A, e.g. [0.0]")
    if len(s["repeat"]) != 3 or min(s["repeat"]) < 0:
        raise PylmpError(f"{src}: settings.repeat must be three counts of CSL periods [x, y, z] (0: automatic)")
    if s["min_inplane_A"] <= 0 or s["grain_thickness_A"] < 8.0:
        raise PylmpError(f"{src}: settings.grain_thickness_A must be at least 8 A (two boundaries must not see each other)")
    if s["anneal_steps"] < 0 or s["temperature_K"] <= 0 or s["dump_every"] < 0:
        raise PylmpError(f"{src}: settings.anneal_steps and dump_every must be >= 0 and temperature_K > 0")
    if s["anneal_steps"] and s["grid"][0] * s["grid"][1] * len(s["cutoffs"]) * len(s["expansions_A"]) > 1:
        raise PylmpError(f"{src}: settings.anneal_steps anneals one structure per boundary: set grid: [1, 1] and one "
                         "value in cutoffs and expansions_A (take them from the best candidate of a gb study)")


def cell(study, b: gbs.Boundary):
    s = study.settings
    rep = tuple(s["repeat"]) if all(s["repeat"]) else gbs.repeats(b, study.a, s["min_inplane_A"], s["grain_thickness_A"])
    atoms, n_lower = gbs.bicrystal(b, study.a, rep, study.present_elements[0])
    return atoms, n_lower, rep


def tolerances(potential) -> tuple[float, float]:
    """Minimizer etol, ftol: the potential's own, loosened to MIN_TOLERANCES (enough for E_gb, much faster)."""
    return tuple(max(p, m) for p, m in zip(potential.minimize, MIN_TOLERANCES))


def candidates(study) -> list[dict]:
    s = study.settings
    gx, gy = s["grid"]
    return [{"i": i, "j": j, "cutoff": c, "dz": e, "name": f"t{i}-{j}_c{c:g}_e{e:g}"}
            for i in range(gx) for j in range(gy) for c in s["cutoffs"] for e in s["expansions_A"]]


def tasks(study, potential) -> list[Task]:
    s = study.settings
    host = study.present_elements[0]
    out = []
    for b in boundaries(study):
        atoms, n_lower, rep = cell(study, b)
        for c in candidates(study):
            variables = {
                "title": b.title, "a": study.a, "host": host, "host_type": study.elements.index(host) + 1,
                "masses": structures.masses(study.elements), "n_lower": n_lower, "natoms": len(atoms),
                # translation in units of the box: grid point / (grid x repeats), i.e. within one CSL period
                "tx": round(c["i"] / (s["grid"][0] * rep[0]), 10), "ty": round(c["j"] / (s["grid"][1] * rep[1]), 10),
                "dz": c["dz"], "cutoff": c["cutoff"], "tolerances": tolerances(potential), "max_iter": s["max_iter"], "dumps": s["dumps"],
                "anneal_steps": s["anneal_steps"], "temperature": s["temperature_K"], "timestep": s["timestep"],
                "dump_every": s["dump_every"], "seed": VELOCITY_SEED_BASE + study.seed,
            }
            out.append(Task(f"{b.name}/{c['name']}", "gb.lmp.j2", atoms, potential, study.elements, variables))
    return out


def energy(r: dict) -> tuple[float, float]:
    """(E_gb in mJ/m^2, excess volume per area in A) of one relaxed candidate."""
    area2 = 2 * r["lx_A"] * r["ly_A"]
    return ((r["E_eV"] - r["natoms"] * r["e_bulk_eV"]) / area2 * EV_A2_TO_MJ_M2,
            (r["vol_A3"] - r["natoms"] * r["v_bulk_A3"]) / area2)


def cna_counts(dump: Path) -> dict:
    """OVITO adaptive CNA of a dump: atom counts per structure type (FCC, HCP, BCC, ICO, OTHER)."""
    from ovito.io import import_file
    from ovito.modifiers import CommonNeighborAnalysisModifier

    pipeline = import_file(str(dump))
    pipeline.modifiers.append(CommonNeighborAnalysisModifier())
    data = pipeline.compute(pipeline.num_frames - 1)
    kinds = np.asarray(data.particles["Structure Type"])
    types = CommonNeighborAnalysisModifier.Type
    return {t: int((kinds == getattr(types, t)).sum()) for t in ("FCC", "HCP", "BCC", "ICO", "OTHER")}


def analyze(study, results) -> dict:
    out, bounds = {}, []
    for b in boundaries(study):
        cands = []
        for c in candidates(study):
            r = results[f"{b.name}/{c['name']}"]
            e_gb, dv = energy(r)
            cands.append({"candidate": c["name"], "tx": c["i"] / study.settings["grid"][0], "ty": c["j"] / study.settings["grid"][1],
                          "cutoff_rnn": c["cutoff"], "expansion_A": c["dz"], "E_gb_mJ_m2": e_gb, "excess_volume_A": dv,
                          "natoms": int(r["natoms"]), "ndeleted": int(r["ndeleted"]), "_folder": r["_folder"], "_r": r})
        best = min(cands, key=lambda x: x["E_gb_mJ_m2"])
        r, folder = best.pop("_r"), Path(best.pop("_folder"))
        area = r["lx_A"] * r["ly_A"]
        entry = {"name": b.name, "title": b.title, "kind": b.kind, "axis": b.axis.tolist(), "normal": b.z.tolist(),
                 "x": b.x.tolist(), "sigma": b.sigma, "angle_deg": b.angle_deg, "E_gb_mJ_m2": best["E_gb_mJ_m2"],
                 "excess_volume_A": best["excess_volume_A"], "a0_A": r["a0_A"], "natoms": int(r["natoms"]),
                 "area_A2": area, "lz_A": r["lz_A"], "best": {k: v for k, v in best.items() if not k.startswith("E_gb")},
                 "best_task": "/".join(folder.parts[-3:]), "candidates": [{k: v for k, v in x.items() if not k.startswith("_")} for x in cands]}
        dump = folder / ("annealed.dump" if study.settings["anneal_steps"] else "gb.dump")
        if dump.is_file():
            counts = cna_counts(dump)
            entry.update({"cna": counts, "non_fcc_fraction": 1 - counts["FCC"] / sum(counts.values()),
                          "non_fcc_atoms_per_A2": (sum(counts.values()) - counts["FCC"]) / (2 * area),
                          "dump": "/".join(dump.parts[-4:])})
        if study.settings["anneal_steps"]:
            entry.update({"T_K": r["T_K"], "E_anneal_eV": r["E_anneal_eV"], "lz_anneal_A": r["lz_anneal_A"]})
        bounds.append(entry)
        out[f"E_gb_{b.name}_mJ_m2"] = entry["E_gb_mJ_m2"]
        out[f"dV_{b.name}_A"] = entry["excess_volume_A"]
    out["a0_A"] = bounds[0]["a0_A"]
    out["method"] = ("min over rigid translations x openings x close-pair cutoffs of (E - N e_bulk)/(2A); atoms and lz "
                     "relaxed, in-plane box at bulk a0; e_bulk, v_bulk: relaxed fcc, same potential")
    out["boundaries"] = bounds
    return out


def rows(summary) -> list[dict]:
    return [{"potential": name, "boundary": b["name"], "sigma": b["sigma"], "kind": b["kind"], "angle_deg": b["angle_deg"],
             **{k: c[k] for k in ("candidate", "tx", "ty", "cutoff_rnn", "expansion_A", "natoms", "ndeleted",
                                  "E_gb_mJ_m2", "excess_volume_A")},
             "best": c["candidate"] == b["best"]["candidate"]}
            for name, res in summary.items() for b in res["boundaries"] for c in b["candidates"]]


def plot(summary, path) -> None:
    """E_gb (min over candidates) and excess volume against the misorientation angle, one series per axis and kind."""
    fig, (ax, ax2) = plotting.figure(ncols=2, width=5.0)
    colors = plotting.colors(summary)
    markers = {}
    for name, res in summary.items():
        for b in res["boundaries"]:
            series = f"{b['kind']} [{''.join(str(c) for c in b['axis'])}]"
            mk = markers.setdefault(series, "osD^v<>"[len(markers) % 7])
            for axis, key in ((ax, "E_gb_mJ_m2"), (ax2, "excess_volume_A")):
                axis.plot(b["angle_deg"], b[key], mk, color=colors[name], ms=6)
                axis.annotate(f"Σ{b['sigma']}", (b["angle_deg"], b[key]), fontsize=7, xytext=(3, 3), textcoords="offset points")
            spread = [c["E_gb_mJ_m2"] for c in b["candidates"]]
            ax.plot([b["angle_deg"]] * 2, [min(spread), max(spread)], "-", color=colors[name], alpha=0.3, lw=3)
    for name in summary:
        ax.plot([], [], "s", color=colors[name], label=name)
    for series, mk in markers.items():
        ax.plot([], [], mk, color="gray", label=series)
    ax.set_xlabel("misorientation angle (deg)")
    ax.set_ylabel("E_gb (mJ/m$^2$); bar: range over candidates")
    ax.set_title("Grain-boundary energy")
    ax2.set_xlabel("misorientation angle (deg)")
    ax2.set_ylabel("excess volume per area (A)")
    ax2.set_title("Grain-boundary excess volume")
    for a in (ax, ax2):
        a.grid(alpha=0.3)
    ax.legend(fontsize=7)
    plotting.save(fig, path)


def best_task(gb_out: Path, potential: str, boundary: str) -> Path:
    """Folder of a boundary's best candidate in a finished gb study (the input of gb_segregation)."""
    import json

    try:
        res = json.loads((gb_out / "results.json").read_text())[potential]
        entry = next(b for b in res["boundaries"] if b["name"] == boundary)
    except (OSError, ValueError, KeyError, StopIteration):
        raise PylmpError(f"{gb_out}/results.json has no boundary '{boundary}' for potential '{potential}': run the gb "
                         f"study with that potential and boundary first (pylmp run <gb study> --out {gb_out})") from None
    return gb_out / entry["best_task"]

