"""Ni content scan of an fcc random alloy: a0, mixing energy and elastic constants vs Ni at.%.

Template: templates/elastic.lmp.j2 (relax + strains, as workflow 'elastic') for every alloy cell,
templates/relax.lmp.j2 for the pure-element references.

material.composition fixes the ratio of the other elements (e.g. {Ni: 60, Co: 20, Cr: 20} -> Co:Cr = 1:1);
settings.ni_percent lists the Ni at.% of each point. Each point is averaged over `realizations` random
arrangements (seeds material.seed + k; a pure element has one arrangement, so runs once). The mixing
(formation) energy of a cell uses its exact atom counts, not the nominal at.%:
    E_mix = E_alloy/atom - sum_i x_i E_i,
with E_i the energy per atom of pure element i in fcc at its own zero-pressure lattice parameter, same
potential (REFERENCE_STATE, also written to results.json). With `ordered: true` and a binary Ni-X composition
the ordered L1_2 Ni3X crystal (Ni 75 at.%, whether or not 75 is in ni_percent) is added as a separate point;
ternaries have no single L1_2 compound, so there `ordered` does nothing.
"""
from __future__ import annotations

import functools

import numpy as np

from pylmp import spec, structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import elastic

DEFAULTS = {"ni_percent": [100.0, 95.0, 90.0, 85.0, 80.0, 75.0], "realizations": 3, "ordered": True, "strain": 0.005}
REFERENCE_STATE = "pure elements in fcc at their own relaxed lattice parameter, same potential"
ELASTIC = ("C11_GPa", "C12_GPa", "C44_GPa", "C_prime_GPa", "B_GPa")
QUANTITIES = ("a0_A", "E_mix_eV_per_atom") + ELASTIC  # averaged over realizations (mean, std, n)


def others(study) -> dict[str, float]:
    """The non-Ni elements and their share of the non-Ni part (fractions summing to 1)."""
    rest = {el: pct for el, pct in study.composition.items() if el != "Ni" and pct > 0}
    total = sum(rest.values())
    return {el: pct / total for el, pct in rest.items()}


def check(study) -> None:
    s = study.settings
    if study.lattice != "fcc":
        raise PylmpError(f"{study.source}: workflow 'alloy_scan' builds fcc random alloys; set material.lattice: fcc")
    if "Ni" not in study.composition or not others(study):
        raise PylmpError(f"{study.source}: material.composition must hold Ni and at least one other element with at.% > 0, "
                         "e.g. {Ni: 75, Al: 25}")
    if not s["ni_percent"] or any(not 0 <= p <= 100 for p in s["ni_percent"]):
        raise PylmpError(f"{study.source}: settings.ni_percent must be a list of Ni at.% between 0 and 100, e.g. [100, 90, 80]")
    if len(set(s["ni_percent"])) != len(s["ni_percent"]):
        raise PylmpError(f"{study.source}: settings.ni_percent lists a value twice; give each Ni at.% once")
    if s["realizations"] < 1:
        raise PylmpError(f"{study.source}: settings.realizations must be at least 1 (random arrangements per point)")
    elastic.check_strain(study)


def composition_at(study, ni: float) -> dict[str, float]:
    """At.% of every element of the type map at `ni` at.% Ni, the others keeping their ratio."""
    share = others(study)
    return {el: ni if el == "Ni" else (100.0 - ni) * share.get(el, 0.0) for el in study.elements}


def start_a(study, composition: dict[str, float]) -> float:
    """Vegard's-law starting guess: material.a for Ni, ASE's fcc(-equivalent) value for the others; the cell relaxes."""
    a = {el: study.a if el == "Ni" else spec.default_lattice_parameter(el) for el in composition}
    return sum(pct / 100.0 * a[el] for el, pct in composition.items() if pct > 0)


def ordered_partner(study) -> str | None:
    """X of the L1_2 Ni3X point, or None when there is none (ordered: false, or not a binary)."""
    rest = list(others(study))
    return rest[0] if study.settings["ordered"] and len(rest) == 1 else None


def ordered_composition(study, partner: str) -> dict[str, float]:
    return {el: {"Ni": 75.0, partner: 25.0}.get(el, 0.0) for el in study.elements}


def point_name(ni: float) -> str:
    return f"Ni{ni:g}"


def n_realizations(study, ni: float) -> int:
    single = sum(1 for pct in composition_at(study, ni).values() if pct > 0) == 1
    return 1 if single else study.settings["realizations"]  # a pure element has one arrangement


def tasks(study, potential) -> list[Task]:
    strain, out = study.settings["strain"], []
    for ni in study.settings["ni_percent"]:
        comp = composition_at(study, ni)
        mode = structures.relax_mode(study.lattice, comp)  # iso for a pure element, else aniso
        for k in range(n_realizations(study, ni)):
            cell = structures.crystal("fcc", comp, start_a(study, comp), study.atoms, study.seed + k)
            out.append(elastic.elastic_task(f"{point_name(ni)}/r{k}", cell, potential, study.elements, mode, strain))
    partner = ordered_partner(study)
    if partner:
        comp = ordered_composition(study, partner)
        cell = structures.crystal("L12", comp, start_a(study, comp), study.atoms)
        out.append(elastic.elastic_task(f"L12_Ni3{partner}", cell, potential, study.elements, "iso", strain))
    for el in study.elements:  # one reference per element, built exactly like the pure end of the scan
        comp = {e: 100.0 if e == el else 0.0 for e in study.elements}
        cell = structures.crystal("fcc", comp, start_a(study, comp), study.atoms, study.seed)
        out.append(Task(f"ref_{el}", "relax.lmp.j2", cell, potential, study.elements, {"box_mode": "iso"}))
    return out


