"""Point defects: vacancy, self-interstitials, L1_2 antisites, solute-vacancy binding.
Template: templates/point_defects.lmp.j2 (shared with the vacancy workflow)

One task per potential: the perfect supercell is relaxed to zero pressure, then every defect is made from
that relaxed cell in turn and relaxed at fixed box (constant volume, as in the vacancy workflow, whose
template and chemical-potential tasks this reuses). Defects sit at the lattice site nearest the box centre:
  pure fcc X   vacancy; self-interstitials: <100>, <110>, <111> dumbbells (the site's atom replaced by two
               atoms +/- 0.3 a along the axis), octahedral (+a/2 [100]) and tetrahedral (+a/4 [111]) sites;
               each relaxes within the symmetry of its start (a saddle point stays one; see E_f ordering).
               Solutes S (settings.solutes): S on the site, S with a vacancy on a first neighbour, and S with
               a vacancy on the site farthest from it (same composition, so no chemical potential enters):
                   E_bind = E(S + V far) - E(S + V 1nn)            > 0: the pair attracts
               and a second route from isolated defects, E(S) + E(V) - E(S + V 1nn) - E_perfect.
  L1_2 A3B     vacancy on each sublattice; antisites A_B (A on a B site) and B_A.
  own crystal  material.structure (any file ASE reads): the defects any crystal has, on each symmetry-inequivalent
               site of each species (spglib): a vacancy, and every other species present put on it (antisites);
               the same code as L1_2, whose sublattices are just two classes of sites. Interstitial geometries
               are fcc ones, so they stay with the built fcc lattice.

Formation energy, with n_X the number of X atoms added (negative: removed):
    E_f = E_defect - E_perfect - sum_X n_X mu_X
mu_X = energy per atom of fcc X relaxed with the same potential (elemental references). For L1_2 the raw
differences E_defect - E_perfect are reported too, the mu-free antisite pair A_B + B_A (composition kept),
and the formation energies at the two limits of A3B stability, where mu_A + ... is pinned to the compound:
A-rich (mu_A = fcc A, mu_B = E(A3B)/f.u. - 3 mu_A) and B-rich (mu_B = fcc B, mu_A = (E(A3B)/f.u. - mu_B)/3).
"""
from __future__ import annotations

import numpy as np
from ase.formula import Formula

from pylmp import potentials, structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import vacancy

OWN_STRUCTURE = True  # material.structure: vacancies and antisites on its inequivalent sites (no interstitials)
DEFAULTS = {"defects": [], "solutes": [], "dumps": True}
FCC_DEFECTS = ("vacancy", "dumbbell_100", "dumbbell_110", "dumbbell_111", "octahedral", "tetrahedral")
L12_DEFECTS = ("vacancy", "antisite")
INTERSTITIALS = FCC_DEFECTS[1:]
DUMBBELL_HALF_LENGTH = 0.3  # starting half-length in units of a (relaxed: ~0.3 a in EAM Ni)
AXES = {"100": [0, 0, 1], "110": [1, 1, 0], "111": [1, 1, 1]}
CONVENTION = ("E_f = E_defect - E_perfect - sum_X n_X mu_X (n_X: X atoms added); " + vacancy.CONVENTION)


def kinds(study) -> list[str]:
    return study.settings["defects"] or list(L12_DEFECTS if compound(study) else FCC_DEFECTS)


def compound(study) -> bool:
    """Ordered L1_2 or a user's crystal: defects on classes of symmetry-equivalent sites (no interstitials)."""
    return study.lattice == "L12" or study.structure is not None


