"""Study report: the page of a real (small) study lists every number of results.json, links every PNG the
study wrote, each task's wall time and every failure; `pylmp report DIR` rewrites the same page."""
import re

import pytest

from conftest import read_results, run_study
from test_errors import write_table_potential

EOS = """
workflow: eos
material: {lattice: fcc, composition: {Ni: 100}, a: 3.52, atoms: 32}
potentials: [Ni_u3]
settings: {points: 5, strain: 0.03}
"""


def numbers(result, prefix=""):
    """Every number in a result, nested mappings under dotted names (lists and meta left out)."""
    for key, value in result.items():
        if isinstance(value, dict) and not (key == "meta" and not prefix):
            yield from numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield prefix + key, value


def table(markdown: str, section: str) -> dict:
    """First column -> remaining cells of every Markdown table row in one '## section'."""
    text = markdown.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split(" | ") for line in text.splitlines() if line.startswith("| ")]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows}


@pytest.fixture(scope="module")
def eos(tmp_path_factory):
    return run_study(tmp_path_factory.mktemp("report"), EOS, "ni_eos")


def test_every_result_value_figure_and_task_is_on_the_page(eos):
    md = (eos / "report.md").read_text()
    page = (eos / "report.html").read_text()
    assert md.startswith("# Study ni_eos\n") and "workflow: eos" in md and "potentials: Ni_u3" in md
    assert "study file: " in md and "```yaml\n\nworkflow: eos" in md  # the study file, copied as study.yaml
    rows = table(md, "Results")
    res = read_results(eos)["Ni_u3"]
    found = dict(numbers(res))
    assert {"a0_A", "E_coh_eV", "B_GPa", "curve.E_atoms_eV_per_atom"} <= set(found)  # nested ones too
    for key, value in found.items():
        assert float(rows[key][0]) == pytest.approx(value, rel=1e-5, abs=1e-12), key
    pngs = sorted(p.relative_to(eos).as_posix() for p in eos.rglob("*.png"))
    assert "eos.png" in pngs
    for png in pngs:
        assert f"]({png})" in md and f"<img src='{png}'" in page
    rows = table(md, "Timing")
    folders = sorted(p.parent for p in eos.rglob("in.lmp"))
    assert len(folders) == 5 + 1 + 1  # scan points, zero-pressure relax, isolated atom
    for folder in folders:
        name = folder.relative_to(eos).as_posix()
        assert float(rows[name][1]) == pytest.approx(float((folder / "seconds.txt").read_text()), abs=1e-3)
    total = sum(float((f / "seconds.txt").read_text()) for f in folders)
    assert float(rows["Ni_u3"][3]) == pytest.approx(total, abs=2e-3)
    assert "## Failures\n\nNone." in md


def test_report_command_rewrites_the_page(eos, run_cli):
    before = (eos / "report.md").read_text()
    (eos / "report.md").unlink()
    code, out, _ = run_cli("report", eos)
    assert code == 0 and "report.md" in out
    stamp = re.compile(r"written \S+")
    assert stamp.sub("", (eos / "report.md").read_text()) == stamp.sub("", before)


def test_failures_are_listed(study_file, run_cli, tmp_path):
    # a tabulated Morse potential whose table starts at 2.3 A: the two most compressed scan points stop with a
    # LAMMPS error (error.txt), the other tasks and the Ni_u3 study finish (same set-up as test_errors)
    write_table_potential(tmp_path)
    study = study_file(EOS.replace("[Ni_u3]", "[Ni_u3, morse.yaml]").replace("strain: 0.03", "strain: 0.19"))
    code, _, err = run_cli("run", study, "--out", tmp_path / "out")
    assert code == 2 and "2 failure(s)" in err
    md = (tmp_path / "out" / "report.md").read_text()
    assert table(md, "Timing")["morse"][:3] == ["7", "5", "2"]  # tasks, done, failed
    rows = table(md, "Failures")
    errors = sorted((tmp_path / "out").rglob("error.txt"))
    assert len(errors) == 2
    for path in errors:
        message = path.read_text().strip()
        assert "Pair distance < table inner cutoff" in message
        assert rows[path.parent.relative_to(tmp_path / "out").as_posix()][0] == message.replace("|", "\\|")
    assert rows["morse"][0] == read_results(tmp_path / "out")["morse"]["error"]  # the summary's own line
    assert float(table(md, "Results")["a0_A"][0]) == pytest.approx(read_results(tmp_path / "out")["Ni_u3"]["a0_A"], rel=1e-5)


def test_report_of_a_folder_without_results(run_cli, tmp_path):
    code, _, err = run_cli("report", tmp_path)
    assert code == 2 and "no results.json in" in err and "pylmp run STUDY --out" in err