def cell_point(composition: dict[str, float], result: dict, refs: dict[str, float], lattice: str) -> dict:
    """a0, E_mix and elastic constants of one alloy cell, E_mix from its exact atom counts."""
    n = int(result["natoms"])
    counts = structures.exact_counts(composition, n)  # the counts crystal() placed in this cell
    c = elastic.constants(result, functools.partial(structures.lattice_parameter, lattice))
    e_ref = sum(counts[el] / n * refs[el] for el in counts)
    return {
        "Ni_at_pct": 100.0 * counts.get("Ni", 0) / n,
        "a0_A": c["a0_A"], "E0_eV_per_atom": c["E0_eV_per_atom"], "E_mix_eV_per_atom": c["E0_eV_per_atom"] - e_ref,
        **{k: c[k] for k in ELASTIC}, "C_asymmetry_GPa": c["C_asymmetry_GPa"],
    }


def analyze(study, results) -> dict:
    refs = {el: results[f"ref_{el}"]["E_eV"] / results[f"ref_{el}"]["natoms"] for el in study.elements}
    points = []
    for ni in study.settings["ni_percent"]:
        comp = composition_at(study, ni)
        cells = [{"seed": study.seed + k, **cell_point(comp, results[f"{point_name(ni)}/r{k}"], refs, "fcc")}
                 for k in range(n_realizations(study, ni))]
        stats = {}
        for q in QUANTITIES:
            values = np.array([cell[q] for cell in cells])
            stats[f"{q}_mean"] = float(values.mean())
            stats[f"{q}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0  # sample std over arrangements
        points.append({"ni_percent": ni, "Ni_at_pct_actual": cells[0]["Ni_at_pct"], "n": len(cells), **stats,
                       "realizations": cells})
    out = {
        "reference_state": REFERENCE_STATE,
        "reference_E_eV_per_atom": refs,
        "reference_a0_A": {el: structures.lattice_parameter("fcc", results[f"ref_{el}"]["vol_A3"] / results[f"ref_{el}"]["natoms"])
                           for el in study.elements},
        "composition_ratio": others(study),
        "points": sorted(points, key=lambda p: -p["ni_percent"]),
        "ordered": None,
    }
    # scalars for the terminal table (the full scan is in `points`, the CSV and the figure)
    out.update({f"E_mix_{point_name(p['ni_percent'])}_eV_per_atom": p["E_mix_eV_per_atom_mean"] for p in out["points"]})
    partner = ordered_partner(study)
    if partner:
        comp = ordered_composition(study, partner)
        out["ordered"] = {"structure": "L12", "formula": f"Ni3{partner}", "ni_percent": 75.0,
                          **cell_point(comp, results[f"L12_Ni3{partner}"], refs, "L12")}
        out.update({f"L12_{k}": out["ordered"][k] for k in ("a0_A", "E_mix_eV_per_atom", "C_prime_GPa")})
    return out


def rows(summary) -> list[dict]:
    out = []
    for name, res in summary.items():
        for p in res["points"]:
            out.append({"potential": name, "structure": "fcc random", "ni_percent": p["ni_percent"],
                        "Ni_at_pct_actual": p["Ni_at_pct_actual"], "n": p["n"],
                        **{k: p[k] for q in QUANTITIES for k in (f"{q}_mean", f"{q}_std")}})
        if res.get("ordered"):
            o = res["ordered"]
            out.append({"potential": name, "structure": f"L12 {o['formula']}", "ni_percent": o["ni_percent"],
                        "Ni_at_pct_actual": o["Ni_at_pct"], "n": 1,
                        **{k: v for q in QUANTITIES for k, v in ((f"{q}_mean", o[q]), (f"{q}_std", 0.0))}})
    return out


PANELS = (("a0_A", "lattice parameter a0 (A)", 1.0), ("E_mix_eV_per_atom", "mixing energy E_mix (meV/atom)", 1000.0),
          ("C_prime_GPa", "C' = (C11 - C12)/2 (GPa)", 1.0))


def plot(summary, path) -> None:
    """a0, E_mix and C' vs Ni at.%: mean +/- std over arrangements, each arrangement faint, L1_2 as a star."""
    fig, axes = plotting.figure(ncols=len(PANELS), width=4.5)
    colors = plotting.colors(summary)
    for name, res in summary.items():
        pts = res["points"]
        ni = [p["ni_percent"] for p in pts]
        for ax, (q, label, scale) in zip(axes, PANELS):
            ax.errorbar(ni, [scale * p[f"{q}_mean"] for p in pts], yerr=[scale * p[f"{q}_std"] for p in pts],
                        fmt="o-", color=colors[name], capsize=3, label=name)
            each = [(p["ni_percent"], scale * c[q]) for p in pts for c in p["realizations"]]
            ax.plot(*zip(*each), ".", color=colors[name], alpha=0.3)
            if res.get("ordered"):
                o = res["ordered"]
                ax.plot(o["ni_percent"], scale * o[q], "*", ms=13, mec="k", color=colors[name],
                        label=f"{name}: L1_2 {o['formula']}")
            ax.set_ylabel(label)
    for ax in axes:
        ax.set_xlabel("Ni (at.%)")
        ax.invert_xaxis()  # from pure Ni towards the solute-rich side
        ax.grid(alpha=0.3)
    axes[1].axhline(0.0, color="0.5", lw=0.8)
    axes[0].legend(fontsize=7)
    ratio = next(iter(summary.values()))["composition_ratio"]
    least = min(ratio.values())
    system = "-".join(["Ni", *ratio]) + (f" ({':'.join(ratio)} = {':'.join(f'{x / least:.3g}' for x in ratio.values())})" if len(ratio) > 1 else "")
    fig.suptitle(f"Effect of Ni content on structural stability: {system}, fcc random alloy", fontsize=10)
    plotting.save(fig, path)
