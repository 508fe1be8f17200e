"""Ensembles: the mean of members' probabilities, as a run folder every command takes."""

import json

import numpy as np
import pytest

from digitrec.cli import main
from digitrec.config import TrainConfig
from digitrec.ensemble import build_ensemble, is_ensemble
from digitrec.errors import DigitrecError
from digitrec.training import train

pytestmark = pytest.mark.slow  # every test here trains ensemble members (make test-fast leaves them out)


@pytest.fixture(scope="module")
def members(small_mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("members")
    runs = []
    for seed, model in ((0, "fast"), (1, "fast"), (2, "seed004_cnn")):
        config = TrainConfig.from_recipe(model, epochs=1, batch_size=64, seed=seed)
        runs.append(train(config, mnist=small_mnist, out_dir=folder / f"{model}-{seed}").run_dir)
    return runs


def test_ensemble_is_the_mean_of_its_members(members, small_mnist, tmp_path):
    from digitrec.evaluation import predict_probabilities
    from digitrec.saving import load_model

    metrics = build_ensemble(members, tmp_path / "ensemble", mnist=small_mnist)
    test_images, test_labels = small_mnist[1]
    each = [predict_probabilities(load_model(run), test_images) for run in members]
    mean = np.mean(each, axis=0)
    ensemble = load_model(tmp_path / "ensemble")
    assert is_ensemble(ensemble)
    np.testing.assert_allclose(predict_probabilities(ensemble, test_images), mean, atol=1e-6)
    assert metrics["test_accuracy"] == pytest.approx(float(np.mean(mean.argmax(1) == test_labels)))
    accuracies = [float(np.mean(p.argmax(1) == test_labels)) for p in each]
    assert [row["test_accuracy"] for row in metrics["members"]] == pytest.approx(accuracies)
    assert metrics["members_mean_accuracy"] == pytest.approx(np.mean(accuracies))
    assert metrics["members_std_accuracy"] == pytest.approx(np.std(accuracies, ddof=1))
    record = json.loads((tmp_path / "ensemble" / "config.json").read_text())
    assert record["model"]["name"] == "ensemble" and [row["model"] for row in record["members"]] == ["fast", "fast", "seed004_cnn"]


def test_an_ensemble_member_is_opened_into_its_members(members, small_mnist, tmp_path):
    build_ensemble(members[:2], tmp_path / "two", mnist=small_mnist)
    metrics = build_ensemble([tmp_path / "two", members[2]], tmp_path / "three", mnist=small_mnist)
    assert len(metrics["members"]) == 3


def test_cli_ensemble_evaluates_exports_and_predicts(members, mnist_dir, hwd_dir, tmp_path, capsys):
    from digitrec.inference import OnnxModel
    from digitrec.saving import load_model

    out = tmp_path / "ensemble"
    assert main(["ensemble", *map(str, members), "--out", str(out), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    assert "members: mean" in printed and "ensemble of 3: test accuracy" in printed
    assert main(["evaluate", str(out), "--data-dir", str(mnist_dir), "--no-pictures", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["test_accuracy"] == json.loads((out / "metrics.json").read_text())["test_accuracy"]
    assert main(["export", str(out), "--format", "onnx"]) == 0
    capsys.readouterr()
    images = np.random.default_rng(0).random((40, 28, 28, 1), dtype=np.float32)
    keras_rows = np.asarray(load_model(out)(images, training=False))
    np.testing.assert_allclose(OnnxModel(out / "model.onnx").probabilities(images), keras_rows, atol=1e-5)
    pictures = sorted((hwd_dir / "img").glob("*.png"))[:5]
    assert main(["predict", *map(str, pictures), "--model", str(out), "--json"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert len(answers) == 5 and all(answer.get("error") is None for answer in answers)


def moved(images, rows, columns):
    """Images moved `rows` down and `columns` right, zeros coming in (NumPy's own, to check join's)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    return padded[:, 1 - rows:29 - rows, 1 - columns:29 - columns]


def test_shifts_are_the_mean_over_the_moved_images_in_keras_and_onnx(members, small_mnist, mnist_dir, tmp_path, capsys):
    from digitrec.ensemble import SHIFTS, shifts_of
    from digitrec.evaluation import predict_probabilities
    from digitrec.inference import OnnxModel
    from digitrec.saving import load_model

    test_images, test_labels = small_mnist[1]
    assert (moved(test_images, 1, 0)[:, 1:] == test_images[:, :-1]).all() and (moved(test_images, 0, -1)[:, :, :-1] == test_images[:, :, 1:]).all()
    metrics = build_ensemble(members[:1], tmp_path / "one", mnist=small_mnist, shifts=True)
    member = load_model(members[0])
    expected = np.mean([predict_probabilities(member, moved(test_images, r, c)) for r, c in SHIFTS], axis=0)
    shifted = load_model(tmp_path / "one")
    assert is_ensemble(shifted) and shifts_of(shifted) == list(SHIFTS) and metrics["test_time_shifts"]
    np.testing.assert_allclose(predict_probabilities(shifted, test_images), expected, atol=1e-6)
    assert metrics["test_accuracy"] == pytest.approx(float(np.mean(expected.argmax(1) == test_labels)))
    assert main(["export", str(tmp_path / "one"), "--format", "onnx"]) == 0
    images = np.random.default_rng(1).random((30, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(OnnxModel(tmp_path / "one" / "model.onnx").probabilities(images),
                               np.asarray(shifted(images, training=False)), atol=1e-5)
    # a member that reads shifts keeps them in a larger ensemble, and every member then reads them
    metrics = build_ensemble([tmp_path / "one", members[1]], tmp_path / "two", mnist=small_mnist)
    assert metrics["test_time_shifts"] and len(metrics["members"]) == 2
    capsys.readouterr()
    assert main(["ensemble", str(members[2]), "--shifts", "--out", str(tmp_path / "cli"), "--data-dir", str(mnist_dir)]) == 0
    printed = capsys.readouterr().out
    assert "ensemble of 1 with test-time shifts: test accuracy" in printed and "members: mean" not in printed


def test_only_joins_own_shifts_count_as_an_ensemble(members):
    import keras

    from digitrec.export import keras_to_onnx
    from digitrec.saving import load_model

    member = load_model(members[0])
    inputs = keras.Input(shape=(28, 28, 1))
    moved_two = keras.layers.Cropping2D(((0, 4), (2, 2)))(keras.layers.ZeroPadding2D(2)(inputs))  # two pixels down
    other = keras.Model(inputs, keras.layers.Average()([member(inputs), member(moved_two)]))
    assert not is_ensemble(other)  # the export would otherwise read it as a one-pixel shift
    with pytest.raises(DigitrecError, match="only Sequential models and ensembles of them export"):
        keras_to_onnx(other)


def test_refusals_are_one_line(members, small_mnist, tmp_path):
    with pytest.raises(DigitrecError, match=r"at least 2 members \(or 1 with test-time shifts\), got 1"):
        build_ensemble(members[:1], tmp_path / "one", mnist=small_mnist)
    with pytest.raises(DigitrecError, match="no such"):
        build_ensemble([members[0], tmp_path / "missing"], tmp_path / "e", mnist=small_mnist)
    build_ensemble(members[:2], tmp_path / "e", mnist=small_mnist)
    with pytest.raises(DigitrecError, match="already exists"):
        build_ensemble(members[:2], tmp_path / "e", mnist=small_mnist)
    assert not (tmp_path / "missing").exists()
