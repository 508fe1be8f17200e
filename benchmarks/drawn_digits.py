"""Drawn digits that are not MNIST: a reproducible test set for real-input recognition.

Each digit has a few hand-written styles as stroke skeletons (a 1 with or without a flag, a 7
with or without a bar, an open or closed 4, ...). Every sample jitters the control points, shears,
rotates and squeezes the skeleton, then draws it with Pillow on a canvas of random size (48 to
1000 px) with a random pen (thin line to fat marker), position, ink colour and background:
white or tinted paper, a dark board with light chalk, a transparent canvas, uneven lighting with
noise like a photo, sometimes JPEG-compressed. Nothing here comes from MNIST.

    python benchmarks/drawn_digits.py --out /tmp/drawn --count 1000   # write the set as files
"""

import argparse
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# (points, smooth): points in a unit box, x right, y down; smooth strokes are Catmull-Rom splines
STYLES = {
    0: [[([(0.5, 0.0), (0.85, 0.2), (0.9, 0.55), (0.7, 0.95), (0.4, 1.0), (0.12, 0.75), (0.1, 0.35), (0.3, 0.05), (0.5, 0.0)], True)],
        [([(0.55, 0.02), (0.2, 0.15), (0.1, 0.6), (0.35, 1.0), (0.75, 0.9), (0.9, 0.45), (0.75, 0.08), (0.45, 0.05)], True)]],
    1: [[([(0.5, 0.0), (0.5, 1.0)], False)],
        [([(0.25, 0.25), (0.55, 0.0), (0.55, 1.0)], False)],
        [([(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)], False), ([(0.3, 1.0), (0.8, 1.0)], False)]],
    2: [[([(0.12, 0.25), (0.35, 0.02), (0.7, 0.05), (0.85, 0.3), (0.6, 0.6), (0.1, 1.0)], True), ([(0.1, 1.0), (0.92, 0.98)], False)],
        [([(0.15, 0.3), (0.45, 0.0), (0.85, 0.2), (0.7, 0.55), (0.15, 0.95), (0.5, 0.85), (0.9, 1.0)], True)]],
    3: [[([(0.12, 0.12), (0.5, 0.0), (0.85, 0.18), (0.75, 0.42), (0.4, 0.5), (0.8, 0.6), (0.88, 0.85), (0.5, 1.0), (0.1, 0.88)], True)],
        [([(0.15, 0.02), (0.85, 0.02), (0.45, 0.42)], False), ([(0.45, 0.42), (0.85, 0.6), (0.8, 0.9), (0.45, 1.0), (0.12, 0.85)], True)]],
    4: [[([(0.7, 0.0), (0.08, 0.68), (0.95, 0.68)], False), ([(0.7, 0.0), (0.7, 1.0)], False)],
        [([(0.2, 0.0), (0.12, 0.6), (0.9, 0.6)], False), ([(0.72, 0.1), (0.72, 1.0)], False)]],
    5: [[([(0.85, 0.02), (0.25, 0.02), (0.18, 0.45)], False), ([(0.18, 0.45), (0.55, 0.36), (0.88, 0.58), (0.82, 0.88), (0.45, 1.0), (0.1, 0.88)], True)],
        [([(0.22, 0.0), (0.15, 0.45), (0.55, 0.38), (0.88, 0.6), (0.8, 0.9), (0.45, 1.0), (0.12, 0.85)], True), ([(0.22, 0.02), (0.85, 0.0)], False)]],
    6: [[([(0.75, 0.0), (0.4, 0.2), (0.15, 0.62), (0.25, 0.93), (0.55, 1.0), (0.85, 0.8), (0.75, 0.55), (0.45, 0.5), (0.18, 0.68)], True)],
        [([(0.7, 0.02), (0.3, 0.35), (0.15, 0.75), (0.45, 1.0), (0.8, 0.82), (0.6, 0.55), (0.2, 0.7)], True)]],
    7: [[([(0.1, 0.02), (0.9, 0.0), (0.4, 1.0)], False)],
        [([(0.1, 0.02), (0.9, 0.0), (0.45, 1.0)], False), ([(0.3, 0.5), (0.78, 0.5)], False)],
        [([(0.08, 0.15), (0.15, 0.02), (0.9, 0.02), (0.55, 0.5), (0.4, 1.0)], True)]],
    8: [[([(0.5, 0.48), (0.18, 0.28), (0.5, 0.0), (0.82, 0.25), (0.5, 0.48), (0.15, 0.75), (0.5, 1.0), (0.85, 0.75), (0.5, 0.48)], True)],
        [([(0.8, 0.1), (0.5, 0.0), (0.2, 0.2), (0.5, 0.48), (0.85, 0.75), (0.5, 1.0), (0.15, 0.78), (0.5, 0.48), (0.82, 0.22)], True)]],
    9: [[([(0.82, 0.3), (0.5, 0.5), (0.18, 0.32), (0.3, 0.05), (0.6, 0.0), (0.85, 0.2), (0.82, 0.55), (0.65, 1.0)], True)],
        [([(0.8, 0.15), (0.5, 0.0), (0.2, 0.2), (0.3, 0.45), (0.78, 0.35), (0.8, 0.1)], True), ([(0.8, 0.1), (0.78, 1.0)], False)]],
}


def catmull_rom(points, samples=12):
    """A smooth curve through `points` (Catmull-Rom, ends repeated)."""
    points = np.asarray(points, dtype=np.float64)
    padded = np.vstack([points[:1], points, points[-1:]])
    curve = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        for t in np.linspace(0, 1, samples, endpoint=False):
            curve.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    curve.append(points[-1])
    return np.asarray(curve)


