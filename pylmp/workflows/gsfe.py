"""Generalized stacking-fault energy (GSFE) on (111): pure fcc metals, random fcc alloys, L1_2 (Ni3Al).
Template: templates/gsfe.lmp.j2 (every task)      Theory note: docs/theory/gsfe.md

The kind of study follows from the material:
  pure fcc (one element)  two paths, each in two independent constructions (four tasks per potential):
    112  the twinning path along [11-2], one more (111) plane shifted per stage of one partial b_p = a/sqrt(6):
         0 -> 1 b_p: perfect -> unstable SF (usf) -> intrinsic SF (isf),
         1 -> 2 b_p: shift the next plane -> unstable twinning (utf) -> extrinsic SF (esf, a 2-plane twin),
         2 -> 3 b_p: shift the third plane -> 3-plane twin lamella, two coherent twin boundaries (2 gamma_tb);
    110  one plane shifted along [1-10] over a full a/sqrt(2) (gamma is 0 again at the end).
    slab      free surfaces along z (vacuum), the cut in the middle, the planes above it displaced rigidly;
    periodic  no surfaces: the box is tilted by the total shift, which faults the plane across the z boundary.
    With `surface: [nx, ny]` also the gamma surface: an nx x ny grid of shifts over the in-plane cell
    (a/sqrt(2) x 3 b_p, ends included), tilted periodic cell, one task per grid row.
  random fcc alloy (type map of several elements, or `ni_percent` given): the first stage of the 112 path
    (usf, isf) in the tilted periodic cell, for `realizations` random arrangements (seeds material.seed + k)
    and `positions` fault planes per cell; mean, standard error and n over all those samples,
    for each Ni at.% of `ni_percent` (others keep their ratio) or for material.composition alone.
  L1_2 (lattice L12, A3B): one path of Shockley partials 0 -> CISF -> APB -> SISF and the straight
    [11-2] line over the doubled L1_2 period (6 b_p), slab and tilted periodic cell.
Every task first relaxes the perfect crystal to zero pressure, so the shifts are in units of the potential's
own lattice parameter; faulted states relax along z only, the in-plane box fixed (periodic: lz relaxes to
pzz = 0, as the slab's surfaces let the fault dilate freely).
gamma = (E - E_reference) / (lx ly), reference: the relaxed slab / the perfect periodic crystal.
"""
from __future__ import annotations

import csv

import numpy as np

from pylmp import faults, structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {"layers": 24, "repeat": [1, 1], "points": 11, "vacuum_A": 12.0, "dumps": True,
            "surface": [0, 0], "realizations": 3, "positions": 2, "ni_percent": []}
EV_A2_TO_MJ_M2 = 16021.766
CONSTRUCTIONS = ("periodic", "slab")
PATHS = {"112": "twinning path along [11-2] (isf, esf, 3-plane twin)", "110": "full slip along [1-10]"}
STAGE_DUMPS = {1: "isf", 2: "esf", 3: "twin3"}  # relaxed configuration at the end of each stage of the 112 path
# L1_2 on (111), shifts in (b110 = a/sqrt(2) along [1-10], b_p = a/sqrt(6) along [11-2]) of the cell below.
# CISF: one Shockley partial (fcc isf stacking, wrong neighbours); APB: a/2[1-10] (fcc-perfect stacking, wrong
# neighbours); SISF: a/3<112> = CISF + APB (fcc isf stacking, right neighbours). Each leg of `partials` is a partial.
L12_VERTICES = {"partials": [(0.0, 0.0, ""), (0.5, -0.5, "cisf"), (1.0, 0.0, "apb"), (1.0, 1.0, "sisf")],
                "112": [(0.0, 0.0, ""), (0.0, 1.0, "cisf"), (0.0, 2.0, ""), (0.0, 3.0, "apb"), (0.0, 4.0, "sisf"),
                        (0.0, 5.0, ""), (0.0, 6.0, "")]}
L12_TITLES = {"partials": "Shockley-partial path 0 -> CISF -> APB -> SISF",
              "112": "straight line along [11-2] over the L1_2 period 6 b_p (CISF at 1, APB at 3, SISF at 4 b_p)"}
# Ni, weak-beam TEM of dissociated dislocations: C. B. Carter and S. M. Holmes, Phil. Mag. 35, 1161 (1977)
NI_ISF_MEASURED_MJ_M2 = 125.0
NI_ISF_BAND_MJ_M2 = 10.0  # half width of the band drawn on the figure: the spread of reported values, not an error bar


