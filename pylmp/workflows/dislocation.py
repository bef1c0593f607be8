"""Dissociated screw dislocation in an fcc metal: relaxed partial separation against the elastic estimate.

Template: templates/dislocation.lmp.j2 (+ gsfe.lmp.j2 and elastic.lmp.j2 for the inputs of the estimate)
Theory note: docs/theory/dislocation.md     Cell and elasticity: pylmp/dislocations.py

Tasks per potential:
  dislocation  a/2[1-10] screw along x, periodic along the line (x) and the glide direction (y = [11-2], box tilt
               xy = -b/2), free (111) surfaces; two Shockley partials placed `start_separation_A` apart by their
               elastic displacement field, scaled to the potential's own a0, relaxed (conjugate gradient).
  isf          gamma_isf of the same potential (tilted periodic cell, relaxed along z), unless settings give it
  elastic      C11, C12, C44 of the same potential, unless settings give them
Analysis of the relaxed dump with OVITO: DXA (DislocationAnalysisModifier) finds the two partial lines and their
Burgers vectors, the separation is the distance of their mean y; adaptive CNA counts the HCP atoms of the ribbon
(two (111) planes), width = N_hcp / 2 x (area per atom) / line length. Both are compared with the elastic
estimate of the potential's own gamma_isf and C_ij in the same periodic cell (images along y summed): isotropic
(Voigt G and nu, Hirth & Lothe) as `separation_elastic_A`, and the anisotropic (Stroh energy factor) one beside it.
"""
from __future__ import annotations

import functools

import numpy as np

from pylmp import dislocations, faults, structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import elastic, gsfe_shifts

# gamma_isf_mJ_m2: 0 = compute it (isf task); elastic_GPa: [] = compute [C11, C12, C44] (elastic task)
DEFAULTS = {"repeat": [4, 28], "layers": 48, "vacuum_A": 10.0, "start_separation_A": 6.0, "ftol": 1e-5,
            "max_iterations": 20000, "gamma_isf_mJ_m2": 0.0, "elastic_GPa": []}
ISF_LAYERS = 24
ELASTIC_ATOMS = 108
NU_START = 0.3  # Poisson ratio of the starting field only: relaxation replaces it by the potential's own response


def check(study) -> None:
    s, src = study.settings, study.source
    if study.lattice != "fcc" or len(study.present_elements) != 1:
        raise PylmpError(f"{src}: workflow dislocation handles a pure fcc metal; set material.lattice: fcc and one element")
    if len(s["repeat"]) != 2 or min(s["repeat"]) < 1:
        raise PylmpError(f"{src}: settings.repeat must be [n_line, n_glide]: repeats of a/sqrt(2) along the line and of "
                         f"a*sqrt(6)/2 along the glide direction, got {s['repeat']}")
    if s["layers"] < 12 or s["layers"] % 3:
        raise PylmpError(f"{src}: settings.layers = {s['layers']}; use a multiple of 3, at least 12 ((111) planes of the slab)")
    if s["vacuum_A"] < 6.0:
        raise PylmpError(f"{src}: settings.vacuum_A = {s['vacuum_A']}; use at least 6 (A above and below the slab)")
    ly = s["repeat"][1] * study.a * np.sqrt(6) / 2
    if not 0 <= s["start_separation_A"] < ly / 2:
        raise PylmpError(f"{src}: settings.start_separation_A = {s['start_separation_A']} must lie in [0, {ly / 2:.0f}) "
                         "(half the glide length); raise settings.repeat[1] for a wider ribbon")
    if s["ftol"] <= 0 or s["max_iterations"] < 1:
        raise PylmpError(f"{src}: settings.ftol (eV/A) and settings.max_iterations must be positive")
    if s["gamma_isf_mJ_m2"] < 0:
        raise PylmpError(f"{src}: settings.gamma_isf_mJ_m2 must be positive, or 0 to compute it with the potential")
    c = s["elastic_GPa"]
    if c and (not isinstance(c, list) or len(c) != 3 or not all(isinstance(x, (int, float)) and x > 0 for x in c)):
        raise PylmpError(f"{src}: settings.elastic_GPa must be [C11, C12, C44] in GPa, or [] to compute them, got {c}")


