"""The web service: a page to draw digits on, and the HTTP API behind it (FastAPI on uvicorn).

Inference goes through ONNX Runtime only: serving never imports TensorFlow or Keras. Limits keep
one client from hurting the others: a request body over `max_body_bytes` is refused with 413 as
soon as that many bytes have actually been read (a lying or missing Content-Length does not get
past it); pictures over the decompression-bomb pixel limit get 413; more than `max_in_flight`
predictions at once get 503; anything malformed gets 415 or 422 with a JSON error message.
Slow or greedy clients (`guarded_protocol`): headers must arrive within `header_timeout` (408)
and stay under `max_header_bytes` (431); a prediction's body must arrive within `body_timeout`
(408), and only then does it take one of the `max_in_flight` slots; over `max_connections` open
connections a new one gets 503.
"""

import asyncio
import base64
import binascii
import collections
import contextlib
import json
import time
from importlib import resources
from pathlib import Path
from typing import Optional

from .errors import DigitrecError
from .config import ServeConfig  # noqa: F401  (here too: `service.ServeConfig` is what callers know)
from .inference import Predictor, model_card


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 once more than `max_bytes` of request body have been read."""

    def __init__(self, app, max_bytes):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self.refuse(send)
        received, started = 0, False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self.refuse(send)

    async def refuse(self, send):
        body = json.dumps({"error": f"request body larger than {self.max_bytes:,} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def static_dir() -> Path:
    return Path(str(resources.files("digitrec") / "static"))


RETRY = {"retry-after": "1"}  # seconds: a busy answer says when to try again


class ApiError(Exception):
    """A request the API refuses: its HTTP status and the one-line message of its {"error": ...}."""

    def __init__(self, status: int, message: str, headers: Optional[dict] = None):
        super().__init__(status, message)
        self.status, self.message, self.headers = status, message, headers


TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def flag(value, name="multi") -> bool:
    """A yes/no from the query, a form or JSON, read the same way everywhere: JSON true or false, or
    one of true/false, 1/0, yes/no, on/off (any case; empty is no); anything else is a 422."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ApiError(422, f'"{name}" must be true or false (or 1/0, yes/no, on/off), got {str(value)[:40]!r}')


PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary", "description": "PNG, JPEG, BMP, GIF or WebP"},
                "multi": {"type": "boolean", "description": "read several digits, left to right"}}}},
            "application/json": {"schema": {"type": "object", "properties": {
                "image": {"type": "string", "description": "base64 picture (a data: URL prefix is allowed)"},
                "pixels": {"type": "array", "items": {"type": "number"}, "minItems": 784, "maxItems": 784,
                           "description": "28x28 grey levels 0-255, white digit on black, row by row"},
                "multi": {"type": "boolean"}}}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def create_app(config: ServeConfig = ServeConfig()):
    from fastapi import FastAPI, Request
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException

    from .imaging import ImageTooLarge, decoded_cost, prepare_pixels

    predictor = Predictor(config.model, threshold=config.threshold, threads=1)
    card = model_card(predictor.card_path)
    app = FastAPI(title="digitrec", version=card.get("name", "model"), docs_url=None, redoc_url=None,
                  description="Handwritten-digit recognition: draw or upload a digit, get the answer.")
    app.state.in_flight, app.state.decoded_in_flight = 0, 0
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)

    @app.exception_handler(ApiError)
    async def api_error(request, problem):  # every refusal of ours: {"error": ...} with its status
        return JSONResponse({"error": problem.message}, status_code=problem.status, headers=problem.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request, problem):  # 404, 405, ...: the same {"error": ...} as every other error
        return JSONResponse({"error": str(problem.detail)}, status_code=problem.status_code, headers=getattr(problem, "headers", None))

    @app.middleware("http")
    async def head_and_options(request, call_next):
        """OPTIONS for any path says what it may be asked; HEAD is a GET whose body is not sent."""
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, POST, OPTIONS"})
        if request.method == "HEAD":
            request.scope["method"] = "GET"
            response = await call_next(request)
            return Response(status_code=response.status_code, headers={k: v for k, v in response.headers.items() if k != "content-length"})
        return await call_next(request)

    async def read_request(request: Request):
        """(kind, payload, multi) from any of the accepted body shapes; raises ApiError."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        multi = flag(request.query_params.get("multi", ""))
        if content_type == "multipart/form-data":
            try:
                form = await request.form(max_files=1, max_fields=4)
            except (HTTPException, MultiPartException) as problem:
                raise ApiError(422, f"multipart body: {getattr(problem, 'detail', None) or getattr(problem, 'message', problem)}") from None
            upload = form.get("file") or form.get("image")
            if not isinstance(upload, UploadFile):
                raise ApiError(422, "multipart upload needs a file field named 'file'")
            form_multi = form.get("multi", "")
            return "image", await upload.read(), flag(form_multi if isinstance(form_multi, str) else "file") or multi
        if content_type == "application/json":
            try:
                payload = json.loads(await request.body())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ApiError(422, "body is not valid JSON") from None
            except RecursionError:
                raise ApiError(422, "body is JSON nested too deeply") from None
            except ValueError:  # an integer of thousands of digits
                raise ApiError(422, "body holds a number too long to read") from None
            if not isinstance(payload, dict):
                raise ApiError(422, 'JSON body must be an object with "image" or "pixels"')
            multi = flag(payload.get("multi", False)) or multi
            if isinstance(payload.get("image"), str):
                text = payload["image"]
                if text.startswith("data:"):
                    text = text.partition(",")[2]
                try:
                    return "image", base64.b64decode(text, validate=True), multi
                except (binascii.Error, ValueError):
                    raise ApiError(422, '"image" is not valid base64') from None
            if "pixels" in payload:
                if not isinstance(payload["pixels"], list):
                    raise ApiError(422, '"pixels" must be a list of 784 numbers')
                try:
                    return "pixels", prepare_pixels(payload["pixels"]), False
                except DigitrecError as problem:
                    raise ApiError(422, str(problem)) from None
            raise ApiError(422, 'JSON body needs "image" (base64 picture) or "pixels" (784 numbers)')
        if content_type.startswith("image/") or content_type == "application/octet-stream":
            return "image", await request.body(), multi
        raise ApiError(415, f"unsupported content type {content_type or '(none)'!r}: send multipart/form-data, application/json or image/*")

    @app.post("/api/predict", openapi_extra=PREDICT_BODY, summary="Read the digit(s) in a picture or 28x28 pixels")
    async def predict(request: Request):
        started = time.perf_counter()
        try:
            # the body first, within its time: a slow client holds a connection, never a prediction slot
            kind, payload, multi = await asyncio.wait_for(read_request(request), config.body_timeout)
        except asyncio.TimeoutError:
            raise ApiError(408, f"request body not received within {config.body_timeout:g} s", {"connection": "close"}) from None
        if kind == "image" and not payload:
            raise ApiError(422, "image: empty file (0 bytes)")
        with admitted(decoded_cost(payload) if kind == "image" else 0):
            try:
                if kind == "pixels":
                    (prediction,) = await run_in_threadpool(predictor.predict_pixels, payload[None], ["pixels"])
                else:
                    prediction = await run_in_threadpool(predictor.predict_image, payload, multi, "image")
            except ImageTooLarge as problem:
                raise ApiError(413, str(problem)) from None
            except DigitrecError as problem:
                raise ApiError(422, str(problem)) from None
        answer = prediction.to_dict(with_pixels=True)
        answer.pop("path")
        answer["seconds"] = round(time.perf_counter() - started, 6)
        # plain json.dumps: FastAPI's jsonable_encoder walks all 784 pixel values (0.8 ms a request)
        return Response(json.dumps(answer), media_type="application/json")

    @contextlib.contextmanager
    def admitted(cost: int):
        """A prediction slot, and `cost` bytes of the decoding budget, held for the block; 503 with
        Retry-After when either is taken (one picture over the whole budget is admitted alone:
        `imaging.MAX_DECODED_BYTES` bounds it)."""
        state = app.state
        if state.in_flight >= config.max_in_flight:
            raise ApiError(503, f"busy: {config.max_in_flight} predictions already in flight, try again", RETRY)
        if cost and state.decoded_in_flight and state.decoded_in_flight + cost > config.max_decoded_bytes:
            raise ApiError(503, f"busy: {state.decoded_in_flight / 2**20:.0f} MiB of pictures already being read "
                                f"(at most {config.max_decoded_bytes / 2**20:.0f} MiB at once), try again", RETRY)
        state.in_flight += 1
        state.decoded_in_flight += cost
        try:
            yield
        finally:
            state.in_flight -= 1
            state.decoded_in_flight -= cost

    @app.get("/api/health", summary="Is the service up")
    async def health():
        return {"status": "ok", "model": card.get("name"), "in_flight": app.state.in_flight}


    @app.get("/api/model", summary="The model card: name, source, accuracy, how it was made; and the digit detector's")
    async def model():
        return {**card, "detector": predictor.detector_card}

    @app.get("/api", summary="The API's endpoints")
    async def endpoints():
        return {
            "endpoints": [
                {"method": method, "path": route.path, "summary": route.summary}
                for route in app.routes
                if getattr(route, "include_in_schema", False) and route.path.startswith("/api")
                for method in sorted(route.methods - {"HEAD"})
            ],
            "docs": "/docs",
            "openapi": "/openapi.json",
        }

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(static_dir() / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return FileResponse(static_dir() / "favicon.svg", media_type="image/svg+xml")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="digitrec API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")

    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    try:
        from swagger_ui_bundle import swagger_ui_path

        app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    except ImportError:  # the docs page then needs the network; the API works regardless
        pass
    return app


def tcp_socket(host, port, reuse_port=False):
    """A listening socket on host:port whose accepted connections get TCP_NODELAY.

    We bind it ourselves, not uvicorn: a port in use or an unknown host becomes one clear
    DigitrecError instead of a traceback. The protocol must say IPPROTO_TCP, because asyncio only
    sets TCP_NODELAY on such sockets; without it every response (headers and body are two writes)
    waits out a 40 ms delayed ACK: measured 48 ms per request instead of 2.7 ms.
    With `reuse_port`, several worker processes each bind their own socket to the same port and
    the kernel spreads new connections across them (SO_REUSEPORT).
    """
    import socket

    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
    except socket.gaierror as problem:
        raise DigitrecError(f"--host {host}: cannot resolve it ({problem.strerror})") from None
    listener = socket.socket(family, kind, protocol)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as problem:
        listener.close()
        raise DigitrecError(f"cannot listen on {host}:{port}: {(problem.strerror or str(problem)).lower()}") from None
    return listener


def client_share(max_connections: int) -> int:
    """The connections one client address may hold by default: a quarter of all, so that one client
    cannot lock the others out, but at least 32 (all of them when there are fewer)."""
    return max(max_connections // 4, min(max_connections, 32))


def guarded_protocol(config: ServeConfig):
    """uvicorn's httptools protocol with the limits it lacks: request headers must arrive within
    `header_timeout` seconds (408) and stay under `max_header_bytes` (431), and a connection over
    `max_connections` open at once, or over `max_client_connections` from one client address, is
    answered 503 and closed. Each answer is `{"error": ...}`."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    clients = collections.Counter()  # open connections per client address, in this process
    client_cap = config.max_client_connections or client_share(config.max_connections)

    class GuardedProtocol(HttpToolsProtocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            self.in_headers, self.header_bytes, self.header_timer, self.discarding = True, 0, None, False
            peer = transport.get_extra_info("peername")
            self.client = peer[0] if isinstance(peer, tuple) and peer else None
            if len(self.connections) > config.max_connections:
                return self.refuse(503, f"busy: {config.max_connections:,} connections already open, try again")
            if clients[self.client] >= client_cap:
                return self.refuse(503, f"busy: {client_cap:,} connections already open from {self.client}, "
                                        "close some and try again")
            clients[self.client] += 1
            self.counted = True
            self.start_header_timer()

        def start_header_timer(self):
            if self.header_timer is None:
                self.header_timer = self.loop.call_later(config.header_timeout, self.refuse, 408,
                                                         f"request headers not received within {config.header_timeout:g} s")

        def stop_header_timer(self):
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def data_received(self, data):
            if self.discarding:
                return  # refused: what else the client sends is read and dropped until we close
            if self.in_headers:
                self.header_bytes += len(data)
            super().data_received(data)
            if self.in_headers and self.header_bytes > config.max_header_bytes and not self.transport.is_closing():
                self.refuse(431, f"request headers larger than {config.max_header_bytes:,} bytes")

        def on_message_begin(self):
            super().on_message_begin()
            self.in_headers = True
            self.start_header_timer()

        def on_headers_complete(self):
            self.in_headers, self.header_bytes = False, 0
            self.stop_header_timer()
            super().on_headers_complete()

        def on_response_complete(self):
            self.in_headers = True  # the next request's headers are counted from their first byte
            super().on_response_complete()

        def connection_lost(self, exc):
            self.stop_header_timer()
            self.uncount()
            super().connection_lost(exc)

        def uncount(self):
            if getattr(self, "counted", False):
                self.counted = False
                clients[self.client] -= 1
                if clients[self.client] <= 0:
                    del clients[self.client]

        def refuse(self, status, message):
            self.header_timer = None
            # a refused connection is on its way out: it no longer counts against the caps
            self.connections.discard(self)
            self.uncount()
            if self.transport.is_closing():
                return
            reasons = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}
            body = json.dumps({"error": message}).encode()
            self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                                 b"connection: close\r\n\r\n%s" % (status, reasons[status], len(body), body))
            # closing with unread data would reset the connection and lose the answer: say we are
            # done (FIN), drop what still arrives for a moment, then close
            self.discarding = True
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(1.0, self.transport.close)

    return GuardedProtocol


