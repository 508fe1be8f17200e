"""Turn any picture of handwriting into what an MNIST model expects.

MNIST digits are white on black, size-normalised into a 20x20 box (aspect kept, anti-aliased)
and centred by centre of mass in 28x28, with strokes about 2.8 px wide (median, measured on the
training set). A drawing or photo is none of that. The steps, each a function below:

1. `open_image`: any format Pillow reads, EXIF rotation applied, the first frame of an animation;
   hostile files (decompression bombs, truncated data, zero size) refused with a one-line reason.
2. `ink_map`: grey levels with ink bright and paper 0: transparency handled, polarity decided from
   the border, uneven lighting removed by subtracting a blockwise background estimate (an adaptive
   threshold), contrast normalised, paper grain cut.
3. `find_digits`: connected components of the ink, specks dropped, pieces of one digit merged
   (components that overlap horizontally), touching digits split at the thinnest column, left to
   right.
4. `normalise_digit`: crop, bring the stroke width to MNIST's at 4x resolution (dilate a thin pen
   line, erode a fat marker), fit into 20x20, centre by centre of mass in 28x28.

Only NumPy and Pillow: this module is on the light inference path.
"""

import dataclasses
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import DigitrecError

WORKING_SIZE = 512  # longest side while cleaning: enough detail, bounded cost
LABEL_SIZE = 128  # longest side of the mask that connected components are found on
BOX_SIZE = 20  # MNIST's size-normalisation box
DETAIL_SCALE = 4  # stroke width is normalised with the digit at 4x the 20x20 box
MNIST_STROKE_WIDTH = 2.8  # px in 28x28: median of 2*area/boundary over MNIST train, threshold 0.5
MIN_CONTRAST = 0.12  # ink must differ from paper by this much (of the full 0-1 range)
MIN_INK_FRACTION = 0.0004  # below this share of the picture being ink: no digit
SPECK_FRACTION = 0.03  # components smaller than this share of the largest are noise

ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageTooLarge(DigitrecError):
    """The picture claims more pixels than Pillow's decompression-bomb limit allows."""


@dataclasses.dataclass
class DigitImage:
    """One digit as the model sees it, with where it was found."""

    pixels: np.ndarray  # uint8 (28, 28), white ink on black, like MNIST
    box: tuple  # (left, top, right, bottom) in the working-resolution picture


