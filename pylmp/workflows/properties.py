"""Property benchmark of fcc Ni: one table per study, each potential next to experiment and DFT.

For every potential the study computes a0 and B (eos), C11/C12/C44 (elastic), the relaxed vacancy formation
energy (vacancy), gamma_isf and gamma_usf (gsfe: the first stage of the <112> path in the tilted periodic cell)
and the (111)/(100)/(110) surface energies (surface), by running those workflows' own tasks and analyses on
sub-studies (task folders `<workflow>/...` below each potential). Nothing is recomputed here: the physics, the
templates and the conventions are the other workflows'. `settings.<workflow>` overrides their settings for
this study (plus `atoms`, the cell size of eos/elastic/vacancy); `settings.properties` picks the properties,
and only the sub-studies they need run.

Reference values come from a data file (settings.references, default data/reference/ni_properties.yaml): each
with its kind (experiment / DFT + functional), source and conditions. The project's own PBE numbers are read
from settings.dft (data/dft/ni_pbe_faults.json) at run time, so the table follows the DFT data as it grows.
Deviation = 100 (value - reference) / reference, against the first experimental value and the first DFT
value of settings.dft_functional; each potential's mean absolute percent deviation (MAPD) over the properties
with a reference ranks the potentials (CSV rows `MAPD ...` and `rank ...`, figure titles).

results.json per potential: the property values (`a0_A`, `B_GPa`, `C11_GPa`, `C12_GPa`, `C44_GPa`,
`E_vac_f_eV`, `gamma_isf_mJ_m2`, `gamma_usf_mJ_m2`, `E_surf_<hkl>_mJ_m2`), `deviation_pct.experiment.<key>`,
`deviation_pct.dft.<key>`, `mapd_experiment_pct`, `mapd_dft_pct`, `reference` (the values used and their
sources) and `details.<workflow>` (every scalar of the sub-study analyses, e.g. the eos's relaxed a0).

A later potential (e.g. a fine-tuned model deployed as a registry entry) joins with `-p NAME`. Two runs'
tables, e.g. before and after fine-tuning (another engineer's `pylmp finetune` calls these):

    from pylmp.workflows import properties
    rows = properties.compare(json.load(open("runs/before/results.json")), json.load(open("runs/after/results.json")))
    properties.plot_compare(rows, Path("before_after.png"))

compare() pairs potentials of the same name, or the only potential of each run when the names differ
(`sevennet-0` -> `my-finetuned`); `pairs=[(before_name, after_name), ...]` chooses explicitly.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import yaml

from pylmp import faults, paths, spec
from pylmp.analysis import plotting
from pylmp.errors import PylmpError
from pylmp.launch import Task
from pylmp.workflows import elastic, eos, gsfe, gsfe_pure, gsfe_shifts, surface, vacancy

# name: (sub-workflow, results key, unit)
PROPERTIES = {
    "a0": ("eos", "a0_A", "A"), "B": ("eos", "B_GPa", "GPa"),
    "C11": ("elastic", "C11_GPa", "GPa"), "C12": ("elastic", "C12_GPa", "GPa"), "C44": ("elastic", "C44_GPa", "GPa"),
    "E_vac": ("vacancy", "E_vac_f_eV", "eV"),
    "gamma_isf": ("gsfe", "gamma_isf_mJ_m2", "mJ/m2"), "gamma_usf": ("gsfe", "gamma_usf_mJ_m2", "mJ/m2"),
    "E_surf_111": ("surface", "E_surf_111_mJ_m2", "mJ/m2"), "E_surf_100": ("surface", "E_surf_100_mJ_m2", "mJ/m2"),
    "E_surf_110": ("surface", "E_surf_110_mJ_m2", "mJ/m2"),
}
SUBWORKFLOWS = {"eos": eos, "elastic": elastic, "vacancy": vacancy, "gsfe": gsfe, "surface": surface}
# this study's defaults for the sub-studies (small cells: the ML models must finish too); `atoms` = material.atoms
SUB_DEFAULTS = {"eos": {"atoms": 32}, "elastic": {"atoms": 32}, "vacancy": {"atoms": 108},
                "gsfe": {"layers": 12, "points": 11, "dumps": False}, "surface": {"layers": [12], "dumps": False}}
CELL_SIZED = ("eos", "elastic", "vacancy")  # sub-studies whose cell is material.atoms
DEFAULTS = {"properties": list(PROPERTIES), "references": "data/reference/ni_properties.yaml",
            "dft": "data/dft/ni_pbe_faults.json", "dft_functional": "PBE", **{k: {} for k in SUBWORKFLOWS}}
KINDS = ("experiment", "dft")


# ------------------------------------------------------------------ input: properties, sub-studies, references

def selected(study) -> list[str]:
    names = study.settings["properties"]
    return [names] if isinstance(names, str) else list(names)


def sub_study(study, name: str):
    """The sub-study of workflow `name`: the study with that workflow's settings (its defaults < ours < the user's)."""
    wf = SUBWORKFLOWS[name]
    user = dict(study.settings[name] or {})
    merged = {**wf.DEFAULTS, **SUB_DEFAULTS[name], **user}
    atoms = int(merged.pop("atoms", study.atoms))
    if name == "surface":  # only the faces asked for (settings.properties decides, not settings.surface.faces)
        merged["faces"] = [p.split("_")[-1] for p in selected(study) if p.startswith("E_surf_")]
    return dataclasses.replace(study, workflow=name, settings=merged, atoms=atoms)


def needed(study) -> list[str]:
    return list(dict.fromkeys(PROPERTIES[p][0] for p in selected(study)))


def check(study) -> None:
    s, src = study.settings, study.source
    for name in selected(study):
        if name not in PROPERTIES:
            raise PylmpError(f"{src}: settings.properties: unknown property '{name}'; choose from {', '.join(PROPERTIES)}")
    if not selected(study):
        raise PylmpError(f"{src}: settings.properties is empty; list some of {', '.join(PROPERTIES)}")
    refs = load_references(s["references"], s["dft"])
    present = study.present_elements
    if study.lattice != refs["lattice"] or present != [refs["element"]]:
        raise PylmpError(f"{src}: the references in {s['references']} are for {refs['lattice']} {refs['element']}; set material.lattice: "
                         f"{refs['lattice']} and composition: {{{refs['element']}: 100}}, or give settings.references for this material")
    for name, wf in SUBWORKFLOWS.items():
        sub = s[name] or {}
        if not isinstance(sub, dict):
            raise PylmpError(f"{src}: settings.{name} must be a mapping of {name} settings, e.g. {{atoms: 108}}")
        allowed = {**wf.DEFAULTS, **({"atoms": study.atoms} if name in CELL_SIZED else {})}
        try:
            spec._check_keys(sub, allowed, f"settings.{name}", src)
            typed = spec._typed_settings({**allowed, **sub}, allowed, src)
            s[name] = {k: typed[k] for k in sub}
            if name in needed(study):
                wf.check(sub_study(study, name))
        except PylmpError as exc:  # name the setting as it is written in this study
            raise PylmpError(str(exc).replace("settings.", f"settings.{name}.").replace(f"settings.{name}.{name}", f"settings.{name}")) from None


def load_references(path: str, dft_json: str) -> dict:
    """The reference file with every `project_json` entry resolved to a value (or dropped when the JSON lacks it).

    Returns {"element", "lattice", "properties": {name: {"unit", "values": [{value, kind, functional, source, conditions}]}}}."""
    file = paths.project_file(path)
    if not file.is_file():
        raise PylmpError(f"reference file {file} not found; settings.references names a YAML file like data/reference/ni_properties.yaml")
    raw = yaml.safe_load(file.read_text()) or {}
    project = json.loads(paths.project_file(dft_json).read_text()) if paths.project_file(dft_json).is_file() else {}
    out = {"element": raw.get("element"), "lattice": raw.get("lattice", "fcc"), "properties": {}}
    for name, prop in (raw.get("properties") or {}).items():
        values = []
        for i, v in enumerate(prop.get("values") or []):
            where = f"{file}: properties.{name}.values[{i}]"
            if v.get("kind") not in KINDS or not v.get("source") or (v["kind"] == "dft" and not v.get("functional")):
                raise PylmpError(f"{where}: each value needs kind (experiment or dft), source, and for dft a functional")
            if "project_json" in v:
                v = _from_project(v, project, dft_json)
                if v is None:
                    continue
            if not isinstance(v.get("value"), (int, float)):
                raise PylmpError(f"{where}: value must be a number, got {v.get('value')!r}")
            values.append({"value": float(v["value"]), "kind": v["kind"], "functional": v.get("functional", ""),
                           "source": v["source"], "conditions": v.get("conditions", "")})
        out["properties"][name] = {"unit": prop.get("unit", ""), "values": values}
    return out


def _from_project(entry: dict, project: dict, dft_json: str) -> dict | None:
    """The first dotted key of `project_json` present in the project's DFT JSON, as an ordinary reference value."""
    for option in entry["project_json"]:
        node = project
        for part in option["key"].split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, (int, float)):
            return {**{k: v for k, v in entry.items() if k != "project_json"}, "value": node,
                    "conditions": option.get("conditions", ""), "source": f"{entry['source']}, key {option['key']}"}
    return None


