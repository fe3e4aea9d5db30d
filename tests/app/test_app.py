"""The Streamlit app through AppTest: uploads, URLs, the batch table, the heat map, bad input,
each verdict's kind and reliability, the file's own provenance, plain words, the model page.

URLs are served by a local http.server on 127.0.0.1, allowed through
REALORAI_ALLOW_HOSTS; the guard itself (scraper/http.py) is exercised, not mocked.
"""

from __future__ import annotations

import http.server
import re
import socket
import threading

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import config, messages, tables
from tests.helpers import (
    GAIN,
    ROOT,
    WEB_METRICS,
    WEB_SIZE,
    jpeg_with,
    make_image,
    png_with_text,
    publish_tiny,
    solid,
    tiny_card,
    web_view,
    whole_view,
    with_c2pa,
    xmp_packet,
)

MAIN = str(ROOT / "app" / "main.py")
HTML = b"<!DOCTYPE html><html><head><title>Not found</title></head><body>nope</body></html>"


def start_app() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, *files) -> AppTest:
    at.file_uploader(key="uploads").set_value(list(files))
    at.run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def texts(at: AppTest) -> str:
    """Every markdown and caption line of the page, joined."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


TECHNICAL = ("None", "Error", "bytes", "HTML", "corrupt", "truncated", "Exception", "HTTP ")


def verdicts(at: AppTest) -> list[str]:
    # each verdict is a coloured heading: "#### :green[Real photograph]"
    headings = [m.value for m in at.markdown if m.value.startswith("#### :")]
    return [h.split("[", 1)[1].rstrip("]") for h in headings]


def still_works(at: AppTest) -> None:
    """After a bad input the page is whole and a good picture still gets its verdict."""
    upload(at, ("white.png", solid(255), "image/png"))
    assert "Real photograph" in verdicts(at)


# --- a local web server for the URL input ---


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    Handler.routes = {
        "/white.png": (200, {"Content-Type": "image/png"}, solid(255)),
        # The server's content type is not trusted: these bytes are sniffed as JPEG.
        "/black": (200, {"Content-Type": "text/html"}, solid(0, "JPEG")),
        "/page.jpg": (200, {"Content-Type": "image/jpeg"}, HTML),
        "/to-loopback": (302, {"Location": f"http://127.0.0.1:{port}/white.png"}, b""),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", port
    httpd.shutdown()
    httpd.server_close()


def dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on once this socket closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone.png"


def check_url(at: AppTest, url: str) -> AppTest:
    at.text_input(key="url").set_value(url)
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    return at


def has_url_guard() -> bool:
    try:
        import scraper.http  # noqa: F401
    except ImportError:
        return False
    return True


needs_http = pytest.mark.skipif(
    not has_url_guard(), reason="needs scraper/http.py (the URL guard of the scraper package)"
)


# --- no model ---


def test_missing_model_is_one_clear_line(env, tmp_path):
    env.setenv("REALORAI_MODEL_DIR", str(tmp_path / "published"))
    at = start_app()
    assert len(at.error) == 1
    assert "make pipeline-offline" in at.error[0].value and "dvc repro" in at.error[0].value
    assert not at.file_uploader  # nothing to check pictures with

    at.switch_page("pages/model.py").run()
    assert not at.exception and len(at.error) == 1 and "make pipeline-offline" in at.error[0].value


# --- uploads ---


def test_one_upload_gets_verdict_score_bar_time_and_meaning(env):
    at = upload(start_app(), ("white.png", solid(255), "image/png"))
    assert verdicts(at) == ["Real photograph"]
    bars = [p for p in at.progress if p.text.startswith("p_real = ")]
    assert len(bars) == 1 and bars[0].value >= 90
    captions = " ".join(c.value for c in at.caption)
    assert "ms" in captions and "cannot tell" in captions
    assert len(at.image) == 1 and at.image[0].captions == ["white.png"]
    assert not at.dataframe and not errors(at)  # one picture: no table


def test_several_uploads_get_a_table_csv_and_progress(env):
    files = [
        ("white.png", solid(255), "image/png"),
        ("black.jpg", solid(0, "JPEG"), "image/jpeg"),
        ("grey.webp", solid(128, "WEBP"), "image/webp"),
        ("anim.gif", solid(250, "GIF"), "image/gif"),
        ("scan.tiff", make_image(80, 60, fmt="TIFF"), "image/tiff"),
        ("old.bmp", solid(5, "BMP"), "image/bmp"),
    ]
    at = upload(start_app(), *files)
    assert verdicts(at) == [
        "Real photograph",
        "AI-generated",
        "Not sure",
        "Real photograph",
        verdicts(at)[4],  # a random picture: whatever it is
        "AI-generated",
    ]
    table = at.dataframe[0].value
    assert list(table["picture"]) == [name for name, _, _ in files]
    assert table["p_real"].astype(float).between(0, 1).all()
    assert (table["ms"].astype(float) > 0).all()
    assert at.download_button[0].label == "Download CSV"
    assert any(p.text.startswith("Analysed 6 picture(s)") for p in at.progress)

    # The CSV offered is the table: header, one row per picture.
    results = [at.session_state["analysed"][k] for k in at.session_state["analysed"]]
    lines = tables.results_csv(results).decode().splitlines()
    assert lines[0] == ",".join(table.columns) and len(lines) == 7

    # A rerun (any click) analyses nothing again: no new progress bar.
    at.toggle(key="heatmap").set_value(False).run()
    assert not any(p.text.startswith("Anal") for p in at.progress)


def test_bad_uploads_are_one_error_line_each_and_the_rest_go_on(env):
    at = upload(
        start_app(),
        ("fake.jpg", HTML, "image/jpeg"),
        ("cut.jpg", make_image(200, 150)[:400], "image/jpeg"),
        ("white.png", solid(255), "image/png"),
        ("empty.png", b"", "image/png"),
    )
    lines = errors(at)
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    assert (
        lines[0] == f"fake.jpg: {messages.picture_problem('an HTML page, not an image', max_mb=20)}"
    )
    assert "saved web page" in lines[0] and "upload the picture file itself" in lines[0]
    assert lines[1].startswith("cut.jpg: This picture is damaged or incomplete")
    assert lines[2] == "empty.png: This file is empty; choose another picture."
    for line in lines:  # one plain sentence: no jargon, says what to do
        assert line.count(". ") == 0 and line.endswith(".")
        assert not any(word in line for word in TECHNICAL), line
    assert verdicts(at) == ["Real photograph"]
    table = at.dataframe[0].value
    assert list(table["verdict"]) == ["Could not check"] * 2 + [
        "Real photograph",
        "Could not check",
    ]
    # Readable for people: no "None" and no empty numbers anywhere in the table.
    assert not table.isna().any().any()
    assert "None" not in table.astype(str).to_string()
    assert list(table["p_real"])[0] == "—" and table["problem"][1].startswith("This picture")
    still_works(at)


def test_oversized_upload_is_refused_before_reading(env, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("app:\n  max_upload_mb: 0.01\n")
    env.setenv("PARAMS_OVERLAY", str(overlay))
    at = upload(start_app(), ("big.png", make_image(300, 300, fmt="PNG"), "image/png"))
    assert (
        at.error[0].value
        == "big.png: This file is larger than 0.01 MB; choose a smaller copy of the picture."
    )


def test_the_page_carries_a_sentence_for_files_the_browser_refuses(env):
    """The browser refuses a file over the limit before the app sees it; the script under
    the uploader (app/refused_uploads.py, driven in test_app_browser.py) writes the
    sentence, set as text: a file name cannot make HTML of it."""
    at = start_app()
    boxes = [h for h in at.get("html") if "realorai-refused-uploads" in h.proto.body]
    assert len(boxes) == 1 and boxes[0].proto.unsafe_allow_javascript
    body = boxes[0].proto.body
    assert messages.NOT_UPLOADED_TOO_LARGE.format(cap_mb="100", max_mb="20") in body
    assert "textContent = line" in body and "innerHTML" not in body


def corner_heat(*_):
    """A map with one bright corner: a region that stands out."""
    heat = np.zeros((36, 36), np.float32)
    heat[:12, :12] = 1.0
    return heat


def test_heat_map_side_by_side_with_its_own_legend_and_caption(env, monkeypatch):
    from app import analysis

    monkeypatch.setattr(analysis, "heat_of", corner_heat)
    at = upload(start_app(), ("black.png", solid(0), "image/png"))
    at.toggle(key="heatmap").set_value(True).run()
    assert not at.exception
    captions = [c for image in at.image for c in image.captions]
    assert captions == [
        "black.png",
        "Where the model saw signs of AI generation",
        "Colour scale: dark = no sign, bright = strong sign of AI",
    ]
    at.toggle(key="heatmap").set_value(False).run()
    assert [c for image in at.image for c in image.captions] == ["black.png"]


def test_an_even_heat_map_says_no_region_stands_out(env):
    """Issue 27: Grad-CAM on a flat picture is even (all dark or all bright once scaled to
    its peak); a colour scale beside it would seem to say something it does not."""
    at = upload(start_app(), ("black.png", solid(0), "image/png"))
    at.toggle(key="heatmap").set_value(True).run()
    assert not at.exception
    assert [c for image in at.image for c in image.captions] == ["black.png"]
    assert messages.NO_REGION_STANDS_OUT in [c.value for c in at.caption]
    assert "Colour scale" not in texts(at)


def test_a_web_picture_with_heat_maps_on_says_it_has_none(env):
    """The web view's verdict comes from an ImageNet network on the whole picture: no map,
    no legend, no per-patch table, one caption saying why; the verdict stands."""
    picture = make_image(400, 300, fmt="PNG", seed=4)
    at = upload(start_app(), ("web.png", picture, "image/png"))
    before = verdicts(at)
    at.toggle(key="heatmap").set_value(True).run()
    assert not at.exception and not errors(at)
    assert [c for image in at.image for c in image.captions] == ["web.png"]
    assert messages.NO_WEB_HEAT_MAP in [c.value for c in at.caption]
    assert "No heat map for web pictures" in messages.NO_WEB_HEAT_MAP
    assert "Colour scale" not in texts(at) and not at.dataframe
    assert verdicts(at) == before and len(before) == 1


def in_order(node, skip: str | None = None):
    """The page's elements in the order they are drawn (blocks opened, depth first),
    leaving out blocks of type `skip` (e.g. "expander": what a visitor reads at once)."""
    if skip is not None and node.type == skip:
        return
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for child in children.values():
        yield from in_order(child, skip)


@pytest.mark.parametrize("heat", [False, True])
def test_a_card_reads_verdict_then_picture_then_details(env, heat):
    """Issue 27 item 8: on a narrow screen columns stack in the order they are drawn, so
    the verdict (title, p_real, how often it is right) is drawn before the picture, and
    the details (calibration, the file's own evidence) after it."""
    at = upload(start_app(), ("small.png", solid(255), "image/png"),
                ("web.jpg", make_image(640, 480, seed=2), "image/jpeg"))  # fmt: skip
    at.toggle(key="heatmap").set_value(heat).run()
    kinds = []
    for node in in_order(at.main):
        value = str(getattr(node, "value", ""))
        if node.type == "markdown" and value.startswith("#### :"):
            kinds.append("verdict")
        elif node.type == "markdown" and value.startswith("Judged as"):
            kinds.append("reliability")
        elif node.type == "image" and node.captions[0] in ("small.png", "web.jpg"):
            kinds.append("picture")
        elif node.type == "markdown" and value.startswith("**What the file says"):
            kinds.append("details")
    assert kinds == ["verdict", "reliability", "picture", "details"] * 2, kinds


# --- URLs ---


@needs_http
def test_url_allowed_host_gets_a_verdict(env, server, monkeypatch):
    from app import analysis

    monkeypatch.setattr(analysis, "heat_of", corner_heat)  # a map that stands out
    base, _ = server
    env.setenv("REALORAI_ALLOW_HOSTS", "127.0.0.1")
    at = check_url(start_app(), f"{base}/white.png")
    assert verdicts(at) == ["Real photograph"] and not errors(at)
    # The server says text/html; the bytes are a JPEG, and the bytes decide.
    at = check_url(at, f"{base}/black")
    assert verdicts(at) == ["AI-generated"] and not errors(at)
    # Other clicks reuse the fetched bytes (the server is not asked again).
    at.toggle(key="heatmap").set_value(True).run()
    assert verdicts(at) == ["AI-generated"] and "Where the model saw" in at.image[1].captions[0]


@needs_http
def test_url_and_upload_together_make_a_table(env, server):
    base, _ = server
    env.setenv("REALORAI_ALLOW_HOSTS", "127.0.0.1")
    at = upload(start_app(), ("black.png", solid(0), "image/png"))
    at = check_url(at, f"{base}/white.png")
    assert list(at.dataframe[0].value["picture"]) == ["black.png", "white.png"]


@needs_http
def test_bad_urls_are_one_error_line_and_the_app_goes_on(env, server):
    base, port = server
    # localhost is allowed, 127.0.0.1 is not: the redirect's hop must be re-checked.
    env.setenv("REALORAI_ALLOW_HOSTS", "localhost")
    at = start_app()
    cases = [
        # A redirect into a refused address: had it been followed, the picture (white.png)
        # would get a verdict; the loop below asserts there is none.
        (f"http://localhost:{port}/to-loopback", None),
        (f"{base}/white.png", None),  # loopback, not allowed
        (f"http://localhost:{port}/page.jpg", "Copy image address"),  # an HTML page named .jpg
        (f"http://localhost:{port}/missing.png", None),  # HTTP 404
        (dead_url().replace("127.0.0.1", "localhost"), None),  # nobody listening
        ("file:///etc/passwd", None),
        ("ftp://example.com/a.png", None),
    ]
    for url, needle in cases:
        at = check_url(at, url)
        lines = errors(at)
        assert len(lines) == 1, (url, lines)
        assert "\n" not in lines[0] and (needle is None or needle in lines[0]), (url, lines)
        assert not verdicts(at), url
        # The address is inline code (text, never a link), then one plain sentence.
        # (a page fetched but not a picture is named by its file name, like an upload)
        address, sentence = lines[0].split(": ", 1)
        assert address in (f"`{url}`", messages.literal(url.rsplit("/", 1)[-1])), lines[0]
        assert sentence.endswith(".") and not any(w in sentence for w in TECHNICAL[:6]), lines[0]
    still_works(at)


@needs_http
def test_a_loopback_url_is_called_a_local_or_private_address(env, server):
    """Issue 27 item 6: the address starts with http://, so the public-address sentence
    did not say what was wrong with it."""
    base, port = server
    at = start_app()
    loopback = (
        "http://127.0.0.1:8599/",
        f"{base}/white.png",
        f"http://localhost:{port}/to-loopback",
    )
    for url in loopback:
        at = check_url(at, url)
        assert errors(at) == [
            f"`{url}`: {messages.fetch_problem('private', max_mb=20, timeout=10)}"
        ]
        assert "that is a local or private address" in errors(at)[0].lower()
        assert "starting with http://" not in errors(at)[0] and not verdicts(at)
    at = check_url(at, "ftp://example.com/a.png")  # a scheme the app does not fetch
    assert "public web addresses starting with http:// or https://" in errors(at)[0]
    still_works(at)


@needs_http
def test_empty_url_clears_the_url_picture(env, server):
    base, _ = server
    env.setenv("REALORAI_ALLOW_HOSTS", "127.0.0.1")
    at = check_url(start_app(), f"{base}/white.png")
    assert verdicts(at) == ["Real photograph"]
    at = check_url(at, "  ")
    assert not verdicts(at) and not errors(at)


@needs_http
def test_dead_url_gives_one_error_line(env):
    # No clock here (speed is make bench's job): AppTest's own timeout catches a hang.
    at = start_app()
    env.setenv("REALORAI_ALLOW_HOSTS", "127.0.0.1")
    at = check_url(at, dead_url())
    assert len(errors(at)) == 1 and "\n" not in errors(at)[0] and not verdicts(at)


# --- what each verdict says (issue 17: reliability, not sure, provenance) ---


SMALL_WEB = {"n": 900, "accuracy": 0.58, "roc_auc": 0.6}


def test_each_verdict_names_its_kind_and_that_kind_s_figures(env, tmp_path):
    whole = whole_view(metrics={**whole_view()["metrics"], "small_web": SMALL_WEB})
    card = tiny_card(views={"whole": whole, "web": web_view()})
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "m", card=card)))
    at = upload(
        start_app(),
        ("small.png", solid(255), "image/png"),
        ("web.jpg", make_image(640, 480, seed=2), "image/jpeg"),
    )
    lines = texts(at)
    # Shrunk web pictures were right 58% of the time: no firm verdict for a small upload.
    assert verdicts(at)[0] == messages.TITLES["too_small"]
    assert re.search(
        r"Too small to judge firmly: web pictures shrunk to this size were judged right only "
        r"58% of the time, so this is no verdict; the model leans towards a real photograph "
        r"\(p_real 0\.\d{3}\)\.", lines
    )  # fmt: skip
    assert list(at.dataframe[0].value["verdict"])[0] == "Too small to judge"
    assert (
        "Judged as a **CIFAKE-sized picture**, shrunk to 36×36 pixels. On this kind of "
        "picture the model was right on 93.1% of 400 test CIFAKE-sized pictures (interval "
        "90.5%–95.2%); ROC-AUC 0.975 (interval 0.962–0.986). On web pictures shrunk to this "
        "size it was right on 58% of 900: if this is a shrunk web picture, the verdict is "
        "close to a guess."
    ) in lines
    assert f"Judged as a **web picture**, by an ImageNet network at {WEB_SIZE}×{WEB_SIZE}." in lines
    # The web verdict quotes the confidence-table row its own p_real falls in.
    table = at.dataframe[0].value
    p_web = float(table["p_real"][1])
    confidence = max(p_web, 1 - p_web)
    row = next(
        r
        for r in WEB_METRICS["confidence_table"]
        if r["low"] <= confidence and (confidence < r["high"] or r["high"] >= 1)
    )
    assert (
        f"Of {row['n']:,} web pictures from sources it never trained on, those given a verdict "
        f"this confident ({row['low']:.0%}–{row['high']:.0%} sure) were right "
        f"**{row['right']:.0%}** of the time."
    ) in lines
    assert re.search(r"were right \*\*\d+%\*\* of the time", lines)
    assert (
        "right on 71% of 3,400 web pictures from sources held out of training "
        "(interval 69%–73%); ROC-AUC 0.760, averaged over 2 sources."
    ) in lines
    # "Calibrated" only where calibration was measured on that kind of picture.
    assert "p_real is calibrated on CIFAKE-sized pictures" in lines
    assert "p_real is calibrated on web pictures" in lines
    assert list(table["judged as"]) == ["CIFAKE-sized picture", "web picture"]


