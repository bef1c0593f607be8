"""GSFE of a pure fcc metal: the <112> twinning path and the <110> path, slab and tilted periodic cell,
and the optional gamma surface (settings.surface). Overview of the constructions: workflows/gsfe.py.
"""
from __future__ import annotations

import json

import numpy as np

from pylmp import faults, paths
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows.gsfe_shifts import CONSTRUCTIONS, fold, gamma_of, peak, shift_point, template_variables

PATHS = {"112": "twinning path along [11-2] (isf, esf, 3-plane twin)", "110": "full slip along [1-10]"}
STAGE_DUMPS = {1: "isf", 2: "esf", 3: "twin3"}  # relaxed configuration at the end of each stage of the 112 path
DFT_CELLS = {"isf": "isf", "esf": "esf", "twin": "tb"}  # run/make_dft_dataset's fault cell (name before "_") -> fault


def path_points(path: str, construction: str, settings: dict) -> list[dict]:
    """Shift states along a path: cumulative displacement (x in a/sqrt(2), y in b_p) and how to make them.

    A cut k lies below plane k. Slab: cuts at the middle planes m, m+1, m+2, planes above each cut move.
    Periodic: the first cut is the z boundary (made by the tilt), the next ones below planes 1 and 2;
    the tilt equals the total shift, so the top plane meets the image of the bottom one unshifted.
    """
    layers, (nx, ny) = settings["layers"], settings["repeat"]
    n = settings["points"]
    first = layers // 2 if construction == "slab" else 0
    stages = (1, 2, 3) if path == "112" else (1,)
    unit = np.array([0.0, 1.0]) if path == "112" else np.array([1.0, 0.0])
    out = []
    for stage in stages:
        for s in np.linspace(0.0, 1.0, n)[(1 if stage > 1 else 0):]:
            cuts = [(first + i, 1.0 if i < stage - 1 else s) for i in range(stage)]
            moves = [{"group": f"above{k}", "cx": f * unit[0], "cy": f * unit[1]} for k, f in cuts if k > 0 and f != 0.0]
            total = sum(f for _, f in cuts) * unit
            tilt = (fold(total[0], nx), fold(total[1], 3 * ny))  # periods: nx a/sqrt(2), 3 ny b_p
            disp_bp = stage - 1 + s if path == "112" else s * np.sqrt(3)  # a/sqrt(2) = sqrt(3) b_p
            dump = None
            if settings["dumps"] and s == 1.0 and path == "112":
                dump = f"fault_{STAGE_DUMPS[stage]}.dump"
            elif settings["dumps"] and s == 0.5:
                dump = f"fault_{path}_half_stage{stage}.dump"
            k = len(out)
            out.append({"k": k, "stage": stage, "disp_bp": float(disp_bp), "moves": moves, "tilt": tilt, "dump": dump,
                        "title": f"stage {stage}, cumulative shift {disp_bp:.4f} b_p along [{'11-2' if path == '112' else '1-10'}]"})
    return out


def plane_groups(construction: str, settings: dict) -> dict[str, str]:
    """LAMMPS groups `above<k>`: the planes above each cut that displace_atoms moves (the z boundary needs none)."""
    layers, per_plane = settings["layers"], faults.atoms_per_plane(tuple(settings["repeat"]))
    first = layers // 2 if construction == "slab" else 0
    return {f"above{k}": faults.plane_ids(per_plane, k, layers) for k in range(first, first + 3) if k > 0}


