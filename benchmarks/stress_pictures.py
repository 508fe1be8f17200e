"""Pictures made the ordinary ways, one generator per category, for tests and benchmarks.

Every category that issue 9 lists: thin pens on big canvases, small digits on big pages, photos
with shadows, digits in frames and on ruled or squared paper, several digits without `--multi`,
touching digits, and things that are not digits at all (letters, symbols, scribbles, frames,
noise, blots); then sheets of paper photographed on a desk, fat light pens on dark canvases,
pictures turned in an editor, digits circled by hand, screenshots of a drawing app,
speckled scans, digits cropped close round their ink, small digits and numbers on big
phone photos; and notebook pages with a red margin, printed worksheets, pages held in a hand,
photos in dim light, pencil on grainy paper and a pen lying beside the digit. Each generator takes a NumPy random generator
and returns (PIL image, expected): the expected text for digits, None for a non-digit. Digits use the skeletons of
`drawn_digits.py`; nothing here comes from MNIST or from hwd-1000.

    python benchmarks/stress_pictures.py --out /tmp/stress --count 20   # write samples of each
"""

import argparse
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from drawn_digits import catmull_rom, digit_strokes, number_strokes, paper_colour, save_pictures

# Non-digits as stroke skeletons in a unit box (x right, y down), (points, smooth) like STYLES.
# Letters that people also write as digits (O, I, l, S, Z, B, G, q, g, b) are left out on purpose.
SHAPES = {
    "A": [([(0.05, 1.0), (0.5, 0.0), (0.95, 1.0)], False), ([(0.25, 0.6), (0.75, 0.6)], False)],
    "E": [([(0.85, 0.0), (0.15, 0.0), (0.15, 1.0), (0.85, 1.0)], False), ([(0.15, 0.5), (0.7, 0.5)], False)],
    "F": [([(0.85, 0.0), (0.15, 0.0), (0.15, 1.0)], False), ([(0.15, 0.5), (0.7, 0.5)], False)],
    "H": [([(0.1, 0.0), (0.1, 1.0)], False), ([(0.9, 0.0), (0.9, 1.0)], False), ([(0.1, 0.5), (0.9, 0.5)], False)],
    "K": [([(0.15, 0.0), (0.15, 1.0)], False), ([(0.85, 0.0), (0.15, 0.55), (0.85, 1.0)], False)],
    "M": [([(0.05, 1.0), (0.12, 0.0), (0.5, 0.65), (0.88, 0.0), (0.95, 1.0)], False)],
    "N": [([(0.12, 1.0), (0.12, 0.0), (0.88, 1.0), (0.88, 0.0)], False)],
    "R": [([(0.15, 1.0), (0.15, 0.0), (0.7, 0.02), (0.85, 0.25), (0.7, 0.48), (0.15, 0.5)], True), ([(0.4, 0.5), (0.9, 1.0)], False)],
    "P": [([(0.15, 1.0), (0.15, 0.0), (0.7, 0.02), (0.88, 0.25), (0.7, 0.5), (0.15, 0.52)], True)],
    "U": [([(0.12, 0.0), (0.12, 0.7), (0.5, 1.0), (0.88, 0.7), (0.88, 0.0)], True)],
    "V": [([(0.05, 0.0), (0.5, 1.0), (0.95, 0.0)], False)],
    "W": [([(0.0, 0.0), (0.25, 1.0), (0.5, 0.35), (0.75, 1.0), (1.0, 0.0)], False)],
    "X": [([(0.1, 0.0), (0.9, 1.0)], False), ([(0.9, 0.0), (0.1, 1.0)], False)],
    "Y": [([(0.1, 0.0), (0.5, 0.5), (0.9, 0.0)], False), ([(0.5, 0.5), (0.5, 1.0)], False)],
    "T": [([(0.05, 0.0), (0.95, 0.0)], False), ([(0.5, 0.0), (0.5, 1.0)], False)],
    "C": [([(0.9, 0.15), (0.55, 0.0), (0.15, 0.25), (0.1, 0.7), (0.5, 1.0), (0.9, 0.85)], True)],
    "D": [([(0.15, 0.0), (0.15, 1.0), (0.6, 0.95), (0.9, 0.5), (0.6, 0.05), (0.15, 0.0)], True)],
    "k": [([(0.2, 0.0), (0.2, 1.0)], False), ([(0.8, 0.45), (0.2, 0.75), (0.8, 1.0)], False)],
    "h": [([(0.15, 0.0), (0.15, 1.0)], False), ([(0.15, 0.65), (0.5, 0.45), (0.85, 0.6), (0.85, 1.0)], True)],
    "m": [([(0.05, 1.0), (0.05, 0.4), (0.3, 0.35), (0.5, 0.5), (0.5, 1.0)], True), ([(0.5, 0.5), (0.75, 0.35), (0.95, 0.5), (0.95, 1.0)], True)],
    "e": [([(0.12, 0.55), (0.88, 0.55), (0.75, 0.25), (0.45, 0.2), (0.12, 0.5), (0.3, 0.95), (0.85, 0.9)], True)],
    "r": [([(0.2, 0.3), (0.2, 1.0)], False), ([(0.2, 0.55), (0.5, 0.3), (0.85, 0.35)], True)],
    "#": [([(0.35, 0.0), (0.25, 1.0)], False), ([(0.75, 0.0), (0.65, 1.0)], False), ([(0.0, 0.33), (1.0, 0.33)], False), ([(0.0, 0.67), (1.0, 0.67)], False)],
    "+": [([(0.5, 0.05), (0.5, 0.95)], False), ([(0.05, 0.5), (0.95, 0.5)], False)],
    "*": [([(0.5, 0.0), (0.5, 1.0)], False), ([(0.07, 0.25), (0.93, 0.75)], False), ([(0.93, 0.25), (0.07, 0.75)], False)],
    "=": [([(0.05, 0.35), (0.95, 0.35)], False), ([(0.05, 0.65), (0.95, 0.65)], False)],
    "%": [([(0.9, 0.0), (0.1, 1.0)], False), ([(0.2, 0.0), (0.35, 0.12), (0.2, 0.25), (0.05, 0.12), (0.2, 0.0)], True), ([(0.8, 0.75), (0.95, 0.87), (0.8, 1.0), (0.65, 0.87), (0.8, 0.75)], True)],
    "&": [([(0.9, 1.0), (0.25, 0.4), (0.3, 0.05), (0.6, 0.1), (0.55, 0.35), (0.1, 0.7), (0.3, 1.0), (0.65, 0.9), (0.9, 0.55)], True)],
    "@": [([(0.65, 0.45), (0.5, 0.3), (0.35, 0.5), (0.5, 0.68), (0.65, 0.45), (0.7, 0.7), (0.9, 0.55), (0.85, 0.2), (0.5, 0.02), (0.12, 0.3), (0.15, 0.8), (0.5, 1.0), (0.85, 0.9)], True)],
    "?": [([(0.15, 0.25), (0.5, 0.0), (0.85, 0.25), (0.5, 0.5), (0.5, 0.7)], True), ([(0.5, 0.92), (0.5, 1.0)], False)],
    "!": [([(0.5, 0.0), (0.5, 0.7)], False), ([(0.5, 0.92), (0.5, 1.0)], False)],
    "$": [([(0.85, 0.2), (0.5, 0.08), (0.15, 0.3), (0.5, 0.5), (0.85, 0.7), (0.5, 0.92), (0.15, 0.8)], True), ([(0.5, 0.0), (0.5, 1.0)], False)],
    "arrow": [([(0.0, 0.5), (1.0, 0.5)], False), ([(0.7, 0.25), (1.0, 0.5), (0.7, 0.75)], False)],
    "up arrow": [([(0.5, 1.0), (0.5, 0.0)], False), ([(0.2, 0.3), (0.5, 0.0), (0.8, 0.3)], False)],
    "star": [([(0.5, 0.0), (0.79, 0.95), (0.02, 0.36), (0.98, 0.36), (0.21, 0.95), (0.5, 0.0)], False)],
    "triangle": [([(0.5, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.0)], False)],
    "heart": [([(0.5, 1.0), (0.1, 0.55), (0.05, 0.2), (0.3, 0.02), (0.5, 0.25), (0.7, 0.02), (0.95, 0.2), (0.9, 0.55), (0.5, 1.0)], True)],
    "check": [([(0.0, 0.55), (0.35, 1.0), (1.0, 0.0)], False)],
    "smiley": [([(0.5, 0.0), (0.85, 0.15), (1.0, 0.5), (0.85, 0.85), (0.5, 1.0), (0.15, 0.85), (0.0, 0.5), (0.15, 0.15), (0.5, 0.0)], True),
               ([(0.33, 0.3), (0.33, 0.42)], False), ([(0.67, 0.3), (0.67, 0.42)], False), ([(0.25, 0.62), (0.5, 0.78), (0.75, 0.62)], True)],
    "crossed circle": [([(0.5, 0.0), (0.85, 0.15), (1.0, 0.5), (0.85, 0.85), (0.5, 1.0), (0.15, 0.85), (0.0, 0.5), (0.15, 0.15), (0.5, 0.0)], True),
                       ([(0.15, 0.15), (0.85, 0.85)], False), ([(0.85, 0.15), (0.15, 0.85)], False)],
    "house": [([(0.1, 1.0), (0.1, 0.45), (0.5, 0.0), (0.9, 0.45), (0.9, 1.0), (0.1, 1.0)], False), ([(0.4, 1.0), (0.4, 0.7), (0.6, 0.7), (0.6, 1.0)], False)],
    "spiral": [([(0.5 + 0.5 * t / 12 * math.cos(t), 0.5 + 0.5 * t / 12 * math.sin(t)) for t in np.linspace(0, 12, 40)], True)],
    "wave": [([(x, 0.5 + 0.35 * math.sin(x * 4 * math.pi)) for x in np.linspace(0, 1, 25)], True)],
}


