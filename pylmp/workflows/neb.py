"""Vacancy migration barriers by climbing-image NEB: host self-diffusion and the five-frequency jumps around a solute.
Theory: docs/theory/neb.md   Template: templates/neb.lmp.j2 (one LAMMPS partition per replica)

The host is the study's pure fcc element. One vacancy V sits at the site nearest the cell centre; a hop moves atom
H, a nearest neighbour of V, onto V. Around a solute S on a nearest-neighbour site of V (Lidiard / Le Claire):
    w0  host atom into V, no solute near                   (self-diffusion)
    w1  host atom into V, V and H both 1NN of S            (the vacancy circles the solute)
    w2  S itself into V                                    (solute-vacancy exchange)
    w3  host atom into V, H not 1NN of S: the vacancy leaves the solute's 1NN shell for its 2NN/3NN/4NN shell
    w4  the reverse of w3 (association): the backward barrier of the same NEB
Each NEB task relaxes the perfect crystal to zero pressure, then both end points at that fixed box, then runs
`neb` with a climbing image. E_m = forward barrier; Q = E_f + E_m(w0), with E_f from a vacancy relaxation
(templates/point_defects.lmp.j2, the vacancy workflow's template) of the same cell.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pylmp import potentials, structures
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {
    "solutes": [],                        # [Al, Co] for every potential, or {potential: [Al]} per potential
    "hops": ["w0", "w1", "w2", "w3", "w4"],
    "w3_shells": [2, 3, 4],               # solute shells a dissociative w3 jump takes the vacancy to
    "replicas": 7,                        # NEB images including both end points (= LAMMPS partitions)
    "spring": 1.0,                        # fix neb spring constant, eV/A^2
    "ftol": 1e-3,                         # NEB stops when every replica's force 2-norm is below this, eV/A
    "steps": 2000, "climb_steps": 2000,   # max iterations of plain NEB, then climbing image
    "nevery": 10,                         # NEB table line every this many iterations
    "timestep": 0.01,                     # ps: damped-dynamics (FIRE) step, ~10x an MD step
}
HOPS = ("w0", "w1", "w2", "w3", "w4")
SHELLS = {0.0: 0, 0.5: 1, 1.0: 2, 1.5: 3, 2.0: 4}  # (distance / a)^2 of an fcc site from S -> its neighbour shell
MIN_ATOMS = 100  # 3x3x3 cubes (108 sites): a vacancy and its hop away from their own periodic images


def host(study) -> str:
    return study.present_elements[0]


def solutes_of(study, potential_name: str) -> list[str]:
    return study.settings["solutes"].get(potential_name, [])


def type_map(study, potential_name: str) -> list[str]:
    return [host(study)] + solutes_of(study, potential_name)


def _solute_table(study) -> dict[str, list[str]]:
    """settings.solutes as {potential name: [solute, ...]}, every solute checked against its potential."""
    raw, src = study.settings["solutes"], study.source
    names = [potentials.get(n).name for n in study.potentials]
    if isinstance(raw, dict):
        table = {potentials.get(str(k)).name: v for k, v in raw.items()}  # unknown potential names stop here
    elif isinstance(raw, (list, str)):
        table = {n: raw for n in names}
    else:
        raise PylmpError(f"{src}: settings.solutes must list elements, e.g. [Al, Co], or map potentials to them, e.g. {{NiAlH_jea: [Al]}}")
    out = {}
    for name in names:
        els = table.get(name, [])
        els = [str(e) for e in ([els] if isinstance(els, str) else els)]
        for el in els:
            structures.check_composition({el: 100.0})
            if el == host(study):
                raise PylmpError(f"{src}: settings.solutes has the host {el}; list other elements (the host's own hop is w0)")
            pot = potentials.get(name)
            if el not in pot.elements:
                raise PylmpError(f"{src}: solute {el} is not covered by potential '{name}' (it has {', '.join(pot.elements)}); "
                                 f"drop it or give it per potential, e.g. solutes: {{{name}: [...]}}")
        out[name] = list(dict.fromkeys(els))
    return out


def check(study) -> None:
    s, src = study.settings, study.source
    if study.lattice != "fcc" or len(study.present_elements) != 1:
        raise PylmpError(f"{src}: workflow 'neb' needs a pure fcc host, e.g. material: {{lattice: fcc, composition: Ni}}; "
                         "solutes go in settings.solutes")
    if study.atoms < MIN_ATOMS:
        raise PylmpError(f"{src}: material.atoms = {study.atoms} is too small for a vacancy hop; use 108 or more")
    s["hops"] = [str(h) for h in (s["hops"] if isinstance(s["hops"], list) else [s["hops"]])]
    for hop in s["hops"]:
        if hop not in HOPS:
            raise PylmpError(f"{src}: settings.hops has '{hop}', not a defined hop; choose from {', '.join(HOPS)}")
    bad = [k for k in s["w3_shells"] if k not in (2, 3, 4)]
    if bad:
        raise PylmpError(f"{src}: settings.w3_shells has {bad[0]}; a vacancy next to the solute can jump to its 2NN, 3NN or 4NN shell")
    if s["replicas"] < 3 or s["spring"] <= 0 or s["ftol"] <= 0 or s["timestep"] <= 0:
        raise PylmpError(f"{src}: settings.replicas must be at least 3, spring, ftol and timestep positive")
    if s["nevery"] < 1 or s["steps"] % s["nevery"] or s["climb_steps"] % s["nevery"]:
        raise PylmpError(f"{src}: settings.steps and climb_steps must be multiples of nevery (LAMMPS neb requires it)")
    for name in study.potentials:
        if potentials.get(name).bridge:
            raise PylmpError(f"potential '{potentials.get(name).name}' runs from Python (fix external); neb needs one LAMMPS "
                             "partition per replica under mpirun: use a potential LAMMPS runs itself")
    s["solutes"] = _solute_table(study)
    if not any(s["solutes"].values()) and "w0" not in s["hops"]:
        raise PylmpError(f"{src}: settings.hops {s['hops']} need a solute: add settings.solutes, e.g. [Al], or hop w0")


# --- geometry -------------------------------------------------------------------------------------------------
def host_cell(study):
    return structures.crystal("fcc", {host(study): 100.0}, study.a, study.atoms)


def _shell(atoms, i: int, js, a: float) -> np.ndarray:
    """Neighbour shell (0 = the site itself, 1 = 1NN, ...; -1 beyond 4NN) of sites js seen from site i."""
    d2 = atoms.get_distances(i, js, mic=True) ** 2 / a ** 2
    return np.array([min(SHELLS.items(), key=lambda kv: abs(kv[0] - x))[1] if x < 2.25 else -1 for x in d2])


def vacancy_index(atoms) -> int:
    """The site nearest the cell centre: V, H and S then lie well inside the box, so no hop crosses a boundary."""
    return int(np.argmin(np.linalg.norm(atoms.positions - atoms.cell.diagonal() / 2, axis=1)))


def hops(study, potential_name: str) -> list[dict]:
    """Every hop of the study for one potential: name, LAMMPS ids (ASE index + 1) of V, H and S, and words."""
    atoms, a, el = host_cell(study), study.a, host(study)
    everyone = np.arange(len(atoms))
    v = vacancy_index(atoms)
    nn = everyone[_shell(atoms, v, everyone, a) == 1]  # V's 12 nearest neighbours, in index order
    want = study.settings["hops"]
    out = []
    if "w0" in want:
        out.append({"name": "w0", "kind": "w0", "solute": None, "shell": None, "vacancy": v + 1, "hopper": int(nn[0]) + 1,
                    "title": f"{el} into a nearest-neighbour vacancy", "initial": f"vacancy at atom {v + 1}'s site"})
    for k, sol in enumerate(solutes_of(study, potential_name)):
        s = int(nn[0])  # S on the first neighbour of V; H among V's other neighbours, classed by their shell around S
        solute = {"id": s + 1, "type": k + 2, "element": sol}
        shell = dict(zip(nn.tolist(), _shell(atoms, s, nn, a).tolist()))
        pick = lambda sh: next(j for j in nn.tolist() if shell[j] == sh)  # noqa: E731
        initial = f"{sol} on atom {s + 1}'s site, vacancy on its nearest neighbour {v + 1}"
        cases = []
        if "w1" in want:
            cases.append(("w1", pick(1), 1, f"{el} into the vacancy, both sites 1NN of {sol} (vacancy circles {sol})"))
        if "w2" in want:
            cases.append(("w2", s, 0, f"{sol}-vacancy exchange"))
        if "w3" in want or "w4" in want:
            cases += [(f"w3_{n}nn", pick(n), n, f"{el} into the vacancy: vacancy leaves {sol}'s 1NN shell for its {n}NN "
                       f"shell (w3); backward: w4") for n in study.settings["w3_shells"]]
        for name, h, sh, title in cases:
            out.append({"name": f"{sol}/{name}", "kind": name.split("_")[0], "solute": solute, "shell": sh, "vacancy": v + 1,
                        "hopper": h + 1, "title": title, "initial": initial})
    return out


def tasks(study, potential) -> list[Task]:
    s, elements = study.settings, type_map(study, potential.name)
    cell = host_cell(study)
    out = []
    settings = {k: s[k] for k in ("replicas", "spring", "ftol", "nevery", "timestep")}
    for hop in hops(study, potential.name):
        variables = {**settings, "hop": hop, "box_mode": "iso", "etol": 0.0, "n1": s["steps"], "n2": s["climb_steps"]}
        out.append(Task(hop["name"], "neb.lmp.j2", cell, potential, elements, variables, partitions=s["replicas"]))
    if "w0" in s["hops"]:  # E_f for Q: the vacancy workflow's template, the same cell and site
        v = vacancy_index(cell) + 1
        defect = {"k": 1, "title": f"remove atom {v} ({host(study)})", "delete": [v], "retype": [], "add": [], "dump": "vacancy.dump"}
        out.append(Task("vacancy", "point_defects.lmp.j2", cell, potential, elements,
                        {"box_mode": "iso", "defects": [defect], "dumps": False}))
    return out


# --- results --------------------------------------------------------------------------------------------------
def neb_table(log: Path) -> dict:
    """The last line of the NEB table LAMMPS writes to log.lammps (the climbing stage's final iteration)."""
    header, row, climber = None, None, None
    for line in log.read_text(errors="replace").splitlines():
        words = line.split()
        if words[:2] == ["Step", "MaxReplicaForce"]:
            header = words
        elif line.startswith("Climbing replica"):
            climber = int(words[-1])
        elif header and len(words) == len(header) and words[0].isdigit():
            row = dict(zip(header, map(float, words)))
    if row is None or climber is None:
        raise RuntimeError(f"{log}: no climbing-image NEB table (the neb command did not finish)")
    n = (len(header) - 9) // 2
    return {"step": int(row["Step"]), "max_replica_force": row["MaxReplicaForce"], "ebf": row["EBF"], "ebr": row["EBR"],
            "rdt": row["RDT"], "rd": [row[f"RD{i}"] for i in range(1, n + 1)], "pe": [row[f"PE{i}"] for i in range(1, n + 1)],
            "climbing_replica": climber}


def hop_result(hop: dict, res: dict, ftol: float) -> dict:
    t = neb_table(Path(res["_folder"]) / "log.lammps")
    return {
        "name": hop["name"], "kind": hop["kind"], "solute": hop["solute"]["element"] if hop["solute"] else None, "shell": hop["shell"],
        "title": hop["title"], "E_forward_eV": t["ebf"], "E_backward_eV": t["ebr"],
        "E_initial_eV": res["E_initial_eV"], "E_final_eV": res["E_final_eV"], "dE_eV": res["E_final_eV"] - res["E_initial_eV"],
        "path_length_A": t["rdt"], "reaction_coordinate": t["rd"], "energy_eV": [round(e - t["pe"][0], 6) for e in t["pe"]],
        "climbing_replica": t["climbing_replica"], "iterations": t["step"], "max_replica_force_eV_A": t["max_replica_force"],
        "converged": t["max_replica_force"] <= ftol, "natoms": int(res["natoms"]) - 1,
    }


def _potential_name(results) -> str:
    """The potential whose results these are: the folder above the task names (analyze gets one potential's tasks)."""
    task, res = next(iter(results.items()))
    return Path(res["_folder"]).parents[len(Path(task).parts) - 1].name


def analyze(study, results) -> dict:
    s = study.settings
    out, table = {}, {}
    for hop in hops(study, _potential_name(results)):
        r = table[hop["name"]] = hop_result(hop, results[hop["name"]], s["ftol"])
        key = hop["name"].replace("/", "_")
        out[f"E_{key}_eV"] = r["E_forward_eV"]
        if hop["kind"] == "w3" and "w4" in s["hops"]:  # association: the same path walked backwards
            out[f"E_{key.replace('w3', 'w4')}_eV"] = r["E_backward_eV"]
    if "w0" in table:
        vac = results["vacancy"]
        e_f = vac["E_def_1_eV"] - (vac["natoms"] - 1) / vac["natoms"] * vac["E_perfect_eV"]  # pure host: mu = E_perfect / N
        out = {"E_vac_f_eV": e_f, "E_m_eV": table["w0"]["E_forward_eV"], "Q_eV": e_f + table["w0"]["E_forward_eV"], **out,
               "a0_A": structures.lattice_parameter("fcc", vac["vol_A3"] / vac["natoms"])}
    out.update({"host": host(study), "solutes": solutes_of(study, _potential_name(results)), "replicas": s["replicas"],
                "all_converged": all(r["converged"] for r in table.values()), "hops": table})
    return out


def rows(summary) -> list[dict]:
    keys = ["kind", "solute", "shell", "E_forward_eV", "E_backward_eV", "dE_eV", "path_length_A", "converged"]
    return [{"potential": name, "hop": hop, **{k: r[k] for k in keys}} for name, res in summary.items() for hop, r in res["hops"].items()]


def plot(summary, path) -> None:
    """One panel per hop: energy along the converged path (distance along it in A), one colour per potential."""
    names = list(dict.fromkeys(h for res in summary.values() for h in res["hops"]))
    ncols = min(len(names), 5)
    nrows = -(-len(names) // ncols)
    fig, axes = plotting.plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False)
    colors = plotting.colors(summary)
    for ax, hop in zip(axes.flat, names):
        for name, res in summary.items():
            r = res["hops"].get(hop)
            if r is None:
                continue
            x = np.array(r["reaction_coordinate"]) * r["path_length_A"]
            ax.plot(x, r["energy_eV"], "o-", ms=3, color=colors[name], label=f"{name}: {r['E_forward_eV']:.3f} eV")
        ax.set_title(hop, fontsize=9)
        ax.set_xlabel("path length (A)", fontsize=8)
        ax.set_ylabel("E - E_initial (eV)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Vacancy migration: climbing-image NEB")
    plotting.save(fig, path)
