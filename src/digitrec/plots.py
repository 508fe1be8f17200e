"""The pictures: samples, label distribution, learning curves, confusion matrix, galleries.

Every function returns a matplotlib `Figure` built with the object API on the Agg canvas: no
pyplot, no window, no display needed, safe in threads. `save_figure` writes a PNG atomically.
"""

import io
from pathlib import Path

import numpy as np

from . import files


def new_figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def save_figure(figure, path) -> Path:
    files.write_bytes(path, png_bytes(figure))
    return Path(path)


def plot_samples(images, labels, rows=3, columns=3, title="MNIST training samples"):
    """A rows x columns grid of images titled with their labels (the tutorials show 3x3 and 1x5)."""
    count = min(rows * columns, len(images))
    titles = [f"label {int(label)}" for label in labels[:count]]
    return plot_gallery(images[:count], titles, columns, title=title, rows=rows, cell=(1.3, 1.45), fontsize=10)


def plot_label_distribution(train_labels, test_labels):
    """Bar chart of how many images each digit has, train and test side by side."""
    train_counts = np.bincount(train_labels, minlength=10)
    test_counts = np.bincount(test_labels, minlength=10)
    figure = new_figure(8, 3.6)
    axes = figure.add_subplot(1, 1, 1)
    digits = np.arange(10)
    train_bars = axes.bar(digits - 0.2, train_counts, width=0.4, label=f"train ({train_counts.sum():,})")
    test_bars = axes.bar(digits + 0.2, test_counts, width=0.4, label=f"test ({test_counts.sum():,})")
    axes.bar_label(train_bars, fontsize=7, padding=1)
    axes.bar_label(test_bars, fontsize=7, padding=1)
    axes.set_xticks(digits)
    axes.set_xlabel("digit")
    axes.set_ylabel("images")
    axes.set_title("Label distribution (smallest class: %.1f %% of train)" % (100 * train_counts.min() / train_counts.sum()))
    axes.margins(y=0.25)  # headroom for the legend above the tallest bars
    axes.legend(loc="upper center", ncols=2)
    return figure


def plot_curves(history: dict):
    """Accuracy and loss per epoch, training vs validation, stacked (as seed 000 draws them);
    a third panel shows the learning rate per epoch when a schedule changed it. A recipe that
    validates on the test set (the Keras examples do) has `test_` curves, labelled so."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    rates = history.get("learning_rate")
    show_rate = rates is not None and len(set(np.round(rates, 12))) > 1
    figure = new_figure(7, 7.5 if show_rate else 6)
    panels = 3 if show_rate else 2
    for row, (metric, label) in enumerate((("accuracy", "accuracy"), ("loss", "loss"))):
        axes = figure.add_subplot(panels, 1, row + 1)
        axes.plot(epochs, history[metric], marker="o", label="training")
        if f"val_{metric}" in history:
            axes.plot(epochs, history[f"val_{metric}"], marker="o", label="validation")
        elif f"test_{metric}" in history:
            axes.plot(epochs, history[f"test_{metric}"], marker="o", label="test (the recipe validates on it)")
        axes.set_ylabel(label)
        axes.set_title(f"model {label}")
        axes.grid(alpha=0.3)
        axes.legend()
        axes.set_xticks(epochs if len(epochs) <= 20 else np.linspace(1, len(epochs), 10, dtype=int))
    if show_rate:
        axes = figure.add_subplot(panels, 1, 3)
        axes.plot(epochs, rates, marker="o", color="tab:green")
        axes.set_yscale("log")
        axes.set_ylabel("learning rate")
        axes.set_title("learning rate at the end of each epoch")
        axes.grid(alpha=0.3)
        axes.set_xticks(epochs if len(epochs) <= 20 else np.linspace(1, len(epochs), 10, dtype=int))
    figure.axes[-1].set_xlabel("epoch")
    return figure


def plot_confusion(confusion):
    """Confusion-matrix heatmap with the counts written in, and per-class accuracy beside it."""
    confusion = np.asarray(confusion)
    figure = new_figure(11, 5)
    grid = figure.add_gridspec(1, 2, width_ratios=[1.25, 1])
    axes = figure.add_subplot(grid[0, 0])
    shown = np.log1p(confusion)  # the diagonal would wash out every mistake on a linear scale
    axes.imshow(shown, cmap="Blues")
    threshold = shown.max() / 2
    for true in range(confusion.shape[0]):
        for predicted in range(confusion.shape[1]):
            count = int(confusion[true, predicted])
            axes.text(predicted, true, str(count), ha="center", va="center", fontsize=8,
                      color="white" if shown[true, predicted] > threshold else "black")
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title(f"confusion matrix ({confusion.sum():,} test images)")
    per_class = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    bars_axes = figure.add_subplot(grid[0, 1])
    bars = bars_axes.barh(range(10), 100 * per_class, color="tab:blue")
    bars_axes.bar_label(bars, labels=[f"{100 * a:.2f} %" for a in per_class], fontsize=8, padding=2)
    bars_axes.set_yticks(range(10))
    bars_axes.invert_yaxis()
    low = max(0.0, np.floor(100 * per_class.min() - 2))
    bars_axes.set_xlim(low, 100.9)  # room for the value labels right of a bar at 100 %
    bars_axes.set_xticks([tick for tick in bars_axes.get_xticks() if low <= tick <= 100])
    bars_axes.set_xlabel("accuracy (%)")
    bars_axes.set_ylabel("true digit")
    bars_axes.set_title("per-class accuracy")
    return figure


def plot_gallery(images, titles, columns=5, title=None, colours=None, rows=None, cell=(1.6, 1.95), fontsize=9):
    """Images in a grid, each with its own (multi-line) title; `cell` is inches per image."""
    count = len(images)
    rows = rows or max(1, -(-count // columns))
    figure = new_figure(cell[0] * columns + 0.3, cell[1] * rows + (0.5 if title else 0.2))
    if title:
        figure.suptitle(title)
    for index in range(rows * columns):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.set_axis_off()
        if index < count:
            axes.imshow(images[index], cmap="gray", vmin=0, vmax=255)
            axes.set_title(titles[index], fontsize=fontsize, color=(colours[index] if colours else "black"))
    return figure


def worst_mistakes(probabilities, labels, count=20):
    """Indices of misclassified images, most confident wrong answers first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    return wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")][:count]


def plot_mistakes(images, labels, probabilities, count=20, columns=5):
    indices = worst_mistakes(probabilities, labels, count)
    titles = [f"true {labels[i]}, said {probabilities[i].argmax()}\n{100 * probabilities[i].max():.1f} %" for i in indices]
    figure = plot_gallery(images[indices], titles, columns, title=f"Worst mistakes ({len(indices)} most confident wrong answers)")
    return figure, indices


def plot_predictions(images, labels, probabilities, count=10, columns=5, seed=0):
    """Random test images with the model's answer (seed 003 shows 10); wrong ones in red."""
    indices = np.sort(np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False))
    predicted = probabilities.argmax(axis=1)
    titles = [f"said {predicted[i]} ({100 * probabilities[i].max():.1f} %)\ntrue {labels[i]}" for i in indices]
    colours = ["black" if predicted[i] == labels[i] else "red" for i in indices]
    figure = plot_gallery(images[indices], titles, columns, title="Random test images and predictions", colours=colours)
    return figure, indices
