"""The words around one verdict: which kind of picture was judged, how reliable the
model is on that kind (the card's figures and intervals), whether p_real is calibrated,
and the "not sure" line. No Streamlit here."""

from __future__ import annotations

from app import messages
from model.published import shown

VIEW_NAMES = {"whole": "shrunk to 36×36 pixels", "web": "by an ImageNet network at 224×224"}


def p_text(p_real: float) -> str:
    return f"{shown(p_real):.3f}"


def interval(ci, fmt: str) -> str:
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(_number(v) for v in ci):
        return f" (interval {fmt.format(ci[0])}–{fmt.format(ci[1])})"
    return ""


def reliability_line(prediction) -> str:
    """What was judged, and the card's measured figures for that kind of picture."""
    p = prediction
    kind = p.kind or "picture"
    line = f"Judged as a **{kind}**, {VIEW_NAMES.get(p.view, p.view)}."
    r = p.reliability or {}
    figures = []
    # The web view's headline figures are out-of-fold: every picture scored by a head
    # that never saw its source group, not a test split; say which.
    measured = f"{kind}s from sources held out of training" if p.view == "web" else f"test {kind}s"
    if _number(r.get("accuracy")):
        on = f" of {int(r['n']):,}" if _number(r.get("n")) else ""
        figures.append(
            f"right on {r['accuracy']:.1%}{on} {measured}"
            + interval(r.get("accuracy_ci"), "{:.1%}")
        )
    if _number(r.get("roc_auc")):
        figures.append(f"ROC-AUC {r['roc_auc']:.3f}" + interval(r.get("roc_auc_ci"), "{:.3f}"))
    if p.right_at and _number(p.right_at.get("right")) and p.right_at.get("n"):
        line += " " + confidence_sentence(p.right_at)
    if figures:
        line += " On this kind of picture the model was " + "; ".join(figures) + "."
        line += small_sentence(r.get("small_web"))
    else:
        line += (
            f" The model was not measured on {kind}s, so there are no figures for how "
            "often it is right on them."
        )
    return line


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
    if not isinstance(small, dict) or not _number(small.get("accuracy")):
        return ""
    sentence = (
        f" On web pictures shrunk to this size it was right on {small['accuracy']:.0%}"
        f" of {int(small.get('n') or 0):,}"
    )
    if small["accuracy"] < 0.6:
        return sentence + ": if this is a shrunk web picture, the verdict is close to a guess."
    if small["accuracy"] < 0.7:
        return sentence + ": if this is a shrunk web picture, the verdict is only a hint."
    return sentence + "."


def capability_sentence(card: dict | None) -> str:
    """What the model can and cannot tell, in plain words with today's measured figures
    (the card's), for the top of the page: web pictures first, then small ones."""
    if not card:
        return ""
    views = card.get("views") or {}
    parts = []
    web = (views.get("web") or {}).get("metrics") or {}
    logo = (web.get("logo") or {}).get("mean")
    if _number(web.get("accuracy")) and _number(logo):
        parts.append(
            f"On web pictures from sources it never trained on it is right about "
            f"{web['accuracy']:.0%} of the time (it ranks an AI picture above a real one "
            f"{logo:.0%} of the time): a hint, not proof"
        )
    whole = (views.get("whole") or {}).get("metrics") or {}
    if _number(whole.get("accuracy")):
        small = whole.get("small_web") or {}
        sentence = f"on CIFAKE's 32×32 pictures it is right {whole['accuracy']:.1%} of the time"
        if _number(small.get("accuracy")):
            sentence += (
                f", but a web picture shrunk that small it gets right only "
                f"{small['accuracy']:.0%} of the time"
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


def percent(value: float) -> str:
    """93.1% where the tenth matters (a high figure), 71% otherwise: as the page says it."""
    return f"{value:.1%}" if value >= 0.9 else f"{value:.0%}"


def measured_sets(card: dict | None) -> list[dict]:
    """Each set of pictures the card measured the model on, in plain words: {name,
    accuracy, n, extra}, from the card's figures (none invented, none left out)."""
    views = (card or {}).get("views") or {}
    whole = (views.get("whole") or {}).get("metrics") or {}
    web = (views.get("web") or {}).get("metrics") or {}
    sets = []

    def add(name: str, figures: dict, extra: str = "") -> None:
        if isinstance(figures, dict) and _number(figures.get("accuracy")):
            n = figures.get("n")
            sets.append({"name": name, "accuracy": float(figures["accuracy"]),
                         "n": int(n) if _number(n) else None, "extra": extra})  # fmt: skip

    add("CIFAKE's 32×32 test pictures", whole)
    logo = (web.get("logo") or {}).get("mean")
    groups = len((web.get("logo") or {}).get("folds") or {})
    add(
        "web pictures from sources kept out of training (each judged by a model that never "
        "saw its source)",
        web,
        f"; it ranks an AI picture above a real one {logo:.0%} of the time"
        + (f", averaged over {groups} sources" if groups else "")
        if _number(logo) else "",
    )  # fmt: skip
    add("the web test pictures (sources it also trained on)", web.get("test") or {})
    add("web test pictures shrunk to 32 px (judged by the small-picture view)",
        whole.get("small_web") or {})  # fmt: skip
    return sets


def model_summary(card: dict | None) -> list[str]:
    """The model page's opening lines: what the model is good at, where it is only a
    hint, where it is close to chance, each with its figure and the pictures measured."""
    buckets: dict[str, list[str]] = {"good": [], "hint": [], "chance": []}
    for m in measured_sets(card):
        bucket = "good" if m["accuracy"] >= GOOD else "hint" if m["accuracy"] >= HINT else "chance"
        of = f" of {m['n']:,}" if m["n"] else ""
        buckets[bucket].append(f"{m['name']}: right on {percent(m['accuracy'])}{of}{m['extra']}")
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
