"""One self-contained HTML report per run: what the model is, how it was made, how it did, and
every picture, embedded as data: URLs (no network, no external files)."""

import base64
import html
import json
from pathlib import Path

from . import data, files, plots, runs
from .errors import DigitrecError

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #1d2330; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #dde; padding-bottom: 0.2rem; }
.subtitle { color: #556; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.card { background: #f3f5fa; border-radius: 8px; padding: 0.7rem 1rem; min-width: 9rem; }
.card b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e3e6ee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
code { background: #f3f5fa; padding: 0.05rem 0.3rem; border-radius: 4px; font-size: 0.9em; word-break: break-all; }
img { max-width: 100%; height: auto; display: block; margin: 0.6rem 0; }
"""


def data_url(figure) -> str:
    return "data:image/png;base64," + base64.b64encode(plots.png_bytes(figure)).decode("ascii")


def table(rows, header) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def read_run(run_dir: Path):
    """The run's config record and history; a clear error for what is missing or unreadable."""
    from .saving import resolve_model_path

    if not run_dir.is_dir():
        raise DigitrecError(f"{run_dir}: not a run folder")
    resolve_model_path(run_dir)  # raises if there is no model
    if not (run_dir / runs.HISTORY).is_file():
        raise DigitrecError(f"{run_dir}: no history.json in this run folder (was it made by `digitrec train`?)")
    history = runs.read(run_dir, runs.HISTORY)
    if not isinstance(history, dict) or not history.get("loss"):
        raise DigitrecError(f"{run_dir / 'history.json'}: no per-epoch loss recorded")
    record = runs.read(run_dir, runs.CONFIG, {})
    return record, history


NONE_MEANS = {"steps_per_epoch": "one pass over the training images", "limit": "all training images"}


def shown(key, value) -> str:
    """A config value as a reader wants it: what an unset value means rather than Python's None,
    JSON for structures."""
    if value is None:
        return NONE_MEANS.get(key, "none")
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def build_report(run_dir, data_dir=None) -> Path:
    """Write `report.html` into the run folder; returns its path."""
    from .evaluation import evaluate_on_mnist

    run_dir = Path(run_dir)
    record, history = read_run(run_dir)
    mnist = data.load_mnist(data_dir)
    (train_images, train_labels), _ = mnist
    metrics, probabilities, (test_images, test_labels) = evaluate_on_mnist(run_dir, mnist=mnist)
    model = record.get("model", {})
    config = record.get("config", {})
    title = f"digitrec run: {model.get('name', run_dir.name)}"

    trained = runs.read(run_dir, runs.METRICS, {})
    seconds = trained.get("train_seconds")
    cards = [
        ("test accuracy", f"{100 * metrics['test_accuracy']:.2f} %"),
        ("training time", f"{seconds / 60:.1f} min" if seconds and seconds >= 120 else f"{seconds:.1f} s" if seconds else "not recorded"),
        ("test loss", f"{metrics['test_loss']:.4f}"),
        ("parameters", f"{model.get('parameters', 0):,}"),
        ("epochs", len(history["loss"])),
        ("mistakes", f"{int(round((1 - metrics['test_accuracy']) * metrics['num_images']))} / {metrics['num_images']:,}"),
    ]
    per_class = [
        (row["digit"], f"{100 * row['precision']:.2f} %", f"{100 * row['recall']:.2f} %", f"{row['f1']:.4f}", row["support"])
        for row in metrics["per_class"]
    ]
    config_rows = [(key, shown(key, value)) for key, value in config.items()]
    data_record = record.get("data", {})
    checksum_rows = [(name, value) for name, value in (data_record.get("files_sha256") or {}).items()]
    checksum_rows += [(f"{name} (array as trained)", value) for name, value in (data_record.get("arrays_sha256") or {}).items()]
    versions = ", ".join(f"{k} {v}" for k, v in record.get("versions", {}).items())
    mistakes_figure, _ = plots.plot_mistakes(test_images, test_labels, probabilities)
    predictions_figure, _ = plots.plot_predictions(test_images, test_labels, probabilities)
    pictures = [
        ("Learning curves", data_url(plots.plot_curves(history))),
        ("Confusion matrix and per-class accuracy", data_url(plots.plot_confusion(metrics["confusion_matrix"]))),
        ("Worst mistakes", data_url(mistakes_figure)),
        ("Predictions", data_url(predictions_figure)),
        ("Training samples", data_url(plots.plot_samples(train_images[:10], train_labels[:10], rows=2, columns=5))),
        ("Label distribution", data_url(plots.plot_label_distribution(train_labels, test_labels))),
    ]
    sections = "".join(f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" src="{url}">' for name, url in pictures)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="subtitle">{html.escape(model.get('source', ''))}<br>created {html.escape(record.get('created', 'unknown'))} · {html.escape(versions)}</p>
<div class="cards">{''.join(f'<div class="card">{html.escape(label)}<b>{html.escape(str(value))}</b></div>' for label, value in cards)}</div>
<h2>Per-class scores on the MNIST test set</h2>
{table(per_class, ["digit", "precision", "recall", "F1", "support"])}
{sections}
<h2>Resolved config</h2>
{table(config_rows, ["setting", "value"])}
<h2>Data checksums (sha256)</h2>
<p>Read from <code>{html.escape(str(data_record.get('folder', 'memory')))}</code></p>
{table(checksum_rows, ["file", "sha256"])}
</body></html>
"""
    destination = run_dir / runs.REPORT
    files.write_text(destination, page)
    return destination
