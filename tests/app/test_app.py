"""The Streamlit app through AppTest: uploads, URLs, the batch table, the heat map, bad input.

URLs are served by a local http.server on 127.0.0.1, allowed through
REALORAI_ALLOW_HOSTS; the guard itself (scraper/http.py) is exercised, not mocked.
"""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import logic
from tests.helpers import ROOT, make_image, publish_tiny, solid, tiny_card

MAIN = str(ROOT / "app" / "main.py")
HTML = b"<!DOCTYPE html><html><head><title>Not found</title></head><body>nope</body></html>"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return publish_tiny(tmp_path_factory.mktemp("published"))


@pytest.fixture
def env(model_dir, tmp_path, monkeypatch):
    """The app pointed at the tiny model, no examples, no hosts allowed."""
    monkeypatch.setenv("REALORAI_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("REALORAI_EXAMPLES_DIR", str(tmp_path / "no-examples"))
    monkeypatch.delenv("REALORAI_ALLOW_HOSTS", raising=False)
    monkeypatch.delenv("PARAMS_OVERLAY", raising=False)
    return monkeypatch


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

    at.switch_page("page_model.py").run()
    assert not at.exception and len(at.error) == 1 and "make pipeline-offline" in at.error[0].value


# --- uploads ---


def test_one_upload_gets_verdict_score_bar_time_and_meaning(env):
    at = upload(start_app(), ("white.png", solid(255), "image/png"))
    assert verdicts(at) == ["Real photograph"]
    bars = [p for p in at.progress if p.text.startswith("p_real = ")]
    assert len(bars) == 1 and bars[0].value >= 90
    captions = " ".join(c.value for c in at.caption)
    assert "ms" in captions and "36×36" in captions and "cannot tell" in captions
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
        "Uncertain — possibly edited or a blend",
        "Real photograph",
        verdicts(at)[4],  # a random picture: whatever it is
        "AI-generated",
    ]
    table = at.dataframe[0].value
    assert list(table["picture"]) == [name for name, _, _ in files]
    assert table["p_real"].between(0, 1).all() and (table["milliseconds"] > 0).all()
    assert at.download_button[0].label == "Download CSV"
    assert any(p.text.startswith("Analysed 6 picture(s)") for p in at.progress)

    # The CSV offered is the table: header, one row per picture.
    results = [at.session_state["analysed"][k] for k in at.session_state["analysed"]]
    lines = logic.results_csv(results).decode().splitlines()
    assert lines[0] == "picture,verdict,p_real,milliseconds,error" and len(lines) == 7

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
    assert lines[0].startswith("fake.jpg: ") and "HTML" in lines[0]
    assert lines[1].startswith("cut.jpg: ") and "corrupt or truncated" in lines[1]
    assert lines[2].startswith("empty.png: ")
    assert verdicts(at) == ["Real photograph"]
    assert list(at.dataframe[0].value["verdict"]) == ["error", "error", "Real photograph", "error"]
    still_works(at)


