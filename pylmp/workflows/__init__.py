"""Workflows: each module turns a study into independent LAMMPS tasks and their results into numbers.

A workflow module provides
    DEFAULTS                         its `settings:` keys and default values
    check(study)                     workflow-specific validation (raise PylmpError)
    tasks(study, potential)          list of launch.Task, names relative to the potential's folder
    OWN_STRUCTURE = True             (optional) material.structure may replace the built lattice (structures.study_cell)
    NO_STRUCTURE = "..."             (optional) the one-line error for material.structure where OWN_STRUCTURE is not set
    analyze(study, results)          {task name: result.json + "_folder"} -> numbers for results.json (units in the keys)
    rows(summary)                    the CSV rows, from results.json alone
    plot(summary, path)              the PNG, from results.json alone (so it can be redrawn later)
"""
from pylmp.workflows import adsorption, alloy_scan, elastic, eos, gsfe, md, phonon, point_defects, surface, vacancy

WORKFLOWS = {"eos": eos, "elastic": elastic, "vacancy": vacancy, "alloy_scan": alloy_scan, "gsfe": gsfe, "md": md, "phonon": phonon,
             "point_defects": point_defects, "surface": surface,
             "adsorption": adsorption}

from pylmp.workflows import gb, gb_segregation  # noqa: E402  (grain boundaries)

WORKFLOWS.update({"gb": gb, "gb_segregation": gb_segregation})
from pylmp.workflows import dislocation  # noqa: E402  (dissociated screw dislocation)

WORKFLOWS["dislocation"] = dislocation
from pylmp.workflows import accuracy  # noqa: E402  (energy/force/stress errors against a DFT dataset)

WORKFLOWS["accuracy"] = accuracy
from pylmp.workflows import properties  # noqa: E402  (a0, C_ij, E_vac, gamma, surfaces vs experiment and DFT)

WORKFLOWS["properties"] = properties
from pylmp.workflows import tobermorite  # noqa: E402  (tobermorite 11 A lattice parameters and bonding)

WORKFLOWS["tobermorite"] = tobermorite
from pylmp.workflows import misfit  # noqa: E402  (gamma/gamma' lattice misfit and coherent interface energies)

WORKFLOWS["misfit"] = misfit
from pylmp.workflows import qha  # noqa: E402  (quasi-harmonic thermal expansion, B(T), Cp from phonons at several volumes)

WORKFLOWS["qha"] = qha
from pylmp.workflows import ordering  # noqa: E402  (chemical order vs T and Ni %: hybrid MC/MD or rigid-lattice swaps)

WORKFLOWS["ordering"] = ordering
from pylmp.workflows import gb_segregation_mc  # noqa: E402  (solute segregation to a boundary at temperature, hybrid MC/MD)

WORKFLOWS["gb_segregation_mc"] = gb_segregation_mc
from pylmp.workflows import neb  # noqa: E402  (vacancy migration barriers by climbing-image NEB, five-frequency jumps)

WORKFLOWS["neb"] = neb
