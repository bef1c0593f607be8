"""Vacancy migration by climbing-image NEB (real LAMMPS, one partition per replica under mpirun): the Ni_u3 barrier
against a direct constrained scan, forward - backward = E(final) - E(initial), symmetric w0, E_f from the vacancy
template, outputs from results.json alone, bad input as one-line errors."""
import json
import os
import subprocess

import numpy as np
import pytest

import pylmp
from pylmp import lammps_env, launch, single_point, structures
from pylmp.errors import PylmpError
from pylmp.workflows import neb

NI = {"workflow": "neb", "material": {"composition": "Ni", "a": 3.52, "atoms": 108}, "potentials": ["Ni_u3"],
      "settings": {"hops": ["w0"]}}
# one asymmetric hop: Al next to the vacancy, which leaves for Al's 2NN shell (w3) and comes back (w4)
AL = {"workflow": "neb", "material": {"composition": "Ni", "a": 3.52, "atoms": 108}, "potentials": ["NiAlH_jea"],
      "settings": {"solutes": ["Al"], "hops": ["w0", "w3", "w4"], "w3_shells": [2]}}


@pytest.fixture(scope="module")
def ni(tmp_path_factory):
    out = tmp_path_factory.mktemp("neb") / "ni"
    return out, pylmp.run(NI, out=out, jobs=1)["Ni_u3"]


@pytest.fixture(scope="module")
def al(tmp_path_factory):
    out = tmp_path_factory.mktemp("neb") / "al"
    return out, pylmp.run(AL, out=out)["NiAlH_jea"]


def rotated_host(a: float, d: np.ndarray):
    """The 3x3x3 fcc cube of the NEB task (same atoms, same ids) with the supercell vectors chosen so the first one
    lies along the hop vector d: LAMMPS puts it on x, so the hop coordinate is x and `fix setforce 0 NULL NULL` on the
    hopping atom constrains exactly that coordinate and nothing else. Same lattice of images: |det| unchanged."""
    atoms = structures.crystal("fcc", {"Ni": 100.0}, a, 108)
    edge = atoms.cell.array
    first = np.rint(d / np.abs(d).max()) @ edge  # e.g. L (1, 1, 0): a lattice vector of the supercell along d
    i, j = np.flatnonzero(np.abs(np.rint(d / np.abs(d).max())) > 0)
    k = ({0, 1, 2} - {i, j}).pop()
    cell = np.array([first, edge[j], edge[k]])
    cell[2] *= np.sign(np.linalg.det(cell))  # right-handed
    atoms.set_cell(cell)
    atoms.wrap()
    return atoms


def constrained_scan(lx: float, vacancy: int, hopper: int, fractions, folder):
    """E(s) - E(initial) with the hopping atom held at fraction s of the straight hop only along the hop direction
    (relative to the centre of mass of the others), every other degree of freedom relaxed (constant box = the NEB
    task's relaxed perfect cell)."""
    a = lx / 3
    cube = structures.crystal("fcc", {"Ni": 100.0}, a, 108)
    d = cube.get_distance(hopper - 1, vacancy - 1, mic=True, vector=True)
    folder.mkdir(parents=True, exist_ok=True)
    structures.write_data(rotated_host(a, d), folder / "data.lmp", ["Ni"])
    lmp = lammps_env.new_lammps(["-log", str(folder / "log.lammps"), "-screen", "none"])
    try:
        lmp.commands_list(["units metal", "atom_style atomic", "atom_modify map array", "boundary p p p",
                           f"read_data {folder / 'data.lmp'}", *single_point.registry_lines("Ni_u3", ["Ni"])])
        for c in "xyz":  # where LAMMPS put the two sites after rotating the cell
            lmp.commands_list([f"variable {c}h equal {c}[{hopper}]", f"variable {c}v equal {c}[{vacancy}]"])
        start, site = (np.array([lmp.extract_variable(f"{c}{w}") for c in "xyz"]) for w in "hv")
        step = site - start
        assert abs(np.linalg.norm(step) - np.linalg.norm(d)) < 1e-6 and np.abs(step[1:]).max() < 1e-6  # the hop is along x
        lmp.commands_list([f"group vacancy id {vacancy}", "delete_atoms group vacancy compress no",
                           "minimize 0.0 1e-10 10000 100000", f"group hopper id {hopper}", "fix hold hopper setforce 0.0 NULL NULL",
                           # the others' centre of mass tethered along x (stiff spring, its energy counted): else the
                           # crystal slides along x around the held atom, a zero mode that undoes the hop
                           "group rest subtract all hopper", "variable cx equal xcm(rest,x)",
                           "fix frame rest spring tether 1000.0 $(v_cx) NULL NULL 0.0", "fix_modify frame energy yes"])
        e0, out = lmp.get_thermo("pe"), []
        for s in fractions:  # each point starts from the previous one's relaxed neighbours (a drag along the path)
            x = start + s * step
            lmp.commands_list([f"set atom {hopper} x {x[0]:.12f}", "minimize 0.0 1e-10 10000 100000"])
            out.append(lmp.get_thermo("pe") - e0)
        return np.array(out)
    finally:
        lmp.close()


