"""The real pictures in ../shared/data that other people made, and how each is split.

- `real-non-digits` (2,241 letters, symbols, other scripts and doodles from four public sets):
  `scripts/build_detector.py` trains on `TRAIN_SOURCES`; `HELD_OUT_SOURCE` (Omniglot: Latin and
  Greek letters and three other scripts, drawn by 20 people) is never trained on and is the
  judge of "not a digit" on real handwriting.
- `real-photos` (235 phone photos and 91 canvas drawings of single digits, 28 repositories):
  nothing is trained on it. Its sources are split in two (`photo_half`): the learned reader's
  settings were looked at on the "tune" half; the "held out" half is measured, never looked into.

Only paths and labels here: reading them is the caller's business.
"""

import csv
import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("DIGITREC_SHARED_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
NON_DIGITS = SHARED_DATA / "real-non-digits"
PHOTOS = SHARED_DATA / "real-photos"
TRAIN_SOURCES = ("hasyv2", "mdas", "quickdraw")
HELD_OUT_SOURCE = "omniglot"


def family(name: str) -> str:
    """The family of a real-non-digits class: letters, greek, symbols, arrows, doodles, other scripts."""
    if name.startswith(("lower-", "upper-", "blackboard-")):
        return "letters"
    if name.startswith("greek-") or name == "aleph":
        return "greek"
    if "arrow" in name or name == "mapsto":
        return "arrows"
    if name.startswith("doodle-"):
        return "doodles"
    if name.startswith("script-"):
        return "other scripts"
    return "symbols"


def non_digits(sources=None) -> list:
    """(path, class, source folder, family) for each real non-digit, from `sources` (default all)."""
    with open(NON_DIGITS / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    found = []
    for row in rows:
        source = row["file"].split("/")[0]
        if sources is None or source in sources:
            found.append((NON_DIGITS / row["file"], row["class"], source, family(row["class"])))
    return found


def photos() -> list:
    """(path, label, kind, source) for each real picture of a digit (kind: photo or canvas)."""
    with open(PHOTOS / "labels.csv", newline="", encoding="utf-8") as handle:
        return [(PHOTOS / row["file"], int(row["label"]), row["kind"], row["source"]) for row in csv.DictReader(handle)]


def photo_half(source: str, sources) -> str:
    """"tune" or "held out": every second source of `sources` in alphabetical order is held out."""
    return "held out" if sorted(set(sources)).index(source) % 2 else "tune"


def available() -> bool:
    return (NON_DIGITS / "labels.csv").is_file() and (PHOTOS / "labels.csv").is_file()
