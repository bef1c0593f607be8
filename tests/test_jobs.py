"""All local cores (`pylmp run -j N`), the dynamic mpi4py farm and the progress display, on real LAMMPS runs:
-j 2 gives the serial numbers and resumes; a worker killed mid-task loses no other task; the farm hands the next
task to whichever group is free, costliest first; a terminal gets one redrawn line with the running MD step."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, read_results
from pylmp import lammps_env, launch, spec, study

ALLOY = """
workflow: eos
material: {lattice: fcc, composition: {Ni: 90, Al: 10}, a: 3.54, atoms: 108, seed: 3}
potentials: [NiAlH_jea, allegro-tiny]
settings: {points: 5, strain: 0.04}  # allegro-tiny's a0 is 3.61 A
"""
# one SNAP relaxation of 255 atoms costs ~100 EAM tasks: a mixed-cost study in a few seconds
MIXED = """
workflow: vacancy
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52, atoms: 108}
potentials: [Ni_u3, Ni_snap]
"""
MD = """
workflow: md
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52, atoms: 256, seed: 1}
potentials: [Ni_u3]
settings: {ensemble: nvt, temperatures: [300], timestep: 0.002, equilibration_steps: 500, steps: STEPS, dump_every: 500}
"""


def task_results(out):
    return {str(p.parent.relative_to(out)): json.loads(p.read_text()) for p in sorted(out.rglob("result.json")) if p.parent != out}


def pylmp(*args, env=None, timeout=300, mpirun=0):
    cmd = [sys.executable, "-m", "pylmp", "run", *map(str, args)]
    if mpirun:
        cmd = [lammps_env.mpirun_executable(), "-np", str(mpirun)] + cmd
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**lammps_env.subprocess_env(), **(env or {})})


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jobs")
    (tmp / "alloy.yaml").write_text(ALLOY)
    proc = pylmp(tmp / "alloy.yaml", "--out", tmp / "serial", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    return tmp


def test_two_jobs_equal_serial_and_resume(serial):
    """-j 2 (an EAM and a plugin ML model, each worker loading the model once) == -j 1 to the last bit; rerun keeps all."""
    out = serial / "j2"
    proc = pylmp(serial / "alloy.yaml", "--out", out, "-j", "2")
    assert proc.returncode == 0, proc.stderr
    ref, got = task_results(serial / "serial"), task_results(out)
    assert ref.keys() == got.keys() and len(ref) == 2 * 8
    for key in ref:
        assert got[key]["E_eV"] == ref[key]["E_eV"], key  # the same in.lmp in a fresh process: identical
    for pot in ("NiAlH_jea", "allegro-tiny"):
        assert read_results(out)[pot]["a0_A"] == read_results(serial / "serial")[pot]["a0_A"]
    again = pylmp(serial / "alloy.yaml", "--out", out, "-j", "2")
    assert again.returncode == 0 and again.stderr.count("kept (done before)") == 16, again.stderr


def test_largest_first_puts_snap_relaxation_first(tmp_path):
    (tmp_path / "m.yaml").write_text(MIXED)
    tasks = study.build_tasks(spec.load(tmp_path / "m.yaml"))
    for task in tasks:
        launch.write_task(task, tmp_path / "o" / task.name)
    order = [t.name for t in launch.largest_first(tasks, tmp_path / "o")]
    assert [t.name for t in tasks][0].startswith("Ni_u3")  # the study lists the cheap potential first
    assert order[0] == "Ni_snap/vacancy/r0" and order[-1].startswith("Ni_u3")


def test_farm_hands_tasks_to_the_free_group(tmp_path):
    """mpirun -np 2: the group that draws the long SNAP relaxation runs it alone while the other group runs the
    rest (a fixed round-robin share would give each group 2 of the 4 tasks); numbers equal the serial run's."""
    (tmp_path / "m.yaml").write_text(MIXED.replace("atoms: 108", "atoms: 256"))
    ref = pylmp(tmp_path / "m.yaml", "--out", tmp_path / "serial", "-j", "1")
    assert ref.returncode == 0, ref.stderr
    proc = pylmp(tmp_path / "m.yaml", "--out", tmp_path / "farm", mpirun=2)
    assert proc.returncode == 0, proc.stderr
    runs = re.findall(r"pylmp\[group (\d)\]: \[\d/4\] (\S+)  done", proc.stderr)
    assert len(runs) == 4, proc.stderr
    snap_group = next(g for g, name in runs if name == "Ni_snap/vacancy/r0")
    assert [name for g, name in runs if g == snap_group] == ["Ni_snap/vacancy/r0"], proc.stderr
    assert sum(g != snap_group for g, _ in runs) == 3
    a, b = task_results(tmp_path / "serial"), task_results(tmp_path / "farm")
    assert a.keys() == b.keys()
    for key in a:
        assert b[key] == pytest.approx(a[key], abs=1e-10), key  # every number a task wrote


