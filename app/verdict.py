"""The words around one verdict: which kind of picture was judged, how reliable the
model is on that kind (the card's figures and intervals), whether p_real is calibrated,
and the "not sure" line. No Streamlit here."""

from __future__ import annotations

from app import figures, messages
from model.published import shown

VIEW_NAMES = {"whole": "shrunk to {s}×{s} pixels", "web": "by an ImageNet network at {s}×{s}"}


def view_name(view: str, card: dict | None) -> str:
    """How a view looks at a picture, with the input size its card gives."""
    size = ((card or {}).get("views", {}).get(view) or {}).get("image_size")
    if view not in VIEW_NAMES or not isinstance(size, int):
        return view
    return VIEW_NAMES[view].format(s=size)


def p_text(p_real: float) -> str:
    return f"{shown(p_real):.3f}"


def interval(ci, fmt: str) -> str:
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(_number(v) for v in ci):
        return f" (interval {fmt.format(ci[0])}–{fmt.format(ci[1])})"
    return ""


def reliability_line(prediction, card: dict | None = None) -> str:
    """What was judged, and the card's measured figures for that kind of picture (the
    same figures, written the same way, as everywhere else: app/figures.py)."""
    p = prediction
    kind = p.kind or "picture"
    line = f"Judged as a **{kind}**, {view_name(p.view, card)}."
    if p.right_at and _number(p.right_at.get("right")) and p.right_at.get("n"):
        line += " " + confidence_sentence(p.right_at)
    figure, small = verdict_figures(p, card)
    if figure is None:
        return line + (
            f" The model was not measured on {kind}s, so there are no figures for how "
            "often it is right on them."
        )
    # The web view's headline figures are out-of-fold: every picture scored by a head
    # that never saw its source group, not a test split; say which.
    measured = f"{kind}s from sources held out of training" if p.view == "web" else f"test {kind}s"
    on = f" of {figure.n:,}" if figure.n else ""
    figures = [f"right on {figure.accuracy_text}{on} {measured}{figure.accuracy_interval()}"]
    if figure.roc_auc is not None:
        note = f", {figure.roc_note}" if figure.roc_note else ""
        figures.append(f"ROC-AUC {figure.auc_text}{figure.auc_interval()}{note}")
    line += " On this kind of picture the model was " + "; ".join(figures) + "."
    return line + small_sentence(small)


def shown_verdict(prediction, card: dict | None, source: str) -> str | None:
    """too_small for a small picture someone brought, called real or AI, when shrunk
    web pictures were right under HINT of the time: no firm verdict where the model is
    measured near chance (issue 27); else None (the model's verdict stands: "not sure"
    is no firm verdict either). An example keeps its verdict: the examples are CIFAKE
    test pictures, measured as such."""
    if prediction is None or prediction.view != "whole" or source == "example":
        return None
    if prediction.verdict not in ("real", "ai"):
        return None
    small = verdict_figures(prediction, card)[1]
    return "too_small" if small is not None and small.accuracy < HINT else None


def too_small_line(prediction, card: dict | None) -> str:
    small = verdict_figures(prediction, card)[1]
    return messages.TOO_SMALL.format(
        accuracy=small.accuracy_text, lean=messages.LEANS[prediction.verdict],
        p=p_text(prediction.p_real),
    )  # fmt: skip


def verdict_figures(prediction, card: dict | None):
    """(the figure for the kind of picture judged, the shrunk-web-picture figure of a
    small one), from the card; (None, None) when the kind was not measured."""
    reliability = prediction.reliability or {}
    if not _number(reliability.get("accuracy")):
        return None, None
    sets = figures.measured(card)
    key = "web_held_out" if prediction.view == "web" else "cifake"
    figure = sets.get(key) or figures.from_metrics(key, "", reliability)
    small = reliability.get("small_web")
    if prediction.view == "web" or not isinstance(small, dict):
        return figure, None
    if not _number(small.get("accuracy")):
        return figure, None
    return figure, sets.get("small_web") or figures.from_metrics("small_web", "", small)


def confidence_sentence(row: dict) -> str:
    """How often verdicts this confident were right on sources never trained on."""
    low, high = row["low"], row["high"]
    return (
        f"Of {int(row['n']):,} web pictures from sources it never trained on, those given a "
        f"verdict this confident ({low:.0%}–{high:.0%} sure) were right **{row['right']:.0%}** "
        "of the time."
    )


