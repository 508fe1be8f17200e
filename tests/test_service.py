"""The HTTP API in-process: every success shape and every error code; `digitrec serve` as a process."""

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from digitrec.service import ServeConfig, create_app
from images import png_with_header
from servers import free_port, serve_command, served


def png(draw, size=(280, 280)):
    image = Image.new("RGB", size, "white")
    draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


SEVEN = png(lambda d: d.line([(80, 60), (200, 60), (120, 230)], fill="black", width=18))
ONE_SEVEN = png(lambda d: (d.line([(70, 40), (70, 200)], fill="black", width=14),
                           d.line([(140, 45), (250, 45), (180, 200)], fill="black", width=14)), size=(300, 240))


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(ServeConfig(max_body_bytes=200_000)))


def check_answer(answer, digits):
    assert answer["digits"] == digits
    assert set(answer) >= {"digits", "digit", "confidence", "probabilities", "uncertain", "reason", "per_digit", "seconds"}
    for item in answer["per_digit"]:
        assert len(item["probabilities"]) == 10 and len(item["pixels"]) == 784
    assert answer["seconds"] > 0


def test_api_lists_its_endpoints_and_the_favicon_is_served(client):
    listing = client.get("/api").json()
    endpoints = {(item["method"], item["path"]) for item in listing["endpoints"]}
    assert {("POST", "/api/predict"), ("GET", "/api/health"), ("GET", "/api/model"), ("GET", "/api")} <= endpoints
    assert listing["docs"] == "/docs"
    assert client.get("/favicon.ico").status_code == 200


def test_health_and_model_card(client):
    assert client.get("/api/health").json()["status"] == "ok"
    card = client.get("/api/model").json()
    assert card["name"] and "mnist_test_accuracy" in card
    assert card["detector"]["name"] == "digit_detector" and 0 < card["detector"]["threshold"] < 1


def test_multipart_upload(client):
    response = client.post("/api/predict", files={"file": ("seven.png", SEVEN, "image/png")})
    assert response.status_code == 200
    check_answer(response.json(), "7")
    assert response.json()["digit"] == 7 and response.json()["uncertain"] is False


def test_json_base64_with_and_without_data_url(client):
    encoded = base64.b64encode(SEVEN).decode()
    for image in (encoded, "data:image/png;base64," + encoded):
        response = client.post("/api/predict", json={"image": image})
        assert response.status_code == 200
        check_answer(response.json(), "7")


def test_json_pixels(client, mnist):
    pixels = mnist[1][0][0].ravel().tolist()  # MNIST's first test digit, a 7
    response = client.post("/api/predict", json={"pixels": pixels})
    assert response.status_code == 200
    check_answer(response.json(), "7")
    assert response.json()["per_digit"][0]["pixels"] == pixels


def test_raw_image_body_and_multi(client):
    response = client.post("/api/predict?multi=true", content=ONE_SEVEN, headers={"content-type": "image/png"})
    assert response.status_code == 200
    check_answer(response.json(), "17")
    response = client.post("/api/predict", files={"file": ("n.png", ONE_SEVEN, "image/png")}, data={"multi": "true"})
    check_answer(response.json(), "17")


def test_blank_picture_is_no_digit(client):
    response = client.post("/api/predict", files={"file": ("blank.png", png(lambda d: None), "image/png")})
    assert response.status_code == 200
    assert response.json()["digits"] is None and response.json()["reason"] == "no digit found"


