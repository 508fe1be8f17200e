"""Real photos that hold no digit: the sample pictures that ship with scikit-image (a cat, an
astronaut, a rocket, coins, a motorcycle, a page of text, a retina, a chessboard...) and
scikit-learn (a temple, a flower), whole and cropped at random, the way someone might hand
digitrec a picture that is not of a digit. Nothing in digitrec was trained on them.

    python benchmarks/photos.py --out photos/     # writes them as PNG files
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image


def photo_paths() -> list:
    """The sample pictures' files (PNG and JPEG): scikit-image's 26 (photos, and a chessboard, a
    colour gradient, a logo, a phantom, pages of text) and scikit-learn's 2."""
    import skimage
    import sklearn.datasets

    folders = [Path(skimage.__file__).parent / "data", Path(sklearn.datasets.__file__).parent / "images"]
    return sorted(path for folder in folders for path in folder.glob("*") if path.suffix in (".png", ".jpg"))


def photo_set(crops=8, seed=0) -> list:
    """(name, RGB or grey PIL image) pairs: each photo whole, then `crops` square crops of 15-60 %
    of its shorter side at random places, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    pictures = []
    for path in photo_paths():
        with Image.open(path) as opened:
            photo = opened.copy()
        pictures.append((path.name, photo))
        for index in range(crops):
            width, height = photo.size
            side = int(rng.uniform(0.15, 0.6) * min(width, height))
            left, top = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
            pictures.append((f"{path.stem}-crop{index}{path.suffix}", photo.crop((left, top, left + side, top + side))))
    return pictures


def main():
    from drawn_digits import save_pictures

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write into")
    parser.add_argument("--crops", type=int, default=8, help="random crops per photo (default: 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args()
    pictures = ((Path(name).stem + ".png", picture) for name, picture in photo_set(args.crops, args.seed))
    print(f"wrote {save_pictures(args.out, pictures)} pictures to {args.out}")


if __name__ == "__main__":
    main()