def test_the_capability_sentence_is_above_the_uploader_with_the_card_s_figures(env, tmp_path):
    whole = whole_view(metrics={**whole_view()["metrics"], "small_web": SMALL_WEB})
    card = tiny_card(views={"whole": whole, "web": web_view()})
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "m", card=card)))
    at = start_app()
    assert [i.value for i in at.info] == [
        "On web pictures from sources it never trained on it is right about 71% of the time "
        "(it ranks an AI picture above a real one 76% of the time): a hint, not proof; on "
        "CIFAKE's 32×32 pictures it is right 93.1% of the time, but a web picture shrunk "
        "that small it gets right only 58% of the time."
    ]
    # Above the first upload: read before anything is chosen.
    order = [type(node).__name__ for node in at.main.children.values()]
    assert order.index("Info") < order.index("FileUploader"), order


def test_the_sidebar_states_the_web_view_s_measured_band(env, tmp_path):
    """The "not sure" band of the web view is the card's measured one when wider than the
    app's setting: the sidebar says the band the verdicts use."""
    card = tiny_card(views={"whole": whole_view(), "web": web_view(uncertain_band=0.3)})
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "m", card=card)))
    at = start_app()
    assert (
        "Not sure between p_real 0.40–0.60 for CIFAKE-sized pictures and 0.35–0.65 for web "
        "pictures."
    ) in texts(at)