def kind(study) -> str:
    if study.lattice == "L12":
        return "l12"
    if len(study.elements) > 1 or study.settings["ni_percent"]:
        return "alloy"
    return "pure"


def check(study) -> None:
    s, src = study.settings, study.source
    if study.lattice not in ("fcc", "L12"):
        raise PylmpError(f"{src}: workflow gsfe handles fcc metals and alloys and L1_2 crystals; set material.lattice: fcc or L12")
    if s["layers"] < 12 or s["layers"] % 3:
        raise PylmpError(f"{src}: settings.layers = {s['layers']}; use a multiple of 3, at least 12 (the ABC stacking "
                         "repeats every 3 planes and each side of the fault needs room)")
    if len(s["repeat"]) != 2 or min(s["repeat"]) < 1:
        raise PylmpError(f"{src}: settings.repeat must be two positive integers [nx, ny] (lateral repeats), got {s['repeat']}")
    if s["points"] < 3:
        raise PylmpError(f"{src}: settings.points must be at least 3 (points per stage of each path, ends included)")
    if s["vacuum_A"] < 6.0:
        raise PylmpError(f"{src}: settings.vacuum_A = {s['vacuum_A']} is too thin; use at least 6 (A on each side, "
                         "so the slab's two surfaces stay beyond the cutoff of one another)")
    grid = s["surface"]
    if len(grid) != 2 or (any(grid) and min(grid) < 2):
        raise PylmpError(f"{src}: settings.surface must be [nx, ny] grid points (each at least 2, ends included) "
                         f"or [0, 0] for no gamma surface, got {grid}")
    try:
        s["ni_percent"] = [float(p) for p in (s["ni_percent"] if isinstance(s["ni_percent"], list) else [s["ni_percent"]])]
    except (TypeError, ValueError):
        raise PylmpError(f"{src}: settings.ni_percent must be a list of Ni at.%, e.g. [100, 90, 80]") from None
    k = kind(study)
    if k != "pure" and any(grid):
        raise PylmpError(f"{src}: settings.surface (the gamma surface) is for a pure fcc metal; remove it for this material")
    if k == "l12":
        present = {el: pct for el, pct in study.composition.items() if pct > 0}
        if len(present) != 2 or sorted(present.values()) != [25.0, 75.0]:
            raise PylmpError(f"{src}: lattice L12 needs an A3B composition of two elements at 75/25 at.%, e.g. {{Ni: 75, Al: 25}}")
    if k == "alloy":
        if s["realizations"] < 1:
            raise PylmpError(f"{src}: settings.realizations must be at least 1 (random arrangements per composition)")
        if s["positions"] < 1 or s["layers"] // s["positions"] < 6:
            raise PylmpError(f"{src}: settings.positions = {s['positions']}: use 1 or more fault planes per cell, at least "
                             f"6 planes apart (settings.layers / positions >= 6; layers is {s['layers']})")
        if s["repeat"][0] * s["repeat"][1] < 4:
            raise PylmpError(f"{src}: settings.repeat = {s['repeat']} puts {2 * s['repeat'][0] * s['repeat'][1]} atoms in a "
                             "(111) plane: too few for a random alloy; use at least [2, 2], e.g. [4, 2]")
        if s["ni_percent"]:
            if "Ni" not in study.composition or not _others(study):
                raise PylmpError(f"{src}: settings.ni_percent needs Ni and at least one other element with at.% > 0 in "
                                 "material.composition (their ratio is kept), e.g. {Ni: 80, Co: 20}")
            if any(not 0 <= p <= 100 for p in s["ni_percent"]) or len(set(s["ni_percent"])) != len(s["ni_percent"]):
                raise PylmpError(f"{src}: settings.ni_percent must list distinct Ni at.% between 0 and 100, e.g. [100, 90, 80]")


def _fold(c: float, period: float) -> float:
    """Tilt is periodic in the cell length: fold it into [-L/2, L/2], where LAMMPS accepts it without a warning."""
    return c - period * round(c / period)


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
            tilt = (_fold(total[0], nx), _fold(total[1], 3 * ny))  # periods: nx a/sqrt(2), 3 ny b_p
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


