"""The "The model" page: the published card, view by view (its figures with their
intervals, curves, robustness, groups), the data, training curves, examples."""

from __future__ import annotations

import streamlit as st

from app import analysis, charts, common, figures, tables, verdict
from app.curves import STAGES, training_curves
from model import published
from model.errors import ModelError
from settings.errors import first_line

VIEW_TITLES = {"whole": "Small pictures", "web": "Web pictures"}
VIEW_SETS = {  # app/figures.py's sets, per view; the first is the view's headline
    "whole": ("cifake", "small_all", "small_web"),
    "web": ("web_held_out", "web_test"),
}


def draw() -> None:
    st.title("The model")
    settings = common.load_settings()
    if settings is None:
        return
    loader = common.start_model(settings)
    if loader is None:
        return
    try:
        card = published.read_card(settings.model_dir)
    except ModelError as e:  # changed since the check above
        st.error(f"The model card cannot be read ({first_line(e)}).")
        return
    common.sidebar(settings, card, loader)
    describe(card)
    sets = figures.measured(card)
    for name, view in card["views"].items():
        view_section(name, view, sets)
    data_section(card)
    curves_section(settings)
    examples_section(settings, loader)


def describe(card: dict) -> None:
    """The model's name, then in plain words what it can tell and what it cannot (the
    card's figures, each with the pictures it was measured on); how it is built, in an
    expander."""
    st.subheader(card.get("name", "Unnamed model"))
    summary = verdict.model_summary(card)
    if summary:
        st.markdown("  \n".join(summary))
    lines = []
    if card.get("architecture"):
        lines.append(f"**Architecture:** {card['architecture']}")
    if tables.number(card.get("parameters")) is not None:
        lines.append(f"**Parameters:** {int(card['parameters']):,}")
    rule = (card.get("routing") or {}).get("rule")
    if rule:
        lines.append(f"**Which view judges a picture:** {rule}")
    made = " · ".join(str(v) for v in (card.get("created"), (card.get("revision") or "")[:10]) if v)
    if made:
        lines.append(f"**Built:** {made}")
    if lines:
        with st.expander("How it is built"):
            st.markdown("  \n".join(lines))


def view_section(name: str, view: dict, sets: dict) -> None:
    """One view: its input, then each set of pictures it was measured on with that set's
    one figure (app/figures.py), then the tables, each naming the pictures it counts."""
    st.subheader(f"{VIEW_TITLES[name]}: {view['kind']}s")
    size = view["image_size"]
    how = f"the picture resized to {size}×{size} pixels"
    if view.get("crops"):
        how = (
            f"up to {view['crops']} squares of the picture (as many as cover its longer side), "
            f"each resized to {size}×{size} pixels without stretching it"
        )
    if name == "web":
        how += (
            f", through an ImageNet network ({view['backbone']['name']}, weights from "
            f"{view['backbone']['package']} {view['backbone']['version']}) and a linear head"
            f"{' on the mean of their features' if view.get('crops') else ''}"
        )
    st.markdown(f"**Input:** {how}.")
    mine = [sets[key] for key in VIEW_SETS[name] if key in sets]
    if mine:
        tiles(mine[0])
    notes = [figure_sentence(figure) for figure in mine]
    notes.append(" · ".join(f"{label}: {value}" for label, value in tables.training_facts(view)))
    notes.append(baseline_sentence(view))
    notes = [n if n.endswith(".") else n + "." for n in notes if n]
    if notes:
        st.caption(" ".join(notes))
    tested = test_label(name, sets)
    per_class = tables.per_class_rows(view)
    if per_class:
        st.markdown(f"**Per class**: the {tested}")
        st.dataframe(per_class, hide_index=True)
    charts_row(view, tested)
    robustness = tables.robustness_rows(view)
    if robustness:
        st.markdown(f"**Robustness**: accuracy after common edits, on a sample of the {tested}")
        st.dataframe(robustness, hide_index=True)
    logo_rows = tables.logo_rows(view)
    if logo_rows:
        st.markdown("**Per group held out of training** (leave-one-group-out)")
        st.dataframe(logo_rows, hide_index=True)
    groups = tables.group_rows(view)
    if groups:
        st.markdown(f"**Per source or group**: the {tested}")
        st.dataframe(groups, hide_index=True)
    technical(name, view)


def tiles(figure) -> None:
    """The view's first set's accuracy and ROC-AUC, large; which pictures, on hover."""
    shown = [("Accuracy", figure.accuracy_text)]
    if figure.roc_auc is not None:
        shown.append(("ROC-AUC", figure.auc_text))
    for column, (label, value) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(label, value, help=f"On {figure.name}.")


def figure_sentence(figure) -> str:
    """ "<pictures>: right on 97.5% of 20,000 (interval …); ROC-AUC 0.997 (interval …).",
    the words of the summary at the top of the page."""
    of = f" of {figure.n:,}" if figure.n else ""
    text = f"{figure.name[0].upper()}{figure.name[1:]}: right on {figure.accuracy_text}{of}"
    text += figure.accuracy_interval()
    if figure.roc_auc is not None:
        text += f"; ROC-AUC {figure.auc_text}{figure.auc_interval()}"
        text += f", {figure.roc_note}" if figure.roc_note else ""
    return text + "."


