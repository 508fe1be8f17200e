"""Pictures made the ordinary ways, read by the shipped model: one row per category.

Categories come from `stress_pictures.py` (generated here, with a seed that the detector's
training in `scripts/build_detector.py` does not use), plus two sets of real handwriting:
hwd-1000 (1,000 digits drawn by a person in a drawing app, `../shared/data/hwd-1000`) and the
MNIST test set, as pixels and as the tutorials plot it (nine white-on-black panels to a figure); and hwd-1000 digits placed into the same conditions (`hwd_picture`), so the
conditions are also measured with real handwriting rather than our own stroke skeletons. A digit counts as read when the answer is right and not uncertain; a non-digit
counts as flagged when the answer is "no digit found" or uncertain.

    python benchmarks/real_pictures.py                 # both readers side by side (a process each), about 35 minutes here; writes the README table
    python benchmarks/real_pictures.py --count 50      # fewer generated pictures per category
    python benchmarks/real_pictures.py --real-only --reader learned   # the real sets alone, printed
"""

import argparse
import csv
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, current_commit, machine_description, run_main, update_readme_section, write_results  # noqa: E402
import real_sets  # noqa: E402
from photos import photo_set  # noqa: E402
from stress_pictures import CATEGORIES, category_set  # noqa: E402

from digitrec.data import load_mnist  # noqa: E402
from digitrec.inference import NOT_A_DIGIT, SEVERAL_DIGITS, Predictor  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "real_pictures.json"
HWD = Path(os.environ.get("DIGITREC_HWD_DIR", ROOT.parent / "shared" / "data" / "hwd-1000"))
SEED = 2026
NON_DIGITS = 400  # the issue asks for at least 300
TARGETS = {"digits": 0.98, "not a digit": 0.95, "hwd-1000": 0.995}


def judge(name, prediction, expected):
    """One of: read, uncertain, wrong (digits); flagged, as not a digit / confident (non-digits)."""
    if expected is None:
        if not prediction.found or prediction.uncertain:
            return "flagged"
        return "confident"
    if name.startswith("several"):
        return "read" if prediction.reason == SEVERAL_DIGITS else ("uncertain" if prediction.uncertain else "wrong")
    if prediction.uncertain:
        return "uncertain"
    return "read" if prediction.text == expected else "wrong"


def category_row(predictor, name, count):
    multi = name.startswith("touching") or name.endswith("(--multi)")
    outcomes, reasons, examples = Counter(), Counter(), []
    started = time.perf_counter()
    for index, (image, expected) in enumerate(category_set(name, count, seed=SEED)):
        prediction = predictor.predict_image(image, multi=multi)
        outcome = judge(name, prediction, expected)
        outcomes[outcome] += 1
        reasons[prediction.reason] += 1
        if outcome in ("wrong", "confident", "uncertain") and len(examples) < 10:
            examples.append({"index": index, "expected": expected, "answer": prediction.text, "reason": prediction.reason})
    return {
        "count": count,
        "outcomes": dict(outcomes),
        "reasons": {str(k): v for k, v in reasons.most_common()},
        "examples": examples,
        "seconds": time.perf_counter() - started,
    }


def hwd_row(predictor):
    rows = list(csv.DictReader((HWD / "dataset.csv").open()))
    outcomes = Counter()
    examples = []
    for row in rows:
        prediction = predictor.predict_image(HWD / row["image"])
        outcome = judge("hwd", prediction, row["label"])
        outcomes[outcome] += 1
        if outcome != "read" and len(examples) < 10:
            examples.append({"image": row["image"], "expected": row["label"], "answer": prediction.text, "reason": prediction.reason})
    return {"count": len(rows), "outcomes": dict(outcomes), "examples": examples}


