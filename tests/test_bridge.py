"""The bridge (pylmp.bridge): an ASE calculator inside LAMMPS through fix external, with the real CHGNet 0.3.0 and
SevenNet-0 (both ship inside their wheels) and real LAMMPS.

Tolerances. Both models are float32, and the two sides do not see bit-identical inputs: LAMMPS wraps the atoms
into its box (positions relative to boxlo), so the model builds the same graph from other periodic images.
- energy: a float32 sum of per-atom energies; bound 8 ulp of |E_total| (2**-23 relative each), ~2e-4 eV here.
- forces: float32 sums of ~50-100 edge gradients of size <~1 eV/A; 1e-6..5e-6 eV/A measured; bound 2e-5 eV/A.
- stress: the same sums over the volume; 3e-8..6e-8 eV/A^3 measured; bound 5e-7 eV/A^3 (80 kPa).
"""
from __future__ import annotations

import importlib.util

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read, write

from pylmp import bridge, lammps_env, plugin, potentials
from conftest import read_results, run_study
from plugin_helpers import NKTV2P, registry_lines, run_lines

F32_EPS = 2.0**-23


@pytest.fixture(scope="module")
def chgnet():
    return bridge.calculator(potentials.get("chgnet"))  # ~5 s, once per process


def lammps_eval(atoms, elements, name, folder, extra=(), after=("run 0",)):
    """Energy (eV), forces (eV/A, by atom ID), ASE-ordered stress (eV/A^3), LAMMPS instance closed; `after` runs last."""
    write(folder / "data.lmp", atoms, format="lammps-data", specorder=elements, masses=True)
    lmp = run_lines(name, ["units metal", "atom_style atomic", "boundary p p p", f"read_data {folder / 'data.lmp'}",
                           *registry_lines(name, elements),
                           "compute vir all pressure NULL virial", "thermo_style custom step pe vol c_vir[*]", *extra, *after],
                    elements, folder, log=str(folder / "log.lammps"))
    try:
        energy, volume = lmp.get_thermo("pe"), lmp.get_thermo("vol")
        p = np.array([lmp.extract_compute("vir", 0, 1)[k] for k in range(6)])  # xx yy zz xy xz yz, bar
        forces = np.array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)
    finally:
        lmp.close()
    return energy, forces, (-p / NKTV2P)[[0, 1, 2, 5, 4, 3]], volume


def cells():
    ni = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2)
    ni.rattle(0.05, seed=1)
    alloy = bulk("Ni", "fcc", a=3.56, cubic=True).repeat(2)
    symbols = np.array(alloy.get_chemical_symbols())
    symbols[np.random.default_rng(7).choice(len(alloy), 10, replace=False)] = "Al"
    alloy.set_chemical_symbols(symbols)
    alloy.rattle(0.05, seed=3)
    return {"Ni": (ni, ["Ni"]), "NiAl": (alloy, ["Ni", "Al"])}


def assert_float32_equal(lmp_out, atoms):
    energy, forces, stress, _ = lmp_out
    e_ref, f_ref, s_ref = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert abs(energy - e_ref) <= 8 * F32_EPS * abs(e_ref), (energy, e_ref)
    assert np.abs(forces - f_ref).max() < 2e-5, np.abs(forces - f_ref).max()
    assert np.abs(stress - s_ref).max() < 5e-7, (stress, s_ref)
    assert np.abs(f_ref).max() > 0.1 and np.abs(s_ref).max() > 1e-3  # the cells really are off equilibrium


@pytest.mark.parametrize("cell", ["Ni", "NiAl"])
def test_chgnet_in_lammps_equals_its_ase_calculator(chgnet, tmp_path, cell):
    atoms, elements = cells()[cell]
    out = lammps_eval(atoms, elements, "chgnet", tmp_path)
    atoms.calc = chgnet
    assert_float32_equal(out, atoms)


