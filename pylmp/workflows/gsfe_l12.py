"""L1_2 (Ni3Al) planar faults on (111): APB, SISF, CISF and the paths through them, slab and tilted periodic cell.
Overview of the constructions: workflows/gsfe.py.
"""
from __future__ import annotations

import numpy as np

from pylmp import faults
from pylmp.launch import Task
from pylmp.workflows.gsfe_shifts import CONSTRUCTIONS, gamma_of, peak, shift_point, template_variables

# L1_2 on (111), shifts in (b110 = a/sqrt(2) along [1-10], b_p = a/sqrt(6) along [11-2]) of the cell below.
# CISF: one Shockley partial (fcc isf stacking, wrong neighbours); APB: a/2[1-10] (fcc-perfect stacking, wrong
# neighbours); SISF: a/3<112> = CISF + APB (fcc isf stacking, right neighbours). Each leg of `partials` is a partial.
L12_VERTICES = {"partials": [(0.0, 0.0, ""), (0.5, -0.5, "cisf"), (1.0, 0.0, "apb"), (1.0, 1.0, "sisf")],
                "112": [(0.0, 0.0, ""), (0.0, 1.0, "cisf"), (0.0, 2.0, ""), (0.0, 3.0, "apb"), (0.0, 4.0, "sisf"),
                        (0.0, 5.0, ""), (0.0, 6.0, "")]}
L12_TITLES = {"partials": "Shockley-partial path 0 -> CISF -> APB -> SISF",
              "112": "straight line along [11-2] over the L1_2 period 6 b_p (CISF at 1, APB at 3, SISF at 4 b_p)"}


def l12_shifts(path: str, construction: str, settings: dict, rect: tuple[int, int]) -> list[dict]:
    """Points along the polyline of L12_VERTICES[path], `points` per leg (ends included, shared between legs)."""
    cut = settings["layers"] // 2 if construction == "slab" else 0
    verts = L12_VERTICES[path]
    out, dist, b110, bp = [], 0.0, np.sqrt(3.0), 1.0  # path length in b_p (a/sqrt(2) = sqrt(3) b_p)
    for leg, ((x0, y0, _), (x1, y1, label)) in enumerate(zip(verts[:-1], verts[1:])):
        length = np.hypot((x1 - x0) * b110, (y1 - y0) * bp)
        for i, t in enumerate(np.linspace(0.0, 1.0, settings["points"])):
            if leg and not i:
                continue
            cx, cy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            name = label if i == settings["points"] - 1 else ""
            dump = f"fault_{name}.dump" if name and settings["dumps"] else None
            pt = shift_point(len(out), construction, cut, cx, cy, rect,
                             f"{L12_TITLES[path].split(' (')[0]}: ({cx:.4f} a/sqrt(2), {cy:.4f} b_p) {name}", dump)
            out.append({**pt, "leg": leg, "disp_bp": float(dist + t * length), "label": name})
        dist += length
    return out


def l12_rect(settings: dict) -> tuple[int, int]:
    return (2 * settings["repeat"][0], 2 * settings["repeat"][1])  # whole L1_2 periods in-plane


def l12_tasks(study, potential) -> list[Task]:
    s = study.settings
    present = {el: pct for el, pct in study.composition.items() if pct > 0}
    majority, minority = max(present, key=present.get), min(present, key=present.get)
    rect = l12_rect(s)
    cell = faults.l12_111_cell(majority, minority, study.a, s["layers"], tuple(s["repeat"]))
    out = []
    for construction in CONSTRUCTIONS:
        cut = s["layers"] // 2
        groups = {f"above{cut}": faults.plane_ids(faults.atoms_per_plane(rect), cut, s["layers"])} if construction == "slab" else {}
        for path, title in L12_TITLES.items():
            variables = template_variables(study, construction, title, rect, l12_shifts(path, construction, s, rect), groups,
                                   f"L1_2 {majority}3{minority}")
            out.append(Task(f"{construction}/l12_{path}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    return out


def l12_analyze(study, results) -> dict:
    s = study.settings
    rect = l12_rect(s)
    first = results["periodic/l12_partials"]
    out = {"kind": "l12", "a0_A": first["a0_A"], "b_p_A": first["bp_A"], "area_A2": first["area_A2"]}
    curves = {}
    for construction in CONSTRUCTIONS:
        suffix = "" if construction == "periodic" else "_slab"
        for path in L12_TITLES:
            res = results[f"{construction}/l12_{path}"]
            pts = l12_shifts(path, construction, s, rect)
            g = gamma_of(res, [p["k"] for p in pts])
            x = np.array([p["disp_bp"] for p in pts])
            curves[f"{construction}/{path}"] = {
                "disp_bp": x.tolist(), "disp_A": (x * res["bp_A"]).tolist(), "gamma_mJ_m2": g.tolist(),
                "disp_x_A": [p["cx"] * res["b110_A"] for p in pts], "disp_y_A": [p["cy"] * res["bp_A"] for p in pts],
                "label": [p["label"] for p in pts]}
            for p, value in zip(pts, g):
                if p["label"]:
                    key = f"gamma_{p['label']}{'_111' if p['label'] == 'apb' else ''}{suffix}{'' if path == 'partials' else '_line'}_mJ_m2"
                    out[key] = float(value)
            if path == "partials":  # the barrier of each partial leg
                legs = np.array([p["leg"] for p in pts])
                for leg, name in enumerate(("cisf", "apb", "sisf")):
                    sel = (legs == leg) | (np.arange(len(pts)) == np.flatnonzero(legs == leg)[0] - 1)
                    out[f"gamma_max_to_{name}{suffix}_mJ_m2"] = peak(x[sel], g[sel])
    out["curves"] = curves
    return out