def test_not_sure_uses_the_number_shown(env, tmp_path):
    """A grey of 120 gives p_real 0.3996 with this temperature: shown 0.400, so inside the
    0.40-0.60 band, and the words say the model is unsure, not why."""
    import math

    logit = GAIN * (120 / 255 - 0.5)
    temperature = logit / math.log(0.3996 / 0.6004)
    card = tiny_card(views={"whole": whole_view(temperature=temperature)})
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "m", card=card)))
    at = upload(start_app(), ("grey.png", solid(120), "image/png"))
    assert verdicts(at) == ["Not sure"]
    assert [p.text for p in at.progress if p.text.startswith("p_real")] == ["p_real = 0.400"]
    assert "The model is not sure: p_real 0.400 is inside 0.40–0.60" in texts(at)
    assert "edited" not in texts(at) and "blend" not in texts(at)
    assert "larger copy" not in texts(at)  # every picture is resized: a copy changes nothing


@pytest.mark.parametrize(
    "name, data, expected",
    [
        (
            "signed.jpg",
            with_c2pa(make_image(200, 150)),
            "- Content Credentials: made with Test Generator 2.1, signed by Realorai Test Lab — "
            "valid signature (the signer is not on a trust list). They say the picture was made "
            "by generative AI (trainedAlgorithmicMedia).",
        ),
        (
            "iptc.jpg",
            jpeg_with(xmp=xmp_packet("compositeWithTrainedAlgorithmicMedia")),
            "- Metadata (IPTC, unsigned) says the picture was combines a picture with AI-generated "
            "parts (compositeWithTrainedAlgorithmicMedia); anyone can write or remove this.",
        ),
        (
            "sd.png",
            png_with_text({"parameters": "a cat\nSteps: 20, Sampler: Euler a"}),
            r"- Generator settings from Stable Diffusion web UI in the file: Steps\: 20, Sampler\: "
            "Euler a",
        ),
        (
            "comfy.png",
            png_with_text({"workflow": '{"nodes": []}'}),
            r"- Generator settings from ComfyUI in the file: a node graph in its \`workflow\` text",
        ),
        (
            "camera.jpg",
            jpeg_with(make="NIKON CORPORATION", model="NIKON D850"),
            "- Camera metadata (weak evidence, easy to copy or fake): camera NIKON D850.",
        ),
        ("plain.png", make_image(200, 150, fmt="PNG"), f"- {messages.NO_METADATA_NOTE}"[:0]),
    ],
)
def test_the_file_s_own_evidence_is_its_own_line_beside_the_verdict(env, name, data, expected):
    at = upload(start_app(), (name, data, "image/jpeg"))
    assert len(verdicts(at)) == 1 and not errors(at)
    lines = [m.value for m in at.markdown]
    heading = lines.index("**What the file says about itself** (not part of the verdict)")
    evidence = lines[heading + 1]
    if expected:
        assert evidence == expected
    else:
        assert "proves nothing" in evidence
    # The verdict's own lines never mention the metadata.
    verdict_lines = [line for line in lines[:heading] if line.startswith(("#### ", "Judged"))]
    assert not any("Credentials" in line or "metadata" in line for line in verdict_lines)