def test_neb_barrier_equals_a_constrained_scan(ni, tmp_path):
    """The acceptance check: the symmetric Ni vacancy hop's saddle is the midpoint, so the maximum of a constrained
    scan (hopping atom's hop coordinate fixed, all else relaxed) must be the climbing-image NEB barrier."""
    out, res = ni
    hop = neb.hops(pylmp.load(NI), "Ni_u3")[0]
    lx = json.loads((out / "Ni_u3" / "w0" / "result.json").read_text())["lx_A"]
    fractions = [0.0, 0.2, 0.4, 0.45, 0.5, 0.55, 0.6, 0.8, 1.0]
    scan = constrained_scan(lx, hop["vacancy"], hop["hopper"], fractions, tmp_path / "scan")
    assert fractions[int(np.argmax(scan))] == 0.5
    assert scan.max() == pytest.approx(res["E_m_eV"], abs=2e-3)
    # the ends hold H on its perfect-lattice site, ~0.02 A from where it relaxes next to the vacancy
    assert 0 < scan[0] < 1e-3 and scan[-1] == pytest.approx(scan[0], abs=1e-4)
    assert scan[3] == pytest.approx(scan[5], abs=1e-3)  # the scan is symmetric about the saddle
    assert 0.8 < res["E_m_eV"] < 1.4  # EAM Ni vacancy migration (measured 1.061 eV for Ni_u3)


def test_w0_is_symmetric_and_e_f_comes_from_the_vacancy_template(ni):
    out, res = ni
    w0 = res["hops"]["w0"]
    assert w0["E_forward_eV"] == pytest.approx(w0["E_backward_eV"], abs=1e-6) and abs(w0["dE_eV"]) < 1e-8
    assert w0["converged"] and w0["climbing_replica"] == 4 and len(w0["energy_eV"]) == 7
    assert max(w0["energy_eV"]) == pytest.approx(w0["E_forward_eV"], abs=1e-4)
    vac = json.loads((out / "Ni_u3" / "vacancy" / "result.json").read_text())
    assert w0["E_initial_eV"] == pytest.approx(vac["E_def_1_eV"], abs=1e-6)  # the NEB's initial state = the relaxed vacancy
    assert res["Q_eV"] == pytest.approx(res["E_vac_f_eV"] + res["E_m_eV"])
    assert 1.4 < res["E_vac_f_eV"] < 1.8


def test_forward_minus_backward_is_the_end_point_difference(al):
    _, res = al
    w3 = res["hops"]["Al/w3_2nn"]
    assert abs(w3["dE_eV"]) > 0.01  # a real asymmetry: the vacancy is bound to Al
    assert w3["E_forward_eV"] - w3["E_backward_eV"] == pytest.approx(w3["dE_eV"], abs=1e-5)
    assert res["E_Al_w4_2nn_eV"] == w3["E_backward_eV"] and res["E_Al_w3_2nn_eV"] == w3["E_forward_eV"]
    assert w3["energy_eV"][-1] == pytest.approx(w3["dE_eV"], abs=1e-4) and res["all_converged"]


def test_outputs_come_from_results_json(al):
    out, res = al
    summary = json.loads((out / "results.json").read_text())
    assert (out / "neb.csv").read_text().startswith("potential,hop,kind,solute,shell,E_forward_eV,E_backward_eV")
    assert len(neb.rows({k: v for k, v in summary.items()})) == 2
    neb.plot(summary, out / "again.png")
    assert (out / "again.png").stat().st_size > 10_000
    assert (out / "NiAlH_jea" / "Al" / "w3_2nn" / "replica_6.dump").exists()