def hwd_picture(digit, condition, rng):
    """A 28x28 hwd-1000 digit (dark on white, PIL "L") put into one of the ordinary conditions."""
    def on(canvas_size, size, position, paper=245, ink_scale=1.0):
        page = np.full(canvas_size[::-1], paper, np.float32)
        ink = (255 - np.asarray(digit.resize((size, size), Image.Resampling.BICUBIC), np.float32)) / 255 * ink_scale
        x, y = position
        page[y : y + size, x : x + size] = page[y : y + size, x : x + size] * (1 - ink)
        return page

    if condition == "cropped to its box":
        page = on((112, 112), 112, (0, 0), paper=255)
        ys, xs = np.nonzero(page < 180)
        return Image.fromarray(page[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.uint8))
    if condition == "thin, on a 1600x1200 canvas":
        size = int(rng.uniform(300, 900))
        page = on((1600, 1200), size, (int(rng.uniform(0, 1600 - size)), int(rng.uniform(0, 1200 - size))), paper=255)
        return Image.fromarray(np.where(page < 128, 0, 255).astype(np.uint8))  # crisp, as a 1-3 px pen exports
    if condition.endswith("px on a 4000x3000 photo"):  # "N px ...": how small a digit on a big photo still reads
        size = int(condition.split()[0])
        x, y = int(rng.uniform(0, 4000 - size)), int(rng.uniform(0, 3000 - size))
        page = on((4000, 3000), size, (x, y), paper=230) + rng.normal(0, 4, (3000, 4000)).astype(np.float32)
        return Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    page = Image.fromarray(on((300, 300), 200, (50, 50)).astype(np.uint8))
    draw = ImageDraw.Draw(page)
    if condition == "in a frame tilted up to 6°":
        draw.rectangle([15, 12, 285, 288], outline=0, width=6)
        return page.rotate(rng.uniform(-6, 6), fillcolor=245, resample=Image.Resampling.BICUBIC)
    if condition == "circled":
        draw.ellipse([5, 2, 295, 298], outline=0, width=6)
    if condition == "underlined":
        draw.line([(60, 272), (240, 275)], fill=0, width=6)
    if condition == "on squared paper":
        step = rng.uniform(25, 45)
        lines = Image.new("L", page.size, 0)
        grid = ImageDraw.Draw(lines)
        for offset in np.arange(rng.uniform(0, step), 300, step):
            grid.line([(0, offset), (300, offset)], fill=255, width=2)
            grid.line([(offset, 0), (offset, 300)], fill=255, width=2)
        page = Image.fromarray(np.minimum(np.asarray(page), 255 - 0.45 * np.asarray(lines, np.float32)).astype(np.uint8))
    if condition == "in shadow":
        ys, xs = np.mgrid[0:300, 0:300]
        shadow = np.clip(1 - np.hypot(xs - 300 * rng.integers(2), ys - 300 * rng.integers(2)) / 300, 0, 1)
        page = Image.fromarray((np.asarray(page, np.float32) * (1 - 0.5 * shadow)).astype(np.uint8))
    return page


HWD_CONDITIONS = ["cropped to its box", "thin, on a 1600x1200 canvas", "200 px on a 4000x3000 photo",
                  "100 px on a 4000x3000 photo", "70 px on a 4000x3000 photo", "50 px on a 4000x3000 photo",
                  "in a frame tilted up to 6°", "circled", "underlined", "on squared paper", "in shadow"]


def hwd_conditions_rows(predictor, every=5):
    """hwd-1000 digits (every `every`-th) in each ordinary condition: real handwriting, not our skeletons."""
    rows = list(csv.DictReader((HWD / "dataset.csv").open()))[::every]
    rng = np.random.default_rng(SEED)
    results = {}
    for condition in HWD_CONDITIONS:
        outcomes = Counter()
        for row in rows:
            picture = hwd_picture(Image.open(HWD / row["image"]).convert("L"), condition, rng)
            outcomes[judge("hwd", predictor.predict_image(picture), row["label"])] += 1
        results[condition] = {"count": len(rows), "outcomes": dict(outcomes)}
        print(f"hwd-1000 {condition}: {dict(outcomes)}", file=sys.stderr)
    return results


def photos_row(predictor):
    """Real photos that hold no digit (`photos.photo_set`: scikit-image's and scikit-learn's sample
    pictures, whole and 8 random crops each): flagged or a confident digit, and which."""
    outcomes, reasons, confident = Counter(), Counter(), []
    for name, picture in photo_set(crops=8, seed=SEED):
        prediction = predictor.predict_image(picture, name=name)
        outcome = judge("photo", prediction, None)
        outcomes[outcome] += 1
        reasons[prediction.reason] += 1
        if outcome == "confident":
            confident.append(f"{name}: {prediction.text}")
    print(f"photos of things: {dict(outcomes)}", file=sys.stderr)
    return {"count": sum(outcomes.values()), "outcomes": dict(outcomes), "reasons": dict(reasons), "confident": confident}