def digit_strokes(digit, rng):
    """The skeleton of one random style of `digit`, jittered and distorted, in a unit-height box."""
    style = STYLES[digit][rng.integers(len(STYLES[digit]))]
    aspect = rng.uniform(0.5, 0.8)  # width / height
    angle = math.radians(rng.uniform(-12, 12))
    shear = rng.uniform(-0.25, 0.15)
    transform = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ np.array([[1, shear], [0, 1]])
    strokes = []
    for points, smooth in style:
        points = np.asarray(points) + rng.normal(0, 0.025, (len(points), 2))
        line = catmull_rom(points) if smooth else points
        line = (line - 0.5) * np.array([aspect, 1.0])
        strokes.append(line @ transform.T)
    return strokes


def paper_colour(kind, rng, lightest_tint=0.75):
    """An RGB colour in [0, 1] for paper of `kind`: a dark board, tinted paper, or white."""
    if kind == "dark":
        return rng.uniform(0.05, 0.3, 3)
    if kind == "tinted":
        return rng.uniform(lightest_tint, 1.0, 3)
    return np.ones(3) * rng.uniform(0.9, 1.0)


def background(size, rng, kind):
    width, height = size
    canvas = np.ones((height, width, 3)) * paper_colour(kind, rng)
    if kind in ("photo", "tinted"):
        # uneven lighting: a linear gradient plus a soft shadow, then sensor noise
        ys, xs = np.mgrid[0:height, 0:width] / max(width, height)
        gradient = 1 - rng.uniform(0.2, 0.45) * (xs * rng.uniform(-1, 1) + ys * rng.uniform(-1, 1) + 1) / 2
        centre = rng.uniform(0, 1, 2)
        shadow = 1 - rng.uniform(0.0, 0.25) * np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / 0.08)
        canvas = canvas * (gradient * shadow)[..., None]
        canvas += rng.normal(0, 0.02, canvas.shape)
    return np.clip(canvas, 0, 1)


def render_digit(digit, rng, canvas_size=None, strokes=None, box=None):
    """One drawn digit as a PIL image (RGB, or RGBA on a transparent canvas)."""
    kind = rng.choice(["white", "tinted", "photo", "dark", "transparent"], p=[0.3, 0.2, 0.25, 0.15, 0.1])
    if canvas_size is None:
        side = int(rng.choice([48, 96, 200, 280, 400, 640, 1000]))
        canvas_size = (side, int(side * rng.uniform(0.75, 1.25)))
    width, height = canvas_size
    if box is None:
        digit_height = rng.uniform(0.3, 0.85) * min(width, height)
        centre = (rng.uniform(0.35, 0.65) * width, rng.uniform(0.35, 0.65) * height)
    else:
        digit_height, centre = box
    pen = max(1, int(round(digit_height * rng.choice([rng.uniform(0.02, 0.05), rng.uniform(0.05, 0.12), rng.uniform(0.12, 0.2)]))))
    if kind == "dark":
        ink = tuple(int(v) for v in rng.uniform(200, 255, 3))
    else:
        ink = tuple(int(v) for v in (rng.uniform(0, 80, 3) if rng.random() < 0.6 else rng.uniform(0, 255, 3) * [1, 0.4, 0.4][rng.integers(3)]))
    strokes = strokes if strokes is not None else digit_strokes(digit, rng)
    if kind == "transparent":
        image = Image.new("RGBA", canvas_size, (0, 0, 0, 0))
        ink = ink + (255,)
    else:
        image = Image.fromarray((background(canvas_size, rng, kind) * 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for line in strokes:
        xy = [(centre[0] + x * digit_height, centre[1] + y * digit_height) for x, y in line]
        draw.line(xy, fill=ink, width=pen, joint="curve")
        radius = pen / 2
        for x, y in (xy[0], xy[-1]):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=ink)
    if kind == "photo" and rng.random() < 0.7:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    return image


def maybe_jpeg(image, rng):
    if image.mode == "RGB" and rng.random() < 0.3:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=int(rng.integers(60, 95)))
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return image


def drawn_set(count, seed=2026):
    """`count` (image, digit) pairs, digits balanced, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    return [(maybe_jpeg(render_digit(i % 10, rng), rng), i % 10) for i in range(count)]


def render_number(text, rng):
    """A number written on one line, each digit its own skeleton, on one canvas."""
    digit_height = rng.uniform(60, 140)
    spacing = digit_height * rng.uniform(0.75, 1.0)
    width = int(spacing * len(text) + digit_height)
    height = int(digit_height * 1.8)
    strokes = number_strokes(text, rng, spacing / digit_height)
    return render_digit(0, rng, canvas_size=(width, height), strokes=strokes, box=(digit_height, (width / 2, height / 2)))


def number_strokes(text, rng, spacing):
    """Strokes of a number written on one line, unit digit height, `spacing` digit heights apart."""
    strokes = []
    for position, character in enumerate(text):
        offset = np.array([(position - (len(text) - 1) / 2) * spacing, rng.normal(0, 0.04)])
        strokes.extend(line + offset for line in digit_strokes(int(character), rng))
    return strokes


def save_pictures(out, named_pictures):
    """Write (file name, PIL image) pairs into the folder `out` (made if missing); returns how many."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, image in named_pictures:
        image.save(out / name)
        count += 1
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write into")
    parser.add_argument("--count", type=int, default=1000, help="how many digits (default: 1000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default: 2026)")
    args = parser.parse_args()
    pictures = ((f"{digit}_{index:04d}.png", image) for index, (image, digit) in enumerate(drawn_set(args.count, args.seed)))
    print(f"wrote {save_pictures(args.out, pictures)} drawn digits to {args.out}")


if __name__ == "__main__":
    main()
