"""The HTML report: self-contained, correct, rendered by a real browser."""

import re
import shutil
from pathlib import Path

import pytest

from digitrec.cli import main
from digitrec.errors import DigitrecError
from digitrec.report import build_report

OUTPUT = Path(__file__).resolve().parent / "output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(trained_run, mnist_dir, tmp_path_factory):
    run_dir = Path(shutil.copytree(trained_run.run_dir, tmp_path_factory.mktemp("report") / "run"))
    return build_report(run_dir, data_dir=mnist_dir)


def test_report_is_self_contained_and_says_what_the_run_is(report, trained_run):
    page = report.read_text()
    assert "<title>digitrec run: fast</title>" in page
    assert "81,498" in page  # parameters shown
    assert re.search(r"test accuracy<b>\d+\.\d\d %</b>", page)
    assert page.count('src="data:image/png;base64,') == 6
    # nothing is fetched from anywhere: no external src or href
    assert not re.search(r'(src|href)="(?!data:)', page)
    for key in ("batch_size", "learning_rate", "seed", "x_train (array as trained)"):
        assert key in page
    assert re.search(r"training time<b>\d+\.\d s</b>", page)
    assert ">None<" not in page and "None" not in re.sub(r"<[^>]+>", " ", page)  # no Python Nones shown


def test_report_cli_and_bad_run_folders(tmp_path, capsys, mnist_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--data-dir", str(mnist_dir)]) == 1
    assert "no model.keras, model.json or model.onnx in this folder" in capsys.readouterr().err
    with pytest.raises(DigitrecError, match=r"not a run folder"):
        build_report(tmp_path / "missing")


def test_run_without_history_is_refused(run_copy, mnist_dir):
    (run_copy / "history.json").unlink()
    with pytest.raises(DigitrecError, match=r"no history.json in this run folder"):
        build_report(run_copy, data_dir=mnist_dir)
    (run_copy / "history.json").write_text("{not json")
    with pytest.raises(DigitrecError, match=r"history.json: not valid JSON"):
        build_report(run_copy, data_dir=mnist_dir)


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(report.as_uri())
        assert page.title() == "digitrec run: fast"
        # every embedded picture decoded and has a real size
        sizes = page.eval_on_selector_all("img", "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(sizes) == 6 and all(complete and width > 300 and height > 150 for complete, width, height in sizes)
        assert page.locator("table").first.locator("tbody tr").count() == 10
        page.screenshot(path=str(OUTPUT / "report.png"), full_page=True)
        browser.close()
    assert (OUTPUT / "report.png").stat().st_size > 50_000
