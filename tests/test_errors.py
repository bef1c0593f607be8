"""Bad input: one line `error: ...` naming the cause and the fix, exit code 2, nothing computed is lost."""
import numpy as np
import pytest

from conftest import read_results

GOOD = """
workflow: eos
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52, atoms: 4}
potentials: [Ni_u3]
settings: {points: 5, strain: 0.02}
"""


def one_line_error(code, out, err):
    assert code == 2
    errors = [ln for ln in err.strip().splitlines() if not ln.startswith("pylmp")]  # progress lines aside
    assert len(errors) == 1 and errors[0].startswith("error: "), err
    assert "Traceback" not in err
    return errors[0]


@pytest.mark.parametrize("change, expected", [
    (("material:", "materal:"), "unknown key 'materal' in the study; did you mean 'material'?"),
    (("points: 5", "pionts: 5"), "unknown key 'pionts' in settings of workflow 'eos'; did you mean 'points'?"),
    (("[Ni_u3]", "[Ni_u4]"), "unknown potential 'Ni_u4'; did you mean 'Ni_u3'?"),
    (("{Ni: 100}", "{Ni: 90, Al: 5}"), "sums to 95 at.%, not 100"),
    (("{Ni: 100}", "{Ni: 90, Al: 10}"), "potential 'Ni_u3' does not cover Al (it covers Ni); potentials covering Ni-Al: MoCoNiVFeAlCr_meam, NiAlH_jea"),
    (("workflow: eos", "workflow: eso"), "unknown workflow 'eso'"),
    (("lattice: fcc", "lattice: fcx"), "unknown lattice 'fcx'"),
    (("points: 5", "points: many"), "must be a number"),
])
def test_bad_study_is_one_line_error(study_file, run_cli, tmp_path, change, expected):
    path = study_file(GOOD.replace(*change))
    line = one_line_error(*run_cli("run", path, "--out", tmp_path / "out"))
    assert expected in line
    assert not (tmp_path / "out").exists()  # caught before any LAMMPS start


def test_missing_study_file(run_cli, tmp_path):
    assert "not found" in one_line_error(*run_cli("run", tmp_path / "nope.yaml"))


def test_unknown_command_line_option(run_cli, study_file):
    assert "unrecognized arguments: --bogus" in one_line_error(*run_cli("run", study_file(GOOD), "--bogus"))


def test_missing_potential_file(study_file, run_cli, tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "name: mine\nelements: [Ni]\npair_style: eam\npair_coeff: '* * ${potdir}/Ni_mine.eam'\n"
        "files: [Ni_mine.eam]\nfiles_from: .\nreference: none\n")
    line = one_line_error(*run_cli("run", study_file(GOOD.replace("[Ni_u3]", "[mine.yaml]")), "--out", tmp_path / "o"))
    assert "Ni_mine.eam is missing" in line


def write_table_potential(folder):
    """A Morse pair potential for Ni tabulated from r = 2.3 A: LAMMPS stops with an error in any cell with
    a shorter distance, a real in-task failure that hits only the compressed points of a scan."""
    r = np.linspace(2.3, 6.0, 400)
    d, alpha, r0 = 0.4205, 1.4199, 2.780  # Girifalco-Weizer Morse parameters for Ni
    e = d * (np.exp(-2 * alpha * (r - r0)) - 2 * np.exp(-alpha * (r - r0)))
    f = 2 * alpha * d * (np.exp(-2 * alpha * (r - r0)) - np.exp(-alpha * (r - r0)))
    rows = "\n".join(f"{i + 1} {ri:.6f} {ei:.10f} {fi:.10f}" for i, (ri, ei, fi) in enumerate(zip(r, e, f)))
    (folder / "morse.table").write_text(f"# Morse Ni\nMORSE\nN {len(r)} R 2.3 6.0\n\n{rows}\n")
    (folder / "morse.yaml").write_text(
        "name: morse\nelements: [Ni]\npair_style: table linear 400\npair_coeff: '1 1 ${potdir}/morse.table MORSE 6.0'\n"
        "files: [morse.table]\nfiles_from: .\nreference: Girifalco and Weizer, Phys. Rev. 114, 687 (1959)\n")


def test_lammps_error_in_one_task_keeps_the_others(study_file, run_cli, tmp_path):
    write_table_potential(tmp_path)
    path = study_file(GOOD.replace("[Ni_u3]", "[morse.yaml]").replace("strain: 0.02", "strain: 0.19"))
    out = tmp_path / "out"
    line = one_line_error(*run_cli("run", path, "--out", out))
    assert "2 failure(s)" in line and "Pair distance < table inner cutoff" in line and "rerun" in line
    finished = sorted(p.parent.name for p in out.rglob("result.json") if p.parent != out)
    assert finished == ["a3.52000", "a3.85440", "a4.18880", "atom_Ni", "relax"]
    failed = sorted(p.parent.name for p in out.rglob("error.txt"))
    assert failed == ["a2.85120", "a3.18560"]
    assert "error" in read_results(out)["morse"]

    # fixing the cause (a narrower scan keeps distances above 2.3 A) and rerunning finishes the study,
    # keeping the task that still has the same input
    code, _, err = run_cli("run", path.write_text(path.read_text().replace("strain: 0.19", "strain: 0.03")) and path,
                           "--out", out)
    assert code == 0, err
    assert "kept (done before)" in err  # relax and atom_Ni did not change
    assert read_results(out)["morse"]["a0_A"] > 3.0


def test_corrupt_potential_file_fails_its_tasks_without_killing_the_run(study_file, run_cli, tmp_path):
    """LAMMPS crashes (SIGSEGV) when an instance whose pair_coeff failed on a truncated EAM file is deleted; the run
    must survive that, report one line and write error.txt for each task."""
    (tmp_path / "Ni_cut.eam").write_text("Ni, truncated\n28 58.69 3.52 fcc\n")
    (tmp_path / "cut.yaml").write_text(
        "name: cut\nelements: [Ni]\npair_style: eam\npair_coeff: '* * ${potdir}/Ni_cut.eam'\n"
        "files: [Ni_cut.eam]\nfiles_from: .\nreference: none\n")
    out = tmp_path / "out"
    line = one_line_error(*run_cli("run", study_file(GOOD.replace("[Ni_u3]", "[cut.yaml]")), "--out", out))
    assert "Missing line in eam potential file" in line
    assert len(list(out.rglob("error.txt"))) >= 2