def baseline_sentence(view: dict) -> str:
    baseline = view.get("container_baseline") or {}
    baseline = baseline.get("logo", baseline) if isinstance(baseline, dict) else {}
    base_auc = baseline.get("roc_auc", baseline.get("mean"))
    if tables.number(base_auc) is None:
        return ""
    return (
        f"A baseline that reads only the file (format, size, JPEG quality), not its "
        f"pixels, scores ROC-AUC {base_auc:.3f}"
        f"{verdict.interval(baseline.get('roc_auc_ci'), '{:.3f}')} on the same sources: the "
        "model must beat it to be seeing the picture itself."
    )


def test_label(name: str, sets: dict) -> str:
    """The pictures a view's tables and charts count: for the small-picture view all its
    test pictures (CIFAKE's and shrunk web ones), not CIFAKE's alone."""
    if name == "whole" and "small_all" in sets:
        figure = sets["small_all"]
        name = figure.name.removeprefix("all ")
        return f"{figure.n:,} {name}" if figure.n else name
    return "web test pictures" if name == "web" else "test pictures"


def technical(name: str, view: dict) -> None:
    """Calibration for specialists (temperature, ECE), out of the way of the figures."""
    if published.is_calibrated(name, view):
        on = str(view["calibrated_on"])
        on = on if "picture" in on else f"{on} pictures"
        calibration = (
            f"p_real is calibrated: the network's raw score (its logit) is divided by a "
            f"temperature of {view['temperature']:.2f}, fitted on {on}"
        )
    else:
        calibration = "not calibrated for this kind of picture (p_real is a score)"
    ece = [(label, value) for label, value in tables.headline(view) if "ECE" in label]
    with st.expander("Calibration (temperature, ECE)"):
        st.markdown(f"**Calibration:** {calibration}.")
        if ece:
            st.markdown(
                "ECE, the expected calibration error, is how far p_real is from the share "
                "of real photographs among pictures given that p_real (0 is perfect): "
                + ", ".join(f"{label.replace('ECE ', '')} {value}" for label, value in ece)
                + "."
            )


def charts_row(view: dict, tested: str) -> None:
    confusion, roc = tables.confusion_rows(view), tables.roc_rows(view)
    calibration = tables.calibration_rows(view)
    if not (confusion or roc or calibration):
        return
    st.caption(f"Confusion matrix, ROC curve and reliability: the {tested}.")
    left, middle, right = st.columns(3)
    if confusion:
        left.markdown("**Confusion matrix**")
        left.altair_chart(charts.confusion(confusion), width="stretch")
    if roc:
        middle.markdown("**ROC curve**")
        middle.altair_chart(charts.roc(roc), width="stretch")
    if calibration:
        right.markdown("**Reliability** (after calibration)")
        right.altair_chart(charts.reliability(calibration), width="stretch")


def data_section(card: dict) -> None:
    counts = tables.count_rows(card)
    if not counts:
        return
    st.subheader("Data")
    st.markdown("Pictures per split, source and class")
    st.dataframe(counts, hide_index=True)
    bars = [
        {"part": f"{row['split']} / {row['source']}", "ai": row["ai"], "real": row["real"]}
        for row in counts
    ]
    st.bar_chart(bars, x="part", y=["ai", "real"], horizontal=True, x_label="pictures", y_label="")


def curves_section(settings) -> None:
    curves = training_curves(settings.reports_dir)
    if not curves:
        return
    st.subheader("Training curves")
    st.caption("Per epoch, from the training stages' dvclive files (reports/<stage>/plots/).")
    for stage, metrics in curves.items():
        st.markdown(f"**{STAGES.get(stage, stage)}**")
        columns = st.columns(min(3, len(metrics)))
        for k, (metric, rows) in enumerate(metrics.items()):
            columns[k % len(columns)].altair_chart(charts.curve(metric, rows), width="stretch")


def examples_section(settings, loader) -> None:
    examples = analysis.load_examples(settings.examples_dir)
    if not examples:
        return
    st.subheader("Examples")
    st.markdown("From the test set, with the model's answer")
    predictor = loader.predictor if loader.ready else None
    if predictor is None and not loader.ready:
        st.caption("The model is still loading; its answers appear on the next visit.")
    columns = st.columns(6)
    for k, example in enumerate(examples):
        caption = f"{example['label']} · {example['source']}"
        picture = analysis.example_picture(example["path"], settings.max_bytes)
        if picture is None:
            continue  # an unreadable example is left out, not an error for the visitor
        if predictor is not None:
            p_real = predictor.predict_bytes(example["path"].read_bytes()).p_real
            caption += f" → p_real {p_real:.2f}"
        columns[k % 6].image(picture, caption=caption, width="stretch")
