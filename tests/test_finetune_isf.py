"""Fine-tuning towards the DFT stacking-fault energy, from a start as soft as the universal models: a small Allegro
of the project's own (allegro-ni-pbe) and the SevenNet-0 foundation model itself (sevennet-ni-pbe).

potentials/test_models/allegro-ni-pbe.nequip.zip is the product of `pylmp finetune inputs/finetune_allegro_ni_pbe.yaml`
followed by `pylmp finetune inputs/finetune_allegro_ni_pbe_refine.yaml`:
the Ni Allegro trained on the Ni_u3 EAM (allegro-ni-eam.nequip.zip, soft gamma_isf like SevenNet-0's 17.7 mJ/m^2)
fine-tuned on the project's PBE frames (data/dft/ni_pbe.extxyz). Deployed into LAMMPS (plugin, compiled at set-up by
`python -m pylmp.plugin`), it is compared with the project's own PBE gamma_isf (data/dft/ni_pbe_faults.json: the
periodic intrinsic-fault cell, ideal stacking, unrelaxed: 181.6 mJ/m^2), while the starting model lies far below it
(-28 mJ/m^2, measured with nequip's own ASE calculator, a second code).
Measured for the committed model: 176.4 mJ/m^2 on the DFT's own cells (-2.9 %), 154.9 relaxed by the gsfe workflow
(-14.7 %): both within the 15 % goal.

potentials/test_models/sevennet-ni-pbe.pth is the product of `pylmp finetune inputs/finetune_sevennet_ni_pbe.yaml`:
SevenNet-0 (the checkpoint inside the sevenn wheel; gamma_isf 17.7 relaxed, 12.3 on the DFT cells) fine-tuned by
SevenNet's own trainer on the same PBE frames, deployed by `sevenn get_model` (set-up: `python -m pylmp.plugin`).
Measured for the committed model: 179.6 mJ/m^2 on the DFT's own cells (-1.1 %, SevenNet's calculator), 173.3
relaxed by the gsfe workflow (-4.5 %). Neither model saw the extrinsic-fault or twin cells (computed later): on them,
in LAMMPS, gamma_esf 181.1 / 181.3 vs PBE 184.2 and gamma_tb 89.5 / 88.2 vs 104.8 (sevennet-ni-pbe / allegro-ni-pbe;
both near the ANNNI twin estimate gamma_isf / 2, which the DFT twin cell exceeds by 15 %).
"""
import json
import math

import pytest
from conftest import read_results, run_study
from plugin_helpers import single_point

from pylmp import finetune_nequip, finetune_sevenn, paths

FAULTS_JSON = paths.ROOT / "data" / "dft" / "ni_pbe_faults.json"
# the property benchmark's gamma_isf: first stage of the gsfe workflow's periodic <112> path, relaxed along z
ISF = """
workflow: properties
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52, atoms: 32}
potentials: [{model}]
settings: {properties: [gamma_isf], gsfe: {layers: 12, points: 7}}
"""
EV_A2_TO_MJ_M2 = 16021.766


def dft_gamma_isf() -> float:
    data = json.loads(FAULTS_JSON.read_text())
    isf = data.get("faults", {}).get("faults", {}).get("isf_11")
    return isf["gamma_mJ_m2"] if isf else data["annni"]["gamma_isf_mJ_m2"]


def hcp_estimate(calc, a: float) -> float:
    """gamma_isf ~ 2 (E_hcp - E_fcc) / A_111 (nearest axial Ising term), from a model's ASE calculator."""
    from ase.build import bulk

    def energy(atoms):
        atoms.calc = calc
        return atoms.get_potential_energy() / len(atoms)

    ah = a / math.sqrt(2)
    d_hcp = energy(bulk("Ni", "hcp", a=ah, c=ah * math.sqrt(8 / 3))) - energy(bulk("Ni", "fcc", a=a))
    return 2 * d_hcp / (math.sqrt(3) / 4 * a * a) * EV_A2_TO_MJ_M2


MODELS = ["allegro-ni-pbe", "sevennet-ni-pbe"]


@pytest.mark.parametrize("model", MODELS)
def test_finetuned_fault_energies_on_the_dft_cells_are_within_15_percent_of_pbe(tmp_path, model):
    """Like for like: LAMMPS single points of the very stacking cells the DFT values come from (ideal, unrelaxed).
    The extrinsic-fault cell was computed after both models were trained: a held-out fault (measured -1.6 / -1.7 %)."""
    from ase.io import read

    frames = {f.info["name"]: f for f in read(paths.ROOT / "data" / "dft" / "ni_pbe.extxyz", ":")}
    fcc = frames["polytype/fcc_3"]
    e_fcc = single_point(model, fcc, ["Ni"], tmp_path)[0] / len(fcc)
    reference = json.loads(FAULTS_JSON.read_text())["faults"]["faults"]
    for name in ("isf_11", "esf_10"):
        cell = frames[f"fault/{name}"]
        area = math.sqrt(3) / 2 * cell.cell.lengths()[0] ** 2  # (111) area of the 1x1 hexagonal cell
        gamma = (single_point(model, cell, ["Ni"], tmp_path)[0] - len(cell) * e_fcc) / area * EV_A2_TO_MJ_M2
        dft = (cell.get_potential_energy() - len(cell) / len(fcc) * fcc.get_potential_energy()) / area * EV_A2_TO_MJ_M2
        assert dft == pytest.approx(reference[name]["gamma_mJ_m2"], rel=1e-9)
        assert gamma == pytest.approx(dft, rel=0.15), name


@pytest.mark.parametrize("model", MODELS)
def test_finetuned_relaxed_gamma_isf_in_lammps(tmp_path, model):
    """The gsfe workflow's relaxed gamma_isf (allegro-ni-pbe relaxes the fault by 12 %, more than DFT would for Ni)."""
    ni = read_results(run_study(tmp_path, ISF.replace("{model}", model), "ni"))[model]
    assert ni["gamma_isf_mJ_m2"] == pytest.approx(dft_gamma_isf(), rel=0.15)


def test_starting_model_is_far_from_pbe():
    """The fine-tuning did the work: the EAM-trained start is soft like the universal models (nequip's ASE calculator)."""

    calc = finetune_nequip.calculator(paths.POTENTIALS / "test_models" / "allegro-ni-eam.nequip.zip")
    before = hcp_estimate(calc, 3.52)
    assert before < 0.5 * dft_gamma_isf()


def test_sevennet0_starts_far_from_pbe():
    """SevenNet-0 out of the box (its own ASE calculator): the foundation model the sevenn fine-tuning starts from."""
    from sevenn.calculator import SevenNetCalculator

    with finetune_sevenn.float32_default():
        calc = SevenNetCalculator("7net-0", device="cpu")
        before = hcp_estimate(calc, 3.52)
    assert before < 0.5 * dft_gamma_isf()