def open_image(source, name=None) -> Image.Image:
    """Open a file path or bytes with Pillow; every problem is a one-line DigitrecError."""
    name = name or (str(source) if not isinstance(source, (bytes, bytearray)) else "image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source))
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            if image.width == 0 or image.height == 0:
                raise DigitrecError(f"{name}: zero-size image ({image.width}x{image.height})")
            image.load()
    except DigitrecError:
        raise
    except FileNotFoundError:
        raise DigitrecError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DigitrecError(f"{name}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise DigitrecError(f"{name}: {unreadable_reason(source)}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"{name}: refused: more than {Image.MAX_IMAGE_PIXELS:,} pixels (decompression bomb limit)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise DigitrecError(f"{name}: truncated or corrupt image ({str(error).splitlines()[0][:120]})") from None
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        return image


def unreadable_reason(source) -> str:
    """Why Pillow could not identify `source`: empty, a PNG claiming zero size, or not an image."""
    try:
        head = bytes(source[:32]) if isinstance(source, (bytes, bytearray)) else Path(source).open("rb").read(32)
    except OSError:
        head = b""
    if not head:
        return "empty file (0 bytes)"
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        if width == 0 or height == 0:
            return f"zero-size image ({width}x{height})"
    return "not an image Pillow can read"


def grey_levels(image: Image.Image) -> np.ndarray:
    """float32 (H, W) in [0, 1], at most WORKING_SIZE on its longest side, transparency resolved.

    A picture whose transparent part is most of it (a drawing on a transparent canvas) is read
    from its alpha channel: what is opaque is ink, whatever its colour.
    """
    if max(image.size) > WORKING_SIZE:
        image = image.copy()
        image.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.BOX)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        if (alpha < 0.5).mean() > 0.5:
            return 1.0 - alpha  # opaque strokes on a transparent canvas: dark ink on light paper
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def background_estimate(levels: np.ndarray, grid=8) -> np.ndarray:
    """The paper's brightness at every pixel, for ink that is brighter than paper.

    Per block of an 8x8 grid, a low percentile (ink is the minority and bright); then the minimum
    over the 5x5 neighbouring blocks (a block covered by a fat stroke borrows its neighbours' paper), then a
    smooth bilinear upsampling. Subtracting it is an adaptive threshold for uneven lighting.
    """
    height, width = levels.shape
    grid = max(1, min(grid, height, width))
    block_h, block_w = height // grid, width // grid
    blocks = levels[: grid * block_h, : grid * block_w].reshape(grid, block_h, grid, block_w)
    blocks = np.percentile(blocks.transpose(0, 2, 1, 3).reshape(grid, grid, -1), 25, axis=2).astype(np.float32)
    # 5x5 blocks: a filled shape up to half the picture wide still finds paper around it
    padded = np.pad(blocks, 2, mode="edge")
    neighbourhood = np.min([padded[a : a + grid, b : b + grid] for a in range(5) for b in range(5)], axis=0)
    smooth = Image.fromarray(neighbourhood, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(smooth, dtype=np.float32)


def ink_map(image: Image.Image):
    """Ink as float32 (H, W) in [0, 1] on 0 background, or None when there is no digit to read."""
    levels = grey_levels(image)
    height, width = levels.shape
    frame = max(1, min(height, width) // 20)
    border = np.concatenate([levels[:frame].ravel(), levels[-frame:].ravel(), levels[:, :frame].ravel(), levels[:, -frame:].ravel()])
    if np.median(border) > 0.5:
        levels = 1.0 - levels  # dark ink on light paper: make ink bright, as in MNIST
    ink = np.clip(levels - background_estimate(levels), 0.0, None)
    contrast = float(np.percentile(ink, 99.7))
    if contrast < MIN_CONTRAST:
        return None
    ink = np.clip(ink / contrast, 0.0, 1.0)
    grain = 0.3  # below 30 % of the ink's strength: paper texture, shadows, JPEG noise
    ink = np.clip((ink - grain) / (1.0 - grain), 0.0, 1.0)
    if (ink > 0.5).mean() < MIN_INK_FRACTION or (ink > 0.5).sum() < 4:
        return None
    return ink


def label_components(mask: np.ndarray):
    """8-connected components of a boolean mask: (labels int32 array, count); labels 1..count.

    Union-find over the runs of each row: a digit is a few hundred runs, so this is fast in
    plain Python and needs no SciPy on the light path.
    """
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    changes = np.diff(padded, axis=1)
    run_rows, starts = np.nonzero(changes == 1)  # row-major order: runs pair up with their stops
    _, stops = np.nonzero(changes == -1)
    runs = list(zip(run_rows.tolist(), starts.tolist(), stops.tolist()))  # (row, start, stop)
    parent = list(range(len(runs)))

    def root(index):
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    previous, current, current_row = [], [], -1
    for index, (row, start, stop) in enumerate(runs):
        if row != current_row:
            previous = current if row == current_row + 1 else []
            current, current_row = [], row
        for other in previous:
            _, other_start, other_stop = runs[other]
            if other_start <= stop and start <= other_stop:  # touching, diagonals included
                parent[root(index)] = root(other)
        current.append(index)
    labels = np.zeros(mask.shape, dtype=np.int32)
    numbering = {}
    for index, (row, start, stop) in enumerate(runs):
        labels[row, start:stop] = numbering.setdefault(root(index), len(numbering) + 1)
    return labels, len(numbering)


def find_digits(ink: np.ndarray, multi: bool):
    """Boolean masks (in `ink`'s resolution), one per digit, left to right."""
    height, width = ink.shape
    factor = max(1, int(np.ceil(max(height, width) / LABEL_SIZE)))
    small_h, small_w = -(-height // factor), -(-width // factor)
    padded = np.zeros((small_h * factor, small_w * factor), dtype=np.float32)
    padded[:height, :width] = ink
    small = padded.reshape(small_h, factor, small_w, factor).max(axis=(1, 3)) > 0.5
    labels, count = label_components(small)
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    keep = [index + 1 for index in range(count) if areas[index] >= SPECK_FRACTION * areas.max()]
    if multi:
        masks = [np.isin(labels, group) for group in merge_overlapping(labels, keep)]
        masks = [piece for mask in masks for piece in split_wide(mask)]
    else:
        masks = [np.isin(labels, keep)]
    masks.sort(key=lambda mask: bounds(mask)[0])
    return [np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)[:height, :width] for mask in masks]


def bounds(mask):
    """(left, top, right, bottom) of the True pixels, right and bottom exclusive."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(columns[0]), int(rows[0]), int(columns[-1] + 1), int(rows[-1] + 1)


def merge_overlapping(labels, keep):
    """Group components whose column ranges overlap by half the narrower one (a 5's detached bar)."""
    spans = {label: bounds(labels == label) for label in keep}
    groups = []
    for label in sorted(keep, key=lambda item: spans[item][0]):
        left, _, right, _ = spans[label]
        for group in groups:
            group_left, group_right = group["span"]
            overlap = min(right, group_right) - max(left, group_left)
            if overlap >= 0.5 * min(right - left, group_right - group_left):
                group["labels"].append(label)
                group["span"] = (min(left, group_left), max(right, group_right))
                break
        else:
            groups.append({"labels": [label], "span": (left, right)})
    return [group["labels"] for group in groups]


def split_wide(mask, max_aspect=1.3, digit_aspect=0.8):
    """Split a piece much wider than tall (touching digits) into the number of digits its width
    suggests, cutting at the thinnest column near each expected boundary."""
    left, top, right, bottom = bounds(mask)
    width, height = right - left, bottom - top
    if width <= max_aspect * height or width < 4:
        return [mask]
    count = max(2, round(width / (digit_aspect * height)))
    profile = mask[:, left:right].sum(axis=0)
    cuts, step = [], width / count
    for boundary in range(1, count):
        expected = boundary * step
        start, stop = int(expected - 0.3 * step), int(expected + 0.3 * step) + 1
        cuts.append(left + start + int(np.argmin(profile[start:stop])))
    pieces = []
    for begin, end in zip([0, *cuts], [*cuts, mask.shape[1]]):
        piece = np.zeros_like(mask)
        piece[:, begin:end] = mask[:, begin:end]
        if piece.any():
            pieces.append(piece)
    return pieces


def stroke_width(binary: np.ndarray) -> float:
    """Mean stroke width in pixels: 2 * area / boundary pixels (a stroke has two edges)."""
    area = binary.sum()
    padded = np.pad(binary, 1)
    interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = area - interior.sum()
    return 2.0 * area / max(boundary, 1)


def square_filter(array: np.ndarray, size: int, dilate: bool) -> np.ndarray:
    """Grey dilation (max) or erosion (min) over a size x size square, as Pillow's Max/MinFilter,
    done separably (rows, then columns): cost grows with size, not size squared."""
    reduce = np.maximum.reduce if dilate else np.minimum.reduce
    radius = size // 2
    fill = 0 if dilate else 255
    height, width = array.shape
    padded = np.pad(array, ((0, 0), (radius, radius)), constant_values=fill)
    rows = reduce([padded[:, i : i + width] for i in range(size)])
    padded = np.pad(rows, ((radius, radius), (0, 0)), constant_values=fill)
    return reduce([padded[i : i + height] for i in range(size)])


def fit_box(image: Image.Image, size) -> Image.Image:
    """Resize so the longest side is `size`, aspect kept, anti-aliased."""
    width, height = image.size
    scale = size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(new_size, Image.Resampling.LANCZOS if scale > 1 else Image.Resampling.BOX)


def normalise_digit(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One digit's ink (restricted to `mask`) as a uint8 28x28 MNIST-style image."""
    left, top, right, bottom = bounds(mask)
    crop = np.where(mask, ink, 0.0)[top:bottom, left:right]
    detail_size = BOX_SIZE * DETAIL_SCALE
    margin = detail_size // 4  # room for dilation
    detail = fit_box(Image.fromarray((crop * 255).astype(np.uint8), mode="L"), detail_size)
    detail = np.asarray(detail, dtype=np.float32)
    if (detail > 32).any():
        # thin anti-aliased lines arrive grey: make the median ink pixel full white, as MNIST cores are
        detail = np.clip(detail * (255.0 / np.percentile(detail[detail > 32], 50)), 0, 255)
    canvas = Image.new("L", (detail.shape[1] + 2 * margin, detail.shape[0] + 2 * margin))
    canvas.paste(Image.fromarray(detail.astype(np.uint8), mode="L"), (margin, margin))
    target = MNIST_STROKE_WIDTH * DETAIL_SCALE * BOX_SIZE / 20.0
    array = np.asarray(canvas)
    width = stroke_width(array > 127)
    if width < 0.75 * target:
        size = 2 * max(1, round((target - width) / 2)) + 1  # dilation widens by size - 1
        array = square_filter(array, size, dilate=True)
    elif width > 1.5 * target:
        size = 2 * max(1, round((width - target) / 2)) + 1
        eroded = square_filter(array, size, dilate=False)
        if (eroded > 127).sum() > 0.25 * (array > 127).sum():
            array = eroded
    ys, xs = np.flatnonzero(array.any(axis=1)), np.flatnonzero(array.any(axis=0))
    cropped = Image.fromarray(array[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1])
    boxed = np.asarray(fit_box(cropped, BOX_SIZE), dtype=np.float32)
    peak = boxed.max()
    if peak > 0:
        boxed = np.clip(boxed * (255.0 / peak), 0, 255)
    # centre by centre of mass, as MNIST did
    total = boxed.sum()
    rows, columns = np.indices(boxed.shape)
    centre_y = (rows * boxed).sum() / total if total else boxed.shape[0] / 2
    centre_x = (columns * boxed).sum() / total if total else boxed.shape[1] / 2
    # MNIST's centres of mass sit at row 14.0, column 14.0 (mean over the training set, std 0.3)
    top_offset = int(np.clip(round(14 - centre_y), 0, 28 - boxed.shape[0]))
    left_offset = int(np.clip(round(14 - centre_x), 0, 28 - boxed.shape[1]))
    result = np.zeros((28, 28), dtype=np.float32)
    result[top_offset : top_offset + boxed.shape[0], left_offset : left_offset + boxed.shape[1]] = boxed
    return np.round(result).astype(np.uint8)


def prepare(source, multi=False, name=None):
    """Every digit in a picture (path, bytes or PIL image) as MNIST-style 28x28 uint8 arrays.

    Returns a list of `DigitImage`, left to right; empty when there is no digit to read. Without
    `multi` everything that is ink (minus specks) is one digit.
    """
    image = source if isinstance(source, Image.Image) else open_image(source, name)
    ink = ink_map(image)
    if ink is None:
        return []
    return [DigitImage(pixels=normalise_digit(ink, mask), box=bounds(mask)) for mask in find_digits(ink, multi)]


def prepare_pixels(pixels) -> np.ndarray:
    """784 grey values (0-255, white ink on black, as from a 28x28 canvas) checked and reshaped."""
    try:
        array = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError):
        raise DigitrecError("pixels: values must be numbers from 0 to 255") from None
    if array.size != 784:
        raise DigitrecError(f"pixels: expected 784 values (28x28), got {array.size}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 255:
        raise DigitrecError("pixels: values must be numbers from 0 to 255")
    return np.round(array).astype(np.uint8).reshape(28, 28)