def chosen_references(refs: dict, functional: str) -> dict:
    """{property: {"experiment": value dict | None, "dft": value dict | None}}: the first of each kind (DFT: of `functional`)."""
    out = {}
    for name, prop in refs["properties"].items():
        exp = [v for v in prop["values"] if v["kind"] == "experiment"]
        dft = [v for v in prop["values"] if v["kind"] == "dft" and v["functional"] == functional]
        out[name] = {"experiment": exp[0] if exp else None, "dft": dft[0] if dft else None}
    return out


def deviation_pct(value: float, reference: float) -> float:
    return 100.0 * (value - reference) / reference


# ------------------------------------------------------------------ tasks and analysis: the other workflows' own

def gsfe_stage1_task(sub, potential) -> Task:
    """The <112> path up to the intrinsic fault (usf, isf) in the tilted periodic cell: the gsfe workflow's own
    points, groups and template, only its first stage (the esf and twin stages are not in the table)."""
    s = sub.settings
    points = [p for p in gsfe_pure.path_points("112", "periodic", s) if p["stage"] == 1]
    variables = gsfe_shifts.template_variables(sub, "periodic", gsfe_pure.PATHS["112"] + ", first stage", tuple(s["repeat"]),
                                               points, gsfe_pure.plane_groups("periodic", s))
    cell = faults.fcc111_cell(sub.present_elements[0], sub.a, s["layers"], tuple(s["repeat"]))
    return Task("periodic/112_stage1", "gsfe.lmp.j2", cell, potential, sub.elements, variables)


