"""The words around one verdict: which kind of picture was judged, how reliable the
model is on that kind (the card's figures and intervals), whether p_real is calibrated,
and the "not sure" line. No Streamlit here."""

from __future__ import annotations

from app import messages
from model.published import shown

VIEW_NAMES = {"whole": "the whole picture at once", "patch": "patch by patch"}


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
    if _number(r.get("accuracy")):
        on = f" of {int(r['n']):,}" if _number(r.get("n")) else ""
        figures.append(
            f"right on {r['accuracy']:.1%}{on} test {kind}s"
            + interval(r.get("accuracy_ci"), "{:.1%}")
        )
    if _number(r.get("roc_auc")):
        figures.append(f"ROC-AUC {r['roc_auc']:.3f}" + interval(r.get("roc_auc_ci"), "{:.3f}"))
    if figures:
        line += " On this kind of picture the model was " + "; ".join(figures) + "."
    else:
        line += (
            f" The model was not measured on {kind}s, so there are no figures for how "
            "often it is right on them."
        )
    return line


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
