"""How many other marks lie around what `imaging.read` takes for the digit (`imaging.marks_around`)
in pictures of writing and in photos of things: the figures behind `imaging.BUSY_MARKS`, the
count from which a reading is "not a digit (many other marks around it...)".

Writing: every digit category of `stress_pictures.py` (30 pictures each, 4 of the slow big phone
photos) and hwd-1000 digits (every 25th) in each of `real_pictures.py`'s conditions. Photos:
`photos.py`'s sample pictures in 8 random crops each (another seed than the benchmark's row).

    python benchmarks/marks_around.py      # about 2 minutes here; writes results/marks_around.json
"""

import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, run_main, write_results  # noqa: E402
from photos import photo_set  # noqa: E402
from real_pictures import HWD, HWD_CONDITIONS, hwd_picture  # noqa: E402
from stress_pictures import CATEGORIES, category_set  # noqa: E402

from digitrec import imaging  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "marks_around.json"


def marks(image) -> int:
    """The marks around what `imaging.read` reads as the digit; 0 when no ink was found."""
    found = imaging.ink_map(imaging.working_levels(image))
    if found is None:
        return 0
    ink, _ = found
    labels, keep, factor, _ = imaging.find_pieces(ink)
    return imaging.marks_around(labels, keep, imaging.max_pool(ink > 0.5, factor)) if keep else 0


def summary(counts) -> dict:
    counts = np.asarray(counts)
    return {"pictures": int(counts.size), "most": int(counts.max()), f"at least {imaging.BUSY_MARKS}": int(np.count_nonzero(counts >= imaging.BUSY_MARKS))}


def main():
    writing = {}
    for name in CATEGORIES:
        if name not in ("not a digit",):
            count = 4 if "phone photo" in name else 30
            writing[name] = summary([marks(image) for image, _ in category_set(name, count, seed=77)])
    rows = list(csv.DictReader((HWD / "dataset.csv").open()))[::25]
    rng = np.random.default_rng(5)
    for condition in HWD_CONDITIONS:
        writing[f"hwd-1000 {condition}"] = summary([marks(hwd_picture(Image.open(HWD / row["image"]).convert("L"), condition, rng)) for row in rows])
    photos = summary([marks(picture) for _, picture in photo_set(crops=8, seed=0)])
    results = {"writing": writing, "photos of things": photos, "busy from": imaging.BUSY_MARKS, "machine": machine_description(),
               "command": "python benchmarks/marks_around.py"}
    write_results(RESULTS, results)
    for name, row in writing.items():
        print(f"{name}: {row}")
    total = sum(row["pictures"] for row in writing.values())
    print(f"writing: {total} pictures, at most {max(row['most'] for row in writing.values())} marks, "
          f"{sum(row[f'at least {imaging.BUSY_MARKS}'] for row in writing.values())} with {imaging.BUSY_MARKS} or more")
    print(f"photos of things: {photos['pictures']} pictures, {photos[f'at least {imaging.BUSY_MARKS}']} with {imaging.BUSY_MARKS} or more")


if __name__ == "__main__":
    run_main(main)
