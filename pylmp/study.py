"""A study end to end: potentials x workflow tasks -> launch -> analysis -> results.json, CSV, PNG."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from pylmp import __version__, launch, lammps_env, potentials, report
from pylmp.errors import PylmpError
from pylmp.spec import Study
from pylmp.workflows import WORKFLOWS


def build_tasks(study: Study) -> list[launch.Task]:
    workflow = WORKFLOWS[study.workflow]
    tasks = []
    for name in study.potentials:
        pot = potentials.get(name)
        for task in workflow.tasks(study, pot):
            task.name = f"{pot.name}/{task.name}"
            tasks.append(task)
    return tasks


def render_only(study: Study, out: Path) -> list[Path]:
    """Write every task folder (in.lmp + data.lmp) without running anything."""
    folders = []
    for task in build_tasks(study):
        launch.write_task(task, out / task.name)
        folders.append(out / task.name)
    return folders


def run(study: Study, out: Path, jobs: int | None = None) -> dict | None:
    """Run (or resume) a study; returns results.json's content (None on the task farm's other ranks).
    jobs: tasks at a time on this machine (pylmp.launch.default_jobs: the cores available; 1: serial)."""
    workflow = WORKFLOWS[study.workflow]
    tasks = build_tasks(study)
    if lammps_env.world_rank() == 0:
        print(f"pylmp: study '{study.name}' ({study.workflow}): {len(tasks)} tasks, {len(study.potentials)} potential(s) -> {out}",
              file=sys.stderr, flush=True)
    outcomes = launch.run_tasks(tasks, out, study.mode, study.np, jobs=jobs)
    if outcomes is None:
        return None
    summary, failures = {}, []
    for name in (potentials.get(n).name for n in study.potentials):
        mine = {k.split("/", 1)[1]: o for k, o in outcomes.items() if k.split("/", 1)[0] == name}
        failed = [o for o in mine.values() if o.error]
        meta = {
            "pylmp_version": __version__, "lammps_version": lammps_env.lammps_version(), "potential": name,
            "workflow": study.workflow, "lattice": study.lattice, "composition_at_pct": study.composition,
            "tasks": len(mine), "wall_s": round(sum(o.seconds for o in mine.values()), 3),
        }
        if failed:
            failures += [f"{o.name}: {o.error}" for o in failed]
            summary[name] = {"error": f"{len(failed)} task(s) failed", "meta": meta}
            continue
        try:
            # each result also names its task folder (key "_folder"), for analyses that read dumps
            results = {k: {**o.result, "_folder": str(out / o.name)} for k, o in mine.items()}
            summary[name] = {**workflow.analyze(study, results), "meta": meta}
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            failures.append(f"{name}: analysis failed: {exc}")
            summary[name] = {"error": f"analysis failed: {exc}", "meta": meta}
    write_outputs(study, summary, out)
    if study.analyze:  # defect analyses of the finished tasks' dumps (pylmp.analyze)
        from pylmp import analyze
        analyze.study_step(study.analyze, [out / o.name for o in outcomes.values() if not o.error], out)
    report.write(out, study.name, study.source)  # report.md/.html: every result, figure, task time and failure
    if failures:
        raise PylmpError(f"{len(failures)} failure(s), first: {failures[0]}; finished tasks are kept in {out}, "
                         "fix the cause and rerun the same command to finish the rest")
    return summary


def write_outputs(study: Study, summary: dict, out: Path) -> None:
    workflow = WORKFLOWS[study.workflow]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    good = {k: v for k, v in summary.items() if "error" not in v}
    if not good:
        return
    rows = workflow.rows(good)
    with open(out / f"{study.workflow}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
    workflow.plot(good, out / f"{study.workflow}.png")


def scalar_table(summary: dict) -> str:
    """The results as a plain text table: one row per potential, its scalar quantities as columns."""
    keys = list(dict.fromkeys(k for v in summary.values() for k, x in v.items() if isinstance(x, (int, float))))
    header = ["potential"] + keys
    rows = [[name] + [_fmt(v.get(k)) for k in keys] if "error" not in v else [name, "error: " + v["error"]]
            for name, v in summary.items()]
    widths = [max(len(str(r[i])) for r in [header] + rows if i < len(r)) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header)] + [line(r) for r in rows])


def _fmt(x) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if isinstance(x, float) else str(x)
