"""A local stand-in for Google Images, for tests, benchmarks and offline runs.

    python -m devtools.standin --root DIR --port 8765 [--host 127.0.0.1]

It serves the pictures in DIR/ai and DIR/real through pages shaped like today's
Google Images (udm=2): a consent interstitial first (two forms posting to …/save,
the reject one with set_eom=true; either sets a CONSENT cookie), then results whose
first 20 tiles (`div.eA0Zlc[data-docid][data-lpage]`, thumbnails as data: URIs in
`g-img > img.YQ4gaf`) come with Google's inline script data (docid, thumbnail,
full-size URL and size, source page), more tiles loaded by JavaScript when the page
is scrolled (without script data, as on Google), and a preview panel
(`img[jsname=kn3ccd].sFlh5c` in `[data-lhcontainer]`) with the full-size URL on click.

Pictures: a query mentioning ai/generated/dalle/midjourney/stable diffusion shows
DIR/ai, any other DIR/real, in a shuffled order seeded by the query; of those only
one group by file-name prefix: a query naming a prefix of GROUPS (`aigameapp`,
`realoraigame`, `artgame`, `aiuiportraits`, `authenta`) shows that prefix's files,
any other query the rest (the `search` group). Special queries:
  q=faults    results whose downloads fail in every way a scraper meets (see FAULTS)
  q=unusual   20 results, then the "unusual traffic" captcha page on scrolling
  q=noresults a page without any result markup

Variants of the page, for tests, under /v/<variant>/search (see VARIANTS).
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
NO_PREVIEW = ("scriptonly", "thumbnails")
# File-name prefixes of the pool's source groups; every other file is "search".
GROUPS = ("aigameapp", "realoraigame", "artgame", "aiuiportraits", "authenta")
VARIANTS = {
    "": "today's page: script data for the first page, the preview panel for the rest",
    "renamed": "every obfuscated class and jsname renamed (structural selectors must do)",
    "scriptonly": "script data for every batch, and a preview panel that never opens",
    "clickonly": "no script data: every full-size URL from the preview panel",
    "pl": "the consent page in Polish",
    "de": "the consent page in German, buttons without a form (script-driven)",
    "scroller": "results in a scrolling container; the window itself does not scroll",
    "captcha": "the captcha page on the first search",
    "thumbnails": "neither script data nor a preview panel: only thumbnails",
}
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
    ("malformed", "http://[::1/x.jpg"),
    ("malformed redirect", "/redirect?to=http%3A%2F%2F%5B%3A%3A1%2Fx.jpg"),
    ("ok", "/images/real/{2}"),
)

# The consent pages: English and Polish are Google's structure (one form per choice,
# posting to …/save; set_eom=true on the reject form; Polish lists accept first),
# German is built by script, without forms, so only the button words find it.
CONSENT_FORM = """<form method="post" action="{prefix}/consent/save">
<input type="hidden" name="continue" value="{cont}">
<input type="hidden" name="set_eom" value="{eom}">
<input type="hidden" name="set" value="{choice}"><button type="submit">{text}</button></form>"""
CONSENT_PAGE = """<!doctype html><html lang="{lang}"><head><title>{title}</title></head>
<body><h1>{title}</h1><p>{body}</p>{forms}</body></html>"""
CONSENT_TEXTS = {
    "en": ("Before you continue to Google", "We use cookies and data to deliver services.",
           (("reject", "Reject all"), ("accept", "Accept all"))),
    "pl": ("Zanim przejdziesz do Google", "Używamy plików cookie i danych.",
           (("accept", "Zaakceptuj wszystko"), ("reject", "Odrzuć wszystko"))),
}  # fmt: skip
CONSENT_PAGE_DE = """<!doctype html><html lang="de"><head><title>Bevor Sie zu Google
weitergehen</title></head><body><h1>Bevor Sie zu Google weitergehen</h1>
<p>Wir verwenden Cookies und Daten.</p>
<div role="button" tabindex="0" onclick="decide('NO+')">Alle ablehnen</div>
<div role="button" tabindex="0" onclick="decide('YES+')">Alle akzeptieren</div>
<script>function decide(v) {{
  document.cookie = 'CONSENT=' + v + '; path=/; max-age=86400';
  location.href = {cont};
}}</script></body></html>"""

SORRY_PAGE = """<!doctype html><html><head><title>Sorry...</title></head><body>
<div><b>About this page</b><br>Our systems have detected unusual traffic from your computer
network. This page checks to see if it's really you sending the requests, and not a robot.</div>
<form id="captcha-form" action="index" method="post"><div class="g-recaptcha"></div></form>
</body></html>"""

# Class names and jsnames of today's page, and the renamed variant's.
NAMES = {
    "": {"tile": "eA0Zlc", "wrap": "g-img", "img": "YQ4gaf",
         "panel": 'jsname="kn3ccd" class="sFlh5c"'},
    "renamed": {"tile": "Qz7Wbe", "wrap": "span", "img": "Ty3Lkc", "panel": 'class="Xu2Pvd"'},
}  # fmt: skip

RESULTS_PAGE = """<!doctype html><html><head><title>{title} - Google Search</title><style>
body{{font-family:sans-serif;margin:0}} #rso{{display:flex;flex-wrap:wrap;width:760px}}
.{tile}{{width:180px;height:200px;margin:4px;cursor:pointer}} {wrap}{{display:block}}
img.{img}{{max-width:180px;max-height:180px}}
#scroller.on{{height:640px;overflow-y:auto}}
#panel{{position:fixed;right:0;top:0;width:480px;height:100%;background:#eee}}
</style></head><body><div id="search"><div id="scroller" class="{scroller}">
<div id="rso">{items}</div></div></div>
<div id="panel" data-lhcontainer="1"><img {panel} src="" alt=""></div>
{script_data}
<script>
const full = {full};
const query = {query}, base = {base}, names = {names};
let next = {next}, loading = false, done = {done};
function show(id) {{
  if (!full[id]) return;  // the script-only variant: no preview panel
  const img = document.querySelector('#panel img');
  // Like Google: the thumbnail first, the full-size picture a moment later.
  img.src = document.querySelector('[data-id="' + id + '"] img').src;
  setTimeout(() => {{ img.src = full[id]; }}, 80);
}}
function item(it) {{
  const div = document.createElement('div');
  div.className = names.tile; div.dataset.id = it.id;
  div.dataset.docid = it.docid; div.dataset.lpage = it.page;
  div.innerHTML = '<' + names.wrap + '><img class="' + names.img + '" alt="" src="' + it.thumb
    + '"></' + names.wrap + '>';
  div.onclick = () => show(it.id);
  return div;
}}
document.querySelectorAll('[data-id]').forEach(d => d.onclick = () => show(d.dataset.id));
async function more() {{
  if (loading || done) return;
  loading = true;
  const r = await fetch(base + '/more?' + new URLSearchParams({{q: query, start: next}}));
  const data = await r.json();
  if (data.sorry) {{ location.href = data.sorry; return; }}
  for (const it of data.items) {{
    if (it.full) full[it.id] = it.full;
    document.getElementById('rso').append(item(it));
  }}
  if (data.script) {{  // the script-only variant: later batches carry script data too
    const s = document.createElement('script'); s.text = data.script; document.body.append(s);
  }}
  next += data.items.length; done = data.items.length === 0; loading = false;
}}
const scroller = document.getElementById('scroller');
function nearEnd() {{
  if (scroller.classList.contains('on'))
    return scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 300;
  return innerHeight + scrollY >= document.body.scrollHeight - 300;
}}
window.addEventListener('scroll', () => {{ if (nearEnd()) more(); }});
scroller.addEventListener('scroll', () => {{ if (nearEnd()) more(); }});
</script></body></html>"""


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
        """(label, file) in this query's order: the query's label, the query's group."""
        label = "ai" if AI_WORDS.search(query) else "real"
        group = group_of_query(query)
        names = [n for n in self.files[label] if group_of_file(n) == group]
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

    @lru_cache(maxsize=8192)  # noqa: B019
    def size(self, label: str, name: str) -> tuple[int, int]:
        """(height, width) of a picture, read from its header."""
        with Image.open(self.root / label / name) as image:
            return image.height, image.width

    def picture(self, label: str, name: str) -> bytes:
        if label not in self.files or name not in self.files[label]:
            raise FileNotFoundError(name)
        return (self.root / label / name).read_bytes()


