"""Turn any picture of handwriting into what an MNIST model expects.

MNIST digits are white on black, size-normalised into a 20x20 box (aspect kept, anti-aliased)
and centred by centre of mass in 28x28, with strokes about 2.8 px wide (median, measured on the
training set). A drawing or photo is none of that. The steps, each a function below:

1. `open_image`: any format Pillow reads, EXIF rotation applied, the first frame of an animation;
   hostile files (decompression bombs, truncated data, zero size) refused with a one-line reason.
   `eight_bit` scales 16-bit, 32-bit and float levels from their nominal range.
2. `ink_map`: grey levels at most 640 px on a side (block averages, which keep a thin line's
   contrast to the paper's noise), ink made bright, the paper's level estimated per cell and
   opened (a shadow or gradient is paper; a stroke is not), dark ink measured relative to the
   local paper (so a shadow changes nothing), ink found by its contrast to the noise, however
   little of the picture it covers; ink as weak as the noise is strong (pencil in dim light) is
   looked for again in 5x5, then 9x9 means. A sheet of paper photographed on a desk has the desk painted
   over first (`sheet_of_paper`); salt-and-pepper noise goes through a median (`despeckled`).
3. `find_pieces`: ruled and squared paper lines, frames, circles and underlines taken out
   (crossing strokes kept), connected components of the ink, specks, bits of neighbouring
   characters, solid objects (a thumb at the edge: `edge_objects_dropped`; a pen lying beside the
   digit: `lying_objects_dropped`) and what lies far from the digit and is no writing
   (`far_clutter_dropped`: small pieces, lines of print, a margin) dropped; `digit_groups` merges
   pieces of one digit and `split_options` offers ways to cut touching digits apart. Many other
   marks around the digit (`marks_around`) make the reading doubtful: a photo of things, not
   writing on paper.
4. `normalise_digit`: crop, bring the stroke width to MNIST's at 4x resolution (dilate a thin pen
   line, erode a fat marker), fit into 20x20, centre by centre of mass in 28x28.

`read` runs them all and says what else it saw (several pieces side by side, only lines or a
frame). A light page holding solid dark panels with light strokes (MNIST plotted white on black,
a screen), or plots' thin frames round dark strokes beside other plots or tick numbers, is read
panel by panel instead (`dark_panels`, `plot_frames`, `read_panels`). Only NumPy and Pillow: this
module is on the light inference path.
"""

import contextlib
import dataclasses
import functools
import io
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, ImageFile, ImageFilter, ImageOps, UnidentifiedImageError

from .errors import DigitrecError
from .files import os_reason

WORKING_SIZE = 640  # longest side while cleaning: enough detail, bounded cost
SMOOTHED_SHRINK = 4  # from this shrink factor on, 2x2 means are taken before the inkiest pixels
LABEL_SIZE = 128  # longest side of the mask that connected components are found on
BOX_SIZE = 20  # MNIST's size-normalisation box
DETAIL_SCALE = 4  # stroke width is normalised with the digit at 4x the 20x20 box
MNIST_STROKE_WIDTH = 2.8  # px in 28x28: median of 2*area/boundary over MNIST train, threshold 0.5
BACKGROUND_GRID = 16  # the paper's brightness is estimated per cell of a 16x16 grid
BACKGROUND_OPENING = 5  # cells: ink patches narrower than this are not paper; shadows wider are
FLAT_PAPER = 0.04  # cell estimates spread less than this: plain paper, one level for all of it
SMALL_PICTURE = 320  # px: a picture this small with plain edges is a crop or a canvas
NOISE_SIGMAS = 6  # ink must stand this many noise standard deviations above the paper...
MIN_INK_STEP = 0.03  # ...and at least this much (of the 0-1 range)
FAINT_MAJORITY = 0.1  # most of a small picture this little above its edges' level is paper, not ink
SHEET_SIZE = 128  # px: a sheet of paper on a desk is looked for on a copy this size at most
SHEET_SOFT_EDGE = 0.25  # more of the sheet's outer band than this part way between desk and paper: a soft edge
SHEET_TOLERANCE = 16  # levels: the surround (a desk) is this close to its edges' level...
SHEET_SHARE = 0.2  # ...and the sheet covers at least this share of the picture...
SHEET_SOLIDITY = 0.85  # ...and fills this share of its convex hull, four corners of which hold this share of it
DARK_BOARD_SLACK = 25  # levels (0-255): a board's noise and JPEG ringing may dip this far below its edges
MIN_STRENGTH = 0.04  # the ink's typical level over paper; fainter than this is no digit...
STRENGTH_SIGMAS = 8  # ...and it must stand this many noise standard deviations above the paper
NOISY_MEANS = (5, 9)  # px: when no ink stands out of the noise, it is looked for in means of 5x5, then 9x9 pixels
GRAIN = 0.3  # below 30 % of the ink's strength: paper texture, shadow edges, JPEG noise
MIN_INK_PIXELS = 6  # fewer ink pixels (working resolution) than this: no digit
INK_LEVEL = 0.25  # of the ink's strength above GRAIN: what counts as ink when finding pieces (a
#                   thin line's faint anti-aliased stretches included, or a ring breaks into arcs)
SPECK_FRACTION = 0.03  # components smaller than this share of the largest are noise
SPECKLED = 0.1  # this share of the ink pixels alone, without an inked neighbour: salt-and-pepper noise...
SPECKLED_PAPER = 0.002  # ...or this share of the whole picture (sparse specks beside a fat digit)
CLUTTER_HEIGHT = 0.35  # far from the digit, pieces under this share of its height are clutter
LINE_ACROSS = 0.75  # thin pieces in one band covering this share of the picture's height (or width) are a line
EDGE_OBJECT_WIDTH = 2  # a solid piece at the picture's edge with strokes this many times as wide as those
EDGE_OBJECT_FILL = 0.5  # inside, filling this share of its box, is an object (a thumb), not writing
OBJECT_WIDTH = 1.8  # a solid piece this many times as wide as the strokes of the writing beside it is an object...
OBJECT_SOLIDITY = 0.7  # ...solid: filling this share of its convex hull (a pen lying on the page: a bar at any angle)...
OBJECT_ASPECT = 6  # ...and this many times as long as wide (a pen is 15-25 times; a fat 1, a fragment of a digit less)
BUSY_MARKS = 8  # this many other pieces around the digit: a photo of things or a texture, not ink on paper
BUSY_MARGIN = 0.25  # "around": within this share of the digit's width and height of its box
BUSY = "many other marks around it: a photo or a texture, not writing on paper"  # the doubt it raises
EDGE_BIT_FRACTION = 0.25  # a piece touching the picture's edge and smaller than this share of the
#                           largest is a bit of a neighbouring character, not part of the digit
LONG_LINE = 0.85  # a straight run this share of the picture's width (or height) is a ruled line
PANEL_SHARE = 0.005  # a dark panel on a light page covers at least this share of the picture...
PANEL_SIDE = 12  # ...and this many working pixels each way;
PANEL_FILL = 0.5  # it is solid: this share of its box is dark (light strokes make the rest)...
PANEL_CORE = 0.9  # the rectangle it mostly fills holds this share of it (tick marks may stick out)
PANEL_EDGE_FILL = 0.9  # ...each of its box's four sides is this dark: a rectangle, not a blob...
PANEL_STROKE = 0.45  # ...and what is light inside is strokes, no part of it this share of its side
#                     thick each way (a thick frame around paper is not a panel: its inside is paper)
PANEL_OUTSIDE_HEIGHT = 0.3  # panels are read unless a piece outside, not around them, is this share of their height
CLOSE_LOOK = 40  # working px: digits smaller than this on a shrunk picture are read again from their part of it
SURROUND_TURN = 0.8  # a piece lying this share of the way round another is drawn around it
FRAME_SIDE_COVERAGE = 0.85  # a piece whose four edges are each this covered is a frame
DIVIDER_COVERAGE = 0.9  # a straight line across this much of a frame's inside divides boxes
MAX_DECODED_BYTES = 64 * 2**20  # a picture's pixels once decoded: a 4000x3000 RGBA photo is 46 MiB
MAX_PIXELS = 100_000_000  # more claimed than this is a decompression bomb (big JPEGs decode scaled down)
EIGHT_BIT_BAND_BYTES = 4 * 2**20  # float32 rows converted at a time from 16-bit, 32-bit or float levels

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a cut-off file is an error, whatever another library set


class ImageTooLarge(DigitrecError):
    """The picture claims more pixels than Pillow's decompression-bomb limit allows, or more bytes
    once decoded than MAX_DECODED_BYTES (the same limit for the CLI and the service)."""


@dataclasses.dataclass
class DigitImage:
    """One digit as the model sees it, with where it was found."""

    pixels: np.ndarray  # uint8 (28, 28), white ink on black, like MNIST
    box: tuple  # (left, top, right, bottom) in the input picture's pixels, right/bottom exclusive


@dataclasses.dataclass
class Reading:
    """What a picture holds: the digits to classify, and what else was seen on the way."""

    digits: list  # of DigitImage, left to right: one without multi (all the ink), else one per digit
    parts: list  # without multi: the separate pieces side by side when there are two or more
    note: Optional[str] = None  # why there is nothing to read although there was ink
    options: list = dataclasses.field(default_factory=list)  # with multi, per piece side by side:
    #   the ways to cut it into digits (lists of DigitImage), likeliest by width first; `digits`
    #   holds the first of each
    several: bool = False  # without multi: the parts are certainly separate digits (several panels)
    doubt: Optional[str] = None  # why what was read may be no handwriting at all, though it is ink-like
    apart: bool = False  # without multi: the parts lie apart, so the one part that alone reads as a digit,
    #   beside parts that read as none, is the answer (`reading.learned`)


def open_image(source, name=None) -> Image.Image:
    """Open a file path or bytes with Pillow as what reading uses (8-bit: `eight_bit`), EXIF
    rotation applied; every problem is a one-line DigitrecError."""
    name = name or (str(source) if not isinstance(source, (bytes, bytearray)) else "image")
    with image_errors(name, source):
        image = opened_lazily(source, name)
        image.load()
        image = eight_bit(image)  # the 16-bit or float original is let go at once
    try:
        if image.getexif().get(0x0112, 1) in (None, 1):  # upright already (most pictures): no copy
            return image
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        return image