def unit_strokes(shape, rng, aspect=None):
    """A shape's strokes jittered, sheared and rotated, centred and scaled to unit height."""
    aspect = aspect if aspect is not None else rng.uniform(0.7, 1.1)
    angle = math.radians(rng.uniform(-10, 10))
    shear = rng.uniform(-0.2, 0.2)
    transform = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ np.array([[1, shear], [0, 1]])
    strokes = []
    for points, smooth in shape:
        points = np.asarray(points, dtype=np.float64) + rng.normal(0, 0.02, (len(points), 2))
        line = catmull_rom(points) if smooth else points
        strokes.append(((line - 0.5) * np.array([aspect, 1.0])) @ transform.T)
    return strokes


def scribble_strokes(rng):
    """A random scribble: a zig-zag, a tangle, or crossing-out hatches."""
    kind = rng.integers(3)
    if kind == 0:  # zig-zag
        count = int(rng.integers(4, 9))
        xs = np.linspace(-0.6, 0.6, count)
        ys = np.where(np.arange(count) % 2, 0.4, -0.4) + rng.normal(0, 0.05, count)
        return [np.stack([xs, ys], axis=1)]
    if kind == 1:  # a tangle: a smooth random walk
        points = np.cumsum(rng.normal(0, 0.35, (int(rng.integers(8, 16)), 2)), axis=0)
        points = (points - points.mean(axis=0)) / (np.abs(points).max() + 1e-6) * 0.5
        return [catmull_rom(points, samples=8)]
    lines = []  # hatching: several parallel strokes, then maybe across
    for index in range(int(rng.integers(4, 9))):
        offset = -0.5 + index / 7
        lines.append(np.array([[-0.5, offset - 0.25], [0.5, offset + 0.25]]) + rng.normal(0, 0.03, (2, 2)))
    if rng.random() < 0.5:
        lines.append(np.array([[-0.5, 0.5], [0.5, -0.5]]))
    return lines


def paper(size, rng, kind=None):
    """An RGB canvas as float (H, W, 3) in [0, 1]: white, tinted, a photo of paper, or a dark board."""
    width, height = size
    kind = kind or rng.choice(["white", "tinted", "photo", "dark"], p=[0.4, 0.2, 0.3, 0.1])
    canvas = np.ones((height, width, 3), dtype=np.float32) * paper_colour(kind, rng, lightest_tint=0.8).astype(np.float32)
    if kind == "photo":
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) / max(width, height)
        canvas *= (1 - rng.uniform(0.1, 0.35) * (xs * rng.uniform(-1, 1) + ys * rng.uniform(-1, 1) + 1) / 2)[..., None]
        canvas += rng.normal(0, 0.015, canvas.shape).astype(np.float32)
    return np.clip(canvas, 0, 1), kind