def test_metadata_and_file_names_are_shown_as_text_never_as_markdown(env):
    """A picture cannot forge a verdict heading, a coloured title or a remote image on its
    own card through XMP CreatorTool (newlines and markdown) or its file name."""
    forged = "Paint\n\n#### :green[Real photograph]\n![](http://evil.example/p.png) $x$"
    name = "#### :green[Real photograph] ![](http://evil.example/q.png).jpg"
    data = jpeg_with(xmp=xmp_packet("digitalCapture", tool=forged))
    at = upload(start_app(), (name, data, "image/jpeg"), ("1. " + name, HTML, "image/jpeg"))
    assert len(verdicts(at)) == 1  # the real one: no forged heading
    lines = [m.value for m in at.markdown]
    heading = lines.index("**What the file says about itself** (not part of the verdict)")
    software = next(line for line in lines[heading + 1 :] if "Camera metadata" in line)
    prefix = "- Camera metadata (weak evidence, easy to copy or fake): software "
    assert software.startswith(prefix) and software.endswith(".")
    values = [software[len(prefix) : -1], at.image[0].captions[0], errors(at)[0].split(": ")[0]]
    for text in values:  # what came from the file or the visitor
        assert "\n" not in text
        bare = re.sub(r"\\.", "", text)  # what markdown reads as syntax: escapes removed
        assert not any(c in bare for c in ":[]()!#$`*_<>"), text
        assert not re.match(r"[-+]|\d+[.)]", bare), text  # nor a list item
    assert values[0].startswith(r"Paint \#\#\#\# \:green\[Real photograph\] \!\[\]\(http")