def check(study) -> None:
    s, src = study.settings, study.source
    present = study.present_elements
    for key in ("defects", "solutes"):  # a single name is a list of one
        s[key] = [str(v) for v in (s[key] if isinstance(s[key], list) else [s[key]])]
    own = study.structure is not None
    if own:
        asked = [d for d in s["defects"] if d in INTERSTITIALS]
        if asked:
            raise PylmpError(f"{src}: settings.defects: interstitials ({', '.join(asked)}) are built on the fcc lattice only, not in a material.structure; "
                             f"choose from {', '.join(L12_DEFECTS)}, or use material: {{lattice: fcc, composition: ...}}")
    elif study.lattice not in ("fcc", "L12") or (study.lattice == "fcc" and len(present) > 1):
        raise PylmpError(f"{src}: workflow point_defects takes a pure fcc metal or an ordered L12 crystal; for random "
                         "alloys use workflow: vacancy (per-species statistics over sites)")
    allowed = L12_DEFECTS if compound(study) else FCC_DEFECTS
    for name in s["defects"]:
        if name not in allowed:
            raise PylmpError(f"{src}: settings.defects: unknown defect '{name}' for lattice {study.lattice}; choose from {', '.join(allowed)}")
    if s["solutes"]:
        if compound(study):
            raise PylmpError(f"{src}: settings.solutes (solute-vacancy binding) needs a pure fcc host; remove it for "
                             f"{'material.structure' if own else 'L12'}")
        for el in s["solutes"]:
            if el in present:
                raise PylmpError(f"{src}: settings.solutes: {el} is the host; list other elements, e.g. [Al]")
        for name in study.potentials:  # the solutes join the type map: every potential must cover them
            potentials.get(name).check_elements(study.elements + list(s["solutes"]))
    if study.atoms < 100:
        raise PylmpError(f"{src}: material.atoms = {study.atoms} is too small for a relaxed defect (it would see its own "
                         "periodic images); use 108 or more (256 for interstitials)")


def type_elements(study) -> list[str]:
    return study.elements + [el for el in study.settings["solutes"] if el not in study.elements]


def _site_nearest_centre(atoms, species=None) -> int:
    """Index of the atom nearest the box centre, among those where the boolean mask `species` is true."""
    d = np.linalg.norm(atoms.positions - atoms.cell.sum(axis=0) / 2, axis=1)  # the centre of a tilted box too
    if species is not None:
        d[~species] = np.inf
    return int(np.argmin(d))


def _fractions(atoms, position) -> list[float]:
    return [float(f) for f in np.mod(np.asarray(position) / atoms.cell.lengths(), 1.0)]


