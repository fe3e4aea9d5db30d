"""The app's pages, drawn with Streamlit; the computing is in app/logic.py.

Every bad picture or URL becomes one `st.error` line and the page goes on.
"""

from __future__ import annotations

import time

import streamlit as st

from app import logic

MAX_CARDS = 24  # pictures shown in full; the table and CSV always have every one
TABLE_FROM = 2  # a results table (and CSV) once there are this many pictures


# --- shared ---


@st.cache_resource(max_entries=2, show_spinner="Loading the model…")
def get_predictor(model_dir: str, uncertain_band: float, stamp: tuple):
    """One Predictor per process (per published version: `stamp` changes on republish).

    Errors are not cached, so once the model is built the next rerun loads it.
    """
    from model.serve import Predictor

    predictor = Predictor.load(model_dir, uncertain_band=uncertain_band)
    predictor.warm_up(gradcam=True)  # the heat-map toggle answers at once too
    return predictor


def load_settings():
    from settings.params import ParamsError

    try:
        return logic.load_settings()
    except ParamsError as e:
        st.error(f"Settings problem: {e}")
        return None


def model_missing(settings) -> bool:
    folder = settings.model_dir
    return not ((folder / "model.keras").is_file() and (folder / "model_card.json").is_file())


def load_predictor(settings, *, quiet: bool = False):
    """The cached Predictor, or None after one st.error line saying what to do."""
    from model.errors import ModelError

    if model_missing(settings):
        if not quiet:
            st.error(logic.NO_MODEL.format(folder=settings.model_dir))
        return None
    try:
        return get_predictor(
            str(settings.model_dir), settings.uncertain_band, logic.model_stamp(settings.model_dir)
        )
    except ModelError as e:
        if not quiet:
            st.error(f"The model cannot be loaded: {e}")
        return None


def sidebar(settings, predictor) -> None:
    with st.sidebar:
        st.caption(
            "A small convolutional network that tells AI-generated pictures from real "
            "photographs. Light or dark: ⋮ menu → Settings → Theme."
        )
        if predictor is not None:
            card = predictor.card
            low = predictor.threshold - predictor.band / 2
            high = predictor.threshold + predictor.band / 2
            st.caption(
                f"Model **{card.get('name', 'unnamed')}**, {predictor.size}×{predictor.size} "
                f"pixels in. Uncertain between p_real {low:.2f} and {high:.2f}."
            )


# --- check pictures ---


def check_page() -> None:
    st.title("Real or AI-generated?")
    settings = load_settings()
    if settings is None:
        return
    predictor = load_predictor(settings)
    sidebar(settings, predictor)
    if predictor is None:
        return
    st.write(
        "Upload pictures or give an image URL. Each one gets **p_real**, the model's "
        "probability that it is a real photograph (1) rather than AI-generated (0)."
    )
    uploads = st.file_uploader(
        f"Pictures (JPEG, PNG, WebP, GIF, BMP, TIFF; up to {settings.max_mb:g} MB each)",
        type=logic.UPLOAD_TYPES,
        accept_multiple_files=True,
        key="uploads",
    )
    url_form(settings)
    examples = logic.load_examples(settings.examples_dir)
    with_examples = examples and st.toggle(
        f"Add the {len(examples)} example pictures (test set; true label known)", key="examples"
    )
    show_heat = st.toggle(
        "Grad-CAM heat map",
        key="heatmap",
        help="Colours the parts of the picture that pushed the model towards its answer.",
    )
    items = (
        upload_items(uploads or [], settings)
        + url_items()
        + example_items(examples if with_examples else [])
    )
    results = analyse_all(predictor, items, settings)
    show_results(predictor, results, show_heat)


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
        st.error(f"{fetched['url'][:200]}: {fetched['error']}")


def fetch_into_state(url: str, settings) -> None:
    """Fetch once per click; reruns (e.g. the heat-map toggle) reuse the bytes."""
    count = st.session_state.get("url_count", 0) + 1
    st.session_state["url_count"] = count
    outcome = {"url": url, "key": f"url:{count}", "data": None, "error": None}
    with st.spinner("Fetching…"):
        try:
            outcome["data"] = logic.fetch_url(
                url,
                allow_hosts=settings.allow_hosts,
                max_bytes=settings.max_bytes,
                timeout=settings.url_timeout_s,
            )
        except logic.FetchError as e:
            outcome["error"] = str(e)
    st.session_state["url_fetch"] = outcome


def upload_items(uploads, settings) -> list[dict]:
    items = []
    for f in uploads:
        key = f"upload:{getattr(f, 'file_id', '')}:{f.name}:{f.size}"
        item = {"key": key, "name": f.name, "source": "upload"}
        if f.size > settings.max_bytes:  # refused before reading it
            item["error"] = f"file too large ({f.size / logic.MB:.1f} MB > {settings.max_mb:g} MB)"
        else:
            item["read"] = f.getvalue
        items.append(item)
    return items


