"""Generalized stacking-fault energy (GSFE) of a pure fcc metal on (111).   Template: templates/gsfe.lmp.j2
Theory note: docs/theory/gsfe.md

Two paths, each in two independent constructions (four tasks per potential):
  112  the twinning path along [11-2], one more (111) plane shifted per stage of one partial b_p = a/sqrt(6):
       0 -> 1 b_p: perfect -> unstable SF (usf) -> intrinsic SF (isf),
       1 -> 2 b_p: shift the next plane -> unstable twinning (utf) -> extrinsic SF (esf, a 2-plane twin),
       2 -> 3 b_p: shift the third plane -> 3-plane twin lamella, two coherent twin boundaries (2 gamma_tb);
  110  one plane shifted along [1-10] over a full a/sqrt(2) (gamma is 0 again at the end).
  slab      free surfaces along z (vacuum), the cut in the middle, the planes above it displaced rigidly;
  periodic  no surfaces: the box is tilted by the total shift, which faults the plane across the z boundary.
Every task first relaxes the perfect crystal to zero pressure, so the shifts are in units of the potential's
own lattice parameter; faulted states relax along z only, the in-plane box fixed (periodic: lz relaxes to
pzz = 0, as the slab's surfaces let the fault dilate freely).
gamma = (E - E_reference) / (lx ly), reference: the relaxed slab / the perfect periodic crystal.
"""
from __future__ import annotations

import numpy as np

from pylmp import faults
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {"layers": 24, "repeat": [1, 1], "points": 11, "vacuum_A": 12.0, "dumps": True}
EV_A2_TO_MJ_M2 = 16021.766
CONSTRUCTIONS = ("periodic", "slab")
PATHS = {"112": "twinning path along [11-2] (isf, esf, 3-plane twin)", "110": "full slip along [1-10]"}
STAGE_DUMPS = {1: "isf", 2: "esf", 3: "twin3"}  # relaxed configuration at the end of each stage of the 112 path
# Ni, weak-beam TEM of dissociated dislocations: C. B. Carter and S. M. Holmes, Phil. Mag. 35, 1161 (1977)
NI_ISF_MEASURED_MJ_M2 = 125.0
NI_ISF_BAND_MJ_M2 = 10.0  # half width of the band drawn on the figure: the spread of reported values, not an error bar


def check(study) -> None:
    s, src = study.settings, study.source
    if study.lattice != "fcc" or len(study.present_elements) != 1:
        raise PylmpError(f"{src}: workflow gsfe handles a pure fcc metal for now; set material.lattice: fcc and a "
                         "single-element composition (random alloys are planned)")
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


def plane_groups(construction: str, settings: dict) -> dict[str, str]:
    """LAMMPS groups `above<k>`: the planes above each cut that displace_atoms moves (the z boundary needs none)."""
    layers, per_plane = settings["layers"], faults.atoms_per_plane(tuple(settings["repeat"]))
    first = layers // 2 if construction == "slab" else 0
    return {f"above{k}": faults.plane_ids(per_plane, k, layers) for k in range(first, first + 3) if k > 0}


def tasks(study, potential) -> list[Task]:
    s = study.settings
    element = study.present_elements[0]
    repeat = tuple(s["repeat"])
    cell = faults.fcc111_cell(element, study.a, s["layers"], repeat)
    out = []
    for construction in CONSTRUCTIONS:
        for path, title in PATHS.items():
            variables = {"construction": construction, "path_title": title, "layers": s["layers"], "nx": repeat[0],
                         "per_plane": faults.atoms_per_plane(repeat), "vacuum_A": s["vacuum_A"],
                         "points": path_points(path, construction, s), "groups": plane_groups(construction, s)}
            out.append(Task(f"{construction}/{path}", "gsfe.lmp.j2", cell, potential, study.elements, variables))
    return out


def _peak(x: np.ndarray, y: np.ndarray) -> float:
    """Maximum of sampled points, refined by the parabola through the highest point and its two neighbours."""
    i = int(np.argmax(y))
    if i == 0 or i == len(y) - 1:
        return float(y[i])
    c2, c1, c0 = np.polyfit(x[i - 1:i + 2], y[i - 1:i + 2], 2)
    return float(c0 - c1 * c1 / (4 * c2)) if c2 < 0 else float(y[i])


def curve(study, construction: str, path: str, result: dict) -> dict:
    pts = path_points(path, construction, study.settings)
    a0 = result["a0_A"]
    e = np.array([result[f"E_{p['k']}_eV"] for p in pts])
    gamma = (e - result["E_ref_eV"]) / result["area_A2"] * EV_A2_TO_MJ_M2
    disp = np.array([p["disp_bp"] for p in pts])
    return {"disp_bp": disp.tolist(), "disp_A": (disp * faults.partial_burgers(a0)).tolist(), "gamma_mJ_m2": gamma.tolist(),
            "stage": [p["stage"] for p in pts]}


def fault_energies(c: dict) -> dict:
    """The named points of the 112 twinning path (stage ends and stage maxima)."""
    x, g, stage = np.array(c["disp_bp"]), np.array(c["gamma_mJ_m2"]), np.array(c["stage"])
    at = lambda v: float(g[np.argmin(abs(x - v))])
    first, second = (stage == 1), (stage == 2) | (x == 1.0)
    return {"usf": _peak(x[first], g[first]), "isf": at(1.0), "utf": _peak(x[second], g[second]),
            "esf": at(2.0), "tb": at(3.0) / 2}  # the 3-plane twin lamella holds two twin boundaries


def analyze(study, results) -> dict:
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
    return out


def rows(summary) -> list[dict]:
    out = []
    for name, res in summary.items():
        for key, c in res["curves"].items():
            construction, path = key.split("/")
            for x, xa, g, st in zip(c["disp_bp"], c["disp_A"], c["gamma_mJ_m2"], c["stage"]):
                out.append({"potential": name, "construction": construction, "path": path, "stage": st,
                            "disp_bp": x, "disp_A": xa, "gamma_mJ_m2": g})
    return out


def plot(summary, path) -> None:
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