def group_of_query(query: str) -> str:
    for group in GROUPS:
        if re.search(rf"\b{group}\b", query, re.I):
            return group
    return "search"


def group_of_file(name: str) -> str:
    return next((g for g in GROUPS if name.startswith(f"{g}-")), "search")


def docid(key: str) -> str:
    """A stable Google-like document id (14 URL-safe characters)."""
    digest = hashlib.sha256(key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:14].replace("-", "x").replace("_", "y")


def items_for(standin: StandIn, query: str, start: int, count: int, base: str) -> list[dict]:
    """Result entries [start, start+count): ids, thumbnail and full-size URLs, size, page."""
    if query == "faults":
        label, sample = standin.results("faults")[0]
        paths = standin.fault_results()
        return [
            _item(f"r{i}", docid(f"fault{i}"), f"/thumb/{label}/{quote(sample)}", path,
                  (480, 640), f"/page/{label}/fault{i}.html", base)
            for i, path in enumerate(paths)
            if start <= i < start + count
        ]  # fmt: skip
    entries = standin.results(query)[start : start + count]
    return [
        _item(f"r{start + i}", docid(f"{label}/{name}"), f"/thumb/{label}/{quote(name)}",
              f"/images/{label}/{quote(name)}", standin.size(label, name),
              f"/page/{label}/{quote(name)}.html", base)
        for i, (label, name) in enumerate(entries)
    ]  # fmt: skip