def shift_point(k: int, construction: str, cut: int, cx: float, cy: float, rect: tuple[int, int], title: str,
                dump: str | None = None) -> dict:
    """One rigid shift (cx a/sqrt(2) along x, cy b_p along y) of the planes above cut `cut` (0: the z boundary).

    Periodic: the box tilts by the shift and the planes above the cut move by it too, so the only faulted
    interface is the cut (for cut 0 the tilt alone). Slab: the planes above the cut move. rect: fcc rectangles."""
    move = [{"group": f"above{cut}", "cx": cx, "cy": cy}] if cut > 0 else []
    tilt = (_fold(cx, rect[0]), _fold(cy, 3 * rect[1])) if construction == "periodic" else (0.0, 0.0)
    return {"k": k, "moves": move, "tilt": tilt, "dump": dump, "title": title, "cx": float(cx), "cy": float(cy)}


def plane_groups(construction: str, settings: dict) -> dict[str, str]:
    """LAMMPS groups `above<k>`: the planes above each cut that displace_atoms moves (the z boundary needs none)."""
    layers, per_plane = settings["layers"], faults.atoms_per_plane(tuple(settings["repeat"]))
    first = layers // 2 if construction == "slab" else 0
    return {f"above{k}": faults.plane_ids(per_plane, k, layers) for k in range(first, first + 3) if k > 0}


def _variables(study, construction: str, title: str, rect: tuple[int, int], points: list[dict], groups: dict,
               crystal: str = "fcc", box_mode: str = "iso") -> dict:
    s = study.settings
    return {"construction": construction, "path_title": title, "layers": s["layers"], "nx": rect[0], "ny": rect[1],
            "per_plane": faults.atoms_per_plane(rect), "vacuum_A": s["vacuum_A"], "points": points, "groups": groups,
            "crystal": crystal, "box_mode": box_mode}


def tasks(study, potential) -> list[Task]:
    return {"pure": pure_tasks, "alloy": alloy_tasks, "l12": l12_tasks}[kind(study)](study, potential)