def surface_grid(settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """Shifts of the gamma surface, cx in a/sqrt(2) (0..1) and cy in b_p (0..3): the in-plane cell, ends included."""
    gx, gy = settings["surface"]
    return np.linspace(0.0, 1.0, gx), np.linspace(0.0, 3.0, gy)


def pure_tasks(study, potential) -> list[Task]:
    s = study.settings
    element = study.present_elements[0]
    repeat = tuple(s["repeat"])
    cell = faults.fcc111_cell(element, study.a, s["layers"], repeat)
    out = []
    for construction in CONSTRUCTIONS:
        for path, title in PATHS.items():
            variables = template_variables(study, construction, title, repeat, path_points(path, construction, s),
                                   plane_groups(construction, s))
            out.append(Task(f"{construction}/{path}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    if any(s["surface"]):
        cxs, cys = surface_grid(s)
        for j, cy in enumerate(cys):  # one task per row of constant shift along [11-2]
            pts = [shift_point(i, "periodic", 0, cx, cy, repeat, f"gamma surface: shift ({cx:.4f} a/sqrt(2), {cy:.4f} b_p)")
                   for i, cx in enumerate(cxs)]
            variables = template_variables(study, "periodic", f"gamma surface row {j}", repeat, pts, {})
            out.append(Task(f"surface/y{j:02d}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    return out


def curve(study, construction: str, path: str, result: dict) -> dict:
    pts = path_points(path, construction, study.settings)
    gamma = gamma_of(result, [p["k"] for p in pts])
    disp = np.array([p["disp_bp"] for p in pts])
    return {"disp_bp": disp.tolist(), "disp_A": (disp * faults.partial_burgers(result["a0_A"])).tolist(),
            "gamma_mJ_m2": gamma.tolist(), "stage": [p["stage"] for p in pts]}


def fault_energies(c: dict) -> dict:
    """The named points of the 112 twinning path (stage ends and stage maxima)."""
    x, g, stage = np.array(c["disp_bp"]), np.array(c["gamma_mJ_m2"]), np.array(c["stage"])
    at = lambda v: float(g[np.argmin(abs(x - v))])
    first, second = (stage == 1), (stage == 2) | (x == 1.0)
    return {"usf": peak(x[first], g[first]), "isf": at(1.0), "utf": peak(x[second], g[second]),
            "esf": at(2.0), "tb": at(3.0) / 2}  # the 3-plane twin lamella holds two twin boundaries


def surface(study, results) -> dict:
    """The gamma surface on its grid: rows of constant shift along [11-2] (y), columns along [1-10] (x)."""
    cxs, cys = surface_grid(study.settings)
    rows_ = [results[f"surface/y{j:02d}"] for j in range(len(cys))]
    gamma = np.array([gamma_of(r, range(len(cxs))) for r in rows_])
    b110, bp = rows_[0]["b110_A"], rows_[0]["bp_A"]
    return {"disp_x_A": (cxs * b110).tolist(), "disp_y_A": (cys * bp).tolist(), "gamma_mJ_m2": gamma.tolist(),
            "b110_A": b110, "b_p_A": bp}


def dft_faults(path: str, src) -> dict:
    """{"isf"/"esf"/"tb": gamma (mJ/m^2, per fault)} of the fault cells in a run/make_dft_dataset JSON, with its settings."""
    file = paths.project_file(path)
    try:
        data = json.loads(file.read_text())
        cells = data["faults"]["faults"]
    except FileNotFoundError:
        raise PylmpError(f"{src}: settings.dft: {file} not found; give the JSON written by run/make_dft_dataset, "
                         "e.g. data/dft/ni_pbe_faults.json") from None
    except (ValueError, KeyError, TypeError):
        raise PylmpError(f"{src}: settings.dft: {file} holds no faults.faults block; give the JSON written by "
                         "run/make_dft_dataset, e.g. data/dft/ni_pbe_faults.json") from None
    gamma = {DFT_CELLS[name.split("_")[0]]: cell["gamma_mJ_m2"] for name, cell in cells.items()
             if name.split("_")[0] in DFT_CELLS}
    relaxed = "relaxed" if data["faults"].get("relaxed") else "unrelaxed"
    return {"gamma_mJ_m2": gamma, "source": f"{path}: {data.get('settings', {}).get('xc', 'DFT')}, periodic "
                                             f"stacking cells ({', '.join(cells)}), {relaxed}"}


def pure_analyze(study, results) -> dict:
    a0 = results["periodic/112"]["a0_A"]
    out = {"a0_A": a0, "b_p_A": faults.partial_burgers(a0), "area_A2": results["periodic/112"]["area_A2"]}
    curves = {}
    for construction in CONSTRUCTIONS:
        suffix = "" if construction == "periodic" else "_slab"
        for path in PATHS:
            curves[f"{construction}/{path}"] = curve(study, construction, path, results[f"{construction}/{path}"])
        for name, value in fault_energies(curves[f"{construction}/112"]).items():
            out[f"gamma_{name}{suffix}_mJ_m2"] = value
        c110 = curves[f"{construction}/110"]
        out[f"gamma_max_110{suffix}_mJ_m2"] = peak(np.array(c110["disp_bp"]), np.array(c110["gamma_mJ_m2"]))
        out[f"gamma_end_110{suffix}_mJ_m2"] = c110["gamma_mJ_m2"][-1]  # a full lattice vector: 0 up to round-off
    out["curves"] = curves
    if study.settings["dft"]:  # in every potential's results, so that the figure needs results.json alone
        dft = dft_faults(study.settings["dft"], study.source)
        out["dft"] = dft
        out["vs_dft_pct"] = {f: 100.0 * (out[f"gamma_{f}_mJ_m2"] - g) / g for f, g in dft["gamma_mJ_m2"].items()}
    if any(study.settings["surface"]):
        gs = surface(study, results)
        g = np.array(gs["gamma_mJ_m2"])
        out["gamma_surface_max_mJ_m2"] = float(g.max())
        out["gamma_surface_min_mJ_m2"] = float(g.min())
        out["gamma_surface"] = gs
    return out