def opened_lazily(source, name) -> Image.Image:
    """The picture's header, checked against the limits before a byte of pixels is decoded; a big
    JPEG set to decode at 1/2, 1/4 or 1/8 scale (its size kept as `info["original_size"]`)."""
    if not isinstance(source, (bytes, bytearray)):
        path = Path(source)
        if path.exists() and not path.is_dir() and not path.is_file():
            # a FIFO would block forever, a device would never end
            raise DigitrecError(f"{name}: not a regular file (a pipe, device or socket)")
    with warnings.catch_warnings():
        # the limit is ours (MAX_PIXELS, checked below), not Pillow's process-wide one, which an
        # application using digitrec may have set for itself; Pillow still errors at twice its own
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source))
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    if image.width == 0 or image.height == 0:
        raise DigitrecError(f"{name}: zero-size image ({image.width}x{image.height})")
    if image.width * image.height > MAX_PIXELS:
        raise Image.DecompressionBombError("too many pixels")
    decoded = image.width * image.height * len(image.getbands())
    original_size = image.size
    if decoded > MAX_DECODED_BYTES and image.format == "JPEG":
        # a big camera photo: JPEG decodes at 1/2, 1/4 or 1/8 scale directly, within the budget
        scale = next((s for s in (2, 4, 8) if decoded / s**2 <= MAX_DECODED_BYTES), 8)
        image.draft(image.mode, (-(-image.width // scale), -(-image.height // scale)))
        image.info["original_size"] = original_size
        decoded = image.width * image.height * len(image.getbands())
    if decoded > MAX_DECODED_BYTES:
        raise ImageTooLarge(
            f"{name}: refused: decoding it takes {decoded / 2**20:.0f} MiB ({image.width}x{image.height} {image.mode}), "
            f"over the {MAX_DECODED_BYTES / 2**20:.0f} MiB a picture may take"
        )
    return image


STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}  # Pillow keeps other modes in 4 bytes a pixel


def decoded_cost(source) -> int:
    """Bytes of memory that reading `source` takes at its peak, from its header alone: its pixels
    as Pillow keeps them once decoded, plus the 8-bit grey copy reading works on. 0 when it cannot
    be opened (reading refuses it at no cost). What the service admits work by."""
    try:
        with image_errors("image", source):
            image = opened_lazily(source, "image")
    except DigitrecError:
        return 0
    return image.width * image.height * (STORED_BYTES.get(image.mode, 4) + 1)


@contextlib.contextmanager
def image_errors(name, source):
    """Every problem opening or decoding a picture as a one-line DigitrecError naming it."""
    try:
        yield
    except DigitrecError:
        raise
    except FileNotFoundError:
        raise DigitrecError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DigitrecError(f"{name}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise DigitrecError(f"{name}: {unreadable_reason(source)}") from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"{name}: refused: more than {MAX_PIXELS:,} pixels (decompression bomb limit)") from None
    except OSError as error:
        if error.errno is not None:  # the file system's word (permission denied, a link loop), not the decoder's
            raise DigitrecError(f"{name}: cannot open ({os_reason(error)})") from None
        raise DigitrecError(f"{name}: truncated or corrupt image ({str(error).splitlines()[0][:120]})") from None
    except (SyntaxError, ValueError, EOFError) as error:
        raise DigitrecError(f"{name}: truncated or corrupt image ({str(error).splitlines()[0][:120]})") from None


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


def working_levels(image: Image.Image, dark=None):
    """(levels, factor, dark_ink): float32 (H, W) in [0, 1] with ink bright, at most WORKING_SIZE
    on its longest side; the input pixels per working pixel; whether the ink was darker than the
    paper (`dark` when the caller knows, else judged by `dark_ink`). Transparency is resolved on
    the way.

    A big picture is shrunk by keeping, per block, its inkiest pixel (the darkest on light paper,
    the brightest on a dark board): a 1-px line on a 4000-px picture keeps its full contrast, as
    a 2-px one does, where averaging would fade each by its own width.
    A picture whose transparent part is most of it (a drawing on a transparent canvas) is read
    from its alpha channel: what is opaque is ink, whatever its colour. A sheet of paper on a
    darker desk (`sheet_of_paper`, whole pictures only: not when `dark` is given) has the desk
    painted over with its paper level, and dark ink.
    """
    image = eight_bit(image)
    factor = max(1, -(-max(image.size) // WORKING_SIZE))
    if factor >= SMOOTHED_SHRINK:
        factor += factor % 2  # 2x2 means first, then the inkiest of each (factor/2)^2 block
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        if (sample(alpha) < 128).mean() > 0.5:  # opaque strokes on a transparent canvas
            return shrink(alpha, factor, np.maximum).astype(np.float32) / 255.0, factor, True
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    grey, shrunk = clearest_channel(image, factor)
    sheet = sheet_of_paper(np.asarray(shrunk)) if dark is None else None
    if sheet is not None:  # a sheet photographed on a desk: the desk is painted over with paper
        paper, shrunk = sheet[1], Image.fromarray(np.where(sheet[0], np.asarray(shrunk), np.uint8(sheet[1])))
        dark = True
    dark = dark_ink(shrunk) if dark is None else dark
    levels = inkiest(grey, factor, dark)
    if sheet is not None:
        levels = np.where(sheet[0][: levels.shape[0], : levels.shape[1]], levels, np.uint8(paper))
    levels = levels.astype(np.float32) / 255.0
    return (1.0 - levels if dark else levels), factor, dark


def inkiest(grey: Image.Image, factor: int, dark: bool) -> np.ndarray:
    """`grey` shrunk by `factor`, keeping per block its inkiest level. From SMOOTHED_SHRINK up (an
    even factor then), of the picture's 2x2 means: the least of 49 or 64 pixels of a noisy photo
    falls far below the paper at random (sensor noise of sigma 4 levels puts hundreds of specks at
    18 levels into a 4000x3000 photo's working levels, as strong as a small digit's strokes), the
    least of 16 means of 4 does not; a 1-px line keeps half its contrast."""
    if factor >= SMOOTHED_SHRINK:
        grey, factor = grey.reduce(2), factor // 2
    return shrink(np.asarray(grey), factor, np.minimum if dark else np.maximum)


def convex_hull(mask: np.ndarray, step: int = 1) -> np.ndarray:
    """The convex hull of a mask's pixels (as unit squares): its corners (K, 2) as x, y, counter-
    clockwise with y down, by Andrew's monotone chain over each row's outermost pixel corners. With
    `step`, over every `step`-th row and the last only: exact where the edges between them are
    straight (a bar's), `step` times less work."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return np.zeros((0, 2))
    rows = np.union1d(rows[::step], rows[-1:])
    lefts = mask[rows].argmax(axis=1)
    rights = mask.shape[1] - mask[rows, ::-1].argmax(axis=1)
    points = sorted({(float(x), float(y)) for row, left, right in zip(rows, lefts, rights)
                     for x in (left, right) for y in (row, row + 1)})

    def half(points):
        chain = []
        for point in points:
            while len(chain) >= 2 and ((chain[-1][0] - chain[-2][0]) * (point[1] - chain[-2][1])
                                       - (chain[-1][1] - chain[-2][1]) * (point[0] - chain[-2][0])) <= 0:
                chain.pop()
            chain.append(point)
        return chain

    return np.array(half(points)[:-1] + half(points[::-1])[:-1])


def polygon_area(corners: np.ndarray) -> float:
    xs, ys = corners[:, 0], corners[:, 1]
    return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2)


def four_corner_area(corners: np.ndarray) -> float:
    """The area of the largest quadrilateral found on a convex polygon's corners by taking, for
    directions every 5 degrees, the corners farthest each way along it and along its normal: the
    whole of any quadrilateral (a sheet in perspective too), 64 % of an ellipse."""
    best = 0.0
    for angle in np.radians(np.arange(0, 90, 5)):
        along = corners @ np.array([np.cos(angle), np.sin(angle)])
        across = corners @ np.array([-np.sin(angle), np.cos(angle)])
        picked = corners[[along.argmax(), across.argmax(), along.argmin(), across.argmin()]]
        best = max(best, polygon_area(picked))  # in turning order: each extreme a quarter turn on
    return best


def sheet_of_paper(grey: np.ndarray):
    """(mask, paper level) of a light sheet of paper photographed on a darker surround (a desk, a
    table), or None: the surround is what is connected to the picture's edges at about their
    level, and the sheet the one large solid region left, much lighter than the surround and set
    off from it by a sharp edge (a shadow's edge is soft). The mask, at `grey`'s size, stops a
    little inside the sheet's edge; the paper level is the sheet's median. Without this, the
    desk reads as ink (a dark desk) or decides the ink is light (a black one)."""
    step = max(1, -(-max(grey.shape) // SHEET_SIZE))
    height, width = grey.shape[0] // step * step, grey.shape[1] // step * step
    if min(height, width) < 8 * step:
        return None
    small = np.asarray(Image.fromarray(np.ascontiguousarray(grey[:height, :width])).reduce(step), np.float32)  # block means
    edge = border(small)
    # the desk is the edges' middle level; or, where the sheet holds most of the edges (a picture
    # turned in an editor, its corners black), their darkest tenth, found on a fifth of them
    rank = int(0.1 * (edge.size - 1))
    low = float(np.partition(edge, rank)[rank])  # a level the edges have (an interpolated one may fall between two)
    near = edge[np.abs(edge - low) <= 2 * SHEET_TOLERANCE]
    for desk, tolerance, least in (
        (middle(edge), max(SHEET_TOLERANCE, 4 * 1.4826 * middle(np.abs(edge - middle(edge)))), 0.5),
        (low, max(SHEET_TOLERANCE, 4 * 1.4826 * middle(np.abs(near - low))), 0.2),
    ):
        found = sheet_on(small, desk, tolerance, least, corners=least < 0.5)
        if found is not None:
            sheet, paper = found
            inner = square_filter(sheet, 5, dilate=False)  # two small pixels inside the edge
            mask = np.repeat(np.repeat(inner, step, axis=0), step, axis=1)
            return np.pad(mask, ((0, grey.shape[0] - height), (0, grey.shape[1] - width))), int(round(paper))
    return None


def sheet_on(small: np.ndarray, desk: float, tolerance: float, least: float, corners=False):
    """`sheet_of_paper` on its small copy for one desk level: (sheet mask, paper level) or None.
    The surround must hold at least `least` of the edges, and with `corners` lie in two places
    or more (the corners a turn uncovers; a shadow cast from one side is one)."""
    labels, count = label_components(np.abs(small - desk) <= tolerance)
    touching = np.unique(border(labels))
    touching = touching[touching > 0]
    surround = np.isin(labels, touching)
    if border(surround).mean() < least or surround.mean() < 0.05:
        return None  # the edges are not mostly one surround, or there is hardly any
    if corners and np.count_nonzero(np.bincount(labels[surround], minlength=count + 1) >= 0.005 * small.size) < 2:
        return None  # one dark place at the edges: a shadow, not the corners a turn uncovers
    rest, count = label_components(~surround)
    if count == 0:
        return None
    areas = np.bincount(rest.ravel(), minlength=count + 1)[1:]
    order = np.argsort(areas)[::-1]
    sheet = rest == order[0] + 1
    if areas[order[0]] < SHEET_SHARE * small.size or (count > 1 and areas[order[1]] >= 0.05 * areas[order[0]]):
        return None  # no large region, or several (plots, panels): not one sheet
    paper = middle(small[sheet])
    if paper - desk < 3 * tolerance:
        return None  # not much lighter than the surround
    hull = convex_hull(sheet)
    if sheet.sum() < SHEET_SOLIDITY * polygon_area(hull) or four_corner_area(hull) < SHEET_SOLIDITY * polygon_area(hull):
        return None  # not a quadrilateral (a digit drawn light on dark, a round 0 included)
    light = sheet & (small > desk + 0.5 * (paper - desk))
    marks = sheet & ~light
    if np.count_nonzero(marks) < 4 or light.sum() < 0.75 * sheet.sum():
        return None  # nothing on it (a fat 1 drawn light), or more marks than paper
    labels, count = label_components(marks)
    left, top, right, bottom, areas = component_boxes(labels, count)
    largest = int(np.argmax(areas[1:])) + 1
    if areas[largest] >= 0.08 * sheet.sum() and areas[largest] >= 0.6 * (right[largest] - left[largest]) * (bottom[largest] - top[largest]):
        return None  # a solid dark hole, not strokes: the inside of a 0 drawn light on dark
    # a sheet's edge is sharp: a few pixels in, the level is the paper's; a shadow's edge is soft,
    # still part way to the surround there (its boundary is only where it leaves the surround)
    band = sheet & ~square_filter(sheet, 9, dilate=False)  # the sheet's outer 4 pixels
    between = (small > desk + 0.25 * (paper - desk)) & (small < desk + 0.75 * (paper - desk))
    if np.count_nonzero(between & band) > SHEET_SOFT_EDGE * np.count_nonzero(band):
        return None  # a soft edge: light and shadow, not a sheet's edge
    return sheet, paper


def eight_bit(image: Image.Image) -> Image.Image:
    """A picture of integer levels over 8 bits (16-bit PNG or TIFF, 32-bit) or of float levels as
    8-bit grey, its nominal range scaled to 0-255: for floats [0, 1] (or [-1, 1]) when every level
    lies within it, else the smallest of 0-255, 0-4095 (12-bit scanners) and 0-65535 that holds
    the brightest level. Pillow's own conversion clips at 255: in a 16-bit or 12-bit scan every
    level but the darkest 256 reads as paper (grey pencil vanishes), and a [0, 1] float picture
    is all black. NaN reads as the range's floor.

    Converted in bands of rows (`EIGHT_BIT_BAND_BYTES` of float32 each), so that a big 16-bit
    picture costs its own pixels and the 8-bit result, not four float copies of itself (a
    5700x5700 16-bit PNG had cost 775 MB). The picture's `info` (a big JPEG's original size) is
    kept."""
    if image.mode not in ("I", "F") and not image.mode.startswith("I;"):
        return image
    width, height = image.size
    rows = max(1, EIGHT_BIT_BAND_BYTES // (4 * width))
    bands = [(top, min(top + rows, height)) for top in range(0, height, rows)]

    def band(top, bottom):
        return np.asarray(image.crop((0, top, width, bottom)), dtype=np.float32)

    low, top_level = np.inf, -np.inf
    for start, end in bands:
        values = band(start, end)
        finite = values[np.isfinite(values)]
        if finite.size:
            low, top_level = min(low, float(finite.min())), max(top_level, float(finite.max()))
    if not np.isfinite(low):
        low, top_level = 0.0, 0.0
    if image.mode == "F" and -1 <= low and top_level <= 1:
        floor, ceiling = (-1.0 if low < 0 else 0.0), 1.0
    else:
        floor, ceiling = 0.0, next((n for n in (255.0, 4095.0, 65535.0) if top_level <= n), top_level)
    result = np.empty((height, width), np.uint8)
    for start, end in bands:
        values = np.nan_to_num(band(start, end), nan=floor, posinf=ceiling, neginf=floor)
        values -= floor
        values *= 255.0 / (ceiling - floor)
        np.clip(np.rint(values, out=values), 0, 255, out=values)
        result[start:end] = values
    converted = Image.fromarray(result, mode="L")
    converted.info.update(image.info)
    return converted


def clearest_channel(image: Image.Image, factor: int):
    """(channel, shrunk): the picture as one channel, and a copy shrunk by `factor` (box average) to
    judge it by. The channel is its grey levels, or for coloured ink whose brightness is close to
    the paper's (light green on white, yellow on grey), the red, green or blue channel in which the
    ink stands out most from the paper (judged on a shrunk copy, so a big photo costs little)."""
    if image.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV") or grey_palette(image):
        grey = image.convert("L")
        return grey, (grey.reduce(factor) if factor > 1 else grey)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    small = rgb.reduce(factor) if factor > 1 else rgb
    channels = [small.convert("L"), *small.split()]
    red, green, blue = (np.asarray(channel, dtype=np.int16) for channel in channels[1:])
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    if np.count_nonzero(spread >= 40) >= MIN_INK_PIXELS:  # colour beyond sensor noise
        grey_contrast = ink_contrast(channels[0])
        # a channel's contrast (a level minus a blur of levels) is at most its range, so a channel
        # whose range is under 1.5x the grey's contrast cannot be chosen: not measured (dark ink
        # on white, the usual case, skips all three); the choice is the same as measuring them all
        contrasts = [grey_contrast] + [
            ink_contrast(channel) if int(levels.max()) - int(levels.min()) >= 1.5 * grey_contrast else 0
            for channel, levels in zip(channels[1:], (red, green, blue))
        ]
        best = int(np.argmax(contrasts))
        if best > 0 and contrasts[best] >= 1.5 * contrasts[0]:
            return rgb.getchannel(best - 1), channels[best]
    return rgb.convert("L"), channels[0]


def grey_palette(image: Image.Image) -> bool:
    """Whether a palette picture's colours are all greys (then its grey levels are its only channel,
    as its red, green and blue are equal: a drawing app's 28x28 PNG, read without splitting it)."""
    if image.mode != "P":
        return False
    palette = image.getpalette()
    return bool(palette) and palette[0::3] == palette[1::3] == palette[2::3]


def ink_contrast(grey: Image.Image) -> int:
    """How far the strongest local detail (the 20th most extreme pixel of the picture minus its
    blur) stands from the paper, either way: a channel's ink contrast."""
    detail = local_detail(grey)
    rank = min(20, detail.size - 1)
    return max(-int(np.partition(detail, rank)[rank]), int(np.partition(detail, detail.size - 1 - rank)[detail.size - 1 - rank]))


def local_detail(grey: Image.Image) -> np.ndarray:
    """The picture minus its blur (int16, flat), with a blur wider than any stroke."""
    radius = max(2, max(grey.size) // 6)
    return (np.asarray(grey, dtype=np.int16) - np.asarray(grey.filter(ImageFilter.BoxBlur(radius)), dtype=np.int16)).ravel()


def dark_ink(grey: Image.Image) -> bool:
    """Whether the ink is darker than the paper: the strongest local detail (the picture minus its
    blur) is dark. Unlike the median, this holds for a photo that is mostly in shadow, since a
    shadow is smooth and a stroke is not. The 20th most extreme pixel each way is compared, so a
    few specks of noise do not decide. On bright paper (the picture's edges above 60 %, or its
    median when the edges are middling) the ink can only be darker, and that is the answer at once.
    Likewise on a dark board (edges and median under 40 %) that nothing in the picture is darker
    than, while something is much lighter: the ink can only be lighter. Local detail cannot tell
    there when the pen is fat (a canvas drawn white on black with a wide brush): the board inside
    an 8's loops stands out of its blur as much as the strokes do."""
    levels = np.asarray(grey)
    median = middle(sample(levels))
    edge = middle(border(levels))
    if edge > 0.6 * 255 or (edge >= 0.4 * 255 and median > 0.6 * 255):
        return True  # bright paper at the edges (a tight crop is mostly ink, but not its edges)
    rank = min(20, levels.size - 1)
    if edge < 0.4 * 255 and median < 0.4 * 255:
        flat = levels.ravel()
        darkest = int(np.partition(flat, rank)[rank])
        brightest = int(np.partition(flat, flat.size - 1 - rank)[flat.size - 1 - rank])
        if edge - darkest <= DARK_BOARD_SLACK and brightest - edge >= 3 * DARK_BOARD_SLACK:
            return False  # a dark board with nothing darker on it: light ink
    detail = local_detail(grey)
    rank = min(20, detail.size - 1)
    darkest = -int(np.partition(detail, rank)[rank])
    brightest = int(np.partition(detail, detail.size - 1 - rank)[detail.size - 1 - rank])
    if darkest == brightest:  # nothing stands out: paper is the majority, so the median decides
        return median > 127
    return darkest > brightest


def shrink(array: np.ndarray, factor: int, combine) -> np.ndarray:
    """`array` shrunk by `factor`, each block replaced by `combine` (np.minimum, np.maximum or np.add)
    over it; the last partial row and column of blocks are dropped (under `factor` pixels)."""
    if factor == 1:
        return array
    height, width = array.shape[0] // factor * factor, array.shape[1] // factor * factor
    array = array[:height, :width]
    rows = functools.reduce(combine, [array[offset::factor] for offset in range(factor)])  # pairwise:
    return functools.reduce(combine, [rows[:, offset::factor] for offset in range(factor)])  # no stacked copy


def percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) with its default linear interpolation, from a partition (for the
    small arrays here a tenth of its cost)."""
    values = values.ravel()
    position = q / 100 * (values.size - 1)
    below = int(position)
    above = min(below + 1, values.size - 1)
    parted = np.partition(values, [below, above])
    low, high, t = parted[below], parted[above], position - below
    # numpy's lerp, evaluated the same way so that the result is the same to the last bit
    difference = high - low
    return float(high - difference * (1 - t) if t >= 0.5 else low + difference * t)


def middle(values: np.ndarray) -> float:
    """The median of a 1-d array (a partition: cheaper than np.median for the small arrays here)."""
    values = values.ravel()
    return float(np.partition(values, values.size // 2)[values.size // 2])


def select(labels: np.ndarray, chosen) -> np.ndarray:
    """The mask of the pixels whose label is in `chosen` (a lookup table: cheaper than np.isin)."""
    table = np.zeros(int(labels.max()) + 1, dtype=bool)
    table[list(chosen)] = True
    return table[labels]


def border(array: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels: paper in nearly every picture, tight crops of a digit included."""
    if min(array.shape) < 3:
        return array.ravel()
    return np.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])


def sample(array: np.ndarray, count=4096) -> np.ndarray:
    """A regular subsample of at most about `count` values: medians at a fixed cost."""
    step = max(1, int(np.ceil(np.sqrt(array.size / count))))
    return array[::step, ::step]


def cell_levels(levels: np.ndarray, grid: int, quantile: float) -> np.ndarray:
    """A `quantile` of each cell of a grid x grid division of `levels` (about 400 values a cell)."""
    height, width = levels.shape
    rows, columns = max(1, min(grid, height // 2)), max(1, min(grid, width // 2))
    cell_h, cell_w = height // rows, width // columns
    step = max(1, int(np.sqrt(cell_h * cell_w / 400)))
    cells = levels[: rows * cell_h : step, : columns * cell_w : step]
    per_row, per_column = cells.shape[0] // rows, cells.shape[1] // columns
    cells = cells[: rows * per_row, : columns * per_column].reshape(rows, per_row, columns, per_column)
    cells = cells.transpose(0, 2, 1, 3).reshape(rows, columns, -1)
    rank = int(quantile * (cells.shape[2] - 1))
    return np.partition(cells, rank, axis=2)[:, :, rank]


def upsample(grid_values: np.ndarray, shape) -> np.ndarray:
    smooth = Image.fromarray(grid_values.astype(np.float32), mode="F").resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(smooth, dtype=np.float32)


def background_estimate(levels: np.ndarray, grid=BACKGROUND_GRID):
    """The paper's level at every pixel (a float for plain paper), for ink brighter than paper.

    Per cell of a 16x16 grid, a low percentile (ink is the minority and bright); then a grey
    opening of the grid (minimum, then maximum, over 5x5 cells): a cell covered by a fat stroke
    borrows its neighbours' paper, while a shadow or gradient wider than that is kept as paper and
    so removed. Bilinear upsampling makes it smooth. Subtracting it is an adaptive threshold.
    """
    estimate = cell_levels(levels, grid, 0.2)
    if estimate.max() - estimate.min() < FLAT_PAPER:
        return middle(estimate)
    if min(estimate.shape) <= BACKGROUND_OPENING:  # a tiny picture: the opening would see all of it
        return float(estimate.min())
    # beyond the picture's edges, the paper is assumed to go on as it goes (odd reflection): a
    # gradient or a shadow reaching the edge then survives the opening up to the last cell
    reach = BACKGROUND_OPENING // 2
    extended = np.pad(estimate, reach, mode="reflect", reflect_type="odd")
    opened = square_filter(square_filter(extended, BACKGROUND_OPENING, dilate=False), BACKGROUND_OPENING, dilate=True)
    opened = opened[reach:-reach, reach:-reach]
    if opened.max() - opened.min() < FLAT_PAPER:  # the spread was strokes, not light: plain paper
        return middle(opened)
    return upsample(opened, levels.shape)


def refined_background(levels: np.ndarray, strokes: np.ndarray) -> np.ndarray:
    """The paper's level again, pixel by pixel: a grey opening of `levels` with a square a little
    wider than the strokes (found so far in `strokes`) removes them and keeps everything wider,
    so a shadow's edge is followed at the scale of a stroke, even inside a digit's loop, where a
    grid of cells cuts corners and leaves a rim of shadow that would pass for ink."""
    size = int(np.clip(2 * round(1.25 * stroke_width(strokes)) + 3, 5, 61))
    return square_filter(square_filter(levels, size, dilate=False), size, dilate=True)


def ink_residual(levels, background, dark_ink, noise=None):
    """(residual, centre, sigma, strength): ink over paper, the paper's typical residual and noise,
    and the ink's typical level over paper (None when nothing stands out of the noise). `noise`,
    when given, caps the noise that the residual's spread shows (which ink covering most of the
    picture makes large)."""
    residual = levels - background
    if dark_ink:
        # light on paper multiplies: in a shadow, paper and ink darken by the same factor, so the
        # ink's depth is measured as a share of the local paper's brightness
        residual *= 1.0 / np.maximum(1.0 - background, 0.1)
    # the paper's residual and noise from the whole picture, or from its edges when those are
    # lower (a tight crop, where most of the picture is ink) but not below the paper's level: edges
    # lighter than the paper are no paper (the white a turned picture is filled with, a scanner's lid)
    estimates = []
    for values in (sample(residual), border(residual)):
        centre = middle(values)
        estimates.append((centre, max(1.4826 * middle(np.abs(values - centre)), 1.0 / 255)))
    if estimates[1][0] < -max(NOISE_SIGMAS * estimates[1][1], MIN_INK_STEP):
        estimates.pop()
    centre, sigma = min(estimates)
    sigma = sigma if noise is None else min(sigma, noise)
    candidates = residual[residual > centre + max(NOISE_SIGMAS * sigma, MIN_INK_STEP)]
    if candidates.size < MIN_INK_PIXELS:
        return residual, centre, sigma, None
    rank = int(0.9 * (candidates.size - 1))
    return residual, centre, sigma, float(np.partition(candidates, rank)[rank]) - centre


def ink_map(working):
    """(ink, factor): ink as float32 (H, W) in [0, 1] on 0 paper at working resolution, or None
    when the picture holds no ink at all, from the picture's `working_levels`.

    Polarity comes from `dark_ink` (in `working_levels`); the paper's level from
    `background_estimate` (dark ink is measured relative to it, so a shadow changes nothing); the
    noise from the residual's median absolute deviation. Ink is what stands well above that noise,
    scaled by its own typical level, so a faint thin line counts as much as a marker stroke
    however little of the picture it covers.

    A small picture whose strokes run into its edges (a digit cropped to its box) can defeat the
    paper estimate: a fat stroke at the edge, continued beyond it, is as wide as paper. When that
    finds no ink, the paper is taken to be the edges' most paper-like tenth, and the noise what
    side-by-side pixels show (`neighbour_noise`).

    Ink as weak as the noise is strong (pencil on grainy paper, a photo taken in dim light) stands
    out of a local mean (NOISY_MEANS pixels each way) when it does not out of the pixels: strokes
    are wider than the noise's grain, so the mean keeps them and thins the noise.
    """
    levels, factor, dark = working
    ink = ink_of(levels, dark)
    for size in NOISY_MEANS:
        if ink is None and min(levels.shape) >= 4 * size:
            ink = ink_of(box_mean(levels, size), dark)
    return None if ink is None else (ink, factor)


def box_mean(levels: np.ndarray, size: int) -> np.ndarray:
    """The mean of each size x size square (odd size) around every pixel, the edges repeated."""
    reach = size // 2
    total = np.pad(levels, reach, mode="edge").astype(np.float64).cumsum(axis=0).cumsum(axis=1)
    total = np.pad(total, ((1, 0), (1, 0)))
    height, width = levels.shape
    sums = total[size : size + height, size : size + width] - total[:height, size : size + width] - total[size : size + height, :width] + total[:height, :width]
    return (sums / size**2).astype(np.float32)


def ink_of(levels: np.ndarray, dark: bool) -> Optional[np.ndarray]:
    """`ink_map`'s ink of these levels, or None."""
    edge = border(levels)
    edge_low, edge_high = (percentile(edge, 10), percentile(edge, 90)) if edge.size >= 20 else (0.0, 1.0)
    small = max(levels.shape) <= SMALL_PICTURE
    if small and edge_high - edge_low < FLAT_PAPER:
        # a small picture on plain paper, a crop or a canvas: the paper is what its edges show,
        # even when the digit fills most of it (a tight crop of a 1 is mostly ink), unless most of it
        # is a little darker than the edges: then that is the paper, and the edges the lighter fill
        # around a turned picture (ink filling most of a picture is no such faint step above them)
        background = middle(edge)
        typical = middle(sample(levels))
        if MIN_INK_STEP < typical - background < FAINT_MAJORITY:
            background = typical
    else:
        background = background_estimate(levels)
    ink = ink_over(levels, background, dark)
    if ink is None and small and edge.size >= 20:
        ink = ink_over(levels, edge_low, dark, neighbour_noise(levels))
    return ink


def neighbour_noise(levels: np.ndarray) -> float:
    """The noise's standard deviation from the differences of neighbouring pixels (their median
    absolute deviation over the square root of 2), side by side or one above the other, whichever
    is less: unlike the levels' own spread, it stays small when ink covers most of the picture, as
    it does in a 1 cropped to its box (across such a 1 every step is a stroke's soft edge, along
    it none is)."""
    spreads = []
    for axis in (0, 1):
        steps = np.diff(levels, axis=axis).ravel() if levels.shape[axis] > 1 else np.zeros(1, levels.dtype)
        spreads.append(1.4826 * middle(np.abs(steps - middle(steps))) / np.sqrt(2))
    return max(min(spreads), 1.0 / 255)


def ink_over(levels: np.ndarray, background, dark: bool, noise=None) -> Optional[np.ndarray]:
    """The ink of `ink_map` over the paper level `background` (a float or per pixel), or None;
    `noise` as in `ink_residual`."""
    residual, centre, sigma, strength = ink_residual(levels, background, dark, noise)
    if strength is not None and not isinstance(background, float):
        # the strongest ink only: a rim of shadow left by the first estimate is weaker than a stroke
        background = refined_background(levels, residual > centre + 0.75 * strength)
        residual, centre, sigma, strength = ink_residual(levels, background, dark, noise)
    if strength is None or strength < max(MIN_STRENGTH, STRENGTH_SIGMAS * sigma):
        return None
    low = centre + max(GRAIN * strength, 4 * sigma)
    ink = despeckled(np.clip((residual - low) * (1.0 / max(centre + strength - low, 1e-6)), 0.0, 1.0))
    return ink if np.count_nonzero(ink > 0.5) >= MIN_INK_PIXELS else None


def despeckled(ink: np.ndarray) -> np.ndarray:
    """`ink` through a 3x3 median when it is speckled (salt-and-pepper noise, a dusty scan: at
    least SPECKLED of its ink pixels have no inked neighbour, or SPECKLED_PAPER of all its pixels,
    as sparse specks beside a marker's fat digit do), else as it is: the median clears specks and
    clumps of a few, and keeps strokes wider than two pixels; a thin line has few lone pixels, and
    ink the median would mostly take is left as it is."""
    inked = ink > 0.5
    padded = np.pad(inked, 1).view(np.uint8)
    height, width = inked.shape
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]  # the 3x3 count, separably
    lone = np.count_nonzero(inked & (rows[:-2] + rows[1:-1] + rows[2:] == 1))
    if lone < max(MIN_INK_PIXELS, min(SPECKLED * np.count_nonzero(inked), SPECKLED_PAPER * inked.size)):
        return ink
    padded = np.pad(ink, 1, mode="edge")
    views = [padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    smoothed = np.median(np.stack(views), axis=0).astype(ink.dtype)
    if np.count_nonzero(smoothed > 0.5) < 0.5 * (np.count_nonzero(inked) - lone):
        return ink  # the median would take most strokes too: thin strokes with gaps, not specks
    return smoothed


def label_components(mask: np.ndarray):
    """8-connected components of a boolean mask: (labels int32 array, count); labels 1..count,
    numbered in the order of their first pixel (row-major).

    Runs of each row are the nodes; a run touches the runs of the row above whose columns overlap
    it, diagonals included (found for all runs at once with `searchsorted`); components are joined
    by propagating the smallest run number along those edges with pointer jumping. All in NumPy:
    no SciPy on the light path, and no Python loop per pixel or per run.
    """
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    changes = np.diff(padded, axis=1)
    rows, starts = np.nonzero(changes == 1)  # row-major order: runs pair up with their stops
    stops = np.nonzero(changes == -1)[1]  # exclusive
    labels = np.zeros(mask.shape, dtype=np.int32)
    if rows.size == 0:
        return labels, 0
    stride = width + 2
    start_keys, stop_keys = rows * stride + starts, rows * stride + stops
    # the runs of the row above that overlap run i, diagonals included: start <= stop_i, stop >= start_i
    first = np.searchsorted(stop_keys, (rows - 1) * stride + starts, side="left")
    last = np.searchsorted(start_keys, (rows - 1) * stride + stops, side="right") - 1
    counts = np.clip(last - first + 1, 0, None)
    counts[rows == 0] = 0
    here = np.repeat(np.arange(rows.size), counts)
    above = np.repeat(first, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    parent = np.arange(rows.size)
    while here.size:
        low = np.minimum(parent[here], parent[above])
        np.minimum.at(parent, parent[here], low)
        np.minimum.at(parent, parent[above], low)
        while True:  # pointer jumping until every run points at its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        if np.array_equal(parent[here], parent[above]):
            break
    is_root = parent == np.arange(rows.size)
    numbering = np.cumsum(is_root, dtype=np.int32)[parent]  # 1, 2, ... in order of first run
    labels.ravel()[np.flatnonzero(mask)] = np.repeat(numbering, stops - starts)
    return labels, int(numbering.max())


def max_pool(mask: np.ndarray, factor: int) -> np.ndarray:
    """A boolean mask shrunk by `factor`: a cell is set when any of its pixels is."""
    if factor == 1:
        return mask
    height, width = mask.shape
    small_h, small_w = -(-height // factor), -(-width // factor)
    padded = np.zeros((small_h * factor, small_w * factor), dtype=bool)
    padded[:height, :width] = mask
    rows = padded.reshape(small_h, factor, small_w * factor).any(axis=1)  # two single-axis passes:
    return rows.reshape(small_h, small_w, factor).any(axis=2)  # 2-4x faster than one over (1, 3)


def long_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """The pixels of `mask` on horizontal runs of at least `length`, allowing a slight tilt (runs
    are measured on the mask widened by a pixel up and down)."""
    widened = mask.copy()
    widened[1:] |= mask[:-1]
    widened[:-1] |= mask[1:]
    long = np.zeros_like(mask)
    if length < 1 or np.count_nonzero(widened, axis=1).max() < length:
        return long  # no row holds enough ink for a line: the usual case, at no cost
    padded = np.pad(widened.astype(np.int8), ((0, 0), (1, 1)))
    changes = np.diff(padded, axis=1)
    rows, starts = np.nonzero(changes == 1)
    _, stops = np.nonzero(changes == -1)
    for row, start, stop in zip(rows.tolist(), starts.tolist(), stops.tolist()):
        if stop - start >= length:
            long[row, start:stop] = True
    return long & mask


def line_count(long: np.ndarray) -> int:
    """How many separate horizontal lines the rows of `long` hold."""
    rows = long.any(axis=1).astype(np.int8)
    return int(np.count_nonzero(np.diff(np.concatenate([[0], rows])) == 1))


def crossing_strokes(lines: np.ndarray, rest: np.ndarray, reach=3) -> np.ndarray:
    """Line pixels that a stroke crosses (other ink within `reach` rows above and below)."""
    above, below = np.zeros_like(rest), np.zeros_like(rest)
    for shift in range(1, reach + 1):
        above[shift:] |= rest[:-shift]
        below[:-shift] |= rest[shift:]
    return lines & above & below


def could_hold_lines(mask: np.ndarray, axis: int) -> bool:
    """Whether three rows (axis=1) or columns (axis=0) could hold long lines: each line needs at
    least LONG_LINE of the picture's width in ink within three adjacent rows (a slight tilt)."""
    counts = np.count_nonzero(mask, axis=axis)
    if counts.size >= 3:
        counts = counts[:-2] + counts[1:-1] + counts[2:]
    return np.count_nonzero(counts >= int(LONG_LINE * mask.shape[axis])) >= 3


def ruled_lines(mask: np.ndarray) -> list:
    """Pixels of ruled or squared paper: straight lines across nearly the whole picture, when there
    are at least three parallel ones (one long stroke may be a 7's bar on a tight crop, two may be
    a frame's sides). Where a stroke crosses a line, the crossing is kept. The horizontal lines and
    the vertical ones as two masks (either may be empty): each is wiped at its own level, a
    notebook's red margin being much stronger than its pale blue lines."""
    if not (could_hold_lines(mask, axis=1) or could_hold_lines(mask, axis=0)):
        return []  # the usual case, decided from row and column counts alone
    horizontal = long_runs(mask, int(LONG_LINE * mask.shape[1]))
    vertical = long_runs(mask.T, int(LONG_LINE * mask.shape[0])).T
    if max(line_count(horizontal), line_count(vertical.T)) < 3:
        return []
    rest = mask & ~horizontal & ~vertical
    return [horizontal & ~crossing_strokes(horizontal, rest), vertical & ~crossing_strokes(vertical.T, rest.T).T]


def frame_band(piece: np.ndarray, open_sides=(False, False, False, False)):
    """For one piece (cropped to its box): (the frame's lines, the width of the band along its
    edges where they run) if it is a frame, else None.

    A frame is a piece whose edges (top, bottom, left, right) are each covered along at least
    85 % of their length within a band of 12 % of its size; one edge may be missing where the
    piece reaches the picture's edge (`open_sides`: a box cut off by the crop). A hand-drawn 0
    touches its box at four points only.
    """
    height, width = piece.shape
    if height < 6 or width < 6:
        return None
    band = max(1, round(0.12 * min(height, width)))
    coverage = (
        piece[:band].any(axis=0).mean(),
        piece[-band:].any(axis=0).mean(),
        piece[:, :band].any(axis=1).mean(),
        piece[:, -band:].any(axis=1).mean(),
    )
    covered = [value >= FRAME_SIDE_COVERAGE for value in coverage]
    if sum(covered) < 3 or not all(c or o for c, o in zip(covered, open_sides)):
        return None
    wide = max(band + 1, round(1.5 * band))
    if piece[wide:-wide, wide:-wide].mean() > 0.5:
        return None  # a filled shape, not a frame: a frame is hollow
    # the frame's own lines, peeled off each side: straight, tilted or wobbly, and a digit inside
    # that touches the frame keeps its strokes
    frame = np.zeros_like(piece)
    for turns in range(4):  # top, then each other side turned to the top
        turned = np.rot90(piece, turns)
        frame |= np.rot90(peel_top(turned, wide), -turns)
    # a form's comb of boxes: straight dividers that cross the whole inside, top line to bottom
    inside = piece[wide:-wide, wide:-wide]
    if inside.size:
        columns = np.flatnonzero(inside.mean(axis=0) >= DIVIDER_COVERAGE) + wide
        rows = np.flatnonzero(inside.mean(axis=1) >= DIVIDER_COVERAGE) + wide
        frame[:, columns] |= piece[:, columns]
        frame[rows, :] |= piece[rows, :]
    return frame, wide


def peel_top(piece: np.ndarray, band: int) -> np.ndarray:
    """The top line of a frame: in each column, the first run of ink from the top when it starts
    within `band` rows, cut to the line's typical thickness (the median run), so that a stroke
    touching the line from below is not taken with it."""
    height = piece.shape[0]
    first = piece.argmax(axis=0)
    starts = piece.any(axis=0) & (first < band)
    rows = np.arange(height)[:, None]
    below = piece & (rows >= first[None, :]) & starts[None, :]
    # the run from `first` down: ink rows until the first gap
    gaps = ~piece & (rows >= first[None, :])
    run_end = np.where(gaps.any(axis=0), gaps.argmax(axis=0), height)
    lengths = (run_end - first)[starts]
    if lengths.size == 0:
        return np.zeros_like(piece)
    thickness = int(np.ceil(np.median(lengths))) + 1
    return below & (rows < np.minimum(run_end, first + thickness)[None, :])


def frames(labels: np.ndarray, count: int):
    """(lines, zone): the lines of every labelled piece that is a frame (a digit inside it stays),
    and the bands along the frames' edges, where what the lines leave behind is still frame."""
    lines, zone = np.zeros(labels.shape, dtype=bool), np.zeros(labels.shape, dtype=bool)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    for label in range(1, count + 1):
        if areas[label] < 12:
            continue
        piece = labels == label
        left, top, right, bottom = bounds(piece)
        at_edge = (top == 0, bottom == labels.shape[0], left == 0, right == labels.shape[1])
        found = frame_band(piece[top:bottom, left:right], at_edge)
        if found is not None:
            frame, wide = found
            lines[top:bottom, left:right] |= frame
            zone[top:bottom, left:right] = True
            zone[top + wide : bottom - wide, left + wide : right - wide] = False
    return lines, zone


def enclosures_and_underlines(labels: np.ndarray, areas: np.ndarray) -> list:
    """Labels of pieces that are around the digit rather than part of it: a piece that holds
    another sizeable piece inside one of its holes (a circle, an oval or a frame of any shape
    drawn around the digit), and a long thin straight line under the largest piece (an underline)."""
    count = areas.size
    sizeable = [label for label in range(1, count + 1) if areas[label - 1] >= 12]
    if len(sizeable) < 2:
        return []
    boxes = {label: bounds(labels == label) for label in sizeable}
    found = []
    for outer in sizeable:
        left, top, right, bottom = boxes[outer]
        inner = [
            label for label in sizeable
            if label != outer and boxes[label][0] > left and boxes[label][1] > top and boxes[label][2] < right and boxes[label][3] < bottom
            and areas[label - 1] >= 0.15 * areas[outer - 1]
        ]
        if not inner:
            continue
        crop = labels[top:bottom, left:right]
        gaps, _ = label_components(crop != outer)
        open_gaps = np.unique(np.concatenate([gaps[0], gaps[-1], gaps[:, 0], gaps[:, -1]]))
        for label in inner:
            inside = np.isin(gaps[crop == label], open_gaps, invert=True)
            # it sits in a hole of `outer`, or `outer` goes nearly all round it (a circle drawn
            # round the digit that does not quite close, or overshoots and crosses itself)
            if inside.mean() > 0.9 or surrounds(crop == outer, crop == label):
                found.append(outer)
                break
    main = max((label for label in sizeable if label not in found), key=lambda label: areas[label - 1], default=None)
    if main is not None:
        main_left, main_top, main_right, main_bottom = boxes[main]
        for label in sizeable:
            left, top, right, bottom = boxes[label]
            width, height = right - left, bottom - top
            overhang = min(main_left - left, right - main_right) >= 0.1 * (main_right - main_left)
            if label != main and label not in found and top >= main_bottom and width >= 0.8 * (main_right - main_left) and (
                width >= 8 * height or (width >= 5 * height and overhang)
            ):
                found.append(label)  # an underline (a 2's detached base is thicker for its length, or no wider than the 2)
    return found


def surrounds(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether `outer` lies all round `inner` (masks of one box), seen from `inner`'s centre: in at
    least SURROUND_TURN of the directions (of 36), and beyond `inner` in each of them, a ring round
    it rather than strokes beside it."""
    rows, columns = np.nonzero(inner)
    centre_y, centre_x = rows.mean(), columns.mean()
    reach = np.hypot(rows - centre_y, columns - centre_x)
    outer_rows, outer_columns = np.nonzero(outer)
    distance = np.hypot(outer_rows - centre_y, outer_columns - centre_x)
    sectors = np.floor(np.arctan2(outer_rows - centre_y, outer_columns - centre_x) / (2 * np.pi) * 36).astype(int) % 36
    inner_sectors = np.floor(np.arctan2(rows - centre_y, columns - centre_x) / (2 * np.pi) * 36).astype(int) % 36
    inner_reach = np.zeros(36)
    np.maximum.at(inner_reach, inner_sectors, reach)
    beyond = distance > inner_reach[sectors]
    return np.unique(sectors[beyond]).size >= SURROUND_TURN * 36


def wipe(ink: np.ndarray, removed: np.ndarray, factor: int, keep_stronger=True):
    """Take lines and frames (`removed`, label resolution) out of `ink`, in place. Where a stroke
    runs along a line, the stroke is kept when its ink is clearly stronger than the line's
    (ruled and grid lines are usually fainter than the pen), unless `keep_stronger` is off (what
    is removed is a whole piece of its own)."""
    region = to_working(removed, factor, ink.shape)
    values = ink[region]
    line_level = middle(values[values > 0.1]) if np.count_nonzero(values > 0.1) else 1.0
    if keep_stronger and line_level < 0.85:  # keep what is inkier than midway from the lines' level to full ink
        region &= ink < line_level + 0.5 * (1.0 - line_level)
    ink[region] = 0.0


def find_pieces(ink: np.ndarray):
    """(labels, kept labels, factor, cleared) on a mask of at most LABEL_SIZE: ruled lines and
    frames taken out of `ink` (in place), specks and bits of neighbouring characters at the
    picture's edge dropped. `cleared` says whether lines or frames took all the ink."""
    factor = max(1, -(-max(ink.shape) // LABEL_SIZE))
    small = max_pool(ink > INK_LEVEL, factor)
    lines = [family for family in ruled_lines(max_pool(ink > 0.1, factor) | small) if family.any()]
    for family in lines:
        wipe(ink, family, factor)
    if lines:
        small = max_pool(ink > INK_LEVEL, factor)
    labels, count = label_components(small)
    boxes, zone = frames(labels, count)
    if boxes.any():
        wipe(ink, boxes, factor)
        labels, count = label_components(max_pool(ink > INK_LEVEL, factor))
        # what is left of a wobbly or tilted frame lies wholly in its band: frame, not digit
        outside = np.bincount(labels[~zone].ravel(), minlength=count + 1)
        wholly_inside = [label for label in range(1, count + 1) if outside[label] == 0]
        if wholly_inside:
            leftovers = select(labels, wholly_inside)
            wipe(ink, leftovers, factor)
            labels[leftovers] = 0
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    around = enclosures_and_underlines(labels, areas)
    if around:
        wipe(ink, select(labels, around), factor, keep_stronger=False)
        labels[select(labels, around)] = 0
        areas[[label - 1 for label in around]] = 0
    if not areas.any():
        return labels, [], factor, bool(lines or boxes.any() or around)
    largest = areas.max()
    main_left, _, main_right, _ = bounds(labels == int(np.argmax(areas)) + 1)
    edge = edge_labels(labels)

    def beside_the_digit(label):
        """A small piece at the picture's edge, mostly left or right of the largest piece: a bit of
        a neighbouring character. (Above or below it may be a 5's or a 7's detached bar.)"""
        if label not in edge or areas[label - 1] >= EDGE_BIT_FRACTION * largest:
            return False
        left, _, right, _ = bounds(labels == label)
        return min(right, main_right) - max(left, main_left) < 0.5 * (right - left)

    keep = [
        label
        for label in range(1, count + 1)
        if areas[label - 1] and areas[label - 1] >= SPECK_FRACTION * largest and not beside_the_digit(label)
    ]
    extents = component_boxes(labels, count)  # what both steps below measure pieces by
    return labels, far_clutter_dropped(labels, lying_objects_dropped(labels, edge_objects_dropped(labels, keep, extents), extents, ink, factor), extents), factor, False


def edge_labels(labels: np.ndarray) -> set:
    """The labels of the pieces that touch the picture's edge."""
    return set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])).tolist())


def hull_measures(piece: np.ndarray, step: int = 1) -> tuple:
    """(solidity, width) of a piece from its convex hull: the share of the hull its pixels fill (a
    bar at any angle, cut by the picture's edge or not, and a thumb fill most of it; a bent stroke,
    a 7 or an arc, does not), and 2 * hull area / hull perimeter, a solid bar's width whatever a
    reflection along it leaves out. `step`: as `convex_hull`'s."""
    corners = convex_hull(piece, step)
    if len(corners) < 3:
        return 1.0, 1.0
    area = polygon_area(corners)
    perimeter = float(np.hypot(*(np.roll(corners, -1, axis=0) - corners).T).sum())
    return float(np.count_nonzero(piece) / area), 2.0 * area / perimeter


def edge_objects_dropped(labels: np.ndarray, keep: list, extents) -> list:
    """`keep` without the solid pieces at the picture's edge (filling EDGE_OBJECT_FILL of their box)
    whose strokes are EDGE_OBJECT_WIDTH times as wide as the widest of the pieces inside it: a
    thumb holding the page, a pen's end, the desk or a shadow coming in from outside the picture.
    One pen writes a digit; these are shapes, not strokes. `extents`: `component_boxes(labels)`."""
    edge = edge_labels(labels)
    inside = [label for label in keep if label not in edge]
    if not inside or len(inside) == len(keep):
        return keep
    left, top, right, bottom, areas = extents

    def width(label):
        return stroke_width(labels[top[label] : bottom[label], left[label] : right[label]] == label)

    def solid(label):
        return areas[label] >= EDGE_OBJECT_FILL * (right[label] - left[label]) * (bottom[label] - top[label])

    widest = max(width(label) for label in inside)
    return [label for label in keep if label in inside or not solid(label) or width(label) < EDGE_OBJECT_WIDTH * widest]


def lying_objects_dropped(labels: np.ndarray, keep: list, extents, ink: np.ndarray, factor: int) -> list:
    """`keep` without the objects lying on the page: long solid pieces (filling OBJECT_SOLIDITY of
    their convex hull, OBJECT_ASPECT times as long as wide: a bar at any angle, whole or cut by the
    picture's edge) OBJECT_WIDTH times as wide as the strokes of the writing beside them. One pen
    writes a digit; the pen or pencil lying beside it is a shape, not a stroke. A fat 1 or a
    fragment of a digit is not as long for its width. The writing beside a solid piece is the
    largest other piece within its length of it and at least a fifth of that length (a toolbar's
    icons under a fat 1, a print line far from it, or a sliver of a digit broken by squared
    paper's lines are not), and no such bar itself unless all are (the other half of a pen split
    by its shine; a thin 1 beside a pen). Measured on the ink at `ink`'s resolution (`factor`
    times the labels'): a small digit is a blob at the labels' resolution. `extents`:
    `component_boxes(labels)`."""
    if len(keep) < 2:
        return keep
    left, top, right, bottom, _ = extents

    def piece(label):
        """The piece's ink at `ink`'s resolution, in its box."""
        found = ink[top[label] * factor : bottom[label] * factor, left[label] * factor : right[label] * factor] > INK_LEVEL
        own = labels[top[label] : bottom[label], left[label] : right[label]] == label
        return found & to_working(own, factor, found.shape)

    pieces = {label: piece(label) for label in keep}
    hulls = {label: hull_measures(pieces[label], factor) for label in keep}  # a row a label row: 5 times fewer on a photo
    solid = {label: hulls[label][0] >= OBJECT_SOLIDITY for label in keep}
    # a solid piece's width is its hull's (a reflection along a pen is no edge); a stroke's, its own
    widths = {label: hulls[label][1] if solid[label] else stroke_width(pieces[label]) for label in keep}
    areas = {label: np.count_nonzero(pieces[label]) for label in keep}
    extent = {label: factor * max(right[label] - left[label], bottom[label] - top[label]) for label in keep}
    lengths = {label: areas[label] / max(widths[label], 1.0) for label in keep}  # in pixels of `ink`
    bars = {label for label in keep if solid[label] and lengths[label] >= OBJECT_ASPECT * widths[label]}

    def an_object(label):
        if label not in bars:
            return False

        def beside(other):
            gap = max(top[other] - bottom[label], top[label] - bottom[other], left[other] - right[label], left[label] - right[other])
            return other != label and factor * gap <= lengths[label] and extent[other] >= lengths[label] / 5

        writing = [other for other in keep if beside(other)]
        writing = [other for other in writing if other not in bars] or writing  # not the other half of a pen
        return bool(writing) and widths[label] >= OBJECT_WIDTH * widths[max(writing, key=areas.get)]

    return [label for label in keep if not an_object(label)]


def far_clutter_dropped(labels: np.ndarray, keep: list, extents) -> list:
    """`keep` without what lies far from the digit and is no writing: a screenshot's status bar,
    toolbar and icons, a page number, a stray mark, a worksheet's printed lines, a notebook's
    margin. The digit is the tallest piece but for lines across the whole picture; far is a gap of
    at least half its height (a 5's detached bar, an i's dot or a decimal point are nearer). What
    is dropped there: small pieces (under CLUTTER_HEIGHT of the digit's height and half its area),
    lines of print (as low, three times as wide as high), bands across the whole picture lower than
    the digit (a toolbar, a line under a title) and thin straight lines across all of it (a margin,
    a fold, a table's border: 10 times as long as wide). Small pieces that hold three times the
    digit's ink, together, are no clutter: they are what the picture is (noise all over it).
    `extents`: `component_boxes(labels)`."""
    if len(keep) < 2:
        return keep
    left, top, right, bottom, areas = extents
    height, width = labels.shape

    pieces = range(1, labels.max() + 1)  # specks dropped before included: a faint line breaks into many
    lines = set(lines_across(pieces, left, top, right, bottom, height)) | set(lines_across(pieces, top, left, bottom, right, width))
    candidates = [label for label in keep if label not in lines] or keep
    main = max(candidates, key=lambda label: (bottom[label] - top[label], areas[label]))
    main_height = bottom[main] - top[main]

    def kind(label):
        """'line', 'band', 'print', 'small' (far from the main piece) or None"""
        gap = max(top[label] - bottom[main], top[main] - bottom[label], left[label] - right[main], left[main] - right[label])
        piece_height, piece_width = bottom[label] - top[label], right[label] - left[label]
        if label == main or gap < 0.5 * main_height:
            return None
        if label in lines:
            return "line"
        if piece_width >= 0.9 * width and piece_height < main_height:
            return "band"
        if piece_height < CLUTTER_HEIGHT * main_height:
            if piece_width >= 3 * piece_height:
                return "print"
            return "small" if areas[label] < 0.5 * areas[main] else None
        return None

    kinds = {label: kind(label) for label in keep}
    if sum(areas[label] for label in keep if kinds[label] == "small") >= 3 * areas[main]:
        kinds = {label: None if found == "small" else found for label, found in kinds.items()}  # noise all over: no clutter
    return [label for label in keep if kinds[label] is None]


def lines_across(pieces, left, top, right, bottom, height: int) -> list:
    """The `pieces` (labels) that make a thin straight line from the top of the picture to its
    bottom, whole or broken into pieces that follow each other down one narrow band of columns (a
    margin drawn faint in places, or tilted a little): each a tenth as wide as tall or narrower (or
    2 px), the band at most 6 % of the height wide, one piece at least a tenth of the height long,
    together over LINE_ACROSS of it. Boxes as `component_boxes` gives them; swap the axes for rows."""
    def thin(label):
        return right[label] - left[label] <= max(2, (bottom[label] - top[label]) / 10)

    found, band = [], []
    for label in sorted(filter(thin, pieces), key=lambda label: left[label]) + [None]:
        if band and (label is None or left[label] > max(right[member] for member in band) + 1):
            rows = np.zeros(height, bool)
            for member in band:
                rows[top[member] : bottom[member]] = True
            narrow = max(right[member] for member in band) - min(left[member] for member in band) <= max(3, 0.06 * height)
            long_piece = max(bottom[member] - top[member] for member in band) >= 0.1 * height
            if narrow and long_piece and np.count_nonzero(rows) >= LINE_ACROSS * height:
                found.extend(band)
            band = []
        if label is not None:
            band.append(label)
    return found


def to_working(mask: np.ndarray, factor: int, shape) -> np.ndarray:
    """A label-resolution mask blown up by `factor` and cut to `shape`."""
    if factor == 1:
        return mask[: shape[0], : shape[1]]
    return np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]


def digit_groups(labels, keep):
    """Masks (label resolution) of the pieces side by side, left to right: pieces that overlap in
    columns (a 5's detached bar, a 4 in two strokes) are one."""
    groups = [select(labels, group) for group in merge_overlapping(labels, keep)]
    groups.sort(key=lambda mask: bounds(mask)[0])
    return groups


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


def split_options(mask, min_aspect=0.9):
    """Ways to cut one piece into digits, each a list of masks left to right.

    A piece no wider than 0.9 of its height is one digit. A wider one (perhaps touching digits)
    is cut into k digits for every k its width allows (a digit is 0.45 to 1.05 of its height wide), each both
    at the thinnest columns near the expected boundaries and where the outline dips deepest
    (two round digits touch where they are thick, but below their tops); up to 1.6 times its
    height wide it may also be one wide digit. The first option is the likeliest by width alone;
    a reader with a model (`inference.Predictor`) picks the option whose pieces look most like
    digits.
    """
    left, top, right, bottom = bounds(mask)
    width, height = right - left, bottom - top
    if width <= min_aspect * height or width < 4:
        return [[mask]]
    whole = [[mask]] if width <= 1.6 * height else []
    likeliest = max(2, round(width / (0.65 * height)))
    counts = range(max(2, int(width / (1.05 * height))), min(8, max(2, int(np.ceil(width / (0.45 * height))))) + 1)
    options, seen = [], set()
    for count in sorted(counts, key=lambda count: abs(count - likeliest)):
        for valleys in (False, True):
            cuts = cut_positions(mask, count, valleys)
            if cuts not in seen:
                seen.add(cuts)
                options.append(cut_at(mask, cuts))
    if not whole + options:  # wider than eight digits: a line or a scribble, not a number to cut
        return [[mask]]
    return whole + options if width <= 1.2 * height else options + whole


def cut_positions(mask, count, valleys=False):
    """Columns that cut `mask` into `count` pieces, each searched within 30 % of a digit's width
    of where equal widths would put it: the thinnest column, or with `valleys` the column where
    the top and bottom outlines dip deepest (thickness counting against it)."""
    left, _, right, _ = bounds(mask)
    width = right - left
    columns = mask[:, left:right]
    cost = columns.sum(axis=0).astype(np.float64)
    if valleys:
        inked = columns.any(axis=0)
        first = np.where(inked, columns.argmax(axis=0), mask.shape[0])
        last = np.where(inked, mask.shape[0] - 1 - columns[::-1].argmax(axis=0), 0)
        cost = cost - 2.0 * ((first - first.min()) + (last.max() - last))
    cuts, step = [], width / count
    for boundary in range(1, count):
        expected = boundary * step
        start, stop = int(expected - 0.3 * step), int(expected + 0.3 * step) + 1
        cuts.append(left + start + int(np.argmin(cost[start:stop])))
    return tuple(cuts)


def cut_at(mask, cuts):
    """`mask` cut into pieces at the given columns (empty pieces left out)."""
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
    padded = np.zeros((binary.shape[0] + 2, binary.shape[1] + 2), dtype=bool)
    padded[1:-1, 1:-1] = binary
    interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    boundary = area - interior.sum()
    return 2.0 * area / max(boundary, 1)


def euler_number(binary: np.ndarray) -> int:
    """Pieces minus holes of a shape (8-connected), from its 2x2 windows (Gray's bit quads): an 8
    is 1 - 2 = -1, a 9 is 0, a 7 is 1. Filling a loop raises it."""
    padded = np.zeros((binary.shape[0] + 2, binary.shape[1] + 2), dtype=np.int8)
    padded[1:-1, 1:-1] = binary
    a, b, c, d = padded[:-1, :-1], padded[:-1, 1:], padded[1:, :-1], padded[1:, 1:]
    total = a + b + c + d
    diagonal = np.count_nonzero((total == 2) & (a == d))
    return (np.count_nonzero(total == 1) - np.count_nonzero(total == 3) - 2 * diagonal) // 4


def square_filter(array: np.ndarray, size: int, dilate: bool) -> np.ndarray:
    """Grey dilation (max) or erosion (min) over a size x size square, as Pillow's Max/MinFilter,
    done separably (rows, then columns): with shifted views for a small square, with van Herk's
    running extremes for a large one (a few passes whatever its size: a 61-px square costs what a
    7-px one does). Both give the same values; near the edges the square is cut off."""
    combine = np.maximum if dilate else np.minimum
    result = array
    for axis in (1, 0):
        result = running_extreme(result, size, axis, combine) if size >= 11 else shifted_extreme(result, size, axis, combine)
    return result


def shifted_extreme(source: np.ndarray, size: int, axis: int, combine) -> np.ndarray:
    result = source.copy()
    for shift in range(1, size // 2 + 1):
        if source.shape[axis] <= shift:
            break
        ahead = (slice(None), slice(shift, None)) if axis == 1 else (slice(shift, None), slice(None))
        behind = (slice(None), slice(None, -shift)) if axis == 1 else (slice(None, -shift), slice(None))
        combine(result[ahead], source[behind], out=result[ahead])
        combine(result[behind], source[ahead], out=result[behind])
    return result


def running_extreme(source: np.ndarray, size: int, axis: int, combine) -> np.ndarray:
    """The max (or min) over a centred window of `size` along `axis`, by doubling: extremes over
    windows of 2, 4, 8, ... elements, then each window of `size` as the extreme of two overlapping
    power-of-two windows. log2(size) passes instead of size - 1."""

    def part(array, start, stop=None):
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, stop)
        return array[tuple(index)]

    half, count = size // 2, source.shape[axis]
    if source.dtype == bool:
        fill = not dilate_of(combine)
    elif np.issubdtype(source.dtype, np.integer):
        fill = np.iinfo(source.dtype).min if dilate_of(combine) else np.iinfo(source.dtype).max
    else:
        fill = -np.inf if dilate_of(combine) else np.inf
    shape = list(source.shape)
    shape[axis] = count + 2 * half
    window = np.full(shape, fill, dtype=source.dtype)
    part(window, half, half + count)[...] = source
    span = 1  # window[i] holds the extreme of the padded elements i .. i + span - 1
    while 2 * span <= size:
        head = part(window, 0, -span)
        combine(head, part(window, span), out=head)
        span *= 2
    return combine(part(window, 0, count), part(window, size - span, size - span + count))


def dilate_of(combine) -> bool:
    return combine is np.maximum


def fit_box(image: Image.Image, size) -> Image.Image:
    """Resize so the longest side is `size`, aspect kept, anti-aliased."""
    width, height = image.size
    scale = size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(new_size, Image.Resampling.LANCZOS if scale > 1 else Image.Resampling.BOX)


def normalise_digit(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One digit's ink (restricted to `mask`) as a uint8 28x28 MNIST-style image."""
    left, top, right, bottom = bounds(mask)
    crop = ink[top:bottom, left:right] * mask[top:bottom, left:right]
    detail_size = BOX_SIZE * DETAIL_SCALE
    margin = detail_size // 4  # room for dilation
    detail = fit_box(Image.fromarray((crop * 255).astype(np.uint8), mode="L"), detail_size)
    detail = np.asarray(detail, dtype=np.float32)
    inked = detail[detail > 32]
    if inked.size:
        # thin anti-aliased lines arrive grey: make the median ink pixel full white, as MNIST cores are
        detail = np.minimum(detail * (255.0 / middle(inked)), 255.0)
    array = np.zeros((detail.shape[0] + 2 * margin, detail.shape[1] + 2 * margin), dtype=np.uint8)
    array[margin:-margin, margin:-margin] = detail
    target = MNIST_STROKE_WIDTH * DETAIL_SCALE * BOX_SIZE / 20.0
    width = stroke_width(array > 127)
    if width < 0.75 * target:
        size = 2 * max(1, round((target - width) / 2)) + 1  # dilation widens by size - 1
        euler = euler_number(array > 127)
        dilated = square_filter(array, size, dilate=True)
        while size > 3 and euler_number(dilated > 127) > euler:  # never fill a 9's small loop
            size -= 2
            dilated = square_filter(array, size, dilate=True)
        array = dilated
    elif width > 1.5 * target:
        size = 2 * max(1, round((width - target) / 2)) + 1
        eroded = square_filter(array, size, dilate=False)
        if np.count_nonzero(eroded > 127) > 0.25 * np.count_nonzero(array > 127):
            array = eroded
    ys, xs = np.flatnonzero(array.any(axis=1)), np.flatnonzero(array.any(axis=0))
    if ys.size == 0:  # a piece of faint pixels only (a cut through the learned reader's hysteresis): no ink
        return np.zeros((28, 28), np.uint8)
    cropped = Image.fromarray(array[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1])
    boxed = np.asarray(fit_box(cropped, BOX_SIZE), dtype=np.float32)
    peak = boxed.max()
    if peak > 0:
        boxed = np.clip(boxed * (255.0 / peak), 0, 255)
    # centre by centre of mass, as MNIST did
    total = boxed.sum()
    centre_y = float(boxed.sum(axis=1) @ np.arange(boxed.shape[0])) / total if total else boxed.shape[0] / 2
    centre_x = float(boxed.sum(axis=0) @ np.arange(boxed.shape[1])) / total if total else boxed.shape[1] / 2
    # MNIST's centres of mass sit at row 14.0, column 14.0 (mean over the training set, std 0.3)
    top_offset = int(np.clip(round(14 - centre_y), 0, 28 - boxed.shape[0]))
    left_offset = int(np.clip(round(14 - centre_x), 0, 28 - boxed.shape[1]))
    result = np.zeros((28, 28), dtype=np.float32)
    result[top_offset : top_offset + boxed.shape[0], left_offset : left_offset + boxed.shape[1]] = boxed
    return np.round(result).astype(np.uint8)


def dark_panels(levels: np.ndarray) -> list:
    """Solid dark rectangles on a light page, as (left, top, right, bottom) in working pixels: an
    image shown on a page or a screen (MNIST plotted white on black, a screenshot, a phone's screen
    photographed on a desk), whose light strokes inside are the digit. `levels` are a light page's
    working levels (dark is bright in them). A panel fills most of its box and every side of it,
    so a fat marker stroke (rounded, or thin somewhere) is none, and it is not the whole picture;
    thin bits sticking out of it (a plot's tick marks) are left aside. Found at most LABEL_SIZE px
    on a side (block means); a box comes back one block inside."""
    if np.count_nonzero(levels > 0.5) < PANEL_SHARE * PANEL_FILL * levels.size:
        return []  # too little dark for any panel: most pictures, at the cost of one comparison
    block = max(1, -(-max(levels.shape) // LABEL_SIZE))
    height, width = levels.shape[0] // block, levels.shape[1] // block
    solid = shrink(levels, block, np.add) > 0.5 * block * block  # the blocks' means over 0.5
    if np.count_nonzero(solid) < PANEL_SHARE * PANEL_FILL * solid.size:
        return []  # only strokes: averaged over blocks they are no longer dark
    labels, count = label_components(solid)
    left, top, right, bottom, area = component_boxes(labels, count)
    panels = []
    inset = 1 if block > 1 else 0
    for label in np.flatnonzero(((bottom - top - 2 * inset) * block >= PANEL_SIDE) & ((right - left - 2 * inset) * block >= PANEL_SIDE)):
        inside = labels[top[label] : bottom[label], left[label] : right[label]] == label
        # the rows and columns it mostly fills: a plot's tick marks or a stand sticking out aside
        rows, columns = np.flatnonzero(inside.mean(axis=1) >= 0.5), np.flatnonzero(inside.mean(axis=0) >= 0.5)
        if rows.size == 0 or columns.size == 0:
            continue
        box = (int(left[label] + columns[0]), int(top[label] + rows[0]), int(left[label] + columns[-1] + 1), int(top[label] + rows[-1] + 1))
        box_area = (box[2] - box[0]) * (box[3] - box[1])
        if box_area < PANEL_SHARE * height * width or box_area == height * width or min(box[2] - box[0], box[3] - box[1]) <= 2 * inset:
            continue
        inside = labels[box[1]:box[3], box[0]:box[2]] == label
        if inside.sum() < PANEL_CORE * area[label]:
            continue  # more than thin bits outside the rectangle: a blob (a stroke merged with a shadow)
        if min(inside[0].mean(), inside[-1].mean(), inside[:, 0].mean(), inside[:, -1].mean()) < PANEL_EDGE_FILL:
            continue
        dark = solid[box[1]:box[3], box[0]:box[2]]  # the panel and what dark it holds (a 0's middle)
        thick = max(2, round(PANEL_STROKE * min(dark.shape)))
        if dark.mean() >= PANEL_FILL and not square_filter(~dark, thick, dilate=False)[1:-1, 1:-1].any() and not framed_paper(~dark):
            panels.append(box)
    panels = outermost(panels)  # a dark part of a panel's picture (a 9's loop) is no panel of its own
    if not panels:
        return []
    boxes = [tuple(value * block for value in box) for box in panels]
    rims = [(max(l - 2 * block, 0), max(t - 2 * block, 0), r + 2 * block, b + 2 * block) for l, t, r, b in boxes]  # blocks cut across them
    if tall_piece_outside(levels > 0.5, boxes, rims):
        return []
    return [tuple((value + (inset if i < 2 else -inset)) * block for i, value in enumerate(box)) for box in panels]


def tall_piece_outside(ink: np.ndarray, boxes: list, cleared: list) -> bool:
    """Whether, outside the `cleared` boxes, the `ink` mask (working pixels) holds a piece as tall
    as a third of the shortest of `boxes` that is not around one of them: something that may be a
    digit written beside the panels or plots (then the page is read whole). Small print (titles,
    tick numbers) and a frame around the figure are not. At working size, so a thin pen line counts."""
    outside = ink.copy()
    for left, top, right, bottom in cleared:
        outside[top:bottom, left:right] = False
    pieces, count = label_components(outside)
    piece_left, piece_top, piece_right, piece_bottom, _ = component_boxes(pieces, count)
    tall = np.flatnonzero((piece_bottom - piece_top) >= PANEL_OUTSIDE_HEIGHT * min(b - t for _, t, _, b in boxes))
    return any(not any(inside_of(box, (piece_left[piece], piece_top[piece], piece_right[piece], piece_bottom[piece])) for box in boxes)
               for piece in tall[tall > 0])


def plot_frames(levels: np.ndarray) -> list:
    """The insides of straight thin frames on a light page, as (left, top, right, bottom) in
    working pixels: a plot's axes drawn round an image dark on light (`cmap="binary"`), tick marks
    sticking out. A frame is a piece whose box has a row (column) at least 90 % covered at its
    top and bottom (left and right) and little of it inside. Only used where a frame is not alone
    on the page (a grid of plots, or small print such as tick numbers around it): a frame alone
    round a digit is read whole, frame taken out, as always."""
    ink = levels > 0.5
    if not framed_lines(ink):
        return []  # no two long lines each way, far apart: most pictures, at little cost
    labels, count = label_components(ink)
    left, top, right, bottom, _ = component_boxes(labels, count)
    height, width = ink.shape
    insides = []
    for label in np.flatnonzero((bottom - top >= PANEL_SIDE) & (right - left >= PANEL_SIDE) & ((bottom - top) * (right - left) >= PANEL_SHARE * ink.size)):
        if label == 0:
            continue
        piece = labels[top[label] : bottom[label], left[label] : right[label]] == label
        rows, columns = np.flatnonzero(piece.mean(axis=1) >= PANEL_EDGE_FILL), np.flatnonzero(piece.mean(axis=0) >= PANEL_EDGE_FILL)
        if rows.size < 2 or columns.size < 2:
            continue
        # the lines' inner edges: the end of the first run of covered rows, the start of the last
        row_gaps, column_gaps = np.flatnonzero(np.diff(rows) > 1), np.flatnonzero(np.diff(columns) > 1)
        if row_gaps.size == 0 or column_gaps.size == 0:
            continue
        inner_top, inner_left = rows[row_gaps[0]] + 1, columns[column_gaps[0]] + 1
        inner_bottom = rows[rows >= inner_top][0]
        inner_right = columns[columns >= inner_left][0]
        box = (int(left[label] + inner_left + 1), int(top[label] + inner_top + 1), int(left[label] + inner_right - 1), int(top[label] + inner_bottom - 1))
        if box[2] - box[0] < PANEL_SIDE or box[3] - box[1] < PANEL_SIDE:
            continue
        if (labels[box[1] : box[3], box[0] : box[2]] == label).mean() > 0.5:
            continue  # not hollow: a filled shape (strokes touching the frame may fill a little)
        if box[0] == 0 and box[1] == 0 and box[2] == width and box[3] == height:
            continue
        insides.append((box, (int(left[label]), int(top[label]), int(right[label]), int(bottom[label]))))
    kept = outermost([box for box, _ in insides])
    insides = [(box, frame) for box, frame in insides if box in kept]
    if not insides or tall_piece_outside(ink, [box for box, _ in insides], [frame for _, frame in insides]):
        return []
    if len(insides) == 1:
        outside = ink.copy()
        left_, top_, right_, bottom_ = insides[0][1]
        outside[top_:bottom_, left_:right_] = False
        if np.count_nonzero(outside) < 4 * MIN_INK_PIXELS:
            return []  # a frame alone round a digit: the whole page reads it, frame taken out
    return [box for box, _ in insides]


def framed_lines(ink: np.ndarray) -> bool:
    """Whether `ink` may hold a plot's frame: on a copy at most LABEL_SIZE px on a side (a block
    inky if any of its pixels is), two thin lines (at most two blocks thick) each way, each as long
    as the smallest panel's side, at least that far apart. A dark desk or shadow at the edges is
    thick, and strokes are short or come one a way."""
    block = max(1, -(-max(ink.shape) // LABEL_SIZE))
    small = shrink(ink, block, np.maximum)
    length = max(PANEL_SIDE // block, round(np.sqrt(PANEL_SHARE) * min(small.shape)), 2)

    def lines(mask):
        changes = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
        rows, starts = np.nonzero(changes == 1)
        stops = np.nonzero(changes == -1)[1]
        rows = np.unique(rows[stops - starts >= length])
        if rows.size < 2:
            return False
        groups = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
        thin = [group[0] for group in groups if group.size <= 2]
        return len(thin) >= 2 and max(thin) - min(thin) >= length

    return lines(small) and lines(small.T)


def component_boxes(labels: np.ndarray, count: int):
    """(left, top, right, bottom, area) of each label 0..count, as arrays (right and bottom
    exclusive; a label with no pixel gets an empty box)."""
    height, width = labels.shape
    rows, columns = np.nonzero(labels)
    which = labels[rows, columns]
    top, left = np.full(count + 1, height), np.full(count + 1, width)
    bottom, right = np.zeros(count + 1, int), np.zeros(count + 1, int)
    np.minimum.at(top, which, rows)
    np.minimum.at(left, which, columns)
    np.maximum.at(bottom, which, rows + 1)
    np.maximum.at(right, which, columns + 1)
    return left, top, right, bottom, np.bincount(which, minlength=count + 1)


def framed_paper(light: np.ndarray) -> bool:
    """Whether the light inside a dark rectangle is paper seen through a frame rather than strokes:
    it spans most of the rectangle each way and lines the box it spans on three sides or four
    (paper meets a frame's inside edge all round, where a digit's strokes touch their box at a few
    points; a digit across the paper may cover one side)."""
    rows, columns = np.flatnonzero(light.mean(axis=1) > 0.2), np.flatnonzero(light.mean(axis=0) > 0.2)  # specks and corners aside
    if rows.size == 0 or rows[-1] - rows[0] + 1 < 0.5 * light.shape[0] or columns[-1] - columns[0] + 1 < 0.5 * light.shape[1]:
        return False
    spanned = light[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    sides = (spanned[0].mean(), spanned[-1].mean(), spanned[:, 0].mean(), spanned[:, -1].mean())
    return sum(side >= 0.8 for side in sides) >= 3


def inside_of(box, outer) -> bool:
    """Whether `box` lies within `outer` (both (left, top, right, bottom))."""
    return outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]


def outermost(boxes: list) -> list:
    """The boxes that lie within no other (a 9's dark loop inside its panel is no panel)."""
    return [box for box in boxes if not any(other != box and inside_of(box, other) for other in boxes)]


def reading_order(boxes: list) -> list:
    """Boxes in rows from the top, each row left to right: a box joins a row when its middle lies
    between the top and bottom of the row's first box."""
    rows = []
    for box in sorted(boxes, key=lambda box: box[1]):
        middle_y = (box[1] + box[3]) / 2
        row = next((row for row in rows if row[0][1] <= middle_y < row[0][3]), None)
        row.append(box) if row is not None else rows.append([box])
    return [box for row in rows for box in sorted(row, key=lambda box: box[0])]


def read_panels(image: Image.Image, working, multi: bool) -> Optional[Reading]:
    """The digits in the dark panels of a light page (`dark_panels`), each panel read on its own
    as light ink on dark paper, or else inside its plots' frames (`plot_frames`, dark ink), in
    reading order; None when there is no such panel holding light
    strokes (then the picture is read whole). Several panels (a grid of samples) hold one digit
    each; with `multi` a single panel may hold several. Without `multi`, several panels are
    several digits (`parts`), the largest panel's the answer."""
    levels, factor, dark = working
    if not dark:
        return None
    scale_x, scale_y = input_scale(image)
    found = []
    boxes, light_ink = reading_order(dark_panels(levels)), True
    if not boxes:
        boxes, light_ink = reading_order(plot_frames(levels)), False
    for left, top, right, bottom in boxes:
        box = (left * factor, top * factor, min(right * factor, image.width), min(bottom * factor, image.height))
        panel = part_of(image, box)
        # a panel is the paper, so its ink is light (inside a plot's frame, dark): a bold digit that
        # fills much of it is no reason to judge otherwise (nothing inside reads no digit)
        reading = read_image(panel, multi and len(boxes) == 1, working_levels(panel, dark=not light_ink))  # a grid: a digit a panel
        if reading.digits:
            found.append((box, reading))
    if not found:
        return None
    found = [(box, moved_reading(reading, box, scale_x, scale_y)) for box, reading in found]
    doubt = next((reading.doubt for box, reading in found if reading.doubt), None)
    if multi:
        options = [group for box, reading in found for group in (reading.options or [[reading.digits[:1]]])]
        return Reading([digit for group in options for digit in group[0]], [], options=options, doubt=doubt)
    digits = [reading.digits[0] for box, reading in found]
    largest = max(range(len(found)), key=lambda i: (found[i][0][2] - found[i][0][0]) * (found[i][0][3] - found[i][0][1]))
    return Reading([digits[largest]], digits if len(digits) > 1 else [], several=len(digits) > 1, doubt=doubt)


def read(source, multi=False, name=None) -> Reading:
    """Every digit in a picture (path, bytes or PIL image) as MNIST-style 28x28 uint8 arrays.

    Without `multi` everything that is ink (minus specks, lines and frames) is one digit, and
    `parts` holds the pieces side by side when there are several (so a caller can say "several
    digits"). With `multi`, one digit per piece, left to right, touching digits cut apart (see
    `split_options`). Dark panels on a light page (`dark_panels`: MNIST plotted white on black, a
    screen) are read each on its own, their light strokes the ink; else plots' thin frames beside
    other plots or tick numbers (`plot_frames`), their dark strokes the ink.
    """
    image = source if isinstance(source, Image.Image) else open_image(source, name)
    working = working_levels(image)
    panels = read_panels(image, working, multi)
    if panels is not None:
        return panels
    reading = read_image(image, multi, working)
    return closer_look(image, reading, working, multi) or reading


def closer_look(image: Image.Image, reading: Reading, working, multi: bool) -> Optional[Reading]:
    """`reading` of a big picture read again from the part that holds its digits, at full detail,
    when they are small (under CLOSE_LOOK working pixels each way): a digit 50 px tall on a
    4000x3000 photo is 6 px once shrunk, too few to tell a 3 from an 8. None when there is no
    need, or when the closer look does not find the same digits (anything outside the first
    reading's box, or nothing)."""
    levels, factor, dark = working
    if factor == 1 or not reading.digits:
        return None
    scale_x, scale_y = input_scale(image)
    found = [digit.box for digit in reading.digits + reading.parts]
    left = min(box[0] for box in found) / scale_x
    top = min(box[1] for box in found) / scale_y
    right = max(box[2] for box in found) / scale_x
    bottom = max(box[3] for box in found) / scale_y
    side = max(right - left, bottom - top)
    if side >= CLOSE_LOOK * factor:
        return None
    margin = max(side, 4 * factor)
    box = (max(int(left - margin), 0), max(int(top - margin), 0),
           min(int(right + margin) + 1, image.width), min(int(bottom + margin) + 1, image.height))
    part = part_of(image, box)
    closer = read_image(part, multi, working_levels(part, dark=dark))
    if not closer.digits:
        return None
    slack = side / 4 + 2 * factor
    for digit in closer.digits + closer.parts:
        l, t, r, b = digit.box
        if l + box[0] < left - slack or t + box[1] < top - slack or r + box[0] > right + slack or b + box[1] > bottom + slack:
            return None
    return moved_reading(closer, box, scale_x, scale_y)


def input_scale(image: Image.Image) -> tuple:
    """(x, y): input pixels per pixel of `image`, more than 1 when a big JPEG was decoded at a
    smaller scale (`open_image` keeps its size as `original_size`)."""
    original = image.info.get("original_size", image.size)
    return original[0] / image.size[0], original[1] / image.size[1]


def part_of(image: Image.Image, box) -> Image.Image:
    """`image` cropped to `box`, read in its own pixels (a crop keeps `info`, and with it a big
    JPEG's `original_size`, which would scale the part's boxes as if it were the whole)."""
    part = image.crop(box)
    part.info.pop("original_size", None)
    return part


def moved_reading(reading: Reading, offset, scale_x: float, scale_y: float) -> Reading:
    """`reading` of a part of a picture (cropped at `offset`, its boxes in the part's pixels) with
    its boxes in the whole picture's input pixels."""
    def moved(digit):
        left, top, right, bottom = digit.box
        return DigitImage(digit.pixels, (round((left + offset[0]) * scale_x), round((top + offset[1]) * scale_y),
                                         round((right + offset[0]) * scale_x), round((bottom + offset[1]) * scale_y)))
    options = [[[moved(digit) for digit in option] for option in group] for group in reading.options]
    return Reading([moved(d) for d in reading.digits], [moved(d) for d in reading.parts], reading.note, options, reading.several,
                   reading.doubt)


def read_image(image: Image.Image, multi: bool, working) -> Reading:
    """`read` of a picture as one page, from its `working_levels`."""
    found = ink_map(working)
    if found is None:
        return Reading([], [])
    ink, factor = found
    labels, keep, label_factor, cleared = find_pieces(ink)
    if not keep:
        return Reading([], [], note="only lines or a frame" if cleared else None)
    original = image.info.get("original_size", image.size)
    scale_x, scale_y = input_scale(image)
    factor_x, factor_y = factor * scale_x, factor * scale_y

    def digit(mask):
        # the piece widened by a pixel (its strokes' soft edges belong to it), worked on in its box
        left, top, right, bottom = bounds(mask)
        left, top = max(left - 1, 0), max(top - 1, 0)
        right, bottom = min(right + 1, mask.shape[1]), min(bottom + 1, mask.shape[0])
        y0, x0 = top * label_factor, left * label_factor
        y1, x1 = min(bottom * label_factor, ink.shape[0]), min(right * label_factor, ink.shape[1])
        piece_ink = ink[y0:y1, x0:x1]
        working = to_working(square_filter(mask[top:bottom, left:right], 3, dilate=True), label_factor, piece_ink.shape) & (piece_ink > 0)
        box_left, box_top, box_right, box_bottom = bounds(working)
        box = (
            round((x0 + box_left) * factor_x),
            round((y0 + box_top) * factor_y),
            min(round((x0 + box_right) * factor_x), original[0]),
            min(round((y0 + box_bottom) * factor_y), original[1]),
        )
        return DigitImage(pixels=normalise_digit(piece_ink, working), box=box)

    groups = digit_groups(labels, keep)
    doubt = BUSY if marks_around(labels, keep, max_pool(ink > 0.5, label_factor)) >= BUSY_MARKS else None
    if multi:
        options = [[[digit(piece) for piece in option] for option in split_options(group)] for group in groups]
        return Reading([piece for group in options for piece in group[0]], [], options=options, doubt=doubt)
    parts = []
    if len(groups) > 1:
        heights = [bounds(group)[3] - bounds(group)[1] for group in groups]
        sizeable = [group for group, height in zip(groups, heights) if height >= 0.5 * max(heights)]
        parts = [digit(group) for group in sizeable] if len(sizeable) > 1 else []
    else:
        likeliest = split_options(groups[0])[0]
        if len(likeliest) > 1:  # one wide piece: perhaps digits that touch
            parts = [digit(piece) for piece in likeliest]
    return Reading([digit(groups[0] if len(groups) == 1 else select(labels, keep))], parts, doubt=doubt)


def marks_around(labels: np.ndarray, keep: list, strong: np.ndarray) -> int:
    """How many pieces that are not the digit lie around it (within BUSY_MARGIN of its box): specks
    and bits dropped on the way, when more than a pixel or holding ink (`strong`, label resolution:
    a faint pixel alone is a noisy photo's grain). Writing on paper has next to none, even
    photographed in a shadow, on squared paper or with a circle round it; the edges and textures
    of a photo of things make dozens. `python benchmarks/marks_around.py`: at most 7 in 1,018
    pictures of writing (the benchmark's categories and hwd-1000 digits placed in its conditions),
    8 or more in 114 of 252 pictures cut from scikit-image's and scikit-learn's sample photos."""
    kept = select(labels, keep)
    left, top, right, bottom = bounds(kept)
    reach_x, reach_y = int(BUSY_MARGIN * (right - left)), int(BUSY_MARGIN * (bottom - top))
    window = slice(max(top - reach_y, 0), bottom + reach_y), slice(max(left - reach_x, 0), right + reach_x)
    around = np.unique(labels[window][~kept[window]])
    around = around[around > 0]
    sizes = np.bincount(labels.ravel(), minlength=labels.max() + 1)
    inky = np.zeros(labels.max() + 1, bool)
    inky[labels[strong & (labels > 0)]] = True
    return int(np.count_nonzero((sizes[around] >= 2) | inky[around]))


def prepare(source, multi=False, name=None):
    """The digits of `read` alone: a list of `DigitImage`, left to right, empty when none."""
    return read(source, multi, name).digits


def prepare_pixels(pixels) -> np.ndarray:
    """784 grey values (0-255, white ink on black, as from a 28x28 canvas) checked and reshaped."""
    try:
        array = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DigitrecError("pixels: values must be numbers from 0 to 255") from None
    if array.size != 784:
        raise DigitrecError(f"pixels: expected 784 values (28x28), got {array.size}")
    if not np.isfinite(array).all() or array.min() < 0 or array.max() > 255:
        raise DigitrecError("pixels: values must be numbers from 0 to 255")
    return np.round(array).astype(np.uint8).reshape(28, 28)
