"""Digits from the learned stage's output: the reader without the rule pile.

The segmenter (`reading.segmenter`) says per pixel how likely it is handwriting: paper, shadows,
lines, frames, print and things are its background. What is left is exact: the pieces of what it
calls ink (`imaging.label_components`), specks dropped, pieces one above the other grouped into a
digit (`imaging.digit_groups`), touching digits cut (`imaging.split_options`), each digit
normalised as MNIST's were (`imaging.normalise_digit`). A digit small on a big picture is read
again from its part of the picture, at full detail.
"""

import dataclasses
from typing import Optional

import numpy as np
from PIL import Image

from .. import imaging
from ..imaging import DigitImage, Reading
from . import segmenter as stage


@dataclasses.dataclass(frozen=True)
class ReadSettings:
    """The few numbers the learned reader keeps, one line each (a benchmark can sweep them)."""

    ink: float = 0.8  # the segmenter's probability from which a pixel is surely handwriting...
    faint: float = 0.2  # ...and from which it is, when connected to such pixels (hysteresis)
    min_ink_pixels: int = 6  # fewer output pixels of ink than this: nothing written
    speck_share: float = 0.05  # pieces smaller than this share of the largest are specks
    close_look: int = 48  # working px: a digit smaller than this on a shrunk picture is read again from its part
    part_height: float = 0.5  # without multi, pieces this share of the tallest piece's height count as parts
    noiseless: bool = True  # a noiseless picture of one piece of ink is read without the segmenter (`noiseless_ink`)
    fine_size: int = 1024  # px: a bigger picture in which nothing was found is looked at again this size (4x finer on a 4000x3000 photo)
    reach: float = 1.0  # without multi, pieces closer than this share of the taller one's height belong together (`clusters`)


SETTINGS = ReadSettings()


def read(source, multi=False, name=None, settings: ReadSettings = SETTINGS, segmenter=None) -> Reading:
    """`imaging.read` with the learned stage: every digit in a picture (path, bytes or PIL image)."""
    image = source if isinstance(source, Image.Image) else imaging.open_image(source, name)
    segmenter = segmenter or stage.shipped()
    reading, small = read_image(image, multi, settings, segmenter)
    if not reading.digits and max(image.size) > settings.fine_size:  # small writing on a big picture is lost once shrunk
        reading, small = read_image(image, multi, settings, segmenter, settings.fine_size)
    if small is not None:
        closer = closer_look(image, reading, small, multi, settings, segmenter)
        if closer is not None:
            return closer
    return reading


def read_image(image: Image.Image, multi: bool, settings: ReadSettings, segmenter, size=stage.SEGMENT_SIZE) -> tuple:
    """(reading, factor): `read` of the picture as one page, from a working picture at most `size`
    on its longest side, and the working picture's factor when its digits are small on a shrunk
    picture (else None)."""
    picture, factor = stage.working_picture(image, size)
    probability = noiseless_ink(picture, settings) if settings.noiseless and factor <= 1 else None
    if probability is None:
        probability = segmenter(picture)
        step = factor * stage.OUTPUT_SCALE
    else:
        step = factor
    if np.count_nonzero(probability >= settings.ink) < settings.min_ink_pixels:
        return Reading([], []), None
    labels, count = imaging.label_components(probability >= settings.faint)
    sure = np.zeros(count + 1, bool)
    sure[labels[probability >= settings.ink]] = True
    sizes = np.bincount(labels.ravel(), minlength=count + 1) * sure
    keep = [label for label in range(1, count + 1) if sizes[label] >= settings.speck_share * sizes[1:].max()]
    ink = np.clip((probability - settings.faint) / (settings.ink - settings.faint), 0, 1)  # strokes solid, as MNIST's are
    scale_x, scale_y = imaging.input_scale(image)
    original = image.info.get("original_size", image.size)

    def digit(mask):
        left, top, right, bottom = imaging.bounds(mask)
        box = (round(left * step * scale_x), round(top * step * scale_y),
               min(round(right * step * scale_x), original[0]), min(round(bottom * step * scale_y), original[1]))
        return DigitImage(pixels=imaging.normalise_digit(ink, mask), box=box)

    groups = imaging.digit_groups(labels, keep)
    heights = [imaging.bounds(group)[3] - imaging.bounds(group)[1] for group in groups]
    tallest = max(heights)
    small = factor if factor > 1 and tallest * step / factor < settings.close_look else None
    if multi:
        options = [[[digit(piece) for piece in option] for option in imaging.split_options(group)] for group in groups]
        return Reading([piece for group in options for piece in group[0]], [], options=options), small
    apart = clusters(labels, keep, settings.reach)
    if len(apart) > 1:  # the detector says which of them, if any, is the digit (`Predictor.alone`)
        return Reading([digit(imaging.select(labels, keep))], [digit(imaging.select(labels, group)) for group in apart], apart=True), small
    parts = []
    if len(groups) > 1:
        sizeable = [group for group, height in zip(groups, heights) if height >= settings.part_height * tallest]
        parts = [digit(group) for group in sizeable] if len(sizeable) > 1 else []
    else:
        likeliest = imaging.split_options(groups[0])[0]
        if len(likeliest) > 1:  # one wide piece: perhaps digits that touch
            parts = [digit(piece) for piece in likeliest]
    return Reading([digit(groups[0] if len(groups) == 1 else imaging.select(labels, keep))], parts), small


