"""What a session keeps after its pictures are judged: each picture's small result (the
verdict, a display copy of at most 512 pixels a side, the model's 36x36 input), never the
uploaded or fetched bytes nor a full-size decoded picture. The uploads' bytes are held by
Streamlit's uploader itself (while listed in it, until the session ends)."""

from __future__ import annotations

import dataclasses
import http.server
import threading

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import analysis, memory
from tests.helpers import ROOT, make_image

MAIN = str(ROOT / "app" / "main.py")
UPLOADER = "uploads"  # the widget's own value: Streamlit's UploadedFile objects


def noise_png(side: int, seed: int) -> bytes:
    from io import BytesIO

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def retained(value, seen=None) -> list[tuple[str, int]]:
    """(kind, bytes) of every bytes-like object and array reachable from `value`."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return [("bytes", len(value))]
    if isinstance(value, np.ndarray):
        return [(f"array{value.shape}", value.nbytes)]
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple, set)):
        children = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = list(vars(value).values())
    else:
        return []
    return [found for child in children for found in retained(child, seen)]


@pytest.fixture
def picture_server(env):
    big = noise_png(1500, seed=9)  # ~6.8 MB

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(big)))
            self.end_headers()
            self.wfile.write(big)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    env.setenv("REALORAI_ALLOW_HOSTS", f"127.0.0.1:{httpd.server_address[1]}")
    yield f"http://127.0.0.1:{httpd.server_address[1]}/big.png"
    httpd.shutdown()
    httpd.server_close()


def test_a_session_keeps_small_results_not_bytes_or_full_pictures(picture_server):
    uploads = [(f"noise-{i}.png", noise_png(1400, seed=i), "image/png") for i in range(3)]
    uploads.append(("small.png", make_image(50, 40, fmt="PNG"), "image/png"))
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.run()
    at.file_uploader(key=UPLOADER).set_value(uploads)
    at.text_input(key="url").set_value(picture_server)
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    at.toggle(key="heatmap").set_value(True).run()  # a rerun: results reused, heat maps made
    assert not at.exception, at.exception
    state = at.session_state.to_dict()
    results = list(state["analysed"].values())
    assert len(results) == 5 and all(r.ok for r in results)
    found = [f for key, value in state.items() if key != UPLOADER for f in retained(value)]
    assert not [f for f in found if f[0] == "bytes" and f[1] > 4096], found  # no file bytes
    side = analysis.DISPLAY_SIDE
    assert max(size for _, size in found) <= side * side * 3, found  # no full-size picture
    uploaded = sum(len(data) for _, data, _ in uploads) + 1500 * 1500 * 3
    assert sum(size for _, size in found) < uploaded / 5


def test_memory_is_released_without_error():
    # glibc here: both calls take effect; elsewhere they are no-ops that say so.
    assert memory.fix_mmap_threshold() in (True, False)
    assert memory.release() in (True, False)
