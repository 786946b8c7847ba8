"""Colour images: a generator that grows with size and channels, and one picture of them drawn in
colour by every front end (terminal half blocks in truecolor or 256 colours, ASCII, PNG)."""

import io

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from glo.imaging.png import grid_png_bytes
from glo.imaging.shown import as_tensor, display_indices, to_uint8
from glo.model.nets import GLO
from glo.view.images import (
    fitted_rows,
    halve,
    image_text,
    lead_rows,
    resize,
    wrapped_rows,
)


@pytest.mark.parametrize("size,channels,combine", [(32, 3, "concat"), (64, 3, "adain"), (16, 1, "concat"),
                                                   (14, 3, "adain"), (56, 1, "concat")])
def test_the_generator_draws_any_supported_size_and_channels(size, channels, combine):
    model = GLO(n_images=4, n_classes=3, combine=combine, image_size=size, channels=channels)
    out, _ = model(torch.arange(4), torch.tensor([0, 1, 2, 0]))
    assert out.shape == (4, channels, size, size) and out.min() >= 0 and out.max() <= 1


def test_the_28x28_grey_model_keeps_its_layers():
    names = [(n, tuple(p.shape)) for n, p in GLO(n_images=3).generator.named_parameters()]
    assert names == [("fc.weight", (3136, 50)), ("fc.bias", (3136,)), ("up1.weight", (64, 32, 4, 4)),
                     ("up1.bias", (32,)), ("up2.weight", (32, 1, 4, 4)), ("up2.bias", (1,))]
    with pytest.raises(ValueError, match="not 7 or 8 pixels doubled"):
        GLO(n_images=3, image_size=30)


def test_tensor_round_trip_and_display_over_any_number_of_classes():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3)).astype(np.uint8)
    assert as_tensor(rgb).shape == (5, 3, 8, 8) and np.array_equal(to_uint8(as_tensor(rgb)), rgb)
    grey = rgb[..., 0]
    assert as_tensor(grey).shape == (5, 1, 8, 8) and np.array_equal(to_uint8(as_tensor(grey)), grey)
    labels = np.array([3, 3, 0, 12, 0, 7])
    assert display_indices(labels, 4).tolist() == [2, 0, 5, 3]


def _render(renderable, system):
    console = Console(width=120, color_system=system, force_terminal=system is not None, record=True)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get()


def test_colour_half_blocks_truecolor_256_and_ascii():
    img = np.zeros((2, 4, 4, 3), np.uint8)
    img[0, ..., 0] = 200  # red
    img[1, ..., 2] = 180  # blue
    rows = [("t", img)]
    true = _render(wrapped_rows(rows, 40), "truecolor")
    assert "38;2;200;0;0" in true and "48;2;0;0;180" in true and "\u2580" in true
    # rich keeps a style's escape codes for the first colour system it met: other colours for 256
    fallback = _render(wrapped_rows([("t", img // 2 + 1)], 40), "256")
    assert "38;5;" in fallback and "38;2;" not in fallback
    plain = _render(wrapped_rows(rows, 40, ascii=True), None)
    assert "\u2580" not in plain and "\x1b" not in plain and plain.strip()
    assert "\u2580" in image_text(img[0]).plain


def test_colour_layouts_resize_halve_and_fold():
    img = np.random.default_rng(1).integers(0, 256, (30, 32, 32, 3)).astype(np.uint8)
    assert resize(img, 10).shape == (30, 10, 10, 3) and halve(img).shape == (30, 16, 16, 3)
    folded = _render(fitted_rows([("many classes", img)], 80), None)  # 30 images fold over lines
    assert folded.count("\n") > 2 * 5
    assert _render(lead_rows([("row", img[:10])], 80, leads=img[:1]), "truecolor")


def test_colour_png_keeps_the_colours():
    img = np.zeros((2, 3, 4, 4, 3), np.uint8)
    img[..., 1] = 255
    picture = Image.open(io.BytesIO(grid_png_bytes(img, labels=["a", "b"])))
    assert picture.mode == "RGB"
    assert picture.getpixel((picture.width - 3, 3)) == (0, 255, 0)


def test_grey_and_colour_runs_share_one_grid():
    from glo.analysis.compare import image_grid

    grey = np.full((3, 28, 28), 200, np.uint8)
    colour = np.zeros((2, 32, 32, 3), np.uint8)
    grid = image_grid([("mnist", grey), ("cifar", colour)])
    assert grid.shape == (2, 3, 32, 32, 3) and grid[0, 0, 5, 5].tolist() == [200, 200, 200]