def defect_list(study, atoms) -> list[dict]:
    """Each defect as edits of the relaxed perfect cell (LAMMPS ids = ASE index + 1), plus the atoms it adds."""
    a = study.a  # the unrelaxed cell's; insertions are box fractions, so they scale with the relaxed cell
    tmap = type_elements(study)
    out = []

    def add(name, title, delete=(), retype=(), insert=(), delta=None):
        out.append({"k": len(out) + 1, "name": name, "title": title, "delete": [i + 1 for i in delete],
                    "retype": [{"id": i + 1, "type": tmap.index(el) + 1} for i, el in retype],
                    "add": [{"type": tmap.index(el) + 1, "f": _fractions(atoms, r)} for el, r in insert],
                    "dump": f"{name}.dump", "delta": delta or {}})

    if compound(study):
        species = sorted(study.present_elements, key=lambda el: -study.composition[el])  # L1_2: majority first
        symbols = np.array(atoms.get_chemical_symbols())
        classes = structures.site_classes(atoms)
        for kind in kinds(study):
            for host in species:
                sites = list(dict.fromkeys(classes[symbols == host]))
                for j, c in enumerate(sites, 1):
                    i = _site_nearest_centre(atoms, (symbols == host) & (classes == c))
                    site = f"_site{j}" if len(sites) > 1 else ""  # L1_2: one class per sublattice, plain names
                    if kind == "vacancy":
                        add(f"vacancy_{host}{site}", f"{host} vacancy (atom {i + 1} removed)", delete=[i], delta={host: -1})
                        continue
                    for other in (el for el in species if el != host):  # `other` on a `host` site
                        add(f"antisite_{other}_{host}{site}", f"{other} on the {host} sublattice (atom {i + 1})",
                            retype=[(i, other)], delta={other: 1, host: -1})
        return out

    host = study.present_elements[0]
    i = _site_nearest_centre(atoms)
    r0 = atoms.positions[i]
    for kind in kinds(study):
        if kind == "vacancy":
            add("vacancy", f"vacancy (atom {i + 1} removed)", delete=[i], delta={host: -1})
        elif kind.startswith("dumbbell"):
            u = np.array(AXES[kind[-3:]], float) / np.linalg.norm(AXES[kind[-3:]])
            h = DUMBBELL_HALF_LENGTH * a * u
            add(kind, f"<{kind[-3:]}> dumbbell on atom {i + 1}'s site", delete=[i],
                insert=[(host, r0 - h), (host, r0 + h)], delta={host: 1})
        else:
            shift = [a / 2, 0, 0] if kind == "octahedral" else [a / 4, a / 4, a / 4]
            add(kind, f"{kind} interstitial next to atom {i + 1}", insert=[(host, r0 + shift)], delta={host: 1})
    if study.settings["solutes"] and "vacancy" not in kinds(study):
        add("vacancy", f"vacancy (atom {i + 1} removed)", delete=[i], delta={host: -1})
    near = int(np.argmin(np.linalg.norm(atoms.positions - (r0 + [a / 2, a / 2, 0]), axis=1)))
    far = int(np.argmax(atoms.get_distances(i, range(len(atoms)), mic=True)))
    for el in study.settings["solutes"]:
        add(f"solute_{el}", f"{el} on atom {i + 1}'s site", retype=[(i, el)], delta={el: 1, host: -1})
        add(f"{el}_vacancy_1nn", f"{el} on atom {i + 1}'s site, vacancy on its first neighbour {near + 1}",
            delete=[near], retype=[(i, el)], delta={el: 1, host: -2})
        add(f"{el}_vacancy_far", f"{el} on atom {i + 1}'s site, vacancy on the farthest site {far + 1} "
            f"({atoms.get_distance(i, far, mic=True):.2f} A)", delete=[far], retype=[(i, el)], delta={el: 1, host: -2})
    return out


def tasks(study, potential) -> list[Task]:
    atoms = structures.study_cell(study)
    variables = {"box_mode": structures.study_relax_mode(study), "defects": defect_list(study, atoms), "dumps": study.settings["dumps"]}
    elements = study.present_elements + [el for el in study.settings["solutes"] if el not in study.present_elements]
    return [Task("defects", "point_defects.lmp.j2", atoms, potential, type_elements(study), variables)] + \
        vacancy.mu_tasks(elements, potential, type_elements(study))