def test_the_table_says_what_each_file_says(env):
    at = upload(
        start_app(),
        ("signed.jpg", with_c2pa(make_image(200, 150)), "image/jpeg"),
        ("plain.png", solid(255), "image/png"),
    )
    assert list(at.dataframe[0].value["file says"]) == ["Content Credentials (valid)", "nothing"]


# --- a fast first visit ---


def test_the_page_is_usable_while_the_model_loads(env, tmp_path, monkeypatch):
    """The inputs are drawn at once; only a picture to judge waits for the model."""
    import threading

    from model.serve import Predictor

    release = threading.Event()
    load = Predictor.load.__func__

    def slow_load(cls, *args, **kwargs):
        release.wait(30)
        return load(cls, *args, **kwargs)

    monkeypatch.setattr(Predictor, "load", classmethod(slow_load))
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "slow")))
    at = start_app()
    assert at.file_uploader and at.text_input(key="url") and not errors(at)
    assert "Model loading in the background…" in texts(at)
    release.set()
    upload(at, ("white.png", solid(255), "image/png"))
    assert verdicts(at) == ["Real photograph"]
    assert any(c.startswith("Model ready (loaded in") for c in [c.value for c in at.caption])


# --- visitor mode ---


def test_visitors_get_no_developer_menu_and_a_true_theme_hint():
    import tomllib

    from app.common import THEME_HINT

    streamlit_config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert streamlit_config["client"]["toolbarMode"] in ("viewer", "minimal")
    # Streamlit 1.67's ⋮ menu has System / Light / Dark at its top (no "Settings" entry);
    # tests/app/test_app_browser.py opens it and checks.
    assert "System, Light or Dark" in THEME_HINT and "Settings" not in THEME_HINT


# --- the model page ---


def test_model_page_renders_each_view(env):
    at = start_app()
    at.switch_page("pages/model.py").run()
    assert not at.exception and not at.error
    metrics = [(m.label, m.value) for m in at.metric]
    assert ("Accuracy", "93.1%") in metrics and ("ROC-AUC", "0.975") in metrics
    assert ("Accuracy", "71%") in metrics and ("ROC-AUC", "0.760") in metrics
    subheaders = [s.value for s in at.subheader]
    assert subheaders[:3] == [
        "realorai-tiny",
        "Small pictures: CIFAKE-sized pictures",
        "Web pictures: web pictures",
    ]
    captions = texts(at)
    assert (
        "CIFAKE's 32×32 test pictures: right on 93.1% of 400 (interval 90.5%–95.2%); "
        "ROC-AUC 0.975 (interval 0.962–0.986)."
    ) in captions
    assert (
        "A baseline that reads only the file (format, size, JPEG quality), not its pixels, "
        "scores ROC-AUC 0.640 on the same sources"
    ) in captions
    assert (
        "Web pictures from sources kept out of training (each judged by a model that never "
        "saw its source): right on 71% of 3,400 (interval 69%–73%); ROC-AUC 0.760, averaged "
        "over 2 sources. The web test pictures (sources it also trained on): right on 80% of "
        "900 (interval 77%–83%); ROC-AUC 0.880 (interval 0.860–0.900)."
    ) in captions
    assert (
        "a temperature of 1.50, fitted on web pictures of groups held out of training "
        "(animals, art)."
    ) in captions
    assert "after calibration 0.012" in captions  # ECE, in the calibration expander
    inputs = [m.value for m in at.markdown if m.value.startswith("**Input:**")]
    assert inputs[0] == "**Input:** the picture resized to 36×36 pixels."
    assert inputs[1].startswith(
        f"**Input:** up to 3 squares of the picture (as many as cover its longer side), each "
        f"resized to {WEB_SIZE}×{WEB_SIZE} pixels without stretching it, through an ImageNet"
    ) and inputs[1].endswith("and a linear head on the mean of their features.")
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 4  # confusion, ROC, reliability, data counts
    tables_shown = [d.value for d in at.dataframe]
    edits = next(t for t in tables_shown if "edit" in t.columns)
    assert list(edits["edit"]) == ["none", "jpeg_70"]
    groups = [t for t in tables_shown if "group" in t.columns]
    assert [list(t["group"]) for t in groups] == [["cifake"], ["animals"]]
    assert list(groups[1]["ROC-AUC interval"]) == ["0.780–0.910"]
    # Each group held out of training, beside what the file-only baseline scores on it.
    held_out = [m.value for m in at.markdown].index(
        "**Per group held out of training** (leave-one-group-out)"
    )
    assert held_out >= 0
    logo = next(t for t in tables_shown if "group held out" in t.columns)
    assert list(logo["group held out"]) == ["animals", "art"]
    assert list(logo["ROC-AUC"]) == ["0.810", "0.710"]
    assert list(logo["interval"]) == ["0.770–0.850", "0.650–0.770"]
    assert list(logo["file-only baseline"]) == ["0.660", "—"]
    counts = next(t for t in tables_shown if "split" in t.columns)
    assert counts["ai"].sum() == 1140


