"""Running task folders: in-process LAMMPS, `lmp` subprocess, `mpirun -np N lmp`, on all local cores, or an
mpi4py task farm.

A task folder holds in.lmp + data.lmp; LAMMPS itself writes result.json as its last act, so a folder
with a readable result.json (and unchanged inputs) is finished and is skipped when a study is rerun.
The launcher knows nothing about what the tasks compute.

Spreading tasks (every route runs the same in.lmp, so the numbers do not depend on the route):
- `pylmp run -j N` (default: the cores this process may use, divided by --np): N worker processes from
  concurrent.futures, each one LAMMPS at a time with OMP_NUM_THREADS=1. A worker is a whole Python process, so a
  model that a process loads once (bridge calculators, the plugin's shared model) is loaded once per worker and
  reused by all the tasks that worker runs. A worker that dies (a segfault in LAMMPS) takes no other task with it:
  the tasks it may have held are rerun one at a time in a fresh worker, and only the one that kills it again fails.
- `mpirun -np K python -m pylmp run ...`: groups of --np ranks, each one in-process LAMMPS on its own
  sub-communicator; rank 0 hands out the next unfinished task to whichever group asks (a dispatcher thread, mpi4py
  point-to-point), so a group that drew short tasks takes more of them.
- A task with `partitions` P > 1 (one LAMMPS partition per replica, e.g. the neb workflow) always runs as its own
  `mpirun -np P*n lmp -partition Pxn -in in.lmp` in its folder, on every route: n = --np when P*n fits the cores,
  else what fits (at least 1; more replicas than cores oversubscribe). Under the farm, a group's leader starts it.
- Both start the costliest tasks first (`estimate_cost`: atoms x planned steps x a per-pair-style factor), so a
  long task does not start last and leave the other workers idle.
"""
from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ase import Atoms

from pylmp import bridge, lammps_env, render, structures
from pylmp.errors import PylmpError
from pylmp.potentials import Potential

MODES = ("inprocess", "lmp")
STEP_FILE = ".step"  # the running LAMMPS's current step, rewritten every second by the process running it


@dataclasses.dataclass
class Task:
    """One LAMMPS run: a cell, a template and its variables."""

    name: str  # folder below the study folder, e.g. "Ni_u3/eos/a3.5200"
    template: str
    atoms: Atoms
    potential: Potential
    type_elements: list[str]
    variables: dict = dataclasses.field(default_factory=dict)
    partitions: int = 1  # LAMMPS partitions (one per replica of a multi-replica command such as neb); > 1 runs through mpirun


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
    for stale in ("result.json", "error.txt", STEP_FILE):
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
    watch = _StepWriter(lmp, folder) if comm is None or comm.rank == 0 else None
    try:
        if calc is None:
            lmp.file("in.lmp")
        else:
            bridge.run_file(lmp, "in.lmp", calc, task.type_elements, comm)
    except Exception as exc:  # LAMMPS raises a bare Exception carrying its ERROR line
        _abandon(lmp)
        raise RuntimeError(_lammps_error(str(exc))) from None
    finally:
        if watch is not None:
            watch.stop()
        os.chdir(cwd)
    lmp.close()


class _StepWriter(threading.Thread):
    """Writes the steps the running LAMMPS has done (over all its runs) to STEP_FILE once a second, for the progress display of whichever
    process watches the study (this one, the -j parent, or the farm's rank 0). It reads `ntimestep` while the main
    thread is inside LAMMPS (ctypes releases the GIL there): one integer read, nothing in LAMMPS changes.
    log.lammps cannot serve: LAMMPS buffers it and a short MD run writes only ~20 thermo lines."""

    def __init__(self, lmp, folder: Path):
        super().__init__(daemon=True)
        self.lmp, self.path, self.halt = lmp, folder / STEP_FILE, threading.Event()
        self.start()

    def run(self) -> None:
        done, last = 0, 0  # steps done over all runs: `reset_timestep 0` between runs sets ntimestep back
        while not self.halt.wait(1.0):
            try:
                step = int(self.lmp.extract_global("ntimestep"))
            except Exception:  # between runs (or during a box change) the value may be briefly unavailable
                continue
            done += step - last if step >= last else step  # after a reset: the new run's steps so far
            last = step
            self.path.write_text(f"{done}\n")

    def stop(self) -> None:
        self.halt.set()
        self.join()
        self.path.unlink(missing_ok=True)