def analyze(study, results) -> dict:
    res = results["defects"]
    atoms = structures.study_cell(study)
    defects = defect_list(study, atoms)
    mu = vacancy.chemical_potentials(results, list(dict.fromkeys(el for d in defects for el in d["delta"])))
    e0 = res["E_perfect_eV"]
    table, out = [], {}
    for d in defects:
        raw = res[f"E_def_{d['k']}_eV"] - e0
        shift = sum(n * mu[el] for el, n in d["delta"].items())
        row = {"defect": d["name"], "title": d["title"], "dE_raw_eV": raw, "E_f_eV": raw - shift,
               "E_f_unrelaxed_eV": res[f"E_unrelaxed_{d['k']}_eV"] - e0 - shift,
               "atoms_added": {el: n for el, n in d["delta"].items() if n}}
        table.append(row)
        out[f"E_f_{d['name']}_eV"] = row["E_f_eV"]
    by = {row["defect"]: row for row in table}
    sias = {k: by[k]["E_f_eV"] for k in INTERSTITIALS if k in by}
    if sias:
        out["lowest_interstitial"] = min(sias, key=sias.get)
    for el in study.settings["solutes"]:
        pair = by[f"{el}_vacancy_1nn"]["dE_raw_eV"]
        out[f"E_bind_{el}_vacancy_1nn_eV"] = by[f"{el}_vacancy_far"]["dE_raw_eV"] - pair
        out[f"E_bind_{el}_vacancy_1nn_isolated_eV"] = by[f"solute_{el}"]["dE_raw_eV"] + by["vacancy"]["dE_raw_eV"] - pair
    convention = {"convention": CONVENTION, **{f"mu_{el}_eV": v for el, v in mu.items()}}
    if compound(study) and len(study.present_elements) == 2:
        major, minor = sorted(study.present_elements, key=lambda el: -study.composition[el])
        n = {el: atoms.get_chemical_symbols().count(el) for el in (major, minor)}  # n_A mu_A + n_B mu_B = E_perfect
        limits = {f"{major}_rich": {major: mu[major], minor: (e0 - n[major] * mu[major]) / n[minor]},
                  f"{minor}_rich": {minor: mu[minor], major: (e0 - n[minor] * mu[minor]) / n[major]}}
        formula = str(Formula.from_dict(n).reduce()[0])
        for limit, m in limits.items():
            for row in table:
                row[f"E_f_{limit}_eV"] = row["dE_raw_eV"] - sum(n * m[el] for el, n in row["atoms_added"].items())
                out[f"E_f_{row['defect']}_{limit}_eV"] = row[f"E_f_{limit}_eV"]
        convention["compound_limits"] = {k: {f"mu_{el}_eV": v for el, v in m.items()} for k, m in limits.items()}
        convention["compound_limits_note"] = (f"{major}-rich / {minor}-rich edges of {formula} stability: one mu from its fcc "
                                              f"element, the other from the compound's energy per formula unit")
        if f"antisite_{major}_{minor}" in by and f"antisite_{minor}_{major}" in by:  # exchanging an A and a B atom keeps the composition: no mu at all
            out["E_antisite_pair_eV"] = by[f"antisite_{major}_{minor}"]["dE_raw_eV"] + by[f"antisite_{minor}_{major}"]["dE_raw_eV"]
    out.update({"natoms": int(res["natoms"]), "a0_A": structures.study_lattice_parameter(study, res["vol_A3"] / res["natoms"]),
                "chemical_potential": convention,
                "method": "each defect relaxed at the fixed box of the zero-pressure perfect cell (constant volume)",
                "defects": table})
    return out


def rows(summary) -> list[dict]:
    return [{"potential": name, **{k: v for k, v in row.items() if k != "atoms_added"},
             "atoms_added": " ".join(f"{el}{n:+d}" for el, n in row["atoms_added"].items())}
            for name, res in summary.items() for row in res["defects"]]


def _label(name: str) -> str:
    parts = name.split("_")
    return f"{parts[1]} on {' '.join(parts[2:])} site" if parts[0] == "antisite" else name.replace("_", " ")


def plot(summary, path) -> None:
    """Bars: relaxed formation energy of each defect, one colour per potential (binding pairs left out)."""
    colors = plotting.colors(summary)
    names = list(dict.fromkeys(r["defect"] for res in summary.values() for r in res["defects"] if "_vacancy_" not in r["defect"]))
    fig, (ax,) = plotting.figure(width=max(5.0, 0.7 * len(names) + 2))
    width = 0.8 / len(summary)
    for i, (pot, res) in enumerate(summary.items()):
        e = {r["defect"]: r["E_f_eV"] for r in res["defects"]}
        x = [j for j, n in enumerate(names) if n in e]
        ax.bar(np.array(x) - 0.4 + width * (i + 0.5), [e[names[j]] for j in x], width, color=colors[pot], label=pot)
    ax.set_xticks(range(len(names)), [_label(n) for n in names], rotation=30, ha="right")
    ax.set_ylabel("relaxed formation energy (eV)")
    ax.set_title("Point defects (constant volume; mu: fcc elements)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    plotting.save(fig, path)
