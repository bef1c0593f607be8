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

Code map: gsfe_pure.py (paths, gamma surface), gsfe_alloy.py (random alloys), gsfe_l12.py (Ni3Al),
gsfe_shifts.py (shift points, gamma, statistics shared by all three), gsfe_figures.py (PNG/CSV).
"""
from __future__ import annotations

from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import gsfe_alloy, gsfe_figures, gsfe_l12, gsfe_pure

DEFAULTS = {"layers": 24, "repeat": [1, 1], "points": 11, "vacuum_A": 12.0, "dumps": True,
            "surface": [0, 0], "realizations": 3, "positions": 2, "ni_percent": [],
            "dft": ""}  # pure metal: a DFT fault-energy JSON of run/make_dft_dataset, drawn on the figure


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
    if s["dft"]:
        if k != "pure":
            raise PylmpError(f"{src}: settings.dft (DFT fault energies on the figure) is for a pure fcc metal; remove it for this material")
        gsfe_pure.dft_faults(s["dft"], src)  # readable now, not after the tasks ran
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
            if "Ni" not in study.composition or not gsfe_alloy.others(study):
                raise PylmpError(f"{src}: settings.ni_percent needs Ni and at least one other element with at.% > 0 in "
                                 "material.composition (their ratio is kept), e.g. {Ni: 80, Co: 20}")
            if any(not 0 <= p <= 100 for p in s["ni_percent"]) or len(set(s["ni_percent"])) != len(s["ni_percent"]):
                raise PylmpError(f"{src}: settings.ni_percent must list distinct Ni at.% between 0 and 100, e.g. [100, 90, 80]")


def tasks(study, potential) -> list[Task]:
    kinds = {"pure": gsfe_pure.pure_tasks, "alloy": gsfe_alloy.alloy_tasks, "l12": gsfe_l12.l12_tasks}
    return kinds[kind(study)](study, potential)


def analyze(study, results) -> dict:
    kinds = {"pure": gsfe_pure.pure_analyze, "alloy": gsfe_alloy.alloy_analyze, "l12": gsfe_l12.l12_analyze}
    return kinds[kind(study)](study, results)


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
        return gsfe_figures.plot_alloy(summary, path)
    if kinds == {"l12"}:
        return gsfe_figures.plot_l12(summary, path)
    gsfe_figures.plot_pure(summary, path)
    with_surface = {n: r["gamma_surface"] for n, r in summary.items() if "gamma_surface" in r}
    if with_surface:
        gsfe_figures.write_surface_csv(with_surface, path.with_name("gamma_surface.csv"))
        gsfe_figures.plot_surface(with_surface, path.with_name("gamma_surface.png"))