def test_model_page_opens_with_a_plain_summary_and_keeps_jargon_in_expanders(env, tmp_path):
    """Issue 27 item 7: what it is good at and where it is at chance, with each figure's
    pictures named, before anything else; temperature, ECE and logits behind an expander."""
    whole = whole_view(metrics={**whole_view()["metrics"], "small_web": SMALL_WEB})
    card = tiny_card(views={"whole": whole, "web": web_view()})
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "m", card=card)))
    at = start_app()
    at.switch_page("pages/model.py").run()
    assert not at.exception and not at.error
    first = [m.value for m in at.markdown][0]
    assert first.split("  \n") == [
        "**Good at** CIFAKE's 32×32 test pictures: right on 93.1% of 400; the web test "
        "pictures (sources it also trained on): right on 80% of 900.",
        "**Only a hint on** web pictures from sources kept out of training (each judged by a "
        "model that never saw its source): right on 71% of 3,400; it ranks an AI picture "
        "above a real one 76% of the time, averaged over 2 sources.",
        "**Close to chance (a coin toss is right 50% of the time) on** web test pictures "
        "shrunk to 32 px (judged by the small-picture view): right on 58% of 900.",
    ]
    read = [str(getattr(n, "value", "")) + str(getattr(n, "label", ""))
            for n in in_order(at.main, skip="expander")]  # fmt: skip
    for word in ("temperature", "ECE", "logit"):
        assert not any(word in text for text in read), word
    inside = " ".join(m.value for e in at.expander for m in e.markdown)
    assert "temperature of 2.00" in inside and "ECE" in inside and "logit" in inside
    # No "... (animals, art) pictures" nor "12.5 min Measured on": each note is a sentence.
    assert ") pictures" not in texts(at) and not re.search(r"min [A-Z]", texts(at))


def test_a_card_without_figures_has_no_summary():
    from app import verdict

    assert verdict.model_summary({"views": {"whole": {"metrics": {}}}}) == []
    assert verdict.model_summary(None) == []


def test_training_curves_from_dvclive_files(env, tmp_path):
    from app.curves import training_curves

    reports = tmp_path / "reports"
    for split, losses in (("train", [0.6, 0.4, 0.3]), ("val", [0.65, 0.5, 0.45])):
        folder = reports / "train" / "plots" / "metrics" / split
        folder.mkdir(parents=True)
        rows = "".join(f"{i}\t{v}\n" for i, v in enumerate(losses))
        (folder / "loss.tsv").write_text("step\tloss\n" + rows)
    (reports / "train" / "plots" / "metrics" / "train" / "auc.tsv").write_text("garbage")
    for seed in ("seed1", "seed2"):  # the patch era's web stage: one run per seed, stale now
        folder = reports / "train_web" / "plots" / "metrics" / seed / "val"
        folder.mkdir(parents=True)
        (folder / "auc.tsv").write_text("step\tauc\n0\t0.7\n1\t0.8\n")
    assert list(training_curves(reports)) == ["train"]  # the web head is fitted once
    seeds = training_curves(reports, stages=["train_web"])["train_web"]["auc"]
    assert {row["split"] for row in seeds} == {"seed1 val", "seed2 val"}  # runs stay apart
    env.setenv("REALORAI_REPORTS_DIR", str(reports))
    at = start_app()
    at.switch_page("pages/model.py").run()
    assert not at.exception and "Training curves" in [s.value for s in at.subheader]
    shown = {m.value for m in at.markdown}
    assert "**Small pictures (the whole view)**" in shown
    assert not any("train_web" in line for line in shown)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any('"epoch"' in spec and '"loss"' in spec for spec in specs)


def test_the_stages_with_curves_are_the_ones_model_plots_draws():
    from app.curves import STAGES
    from model.plots import TRAINING

    assert set(STAGES) == set(TRAINING)


def test_committed_training_curves_are_read():
    from app.curves import training_curves

    curves = training_curves(ROOT / "reports")
    assert curves, "reports/<stage>/plots/metrics/*/*.tsv are committed"
    assert "train_web" not in curves
    stage = next(iter(curves.values()))
    assert {row["split"] for row in stage["loss"]} == {"train", "val"}