def small_sentence(small) -> str:
    """The figure a small picture can expect when it is a shrunk web picture, not CIFAKE's."""
    if small is None:
        return ""
    sentence = (
        f" On web pictures shrunk to this size it was right on {small.accuracy_text}"
        f" of {small.n or 0:,}"
    )
    if small.accuracy < 0.6:
        return sentence + ": if this is a shrunk web picture, the verdict is close to a guess."
    if small.accuracy < HINT:
        return sentence + ": if this is a shrunk web picture, the verdict is only a hint."
    return sentence + "."


def capability_sentence(card: dict | None) -> str:
    """What the model can and cannot tell, in plain words with today's measured figures
    (the card's), for the top of the page: web pictures first, then small ones."""
    sets = figures.measured(card)
    parts = []
    web = sets.get("web_held_out")
    if web is not None and web.roc_auc is not None:
        parts.append(
            f"On web pictures from sources it never trained on it is right about "
            f"{web.accuracy_text} of the time (it ranks an AI picture above a real one "
            f"{web.roc_auc:.0%} of the time): a hint, not proof"
        )
    cifake, small = sets.get("cifake"), sets.get("small_web")
    if cifake is not None:
        sentence = f"on CIFAKE's 32×32 pictures it is right {cifake.accuracy_text} of the time"
        if small is not None:
            sentence += (
                f", but a web picture shrunk that small it gets right only "
                f"{small.accuracy_text} of the time"
            )
        parts.append(sentence)
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


GOOD, HINT = 0.8, 0.7  # right this often or more: good at it; under HINT: close to chance
SUMMARY_TITLES = {
    "good": "**Good at**",
    "hint": "**Only a hint on**",
    "chance": "**Close to chance (a coin toss is right 50% of the time) on**",
}
SUMMARY_SETS = ("cifake", "web_held_out", "web_test", "small_web")  # the sets people bring


def model_summary(card: dict | None) -> list[str]:
    """The model page's opening lines: what the model is good at, where it is only a
    hint, where it is close to chance, each with its figure and the pictures measured."""
    buckets: dict[str, list[str]] = {"good": [], "hint": [], "chance": []}
    sets = figures.measured(card)
    for figure in (sets[key] for key in SUMMARY_SETS if key in sets):
        accuracy = figure.accuracy
        bucket = "good" if accuracy >= GOOD else "hint" if accuracy >= HINT else "chance"
        of = f" of {figure.n:,}" if figure.n else ""
        extra = ""
        if figure.key == "web_held_out" and figure.roc_auc is not None:
            extra = f"; it ranks an AI picture above a real one {figure.roc_auc:.0%} of the time"
            extra += f", {figure.roc_note}" if figure.roc_note else ""
        buckets[bucket].append(f"{figure.name}: right on {figure.accuracy_text}{of}{extra}")
    return [
        f"{SUMMARY_TITLES[bucket]} " + "; ".join(parts) + "."
        for bucket, parts in buckets.items()
        if parts
    ]


def calibration_line(prediction) -> str:
    kind = prediction.kind or "picture"
    if prediction.calibrated:
        return (
            f"p_real is calibrated on {kind}s: of pictures given p_real 0.8, about 8 in 10 "
            "were real photographs."
        )
    return (
        f"p_real is a score, not a calibrated probability: calibration was not measured on {kind}s."
    )


def unsure_line(prediction, edges: tuple[float, float]) -> str:
    low, high = edges
    return messages.UNSURE.format(p=p_text(prediction.p_real), low=f"{low:.2f}", high=f"{high:.2f}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def probabilities_table(probabilities: dict) -> str:
    """A three-class model's probabilities as a one-row Markdown table."""
    names = [messages.CLASS_NAMES.get(c, c) for c in probabilities]
    values = [p_text(p) for p in probabilities.values()]
    rows = (names, ["---"] * len(names), values)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def region_caption(region) -> str:
    """The words under the region map (model.region_map.RegionMap), or instead of it."""
    if not region.found:
        words = messages.NO_REGION
    else:
        words = messages.REGION_CAPTION if region.localised else messages.SPREAD
    return words[region.target].format(score=p_text(region.score))
