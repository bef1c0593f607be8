"""GSFE of random fcc alloys: usf and isf averaged over random arrangements and fault planes, per Ni at.%.
Overview of the constructions: workflows/gsfe.py.
"""
from __future__ import annotations

import numpy as np

from pylmp import faults, structures
from pylmp.launch import Task
from pylmp.workflows.gsfe_shifts import gamma_of, peak, shift_point, stats, template_variables


def others(study) -> dict[str, float]:
    """The non-Ni elements and their share of the non-Ni part (fractions summing to 1)."""
    rest = {el: pct for el, pct in study.composition.items() if el != "Ni" and pct > 0}
    total = sum(rest.values())
    return {el: pct / total for el, pct in rest.items()}


def alloy_points(study) -> list[tuple[str, dict[str, float]]]:
    """(name, composition over the type map) of each composition: one per settings.ni_percent, else material's."""
    if not study.settings["ni_percent"]:
        ni = study.composition.get("Ni", 0.0)
        return [(f"Ni{ni:g}", dict(study.composition))]
    share = others(study)
    return [(f"Ni{ni:g}", {el: ni if el == "Ni" else (100.0 - ni) * share.get(el, 0.0) for el in study.elements})
            for ni in study.settings["ni_percent"]]


def n_realizations(study, composition: dict[str, float]) -> int:
    single = sum(1 for pct in composition.values() if pct > 0) == 1
    return 1 if single else study.settings["realizations"]  # a pure element has one arrangement


def cuts(settings: dict) -> list[int]:
    """Fault positions: cuts below planes 0 (the z boundary), L/P, 2L/P, ... of the same cell."""
    return [round(i * settings["layers"] / settings["positions"]) for i in range(settings["positions"])]


def alloy_shifts(settings: dict) -> list[dict]:
    """usf/isf stage along [11-2] (0 .. 1 b_p) at each fault position; point k = position * points + i."""
    out = []
    for p, cut in enumerate(cuts(settings)):
        for i, s in enumerate(np.linspace(0.0, 1.0, settings["points"])):
            dump = f"fault_isf_pos{p}.dump" if settings["dumps"] and i == settings["points"] - 1 else None
            pt = shift_point(len(out), "periodic", cut, 0.0, s, tuple(settings["repeat"]),
                             f"fault position {p} (cut below plane {cut}), shift {s:.4f} b_p along [11-2]", dump)
            out.append({**pt, "position": p})
    return out


def alloy_tasks(study, potential) -> list[Task]:
    s = study.settings
    repeat = tuple(s["repeat"])
    per_plane = faults.atoms_per_plane(repeat)
    groups = {f"above{c}": faults.plane_ids(per_plane, c, s["layers"]) for c in cuts(s) if c > 0}
    out = []
    for name, comp in alloy_points(study):
        mode = structures.relax_mode("fcc", comp)  # iso for a pure element, else aniso
        for k in range(n_realizations(study, comp)):
            cell = faults.random_111_cell(comp, study.a, s["layers"], repeat, study.seed + k)
            title = f"usf/isf of a random alloy {structures.format_composition(comp)}, seed {study.seed + k}"
            variables = template_variables(study, "periodic", title, repeat, alloy_shifts(s), groups, "random fcc alloy", mode)
            out.append(Task(f"{name}/r{k}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    return out


def alloy_analyze(study, results) -> dict:
    s = study.settings
    shifts = alloy_shifts(s)
    x = np.linspace(0.0, 1.0, s["points"])
    points = []
    for name, comp in alloy_points(study):
        samples = []
        for k in range(n_realizations(study, comp)):
            res = results[f"{name}/r{k}"]
            for p in range(len(cuts(s))):
                g = gamma_of(res, [pt["k"] for pt in shifts if pt["position"] == p])
                samples.append({"seed": study.seed + k, "position": p, "isf": float(g[-1]), "usf": peak(x, g)})
        counts = structures.exact_counts(comp, int(results[f"{name}/r0"]["natoms"]))
        point = {"name": name, "ni_percent": comp.get("Ni", 0.0),
                 "Ni_at_pct_actual": 100.0 * counts.get("Ni", 0) / sum(counts.values()),
                 "composition_at_pct": comp, "a0_A": results[f"{name}/r0"]["a0_A"], "samples": samples}
        for q in ("isf", "usf"):
            point[q] = stats([smp[q] for smp in samples])
        points.append(point)
    out = {"kind": "alloy", "realizations": s["realizations"], "positions": len(cuts(s)), "alloy_points": points}
    for pt in points:
        for q in ("isf", "usf"):
            tag = "" if len(points) == 1 else f"_{pt['name']}"
            out[f"gamma_{q}{tag}_mJ_m2"] = pt[q]["mean"]
            out[f"gamma_{q}{tag}_se_mJ_m2"] = pt[q]["se"]
        out[f"n_samples{'' if len(points) == 1 else '_' + pt['name']}"] = pt["isf"]["n"]
    return out
