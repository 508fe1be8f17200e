"""What reading a picture costs (`imaging.read`, preprocessing only, no model), this tree beside
another revision of it, on the same pictures, alternated so that both see the same machine.

Each package runs in a worker process of its own (the other revision's `src/`, from `git
archive`); both load the same pictures, then read all of them in turn, round after round, the
workers taking turns. A picture's figure is the least of its rounds; a category's, the mean of its
pictures'. The machine is shared: the two columns are comparable, the absolute figures less so.

    python benchmarks/reading_cost.py --against e2e9a3b          # 5 rounds; README and results
"""

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine_description, run_main, update_readme_section, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "reading_cost.json"
CATEGORIES = ["thin pen on a large canvas", "shadow or gradient photo", "sheet of paper on a desk", "cropped close round the digit",
              "small digit on a big phone photo", "a number on a big phone photo (--multi)", "notebook page, red margin",
              "photo in dim light", "pencil on grainy paper", "page held in a hand", "pen lying beside the digit"]
PER_CATEGORY = 4

WORKER = r"""
import json, sys, time
from pathlib import Path
from PIL import Image
from digitrec import imaging
pictures = [(line.split("\t")[0], line.split("\t")[1] == "multi") for line in Path(sys.argv[1]).read_text().splitlines()]
loaded = []
for path, multi in pictures:
    image = Image.open(path)
    image.load()
    loaded.append((image, multi))
print("ready", flush=True)
for command in sys.stdin:
    times = []
    for image, multi in loaded:
        started = time.perf_counter()
        imaging.read(image, multi=multi)
        times.append(time.perf_counter() - started)
    print(json.dumps(times), flush=True)
"""


def make_pictures(folder: Path):
    """The pictures as PNG files (a generator's JPEG round trip is in their pixels already)."""
    from drawn_digits import drawn_set
    from photos import photo_set
    from stress_pictures import category_set

    listed = []
    for name in CATEGORIES:
        for image, _ in category_set(name, PER_CATEGORY, seed=21):
            path = folder / f"{len(listed):03d}.png"
            image.save(path)
            listed.append((name, path, name.endswith("(--multi)")))
    for _, image in photo_set(crops=1, seed=21)[1 : 2 * PER_CATEGORY : 2]:  # crops of four photos
        path = folder / f"{len(listed):03d}.png"
        image.save(path)
        listed.append(("real photo of things, no digit", path, False))
    for image, _ in drawn_set(PER_CATEGORY, seed=21):
        path = folder / f"{len(listed):03d}.png"
        image.resize((28, 28)).save(path)
        listed.append(("28×28 drawing", path, False))
    return listed


def source_tree(revision: str, folder: Path) -> Path:
    """`revision`'s src/ extracted into `folder` (what `git archive` holds: committed files only)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def start(source: Path, listing: Path):
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(listing)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(source), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    if worker.stdout.readline().strip() != "ready":
        raise SystemExit(f"reading_cost.py: the worker for {source} did not start")
    return worker


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="the git revision to compare with (e.g. the last release)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of reading every picture (default: 5)")
    parser.add_argument("--no-readme", action="store_true", help="write the results file only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "pictures").mkdir()
        listed = make_pictures(folder / "pictures")
        listing = folder / "pictures.tsv"
        listing.write_text("".join(f"{path}\t{'multi' if multi else 'one'}\n" for _, path, multi in listed))
        workers = {"before": start(source_tree(args.against, folder / "before"), listing), "now": start(ROOT / "src", listing)}
        rounds = {key: [] for key in workers}
        for _ in range(args.rounds):
            for key, worker in workers.items():
                worker.stdin.write("go\n")
                worker.stdin.flush()
                rounds[key].append(json.loads(worker.stdout.readline()))
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    least = {key: [min(times) for times in zip(*values)] for key, values in rounds.items()}
    rows = {}
    for name in dict.fromkeys(name for name, _, _ in listed):
        chosen = [i for i, (other, _, _) in enumerate(listed) if other == name]
        rows[name] = {key: 1000 * statistics.mean(least[key][i] for i in chosen) for key in workers}
        print(f"{name}: {rows[name]['before']:.1f} ms before, {rows[name]['now']:.1f} ms now", file=sys.stderr)
    revision = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.against], check=True, capture_output=True, text=True).stdout.strip()
    results = {"against": revision, "rounds": args.rounds, "pictures_per_row": PER_CATEGORY, "ms": rows, "machine": machine_description(),
               "command": f"python benchmarks/reading_cost.py --against {args.against}"}
    write_results(RESULTS, results)
    if not args.no_readme:
        lines = [f"| pictures ({PER_CATEGORY} each, `imaging.read`, least of {args.rounds} rounds) | at {revision} | now |", "| --- | --- | --- |"]
        lines += [f"| {name} | {row['before']:.1f} ms | {row['now']:.1f} ms |" for name, row in rows.items()]
        lines += ["", f"Measured on {results['machine']} with `{results['command']}` (the two alternated, one thread each)."]
        update_readme_section("reading_cost", "\n".join(lines))


if __name__ == "__main__":
    run_main(main)
