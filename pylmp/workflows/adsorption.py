"""Adsorption energies of one atom on the high-symmetry sites of fcc (111) and (100).
Template: templates/adsorption.lmp.j2 (one task per face, every site in it)

ASE builds the slab (ase.build.fcc111 orthogonal / fcc100, periodic along z) and finds the sites with
ase.build.add_adsorbate: (111) top, bridge, fcc hollow (above a third-layer atom), hcp hollow (above a
second-layer atom); (100) top, bridge, hollow. LAMMPS relaxes the cell as bulk (the potential's own
lattice), opens the vacuum, relaxes the clean slab with its bottom layers fixed (E_slab), then puts the
adsorbate on each site at the same in-plane cell fractions, `height_A` above the top layer, and relaxes it:
the adsorbate keeps its site (fixed in x, y, so a hollow can be compared with a top site it would slide
away from), the substrate relaxes around it.
    E_ads(site) = E(slab + X) - E(slab) - E_ref(X)          < 0: bound
Reference (stated in results.json): for H, N, O half the energy of the X2 molecule relaxed in a 20 A box
with the same potential (the usual gas-phase reference, e.g. 1/2 H2); for other elements the isolated atom.
The energy against the isolated atom (the binding energy) is reported for every element.
"""
from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import add_adsorbate, fcc100, fcc111

from pylmp import potentials
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {"adsorbate": "H", "faces": ["111", "100"], "layers": 6, "repeat": [3, 4], "fixed_layers": 2,
            "vacuum_A": 10.0, "height_A": 1.2, "dumps": True}
SITES = {"111": ("ontop", "bridge", "fcc", "hcp"), "100": ("ontop", "bridge", "hollow")}
BUILDERS = {"111": (fcc111, {"orthogonal": True}), "100": (fcc100, {})}
DIMER_BOND_A = {"H": 0.74, "N": 1.10, "O": 1.21}  # starting bond lengths of the gas-phase molecules
GAS_BOX_A = 20.0


def check(study) -> None:
    s, src = study.settings, study.source
    s["faces"] = [str(f) for f in (s["faces"] if isinstance(s["faces"], list) else [s["faces"]])]
    s["adsorbate"] = str(s["adsorbate"])
    if study.lattice != "fcc" or len(study.present_elements) != 1:
        raise PylmpError(f"{src}: workflow adsorption takes a pure fcc metal substrate, e.g. composition: {{Ni: 100}}")
    for face in s["faces"]:
        if face not in SITES:
            raise PylmpError(f"{src}: settings.faces: unknown face '{face}'; choose from {', '.join(SITES)}")
    if s["adsorbate"] in study.elements:
        raise PylmpError(f"{src}: settings.adsorbate {s['adsorbate']} is the substrate; name another element, e.g. H")
    for name in study.potentials:  # the adsorbate joins the type map: every potential must cover it
        potentials.get(name).check_elements(study.elements + [s["adsorbate"]])
    if s["layers"] < 4 or s["layers"] % 2:
        raise PylmpError(f"{src}: settings.layers = {s['layers']}; use an even number, at least 4 (ABAB stacking along z)")
    if "111" in s["faces"] and s["layers"] % 3:
        raise PylmpError(f"{src}: settings.layers = {s['layers']}: a (111) slab needs a multiple of 3 layers too; use 6 or 12")
    if not 1 <= s["fixed_layers"] <= s["layers"] - 2:
        raise PylmpError(f"{src}: settings.fixed_layers must be between 1 and layers - 2 (room for a relaxed top)")
    if len(s["repeat"]) != 2 or min(s["repeat"]) < 2 or s["repeat"][1] % 2:
        raise PylmpError(f"{src}: settings.repeat must be [nx, ny], each at least 2, ny even, got {s['repeat']}")
    if s["vacuum_A"] < 6.0 or s["height_A"] <= 0.3:
        raise PylmpError(f"{src}: settings.vacuum_A must be at least 6 and settings.height_A above 0.3 (A)")


def type_elements(study) -> list[str]:
    return study.elements + [study.settings["adsorbate"]]


def slab(study, face: str):
    s = study.settings
    build, kw = BUILDERS[face]
    atoms = build(study.present_elements[0], (*s["repeat"], s["layers"]), a=study.a, periodic=True, **kw)
    atoms.wrap()
    return atoms


def sites(study, face: str) -> list[dict]:
    """In-plane cell fractions of each site, from ase.build.add_adsorbate on the same slab with vacuum."""
    s = study.settings
    build, kw = BUILDERS[face]
    out = []
    for k, name in enumerate(SITES[face], 1):
        atoms = build(study.present_elements[0], (*s["repeat"], s["layers"]), a=study.a, vacuum=5.0, **kw)
        add_adsorbate(atoms, s["adsorbate"], s["height_A"], name)
        out.append({"k": k, "name": name, "f": [float(f) % 1.0 for f in atoms.get_scaled_positions()[-1][:2]]})
    return out