def clusters(labels: np.ndarray, keep: list, reach: float) -> list:
    """The pieces `keep` in clusters, left to right: two pieces are in one when the gap between their
    boxes is under `reach` times the taller one's height. A digit's own pieces (a 5's bar, a 4 in
    two strokes) and a letter's lie closer than that; print, icons, a finger or the edge of a
    sheet usually lie farther off. (Measured on the tune side: the smaller piece's size as the
    measure joined fewer of a letter's pieces, and read 10 more of 367 HASYv2 symbols as digits;
    1.5 heights joined the print to the digit again.)"""
    left, top, right, bottom, _ = imaging.component_boxes(labels, int(labels.max()))
    boxes = np.stack([left, top, right, bottom], axis=1)[keep]
    gap_x = np.maximum(boxes[:, None, 0] - boxes[None, :, 2], boxes[None, :, 0] - boxes[:, None, 2])
    gap_y = np.maximum(boxes[:, None, 1] - boxes[None, :, 3], boxes[None, :, 1] - boxes[:, None, 3])
    heights = boxes[:, 3] - boxes[:, 1]
    near = np.maximum(gap_x, gap_y) < reach * np.maximum(heights[:, None], heights[None, :])
    cluster = np.arange(len(keep))
    for _ in range(len(keep)):  # the smallest index spreads along the links until nothing changes
        joined = np.where(near, cluster[None, :], len(keep)).min(axis=1)
        if (joined == cluster).all():
            break
        cluster = joined
    members = sorted((np.flatnonzero(cluster == c) for c in np.unique(cluster)), key=lambda indices: boxes[indices, 0].min())
    return [[keep[i] for i in indices] for indices in members]


def noiseless_ink(picture: np.ndarray, settings: ReadSettings) -> Optional[np.ndarray]:
    """The ink of a picture without noise (a drawing app's canvas, not shrunk), when it is one piece: how far
    each working pixel is from the one colour that all its edges have, as a share of the stroke's
    typical distance (the median of those at least half the farthest; a pen pressed harder at one
    spot leaves the rest of the stroke ink).
    A camera, a scanner or JPEG never leaves a picture's edges one exact colour; what a canvas
    holds besides one piece of writing (a frame, a ring, a second digit) is more than one piece,
    and goes to the segmenter. None when the picture is not such a canvas."""
    edges = np.concatenate([picture[0], picture[-1], picture[1:-1, 0], picture[1:-1, -1]])
    if (edges != edges[0]).any():
        return None
    distance = np.abs(picture - edges[0]).max(axis=2)
    farthest = distance.max()
    if farthest == 0 or np.count_nonzero(distance) > 0.5 * distance.size:
        return None
    ink = np.minimum(distance / np.median(distance[distance >= farthest / 2]), 1)  # the stroke's own darkness is ink, not its darkest spot's
    if imaging.label_components(ink >= settings.faint)[1] != 1:
        return None
    return ink


def closer_look(image: Image.Image, reading: Reading, factor: int, multi: bool, settings: ReadSettings, segmenter) -> Optional[Reading]:
    """`reading` of a big picture read again from the part round its digits (as wide again on each
    side), when they are small there; None when the part holds nothing."""
    scale_x, scale_y = imaging.input_scale(image)
    found = [digit.box for digit in (reading.parts if reading.apart else reading.digits + reading.parts)]
    if reading.apart:  # clusters apart: those that could be digits, not the print or specks round them
        tallest = max(box[3] - box[1] for box in found)
        found = [box for box in found if box[3] - box[1] >= settings.part_height * tallest]
    left, top = min(box[0] for box in found) / scale_x, min(box[1] for box in found) / scale_y
    right, bottom = max(box[2] for box in found) / scale_x, max(box[3] for box in found) / scale_y
    margin = max(right - left, bottom - top, 4 * factor)
    box = (max(int(left - margin), 0), max(int(top - margin), 0),
           min(int(right + margin) + 1, image.width), min(int(bottom + margin) + 1, image.height))
    closer, _ = read_image(imaging.part_of(image, box), multi, settings, segmenter)
    if not closer.digits:
        return None
    return imaging.moved_reading(closer, box, scale_x, scale_y)