def test_cluster_render_runs_each_replica_as_a_partition(ni, run_cli, study_file, tmp_path):
    """`render --target cluster`: the neb task folder says it needs 7 partitions, the array asks for 7 ranks, and
    submit.slurm (outside Slurm: mpirun) gives the barrier of `pylmp run`, which then keeps the task."""
    path = study_file(json.dumps(NI))
    out = tmp_path / "cluster"
    code, _, err = run_cli("render", path, "--target", "cluster", "--out", out)
    assert code == 0, err
    assert (out / "Ni_u3" / "w0" / "partitions").read_text() == "7\n" and not (out / "Ni_u3" / "vacancy" / "partitions").exists()
    assert "#SBATCH --ntasks=7" in (out / "submit.slurm").read_text()
    bindir = os.path.dirname(lammps_env.mpirun_executable())  # `mpirun` on PATH, as on a cluster with MPI loaded
    env = {**lammps_env.subprocess_env(), "LMP": lammps_env.lmp_executable(), "LAUNCH": "",
           "PATH": bindir + os.pathsep + os.environ["PATH"]}
    proc = subprocess.run(["bash", str(out / "submit.slurm")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (out / "Ni_u3" / "w0" / "log.lammps.6").exists()  # replica 7's own log: it ran partitioned
    code, _, err = run_cli("run", path, "--out", out)
    assert code == 0 and err.count("kept (done before)") == 2, err
    assert json.loads((out / "results.json").read_text())["Ni_u3"]["E_m_eV"] == pytest.approx(ni[1]["E_m_eV"], abs=1e-6)


def test_hop_geometry_matches_its_name():
    """V and H are nearest neighbours; around S: w1 keeps the vacancy in S's 1NN shell, w3_k takes it to the kNN shell."""
    st = pylmp.load({**AL, "settings": {"solutes": ["Al"], "w3_shells": [2, 3, 4]}})
    cell, a = neb.host_cell(st), st.a
    shells = {0.5: 1, 1.0: 2, 1.5: 3, 2.0: 4}
    for hop in neb.hops(st, "NiAlH_jea"):
        v, h = hop["vacancy"] - 1, hop["hopper"] - 1
        assert cell.get_distance(v, h, mic=True) == pytest.approx(a / np.sqrt(2))
        if hop["solute"]:
            s = hop["solute"]["id"] - 1
            assert cell.get_distance(v, s, mic=True) == pytest.approx(a / np.sqrt(2))  # the bound pair
            after = 0 if h == s else shells[round((cell.get_distance(h, s, mic=True) / a) ** 2, 3)]
            assert after == {"w1": 1, "w2": 0}.get(hop["kind"], hop["shell"])
    assert [h["name"] for h in neb.hops(st, "NiAlH_jea")] == ["w0", "Al/w1", "Al/w2", "Al/w3_2nn", "Al/w3_3nn", "Al/w3_4nn"]


def test_replicas_get_np_ranks_when_they_fit():
    cores = launch.default_jobs()
    assert launch.replica_ranks(7, 1) == 1
    assert launch.replica_ranks(2, max(1, cores // 2)) == max(1, cores // 2)
    assert launch.replica_ranks(cores + 1, 4) == 1  # more replicas than cores: one rank each


@pytest.mark.parametrize("settings, message", [
    ({"solutes": ["Co"]}, "solute Co is not covered by potential 'NiAlH_jea'"),
    ({"solutes": ["Al"], "hops": ["w5"]}, "settings.hops has 'w5', not a defined hop"),
    ({"solutes": ["Ni"]}, "has the host Ni"),
    ({"hops": ["w2"]}, "need a solute"),
    ({"solutes": {"NiAlH_jea": ["Al"], "nope": ["Al"]}}, "nope"),
    ({"replicas": 2}, "replicas must be at least 3"),
])
def test_bad_settings_are_errors(settings, message):
    with pytest.raises(PylmpError, match=message):
        pylmp.load({**AL, "settings": settings})


def test_bad_input_is_a_one_line_error_exit_2(study_file, run_cli, tmp_path):
    path = study_file("workflow: neb\nmaterial: {composition: Ni, atoms: 108}\npotentials: [Ni_u3]\nsettings: {solutes: [Al]}\n")
    code, _, err = run_cli("run", path, "--out", tmp_path / "o")
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("pylmp")]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "solute Al is not covered by potential 'Ni_u3'" in lines[0]
    code, _, err = run_cli("run", study_file("workflow: neb\nmaterial: {composition: {Ni: 90, Al: 10}}\npotentials: [NiAlH_jea]\n"))
    assert code == 2 and "needs a pure fcc host" in err
