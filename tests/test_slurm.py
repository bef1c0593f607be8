"""Slurm for real: a single-node Slurm (slurm-wlm + munge, tests/slurm_local.py) started for this session;
`pylmp render --target cluster` -> `sbatch --wait submit.slurm` (a job array, one element per task, the
wheel's `lmp` under srun) -> `pylmp run --out` on the same folder keeps every task and only analyses, with the
numbers of a local in-process run. Skips with the reason where Slurm cannot start; under CI it must start."""
import json
import os
import subprocess
import time

import pytest

from conftest import read_results, run_study
from pylmp import lammps_env

import slurm_local

# an alloy, so every task really relaxes atoms (a wrong input or a skipped run would show in the energies)
STUDY = """
workflow: eos
material: {lattice: fcc, composition: {Ni: 90, Al: 10}, a: 3.54, atoms: 32, seed: 2}
potentials: [NiAlH_jea]
settings: {points: 5, strain: 0.02}
"""


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    cluster = slurm_local.Cluster(tmp_path_factory.mktemp("slurm"), cpus=len(os.sched_getaffinity(0)))
    try:
        cluster.start()
    except slurm_local.Unavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Slurm round trip, but Slurm did not start: {exc}")
        pytest.skip(f"no single-node Slurm here: {exc}")
    yield cluster
    cluster.stop()


def test_render_sbatch_wait_then_pylmp_run_keeps_every_task(slurm, run_cli, tmp_path, capsys):
    direct = run_study(tmp_path, STUDY, "s", out="direct")  # the reference: the same study run here in-process
    out = tmp_path / "cluster"
    code, _, err = run_cli("render", tmp_path / "s.yaml", "--target", "cluster", "--out", out)
    assert code == 0, err
    tasks = (out / "tasks.txt").read_text().split()
    assert len(tasks) == 5 + 1 + 2
    # the job runs the LAMMPS of this environment (a cluster would `module load` its own instead)
    env = {**lammps_env.subprocess_env(), "SLURM_CONF": str(slurm.conf), "LMP": lammps_env.lmp_executable()}
    start = time.perf_counter()
    proc = subprocess.run(["sbatch", "--wait", "submit.slurm"], cwd=out, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - start
    with capsys.disabled():  # a measured number, shown under `pytest -s`
        print(f"\nSlurm round trip: {len(tasks)}-element array, sbatch --wait returned after {seconds:.1f} s")
    logs = {p.name: p.read_text() for p in out.glob("slurm-*.out")}
    assert proc.returncode == 0, (proc.stdout, proc.stderr, logs)
    assert len(logs) == len(tasks)  # one array element per task, each with its own log
    missing = [t for t in tasks if not (out / t / "result.json").exists()]
    assert not missing, (missing, logs)
    assert all((out / t / "log.lammps").exists() for t in tasks)

    for task in tasks:
        by_slurm = json.loads((out / task / "result.json").read_text())
        assert by_slurm == pytest.approx(json.loads((direct / task / "result.json").read_text()), abs=1e-9), task

    stamps = {t: (out / t / "result.json").stat().st_mtime_ns for t in tasks}
    code, _, err = run_cli("run", tmp_path / "s.yaml", "--out", out)
    assert code == 0, err
    assert err.count("kept (done before)") == len(tasks) and "  done " not in err  # nothing ran again
    assert all((out / t / "result.json").stat().st_mtime_ns == stamps[t] for t in tasks)
    assert read_results(out)["NiAlH_jea"]["a0_A"] == pytest.approx(read_results(direct)["NiAlH_jea"]["a0_A"], abs=1e-9)
    assert (out / "eos.csv").exists() and (out / "report.md").exists()


def test_a_failing_array_element_is_reported_and_the_rest_kept(slurm, run_cli, tmp_path):
    """One task that LAMMPS rejects: sbatch --wait says so (non-zero), the other elements finish, and
    `pylmp run` afterwards keeps them and reruns only the broken one."""
    (tmp_path / "s.yaml").write_text(STUDY)
    out = tmp_path / "cluster"
    assert run_cli("render", tmp_path / "s.yaml", "--target", "cluster", "--out", out)[0] == 0
    tasks = (out / "tasks.txt").read_text().split()
    broken = out / tasks[0] / "in.lmp"
    good_input = broken.read_text()
    broken.write_text(good_input.replace("read_data", "read_dota", 1))  # an unknown command: LAMMPS stops
    env = {**lammps_env.subprocess_env(), "SLURM_CONF": str(slurm.conf), "LMP": lammps_env.lmp_executable()}
    proc = subprocess.run(["sbatch", "--wait", "submit.slurm"], cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert not (out / tasks[0] / "result.json").exists()
    assert all((out / t / "result.json").exists() for t in tasks[1:])
    code, _, err = run_cli("run", tmp_path / "s.yaml", "--out", out)  # rewrites the broken input, runs only it
    assert code == 0, err
    assert err.count("kept (done before)") == len(tasks) - 1 and f"{tasks[0]}  done" in err
