"""Defect analyses (pylmp analyze, analysis/defects.py) on configurations relaxed by real LAMMPS (Ni_u3 EAM),
checked against the geometry they were built with and against a second code (mdapy, ASE neighbour lists).

- intrinsic stacking fault: CNA finds exactly the two (111) planes at the fault hcp, mdapy's CNA the same atoms,
  the planar-fault classifier calls them ISF, and its area equals the cell's cross-section;
- twin boundaries: one hcp plane each, classified as twins;
- a Shockley partial loop of radius R (solid-angle displacement field, relaxed normal to its plane): DXA's line
  length is 2 pi R within 5 %, Burgers family 1/6<112>, the line lies in the slip plane at radius R;
- Warren-Cowley alpha: exact L1_2 values and ~0 for a random alloy, mdapy = a direct count with ASE;
- the CLI and the study key write CSV/PNG; bad input fails with one line and exit code 2.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from pylmp import faults, lammps_env, potentials, structures
from pylmp.analysis import defects
from conftest import run_study

A_NI = 3.52  # Ni_u3 lattice parameter (A)
ISF = [0, 1, 2, 0, 1, 2, 1, 2, 0, 1, 2, 0]   # A B C A B C | B C A B C A, one fault (tilt 1 closes the period)
TWINS = [0, 1, 2, 0, 1, 2, 1, 0, 2, 1, 0, 2]  # A B C A B C B A C B A C: mirror planes at 5 and 11


def lammps_dump(atoms, folder, name, elements=("Ni",), relax="", md_frames=0, maxiter=100):
    """Write `atoms`, optionally minimise ("all": all coordinates, "z": normal to the (111) plane only) or run a
    few MD frames (100 K, every 10 steps), and dump id type element x y z with LAMMPS. Returns the dump path."""
    folder.mkdir(parents=True, exist_ok=True)
    structures.write_data(atoms, folder / "data.lmp", list(elements))
    pot = potentials.get("Ni_u3" if elements == ("Ni",) else "NiAlH_jea")
    lmp = lammps_env.new_lammps(["-screen", "none", "-log", "none"])
    dump = folder / name
    cmds = ["units metal", "atom_style atomic", "boundary p p p", f"read_data {folder / 'data.lmp'}",
            f"variable potdir index {pot.files_dir}", *pot.lammps_lines(list(elements))]
    if relax == "z":  # in-plane forces off: the loop cannot glide away (a free loop this small shrinks and vanishes)
        cmds.append("fix zonly all setforce 0.0 0.0 NULL")
    if relax:
        cmds.append(f"minimize 0 1e-4 {maxiter} {10 * maxiter}")
    if md_frames:
        cmds += ["velocity all create 100 4928459 loop all", "fix md all nvt temp 100 100 0.1",
                 f"dump d all custom 10 {dump} id type element x y z",
                 f"dump_modify d element {' '.join(elements)} sort id", f"run {10 * (md_frames - 1)}"]
    else:
        cmds.append(f"write_dump all custom {dump} id type element x y z modify element {' '.join(elements)}")
    for cmd in cmds:
        lmp.command(cmd)
    lmp.close()
    return dump


def plane_index(z: np.ndarray, a: float) -> np.ndarray:
    return np.rint(z / faults.plane_spacing(a) - 0.5).astype(int)


@pytest.fixture(scope="module")
def isf_dump(tmp_path_factory):
    cell = defects.stacked_111_cell("Ni", A_NI, ISF, (3, 2), tilt=1)
    return lammps_dump(cell, tmp_path_factory.mktemp("isf"), "isf.dump", relax="all"), cell


def test_intrinsic_fault_two_hcp_planes(isf_dump):
    import mdapy
    from ovito.io import import_file
    from ovito.modifiers import CommonNeighborAnalysisModifier

    dump, cell = isf_dump
    per_plane = faults.atoms_per_plane((3, 2))
    [row] = defects.analyze(dump, ["cna", "ptm", "faults", "csp", "dxa"])
    assert row["cna_HCP"] == row["ptm_HCP"] == 2 * per_plane
    assert row["cna_FCC"] == len(cell) - 2 * per_plane
    # which atoms: planes 5 and 6 (C between B's, B between C's), every atom of both
    data = import_file(str(dump)).compute()
    data.apply(CommonNeighborAnalysisModifier())
    hcp = np.asarray(data.particles.structure_types) == CommonNeighborAnalysisModifier.Type.HCP
    planes, counts = np.unique(plane_index(np.asarray(data.particles.positions)[hcp, 2], A_NI), return_counts=True)
    assert planes.tolist() == [5, 6] and counts.tolist() == [per_plane, per_plane]
    # mdapy's own CNA (a second code) marks the same atoms (its structure code 2 = hcp)
    system = mdapy.System(ovito_atom=data)
    system.cal_common_neighbor_analysis()
    assert np.array_equal(system.data["cna"].to_numpy() == 2, hcp)
    # the classifier: an intrinsic fault spanning the cell's cross-section
    assert row["faults_isf_atoms"] == 2 * per_plane
    assert row["faults_twin_atoms"] == row["faults_multilayer_atoms"] == row["faults_other_hcp_atoms"] == 0
    lx, ly = cell.cell.lengths()[:2]
    assert row["faults_isf_area_A2"] == pytest.approx(lx * ly, rel=0.01)
    assert row["csp_defect_atoms"] == 2 * per_plane and row["dxa_length_A"] == 0.0


def test_twin_boundaries_one_hcp_plane_each(tmp_path):
    cell = defects.stacked_111_cell("Ni", A_NI, TWINS, (3, 2))
    [row] = defects.analyze(lammps_dump(cell, tmp_path, "twin.dump", relax="all"), ["cna", "faults"])
    per_plane = faults.atoms_per_plane((3, 2))
    assert row["faults_twin_atoms"] == row["cna_HCP"] == 2 * per_plane
    assert row["faults_isf_atoms"] == 0


def test_dxa_shockley_loop_length(tmp_path):
    """Loop radius R = 15 A, b = a/6[11-2] in the (111) plane between planes 14 and 15 of a 20,160-atom cell.
    The measured effective radius (mean distance of DXA's line from the loop centre) is R within 5 % too."""
    from ovito.io import import_file
    from ovito.modifiers import DislocationAnalysisModifier

    layers, repeat, radius = 30, (24, 14), 15.0
    cell = faults.fcc111_cell("Ni", A_NI, layers, repeat)
    center = np.array([cell.cell[0, 0] / 2, cell.cell[1, 1] / 2, layers // 2 * faults.plane_spacing(A_NI)])
    defects.add_shear_loop(cell, center, radius, [0.0, faults.partial_burgers(A_NI), 0.0])
    dump = lammps_dump(cell, tmp_path, "loop.dump", relax="z", maxiter=30)  # converged: 100 give the same length
    [row] = defects.analyze(dump, ["dxa"])
    assert row["dxa_lines"] == 1
    assert row["dxa_shockley_A"] == row["dxa_length_A"]
    assert row["dxa_length_A"] == pytest.approx(2 * math.pi * radius, rel=0.05)
    pipeline = import_file(str(dump))
    pipeline.modifiers.append(DislocationAnalysisModifier(input_crystal_structure=DislocationAnalysisModifier.Lattice.FCC))
    [line] = pipeline.compute().dislocations.lines
    assert line.is_loop
    points = np.asarray(line.points)
    assert np.abs(points[:, 2] - center[2]).max() < faults.plane_spacing(A_NI)
    assert np.linalg.norm(points[:, :2] - center[:2], axis=1).mean() == pytest.approx(radius, rel=0.05)
    assert sorted(6 * np.abs(np.asarray(line.true_burgers_vector))) == pytest.approx([1, 1, 2], abs=1e-3)


def counted_alpha(atoms, a: float) -> dict:
    """alpha_ij = 1 - P_ij / c_j by counting first-shell neighbours with ASE (cut-off midway to the second shell)."""
    from ase.neighborlist import neighbor_list

    i, j = neighbor_list("ij", atoms, 0.5 * (1 / math.sqrt(2) + 1) * a)
    sym = np.array(atoms.get_chemical_symbols())
    out = {}
    for ei in sorted(set(sym)):
        around = sym[j[sym[i] == ei]]
        for ej in sorted(set(sym)):
            out[f"sro_{ei}-{ej}"] = 1 - np.mean(around == ej) / np.mean(sym == ej)
    return out


def test_warren_cowley_ordered_and_random(tmp_path):
    """L1_2 Ni3Al, first shell: a Ni has 8 Ni + 4 Al, an Al 12 Ni, so alpha_NiAl = 1 - (4/12)/0.25 = -1/3,
    alpha_AlNi = 1 - 1/0.75 = -1/3, alpha_NiNi = 1 - (8/12)/0.75 = 1/9, alpha_AlAl = 1.
    Random Ni-25Al with 4000 atoms: alpha_NiAl estimates 0 with a standard deviation of about
    sqrt((1 - c_Al) / (c_Al N_Ni Z)) = sqrt(0.75 / (0.25 * 3000 * 12)) = 0.009 (binomial count of Al among the
    36,000 Ni bonds); the bound 0.05 is over 5 standard deviations and far from the ordered -1/3."""
    comp = {"Ni": 75, "Al": 25}
    ordered = structures.crystal("L12", comp, A_NI, 256)
    random = structures.crystal("fcc", comp, A_NI, 4000, seed=3)
    for atoms, name in ((ordered, "l12.dump"), (random, "random.dump")):
        [row] = defects.analyze(lammps_dump(atoms, tmp_path / name, name, elements=("Ni", "Al")), ["sro"])
        sro = {k: v for k, v in row.items() if k.startswith("sro_")}
        assert sro == pytest.approx(counted_alpha(atoms, A_NI), abs=1e-9)
        if atoms is ordered:
            assert sro == pytest.approx({"sro_Al-Al": 1.0, "sro_Al-Ni": -1 / 3, "sro_Ni-Al": -1 / 3, "sro_Ni-Ni": 1 / 9}, abs=1e-12)
        else:
            assert abs(sro["sro_Ni-Al"]) < 0.05 and abs(sro["sro_Al-Ni"]) < 0.05


def test_cli_writes_csv_and_png(tmp_path, run_cli):
    cell = defects.stacked_111_cell("Ni", A_NI, ISF, (3, 2), tilt=1)
    dump = lammps_dump(cell, tmp_path, "isf_md.lammpstrj", md_frames=3)
    code, out, err = run_cli("analyze", dump, "--what", "cna,faults,dxa", "--out", tmp_path / "res")
    assert code == 0, err
    with open(tmp_path / "res" / "isf_md.defects.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["timestep"]) for r in rows] == [0, 10, 20]
    assert all(int(r["faults_isf_atoms"]) == 24 for r in rows)  # 100 K does not remove the fault
    assert (tmp_path / "res" / "isf_md.defects.png").stat().st_size > 10_000
    assert "faults_isf_atoms=24" in out


def test_cli_bad_input_one_line(tmp_path, run_cli):
    cell = defects.stacked_111_cell("Ni", A_NI, ISF, (3, 2), tilt=1)
    good = lammps_dump(cell, tmp_path, "isf.dump")
    no_xyz = tmp_path / "vel.dump"  # a real LAMMPS dump without positions
    lmp = lammps_env.new_lammps(["-screen", "none", "-log", "none"])
    for cmd in ("units metal", "atom_style atomic", f"read_data {tmp_path / 'data.lmp'}",
                "velocity all create 100 1", f"write_dump all custom {no_xyz} id type vx vy vz"):
        lmp.command(cmd)
    lmp.close()
    cases = [((tmp_path / "missing.dump",), "not found"),
             ((good, "--what", "cna,dxx"), "did you mean 'dxa'"),
             ((no_xyz,), "no atom positions"),
             ((good, "--what", "sro"), "only Ni"),
             ((tmp_path / "data.lmp",), "not a readable LAMMPS text dump")]
    for args, message in cases:
        code, out, err = run_cli("analyze", *args)
        assert code == 2, args
        assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_study_key_analyze(tmp_path, study_file):
    from pylmp import spec
    from pylmp.errors import PylmpError

    text = """
        workflow: md
        material: {lattice: fcc, composition: {Ni: 100}, atoms: 108}
        potentials: [Ni_u3]
        settings: {ensemble: nvt, temperatures: [300], equilibration_steps: 50, steps: 100, dump_every: 50}
        analyze: %s
    """
    with pytest.raises(PylmpError, match="unknown analysis 'cnaa'; did you mean 'cna'"):
        spec.load(study_file(text % "[cnaa]"))
    with pytest.raises(PylmpError, match="sro .* needs an alloy"):
        spec.load(study_file(text % "[cna, sro]"))
    out = run_study(tmp_path, text % "[cna, ptm]")
    with open(out / "analyze.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["task"], int(r["timestep"])) for r in rows] == [("Ni_u3/T300K", t) for t in (0, 50, 100)]
    assert all(int(r["cna_FCC"]) + int(r["cna_OTHER"]) + int(r["cna_HCP"]) + int(r["cna_BCC"]) + int(r["cna_ICO"]) == 108
               for r in rows)
    assert (out / "Ni_u3" / "T300K" / "dump.md.defects.png").is_file()
