"""Relaxed vacancy formation energy, per removed species.   Template: templates/point_defects.lmp.j2

One task per cell (per realization of a random alloy): the perfect supercell is relaxed to zero pressure
(E_perfect), then each chosen site is removed in turn from that relaxed cell and the atoms are relaxed at
fixed box: the constant-volume relaxed vacancy, the standard definition (the volume relaxation around
one vacancy is O(1/N) in the energy and vanishes for a large cell).

    E_f(X) = E_vac - E_perfect + mu_X

Chemical potential convention: mu_X is the energy per atom of pure X in the fcc crystal relaxed to zero
pressure with the same potential (a small `mu/X` task per element; fcc even for hcp Co or bcc Cr, so for
those it is a reference state, not the ground state). For a pure fcc crystal mu_X = E_perfect/N, and the
formula reduces to E_f = E_vac - (N-1)/N E_perfect, reported alongside as a check.
The unrelaxed value (`run 0` right after the deletion) gives the relaxation energy for free.
"""
from __future__ import annotations

import numpy as np

from pylmp import spec, structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

# sites_per_species 0 = auto: 1 where all sites of a species are equivalent (pure, ordered L12), 3 in a random alloy
OWN_STRUCTURE = True  # material.structure (a user's crystal file or ASE Atoms) replaces the built lattice
DEFAULTS = {"sites_per_species": 0, "realizations": 1, "dumps": True}
MU_CELL_ATOMS = 32  # 2x2x2 fcc cubes: a perfect crystal needs no more, its periodic images are exact
CONVENTION = "mu_X = energy per atom of pure fcc X relaxed to zero pressure with the same potential"
METHOD = "vacancy relaxed at the fixed box of the zero-pressure perfect cell (constant volume); E_f = E_vac - E_perfect + mu_X"


def random_alloy(study) -> bool:
    return study.structure is None and study.lattice != "L12" and len(study.present_elements) > 1


def check(study) -> None:
    s = study.settings
    if s["sites_per_species"] < 0:
        raise PylmpError(f"{study.source}: settings.sites_per_species must be 0 (auto) or a positive count of sites per species")
    if s["realizations"] < 1:
        raise PylmpError(f"{study.source}: settings.realizations must be at least 1")
    if s["realizations"] > 1 and not random_alloy(study):
        raise PylmpError(f"{study.source}: settings.realizations > 1 only makes sense for a random alloy; set it to 1 "
                         f"(a {study.lattice} {'-'.join(study.present_elements)} cell is the same for every seed)")
    if study.atoms < 32:
        raise PylmpError(f"{study.source}: material.atoms = {study.atoms} is too small for a vacancy (it would see its own "
                         "periodic images); use 108 or more")


def sites_per_species(study) -> int:
    if study.settings["sites_per_species"]:
        return study.settings["sites_per_species"]
    if study.structure is not None:  # 1 where symmetry makes every site of a species equivalent
        return 1 if max(structures.site_classes_per_species(study.structure).values()) == 1 else 3
    return 3 if random_alloy(study) else 1


def cell(study, k: int):
    """Realization k: the cell and the seed that placed its atoms and picks its vacancy sites."""
    seed = study.seed + k
    return structures.study_cell(study, seed=seed), seed


def choose_sites(atoms, elements: list[str], n: int, seed: int) -> list[dict]:
    """n atom ids (LAMMPS ids = ASE index + 1) per species, in type-map order, drawn reproducibly from the seed."""
    rng = np.random.default_rng(seed)
    symbols = np.array(atoms.get_chemical_symbols())
    ids = []
    for el in elements:
        ids += sorted(int(i) + 1 for i in rng.choice(np.flatnonzero(symbols == el), min(n, (symbols == el).sum()), replace=False))
    return [{"k": k, "id": i, "species": str(symbols[i - 1])} for k, i in enumerate(ids, 1)]


def mu_tasks(elements, potential, type_elements) -> list[Task]:
    """Chemical-potential references: pure fcc X relaxed to zero pressure, one `mu/X` task per element."""
    return [Task(f"mu/{el}", "relax.lmp.j2", structures.crystal("fcc", {el: 100.0}, spec.default_lattice_parameter(el), MU_CELL_ATOMS),
                 potential, type_elements, {"box_mode": "iso"}) for el in elements]


def chemical_potentials(results, elements) -> dict[str, float]:
    return {el: results[f"mu/{el}"]["E_eV"] / results[f"mu/{el}"]["natoms"] for el in elements}