def _abandon(lmp) -> None:
    """Leave a LAMMPS instance that stopped on an error without deleting it: its destructors can crash the whole
    process (measured: `pair_coeff` of pair_style eam on an unreadable file, then close() -> SIGSEGV), which would
    take the other tasks of the study with it. Only its log file is closed; the rest leaks, a few MB per failure."""
    try:
        lmp.command("log none")
    except Exception:
        pass
    lmp.opened = 0  # close() and __del__ then skip lammps_close()


def replica_ranks(partitions: int, np: int) -> int:
    """Ranks per partition of a multi-replica task: --np when partitions x np fit in the cores this process may use,
    else as many as fit (at least 1: more replicas than cores oversubscribe, which MPICH runs correctly, only slower)."""
    return np if partitions * np <= default_jobs() else max(1, default_jobs() // partitions)


def run_subprocess(folder: Path, np: int = 1, partitions: int = 1) -> None:
    """Run `lmp -in in.lmp` in the folder, under `mpirun -np N` when np > 1; with P partitions (P replicas of neb)
    `mpirun -np P*np lmp -partition Pxnp`."""
    cmd = [lammps_env.lmp_executable(), "-in", "in.lmp", "-nocite", "-screen", "none"]
    if partitions > 1:
        cmd += ["-partition", f"{partitions}x{np}"]
        np *= partitions
    if np > 1:
        cmd = [lammps_env.mpirun_executable(), "-np", str(np)] + cmd
    proc = subprocess.run(cmd, cwd=folder, env=lammps_env.subprocess_env(), capture_output=True, text=True)
    if proc.returncode != 0 or read_result(folder) is None:
        # log.lammps, and with partitions each replica's log.lammps.N, where that replica's ERROR line lands
        logs = sorted(folder.glob("log.lammps*"))
        text = "".join(log.read_text(errors="replace") for log in logs) + proc.stdout + proc.stderr
        raise RuntimeError(_lammps_error(text))


def _execute(task: Task, folder: Path, mode: str, np: int, comm=None, leader: bool = True) -> Outcome:
    """Run one written task folder; a LAMMPS error becomes the outcome's error (and error.txt), never an exception."""
    start = time.perf_counter()
    if task.partitions > 1 and not leader:
        return Outcome(task.name)  # a farm group's leader alone starts the multi-partition mpirun
    try:
        if task.partitions > 1:  # its own mpirun: partitions need a world of their own, whatever the route
            run_subprocess(folder, replica_ranks(task.partitions, np), task.partitions)
        elif mode == "inprocess":
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


def _kept(task: Task, folder: Path) -> Outcome:
    seconds = float((folder / "seconds.txt").read_text()) if (folder / "seconds.txt").exists() else 0.0
    return Outcome(task.name, read_result(folder), skipped=True, seconds=seconds)


# --- which task first -------------------------------------------------------------------------------------------
# Rough cost of one atom-step relative to EAM, measured here to within a factor of a few (enough to order tasks:
# SNAP ~100x EAM, the ML models through the plugin or an ASE bridge another 10-100x). Unknown styles get 10.
PAIR_COST = {"eam": 1, "eam/alloy": 1, "eam/fs": 1, "meam": 5, "snap": 100, "mliap": 100}
ML_COST = 3000
MINIMIZE_STEPS = 100  # a typical minimization's iterations (its max_iter is a bound, not a count)


def planned_steps(folder: Path) -> tuple[int, int]:
    """(MD steps of all `run N` commands, number of `minimize` commands) of a folder's in.lmp."""
    steps, minimizations = 0, 0
    try:
        text = (folder / "in.lmp").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        words = line.split()
        if len(words) > 1 and words[0] == "run" and words[1].isdigit():
            steps += int(words[1])
        elif words and words[0] == "minimize":
            minimizations += 1
    return steps, minimizations


def estimate_cost(task: Task, folder: Path) -> float:
    """atoms x (MD steps + MINIMIZE_STEPS per minimization, at least 1) x the pair style's factor: a ranking,
    not a prediction of seconds."""
    steps, minimizations = planned_steps(folder)
    pot = task.potential
    style = pot.pair_style.split()[0] if pot.pair_style else ""
    factor = ML_COST if pot.bridge or pot.kind != "classical" or style.startswith("pylmp/") else PAIR_COST.get(style, 10)
    return len(task.atoms) * max(1, steps + MINIMIZE_STEPS * minimizations) * factor * task.partitions


def largest_first(tasks: list[Task], root: Path) -> list[Task]:
    costs = {t.name: estimate_cost(t, root / t.name) for t in tasks}
    return sorted(tasks, key=lambda t: -costs[t.name])  # stable: equal costs keep the study's order


def default_jobs(np: int = 1) -> int:
    """The cores this process may use (its CPU affinity, which Slurm and taskset set), one task per --np of them."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, np))


# --- progress -------------------------------------------------------------------------------------------------
def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def current_step(folder: Path) -> str:
    """'step N/M' (N: steps done over all of the task's runs, M: the sum of its in.lmp's `run M` lines) or 'step N'
    (minimizations only: N counts minimizer iterations) of a running task; '' before its first second."""
    try:
        step = int((folder / STEP_FILE).read_text())
    except (OSError, ValueError):
        return ""
    total = planned_steps(folder)[0]
    return f"step {min(step, total)}/{total}" if total else f"step {step}"  # minimizer iterations also count: cap


class Progress:
    """What a study's run shows on stderr. On a terminal: one line, redrawn in place, with done/total, failures,
    elapsed time, ETA and the running task's LAMMPS step; failures are printed above it. Elsewhere (a pipe, a
    log file, a batch job): one plain line per finished task, plus a line every `every` seconds per task that is
    still running (its step), so a long job's log shows it is alive."""

    def __init__(self, total: int, stream=None, every: float = 60.0):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total, self.every = total, every
        self.done = self.failed = self.ran = 0
        self.start = None  # first task started (kept tasks take no time)
        self.running = {}  # name -> [folder, started, prefix, last line time]
        self.lock = threading.RLock()
        self.halt = threading.Event()
        self.ticker = threading.Thread(target=self._tick, daemon=True)
        self.ticker.start()

    def started(self, name: str, folder: Path, prefix: str = "") -> None:
        with self.lock:
            now = time.monotonic()
            self.start = self.start or now
            self.running.setdefault(name, [folder, now, prefix, now])
            self._draw()

    def finished(self, outcome: Outcome, prefix: str = "") -> None:
        with self.lock:
            self.running.pop(outcome.name, None)
            self.done += 1
            self.failed += bool(outcome.error)
            self.ran += not outcome.skipped
            state = "kept (done before)" if outcome.skipped else (
                "FAILED: " + outcome.error if outcome.error else f"done {outcome.seconds:.1f} s")
            line = f"pylmp{prefix}: [{self.done:>{len(str(self.total))}}/{self.total}] {outcome.name}  {state}"
            if not self.tty:
                print(line, file=self.stream, flush=True)
            elif outcome.error:
                print("\r\x1b[K" + line, file=self.stream, flush=True)  # a failure stays visible above the bar
            self._draw()

    def _tick(self) -> None:
        while not self.halt.wait(0.5):
            with self.lock:
                if self.tty:
                    self._draw()
                    continue
                now = time.monotonic()
                for name, entry in self.running.items():
                    if now - entry[3] >= self.every:
                        entry[3] = now
                        step = current_step(entry[0])
                        print(f"pylmp{entry[2]}: running {name}  {now - entry[1]:.0f} s{', ' + step if step else ''}",
                              file=self.stream, flush=True)

    def line(self) -> str:
        now = time.monotonic()
        elapsed = now - self.start if self.start else 0.0
        left = self.total - self.done
        eta = _clock(elapsed * left / self.ran) if self.ran and left else ("-" if left else "0:00")
        text = f"pylmp: {self.done}/{self.total} done, {self.failed} failed, {_clock(elapsed)} elapsed, ETA {eta}"
        if self.running:  # the longest-running task and its step: a single long MD run shows its progress
            name, entry = min(self.running.items(), key=lambda kv: kv[1][1])
            step = current_step(entry[0])
            more = f" +{len(self.running) - 1}" if len(self.running) > 1 else ""
            text += f" | {name}{' ' + step if step else ''}{more}"
        return text

    def _draw(self) -> None:
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            print("\r" + self.line()[:width] + "\x1b[K", end="", file=self.stream, flush=True)

    def close(self) -> None:
        self.halt.set()
        self.ticker.join()
        with self.lock:
            if self.tty:
                self._draw()
                print(file=self.stream, flush=True)