def mnist_row(predictor):
    _, (x_test, y_test) = load_mnist()
    predictions = predictor.predict_pixels(x_test)
    outcomes = Counter(judge("mnist", p, str(label)) for p, label in zip(predictions, y_test))
    accuracy = float(np.mean([p.digits[0].digit == label for p, label in zip(predictions, y_test)]))
    flagged_not_digit = sum(p.reason == NOT_A_DIGIT for p in predictions)
    return {"count": len(y_test), "outcomes": dict(outcomes), "accuracy": accuracy, "flagged_not_a_digit": flagged_not_digit}


def mnist_pictures_row(predictor):
    """MNIST test digits as 28x28 PNG pictures, read through the reader (`predict_image`), not
    handed to the model as pixels: the reader's own path."""
    import io

    _, (x_test, y_test) = load_mnist()
    outcomes, right = Counter(), 0
    for image, label in zip(x_test, y_test):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        prediction = predictor.predict_image(buffer.getvalue())
        outcomes[judge("mnist", prediction, str(label))] += 1
        right += bool(prediction.digits) and prediction.digits[0].digit == label
    return {"count": len(y_test), "outcomes": dict(outcomes), "accuracy": right / len(y_test)}


def dark_on_light_figure(images, labels):
    """Nine images as `plt.imshow(x, cmap="binary")` draws them: black digits on white, each in
    its axes with tick marks and numbers, its label as a title."""
    from digitrec import plots

    figure = plots.new_figure(6, 6)
    for index, (image, label) in enumerate(zip(images, labels)):
        axes = figure.add_subplot(3, 3, index + 1)
        axes.imshow(image, cmap="binary")
        axes.set_title(str(label))
    return figure


def plotted_row(predictor, figures=100, dark_on_light=False):
    """MNIST test images as the tutorials plot them, nine to a figure, read with --multi: one
    answer a digit. White on black panels in a white figure, a title above each
    (`plots.plot_samples`), or black on white inside axes (`dark_on_light_figure`)."""
    from digitrec import plots

    _, (x_test, y_test) = load_mnist()
    outcomes, examples = Counter(), []
    for figure in range(figures):
        images, labels = x_test[9 * figure : 9 * figure + 9], y_test[9 * figure : 9 * figure + 9]
        drawn = dark_on_light_figure(images, labels) if dark_on_light else plots.plot_samples(images, labels, 3, 3, title="MNIST test samples")
        prediction = predictor.predict_image(plots.png_bytes(drawn), multi=True)
        if len(prediction.digits) != 9:
            outcomes["missed"] += 9
            examples.append({"figure": figure, "expected": "".join(map(str, labels)), "answer": prediction.text})
            continue
        for digit, label in zip(prediction.digits, labels):
            outcome = "uncertain" if digit.uncertain else ("read" if digit.digit == label else "wrong")
            outcomes[outcome] += 1
    return {"count": 9 * figures, "figures": figures, "outcomes": dict(outcomes), "examples": examples}


def real_photos_rows(predictor):
    """`../shared/data/real-photos` by kind (phone photos, canvas drawings) and half of its sources
    (`real_sets.photo_half`: tune, held out): read right and confidently, uncertain, or wrong."""
    rows = {}
    photos = real_sets.photos()
    sources = [source for *_, source in photos]
    for path, label, kind, source in photos:
        row = rows.setdefault(f"{kind} ({real_sets.photo_half(source, sources)})", {"count": 0, "outcomes": Counter(), "examples": []})
        prediction = predictor.predict_image(path)
        outcome = judge("real photo", prediction, str(label))
        row["count"] += 1
        row["outcomes"][outcome] += 1
        if outcome != "read":
            row["examples"].append({"file": path.name, "expected": label, "answer": prediction.text, "reason": prediction.reason})
    for kind, row in rows.items():
        row["outcomes"] = dict(row["outcomes"])
        print(f"real {kind}s: {row['outcomes']}", file=sys.stderr)
    return rows


def real_non_digit_rows(predictor):
    """`../shared/data/real-non-digits`, flagged or read as a confident digit: by source (the
    detector trains on `real_sets.TRAIN_SOURCES`, never on `real_sets.HELD_OUT_SOURCE`), and the
    held-out source by family of classes."""
    rows = {}
    for path, name, source, family in real_sets.non_digits():
        held_out = source == real_sets.HELD_OUT_SOURCE
        keys = [f"{source} ({'held out' if held_out else 'trained on'})"] + ([f"{source}: {family}"] if held_out else [])
        outcome = judge("real non-digit", predictor.predict_image(path), None)
        for key in keys:
            row = rows.setdefault(key, {"count": 0, "outcomes": Counter()})
            row["count"] += 1
            row["outcomes"][outcome] += 1
    for key, row in rows.items():
        row["outcomes"] = dict(row["outcomes"])
        print(f"real non-digits, {key}: {row['outcomes']}", file=sys.stderr)
    return rows


