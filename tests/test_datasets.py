"""DFT datasets: reading through ASE (extxyz, VASP OUTCAR), missing labels, seeded stratified splits, per-element
reference energies, the summary and `pylmp dataset summary`."""

import json
from pathlib import Path

import ase
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from pylmp import datasets
from pylmp.errors import PylmpError

MU = {"Al": -3.7, "Ni": -5.5}  # per-element energies the labelled frames are built from


def frame(n_ni: int, n_al: int, config_type: str | None, seed: int, stress=True):
    atoms = bulk("Ni", "fcc", a=3.55, cubic=True).repeat((max(1, (n_ni + n_al) // 4), 1, 1))
    atoms.symbols[:n_al] = "Al"
    rng = np.random.default_rng(seed)
    energy = n_ni * MU["Ni"] + n_al * MU["Al"]
    results = {"energy": energy, "forces": rng.normal(0, 0.3, (len(atoms), 3))}
    if stress:
        results["stress"] = rng.normal(0, 0.01, 6)
    atoms.calc = SinglePointCalculator(atoms, **results)
    if config_type is not None:
        atoms.info["config_type"] = config_type
    return atoms


@pytest.fixture
def dataset(tmp_path):
    frames = [frame(4, 0, "bulk", k) for k in range(20)] + [frame(3, 1, "alloy", 100 + k) for k in range(10)] \
        + [frame(6, 2, "alloy8", 200 + k) for k in range(3)] + [frame(4, 0, "lone", 300)]
    path = tmp_path / "data.extxyz"
    write(path, frames, format="extxyz")
    return path


def test_read_extxyz_keeps_labels_and_config_types(dataset):
    frames = datasets.read_frames(dataset, require=("energy", "forces", "stress"))
    assert len(frames) == 34 and datasets.elements(frames) == ["Al", "Ni"]
    assert datasets.config_types(frames)[:1] + datasets.config_types(frames)[-1:] == ["bulk", "lone"]
    lab = datasets.labels(frames[30])
    assert lab["energy"] == pytest.approx(6 * MU["Ni"] + 2 * MU["Al"]) and lab["forces"].shape == (8, 3) and lab["stress"].shape == (6,)


def test_vasp_outcar_through_ase():
    outcar = Path(ase.__file__).parent / "test" / "testdata" / "vasp" / "OUTCAR_example_1"
    frames = datasets.read_frames(outcar, require=("energy", "forces", "stress"))
    assert datasets.config_types(frames) == ["default"] * len(frames)  # no config_type in VASP output
    assert datasets.labels(frames[-1])["forces"].shape == (len(frames[-1]), 3)


def test_missing_labels_and_files_are_one_line_errors(tmp_path):
    no_forces = frame(4, 0, "bulk", 1)
    no_forces.calc = SinglePointCalculator(no_forces, energy=-20.0)
    write(tmp_path / "a.extxyz", [frame(4, 0, "bulk", 0), no_forces], format="extxyz")
    with pytest.raises(PylmpError, match="frame 1 has no DFT forces"):
        datasets.read_frames(tmp_path / "a.extxyz")
    write(tmp_path / "b.extxyz", [frame(4, 0, "bulk", 0, stress=False)], format="extxyz")
    datasets.read_frames(tmp_path / "b.extxyz")  # stress is optional unless asked for
    with pytest.raises(PylmpError, match="frame 0 has no DFT stress"):
        datasets.read_frames(tmp_path / "b.extxyz", require=("energy", "forces", "stress"))
    with pytest.raises(PylmpError, match="not found"):
        datasets.read_frames(tmp_path / "missing.extxyz")
    (tmp_path / "junk.xyz").write_text("not a dataset\n")
    with pytest.raises(PylmpError, match="ASE cannot read it"):
        datasets.read_frames(tmp_path / "junk.xyz")


def test_split_is_seeded_complete_and_per_config_type(dataset):
    frames = datasets.read_frames(dataset)
    first, again, other = (datasets.split(frames, seed=s) for s in (7, 7, 8))
    assert first == again and first != other
    everything = sorted(i for part in first.values() for i in part)
    assert everything == list(range(len(frames)))  # disjoint and complete
    types = np.array(datasets.config_types(frames))
    for part in first.values():  # 20 bulk frames: 16/2/2 exactly; 10 alloy frames: 8/1/1
        assert {t: int((types[part] == t).sum()) for t in ("bulk", "alloy")} in ({"bulk": 16, "alloy": 8}, {"bulk": 2, "alloy": 1})
    assert list(types[first["train"]]).count("lone") == 1  # a lone frame trains
    assert list(types[first["train"]]).count("alloy8") >= 1
    with pytest.raises(PylmpError, match="summing to 1"):
        datasets.split(frames, fractions=(0.5, 0.2, 0.2))
    kept = datasets.split(frames, seed=7, train_only=["alloy"])  # every alloy frame trains; bulk splits as before
    assert int((types[kept["train"]] == "alloy").sum()) == 10 and kept["valid"] == [i for i in first["valid"] if types[i] != "alloy"]


def test_reference_energies_fit_and_isolated(dataset):
    frames = datasets.read_frames(dataset)
    # energies were built as sum n_X mu_X: the least-squares fit must give mu back
    assert datasets.reference_energies(frames) == pytest.approx(MU, abs=1e-9)
    assert datasets.reference_energies(frames, isolated={"Ni": -0.1, "Al": -0.2, "H": 0.0}) == {"Al": -0.2, "Ni": -0.1}
    with pytest.raises(PylmpError, match="lack Al"):
        datasets.reference_energies(frames, isolated={"Ni": -0.1})


def test_summary_counts_and_ranges(dataset):
    frames = datasets.read_frames(dataset)
    s = datasets.summary(frames, str(dataset))
    assert s["frames"] == 34 and s["atoms"] == 20 * 4 + 10 * 4 + 3 * 8 + 4
    assert {k: (v["frames"], v["atoms"]) for k, v in s["config_types"].items()} == \
        {"bulk": (20, 80), "alloy": (10, 40), "alloy8": (3, 24), "lone": (1, 4)}
    forces = np.concatenate([datasets.labels(f)["forces"] for f in frames])
    assert s["force_norm_eV_A"]["max"] == pytest.approx(np.linalg.norm(forces, axis=1).max())
    stress = np.ravel([datasets.labels(f)["stress"] for f in frames]) * 160.21766208
    assert s["stress_GPa"]["min"] == pytest.approx(stress.min()) and s["frames_with_stress"] == 34
    assert s["energy_above_reference_per_atom_eV"]["max"] == pytest.approx(0.0, abs=1e-9)
    assert "alloy8" in datasets.format_summary(s)


def test_cli_summary(run_cli, dataset, tmp_path):
    code, out, err = run_cli("dataset", "summary", dataset)
    assert code == 0, err
    assert "34 frames, 148 atoms, elements Al Ni" in out and "bulk" in out
    code, out, _ = run_cli("dataset", "summary", dataset, "--json")
    assert code == 0 and json.loads(out)["config_types"]["lone"]["frames"] == 1
    code, out, err = run_cli("dataset", "summary", tmp_path / "nope.extxyz")
    assert code == 2 and err.startswith("error: dataset") and len(err.strip().splitlines()) == 1


def test_committed_pbe_dataset():
    """data/dft (run/make_dft_dataset): every frame labelled, and the JSON's numbers recomputed from the frames."""
    from ase.eos import EquationOfState

    folder = Path(__file__).resolve().parent.parent / "data" / "dft"
    frames = datasets.read_frames(folder / "ni_pbe.extxyz", require=("energy", "forces", "stress"))
    info = json.loads((folder / "ni_pbe_faults.json").read_text())
    assert info["settings"]["xc"] == "PBE" and info["settings"]["spin_polarized"]
    assert {f.info["ecut_eV"] for f in frames} == {info["settings"]["ecut_eV"]}
    eos = [f for f in frames if f.info["config_type"] == "eos_ni"]
    v0, _, b = EquationOfState([f.get_volume() for f in eos], [f.get_potential_energy() for f in eos], eos="birchmurnaghan").fit()
    a0 = (4 * v0) ** (1 / 3)
    assert a0 == pytest.approx(info["eos"]["a0_A"], abs=1e-6)
    # PBE puts fcc Ni at ~3.52 A, a ferromagnet of ~0.6 muB (experiment: 3.52 A, 0.6 muB)
    assert 3.50 < a0 < 3.55 and 0.5 < eos[2].info["magmom_muB"] < 0.7
    # fcc stacked ABC in the hexagonal (111) cell at a0 is the crystal of the 1-atom cells: same energy per atom
    # to the k-mesh difference (a few meV), the eos fit's minimum
    poly = {f.info["name"].split("/")[1]: f for f in frames if f.info["config_type"] == "polytype"}
    assert poly["fcc_3"].get_potential_energy() / 3 == pytest.approx(info["eos"]["E0_eV_per_atom"], abs=0.005)
    # ANNNI fault energies from the polytype frames: (dE_hcp + 2 dE_dhcp)/A, A = sqrt(3)/4 a0^2
    e = {k: f.get_potential_energy() / len(f) for k, f in poly.items()}
    area = np.sqrt(3) / 4 * a0 ** 2
    isf = (e["hcp_2"] - e["fcc_3"] + 2 * (e["dhcp_4"] - e["fcc_3"])) / area * 16021.766
    assert isf == pytest.approx(info["annni"]["gamma_isf_mJ_m2"], rel=1e-6)
    assert 80 < isf < 200  # published DFT-PBE values for Ni: ~110-140 mJ/m^2 (experiment ~125)


def test_cli_split_writes_parts(run_cli, dataset, tmp_path):
    code, out, err = run_cli("dataset", "split", dataset, "--out", tmp_path / "parts", "--seed", 3)
    assert code == 0 and "train 28, valid 3, test 3" in out, err
    saved = json.loads((tmp_path / "parts" / "split.json").read_text())
    assert saved["train"] == datasets.split(datasets.read_frames(dataset), seed=3)["train"]
    train = datasets.read_frames(tmp_path / "parts" / "train.extxyz")
    assert len(train) == len(saved["train"]) and datasets.config_types(train).count("lone") == 1
