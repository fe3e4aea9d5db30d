"""What both pages draw: settings errors, the model check, the sidebar."""

from __future__ import annotations

import streamlit as st

from app import config, messages
from app.loader import get_loader, model_problem
from settings.errors import first_line

THEME_HINT = "Light or dark: ⋮ menu (top right) → System, Light or Dark."


def load_settings():
    """The app's settings, or None after one st.error line."""
    from settings.params import ParamsError

    try:
        return config.load_settings()
    except ParamsError as e:
        st.error(messages.BAD_SETTINGS.format(reason=first_line(e)))
        return None


def start_model(settings, *, quiet: bool = False):
    """The model loader, started now; None (after one st.error unless quiet) if no model."""
    problem = model_problem(settings.model_dir)
    if problem:
        if not quiet:
            st.error(problem)
        return None
    return get_loader(settings)


def sidebar(settings, card: dict | None, loader):
    """The sidebar; returns the slot of the model's status line (to update later)."""
    with st.sidebar:
        st.caption(
            "Tells AI-generated pictures from real photographs: an ImageNet network with a "
            "linear head for web pictures, a small convolutional network for 32×32 ones. "
            f"{THEME_HINT}"
        )
        if card:
            routing = card.get("routing", {})
            rule = routing.get("rule") or default_rule(card)
            st.caption(
                f"Model **{card.get('name', 'unnamed')}**: {rule[0].lower() + rule[1:]}"
                f"{'' if rule.endswith('.') else '.'} {band_sentence(card, settings)}"
            )
        status = st.empty()
    if loader is not None:
        show_status(status, loader)
    return status


def show_status(slot, loader) -> None:
    """The model's state in the sidebar: loading, ready (with its load time) or failed."""
    if not loader.ready:
        slot.caption("Model loading in the background…")
    elif loader.predictor is not None:
        slot.caption(f"Model ready (loaded in {loader.seconds:.1f} s).")
    else:
        slot.caption("The model could not be loaded.")


def band_sentence(card: dict, settings) -> str:
    """Where the verdict is "Not sure": the band around each view's threshold."""
    edges = {}
    for view in card["views"].values():
        # as model.serve.Predictor.band_of: the setting, or the band the card measured
        # for this view when that is wider (the web view's, from held-out groups)
        measured = view.get("uncertain_band")
        measured = measured if isinstance(measured, (int, float)) else 0.0
        half = max(settings.uncertain_band, measured) / 2
        edges[view["kind"]] = (max(0.0, view["threshold"] - half),
                               min(1.0, view["threshold"] + half))  # fmt: skip
    if len(set(edges.values())) == 1:
        low, high = next(iter(edges.values()))
        return f"Not sure between p_real {low:.2f} and {high:.2f}."
    parts = [f"{low:.2f}–{high:.2f} for {kind}s" for kind, (low, high) in edges.items()]
    return f"Not sure between p_real {' and '.join(parts)}."


def default_rule(card: dict) -> str:
    views = card["views"]
    if len(views) == 1:
        how = "whole" if "whole" in views else "by the web view"
        return f"every picture is judged {how} (this model has one view)"
    side = card["routing"]["whole_max_side"]
    return (
        f"pictures up to {side} pixels on their longer side are judged by the small-picture "
        "view, larger ones by the web view"
    )
