"""A figure written to a file: rendered in the format its suffix names, then written atomically.

Most figures are cropped to what they hold (`bbox_inches="tight"`), which renders them twice. The loss chart, drawn
at the end of every training, sets its own margins (`set_margins`) and is rendered once: only where something
reaches the image's edge (a long title, wide tick labels) is it laid out tight after all.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display
import matplotlib.pyplot as plt

from learnai_cli.atomic import check_output_file, write_atomic
from learnai_cli.errors import UsageError

DPI = 110
# A figure rendered once must leave this many pixels of background at each edge, else it is laid out tight: text
# cut off at an edge touches it, and one wholly outside sits next to text (a tick label beside its axis label) that
# does.
EDGE_PX = 8


def save_figure(figure, path: Path, margins_set: bool = False) -> Path:
    """Render in the format the file's suffix names (png, svg, pdf, jpg, ...) first, then write atomically, so a plot
    is never half-written; a path that cannot take a file (a directory, under a file, a name too long, a suffix
    matplotlib cannot write) is a UsageError naming it. `margins_set`: the figure's margins hold its text (see
    set_margins): a PNG is rendered once at them."""
    check_output_path(path)
    try:
        data = rendered(figure, path.suffix[1:].lower(), margins_set)
    finally:
        plt.close(figure)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as error:
        raise UsageError(f"cannot write the plot {path}: {error.strerror or error}") from None
    return path


def rendered(figure, file_format: str, margins_set: bool = False) -> bytes:
    """The file's bytes: a PNG of a figure whose margins were set, rendered once where nothing reaches its edge;
    anything else cropped to what it holds (plus matplotlib's padding)."""
    if margins_set and file_format == "png":
        once = _png_at_own_margins(figure)
        if once is not None:
            return once
    buffer = io.BytesIO()
    figure.savefig(buffer, format=file_format, dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _png_at_own_margins(figure) -> bytes | None:
    """One render, encoded as savefig would encode it; None where the edges are not all background."""
    import numpy as np
    from matplotlib import image as mpl_image
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure.set_dpi(DPI)
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    edges = (pixels[:EDGE_PX], pixels[-EDGE_PX:], pixels[:, :EDGE_PX], pixels[:, -EDGE_PX:])
    if not all((edge == pixels[0, 0]).all() for edge in edges):
        return None
    buffer = io.BytesIO()
    mpl_image.imsave(buffer, pixels, format="png", origin="upper", dpi=DPI)
    return buffer.getvalue()


def set_margins(figure, left: float, right: float, bottom: float, top: float, gap: float = 0.0) -> None:
    """The space around the figure's row of axes, and between them, in inches."""
    width, height = figure.get_size_inches()
    columns = len(figure.axes) or 1
    axis_width = (width - left - right - gap * (columns - 1)) / columns
    figure.subplots_adjust(left=left / width, right=1 - right / width, wspace=gap / axis_width)
    figure.subplots_adjust(bottom=bottom / height, top=1 - top / height)


def check_output_path(path: Path) -> None:
    """Refuse, before any work, an output path that cannot take a file (atomic.check_output_file) or ends in a
    suffix that names no format matplotlib writes here."""
    check_output_file(path, "the plot", "plot.png")
    formats = output_formats()
    if path.suffix[1:].lower() not in formats:
        problem = f"'{path.suffix}' is not a format matplotlib can write" if path.suffix else "it has no suffix"
        raise UsageError(
            f"cannot write the plot {path}: {problem}; end the file name with the format to write: "
            f"{', '.join('.' + name for name in formats)}"
        )


def output_formats() -> list[str]:
    """The suffixes a plot can be written as: what matplotlib saves (png, svg, pdf, jpg, ...); pgf only where the
    LaTeX it runs is installed."""
    import shutil

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    formats = set(FigureCanvasAgg.get_supported_filetypes())
    if not shutil.which(matplotlib.rcParams["pgf.texsystem"]):
        formats.discard("pgf")
    return sorted(formats)