# --- routes ---------------------------------------------------------------------------------------------------
def run_tasks(tasks: list[Task], root: Path, mode: str = "inprocess", np: int = 1,
              jobs: int | None = None) -> dict[str, Outcome] | None:
    """Run all tasks (costliest first); returns their outcomes in the tasks' order (on the farm's rank 0 only,
    None on the other ranks). jobs: tasks at a time on this machine (default_jobs(np)); under mpirun: the farm."""
    root = root.resolve()  # an in-process task chdirs to its folder; the step file and the progress display must not move
    if lammps_env.world_size() > 1:
        return _run_farm(tasks, root, np)
    if np > 1:
        mode = "lmp"  # domain decomposition of each task over np ranks, through mpirun
    jobs = default_jobs(np) if jobs is None else jobs
    if jobs < 1:
        raise PylmpError(f"-j must be at least 1 (tasks at a time), got {jobs}")
    progress = Progress(len(tasks))
    outcomes = {}
    try:
        pending = []
        for task in tasks:  # every folder is written first: the kept ones are known before anything runs
            if write_task(task, root / task.name):
                pending.append(task)
            else:
                outcomes[task.name] = _kept(task, root / task.name)
                progress.finished(outcomes[task.name])
        pending = largest_first(pending, root)
        if jobs == 1 or len(pending) < 2:
            for task in pending:
                progress.started(task.name, root / task.name)
                outcomes[task.name] = _execute(task, root / task.name, mode, np)
                progress.finished(outcomes[task.name])
        else:
            outcomes.update(_run_pool(pending, root, mode, np, min(jobs, len(pending)), progress))
    finally:
        progress.close()
    return {task.name: outcomes[task.name] for task in tasks}


