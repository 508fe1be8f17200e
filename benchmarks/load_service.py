"""Load the web service from a second process on 127.0.0.1: requests/s, p50/p99 latency, errors.

Starts `digitrec serve` on a free loopback port, then sends a fixed number of single-digit
prediction requests (the drawing page's own request: a 280x280 PNG canvas as base64 JSON) at a
fixed concurrency over keep-alive connections, and stops. Bounded in count and time.

    python benchmarks/load_service.py                      # 3,000 requests, 16 connections
    python benchmarks/load_service.py --requests 500 --concurrency 4
"""

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_description, update_readme_section, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "load_service.json"
TIME_LIMIT_SECONDS = 120


def canvas_request_body() -> bytes:
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).line([(70, 60), (210, 60), (120, 240)], fill="black", width=18)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return json.dumps({"image": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}).encode()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length)
    return status, body


async def worker(port, body, count, latencies, errors, deadline):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    for _ in range(count):
        if time.perf_counter() > deadline:
            break
        started = time.perf_counter()
        writer.write(request)
        await writer.drain()
        status, answer = await read_response(reader)
        latencies.append(time.perf_counter() - started)
        if status != 200 or json.loads(answer).get("digit") != 7:
            errors.append(status)
    writer.close()


async def load(port, total, concurrency):
    body = canvas_request_body()
    latencies, errors = [], []
    deadline = time.perf_counter() + TIME_LIMIT_SECONDS
    # warm-up, not counted
    await worker(port, body, 20, [], [], deadline)
    per_worker = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(port, body, n, latencies, errors, deadline) for n in per_worker))
    elapsed = time.perf_counter() - started
    return latencies, errors, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests to send (default: 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections at once (default: 16)")
    parser.add_argument("--model", help="model to serve (default: the shipped one)")
    args = parser.parse_args()
    port = free_port()
    command = [str(Path(sys.executable).with_name("digitrec")), "serve", "--port", str(port)]
    if args.model:
        command += ["--model", args.model]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 30:
                    raise SystemExit(f"server did not start: {server.stdout.read().decode()}")
                time.sleep(0.05)
        startup = time.perf_counter() - started
        latencies, errors, elapsed = asyncio.run(load(port, args.requests, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies = np.array(latencies) * 1000
    results = {
        "requests": int(len(latencies)),
        "concurrency": args.concurrency,
        "requests_per_second": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "max_ms": float(latencies.max()),
        "errors": len(errors),
        "server_startup_seconds": startup,
        "command": f"python benchmarks/load_service.py --requests {args.requests} --concurrency {args.concurrency}",
        "measured": time.strftime("%Y-%m-%d"),
        "machine": machine_description(),
    }
    write_results(RESULTS, results)
    text = (
        f"{results['requests']:,} single-digit predictions (a 280x280 canvas PNG as base64 JSON, as the page sends) at "
        f"concurrency {args.concurrency} from a second process on 127.0.0.1: **{results['requests_per_second']:.0f} requests/s**, "
        f"p50 {results['p50_ms']:.1f} ms, p99 {results['p99_ms']:.1f} ms, {results['errors']} errors; server up in "
        f"{startup:.1f} s. Target: ≥300 requests/s, p99 ≤50 ms, no errors. Measured {results['measured']} on "
        f"{results['machine']} with `{results['command']}`."
    )
    update_readme_section("load-service", text)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