@pytest.mark.parametrize(
    "request_arguments, status, message",
    [
        (dict(content=b"hello", headers={"content-type": "text/plain"}), 415, "unsupported content type 'text/plain'"),
        (dict(content=b"{not json", headers={"content-type": "application/json"}), 422, "body is not valid JSON"),
        (dict(json=[1, 2]), 422, 'JSON body must be an object with "image" or "pixels"'),
        (dict(json={"picture": "x"}), 422, 'JSON body needs "image" (base64 picture) or "pixels" (784 numbers)'),
        (dict(json={"image": "%%%not base64"}), 422, '"image" is not valid base64'),
        (dict(json={"pixels": [0] * 10}), 422, "pixels: expected 784 values (28x28), got 10"),
        (dict(json={"pixels": ["a"] * 784}), 422, "pixels: values must be numbers from 0 to 255"),
        (dict(json={"pixels": [999] * 784}), 422, "pixels: values must be numbers from 0 to 255"),
        (dict(files={"file": ("x.png", b"not a picture", "image/png")}), 422, "image: not an image Pillow can read"),
        (dict(files={"other": ("x.png", SEVEN, "image/png")}), 422, "multipart upload needs a file field named 'file'"),
        (dict(content=b"", headers={"content-type": "image/png"}), 422, "image: empty file (0 bytes)"),
        (dict(content=png_with_header(30000, 30000), headers={"content-type": "image/png"}), 413, "decompression bomb limit"),
    ],
)
def test_bad_requests_get_clear_json_errors(client, request_arguments, status, message):
    response = client.post("/api/predict", **request_arguments)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/api/health").json()["status"] == "ok"  # and the server carries on


def test_body_limit_with_content_length(client):
    response = client.post("/api/predict", content=b"x" * 300_000, headers={"content-type": "image/png"})
    assert response.status_code == 413 and "larger than 200,000 bytes" in response.json()["error"]


def test_body_limit_counts_bytes_actually_read(client):
    def chunks():  # no Content-Length: chunked transfer, the limit must count what arrives
        for _ in range(40):
            yield b"x" * 10_000

    response = client.post("/api/predict", content=chunks(), headers={"content-type": "image/png"})
    assert response.status_code == 413


def test_busy_server_answers_503(client):
    app = client.app
    app.state.in_flight = 10_000  # as if every slot were taken
    try:
        response = client.post("/api/predict", files={"file": ("seven.png", SEVEN, "image/png")})
    finally:
        app.state.in_flight = 0
    assert response.status_code == 503 and response.json()["error"].startswith("busy")


def test_openapi_docs_work_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/predict" in schema["paths"]
    assert set(schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]) >= {"multipart/form-data", "application/json"}


def test_page_and_assets_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN, nothing from elsewhere
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200


