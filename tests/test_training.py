import json
import os

import keras
import numpy as np
import pytest

from digitrec.config import TrainConfig
from digitrec.errors import DigitrecError
from digitrec.models import Augmentation, get_spec
from digitrec.schedules import OneCycle
from digitrec.training import RepeatingBatches, train


def test_smoke_training_learns(trained_run):
    # 3,000 real MNIST images, two epochs: far above chance (10 %)
    assert trained_run.metrics["test_accuracy"] > 0.85
    assert len(trained_run.history["loss"]) == 2
    assert trained_run.history["loss"][1] < trained_run.history["loss"][0]


def test_run_folder_holds_model_config_history_metrics(trained_run):
    run_dir = trained_run.run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "curves.png", "history.json", "metrics.json", "model.keras"]
    record = json.loads((run_dir / "config.json").read_text())
    assert record["model"] == {"name": "fast", "source": record["model"]["source"], "parameters": 81_498}
    assert record["config"]["epochs"] == 2 and record["config"]["batch_size"] == 64
    assert record["versions"]["keras"] == keras.__version__ and record["versions"]["backend"] == "tensorflow"
    assert record["versions"]["device"] == "CPU"  # no GPU here: the CPU path, as before (the gpu extra is not installed)
    assert set(record["data"]["arrays_sha256"]) == {"x_train", "y_train", "x_test", "y_test"}
    history = json.loads((run_dir / "history.json").read_text())
    # fast's recipe validates on 8 % of the training images: the test set is only for the end
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_seconds"}
    assert not any(key.startswith("test_") for key in history)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(trained_run.metrics["test_accuracy"])
    assert TrainConfig.from_dict(record["config"]) == TrainConfig.from_recipe("fast", epochs=2, batch_size=64, learning_rate=0.01)


def test_one_definition_of_the_settings():
    import dataclasses

    from digitrec.models import OPTIMIZERS, get_spec

    config = TrainConfig.from_recipe("codeastar_cnn", epochs=3, seed=4)
    assert config.recipe == dataclasses.replace(get_spec("codeastar_cnn").recipe, epochs=3)  # the registry's, overridden
    assert config.epochs == 3 and config.seed == 4  # read through to the recipe
    flat = config.to_dict()  # config.json stays flat, as runs have always written it
    assert flat["epochs"] == 3 and flat["model"] == "codeastar_cnn" and "recipe" not in flat
    with pytest.raises(DigitrecError, match="unknown optimizer 'sgd' \\(known: adadelta, rmsprop, adam\\)"):
        TrainConfig.from_dict({**flat, "optimizer": "sgd"})  # no longer falls through to Adam
    with pytest.raises(DigitrecError, match="unknown schedule"):
        TrainConfig.from_recipe("fast", schedule="cosine")
    assert set(OPTIMIZERS) == {"adadelta", "rmsprop", "adam"}


def test_config_from_recipe_and_overrides():
    config = TrainConfig.from_recipe("codeastar_cnn", epochs=3)
    assert config.epochs == 3 and config.batch_size == 64 and config.augmentation.shift == 0.1
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(DigitrecError, match="--epochs must be at least 1, got 0"):
        TrainConfig.from_recipe("fast", epochs=0)
    with pytest.raises(DigitrecError, match="--validation-split must be a fraction between 0 and 1, got 0$"):
        TrainConfig.from_recipe("fast", validation_fraction=0)  # the recipe checks it, whoever asks (train, sweep, Python)


def test_augmented_split_recipe_with_fixed_steps(small_mnist, tmp_path):
    # codeastar's recipe in miniature: augmentation, 8 % split, fixed steps, ReduceLROnPlateau
    config = TrainConfig.from_recipe("codeastar_cnn", epochs=2, steps_per_epoch=20, limit=1000)
    result = train(config, mnist=small_mnist)
    assert len(result.history["val_accuracy"]) == 2
    assert result.history["learning_rate"] == [pytest.approx(0.001)] * 2
    assert result.metrics["test_accuracy"] > 0.3
    # the saved model is the bare architecture, without the augmentation layers
    assert result.model.name == "codeastar_cnn" and len(result.model.layers) == 8