def run_server(listener, app, config: ServeConfig = None):
    import uvicorn

    config = config or ServeConfig()
    uvicorn_config = uvicorn.Config(app, log_level="warning", access_log=False, http=guarded_protocol(config))
    uvicorn.Server(uvicorn_config).run(sockets=[listener])


def run_worker(config: ServeConfig, ready):
    """One of `serve`'s worker processes: its own SO_REUSEPORT socket, its own app and model."""
    import sys

    from .supervisor import die_with_parent

    die_with_parent()  # no orphan keeps serving the port once the supervisor is gone
    try:
        listener = tcp_socket(config.host, config.port, reuse_port=True)
        app = create_app(config)
    except DigitrecError as problem:
        sys.exit(f"digitrec: error: {problem}")  # the supervisor then stops the other workers
    ready.put(True)  # connections arriving from now on wait in the listen queue until uvicorn runs
    run_server(listener, app, config)


def serve(config: ServeConfig, workers: int = 1, started=None):
    """Run until interrupted; `started()` is called once every worker listens with its model loaded.

    With `workers` > 1 each worker process listens on its own SO_REUSEPORT socket, so the kernel
    spreads connections across them. (With one shared socket the first worker to wake accepted a
    whole burst of connections: 226 requests/s at 8 connections against 605 at 16, measured.)
    The workers are kept up by `supervisor.Supervisor`: a dead one is replaced.
    """
    from .supervisor import Supervisor

    app = create_app(config)  # a bad model fails here, once, with a clear error
    if workers == 1:
        listener = tcp_socket(config.host, config.port)
        if started:
            started()
        run_server(listener, app, config)
        return
    del app  # each worker loads its own; this one only checked that the model loads
    # the port must be free: a plain bind fails even where another SO_REUSEPORT server listens
    tcp_socket(config.host, config.port).close()
    Supervisor(run_worker, (config,), workers).run(started)
