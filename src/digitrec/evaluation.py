"""Evaluate a model on MNIST's test set: loss, accuracy, per-class scores, confusion matrix.

`metrics_from_probabilities` is pure NumPy (the tests check it against hand-computed values);
`evaluate` runs a model (Keras, or the ONNX predictor) and returns the same dict.
"""

from pathlib import Path

import numpy as np

from . import data, files, runs

EPSILON = 1e-7  # Keras clips probabilities to [eps, 1 - eps] in categorical cross-entropy


def metrics_from_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Metrics for (N, 10) softmax rows against integer labels (N,)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probabilities.argmax(axis=1)
    clipped = np.clip(probabilities[np.arange(len(labels)), labels], EPSILON, 1 - EPSILON)
    confusion = np.zeros((data.NUM_CLASSES, data.NUM_CLASSES), dtype=np.int64)  # rows: true, columns: predicted
    np.add.at(confusion, (labels, predicted), 1)
    per_class = []
    for digit in range(data.NUM_CLASSES):
        true_positive = int(confusion[digit, digit])
        predicted_count = int(confusion[:, digit].sum())
        support = int(confusion[digit, :].sum())
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(
            {"digit": digit, "precision": precision, "recall": recall, "f1": f1, "support": support}
        )
    return {
        "test_loss": float(-np.log(clipped).mean()) if len(labels) else 0.0,
        "test_accuracy": float((predicted == labels).mean()) if len(labels) else 0.0,
        "num_images": int(len(labels)),
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
    }


def predict_probabilities(model, images: np.ndarray) -> np.ndarray:
    """Softmax rows for uint8 (N, 28, 28) images from a Keras model or a digitrec ONNX model."""
    x = data.scale_images(images)
    if hasattr(model, "probabilities"):
        return model.probabilities(x)
    return np.asarray(model.predict(x, batch_size=1024, verbose=0))


def evaluate(model, images: np.ndarray, labels: np.ndarray) -> dict:
    """Metrics of `model` on uint8 images (N, 28, 28) with labels (N,)."""
    return metrics_from_probabilities(predict_probabilities(model, images), labels)


def evaluate_path(path, data_dir=None, pictures=True) -> dict:
    """Load the model at `path` (run folder, .keras, model.json, .onnx) and evaluate it on the MNIST
    test set. When the model is a run's (a config.json beside it), the metrics are merged into the
    run's `metrics.json` (keeping training figures there) and, with `pictures`, confusion.png,
    mistakes.png and predictions.png are drawn there too. A model anywhere else (an .onnx file,
    the one inside the installed package) is only read: nothing is written beside it."""
    from .saving import model_folder

    metrics, probabilities, (images, labels) = evaluate_on_mnist(path, data_dir)
    folder = model_folder(path)
    if not runs.is_run(folder):
        return metrics
    files.write_json(folder / runs.METRICS, {**runs.read(folder, runs.METRICS, {}), **metrics})
    if pictures:
        write_evaluation_pictures(folder, images, labels, probabilities, metrics)
    return metrics


def evaluate_on_mnist(path, data_dir=None, mnist=None):
    """(metrics, probabilities (N, 10), (test images, test labels)) for the model at `path`;
    `mnist` is the already-loaded data set, else it is loaded from `data_dir`."""
    from .saving import load_any_model

    model = load_any_model(path)
    _, (images, labels) = mnist if mnist is not None else data.load_mnist(data_dir)
    probabilities = predict_probabilities(model, images)
    return metrics_from_probabilities(probabilities, labels), probabilities, (images, labels)


def write_evaluation_pictures(folder, images, labels, probabilities, metrics) -> list:
    from . import plots

    written = [plots.save_figure(plots.plot_confusion(metrics["confusion_matrix"]), Path(folder) / runs.CONFUSION)]
    written.append(plots.save_figure(plots.plot_mistakes(images, labels, probabilities)[0], Path(folder) / runs.MISTAKES))
    written.append(plots.save_figure(plots.plot_predictions(images, labels, probabilities)[0], Path(folder) / runs.PREDICTIONS))
    return written