def ink_colour(rng, kind):
    if kind == "dark":
        return tuple(int(v) for v in rng.uniform(200, 255, 3))
    if rng.random() < 0.7:
        return tuple(int(v) for v in rng.uniform(0, 70, 3))
    return (int(rng.uniform(0, 60)), int(rng.uniform(0, 80)), int(rng.uniform(120, 200)))  # blue ballpoint


def draw_strokes(image, strokes, centre, height, pen, ink, scale=1.0):
    """Draw unit-height strokes at `centre`, `height` px tall, with round joints and ends."""
    draw = ImageDraw.Draw(image)
    for line in strokes:
        xy = [((centre[0] + x * height) * scale, (centre[1] + y * height) * scale) for x, y in line]
        draw.line(xy, fill=ink, width=max(1, int(round(pen * scale))), joint="curve")
        radius = pen * scale / 2
        if radius >= 1.5:
            for x, y in (xy[0], xy[-1]):
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=ink)


def to_image(canvas):
    return Image.fromarray((np.clip(canvas, 0, 1) * 255).astype(np.uint8), "RGB")


def jpeg(image, rng, chance=0.4):
    if rng.random() < chance:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=int(rng.integers(60, 95)))
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return image


def drawn_on(size, strokes, centre, height, pen, rng, kind=None, antialias=False):
    """Strokes drawn on paper of `size`; antialiased by drawing at 3x and reducing."""
    canvas, kind = paper(size, rng, kind)
    ink = ink_colour(rng, kind)
    if antialias:
        big = Image.new("L", (size[0] * 3, size[1] * 3), 0)
        draw_strokes(big, strokes, centre, height, pen, 255, scale=3)
        coverage = np.asarray(big.reduce(3), dtype=np.float32)[..., None] / 255
    else:
        mask = Image.new("L", size, 0)
        draw_strokes(mask, strokes, centre, height, pen, 255)
        coverage = np.asarray(mask, dtype=np.float32)[..., None] / 255
    canvas = canvas * (1 - coverage) + np.array(ink, np.float32) / 255 * coverage
    return canvas, kind


# --- the categories --------------------------------------------------------------------------


def thin_pen(rng):
    """A drawing app's export: a 1-3 px pen on a canvas of 1000x800 to 4000x3000."""
    size = [(1000, 800), (1200, 1200), (1600, 1200), (2000, 1500), (4000, 3000)][int(rng.choice(5, p=[0.3, 0.3, 0.15, 0.15, 0.1]))]
    digit = int(rng.integers(10))
    height = rng.uniform(0.3, 0.8) * min(size)
    margin = 0.6 * height  # the whole digit on the canvas, wherever it is
    centre = (rng.uniform(margin, size[0] - margin), rng.uniform(margin, size[1] - margin))
    pen = int(rng.integers(1, 4)) * (2 if size[0] >= 4000 and rng.random() < 0.5 else 1)
    canvas, _ = drawn_on(size, digit_strokes(digit, rng), centre, height, pen, rng, kind="white", antialias=size[0] <= 1200 and rng.random() < 0.5)
    return to_image(canvas), str(digit)


def small_on_page(rng):
    """A small digit (60-110 px) anywhere on a page of 900x900 to 1600x1200, corners included."""
    size = [(900, 900), (1200, 900), (1600, 1200)][int(rng.integers(3))]
    digit = int(rng.integers(10))
    height = rng.uniform(60, 110)
    pen = max(2, height * rng.uniform(0.04, 0.12))
    margin = height * 0.6 + pen
    centre = (rng.uniform(margin, size[0] - margin), rng.uniform(margin, size[1] - margin))
    canvas, _ = drawn_on(size, digit_strokes(digit, rng), centre, height, pen, rng)
    return jpeg(to_image(canvas), rng), str(digit)


def shadow_photo(rng):
    """A photo of a digit on paper with a soft shadow (a hand or a phone) and a lighting gradient."""
    side = int(rng.choice([640, 800, 1200, 1600]))
    size = (side, int(side * rng.uniform(0.75, 1.0)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.35, 0.7) * min(size)
    centre = (rng.uniform(0.4, 0.6) * size[0], rng.uniform(0.4, 0.6) * size[1])
    canvas, _ = drawn_on(size, digit_strokes(digit, rng), centre, height, height * rng.uniform(0.04, 0.12), rng, kind="photo")
    shadow = Image.new("L", size, 0)
    draw = ImageDraw.Draw(shadow)
    width, tall = size
    corner = rng.integers(4)
    cx, cy = (0 if corner in (0, 3) else width), (0 if corner < 2 else tall)
    radius = rng.uniform(0.5, 0.9) * max(size)
    draw.ellipse([cx - radius, cy - radius * rng.uniform(0.6, 1.2), cx + radius, cy + radius * rng.uniform(0.6, 1.2)], fill=255)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(size) * rng.uniform(0.03, 0.1)))
    darkness = rng.uniform(0.3, 0.55)
    canvas = canvas * (1 - darkness * np.asarray(shadow, np.float32)[..., None] / 255)
    image = to_image(canvas).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return jpeg(image, rng, 0.6), str(digit)


def rectangle(left, top, right, bottom, rng, wobble=0.0):
    corners = np.array([[left, top], [right, top], [right, bottom], [left, bottom], [left, top]], dtype=np.float64)
    corners += rng.normal(0, wobble, corners.shape)
    corners[-1] = corners[0]
    return [corners]


