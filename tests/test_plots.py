"""The pictures are correct, not just present: their numbers are the ones computed."""

import re

import numpy as np
import pytest

from digitrec import plots
from digitrec.evaluation import metrics_from_probabilities, predict_probabilities


def test_samples_grid_titles_are_the_labels(small_mnist):
    images, labels = small_mnist[0][0][:5], small_mnist[0][1][:5]
    figure = plots.plot_samples(images, labels, rows=1, columns=5)
    assert [axes.get_title() for axes in figure.axes] == [f"label {label}" for label in labels]
    assert np.array_equal(figure.axes[0].images[0].get_array(), images[0])


def test_label_distribution_bars_are_the_counts(mnist):
    figure = plots.plot_label_distribution(mnist[0][1], mnist[1][1])
    heights = [round(bar.get_height()) for bar in figure.axes[0].patches]
    assert heights[:10] == np.bincount(mnist[0][1]).tolist()
    assert heights[10:] == np.bincount(mnist[1][1]).tolist()


def test_curves_have_one_point_per_epoch():
    history = {"loss": [0.5, 0.3, 0.2], "val_loss": [0.4, 0.3, 0.25], "accuracy": [0.8, 0.9, 0.95],
               "val_accuracy": [0.85, 0.9, 0.93], "learning_rate": [0.01, 0.003, 0.0009]}
    figure = plots.plot_curves(history)
    assert len(figure.axes) == 3  # the schedule changed the rate: its panel is drawn
    accuracy_axes, loss_axes, rate_axes = figure.axes
    for axes, key in ((accuracy_axes, "accuracy"), (loss_axes, "loss")):
        training, validation = axes.get_lines()
        assert list(training.get_xdata()) == [1, 2, 3]
        assert list(training.get_ydata()) == history[key] and list(validation.get_ydata()) == history[f"val_{key}"]
    assert list(rate_axes.get_lines()[0].get_ydata()) == history["learning_rate"]
    constant = dict(history, learning_rate=[0.001] * 3)
    assert len(plots.plot_curves(constant).axes) == 2


def test_confusion_numbers_are_evaluates(trained_run, small_mnist):
    images, labels = small_mnist[1]
    metrics = metrics_from_probabilities(predict_probabilities(trained_run.model, images), labels)
    figure = plots.plot_confusion(metrics["confusion_matrix"])
    heatmap, bars = figure.axes
    drawn = np.zeros((10, 10), dtype=int)
    for text in heatmap.texts:
        column, row = text.get_position()
        drawn[int(row), int(column)] = int(text.get_text())
    assert drawn.tolist() == metrics["confusion_matrix"]
    recall = [row["recall"] for row in metrics["per_class"]]
    np.testing.assert_allclose([bar.get_width() for bar in bars.patches], 100 * np.array(recall))


def test_mistake_gallery_is_worst_first_and_titled_with_the_models_answers(trained_run, small_mnist):
    images, labels = small_mnist[1]
    probabilities = predict_probabilities(trained_run.model, images)
    figure, indices = plots.plot_mistakes(images, labels, probabilities, count=10)
    predicted = probabilities.argmax(axis=1)
    assert len(indices) > 0 and all(predicted[i] != labels[i] for i in indices)
    confidences = probabilities[indices, predicted[indices]]
    assert list(confidences) == sorted(confidences, reverse=True)
    titled = [axes.get_title() for axes in figure.axes if axes.get_title()]
    for title, index in zip(titled, indices):
        true, said, percent = re.match(r"true (\d), said (\d)\n([\d.]+) %", title).groups()
        assert (int(true), int(said)) == (labels[index], predicted[index])
        assert float(percent) == pytest.approx(100 * probabilities[index].max(), abs=0.06)


def test_prediction_gallery_titles_match_predictions(trained_run, small_mnist):
    images, labels = small_mnist[1]
    probabilities = predict_probabilities(trained_run.model, images)
    figure, indices = plots.plot_predictions(images, labels, probabilities, count=10)
    assert len(indices) == 10
    for axes, index in zip(figure.axes, indices):
        said = int(re.match(r"said (\d)", axes.get_title()).group(1))
        assert said == probabilities[index].argmax()
        assert np.array_equal(axes.images[0].get_array(), images[index])


def test_figures_save_as_png_without_a_display(tmp_path):
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from digitrec import plots\n"
        f"plots.save_figure(plots.plot_curves({{'loss': [1.0, 0.5], 'accuracy': [0.5, 0.8]}}), {str(tmp_path / 'c.png')!r})\n"
        "print('matplotlib.pyplot' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    environment = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "MPLBACKEND")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=120)
    assert result.stdout.split() == ["False", "False"]  # no pyplot (nothing could open a window), no TensorFlow
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curves_of_a_recipe_that_validates_on_test_say_test_and_show_markers():
    figure = plots.plot_curves({"loss": [0.5], "test_loss": [0.4], "accuracy": [0.8], "test_accuracy": [0.85]})
    for axes in figure.axes:
        labels = [line.get_label() for line in axes.get_lines()]
        assert labels == ["training", "test (the recipe validates on it)"]
        assert all(line.get_marker() == "o" for line in axes.get_lines())  # one epoch is a visible point
