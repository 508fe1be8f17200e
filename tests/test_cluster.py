"""The Ray engine on a local Ray limited to 2 CPUs: the same rows as the local engine, the light
path never importing Ray."""

import subprocess
import sys

import pytest
from images import drawn_set

from digitrec.cli import main
from digitrec.data import write_kaggle_csv

pytest.importorskip("ray", reason="the cluster extra is not installed: pip install 'digitrec[cluster]'")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, small_mnist):
    folder = tmp_path_factory.mktemp("pictures")
    for index, (image, digit) in enumerate(drawn_set(200, seed=21)):
        image.save(folder / f"{index:03d}-{digit}.png")
    (folder / "150-broken.png").write_text("not a picture")  # a bad file in the middle
    test_csv = write_kaggle_csv(folder.parent / "test.csv", small_mnist[1][0][:100])
    return [folder, test_csv]


@pytest.mark.slow
def test_ray_gives_the_same_rows_as_the_local_engine(inputs, tmp_path, capsys):
    local, on_ray = tmp_path / "local.csv", tmp_path / "ray.csv"
    assert main(["predict", *map(str, inputs), "--output", str(local), "--multi"]) == 1  # the broken file
    assert main(["predict", *map(str, inputs), "--output", str(on_ray), "--multi", "--engine", "ray", "--workers", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("digitrec: error: 1 of 301 inputs could not be read")
    assert on_ray.read_bytes() == local.read_bytes()
    assert on_ray.read_text().count("\n") > 301


def test_the_light_path_never_imports_ray(inputs, tmp_path):
    code = (
        "import sys; from digitrec.cli import main; "
        f"main(['predict', {str(inputs[0])!r}, '--output', {str(tmp_path / 'a.csv')!r}]); "
        "print('ray' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_an_unreachable_cluster_is_one_line(inputs, tmp_path, capsys):
    out = tmp_path / "a.csv"
    assert main(["predict", str(inputs[1]), "--output", str(out), "--engine", "ray", "--ray-address", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("digitrec: error: cannot start or join the Ray cluster at 127.0.0.1:1")
    assert not out.exists()  # nothing half-written: the command can be run again as it was