def framed(rng, with_digit=True):
    """A digit inside a drawn frame (a box on a form, or drawn around it by hand)."""
    side = int(rng.choice([200, 300, 500, 800]))
    size = (side, int(side * rng.uniform(0.8, 1.2)))
    height = rng.uniform(0.4, 0.6) * min(size)
    centre = (size[0] / 2 + rng.uniform(-0.05, 0.05) * side, size[1] / 2 + rng.uniform(-0.05, 0.05) * side)
    pen = max(2, height * rng.uniform(0.05, 0.12))
    margin_x, margin_y = rng.uniform(0.12, 0.35, 2) * height
    half_width = 0.35 * height
    box = rectangle(centre[0] - half_width - margin_x, centre[1] - height / 2 - margin_y,
                    centre[0] + half_width + margin_x, centre[1] + height / 2 + margin_y, rng, wobble=rng.choice([0.0, 0.01 * side]))
    frame_pen = max(1, pen * rng.uniform(0.4, 1.2))
    digit = int(rng.integers(10))
    strokes = digit_strokes(digit, rng) if with_digit else []
    canvas, kind = paper(size, rng)
    ink = ink_colour(rng, kind)
    mask = Image.new("L", size, 0)
    draw_strokes(mask, strokes, centre, height, pen, 255)
    unit_box = [(line - np.array(centre)) / height for line in box]
    draw_strokes(mask, unit_box, centre, height, frame_pen, 255)
    coverage = np.asarray(mask, np.float32)[..., None] / 255
    canvas = canvas * (1 - coverage) + np.array(ink, np.float32) / 255 * coverage
    return jpeg(to_image(canvas), rng, 0.3), (str(digit) if with_digit else None)


def lined_paper(rng):
    """A digit on ruled (or squared) paper: thin lines across the whole page, under the ink."""
    side = int(rng.choice([400, 640, 1000]))
    size = (side, int(side * rng.uniform(0.75, 1.3)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.25, 0.6) * min(size)
    spacing = height * rng.uniform(0.3, 0.55)
    grid = rng.random() < 0.35
    canvas, kind = paper(size, rng, kind=rng.choice(["white", "tinted", "photo"]))
    lines = Image.new("L", size, 0)
    draw = ImageDraw.Draw(lines)
    line_width = max(1, int(round(min(size) * rng.uniform(0.002, 0.005))))
    offset = rng.uniform(0, spacing)
    tilt = rng.uniform(-0.015, 0.015) * size[0]
    for y in np.arange(offset, size[1], spacing):
        draw.line([(0, y), (size[0], y + tilt)], fill=255, width=line_width)
    if grid:
        for x in np.arange(rng.uniform(0, spacing), size[0], spacing):
            draw.line([(x, 0), (x - tilt, size[1])], fill=255, width=line_width)
    elif rng.random() < 0.4:  # a margin line
        x = rng.uniform(0.08, 0.15) * size[0]
        draw.line([(x, 0), (x, size[1])], fill=255, width=line_width + 1)
    line_colour = np.array(rng.choice([[0.55, 0.7, 0.9], [0.6, 0.6, 0.6], [0.7, 0.8, 0.95]]), np.float32)
    strength = np.asarray(lines, np.float32)[..., None] / 255 * rng.uniform(0.6, 1.0)
    canvas = canvas * (1 - strength) + line_colour * canvas * strength
    centre = (rng.uniform(0.35, 0.65) * size[0], rng.uniform(0.35, 0.65) * size[1])
    mask = Image.new("L", size, 0)
    draw_strokes(mask, digit_strokes(digit, rng), centre, height, max(2, height * rng.uniform(0.04, 0.1)), 255)
    coverage = np.asarray(mask, np.float32)[..., None] / 255
    ink = np.array(ink_colour(rng, "white"), np.float32) / 255
    canvas = canvas * (1 - coverage) + ink * coverage
    return jpeg(to_image(canvas), rng, 0.3), str(digit)


def random_number(rng, lengths=(2, 5)):
    return "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(*lengths))))


def several_digits(rng, spacing=None):
    """A number of 2-4 digits on one line (read without --multi, it must say so)."""
    text = random_number(rng)
    spacing = spacing if spacing is not None else rng.uniform(0.8, 1.05)
    height = rng.uniform(60, 160)
    size = (int(height * (spacing * len(text) + 1.2)), int(height * 1.8))
    canvas, _ = drawn_on(size, number_strokes(text, rng, spacing), (size[0] / 2, size[1] / 2), height, height * rng.uniform(0.05, 0.11), rng)
    return jpeg(to_image(canvas), rng, 0.2), text


def touching_digits(rng):
    """A number whose digits touch or overlap (read with --multi: right, or flagged uncertain)."""
    return several_digits(rng, spacing=rng.uniform(0.5, 0.68))


def non_digit(rng):
    """Something that is not a digit: a letter or symbol, a scribble, an empty frame, noise, a blot."""
    kind = rng.choice(["shape", "scribble", "frame", "noise", "blot"], p=[0.62, 0.14, 0.08, 0.08, 0.08])
    side = int(rng.choice([112, 200, 280, 400, 640, 1000]))
    size = (side, int(side * rng.uniform(0.8, 1.2)))
    if kind == "frame":
        return framed(rng, with_digit=False)
    if kind == "noise":
        noise = rng.random((size[1] // 4 + 1, size[0] // 4 + 1))
        image = Image.fromarray((noise * 255).astype(np.uint8), "L").resize(size, Image.Resampling.BILINEAR if rng.random() < 0.5 else Image.Resampling.NEAREST)
        if rng.random() < 0.5:  # speckle on paper instead of full-range noise
            speckle = (rng.random((size[1], size[0])) < rng.uniform(0.01, 0.05)) * rng.uniform(0.5, 1.0)
            image = Image.fromarray(((1 - speckle) * 255).astype(np.uint8), "L")
        return image.convert("RGB"), None
    height = rng.uniform(0.4, 0.8) * min(size)
    centre = (rng.uniform(0.4, 0.6) * size[0], rng.uniform(0.4, 0.6) * size[1])
    canvas, kind_of_paper = paper(size, rng)
    mask = Image.new("L", size, 0)
    if kind == "blot":
        draw = ImageDraw.Draw(mask)
        for _ in range(int(rng.integers(1, 4))):
            rx, ry = rng.uniform(0.15, 0.45, 2) * height
            x, y = centre[0] + rng.normal(0, 0.15) * height, centre[1] + rng.normal(0, 0.15) * height
            draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(height * 0.03))
    else:
        if kind == "scribble":
            strokes = scribble_strokes(rng)
        else:
            name = list(SHAPES)[int(rng.integers(len(SHAPES)))]
            strokes = unit_strokes(SHAPES[name], rng)
        draw_strokes(mask, strokes, centre, height, max(1, height * rng.uniform(0.03, 0.12)), 255)
    coverage = np.asarray(mask, np.float32)[..., None] / 255
    canvas = canvas * (1 - coverage) + np.array(ink_colour(rng, kind_of_paper), np.float32) / 255 * coverage
    return jpeg(to_image(canvas), rng, 0.3), None


def sheet_on_desk(rng):
    """A photo of a sheet of paper (a note, a page) lying turned on a desk: wood, grey, black, the
    sheet covering a third to most of the picture, sometimes cut off by its edge."""
    side = int(rng.choice([400, 800, 1200, 1600]))
    size = (side, int(side * rng.uniform(0.75, 1.0)))
    desk = np.array([[0.45, 0.3, 0.2], [0.25, 0.25, 0.27], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.75, 0.75, 0.75]][int(rng.integers(5))], np.float32)
    sheet_size = (int(size[0] * rng.uniform(0.5, 0.9)), int(size[1] * rng.uniform(0.5, 0.9)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.45, 0.7) * min(sheet_size)
    centre = (sheet_size[0] / 2, sheet_size[1] / 2)
    canvas, kind = drawn_on(sheet_size, digit_strokes(digit, rng), centre, height, height * rng.uniform(0.05, 0.1), rng, kind=rng.choice(["white", "tinted", "photo"]))
    sheet = to_image(canvas).convert("RGBA").rotate(rng.uniform(-25, 25), expand=True, resample=Image.Resampling.BILINEAR)
    photo = np.ones((size[1], size[0], 3), np.float32) * desk + rng.normal(0, 0.02, (size[1], size[0], 3)).astype(np.float32)
    picture = Image.new("RGBA", size)
    offset = (int((size[0] - sheet.width) / 2 + rng.uniform(-0.08, 0.08) * size[0]), int((size[1] - sheet.height) / 2 + rng.uniform(-0.08, 0.08) * size[1]))
    picture.alpha_composite(sheet, (max(offset[0], 0), max(offset[1], 0)), (max(-offset[0], 0), max(-offset[1], 0)))
    coverage = np.asarray(picture.getchannel("A"), np.float32)[..., None] / 255
    photo = photo * (1 - coverage) + np.asarray(picture.convert("RGB"), np.float32) / 255 * coverage
    return jpeg(to_image(photo).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8))), rng, 0.5), str(digit)