def test_repeating_batches_wrap_into_a_new_permutation():
    images = np.arange(10).reshape(10, 1)
    batches = RepeatingBatches(images, images, batch_size=4, steps_per_epoch=5, seed=0)
    seen = np.concatenate([batches[i][0].ravel() for i in range(5)])  # 20 images from 10
    assert len(batches) == 5 and len(seen) == 20
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))


def test_one_cycle_rises_then_falls():
    schedule = OneCycle(0.01, total_steps=100)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(101)]
    assert rates[0] == pytest.approx(0.01 / 25)
    assert max(rates) == pytest.approx(0.01) and int(np.argmax(rates)) == 25
    assert rates[-1] < 1e-6
    assert all(a <= b for a, b in zip(rates[:25], rates[1:26])) and all(a >= b for a, b in zip(rates[25:], rates[26:]))


def test_one_cycle_has_pytorchs_factors_and_nearly_its_curve():
    # the docstring's reference: PyTorch's OneCycleLR with the same div_factor (25), final_div_factor
    # (1e4) and warm-up share (0.25, ours; PyTorch's default is 0.3), cosine, no momentum cycling
    torch = pytest.importorskip("torch")
    total, peak = 1000, 0.01
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=total, pct_start=0.25, anneal_strategy="cos",
                                                    cycle_momentum=False, div_factor=25, final_div_factor=1e4, three_phase=False)
    reference = []
    for _ in range(total):
        reference.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    schedule = OneCycle(peak, total_steps=total)
    ours = np.array([float(keras.ops.convert_to_numpy(schedule(step))) for step in range(total + 1)])
    assert ours[0] == pytest.approx(reference[0]) and ours.max() == pytest.approx(max(reference))
    assert ours[-1] == pytest.approx(reference[-1])  # PyTorch ends one step sooner: its last step is total - 1
    assert np.abs(ours[:total] - np.array(reference)).max() < 0.01 * peak  # the same curve, up to that one step


def test_random_affine_turns_zooms_and_shifts_about_the_centre_in_one_resampling():
    from digitrec.training import RandomAffine

    rng = np.random.default_rng(0)
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 6:13, 9:20, 0] = rng.random((7, 11))  # no symmetry, ink away from the edges

    def apply(layer, draw):
        transforms = layer.transforms(np.array([draw], np.float32), 28, 28)
        moved = keras.ops.image.affine_transform(image, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0)
        return np.asarray(moved)[0, ..., 0], np.asarray(transforms)[0]

    turned, _ = apply(RandomAffine(90, 0, 0), [1, 0, 0, 0, 0])  # a quarter turn about the centre
    assert min(np.abs(turned - np.rot90(image[0, ..., 0], k)).max() for k in (1, 3)) < 1e-4
    shifted, _ = apply(RandomAffine(0, 0, 2 / 28), [0, 0, 0, 1, -1])  # 2 px right, 2 px up
    expected = np.zeros((28, 28), np.float32)
    expected[:-2, 2:] = image[0, 2:, :-2, 0]
    np.testing.assert_allclose(shifted, expected, atol=1e-5)
    # any draw of the recipes' ranges is one bilinear resampling: scipy's affine_transform at order 1
    # (what Keras 2's ImageDataGenerator, codeastar's augmentation, called) with the same matrix
    ndimage = pytest.importorskip("scipy.ndimage")
    for draw in rng.uniform(-1, 1, (4, 5)):
        moved, t = apply(RandomAffine(10, 0.1, 0.1), draw)
        reference = ndimage.affine_transform(image[0, ..., 0], [[t[4], t[3]], [t[1], t[0]]], offset=[t[5], t[2]], order=1)
        np.testing.assert_allclose(moved, reference, atol=1e-5)
    layer = RandomAffine(10, 0.1, 0.1)
    np.testing.assert_array_equal(np.asarray(layer(image, training=False)), image)  # only while training