def test_serving_never_imports_tensorflow():
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from digitrec.service import create_app\n"
        "client = TestClient(create_app())\n"
        "assert client.post('/api/predict', json={'pixels': [0] * 784}).status_code == 200\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def listening_sockets(port):
    """Inodes of the IPv4 sockets listening on `port` (state 0A in /proc/net/tcp)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return {row[9] for row in rows if int(row[1].split(":")[1], 16) == port and row[3] == "0A"}


def socket_inodes(pid):
    links = []
    for link in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(os.readlink(link))
        except OSError:  # closed between the listing and the look (the worker is busy starting)
            continue
    return {link[len("socket:["):-1] for link in links if link.startswith("socket:[")}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_port_in_use_is_one_clear_line(workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(serve_command("--port", str(port), "--workers", workers),
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""  # no "serving on" line for a server that never served
    assert result.stderr.strip() == f"digitrec: error: cannot listen on 127.0.0.1:{port}: address already in use"


def test_two_workers_each_listen_on_the_port_and_stop_on_sigterm():
    port = free_port()
    server = subprocess.Popen(serve_command("--port", str(port), "--workers", "2"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().startswith(f"digitrec: serving on http://127.0.0.1:{port}/")
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        # two workers, each holding its own listening socket (SO_REUSEPORT), not one shared socket
        sockets = listening_sockets(port)
        assert len(sockets) == 2
        holders = {child: sockets & socket_inodes(child) for child in children}
        assert sorted(len(held) for held in holders.values() if held) == [1, 1]
        assert not socket_inodes(str(server.pid)) & sockets  # the parent listens on nothing
        for _ in range(8):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=SEVEN,
                                             headers={"Content-Type": "image/png"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.loads(response.read())["digits"] == "7"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    workers = [child for child, held in holders.items() if held]
    deadline = time.time() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_unknown_host_is_one_clear_line():
    command = serve_command("--port", str(free_port()), host="no-such-host.invalid")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("digitrec: error: --host no-such-host.invalid: cannot resolve it (")
    assert len(result.stderr.strip().splitlines()) == 1


LETTER_H = png(lambda d: (d.line([(70, 40), (70, 240)], fill="black", width=16), d.line([(210, 40), (210, 240)], fill="black", width=16),
                          d.line([(70, 140), (210, 140)], fill="black", width=16)))
NUMBER = png(lambda d: [d.line(stroke, fill="black", width=14) for stroke in (
    [(40, 60), (40, 200)], [(100, 70), (150, 50), (180, 90), (100, 200), (190, 200)], [(240, 60), (330, 60), (270, 200)])], size=(380, 260))


def test_not_a_digit_and_several_digits_are_answers(client):
    letter = client.post("/api/predict", files={"file": ("h.png", LETTER_H, "image/png")}).json()
    assert letter["uncertain"] is True and letter["reason"] == "not a digit"
    number = client.post("/api/predict", files={"file": ("127.png", NUMBER, "image/png")}).json()
    assert number["uncertain"] is True and number["reason"] == "several digits found; use --multi"
    multi = client.post("/api/predict?multi=true", files={"file": ("127.png", NUMBER, "image/png")}).json()
    assert multi["digits"] == "127" and multi["uncertain"] is False


def test_a_picture_over_the_decoding_budget_is_413(client):
    import struct
    import zlib

    from images import png_chunk

    header = struct.pack(">IIBBBBB", 4999, 4999, 8, 6, 0, 0, 0)  # 4999x4999 RGBA: 95 MiB decoded
    body = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b"")
    response = client.post("/api/predict", files={"file": ("big.png", body, "image/png")})
    assert response.status_code == 413 and "over the 64 MiB a picture may take" in response.json()["error"]


def test_serve_refuses_a_model_of_the_wrong_shape(tmp_path):
    from onnx_models import onnx_file

    model = onnx_file(tmp_path / "other.onnx", (None, 1, 28, 28), 10)
    result = subprocess.run([*serve_command("--port", str(free_port())), "--model", str(model)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"digitrec: error: {model}: the model takes tensor(float) of shape ['batch', 1, 28, 28]; digitrec models take float (batch, 28, 28, 1)"]


def test_every_error_is_json_error_and_head_and_options_are_answered(client):
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    wrong_method = client.get("/api/predict")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
    assert client.head("/api/health").status_code == 200
    assert client.options("/api/predict").status_code == 204
    broken = client.post("/api/predict", content=b"--x\r\nnonsense", headers={"content-type": "multipart/form-data; boundary=x"})
    assert broken.status_code == 422 and "error" in broken.json()


def test_json_flags_are_strict_and_hostile_json_is_422(client):
    seven = base64.b64encode(SEVEN).decode()
    assert client.post("/api/predict", json={"image": seven, "multi": "false"}).json()["per_digit"].__len__() == 1
    refused = {"error": '"multi" must be true or false (or 1/0, yes/no, on/off), got \'maybe\''}
    wrong = client.post("/api/predict", json={"image": seven, "multi": "maybe"})
    assert wrong.status_code == 422 and wrong.json() == refused
    # the query and a form field are read the same way: no silent "false" for a word it does not know
    in_query = client.post("/api/predict?multi=maybe", content=SEVEN, headers={"content-type": "image/png"})
    assert in_query.status_code == 422 and in_query.json() == refused
    in_form = client.post("/api/predict", files={"file": ("seven.png", SEVEN, "image/png")}, data={"multi": "maybe"})
    assert in_form.status_code == 422 and in_form.json() == refused
    for word, digits in (("yes", None), ("ON", None), ("0", 1), ("off", 1)):
        answer = client.post(f"/api/predict?multi={word}", content=SEVEN, headers={"content-type": "image/png"})
        assert answer.status_code == 200, word
    deep = client.post("/api/predict", content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"})
    assert deep.status_code in (413, 422) and "error" in deep.json()
    huge = client.post("/api/predict", content=b'{"pixels": [' + b"9" * 5000 + b"]}", headers={"content-type": "application/json"})
    assert huge.status_code == 422 and huge.json() == {"error": "body holds a number too long to read"}


# --- slow and greedy clients, against a real server ------------------------------------------------


@pytest.fixture(scope="module")
def guarded_server():
    """`digitrec serve` with short timeouts, one prediction slot and three connections."""
    with served("--header-timeout", "1", "--body-timeout", "1", "--max-in-flight", "1", "--max-connections", "3") as port:
        yield port


def raw_answer(connection, timeout=10):
    connection.settimeout(timeout)
    data = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk


def status_and_error(data):
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]


def post_seven(port):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=SEVEN, headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["digits"]


def test_slow_headers_get_408(guarded_server):
    with socket.create_connection(("127.0.0.1", guarded_server)) as connection:
        connection.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\n")  # and then nothing more
        started = time.monotonic()
        status, message = status_and_error(raw_answer(connection))
    assert status == 408 and message == "request headers not received within 1 s"
    assert 0.8 < time.monotonic() - started < 5


def test_a_slow_body_holds_no_prediction_slot_and_gets_408(guarded_server):
    with socket.create_connection(("127.0.0.1", guarded_server)) as slow:
        slow.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 5000\r\n\r\n" + SEVEN[:10])
        time.sleep(0.2)
        assert post_seven(guarded_server) == "7"  # the only slot is free while the slow body trickles
        status, message = status_and_error(raw_answer(slow))
    assert status == 408 and message == "request body not received within 1 s"


def test_huge_headers_get_431(guarded_server):
    with socket.create_connection(("127.0.0.1", guarded_server)) as connection:
        connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(40):
                connection.sendall(b"X-Filler: " + b"a" * 8000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, message = status_and_error(raw_answer(connection))
    assert status == 431 and message == "request headers larger than 65,536 bytes"


def test_connections_over_the_cap_get_503(guarded_server):
    idle = [socket.create_connection(("127.0.0.1", guarded_server)) for _ in range(3)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", guarded_server)) as extra:
            status, message = status_and_error(raw_answer(extra))
        assert status == 503 and message == "busy: 3 connections already open, try again"
    finally:
        for connection in idle:
            connection.close()
    time.sleep(1.5)  # the idle ones were closed (and the server's header timers ended theirs anyway)
    assert post_seven(guarded_server) == "7"


def worker_pids(server_pid):
    """The supervisor's worker processes (spawned interpreters; not multiprocessing's resource tracker)."""
    pids = []
    for pid in Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def running(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_dead_worker_is_replaced_and_workers_die_with_the_supervisor():
    import os

    port = free_port()
    server = subprocess.Popen(serve_command("--port", str(port), "--workers", "2"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().startswith("digitrec: serving on")
        first = worker_pids(server.pid)
        assert len(first) == 2
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        lines = [server.stderr.readline(), server.stderr.readline()]
        assert all(line.startswith("digitrec: worker ") and line.strip().endswith("stopped (killed by SIGKILL); starting another") for line in lines)
        deadline = time.monotonic() + 60
        while len([pid for pid in worker_pids(server.pid) if pid not in first]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        replacements = [pid for pid in worker_pids(server.pid) if pid not in first]
        assert len(replacements) == 2
        while time.monotonic() < deadline:
            try:
                assert post_seven(port) == "7"  # served again, by the new workers
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("no answer from the replaced workers")
        server.send_signal(signal.SIGKILL)  # the supervisor dies without a word...
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(running(pid) for pid in replacements) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(running(pid) for pid in replacements)  # ...and its workers stop with it
    finally:
        if server.poll() is None:
            server.kill()


def test_workers_that_keep_dying_end_the_supervisor_with_one_line(monkeypatch, capsys):
    from digitrec import supervisor
    from digitrec.errors import DigitrecError

    monkeypatch.setattr(supervisor, "MAX_RESTARTS", 2)
    started = []
    boss = supervisor.Supervisor(exit_when_ready, (), 2, log=lambda line: started.append(line))
    with pytest.raises(DigitrecError, match=r"serve: workers keep stopping \(2 restarts within 60 s, the last one: exit code 3\); stopped"):
        boss.run()
    assert len(started) == 2 and all("stopped (exit code 3); starting another" in line for line in started)


def exit_when_ready(ready):
    import sys

    ready.put(True)
    time.sleep(0.5)
    sys.exit(3)


def test_one_client_holding_many_connections_does_not_lock_out_another(tmp_path):
    """One address opens 1,100 idle connections and reopens each one closed; another address's
    health checks still get 200, and the first address's new connections get a 503 of their own."""
    import http.client

    held = []
    with served(host="0.0.0.0") as port:

        def opened():
            connection = socket.socket()
            connection.setblocking(False)
            connection.connect_ex(("127.0.0.1", port))
            return connection

        try:
            held = [opened() for _ in range(1100)]
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:  # reopen every connection the server answers or closes
                for connection in poll_readable(held):
                    held.remove(connection)
                    connection.close()
                    held.append(opened())
            for _ in range(5):
                other = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0))
                other.request("GET", "/api/health")
                assert other.getresponse().status == 200
                other.close()
            with socket.create_connection(("127.0.0.1", port)) as extra:
                status, message = status_and_error(raw_answer(extra))
            assert status == 503 and message == "busy: 250 connections already open from 127.0.0.1, close some and try again"
        finally:
            for connection in held:
                connection.close()