# ------------------------------------------------------------------ pure fcc metal: paths and gamma surface

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
            variables = _variables(study, construction, title, repeat, path_points(path, construction, s),
                                   plane_groups(construction, s))
            out.append(Task(f"{construction}/{path}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    if any(s["surface"]):
        cxs, cys = surface_grid(s)
        for j, cy in enumerate(cys):  # one task per row of constant shift along [11-2]
            pts = [shift_point(i, "periodic", 0, cx, cy, repeat, f"gamma surface: shift ({cx:.4f} a/sqrt(2), {cy:.4f} b_p)")
                   for i, cx in enumerate(cxs)]
            variables = _variables(study, "periodic", f"gamma surface row {j}", repeat, pts, {})
            out.append(Task(f"surface/y{j:02d}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    return out


def _peak(x: np.ndarray, y: np.ndarray) -> float:
    """Maximum of sampled points, refined by the parabola through the highest point and its two neighbours."""
    i = int(np.argmax(y))
    if i == 0 or i == len(y) - 1:
        return float(y[i])
    c2, c1, c0 = np.polyfit(x[i - 1:i + 2], y[i - 1:i + 2], 2)
    return float(c0 - c1 * c1 / (4 * c2)) if c2 < 0 else float(y[i])


def _gamma(result: dict, ks) -> np.ndarray:
    e = np.array([result[f"E_{k}_eV"] for k in ks])
    return (e - result["E_ref_eV"]) / result["area_A2"] * EV_A2_TO_MJ_M2


def curve(study, construction: str, path: str, result: dict) -> dict:
    pts = path_points(path, construction, study.settings)
    gamma = _gamma(result, [p["k"] for p in pts])
    disp = np.array([p["disp_bp"] for p in pts])
    return {"disp_bp": disp.tolist(), "disp_A": (disp * faults.partial_burgers(result["a0_A"])).tolist(),
            "gamma_mJ_m2": gamma.tolist(), "stage": [p["stage"] for p in pts]}


def fault_energies(c: dict) -> dict:
    """The named points of the 112 twinning path (stage ends and stage maxima)."""
    x, g, stage = np.array(c["disp_bp"]), np.array(c["gamma_mJ_m2"]), np.array(c["stage"])
    at = lambda v: float(g[np.argmin(abs(x - v))])
    first, second = (stage == 1), (stage == 2) | (x == 1.0)
    return {"usf": _peak(x[first], g[first]), "isf": at(1.0), "utf": _peak(x[second], g[second]),
            "esf": at(2.0), "tb": at(3.0) / 2}  # the 3-plane twin lamella holds two twin boundaries


def surface(study, results) -> dict:
    """The gamma surface on its grid: rows of constant shift along [11-2] (y), columns along [1-10] (x)."""
    cxs, cys = surface_grid(study.settings)
    rows_ = [results[f"surface/y{j:02d}"] for j in range(len(cys))]
    gamma = np.array([_gamma(r, range(len(cxs))) for r in rows_])
    b110, bp = rows_[0]["b110_A"], rows_[0]["bp_A"]
    return {"disp_x_A": (cxs * b110).tolist(), "disp_y_A": (cys * bp).tolist(), "gamma_mJ_m2": gamma.tolist(),
            "b110_A": b110, "b_p_A": bp}


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
        out[f"gamma_max_110{suffix}_mJ_m2"] = _peak(np.array(c110["disp_bp"]), np.array(c110["gamma_mJ_m2"]))
        out[f"gamma_end_110{suffix}_mJ_m2"] = c110["gamma_mJ_m2"][-1]  # a full lattice vector: 0 up to round-off
    out["curves"] = curves
    if any(study.settings["surface"]):
        gs = surface(study, results)
        g = np.array(gs["gamma_mJ_m2"])
        out["gamma_surface_max_mJ_m2"] = float(g.max())
        out["gamma_surface_min_mJ_m2"] = float(g.min())
        out["gamma_surface"] = gs
    return out


# ------------------------------------------------------------------ random fcc alloys

def _others(study) -> dict[str, float]:
    """The non-Ni elements and their share of the non-Ni part (fractions summing to 1)."""
    rest = {el: pct for el, pct in study.composition.items() if el != "Ni" and pct > 0}
    total = sum(rest.values())
    return {el: pct / total for el, pct in rest.items()}


def alloy_points(study) -> list[tuple[str, dict[str, float]]]:
    """(name, composition over the type map) of each composition: one per settings.ni_percent, else material's."""
    if not study.settings["ni_percent"]:
        ni = study.composition.get("Ni", 0.0)
        return [(f"Ni{ni:g}", dict(study.composition))]
    share = _others(study)
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
            variables = _variables(study, "periodic", title, repeat, alloy_shifts(s), groups, "random fcc alloy", mode)
            out.append(Task(f"{name}/r{k}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    return out


def stats(values) -> dict:
    """Mean, sample standard deviation, standard error of the mean and n."""
    v = np.asarray(values, dtype=float)
    std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"mean": float(v.mean()), "std": std, "se": std / np.sqrt(len(v)), "n": len(v)}


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
                g = _gamma(res, [pt["k"] for pt in shifts if pt["position"] == p])
                samples.append({"seed": study.seed + k, "position": p, "isf": float(g[-1]), "usf": _peak(x, g)})
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


# ------------------------------------------------------------------ L1_2 (Ni3Al) planar faults

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
            variables = _variables(study, construction, title, rect, l12_shifts(path, construction, s, rect), groups,
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
            g = _gamma(res, [p["k"] for p in pts])
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
                    out[f"gamma_max_to_{name}{suffix}_mJ_m2"] = _peak(x[sel], g[sel])
    out["curves"] = curves
    return out


def analyze(study, results) -> dict:
    return {"pure": pure_analyze, "alloy": alloy_analyze, "l12": l12_analyze}[kind(study)](study, results)


# ------------------------------------------------------------------ CSV rows and figures (from results.json alone)

def rows(summary) -> list[dict]:
    out = []
    for name, res in summary.items():
        if res.get("kind") == "alloy":
            for pt in res["alloy_points"]:
                out.append({"potential": name, "point": pt["name"], "ni_percent": pt["ni_percent"],
                            "Ni_at_pct_actual": pt["Ni_at_pct_actual"], "n": pt["isf"]["n"],
                            **{f"gamma_{q}_{k}_mJ_m2": pt[q][k] for q in ("isf", "usf") for k in ("mean", "se", "std")}})
        elif res.get("kind") == "l12":
            for key, c in res["curves"].items():
                construction, path = key.split("/")
                for i, g in enumerate(c["gamma_mJ_m2"]):
                    out.append({"potential": name, "construction": construction, "path": path, "disp_bp": c["disp_bp"][i],
                                "disp_A": c["disp_A"][i], "disp_x_A": c["disp_x_A"][i], "disp_y_A": c["disp_y_A"][i],
                                "fault": c["label"][i], "gamma_mJ_m2": g})
        else:
            for key, c in res["curves"].items():
                construction, path = key.split("/")
                for x, xa, g, st in zip(c["disp_bp"], c["disp_A"], c["gamma_mJ_m2"], c["stage"]):
                    out.append({"potential": name, "construction": construction, "path": path, "stage": st,
                                "disp_bp": x, "disp_A": xa, "gamma_mJ_m2": g})
    return out


def plot(summary, path) -> None:
    """gsfe.png for the study's kind; a pure metal with a gamma surface also gets gamma_surface.csv/.png beside it."""
    kinds = {res.get("kind", "pure") for res in summary.values()}
    if kinds == {"alloy"}:
        return plot_alloy(summary, path)
    if kinds == {"l12"}:
        return plot_l12(summary, path)
    plot_pure(summary, path)
    with_surface = {n: r["gamma_surface"] for n, r in summary.items() if "gamma_surface" in r}
    if with_surface:
        write_surface_csv(with_surface, path.with_name("gamma_surface.csv"))
        plot_surface(with_surface, path.with_name("gamma_surface.png"))


def plot_pure(summary, path) -> None:
    """Left: the 112 twinning path; right: the 110 path. Solid: periodic (tilted) cell, dashed: slab."""
    fig, (ax112, ax110) = plotting.figure(ncols=2, width=5.5)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        for construction, style in (("periodic", "o-"), ("slab", "x--")):
            for ax, p in ((ax112, "112"), (ax110, "110")):
                c = res["curves"][f"{construction}/{p}"]
                label = None  # legend on the left panel only: one entry per potential and construction
                if p == "112":
                    label = (f"{name}: isf {res['gamma_isf_mJ_m2']:.0f}, usf {res['gamma_usf_mJ_m2']:.0f} mJ/m^2"
                             if construction == "periodic" else f"{name} (slab)")
                ax.plot(c["disp_bp"], c["gamma_mJ_m2"], style, color=colors[name], ms=3, lw=1, label=label)
    for ax in (ax112, ax110):
        lo, hi = NI_ISF_MEASURED_MJ_M2 - NI_ISF_BAND_MJ_M2, NI_ISF_MEASURED_MJ_M2 + NI_ISF_BAND_MJ_M2
        ax.axhspan(lo, hi, color="0.8", alpha=0.6, label="Ni measured isf ~125 (Carter & Holmes 1977)")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("gamma (mJ/m^2)")
        ax.grid(alpha=0.3)
    ax112.set_xlabel("cumulative shift along [11-2] (b_p = a/sqrt(6)); one more plane per b_p")
    ax112.set_title("(111) twinning path: usf, isf | utf, esf | 3-plane twin")
    ax110.set_xlabel("shift along [1-10] (b_p); a/sqrt(2) = sqrt(3) b_p")
    ax110.set_title("(111) full slip along <110>")
    ax112.legend(fontsize=6)
    plotting.save(fig, path)


def write_surface_csv(surfaces: dict, path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["potential", "disp_x_A", "disp_y_A", "gamma_mJ_m2"])
        for name, gs in surfaces.items():
            for y, row in zip(gs["disp_y_A"], gs["gamma_mJ_m2"]):
                for x, g in zip(gs["disp_x_A"], row):
                    writer.writerow([name, x, y, g])


def plot_surface(surfaces: dict, path) -> None:
    """Heat map per potential over the in-plane cell; lines: the <112> and <110> paths, and the partials' route."""
    fig, axes = plotting.figure(ncols=len(surfaces), width=4.2, height=5.5)
    for ax, (name, gs) in zip(axes, surfaces.items()):
        x, y, g = np.array(gs["disp_x_A"]), np.array(gs["disp_y_A"]), np.array(gs["gamma_mJ_m2"])
        b110, bp = gs["b110_A"], gs["b_p_A"]
        mesh = ax.contourf(x, y, g, levels=30, cmap="viridis")
        ax.plot(*np.meshgrid(x, y), "k.", ms=1.5, alpha=0.4)
        fig.colorbar(mesh, ax=ax, label="gamma (mJ/m^2)")
        ax.plot([0, 0], [0, 3 * bp], "w-", lw=3, clip_on=False, label="<112> path (x = 0)")
        ax.plot([0, b110], [0, 0], "r-", lw=3, clip_on=False, label="<110> path (y = 0)")
        ax.margins(0.03)
        ax.plot([0, 0, b110 / 2], [0, bp, 1.5 * bp], "w--", lw=1, label="two Shockley partials via the isf")
        ax.plot([0], [bp], "w*", ms=10, mec="k", label="isf")
        ax.set_aspect("equal")
        ax.set_xlabel("shift along [1-10] (A)")
        ax.set_ylabel("shift along [11-2] (A)")
        ax.set_title(f"{name}: (111) gamma surface\nmax {g.max():.0f}, isf {np.interp(bp, y, g[:, 0]):.0f} mJ/m^2", fontsize=9)
        ax.legend(fontsize=6, loc="upper right")
    plotting.save(fig, path)


def plot_alloy(summary, path) -> None:
    """gamma_isf and gamma_usf vs Ni at.%: mean +/- standard error, every sample faint."""
    fig, axes = plotting.figure(ncols=2, width=5.0)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        pts = res["alloy_points"]
        ni = [p["Ni_at_pct_actual"] for p in pts]
        for ax, q in zip(axes, ("isf", "usf")):
            ax.errorbar(ni, [p[q]["mean"] for p in pts], yerr=[p[q]["se"] for p in pts], fmt="o-", capsize=3,
                        color=colors[name], label=f"{name} (n = {', '.join(str(p[q]['n']) for p in pts)})")
            each = [(p["Ni_at_pct_actual"], s[q]) for p in pts for s in p["samples"]]
            ax.plot(*zip(*each), ".", color=colors[name], alpha=0.3)
    for ax, q in zip(axes, ("isf", "usf")):
        ax.set_xlabel("Ni (at.%, as placed)")
        ax.set_ylabel(f"gamma_{q} (mJ/m^2)")
        ax.grid(alpha=0.3)
        ax.invert_xaxis()
    lo, hi = NI_ISF_MEASURED_MJ_M2 - NI_ISF_BAND_MJ_M2, NI_ISF_MEASURED_MJ_M2 + NI_ISF_BAND_MJ_M2
    axes[0].axhspan(lo, hi, color="0.8", alpha=0.6, label="pure Ni measured ~125")
    axes[0].legend(fontsize=7)
    first = next(iter(summary.values()))
    fig.suptitle(f"(111) fault energies of random fcc alloys: mean +/- standard error over {first['realizations']} "
                 f"arrangements x {first['positions']} fault planes", fontsize=9)
    plotting.save(fig, path)


def plot_l12(summary, path) -> None:
    """L1_2 (111): the partials path 0 -> CISF -> APB -> SISF and the [11-2] line; solid periodic, dashed slab."""
    fig, axes = plotting.figure(ncols=2, width=5.5)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        for ax, p in zip(axes, ("partials", "112")):
            for construction, style in (("periodic", "o-"), ("slab", "x--")):
                c = res["curves"][f"{construction}/{p}"]
                label = (f"{name}: APB {res['gamma_apb_111_mJ_m2']:.0f}, SISF {res['gamma_sisf_mJ_m2']:.0f}, "
                         f"CISF {res['gamma_cisf_mJ_m2']:.0f}" if construction == "periodic" else f"{name} (slab)")
                ax.plot(c["disp_bp"], c["gamma_mJ_m2"], style, color=colors[name], ms=3, lw=1, label=label)
                if construction == "periodic":
                    for x, g, lab in zip(c["disp_bp"], c["gamma_mJ_m2"], c["label"]):
                        if lab:
                            ax.annotate(lab.upper(), (x, g), textcoords="offset points", xytext=(0, 6), fontsize=7, ha="center")
    for ax in axes:
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("gamma (mJ/m^2)")
        ax.set_xlabel("path length (b_p = a/sqrt(6))")
        ax.grid(alpha=0.3)
    axes[0].set_title("L1_2 (111): Shockley partials 0 -> CISF -> APB -> SISF")
    axes[1].set_title("L1_2 (111) along [11-2]: period 6 b_p (twice fcc)")
    axes[0].legend(fontsize=6)
    plotting.save(fig, path)