def light_fat_pen(rng):
    """A canvas drawn light on black or a dark board with a wide brush (10-22 % of the digit's
    height), as MNIST is drawn: the board inside the loops is as much detail as the strokes."""
    side = int(rng.choice([100, 140, 280, 400, 560]))
    digit = int(rng.integers(10))
    height = side * rng.uniform(0.55, 0.85)
    strokes, pen = digit_strokes(digit, rng), height * rng.uniform(0.1, 0.22)
    if rng.random() < 0.5:  # a drawing app's black canvas and white brush
        mask = Image.new("L", (side, side), 0)
        draw_strokes(mask, strokes, (side / 2, side / 2), height, pen, 255)
        return mask.convert("RGB"), str(digit)
    canvas, _ = drawn_on((side, side), strokes, (side / 2, side / 2), height, pen, rng, kind="dark")
    return jpeg(to_image(canvas), rng, 0.3), str(digit)


def turned_picture(rng):
    """A picture of a digit turned 5-20 degrees in an editor, the corners it uncovers filled with
    white or black, the paper a little darker than white or plainly grey. (Turned further, a digit
    leaves what MNIST's writers slant: a 6 turned 30 degrees reads as a 5 whatever the corners.)"""
    side = int(rng.choice([300, 600, 900]))
    digit = int(rng.integers(10))
    height = side * rng.uniform(0.4, 0.6)
    canvas = np.ones((side, side, 3), np.float32) * rng.choice([0.98, 0.96, 0.94, 0.9, 0.8, 0.7])
    mask = Image.new("L", (side, side), 0)
    draw_strokes(mask, digit_strokes(digit, rng), (side / 2, side / 2), height, height * rng.uniform(0.05, 0.1), 255)
    coverage = np.asarray(mask, np.float32)[..., None] / 255
    canvas = canvas * (1 - coverage) + np.array(ink_colour(rng, "white"), np.float32) / 255 * coverage
    fill = (255, 255, 255) if rng.random() < 0.5 else (0, 0, 0)
    turned = to_image(canvas).rotate(rng.choice([-1, 1]) * rng.uniform(5, 20), fillcolor=fill, resample=Image.Resampling.BILINEAR)
    return jpeg(turned, rng, 0.3), str(digit)


def circled(rng):
    """A digit circled by hand: the ring left a little open or run past its start, apart from the digit."""
    side = int(rng.choice([300, 600]))
    digit = int(rng.integers(10))
    height = rng.uniform(0.35, 0.5) * side
    turn = np.linspace(0, 2 * math.pi * rng.uniform(0.93, 1.1), 60) + rng.uniform(0, 2 * math.pi)
    ring = np.stack([rng.uniform(0.6, 0.8) * np.cos(turn), rng.uniform(0.75, 0.9) * np.sin(turn) + rng.normal(0, 0.01, 60)], axis=1)
    canvas, _ = drawn_on((side, side), list(digit_strokes(digit, rng)) + [ring], (side / 2, side / 2), height, height * rng.uniform(0.05, 0.1), rng)
    return jpeg(to_image(canvas), rng, 0.3), str(digit)


