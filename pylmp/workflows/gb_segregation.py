"""Solute segregation energy per site near a grain boundary.   Template: templates/gb_segregation.lmp.j2
Theory note: docs/theory/grain_boundaries.md

Starts from the best (lowest-energy) relaxed structure of one boundary in a finished `gb` study of the host metal
(settings.gb_study: its output folder, relative to this study file), with the same potential. One task per
solute: each chosen site in turn becomes the solute (one atom: the dilute limit) and the atoms relax in the box of
the relaxed bicrystal.
    E_seg(i) = E(solute on site i) - E(solute on the reference site)
Reference: the host site nearest the middle of grain 1, half-way between the two boundaries (>= 10 A from both for
the default grain thickness): a bulk-like site in the same cell, so the host, the box and the other boundary cancel.
E_seg < 0: the solute prefers the boundary. The nearest site of the next atomic plane
is computed too (`E_seg_far_check_<X>_eV`, ~0 when the grains are thick enough). Sites: every host atom within max_distance_A of
the boundary plane z = zgb (sites: 0), or `sites` of them drawn with material.seed (reproducible).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers
from ase.io import read

from pylmp import potentials
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import gb

DEFAULTS = {"gb_study": "", "boundary": "S5_310", "solutes": ["Al"], "max_distance_A": 6.0, "sites": 0, "dumps": False}
REFERENCE = ("E_seg(i) = E(solute on site i) - E(solute on the host site nearest the middle of grain 1, half-way "
             "between the boundaries); one solute per cell, atoms relaxed in the box of the relaxed bicrystal")


def solutes(study) -> list[str]:
    return [str(x) for x in study.settings["solutes"]]


def type_map(study) -> list[str]:
    return study.elements + [x for x in solutes(study) if x not in study.elements]


def gb_folder(study) -> Path:
    return (study.source.parent / study.settings["gb_study"]).resolve()


def check(study) -> None:
    s, src = study.settings, study.source
    if len(study.present_elements) != 1 or study.lattice != "fcc":
        raise PylmpError(f"{src}: material must be the pure fcc host of the gb study, e.g. composition: {{Ni: 100}}; "
                         "list the solutes in settings.solutes")
    if not s["gb_study"]:
        raise PylmpError(f"{src}: settings.gb_study must name the output folder of a finished gb study (relative to this "
                         "file), e.g. gb_study: ../runs/ni_gb")
    if not isinstance(s["solutes"], list) or not s["solutes"] or any(str(x) not in atomic_numbers for x in s["solutes"]):
        raise PylmpError(f"{src}: settings.solutes must list element symbols, e.g. [Al, Co]")
    if study.present_elements[0] in solutes(study):
        raise PylmpError(f"{src}: settings.solutes lists the host {study.present_elements[0]}; list other elements")
    for name in study.potentials:
        potentials.get(name).check_elements(type_map(study))
    if s["max_distance_A"] <= 0 or s["sites"] < 0:
        raise PylmpError(f"{src}: settings.max_distance_A must be > 0 and sites >= 0 (0: every site within the distance)")


def boundary_cell(study, potential):
    """(relaxed best structure, its folder, signed distance of each atom from the boundary plane z = zgb, zgb)."""
    folder = gb.best_task(gb_folder(study), potential.name, study.settings["boundary"])
    r = json.loads((folder / "result.json").read_text())
    host = study.present_elements[0]
    atoms = read(folder / "gb_relaxed.data", format="lammps-data", atom_style="atomic", Z_of_type={1: atomic_numbers[host]},
                 units="metal")
    atoms.wrap()
    zgb = r["zgb_frac"] * atoms.cell.lengths()[2]
    return atoms, folder, atoms.positions[:, 2] - zgb, zgb


def choose_sites(study, atoms, distance, zgb) -> list[dict]:
    s = study.settings
    z = atoms.positions[:, 2]
    ref = int(np.argmin(np.abs(z - zgb / 2)))  # middle of grain 1
    other_plane = np.abs(z - z[ref]) > 0.5  # a second bulk-like site, one atomic plane off the reference
    far = int(np.flatnonzero(other_plane)[np.argmin(np.abs(z[other_plane] - zgb / 2))])
    near = np.flatnonzero(np.abs(distance) <= s["max_distance_A"])
    if s["sites"] and s["sites"] < len(near):
        near = np.sort(np.random.default_rng(study.seed).choice(near, s["sites"], replace=False))
    picks = [ref, far] + [int(i) for i in near]
    return [{"k": k, "id": i + 1, "distance_A": float(distance[i])} for k, i in enumerate(picks)]


def tasks(study, potential) -> list[Task]:
    atoms, folder, distance, zgb = boundary_cell(study, potential)
    sites = choose_sites(study, atoms, distance, zgb)
    tmap = type_map(study)
    title = f"{study.settings['boundary']} (best candidate {folder.name})"
    return [Task(f"{study.settings['boundary']}/{x}", "gb_segregation.lmp.j2", atoms, potential, tmap,
                 {"solute": x, "solute_type": tmap.index(x) + 1, "sites": sites, "title": title, "source": str(folder),
                  "dumps": study.settings["dumps"]})
            for x in solutes(study)]


def analyze(study, results) -> dict:
    out, per = {}, {}
    b = study.settings["boundary"]
    for x in solutes(study):
        r = results[f"{b}/{x}"]
        n = len([k for k in r if k.startswith("id_")])
        sites = [{"k": k, "id": int(r[f"id_{k}"]), "distance_A": r[f"d_{k}_A"]} for k in range(n)]
        e_ref = r["E_0_eV"]
        rows = [{"id": s["id"], "distance_A": s["distance_A"], "E_seg_eV": r[f"E_{s['k']}_eV"] - e_ref,
                 "E_seg_unrelaxed_eV": r[f"E_unrelaxed_{s['k']}_eV"] - r["E_unrelaxed_0_eV"]} for s in sites[2:]]
        e = np.array([row["E_seg_eV"] for row in rows])
        per[x] = {"reference_site_id": sites[0]["id"], "reference_distance_A": sites[0]["distance_A"],
                  "far_check_site_id": sites[1]["id"], "E_seg_far_check_eV": r["E_1_eV"] - e_ref, "sites": rows}
        out.update({f"E_seg_min_{x}_eV": float(e.min()), f"E_seg_mean_{x}_eV": float(e.mean()),
                    f"E_seg_far_check_{x}_eV": per[x]["E_seg_far_check_eV"], f"sites_{x}": len(rows)})
    out.update({"boundary": b, "seed": study.seed, "reference": REFERENCE, "solutes": per})
    return out


def rows(summary) -> list[dict]:
    return [{"potential": name, "boundary": res["boundary"], "solute": x, **row}
            for name, res in summary.items() for x, v in res["solutes"].items() for row in v["sites"]]


def plot(summary, path) -> None:
    """E_seg against the signed distance from the boundary plane, one colour per potential, one marker per solute."""
    fig, (ax,) = plotting.figure(width=6.0)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        for mk, (x, v) in zip("osD^v", res["solutes"].items()):
            d = [row["distance_A"] for row in v["sites"]]
            ax.plot(d, [row["E_seg_eV"] for row in v["sites"]], mk, color=colors[name], alpha=0.7, label=f"{name}: {x}")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.axvline(0.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("distance from the boundary plane (A)")
    ax.set_ylabel("E_seg (eV); reference: mid-grain site")
    ax.set_title(f"Segregation to {next(iter(summary.values()))['boundary']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    plotting.save(fig, path)
