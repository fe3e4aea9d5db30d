"""C2PA Content Credentials in a picture's bytes, read with c2pa-python: the manifest
store as JSON, or None when there is none. Untrusted bytes: the native reader runs in a
thread given `timeout` seconds (a hostile file cannot hang the caller), offline (no
certificate-status or remote-manifest fetches), and only when the bytes carry the
markers a manifest store needs."""

from __future__ import annotations

import io
import json
import threading

C2PA_TIMEOUT_S = 5.0
MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
        "TIFF": "image/tiff", "BMP": "image/bmp"}  # fmt: skip


def manifest_store(data: bytes, fmt: str | None, timeout: float = C2PA_TIMEOUT_S) -> dict | None:
    """The manifest store of these bytes (format `fmt`, as sniffed), or None.

    Raises TimeoutError, or the reader's error, with a one-line message."""
    # A manifest store is a JUMBF box labelled c2pa: without both markers there is none,
    # and the native reader is not started at all.
    if fmt not in MIME or b"jumb" not in data or b"c2pa" not in data:
        return None
    outcome: dict = {}

    def read():
        try:
            outcome["store"] = _read_store(data, MIME[fmt])
        except Exception as e:  # noqa: BLE001 - reported below
            outcome["error"] = e

    worker = threading.Thread(target=read, daemon=True, name="c2pa-read")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"reading the Content Credentials took over {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("store")


def _read_store(data: bytes, mime: str) -> dict | None:
    import c2pa

    context = c2pa.Context.from_dict(
        {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
    )
    reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, context)
    if reader is None:
        return None
    with reader:
        return json.loads(reader.json())
