"""The upload limit is one number: params.yaml app.max_upload_mb, in megabytes of
1,000,000 bytes as the browser counts them (Streamlit 1.67's uploader refuses a file over
max_upload_size * 1000**2 bytes and says "File must be 20.0MB or smaller"). The decoder's
byte cap and every sentence shown use it; the widget and the server let files up to a
bounded cap above it through, so that the app counts and refuses them itself."""

from __future__ import annotations

import struct
import tomllib
import zlib

import pytest
from streamlit.testing.v1 import AppTest

from app import config, messages
from dataset.imaging import ImageError, decode_image
from settings import params
from tests.helpers import ROOT, solid

MAIN = str(ROOT / "app" / "main.py")
REPORTED = 20_823_884  # the upload the browser refused while the page said "up to 20 MB"


def padded_png(size: int) -> bytes:
    """A valid 50x40 PNG of exactly `size` bytes (a private ancillary chunk of zeros)."""
    png = solid(255)
    end = png.rindex(b"IEND") - 4
    filler = b"prVt" + bytes(size - len(png) - 12)
    chunk = struct.pack(">I", len(filler) - 4) + filler + struct.pack(">I", zlib.crc32(filler))
    return png[:end] + chunk + png[end:]


def test_the_limit_is_counted_as_the_browser_counts_it():
    limit = params.load("app", ROOT / "params.yaml").max_upload_mb
    settings = config.load_settings(env={})
    assert settings.max_bytes == round(limit * 1000**2)  # 20 MB: 20,000,000 bytes
    assert settings.max_mb == limit and settings.widget_mb == limit
    assert settings.max_bytes < REPORTED  # refused by the browser: so by the app too


def test_the_server_accepts_every_upload_the_widget_allows():
    """The widget's cap is above the limit (a file over it reaches the app, which counts
    and refuses it) and bounded; the server takes it, for any limit params allows."""
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    settings = config.load_settings(env={})
    assert settings.widget_mb < settings.cap_mb <= 200  # bounded: Streamlit holds the bytes
    assert server["maxUploadSize"] * 1024**2 >= settings.cap_mb * 1000**2  # MiB there
    most = params.App.__dataclass_fields__["max_upload_mb"].metadata["max"]
    assert server["maxUploadSize"] * 1024**2 >= most * 1000**2
    assert config.Settings(**{**vars(settings), "max_bytes": int(most * config.MB)}).cap_mb == most


def test_a_file_of_exactly_the_limit_is_decoded_one_byte_more_is_refused():
    settings = config.load_settings(env={})
    picture = decode_image(padded_png(settings.max_bytes), max_bytes=settings.max_bytes)
    assert picture.shape[:2] == (40, 50)
    with pytest.raises(ImageError, match="file too large"):
        decode_image(padded_png(settings.max_bytes + 1), max_bytes=settings.max_bytes)


def test_the_page_states_the_limit_the_browser_and_the_app_apply(env):
    settings = config.load_settings(env={})
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    uploader = at.file_uploader(key="uploads")
    assert f"up to {settings.max_mb:g} MB each" in uploader.label
    assert uploader.proto.max_upload_size_mb == settings.cap_mb  # what the browser checks
    at.file_uploader(key="uploads").set_value(
        [
            ("under.png", padded_png(settings.max_bytes), "image/png"),
            ("over.png", padded_png(settings.max_bytes + 1), "image/png"),
        ]
    )
    at.run()
    assert not at.exception, at.exception
    too_large = messages.picture_problem("file too large", max_mb=settings.max_mb)
    assert f"larger than {settings.max_mb:g} MB" in too_large
    assert [e.value for e in at.error] == [f"over.png: {too_large}"]
    assert "under.png" in [c for image in at.image for c in image.captions]
    # Both files listed are counted: the refused one among those not checked.
    assert [s.value for s in at.subheader] == ["2 pictures"]
    assert "1 could not be checked." in [c.value for c in at.caption][0]


@pytest.mark.parametrize(
    ("key", "value"),
    [("url_timeout_s", "1.0e+10"), ("url_timeout_s", "301"), ("max_upload_mb", "1.0e+9")],
)
def test_an_absurd_timeout_or_upload_limit_is_one_line_naming_the_key(
    tmp_path, monkeypatch, key, value
):
    """app.url_timeout_s: 1.0e+10 was accepted and then crashed the fetch (OverflowError
    from settimeout)."""
    from settings.checks import ParamsError

    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(f"app:\n  {key}: {value}\n")
    monkeypatch.setenv("PARAMS_OVERLAY", str(overlay))
    with pytest.raises(ParamsError, match=rf"app\.{key} must be at most [\d.]+, got ") as caught:
        config.load_settings(env={})
    assert "\n" not in str(caught.value)
