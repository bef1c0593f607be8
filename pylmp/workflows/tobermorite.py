"""Tobermorite 11 A: lattice parameters of a published crystal with each potential, and its Si-O / Ca-O bonding.

One task per potential: the crystal of pylmp.tobermorite.build(settings.source) (Hamid 1981: Ca9 Si12 O40 H14;
Merlino 2001: Ca9 Si12 O44 H22; seeded by material.seed), atoms and the triclinic cell relaxed to zero stress
(box/relax tri) in cycles until the largest atom force is below settings.fmax_eV_A and every stress component within
settings.stress_bar, or settings.max_steps minimizer iterations in all. results.json says which (`converged`,
`relaxation`), so a capped run is never read as a minimum. a, b, c, alpha, beta, gamma, V and density are compared
with the source paper's cell, and the lengths, angles and V with the other paper's cell too (its composition
differs, so not its density). Si-O and Ca-O g(r) and the O-Si-O / Si-O-Si bond angles (OVITO) of the built and of
each relaxed crystal go to results.json and <task>/bonding_*.csv. Potentials without Ca, Si, O and H are refused.

A tobermorite-like crystal of the user's (material.structure: a CIF of tobermorite 14 A, jennite, a C-S-H model;
it must hold Ca, Si and O) is relaxed the same way; its own input cell takes the place of the source paper's.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write

from pylmp import tobermorite
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {"source": "hamid1981", "max_steps": 150, "cycle_steps": 100, "box_steps": 20, "fmax_eV_A": 0.03, "stress_bar": 500.0,
            "rdf_cutoff": 5.0, "rdf_bins": 250, "angle_bins": 90}
COMPARED = ("a", "b", "c", "alpha", "beta", "gamma", "V", "density")
# the published cells every relaxed cell is compared with: Hamid's ordered P2_1 cell, Merlino's Urals MDO2 cell
REFERENCES = ("hamid1981_monoclinic", "merlino2001_urals_mdo2")


OWN_STRUCTURE = True  # a C-S-H crystal of the user's in place of the built tobermorite


def crystal(study) -> Atoms:
    if study.structure is not None:
        return study.structure.copy()
    return tobermorite.build(study.settings["source"], study.seed)


def check(study) -> None:
    s = study.settings
    if s["source"] not in tobermorite.SOURCES:
        raise PylmpError(f"{study.source}: settings.source '{s['source']}' unknown; choose one of {', '.join(tobermorite.SOURCES)}")
    if min(s["max_steps"], s["cycle_steps"], s["box_steps"]) < 1 or not 2.0 < s["rdf_cutoff"] <= 10.0:
        raise PylmpError(f"{study.source}: settings.max_steps, cycle_steps and box_steps must be at least 1 and rdf_cutoff 2-10 A")
    if s["fmax_eV_A"] <= 0 or s["stress_bar"] <= 0:
        raise PylmpError(f"{study.source}: settings.fmax_eV_A and stress_bar (convergence targets) must be positive")
    if study.structure is not None:
        missing = [el for el in ("Ca", "Si", "O") if el not in study.present_elements]
        if missing:
            raise PylmpError(f"{study.source}: workflow 'tobermorite' analyses Si-O and Ca-O bonding; material.structure "
                             f"holds no {', '.join(missing)}")
        return
    built = tobermorite.describe(crystal(study))["composition"]
    total = sum(built.values())
    wanted = {el: pct for el, pct in study.composition.items() if pct > 0}
    if set(wanted) != set(built) or any(abs(100 * built[el] / total - pct) > 0.01 for el, pct in wanted.items()):
        pct = ", ".join(f"{el}: {100 * n / total:.4f}" for el, n in built.items())
        raise PylmpError(f"{study.source}: material.composition must be the crystal's, {{{pct}}} (at.%)")


def tasks(study, potential) -> list[Task]:
    s = study.settings
    return [Task("relax", "tobermorite.lmp.j2", crystal(study), potential, study.elements,
                 {"max_steps": s["max_steps"], "cycle_steps": s["cycle_steps"], "box_steps": s["box_steps"], "fmax": s["fmax_eV_A"], "stress": s["stress_bar"]})]


def cell_numbers(cell: np.ndarray, mass_amu: float) -> dict:
    cellpar = Atoms(cell=cell, pbc=True).cell.cellpar()
    volume = float(abs(np.linalg.det(cell)))
    return {"a": cellpar[0], "b": cellpar[1], "c": cellpar[2], "alpha": cellpar[3], "beta": cellpar[4], "gamma": cellpar[5],
            "V": volume, "density": mass_amu / tobermorite.AVOGADRO / (volume * 1e-24)}


def _bonding(study, path: Path, csv_path: Path) -> dict:
    s = study.settings
    out = tobermorite.bonding(path, s["rdf_cutoff"], s["rdf_bins"], s["angle_bins"])
    with open(csv_path, "w", newline="") as fh:  # one file per structure: g(r) rows, then angle rows
        w = csv.writer(fh)
        w.writerow(["r_A", "g_Si-O", "g_Ca-O"])
        w.writerows(zip(out["r_A"], out["g_Si-O"], out["g_Ca-O"]))
        w.writerow(["angle_deg", "count_O-Si-O", "count_Si-O-Si"])
        w.writerows(zip(out["angle_deg"], out["angles_O-Si-O"], out["angles_Si-O-Si"]))
    return out


UNIT = {"V": "A3", "density": "g_cm3", "alpha": "deg", "beta": "deg", "gamma": "deg"}
STRESS = ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")


def _key(q: str) -> str:
    return f"{q}_{UNIT.get(q, 'A')}"


def relaxation(r: dict, s: dict) -> dict:
    """Whether a relax task converged (force and stress targets) or stopped at its iteration cap, from result.json."""
    stress = max(abs(r[f"{c}_bar"]) for c in STRESS)
    converged = r["fmax_eV_A"] < s["fmax_eV_A"] and stress < s["stress_bar"]
    why = "stopped at the iteration cap" if r["steps"] >= s["max_steps"] else "stopped: a cycle made no iteration"
    text = (f"{'converged' if converged else f'NOT converged ({why})'} after {int(r['steps'])} "
            f"iterations: fmax {r['fmax_eV_A']:.3f} eV/A (target {s['fmax_eV_A']:g}), largest stress component "
            f"{stress:.0f} bar (target {s['stress_bar']:g})")
    return {"converged": bool(converged), "relaxation": text, "stress_max_bar": stress}


def analyze(study, results) -> dict:
    r, s = results["relax"], study.settings
    folder = Path(r["_folder"])
    built = crystal(study)
    write(folder / "built.extxyz", built, format="extxyz")
    mass = float(built.get_masses().sum())
    # LAMMPS's restricted triclinic box: a = (lx, 0, 0), b = (xy, ly, 0), c = (xz, yz, lz)
    cell = np.array([[r["lx_A"], 0, 0], [r["xy_A"], r["ly_A"], 0], [r["xz_A"], r["yz_A"], r["lz_A"]]])
    relaxed = cell_numbers(cell, mass)
    papers = {name: cell_numbers(tobermorite.published(name).cell(), mass) for name in REFERENCES}
    if study.structure is None:
        own, source = tobermorite.SOURCES[s["source"]][1], tobermorite.published(tobermorite.SOURCES[s["source"]][1]).source
    else:  # the user's input cell is the reference; the tobermorite papers stay beside it
        own, source = "input structure", "material.structure (the input cell)"
        papers[own] = cell_numbers(built.cell[:], mass)
    others = {name: {_key(q): float(100 * (relaxed[q] / paper[q] - 1)) for q in COMPARED if q != "density"}
              for name, paper in papers.items() if name != own}
    return {
        **{_key(q): float(v) for q, v in relaxed.items()},
        "deviation_pct": {_key(q): float(100 * (relaxed[q] / papers[own][q] - 1)) for q in COMPARED},
        "deviation_vs_pct": others,
        "published": {_key(q): float(v) for q, v in papers[own].items()},
        **relaxation(r, s),
        "E_eV_per_atom": r["E_eV"] / r["natoms"], "press_bar": r["press_bar"], "fmax_eV_A": r["fmax_eV_A"],
        "stress_bar": {c: r[f"{c}_bar"] for c in STRESS}, "steps": int(r["steps"]),
        "bonding": {"built": _bonding(study, folder / "built.extxyz", folder / "bonding_built.csv"),
                    "relaxed": _bonding(study, folder / "relaxed.dump", folder / "bonding_relaxed.csv")},
        "reference_cell": own, "source": source,
    }


def rows(summary) -> list[dict]:
    first = next(iter(summary.values()))
    out = [{"structure": "published", **first["published"]}]
    for name, res in summary.items():
        out.append({"structure": name, **{k: res[k] for k in first["published"]}, "converged": res["converged"],
                    "fmax_eV_A": res["fmax_eV_A"], "stress_max_bar": res["stress_max_bar"], "steps": res["steps"],
                    **{f"dev_{k}_pct": v for k, v in res["deviation_pct"].items()}})
    return out


def plot(summary, path) -> None:
    """Left: a, b, c, alpha, beta, gamma, V per potential as % of the reference cell (the source paper's, or the user's input
    cell), the experimental cells as black markers;
    hatched bars: relaxation not converged. Middle: Si-O and Ca-O g(r). Right: O-Si-O and Si-O-Si angles.
    Dashed black: the built (unrelaxed) crystal; colours: relaxed per potential."""
    fig, (ax_bar, ax_g, ax_ang) = plotting.figure(ncols=3)
    colors = plotting.colors(summary)
    labels = ["a", "b", "c", "alpha", "beta", "gamma", "V"]
    first = next(iter(summary.values()))
    ref = {q: first["published"][_key(q)] for q in labels}  # the source paper's cell, or the user's input cell
    pct = lambda cell: [100 * (cell[q] / ref[q] - 1) for q in labels]
    width = 0.8 / len(summary)
    for k, (name, res) in enumerate(summary.items()):
        x = np.arange(len(labels)) + (k - (len(summary) - 1) / 2) * width
        mine = {q: res[_key(q)] for q in labels}
        ax_bar.bar(x, pct(mine), width, color=colors[name], hatch=None if res["converged"] else "//",
                   label=name + ("" if res["converged"] else " (not converged)"))
    for name, marker in zip(REFERENCES, ("o", "x")):
        ax_bar.plot(np.arange(len(labels)), pct(cell_numbers(tobermorite.published(name).cell(), 1.0)), marker,
                    color="k", ls="none", label=name)
    ax_bar.set_xticks(np.arange(len(labels)), labels)
    ax_bar.axhline(0, color="k", lw=0.8)
    ax_bar.set_ylabel(f"relative to {first.get('reference_cell', REFERENCES[0])} (%)")
    ax_bar.set_title("Lattice parameters")
    built = next(iter(summary.values()))["bonding"]["built"]
    for res, color, style, label in [(built, "k", "--", "built")] + [(v["bonding"]["relaxed"], colors[n], "-", n) for n, v in summary.items()]:
        ax_g.plot(res["r_A"], res["g_Si-O"], style, color=color, lw=1, label=f"Si-O {label}")
        ax_g.plot(res["r_A"], np.array(res["g_Ca-O"]) + 20, style, color=color, lw=1, alpha=0.6)
        ax_ang.plot(res["angle_deg"], res["angles_O-Si-O"], style, color=color, lw=1, label=label)
        ax_ang.plot(res["angle_deg"], res["angles_Si-O-Si"], style, color=color, lw=1, alpha=0.6)
    ax_g.set_xlim(1.2, 3.5)
    ax_g.set_xlabel("r (A)")
    ax_g.set_ylabel("g(r): Si-O; Ca-O shifted by +20")
    ax_g.set_title("Partial RDF")
    ax_ang.set_xlabel("angle (deg): O-Si-O ~109, Si-O-Si ~140")
    ax_ang.set_ylabel("bond angles per bin")
    ax_ang.set_title("Bond angles")
    for ax in (ax_bar, ax_g, ax_ang):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plotting.save(fig, path)
