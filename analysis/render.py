"""Headless OVITO pictures (PNG) of defect configurations: atoms coloured by adaptive-CNA structure type,
DXA dislocation lines drawn as tubes (coloured by Burgers vector), perfect-fcc atoms left out so the defects show.

OVITO draws through Vulkan even off screen (OpenGLRenderer and TachyonRenderer alike; no X server needed), so the
machine needs a Vulkan loader and a driver: Debian/Ubuntu `libvulkan1 mesa-vulkan-drivers` (CPU rasteriser
lavapipe included). run/setup installs them where it can; without them rendering stops with one clear line.
"""
from __future__ import annotations

from pathlib import Path

from pylmp.errors import PylmpError

VULKAN_FIX = ("OVITO renders through Vulkan: install a loader and driver, e.g. "
              "`sudo apt-get install libvulkan1 mesa-vulkan-drivers` (Debian/Ubuntu; `vulkan-loader mesa-vulkan-drivers` "
              "on Fedora), then rerun")
RENDERERS = ("opengl", "tachyon")
QtAlignTopLeft = 0x0001 | 0x0020  # Qt.AlignLeft | Qt.AlignTop


def _renderer(name: str):
    from ovito.vis import OpenGLRenderer, TachyonRenderer

    if name not in RENDERERS:
        raise PylmpError(f"unknown renderer '{name}'; choose one of {', '.join(RENDERERS)}")
    return OpenGLRenderer() if name == "opengl" else TachyonRenderer(shadows=False)


def render(dump: Path, png: Path, frame: int = -1, hide_fcc: bool = True, dislocations: bool = True,
           size: tuple[int, int] = (800, 600), renderer: str = "opengl") -> Path:
    """Render one frame (default: the last) of a dump to `png`; returns the path."""
    from ovito.modifiers import (CommonNeighborAnalysisModifier, DeleteSelectedModifier,
                                 DislocationAnalysisModifier, ExpressionSelectionModifier)
    from ovito.vis import TextLabelOverlay, Viewport

    from pylmp.analysis.defects import open_dump

    pipeline = open_dump(dump)
    if dislocations:  # DXA first: it needs every atom; the CNA after it sets the colours
        dxa = DislocationAnalysisModifier(input_crystal_structure=DislocationAnalysisModifier.Lattice.FCC)
        dxa.defect_vis.enabled = False  # the defect mesh would hide the atoms
        pipeline.modifiers.append(dxa)
    pipeline.modifiers.append(CommonNeighborAnalysisModifier(color_by_type=True))
    if hide_fcc:
        pipeline.modifiers.append(ExpressionSelectionModifier(expression=f"StructureType == {int(CommonNeighborAnalysisModifier.Type.FCC)}"))
        pipeline.modifiers.append(DeleteSelectedModifier())
    frame = pipeline.num_frames - 1 if frame < 0 else frame
    pipeline.add_to_scene()
    try:
        viewport = Viewport(type=Viewport.Type.Perspective, camera_dir=(-1.0, -2.0, -0.8))
        text = "CNA: [CommonNeighborAnalysis.counts.HCP] hcp, [CommonNeighborAnalysis.counts.OTHER] other atoms"
        if dislocations:
            text += "; dislocations [DislocationAnalysis.total_line_length] A"
        viewport.overlays.append(TextLabelOverlay(text=text, font_size=0.035, text_color=(0, 0, 0),
                                                  format_string="%.1f", alignment=QtAlignTopLeft))
        viewport.zoom_all(size=size)
        png = Path(png)
        png.parent.mkdir(parents=True, exist_ok=True)
        viewport.render_image(size=size, filename=str(png), background=(1.0, 1.0, 1.0), frame=frame,
                              renderer=_renderer(renderer))
    except RuntimeError as exc:
        if "vulkan" in str(exc).lower():
            raise PylmpError(f"cannot render {dump}: no working Vulkan driver. {VULKAN_FIX}") from None
        raise PylmpError(f"cannot render {dump}: OVITO failed ({str(exc).splitlines()[0]})") from None
    finally:
        pipeline.remove_from_scene()
    return png
