"""A local stand-in for Google Images, for tests, benchmarks and offline runs.

    python -m devtools.standin --root DIR --port 8765 [--host 127.0.0.1]

It serves the pictures in DIR/ai and DIR/real through pages shaped like today's
Google Images (udm=2): a consent interstitial first ("Reject all"/"Accept all" set
a CONSENT cookie), then results whose first 20 thumbnails are data: URIs inside
`g-img > img.YQ4gaf`, more loaded by JavaScript when the page is scrolled, and a
preview panel (`img[jsname=kn3ccd].sFlh5c`) with the full-size URL on click.

A query mentioning ai/generated/dalle/midjourney/stable diffusion shows DIR/ai,
any other DIR/real, in a shuffled order seeded by the query; a query naming one of
the pool's groups (aigameapp, realoraigame) shows that group's pictures only, any
other the rest (the keyword-search group). Special queries:
  q=faults   results whose downloads fail in every way a scraper meets (see FAULTS)
  q=unusual  20 results, then the "unusual traffic" captcha page on scrolling
  q=noresults a page without any result markup
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from PIL import Image

FIRST_PAGE = 20  # thumbnails in the first page, as data: URIs
BATCH = 20  # thumbnails per scroll-triggered load
THUMB_SIDE = 120
SLOW_S = 4.0  # the slow host answers after this long (tests use a shorter read timeout)
AI_WORDS = re.compile(r"\b(ai|generated|dall-?e\d*|dalle\d*|midjourney|stable diffusion)\b", re.I)
GROUPS = ("aigameapp", "realoraigame")  # the pool's game groups; the rest is "search"
TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}

# q=faults: (what, full-size path). "ok" items between faults show the rest go on.
FAULTS = (
    ("ok", "/images/real/{0}"),
    ("404", "/fault/404.jpg"),
    ("500", "/fault/500.jpg"),
    ("429 then ok", "/fault/429/{1}"),
    ("slow", "/fault/slow.jpg"),
    ("html as jpg", "/fault/page.jpg"),
    ("truncated", "/fault/truncated.jpg"),
    ("bomb", "/fault/bomb.png"),
    ("too many bytes", "/fault/big.jpg"),
    ("too small", "/fault/tiny.png"),
    ("duplicate", "/dup/real/{0}"),
    ("near duplicate", "/near/real/{0}"),
    ("ok", "/images/real/{2}"),
)

CONSENT_PAGE = """<!doctype html><html><head><title>Before you continue to Google</title></head>
<body><h1>Before you continue to Google</h1><p>We use cookies and data to deliver services.</p>
<form method="post" action="/consent/save"><input type="hidden" name="continue" value="{cont}">
<input type="hidden" name="set" value="reject"><button type="submit">Reject all</button></form>
<form method="post" action="/consent/save"><input type="hidden" name="continue" value="{cont}">
<input type="hidden" name="set" value="accept"><button type="submit">Accept all</button></form>
</body></html>"""

SORRY_PAGE = """<!doctype html><html><head><title>Sorry...</title></head><body>
<div><b>About this page</b><br>Our systems have detected unusual traffic from your computer
network. This page checks to see if it's really you sending the requests, and not a robot.</div>
<form id="captcha-form" action="index" method="post"><div class="g-recaptcha"></div></form>
</body></html>"""

RESULTS_PAGE = """<!doctype html><html><head><title>{title} - Google Search</title><style>
body{{font-family:sans-serif;margin:0}} #rso{{display:flex;flex-wrap:wrap;width:760px}}
.eA0Zlc{{width:180px;height:200px;margin:4px;cursor:pointer}} g-img{{display:block}}
img.YQ4gaf{{max-width:180px;max-height:180px}}
#panel{{position:fixed;right:0;top:0;width:480px;height:100%;background:#eee}}
</style></head><body><div id="search"><div id="rso">{items}</div></div>
<div id="panel"><img jsname="kn3ccd" class="sFlh5c" src="" alt=""></div>
<script>
const full = {full};
const query = {query};
let next = {next}, loading = false, done = {done};
function show(id) {{
  const img = document.querySelector('img[jsname="kn3ccd"]');
  // Like Google: the thumbnail first, the full-size picture a moment later.
  img.src = document.querySelector('[data-id="' + id + '"] img').src;
  setTimeout(() => {{ img.src = full[id]; }}, 80);
}}
function item(id, thumb) {{
  const div = document.createElement('div');
  div.className = 'eA0Zlc'; div.dataset.id = id;
  div.innerHTML = '<g-img class="mNsIhb"><img class="YQ4gaf" alt="" src="' + thumb + '"></g-img>';
  div.onclick = () => show(id);
  return div;
}}
document.querySelectorAll('.eA0Zlc').forEach(d => d.onclick = () => show(d.dataset.id));
async function more() {{
  if (loading || done) return;
  loading = true;
  const r = await fetch('/more?' + new URLSearchParams({{q: query, start: next}}));
  if (r.status === 302 || r.redirected) {{ location.href = r.url; return; }}
  const data = await r.json();
  if (data.sorry) {{ location.href = data.sorry; return; }}
  for (const it of data.items) {{
    full[it.id] = it.full;
    document.getElementById('rso').append(item(it.id, it.thumb));
  }}
  next += data.items.length; done = data.items.length === 0; loading = false;
}}
window.addEventListener('scroll', () => {{
  if (innerHeight + scrollY >= document.body.scrollHeight - 300) more();
}});
</script></body></html>"""


def group_of(name: str) -> str:
    """The pool group a picture came from, by its file-name prefix (../shared/data/README.md)."""
    prefix = name.split("-", 1)[0]
    return prefix if prefix in GROUPS else "search"


def query_group(query: str) -> str:
    """A query naming a pool group (`aigameapp ai generated`) searches that group only;
    any other searches the keyword-search group, so every picture has one way in."""
    return next((g for g in GROUPS if re.search(rf"\b{g}\b", query, re.I)), "search")


class StandIn:
    """The pictures and per-query orders behind the pages."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.files = {label: self._pictures(label) for label in ("ai", "real")}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()

    def _pictures(self, label: str) -> list[str]:
        folder = self.root / label
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in TYPES)

    def results(self, query: str) -> list[tuple[str, str]]:
        """(label, file) in this query's order: the query's label, and its group's files."""
        label = "ai" if AI_WORDS.search(query) else "real"
        names = [n for n in self.files[label] if group_of(n) == query_group(query)]
        random.Random(hashlib.sha256(query.encode()).digest()).shuffle(names)
        return [(label, name) for name in names]

    def fault_results(self) -> list[str]:
        """Full-size paths of the q=faults result list."""
        names = [name for _, name in self.results("faults")][:3]
        return [path.format(*names) for _, path in FAULTS]

    def hit(self, key: str) -> int:
        with self._lock:
            self._hits[key] = self._hits.get(key, 0) + 1
            return self._hits[key]

    @lru_cache(maxsize=4096)  # noqa: B019 - one StandIn per server, lives as long
    def thumbnail(self, label: str, name: str) -> bytes:
        with Image.open(self.root / label / name) as image:
            image = image.convert("RGB")
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=75)
        return buffer.getvalue()

    def picture(self, label: str, name: str) -> bytes:
        if label not in self.files or name not in self.files[label]:
            raise FileNotFoundError(name)
        return (self.root / label / name).read_bytes()


