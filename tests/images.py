"""Pictures for the tests, made here: drawn digits, MNIST digits turned into drawings, hostile files."""

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from drawn_digits import digit_strokes, drawn_set, render_number  # noqa: E402,F401
from photos import photo_set  # noqa: E402,F401
from stress_pictures import SHAPES, category_set, draw_strokes, unit_strokes  # noqa: E402,F401


def mnist_as_drawing(pixels, size=280, dark_on_light=True, colour=(20, 30, 160)):
    """An MNIST digit blown up onto a larger canvas in ink on paper, off-centre."""
    digit = Image.fromarray(pixels).resize((size // 2, size // 2), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (size, size), 0)
    canvas.paste(digit, (size // 3, size // 5))
    ink = np.asarray(canvas, dtype=np.float32)[..., None] / 255.0
    paper = np.array([245, 240, 230], dtype=np.float32) if dark_on_light else np.zeros(3, np.float32)
    pen = np.array(colour, dtype=np.float32) if dark_on_light else np.array([250, 250, 250], np.float32)
    return Image.fromarray((paper * (1 - ink) + pen * ink).astype(np.uint8), "RGB")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_header(width, height, body=b""):
    """A PNG whose header claims width x height (8-bit grey), with `body` as its pixel data."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(body)) + png_chunk(b"IEND", b"")
from memory import sixteen_bit_png  # noqa: E402,F401
