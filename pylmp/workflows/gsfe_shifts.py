"""GSFE building blocks shared by every kind of gsfe study: shift points, template variables, gamma, statistics.

A shift point is one faulted state of a gsfe.lmp.j2 task: which planes move (`moves`), the box tilt of the
periodic construction (`tilt`), in units of the relaxed cell's own a/sqrt(2) (x) and b_p = a/sqrt(6) (y).
"""
from __future__ import annotations

import numpy as np

from pylmp import faults

EV_A2_TO_MJ_M2 = 16021.766
CONSTRUCTIONS = ("periodic", "slab")


def fold(c: float, period: float) -> float:
    """Tilt is periodic in the cell length: fold it into [-L/2, L/2], where LAMMPS accepts it without a warning."""
    return c - period * round(c / period)


def shift_point(k: int, construction: str, cut: int, cx: float, cy: float, rect: tuple[int, int], title: str,
                dump: str | None = None) -> dict:
    """One rigid shift (cx a/sqrt(2) along x, cy b_p along y) of the planes above cut `cut` (0: the z boundary).

    Periodic: the box tilts by the shift and the planes above the cut move by it too, so the only faulted
    interface is the cut (for cut 0 the tilt alone). Slab: the planes above the cut move. rect: fcc rectangles."""
    move = [{"group": f"above{cut}", "cx": cx, "cy": cy}] if cut > 0 else []
    tilt = (fold(cx, rect[0]), fold(cy, 3 * rect[1])) if construction == "periodic" else (0.0, 0.0)
    return {"k": k, "moves": move, "tilt": tilt, "dump": dump, "title": title, "cx": float(cx), "cy": float(cy)}


def template_variables(study, construction: str, title: str, rect: tuple[int, int], points: list[dict], groups: dict,
               crystal: str = "fcc", box_mode: str = "iso") -> dict:
    s = study.settings
    return {"construction": construction, "path_title": title, "layers": s["layers"], "nx": rect[0], "ny": rect[1],
            "per_plane": faults.atoms_per_plane(rect), "vacuum_A": s["vacuum_A"], "points": points, "groups": groups,
            "crystal": crystal, "box_mode": box_mode}


def peak(x: np.ndarray, y: np.ndarray) -> float:
    """Maximum of sampled points, refined by the parabola through the highest point and its two neighbours."""
    i = int(np.argmax(y))
    if i == 0 or i == len(y) - 1:
        return float(y[i])
    c2, c1, c0 = np.polyfit(x[i - 1:i + 2], y[i - 1:i + 2], 2)
    return float(c0 - c1 * c1 / (4 * c2)) if c2 < 0 else float(y[i])


def gamma_of(result: dict, ks) -> np.ndarray:
    e = np.array([result[f"E_{k}_eV"] for k in ks])
    return (e - result["E_ref_eV"]) / result["area_A2"] * EV_A2_TO_MJ_M2


def stats(values) -> dict:
    """Mean, sample standard deviation, standard error of the mean and n."""
    v = np.asarray(values, dtype=float)
    std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"mean": float(v.mean()), "std": std, "se": std / np.sqrt(len(v)), "n": len(v)}
