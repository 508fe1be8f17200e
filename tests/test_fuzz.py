"""Property-based fuzzing (Hypothesis) of everything that reads outside input: the IDX and CSV
readers, picture decoding and reading, and the API's request parsing. Whatever the input, the
answer is a result or a one-line DigitrecError (a JSON error in the service), never a
traceback, a hang or unbounded memory. Bounded in examples and time so CI stays fast."""

import io
import json
import struct
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from digitrec import data, imaging
from digitrec.errors import DigitrecError
from digitrec.service import ServeConfig, create_app

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def one_line(error):
    message = str(error)
    assert message and "\n" not in message
    return message


def idx_headers():
    """Bytes that start like an IDX file (valid or broken magic, type, dims), then anything."""
    dims = st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), min_size=0, max_size=4)
    return st.builds(
        lambda zero, kind, shape, tail: bytes([0, zero, kind, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + tail,
        st.sampled_from([0, 0, 0, 1]), st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]), dims, st.binary(max_size=2000),
    )


@FUZZ
@given(content=idx_headers() | st.binary(max_size=300))
def test_idx_parsing_ends_in_an_array_or_one_line(content):
    try:
        array = data.parse_idx(content, "fuzz")
    except DigitrecError as error:
        one_line(error)
    else:
        assert isinstance(array, np.ndarray)


@FUZZ
@given(content=idx_headers(), compress=st.booleans())
def test_idx_files_raw_or_gzip_end_in_an_array_or_one_line(tmp_path_factory, content, compress):
    path = tmp_path_factory.mktemp("idx") / ("fuzz.gz" if compress else "fuzz")
    if compress:
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)
        content = packer.compress(content) + packer.flush()
    path.write_bytes(content)
    try:
        data.read_idx(path)
    except DigitrecError as error:
        one_line(error)


csv_cells = st.one_of(st.integers(-5, 300).map(str), st.sampled_from(["", " ", "x", "1.5", "nan", "1e400", "\"", "label", "pixel3"]))
csv_rows = st.lists(csv_cells, min_size=0, max_size=790).map(",".join)


@FUZZ
@given(header=st.sampled_from(["label," + ",".join(f"pixel{i}" for i in range(784)), ",".join(f"pixel{i}" for i in range(784)), "", "a,b"]) | csv_rows,
       rows=st.lists(csv_rows, max_size=4), bom=st.booleans())
def test_kaggle_csv_reading_ends_in_arrays_or_one_line(tmp_path_factory, header, rows, bom):
    path = tmp_path_factory.mktemp("csv") / "fuzz.csv"
    path.write_text(("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n")
    try:
        images, labels = data.read_kaggle_csv(path)
    except DigitrecError as error:
        one_line(error)
    else:
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)


def png_bytes(size, mode, seed):
    array = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], len(mode)) if len(mode) > 1 else (size[1], size[0]), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


@FUZZ
@given(
    picture=st.builds(png_bytes, st.tuples(st.integers(1, 80), st.integers(1, 80)), st.sampled_from(["L", "RGB", "RGBA"]), st.integers(0, 10**6)),
    cut=st.integers(0, 400), flip=st.integers(0, 400), multi=st.booleans(),
)
def test_pictures_whole_cut_or_damaged_end_in_digits_or_one_line(picture, cut, flip, multi):
    damaged = bytearray(picture[: max(8, len(picture) - cut)] if cut % 3 == 0 else picture)
    if flip % 2:
        damaged[min(flip, len(damaged) - 1)] ^= 0xFF
    try:
        reading = imaging.read(bytes(damaged), multi=multi)
    except DigitrecError as error:
        one_line(error)
    else:
        assert all(digit.pixels.shape == (28, 28) for digit in reading.digits)


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(ServeConfig(max_body_bytes=100_000)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(["image", "pixels", "multi", "x"]), inner, max_size=4),
    max_leaves=30,
)


@FUZZ
@given(body=json_values, multi=st.sampled_from(["", "true", "false", "maybe"]))
def test_api_json_bodies_are_answered_never_500(client, body, multi):
    response = client.post("/api/predict" + (f"?multi={multi}" if multi else ""), content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code in (200, 413, 415, 422), response.text
    assert response.status_code == 200 or set(response.json()) == {"error"}


@FUZZ
@given(content=st.binary(max_size=3000), kind=st.sampled_from(["image/png", "application/octet-stream", "multipart/form-data; boundary=x", "text/plain", ""]))
def test_api_raw_bodies_are_answered_never_500(client, content, kind):
    response = client.post("/api/predict", content=content, headers={"content-type": kind} if kind else {})
    assert response.status_code in (200, 413, 415, 422), response.text
    assert response.status_code == 200 or set(response.json()) == {"error"}


def json_values():
    """Any JSON value, a few levels deep."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                        max_leaves=12)


def run_file_contents():
    """What a damaged run file may hold: bytes, broken JSON, JSON of any shape, or a run's own keys
    holding values of the wrong kind."""
    keyed = st.fixed_dictionaries({}, optional={"name": json_values(), "model": json_values(), "config": json_values(),
                                                "test_accuracy": json_values(), "threshold": json_values()})
    return st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                     json_values().map(lambda value: json.dumps(value).encode()), keyed.map(lambda value: json.dumps(value).encode()))


@pytest.fixture(scope="module")
def fuzzed_run(tmp_path_factory):
    """A run folder holding the shipped ONNX model, whose JSON files the fuzzing replaces."""
    import shutil

    from digitrec.inference import pretrained_model_path

    folder = tmp_path_factory.mktemp("fuzzed") / "run"
    folder.mkdir()
    shutil.copy(pretrained_model_path(), folder / "model.onnx")
    return folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(["config.json", "metrics.json", "model_card.json"]), content=run_file_contents())
def test_run_folder_files_of_any_content_load_or_are_one_line(fuzzed_run, name, content):
    """`predict --model RUN` and `serve --model RUN` with a run folder's files damaged or of another
    shape: the model is served, or one line names the file."""
    from digitrec.inference import Predictor, model_card

    for old in fuzzed_run.glob("*.json"):
        old.unlink()
    (fuzzed_run / name).write_bytes(content)
    try:
        card = model_card(fuzzed_run)
        app = create_app(ServeConfig(model=str(fuzzed_run)))
    except DigitrecError as error:
        assert one_line(error).startswith(str(fuzzed_run / name))
        return
    assert isinstance(card["name"], str)
    with TestClient(app) as client:
        served = client.get("/api/model")
        assert served.status_code == 200 and isinstance(served.json()["name"], str)
        assert client.get("/api/health").json()["model"] == served.json()["name"]
    assert Predictor(fuzzed_run).predict_pixels(np.zeros((1, 28, 28), np.uint8), ["zeros"])[0].error is None
