"""Chemical order vs temperature and Ni %, by Monte Carlo swaps of unlike atoms (LAMMPS fix atom/swap).
Template: templates/ordering.lmp.j2      Analysis: analysis/ordering.py      Theory note: docs/theory/ordering.md

material.composition is a binary Ni-X ({Ni: 75, Al: 25}); settings.ni_percent lists the Ni at.% of each point. One
task per (composition, temperature) on a cubic fcc supercell of `repeats`^3 conventional cells (material.atoms),
started ordered (the L1_2 geometry with X on the cube corners first, the rest at random: Ni3X exactly at 75 %) or as
a random solid solution (start: random). The box first relaxes to zero pressure with the atoms held on their sites,
then
- md: true   hybrid MC/MD: Nose-Hoover NPT at zero pressure, a round of swaps every `swap_every` MD steps;
- md: false  rigid lattice: no time integration, the atoms stay on the ideal sites of the start, every step is one
             swap round (an Ising-like lattice MC on the potential's energies; it can go above the melting point).
Each round tries `swaps_per_atom` x N swaps (Metropolis at T, whole-cell energy). After `equilibration_steps` the
production (`steps`) dumps the configuration every `dump_every` steps. Per frame: Warren-Cowley first-shell SRO of
every pair (mdapy), the L1_2 order parameter eta of X (atoms mapped to their nearest ideal site), the fraction of
atoms alone on a site (a molten cell loses it); means with block-average standard errors over `blocks` blocks.
Per composition: T_c where eta(T) falls through 0.5 (interpolated; error from the eta errors and the spacing), using
the crystalline temperatures only: a cell that melts first gives a bound, "ordered up to melting".
"""
from __future__ import annotations

import numpy as np

from pylmp import structures
from pylmp.analysis import ordering, plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task

DEFAULTS = {
    "ni_percent": [75.0],         # Ni at.% of each composition (material.composition's other element makes up the rest)
    "temperatures": [600.0, 1200.0, 1800.0],
    "md": True,                   # false: rigid-lattice MC (swaps only, no time integration)
    "start": "ordered",           # ordered (L1_2 occupation first) or random (random fcc solid solution)
    "timestep": 0.002,            # ps (metal units)
    "equilibration_steps": 4000,  # MD steps, or swap rounds on the rigid lattice; not analysed
    "steps": 8000,                # production, analysed
    "swap_every": 10,             # MD steps between swap rounds (the rigid lattice swaps every step)
    "swaps_per_atom": 0.1,        # attempts per round per atom
    "dump_every": 400,
    "blocks": 5,                  # block averages over the production frames
}
TEMPLATE = "ordering.lmp.j2"
VELOCITY_SEED_BASE = 4928459  # LAMMPS wants positive seeds; material.seed shifts them
SWAP_SEED_BASE = 7214381
ETA_LEVEL = 0.5
TC_METHOD = ("T where eta(T) first falls through 0.5, linear interpolation between the bracketing crystalline "
             "temperatures; error: eta block errors propagated, in quadrature with the spacing / sqrt(12)")


def solute(study) -> str:
    return next(el for el in study.composition if el != "Ni")


def check(study) -> None:
    s, src = study.settings, study.source
    if study.lattice != "fcc" or "Ni" not in study.composition or len(study.composition) != 2:
        raise PylmpError(f"{src}: workflow 'ordering' needs an fcc Ni-X binary, e.g. lattice: fcc, composition: {{Ni: 75, Al: 25}}")
    if not s["ni_percent"] or any(not 0 < p < 100 for p in s["ni_percent"]) or len(set(s["ni_percent"])) != len(s["ni_percent"]):
        raise PylmpError(f"{src}: settings.ni_percent must list distinct Ni at.% strictly between 0 and 100, e.g. [73, 75, 77]")
    if s["start"] not in ("ordered", "random"):
        raise PylmpError(f"{src}: settings.start must be ordered (L1_2 occupation) or random (solid solution), got {s['start']!r}")
    check_sampling(s, src)


def check_sampling(s: dict, src) -> None:
    """The temperature list and the MC/MD run lengths (shared with gb_segregation_mc)."""
    temps = s["temperatures"]
    if not temps or min(temps) <= 0 or len(set(temps)) != len(temps):
        raise PylmpError(f"{src}: settings.temperatures must list distinct temperatures above 0 K, e.g. [600, 1200, 1800]")
    if s.get("md", True) and not 0 < s["timestep"] <= 0.01:
        raise PylmpError(f"{src}: settings.timestep must be between 0 and 0.01 ps (metal units; 0.002 for Ni-Al)")
    if s["swap_every"] < 1 or s["swaps_per_atom"] <= 0 or s["blocks"] < 2 or s["equilibration_steps"] < 0:
        raise PylmpError(f"{src}: settings.swap_every must be >= 1, swaps_per_atom > 0, blocks >= 2, equilibration_steps >= 0")
    if s["dump_every"] < 1 or s["steps"] < s["blocks"] * s["dump_every"] or s["steps"] % s["dump_every"]:
        raise PylmpError(f"{src}: settings.steps must be a multiple of dump_every with at least `blocks` frames "
                         f"(steps >= {s['blocks']} x dump_every)")