def share(row, outcome):
    return row["outcomes"].get(outcome, 0) / row["count"]


def rows_of(results):
    """(pictures, count, result, target) for each row of one reader's results."""
    lines = []
    for name, row in results["categories"].items():
        if name == "not a digit":
            by_detector = row["reasons"].get(NOT_A_DIGIT, 0) / row["count"]
            text = f"**{100 * share(row, 'flagged'):.1f} %** flagged ({100 * by_detector:.1f} % as \"not a digit\", the rest \"no digit found\" or other doubts)"
            target = f"≥{100 * TARGETS['not a digit']:.0f} % flagged"
        elif name.startswith("several"):
            text = f"**{100 * share(row, 'read'):.1f} %** answered \"several digits found\"; {100 * share(row, 'wrong'):.1f} % confidently one digit"
            target = f"≥{100 * TARGETS['digits']:.0f} %"
        elif name.startswith("touching"):
            text = (f"{100 * share(row, 'read'):.1f} % read right, {100 * share(row, 'uncertain'):.1f} % flagged uncertain; "
                    f"**{100 * share(row, 'wrong'):.1f} % confidently wrong**")
            target = "never confidently wrong"
        else:
            text = f"**{100 * share(row, 'read'):.1f} %** read right and confidently; {100 * share(row, 'uncertain'):.1f} % uncertain, {100 * share(row, 'wrong'):.1f} % wrong"
            target = f"≥{100 * TARGETS['digits']:.0f} %"
        lines.append((name, row["count"], text, target))
    photos = results["photos of things"]
    lines.append(("real photos of things, no digit (scikit-image's and scikit-learn's samples, whole and cropped)", photos["count"],
                  f"**{100 * share(photos, 'flagged'):.1f} %** flagged; {100 * share(photos, 'confident'):.1f} % read as a confident digit",
                  f"≥{100 * TARGETS['not a digit']:.0f} % flagged"))
    for key, row in results.get("real photos", {}).items():
        kind, half = key.split(" (")
        what = {"photo": "phone photos", "canvas": "canvas drawings"}.get(kind, kind)
        lines.append((f"real-photos: {what} of single digits, sources {half[:-1]} (other people's)", row["count"],
                      f"**{100 * share(row, 'read'):.1f} %** read; {100 * share(row, 'uncertain'):.1f} % uncertain, {100 * share(row, 'wrong'):.1f} % wrong",
                      "≥99 %, ≤0.5 % wrong"))
    for key, row in results.get("real non-digits", {}).items():
        lines.append((f"real-non-digits: {key}", row["count"], f"**{100 * share(row, 'flagged'):.1f} %** flagged; "
                      f"{100 * share(row, 'confident'):.1f} % a confident digit", f"≥{100 * TARGETS['not a digit']:.0f} % flagged"))
    hwd = results["hwd-1000"]
    lines.append(("hwd-1000 (real drawings, one person)", hwd["count"], f"**{100 * share(hwd, 'read'):.1f} %** read; "
                  f"{100 * share(hwd, 'uncertain'):.1f} % uncertain, {100 * share(hwd, 'wrong'):.1f} % wrong", f"≥{100 * TARGETS['hwd-1000']:.1f} %"))
    mnist = results["mnist"]
    lines.append(("MNIST test set, pixels to the model", mnist["count"], f"{100 * mnist['accuracy']:.2f} % correct; "
                  f"{mnist['flagged_not_a_digit']} flagged \"not a digit\"", "≥99.6 % correct"))
    pictures = results["mnist pictures"]
    lines.append(("MNIST test set as 28x28 PNG pictures, through the reader", pictures["count"],
                  f"**{100 * pictures['accuracy']:.2f} %** correct; {100 * share(pictures, 'read'):.1f} % right and confident", "≥99.6 % correct"))
    for key, what in (("mnist plotted", "plotted in 3×3 figures (`digitrec data show`'s)"),
                      ("mnist plotted dark on light", "plotted black on white in 3×3 axes with ticks (`cmap=\"binary\"`)")):
        plotted = results[key]
        lines.append((f"MNIST test images {what}, `--multi`", plotted["count"],
                      f"**{100 * share(plotted, 'read'):.1f} %** read; {100 * share(plotted, 'uncertain'):.1f} % uncertain, "
                      f"{100 * share(plotted, 'wrong'):.1f} % wrong, {100 * share(plotted, 'missed'):.1f} % in figures not read whole",
                      f"≥{100 * TARGETS['digits']:.0f} %"))
    for condition, row in results["hwd-1000 in conditions"].items():
        lines.append((f"hwd-1000 digits in a condition: {condition}", row["count"],
                      f"**{100 * share(row, 'read'):.0f} %** read; {100 * share(row, 'uncertain'):.0f} % uncertain, {100 * share(row, 'wrong'):.0f} % wrong",
                      f"≥{100 * TARGETS['digits']:.0f} %"))
    return lines


