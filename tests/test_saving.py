"""Round trips: .keras and the legacy JSON + HDF5 pair predict exactly as the model in memory."""

import json

import keras
import numpy as np
import pytest

from digitrec import saving
from digitrec.data import scale_images
from digitrec.errors import DigitrecError


@pytest.fixture(scope="module")
def images(small_mnist):
    return scale_images(small_mnist[1][0][:64])


def test_keras_file_round_trip(trained_run, images):
    loaded = saving.load_model(trained_run.run_dir)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), trained_run.model.predict(images, verbose=0))


def test_legacy_export_loads_in_plain_keras_and_digitrec(trained_run, images, tmp_path):
    out_dir = saving.export_legacy(trained_run.run_dir, tmp_path / "legacy")
    assert sorted(p.name for p in out_dir.iterdir()) == ["model.json", "model.weights.h5"]
    expected = trained_run.model.predict(images, verbose=0)
    # the tutorial's way
    plain = keras.models.model_from_json((out_dir / "model.json").read_text())
    plain.load_weights(out_dir / "model.weights.h5")
    np.testing.assert_array_equal(plain.predict(images, verbose=0), expected)
    # digitrec's way, through the allow-list
    np.testing.assert_array_equal(saving.load_model(out_dir).predict(images, verbose=0), expected)


def test_an_ensembles_legacy_pair_loads_through_the_allow_list(trained_run, images, small_mnist, tmp_path):
    # a Functional model: its class is written from keras.src.models.functional, and its layers are
    # wired by "__keras_tensor__" objects; both are allowed there, and nowhere else
    from digitrec.ensemble import build_ensemble, is_ensemble, shifts_of

    build_ensemble([trained_run.run_dir], tmp_path / "shifted", mnist=small_mnist, shifts=True)
    expected = saving.load_model(tmp_path / "shifted").predict(images, verbose=0)
    out_dir = saving.export_legacy(tmp_path / "shifted", tmp_path / "legacy")
    loaded = saving.load_model(out_dir)
    assert is_ensemble(loaded) and len(shifts_of(loaded)) == 5
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, atol=1e-6)
    architecture = json.loads((out_dir / "model.json").read_text())
    architecture["config"]["layers"].insert(1, {"class_name": "__keras_tensor__", "config": {}})
    (out_dir / "model.json").write_text(json.dumps(architecture))
    with pytest.raises(DigitrecError, match=r"refusing layer class '__keras_tensor__' \(not on the allow-list\)"):
        saving.load_model(out_dir)


def legacy_pair_with(tmp_path, trained_run, edit):
    out_dir = saving.export_legacy(trained_run.run_dir, tmp_path / "legacy")
    architecture = json.loads((out_dir / "model.json").read_text())
    edit(architecture)
    (out_dir / "model.json").write_text(json.dumps(architecture))
    return out_dir / "model.json"


def test_lambda_layer_is_refused(trained_run, tmp_path):
    def add_lambda(architecture):
        architecture["config"]["layers"].insert(1, {
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "..."}}},
        })

    path = legacy_pair_with(tmp_path, trained_run, add_lambda)
    with pytest.raises(DigitrecError, match=r"model.json: refusing layer class 'Lambda' \(not on the allow-list\)"):
        saving.load_model(path)


def test_foreign_module_and_custom_object_are_refused(trained_run, tmp_path):
    def foreign_initializer(architecture):
        architecture["config"]["layers"][1]["config"]["kernel_initializer"] = {
            "module": "os", "class_name": "system", "config": {}, "registered_name": None}

    with pytest.raises(DigitrecError, match=r"refusing object 'system' from module 'os'"):
        saving.load_model(legacy_pair_with(tmp_path / "a", trained_run, foreign_initializer))

    def registered(architecture):
        architecture["config"]["layers"][1]["registered_name"] = "mypackage>Backdoor"

    with pytest.raises(DigitrecError, match=r"refusing custom object 'mypackage>Backdoor'"):
        saving.load_model(legacy_pair_with(tmp_path / "b", trained_run, registered))


def test_bad_model_files(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(DigitrecError, match=r"broken.keras: not a loadable Keras model"):
        saving.load_model(broken)
    with pytest.raises(DigitrecError, match=r"nothing: no such file or folder"):
        saving.load_model(tmp_path / "nothing")
    with pytest.raises(DigitrecError, match=r"no model.keras, model.json or model.onnx in this folder"):
        saving.load_model(tmp_path)
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(DigitrecError, match=r"m.txt: unknown model format"):
        saving.load_model(tmp_path / "m.txt")
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "model.json").write_text('{"class_name": "Sequential", "config": {"layers": []}}')
    with pytest.raises(DigitrecError, match=r"model.weights.h5: no such weights file beside model.json"):
        saving.load_model(lone)


def test_a_lambda_tagged_with_an_allowed_keras_module_is_refused(trained_run, tmp_path):
    def lambda_initializer(architecture):
        architecture["config"]["layers"][1]["config"]["kernel_initializer"] = {
            "module": "keras.initializers", "class_name": "__lambda__", "registered_name": None,
            "config": {"code": "4wAAAAAAAAAAAAAAAAAAAAAAAAA=", "defaults": None, "closure": None}}

    path = legacy_pair_with(tmp_path, trained_run, lambda_initializer)
    with pytest.raises(DigitrecError, match=r"model.json: refusing object '__lambda__' \(not on the allow-list\)$"):
        saving.load_model(path)


def test_an_architecture_nested_100000_deep_is_one_line(tmp_path):
    deep = tmp_path / "model.json"
    deep.write_text('{"class_name": "Sequential", "config": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}")
    (tmp_path / "model.weights.h5").write_bytes(b"")
    with pytest.raises(DigitrecError, match=r"model.json: (JSON nested too deeply to read|refusing an architecture nested deeper than 64 levels)$"):
        saving.load_model(deep)
