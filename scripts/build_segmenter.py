"""Build the reader's learned stage: src/digitrec/pretrained/segmenter.onnx and its card.

    python scripts/build_segmenter.py           # make segmenter: makes the pictures, trains, measures

The segmenter maps the working picture (`digitrec.reading.segmenter.working_picture`) to the
probability, per 2x2 working pixels, that it is handwriting. Its training pictures come with their
answers for free: every category of `benchmarks/stress_pictures.py` (paper, shadows, gradients,
ruled and squared lines, margins, frames, circles, print, screens, desks, hands, pens, noise,
blur, JPEG) is drawn twice from the same seed, once as it is and once with the handwriting's
strokes left out (digits, numbers, letters, symbols and scribbles: `Handwriting`); where the two
differ is the ink. Half the single digits are then swapped for an MNIST training digit of the same
class, laid on the picture without handwriting where the drawn digit was, in its ink's colour:
the shapes of many writers, not only our skeletons.

Nothing here uses hwd-1000, real-photos or real-non-digits: they judge the reader.
"""

import argparse
import functools
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import stress_pictures  # noqa: E402

from digitrec.imaging import square_filter  # noqa: E402

PRETRAINED = ROOT / "src" / "digitrec" / "pretrained"
CROP = 128  # working pixels: training windows are this square
INK_WIDTH = 1.5  # input px: a stroke this wide crossing an output pixel makes it all ink (a thinner one, part)
MNIST_SHARE = 0.5  # of the single digits, this share is swapped for an MNIST digit
FAT_SHARE = 0.3  # of those, this share written with a marker
GHOST_SHARE = 0.3  # this share of the pictures with ink get faint strokes that are no ink (erased, shining through)
SLOW = {"shadow or gradient photo": 4, "small digit on a big phone photo": 10, "a number on a big phone photo (--multi)": 10,
        "page held in a hand": 4, "pen lying beside the digit": 4}  # big pictures (1-8 s each): a quarter or a tenth as many
CHUNK = 20  # seeds per job
CROPPED = "cropped close round the digit"  # cut round its ink: without the ink there is no such picture


TRAINING_PICTURES = ("benchmarks/stress_pictures.py's categories (not 'cropped close round the digit'), each drawn with and without its "
                     "handwriting from one seed, the difference the ink; half the single digits swapped for an MNIST training digit; "
                     "faint strokes that are no ink added to 30 %; 128x128 windows of the working pictures. No real pictures.")


class Handwriting(np.ndarray):
    """A stroke that is handwriting: left out of the picture drawn without it."""


LEAVE_OUT = {"handwriting": False}


def marked(make):
    def wrapper(*args, **kwargs):
        return [np.asarray(line, dtype=np.float64).view(Handwriting) for line in make(*args, **kwargs)]
    return wrapper


def draw_unless_left_out(image, strokes, *args, **kwargs):
    if LEAVE_OUT["handwriting"]:
        strokes = [line for line in strokes if not isinstance(line, Handwriting)]
    return DRAW_STROKES(image, strokes, *args, **kwargs)


DRAW_STROKES = stress_pictures.draw_strokes
for _name in ("digit_strokes", "number_strokes", "unit_strokes", "scribble_strokes"):
    setattr(stress_pictures, _name, marked(getattr(stress_pictures, _name)))
stress_pictures.draw_strokes = draw_unless_left_out


def drawn(category: str, seed) -> tuple:
    """(picture, picture without its handwriting, expected): two pictures of one seed."""
    pictures = []
    for leave_out in (False, True):
        LEAVE_OUT["handwriting"] = leave_out
        image, expected = stress_pictures.CATEGORIES[category](np.random.default_rng(seed))
        pictures.append(image.convert("RGB"))
    LEAVE_OUT["handwriting"] = False
    return pictures[0], pictures[1], expected


def ink_of(image: Image.Image, blank: Image.Image) -> np.ndarray:
    """bool (H, W): where the picture differs from its copy without handwriting by at least 35 % of
    how much the ink typically does (JPEG's ringing round the strokes differs by less)."""
    difference = np.abs(np.asarray(image, np.int16) - np.asarray(blank, np.int16)).max(axis=2)
    changed = difference[difference > 5]
    if changed.size == 0:
        return np.zeros(difference.shape, bool)
    return difference >= 0.35 * np.percentile(changed, 90)