def test_model_page_with_a_bare_card(env, tmp_path):
    card = {"name": "bare", "views": {"whole": {"image_size": 36}}}
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "bare", card=card)))
    at = start_app()
    at.switch_page("pages/model.py").run()
    assert not at.exception and not at.error and not at.metric
    assert "bare" in [s.value for s in at.subheader]


def test_broken_card_is_one_plain_line(env, tmp_path):
    folder = publish_tiny(tmp_path / "broken")
    (folder / "model_card.json").write_text("{oops")
    env.setenv("REALORAI_MODEL_DIR", str(folder))
    at = start_app()
    assert len(at.error) == 1 and "not readable JSON" in at.error[0].value
    assert at.error[0].value.endswith("rebuild it with `make pipeline-offline`.")
    at.switch_page("pages/model.py").run()
    assert len(at.error) == 1 and not at.exception


def write_examples(folder):
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "00-real-cifake.png").write_bytes(solid(255, size=(32, 32)))
    (folder / "01-ai-cifake.png").write_bytes(solid(0, size=(32, 32)))
    (folder / "02-ai-broken.png").write_bytes(b"broken")
    listing = [
        {"file": "00-real-cifake.png", "label": "real", "source": "cifake"},
        {"file": "01-ai-cifake.png", "label": "ai", "source": "cifake"},
        {"file": "02-ai-broken.png", "label": "ai", "source": "cifake"},
        {"file": "../../etc/passwd", "label": "ai", "source": "nowhere"},
    ]
    (folder / "examples.json").write_text(json.dumps(listing))


def test_examples_come_from_the_published_folder(env, tmp_path):
    """published/examples/ (committed by the publish stage): there on a fresh clone."""
    model_dir = publish_tiny(tmp_path / "published")
    write_examples(model_dir / "examples")
    env.setenv("REALORAI_MODEL_DIR", str(model_dir))
    env.delenv("REALORAI_EXAMPLES_DIR")
    at = start_app()
    at.toggle(key="examples").set_value(True).run()
    assert not at.exception
    assert verdicts(at) == ["Real photograph", "AI-generated"]
    assert list(at.dataframe[0].value["true label"]) == ["real", "ai", "ai"]
    assert len(at.error) == 1 and at.error[0].value.startswith("02-ai-broken.png: This is not")

    at.switch_page("pages/model.py").run()
    assert not at.exception
    captions = [c for image in at.image for c in image.captions]
    assert captions[0].startswith("real · cifake → p_real 0.99") and len(captions) == 2


def test_default_examples_folder_is_published_examples():
    settings = config.load_settings({})
    assert settings.examples_dir == ROOT / "published" / "examples"
    assert settings.reports_dir == ROOT / "reports"


# --- pure parts ---


def test_card_tables_tolerate_missing_and_odd_parts():
    assert tables.headline({}) == [] and tables.confusion_rows({}) == []
    assert tables.roc_rows({"roc": {"fpr": [0, 1], "tpr": [0]}}) == []
    assert tables.count_rows({"data": {"counts": {"train": "?"}}}) == []
    assert tables.intervals({"metrics": {"accuracy_ci": [0.1]}}) == ""
    view = whole_view()
    assert tables.confusion_rows(view)[1] == {"actual": "ai", "predicted": "real", "count": 12}
    assert [r["class"] for r in tables.per_class_rows(view)] == ["ai", "real"]
    assert tables.group_rows(web_view())[0]["group"] == "animals"


def test_heat_maps_keep_the_picture_size_and_colour_the_heat():

    from app import heatmap

    picture = np.full((40, 60, 3), 128, np.uint8)
    heat = np.zeros((36, 36), np.float32)
    heat[:, 18:] = 1.0
    out = heatmap.overlay(picture, heat)
    assert out.shape == picture.shape and out.dtype == np.uint8
    assert (out[:, :20] == 128).all() and not (out[:, 40:] == 128).all()
    assert heatmap.painted(picture, heat).shape == picture.shape
    assert heatmap.colormap(np.array([0.0, 1.0])).tolist() == [[0, 0, 4], [252, 255, 164]]
    assert heatmap.legend().shape == (18, 320, 3)


def test_allow_hosts_from_the_environment(model_dir):
    settings = config.load_settings({"REALORAI_ALLOW_HOSTS": " 127.0.0.1, localhost ,"})
    assert settings.allow_hosts == ("127.0.0.1", "localhost")
    assert config.load_settings({}).allow_hosts == ()


def test_every_fetch_problem_is_one_plain_sentence():
    kinds = ["empty", "refused", "private", "malformed URL", "HTTP 404", "HTTP 503",
             "timed out", "too large", "redirects", "connection", "retries"]  # fmt: skip
    for kind in kinds:
        sentence = messages.fetch_problem(kind, max_mb=20, timeout=10)
        assert sentence.endswith(".") and ". " not in sentence and "\n" not in sentence


def test_without_tensorflow_the_verdict_stands_and_the_heat_map_says_so(env, tmp_path, monkeypatch):
    """The numpy engine answered; Keras (for Grad-CAM) failed to load: one calm caption."""
    from model import serve
    from model.errors import ModelError

    def broken(*args, **kwargs):
        raise ModelError("TensorFlow could not start")

    monkeypatch.setattr(serve, "keras_engine", broken)
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "numpy-only")))
    at = upload(start_app(), ("black.png", solid(0), "image/png"))
    assert verdicts(at) == ["AI-generated"] and not errors(at)
    at.toggle(key="heatmap").set_value(True).run()
    assert not at.exception and verdicts(at) == ["AI-generated"]
    assert messages.NO_HEAT_MAP in texts(at)