def test_elastic_distortion_is_the_affine_reading_moved_by_a_smoothed_random_field():
    # Simard et al. (2003): a random field in [-1, 1] per pixel and axis, blurred by a Gaussian of
    # sigma px, times alpha; read together with the affine transform in one bilinear resampling
    from digitrec.training import RandomAffine, gaussian_smooth, resample

    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(1)
    images = np.zeros((3, 28, 28, 1), np.float32)
    images[:, 6:22, 8:20, 0] = rng.random((3, 16, 12))
    transforms = np.asarray(RandomAffine(10, 0.1, 0.1).transforms(rng.uniform(-1, 1, (3, 5)).astype(np.float32), 28, 28))
    # no displacement: the affine transform exactly as the layer reads it without elastic distortion
    affine = keras.ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant", fill_value=0)
    np.testing.assert_allclose(np.asarray(resample(images, transforms, np.zeros((3, 28, 28, 2), np.float32))), np.asarray(affine), atol=1e-5)
    # with one: scipy's bilinear reading at the affine point plus the displacement, zeros outside
    displacement = rng.uniform(-3, 3, (3, 28, 28, 2)).astype(np.float32)
    moved = np.asarray(resample(images, transforms, displacement))
    y, x = np.mgrid[0:28, 0:28].astype(np.float32)
    for i, t in enumerate(transforms):
        from_x = t[0] * x + t[1] * y + t[2] + displacement[i, ..., 0]
        from_y = t[3] * x + t[4] * y + t[5] + displacement[i, ..., 1]
        reference = ndimage.map_coordinates(images[i, ..., 0], [from_y, from_x], order=1, mode="grid-constant", cval=0)
        np.testing.assert_allclose(moved[i, ..., 0], reference, atol=1e-5)
    # the smoothing is scipy's Gaussian filter (zeros beyond the edge, 3 sigma wide)
    field = rng.uniform(-1, 1, (2, 28, 28, 2)).astype(np.float32)
    smooth = np.asarray(gaussian_smooth(field, 6.0))
    for i in range(2):
        for axis in range(2):
            reference = ndimage.gaussian_filter(field[i, ..., axis], 6.0, mode="constant", truncate=3.0)
            np.testing.assert_allclose(smooth[i, ..., axis], reference, atol=1e-6)
    # the layer: a gentle warp (about a pixel) that keeps the ink, only while training
    layer = RandomAffine(0, 0, 0, elastic_alpha=34, elastic_sigma=6, seed=0)
    warped = np.asarray(layer(images, training=True))
    assert 0.2 < np.abs(warped - images).mean() / images.mean() < 1.5
    np.testing.assert_allclose(warped.sum(axis=(1, 2, 3)), images.sum(axis=(1, 2, 3)), rtol=0.1)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)


def test_elastic_settings_are_saved_with_the_recipe_and_old_configs_still_load():
    augmentation = Augmentation(rotation_degrees=10, zoom=0.1, shift=0.1, elastic_alpha=34, elastic_sigma=6)
    config = TrainConfig.from_recipe("best", augmentation=augmentation)
    assert "elastic 34/6" in config.recipe.describe()
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    old = config.to_dict()
    del old["augmentation"]["elastic_alpha"], old["augmentation"]["elastic_sigma"]  # written before elastic distortion
    assert TrainConfig.from_dict(old).augmentation.elastic_alpha == 0
    assert "elastic" not in get_spec("robust").recipe.describe()


@pytest.mark.slow
def test_random_affine_is_the_same_on_pytorch(tmp_path):
    # Ray's workers run Keras on PyTorch (parallel.py): the same transforms (and elastic fields) move the pixels alike
    pytest.importorskip("torch")
    import subprocess
    import sys

    script = (
        "import sys, numpy as np, keras\n"
        "from digitrec.training import RandomAffine\n"
        "rng = np.random.default_rng(0)\n"
        "image = np.zeros((4, 28, 28, 1), np.float32); image[:, 6:13, 9:20, 0] = rng.random((4, 7, 11))\n"
        "t = RandomAffine(10, 0.1, 0.1).transforms(rng.uniform(-1, 1, (4, 5)).astype(np.float32), 28, 28)\n"
        "from digitrec.training import gaussian_smooth, resample\n"
        "field = 34 * gaussian_smooth(rng.uniform(-1, 1, (4, 28, 28, 2)).astype(np.float32), 6.0)\n"
        "warped = resample(image, t, field)\n"
        "# first: Keras 3.15's affine_transform on PyTorch overwrites the transforms it is given\n"
        "moved = keras.ops.image.affine_transform(image, t, interpolation='bilinear', fill_mode='constant', fill_value=0)\n"
        "moved = keras.ops.concatenate([moved, warped])\n"
        "np.save(sys.argv[1], keras.ops.convert_to_numpy(moved)); print(keras.backend.backend())\n"
    )
    outputs = {}
    for backend in ("tensorflow", "torch"):
        path = tmp_path / f"{backend}.npy"
        finished = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "KERAS_BACKEND": backend})
        assert finished.returncode == 0 and finished.stdout.split() == [backend], finished.stderr
        outputs[backend] = np.load(path)
    assert outputs["tensorflow"].max() > 0.1
    np.testing.assert_allclose(outputs["torch"], outputs["tensorflow"], atol=1e-5)