def _worker_init() -> None:
    # one thread per worker: N workers on N cores; torch (bridge models) reads it when it is first imported
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[key] = "1"
    # a worker ends with `pylmp run` (killed by kill/pkill or a scheduler's signal to it alone) instead of computing
    # on unseen for the rest of its task; the pool's workers are started by the thread that submits, which waits
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _run_pool(pending: list[Task], root: Path, mode: str, np: int, jobs: int, progress: Progress) -> dict[str, Outcome]:
    """pylmp run -j: a process pool; the tasks go in costliest first and each worker takes the next when free.
    A dead worker breaks the pool (every unfinished future fails with BrokenProcessPool): the tasks that had
    started are rerun alone, each in a fresh 1-worker pool, so only a task that kills its worker by itself fails;
    the ones that had not started go round again in a new pool."""
    outcomes, queue = {}, list(pending)
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no LAMMPS/torch state forked from this one
    while queue:
        suspects, rest = [], []
        with ProcessPoolExecutor(jobs, mp_context=spawn, initializer=_worker_init) as pool:
            futures = {pool.submit(_execute, t, root / t.name, mode, np): t for t in queue}
            started = set()
            while futures:
                finished, _ = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut, task in futures.items():
                    if fut.running() and task.name not in started:  # handed to a worker (give or take one queued)
                        started.add(task.name)
                        progress.started(task.name, root / task.name)
                for fut in finished:
                    task = futures.pop(fut)
                    try:
                        outcomes[task.name] = fut.result()
                        progress.finished(outcomes[task.name])
                    except BrokenProcessPool:
                        (suspects if task.name in started else rest).append(task)
        for task in suspects:
            if len(suspects) == 1 and not rest and len(queue) == 1:
                outcomes[task.name] = _died(task, root)  # it was alone: it is the one
            else:
                outcomes[task.name] = _alone(task, root, mode, np, spawn)
            progress.finished(outcomes[task.name])
        queue = rest
    return outcomes


