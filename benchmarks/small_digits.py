"""How small a digit on a big phone photo can be and still be read: generated digits of a few
heights (`stress_pictures.on_phone_photo`: 3000-4000 px photos, lens blur, sensor noise, often a
JPEG), 40 a height band, read by the shipped model.

    python benchmarks/small_digits.py              # results/small_digits.json; prints a table
"""

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, run_main, write_results  # noqa: E402
from drawn_digits import digit_strokes  # noqa: E402
from real_pictures import judge  # noqa: E402
from stress_pictures import on_phone_photo  # noqa: E402

from digitrec.inference import Predictor  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "small_digits.json"
BANDS = [(15, 20), (20, 25), (25, 30), (30, 40)]
COUNT = 40


def main():
    predictor = Predictor()
    rows = {}
    for low, high in BANDS:
        rng = np.random.default_rng(low)
        outcomes = Counter()
        for _ in range(COUNT):
            digit = int(rng.integers(10))
            picture = on_phone_photo(digit_strokes(digit, rng), rng.uniform(low, high), rng)
            outcomes[judge("small", predictor.predict_image(picture), str(digit))] += 1
        rows[f"{low}-{high} px"] = {"count": COUNT, "outcomes": dict(outcomes)}
        print(f"| {low}-{high} px | {COUNT} | {100 * outcomes['read'] / COUNT:.0f} % | {100 * outcomes['uncertain'] / COUNT:.0f} % | "
              f"{100 * outcomes['wrong'] / COUNT:.0f} % |", flush=True)
    write_results(RESULTS, {"rows": rows, "machine": machine_description(), "command": "python benchmarks/small_digits.py"})


if __name__ == "__main__":
    run_main(main)
