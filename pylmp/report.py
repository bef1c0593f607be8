"""One page per study: report.md and report.html in the study folder, from what the run left there.

Everything comes from the folder alone (results.json, the PNGs, each task's seconds.txt / error.txt), so
`pylmp report DIR` redraws the page for a study run elsewhere or copied back from a cluster. The results
table lists every number of results.json, nested ones included under dotted names (deviation_pct.nu_X_L_THz);
arrays (curves, band data, matrices) stay in results.json and the CSV.
"""
from __future__ import annotations

import datetime
import html
import json
import re
from pathlib import Path

from pylmp.errors import PylmpError


def flatten(result: dict, prefix: str = "") -> tuple[dict, dict]:
    """(numbers, texts) of one potential's result, nested mappings as dotted keys; lists and meta left out."""
    numbers, texts = {}, {}
    for key, value in result.items():
        name = prefix + str(key)
        if key == "meta" and not prefix or isinstance(value, list):
            continue
        if isinstance(value, dict):
            n, t = flatten(value, name + ".")
            numbers.update(n)
            texts.update(t)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers[name] = value
        elif value is not None:
            texts[name] = str(value)
    return numbers, texts


def fmt(x) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def tasks(out: Path) -> list[dict]:
    """Every task folder (one holding in.lmp): its name, state, wall seconds and error line."""
    found = []
    for inp in sorted(out.rglob("in.lmp")):
        folder = inp.parent
        error = (folder / "error.txt").read_text().strip() if (folder / "error.txt").exists() else ""
        seconds = float((folder / "seconds.txt").read_text()) if (folder / "seconds.txt").exists() else None
        state = "failed" if error else ("done" if (folder / "result.json").exists() else "not run")
        found.append({"name": folder.relative_to(out).as_posix(), "state": state, "seconds": seconds, "error": error})
    return found


def _blocks(out: Path, summary: dict, name: str, source: Path | None) -> list[tuple]:
    """The page as a list of blocks: ("h1"|"h2"|"p"|"pre", text), ("table", header, rows), ("img", path, caption)."""
    metas = [v.get("meta", {}) for v in summary.values()]
    meta = metas[0] if metas else {}
    comp = meta.get("composition_at_pct") or {}
    blocks = [("h1", f"Study {name}"), ("p", " | ".join(filter(None, [
        f"workflow: {meta.get('workflow', '?')}",
        f"material: {meta.get('lattice', '?')} " + "-".join(f"{el}{pct:g}" for el, pct in comp.items() if pct),
        f"potentials: {', '.join(summary)}",
        f"study file: {source}" if source else "",
        f"pylmp {meta.get('pylmp_version', '?')}, LAMMPS {meta.get('lammps_version', '?')}",
        f"written {datetime.datetime.now().isoformat(timespec='seconds')}",
    ])))]

    flat = {pot: flatten(res) for pot, res in summary.items()}
    keys = list(dict.fromkeys(k for numbers, _ in flat.values() for k in numbers))
    blocks.append(("h2", "Results"))
    if keys:
        blocks.append(("table", ["quantity"] + list(summary), [[k] + [fmt(flat[p][0][k]) if k in flat[p][0] else "-" for p in summary] for k in keys]))
    else:
        blocks.append(("p", "No results: every potential failed (see Failures)."))
    text_keys = list(dict.fromkeys(k for _, texts in flat.values() for k in texts if k != "error"))
    for k in text_keys:
        values = {p: flat[p][1][k] for p in summary if k in flat[p][1]}
        if len(set(values.values())) == 1:
            blocks.append(("p", f"{k}: {next(iter(values.values()))}"))
        else:
            blocks.append(("p", f"{k}: " + "; ".join(f"{p}: {v}" for p, v in values.items())))
    blocks.append(("p", "Curves, matrices and per-site lists: results.json and the CSV beside this page."))

    blocks.append(("h2", "Figures"))
    pngs = sorted(out.glob("*.png")) + sorted(p for p in out.rglob("*.png") if p.parent != out)
    blocks += [("img", p.relative_to(out).as_posix(), p.relative_to(out).as_posix()) for p in pngs] or [("p", "No figures.")]

    found = tasks(out)
    blocks.append(("h2", "Timing"))
    per_pot = {pot: [] for pot in summary}  # the study's order, then any folder results.json does not name
    for t in found:
        per_pot.setdefault(t["name"].split("/", 1)[0], []).append(t)
    rows = []
    for pot, ts in per_pot.items():
        if not ts:
            continue
        timed = [t for t in ts if t["seconds"] is not None]
        slow = max(timed, key=lambda t: t["seconds"]) if timed else None
        rows.append([pot, len(ts), sum(t["state"] == "done" for t in ts), sum(t["state"] == "failed" for t in ts),
                     fmt(round(sum(t["seconds"] for t in timed), 3)), f"{slow['name']} ({slow['seconds']:.3g} s)" if slow else "-"])
    blocks.append(("table", ["potential", "tasks", "done", "failed", "wall s (sum of seconds.txt)", "slowest task"], rows))
    blocks.append(("table", ["task", "state", "wall s"], [[t["name"], t["state"], fmt(t["seconds"]) if t["seconds"] is not None else "-"] for t in found]))

    blocks.append(("h2", "Failures"))
    failures = [[pot, res["error"]] for pot, res in summary.items() if "error" in res]
    failures += [[t["name"], t["error"]] for t in found if t["error"]]
    blocks.append(("table", ["where", "error"], failures) if failures else ("p", "None."))
    return blocks


