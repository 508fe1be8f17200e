"""Load the web service from a second process on 127.0.0.1: requests/s, p50/p99 latency, errors.

Starts `digitrec serve` on a free loopback port, then sends a fixed number of single-digit
prediction requests (the drawing page's own request: its drawing as a 112x112 PNG in base64 JSON)
at fixed concurrencies over keep-alive connections, and stops. Bounded in count and time.

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
from common import current_commit, machine_description, run_main, update_readme_section, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "load_service.json"
TIME_LIMIT_SECONDS = 120


def canvas_request_body() -> bytes:
    """What the page sends: its 280x280 drawing scaled to 112x112, as a base64 PNG in JSON."""
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).line([(70, 60), (210, 60), (120, 240)], fill="black", width=18)
    image = image.resize((112, 112), Image.Resampling.LANCZOS)
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


def start_server(port, model, workers):
    command = [str(Path(sys.executable).with_name("digitrec")), "serve", "--port", str(port), "--workers", str(workers)]
    if model:
        command += ["--model", model]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, time.perf_counter() - started
        except OSError:
            if server.poll() is not None or time.perf_counter() - started > 30:
                raise SystemExit(f"server did not start: {server.stdout.read().decode()}")
            time.sleep(0.02)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per concurrency level (default: 3000)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16], help="connections at once (default: 1 4 8 16)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default: 2, one per core)")
    parser.add_argument("--model", help="model to serve (default: the shipped one)")
    args = parser.parse_args()
    port = free_port()
    server, startup = start_server(port, args.model, args.workers)
    rows = []
    try:
        for concurrency in args.concurrency:
            latencies, errors, elapsed = asyncio.run(load(port, args.requests, concurrency))
            latencies = np.array(latencies) * 1000
            rows.append({
                "concurrency": concurrency,
                "requests": int(len(latencies)),
                "requests_per_second": len(latencies) / elapsed,
                "p50_ms": float(np.percentile(latencies, 50)),
                "p99_ms": float(np.percentile(latencies, 99)),
                "max_ms": float(latencies.max()),
                "errors": len(errors),
            })
            print(json.dumps(rows[-1]), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    command = f"python benchmarks/load_service.py --workers {args.workers} --requests {args.requests} --concurrency {' '.join(map(str, args.concurrency))}"
    results = {
        "workers": args.workers,
        "levels": rows,
        "server_startup_seconds": startup,
        "command": command,
        "measured": time.strftime("%Y-%m-%d"),
        "machine": machine_description(),
        "commit": current_commit(),
    }
    write_results(RESULTS, results)
    lines = [
        "| connections | requests | requests/s | p50 | p99 | max | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['concurrency']} | {row['requests']:,} | {row['requests_per_second']:.0f} | {row['p50_ms']:.1f} ms "
            f"| {row['p99_ms']:.1f} ms | {row['max_ms']:.1f} ms | {row['errors']} |"
        )
    lines += [
        "",
        f"Single-digit predictions as the page sends them (its drawing as a 112×112 PNG in base64 JSON), from a second "
        f"process on 127.0.0.1 over keep-alive connections, against `digitrec serve --workers {args.workers}` (up in "
        f"{startup:.1f} s). Target: ≥300 requests/s with p99 ≤50 ms and no errors. The load generator shares the "
        f"machine's 2 cores with the server. Measured {results['measured']} at commit {results['commit']} on {results['machine']} with `{command}`.",
    ]
    update_readme_section("load-service", "\n".join(lines))


if __name__ == "__main__":
    run_main(main)