def _alone(task: Task, root: Path, mode: str, np: int, spawn) -> Outcome:
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=_worker_init) as pool:
        try:
            return pool.submit(_execute, task, root / task.name, mode, np).result()
        except BrokenProcessPool:
            return _died(task, root)


def _died(task: Task, root: Path) -> Outcome:
    folder = root / task.name
    log = folder / "log.lammps"
    last = (log.read_text(errors="replace").strip().splitlines() or [""])[-1] if log.exists() else ""
    error = "the process running this task died (LAMMPS crashed)" + (f"; last line of log.lammps: {last}" if last else "")
    (folder / "error.txt").write_text(error + "\n")
    (folder / STEP_FILE).unlink(missing_ok=True)
    return Outcome(task.name, error=error)


TAG_ASK, TAG_TASK = 11, 12


def _run_farm(tasks: list[Task], root: Path, np: int) -> dict[str, Outcome] | None:
    """Started under `mpirun -np K python -m pylmp run ...`: groups of np ranks, each one in-process LAMMPS on its
    own sub-communicator. Rank 0 writes every folder, then a dispatcher thread on rank 0 hands the next unfinished
    task (costliest first) to each group leader that asks, with the leader's previous outcome riding on the request;
    rank 0's own group takes from the same queue directly. The dispatcher polls (Iprobe + a 5 ms sleep) rather
    than blocking in recv, because MPICH's blocking receive spins and would take a core from rank 0's LAMMPS."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    np = max(1, min(np, world.size))
    groups = world.size // np
    group = min(world.rank // np, groups - 1)
    comm = world.Split(color=group, key=world.rank)
    leader = comm.rank == 0
    index = {t.name: i for i, t in enumerate(tasks)}
    if world.rank != 0:
        world.bcast(None, root=0)  # wait until rank 0 has written the folders
        prev = None
        while True:
            i = None
            if leader:
                world.send(prev, dest=0, tag=TAG_ASK)
                i = world.recv(source=0, tag=TAG_TASK)
            i = comm.bcast(i, root=0)
            if i < 0:
                break
            prev = _execute(tasks[i], root / tasks[i].name, "inprocess", np, comm=comm, leader=leader)
        comm.Free()
        return None

    progress = Progress(len(tasks))
    outcomes, queue, lock = {}, [], threading.Lock()
    try:
        for task in tasks:
            if write_task(task, root / task.name):
                queue.append(task)
            else:
                outcomes[task.name] = _kept(task, root / task.name)
                progress.finished(outcomes[task.name])
        queue = [index[t.name] for t in largest_first(queue, root)]
        world.bcast(None, root=0)

        def take(g: int) -> int:
            with lock:
                i = queue.pop(0) if queue else -1
            if i >= 0:
                progress.started(tasks[i].name, root / tasks[i].name, prefix=f"[group {g}]")
            return i

        def record(outcome: Outcome, g: int) -> None:
            outcomes[outcome.name] = outcome
            progress.finished(outcome, prefix=f"[group {g}]")

        def dispatch() -> None:
            status, active = MPI.Status(), groups - 1
            while active:
                if not world.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_ASK, status=status):
                    time.sleep(0.005)
                    continue
                g = status.Get_source() // np
                prev = world.recv(source=status.Get_source(), tag=TAG_ASK)
                if prev is not None:
                    record(prev, g)
                i = take(g)
                world.send(i, dest=status.Get_source(), tag=TAG_TASK)
                active -= i < 0

        dispatcher = threading.Thread(target=dispatch, daemon=True)
        dispatcher.start()
        while True:
            i = comm.bcast(take(0), root=0)
            if i < 0:
                break
            record(_execute(tasks[i], root / tasks[i].name, "inprocess", np, comm=comm, leader=True), 0)
        dispatcher.join()
    finally:
        progress.close()
    comm.Free()
    return {task.name: outcomes[task.name] for task in tasks}
