"""Solute segregation to a grain boundary at temperature, by hybrid MC/MD.   Template: templates/ordering.lmp.j2
Theory note: docs/theory/ordering.md (segregation section)

Starts, like gb_segregation, from the best relaxed structure of one boundary in a finished `gb` study of the host
(settings.gb_study, boundary; same potential): its sites are filled at random with material.composition (a dilute
solid solution, e.g. {Ni: 95, Al: 5}; host first), then one task per temperature runs the ordering workflow's
hybrid MC/MD (NPT at zero pressure, swaps of host and solute atoms; the cell holds both periodic boundaries, at
fractional z = 0 and z = zgb_frac). Per production frame: every atom's distance from the nearer boundary plane
(fractional z times the frame's box length), the solute fraction in `bin_A` bins of that distance, and the excess
    Gamma = [N_X(d < width_A) - c_bulk N(d < width_A)] / (2 A)     (atoms per nm^2 of one boundary)
with c_bulk the solute fraction beyond bulk_from_A. Gamma > 0: the solute segregates. With settings.seg_study (a
finished gb_segregation study of the same boundary and solute) the 0 K E_seg is read beside it and the signs compared
(E_seg < 0 means segregation).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase import Atoms

from pylmp import structures
from pylmp.analysis import ordering as order, plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import gb_segregation, ordering

DEFAULTS = {**{k: v for k, v in ordering.DEFAULTS.items() if k not in ("ni_percent", "start", "md")},
            "temperatures": [800.0], "gb_study": "", "boundary": "S5_310", "seg_study": "",
            "bin_A": 1.0, "width_A": 3.0, "bulk_from_A": 7.0}


def host_solute(study) -> tuple[str, str]:
    return study.present_elements[0], study.present_elements[1]


def check(study) -> None:
    s, src = study.settings, study.source
    if len(study.present_elements) != 2 or study.composition[study.present_elements[0]] <= 50:
        raise PylmpError(f"{src}: material.composition must be a dilute binary with the host first, e.g. {{Ni: 95, Al: 5}}")
    if not s["gb_study"]:
        raise PylmpError(f"{src}: settings.gb_study must name the output folder of a finished gb study of the host "
                         "(relative to this file), e.g. gb_study: ../runs/ni_gb_al")
    if not 0 < s["bin_A"] < s["width_A"] < s["bulk_from_A"]:
        raise PylmpError(f"{src}: settings need 0 < bin_A < width_A < bulk_from_A (A from the boundary plane)")
    ordering.check_sampling(s, src)


def settings(study) -> dict:
    return {**study.settings, "md": True}


def tasks(study, potential) -> list[Task]:
    atoms, _, _, _ = gb_segregation.boundary_cell(study, potential)
    # a bare copy: the data file's per-atom type and mass arrays would override the new symbols in ASE's writer
    bare = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
    cell = structures.randomize(bare, study.composition, study.seed)
    host, x = host_solute(study)
    common = ordering.variables(settings(study), len(cell), study.elements, [f"{host}_{x}"], study.seed)
    return [Task(f"{study.settings['boundary']}/T{t:g}K", ordering.TEMPLATE, cell, potential, study.elements,
                 {**common, "temperature": t}) for t in study.settings["temperatures"]]


def profile(study, result: dict, zgb_frac: float) -> dict:
    """Solute fraction vs distance from the nearer boundary plane and the excess, over the production frames."""
    s, (_, x) = study.settings, host_solute(study)
    folder = Path(result["_folder"])
    frames = []  # (distance of every atom from the nearer boundary plane, solute mask, boundary area) per frame
    for step, _, cell, _, scaled, symbols in order.read_frames(folder / "dump.ordering.lammpstrj"):
        if step > 0:
            z = scaled[:, 2]
            d = np.min([z, 1 - z, np.abs(z - zgb_frac)], axis=0) * np.linalg.norm(cell[2])
            frames.append((d, np.asarray(symbols) == x, np.linalg.norm(np.cross(cell[0], cell[1]))))
    edges = np.arange(0.0, max(f[0].max() for f in frames) + s["bin_A"], s["bin_A"])
    n_all, n_x, gamma, c_far = np.zeros(len(edges) - 1), np.zeros(len(edges) - 1), [], []
    for d, is_x, area in frames:
        n_all += np.histogram(d, edges)[0]
        n_x += np.histogram(d[is_x], edges)[0]
        far, near = d >= s["bulk_from_A"], d < s["width_A"]
        c = is_x[far].mean()
        gamma.append((is_x[near].sum() - c * near.sum()) / (2 * area) * 100.0)  # per nm^2 of one boundary
        c_far.append(c)
    mean, se = order.block_average(gamma, s["blocks"])
    c_bulk, c_bulk_se = order.block_average(c_far, s["blocks"])
    conc = [float(k / n) if n else None for k, n in zip(n_x, n_all)]  # None: an empty bin
    return {"excess_per_nm2": mean, "excess_se_per_nm2": se, "c_bulk": c_bulk, "c_bulk_se": c_bulk_se,
            "frames": len(gamma), "d_A": (0.5 * (edges[1:] + edges[:-1])).tolist(), "c_profile": conc,
            "atoms_per_bin": (n_all / max(1, len(gamma))).tolist()}


def zero_kelvin(study, potential: str, x: str) -> dict:
    """The 0 K E_seg of a finished gb_segregation study (settings.seg_study), or {} when none is named."""
    if not study.settings["seg_study"]:
        return {}
    path = (study.source.parent / study.settings["seg_study"]).resolve() / "results.json"
    try:
        res = json.loads(path.read_text())[potential]
        return {"E_seg_min_eV": res[f"E_seg_min_{x}_eV"], "E_seg_mean_eV": res[f"E_seg_mean_{x}_eV"], "seg_study": str(path.parent)}
    except (OSError, ValueError, KeyError):
        raise RuntimeError(f"{path} holds no E_seg of {x} for {potential}: run that gb_segregation study first") from None


def analyze(study, results) -> dict:
    s, (host, x) = study.settings, host_solute(study)
    name = Path(next(iter(results.values()))["_folder"]).parts[-3]  # <out>/<potential>/<boundary>/T<T>K
    gb_res = json.loads((gb_segregation.gb_folder(study) / "results.json").read_text())[name]
    entry = next(b for b in gb_res["boundaries"] if b["name"] == s["boundary"])
    zgb_frac = json.loads((gb_segregation.gb_folder(study) / entry["best_task"] / "result.json").read_text())["zgb_frac"]
    per_t, ref = [], zero_kelvin(study, name, x)
    for t in sorted(s["temperatures"]):
        r = results[f"{s['boundary']}/T{t:g}K"]
        p = profile(study, r, zgb_frac)
        tried = r[f"attempts_{host}_{x}"]
        p.update({"T_set_K": t, "T_mean_K": r["T_mean_K"], "acceptance": r[f"accepted_{host}_{x}"] / tried if tried else None})
        if ref:
            p["sign_agrees_with_E_seg"] = bool((p["excess_per_nm2"] > 0) == (ref["E_seg_min_eV"] < 0))
        per_t.append(p)
    out = {"boundary": s["boundary"], "solute": x, "host": host, "c_nominal": study.composition[x] / 100.0,
           "natoms": int(next(iter(results.values()))["natoms"]), "width_A": s["width_A"], "bulk_from_A": s["bulk_from_A"],
           "per_T": per_t, **({"zero_kelvin": ref} if ref else {})}
    for p in per_t:
        out[f"excess_{x}_{p['T_set_K']:g}K_per_nm2"] = p["excess_per_nm2"]
    return out


def rows(summary) -> list[dict]:
    return [{"potential": name, "boundary": res["boundary"], "solute": res["solute"], "T_set_K": p["T_set_K"],
             "T_mean_K": p["T_mean_K"], "excess_per_nm2": p["excess_per_nm2"], "excess_se_per_nm2": p["excess_se_per_nm2"],
             "c_bulk": p["c_bulk"], "acceptance": p["acceptance"], "frames": p["frames"],
             "E_seg_min_0K_eV": res.get("zero_kelvin", {}).get("E_seg_min_eV", "")}
            for name, res in summary.items() for p in res["per_T"]]


def plot(summary, path) -> None:
    """Left: solute fraction vs distance from the boundary plane (dotted: the bulk fraction). Right: excess vs T."""
    fig, (ax_c, ax_g) = plotting.figure(ncols=2)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        for ls, p in zip(("-", "--", ":", "-."), res["per_T"]):
            ax_c.plot(p["d_A"], p["c_profile"], "o" + ls, color=colors[name], ms=4, label=f"{name} {p['T_set_K']:g} K")
            ax_c.axhline(p["c_bulk"], color=colors[name], ls=":", lw=0.8)
        t = [p["T_set_K"] for p in res["per_T"]]
        ax_g.errorbar(t, [p["excess_per_nm2"] for p in res["per_T"]], yerr=[p["excess_se_per_nm2"] or 0 for p in res["per_T"]],
                      fmt="o-", color=colors[name], capsize=3, label=name)
    ax_c.set(xlabel="distance from the nearer boundary plane (A)", ylabel=f"{res['solute']} fraction",
             title=f"{res['solute']} at {res['boundary']}")
    ax_g.axhline(0, color="k", lw=0.8)
    ax_g.set(xlabel="T (K)", ylabel=f"excess {res['solute']} (atoms/nm$^2$ per boundary)", title="Boundary excess")
    for ax in (ax_c, ax_g):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plotting.save(fig, path)