def gsfe_stage1_analyze(sub, results) -> dict:
    """usf and isf as the gsfe workflow reports them for the periodic cell (gsfe_pure.fault_energies' definitions)."""
    res = results["periodic/112_stage1"]
    points = [p for p in gsfe_pure.path_points("112", "periodic", sub.settings) if p["stage"] == 1]
    x = np.array([p["disp_bp"] for p in points])
    g = gsfe_shifts.gamma_of(res, [p["k"] for p in points])
    return {"gamma_usf_mJ_m2": gsfe_shifts.peak(x, g), "gamma_isf_mJ_m2": float(g[np.argmin(abs(x - 1.0))]),
            "a0_A": res["a0_A"], "natoms": int(res["natoms"]), "curve": {"disp_bp": x.tolist(), "gamma_mJ_m2": g.tolist()}}


def tasks(study, potential) -> list[Task]:
    out = []
    for name in needed(study):
        sub = sub_study(study, name)
        for task in ([gsfe_stage1_task(sub, potential)] if name == "gsfe" else SUBWORKFLOWS[name].tasks(sub, potential)):
            task.name = f"{name}/{task.name}"
            out.append(task)
    return out


def analyze(study, results) -> dict:
    details = {}
    for name in needed(study):
        mine = {k.split("/", 1)[1]: v for k, v in results.items() if k.split("/", 1)[0] == name}
        sub = sub_study(study, name)
        details[name] = gsfe_stage1_analyze(sub, mine) if name == "gsfe" else SUBWORKFLOWS[name].analyze(sub, mine)
    refs = chosen_references(load_references(study.settings["references"], study.settings["dft"]), study.settings["dft_functional"])
    out, dev, used = {}, {k: {} for k in KINDS}, {}
    for prop in selected(study):
        wf, key, unit = PROPERTIES[prop]
        out[key] = float(details[wf][key])
        used[key] = {"unit": unit}
        for kind in KINDS:
            ref = refs.get(prop, {}).get(kind)
            if ref:
                dev[kind][key] = deviation_pct(out[key], ref["value"])
                used[key][kind] = ref["value"]
                used[key][f"{kind}_source"] = f"{ref['source']}; {ref['conditions']}" + (f"; {ref['functional']}" if kind == "dft" else "")
    for kind in KINDS:
        out[f"mapd_{kind}_pct"] = float(np.mean(np.abs(list(dev[kind].values())))) if dev[kind] else None
        out[f"n_{kind}"] = len(dev[kind])
    out.update({"deviation_pct": dev, "dft_functional": study.settings["dft_functional"], "reference": used,
                "details": {wf: {k: v for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                            for wf, d in details.items()}})
    return out


# ------------------------------------------------------------------ table, CSV, figures (from results.json alone)

def property_keys(summary) -> list[str]:
    """Property keys present in the results, in PROPERTIES order."""
    keys = [PROPERTIES[p][1] for p in PROPERTIES]
    return [k for k in keys if any(k in res for res in summary.values())]


def ranking(summary, kind: str) -> list[tuple[str, float]]:
    """(potential, MAPD) best first, for potentials with at least one reference of this kind."""
    scored = [(name, res[f"mapd_{kind}_pct"]) for name, res in summary.items() if res.get(f"mapd_{kind}_pct") is not None]
    return sorted(scored, key=lambda t: t[1])


def rows(summary) -> list[dict]:
    """One row per property: the references with their sources, then each potential's value and deviations;
    then the MAPD and rank rows."""
    out = []
    for key in property_keys(summary):
        ref = next(res["reference"][key] for res in summary.values() if key in res)
        row = {"property": key, "unit": ref["unit"], "experiment": ref.get("experiment"), "dft": ref.get("dft")}
        for name, res in summary.items():
            row[name] = res.get(key)
            for kind in KINDS:
                row[f"{name} vs {kind} (%)"] = res["deviation_pct"][kind].get(key)
        row.update({"experiment_source": ref.get("experiment_source"), "dft_source": ref.get("dft_source")})
        out.append(row)
    for kind in KINDS:
        ranked = dict(ranking(summary, kind))
        out.append({"property": f"MAPD vs {kind} (%)", **{n: ranked.get(n) for n in summary}})
        out.append({"property": f"rank vs {kind}", **{n: i + 1 for i, n in enumerate(ranked)}})
    return out


def markdown(summary) -> str:
    """The table as Markdown: value (deviation vs experiment / vs DFT) per potential, MAPD and rank at the bottom."""
    names = list(summary)
    fmt = lambda x: "-" if x is None else f"{x:.4g}"
    pct = lambda x: "" if x is None else (f"{x:+.1f}%" if abs(x) < 10 else f"{x:+.0f}%")
    lines = ["| property | experiment | DFT | " + " | ".join(names) + " |", "|---" * (3 + len(names)) + "|"]
    for key in property_keys(summary):
        ref = next(res["reference"][key] for res in summary.values() if key in res)
        cells = []
        for n in names:
            res = summary[n]
            devs = " / ".join(pct(res["deviation_pct"][k].get(key)) or "-" for k in KINDS)
            cells.append(f"{fmt(res.get(key))} ({devs})" if key in res else "-")
        lines.append(f"| {key} | {fmt(ref.get('experiment'))} | {fmt(ref.get('dft'))} | " + " | ".join(cells) + " |")
    for kind in KINDS:
        ranked = ranking(summary, kind)
        place = {n: i + 1 for i, (n, _) in enumerate(ranked)}
        lines.append(f"| MAPD vs {kind} (rank) | | | " + " | ".join(
            f"{summary[n][f'mapd_{kind}_pct']:.1f}% ({place[n]})" if n in place else "-" for n in names) + " |")
    return "\n".join(lines) + "\n"


def _bars(ax, groups: list[str], series: dict[str, list], colors: dict, labels: dict, ylabel: str, title: str) -> None:
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, (name, values) in enumerate(series.items()):
        v = np.array([np.nan if y is None else y for y in values], dtype=float)
        ax.bar(x - 0.4 + width * (i + 0.5), v, width, color=colors[name], label=labels[name])
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(x, [g.replace("_mJ_m2", "").replace("_GPa", "").replace("_eV", "").replace("_A", "") for g in groups],
                  rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)


def plot(summary, path) -> None:
    """Percent deviation per property (groups) and potential (bars): left vs experiment, right vs DFT; the legend
    ranks the potentials by mean absolute percent deviation. Also writes the Markdown table (properties.md)."""
    colors = plotting.colors(summary)
    functional = next(iter(summary.values())).get("dft_functional", "")
    referenced = max(len(res["deviation_pct"][k]) for res in summary.values() for k in KINDS)
    fig, axes = plotting.figure(ncols=2, width=min(10.0, max(5.0, 0.25 * referenced * len(summary) + 2)), height=4.5)
    for ax, kind in zip(axes, KINDS):
        keys = [k for k in property_keys(summary) if any(k in res["deviation_pct"][kind] for res in summary.values())]
        ranked = ranking(summary, kind)
        order = [n for n, _ in ranked] + [n for n in summary if n not in dict(ranked)]
        series = {n: [summary[n]["deviation_pct"][kind].get(k) for k in keys] for n in order}
        labels = {n: f"{i + 1}. {n}: mean |dev| {m:.0f}%" for i, (n, m) in enumerate(ranked)}
        _bars(ax, keys, series, colors, {n: labels.get(n, n) for n in order}, f"deviation from {kind} (%)",
              f"vs {'DFT (' + functional + ')' if kind == 'dft' else 'experiment'}")
    plotting.save(fig, path)
    Path(path).with_suffix(".md").write_text(markdown(summary))


def compare(before_results: dict, after_results: dict, pairs: list[tuple[str, str]] | None = None) -> list[dict]:
    """Rows comparing two runs' results.json (e.g. before/after fine-tuning): per pair of potentials and property,
    both values, both deviations vs experiment and DFT, and whether |deviation| shrank. MAPD rows at the end."""
    before = {n: r for n, r in before_results.items() if "error" not in r}
    after = {n: r for n, r in after_results.items() if "error" not in r}
    if pairs is None:
        pairs = [(n, n) for n in before if n in after]
        if not pairs and len(before) == 1 and len(after) == 1:
            pairs = [(next(iter(before)), next(iter(after)))]
    for b, a in pairs:
        if b not in before or a not in after:
            raise PylmpError(f"compare: potential '{b}' (before) or '{a}' (after) has no finished results; "
                             f"before has {', '.join(before) or 'none'}, after has {', '.join(after) or 'none'}")
    out = []
    for b, a in pairs:
        rb, ra = before[b], after[a]
        for key in property_keys({b: rb, a: ra}):
            if key not in rb or key not in ra:
                continue
            ref = ra["reference"][key]
            row = {"before": b, "after": a, "property": key, "unit": ref["unit"], "experiment": ref.get("experiment"),
                   "dft": ref.get("dft"), "value_before": rb[key], "value_after": ra[key], "change": ra[key] - rb[key]}
            for kind in KINDS:
                db, da = rb["deviation_pct"][kind].get(key), ra["deviation_pct"][kind].get(key)
                row[f"{kind}_dev_before_pct"], row[f"{kind}_dev_after_pct"] = db, da
                row[f"closer_to_{kind}"] = None if db is None or da is None else abs(da) < abs(db)
            out.append(row)
        for kind in KINDS:
            out.append({"before": b, "after": a, "property": f"MAPD vs {kind} (%)", "value_before": rb.get(f"mapd_{kind}_pct"),
                        "value_after": ra.get(f"mapd_{kind}_pct")})
    return out


def plot_compare(rows_: list[dict], path: Path) -> None:
    """Deviation vs experiment (left) and DFT (right) per property, before and after, one pair of bars each."""
    props = [r for r in rows_ if not r["property"].startswith("MAPD")]
    labels = list(dict.fromkeys(f"{r['before']} -> {r['after']}" for r in props))
    fig, axes = plotting.figure(ncols=2, width=max(5.0, 0.7 * len({r["property"] for r in props}) * len(labels) + 2), height=4.5)
    for ax, kind in zip(axes, KINDS):
        keys = list(dict.fromkeys(r["property"] for r in props if r[f"{kind}_dev_after_pct"] is not None))
        series = {}
        for label in labels:
            mine = {r["property"]: r for r in props if f"{r['before']} -> {r['after']}" == label}
            series[f"{label.split(' -> ')[0]} (before)"] = [mine[k][f"{kind}_dev_before_pct"] if k in mine else None for k in keys]
            series[f"{label.split(' -> ')[1]} (after)"] = [mine[k][f"{kind}_dev_after_pct"] if k in mine else None for k in keys]
        _bars(ax, keys, series, plotting.colors(series), {n: n for n in series}, f"deviation from {kind} (%)",
              f"before / after vs {kind}")
    plotting.save(fig, path)
