"""Launch routes give the same numbers: in-process, plain `lmp`, mpirun -np 2, mpi4py task farm; resume."""
import json
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, read_results, run_study
from pylmp import lammps_env

# an alloy, so atoms really relax and the routes have something to disagree about
STUDY = """
workflow: eos
material: {lattice: fcc, composition: {Ni: 90, Al: 10}, a: 3.54, atoms: 108, seed: 3}
potentials: [NiAlH_jea]
settings: {points: 5, strain: 0.02}
"""


def energies(out):
    """E/atom of every finished task, keyed by task folder."""
    return {str(p.parent.relative_to(out)): json.loads(p.read_text())["E_eV"] / json.loads(p.read_text())["natoms"]
            for p in sorted(out.rglob("result.json")) if p.parent != out}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serial")
    run_study(tmp, STUDY, "s", out="out")
    return tmp


def test_rendered_input_reruns_by_hand_with_lmp(serial, tmp_path):
    """Every task folder is a product: plain `lmp -in in.lmp` there gives the same energies."""
    copy = tmp_path / "copy"
    shutil.copytree(serial / "out", copy)
    for result in copy.rglob("result.json"):
        if result.parent != copy:
            result.unlink()
            subprocess.run([lammps_env.lmp_executable(), "-in", "in.lmp"], cwd=result.parent, check=True,
                           capture_output=True, env=lammps_env.subprocess_env())
    ref, again = energies(serial / "out"), energies(copy)
    assert ref.keys() == again.keys() and len(ref) == 5 + 1 + 2
    for key in ref:
        assert again[key] == pytest.approx(ref[key], abs=1e-6), key


def test_lmp_subprocess_and_two_ranks_match_in_process(serial, run_cli):
    ref = energies(serial / "out")
    for extra, tol in ((["--mode", "lmp"], 1e-9), (["--np", "2"], 1e-8)):
        out = serial / ("out" + "_".join(extra))
        code, _, err = run_cli("run", serial / "s.yaml", "--out", out, *extra)
        assert code == 0, err
        got = energies(out)
        for key in ref:
            assert got[key] == pytest.approx(ref[key], abs=tol), (extra, key)
        assert read_results(out)["NiAlH_jea"]["a0_A"] == pytest.approx(read_results(serial / "out")["NiAlH_jea"]["a0_A"], abs=1e-6)


def test_mpi4py_task_farm_matches_serial(serial):
    """`mpirun -np 2 python -m pylmp run ...`: each rank runs its share of tasks in its own LAMMPS."""
    out = serial / "farm"
    proc = subprocess.run([lammps_env.mpirun_executable(), "-np", "2", sys.executable, "-m", "pylmp", "run",
                           str(serial / "s.yaml"), "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          env=lammps_env.subprocess_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "[group 0]" in proc.stderr and "[group 1]" in proc.stderr  # both ranks worked
    ref, got = energies(serial / "out"), energies(out)
    assert ref.keys() == got.keys()
    for key in ref:
        assert got[key] == pytest.approx(ref[key], abs=1e-10), key
    assert proc.stdout.count("NiAlH_jea") == 1  # rank 0 alone prints the table


def test_resume_keeps_finished_tasks(serial, run_cli):
    out = serial / "out"
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("result.json")}
    victim = out / "NiAlH_jea" / "relax" / "result.json"
    victim.unlink()  # as if the study had been killed during this task
    code, _, err = run_cli("run", serial / "s.yaml", "--out", out)
    assert code == 0
    assert err.count("kept (done before)") == len(stamps) - 1
    assert "NiAlH_jea/relax  done" in err
    for path, stamp in stamps.items():
        if path != victim and path.parent != out:
            assert path.stat().st_mtime_ns == stamp, path


def test_changed_input_reruns_task(serial, run_cli, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(serial / "out", out)
    changed = (serial / "s.yaml").read_text().replace("seed: 3", "seed: 4")
    (tmp_path / "s.yaml").write_text(changed)
    code, _, err = run_cli("run", tmp_path / "s.yaml", "--out", out)
    assert code == 0
    assert "kept (done before)" in err  # isolated-atom tasks do not depend on the seed
    assert err.count("  done ") == 5 + 1  # every cell with the new arrangement ran again


def test_folders_run_elsewhere_are_picked_up(serial, run_cli, tmp_path):
    """render -> run a folder by hand (as on a cluster) -> `pylmp run` keeps that result and runs the rest."""
    out = tmp_path / "rendered"
    code, text, _ = run_cli("render", serial / "s.yaml", "--out", out)
    assert code == 0 and "wrote 8 task folders" in text
    assert not list(out.rglob("result.json"))
    by_hand = out / "NiAlH_jea" / "relax"
    subprocess.run([lammps_env.lmp_executable(), "-in", "in.lmp"], cwd=by_hand, check=True, capture_output=True,
                   env=lammps_env.subprocess_env())
    code, _, err = run_cli("run", serial / "s.yaml", "--out", out)
    assert code == 0
    assert "NiAlH_jea/relax  kept (done before)" in err and err.count("kept") == 1