def with_mnist_digit(blank: Image.Image, image: Image.Image, ink: np.ndarray, glyph: np.ndarray, rng) -> tuple:
    """(picture, ink): `glyph` (28x28 MNIST, white on black) laid on `blank` where `ink` was, as
    tall, in the colour the drawn ink has in `image`, its strokes thinned or thickened at random."""
    ys, xs = np.nonzero(ink)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rows, columns = np.nonzero(glyph > 30)
    cut = glyph[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]
    height = bottom - top
    width = max(1, round(cut.shape[1] * height / cut.shape[0]))
    levels = np.asarray(Image.fromarray(cut).resize((width, height), Image.Resampling.BICUBIC), np.float32) / 255
    level = rng.uniform(0.25, 0.6)  # where the soft glyph is cut: low is a fat pen, high a thin one
    alpha = np.clip((levels - level) / 0.15 + 0.5, 0, 1)
    if rng.random() < FAT_SHARE:  # a marker: strokes a fifth to a quarter of the digit's height
        size = 2 * max(1, round(height * rng.uniform(0.03, 0.07))) + 1
        alpha = square_filter(alpha, size, dilate=True)
    colour = np.median(np.asarray(image, np.float32)[ink], axis=0) / 255
    picture = np.asarray(blank, np.float32) / 255
    centre = (left + right) // 2
    x0 = int(np.clip(centre - width // 2, 0, picture.shape[1] - width)) if width <= picture.shape[1] else 0
    alpha = alpha[:, : picture.shape[1] - x0]
    region = picture[top: bottom, x0: x0 + alpha.shape[1]]
    region[:] = region * (1 - alpha[..., None]) + colour * alpha[..., None]
    soft = Image.fromarray((np.clip(picture, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8)))
    mask = np.zeros(ink.shape, bool)
    mask[top: bottom, x0: x0 + alpha.shape[1]] = alpha >= 0.5
    return soft, mask


def block_means(array: np.ndarray, block: int) -> np.ndarray:
    """Means of `block` x `block` squares, the last ones cut short by the edges counted as zeros."""
    height, width = -(-array.shape[0] // block), -(-array.shape[1] // block)
    full = np.zeros((height * block, width * block), np.float32)
    full[: array.shape[0], : array.shape[1]] = array
    return full.reshape(height, block, width, block).mean(axis=(1, 3))


def with_ghosts(image: Image.Image, blank: Image.Image, ink: np.ndarray, rng) -> tuple:
    """`image` and `blank` with one to three faint strokes in both (8-30 % as dark as the ink: an
    earlier drawing half erased, writing shining through the page): background, not ink."""
    ys, xs = np.nonzero(ink)
    height = max(ys.max() - ys.min(), xs.max() - xs.min(), 8)
    colour = np.median(np.asarray(image, np.float32)[ink], axis=0) / 255
    marks = Image.new("L", image.size, 0)
    for _ in range(int(rng.integers(1, 4))):
        strokes = stress_pictures.digit_strokes(int(rng.integers(10)), rng) if rng.random() < 0.5 else stress_pictures.scribble_strokes(rng)
        centre = (rng.uniform(0, image.width), rng.uniform(0, image.height))
        DRAW_STROKES(marks, strokes, centre, height * rng.uniform(0.5, 1.2), max(1.0, height * rng.uniform(0.03, 0.12)), 255)
    strength = np.asarray(marks.filter(ImageFilter.GaussianBlur(rng.uniform(0, 2))), np.float32)[..., None] / 255 * rng.uniform(0.08, 0.3)
    return tuple(Image.fromarray((np.clip(np.asarray(picture, np.float32) / 255 * (1 - strength) + colour * strength, 0, 1) * 255).astype(np.uint8))
                 for picture in (image, blank))


def target_of(ink: np.ndarray, factor) -> np.ndarray:
    """Per output pixel, how much of it is ink, as the width of a stroke crossing it would make it
    (the share of it inked times its side in input pixels, at least 2), / INK_WIDTH, at most 1: a
    thin pen's line is ink on a big picture's working copy too, where it is fainter than its block.
    `factor` is the working picture's (less than 1 when a small picture was enlarged)."""
    from digitrec.reading.segmenter import OUTPUT_SCALE

    if factor >= 1:
        working = block_means(ink, int(factor))
    else:
        enlarge = round(1 / factor)
        working = np.repeat(np.repeat(ink.astype(np.float32), enlarge, axis=0), enlarge, axis=1)
    share = block_means(working, OUTPUT_SCALE)
    return np.minimum(share * max(factor * OUTPUT_SCALE, 2) / INK_WIDTH, 1.0)


def windows(picture: np.ndarray, target: np.ndarray, rng, count: int) -> list:
    """`count` CROP x CROP windows of a working picture and their targets, the first round the ink
    (when there is some), the others anywhere; the picture's edges repeated where it is smaller."""
    from digitrec.reading.segmenter import OUTPUT_SCALE

    half = CROP // OUTPUT_SCALE
    height, width = picture.shape[:2]
    pad = ((0, max(0, CROP - height)), (0, max(0, CROP - width)))
    picture = np.pad(picture, pad + ((0, 0),), mode="edge")
    target = np.pad(target, tuple((0, -(-extra // OUTPUT_SCALE)) for _, extra in pad), mode="edge")
    height, width = picture.shape[:2]
    found = []
    inked = np.argwhere(target > 0.5)
    for index in range(count):
        if index == 0 and len(inked):
            cy, cx = inked.mean(axis=0) * OUTPUT_SCALE
            top = int(np.clip(cy - CROP / 2 + rng.integers(-16, 17), 0, height - CROP))
            left = int(np.clip(cx - CROP / 2 + rng.integers(-16, 17), 0, width - CROP))
        else:
            top, left = int(rng.integers(0, height - CROP + 1)), int(rng.integers(0, width - CROP + 1))
        top, left = top - top % OUTPUT_SCALE, left - left % OUTPUT_SCALE
        window = picture[top: top + CROP, left: left + CROP]
        answer = target[top // OUTPUT_SCALE: top // OUTPUT_SCALE + half, left // OUTPUT_SCALE: left // OUTPUT_SCALE + half]
        found.append((window, answer))
    return found


@functools.lru_cache(maxsize=1)
def mnist_train():
    from digitrec.data import load_mnist

    return load_mnist()[0]


def make_pictures(job) -> tuple:
    """(windows as uint8 (N, CROP, CROP, 3), targets as uint8 (N, CROP/2, CROP/2) in 0-255) for
    one category and a range of seeds."""
    from digitrec.reading.segmenter import working_picture

    category, seeds, per_picture = job
    x_train, y_train = mnist_train()
    pictures, targets = [], []
    for seed in seeds:
        rng = np.random.default_rng([seed, 7])
        image, blank, expected = drawn(category, [seed, list(stress_pictures.CATEGORIES).index(category)])
        ink = ink_of(image, blank)
        if expected is not None and len(expected) == 1 and ink.any() and rng.random() < MNIST_SHARE:
            glyph = x_train[rng.choice(np.flatnonzero(y_train == int(expected)))]
            image, ink = with_mnist_digit(blank, image, ink, glyph, rng)
        if ink.any() and rng.random() < GHOST_SHARE:
            image, blank = with_ghosts(image, blank, ink, rng)
        picture, factor = working_picture(image)
        target = target_of(ink, factor)
        for window, answer in windows(picture, target, rng, per_picture):
            pictures.append(np.round(window * 255).astype(np.uint8))
            targets.append(np.round(answer * 255).astype(np.uint8))
    return np.array(pictures), np.array(targets)


def make_sets(first: int, count: int, per_picture: int, processes: int) -> tuple:
    """Windows of `count` pictures per category (fewer of the SLOW ones), seeds from `first`."""
    jobs = []
    for category in stress_pictures.CATEGORIES:
        if category == CROPPED:
            continue
        seeds = range(first, first + max(1, count // SLOW.get(category, 1)))
        jobs += [(category, seeds[start: start + CHUNK], per_picture) for start in range(0, len(seeds), CHUNK)]
    jobs.sort(key=lambda job: job[0] not in SLOW)  # the slow ones first, so that the processes end together
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        made = [m for m in pool.map(make_pictures, jobs, chunksize=1) if len(m[0])]
    return np.concatenate([m[0] for m in made]), np.concatenate([m[1] for m in made])


def segmenter_model():
    """A small U-Net: a stride-2 convolution, then 16, 32, 48 and 64 channels at 1/2, 1/4, 1/8
    and 1/16 of the working picture, back up by nearest upsampling with the skip connections to
    1/2, one sigmoid per output pixel. 224k parameters."""
    import keras
    from keras import layers

    def convs(tensor, channels, count=2):
        for _ in range(count):
            tensor = layers.Conv2D(channels, 3, padding="same", activation="relu")(tensor)
        return tensor

    picture = keras.Input(shape=(None, None, 3))
    half = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(picture)
    half = convs(half, 16, 1)
    quarter = convs(layers.MaxPooling2D()(half), 32)
    eighth = convs(layers.MaxPooling2D()(quarter), 48)
    bottom = convs(layers.MaxPooling2D()(eighth), 64)
    up = convs(layers.Concatenate()([layers.UpSampling2D()(bottom), eighth]), 48)
    up = convs(layers.Concatenate()([layers.UpSampling2D()(up), quarter]), 32)
    up = convs(layers.Concatenate()([layers.UpSampling2D()(up), half]), 16, 1)
    ink = layers.Conv2D(1, 1, activation="sigmoid")(up)
    return keras.Model(picture, ink, name="ink_segmenter")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pictures-per-category", type=int, default=250, help="training pictures drawn per category (default: 250)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default: 10)")
    parser.add_argument("--processes", type=int, default=2, help="processes making pictures (default: 2)")
    parser.add_argument("--out", type=Path, default=PRETRAINED, help="where segmenter.onnx and its card go (default: the package's pretrained/)")
    parser.add_argument("--pictures", type=Path, help="an .npz that keeps the made pictures: read when it exists, else written")
    args = parser.parse_args()
    started = time.perf_counter()
    from digitrec import files
    from digitrec.export import graph_to_onnx

    if args.pictures and args.pictures.is_file():
        with np.load(args.pictures) as saved:
            x_train, y_train, x_held, y_held = (saved[k] for k in ("x_train", "y_train", "x_held", "y_held"))
    else:
        x_train, y_train = make_sets(0, args.pictures_per_category, 3, args.processes)
        x_held, y_held = make_sets(10_000, 12, 1, args.processes)
        if args.pictures:
            np.savez(args.pictures, x_train=x_train, y_train=y_train, x_held=x_held, y_held=y_held)
    made_seconds = time.perf_counter() - started
    print(f"{len(x_train)} training windows, {len(x_held)} held out, made in {made_seconds:.0f} s", flush=True)
    import keras

    keras.utils.set_random_seed(0)
    model = segmenter_model()
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss="binary_crossentropy")
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, rate: 0.002 * 0.5 ** (epoch // max(1, args.epochs // 3)))
    model.fit(x_train.astype(np.float32) / 255, y_train[..., None].astype(np.float32) / 255, batch_size=32,
              epochs=args.epochs, callbacks=[schedule], verbose=2)
    predicted = model.predict(x_held.astype(np.float32) / 255, batch_size=64, verbose=0)[..., 0] > 0.5
    truth = y_held > 127
    overlap = np.logical_and(predicted, truth).sum()
    measured = {"held-out windows": int(len(x_held)), "ink found (recall)": float(overlap / max(1, truth.sum())),
                "found that is ink (precision)": float(overlap / max(1, predicted.sum()))}
    files.write_bytes(args.out / "segmenter.onnx", graph_to_onnx(model).SerializeToString())
    card = {
        "name": "ink_segmenter",
        "what": "per 2x2 pixels of the working picture (reading.segmenter.working_picture), the probability that it is handwriting",
        "parameters": int(model.count_params()),
        "trained_with": "python scripts/build_segmenter.py",
        "training_windows": int(len(x_train)),
        "training_pictures": TRAINING_PICTURES,
        "held_out": {key: round(value, 4) if isinstance(value, float) else value for key, value in measured.items()},
        "seconds": round(time.perf_counter() - started, 1),
        "seconds_making_pictures": round(made_seconds, 1),
        "measured": time.strftime("%Y-%m-%d"),
    }
    files.write_text(args.out / "segmenter_card.json", json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