def test_same_seed_same_weights(small_mnist):
    config = TrainConfig.from_recipe("fast", epochs=1, limit=512, batch_size=128)
    first = train(config, mnist=small_mnist).model.get_weights()
    second = train(config, mnist=small_mnist).model.get_weights()
    for a, b in zip(first, second):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_existing_run_folder_is_not_replaced_without_overwrite(small_mnist, trained_run):
    before = (trained_run.run_dir / "model.keras").read_bytes()
    config = TrainConfig.from_recipe("fast", epochs=1, limit=256)
    with pytest.raises(DigitrecError, match=r"fast: already exists; choose another --out or pass --overwrite"):
        train(config, mnist=small_mnist, out_dir=trained_run.run_dir)
    assert (trained_run.run_dir / "model.keras").read_bytes() == before


def test_interrupted_run_leaves_nothing(small_mnist, tmp_path, monkeypatch):
    import digitrec.training as training

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "run_record", fail)  # dies in the save, after model.keras was written
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig.from_recipe("fast", epochs=1, limit=256), mnist=small_mnist, out_dir=tmp_path / "run")
    # no run folder, no staging folder, no lock: only the checkpoint that `train --resume` continues from
    assert [path.name for path in tmp_path.iterdir()] == [".run.resume"]


@pytest.mark.slow
def test_kaggle_train_csv_end_to_end(small_mnist, tmp_path, capsys):
    """Seed 003's flow from the command line: train on train.csv with an 8 % split, then write a submission."""
    from digitrec.cli import main
    from digitrec.data import write_kaggle_csv

    (images, labels), (test_images, _) = small_mnist
    train_csv = write_kaggle_csv(tmp_path / "train.csv", images[:1500], labels[:1500])
    test_csv = write_kaggle_csv(tmp_path / "test.csv", test_images[:40])
    run = tmp_path / "kaggle"
    assert main(["train", "--model", "codeastar_cnn", "--data", str(train_csv), "--epochs", "2", "--steps-per-epoch", "15", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "codeastar_cnn: validation accuracy" in out and "train.csv has no test set" in out
    record = json.loads((run / "config.json").read_text())
    assert record["config"]["data"] == str(train_csv) and record["data"]["csv_sha256"]
    assert record["config"]["validation_fraction"] == 0.08
    metrics = json.loads((run / "metrics.json").read_text())
    assert "test_accuracy" not in metrics and metrics["validation_accuracy"] > 0.2
    history = json.loads((run / "history.json").read_text())
    assert len(history["val_accuracy"]) == 2  # a split of the training rows: "val", honestly
    submission = tmp_path / "submission.csv"
    assert main(["predict", str(test_csv), "--model", str(run), "--submission", str(submission)]) == 0
    assert submission.read_text().splitlines()[0] == "ImageId,Label" and len(submission.read_text().splitlines()) == 41
    # a recipe that validates on the test set holds out 8 % of train.csv instead
    assert main(["train", "--model", "fast", "--data", str(train_csv), "--epochs", "1", "--out", str(tmp_path / "fast")]) == 0
    assert json.loads((tmp_path / "fast" / "config.json").read_text())["config"]["validation"] == "split"
    # test.csv has no labels: one line
    assert main(["train", "--model", "fast", "--data", str(test_csv), "--out", str(tmp_path / "no")]) == 1
    assert "has no label column" in capsys.readouterr().err


@pytest.mark.slow
def test_no_validation_trains_on_every_image_for_fixed_epochs(small_mnist, tmp_path, capsys):
    """--validation-split 0: the final fit of a chosen recipe, on all the training rows."""
    from digitrec.cli import main
    from digitrec.training import prepare_data

    config = TrainConfig.from_recipe("fast", epochs=2, limit=600, validation="none", validation_fraction=0.0)
    prepared = prepare_data(config, mnist=small_mnist)
    assert len(prepared.train[0]) == 600 and len(prepared.validation[0]) == 0 and len(prepared.test[0]) == len(small_mnist[1][0])
    assert "no validation" in config.recipe.describe()
    result = train(config, mnist=small_mnist, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("val_" not in line and "test_" not in line for line in lines)
    assert len(result.history["accuracy"]) == 2 and not any(key.startswith(("val_", "test_")) for key in result.history)
    assert 0 < result.metrics["test_accuracy"] <= 1  # the test set still measures the finished model
    with pytest.raises(DigitrecError, match="reduce_on_plateau schedule watches validation accuracy"):
        TrainConfig.from_recipe("codeastar_cnn", validation="none", validation_fraction=0.0)

    # from the command line, with Kaggle's train.csv: every row trained on, nothing to measure
    from digitrec.data import write_kaggle_csv

    (images, labels), _ = small_mnist
    train_csv = write_kaggle_csv(tmp_path / "train.csv", images[:300], labels[:300])
    run = tmp_path / "all-rows"
    assert main(["train", "--model", "fast", "--data", str(train_csv), "--validation-split", "0", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "fast: every row trained on, none held out to measure" in out and "Kaggle scores a submission" in out
    record = json.loads((run / "config.json").read_text())
    assert record["config"]["validation"] == "none" and record["config"]["data"] == str(train_csv)
    assert set(json.loads((run / "metrics.json").read_text())) == {"train_seconds", "train_images_per_second", "epochs"}
    # --data with a split of its own keeps the file (it used to train on MNIST instead)
    assert main(["train", "--model", "fast", "--data", str(train_csv), "--validation-split", "0.2", "--out", str(tmp_path / "s")]) == 0
    record = json.loads((tmp_path / "s" / "config.json").read_text())
    assert record["config"]["data"] == str(train_csv) and record["config"]["validation_fraction"] == 0.2
    assert "validation accuracy" in capsys.readouterr().out


@pytest.mark.slow
def test_progress_bar_inside_each_epoch_and_a_line_per_epoch(small_mnist, capsys):
    # validating on the test set, as the tutorials' recipes do: the figures are called "test_"
    config = TrainConfig.from_recipe("fast", epochs=2, limit=1024, batch_size=128, validation="test")
    for verbose in (1, 2):
        train(config, mnist=small_mnist, verbose=verbose)
        text = capsys.readouterr().out
        lines = [line.rsplit("\r\x1b[K", 1)[-1] for line in text.split("\n") if line]
        assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]], lines
        for line in lines:  # the epoch's line: time, speed, and the validation figures named "test_"
            assert " s " in line and "images/s" in line and "test_accuracy" in line and "val_" not in line
        if verbose == 1:  # the last step of an epoch is always drawn, whatever the throttle
            first_epoch = text.split("\n")[0]
            assert "[" in first_epoch and " 8/8 " in first_epoch and "ETA 0:00" in first_epoch and "images/s" in first_epoch
        else:
            assert "\r" not in text and "ETA" not in text


def test_silent_by_default(small_mnist, capsys):
    train(TrainConfig.from_recipe("fast", epochs=1, limit=256), mnist=small_mnist)
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_weights_ema_is_the_saved_model_and_what_is_validated(small_mnist, monkeypatch):
    from digitrec import training
    from digitrec.evaluation import evaluate

    config = TrainConfig.from_recipe("fast", epochs=5, limit=1024, batch_size=128, ema_momentum=0.8)
    assert "weights EMA 0.8" in config.recipe.describe()
    seen = []  # the raw weights after every step

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append([np.array(v) for v in self.model.trainable_variables])

    build = training.build_callbacks
    monkeypatch.setattr(training, "build_callbacks", lambda *args: [*build(*args), Record()])
    result = train(config, mnist=small_mnist)
    average = seen[0]  # the average starts at the first step's weights, then warms up (training.with_ema_warmup)
    for step, weights in enumerate(seen[1:], start=1):
        m = min(0.8, (1 + step) / (10 + step))
        average = [m * a + (1 - m) * w for a, w in zip(average, weights)]
    saved = [np.array(v) for v in result.model.trainable_variables]
    assert len(seen) == 5 * 8 and len(saved) == len(average)  # past step 35, where the momentum reaches 0.8
    for expected, got in zip(average, saved):
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert max(np.abs(s - w).max() for s, w in zip(saved, seen[-1])) > 1e-3  # not the last raw weights
    validation = training.prepare_data(config, small_mnist).validation
    assert result.history["val_accuracy"][-1] == pytest.approx(evaluate(result.model, *validation)["test_accuracy"])


def test_weight_decay_shrinks_kernels_only():
    from digitrec.models import create_model
    from digitrec.training import build_optimizer

    config = TrainConfig.from_recipe("fast", schedule="constant", learning_rate=0.01, weight_decay=0.1)
    assert "weight decay 0.1" in config.recipe.describe()
    model = create_model("fast")
    optimizer = build_optimizer(config, steps_per_epoch=10)
    rng = np.random.default_rng(0)
    for v in model.trainable_variables:  # biases and beta start at zero, where decay would not show
        v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
    before = {v.path: np.array(v) for v in model.trainable_variables}
    # zero gradients: Adam's own step is zero, so what changes is the decay alone
    optimizer.apply_gradients([(keras.ops.zeros_like(v), v) for v in model.trainable_variables])
    kinds = set()
    for v in model.trainable_variables:
        kind = v.path.rsplit("/", 1)[-1]
        kinds.add(kind)
        expected = before[v.path] * (1 - 0.01 * 0.1) if kind == "kernel" else before[v.path]
        np.testing.assert_allclose(np.array(v), expected, rtol=1e-6, err_msg=v.path)
    assert kinds == {"kernel", "bias", "gamma", "beta"}


def test_weight_decay_is_checked():
    with pytest.raises(DigitrecError, match=r"--weight-decay must be in \(0, 1\), got 2"):
        TrainConfig.from_recipe("fast", weight_decay=2.0)


def test_ema_momentum_is_checked():
    with pytest.raises(DigitrecError, match=r"--ema must be a momentum in \(0, 1\), got 1.5"):
        TrainConfig.from_recipe("fast", ema_momentum=1.5)


@pytest.mark.slow
def test_test_time_shifts_are_the_saved_model_and_its_held_out_figures(small_mnist, tmp_path):
    from digitrec import training
    from digitrec.ensemble import SHIFTS, is_ensemble, members_of, shifts_of
    from digitrec.evaluation import evaluate
    from digitrec.models import get_spec
    from digitrec.saving import load_model

    assert get_spec("best").recipe.test_shifts and not get_spec("fast").recipe.test_shifts
    config = TrainConfig.from_recipe("fast", epochs=1, limit=1024, test_shifts=True)
    assert "test-time shifts" in config.recipe.describe()
    result = train(config, mnist=small_mnist, out_dir=tmp_path / "run")
    saved = load_model(tmp_path / "run")
    assert is_ensemble(saved) and shifts_of(saved) == list(SHIFTS) and [m.name for m in members_of(saved)] == ["fast"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["test_shifts"] is True
    prepared = training.prepare_data(config, small_mnist)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # the figures are the saved model's (shifts and all), not the last epoch's network alone
    assert metrics["test_accuracy"] == pytest.approx(evaluate(saved, *prepared.test)["test_accuracy"])
    assert metrics["validation_accuracy"] == pytest.approx(evaluate(saved, *prepared.validation)["test_accuracy"])
    net = members_of(saved)[0]
    assert result.history["val_accuracy"][-1] == pytest.approx(evaluate(net, *prepared.validation)["test_accuracy"])
    plain = train(TrainConfig.from_recipe("fast", epochs=1, limit=1024), mnist=small_mnist)
    assert "validation_accuracy" not in plain.metrics  # a model measured as it validated: the history has its figures
