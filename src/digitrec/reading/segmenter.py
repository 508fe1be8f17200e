"""The learned stage: per-pixel probability that the working picture shows handwriting there.

`working_picture` gives what the network sees: the picture in RGB (transparency resolved), shrunk
by a whole factor with box means until its longest side is at most `SEGMENT_SIZE`, as float32 in
[0, 1]. `Segmenter` runs `pretrained/segmenter.onnx` (built by `scripts/build_segmenter.py`,
`make segmenter`) on it with one thread: the network is small, and ONNX Runtime's default pool
spins against the rest of the reading. Its output has half the working picture's resolution.
"""

import functools
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import DigitrecError
from ..imaging import eight_bit, sample

SEGMENT_SIZE = 256  # longest side of the working picture the network sees
SMALL_SIZE = 64  # a picture whose longest side is under this is enlarged (a whole factor) up to it (112 made a tight crop's strokes too fat for the network: 18 of 40 hwd-1000 crops read, against 39)
STRIDE = 16  # the network halves the picture four times: its sides are padded to a multiple of this
OUTPUT_SCALE = 2  # working pixels per output pixel
PRETRAINED = Path(__file__).resolve().parent.parent / "pretrained" / "segmenter.onnx"


def working_picture(image: Image.Image, size: int = SEGMENT_SIZE):
    """(picture, factor): float32 (H, W, 3) in [0, 1] at most `size` on its longest side (at
    least SMALL_SIZE, a small picture enlarged), and the input pixels per working pixel. A picture that is mostly transparent (strokes on a
    transparent canvas) is its opacity as dark ink on white; else transparency is laid on white."""
    image = eight_bit(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if (sample(np.asarray(alpha)) < 128).mean() > 0.5:
            image = Image.eval(alpha, lambda level: 255 - level)
        else:
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    image = image.convert("RGB")
    factor = max(1, -(-max(image.size) // size))
    if factor > 1:
        image = image.reduce(factor)
    elif max(image.size) < SMALL_SIZE:
        enlarge = -(-SMALL_SIZE // max(image.size))
        image, factor = image.resize((image.width * enlarge, image.height * enlarge), Image.Resampling.BILINEAR), 1 / enlarge
    return np.asarray(image, dtype=np.float32) / 255.0, factor


def padded(picture: np.ndarray, multiple: int = STRIDE) -> np.ndarray:
    """`picture` with its edge rows and columns repeated at the bottom and right up to a multiple."""
    height, width = picture.shape[:2]
    extra = ((0, -height % multiple), (0, -width % multiple)) + ((0, 0),) * (picture.ndim - 2)
    return np.pad(picture, extra, mode="edge")


class Segmenter:
    """The shipped segmenter (or the ONNX file at `path`), one thread."""

    def __init__(self, path=None):
        import onnxruntime

        path = Path(path) if path else PRETRAINED
        if not path.is_file():
            raise DigitrecError(f"{path}: no segmenter here (make segmenter builds it)")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, picture: np.ndarray) -> np.ndarray:
        """float32 (ceil(H/2), ceil(W/2)): the probability of handwriting per 2x2 working pixels."""
        height, width = picture.shape[:2]
        out = self.session.run(None, {self.input: padded(picture)[None]})[0]
        return out[0, : -(-height // OUTPUT_SCALE), : -(-width // OUTPUT_SCALE), 0]


@functools.lru_cache(maxsize=1)
def shipped() -> Segmenter:
    return Segmenter()
