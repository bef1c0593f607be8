"""Jinja2 rendering of LAMMPS inputs: StrictUndefined, so a missing variable is an error, not a blank."""
from __future__ import annotations

import functools

import jinja2

from pylmp import __version__, paths


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **variables) -> str:
    """Text of a LAMMPS input from templates/<template>; `version` is always available."""
    try:
        text = _env().get_template(template).render(version=__version__, **variables)
    except jinja2.UndefinedError as exc:
        raise RuntimeError(f"template {template}: {exc}") from exc  # a bug in pylmp, not user input
    # collapse runs of blank lines left by macros so the input reads like a hand-written one
    lines, blank = [], False
    for line in text.splitlines():
        if line.strip() or not blank:
            lines.append(line.rstrip())
        blank = not line.strip()
    return "\n".join(lines).strip() + "\n"
