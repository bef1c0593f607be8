"""Phonon thermodynamics (phonon workflow) and quasi-harmonic expansion (qha workflow) of fcc Ni with Ni_u3, against
limits and identities (C_v -> 3 k_B, S = -dF/dT) and against classical NPT molecular dynamics of the same potential."""
import numpy as np
import pytest

import pylmp

NI = {"material": {"composition": "Ni", "a": 3.52, "atoms": 108}, "potentials": ["Ni_u3"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qha")
    return {
        "phonon": pylmp.run({**NI, "workflow": "phonon", "settings": {"mesh": 24, "t_max_K": 2000.0}}, out=tmp / "phonon")["Ni_u3"],
        "qha": pylmp.run({**NI, "workflow": "qha"}, out=tmp / "qha")["Ni_u3"],
        "md": pylmp.run({"workflow": "md", "material": {"composition": "Ni", "a": 3.52, "atoms": 256}, "potentials": ["Ni_u3"],
                         "settings": {"temperatures": [300, 600], "equilibration_steps": 2000, "steps": 10000, "dump_every": 10000}},
                        out=tmp / "md")["Ni_u3"],
    }


def test_heat_capacity_reaches_dulong_petit_and_entropy_is_minus_dF_dT(runs):
    th = runs["phonon"]["thermal"]
    t, f, s, cv = (np.array(th[k]) for k in ("T_K", "F_eV_per_atom", "S_kB_per_atom", "Cv_kB_per_atom"))
    assert cv[-1] == pytest.approx(3.0, abs=0.02) and cv[-1] < 3.0  # 2000 K, far above Ni's Debye temperature
    assert cv[t == 0][0] == pytest.approx(0.0, abs=1e-6) and runs["phonon"]["Cv_kB_per_atom_300K"] < 2.9  # quantum at low T
    kb = 8.617333262e-5  # eV/K
    s_from_f = -np.gradient(f, t) / kb
    inner = (t > 100) & (t < 1900)
    assert s_from_f[inner] == pytest.approx(s[inner], rel=5e-3)
    assert f[0] > 0  # the zero-point energy: F(0 K) = sum hbar omega / 2


def test_qha_expansion_matches_classical_md_at_low_temperature(runs):
    """Between 300 and 600 K, a(T) from the quasi-harmonic F(V, T) and from NPT MD (anharmonic, classical) rise alike:
    at low T the anharmonic gap is small (measured 2.4 %); the QHA slope is a little lower (quantum C_v < 3 k_B)."""
    q, md = runs["qha"], runs["md"]
    slope_qha = (q["a_600K_A"] - q["a_300K_A"]) / 300
    assert slope_qha == pytest.approx(md["da_dT_A_per_K"], rel=0.08)
    # the quantum QHA a(T) starts from the zero-point expansion and then rises more slowly than a classical crystal's
    # (C_v < 3 k_B), so at 300 K it lies above classical MD by less than that zero-point expansion
    zero_point = q["a_0K_A"] - q["a0_static_A"]
    assert 0.002 < zero_point < 0.015
    assert 0 < q["a_300K_A"] - md["per_T"]["T300K"]["a_mean_A"] < zero_point


def test_qha_numbers(runs):
    q = runs["qha"]
    assert q["a0_static_A"] == pytest.approx(3.52, abs=1e-3)  # Ni_u3's a0
    assert 10e-6 < q["alpha_linear_300K_per_K"] < 18e-6  # Ni measured 13.4e-6 / K
    assert q["B_300K_GPa"] < 180 and q["B_600K_GPa"] < q["B_300K_GPa"]  # softening with T (static B = 180 GPa)
    assert q["Cp_600K_kB_per_atom"] > 3.0  # C_p = C_v + alpha^2 B V T exceeds the harmonic limit
    assert len(q["curve"]["T_K"]) == len(q["curve"]["a_A"]) > 50


def test_qha_refuses_a_grid_that_misses_the_minimum(tmp_path, run_cli, study_file):
    path = study_file("workflow: qha\nmaterial: {composition: Ni, a: 3.40, atoms: 108}\npotentials: [Ni_u3]\n"
                      "settings: {strains: [-0.01, -0.005, 0.0, 0.005, 0.01]}\n")
    code, _, err = run_cli("run", path, "--out", tmp_path / "out")
    last = err.strip().splitlines()[-1]  # after the per-task progress lines
    assert code == 2 and last.startswith("error: ") and "edge of the strain grid" in last