def tasks(study, potential) -> list[Task]:
    s, tmap = study.settings, type_elements(study)
    out = []
    for face in s["faces"]:
        atoms = slab(study, face)
        fixed = np.flatnonzero(atoms.get_tags() > s["layers"] - s["fixed_layers"]) + 1  # tag 1 is the top layer
        out.append(Task(face, "adsorption.lmp.j2", atoms, potential, tmap, {
            "face": face, "layers": s["layers"], "per_layer": len(atoms) // s["layers"], "vacuum_A": s["vacuum_A"],
            "fixed_layers": s["fixed_layers"], "fixed_ids": f"{fixed.min()}:{fixed.max()}" if np.ptp(fixed) == len(fixed) - 1
            else " ".join(map(str, fixed)), "sites": sites(study, face), "adsorbate": s["adsorbate"],
            "adsorbate_type": len(tmap), "height_A": s["height_A"], "box_mode": "iso", "dumps": s["dumps"]}))
    el, box = s["adsorbate"], [GAS_BOX_A] * 3
    centre = np.array(box) / 2
    out.append(Task("reference/atom", "single_point.lmp.j2", Atoms(el, positions=[centre], cell=box, pbc=True),
                    potential, tmap, {"relax_ions": False}))
    if el in DIMER_BOND_A:
        dimer = Atoms(el + "2", positions=[centre, centre + [0, 0, DIMER_BOND_A[el]]], cell=box, pbc=True)
        out.append(Task("reference/molecule", "single_point.lmp.j2", dimer, potential, tmap, {"relax_ions": True}))
    return out


def analyze(study, results) -> dict:
    el = study.settings["adsorbate"]
    e_atom = results["reference/atom"]["E_eV"]
    if el in DIMER_BOND_A:
        e_ref, ref = results["reference/molecule"]["E_eV"] / 2, f"1/2 E({el}2): the molecule relaxed in a {GAS_BOX_A:g} A box"
    else:
        e_ref, ref = e_atom, f"E({el}): the isolated atom in a {GAS_BOX_A:g} A box"
    out, table = {}, []
    for face in study.settings["faces"]:
        r = results[face]
        for site in sites(study, face):
            e = r[f"E_site_{site['k']}_eV"] - r["E_slab_eV"]
            table.append({"face": face, "site": site["name"], "E_ads_eV": e - e_ref, "E_ads_vs_atom_eV": e - e_atom,
                          "height_A": r[f"height_{site['k']}_A"], "fx": site["f"][0], "fy": site["f"][1]})
            out[f"E_ads_{face}_{site['name']}_eV"] = e - e_ref
        mine = [row for row in table if row["face"] == face]
        out[f"preferred_site_{face}"] = min(mine, key=lambda row: row["E_ads_eV"])["site"]
        out[f"coverage_{face}_ML"] = 1 / r["natoms"] * study.settings["layers"]
    out["reference"] = {"E_ref_eV": e_ref, "reference": ref, "E_atom_eV": e_atom,
                        **({f"E_{el}2_eV": 2 * e_ref, f"E_bind_{el}2_eV": 2 * e_atom - 2 * e_ref} if el in DIMER_BOND_A else {})}
    out["method"] = ("E_ads = E(slab+X) - E(slab) - E_ref; adsorbate fixed in x, y on its site, height relaxed; substrate relaxed, "
                     f"bottom {study.settings['fixed_layers']} layers fixed; in-plane lattice of the bulk relaxed with the same potential")
    out["sites"] = table
    return out


def rows(summary) -> list[dict]:
    return [{"potential": name, **row} for name, res in summary.items() for row in res["sites"]]


def plot(summary, path) -> None:
    """Bars: adsorption energy per site, one panel per face, one colour per potential."""
    faces = list(dict.fromkeys(row["face"] for res in summary.values() for row in res["sites"]))
    colors = plotting.colors(summary)
    fig, axes = plotting.figure(ncols=len(faces), width=4.0)
    width = 0.8 / len(summary)
    for ax, face in zip(axes, faces):
        names = list(SITES[face])
        for i, (pot, res) in enumerate(summary.items()):
            e = {row["site"]: row["E_ads_eV"] for row in res["sites"] if row["face"] == face}
            ax.bar(np.arange(len(names)) - 0.4 + width * (i + 0.5), [e[n] for n in names], width, color=colors[pot], label=pot)
        ax.set_xticks(range(len(names)), names)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_title(f"fcc ({face})")
        ax.grid(alpha=0.3, axis="y")
    ref = next(iter(summary.values()))["reference"]["reference"].split(":")[0]
    axes[0].set_ylabel(f"adsorption energy (eV), vs {ref}")
    axes[0].legend(fontsize=7)
    plotting.save(fig, path)
