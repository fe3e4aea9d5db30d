"""Tables for the page, without Streamlit: the batch of results (and its CSV), and the
model card's parts per view as rows for charts. Every part of the card is optional."""

from __future__ import annotations

import csv
import io

from app.figures import percent
from app.messages import TITLES
from app.verdict import p_text

DASH = "—"


def results_rows(results) -> list[dict]:
    """One row per picture; a picture that could not be checked says why in words."""
    rows = []
    with_labels = any(r.true_label for r in results)
    for r in results:
        p = r.prediction
        row = {
            "picture": r.name,
            "verdict": TITLES[r.verdict] if p else "Could not check",
            "p_real": p_text(p.p_real) if p else DASH,
            "judged as": p.kind if p else DASH,
            "file says": short_provenance(r.provenance),
            "ms": f"{p.milliseconds:.1f}" if p else DASH,
            "problem": r.error or "",
        }
        if with_labels:
            row["true label"] = r.true_label or ""
        rows.append(row)
    return rows


def short_provenance(provenance) -> str:
    if provenance is None:
        return DASH
    if provenance.c2pa_state:
        return f"Content Credentials ({provenance.c2pa_state.lower()})"
    if provenance.source_type_from == "xmp":
        return f"IPTC: {provenance.digital_source_type}"
    if provenance.png_generator:
        return f"{provenance.png_generator} settings"
    if provenance.camera:
        return f"camera {provenance.camera}"
    return "nothing"


