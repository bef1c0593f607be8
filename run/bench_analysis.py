"""Benchmark: RDF, adaptive CNA, PTM and DXA on a 1,000,000-atom Ni dump, through pylmp and called directly in OVITO
and mdapy (mdapy has no DXA). Every route reads the dump itself, so each time is file -> numbers.

    .venv/bin/python run/bench_analysis.py [--repeat N] [--dump PATH]

The dump (built once, kept in runs/bench_analysis/): fcc Ni, 1,009,200 atoms in the (111) orientation
(x [1-10], y [11-2], z [111]), with a Shockley partial loop of radius 40 A (solid-angle displacement field,
analysis/defects.py) around a stacking fault, unrelaxed. Prints seconds (best of --repeat), the fastest engine, and
pylmp / fastest (goal: <= 1.10).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
A_NI, LAYERS, REPEAT, RADIUS = 3.52, 87, (100, 58), 40.0
RDF_CUTOFF, RDF_BINS = 6.0, 200


def build(path: Path) -> None:
    from ovito.io import export_file
    from ovito.io.ase import ase_to_ovito

    from pylmp import faults
    from pylmp.analysis import defects

    t0 = time.perf_counter()
    cell = faults.fcc111_cell("Ni", A_NI, LAYERS, REPEAT)
    center = np.array([cell.cell[0, 0] / 2, cell.cell[1, 1] / 2, LAYERS // 2 * faults.plane_spacing(A_NI)])
    # 120 corners: sides of 2.1 A, below the atomic spacing (360 take 3x longer on a million atoms)
    defects.add_shear_loop(cell, center, RADIUS, [0.0, faults.partial_burgers(A_NI), 0.0], vertices=120)
    path.parent.mkdir(parents=True, exist_ok=True)
    export_file(ase_to_ovito(cell), str(path), "lammps/dump",
                columns=["Particle Identifier", "Particle Type", "Position.X", "Position.Y", "Position.Z"])
    print(f"built {path} ({len(cell):,} atoms) in {time.perf_counter() - t0:.0f} s")


# ---- the routes: each returns a number that shows it did the work

def pylmp_rdf(path):
    from pylmp.analysis import structure
    return float(structure.rdf(path, RDF_CUTOFF, RDF_BINS)["g_total"].max())


def pylmp_defects(name):
    def run(path):
        from pylmp.analysis import defects
        row = defects.analyze(path, [name])[0]
        return row.get("cna_FCC", row.get("ptm_FCC", row.get("dxa_length_A")))
    return run


def ovito_pipeline(path, modifier):
    from ovito.io import import_file
    pipeline = import_file(str(path))
    pipeline.modifiers.append(modifier)
    return pipeline.compute()


def ovito_rdf(path):
    from ovito.modifiers import CoordinationAnalysisModifier
    data = ovito_pipeline(path, CoordinationAnalysisModifier(cutoff=RDF_CUTOFF, number_of_bins=RDF_BINS))
    return float(np.asarray(data.tables["coordination-rdf"].xy())[:, 1].max())


def ovito_cna(path):
    from ovito.modifiers import CommonNeighborAnalysisModifier
    return ovito_pipeline(path, CommonNeighborAnalysisModifier()).attributes["CommonNeighborAnalysis.counts.FCC"]


def ovito_ptm(path):
    from ovito.modifiers import PolyhedralTemplateMatchingModifier
    return ovito_pipeline(path, PolyhedralTemplateMatchingModifier()).attributes["PolyhedralTemplateMatching.counts.FCC"]


def ovito_dxa(path):
    from ovito.modifiers import DislocationAnalysisModifier
    mod = DislocationAnalysisModifier(input_crystal_structure=DislocationAnalysisModifier.Lattice.FCC)
    return ovito_pipeline(path, mod).attributes["DislocationAnalysis.total_line_length"]


def mdapy_rdf(path):
    import mdapy
    rdf = mdapy.System(str(path)).cal_radial_distribution_function(rc=RDF_CUTOFF, nbin=RDF_BINS)
    return float(np.max(rdf.g_total))


def mdapy_cna(path):
    import mdapy
    system = mdapy.System(str(path))
    system.cal_common_neighbor_analysis()  # no rc: adaptive CNA
    return int((system.data["cna"] == 1).sum())


def mdapy_ptm(path):
    import mdapy
    system = mdapy.System(str(path))
    system.cal_polyhedral_template_matching(structure="fcc-hcp-bcc")  # OVITO's default set, rmsd cut-off 0.1 in both
    return int((system.data["ptm"] == 1).sum())


ROUTES = {
    "RDF": {"pylmp": pylmp_rdf, "ovito": ovito_rdf, "mdapy": mdapy_rdf},
    "adaptive CNA": {"pylmp": pylmp_defects("cna"), "ovito": ovito_cna, "mdapy": mdapy_cna},
    "PTM": {"pylmp": pylmp_defects("ptm"), "ovito": ovito_ptm, "mdapy": mdapy_ptm},
    "DXA": {"pylmp": pylmp_defects("dxa"), "ovito": ovito_dxa},
}


def best_of(fn, path, repeat):
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn(path)
        times.append(time.perf_counter() - t0)
    return min(times), value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--dump", type=Path, default=ROOT / "runs" / "bench_analysis" / "ni_1M_loop.dump")
    ap.add_argument("--only", help="comma-separated subset of: " + ", ".join(ROUTES))
    args = ap.parse_args()
    if not args.dump.is_file():
        build(args.dump)
    import ovito
    from mdapy.parallel import get_num_threads
    print(f"dump {args.dump}; OVITO {'.'.join(map(str, ovito.version))}, mdapy threads {get_num_threads()}, "
          f"best of {args.repeat}")
    header = f"{'analysis':<13} {'pylmp s':>8} {'ovito s':>8} {'mdapy s':>8}  {'fastest':<7} {'pylmp/fastest':>13}  result (pylmp / ovito / mdapy)"
    print(header + "\n" + "-" * len(header))
    wanted = args.only.split(",") if args.only else list(ROUTES)
    for analysis in wanted:
        routes = ROUTES[analysis]
        timed = {engine: best_of(fn, args.dump, args.repeat) for engine, fn in routes.items()}
        engines = [e for e in timed if e != "pylmp"]
        fastest = min(engines, key=lambda e: timed[e][0])
        cols = " ".join(f"{timed[e][0]:8.2f}" if e in timed else f"{'-':>8}" for e in ("pylmp", "ovito", "mdapy"))
        values = " / ".join(f"{timed[e][1]:.6g}" for e in timed)
        print(f"{analysis:<13} {cols}  {fastest:<7} {timed['pylmp'][0] / timed[fastest][0]:13.2f}  {values}", flush=True)


if __name__ == "__main__":
    main()
