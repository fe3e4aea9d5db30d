"""Altair charts for the model page (specs only; the page draws them)."""

from __future__ import annotations

import altair as alt


def confusion(rows: list[dict]):
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("predicted:N", title="predicted"), y=alt.Y("actual:N", title="actual")
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", legend=None, scale=alt.Scale(scheme="blues"))
    )
    # Light text on the dark cells, dark on the light ones, in either theme.
    half = max(row["count"] for row in rows) / 2
    text = base.mark_text(fontSize=16).encode(
        text="count:Q",
        color=alt.condition(alt.datum.count > half, alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=220)


def roc(rows: list[dict]):
    diagonal = [
        {"false positive rate": 0.0, "true positive rate": 0.0},
        {"false positive rate": 1.0, "true positive rate": 1.0},
    ]
    encode = {"x": "false positive rate:Q", "y": "true positive rate:Q"}
    curve = alt.Chart(alt.Data(values=rows)).mark_line().encode(**encode)
    chance = (
        alt.Chart(alt.Data(values=diagonal))
        .mark_line(strokeDash=[4, 4], opacity=0.5)
        .encode(**encode)
    )
    return curve + chance


def reliability(rows: list[dict]):
    diagonal = [{"confidence": 0.5, "accuracy": 0.5}, {"confidence": 1.0, "accuracy": 1.0}]
    points = (
        alt.Chart(alt.Data(values=rows))
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
    return points + perfect


def curve(metric: str, rows: list[dict]):
    """One training metric per epoch, a line per split (train, val)."""
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="epoch"),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("split:N", title=None),
            tooltip=["split:N", "step:Q", "value:Q"],
        )
        .properties(height=200)
    )
