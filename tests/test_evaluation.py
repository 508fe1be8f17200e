import json

import numpy as np
import pytest

from digitrec.evaluation import evaluate, evaluate_path, metrics_from_probabilities


def test_metrics_against_hand_computed_values():
    probabilities = np.full((4, 10), 0.0)
    probabilities[0, 1] = 1.0  # true 1, predicted 1
    probabilities[1, 1] = 1.0  # true 2, predicted 1
    probabilities[2, 2] = 0.5  # true 2, predicted 2 with p = 0.5
    probabilities[2, 3] = 0.5 - 1e-3
    probabilities[3, 7] = 1.0  # true 7, predicted 7
    metrics = metrics_from_probabilities(probabilities, np.array([1, 2, 2, 7]))
    assert metrics["test_accuracy"] == 0.75 and metrics["num_images"] == 4
    # -log of the true class's clipped probability: 0, -log(1e-7), -log(0.5), 0 -> mean
    assert metrics["test_loss"] == pytest.approx((-np.log(1e-7) - np.log(0.5)) / 4, rel=1e-6)
    confusion = np.array(metrics["confusion_matrix"])
    assert confusion[1, 1] == 1 and confusion[2, 1] == 1 and confusion[2, 2] == 1 and confusion[7, 7] == 1
    assert confusion.sum() == 4
    one, two = metrics["per_class"][1], metrics["per_class"][2]
    assert (one["precision"], one["recall"], one["support"]) == (0.5, 1.0, 1)
    assert (two["precision"], two["recall"], two["support"]) == (1.0, 0.5, 2)
    assert two["f1"] == pytest.approx(2 / 3)


def test_evaluate_agrees_with_keras(trained_run, small_mnist):
    images, labels = small_mnist[1]
    metrics = evaluate(trained_run.model, images, labels)
    assert metrics["test_accuracy"] == pytest.approx(trained_run.metrics["test_accuracy"], abs=1e-6)
    assert metrics["test_loss"] == pytest.approx(trained_run.metrics["test_loss"], rel=1e-4)
    assert np.array(metrics["confusion_matrix"]).sum() == len(labels)


def test_evaluate_path_writes_metrics_beside_the_model(run_copy, mnist_dir):
    metrics = evaluate_path(run_copy, data_dir=mnist_dir)
    assert metrics["num_images"] == 10000
    saved = json.loads((run_copy / "metrics.json").read_text())
    assert saved["test_accuracy"] == metrics["test_accuracy"]
    assert "train_seconds" in saved  # training figures kept
    assert len(saved["per_class"]) == 10
