"""One figure per set of pictures the model was measured on, read from the published
card, and one way of writing each. Every sentence, tile and table of both pages quotes
these, so a set's accuracy reads the same wherever it appears (issue 27): CIFAKE's is
one number, the web pictures of held-out sources another, never two roundings or two
sources of the same. No Streamlit here; nothing is hard-coded (the card changes with
every retraining).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    key: str
    name: str  # which pictures, in plain words
    n: int | None
    accuracy: float | None
    accuracy_ci: tuple | None = None
    roc_auc: float | None = None
    roc_auc_ci: tuple | None = None
    roc_note: str = ""  # how the ROC-AUC was taken, when not over all n pictures at once

    @property
    def accuracy_text(self) -> str:
        return percent(self.accuracy)

    @property
    def auc_text(self) -> str:
        return f"{self.roc_auc:.3f}"

    def accuracy_interval(self) -> str:
        """ " (interval 66%–69%)", written as the figure itself is; "" without one."""
        if not _pair(self.accuracy_ci):
            return ""
        low, high = (percent(v, like=self.accuracy) for v in self.accuracy_ci)
        return f" (interval {low}–{high})"

    def auc_interval(self) -> str:
        if not _pair(self.roc_auc_ci):
            return ""
        return f" (interval {self.roc_auc_ci[0]:.3f}–{self.roc_auc_ci[1]:.3f})"


def percent(value: float, like: float | None = None) -> str:
    """97.5% where the tenth matters (a figure of 90% or more), 68% otherwise; an
    interval's ends are written like their figure (`like`)."""
    return f"{value:.1%}" if (value if like is None else like) >= 0.9 else f"{value:.0%}"


# key, where in the card, what the pictures are: in the order a reader meets them
SETS = (
    ("cifake", ("whole",), "CIFAKE's 32×32 test pictures"),
    ("small_all", ("whole", "all_test"), "all small test pictures ({parts})"),
    ("small_web", ("whole", "small_web"),
     "web test pictures shrunk to 32 px (judged by the small-picture view)"),
    ("web_held_out", ("web",), "web pictures from sources kept out of training (each judged "
     "by a model that never saw its source)"),
    ("web_test", ("web", "test"), "the web test pictures (sources it also trained on)"),
)  # fmt: skip


def measured(card: dict | None) -> dict[str, Figure]:
    """Each set the card has an accuracy for, by key (SETS), in reading order."""
    views = (card or {}).get("views") or {}
    out = {}
    for key, (view, *part), name in SETS:
        metrics = (views.get(view) or {}).get("metrics") or {}
        for step in part:
            metrics = metrics.get(step) if isinstance(metrics, dict) else None
        if not isinstance(metrics, dict) or not _number(metrics.get("accuracy")):
            continue
        if key == "small_all":
            name = name.format(parts=_small_parts(views["whole"]["metrics"]))
        figure = from_metrics(key, name, metrics)
        if key == "web_held_out":
            figure = _per_source_auc(figure, metrics.get("logo") or {})
        out[key] = figure
    return out


def from_metrics(key: str, name: str, metrics: dict) -> Figure:
    n, auc = metrics.get("n"), metrics.get("roc_auc")
    return Figure(
        key, name, int(n) if _number(n) else None, float(metrics["accuracy"]),
        _ci(metrics.get("accuracy_ci")), float(auc) if _number(auc) else None,
        _ci(metrics.get("roc_auc_ci")),
    )  # fmt: skip


def _per_source_auc(figure: Figure, logo: dict) -> Figure:
    """Pictures of held-out sources: the ROC-AUC is the mean over sources, each scored
    by a model that never saw it (the figure the file-only baseline's mean is set
    against, and README's), not one pooled over all sources' scores."""
    if not _number(logo.get("mean")):
        return figure
    sources = len(logo.get("folds") or {})
    note = f"averaged over {sources} sources" if sources else "averaged over the sources"
    return Figure(figure.key, figure.name, figure.n, figure.accuracy, figure.accuracy_ci,
                  float(logo["mean"]), None, note)  # fmt: skip


def _small_parts(metrics: dict) -> str:
    sources = (metrics.get("per_source") or {}).keys()
    if "scraped" in sources:
        return "CIFAKE's and the web test pictures shrunk to 32 px"
    return "CIFAKE's"


def _ci(value) -> tuple | None:
    return tuple(float(v) for v in value) if _pair(value) else None


def _pair(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(map(_number, value))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