def table(results):
    """One row per set of pictures, one column per reader (`imaging.read`'s rules, the learned
    stage of `reading.learned`), side by side."""
    readers = list(results["readers"])
    lines = ["| pictures | count | " + " | ".join(f"{reader} reader" for reader in readers) + " | target |",
             "| --- | --- | " + "--- | " * len(readers) + "--- |"]
    columns = [rows_of(results["readers"][reader]) for reader in readers]
    for row in zip(*columns):
        name, count, _, target = row[0]
        lines.append(f"| {name} | {count:,} | " + " | ".join(cell[2] for cell in row) + f" | {target} |")
    lines += ["", f"Measured {results['measured']} at commit {results['commit']} on {results['machine']} with `{results['command']}`."]
    return "\n".join(lines)


def measure(job) -> dict:
    """Every row for one reader: `job` is (reader, pictures per digit category, non-digits, every
    how many hwd-1000 digits are put into the conditions)."""
    reader, digit_count, non_digit_count, hwd_every = job
    predictor = Predictor(reader=reader)
    categories = {}
    for name in CATEGORIES:
        count = non_digit_count if name == "not a digit" else digit_count
        categories[name] = category_row(predictor, name, count)
        print(f"{predictor.reader}: {name}: {categories[name]['outcomes']}", file=sys.stderr)
    return {
        "categories": categories,
        "photos of things": photos_row(predictor),
        "real photos": real_photos_rows(predictor),
        "real non-digits": real_non_digit_rows(predictor),
        "hwd-1000": hwd_row(predictor),
        "hwd-1000 in conditions": hwd_conditions_rows(predictor, every=hwd_every),
        "mnist": mnist_row(predictor),
        "mnist pictures": mnist_pictures_row(predictor),
        "mnist plotted": plotted_row(predictor),
        "mnist plotted dark on light": plotted_row(predictor, dark_on_light=True),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100, help="generated pictures per digit category (default: 100)")
    parser.add_argument("--non-digits", type=int, default=NON_DIGITS, help=f"generated non-digits (default: {NON_DIGITS})")
    parser.add_argument("--hwd-every", type=int, default=5, help="every how many hwd-1000 digits are put into each condition (default: 5)")
    parser.add_argument("--reader", choices=["rules", "learned", "both"], default="both", help="which reader reads the pictures (default: both, side by side)")
    parser.add_argument("--no-readme", dest="readme", action="store_false", help="do not rewrite the README table")
    parser.add_argument("--real-only", action="store_true", help="only the real sets of ../shared/data (real-photos, real-non-digits); "
                        "printed, nothing written")
    args = parser.parse_args()
    readers = ["rules", "learned"] if args.reader == "both" else [args.reader]
    if args.real_only:
        for reader in readers:
            predictor = Predictor(reader=reader)
            print(json.dumps({reader: {"real photos": real_photos_rows(predictor), "real non-digits": real_non_digit_rows(predictor)}}, indent=2))
        return
    jobs = [(reader, args.count, args.non_digits, args.hwd_every) for reader in readers]
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:  # the readers side by side, a process each
        measured = pool.map(measure, jobs)
    results = {
        "readers": dict(zip(readers, measured)),
        "measured": time.strftime("%Y-%m-%d"),
        "machine": machine_description(),
        "commit": current_commit(),
        "command": "python benchmarks/real_pictures.py" + (f" --count {args.count}" if args.count != 100 else "")
                   + (f" --non-digits {args.non_digits}" if args.non_digits != NON_DIGITS else "")
                   + (f" --hwd-every {args.hwd_every}" if args.hwd_every != 5 else "")
                   + (f" --reader {args.reader}" if args.reader != "both" else ""),
    }
    write_results(RESULTS, results)
    text = table(results)
    if args.readme:
        update_readme_section("real-pictures", text)
    print(text)


if __name__ == "__main__":
    run_main(main)
