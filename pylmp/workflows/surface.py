"""Surface energies of low-index fcc faces from slabs with vacuum.   Template: templates/surface.lmp.j2

One task per (face, thickness): ASE builds the cell (ase.build.fcc111/fcc100/fcc110, periodic along the
normal z); LAMMPS relaxes it to zero pressure as a bulk crystal (E_bulk), opens a vacuum gap along z and
relaxes every atom of the slab (E_slab). With the same atoms on both sides, no chemical potential enters:
    gamma = (E_slab - E_bulk) / (2 A)
A random alloy slab is compared with its own arrangement closed along z (segregation is not relaxed).
Two (or more) thicknesses per face show the convergence; the thickest slab gives the reported value.
"""
from __future__ import annotations

import numpy as np
from ase.build import fcc100, fcc110, fcc111

from pylmp import structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {"faces": ["111", "100", "110"], "layers": [12, 18], "repeat": [2, 2], "vacuum_A": 10.0, "dumps": True}
BUILDERS = {"111": fcc111, "100": fcc100, "110": fcc110}
EV_A2_TO_MJ_M2 = 16021.766


def check(study) -> None:
    s, src = study.settings, study.source
    s["faces"] = [str(f) for f in (s["faces"] if isinstance(s["faces"], list) else [s["faces"]])]
    if study.lattice != "fcc":
        raise PylmpError(f"{src}: workflow surface builds fcc slabs; set material.lattice: fcc")
    for face in s["faces"]:
        if face not in BUILDERS:
            raise PylmpError(f"{src}: settings.faces: unknown face '{face}'; choose from {', '.join(BUILDERS)}")
    if not s["layers"] or any(n < 6 or n % 6 for n in s["layers"]):
        raise PylmpError(f"{src}: settings.layers = {s['layers']}; use multiples of 6, at least 6 (a slab periodic along its "
                         "normal must hold whole ABC (111) and AB (100), (110) stacking periods)")
    if len(s["repeat"]) != 2 or min(s["repeat"]) < 1 or s["repeat"][1] % 2:
        raise PylmpError(f"{src}: settings.repeat must be [nx, ny] with ny even (the rectangular (111) cell), got {s['repeat']}")
    if s["vacuum_A"] < 6.0:
        raise PylmpError(f"{src}: settings.vacuum_A = {s['vacuum_A']}; use at least 6 (A on each side, beyond the cutoff)")


def slab_cell(study, face: str, layers: int):
    """The slab's atoms in a cell periodic along z (bulk stacking), from ASE's surface builders."""
    nx, ny = study.settings["repeat"]
    kw = {"orthogonal": True} if face == "111" else {}
    atoms = BUILDERS[face](study.present_elements[0], (nx, ny, layers), a=study.a, periodic=True, **kw)
    # half a layer off z = 0: an atom on the boundary can cross it during the bulk relaxation (float32 models) and
    # end up on top of the slab once the gap opens (SevenNet-0 (111): +1090 mJ/m2 from one such atom)
    atoms.positions[:, 2] += atoms.cell[2, 2] / (2 * layers)
    atoms.wrap()
    if len(study.present_elements) > 1:
        atoms = structures.randomize(atoms, study.composition, study.seed)
    return atoms


def tasks(study, potential) -> list[Task]:
    s = study.settings
    out = []
    for face in s["faces"]:
        for layers in s["layers"]:
            atoms = slab_cell(study, face, layers)
            out.append(Task(f"{face}/L{layers}", "surface.lmp.j2", atoms, potential, study.elements,
                            {"face": face, "layers": layers, "per_layer": len(atoms) // layers, "vacuum_A": s["vacuum_A"],
                             "box_mode": structures.relax_mode(study.lattice, study.composition), "dumps": s["dumps"]}))
    return out


def analyze(study, results) -> dict:
    out, table = {}, []
    for face in study.settings["faces"]:
        for layers in study.settings["layers"]:
            r = results[f"{face}/L{layers}"]
            gamma = lambda e: (e - r["E_bulk_eV"]) / (2 * r["area_A2"]) * EV_A2_TO_MJ_M2
            table.append({"face": face, "layers": layers, "natoms": int(r["natoms"]), "thickness_A": r["lz_bulk_A"],
                          "area_A2": r["area_A2"], "E_surf_mJ_m2": gamma(r["E_slab_eV"]),
                          "E_surf_unrelaxed_mJ_m2": gamma(r["E_unrelaxed_eV"]), "E_bulk_per_atom_eV": r["E_bulk_eV"] / r["natoms"]})
        mine = [row for row in table if row["face"] == face]
        thick, thin = mine[-1], mine[0]
        out[f"E_surf_{face}_mJ_m2"] = thick["E_surf_mJ_m2"]
        out[f"E_surf_{face}_unrelaxed_mJ_m2"] = thick["E_surf_unrelaxed_mJ_m2"]
        out[f"E_surf_{face}_thickness_change_pct"] = 100 * (thin["E_surf_mJ_m2"] / thick["E_surf_mJ_m2"] - 1)
    first = table[0]
    out.update({"a0_A": structures.lattice_parameter("fcc", first["area_A2"] * first["thickness_A"] / first["natoms"]),
                "E_bulk_per_atom_eV": first["E_bulk_per_atom_eV"],
                "method": "gamma = (E_slab - E_bulk) / 2A, the same atoms periodic along z (bulk, zero pressure) and "
                          "with vacuum (all atoms relaxed, in-plane box of the bulk)",
                "slabs": table})
    return out


def rows(summary) -> list[dict]:
    return [{"potential": name, **row} for name, res in summary.items() for row in res["slabs"]]


def plot(summary, path) -> None:
    """Bars: relaxed surface energy per face (thickest slab), one colour per potential; dots: thinner slabs."""
    colors = plotting.colors(summary)
    faces = list(dict.fromkeys(row["face"] for res in summary.values() for row in res["slabs"]))
    fig, (ax,) = plotting.figure(width=max(5.0, 1.2 * len(faces) + 2))
    width = 0.8 / len(summary)
    for i, (name, res) in enumerate(summary.items()):
        x = np.arange(len(faces)) - 0.4 + width * (i + 0.5)
        ax.bar(x, [res[f"E_surf_{f}_mJ_m2"] for f in faces], width, color=colors[name], label=name)
        for j, face in enumerate(faces):
            thin = [row["E_surf_mJ_m2"] for row in res["slabs"] if row["face"] == face][:-1]
            ax.plot([x[j]] * len(thin), thin, "k.", ms=4)
    ax.set_xticks(range(len(faces)), [f"({f})" for f in faces])
    ax.set_ylabel("relaxed surface energy (mJ/m$^2$)")
    ax.set_title("Surface energy (bars: thickest slab, dots: thinner)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    plotting.save(fig, path)
