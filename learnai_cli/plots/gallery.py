"""The gallery of an evaluation's highest-loss examples: images with their labels, or a table of inputs as text.

No torch: the examples arrive as plain values (an image as an array of pixels in [0, 1], an input as text).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from learnai_cli.plots.figures import plt, save_figure

COLUMNS = 4  # images per row
# a grid cell, in inches: its image below a two-line caption, a margin around both; the title band above the grid
CELL_WIDTH, CELL_HEIGHT, CELL_PAD, CAPTION_HEIGHT, TITLE_HEIGHT = 2.3, 2.7, 0.12, 0.42, 0.45
IMAGE_HEIGHT = CELL_HEIGHT - CAPTION_HEIGHT - 2 * CELL_PAD
INPUT_WIDTH = 90  # characters of an input shown in the table


def gallery_figure(examples: list[dict[str, Any]], title: str):
    """Images in a grid when the examples have an `image`, else a table with their `input` text; each example has
    index, true, predicted, probability (of the predicted class) and loss."""
    if any("image" in example for example in examples):
        return _image_grid(examples, title)
    return _text_table(examples, title)


def plot_gallery(examples: list[dict[str, Any]], title: str, path: Path) -> Path:
    images = any("image" in example for example in examples)  # a grid sets its own margins; a table is cropped
    return save_figure(gallery_figure(examples, title), path, margins_set=images)


def _caption(example: dict[str, Any]) -> str:
    probability = example.get("probability")
    shown = "" if probability is None else f" ({probability:.0%})"
    return f"#{example['index']} true: {example['true']}\npredicted: {example['predicted']}{shown}"


def _image_grid(examples: list[dict[str, Any]], title: str):
    """Each example in a cell of fixed size (its two-line caption above its image), laid out here rather than by
    tight_layout, so the PNG is rendered once (saving.py) instead of three times (16 images: 0.48 s -> 0.29 s)."""
    rows = math.ceil(len(examples) / COLUMNS)
    width, height = CELL_WIDTH * COLUMNS, CELL_HEIGHT * rows + TITLE_HEIGHT
    figure = plt.figure(figsize=(width, height))
    for position, example in enumerate(examples):
        row, column = divmod(position, COLUMNS)
        bottom = height - TITLE_HEIGHT - (row + 1) * CELL_HEIGHT + CELL_PAD
        box = (column * CELL_WIDTH + CELL_PAD, bottom, CELL_WIDTH - 2 * CELL_PAD, IMAGE_HEIGHT)
        axis = figure.add_axes((box[0] / width, box[1] / height, box[2] / width, box[3] / height))
        axis.axis("off")
        image = example.get("image")
        if image is not None:
            axis.imshow(image, cmap="gray" if getattr(image, "ndim", 3) == 2 else None, vmin=0, vmax=1)
        wrong = example["true"] != example["predicted"]
        axis.set_title(_caption(example), fontsize=8, color="firebrick" if wrong else "black", parse_math=False)
    heading = f"{title}\nhighest loss first; red: predicted wrong"
    figure.suptitle(heading, fontsize=9, parse_math=False, y=1 - 0.08 / height, va="top")
    return figure


def _text_table(examples: list[dict[str, Any]], title: str):
    header = ["index", "input", "true", "predicted", "probability", "loss"]
    cells = [
        [
            str(example["index"]),
            _clipped(str(example.get("input", ""))),
            str(example["true"]),
            str(example["predicted"]),
            "" if example.get("probability") is None else f"{example['probability']:.3f}",
            "" if example.get("loss") is None else f"{example['loss']:.3g}",
        ]
        for example in examples
    ]
    widest = max([len(header[1])] + [len(row[1]) for row in cells])
    figure, axis = plt.subplots(figsize=(min(16.0, 5 + 0.09 * widest), 0.6 + 0.22 * (len(cells) + 1)))
    axis.axis("off")
    table = axis.table(cellText=cells or [[""] * len(header)], colLabels=header, loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.auto_set_column_width(list(range(len(header))))
    for cell in table.get_celld().values():
        cell.get_text().set_parse_math(False)  # names and rows drawn as written: "$1" is a class, not maths
    for row, example in enumerate(examples, start=1):
        if example["true"] != example["predicted"]:
            for column in range(len(header)):
                table[row, column].get_text().set_color("firebrick")
    axis.set_title(f"{title} — highest loss first; red: predicted wrong", fontsize=9, parse_math=False)
    return figure


def _clipped(text: str) -> str:
    return text if len(text) <= INPUT_WIDTH else text[: INPUT_WIDTH - 1] + "…"