def _markdown(blocks) -> str:
    cell = lambda x: str(x).replace("|", "\\|").replace("\n", " ")
    lines = []
    for b in blocks:
        if b[0] == "h1":
            lines += [f"# {b[1]}", ""]
        elif b[0] == "h2":
            lines += [f"## {b[1]}", ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        elif b[0] == "img":
            lines += [f"![{b[2]}]({b[1]})", ""]
        elif b[0] == "pre":
            lines += ["```yaml", b[1], "```", ""]
        else:
            _, header, rows = b
            lines += ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(map(cell, r)) + " |" for r in rows] + [""]
    return "\n".join(lines)


def _html(blocks, title: str) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{e(title)}</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:2em auto} table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right} td:first-child,th:first-child{text-align:left}"
             "img{max-width:100%;border:1px solid #eee}</style></head><body>"]
    for b in blocks:
        if b[0] in ("h1", "h2", "p"):
            parts.append(f"<{b[0]}>{e(b[1])}</{b[0]}>")
        elif b[0] == "pre":
            parts.append(f"<pre>{e(b[1])}</pre>")
        elif b[0] == "img":
            parts.append(f"<figure><a href='{e(b[1])}'><img src='{e(b[1])}' alt='{e(b[2])}'></a><figcaption>{e(b[2])}</figcaption></figure>")
        else:
            _, header, rows = b
            parts.append("<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
    return "\n".join(parts + ["</body></html>\n"])


def write(out: Path, name: str | None = None, source: Path | None = None) -> Path:
    """Write out/report.md and out/report.html; returns the Markdown path. With a study file, a copy of it goes to
    out/study.yaml (first line: its name and path), so a later `pylmp report DIR` shows the same page."""
    out = Path(out)
    copy = out / "study.yaml"
    if source is not None and Path(source).is_file():
        copy.write_text(f"# pylmp study '{name}' from {Path(source).resolve()}\n" + Path(source).read_text())
    elif copy.is_file():
        first = re.match(r"# pylmp study '(.*)' from (.*)", copy.read_text().splitlines()[0])
        if first:
            name, source = name or first[1], Path(first[2])
    try:
        summary = json.loads((out / "results.json").read_text())
    except FileNotFoundError:
        raise PylmpError(f"no results.json in {out}: run the study first (`pylmp run STUDY --out {out}`)") from None
    except ValueError as exc:
        raise PylmpError(f"{out / 'results.json'} is not valid JSON ({exc}); rerun the study to rewrite it") from None
    blocks = _blocks(out, summary, name or out.resolve().name, source)
    if copy.is_file():
        blocks.insert(2, ("pre", copy.read_text().split("\n", 1)[1].rstrip()))
    (out / "report.md").write_text(_markdown(blocks))
    (out / "report.html").write_text(_html(blocks, blocks[0][1]))
    return out / "report.md"