def app_screenshot(rng):
    """A phone's screenshot of a drawing app: a status bar (time, battery) and a toolbar of icons
    in light grey bands across the screen, the digit drawn in the middle."""
    width = int(rng.choice([750, 1080, 1170]))
    size = (width, int(width * rng.uniform(1.8, 2.2)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.15, 0.3) * size[1]
    canvas, _ = drawn_on(size, digit_strokes(digit, rng), (width / 2, size[1] * rng.uniform(0.4, 0.6)), height, height * rng.uniform(0.04, 0.1), rng, kind="white")
    screen = to_image(canvas)
    draw = ImageDraw.Draw(screen)
    bar, toolbar = int(size[1] * rng.uniform(0.03, 0.05)), int(size[1] * rng.uniform(0.06, 0.09))
    grey = tuple([int(rng.integers(235, 248))] * 3)
    draw.rectangle([0, 0, width, bar], fill=grey)
    draw.text((20, bar // 3), f"{int(rng.integers(1, 13))}:{int(rng.integers(60)):02d}", fill=(0, 0, 0))
    draw.text((width - 80, bar // 3), f"{int(rng.integers(5, 101))}%", fill=(0, 0, 0))
    draw.line([(0, bar), (width, bar)], fill=(200, 200, 200), width=2)
    draw.rectangle([0, size[1] - toolbar, width, size[1]], fill=grey)
    icons = int(rng.integers(3, 6))
    for index in range(icons):
        x, y, radius = width * (index + 0.5) / icons, size[1] - toolbar / 2, toolbar * rng.uniform(0.15, 0.3)
        if rng.random() < 0.5:
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=(60, 60, 60), width=3)
        else:
            draw.rectangle([x - radius, y - radius, x + radius, y + radius], outline=(60, 60, 60), width=3)
    return screen, str(digit)


def speckled_scan(rng):
    """A dusty scan or a fax: the digit under salt-and-pepper noise (0.5-3 % of the pixels black,
    1 % white)."""
    side = int(rng.choice([300, 600]))
    digit = int(rng.integers(10))
    height = side * rng.uniform(0.4, 0.6)
    canvas, _ = drawn_on((side, side), digit_strokes(digit, rng), (side / 2, side / 2), height, height * rng.uniform(0.06, 0.1), rng, kind="white")
    canvas[rng.random(canvas.shape[:2]) < rng.uniform(0.005, 0.03)] = 0
    canvas[rng.random(canvas.shape[:2]) < 0.01] = 1
    return to_image(canvas), str(digit)


def cropped_close(rng):
    """A digit cropped close round its ink in an editor: 0-3 px of paper left on each side, or a
    pixel of the stroke cut off; sometimes scaled down after (a crop 20-60 px tall)."""
    side = int(rng.choice([200, 400]))
    digit = int(rng.integers(10))
    height = side * rng.uniform(0.5, 0.7)
    pen = height * rng.uniform(0.05, 0.2)
    canvas, _ = drawn_on((side, side), digit_strokes(digit, rng), (side / 2, side / 2), height, pen, rng,
                         kind=rng.choice(["white", "tinted", "photo"], p=[0.5, 0.2, 0.3]), antialias=rng.random() < 0.5)
    picture = to_image(canvas).filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.015) * height))  # a photo's or a scan's softness
    levels = np.asarray(picture.convert("L"), np.float32)
    ys, xs = np.nonzero(np.abs(levels - np.median(levels)) > rng.uniform(0.2, 0.5) * np.ptp(levels))  # where the editor's eye puts the edge
    margins = rng.integers(-1, 4, 4)
    box = (max(xs.min() - margins[0], 0), max(ys.min() - margins[1], 0), min(xs.max() + 1 + margins[2], side), min(ys.max() + 1 + margins[3], side))
    picture = picture.crop(tuple(int(v) for v in box))
    if rng.random() < 0.3:
        scale = rng.uniform(20, 60) / picture.height
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))), Image.Resampling.LANCZOS)
    return jpeg(picture, rng, 0.3), str(digit)


def on_phone_photo(strokes, height, rng):
    """Strokes `height` px tall on a phone photo of a page: 3000x2250 or 4000x3000, anywhere but
    the outer tenth, a pen 3-10 % of their height (at least 1 px), softened by the lens, sensor
    noise after it, a lighting gradient, often a JPEG."""
    width = int(rng.choice([3000, 4000]))
    size = (width, width * 3 // 4)
    centre = (rng.uniform(0.1, 0.9) * size[0], rng.uniform(0.1, 0.9) * size[1])
    canvas, _ = drawn_on(size, strokes, centre, height, max(1.0, height * rng.uniform(0.03, 0.1)), rng, kind="photo")
    soft = np.asarray(to_image(canvas).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0))), np.float32) / 255  # the lens and the focus
    soft += rng.normal(0, rng.uniform(0.005, 0.02), soft.shape[:2]).astype(np.float32)[..., None]  # the sensor, after the lens
    return jpeg(to_image(soft), rng, 0.6)


def small_on_photo(rng):
    """A small digit on a phone photo of a page: 25-80 px tall, 1-3 % of the photo's height."""
    digit = int(rng.integers(10))
    return on_phone_photo(digit_strokes(digit, rng), rng.uniform(25, 80), rng), str(digit)


def number_on_photo(rng):
    """A number of 2-4 digits written small on a phone photo of a page (40-100 px tall), read
    with --multi."""
    text = random_number(rng, (2, 5))
    return on_phone_photo(number_strokes(text, rng, rng.uniform(0.85, 1.05)), rng.uniform(40, 100), rng), text


def digit_on(canvas, digit, centre, height, pen, rng, ink=None):
    """`canvas` (float RGB) with `digit` written on it; `ink` an RGB colour in [0, 1] (a pen's)."""
    mask = Image.new("L", (canvas.shape[1], canvas.shape[0]), 0)
    draw_strokes(mask, digit_strokes(digit, rng), centre, height, pen, 255)
    coverage = np.asarray(mask, np.float32)[..., None] / 255
    ink = np.array(ink_colour(rng, "white"), np.float32) / 255 if ink is None else np.asarray(ink, np.float32)
    return canvas * (1 - coverage) + ink * coverage


def photographed(image, rng, noise=(0.005, 0.015)):
    """A photo's softness and sensor noise, often a JPEG."""
    soft = np.asarray(image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2))), np.float32) / 255
    soft += rng.normal(0, rng.uniform(*noise), soft.shape[:2]).astype(np.float32)[..., None]
    return jpeg(to_image(soft), rng, 0.6)


