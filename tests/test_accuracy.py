"""Accuracy workflow: LAMMPS predictions equal ASE's EAM calculator on the same frames (an independent code, also
for a cell in general orientation, which LAMMPS stores rotated), the error metrics equal a direct numpy computation, the
per-element energy fit, ranked CSV and parity plot, and one-line errors for bad datasets."""

import csv

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.eam import EAM
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from conftest import read_results, run_study
from pylmp import potentials

MU = {"Al": -1.3, "Ni": 0.4}  # per-element offsets added to the labels (a DFT code's own energy zero)
STUDY = """
workflow: accuracy
material: {{composition: {{Ni: 75, Al: 25}}}}
potentials: [{potentials}]
settings: {{dataset: {dataset}, energy_reference: {reference}}}
"""


def eam():
    return EAM(potential=str(potentials.get("NiAlH_jea").files_dir / "NiAlH_jea.eam.alloy"))


def cells():
    """Strained and rattled Ni and Ni3Al cubes, and a rotated 2-atom Ni cell (general orientation, not LAMMPS form)."""
    rng = np.random.default_rng(3)
    out = []
    for k, (a, n_al, ctype) in enumerate([(3.52, 0, "ni")] * 3 + [(3.57, 1, "ni3al")] * 2):
        atoms = bulk("Ni", "fcc", a=a, cubic=True)
        atoms.symbols[:n_al] = "Al"
        atoms.set_cell(atoms.cell @ (np.eye(3) + rng.uniform(-0.02, 0.02, (3, 3))), scale_atoms=True)
        atoms.rattle(0.06, seed=k)
        out.append((atoms, ctype))
    rotated = bulk("Ni", "fcc", a=3.5).repeat((2, 1, 1))
    rotated.rattle(0.05, seed=9)
    rotated.rotate(37, (1, 2, 3), rotate_cell=True)
    return out + [(rotated, "rotated")]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Labels = NiAlH_jea energies/forces/stress (ASE) + per-element offsets + seeded noise; also the clean EAM values."""
    tmp = tmp_path_factory.mktemp("acc")
    rng = np.random.default_rng(11)
    frames, clean = [], []
    for atoms, ctype in cells():
        atoms.calc = eam()
        e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        clean.append({"energy": e, "forces": f, "stress": s})
        offset = sum(MU[el] for el in atoms.get_chemical_symbols())
        label = atoms.copy()
        label.calc = SinglePointCalculator(label, energy=e + offset + rng.normal(0, 0.004) * len(atoms),
                                           forces=f + rng.normal(0, 0.05, f.shape), stress=s + rng.normal(0, 0.002, 6))
        label.info["config_type"] = ctype
        frames.append(label)
    write(tmp / "labels.extxyz", frames, format="extxyz")
    return tmp, clean


@pytest.fixture(scope="module")
def studies(dataset):
    tmp, _ = dataset
    both = run_study(tmp, STUDY.format(potentials="NiAlH_jea, MoCoNiVFeAlCr_meam", dataset="labels.extxyz", reference="fit"), "fit")
    raw = run_study(tmp, STUDY.format(potentials="NiAlH_jea", dataset="labels.extxyz", reference="none"), "raw")
    return read_results(both), read_results(raw), both


def test_predictions_equal_ase_eam(dataset, studies):
    _, clean = dataset
    par = studies[1]["NiAlH_jea"]["parity"]
    natoms = np.array(par["natoms"])
    assert np.allclose(np.array(par["energy_pred_eV_per_atom"]), [c["energy"] for c in clean] / natoms, atol=1e-6)
    # forces and stress of the rotated frame come back in the dataset's axes
    assert np.allclose(par["force_pred_eV_A"], np.concatenate([c["forces"] for c in clean]).ravel(), atol=1e-6)
    assert np.allclose(np.array(par["stress_pred_GPa"]), np.ravel([c["stress"] for c in clean]) * 160.21766208, atol=1e-3)


def test_metrics_equal_numpy(dataset, studies):
    tmp, _ = dataset
    labels = read(tmp / "labels.extxyz", index=":")
    for res in (studies[0]["NiAlH_jea"], studies[0]["MoCoNiVFeAlCr_meam"], studies[1]["NiAlH_jea"]):
        par = res["parity"]
        e_ref = np.array([a.get_potential_energy() / len(a) for a in labels])
        f_ref = np.concatenate([a.get_forces() for a in labels])
        s_ref = np.array([a.get_stress() for a in labels]) * 160.21766208
        assert np.allclose(par["energy_ref_eV_per_atom"], e_ref) and np.allclose(par["force_ref_eV_A"], f_ref.ravel())
        de = np.array(par["energy_pred_eV_per_atom"]) - e_ref
        df = np.array(par["force_pred_eV_A"]).reshape(-1, 3) - f_ref
        ds = np.array(par["stress_pred_GPa"]).reshape(-1, 6) - s_ref
        assert res["energy_mae_meV_per_atom"] == pytest.approx(1000 * np.abs(de).mean())
        assert res["energy_rmse_meV_per_atom"] == pytest.approx(1000 * np.sqrt((de ** 2).mean()))
        assert res["force_mae_eV_A"] == pytest.approx(np.abs(df).mean())
        assert res["force_rmse_eV_A"] == pytest.approx(np.sqrt((df ** 2).mean()))
        assert res["stress_mae_GPa"] == pytest.approx(np.abs(ds).mean())
        assert res["stress_rmse_GPa"] == pytest.approx(np.sqrt((ds ** 2).mean()))
        ni3al = [i for i, a in enumerate(labels) if a.info["config_type"] == "ni3al"]
        rows = np.concatenate([np.arange(4 * i, 4 * i + 4) for i in ni3al])  # the Ni3Al cubes hold 4 atoms each
        assert res["by_config_type"]["ni3al"]["force_mae_eV_A"] == pytest.approx(np.abs(df[rows]).mean())
        assert res["by_config_type"]["ni3al"]["frames"] == 2 and res["frames"] == 6


def test_energy_reference_fit(studies):
    fit, raw = studies[0]["NiAlH_jea"], studies[1]["NiAlH_jea"]
    # labels = EAM + sum mu_X + 4 meV/atom noise: the fitted shifts find mu, the raw comparison sees it whole
    assert fit["energy_shift_eV"] == pytest.approx(MU, abs=0.02)
    assert fit["energy_mae_meV_per_atom"] < 10 < raw["energy_mae_meV_per_atom"]
    assert raw["energy_shift_eV"] == {"Al": 0.0, "Ni": 0.0}
    assert fit["force_mae_eV_A"] == raw["force_mae_eV_A"]


def test_ranked_table_and_parity_plot(studies):
    out = studies[2]
    rows = list(csv.DictReader(open(out / "accuracy.csv")))
    # the labels were made from NiAlH_jea, so it ranks first; one row per potential and config_type, plus 'all'
    assert [(r["rank"], r["potential"], r["config_type"]) for r in rows if r["config_type"] == "all"] == \
        [("1", "NiAlH_jea", "all"), ("2", "MoCoNiVFeAlCr_meam", "all")]
    assert len(rows) == 2 * 4 and {r["config_type"] for r in rows} == {"all", "ni", "ni3al", "rotated"}
    assert (out / "accuracy.png").stat().st_size > 20_000
    assert "run             0" in (out / "NiAlH_jea" / "frame0005" / "in.lmp").read_text()


@pytest.mark.parametrize("case, expected", [
    ("missing", "settings.dataset"),
    ("no_forces", "frame 1 has no DFT forces"),
    ("not_covered", "potential 'Ni_u3' does not cover Al"),
])
def test_bad_datasets(study_file, run_cli, tmp_path, case, expected):
    atoms = [a for a, _ in cells()]
    for a in atoms:
        a.calc = SinglePointCalculator(a, energy=-1.0, forces=np.zeros((len(a), 3)))
    if case == "no_forces":
        atoms[1].calc = SinglePointCalculator(atoms[1], energy=-1.0)
    if case != "missing":
        write(tmp_path / "d.extxyz", atoms if case != "no_forces" else atoms[:2], format="extxyz")
    potential = "Ni_u3" if case == "not_covered" else "NiAlH_jea"
    study = study_file(STUDY.format(potentials=potential, dataset="d.extxyz", reference="fit"))
    code, _, err = run_cli("run", study, "--out", tmp_path / "out")
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_frame_selection(dataset, study_file, run_cli, tmp_path):
    tmp, _ = dataset
    text = STUDY.format(potentials="NiAlH_jea", dataset=tmp / "labels.extxyz", reference="fit")
    # material.composition names the elements studied: the two Ni3Al frames are left out for pure Ni
    code, _, err = run_cli("run", study_file(text.replace("{Ni: 75, Al: 25}", "{Ni: 100}"), "ni"), "--out", tmp_path / "ni")
    assert code == 0, err
    res = read_results(tmp_path / "ni")["NiAlH_jea"]
    assert res["frames"] == 4 and res["frames_left_out"] == 2 and set(res["by_config_type"]) == {"ni", "rotated"}
    code, _, err = run_cli("run", study_file(text.replace("reference: fit", "reference: fit, config_types: [ni3al]"), "sel"),
                           "--out", tmp_path / "sel")
    assert code == 0, err
    assert read_results(tmp_path / "sel")["NiAlH_jea"]["frames"] == 2
    code, _, err = run_cli("run", study_file(text.replace("reference: fit", "reference: fit, config_types: [ni3al, bulk]"), "typo"),
                           "--out", tmp_path / "typo")
    assert code == 2 and "config_types names bulk, which labels.extxyz does not hold" in err
