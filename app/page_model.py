"""Page: the published model card: metrics, curves, robustness, data, examples."""

from app import ui

ui.model_page()
