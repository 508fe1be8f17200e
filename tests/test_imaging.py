"""Preprocessing real pictures into MNIST-style 28x28 digits."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitrec import imaging
from digitrec.errors import DigitrecError
from images import mnist_as_drawing, png_with_header, render_number


def centre_of_mass(pixels):
    weights = pixels.astype(np.float64)
    rows, columns = np.indices(pixels.shape)
    return (rows * weights).sum() / weights.sum(), (columns * weights).sum() / weights.sum()


def seven(canvas=(1000, 800), pen=4, ink="black", paper="white", mode="RGB"):
    image = Image.new(mode, canvas, paper)
    points = [(0.3, 0.19), (0.7, 0.19), (0.45, 0.87)]
    ImageDraw.Draw(image).line([(x * canvas[0], y * canvas[1]) for x, y in points], fill=ink, width=pen)
    return image


def test_output_is_mnist_shaped_and_centred():
    (digit,) = imaging.prepare(seven())
    pixels = digit.pixels
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8 and pixels.max() == 255
    y, x = centre_of_mass(pixels)
    assert abs(y - 14) <= 0.5 and abs(x - 14) <= 0.5  # where MNIST puts it
    rows, columns = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    assert max(rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1) in (20, 21)


def test_thin_pen_on_a_big_canvas_gets_an_mnist_stroke():
    (digit,) = imaging.prepare(seven(pen=3))
    width = imaging.stroke_width(digit.pixels > 127)
    assert 2.0 <= width <= 4.3  # MNIST's 5th-95th percentile is 2.1-4.3 px


def test_fat_marker_is_thinned():
    (digit,) = imaging.prepare(seven(canvas=(300, 240), pen=40))
    assert imaging.stroke_width(digit.pixels > 127) <= 4.5


def test_polarity_and_colour_do_not_matter():
    dark_on_light = imaging.prepare(seven(ink=(30, 30, 200), paper=(250, 245, 230)))[0].pixels
    light_on_dark = imaging.prepare(seven(ink="white", paper=(20, 40, 20)))[0].pixels
    grey = imaging.prepare(seven(mode="L", ink=0, paper=255))[0].pixels
    assert np.abs(dark_on_light.astype(int) - light_on_dark.astype(int)).mean() < 8
    assert np.abs(dark_on_light.astype(int) - grey.astype(int)).mean() < 8


def test_transparent_canvas_and_palette_images():
    rgba = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).line([(200, 50), (200, 350)], fill=(255, 255, 255, 255), width=12)  # white ink!
    (digit,) = imaging.prepare(rgba)
    assert digit.pixels[:, 14].max() == 255 and digit.pixels[:, :8].max() == 0  # a centred vertical bar
    palette = seven().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    assert len(imaging.prepare(palette)) == 1


def test_uneven_lighting_is_removed():
    ys, xs = np.mgrid[0:600, 0:600]
    paper = 255 * (1.0 - 0.55 * xs / 600)  # bright on the left, dim on the right, like a photo
    photo = Image.fromarray(paper.astype(np.uint8), "L")
    ImageDraw.Draw(photo).line([(300, 100), (300, 500)], fill=20, width=10)
    (digit,) = imaging.prepare(photo)
    assert digit.pixels[:, :9].max() < 40 and digit.pixels[:, 19:].max() < 40  # no shadow left as ink


def test_blank_and_nearly_blank_give_no_digit():
    assert imaging.prepare(Image.new("RGB", (300, 300), (240, 240, 240))) == []
    noise = np.random.default_rng(0).normal(200, 3, (300, 300)).clip(0, 255).astype(np.uint8)
    assert imaging.prepare(Image.fromarray(noise)) == []


def test_mnist_digits_redrawn_come_back_close_to_themselves(mnist):
    # blown up 5x, drawn in blue ink on paper, off-centre: preprocessing must undo all of it
    correlations = []
    for original in mnist[1][0][:20]:
        (digit,) = imaging.prepare(mnist_as_drawing(original))
        correlations.append(np.corrcoef(digit.pixels.ravel().astype(float), original.ravel().astype(float))[0, 1])
    assert np.median(correlations) > 0.8 and min(correlations) > 0.6


def test_several_digits_left_to_right():
    rng = np.random.default_rng(3)
    digits = imaging.prepare(render_number("2026", rng), multi=True)
    assert len(digits) == 4
    lefts = [d.box[0] for d in digits]
    assert lefts == sorted(lefts)


def test_touching_digits_are_split():
    image = Image.new("L", (400, 200), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse([40, 30, 180, 170], outline=0, width=14)  # two zeros that touch
    draw.ellipse([170, 30, 310, 170], outline=0, width=14)
    assert len(imaging.prepare(image, multi=True)) == 2


def test_detached_bar_of_a_five_stays_one_digit():
    image = Image.new("L", (300, 300), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(110, 60), (220, 60)], fill=0, width=10)  # the flag, not touching the body
    draw.line([(110, 75), (105, 140)], fill=0, width=10)
    draw.arc([90, 120, 220, 250], start=-150, end=140, fill=0, width=10)
    assert len(imaging.prepare(image, multi=True)) == 1


# --- hostile and broken files: one clear reason each -------------------------------------------


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(DigitrecError, match=r"notes.png: not an image Pillow can read"):
        imaging.prepare(path)


def test_truncated_image(tmp_path):
    buffer = io.BytesIO()
    seven(canvas=(200, 200)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DigitrecError, match=r"cut.png: truncated or corrupt image"):
        imaging.prepare(path)


def test_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_with_header(30000, 30000))  # 900 M pixels claimed by a ~100-byte file
    with pytest.raises(DigitrecError, match=r"bomb.png: refused: more than [\d,]+ pixels \(decompression bomb limit\)"):
        imaging.prepare(path)


def test_zero_size_image_and_empty_file(tmp_path):
    path = tmp_path / "flat.png"
    path.write_bytes(png_with_header(0, 10))
    with pytest.raises(DigitrecError, match=r"flat.png: zero-size image \(0x10\)"):
        imaging.prepare(path)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(DigitrecError, match=r"empty.jpg: empty file \(0 bytes\)"):
        imaging.prepare(empty)


def test_pixels_input_is_checked():
    assert imaging.prepare_pixels([0] * 784).shape == (28, 28)
    with pytest.raises(DigitrecError, match=r"pixels: expected 784 values \(28x28\), got 10"):
        imaging.prepare_pixels([0] * 10)
    with pytest.raises(DigitrecError, match=r"pixels: values must be numbers from 0 to 255"):
        imaging.prepare_pixels([300] * 784)
    with pytest.raises(DigitrecError, match=r"pixels: values must be numbers from 0 to 255"):
        imaging.prepare_pixels(["a"] * 784)