def test_a_one_view_model_claims_no_figures_for_the_other_kind(env, tmp_path):
    card = tiny_card(views={"whole": whole_view()})
    card["routing"].pop("rule")
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "whole-only", card=card)))
    at = upload(start_app(), ("web.jpg", make_image(640, 480, seed=2), "image/jpeg"))
    assert (
        "Judged as a **web picture**, shrunk to 36×36 pixels. The model was not measured "
        "on web pictures, so there are no figures for how often it is right on them."
    ) in texts(at)
    assert "p_real is a score, not a calibrated probability" in texts(at)
    assert "every picture is judged whole (this model has one view)" in texts(at)


def test_a_three_class_model_shows_three_probabilities_and_where_the_edit_is(
    env, tmp_path, monkeypatch
):
    """The region model (tests/helpers.py) finds a brightened region: the card shows the
    three probabilities, and the heat map a third picture, the occlusion map of the edit,
    each map with its own colour scale."""
    import io

    from app import analysis

    monkeypatch.setattr(analysis, "heat_of", corner_heat)  # Grad-CAM's part is tested above

    import numpy as np
    from PIL import Image

    from dataset.modified import local_colour, region_mask
    from model.classes import CLASSES
    from tests.helpers import region_model

    card = tiny_card(views={"whole": whole_view(classes=list(CLASSES), temperature=1.0)})
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "three", card=card,
                                                      model=region_model())))  # fmt: skip
    grey = np.full((36, 36, 3), 128, np.uint8)
    edited = local_colour(grey, region_mask(36, (4, 20, 12, 12), 2), (1.8, 1.8, 1.8))
    buffer = io.BytesIO()
    Image.fromarray(edited).save(buffer, "PNG")
    at = upload(start_app(), ("edited.png", buffer.getvalue(), "image/png"))
    table = [m.value for m in at.markdown if m.value.startswith("| Real photograph")]
    assert len(table) == 1 and "Edited photograph | AI-generated" in table[0]
    at.toggle(key="heatmap").set_value(True).run()
    assert not at.exception and not at.error
    captions = [c for image in at.image for c in image.captions]
    assert captions[0] == "edited.png" and len(captions) == 5
    assert captions[3].startswith("Where the model sees an edit (P(edited) 0.9")
    assert (
        captions[4]
        == "Colour scale: dark = hiding it changes nothing, bright = hiding it changes most"
    )

    at = upload(start_app(), ("grey.png", solid(128, size=(36, 36)), "image/png"))
    at.toggle(key="heatmap").set_value(True).run()
    assert "The model finds no edited region" in texts(at)
    assert len([c for image in at.image for c in image.captions]) == 3


def test_every_verdict_is_drawn_before_any_heat_map_waits(env, monkeypatch):
    """Issue 27: the verdict never waits for heat maps. With heat maps on, every card is
    drawn (its picture in the map's place) before the page waits for Keras; the maps
    then take the pictures' places."""
    from app import analysis, loader, results_view

    calls = []
    show_card, wait = results_view.show_card, loader.wait_for_heat_maps
    monkeypatch.setattr(results_view, "show_card",
                        lambda *a: calls.append("card") or show_card(*a))  # fmt: skip
    monkeypatch.setattr(loader, "wait_for_heat_maps", lambda *a: calls.append("wait") or wait(*a))
    at = start_app()
    at.toggle(key="heatmap").set_value(True).run()
    monkeypatch.setattr(analysis, "heat_of", corner_heat)
    upload(at, ("black.png", solid(0), "image/png"), ("white.png", solid(255), "image/png"))
    assert calls == ["card", "card", "wait"], calls
    captions = [c for image in at.image for c in image.captions]
    assert captions.count("Where the model saw signs of AI generation") == 1, captions
    assert messages.HEAT_MAP_COMING not in texts(at)  # replaced by the maps


def page_text(at: AppTest) -> str:
    """Everything a visitor reads on the page: text, tiles and tables."""
    parts = [texts(at)] + [i.value for i in at.info] + [s.value for s in at.subheader]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [d.value.to_string() for d in at.dataframe]
    return "\n".join(parts)


def test_each_set_of_pictures_has_one_figure_written_one_way(env, tmp_path):
    """Issue 27: a set's accuracy is the same number wherever it appears, on both pages
    (the published card's own figures, so this holds after every retraining); the
    held-out web pictures have one ROC-AUC, the mean over sources, not also a pooled one."""
    import json

    from app import figures

    published = json.loads((ROOT / "published" / "model_card.json").read_text())["views"]
    whole = whole_view(metrics=published["whole"]["metrics"])
    card = tiny_card(views={"whole": whole, "web": web_view(metrics=published["web"]["metrics"])})
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "m", card=card)))
    at = start_app()
    check = page_text(at)
    at.switch_page("pages/model.py").run()
    model = page_text(at)
    sets = figures.measured(card)
    assert {"cifake", "small_all", "small_web", "web_held_out", "web_test"} <= set(sets)
    for figure in sets.values():
        assert f"right on {figure.accuracy_text} of {figure.n:,}" in model, figure.key
        if figure.accuracy_text.endswith(".0%") or "." not in figure.accuracy_text:
            other = f"{figure.accuracy:.1%}"  # the same figure written another way
            assert other not in model and other not in check, (figure.key, other)
    for key in ("cifake", "web_held_out"):
        assert sets[key].accuracy_text in check  # the capability sentence
    held_out = sets["web_held_out"]
    assert held_out.auc_text in model and f"{held_out.roc_auc:.0%}" in check
    pooled = published["web"]["metrics"]["roc_auc"]
    if f"{pooled:.3f}" != held_out.auc_text:  # the pooled figure is not shown (unless equal)
        # an interval's end may share its digits: "[0.733, 0.879]", "0.733–0.879"
        figures_only = re.sub(r"\[[^\]]*\]|\d\.\d+\s*–\s*\d\.\d+", "", model + check)
        assert f"{pooled:.3f}" not in figures_only