def results_csv(results) -> bytes:
    rows = results_rows(results)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, list(rows[0]) if rows else ["picture"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


# --- the model card, one view at a time ---


def number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def headline(view: dict) -> list[tuple[str, str]]:
    """(label, value) for the view's metrics present, formatted, with intervals."""
    metrics = view.get("metrics") or {}
    shown = [
        ("Accuracy", "accuracy", "{:.1%}"),
        ("ROC-AUC", "roc_auc", "{:.3f}"),
        ("Average precision", "average_precision", "{:.3f}"),
        ("ECE before calibration", "ece_before", "{:.3f}"),
        ("ECE after calibration", "ece_after", "{:.3f}"),
    ]
    return [
        (label, fmt.format(v))
        for label, key, fmt in shown
        if (v := number(metrics.get(key))) is not None
    ]


def intervals(view: dict) -> str:
    metrics = view.get("metrics") or {}
    parts = []
    for label, key, fmt in (
        ("accuracy", "accuracy_ci", "{:.1%}"),
        ("ROC-AUC", "roc_auc_ci", "{:.3f}"),
    ):
        ci = metrics.get(key)
        if isinstance(ci, list) and len(ci) == 2 and all(number(v) is not None for v in ci):
            parts.append(f"{label} {fmt.format(ci[0])}–{fmt.format(ci[1])}")
    n = number(metrics.get("n"))
    tail = f" on {int(n):,} test pictures" if n is not None else ""
    return f"Intervals: {', '.join(parts)}{tail}." if parts else ""


def per_class_rows(view: dict) -> list[dict]:
    metrics = view.get("metrics") or {}
    rows = []
    for label in ("ai", "real"):
        row = {"class": label}
        for key in ("precision", "recall", "f1"):
            part = metrics.get(key)
            value = part.get(label) if isinstance(part, dict) else None
            if number(value) is not None:
                row[key] = round(float(value), 4)
        if len(row) > 1:
            rows.append(row)
    return rows


def confusion_rows(view: dict) -> list[dict]:
    """[{actual, predicted, count}] from confusion_matrix {labels, matrix}."""
    cm = view.get("confusion_matrix") or {}
    labels, matrix = cm.get("labels"), cm.get("matrix")
    try:
        return [
            {"actual": str(a), "predicted": str(p), "count": int(matrix[i][j])}
            for i, a in enumerate(labels)
            for j, p in enumerate(labels)
        ]
    except (TypeError, IndexError, ValueError):
        return []


def roc_rows(view: dict) -> list[dict]:
    roc = view.get("roc") or {}
    fpr, tpr = roc.get("fpr"), roc.get("tpr")
    if not isinstance(fpr, list) or not isinstance(tpr, list) or len(fpr) != len(tpr):
        return []
    return [
        {"false positive rate": float(f), "true positive rate": float(t)}
        for f, t in zip(fpr, tpr, strict=True)
        if number(f) is not None and number(t) is not None
    ]


def calibration_rows(view: dict) -> list[dict]:
    bins = (view.get("calibration") or {}).get("bins") or []
    return [
        {
            "confidence": float(b["confidence"]),
            "accuracy": float(b["accuracy"]),
            "count": int(b.get("count", 0)),
        }
        for b in bins
        if isinstance(b, dict)
        and number(b.get("confidence")) is not None
        and number(b.get("accuracy")) is not None
    ]


def robustness_rows(view: dict) -> list[dict]:
    """Per edit, accuracy and ROC-AUC written as every other figure is (app/figures.py)."""
    rows = view.get("robustness") or []
    return [
        {"edit": row["edit"], **_written(row)}
        for row in rows
        if isinstance(row, dict) and "edit" in row
    ]


def _written(row: dict) -> dict:
    out = {}
    if number(row.get("accuracy")) is not None:
        out["accuracy"] = percent(row["accuracy"])
    if number(row.get("roc_auc")) is not None:
        out["ROC-AUC"] = f"{row['roc_auc']:.3f}"
    return out


def group_rows(view: dict) -> list[dict]:
    """Per source (whole view) or per group (web view, test split), with intervals as text."""
    groups = view.get("per_source") or (view.get("metrics") or {}).get("per_group") or {}
    rows = []
    for name, row in groups.items() if isinstance(groups, dict) else []:
        if not isinstance(row, dict):
            continue
        out = {"group": name}
        if number(row.get("n")) is not None:
            out["pictures"] = int(row["n"])
        out.update(_written(row))
        ci = row.get("roc_auc_ci")
        if isinstance(ci, list) and len(ci) == 2:
            out["ROC-AUC interval"] = f"{ci[0]:.3f}–{ci[1]:.3f}"
        rows.append(out)
    return rows


def logo_rows(view: dict) -> list[dict]:
    """The web view's leave-one-group-out folds beside the container-only baseline's:
    per group held out of training, ROC-AUC with its interval."""
    folds = ((view.get("metrics") or {}).get("logo") or {}).get("folds") or {}
    base = ((view.get("container_baseline") or {}).get("logo") or {}).get("folds") or {}
    rows = []
    for group, row in folds.items() if isinstance(folds, dict) else []:
        if not isinstance(row, dict) or number(row.get("roc_auc")) is None:
            continue
        out = {"group held out": group, "pictures": row.get("n"),
               "ROC-AUC": f"{row['roc_auc']:.3f}"}  # fmt: skip
        ci = row.get("roc_auc_ci")
        if isinstance(ci, list) and len(ci) == 2:
            out["interval"] = f"{ci[0]:.3f}–{ci[1]:.3f}"
        other = (base.get(group) or {}).get("roc_auc") if isinstance(base, dict) else None
        out["file-only baseline"] = f"{other:.3f}" if number(other) is not None else "—"
        rows.append(out)
    return rows


def count_rows(card: dict) -> list[dict]:
    """[{split, source, ai, real}] from data.counts {split: {source: {ai, real}}}."""
    counts = (card.get("data") or {}).get("counts") or {}
    rows = []
    for split, sources in counts.items() if isinstance(counts, dict) else []:
        for source, labels in (sources or {}).items() if isinstance(sources, dict) else []:
            if isinstance(labels, dict):
                rows.append(
                    {
                        "split": split,
                        "source": source,
                        "ai": int(labels.get("ai", 0)),
                        "real": int(labels.get("real", 0)),
                    }
                )
    return rows


def training_facts(view: dict) -> list[tuple[str, str]]:
    training = view.get("training") or {}
    facts = []
    if number(training.get("epochs_run")) is not None:
        facts.append(("Epochs", f"{int(training['epochs_run'])}"))
    if number(training.get("seconds")) is not None:
        facts.append(("Training time", f"{training['seconds'] / 60:.1f} min"))
    if number(training.get("images_per_second")) is not None:
        facts.append(("Training speed", f"{training['images_per_second']:,.0f} images/s"))
    return facts
