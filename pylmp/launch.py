"""Running task folders: in-process LAMMPS, `lmp` subprocess, `mpirun -np N lmp`, or an mpi4py task farm.

A task folder holds in.lmp + data.lmp; LAMMPS itself writes result.json as its last act, so a folder
with a readable result.json (and unchanged inputs) is finished and is skipped when a study is rerun.
The launcher knows nothing about what the tasks compute.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from ase import Atoms

from pylmp import bridge, lammps_env, render, structures
from pylmp.potentials import Potential

MODES = ("inprocess", "lmp")


@dataclasses.dataclass
class Task:
    """One LAMMPS run: a cell, a template and its variables."""

    name: str  # folder below the study folder, e.g. "Ni_u3/eos/a3.5200"
    template: str
    atoms: Atoms
    potential: Potential
    type_elements: list[str]
    variables: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Outcome:
    name: str
    result: dict | None = None  # the task's result.json
    error: str | None = None
    skipped: bool = False
    seconds: float = 0.0


def read_result(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "result.json").read_text())
    except (OSError, ValueError):
        return None


def write_task(task: Task, folder: Path) -> bool:
    """Write in.lmp and data.lmp; True when the task must run (no valid result for these exact inputs)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = render.render(task.template, task=task, **task.variables)
    data = folder / "data.lmp"
    tmp = folder / "data.lmp.new"
    structures.write_data(task.atoms, tmp, task.type_elements)
    same_inputs = (folder / "in.lmp").is_file() and (folder / "in.lmp").read_text() == text \
        and data.is_file() and data.read_bytes() == tmp.read_bytes()
    tmp.replace(data)
    if same_inputs and read_result(folder) is not None:
        return False
    (folder / "in.lmp").write_text(text)
    for stale in ("result.json", "error.txt"):
        (folder / stale).unlink(missing_ok=True)
    return True


def _lammps_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if "ERROR" in ln]
    return lines[-1] if lines else (text.strip().splitlines() or ["LAMMPS stopped without a message"])[-1]


def run_inprocess(folder: Path, comm=None, task: Task | None = None) -> None:
    """Run in.lmp in this process (cwd switched to the folder, since LAMMPS reads paths relative to it).
    A bridge potential's calculator is built (once per process) before LAMMPS starts, then called back by it."""
    calc = bridge.calculator(task.potential) if task is not None and task.potential.bridge else None
    cwd = os.getcwd()
    os.chdir(folder)  # before LAMMPS starts: it opens log.lammps at once
    try:
        lmp = lammps_env.new_lammps(["-log", "log.lammps", "-screen", "none", "-nocite"], comm=comm)
    except Exception:
        os.chdir(cwd)
        raise
    try:
        if calc is None:
            lmp.file("in.lmp")
        else:
            bridge.run_file(lmp, "in.lmp", calc, task.type_elements, comm)
    except Exception as exc:  # LAMMPS raises a bare Exception carrying its ERROR line
        _abandon(lmp)
        raise RuntimeError(_lammps_error(str(exc))) from None
    finally:
        os.chdir(cwd)
    lmp.close()


def _abandon(lmp) -> None:
    """Leave a LAMMPS instance that stopped on an error without deleting it: its destructors can crash the whole
    process (measured: `pair_coeff` of pair_style eam on an unreadable file, then close() -> SIGSEGV), which would
    take the other tasks of the study with it. Only its log file is closed; the rest leaks, a few MB per failure."""
    try:
        lmp.command("log none")
    except Exception:
        pass
    lmp.opened = 0  # close() and __del__ then skip lammps_close()


def run_subprocess(folder: Path, np: int = 1) -> None:
    """Run `lmp -in in.lmp` in the folder, under `mpirun -np N` when np > 1."""
    cmd = [lammps_env.lmp_executable(), "-in", "in.lmp", "-nocite", "-screen", "none"]
    if np > 1:
        cmd = [lammps_env.mpirun_executable(), "-np", str(np)] + cmd
    proc = subprocess.run(cmd, cwd=folder, env=lammps_env.subprocess_env(), capture_output=True, text=True)
    if proc.returncode != 0 or read_result(folder) is None:
        log = folder / "log.lammps"
        text = (log.read_text(errors="replace") if log.exists() else "") + proc.stdout + proc.stderr
        raise RuntimeError(_lammps_error(text))


def _run_one(task: Task, folder: Path, mode: str, np: int, comm=None, leader: bool = True) -> Outcome:
    start = time.perf_counter()
    must_run = write_task(task, folder) if leader else None
    if comm is not None:
        must_run = comm.bcast(must_run, root=0)
    if not must_run:
        seconds = float((folder / "seconds.txt").read_text()) if (folder / "seconds.txt").exists() else 0.0
        return Outcome(task.name, read_result(folder), skipped=True, seconds=seconds)
    try:
        if mode == "inprocess":
            run_inprocess(folder, comm, task)
        else:
            run_subprocess(folder, np)
        result = read_result(folder)
        if result is None:
            raise RuntimeError("LAMMPS finished but wrote no result.json")
        seconds = time.perf_counter() - start
        if leader:
            (folder / "seconds.txt").write_text(f"{seconds:.3f}\n")  # wall time survives a resumed study
        return Outcome(task.name, result, seconds=seconds)
    except RuntimeError as exc:
        if leader:
            (folder / "error.txt").write_text(str(exc) + "\n")
        return Outcome(task.name, error=str(exc), seconds=time.perf_counter() - start)


def _report(i: int, n: int, outcome: Outcome, prefix: str = "") -> None:
    state = "kept (done before)" if outcome.skipped else ("FAILED: " + outcome.error if outcome.error else f"done {outcome.seconds:.1f} s")
    print(f"pylmp{prefix}: [{i:>{len(str(n))}}/{n}] {outcome.name}  {state}", file=sys.stderr, flush=True)


def run_tasks(tasks: list[Task], root: Path, mode: str = "inprocess", np: int = 1) -> dict[str, Outcome] | None:
    """Run all tasks; returns their outcomes (on the farm's rank 0 only, None on the other ranks)."""
    if lammps_env.world_size() > 1:
        return _run_farm(tasks, root, np)
    if np > 1:
        mode = "lmp"  # domain decomposition of each task over np ranks, through mpirun
    outcomes = {}
    for i, task in enumerate(tasks, 1):
        outcomes[task.name] = _run_one(task, root / task.name, mode, np)
        _report(i, len(tasks), outcomes[task.name])
    return outcomes


def _run_farm(tasks: list[Task], root: Path, np: int) -> dict[str, Outcome] | None:
    """Started under `mpirun -np K python -m pylmp run ...`: groups of np ranks share out the tasks,
    each group one in-process LAMMPS on its own sub-communicator."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    np = max(1, min(np, world.size))
    groups = world.size // np
    group = min(world.rank // np, groups - 1)
    comm = world.Split(color=group, key=world.rank)
    leader = comm.rank == 0
    mine = {}
    for i, task in enumerate(tasks):
        if i % groups == group:
            outcome = _run_one(task, root / task.name, "inprocess", np, comm=comm, leader=leader)
            if leader:
                mine[task.name] = outcome
                _report(i + 1, len(tasks), outcome, prefix=f"[group {group}]")
    comm.Free()
    gathered = world.gather(mine, root=0)
    if world.rank != 0:
        return None
    merged = {k: v for part in gathered for k, v in part.items()}
    return {task.name: merged[task.name] for task in tasks}