def notebook_page(rng):
    """A digit on a notebook page: pale blue rules and a red margin line, which in the channel where
    the ink shows is much stronger than the rules; the digit right of the margin, at least half its
    height away."""
    side = int(rng.choice([640, 1000, 1600]))
    size = (side, int(side * rng.uniform(0.75, 1.3)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.2, 0.4) * min(size)
    canvas, _ = paper(size, rng, kind=rng.choice(["white", "photo"]))
    rules, margin = Image.new("L", size, 0), Image.new("L", size, 0)
    spacing, width = height * rng.uniform(0.3, 0.5), max(1, round(min(size) * rng.uniform(0.002, 0.004)))
    for y in np.arange(rng.uniform(0, spacing), size[1], spacing):
        ImageDraw.Draw(rules).line([(0, y), (size[0], y)], fill=255, width=width)
    margin_x = rng.uniform(0.06, 0.15) * size[0]
    ImageDraw.Draw(margin).line([(margin_x, 0), (margin_x, size[1])], fill=255, width=width + int(rng.integers(1, 3)))
    for lines, colour in ((rules, [0.6, 0.75, 0.95]), (margin, [0.9, 0.3, 0.3])):
        strength = np.asarray(lines, np.float32)[..., None] / 255
        canvas = canvas * (1 - strength) + np.array(colour, np.float32) * canvas * strength
    centre = (rng.uniform(margin_x + 0.9 * height, size[0] - 0.6 * height), rng.uniform(0.6 * height, size[1] - 0.6 * height))
    canvas = digit_on(canvas, digit, centre, height, max(2, height * rng.uniform(0.04, 0.1)), rng)
    return photographed(to_image(canvas), rng), str(digit)


WORKSHEET_LINES = ["Name: ______________   Date: __________", "Exercise 4: How many apples are left?",
                   "Write your answer in the space below.", "Page 2 of 6", "Maths - Year 3 - Unit 7",
                   "Score: ____ / 10", "Do not write in the margin", "Question 12"]


def worksheet(rng):
    """A digit written on a printed worksheet or form: lines of print above and below it (a title,
    a name and date line, an instruction, a page number), scanned or photographed."""
    width = int(rng.choice([600, 900, 1200]))
    size = (width, int(width * rng.uniform(1.1, 1.4)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.15, 0.3) * width
    canvas, _ = paper(size, rng, kind=rng.choice(["white", "photo"]))
    centre = (rng.uniform(0.3, 0.7) * width, size[1] * rng.uniform(0.45, 0.55))
    image = to_image(digit_on(canvas, digit, centre, height, max(2, height * rng.uniform(0.04, 0.1)), rng))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(height * rng.uniform(0.1, 0.2)))
    above, below = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    step = font.size * 1.8
    for index, line in enumerate(rng.choice(WORKSHEET_LINES, above + below, replace=False)):
        y = size[1] * 0.04 + index * step if index < above else size[1] * 0.96 - (index - above + 1) * step
        draw.text((width * rng.uniform(0.04, 0.15), y), str(line), font=font, fill=(30, 30, 30))
    return photographed(image, rng) if rng.random() < 0.5 else image, str(digit)


def held_page(rng):
    """A photo of a page held in a hand: a thumb comes in from an edge, a solid shape an eighth to
    a quarter of the picture wide, apart from the digit."""
    side = int(rng.choice([640, 1000, 1600]))
    size = (side, int(side * rng.uniform(0.75, 1.3)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.2, 0.4) * min(size)
    centre = (rng.uniform(0.3, 0.7) * size[0], rng.uniform(0.3, 0.7) * size[1])
    canvas, _ = paper(size, rng, kind="photo")
    canvas = digit_on(canvas, digit, centre, height, max(2, height * rng.uniform(0.04, 0.1)), rng)
    digit_box = (centre[0] - 0.45 * height, centre[1] - 0.55 * height, centre[0] + 0.45 * height, centre[1] + 0.55 * height)
    across, into = rng.uniform(0.12, 0.25) * side, rng.uniform(0.1, 0.25) * min(size)
    edge, along = int(rng.integers(4)), rng.uniform(0.15, 0.85)
    for edge in (edge, edge ^ 1):  # the opposite edge when the thumb would touch the digit
        if edge < 2:  # top or bottom
            x, y = along * size[0], (0 if edge == 0 else size[1])
            box = [x - across / 2, y - into, x + across / 2, y + into]
        else:
            x, y = (0 if edge == 2 else size[0]), along * size[1]
            box = [x - into, y - across / 2, x + into, y + across / 2]
        if box[2] < digit_box[0] or box[0] > digit_box[2] or box[3] < digit_box[1] or box[1] > digit_box[3]:
            break
    thumb = Image.new("L", size, 0)
    ImageDraw.Draw(thumb).ellipse(box, fill=255)
    thumb = np.asarray(thumb.filter(ImageFilter.GaussianBlur(side * 0.004)), np.float32)[..., None] / 255
    skin = np.array([rng.uniform(0.55, 0.9), rng.uniform(0.4, 0.65), rng.uniform(0.3, 0.55)], np.float32) * rng.uniform(0.6, 1.0)
    canvas = canvas * (1 - thumb) + skin * thumb
    return photographed(to_image(canvas), rng), str(digit)


def dim_photo(rng):
    """A photo taken in dim light: the paper at 30-90 levels, the ink a little darker, sensor noise
    of 3-8 levels (a phone keeps the noise when it lifts the shadows less)."""
    side = int(rng.choice([640, 1000, 1600]))
    size = (side, int(side * rng.uniform(0.75, 1.0)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.3, 0.6) * min(size)
    canvas, _ = drawn_on(size, digit_strokes(digit, rng), (size[0] / 2, size[1] / 2), height, height * rng.uniform(0.04, 0.1), rng, kind="photo")
    dim = to_image(canvas * rng.uniform(0.13, 0.35))
    return photographed(dim, rng, noise=(0.012, 0.03)), str(digit)


def pencil_on_grain(rng):
    """Pencil on grainy paper: grey strokes 35-90 levels darker than the paper, under the paper's
    grain (noise blurred over 1-2 px, 3-9 levels) and a photo's noise."""
    from scipy.ndimage import gaussian_filter

    side = int(rng.choice([400, 640, 1000]))
    size = (side, int(side * rng.uniform(0.75, 1.0)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.35, 0.6) * min(size)
    paper_level = rng.uniform(0.8, 0.95)
    canvas = np.full((size[1], size[0], 3), paper_level, np.float32)
    canvas = digit_on(canvas, digit, (size[0] / 2, size[1] / 2), height, max(2, height * rng.uniform(0.03, 0.07)), rng,
                      ink=np.full(3, paper_level - rng.uniform(35, 90) / 255, np.float32))
    grain = gaussian_filter(rng.normal(0, 1, canvas.shape[:2]), rng.uniform(1, 2))
    canvas += (grain / grain.std() * rng.uniform(3, 9) / 255).astype(np.float32)[..., None]
    return photographed(to_image(canvas), rng), str(digit)


PEN_BODIES = [(0.08, 0.08, 0.1), (0.1, 0.15, 0.5), (0.7, 0.12, 0.12), (0.45, 0.46, 0.5), (0.9, 0.75, 0.15), (0.1, 0.4, 0.2)]


def pen_beside(rng):
    """A photo of a digit with the pen (or pencil) that wrote it lying beside it on the paper: a
    solid bar a fifth to two fifths of the digit's height wide and 8-20 times as long, at any
    angle, often running out of the picture, its body black, blue, red, metal, yellow or green
    with a light reflection along it and a darker tip; apart from the digit."""
    side = int(rng.choice([640, 1000, 1600]))
    size = (side, int(side * rng.uniform(0.75, 1.3)))
    digit = int(rng.integers(10))
    height = rng.uniform(0.2, 0.35) * min(size)
    centre = (rng.uniform(0.3, 0.7) * size[0], rng.uniform(0.3, 0.7) * size[1])
    canvas, _ = paper(size, rng, kind=rng.choice(["white", "photo"]))
    canvas = digit_on(canvas, digit, centre, height, max(2, height * rng.uniform(0.04, 0.1)), rng)
    clear = (centre[0] - 0.65 * height, centre[1] - 0.75 * height, centre[0] + 0.65 * height, centre[1] + 0.75 * height)
    for _ in range(50):
        width = rng.uniform(0.2, 0.4) * height
        length = width * rng.uniform(8, 20)  # a pen is 15-20 times as long as wide, a pencil 25
        angle = rng.uniform(-0.6, 0.6) + (math.pi / 2 if rng.random() < 0.3 else 0)  # upright, or lying below or above
        along = np.array([math.sin(angle), math.cos(angle)])
        across = np.array([along[1], -along[0]]) * rng.choice([-1, 1])
        middle = np.array(centre) + across * (rng.uniform(0.9, 1.6) * height + width / 2) + along * rng.uniform(-1, 1) * length / 3
        ends = [tuple(middle - along * length / 2), tuple(middle + along * length / 2)]
        body = Image.new("L", size, 0)
        ImageDraw.Draw(body).line(ends, fill=255, width=int(width))
        mask = np.asarray(body) > 0
        if not mask[int(clear[1]) : int(clear[3]), int(max(0, clear[0])) : int(clear[2])].any() and mask.any():
            break
    colour = np.array(PEN_BODIES[int(rng.integers(len(PEN_BODIES)))], np.float32) * rng.uniform(0.8, 1.1)
    shine = Image.new("L", size, 0)
    offset = across * width * rng.uniform(-0.25, 0.25)
    ImageDraw.Draw(shine).line([tuple(np.array(end) + offset) for end in ends], fill=255, width=max(1, int(width * 0.12)))
    tip = Image.new("L", size, 0)
    ImageDraw.Draw(tip).line([ends[1], tuple(np.array(ends[1]) - along * width)], fill=255, width=int(width * 0.6))
    pen = np.asarray(body.filter(ImageFilter.GaussianBlur(1)), np.float32)[..., None] / 255
    shine = np.asarray(shine.filter(ImageFilter.GaussianBlur(max(1, width * 0.04))), np.float32)[..., None] / 255 * rng.uniform(0.3, 0.7)
    colour = colour * (1 - shine) + shine  # the reflection, lighter along the body
    colour = colour * (1 - 0.5 * np.asarray(tip, np.float32)[..., None] / 255)
    canvas = canvas * (1 - pen) + np.clip(colour, 0, 1) * pen
    return photographed(to_image(canvas), rng), str(digit)


CATEGORIES = {
    "thin pen on a large canvas": thin_pen,
    "small digit on a large page": small_on_page,
    "shadow or gradient photo": shadow_photo,
    "digit in a frame": framed,
    "ruled or squared paper": lined_paper,
    "several digits without --multi": several_digits,
    "touching digits (--multi)": touching_digits,
    "not a digit": non_digit,
    # added later: after the first eight, so that their pictures (seeded by position) stay the same
    "sheet of paper on a desk": sheet_on_desk,
    "light fat pen on a dark canvas": light_fat_pen,
    "picture turned, corners filled": turned_picture,
    "circled by hand, the ring open or crossed": circled,
    "screenshot of a drawing app": app_screenshot,
    "speckled scan": speckled_scan,
    "cropped close round the digit": cropped_close,
    "small digit on a big phone photo": small_on_photo,
    "a number on a big phone photo (--multi)": number_on_photo,
    "notebook page, red margin": notebook_page,
    "printed worksheet": worksheet,
    "page held in a hand": held_page,
    "photo in dim light": dim_photo,
    "pencil on grainy paper": pencil_on_grain,
    "pen lying beside the digit": pen_beside,
}


def category_set(name, count, seed=0):
    """`count` (image, expected) pairs of one category, reproducible from `seed`."""
    rng = np.random.default_rng([seed, list(CATEGORIES).index(name)])
    return [CATEGORIES[name](rng) for _ in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write into")
    parser.add_argument("--count", type=int, default=20, help="pictures per category (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args()
    pictures = (
        (f"{'-'.join(name.split()[:2])}-{index:03d}-{expected or 'none'}.png", image)
        for name in CATEGORIES
        for index, (image, expected) in enumerate(category_set(name, args.count, args.seed))
    )
    print(f"wrote {save_pictures(args.out, pictures)} pictures ({args.count} of each of {len(CATEGORIES)} categories) to {args.out}")


if __name__ == "__main__":
    main()