def test_nequip_model_in_the_process_leaves_float32_models_working(chgnet, tmp_path):
    """One process, several ML models: nequip's loaders make float64 torch's default for the whole process, which
    broke CHGNet and SevenNet loaded or run after a nequip model ("Float did not match Double"); pylmp loads and
    runs nequip models under float64 and gives the process its default back."""
    import torch
    from sevenn.calculator import SevenNetCalculator

    from pylmp import finetune_nequip

    atoms, elements = cells()["NiAl"]
    atoms.calc = finetune_nequip.calculator(plugin.TEST_MODELS / "allegro-tiny.nequip.zip")
    assert atoms.get_forces().dtype == np.float64 and torch.get_default_dtype() == torch.float32
    out = lammps_eval(atoms, elements, "chgnet", tmp_path)
    atoms.calc = chgnet
    assert_float32_equal(out, atoms)
    atoms.calc = SevenNetCalculator("7net-0", device="cpu")
    assert np.isfinite(atoms.get_potential_energy())


def test_npt_volume_follows_the_ase_stress(chgnet, tmp_path):
    """A compressed perfect crystal (zero forces, T = 0) under fix npt iso 0 bar: the Nose-Hoover barostat
    accelerates ln V at 3 P V / W (W = (N+1) kT Pdamp^2), so after time t, ln(V/V0) = 3/2 P V t^2 / W to leading
    order, with P from CHGNet's ASE stress. P drops as the cell grows (B ~ 200 GPa): a few % below that."""
    atoms = bulk("Ni", "fcc", a=3.44, cubic=True)  # 1.8 % below CHGNet's a0 = 3.504 A; 4 atoms keep it fast
    atoms.calc = chgnet
    pressure = -atoms.get_stress()[:3].mean() * NKTV2P  # bar
    assert pressure > 10 * 1e4  # > 10 GPa: it must expand
    steps, dt, pdamp, temp = 20, 0.001, 2.0, 300.0
    _, _, _, volume = lammps_eval(atoms, ["Ni"], "chgnet", tmp_path, after=(
        f"timestep {dt}", f"fix md all npt temp {temp} {temp} 0.1 iso 0.0 0.0 {pdamp}", f"run {steps}"))
    v0, n, kt = atoms.get_volume(), len(atoms), 8.617333e-5 * temp
    predicted = 1.5 * pressure * v0 / NKTV2P * (steps * dt) ** 2 / ((n + 1) * kt * pdamp**2)
    measured = math.log(volume / v0)
    assert measured > 0
    print(f"NPT {steps} steps: ln(V/V0) = {measured:.5f}, predicted {predicted:.5f} from P = {pressure / 1e4:.2f} GPa")
    assert 0.85 < measured / predicted < 1.05, (measured, predicted)


EOS_4_ATOMS = """
workflow: eos
material: {lattice: fcc, composition: Ni, a: 3.50, atoms: 4}
potentials: [chgnet]
settings: {points: 5, strain: 0.03}
"""


def test_eos_with_chgnet_gives_the_ni_lattice_parameter(tmp_path):
    """A perfect crystal: the 4-atom cube gives the same a0 as 108 atoms (3.504 A, STACK-NOTES) at a 30th of the cost."""
    out = run_study(tmp_path, EOS_4_ATOMS)
    res = read_results(out)["chgnet"]
    print(f"chgnet eos, 4-atom fcc Ni: a0 = {res['a0_A']:.4f} A (relaxed {res['a0_relaxed_A']:.4f}), B = {res['B_GPa']:.1f} GPa")
    assert abs(res["a0_A"] - 3.504) < 0.01 and abs(res["a0_relaxed_A"] - 3.504) < 0.01, res
    assert 150 < res["B_GPa"] < 260
    # elastic re-reads the cell after `clear` for each of its 12 strains: the bridge must re-attach every time;
    # its bulk modulus (C11 + 2 C12)/3 is a second route to the EOS curvature
    elastic = read_results(run_study(tmp_path, EOS_4_ATOMS.replace("workflow: eos", "workflow: elastic")
                                     .replace("settings: {points: 5, strain: 0.03}", ""), "elastic"))["chgnet"]
    print(f"chgnet elastic, 4-atom fcc Ni: C11/C12/C44 = {elastic['C11_GPa']:.1f}/{elastic['C12_GPa']:.1f}/{elastic['C44_GPa']:.1f} GPa")
    # CHGNet's own E(V) curvature is rough: finite differences (h = 1e-3) give B = 231 GPa at a = 3.50 A and 190 GPa
    # at 3.52 A, so a 0.5 % strain (elastic) and a +/-3 % Birch-Murnaghan fit may differ by that much (SevenNet-0: 0.2 %)
    assert elastic["B_GPa"] == pytest.approx(res["B_GPa"], rel=0.10)
    assert elastic["C11_GPa"] > elastic["C12_GPa"] > 0 and elastic["C44_GPa"] > 0
    text = (out / "chgnet" / "relax" / "in.lmp").read_text()
    for line in ("pair_style      zero 6.0", "pair_coeff      * *", "fix             bridge all external pf/callback 1 1",
                 "fix_modify      bridge energy yes virial yes", "come from pylmp"):
        assert line in text