def tasks(study, potential) -> list[Task]:
    out = []
    for k in range(study.settings["realizations"]):
        atoms, seed = cell(study, k)
        sites = choose_sites(atoms, study.present_elements, sites_per_species(study), seed)
        defects = [{"k": s["k"], "title": f"remove atom {s['id']} ({s['species']})", "delete": [s["id"]], "retype": [], "add": [],
                    "dump": f"vacancy_{s['k']}_id{s['id']}.dump"} for s in sites]
        out.append(Task(f"vacancy/r{k}", "point_defects.lmp.j2", atoms, potential, study.elements,
                        {"box_mode": structures.study_relax_mode(study), "defects": defects, "dumps": study.settings["dumps"]}))
    return out + mu_tasks(study.present_elements, potential, study.elements)


def _stats(values) -> dict:
    v = np.array(values)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": len(v)}


def analyze(study, results) -> dict:
    mu = chemical_potentials(results, study.present_elements)
    sites = []
    for k in range(study.settings["realizations"]):
        res = results[f"vacancy/r{k}"]
        atoms, seed = cell(study, k)
        for site in choose_sites(atoms, study.present_elements, sites_per_species(study), seed):
            j, site_id, el = site["k"], site["id"], site["species"]
            e_f = res[f"E_def_{j}_eV"] - res["E_perfect_eV"] + mu[el]
            e_unrelaxed = res[f"E_unrelaxed_{j}_eV"] - res["E_perfect_eV"] + mu[el]
            sites.append({"realization": k, "seed": seed, "id": site_id, "species": el, "natoms": int(res["natoms"]),
                          "E_f_eV": e_f, "E_f_unrelaxed_eV": e_unrelaxed, "E_relax_eV": e_unrelaxed - e_f,
                          "E_f_pure_formula_eV": res[f"E_def_{j}_eV"] - (res["natoms"] - 1) / res["natoms"] * res["E_perfect_eV"]})
    first = results["vacancy/r0"]
    out = {
        "E_vac_f_eV": _stats([s["E_f_eV"] for s in sites])["mean"],
        "E_vac_f_unrelaxed_eV": _stats([s["E_f_unrelaxed_eV"] for s in sites])["mean"],
        "E_vac_relax_eV": _stats([s["E_relax_eV"] for s in sites])["mean"],
    }
    if len(mu) == 1:  # second route, pure crystal only: no chemical potential needed
        out["E_vac_f_pure_formula_eV"] = _stats([s["E_f_pure_formula_eV"] for s in sites])["mean"]
    for el in dict.fromkeys(s["species"] for s in sites):  # an element too dilute to own an atom has no site
        st = _stats([s["E_f_eV"] for s in sites if s["species"] == el])
        out.update({f"E_vac_f_{el}_eV": st["mean"], f"E_vac_f_{el}_std_eV": st["std"], f"E_vac_f_{el}_n": st["n"]})
    out.update({
        "natoms": int(first["natoms"]),
        "V_A3_per_atom": first["vol_A3"] / first["natoms"],
        "chemical_potential": {"convention": CONVENTION, **{f"mu_{el}_eV": v for el, v in mu.items()}},
        "method": METHOD,
        "sites": [{k: v for k, v in s.items() if k != "E_f_pure_formula_eV"} for s in sites],
    })
    return out


def rows(summary) -> list[dict]:
    return [{"potential": name, **site} for name, res in summary.items() for site in res["sites"]]


def plot(summary, path) -> None:
    """Strip plot: each site as a point, the mean per species and potential as a bar with its std (spread =
    local chemical environment in a random alloy). The axis is not zero-based, so potentials can be told apart."""
    fig, (ax,) = plotting.figure(width=max(5.0, 1.2 * len(summary) + 3))
    colors = plotting.colors(summary)
    species = list(dict.fromkeys(s["species"] for res in summary.values() for s in res["sites"]))
    width = 0.8 / len(summary)
    for i, (name, res) in enumerate(summary.items()):
        for j, el in enumerate(species):
            values = [s["E_f_eV"] for s in res["sites"] if s["species"] == el]
            if not values:
                continue
            x = j - 0.4 + width * (i + 0.5)
            ax.plot(x + (np.linspace(-0.25, 0.25, len(values)) if len(values) > 1 else 0.0) * width, values, "o", color=colors[name], ms=4, alpha=0.6)
            ax.errorbar(x, np.mean(values), yerr=np.std(values), fmt="_", ms=width * 60, mew=2, capsize=3,
                        color=colors[name], label=f"{name}" if j == 0 else None)
    ax.set_xticks(range(len(species)), [f"{el} vacancy" for el in species])
    ax.set_xlim(-0.5, len(species) - 0.5)
    ax.set_ylabel("relaxed vacancy formation energy (eV)")
    ax.set_title("Vacancy formation energy (mu: fcc elements)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    plotting.save(fig, path)