def url_items() -> list[dict]:
    fetched = st.session_state.get("url_fetch")
    if not fetched or fetched["data"] is None:
        return []
    data = fetched["data"]
    name = logic.url_name(fetched["url"])
    return [{"key": fetched["key"], "name": name, "source": "url", "read": lambda: data}]


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


def analyse_all(predictor, items: list[dict], settings) -> list[logic.Result]:
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
    return [done[item["key"]] for item in items]


def analyse_item(predictor, item: dict, settings) -> logic.Result:
    extra = {"source": item["source"], "true_label": item.get("true_label")}
    if "error" in item:
        return logic.Result(item["name"], error=item["error"], **extra)
    try:
        data = item["read"]()
    except OSError as e:
        return logic.Result(item["name"], error=f"cannot read ({e.strerror})", **extra)
    return logic.analyse(predictor, item["name"], data, max_bytes=settings.max_bytes, **extra)


def show_results(predictor, results: list[logic.Result], show_heat: bool) -> None:
    if not results:
        return
    if len(results) >= TABLE_FROM:
        show_table(results)
    shown = 0
    for result in results:
        if not result.ok:
            st.error(f"{result.name}: {result.error}")
        elif shown < MAX_CARDS:
            show_card(predictor, result, show_heat)
            shown += 1
    hidden = sum(r.ok for r in results) - shown
    if hidden:
        st.caption(f"{hidden} more picture(s) are in the table and the CSV.")


def show_table(results: list[logic.Result]) -> None:
    rows = logic.results_rows(results)
    ok = [r for r in results if r.ok]
    real = sum(r.prediction.verdict == "real" for r in ok)
    ai = sum(r.prediction.verdict == "ai" for r in ok)
    st.subheader(f"{len(results)} pictures")
    st.caption(
        f"{real} real, {ai} AI-generated, {len(ok) - real - ai} uncertain, "
        f"{len(results) - len(ok)} could not be read."
    )
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "p_real": st.column_config.ProgressColumn(
                "p_real", min_value=0.0, max_value=1.0, format="%.3f"
            ),
            "milliseconds": st.column_config.NumberColumn("ms", format="%.1f"),
        },
    )
    st.download_button(
        "Download CSV",
        data=logic.results_csv(results),
        file_name="realorai-results.csv",
        mime="text/csv",
        on_click="ignore",
        key="csv",
    )


def show_card(predictor, result: logic.Result, show_heat: bool) -> None:
    p = result.prediction
    with st.container(border=True):
        left, right = st.columns([2, 3])
        with left:
            if show_heat:
                heat = logic.heat_of(predictor, result)
                st.image(
                    logic.overlay(result.picture, heat),
                    caption=f"{result.name} — Grad-CAM: evidence for “{p.label}”",
                    width="stretch",
                )
            else:
                st.image(result.picture, caption=result.name, width="stretch")
        with right:
            colour = {"real": "green", "ai": "red", "uncertain": "orange"}[p.verdict]
            st.markdown(f"#### :{colour}[{logic.TITLES[p.verdict]}]")
            st.progress(min(max(p.p_real, 0.0), 1.0), text=f"p_real = {p.p_real:.3f}")
            note = f"0 = AI-generated, 1 = real photograph · predicted in {p.milliseconds:.1f} ms"
            if result.true_label:
                note += f" · true label: {result.true_label}"
            st.caption(note)
            st.caption(logic.MEANING.format(s=predictor.size))


# --- the model ---


def model_page() -> None:
    st.title("The model")
    settings = load_settings()
    if settings is None:
        return
    from model.errors import ModelError
    from model.serve import read_card

    if model_missing(settings):
        st.error(logic.NO_MODEL.format(folder=settings.model_dir))
        return
    try:
        card = read_card(settings.model_dir)
    except ModelError as e:
        st.error(f"The model card cannot be read: {e}")
        return
    predictor = load_predictor(settings, quiet=True)
    sidebar(settings, predictor)
    describe(card)
    metrics_section(card)
    charts_section(card)
    tables_section(card)
    examples_section(settings, predictor)


def describe(card: dict) -> None:
    st.subheader(card.get("name", "Unnamed model"))
    lines = []
    if card.get("architecture"):
        lines.append(f"**Architecture:** {card['architecture']}")
    if logic.number(card.get("parameters")) is not None:
        lines.append(f"**Parameters:** {int(card['parameters']):,}")
    if card.get("image_size"):
        lines.append(
            f"**Input:** {card['image_size']}×{card['image_size']} pixels, "
            f"{card.get('input', 'rgb')}"
        )
    if logic.number(card.get("temperature")) is not None:
        lines.append(f"**Calibration:** temperature {card['temperature']:.2f}")
    made = " · ".join(str(v) for v in (card.get("created"), (card.get("revision") or "")[:10]) if v)
    if made:
        lines.append(f"**Built:** {made}")
    if lines:
        st.markdown("  \n".join(lines))
    if card.get("preprocessing"):
        st.caption(f"Preprocessing: {card['preprocessing']}")


