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
    """Draw strokes given in canvas units (280 high; 280 or 700 wide) with real mouse events."""
    box = page.locator("#pad").bounding_box()
    scale = box["height"] / 280
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
    assert page.evaluate("[document.getElementById('pad').width, document.getElementById('pad').height]") == [700, 280]
    box = page.locator("#pad").bounding_box()
    assert box["width"] > 2 * box["height"]  # a wider canvas for a number
    draw(page, [[(40, 80), (40, 200)], [(100, 90), (130, 60), (160, 90), (100, 200), (165, 200)]])
    page.wait_for_function("document.getElementById('digit').textContent === '12'", timeout=10_000)
    assert page.locator("#seen canvas").count() == 2
    assert page.locator(".digit-bars").count() == 2 and page.locator(".bar").count() == 20  # bars per digit
    page.screenshot(path=str(OUTPUT / "draw_twelve.png"), full_page=True)
    page.close()


def test_phone_and_desktop_layouts(server, browser):
    for name, viewport in (("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 800})):
        page = browser.new_page(viewport=viewport)
        page.goto(server + "/")
        page.check("#multi")
        draw(page, [[(40, 80), (40, 200)], [(100, 90), (130, 60), (160, 90), (100, 200), (165, 200)], [(220, 80), (280, 80), (240, 200)]])
        page.wait_for_function("document.getElementById('digit').textContent === '127'", timeout=10_000)
        digit, status = page.locator("#digit").bounding_box(), page.locator("#status").bounding_box()
        overlap = not (digit["x"] + digit["width"] <= status["x"] or status["y"] >= digit["y"] + digit["height"])
        assert not overlap, f"{name}: the number overlaps the status text"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing sideways
        page.screenshot(path=str(OUTPUT / f"layout_{name}.png"), full_page=True)
        page.close()


def test_keyboard_pen_save_and_contrast(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800}, accept_downloads=True)
    page.goto(server + "/")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id"))
    assert {"undo", "clear", "multi", "pen", "upload"} <= set(reached)  # every control, the upload included

    def ink():
        return page.evaluate("""() => { const c = document.getElementById('pad'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return n; }""")

    page.fill("#pen", "6")
    draw(page, [[(40, 140), (240, 140)]])
    thin = ink()
    page.keyboard.press("Control+z")  # undo
    assert ink() == 0
    page.fill("#pen", "40")
    draw(page, [[(40, 140), (240, 140)]])
    assert ink() > 4 * thin  # the pen size control works
    with page.expect_download() as download:
        page.click("#save")
    saved = download.value.path()
    assert Path(saved).read_bytes()[:4] == b"\x89PNG"
    page.keyboard.press("Delete")  # clears
    assert ink() == 0 and page.locator("#digit").inner_text() == "?"

    contrast = page.evaluate("""() => {
        const rgb = (text) => text.match(/\\d+/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
        const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
        const page = rgb(getComputedStyle(document.body).backgroundColor);
        return [ratio(rgb(getComputedStyle(document.getElementById('pad')).borderTopColor), page),
                ratio(rgb(getComputedStyle(document.getElementById('undo')).borderTopColor), page)]; }""")
    assert min(contrast) >= 3, contrast
    page.close()


def test_only_the_settled_answer_is_announced_and_requests_are_throttled(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    requests = []
    page.on("request", lambda request: requests.append(time.monotonic()) if request.url.endswith("/api/predict") else None)
    page.goto(server + "/")
    assert page.locator("[aria-live]").count() == 1 and page.locator("#announce").get_attribute("aria-live") == "polite"
    page.evaluate("""() => { window.announced = []; new MutationObserver(() => window.announced.push(document.getElementById('announce').textContent))
        .observe(document.getElementById('announce'), { childList: true, characterData: true, subtree: true }); }""")
    box = page.locator("#pad").bounding_box()
    scale = box["width"] / 280
    page.mouse.move(box["x"] + 140 * scale, box["y"] + 30 * scale)
    page.mouse.down()
    started = time.monotonic()
    for step in range(40):  # a slow 2-second stroke
        page.mouse.move(box["x"] + 140 * scale, box["y"] + (30 + 5 * step) * scale)
        page.wait_for_timeout(50)
    drawing = time.monotonic() - started
    page.mouse.up()
    page.wait_for_function("window.announced.length > 0", timeout=10_000)
    page.wait_for_timeout(500)
    during = [t for t in requests if t - started <= drawing]
    assert len(during) <= 5 * drawing + 1, (len(during), drawing)  # at most 5 a second while drawing
    assert requests[-1] > started + drawing  # and one more once the stroke has ended
    assert page.evaluate("window.announced") == ["1, 100 percent"] or len(page.evaluate("window.announced")) == 1
    assert page.locator("#model").inner_text().startswith("model: ") and page.locator("#model").inner_text() != "model: model"
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
    page.goto(server + "/")
    draw(page, [[(140, 40), (140, 240)]])  # a drawing first: the picture replaces it
    page.wait_for_function("document.getElementById('digit').textContent === '1'", timeout=10_000)
    page.set_input_files("#upload", str(picture))
    page.wait_for_function("document.getElementById('digit').textContent === '4'", timeout=10_000)
    assert page.locator("#preview").is_visible() and not page.locator("#pad").is_visible()
    # a box and the answer drawn over the picture, where the digit is
    boxed = page.evaluate("""() => { const c = document.getElementById('boxes'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return [c.width, c.height, n]; }""")
    assert boxed[:2] == [400, 300] and boxed[2] > 500
    page.screenshot(path=str(OUTPUT / "upload_four_phone.png"), full_page=True)
    # a file that is not a picture: the error replaces the old answer, no broken image is shown
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    page.set_input_files("#upload", str(text))
    page.wait_for_function("document.getElementById('status').className.includes('error')", timeout=10_000)
    assert page.locator("#digit").inner_text() == "–" and page.locator(".bar").count() == 0
    assert "not an image" in page.locator("#status").inner_text()
    page.wait_for_function("document.getElementById('preview').hidden")
    page.click("#clear")  # back to drawing
    assert page.locator("#pad").is_visible() and page.locator("#digit").inner_text() == "?"
    page.close()


def test_multi_digit_mode_re_reads_an_uploaded_number(server, browser, tmp_path):
    picture = tmp_path / "number.png"
    image = Image.new("L", (420, 200), 255)
    pen = ImageDraw.Draw(image)
    pen.line([(60, 40), (60, 160)], fill=0, width=12)
    pen.line([(150, 40), (250, 40), (180, 160)], fill=0, width=12)
    pen.line([(300, 40), (300, 160)], fill=0, width=12)
    image.save(picture)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server + "/")
    page.set_input_files("#upload", str(picture))
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Several digits found')", timeout=10_000)
    page.check("#multi")  # the same picture, read again
    page.wait_for_function("document.getElementById('digit').textContent === '171'", timeout=10_000)
    assert page.locator(".digit-bars").count() == 3 and page.locator(".bar").count() == 30
    page.screenshot(path=str(OUTPUT / "upload_number_multi_desktop.png"), full_page=True)
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