def tasks(study, potential) -> list[Task]:
    s = study.settings
    element = study.present_elements[0]
    cell, where = dislocations.dissociated_screw_cell(element, study.a, s["layers"], tuple(s["repeat"]), s["vacuum_A"],
                                                      s["start_separation_A"], NU_START)
    variables = {"element": element, "a_built": study.a, "layers": s["layers"], "per_plane": faults.atoms_per_plane(tuple(s["repeat"])),
                 "glide_plane": where["first_plane_above"], "start_separation_A": s["start_separation_A"],
                 "base_type": study.elements.index(element) + 1, "masses": structures.masses(study.elements),
                 "ftol": s["ftol"], "max_iterations": s["max_iterations"], "thermo_every": max(1, s["max_iterations"] // 100)}
    out = [Task("dislocation", "dislocation.lmp.j2", cell, potential, study.elements, variables)]
    if not s["gamma_isf_mJ_m2"]:
        out.append(isf_task(study, element, potential))
    if not s["elastic_GPa"]:
        crystal = structures.crystal("fcc", {element: 100.0}, study.a, ELASTIC_ATOMS)
        out.append(elastic.elastic_task("elastic", crystal, potential, study.elements, "iso", elastic.DEFAULTS["strain"]))
    return out


def isf_task(study, element: str, potential) -> Task:
    """gamma_isf: the perfect crystal and one plane shifted by b_p along [11-2] (tilted periodic cell, gsfe.lmp.j2)."""
    points = [gsfe_shifts.shift_point(k, "periodic", 0, 0.0, float(k), (1, 1), title) for k, title in
              enumerate(("perfect crystal", "intrinsic stacking fault: one b_p along [11-2]"))]
    variables = {"construction": "periodic", "path_title": "gamma_isf", "layers": ISF_LAYERS, "nx": 1, "ny": 1,
                 "per_plane": faults.atoms_per_plane((1, 1)), "vacuum_A": 0.0, "points": points, "groups": {},
                 "crystal": "fcc", "box_mode": "iso"}
    return Task("isf", "gsfe.lmp.j2", faults.fcc111_cell(element, study.a, ISF_LAYERS), potential, study.elements, variables)


def analyze(study, results) -> dict:
    s = study.settings
    res = results["dislocation"]
    gamma = s["gamma_isf_mJ_m2"] or float(gsfe_shifts.gamma_of(results["isf"], [1])[0])
    cij = s["elastic_GPa"] or [elastic.constants(results["elastic"], functools.partial(structures.lattice_parameter, "fcc"))[k] for k in ("C11_GPa", "C12_GPa", "C44_GPa")]
    layers, per_plane = s["layers"], faults.atoms_per_plane(tuple(s["repeat"]))
    measured = dislocations.measure(f"{res['_folder']}/dislocation_relaxed.dump", per_plane, layers // 2, tuple(s["repeat"]))
    estimate = dislocations.ribbon_width(*cij, gamma, res["a0_A"], period=res["ly_A"])
    d_est = estimate["d_iso_periodic_A"]
    out = {"natoms": int(res["natoms"]), "a0_A": res["a0_A"], "line_length_A": res["lx_A"], "glide_length_A": res["ly_A"],
           "gamma_isf_mJ_m2": gamma, "gamma_isf_source": "settings" if s["gamma_isf_mJ_m2"] else "isf task",
           "C11_GPa": cij[0], "C12_GPa": cij[1], "C44_GPa": cij[2],
           "elastic_source": "settings" if s["elastic_GPa"] else "elastic task",
           "start_separation_A": s["start_separation_A"], "iterations": int(res["iterations"]), "fmax_eV_A": res["fmax_eV_A"],
           "E_relax_eV": res["E_relaxed_eV"] - res["E_initial_eV"],
           "n_partials_dxa": measured["n_partials"], "separation_dxa_A": measured["separation_dxa_A"],
           "separation_cna_A": measured["separation_cna_A"], "n_hcp_ribbon": measured["n_hcp_ribbon"],
           "separation_elastic_A": d_est, "separation_elastic_infinite_A": estimate["d_iso_A"],
           "separation_elastic_aniso_A": estimate["d_aniso_periodic_A"],
           "separation_elastic_aniso_infinite_A": estimate["d_aniso_A"],
           "ratio_dxa_to_elastic_aniso": measured["separation_dxa_A"] / estimate["d_aniso_periodic_A"],
           "ratio_dxa_to_elastic": measured["separation_dxa_A"] / d_est, "ratio_cna_to_elastic": measured["separation_cna_A"] / d_est,
           "elastic": estimate, "partials": measured["partials"], "profile": measured["profile"], "slice": measured["slice"]}
    return out


SCALARS = ("natoms", "a0_A", "gamma_isf_mJ_m2", "C11_GPa", "C12_GPa", "C44_GPa", "separation_dxa_A", "separation_cna_A",
           "separation_elastic_A", "separation_elastic_infinite_A", "separation_elastic_aniso_A",
           "separation_elastic_aniso_infinite_A", "ratio_dxa_to_elastic", "ratio_cna_to_elastic",
           "ratio_dxa_to_elastic_aniso", "n_partials_dxa", "iterations", "fmax_eV_A")


def rows(summary) -> list[dict]:
    return [{"potential": name, **{k: res[k] for k in SCALARS}} for name, res in summary.items()]


def plot(summary, path) -> None:
    """Per potential: the atoms near the glide plane coloured by CNA, partial lines (DXA) and the elastic estimate;
    below it the HCP profile of the ribbon along the glide direction."""
    fig, axes = plotting.figure(ncols=len(summary), width=6.0, height=4.5)
    colors = {"FCC": "#4caf50", "HCP": "#e53935", "Other": "#9e9e9e"}
    for ax, (name, res) in zip(axes, summary.items()):
        sl, prof = res["slice"], res["profile"]
        y, z, kind = np.array(sl["y_A"]), np.array(sl["z_A"]), np.array(sl["cna"])
        for label, color in colors.items():
            sel = kind == label
            ax.plot(y[sel], z[sel], "o", ms=3, color=color, label=f"{label} (adaptive CNA)")
        centre = np.mean([p["y_A"] for p in res["partials"]]) if res["partials"] else sl["centre_y_A"]
        for i, p in enumerate(res["partials"]):
            ax.axvline(p["y_A"], color="b", lw=1.5, label="partial lines (DXA)" if i == 0 else None)
        for sign in (-1, 1):
            ax.axvline(centre + sign * res["separation_elastic_A"] / 2, color="k", ls="--", lw=1,
                       label="elastic estimate (isotropic, Voigt)" if sign < 0 else None)
        zmid = sl["glide_plane_z_A"]
        bars = np.array(prof["hcp_per_bin"], dtype=float)
        ax.step(prof["y_A"], zmid - 14 + 6 * bars / max(bars.max(), 1), where="mid", color="#e53935", lw=1,
                label="HCP atoms per bin (profile)")
        ax.set_xlabel("y along [11-2] (A)")
        ax.set_ylabel("z along [111] (A)")
        ax.set_title(f"{name}: DXA {res['separation_dxa_A']:.1f} A, CNA {res['separation_cna_A']:.1f} A, "
                     f"elastic {res['separation_elastic_A']:.1f} A", fontsize=9)
        ax.set_xlim(min(y) - 2, max(y) + 2)
        ax.set_aspect("equal")
        ax.legend(fontsize=6, loc="upper right")
    plotting.save(fig, path)