def poll_readable(connections):
    """The sockets among `connections` with something to read (select() stops at 1024 descriptors)."""
    import select

    poller = select.poll()
    by_fd = {connection.fileno(): connection for connection in connections}
    for fd in by_fd:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return [by_fd[fd] for fd, _ in poller.poll(100)]


def test_pictures_are_admitted_by_their_decoded_bytes(tmp_path):
    """Eight 86 KB pictures that each decode to 62 MiB, posted at once: each is answered, 200 or 503
    with Retry-After, and no more of them are decoded at once than the budget holds."""
    import concurrent.futures
    import urllib.error

    from images import sixteen_bit_png

    big = sixteen_bit_png()
    with served("--max-decoded-mib", "100") as port:

        def post(_):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=big, headers={"Content-Type": "image/png"})
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return response.status, json.loads(response.read())["digits"], None
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())["error"], error.headers.get("retry-after")

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(8)))
        assert {status for status, _, _ in answers} <= {200, 503} and any(status == 200 for status, _, _ in answers)
        assert all(digits == "1" for status, digits, _ in answers if status == 200)
        busy = [(message, retry) for status, message, retry in answers if status == 503]
        assert busy, "a 100 MiB budget holds one 93 MiB picture at a time"
        assert all(message.startswith("busy: 93 MiB of pictures already being read (at most 100 MiB at once)") and retry == "1"
                   for message, retry in busy)
        assert post(0)[0] == 200  # once they are read, the budget is free again


@pytest.mark.parametrize("name, content", [("model_card.json", b'{"name": "broken'), ("config.json", b"[]")])
def test_serve_with_a_damaged_run_file_is_one_line(tmp_path, name, content):
    import shutil

    from digitrec.inference import pretrained_model_path

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(pretrained_model_path(), run / "model.onnx")
    (run / name).write_bytes(content)
    result = subprocess.run(serve_command("--port", str(free_port()), "--model", str(run)), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"digitrec: error: {run / name}: "), lines