def items_for(standin: StandIn, query: str, start: int, count: int) -> list[dict]:
    """Result entries [start, start+count): id, thumbnail URL and full-size URL."""
    if query == "faults":
        paths = standin.fault_results()
        thumb = "/thumb/real/" + standin.results("faults")[0][1]
        return [
            {"id": f"r{i}", "thumb": thumb, "full": path}
            for i, path in enumerate(paths)
            if start <= i < start + count
        ]
    entries = standin.results(query)[start : start + count]
    return [
        {"id": f"r{start + i}", "thumb": f"/thumb/{label}/{quote(name)}",
         "full": f"/images/{label}/{quote(name)}"}
        for i, (label, name) in enumerate(entries)
    ]  # fmt: skip


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A small PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * (width * 3 + 1) * 4)  # a few rows; enough to open
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


class Handler(BaseHTTPRequestHandler):
    standin: StandIn  # set on the subclass made by serve()
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: tests and benchmarks read their own output
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        try:
            if path == "/search":
                return self.search(params)
            if path == "/consent":
                return self.send(
                    200, CONSENT_PAGE.format(cont=html.escape(params.get("continue", "/")))
                )
            if path == "/more":
                return self.more(params)
            if path.startswith("/sorry/"):
                return self.send(429, SORRY_PAGE)
            if path == "/redirect":
                return self.redirect(params.get("to", "/"))
            if path.startswith("/fault/"):
                return self.fault(path)
            return self.pictures(path)
        except (FileNotFoundError, ValueError, IndexError):
            return self.send(404, "<html><body>Not found</body></html>")

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/consent/save":
            return self.send(404, "<html><body>Not found</body></html>")
        cont = form.get("continue", "/")
        value = "YES+" if form.get("set") == "accept" else "NO+"
        cookie = f"CONSENT={value}; Path=/; Max-Age=86400"
        return self.redirect(cont if cont.startswith("/") else "/", cookie=cookie)

    # --- pages ---

    def search(self, params: dict):
        query = params.get("q", "")
        if "CONSENT=" not in (self.headers.get("cookie") or ""):
            return self.redirect("/consent?" + urlencode({"continue": self.path}))
        if query == "noresults":
            return self.send(200, "<html><body><div id='search'>No pictures.</div></body></html>")
        first = items_for(self.standin, query, 0, FIRST_PAGE)
        blocks = []
        for item in first:
            label, name = item["thumb"].split("/")[2:4]
            data = self.standin.thumbnail(label, _unquote(name))
            uri = "data:image/jpeg;base64," + base64.b64encode(data).decode()
            blocks.append(
                f'<div class="eA0Zlc" data-id="{item["id"]}"><g-img class="mNsIhb">'
                f'<img class="YQ4gaf" alt="" src="{uri}"></g-img></div>'
            )
        page = RESULTS_PAGE.format(
            title=html.escape(query),
            items="".join(blocks),
            full=json.dumps({i["id"]: i["full"] for i in first}),
            query=json.dumps(query),
            next=len(first),
            done="true" if len(first) < FIRST_PAGE and query != "unusual" else "false",
        )
        return self.send(200, page)

    def more(self, params: dict):
        query = params.get("q", "")
        if query == "unusual":  # the block comes on the next request, as with Google
            return self.send_json({"sorry": "/sorry/index?continue=/search"})
        items = items_for(self.standin, query, int(params.get("start", 0)), BATCH)
        time.sleep(0.05)  # results arrive a moment after the scroll, as on the real page
        return self.send_json({"items": items})

    def pictures(self, path: str):
        match = re.fullmatch(r"/(images|thumb|dup|near)/(ai|real)/([^/]+)", path)
        if not match:
            raise FileNotFoundError(path)
        kind, label, name = match.group(1), match.group(2), _unquote(match.group(3))
        if kind == "thumb":
            return self.send(200, self.standin.thumbnail(label, name), "image/jpeg")
        data = self.standin.picture(label, name)
        if kind == "near":  # the same picture re-encoded: other bytes, same look
            with Image.open(io.BytesIO(data)) as image:
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, "JPEG", quality=60)
            return self.send(200, buffer.getvalue(), "image/jpeg")
        return self.send(200, data, TYPES.get(Path(name).suffix.lower(), "image/jpeg"))

    def fault(self, path: str):
        sample_label, sample = self.standin.results("faults")[0]
        good = self.standin.picture(sample_label, sample)
        if path == "/fault/404.jpg":
            return self.send(404, "<html><body>Not found</body></html>")
        if path == "/fault/500.jpg":
            return self.send(500, "<html><body>Internal error</body></html>")
        if path.startswith("/fault/429/"):
            if self.standin.hit(path) % 2 == 1:  # every other request: slow down, then ok
                return self.send(429, "Too many requests", headers={"Retry-After": "1"})
            return self.pictures("/images/real/" + path.rsplit("/", 1)[1])
        if path == "/fault/slow.jpg":
            time.sleep(SLOW_S)
            return self.send(200, good, "image/jpeg")
        if path == "/fault/page.jpg":
            return self.send(200, "<!doctype html><html><body>Login</body></html>", "image/jpeg")
        if path == "/fault/truncated.jpg":
            return self.send(200, _jpeg(good)[: len(_jpeg(good)) // 2], "image/jpeg")
        if path == "/fault/bomb.png":
            return self.send(200, png_bomb(), "image/png")
        if path == "/fault/big.jpg":  # a real JPEG with 3 MB of padding after it
            return self.send(200, _jpeg(good) + b"\0" * 3_000_000, "image/jpeg")
        if path == "/fault/tiny.png":
            buffer = io.BytesIO()
            Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "PNG")
            return self.send(200, buffer.getvalue(), "image/png")
        raise FileNotFoundError(path)

    # --- responses ---

    def send(self, status: int, body, content_type="text/html; charset=utf-8", headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, value):
        return self.send(200, json.dumps(value), "application/json")

    def redirect(self, location: str, cookie: str | None = None):
        self.send_response(302)
        self.send_header("Location", location)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _unquote(name: str) -> str:
    from urllib.parse import unquote

    return unquote(name)


def _jpeg(data: bytes) -> bytes:
    """The picture as JPEG bytes (the truncation and padding faults need a JPEG)."""
    if data[:3] == b"\xff\xd8\xff":
        return data
    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (the slow host's read timeout) is expected, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(root: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server bound to host:port (call serve_forever, or run it in a thread)."""
    handler = type("StandInHandler", (Handler,), {"standin": StandIn(root)})
    return Server((host, port), handler)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    """Return once something accepts connections on 127.0.0.1:port; TimeoutError if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} after {timeout:.0f} s")


@contextmanager
def running(root: Path | str, port: int | None = None) -> Iterator[str]:
    """The stand-in in a child process for the block; yields its base URL.

    A separate process, as in `make pipeline-offline`: the scraper under test shares
    no interpreter (or GIL) with the server it measures.
    """
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.standin", "--root", str(root), "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],  # importable without an installed package
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.standin", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--root", type=Path, required=True, help="folder with ai/ and real/ pictures"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    if not (args.root / "ai").is_dir() or not (args.root / "real").is_dir():
        parser.error(f"{args.root} must hold ai/ and real/ folders of pictures")
    server = serve(args.root, args.port, args.host)
    print(f"Google Images stand-in on http://{args.host}:{args.port}/search", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
