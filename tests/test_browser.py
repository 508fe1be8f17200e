"""The drawing page in headless Chromium (Playwright), against a real server on 127.0.0.1.

Screenshots go to tests/output/ so a person can look at what the tests saw.
"""

import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from servers import free_port

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parent / "output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from digitrec.service import ServeConfig, create_app

    port = free_port()
    config = uvicorn.Config(create_app(ServeConfig(port=port)), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    assert instance.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def draw(page, strokes):
    """Draw strokes given in canvas units (0-280) with real mouse events, point by point."""
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=8)
        page.mouse.up()


def test_drawing_a_seven_shows_seven(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(server + "/")
    draw(page, [[(70, 60), (210, 60), (120, 240)]])
    page.wait_for_function("document.getElementById('digit').textContent === '7'", timeout=10_000)
    assert page.locator(".bar").count() == 10
    assert page.locator(".bar.top").get_attribute("data-digit") == "7"
    assert page.locator("#seen canvas").count() == 1
    page.screenshot(path=str(OUTPUT / "draw_seven.png"), full_page=True)
    # Undo empties the answer; drawing a 1 answers 1
    page.click("#undo")
    page.wait_for_function("document.getElementById('digit').textContent === '?'")
    draw(page, [[(140, 40), (140, 240)]])
    page.wait_for_function("document.getElementById('digit').textContent === '1'", timeout=10_000)
    page.close()


def test_drawing_a_number_in_multi_digit_mode(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(server + "/")
    page.check("#multi")
    draw(page, [[(50, 80), (50, 200)], [(110, 90), (150, 60), (190, 90), (110, 200), (200, 200)]])
    page.wait_for_function("document.getElementById('digit').textContent === '12'", timeout=10_000)
    assert page.locator("#seen canvas").count() == 2
    page.screenshot(path=str(OUTPUT / "draw_twelve.png"), full_page=True)
    page.close()


def test_a_letter_is_not_a_digit_and_a_number_asks_for_multi_digit_mode(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(server + "/")
    draw(page, [[(60, 40), (60, 240)], [(220, 40), (220, 240)], [(60, 140), (220, 140)]])  # an H
    page.wait_for_function("document.getElementById('status').textContent === 'Not a digit'", timeout=10_000)
    page.click("#clear")
    draw(page, [[(40, 80), (40, 200)], [(100, 90), (130, 70), (160, 90), (100, 200), (170, 200)], [(200, 80), (260, 80), (220, 200)]])
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Several digits found')", timeout=10_000)
    page.screenshot(path=str(OUTPUT / "several_digits.png"), full_page=True)
    page.close()


def test_uploading_a_picture(server, browser, tmp_path):
    picture = tmp_path / "four.png"
    image = Image.new("RGB", (400, 300), (235, 230, 215))
    pen = ImageDraw.Draw(image)
    pen.line([(220, 40), (150, 180), (260, 180)], fill=(30, 40, 120), width=10)
    pen.line([(235, 120), (235, 260)], fill=(30, 40, 120), width=10)
    image.save(picture)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-sized screen
    page.goto(server + "/")
    page.set_input_files("#upload", str(picture))
    page.wait_for_function("document.getElementById('digit').textContent === '4'", timeout=10_000)
    assert page.locator("#preview").is_visible()
    page.screenshot(path=str(OUTPUT / "upload_four_phone.png"), full_page=True)
    page.close()


def test_touch_draws_instead_of_scrolling(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(server + "/")
    assert page.eval_on_selector("#pad", "pad => getComputedStyle(pad).touchAction") == "none"
    box = page.locator("#pad").bounding_box()
    touch = context.new_cdp_session(page)  # a real finger stroke, through Chromium's touch input
    x = box["x"] + box["width"] / 2
    points = [(x, box["y"] + box["height"] * fraction) for fraction in (0.15, 0.3, 0.45, 0.6, 0.75, 0.85)]
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
    for px, py in points[1:]:
        touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": px, "y": py}]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_function("document.getElementById('digit').textContent === '1'", timeout=10_000)
    assert page.evaluate("window.scrollY") == 0  # the stroke drew; it did not scroll the page
    context.close()


def test_api_docs_list_the_operations_offline(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(server + "/docs")
    page.wait_for_selector(".opblock", timeout=10_000)  # Swagger UI rendered the OpenAPI 3.1 document
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/predict", "/api/health", "/api/model"} <= {path.strip() for path in paths}
    assert page.locator("text=Unable to render this definition").count() == 0
    assert not [url for url in failed if not url.startswith(server)]  # everything served locally
    page.screenshot(path=str(OUTPUT / "api_docs.png"), full_page=False)
    page.close()


def test_the_page_loads_without_a_single_failed_request(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    statuses = []
    page.on("response", lambda response: statuses.append((response.url, response.status)))
    page.goto(server + "/")
    page.wait_for_load_state("networkidle")
    assert all(status < 400 for _, status in statuses), statuses
    assert any(url.endswith("favicon.svg") for url, _ in statuses)
    page.close()
