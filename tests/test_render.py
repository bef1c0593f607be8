"""OVITO renders (analysis/render.py) of a stacking-fault configuration relaxed by LAMMPS: the PNG exists and is
not blank (pixel statistics), leaving out the fcc atoms leaves the fault planes only, and a machine without a
working Vulkan driver gets one line naming the packages to install."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.image import imread

from pylmp.analysis import defects, render
from test_analyze import A_NI, ISF, lammps_dump

BACKGROUND = (1.0, 1.0, 1.0)


@pytest.fixture(scope="module")
def fault_dump(tmp_path_factory):
    cell = defects.stacked_111_cell("Ni", A_NI, ISF, (4, 3), tilt=1)
    return lammps_dump(cell, tmp_path_factory.mktemp("render"), "isf.dump", relax="all")


def pixel_stats(png) -> tuple[float, int]:
    """Fraction of pixels that differ from the white background, and the number of distinct colours among them
    (quantised to 1/16 per channel, so anti-aliasing shades of one colour count once)."""
    rgb = imread(png)[..., :3]
    drawn = np.abs(rgb - BACKGROUND).sum(axis=-1) > 0.05
    colours = np.unique(np.rint(rgb[drawn] * 16).astype(int), axis=0)
    return float(drawn.mean()), len(colours)


def test_render_stacking_fault_not_blank(fault_dump, tmp_path):
    faulted = render.render(fault_dump, tmp_path / "isf.png", size=(400, 300))
    everything = render.render(fault_dump, tmp_path / "all.png", size=(400, 300), hide_fcc=False)
    assert imread(faulted).shape[:2] == (300, 400)
    drawn, colours = pixel_stats(faulted)
    drawn_all, colours_all = pixel_stats(everything)
    assert drawn > 0.03 and colours >= 5  # hcp atoms (shaded spheres), cell lines, the text label
    assert drawn_all > 1.5 * drawn  # the 10 fcc planes cover more of the picture than the 2 hcp planes
    # the hcp colour of OVITO's CNA (red) is in the picture; with fcc shown, fcc green too
    hcp, fcc = np.array([1.0, 0.4, 0.4]), np.array([0.4, 1.0, 0.4])
    near = lambda png, c: np.any(np.abs(imread(png)[..., :3] - c).max(axis=-1) < 0.08)
    assert near(faulted, hcp) and not near(faulted, fcc) and near(everything, fcc)


def test_cli_render_and_missing_vulkan(fault_dump, tmp_path, run_cli):
    args = ["analyze", str(fault_dump), "--what", "cna", "--render", "--out", str(tmp_path)]
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert pixel_stats(tmp_path / "isf.render.png")[0] > 0.03
    # no usable driver (a fresh process: OVITO sets Vulkan up once): point the loader at a driver list that does not exist
    cmd = [sys.executable, "-m", "pylmp", *args]
    env = {**os.environ, "VK_ICD_FILENAMES": str(tmp_path / "none.json"), "VK_DRIVER_FILES": str(tmp_path / "none.json")}
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    last = bad.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot render") and "libvulkan1 mesa-vulkan-drivers" in last
    assert (tmp_path / "isf.defects.csv").is_file()  # the numbers written before the picture are kept