def test_oversized_upload_is_refused_before_reading(env, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("app:\n  max_upload_mb: 0.01\n")
    env.setenv("PARAMS_OVERLAY", str(overlay))
    at = upload(start_app(), ("big.png", make_image(300, 300, fmt="PNG"), "image/png"))
    assert len(at.error) == 1 and "big.png: file too large" in at.error[0].value


def test_heat_map_toggle(env):
    at = upload(start_app(), ("black.png", solid(0), "image/png"))
    plain = at.image[0].value
    at.toggle(key="heatmap").set_value(True).run()
    assert not at.exception
    assert "Grad-CAM" in at.image[0].captions[0] and at.image[0].value != plain
    at.toggle(key="heatmap").set_value(False).run()
    assert at.image[0].captions == ["black.png"]


# --- URLs ---


@needs_http
def test_url_allowed_host_gets_a_verdict(env, server):
    base, _ = server
    env.setenv("REALORAI_ALLOW_HOSTS", "127.0.0.1")
    at = check_url(start_app(), f"{base}/white.png")
    assert verdicts(at) == ["Real photograph"] and not errors(at)
    # The server says text/html; the bytes are a JPEG, and the bytes decide.
    at = check_url(at, f"{base}/black")
    assert verdicts(at) == ["AI-generated"] and not errors(at)
    # Other clicks reuse the fetched bytes (the server is not asked again).
    at.toggle(key="heatmap").set_value(True).run()
    assert verdicts(at) == ["AI-generated"] and "Grad-CAM" in at.image[0].captions[0]


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
        (f"http://localhost:{port}/page.jpg", "HTML"),  # an HTML page called .jpg
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


# --- the model page ---


def test_model_page_renders_the_card(env):
    at = start_app()
    at.switch_page("page_model.py").run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accuracy"] == "93.1%" and metrics["ROC-AUC"] == "0.975"
    assert metrics["ECE after calibration"] == "0.012"
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 4  # confusion, ROC, reliability, data counts
    tables = [d.value for d in at.dataframe]
    edits = next(t for t in tables if "edit" in t.columns)
    assert list(edits["edit"]) == ["none", "jpeg_70"]
    counts = next(t for t in tables if "split" in t.columns)
    assert counts["ai"].sum() == 1140
    assert "realorai-tiny" in [s.value for s in at.subheader]


def test_model_page_with_a_bare_card(env, tmp_path):
    card = {"name": "bare", "image_size": 36}
    env.setenv("REALORAI_MODEL_DIR", str(publish_tiny(tmp_path / "bare", card=card)))
    at = start_app()
    at.switch_page("page_model.py").run()
    assert not at.exception and not at.error and not at.metric
    assert "bare" in [s.value for s in at.subheader]


def test_broken_card_is_one_line(env, tmp_path):
    folder = publish_tiny(tmp_path / "broken")
    (folder / "model_card.json").write_text("{oops")
    env.setenv("REALORAI_MODEL_DIR", str(folder))
    at = start_app()
    assert len(at.error) == 1 and "not readable JSON" in at.error[0].value
    at.switch_page("page_model.py").run()
    assert len(at.error) == 1 and not at.exception


def test_examples_show_when_present(env, tmp_path):
    import json

    folder = tmp_path / "examples"
    folder.mkdir()
    (folder / "00-real-cifake.png").write_bytes(solid(255, size=(36, 36)))
    (folder / "01-ai-cifake.png").write_bytes(solid(0, size=(36, 36)))
    (folder / "02-ai-broken.png").write_bytes(b"broken")
    listing = [
        {"file": "00-real-cifake.png", "label": "real", "source": "cifake"},
        {"file": "01-ai-cifake.png", "label": "ai", "source": "cifake"},
        {"file": "02-ai-broken.png", "label": "ai", "source": "cifake"},
        {"file": "../../etc/passwd", "label": "ai", "source": "nowhere"},
    ]
    (folder / "examples.json").write_text(json.dumps(listing))
    env.setenv("REALORAI_EXAMPLES_DIR", str(folder))
    at = start_app()
    at.toggle(key="examples").set_value(True).run()
    assert not at.exception
    assert verdicts(at) == ["Real photograph", "AI-generated"]
    assert list(at.dataframe[0].value["true label"]) == ["real", "ai", "ai"]
    assert len(at.error) == 1 and at.error[0].value.startswith("02-ai-broken.png")

    at.switch_page("page_model.py").run()
    assert not at.exception
    captions = [c for image in at.image for c in image.captions]
    assert captions[0].startswith("real · cifake → p_real 0.99") and len(captions) == 2


# --- pure logic ---


def test_card_tables_tolerate_missing_and_odd_parts():
    assert logic.headline({}) == [] and logic.confusion_rows({}) == []
    assert logic.roc_rows({"roc": {"fpr": [0, 1], "tpr": [0]}}) == []
    assert logic.count_rows({"data": {"counts": {"train": "?"}}}) == []
    card = tiny_card()
    assert logic.confusion_rows(card)[1] == {"actual": "ai", "predicted": "real", "count": 12}
    assert [r["class"] for r in logic.per_class_rows(card)] == ["ai", "real"]


def test_overlay_keeps_the_picture_size_and_colours_the_heat():
    import numpy as np

    picture = np.full((40, 60, 3), 128, np.uint8)
    heat = np.zeros((36, 36), np.float32)
    heat[:, 18:] = 1.0
    out = logic.overlay(picture, heat)
    assert out.shape == picture.shape and out.dtype == np.uint8
    assert (out[:, :20] == 128).all() and not (out[:, 40:] == 128).all()
    assert logic.colormap(np.array([0.0, 1.0])).tolist() == [[0, 0, 4], [252, 255, 164]]


def test_allow_hosts_from_the_environment(model_dir):
    settings = logic.load_settings({"REALORAI_ALLOW_HOSTS": " 127.0.0.1, localhost ,"})
    assert settings.allow_hosts == ("127.0.0.1", "localhost")
    assert logic.load_settings({}).allow_hosts == ()