def _item(id_, doc, thumb, full, size, page, base) -> dict:
    absolute = lambda u: base + u if u.startswith("/") else u  # noqa: E731
    return {"id": id_, "docid": doc, "thumb": thumb, "full": absolute(full),
            "height": size[0], "width": size[1], "page": absolute(page)}  # fmt: skip


def script_data(items: list[dict], query: str, base: str) -> str:
    """Google's inline script data for these results (see scraper/parser.py's docstring).

    Like Google's, the JSON inside escapes = and & as \\u003d and \\u0026.
    """
    prefix = docid("prefix" + query)
    blocks = {}
    for n, it in enumerate(items):
        meta = {"2003": [None, it["docid"], it["page"], f"picture {it['id']}", None, None]}
        entry = [0, it["docid"], [base + it["thumb"], 120, 120], [it["full"], it["height"],
                 it["width"]], None, 0, "rgb(120,110,100)", None, 0, meta]  # fmt: skip
        blocks[f"{prefix}{n}"] = [1, entry]
    data = json.dumps(blocks, separators=(",", ":"))
    data = data.replace("=", "\\u003d").replace("&", "\\u0026")
    return f"(function(){{var m={data};window.__data=m;}})();"


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

    @property
    def base(self) -> str:
        return f"http://{self.headers.get('host') or '127.0.0.1'}"

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        variant, path = _variant(parts.path)
        try:
            if path == "/search":
                return self.search(params, variant)
            if path == "/consent":
                return self.consent(params.get("continue", "/"), variant)
            if path == "/more":
                return self.more(params, variant)
            if path.startswith("/sorry/"):
                return self.send(429, SORRY_PAGE)
            if path == "/redirect":
                return self.redirect(params.get("to", "/"))
            if path.startswith("/fault/"):
                return self.fault(path)
            if path.startswith("/page/"):
                return self.send(200, f"<html><body><p>{html.escape(path)}</p></body></html>")
            return self.pictures(path)
        except (FileNotFoundError, ValueError, IndexError):
            return self.send(404, "<html><body>Not found</body></html>")

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if not urlsplit(self.path).path.endswith("/consent/save"):
            return self.send(404, "<html><body>Not found</body></html>")
        cont = form.get("continue", "/")
        value = "YES+" if form.get("set") == "accept" else "NO+"
        cookie = f"CONSENT={value}; Path=/; Max-Age=86400"
        return self.redirect(cont if cont.startswith("/") else "/", cookie=cookie)

    # --- pages ---

    def consent(self, cont: str, variant: str):
        prefix = f"/v/{variant}" if variant else ""
        if variant == "de":
            return self.send(200, CONSENT_PAGE_DE.format(cont=json.dumps(cont)))
        title, body, choices = CONSENT_TEXTS["pl" if variant == "pl" else "en"]
        forms = "".join(
            CONSENT_FORM.format(prefix=prefix, cont=html.escape(cont), choice=choice, text=text,
                                eom="true" if choice == "reject" else "false")
            for choice, text in choices
        )  # fmt: skip
        page = CONSENT_PAGE.format(lang=variant or "en", title=title, body=body, forms=forms)
        return self.send(200, page)

    def search(self, params: dict, variant: str):
        query = params.get("q", "")
        prefix = f"/v/{variant}" if variant else ""
        if variant == "captcha":
            return self.redirect("/sorry/index?" + urlencode({"continue": self.path}))
        if "CONSENT=" not in (self.headers.get("cookie") or ""):
            return self.redirect(f"{prefix}/consent?" + urlencode({"continue": self.path}))
        if query == "noresults":
            return self.send(200, "<html><body><div id='search'>No pictures.</div></body></html>")
        return self.send(200, self.results_page(query, variant, prefix))

    def results_page(self, query: str, variant: str, prefix: str) -> str:
        names = NAMES.get(variant, NAMES[""])
        first = items_for(self.standin, query, 0, FIRST_PAGE, self.base)
        blocks = []
        for item in first:
            label, name = item["thumb"].split("/")[2:4]
            data = self.standin.thumbnail(label, _unquote(name))
            uri = "data:image/jpeg;base64," + base64.b64encode(data).decode()
            blocks.append(
                f'<div class="{names["tile"]}" data-id="{item["id"]}" data-docid="{item["docid"]}" '
                f'data-lpage="{html.escape(item["page"])}"><{names["wrap"]}>'
                f'<img class="{names["img"]}" alt="" src="{uri}"></{names["wrap"]}></div>'
            )
        no_script = variant in ("clickonly", "thumbnails")
        data = "" if no_script else script_data(first, query, self.base)
        return RESULTS_PAGE.format(
            title=html.escape(query), items="".join(blocks),
            tile=names["tile"], wrap=names["wrap"], img=names["img"], panel=names["panel"],
            scroller="on" if variant == "scroller" else "",
            script_data=f"<script>{data}</script>" if data else "",
            full=json.dumps({} if variant in NO_PREVIEW else {i["id"]: i["full"] for i in first}),
            query=json.dumps(query), base=json.dumps(prefix), names=json.dumps(names),
            next=len(first),
            done="true" if len(first) < FIRST_PAGE and query != "unusual" else "false",
        )  # fmt: skip

    def more(self, params: dict, variant: str):
        query = params.get("q", "")
        if query == "unusual":  # the block comes on the next request, as with Google
            return self.send_json({"sorry": "/sorry/index?continue=/search"})
        start = int(params.get("start", 0))
        items = items_for(self.standin, query, start, BATCH, self.base)
        time.sleep(0.05)  # results arrive a moment after the scroll, as on the real page
        answer = {"items": items}
        if variant == "scriptonly":
            answer["script"] = script_data(items, f"{query}:{start}", self.base)
        if variant in NO_PREVIEW:
            for item in items:
                item.pop("full")
        return self.send_json(answer)

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


def _variant(path: str) -> tuple[str, str]:
    """("renamed", "/search") from "/v/renamed/search"; ("", path) for today's page."""
    if not path.startswith("/v/"):
        return "", path
    parts = path.split("/", 3)  # "", "v", variant, rest
    if len(parts) < 4 or not parts[2] or parts[2] not in VARIANTS:
        raise ValueError(f"unknown page variant in {path!r}")
    return parts[2], "/" + parts[3]


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