def metrics_section(card: dict) -> None:
    headline = logic.headline(card)
    if headline:
        for column, (label, value) in zip(st.columns(len(headline)), headline, strict=True):
            column.metric(label, value)
    facts = logic.training_facts(card)
    if facts:
        st.caption(" · ".join(f"{label}: {value}" for label, value in facts))
    per_class = logic.per_class_rows(card)
    if per_class:
        st.dataframe(per_class, hide_index=True)


def charts_section(card: dict) -> None:
    import altair as alt

    confusion = logic.confusion_rows(card)
    roc = logic.roc_rows(card)
    calibration = logic.calibration_rows(card)
    left, middle, right = st.columns(3)
    with left:
        if confusion:
            st.markdown("**Confusion matrix** (test set)")
            base = alt.Chart(alt.Data(values=confusion)).encode(
                x=alt.X("predicted:N", title="predicted"),
                y=alt.Y("actual:N", title="actual"),
            )
            cells = base.mark_rect().encode(
                color=alt.Color("count:Q", legend=None, scale=alt.Scale(scheme="blues"))
            )
            # Light text on the dark cells, dark on the light ones, in either theme.
            half = max(row["count"] for row in confusion) / 2
            text = base.mark_text(fontSize=16).encode(
                text="count:Q",
                color=alt.condition(alt.datum.count > half, alt.value("white"), alt.value("black")),
            )
            st.altair_chart((cells + text).properties(height=220), width="stretch")
    with middle:
        if roc:
            st.markdown("**ROC curve**")
            diagonal = [
                {"false positive rate": 0.0, "true positive rate": 0.0},
                {"false positive rate": 1.0, "true positive rate": 1.0},
            ]
            curve = (
                alt.Chart(alt.Data(values=roc))
                .mark_line()
                .encode(x="false positive rate:Q", y="true positive rate:Q")
            )
            chance = (
                alt.Chart(alt.Data(values=diagonal))
                .mark_line(strokeDash=[4, 4], opacity=0.5)
                .encode(x="false positive rate:Q", y="true positive rate:Q")
            )
            st.altair_chart(curve + chance, width="stretch")
    with right:
        if calibration:
            st.markdown("**Reliability** (after calibration)")
            diagonal = [{"confidence": 0.5, "accuracy": 0.5}, {"confidence": 1.0, "accuracy": 1.0}]
            points = (
                alt.Chart(alt.Data(values=calibration))
                .mark_line(point=True)
                .encode(
                    x=alt.X("confidence:Q", scale=alt.Scale(domain=[0.5, 1])),
                    y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
                    tooltip=["confidence:Q", "accuracy:Q", "count:Q"],
                )
            )
            perfect = (
                alt.Chart(alt.Data(values=diagonal))
                .mark_line(strokeDash=[4, 4], opacity=0.5)
                .encode(x="confidence:Q", y="accuracy:Q")
            )
            st.altair_chart(points + perfect, width="stretch")


def tables_section(card: dict) -> None:
    robustness = logic.robustness_rows(card)
    if robustness:
        st.markdown("**Robustness**: test accuracy after common edits")
        st.dataframe(robustness, hide_index=True)
    per_source = logic.per_source_rows(card)
    if per_source:
        st.markdown("**Per source** (test set)")
        st.dataframe(per_source, hide_index=True)
    counts = logic.count_rows(card)
    if counts:
        st.markdown("**Data**: pictures per split, source and class")
        st.dataframe(counts, hide_index=True)
        bars = [
            {"part": f"{row['split']} / {row['source']}", "ai": row["ai"], "real": row["real"]}
            for row in counts
        ]
        st.bar_chart(
            bars, x="part", y=["ai", "real"], horizontal=True, x_label="pictures", y_label=""
        )


def examples_section(settings, predictor) -> None:
    examples = logic.load_examples(settings.examples_dir)
    if not examples:
        return
    st.markdown("**Examples** from the test set, with the model's answer")
    columns = st.columns(6)
    for k, example in enumerate(examples):
        caption = f"{example['label']} · {example['source']}"
        picture = logic.example_picture(example["path"], settings.max_bytes)
        if picture is None:
            continue  # an unreadable example is left out, not an error for the visitor
        if predictor is not None:
            p_real = predictor.predict_bytes(example["path"].read_bytes()).p_real
            caption += f" → p_real {p_real:.2f}"
        columns[k % 6].image(picture, caption=caption, width="stretch")
