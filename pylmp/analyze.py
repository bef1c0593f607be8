"""`pylmp analyze DUMP ...` and the study key `analyze: [...]`: defect analyses of LAMMPS dumps.

Each dump gives <stem>.defects.csv (one row per frame: structure counts, planar faults, dislocation lengths,
Warren-Cowley parameters), <stem>.defects.png (the same over time) and, when asked, <stem>.render.png (the last
frame from OVITO). The numbers come from pylmp.analysis.defects; the pictures from pylmp.analysis.render.
"""
from __future__ import annotations

import sys
from pathlib import Path

from pylmp.analysis import defects
from pylmp.errors import PylmpError

DEFAULT = ("cna", "faults", "dxa")
SUMMARY_KEYS = ("cna_FCC", "cna_HCP", "cna_OTHER", "ptm_FCC", "ptm_HCP", "csp_defect_atoms", "faults_isf_atoms",
                "faults_twin_atoms", "faults_multilayer_atoms", "dxa_length_A", "dxa_shockley_A", "dxa_perfect_A")


def parse_names(text: str | None) -> list[str]:
    """'cna,dxa' -> ['cna', 'dxa'], checked; None -> the defaults."""
    return defects.check_names(text.split(",") if text else list(DEFAULT))


def is_dump(path: Path) -> bool:
    """A LAMMPS text dump starts with 'ITEM: TIMESTEP' (the first line of every frame)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(14) == b"ITEM: TIMESTEP"
    except OSError:
        return False


def _stem(dump: Path) -> str:
    name = dump.name
    for suffix in (".gz", ".lammpstrj", ".dump"):
        name = name.removesuffix(suffix)
    return name or dump.name


def _outputs(dumps: list[Path], out: Path | None) -> dict[Path, Path]:
    """dump -> output prefix; into `out` (or next to the dump), with the parent folder's name added when two
    dumps would otherwise write the same files."""
    prefix = {d: (out or d.parent) / _stem(d) for d in dumps}
    if len(set(prefix.values())) < len(prefix):
        prefix = {d: (out or d.parent) / f"{d.parent.name}_{_stem(d)}" for d in dumps}
    if len(set(prefix.values())) < len(prefix):
        raise PylmpError("two dumps would write the same output files; give each its own --out folder")
    return prefix


def analyze_dumps(dumps: list[Path], names: list[str], out: Path | None = None, render: bool = False,
                  echo: bool = True) -> dict[Path, list[dict]]:
    """Analyse every dump (all checked for existence first); returns {dump: rows}."""
    dumps = [Path(d) for d in dumps]
    missing = [d for d in dumps if not d.is_file()]
    if missing:
        raise PylmpError(f"dump file {missing[0]} not found")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    results = {}
    for dump, prefix in _outputs(dumps, out).items():
        rows = defects.analyze(dump, names)
        csv_path, png_path = Path(f"{prefix}.defects.csv"), Path(f"{prefix}.defects.png")
        defects.write_csv(rows, csv_path)
        defects.plot(rows, png_path, title=str(dump))
        written = [csv_path, png_path]
        if render:
            from pylmp.analysis import render as renderer

            written.append(renderer.render(dump, Path(f"{prefix}.render.png")))
        results[dump] = rows
        if echo:
            last = rows[-1]
            shown = "  ".join(f"{k}={_fmt(last[k])}" for k in SUMMARY_KEYS if k in last)
            shown += "".join(f"  {k}={last[k]:.3f}" for k in last if k.startswith("sro_"))
            print(f"{dump} ({len(rows)} frame{'s' * (len(rows) > 1)}, last: timestep {last['timestep']}): {shown}")
            print("  wrote " + ", ".join(str(p) for p in written))
    return results


def _fmt(x) -> str:
    return f"{x:.1f}" if isinstance(x, float) else str(x)


def study_step(names: list[str], folders: list[Path], out: Path) -> Path | None:
    """The study key `analyze:`: every dump in the finished task folders, outputs beside each dump, and one
    table of all of them in out/analyze.csv (columns task and dump first). Returns that table's path."""
    rows = []
    for folder in folders:
        dumps = sorted(p for p in folder.iterdir() if p.is_file() and is_dump(p))
        for dump, frames in analyze_dumps(dumps, names, echo=False).items():
            task = folder.relative_to(out).as_posix() if folder.is_relative_to(out) else str(folder)
            rows += [{"task": task, "dump": dump.name, **row} for row in frames]
    if not rows:
        print(f"pylmp: analyze: no dumps in the {len(folders)} task folders", file=sys.stderr)
        return None
    table = out / "analyze.csv"
    defects.write_csv(rows, table)
    print(f"pylmp: analyze ({', '.join(names)}): {len(rows)} frames -> {table}", file=sys.stderr)
    return table
