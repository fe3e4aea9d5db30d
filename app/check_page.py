"""The "Check pictures" page: uploads, an image URL, the examples; a verdict for each.

The inputs are drawn before the model is ready (it loads in the background, see
app/loader.py); only the first picture to judge waits for it.
"""

from __future__ import annotations

import time

import streamlit as st

from app import (
    analysis,
    common,
    config,
    memory,
    messages,
    refused_uploads,
    results_view,
    upload_sweeper,
    verdict,
)  # fmt: skip
from app.fetch import FetchError, fetch_url, plain_url, url_name
from model import published
from model.errors import ModelError


def draw() -> None:
    st.title("Real or AI-generated?")
    settings = common.load_settings()
    if settings is None:
        return
    loader = common.start_model(settings)
    upload_sweeper.start()  # once per server: uploads of closed sessions are dropped
    card = _card(settings)
    status = common.sidebar(settings, card, loader)
    if loader is None:
        return
    capability = verdict.capability_sentence(card)
    if capability:
        st.info(capability)
    st.write(
        "Upload pictures or give an image URL. Each one gets **p_real**, the model's "
        "answer from 0 (AI-generated) to 1 (real photograph), and, apart from it, what the "
        "file itself says about where it came from."
    )
    uploads = st.file_uploader(
        f"Pictures (JPEG, PNG, WebP, GIF, BMP, TIFF; up to {settings.max_mb:g} MB each)",
        type=config.UPLOAD_TYPES,
        accept_multiple_files=True,
        # the browser's check, above max_mb: a file over max_mb reaches the app, which
        # lists it among the pictures and refuses it in one sentence (upload_items)
        max_upload_size=settings.cap_mb,
        key="uploads",
    )
    # A file the browser refuses (over the cap, or not a picture type) never reaches the
    # app: one sentence for it all the same.
    st.html(
        refused_uploads.html(
            messages.NOT_UPLOADED_TOO_LARGE.format(
                cap_mb=f"{settings.cap_mb:g}", max_mb=f"{settings.max_mb:g}"
            ),
            messages.NOT_UPLOADED.format(max_mb=f"{settings.max_mb:g}"),
        ),
        unsafe_allow_javascript=True,
    )
    url_form(settings)
    examples = analysis.load_examples(settings.examples_dir)
    with_examples = examples and st.toggle(
        f"Add the {len(examples)} example pictures (from the test set; true label known)",
        key="examples",
    )
    show_heat = st.toggle(
        "Heat maps",
        key="heatmap",
        help="Beside each picture, a map of where the model saw the signs for its answer.",
    )
    items = (
        upload_items(uploads or [], settings)
        + url_items()
        + example_items(examples if with_examples else [])
    )
    if not items:
        return
    from app.loader import wait_for_model

    predictor = wait_for_model(loader)
    common.show_status(status, loader)
    if predictor is None:
        return
    results = analyse_all(predictor, items, settings)
    # Verdicts first, every one of them; the heat maps (Grad-CAM needs Keras, which may
    # still be loading) fill in their pictures' places after.
    pending = results_view.show(predictor, results, show_heat)
    if pending:
        from app.loader import wait_for_heat_maps

        predictor = wait_for_heat_maps(loader) or predictor
        results_view.fill_heat_maps(predictor, pending)
    loader.want_full()  # the verdicts are on the page: now TensorFlow may load


def _card(settings) -> dict | None:
    try:
        return published.read_card(settings.model_dir)
    except ModelError:
        return None


def url_form(settings) -> None:
    with st.form("url_form", border=False):
        st.text_input("…or an image URL", key="url", placeholder="https://example.com/picture.jpg")
        submitted = st.form_submit_button("Check URL")
    if submitted:
        url = st.session_state.get("url", "").strip()
        if url:
            fetch_into_state(url, settings)
        else:  # an empty submit clears the URL's picture
            st.session_state.pop("url_fetch", None)
    fetched = st.session_state.get("url_fetch")
    if fetched and fetched["error"]:
        # The refused address is shown as text (inline code), never as a link to click.
        st.error(f"{plain_url(fetched['url'])}: {fetched['error']}")