def composition_at(study, ni: float) -> dict[str, float]:
    return {"Ni": ni, solute(study): 100.0 - ni}


def repeats(study) -> int:
    return structures.repeats_for(study.atoms, 4)


def start_cell(study, ni: float):
    """Cubic supercell of L1_2 geometry at material.a: ordered (X on the cube corners first, then random face sites) or
    a random solid solution."""
    x = solute(study)
    cell = structures.l12_cell("Ni", x, study.a).repeat(repeats(study))
    counts = structures.exact_counts(composition_at(study, ni), len(cell))
    if study.settings["start"] == "random":
        return structures.randomize(cell, composition_at(study, ni), study.seed)
    corner = np.array(cell.get_chemical_symbols()) == x
    rng = np.random.default_rng(study.seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(corner)), rng.permutation(np.flatnonzero(~corner))])
    symbols = np.full(len(cell), "Ni", dtype=object)
    symbols[order[:counts[x]]] = x
    cell.set_chemical_symbols(list(symbols))
    return cell


def task_name(ni: float, t: float) -> str:
    return f"Ni{ni:g}/T{t:g}K"


def pair_names(study) -> list[str]:
    return [f"Ni_{solute(study)}"]


def variables(s: dict, natoms: int, tmap: list[str], pair_list: list[str], seed: int) -> dict:
    """The template's variables but the temperature (also used by the gb_segregation_mc workflow)."""
    pairs = [{"name": name, "types": [tmap.index(el) + 1 for el in name.split("_")]} for name in pair_list]
    round_every = s["swap_every"] if s["md"] else 1
    return {
        "md": s["md"], "timestep": s["timestep"], "equilibration_steps": s["equilibration_steps"], "steps": s["steps"],
        "round_every": round_every, "swaps_per_round": max(1, round(s["swaps_per_atom"] * natoms)),
        "dump_every": s["dump_every"], "sample_every": round_every if s["steps"] % round_every == 0 else 1,
        "thermo_every": max(1, (s["equilibration_steps"] + s["steps"]) // 20), "box_mode": "aniso",
        "seed": VELOCITY_SEED_BASE + seed, "swap_seed": SWAP_SEED_BASE + seed, "pairs": pairs,
        "result_keys": [f"{k}_{p['name']}" for p in pairs for k in ("attempts", "accepted")],
    }


def tasks(study, potential) -> list[Task]:
    s = study.settings
    out = []
    for ni in s["ni_percent"]:
        cell = start_cell(study, ni)
        common = variables(s, len(cell), study.elements, pair_names(study), study.seed)
        out += [Task(task_name(ni, t), TEMPLATE, cell, potential, study.elements, {**common, "temperature": t})
                for t in s["temperatures"]]
    return out


def series(folder) -> np.ndarray:
    """series.dat rows: step, pe, vol, then attempted and accepted swaps per pair (cumulative)."""
    return np.atleast_2d(np.loadtxt(folder / "series.dat", comments="#"))


def analyze_task(study, result: dict) -> dict:
    from pathlib import Path

    folder = Path(result["_folder"])
    n, x, s = int(result["natoms"]), solute(study), study.settings
    per_frame, counts = [], set()
    for step, pos, cell, origin, scaled, symbols in ordering.read_frames(folder / "dump.ordering.lammpstrj"):
        if step == 0:
            continue  # the last equilibration configuration
        values, elements = np.unique(symbols, return_counts=True)
        counts.add(tuple(zip(values.tolist(), elements.tolist())))
        row = {f"sro_{k}": v for k, v in ordering.warren_cowley(pos, cell, symbols, origin).items()}
        row.update(ordering.long_range_order(scaled, symbols, repeats(study), x))
        per_frame.append(row)
    if len(counts) != 1:
        raise RuntimeError(f"{folder}: the atom counts changed between frames ({sorted(counts)}); swaps must conserve them")
    table = series(folder)
    pe = table[table[:, 0] > 0, 1] / n
    out = {"T_set_K": None, "frames": len(per_frame), "T_mean_K": result["T_mean_K"], "counts": dict(next(iter(counts))),
           "pe_start_eV_per_atom": result["pe_start_eV"] / n, "vol_mean_A3_per_atom": result["vol_mean_A3"] / n}
    out["pe_eV_per_atom"], out["pe_se_eV_per_atom"] = ordering.block_average(pe, s["blocks"])
    for key in [k for k in per_frame[0] if k.startswith("sro_")] + ["eta", "on_site_fraction"]:
        out[key], out[f"{key}_se"] = ordering.block_average([r[key] for r in per_frame], s["blocks"])
    out["p_sublattice"] = np.mean([r["p_sublattice"] for r in per_frame], axis=0).tolist()
    for pair in pair_names(study):
        tried = result[f"attempts_{pair}"]
        out[f"acceptance_{pair}"] = result[f"accepted_{pair}"] / tried if tried else None
    out["sweeps"] = sum(result[f"attempts_{p}"] for p in pair_names(study)) / n  # production swap attempts per atom
    out["crystalline"] = bool(out["on_site_fraction"] > ordering.CRYSTAL_ON_SITE)
    return out


def analyze(study, results) -> dict:
    s = study.settings
    temps = sorted(s["temperatures"])
    x = solute(study)
    sro_key = f"sro_Ni-{x}"
    out = {"mode": "hybrid MC/MD (NPT)" if s["md"] else "rigid-lattice MC", "md": s["md"], "start": s["start"],
           "solute": x, "natoms": int(results[task_name(s["ni_percent"][0], temps[0])]["natoms"]), "Tc_method": TC_METHOD,
           "compositions": {}}
    for ni in sorted(s["ni_percent"]):
        per_t = []
        for t in temps:
            v = analyze_task(study, results[task_name(ni, t)])
            v["T_set_K"] = t
            per_t.append(v)
        keys = ["T_set_K", "T_mean_K", "eta", "eta_se", sro_key, f"{sro_key}_se", "pe_eV_per_atom", "pe_se_eV_per_atom",
                "on_site_fraction", "crystalline", f"acceptance_Ni_{x}", "vol_mean_A3_per_atom"]
        curve = {k: [v[k] for v in per_t] for k in keys}
        molten = [t for t, ok in zip(temps, curve["crystalline"]) if not ok]
        solid = [k for k, t in enumerate(temps) if not molten or t < molten[0]]
        tc = ordering.transition_temperature([temps[k] for k in solid], [curve["eta"][k] for k in solid],
                                             [curve["eta_se"][k] for k in solid], ETA_LEVEL) if solid else {"Tc_K": None}
        tc["melted_at_K"] = molten[0] if molten else None
        name = f"Ni{ni:g}"
        out["compositions"][name] = {"ni_percent": ni, **curve, "Tc": tc, "per_T": per_t}
        out[f"Tc_{name}_K"] = tc["Tc_K"]
        out[f"Tc_err_{name}_K"] = tc.get("Tc_err_K")
        if tc["Tc_K"] is None and "Tc_above_K" in tc:
            out[f"Tc_above_{name}_K"] = tc["Tc_above_K"]  # ordered at every crystalline temperature: a lower bound
    return out


def rows(summary) -> list[dict]:
    out = []
    for name, res in summary.items():
        for comp in res["compositions"].values():
            for v in comp["per_T"]:
                row = {"potential": name, "mode": res["mode"], "start": res["start"], "ni_percent": comp["ni_percent"],
                       "T_set_K": v["T_set_K"], "T_mean_K": v["T_mean_K"], "eta": v["eta"], "eta_se": v["eta_se"]}
                row.update({k: x for k, x in v.items() if k.startswith(("sro_", "acceptance_"))})
                row.update({k: v[k] for k in ("pe_eV_per_atom", "pe_se_eV_per_atom", "on_site_fraction", "crystalline", "sweeps")})
                row["Tc_K"], row["Tc_err_K"] = comp["Tc"]["Tc_K"], comp["Tc"].get("Tc_err_K")
                out.append(row)
    return out


def plot(summary, path) -> None:
    """eta(T) and SRO_Ni-X(T) with their block-average error bars; colour = composition, marker = potential; open
    markers: the cell melted (MD); a dotted line at T_c."""
    fig, (ax_eta, ax_sro) = plotting.figure(ncols=2)
    names = sorted({c for res in summary.values() for c in res["compositions"]})
    colors = plotting.colors(names)
    for mk, (pot, res) in zip("osD^v<>", summary.items()):
        key = f"sro_Ni-{res['solute']}"
        for cname, c in res["compositions"].items():
            label = f"{pot} {cname} ({res['mode']})"
            for ax, y, err in ((ax_eta, c["eta"], c["eta_se"]), (ax_sro, c[key], c[f"{key}_se"])):
                ax.errorbar(c["T_set_K"], y, yerr=[e or 0.0 for e in err], fmt=mk + "-", color=colors[cname], capsize=3,
                            label=label, ms=5)
                molten = [k for k, ok in enumerate(c["crystalline"]) if not ok]
                ax.plot([c["T_set_K"][k] for k in molten], [y[k] for k in molten], mk, mfc="white", color=colors[cname], ms=8)
            if c["Tc"]["Tc_K"] is not None:
                ax_eta.axvline(c["Tc"]["Tc_K"], color=colors[cname], ls=":", lw=1)
    ax_eta.axhline(ETA_LEVEL, color="gray", lw=0.8)
    ax_eta.set(xlabel="T (K)", ylabel="L1$_2$ long-range order eta", title="Long-range order (dotted: T$_c$)")
    ax_sro.axhline(-1 / 3, color="gray", lw=0.8, ls="--")
    ax_sro.axhline(0.0, color="k", lw=0.8)
    ax_sro.set(xlabel="T (K)", ylabel="Warren-Cowley alpha (1st shell)", title="Short-range order Ni-X (dashed: L1$_2$, -1/3)")
    for ax in (ax_eta, ax_sro):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    plotting.save(fig, path)