def test_sevennet_plugin_equals_sevennet_ase_bridge(tmp_path):
    """Cross-code check: the same SevenNet-0 weights through pair_style pylmp/torch and through the bridge."""
    plugin.plugin_path()
    plugin.deploy_sevennet()
    atoms, elements = cells()["NiAl"]
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    e_p, f_p, s_p, _ = lammps_eval(atoms, elements, "sevennet-0", tmp_path / "a")
    e_b, f_b, s_b, _ = lammps_eval(atoms, elements, "sevennet-0-ase", tmp_path / "b")
    assert abs(e_p - e_b) <= 8 * F32_EPS * abs(e_p), (e_p, e_b)
    assert np.abs(f_p - f_b).max() < 2e-5
    assert np.abs(s_p - s_b).max() < 1e-7


def test_bridge_refuses_lmp_subprocess_and_mpirun_lmp(study_file, run_cli, tmp_path):
    study = study_file("""
        workflow: eos
        material: {lattice: fcc, composition: Ni, atoms: 32}
        potentials: [chgnet]
        settings: {points: 5}
    """)
    for args in (["--mode", "lmp"], ["--np", "2"]):
        code, _, err = run_cli("run", study, "--out", tmp_path / "out", *args)
        assert code == 2 and err.count("\n") == 1 and "runs only in-process" in err and "python -m pylmp" in err, err
    assert not (tmp_path / "out").exists()  # nothing started


def test_missing_package_and_missing_weights_are_one_line_errors(study_file, run_cli, tmp_path):
    study = study_file("""
        workflow: eos
        material: {lattice: fcc, composition: Ni, atoms: 32}
        potentials: [uma]
    """)
    code, _, err = run_cli("run", study, "--out", tmp_path / "out")
    if importlib.util.find_spec("fairchem") is None:  # .[ml] installs it; then the missing weights are the error
        assert code == 2 and err.count("\n") == 1 and "'fairchem'" in err and "pip install fairchem-core" in err, err
    else:
        assert code == 2 and err.count("\n") == 1 and "uma-s-1p1.pt not found" in err and "never downloads" in err, err
    # a fine-tuned CHGNet of the user's own (a weights path instead of a shipped version) that is not there
    entry = potentials.get("chgnet").source.read_text().replace('model: "0.3.0"', "model: ~/no-such/finetuned.pth.tar")
    (tmp_path / "mine.yaml").write_text(entry.replace("name: chgnet", "name: chgnet-mine"))
    code, _, err = run_cli("run", study, "--potential", tmp_path / "mine.yaml", "--out", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1, err
    assert "finetuned.pth.tar not found" in err and "never downloads" in err, err
    assert not (tmp_path / "out").exists()


def test_mpirun_python_gathers_the_atoms_to_one_rank(chgnet, tmp_path):
    """`mpirun -np 2 python -m pylmp run --np 2`: one LAMMPS on 2 ranks, the atoms gathered to rank 0 for CHGNet."""
    (tmp_path / "s.yaml").write_text(EOS_4_ATOMS)
    cmd = [lammps_env.mpirun_executable(), "-np", "2", sys.executable, "-m", "pylmp", "run", "s.yaml", "--np", "2", "--out", "out"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=lammps_env.subprocess_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[group 0]" in proc.stderr and "[group 1]" not in proc.stderr  # one group of two ranks
    res = read_results(tmp_path / "out")["chgnet"]
    assert abs(res["a0_A"] - 3.504) < 0.01 and abs(res["a0_relaxed_A"] - 3.504) < 0.01, res
    task = tmp_path / "out" / "chgnet" / "scan" / "a3.50000"
    atoms = read(task / "data.lmp", format="lammps-data", Z_of_type={1: 28})
    atoms.calc = chgnet
    e_ref = atoms.get_potential_energy()
    assert abs(json.loads((task / "result.json").read_text())["E_eV"] - e_ref) <= 8 * F32_EPS * abs(e_ref)