def fetch_into_state(url: str, settings) -> None:
    """Fetch once per click; the bytes stay only until analysed (see analyse_all)."""
    count = st.session_state.get("url_count", 0) + 1
    st.session_state["url_count"] = count
    outcome = {"url": url, "key": f"url:{count}", "data": None, "error": None}
    with st.spinner("Fetching…"):
        try:
            outcome["data"] = fetch_url(
                url,
                allow_hosts=settings.allow_hosts,
                max_bytes=settings.max_bytes,
                timeout=settings.url_timeout_s,
            )
        except FetchError as e:
            outcome["error"] = str(e)
    st.session_state["url_fetch"] = outcome


def upload_items(uploads, settings) -> list[dict]:
    items = []
    for f in uploads:
        key = f"upload:{getattr(f, 'file_id', '')}:{f.name}:{f.size}"
        item = {"key": key, "name": f.name, "source": "upload"}
        if f.size > settings.max_bytes:  # refused before reading it
            item["error"] = messages.picture_problem("file too large", max_mb=settings.max_mb)
        else:
            item["read"] = f.getvalue
        items.append(item)
    return items


def url_items() -> list[dict]:
    fetched = st.session_state.get("url_fetch")
    if not fetched or fetched["error"]:
        return []
    data = fetched["data"]  # None once analysed: reruns reuse the result, not the bytes
    name = url_name(fetched["url"])
    return [{"key": fetched["key"], "name": name, "source": "url", "read": lambda: _read(data)}]


def _read(data: bytes | None) -> bytes:
    if data is None:  # only if the result was dropped meanwhile: fetch again
        raise OSError("the fetched bytes are gone")
    return data


def example_items(examples) -> list[dict]:
    return [
        {
            "key": f"example:{e['path']}",
            "name": e["path"].name,
            "source": "example",
            "true_label": e["label"],
            "read": e["path"].read_bytes,
        }
        for e in examples
    ]


def analyse_all(predictor, items: list[dict], settings) -> list[analysis.Result]:
    """Results in item order; only new pictures are analysed (with a progress bar)."""
    done = st.session_state.setdefault("analysed", {})
    new = [item for item in items if item["key"] not in done]
    if new:
        bar = st.progress(0.0, text=f"Analysing {len(new)} picture(s)…")
        start = time.perf_counter()
        for k, item in enumerate(new, 1):
            done[item["key"]] = analyse_item(predictor, item, settings)
            bar.progress(k / len(new), text=f"Analysed {k} of {len(new)}")
        seconds = time.perf_counter() - start
        bar.progress(1.0, text=f"Analysed {len(new)} picture(s) in {seconds:.2f} s")
    keep = {item["key"] for item in items}
    for key in [k for k in done if k not in keep]:  # forget removed uploads
        del done[key]
    forget_fetched_bytes()
    if new:
        memory.release()  # the decoding buffers of these pictures, back to the system
    return [done[item["key"]] for item in items]


def forget_fetched_bytes() -> None:
    """A session keeps each picture's small result (verdict, display copy), not its bytes:
    the uploads' bytes are Streamlit's (while listed in the uploader), a URL's are dropped
    here once analysed."""
    fetched = st.session_state.get("url_fetch")
    if fetched and fetched["key"] in st.session_state.get("analysed", {}):
        fetched["data"] = None


def analyse_item(predictor, item: dict, settings) -> analysis.Result:
    extra = {"source": item["source"], "true_label": item.get("true_label")}
    if "error" in item:
        return analysis.refused(item["name"], item["error"], **extra)
    try:
        data = item["read"]()
    except OSError:
        return analysis.refused(
            item["name"], "This file could not be read; choose it again.", **extra
        )
    result = analysis.analyse(predictor, item["name"], data, max_bytes=settings.max_bytes, **extra)
    result.shown = verdict.shown_verdict(result.prediction, predictor.card, item["source"])
    return result