def test_killed_worker_loses_no_other_task(tmp_path):
    """A worker process that dies (SIGKILL, as the OOM killer would) mid-task: the run goes on, the other tasks
    finish, the dead task is retried alone and, killed again, fails with a one-line error; the rest are kept."""
    (tmp_path / "md.yaml").write_text(MD.replace("STEPS", "40000").replace("[300]", "[300, 600]"))
    out = tmp_path / "out"
    victim = (out / "Ni_u3" / "T600K").resolve()
    proc = subprocess.Popen([sys.executable, "-m", "pylmp", "run", str(tmp_path / "md.yaml"), "--out", str(out), "-j", "2"],
                            cwd=REPO, env=lammps_env.subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # counted by pid: a process SIGKILLed keeps its cwd until the kernel has freed its memory, which on a loaded
    # 2-core CI machine can outlast the 0.2 s poll, so one worker may be seen (and killed) twice
    killed, deadline = {}, time.time() + 240  # pid: its command name
    while proc.poll() is None and time.time() < deadline:
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):  # the in-process LAMMPS works in its task folder
            try:
                if Path(f"/proc/{pid}/cwd").resolve() == victim and int(pid) != proc.pid:
                    killed[int(pid)] = Path(f"/proc/{pid}/comm").read_text().strip()
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue
        time.sleep(0.2)
    stdout, stderr = proc.communicate(timeout=60)
    assert len(killed) == 2, (killed, stderr)  # two workers: the one in the pool, the one it ran alone in
    assert proc.returncode == 2, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "the process running this task died" in errors[0], stderr
    assert (out / "Ni_u3/T300K/result.json").exists() and (victim / "error.txt").exists()
    assert not (victim / "result.json").exists()


def test_workers_end_with_a_killed_run(tmp_path):
    """`pylmp run -j 2` killed on its own (kill, pkill): its workers stop too, instead of finishing their tasks
    unseen (two SevenNet MD workers went on for 20 minutes at 6 GB each)."""
    (tmp_path / "md.yaml").write_text(MD.replace("STEPS", "400000").replace("[300]", "[300, 600]"))
    out = (tmp_path / "out").resolve()
    proc = subprocess.Popen([sys.executable, "-m", "pylmp", "run", str(tmp_path / "md.yaml"), "--out", str(out), "-j", "2"],
                            cwd=REPO, env=lammps_env.subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def workers():  # the processes whose LAMMPS works in a task folder of this run
        found = []
        for pid in (p for p in os.listdir("/proc") if p.isdigit() and int(p) != proc.pid):
            try:
                if out in Path(f"/proc/{pid}/cwd").resolve().parents:
                    found.append(int(pid))
            except OSError:
                continue
        return found

    deadline = time.time() + 120
    while len(workers()) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    running = workers()
    assert len(running) == 2, running
    proc.kill()
    proc.wait()
    deadline = time.time() + 20
    while workers() and time.time() < deadline:
        time.sleep(0.2)
    assert not workers(), "workers outlived the killed run"
    assert not list(out.rglob("result.json"))  # they had not finished: stopped, not completed


def test_terminal_gets_one_redrawn_line_with_the_md_step(tmp_path):
    """stderr on a terminal: \\r-redrawn done/total, failed, elapsed, ETA and the running MD's 'step N/M'."""
    (tmp_path / "md.yaml").write_text(MD.replace("STEPS", "20000"))
    leader, follower = pty.openpty()
    out = os.path.relpath(tmp_path / "o", REPO)  # relative: the step file must still land in the task folder
    proc = subprocess.Popen([sys.executable, "-m", "pylmp", "run", str(tmp_path / "md.yaml"), "--out", out],
                            cwd=REPO, env=lammps_env.subprocess_env(), stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 240)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(leader)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "\r" in text and "1/1 done, 0 failed" in text and "ETA" in text
    steps = [int(m) for m in re.findall(r"step (\d+)/20500", text)]  # equilibration + production
    assert len(set(steps)) >= 2 and max(steps) > min(steps), text  # the step moved while the line was redrawn
    assert "[1/1]" not in text  # no per-task log lines on a terminal
    assert "Traceback" not in text
