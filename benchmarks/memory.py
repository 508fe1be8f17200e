"""Peak memory of reading big pictures: `digitrec predict` of one picture, and `digitrec serve`
answering eight uploads of it at once.

Pictures that cost little on disk and much once decoded (a hostile probe found an 86 KB 16-bit PNG
of 5700x5700 that cost 775 MB in `predict`, and 4.6 GB for eight at once in `serve`):

- a 5700x5700 16-bit grey PNG (62 MiB decoded) holding one fat stroke;
- a 4600x4600 RGB PNG (61 MiB decoded);
- a 4000x3000 JPEG from a camera (12 MP, decoded at half size).

`predict`'s peak is the process's maximum resident set (`/usr/bin/time -f %M` semantics, read from
`resource.getrusage` of the child); `serve`'s is the server process's VmHWM after the eight
concurrent uploads, answered 200 or 503 (the decoding budget, `--max-decoded-mib`).

    python benchmarks/memory.py              # writes benchmarks/results/memory.json and the README table
"""

import concurrent.futures
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, current_commit, machine_description, run_main, update_readme_section, write_results  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "memory.json"
UPLOADS_AT_ONCE = 8


def stroke_picture(width, height, mode="L") -> Image.Image:
    """A light picture of the given size with a dark 1 drawn across its middle (white paper)."""
    image = Image.new(mode, (width, height), "white")
    ImageDraw.Draw(image).line([(width // 2, height // 5), (width // 2 + width // 20, 4 * height // 5)], fill="black",
                               width=max(width // 50, 2))
    return image


def sixteen_bit_png(size=5700) -> bytes:
    """A `size`x`size` 16-bit grey PNG: about 86 KB on disk for 5700, 62 MiB decoded."""
    levels = np.asarray(stroke_picture(size, size)).astype(np.uint16) * 235  # paper 59925, ink 0
    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def rgb_png(size=4600) -> bytes:
    buffer = io.BytesIO()
    stroke_picture(size, size, "RGB").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def camera_jpeg() -> bytes:
    buffer = io.BytesIO()
    stroke_picture(4000, 3000, "RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


PICTURES = {"16-bit grey PNG 5700x5700": sixteen_bit_png, "RGB PNG 4600x4600": rgb_png, "JPEG 4000x3000 (12 MP)": camera_jpeg}


def predict_peak(path) -> float:
    """MB: the peak resident memory of `digitrec predict PATH` (the whole process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-m", "digitrec", "predict", str(path)], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:  # the maximum over children so far did not move: run it alone to know
        raise SystemExit("memory.py: run each predict in a fresh benchmark process (a larger one ran before)")
    return after / 1024


def peak_of(pid) -> float:
    """MB: VmHWM (the peak resident set) of a running process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"memory.py: no VmHWM for process {pid}")


def serve_peak(data: bytes) -> dict:
    """The server's peak memory and answers when UPLOADS_AT_ONCE clients post `data` at once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "digitrec", "serve", "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        if not server.stdout.readline().startswith("digitrec: serving on"):
            raise SystemExit(f"memory.py: the server did not start: {server.stderr.read()[-300:]}")
        idle = peak_of(server.pid)

        def post(_):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict", data=data, headers={"Content-Type": "image/png"})
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(UPLOADS_AT_ONCE) as pool:
            statuses = list(pool.map(post, range(UPLOADS_AT_ONCE)))
        seconds = time.perf_counter() - started
        return {"idle_mb": round(idle), "peak_mb": round(peak_of(server.pid)), "statuses": statuses, "seconds": round(seconds, 2)}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--predict-peak":  # one predict, in a process of its own
        print(predict_peak(sys.argv[2]))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, make in PICTURES.items():
            data = make()
            path = Path(folder) / ("picture.jpg" if name.startswith("JPEG") else "picture.png")
            path.write_bytes(data)
            measured = subprocess.run([sys.executable, __file__, "--predict-peak", str(path)], check=True, capture_output=True, text=True)
            served = serve_peak(data)
            rows.append({"picture": name, "file_kb": round(len(data) / 1024), "predict_peak_mb": round(float(measured.stdout)),
                         "serve": served})
            print(f"{name}: {len(data) / 1024:.0f} KB, predict peak {float(measured.stdout):.0f} MB; serve x{UPLOADS_AT_ONCE}: "
                  f"peak {served['peak_mb']} MB (idle {served['idle_mb']} MB), answers {served['statuses']}", flush=True)
    results = {"command": "python benchmarks/memory.py", "machine": machine_description(), "date": time.strftime("%Y-%m-%d"),
               "commit": current_commit(), "load": os.getloadavg()[0], "rows": rows}
    write_results(RESULTS, results)
    lines = [f"`{results['command']}` on {results['machine']}, {results['date']}, commit {results['commit']} "
             f"(load average {results['load']:.1f}):", "",
             "| picture | file | `digitrec predict` peak | `serve`, 8 uploads at once: peak (idle) | answers |", "|---|---|---|---|---|"]
    for row in rows:
        answers = ", ".join(f"{row['serve']['statuses'].count(code)}× {code}" for code in sorted(set(row["serve"]["statuses"])))
        lines.append(f"| {row['picture']} | {row['file_kb']} KB | {row['predict_peak_mb']} MB | {row['serve']['peak_mb']} MB "
                     f"({row['serve']['idle_mb']} MB) | {answers} |")
    update_readme_section("memory", "\n".join(lines))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    run_main(main)
